// Model values for the cli tests, shaped after a session with the real Slurm 22.05 (a
// cluster "bench" with nodes n[1-4] of 16 CPUs, partitions debug (default) and long).
#pragma once

#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "core/model.h"

namespace shoal::testing {

// 2026-11-25T17:07:41 UTC, the reference jobs' submit time.
inline constexpr int64_t kSubmit = 1795626461;

inline void UseUtc() {
  setenv("TZ", "UTC", 1);
  tzset();
}

inline Job MakeJob(JobId id, const std::string& name, const std::string& partition, JobState state,
                   uint32_t priority) {
  Job j;
  j.id = id;
  j.req.name = name;
  j.req.user = "root";
  j.req.uid = 0;
  j.req.gid = 0;
  j.req.account = "root";
  j.req.partition = partition;
  j.req.work_dir = "/tmp/sref";
  j.req.submit_host = "localhost";
  j.req.command = "(wrap)";
  j.state = state;
  j.priority = priority;
  j.submit_time = kSubmit;
  if (state != JobState::kPending) {
    j.eligible_time = kSubmit;
    j.start_time = kSubmit + 1;
  }
  return j;
}

inline Job Running(Job j, std::vector<std::string> nodes, uint32_t cpus) {
  j.nodes = std::move(nodes);
  j.alloc_cpus = cpus;
  j.cpus_per_node = cpus / static_cast<uint32_t>(j.nodes.size());
  return j;
}

inline Job Pending(Job j, const std::string& reason) {
  j.reason = reason;
  return j;
}

inline Job ArrayTask(Job j, JobId array_id, int64_t task, uint32_t throttle) {
  j.array_job_id = array_id;
  j.array_task_id = task;
  j.req.array_spec = "0-15%4";
  j.req.array_max_running = throttle;
  return j;
}

// The queue squeue showed two seconds after these submissions:
//   sbatch -J sleeper -N2 -n4 -t 30 --wrap "sleep 600"                   (3)
//   sbatch -p long -N 2 --exclusive -t 1-2:3:4 --wrap "sleep 500"       (4)
//   sbatch -a 0-15%4 -c 2 --wrap "sleep 300"                            (5, tasks 10..25)
//   sbatch -H --wrap "sleep 10"                                         (6)
//   sbatch -p long -J averyveryverylongjobname -N 2 --wrap "sleep 10"   (7)
//   sbatch --nice=100 -J niced --wrap "sleep 20"                        (8)
//   sbatch -d afterok:3 --wrap true                                     (9)
inline std::vector<Job> ReferenceQueue() {
  std::vector<Job> jobs;
  Job j3 =
      Running(MakeJob(3, "sleeper", "debug", JobState::kRunning, 4294901757u), {"n1", "n2"}, 4);
  j3.req.min_nodes = j3.req.max_nodes = 2;
  j3.req.ntasks = 4;
  j3.req.time_limit_s = 30 * 60;
  jobs.push_back(j3);

  Job j4 = Running(MakeJob(4, "wrap", "long", JobState::kRunning, 4294901756u), {"n3", "n4"}, 32);
  j4.req.min_nodes = j4.req.max_nodes = 2;
  j4.req.ntasks = 2;
  j4.req.exclusive = true;
  j4.req.time_limit_s = ((1 * 24 + 2) * 60 + 4) * 60;  // 1-2:3:4 rounds up to minutes
  jobs.push_back(j4);

  for (int64_t t = 0; t < 16; ++t) {
    Job task = ArrayTask(MakeJob(static_cast<JobId>(10 + t), "wrap", "debug",
                                 t < 4 ? JobState::kRunning : JobState::kPending, 4294901755u),
                         5, t, 4);
    task.req.cpus_per_task = 2;
    if (t < 4) {
      task = Running(task, {"n1"}, 2);
    } else {
      task = Pending(task, "JobArrayTaskLimit");
    }
    jobs.push_back(task);
  }

  Job j6 = Pending(MakeJob(6, "wrap", "debug", JobState::kPending, 0), "JobHeldUser");
  j6.held = true;
  jobs.push_back(j6);

  Job j7 = Pending(MakeJob(7, "averyveryverylongjobname", "long", JobState::kPending, 4294901754u),
                   "Resources");
  j7.req.min_nodes = j7.req.max_nodes = 2;
  j7.req.ntasks = 2;
  j7.req.time_limit_s = 3600;
  jobs.push_back(j7);

  Job j8 = Running(MakeJob(8, "niced", "debug", JobState::kRunning, 4294901653u), {"n1"}, 1);
  j8.req.nice = 100;
  jobs.push_back(j8);

  Job j9 = Pending(MakeJob(9, "wrap", "debug", JobState::kPending, 4294901752u), "Dependency");
  Dependency d;
  d.kind = Dependency::Kind::kAfterOk;
  d.job_id = 3;
  j9.req.dependency.clauses.push_back(d);
  j9.req.dependency.text = "afterok:3";
  jobs.push_back(j9);
  return jobs;
}

inline Node MakeNode(const std::string& name, uint32_t alloc_cpus) {
  Node n;
  n.name = name;
  n.address = "127.0.0.1";
  n.cpus = 16;
  n.memory_mb = 4000;
  n.responding = true;
  n.configured = true;
  n.boot_time = kSubmit - 600;
  n.last_heartbeat = kSubmit;
  n.alloc_cpus = alloc_cpus;
  if (alloc_cpus > 0) n.running_jobs = {1};
  return n;
}

inline std::vector<Partition> ReferencePartitions() {
  Partition debug;
  debug.name = "debug";
  debug.all_nodes = true;
  debug.is_default = true;
  Partition long_p;
  long_p.name = "long";
  long_p.nodes = {"n3", "n4"};
  long_p.max_time_s = 2 * 24 * 3600;
  long_p.default_time_s = 3600;
  return {debug, long_p};
}

}  // namespace shoal::testing
