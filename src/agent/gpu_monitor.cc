#include "agent/gpu_monitor.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace shoal::agent {
namespace {

// The slice of NVML's C API used here, declared as nvml.h declares it (stable since CUDA 8).
using nvmlReturn_t = int;  // an enum in nvml.h; NVML_SUCCESS is 0
constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr int kNvmlTemperatureGpu = 0;
using nvmlDevice_t = struct nvmlDevice_st*;
struct nvmlUtilization_t {
  unsigned int gpu;  // percent of the last sample period a kernel ran
  unsigned int memory;
};
struct nvmlMemory_t {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

struct NvmlApi {
  nvmlReturn_t (*init)();
  nvmlReturn_t (*shutdown)();
  nvmlReturn_t (*device_count)(unsigned int*);
  nvmlReturn_t (*handle_by_index)(unsigned int, nvmlDevice_t*);
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned int);
  nvmlReturn_t (*utilization)(nvmlDevice_t, nvmlUtilization_t*);
  nvmlReturn_t (*memory)(nvmlDevice_t, nvmlMemory_t*);
  nvmlReturn_t (*temperature)(nvmlDevice_t, int, unsigned int*);
  nvmlReturn_t (*power)(nvmlDevice_t, unsigned int*);  // milliwatts
};

template <typename Fn>
bool Bind(void* lib, const char* symbol, Fn*& out) {
  out = reinterpret_cast<Fn*>(dlsym(lib, symbol));
  return out != nullptr;
}

class NvmlGpuMonitor : public GpuMonitor {
 public:
  NvmlGpuMonitor(void* lib, NvmlApi api) : lib_(lib), api_(api) {}
  ~NvmlGpuMonitor() override {
    api_.shutdown();
    dlclose(lib_);
  }

  std::vector<GpuSample> Sample() override {
    std::vector<GpuSample> out;
    unsigned int count = 0;
    if (api_.device_count(&count) != kNvmlSuccess) return out;
    for (unsigned int i = 0; i < count; ++i) {
      nvmlDevice_t dev = nullptr;
      if (api_.handle_by_index(i, &dev) != kNvmlSuccess) continue;
      GpuSample s;
      s.index = i;
      char name[96] = {};
      if (api_.name(dev, name, sizeof name) == kNvmlSuccess) s.name = name;
      nvmlUtilization_t util{};
      if (api_.utilization(dev, &util) == kNvmlSuccess) s.utilization_ratio = util.gpu / 100.0;
      nvmlMemory_t mem{};
      if (api_.memory(dev, &mem) == kNvmlSuccess) {
        s.memory_used_bytes = mem.used;
        s.memory_total_bytes = mem.total;
      }
      unsigned int temp = 0;
      if (api_.temperature(dev, kNvmlTemperatureGpu, &temp) == kNvmlSuccess) {
        s.temperature_celsius = temp;
      }
      unsigned int mw = 0;
      if (api_.power(dev, &mw) == kNvmlSuccess) s.power_watts = mw / 1000.0;
      out.push_back(std::move(s));
    }
    return out;
  }

  std::string source() const override { return "nvml"; }

 private:
  void* lib_;
  NvmlApi api_;
};

class EmulatedGpuMonitor : public GpuMonitor {
 public:
  EmulatedGpuMonitor(uint32_t count, std::string type, std::function<double()> now_s)
      : count_(count), type_(std::move(type)), now_s_(std::move(now_s)) {}

  // Each GPU follows its own slow waves (periods of minutes, phases by index): values move
  // like a busy GPU's without jumping between scrapes.
  std::vector<GpuSample> Sample() override {
    const double t = now_s_();
    std::vector<GpuSample> out;
    for (uint32_t i = 0; i < count_; ++i) {
      const double phase = 1.7 * i;
      double util = 0.55 + 0.3 * std::sin(t / 97.0 + phase) + 0.1 * std::sin(t / 23.0 + 2 * phase);
      util = std::clamp(util, 0.0, 1.0);
      GpuSample s;
      s.index = i;
      s.name = type_;
      s.emulated = true;
      s.utilization_ratio = std::round(util * 100) / 100;  // NVML reports whole percents
      s.memory_total_bytes = kMemoryTotal;
      const double mem = 0.35 + 0.25 * std::sin(t / 151.0 + phase);
      s.memory_used_bytes = static_cast<uint64_t>(mem * kMemoryTotal) & ~((1ull << 20) - 1);
      s.temperature_celsius = std::round(38 + 40 * util);
      s.power_watts = std::round(60 + 290 * util);
      out.push_back(std::move(s));
    }
    return out;
  }

  std::string source() const override { return "emulated"; }

 private:
  static constexpr uint64_t kMemoryTotal = 80ull << 30;  // an 80 GiB card
  uint32_t count_;
  std::string type_;
  std::function<double()> now_s_;
};

class ModelGpuMonitor : public GpuMonitor {
 public:
  ModelGpuMonitor(uint32_t count, std::string type, std::function<double()> now_s,
                  std::function<std::vector<bool>()> busy)
      : model_(count, std::move(type)), now_s_(std::move(now_s)), busy_(std::move(busy)) {}
  std::vector<GpuSample> Sample() override { return model_.Sample(now_s_(), busy_()); }
  std::string source() const override { return "emulated"; }

