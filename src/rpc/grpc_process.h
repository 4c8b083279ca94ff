// What every process that speaks gRPC sets up before anything else: the controller, the agent
// and the emulator.
#pragma once

namespace shoal {

// - Abseil's mutex deadlock detection off: Debian builds Abseil without NDEBUG, so every
//   absl::Mutex operation in gRPC keeps a lock graph (GraphCycles: 7 % of the controller's CPU
//   in a 5,000-agent registration storm, bench/RESULTS.md). It is a debugging aid.
// - gRPC's own log lines through spdlog (the daemon's file and format), each source line at most
//   once per 10 s with a count of the rest: a peer sending garbage to the agent port in a loop
//   would otherwise write one "Handshake failed" line per connection.
void PrepareGrpcProcess();

}  // namespace shoal
