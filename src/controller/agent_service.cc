#include "controller/agent_service.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <thread>

namespace shoal {

grpc::Status AgentServiceImpl::Connect(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<rpc::ControllerMessage, rpc::AgentMessage>* stream) {
  rpc::AgentMessage first;
  if (!stream->Read(&first)) return grpc::Status::OK;
  if (!first.has_register_()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "first message must be Register");
  }
  rpc::ControllerMessage reply;
  auto session = controller_.RegisterAgent(first.register_(), *reply.mutable_register_reply());
  if (!session.ok()) {
    reply.mutable_register_reply()->set_accepted(false);
    reply.mutable_register_reply()->set_message(session.status().message());
    stream->Write(reply);
    spdlog::warn("refused agent {}: {}", first.register_().node_name(), session.status().message());
    return grpc::Status::OK;
  }
  if (!stream->Write(reply)) {
    controller_.OnAgentDisconnected(*session);
    return grpc::Status::OK;
  }
  // gRPC allows one reader and one writer at a time on a stream: the writer lives here.
  std::thread writer([&stream, s = *session, context] {
    pthread_setname_np(pthread_self(), "agent-writer");
    rpc::ControllerMessage msg;
    while (s->Next(msg)) {
      if (!stream->Write(msg)) break;
    }
    // The session is over: written out, or ended by the controller (its node declared down,
    // or a newer registration). The stream ends with it, so an agent that was only frozen or cut
    // off must register again, and learn then which of its jobs are no longer its own.
    context->TryCancel();
  });
  rpc::AgentMessage msg;
  while (stream->Read(&msg)) controller_.OnAgentMessage(*session, msg);
  controller_.OnAgentDisconnected(*session);
  writer.join();
  return grpc::Status::OK;
}

}  // namespace shoal