 private:
  EmulatedGpuModel model_;
  std::function<double()> now_s_;
  std::function<std::vector<bool>()> busy_;
};

}  // namespace

EmulatedGpuModel::EmulatedGpuModel(uint32_t count, std::string type, uint64_t seed)
    : type_(std::move(type)), gpus_(count), state_(seed) {}

double EmulatedGpuModel::Uniform() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

std::vector<GpuSample> EmulatedGpuModel::Sample(double now_s, const std::vector<bool>& busy) {
  constexpr double kTauS = 40;  // how fast a card heats and cools
  std::vector<GpuSample> out;
  out.reserve(gpus_.size());
  for (uint32_t i = 0; i < gpus_.size(); ++i) {
    Gpu& g = gpus_[i];
    const bool now_busy = i < busy.size() && busy[i];
    if (now_busy && !g.busy) {  // a job starts on it: its own intensity and footprint
      g.level = 0.6 + 0.38 * Uniform();
      g.mem_share = 0.3 + 0.6 * Uniform();
    }
    g.busy = now_busy;
    // Noise around the level: a few percent busy, a few percent of idle housekeeping.
    double util = g.busy ? g.level + 0.08 * (Uniform() - 0.5) : 0.05 * Uniform();
    util = std::clamp(std::round(util * 100) / 100, 0.0, 1.0);  // NVML's whole percents
    const double target = kIdleCelsius + (g.busy ? 45 * g.level : 0);
    const double dt = g.last_s < 0 ? 0 : std::max(0.0, now_s - g.last_s);
    g.celsius += (target - g.celsius) * (1 - std::exp(-dt / kTauS));
    g.last_s = now_s;
    GpuSample s;
    s.index = i;
    s.name = type_;
    s.emulated = true;
    s.utilization_ratio = util;
    s.memory_total_bytes = kMemoryTotal;
    const double mem = g.busy ? g.mem_share : 0.005;  // the driver's context on an idle card
    s.memory_used_bytes = static_cast<uint64_t>(mem * kMemoryTotal) & ~((1ull << 20) - 1);
    s.temperature_celsius = std::round(g.celsius + 0.6 * (Uniform() - 0.5));
    s.power_watts = std::round(60 + 290 * util);
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::unique_ptr<GpuMonitor>> OpenNvmlGpuMonitor(const std::string& library) {
  void* lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* err = dlerror();
    return NotFound("cannot load " + library + ": " + (err ? err : "unknown error"));
  }
  NvmlApi api{};
  const bool bound = Bind(lib, "nvmlInit_v2", api.init) &&
                     Bind(lib, "nvmlShutdown", api.shutdown) &&
                     Bind(lib, "nvmlDeviceGetCount_v2", api.device_count) &&
                     Bind(lib, "nvmlDeviceGetHandleByIndex_v2", api.handle_by_index) &&
                     Bind(lib, "nvmlDeviceGetName", api.name) &&
                     Bind(lib, "nvmlDeviceGetUtilizationRates", api.utilization) &&
                     Bind(lib, "nvmlDeviceGetMemoryInfo", api.memory) &&
                     Bind(lib, "nvmlDeviceGetTemperature", api.temperature) &&
                     Bind(lib, "nvmlDeviceGetPowerUsage", api.power);
  if (!bound) {
    dlclose(lib);
    return NotFound(library + " lacks an NVML function shoal needs");
  }
  if (nvmlReturn_t rc = api.init(); rc != kNvmlSuccess) {
    dlclose(lib);
    return Unavailable("nvmlInit failed with NVML error " + std::to_string(rc));
  }
  return std::unique_ptr<GpuMonitor>(new NvmlGpuMonitor(lib, api));
}

std::unique_ptr<GpuMonitor> MakeEmulatedGpuMonitor(uint32_t count, std::string type,
                                                   std::function<double()> now_s,
                                                   std::function<std::vector<bool>()> busy) {
  if (!now_s) {
    now_s = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
  if (busy) {
    return std::make_unique<ModelGpuMonitor>(count, std::move(type), std::move(now_s),
                                             std::move(busy));
  }
  return std::make_unique<EmulatedGpuMonitor>(count, std::move(type), std::move(now_s));
}

std::unique_ptr<GpuMonitor> CreateGpuMonitor(uint32_t emulated_count, const std::string& type,
                                             std::string* note, const std::string& nvml_library,
                                             std::function<std::vector<bool>()> busy) {
  auto nvml = OpenNvmlGpuMonitor(nvml_library);
  if (nvml.ok()) {
    const size_t found = (*nvml)->Sample().size();
    if (found > 0) {
      *note = "GPU metrics from NVML (" + std::to_string(found) + " GPUs)";
      return std::move(nvml).value();
    }
    *note = "NVML sees no GPU";
  } else {
    *note = nvml.status().message();
  }
  *note += "; reporting " + std::to_string(emulated_count) + " emulated GPUs";
  return MakeEmulatedGpuMonitor(emulated_count, type, nullptr, std::move(busy));
}

}  // namespace shoal::agent
