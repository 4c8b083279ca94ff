// How an agent dials its controller. The agent and the emulator both take their channel's
// arguments from here, so that emulated nodes load the controller exactly as real ones do.
#pragma once

#include <grpcpp/support/channel_arguments.h>

namespace shoal::rpc {

// First and longest wait before gRPC dials a lost controller again.
inline constexpr int kAgentReconnectStartMs = 100;
inline constexpr int kAgentReconnectCapMs = 2000;

grpc::ChannelArguments AgentChannelArguments();

}  // namespace shoal::rpc
