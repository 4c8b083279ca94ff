// `shoal join HOST[:PORT] TOKEN` (`shoal` execs `shoal-agent join`): makes this host a node of
// the cluster whose controller is at HOST:PORT (its agent port), with a one-time join token from
// `shoal token --join` (controller/join_tokens.h).
//
// The token reads ID.SECRET.CAHASH. The node fetches the certificates the controller's TLS port
// presents, trusts only the CA whose SHA-256 is CAHASH (an impostor cannot present it), then
// sends ID and SECRET over TLS verified with that CA (gRPC AgentService.Join) and receives the
// cluster key: neither the secret nor the key ever crosses the network in clear. It writes
// CONFIG_DIR/agent/ca.pem, CONFIG_DIR/agent/cluster.key (0600) and, last, CONFIG_DIR/agent.conf
// (shoal-agent --config). A refused join writes nothing; joining registers nothing (the agent
// registers when it starts), so no half-registered node is left behind.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace shoal::agent {

inline constexpr uint16_t kDefaultJoinPort = 6817;

struct JoinToken {
  std::string id;         // 6 of [a-z0-9]
  std::string secret;     // 16 of [a-z0-9]
  std::string ca_sha256;  // 64 hex digits, lowercase
};
// InvalidArgument saying what shape a token has, without echoing the secret.
Result<JoinToken> ParseJoinToken(const std::string& text);

// The files a join writes under `config_dir`.
struct JoinPaths {
  std::string ca;           // DIR/agent/ca.pem
  std::string cluster_key;  // DIR/agent/cluster.key
  std::string agent_conf;   // DIR/agent.conf
};
JoinPaths JoinPathsIn(const std::string& config_dir);
// agent.conf's text (agent_options.h's --config syntax).
std::string AgentConfText(const std::string& controller, const std::string& node,
                          const std::string& state_dir, const JoinPaths& paths);

// argv[0] is "join". Exit status: 0 joined, 1 refused or failed (a message on stderr), 2 usage.
int JoinMain(int argc, char** argv);

}  // namespace shoal::agent
