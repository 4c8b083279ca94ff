// gRPC adapter: one AgentService.Connect stream per agent, served with gRPC's callback API. Each
// stream is a reactor (agent_service.cc) that keeps one read outstanding, feeds what it reads to
// the Controller, and writes the session's outbox as the session wakes it: no thread per agent.
#pragma once

#include "controller/controller.h"
#include "rpc/agent.grpc.pb.h"

namespace shoal {

class AgentServiceImpl final : public rpc::AgentService::CallbackService {
 public:
  explicit AgentServiceImpl(Controller& controller) : controller_(controller) {}
  grpc::ServerBidiReactor<rpc::AgentMessage, rpc::ControllerMessage>* Connect(
      grpc::CallbackServerContext* context) override;

 private:
  Controller& controller_;
};

}  // namespace shoal
