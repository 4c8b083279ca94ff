// gRPC adapter: one AgentService.Connect stream per agent. The stream's handler thread reads
// agent messages into the Controller; a companion thread writes the session's outbox.
#pragma once

#include "controller/controller.h"
#include "rpc/agent.grpc.pb.h"

namespace shoal {

class AgentServiceImpl final : public rpc::AgentService::Service {
 public:
  explicit AgentServiceImpl(Controller& controller) : controller_(controller) {}
  grpc::Status Connect(grpc::ServerContext* context,
                       grpc::ServerReaderWriter<rpc::ControllerMessage, rpc::AgentMessage>* stream)
      override;

 private:
  Controller& controller_;
};

}  // namespace shoal
