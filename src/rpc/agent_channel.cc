#include "rpc/agent_channel.h"

#include <grpc/grpc.h>

namespace shoal::rpc {

grpc::ChannelArguments AgentChannelArguments() {
  grpc::ChannelArguments args;
  // A channel of its own with its own subchannel, as on a real host: gRPC's reconnect backoff
  // (1 s growing to 120 s, shared through the global subchannel pool) must not stack on the
  // caller's, and emulated nodes must not share one connection.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kAgentReconnectStartMs);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kAgentReconnectCapMs);
  // gRPC takes this as the connect timeout (TCP and TLS handshake together). Not shorter: a
  // restarted controller takes a whole fleet's handshakes at once, and 100 ms abandoned them by
  // the thousand. Not gRPC's 20 s either: with several controllers, a dead host's address must
  // not hold up the move to the next one for long.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, kAgentConnectTimeoutMs);
  // Ping a quiet stream so a link that silently drops packets is noticed in seconds, not when
  // TCP gives up minutes later. The controller accepts pings down to one a second.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // No bandwidth probing: the stream's messages are small, and probing cost a ping and its
  // acknowledgement for about every other heartbeat (bench/RESULTS.md, heartbeats at 10,000).
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  return args;
}

}  // namespace shoal::rpc
