// A stand-in for the NVIDIA driver's libnvidia-ml.so.1: NVML's C ABI (the functions the agent
// uses, with nvml.h's types and error codes) and fixed readings of two GPUs. No GPU driver runs
// on the test machines, so gpu_monitor_test loads this through dlopen exactly as the agent
// loads the real library, and checks what the reader makes of it.
// SHOAL_NVML_DOUBLE_FAIL_INIT=1 makes nvmlInit_v2 fail as on a host whose driver is not loaded.
#include <cstdio>
#include <cstdlib>

extern "C" {

struct nvmlDevice_st {
  unsigned int index;
};
struct nvmlUtilization_st {
  unsigned int gpu;
  unsigned int memory;
};
struct nvmlMemory_st {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

namespace {
constexpr int kSuccess = 0, kUninitialized = 1, kInvalidArgument = 2, kNotSupported = 3,
              kDriverNotLoaded = 9;
constexpr unsigned long long kTotal = 150754820096ULL;  // an H200's 140 GiB
nvmlDevice_st devices[2] = {{0}, {1}};
bool initialized = false;
}  // namespace

__attribute__((visibility("default"))) int nvmlInit_v2() {
  const char* fail = std::getenv("SHOAL_NVML_DOUBLE_FAIL_INIT");
  if (fail != nullptr && fail[0] == '1') return kDriverNotLoaded;
  initialized = true;
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlShutdown() {
  initialized = false;
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetCount_v2(unsigned int* count) {
  if (!initialized) return kUninitialized;
  *count = 2;
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetHandleByIndex_v2(unsigned int index,
                                                                         nvmlDevice_st** device) {
  if (!initialized) return kUninitialized;
  if (index >= 2) return kInvalidArgument;
  *device = &devices[index];
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetName(nvmlDevice_st* device, char* name,
                                                             unsigned int length) {
  std::snprintf(name, length, "NVIDIA H200 #%u", device->index);
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetUtilizationRates(
    nvmlDevice_st* device, nvmlUtilization_st* utilization) {
  utilization->gpu = device->index == 0 ? 37 : 0;
  utilization->memory = 5;
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetMemoryInfo(nvmlDevice_st* device,
                                                                   nvmlMemory_st* memory) {
  memory->total = kTotal;
  memory->used = device->index == 0 ? 4ULL << 30 : 0;
  memory->free = memory->total - memory->used;
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetTemperature(nvmlDevice_st* device,
                                                                    int sensor,
                                                                    unsigned int* celsius) {
  if (sensor != 0) return kInvalidArgument;  // NVML_TEMPERATURE_GPU is the only sensor
  *celsius = device->index == 0 ? 41 : 29;
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetPowerUsage(nvmlDevice_st* device,
                                                                   unsigned int* milliwatts) {
  if (device->index == 1) return kNotSupported;  // as on boards without power readings
  *milliwatts = 123456;
  return kSuccess;
}

}  // extern "C"
