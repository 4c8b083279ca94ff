// gRPC adapter: one AgentService.Connect stream per agent, served with gRPC's callback API. Each
// stream is a reactor (agent_service.cc) that keeps one read outstanding, feeds what it reads to
// the Controller, and writes the session's outbox as the session wakes it: no thread per agent.
// gRPC's threads never wait for the controller's lock or store: heartbeats are noted on the spot,
// everything else (registrations, messages, the stream's end) goes to the controller's agent
// intake thread, so one agent's news can never hold up another's heartbeats.
//
// Membership: with a cluster key, a stream is accepted only when its metadata carries a valid
// proof of the key (security/membership.h) and its Register names the node the proof is for;
// otherwise it ends with UNAUTHENTICATED before the controller hears of the node at all. Join
// needs no proof: its join token is the proof, and it registers nothing.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "controller/controller.h"
#include "controller/join_tokens.h"
#include "rpc/agent.grpc.pb.h"

namespace shoal {

// What one agent may do before it is turned away, so that a misbehaving one (a bug, a crash
// loop, a hostile peer) cannot slow the others.
struct AgentLimits {
  // Messages on one stream: past the burst, more than this a second cuts the stream off (the
  // agent must register again). Room for a big node running instant jobs as fast as the
  // controller can start them.
  double messages_per_s = 5000;
  double message_burst = 50000;
  // Registrations of one node name: past the burst, more often than this is refused for a while.
  double registrations_per_s = 1.0 / 3;
  double registration_burst = 10;
};
struct AgentGuards;  // the limits' state (agent_service.cc)

class AgentServiceImpl final : public rpc::AgentService::CallbackService {
 public:
  // `cluster_key`: the raw cluster key every agent must prove; none only in tests of the
  // stream's life cycle.
  AgentServiceImpl(Controller& controller, std::optional<std::string> cluster_key,
                   AgentLimits limits = {});
  ~AgentServiceImpl() override;
  grpc::ServerBidiReactor<rpc::AgentMessage, rpc::ControllerMessage>* Connect(
      grpc::CallbackServerContext* context) override;
  // `shoal join`: a valid join token (JoinTokens::Redeem) buys the cluster key and CA. Without
  // SetJoinTokens every join is refused (UNAVAILABLE).
  grpc::ServerUnaryReactor* Join(grpc::CallbackServerContext* context,
                                 const rpc::JoinRequest* request, rpc::JoinReply* reply) override;
  // Both outlive the service.
  void SetJoinTokens(JoinTokens* tokens, std::string ca_pem) {
    join_tokens_ = tokens;
    ca_pem_ = std::move(ca_pem);
  }

 private:
  Controller& controller_;
  const std::optional<std::string> cluster_key_;
  const std::unique_ptr<AgentGuards> guards_;
  JoinTokens* join_tokens_ = nullptr;
  std::string ca_pem_;
};

}  // namespace shoal
