// shoal-agent's command line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "log/logging.h"

namespace shoal::agent {

inline constexpr uint16_t kDefaultMetricsPort = 9477;

struct AgentOptions {
  std::string controller;  // HOST:PORT of the controller's agent endpoint, or several, commas
  // between: controllers sharing the cluster (high availability), tried in order.
  std::vector<std::string> controllers;  // `controller`, split (filled by parsing)
  std::string node_name;
  std::string state_dir;   // as given; the agent makes it absolute
  uint32_t cpus = 0;       // 0 before parsing fills in the host's online CPUs
  uint64_t memory_mb = 0;  // 0 before parsing fills in MemTotal
  uint32_t gpus = 0;       // emulated GPUs, indices 0..gpus-1
  std::string gpu_type = "emulated";
  std::vector<std::string> features;
  std::string address;   // what other nodes dial; default: the host name
  // --tls-ca: the cluster CA the controller's certificate must be signed by; --cluster-key-file:
  // the cluster key this agent proves membership with. Both are required on the command line.
  std::string tls_ca_file;
  std::string cluster_key_file;
  // Their contents, loaded and checked by main (not parsed). An empty CA means plaintext, and
  // an empty key no membership proof: only tests against a plaintext fake controller do that.
  std::string tls_ca_pem;
  std::string cluster_key;
  // --log-file (empty: stderr, or state_dir/agent.log when daemonized), --log-level,
  // --log-format, --log-max-size, --log-max-files.
  LogOptions log;  // its component is "agent"
  // Prometheus /metrics listener. Port 0 lets the kernel pick a free one (`shoal up` starts
  // several agents on one host); the default is fixed so a plain scrape config can name it.
  std::string metrics_address = "0.0.0.0";
  uint16_t metrics_port = kDefaultMetricsPort;
  // HOST:PORT where the listener ended up, reported at registration; set by main, not parsed.
  std::string metrics_endpoint;
  // Foreground is the default (process supervisors and `shoal up` track the agent's pid);
  // --daemonize detaches, --foreground is accepted for clarity.
  bool daemonize = false;
  bool help = false;  // --help: print AgentUsage() and exit 0
};

// Parses argv with getopt_long (resets getopt's global state first, so it can run repeatedly).
// Defaults for --cpus and --memory-mb come from the host. An InvalidArgument's message is ready
// for stderr (the caller exits 2).
Result<AgentOptions> ParseAgentOptions(int argc, char** argv);
std::string AgentUsage();

}  // namespace shoal::agent
