// How the commands show a job's attributes. squeue, scontrol and sacct print many of the same
// values; each is computed here once so they always agree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model.h"

namespace shoal {

// The job's time limit in seconds, or kUnlimited. A limit never given (0) reads as
// unlimited: the controller replaces it with the partition's default when it accepts the job.
int64_t JobTimeLimit(const Job& job);
// When the job became eligible to run; 0 while it is not (held, waiting on a dependency, a
// begin time or its array's throttle), as Slurm shows "EligibleTime=Unknown" then.
int64_t JobEligibleTime(const Job& job);
// The allocation as a compressed hostlist ("n[1-2]"), "" when none.
std::string JobNodeList(const Job& job);
// Nodes held, or the minimum requested while none are.
uint32_t JobNodeCount(const Job& job);
// CPUs held, or the CPUs requested while none are.
uint32_t JobCpuCount(const Job& job);
// CPUs per allocated node (the batch host's share); requested per-node CPUs while pending.
uint32_t JobCpusOnFirstNode(const Job& job);
// Seconds the job has run: 0 before it starts, up to `now` while running, to its end after.
int64_t JobRunSeconds(const Job& job, int64_t now);
// When the job started; for a pending job when it is expected to: the scheduler's planned
// start, else its --begin time; 0 when nobody knows.
int64_t JobStartTime(const Job& job);
// The expected end of a running or planned job (start + limit), its real end once finished,
// 0 otherwise.
int64_t JobEndTime(const Job& job);
// "(null)" or the dependency as Slurm lists it while unresolved: "afterok:3(unfulfilled)".
std::string JobDependencyText(const Job& job);
// The batch script's path, "(null)" for --wrap and stdin scripts (as Slurm shows them).
std::string JobCommandText(const Job& job);
// "exit:signal".
std::string JobExitCodeText(const Job& job);
// Resolved paths of the job's output files, as scontrol shows them.
std::string JobStdoutPath(const Job& job);
std::string JobStderrPath(const Job& job);
// MIN_MEMORY: "0", "100M", "4G".
std::string JobMinMemoryText(const Job& job);
// TRES_PER_NODE: "gres:gpu:2", "gres:gpu:a100:1", or "N/A".
std::string JobTresPerNode(const Job& job);
// %R: whether the reason is shown "(Reason)" instead of the node list.
bool JobShowsReason(const Job& job);
// "(Reason)" or the node list, as squeue's NODELIST(REASON) column.
std::string JobReasonOrNodes(const Job& job);
// Requested node count as scontrol shows it: "2", "2-3" (or the allocated count).
std::string JobNodeCountText(const Job& job);
// The job's QOS name ("normal" for records from before QOS existed).
std::string JobQosText(const Job& job);

// One line of squeue/scontrol output: a job, or the pending tasks of one array shown
// together ("10_[3-9%2]") as Slurm shows the array's not-yet-started remainder.
struct JobRow {
  const Job* job = nullptr;            // the job, or the first pending task of a collapsed array
  std::vector<int64_t> pending_tasks;  // collapsed tasks, ascending (empty: a single job)
  bool bracketed = false;              // collapsed form prints "[...]" even for one task

  // "12", "10_3", "10_[3-9%2]".
  std::string IdText() const;
  // ARRAY_TASK_ID: "3", "3-9%2", or "N/A" for a job outside an array.
  std::string TaskIdText() const;
  // The id -O JobID and sacct's JobIDRaw show: the job's own id, the array's for a collapse.
  JobId RawId() const;
};

// Builds rows from jobs in their given order. Without `expand_arrays`, the pending tasks of an
// array become one row at the place of its first pending task.
std::vector<JobRow> BuildJobRows(const std::vector<Job>& jobs, bool expand_arrays);
// A collapsed row once all its array's pending tasks are in `pending_tasks`: sorts them, drops
// repeats, and says whether it prints bracketed (`array_started`: a task is past pending).
void FinishCollapsedRow(JobRow* row, bool array_started);

}  // namespace shoal
