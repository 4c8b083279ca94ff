// Facts about this host that the agent reports: sizes at registration, load in heartbeats.
#pragma once

#include <cstdint>

namespace shoal::agent {

uint32_t HostCpuCount();      // online CPUs, at least 1
uint64_t HostMemoryMB();      // MemTotal in MiB, 0 when /proc/meminfo is unreadable
uint64_t HostFreeMemoryMB();  // MemAvailable in MiB, 0 when unknown
double HostLoad1m();          // 1-minute load average, 0 when unknown

}  // namespace shoal::agent
