// sacct's rendering over model values: fields, job and batch-step lines, and the choice of
// jobs for a time window.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cli/job_fields.h"
#include "common/status.h"
#include "core/model.h"

namespace shoal {

inline constexpr char kSacctDefaultFields[] =
    "JobID,JobName,Partition,Account,AllocCPUS,State,ExitCode";
inline constexpr char kSacctBriefFields[] = "JobID,State,ExitCode";
inline constexpr char kSacctLongFields[] =
    "JobID,JobIDRaw,JobName,Partition,MaxVMSize,MaxVMSizeNode,MaxVMSizeTask,AveVMSize,MaxRSS,"
    "MaxRSSNode,MaxRSSTask,AveRSS,MaxPages,MaxPagesNode,MaxPagesTask,AvePages,MinCPU,"
    "MinCPUNode,MinCPUTask,AveCPU,NTasks,AllocCPUS,Elapsed,State,ExitCode,AveCPUFreq,"
    "ReqCPUFreqMin,ReqCPUFreqMax,ReqCPUFreqGov,ReqMem,ConsumedEnergy,MaxDiskRead,"
    "MaxDiskReadNode,MaxDiskReadTask,AveDiskRead,MaxDiskWrite,MaxDiskWriteNode,"
    "MaxDiskWriteTask,AveDiskWrite,ReqTRES,AllocTRES,TRESUsageInAve,TRESUsageInMax,"
    "TRESUsageInMaxNode,TRESUsageInMaxTask,TRESUsageInMin,TRESUsageInMinNode,"
    "TRESUsageInMinTask,TRESUsageInTot,TRESUsageOutMax,TRESUsageOutMaxNode,"
    "TRESUsageOutMaxTask,TRESUsageOutAve,TRESUsageOutTot";

struct SacctField {
  int kind = 0;       // index into the field table
  std::string title;  // as the header prints it ("JobID")
  int width = 0;
  bool left = false;  // left-justified
};

// Parses "JobID,State%20,jobname%-5"; an unknown name is reported in `*bad` (returns empty).
std::vector<SacctField> ParseSacctFields(std::string_view spec, std::string* bad);

// All field names, for --helpformat.
std::string SacctFieldNames();

// One output line: a job, its batch step, or one of its steps (N.0, N.1, ...).
struct SacctLine {
  JobRow row;
  bool batch_step = false;
  const Step* step = nullptr;
  // A job's line: the CPU time of its steps, which its TotalCPU, UserCPU and SystemCPU add to
  // its batch script's.
  int64_t steps_user_cpu_us = 0;
  int64_t steps_system_cpu_us = 0;
};

// Whether any of `fields` needs the jobs' steps even with -X (the job line's CPU times).
bool SacctNeedsSteps(const std::vector<SacctField>& fields);

// Reads an /api/v1/accounting/jobs answer: the jobs `wanted` accepts into `jobs` (sized up front
// from the answer's "count"; its 30 MB for 30,000 jobs never a DOM at once), the steps into
// `steps`. Documents that are not a job or a step are skipped; text that is not JSON fails.
Status ReadAccountingAnswer(std::string_view text, const std::function<bool(const Job&)>& wanted,
                            std::vector<Job>& jobs, std::vector<Step>& steps);

// Accounting's order: by submission (an array task at its array's place), tasks by task id. The
// store answers in id order, which is that order but for tasks started after later jobs.
void SortForAccounting(std::vector<Job>& jobs);

// Lines for jobs in the given order: each job (pending array tasks collapsed), followed, unless
// `allocations_only`, by its batch step when it has started (batch jobs only) and its steps
// from `steps` (by job and step id).
std::vector<SacctLine> BuildSacctLines(const std::vector<Job>& jobs, bool allocations_only,
                                       const std::vector<Step>& steps = {});

std::string SacctValue(const SacctField& f, const SacctLine& line, int64_t now);

struct SacctOutput {
  bool header = true;
  bool parsable = false;   // -p: '|' after every field
  bool parsable2 = false;  // -P: '|' between fields
  std::string delimiter = "|";
};

// "%N" after a field name: N columns, right-justified; "%-N" left-justified. Leaves `f` as it
// was and returns false when the width is no number.
bool ApplyFieldWidth(std::string_view suffix, SacctField* f);

// The table sacct and sstat print: a header (titles cut to their width, then dashes) unless
// out.header is false, and `rows` lines of `value(field, row)`, fitted to the columns (too long:
// cut, ending in '+') or '|'-separated with -p/-P.
std::string RenderFieldTable(const std::vector<SacctField>& fields, size_t rows,
                             const std::function<std::string(const SacctField&, size_t)>& value,
                             const SacctOutput& out);

std::string RenderSacct(const std::vector<SacctField>& fields, const std::vector<SacctLine>& lines,
                        const SacctOutput& out, int64_t now);

// Whether a job belongs in a window [start, end] (sacct -S/-E): with `states` empty, jobs
// eligible to run at some time in it; with states, jobs in one of them during it.
bool SacctInWindow(const Job& job, int64_t start, int64_t end, const std::set<JobState>& states);

// Slurm's midnight of the day `now` falls in (local time), sacct's default start.
int64_t LocalMidnight(int64_t now);

}  // namespace shoal
