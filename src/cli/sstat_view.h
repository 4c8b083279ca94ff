// sstat's rendering over the live usage the controller gathers (GET /api/v1/jobs/{id}/usage):
// its fields, their statistics over a step's tasks, and job/step arguments. Matches Slurm
// 22.05's sstat output (field names, widths, units); the table itself is sacct's.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/sacct_view.h"
#include "common/status.h"
#include "core/model.h"

namespace shoal {

inline constexpr char kSstatDefaultFields[] =
    "JobID,MaxVMSize,MaxVMSizeNode,MaxVMSizeTask,AveVMSize,MaxRSS,MaxRSSNode,MaxRSSTask,AveRSS,"
    "MaxPages,MaxPagesNode,MaxPagesTask,AvePages,MinCPU,MinCPUNode,MinCPUTask,AveCPU,NTasks,"
    "AveCPUFreq,ReqCPUFreqMin,ReqCPUFreqMax,ReqCPUFreqGov,ConsumedEnergy,MaxDiskRead,"
    "MaxDiskReadNode,MaxDiskReadTask,AveDiskRead,MaxDiskWrite,MaxDiskWriteNode,MaxDiskWriteTask,"
    "AveDiskWrite,TRESUsageInAve,TRESUsageInMax,TRESUsageInMaxNode,TRESUsageInMaxTask,"
    "TRESUsageInMin,TRESUsageInMinNode,TRESUsageInMinTask,TRESUsageInTot,TRESUsageOutAve,"
    "TRESUsageOutMax,TRESUsageOutMaxNode,TRESUsageOutMaxTask,TRESUsageOutMin,"
    "TRESUsageOutMinNode,TRESUsageOutMinTask,TRESUsageOutTot";
// -i/--pidformat.
inline constexpr char kSstatPidFields[] = "JobID,Nodelist,Pids";

// Parses "JobID,MaxRSS%20,avecpu%-5" (names in any case); an unknown name is reported in
// `*bad` (returns empty).
std::vector<SacctField> ParseSstatFields(std::string_view spec, std::string* bad);

// --helpformat: every field name, four to a line.
std::string SstatFieldNames();

// One -j item: "12", "12.0", "12.batch", "10_3", "10_3.1". `job` is the job part as given
// ("10_3"); no step: sstat picks (see SstatSelectSteps).
struct SstatTarget {
  std::string job;
  std::optional<std::string> step;  // "0", "batch", "extern"
};

// Parses a -j list. Errors carry sstat's fatal message ("Bad job/step specified: abc").
Result<std::vector<SstatTarget>> ParseSstatJobs(std::string_view list);

// The steps a target shows, from a running job's steps: the named one; without a step, with
// `all_steps` every step (batch first), else the lowest numbered srun step (none for a job that
// runs only its batch script, as Slurm shows nothing then).
std::vector<const StepUsage*> SstatSelectSteps(const std::vector<StepUsage>& steps,
                                               const SstatTarget& target, bool all_steps);

// One output line: a step over all its tasks, or (-i) over its tasks on one node.
struct SstatRow {
  const StepUsage* step = nullptr;
  std::vector<std::string> nodes;  // the row's nodes
  std::vector<const TaskUsageSample*> tasks;
};
std::vector<SstatRow> SstatRows(const std::vector<const StepUsage*>& steps, bool per_node);

// A size in bytes as sstat prints it: scaled to K, M, G, ... only while that stays exact
// ("117328K", "45208917", "100M"); the bytes themselves with `noconvert`.
std::string SstatSizeText(uint64_t bytes, bool noconvert);

std::string SstatValue(const SacctField& f, const SstatRow& row, bool noconvert);

}  // namespace shoal
