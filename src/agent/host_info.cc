#include "agent/host_info.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace shoal::agent {
namespace {

// Reads one "Key:   123 kB" line of /proc/meminfo, in KiB.
uint64_t MeminfoKiB(const char* key) {
  FILE* f = std::fopen("/proc/meminfo", "re");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t value = 0;
  size_t key_len = std::strlen(key);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, key, key_len) == 0 && line[key_len] == ':') {
      unsigned long long kib = 0;
      if (std::sscanf(line + key_len + 1, "%llu", &kib) == 1) value = kib;
      break;
    }
  }
  std::fclose(f);
  return value;
}

}  // namespace

uint32_t HostCpuCount() {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<uint32_t>(n) : 1;
}

uint64_t HostMemoryMB() { return MeminfoKiB("MemTotal") / 1024; }

uint64_t HostFreeMemoryMB() { return MeminfoKiB("MemAvailable") / 1024; }

double HostLoad1m() {
  double load = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "re")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = 0;
    std::fclose(f);
  }
  return load;
}

}  // namespace shoal::agent
