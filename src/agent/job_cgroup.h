// Per-job control groups (slurm.conf's TaskPlugin=task/cgroup). Each job gets one directory per
// hierarchy that holds a controller shoal uses:
//
//   <agent's own cgroup>/shoal/<node>/job_<id>/step_<batch|N>
//
// The job directory carries the limits (the memory of ConstrainRAMSpace=yes), so every step of
// the job on the node shares them, as in Slurm; each supervisor moves itself into its step's
// leaf before it starts anything, so the job's processes can never escape the accounting. The
// directories sit below the agent's own cgroup, so whatever limits the agent's service has
// still bind its jobs, and several agents on one host (shoal up) never collide.
//
// cgroup v1 (memory and cpuacct hierarchies) and v2 (the unified hierarchy) are both handled.
// On v2 the memory controller can only be given to children of a cgroup without processes of
// its own; when the agent's cgroup has some, the agent moves itself into a leaf "agent" first,
// and when other processes share that cgroup, memory limits are unavailable (said once in the
// agent's log) while CPU accounting still works.
//
// The agent prepares the layout; the supervisor (static, shoal_common only) creates and enters
// the job's directories; the agent removes them once the supervisor has exited.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace shoal::agent {

struct CgroupLayout {
  // The parents of the job directories, one per hierarchy: ".../shoal/<node>".
  std::vector<std::string> parents;
  bool memory = false;  // a memory controller is among them: limits can be enforced
  std::string problem;  // why there is no layout, or no memory controller, for the log
  bool ok() const { return !parents.empty(); }
};

// Finds the hierarchies of the calling process from `proc_root`/self/mountinfo and
// /self/cgroup, and creates the parents. Needs the right to write there (root, or a delegated
// cgroup).
CgroupLayout PrepareCgroupLayout(const std::string& node, const std::string& proc_root = "/proc");

// The job's directories under a layout, one per hierarchy.
std::vector<std::string> JobCgroupDirs(const CgroupLayout& layout, uint64_t job_id);

// The leaf of a unit: "step_batch" for a batch script, "step_N" for the tasks of step N.
std::string StepCgroupLeaf(bool batch, uint32_t step_id);

// Supervisor side: creates each job directory and its leaf, sets the memory limit on the job
// directory (memory_limit_bytes 0: none), and moves the calling process into the leaves. A
// failure names the file; the caller decides whether the job may run without.
Status EnterJobCgroup(const std::vector<std::string>& job_dirs, const std::string& leaf,
                      uint64_t memory_limit_bytes);

// Processes of the unit's leaf that the kernel killed for the job's memory limit so far.
uint64_t CountOomKills(const std::vector<std::string>& job_dirs, const std::string& leaf);

// What the job has used, from its directories: CPU seconds and current memory in bytes.
struct CgroupUsage {
  double cpu_seconds = 0;
  uint64_t memory_bytes = 0;
};
std::optional<CgroupUsage> ReadCgroupUsage(const std::vector<std::string>& job_dirs);

// Removes the unit's leaf and, when no other unit of the job is left in it, the job directory.
// Call after the supervisor has exited; missing directories are fine.
void RemoveJobCgroup(const std::vector<std::string>& job_dirs, const std::string& leaf);

}  // namespace shoal::agent
