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

// Emulated GPUs whose readings follow the jobs on them, as a real card's do: an idle GPU sits
// at 0-5 % and about 35 C with next to no memory used; one a job holds runs at a level drawn
// for that job (60-98 %) with a few percent of noise, its memory filled to a share drawn for
// the job, and its temperature rises toward 62-80 C (and cools back when the job ends) with a
// time constant of about 40 s. Power follows utilization. Deterministic for a seed, driven by
// the caller's clock, so the emulator (`shoal sim live`) and tests share it.
class EmulatedGpuModel {
 public:
  EmulatedGpuModel(uint32_t count, std::string type, uint64_t seed = 1);
  // Readings at `now_s` (seconds, any monotonic origin); `busy[i]`: GPU i is held by a running
  // job (missing entries: idle).
  std::vector<GpuSample> Sample(double now_s, const std::vector<bool>& busy);
  uint32_t count() const { return static_cast<uint32_t>(gpus_.size()); }

  static constexpr uint64_t kMemoryTotal = 80ull << 30;  // an 80 GiB card
  static constexpr double kIdleCelsius = 35;

 private:
  struct Gpu {
    bool busy = false;
    double level = 0;      // the running job's utilization, drawn when it starts
    double mem_share = 0;  // the running job's share of the memory
    double celsius = kIdleCelsius;
    double last_s = -1;
  };
  std::string type_;
  std::vector<Gpu> gpus_;
  uint64_t state_;   // the noise's generator (splitmix64): small and the same everywhere
  double Uniform();  // [0, 1)
};

// `count` emulated GPUs named `type`. `now_s` is the clock the values vary with (seconds);
// the default is the steady clock, tests pass their own. Without `busy`, each GPU follows slow
// waves of its own (the agent cannot tell which GPU a job uses); with it, EmulatedGpuModel's
// readings for the GPUs it says are held by jobs.
std::unique_ptr<GpuMonitor> MakeEmulatedGpuMonitor(
    uint32_t count, std::string type, std::function<double()> now_s = nullptr,
    std::function<std::vector<bool>()> busy = nullptr);

// What the agent uses: NVML when it loads and sees at least one GPU, else the emulated GPUs
// (none when emulated_count is 0), following the jobs `busy` says hold them when given.
// `*note` says which and why, for the log.
std::unique_ptr<GpuMonitor> CreateGpuMonitor(uint32_t emulated_count, const std::string& type,
                                             std::string* note,
                                             const std::string& nvml_library = "libnvidia-ml.so.1",
                                             std::function<std::vector<bool>()> busy = nullptr);

}  // namespace shoal::agent
