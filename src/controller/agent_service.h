// gRPC adapter: one AgentService.Connect stream per agent, served with gRPC's callback API. Each
// stream is a reactor (agent_service.cc) that keeps one read outstanding, feeds what it reads to
// the Controller, and writes the session's outbox as the session wakes it: no thread per agent.
//
// Membership: with a cluster key, a stream is accepted only when its metadata carries a valid
// proof of the key (security/membership.h) and its Register names the node the proof is for;
// otherwise it ends with UNAUTHENTICATED before the controller hears of the node at all.
#pragma once

#include <optional>
#include <string>

#include "controller/controller.h"
#include "rpc/agent.grpc.pb.h"

namespace shoal {

class AgentServiceImpl final : public rpc::AgentService::CallbackService {
 public:
  // `cluster_key`: the raw cluster key every agent must prove; none only in tests of the
  // stream's life cycle.
  AgentServiceImpl(Controller& controller, std::optional<std::string> cluster_key)
      : controller_(controller), cluster_key_(std::move(cluster_key)) {}
  grpc::ServerBidiReactor<rpc::AgentMessage, rpc::ControllerMessage>* Connect(
      grpc::CallbackServerContext* context) override;

 private:
  Controller& controller_;
  const std::optional<std::string> cluster_key_;
};

}  // namespace shoal
