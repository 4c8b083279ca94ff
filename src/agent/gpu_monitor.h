// GPU readings for the agent's /metrics: utilization, memory, temperature and power per GPU
// index. Real GPUs are read through NVML, loaded at run time with dlopen (no build dependency:
// the few functions used are declared in gpu_monitor.cc); hosts without it report the agent's
// emulated GPUs (--gpus N) with plausible, slowly varying values, marked as emulated.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace shoal::agent {

struct GpuSample {
  uint32_t index = 0;
  std::string name;              // product name, or "emulated"
  double utilization_ratio = 0;  // 0..1, share of the last sample period the GPU was busy
  uint64_t memory_used_bytes = 0;
  uint64_t memory_total_bytes = 0;
  double temperature_celsius = 0;
  double power_watts = 0;
  bool emulated = false;
};

class GpuMonitor {
 public:
  virtual ~GpuMonitor() = default;
  // One reading per GPU, by index. A GPU that fails to answer is left out.
  virtual std::vector<GpuSample> Sample() = 0;
  // "nvml" or "emulated".
  virtual std::string source() const = 0;
};

// NVML from `library`. Fails (NotFound when the library or one of its functions is missing,
// Unavailable when nvmlInit fails) rather than returning a monitor that cannot read anything.
Result<std::unique_ptr<GpuMonitor>> OpenNvmlGpuMonitor(
    const std::string& library = "libnvidia-ml.so.1");

// `count` emulated GPUs named `type`. `now_s` is the clock the values vary with (seconds);
// the default is the steady clock, tests pass their own.
std::unique_ptr<GpuMonitor> MakeEmulatedGpuMonitor(uint32_t count, std::string type,
                                                   std::function<double()> now_s = nullptr);

// What the agent uses: NVML when it loads and sees at least one GPU, else the emulated GPUs
// (none when emulated_count is 0). `*note` says which and why, for the log.
std::unique_ptr<GpuMonitor> CreateGpuMonitor(uint32_t emulated_count, const std::string& type,
                                             std::string* note,
                                             const std::string& nvml_library = "libnvidia-ml.so.1");

}  // namespace shoal::agent
