#include "agent/gpu_readings.h"

namespace shoal::agent {

void AddGpuReadings(const std::vector<GpuSample>& samples, rpc::Heartbeat* heartbeat) {
  for (const GpuSample& g : samples) {
    rpc::GpuReading* r = heartbeat->add_gpus();
    r->set_index(g.index);
    r->set_utilization_ratio(g.utilization_ratio);
    r->set_memory_used_bytes(g.memory_used_bytes);
    r->set_memory_total_bytes(g.memory_total_bytes);
    r->set_temperature_celsius(g.temperature_celsius);
    r->set_power_watts(g.power_watts);
  }
}

}  // namespace shoal::agent
