// GPU samples into a heartbeat: one place for the real agent and the emulated nodes.
#pragma once

#include <vector>

#include "agent/gpu_monitor.h"
#include "rpc/agent.pb.h"

namespace shoal::agent {

void AddGpuReadings(const std::vector<GpuSample>& samples, rpc::Heartbeat* heartbeat);

}  // namespace shoal::agent
