#include "rpc/agent_channel.h"

#include <grpc/grpc.h>

namespace shoal::rpc {

grpc::ChannelArguments AgentChannelArguments(int connect_timeout_ms) {
  grpc::ChannelArguments args;
  // A channel of its own with its own subchannel, as on a real host: gRPC's reconnect backoff
  // (1 s growing to 120 s, shared through the global subchannel pool) must not stack on the
  // caller's, and emulated nodes must not share one connection.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kAgentReconnectStartMs);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kAgentReconnectCapMs);
  // gRPC takes GRPC_ARG_MIN_RECONNECT_BACKOFF_MS as the connect timeout (TCP and TLS handshake
  // together). Long, when a restarted controller takes a whole fleet's handshakes at once: 100 ms
  // abandoned them by the thousand, and 3 s still kept 5,000 agents from ever all getting back
  // in (bench/RESULTS.md). Short, when a controller that is shutting down still accepts
  // connections it will never answer. The caller picks (the agent grows it with each failure).
  if (connect_timeout_ms > 0) args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, connect_timeout_ms);
  // Ping a quiet stream so a link that silently drops packets is noticed in seconds, not when
  // TCP gives up minutes later. The controller accepts pings down to one a second. A ping goes
  // out only after 2 s with nothing heard from the controller, which is when it is busiest: its
  // answer may take a while. With 2 s allowed, a burst of 20,000 job starts and ends at 10,000
  // emulated nodes cut almost every stream at once, and the reconnect storm had the controller
  // declare them all DOWN (bench/RESULTS.md). 10 s is longer than any SlurmdTimeout in use here.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // No bandwidth probing: the stream's messages are small, and probing cost a ping and its
  // acknowledgement for about every other heartbeat (bench/RESULTS.md, heartbeats at 10,000).
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  return args;
}

void ApplyAgentServerArguments(grpc::ServerBuilder& builder) {
  // Agents may ping a quiet stream every second to notice a dead link quickly.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // TLS frames of 4 KB (gRPC's default: 16 KB) save ~13 KB per agent connection; agents'
  // messages are small (bench/RESULTS.md, agents over TLS).
  builder.AddChannelArgument(GRPC_ARG_TSI_MAX_FRAME_SIZE, 4096);
  // No bandwidth probing on the serving side either (AgentChannelArguments says why).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
}

}  // namespace shoal::rpc
