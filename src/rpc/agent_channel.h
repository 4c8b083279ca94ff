// How an agent dials its controller. The agent and the emulator both take their channel's
// arguments from here, so that emulated nodes load the controller exactly as real ones do.
#pragma once

#include <grpcpp/server_builder.h>
#include <grpcpp/support/channel_arguments.h>

namespace shoal::rpc {

// First and longest wait before gRPC dials a lost controller again.
inline constexpr int kAgentReconnectStartMs = 100;
inline constexpr int kAgentReconnectCapMs = 2000;

// `connect_timeout_ms` bounds one attempt's TCP connect and TLS handshake together; 0 keeps
// gRPC's 20 s.
grpc::ChannelArguments AgentChannelArguments(int connect_timeout_ms = 0);

// What a server of agents' streams sets: the controller and a relay (relay/relay.h).
void ApplyAgentServerArguments(grpc::ServerBuilder& builder);

}  // namespace shoal::rpc
