// The agent's Prometheus /metrics: the node (CPU, memory, load), its running jobs (CPU seconds
// and memory, from the job's own cgroups under TaskPlugin=task/cgroup, else summed over the
// job's processes in /proc) and its GPUs (GpuMonitor).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/gpu_monitor.h"
#include "agent/job_manager.h"

namespace shoal::agent {

// CPU and memory use of one job's processes.
struct JobUsage {
  double cpu_seconds = 0;
  uint64_t memory_bytes = 0;
  std::string source;  // "cgroup" or "proc"
};

// Reads a job's usage: from its cgroup directories (job_cgroup.h) when it has them, else from
// the supervisor's process tree in /proc. nullopt when the supervisor is gone.
std::optional<JobUsage> ReadJobUsage(pid_t supervisor_pid,
                                     const std::vector<std::string>& cgroup_dirs,
                                     const std::string& proc_root = "/proc");

// One task of a job step now: the supervisor's child that runs it and all its descendants.
struct TaskUsage {
  uint32_t task = 0;       // SLURM_PROCID from its environment where readable, else its place
  double cpu_seconds = 0;  // user + system, reaped children included
  uint64_t rss_bytes = 0;
  uint64_t vm_bytes = 0;
  uint64_t pages = 0;        // major page faults
  uint64_t read_bytes = 0;   // rchar of /proc/PID/io, 0 where unreadable
  uint64_t write_bytes = 0;  // wchar
  std::vector<pid_t> pids;   // the task's processes, the task's own first
};

// The tasks a supervisor runs (its children, in pid order), each summed over its process tree
// in /proc (sstat's per-task figures). Empty when the supervisor is gone.
std::vector<TaskUsage> ReadTaskUsage(pid_t supervisor_pid, const std::string& proc_root = "/proc");

class NodeMetrics {
 public:
  struct Options {
    std::string node_name;
    uint32_t cpus = 0;       // offered to the controller
    uint64_t memory_mb = 0;  // offered to the controller
    std::string proc_root = "/proc";
  };
  NodeMetrics(Options options, std::unique_ptr<GpuMonitor> gpus,
              std::function<std::vector<RunningJobInfo>()> running_jobs);

  // The exposition text, read now. Thread-safe (scrapes are serialized).
  std::string Render();
  // The GPUs' readings now (for the heartbeats to the controller); thread-safe.
  std::vector<GpuSample> SampleGpus();

 private:
  const Options options_;
  std::unique_ptr<GpuMonitor> gpus_;
  std::function<std::vector<RunningJobInfo>()> running_jobs_;

  std::mutex mu_;
  // /proc/stat's totals at the last scrape, for the CPU use between two scrapes.
  double last_busy_s_ = -1, last_total_s_ = -1;
  double last_ratio_ = 0;
  // Highest CPU seconds reported per job: a counter must not go down when a process of the
  // job exits before its parent collected it.
  std::map<uint64_t, double> job_cpu_high_;
};

}  // namespace shoal::agent
