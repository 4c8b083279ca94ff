#include "cli/sacct_view.h"

#include <algorithm>
#include <atomic>
#include <ctime>
#include <functional>
#include <iterator>
#include <numeric>
#include <optional>
#include <thread>

#include "api/json_model.h"
#include "cli/job_fields.h"
#include "cli/users.h"
#include "common/hostlist.h"
#include "common/slurm_time.h"
#include "common/strings.h"
#include "common/units.h"

namespace shoal {
namespace {

enum Kind : int {
  kJobId,
  kJobIdRaw,
  kJobName,
  kPartition,
  kAccount,
  kAllocCpus,
  kState,
  kExitCode,
  kElapsed,
  kElapsedRaw,
  kStart,
  kEnd,
  kSubmit,
  kEligible,
  kNodeList,
  kNNodes,
  kAllocNodes,
  kUser,
  kUid,
  kGroup,
  kGid,
  kTimelimit,
  kTimelimitRaw,
  kWorkDir,
  kNCpus,
  kReqCpus,
  kReqNodes,
  kReqMem,
  kPriority,
  kQos,
  kReason,
  kDerivedExitCode,
  kCpuTime,
  kCpuTimeRaw,
  kCluster,
  kConstraints,
  kNTasks,
  kAllocTres,
  kReqTres,
  kComment,
  kTotalCpu,
  kUserCpu,
  kSystemCpu,
  kMaxRss,
  kMaxRssNode,
  kUnknownMetric,  // usage statistics shoal does not collect: printed empty
};

struct FieldInfo {
  const char* name;
  int kind;
  int width;
  bool left;
};

constexpr FieldInfo kFields[] = {
    {"JobID", kJobId, 12, true},
    {"JobIDRaw", kJobIdRaw, 12, true},
    {"JobName", kJobName, 10, false},
    {"Partition", kPartition, 10, false},
    {"Account", kAccount, 10, false},
    {"AllocCPUS", kAllocCpus, 10, false},
    {"State", kState, 10, false},
    {"ExitCode", kExitCode, 8, false},
    {"Elapsed", kElapsed, 10, false},
    {"ElapsedRaw", kElapsedRaw, 10, false},
    {"Start", kStart, 19, false},
    {"End", kEnd, 19, false},
    {"Submit", kSubmit, 19, false},
    {"Eligible", kEligible, 19, false},
    {"NodeList", kNodeList, 15, false},
    {"NNodes", kNNodes, 8, false},
    {"AllocNodes", kAllocNodes, 10, false},
    {"User", kUser, 9, false},
    {"UID", kUid, 6, false},
    {"Group", kGroup, 9, false},
    {"GID", kGid, 6, false},
    {"Timelimit", kTimelimit, 10, false},
    {"TimelimitRaw", kTimelimitRaw, 12, false},
    {"WorkDir", kWorkDir, 20, false},
    {"NCPUS", kNCpus, 10, false},
    {"ReqCPUS", kReqCpus, 8, false},
    {"ReqNodes", kReqNodes, 8, false},
    {"ReqMem", kReqMem, 10, false},
    {"Priority", kPriority, 10, false},
    {"QOS", kQos, 10, false},
    {"Reason", kReason, 25, false},
    {"DerivedExitCode", kDerivedExitCode, 15, false},
    {"CPUTime", kCpuTime, 10, false},
    {"CPUTimeRAW", kCpuTimeRaw, 10, false},
    {"Cluster", kCluster, 10, false},
    {"Constraints", kConstraints, 19, false},
    {"NTasks", kNTasks, 8, false},
    {"AllocTRES", kAllocTres, 10, false},
    {"ReqTRES", kReqTres, 10, false},
    {"Comment", kComment, 15, false},
    {"TotalCPU", kTotalCpu, 10, false},
    {"UserCPU", kUserCpu, 10, false},
    {"SystemCPU", kSystemCpu, 10, false},
    {"MaxRSS", kMaxRss, 10, false},
    {"MaxRSSNode", kMaxRssNode, 10, false},
};

// Statistics that shoal does not gather; accepted (printed empty) so scripts keep working.
constexpr const char* kMetricFields[] = {
    "MaxVMSize",
    "MaxVMSizeNode",
    "MaxVMSizeTask",
    "AveVMSize",
    "MaxRSSTask",
    "AveRSS",
    "MaxPages",
    "MaxPagesNode",
    "MaxPagesTask",
    "AvePages",
    "MinCPU",
    "MinCPUNode",
    "MinCPUTask",
    "AveCPU",
    "AveCPUFreq",
    "ReqCPUFreqMin",
    "ReqCPUFreqMax",
    "ReqCPUFreqGov",
    "ConsumedEnergy",
    "MaxDiskRead",
    "MaxDiskReadNode",
    "MaxDiskReadTask",
    "AveDiskRead",
    "MaxDiskWrite",
    "MaxDiskWriteNode",
    "MaxDiskWriteTask",
    "AveDiskWrite",
    "TRESUsageInAve",
    "TRESUsageInMax",
    "TRESUsageInMaxNode",
    "TRESUsageInMaxTask",
    "TRESUsageInMin",
    "TRESUsageInMinNode",
    "TRESUsageInMinTask",
    "TRESUsageInTot",
    "TRESUsageOutMax",
    "TRESUsageOutMaxNode",
    "TRESUsageOutMaxTask",
    "TRESUsageOutAve",
    "TRESUsageOutTot",
};

// The state the batch step ended in, and its exit code, derived from the job as Slurm
// records them: a step killed by a signal shows CANCELLED with that signal.
std::pair<std::string, std::string> BatchStepState(const Job& job) {
  auto code = [](int e, int s) { return std::to_string(e) + ":" + std::to_string(s); };
  int sig = job.exit_signal;
  switch (job.state) {
    case JobState::kCompleted:
      return {"COMPLETED", code(job.exit_code, sig)};
    case JobState::kFailed:
      if (sig != 0) return {"CANCELLED", code(0, sig)};
      return {"FAILED", code(job.exit_code, 0)};
    case JobState::kCancelled:
    case JobState::kTimeout:
    case JobState::kPreempted:
      return {"CANCELLED", code(0, sig != 0 ? sig : 15)};
    case JobState::kOutOfMemory:
      return {"OUT_OF_MEMORY", code(0, 125)};
    case JobState::kNodeFail:
      return {"NODE_FAIL", code(0, 0)};
    case JobState::kSuspended:
      return {"SUSPENDED", code(0, 0)};
    default:
      return {"RUNNING", code(0, 0)};
  }
}

std::string JobLineState(const Job& job) {
  if (job.state == JobState::kCancelled) {
    // Slurm names who cancelled; shoal does not record it, the owner is the usual case.
    return "CANCELLED by " + std::to_string(job.req.uid);
  }
  return JobStateName(job.state);
}

std::string JobLineExitCode(const Job& job) {
  // Slurm keeps no exit status for a job it ended itself; its batch step carries the signal.
  switch (job.state) {
    case JobState::kCancelled:
    case JobState::kTimeout:
    case JobState::kPreempted:
    case JobState::kNodeFail:
      return "0:0";
    case JobState::kOutOfMemory:
      return "0:125";  // as Slurm records it: the script's own status is not kept
    default:
      return JobExitCodeText(job);
  }
}

std::string Ts(int64_t t) { return FormatTimestamp(t, "Unknown"); }

// CPU time as sacct prints it: "MM:SS.mmm" under an hour, "HH:MM:SS" under a day,
// "D-HH:MM:SS" beyond, and "00:00:00" for none at all.
std::string CpuTimeText(int64_t us) {
  if (us <= 0) return "00:00:00";
  const int64_t secs = us / 1000000;
  char buf[48];
  if (secs < 3600) {
    snprintf(buf, sizeof buf, "%02lld:%02lld.%03lld", static_cast<long long>(secs / 60),
             static_cast<long long>(secs % 60), static_cast<long long>(us / 1000 % 1000));
    return buf;
  }
  return FormatElapsed(secs);
}

std::string RssText(int64_t kb) { return kb > 0 ? std::to_string(kb) + "K" : ""; }

}  // namespace

std::vector<SacctField> ParseSacctFields(std::string_view spec, std::string* bad) {
  std::vector<SacctField> out;
  for (const std::string& raw : Split(spec, ',')) {
    std::string_view item = Trim(raw);
    if (item.empty()) continue;
    size_t pct = item.find('%');
    std::string name(item.substr(0, pct));
    SacctField f;
    bool found = false;
    for (const FieldInfo& info : kFields) {
      if (EqualsIgnoreCase(name, info.name)) {
        f.kind = info.kind;
        f.title = info.name;
        f.width = info.width;
        f.left = info.left;
        found = true;
        break;
      }
    }
    if (!found) {
      for (const char* m : kMetricFields) {
        if (EqualsIgnoreCase(name, m)) {
          f.kind = kUnknownMetric;
          f.title = m;
          f.width = 10;
          found = true;
          break;
        }
      }
    }
    if (!found) {
      *bad = name;
      return {};
    }
    if (pct != std::string_view::npos) ApplyFieldWidth(item.substr(pct + 1), &f);
    out.push_back(std::move(f));
  }
  return out;
}

std::string SacctFieldNames() {
  std::string out;
  int col = 0;
  auto add = [&](const char* name) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%-20s", name);
    out += buf;
    if (++col % 4 == 0) {
      while (!out.empty() && out.back() == ' ') out.pop_back();
      out += '\n';
    }
  };
  for (const FieldInfo& f : kFields) add(f.name);
  for (const char* m : kMetricFields) add(m);
  if (col % 4 != 0) {
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
  }
  return out;
}

bool SacctNeedsSteps(const std::vector<SacctField>& fields) {
  return std::any_of(fields.begin(), fields.end(), [](const SacctField& f) {
    return f.kind == kTotalCpu || f.kind == kUserCpu || f.kind == kSystemCpu;
  });
}

namespace {

// The controller writes a job's document per line: {"count":N,"jobs":[\nDOC,\nDOC\n]...}. Such
// a list is split into runs of lines, one per core, each decoded on its own thread. Returns
// false, having kept nothing, for text of another shape or a line that is not JSON (the
// general reader then reads it all, and names what is wrong); otherwise `rest` is the answer
// without its jobs.
bool ReadJobLinesInRuns(std::string_view text, const std::function<bool(const Job&)>& wanted,
                        std::vector<Job>& jobs, std::string* rest) {
  constexpr std::string_view kStart = "{\"count\":";
  constexpr std::string_view kJobs = ",\"jobs\":[\n";
  const size_t at = text.find(kJobs);
  if (!text.starts_with(kStart) || at == std::string_view::npos || at > kStart.size() + 20) {
    return false;
  }
  const size_t first = at + kJobs.size();
  const size_t end = text.find("\n]", first - 1);
  if (end == std::string_view::npos) return false;
  const std::string_view lines = end < first ? std::string_view() : text.substr(first, end - first);
  // Below a megabyte a thread costs about what it saves.
  const size_t threads =
      lines.size() < (1u << 20) ? 1 : std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
  std::vector<std::string_view> runs;  // whole lines each
  size_t from = 0;
  for (size_t k = 1; k <= threads && from < lines.size(); ++k) {
    size_t to = k == threads ? std::string_view::npos
                             : lines.find('\n', std::max(from, k * lines.size() / threads));
    to = to == std::string_view::npos ? lines.size() : to + 1;
    runs.push_back(lines.substr(from, to - from));
    from = to;
  }
  std::vector<std::vector<Job>> decoded(runs.size());
  std::atomic<bool> bad{false};
  auto decode = [&](size_t k) {
    std::string_view run = runs[k];
    while (!run.empty() && !bad) {
      size_t eol = run.find('\n');
      std::string_view line = run.substr(0, eol);
      run = eol == std::string_view::npos ? std::string_view() : run.substr(eol + 1);
      if (line.ends_with(',')) line.remove_suffix(1);
      Json doc = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
      if (doc.is_discarded()) {
        bad = true;
        return;
      }
      if (Result<Job> job = JobFromJson(doc); job.ok() && wanted(*job)) {
        decoded[k].push_back(std::move(*job));
      }
    }
  };
  std::vector<std::thread> others;
  for (size_t k = 1; k < runs.size(); ++k) others.emplace_back(decode, k);
  if (!runs.empty()) decode(0);
  for (std::thread& t : others) t.join();
  if (bad) return false;
  size_t total = 0;
  for (const auto& run : decoded) total += run.size();
  jobs.reserve(jobs.size() + total);
  for (auto& run : decoded) std::move(run.begin(), run.end(), std::back_inserter(jobs));
  // What follows the list: `,"steps":[...]}` or `}`.
  std::string_view after = text.substr(end + 2);
  *rest = "{" + std::string(after.starts_with(',') ? after.substr(1) : after);
  return true;
}

}  // namespace

// Each job is decoded as soon as its document has been read, and its DOM dropped there: a DOM
// of a whole long history cost more in allocations and page faults than the decoding itself.
Status ReadAccountingAnswer(std::string_view text, const std::function<bool(const Job&)>& wanted,
                            std::vector<Job>& jobs, std::vector<Step>& steps) {
  std::string without_jobs;
  if (ReadJobLinesInRuns(text, wanted, jobs, &without_jobs)) text = without_jobs;
  enum class Member { kOther, kCount, kJobs, kSteps } in = Member::kOther;
  Json::parser_callback_t read = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth == 1 && event == Json::parse_event_t::key) {
      const auto& key = parsed.get_ref<const std::string&>();
      in = key == "count"   ? Member::kCount
           : key == "jobs"  ? Member::kJobs
           : key == "steps" ? Member::kSteps
                            : Member::kOther;
    } else if (depth == 1 && event == Json::parse_event_t::value && in == Member::kCount) {
      if (parsed.is_number_unsigned()) {
        jobs.reserve(std::min<uint64_t>(parsed.get<uint64_t>(), text.size() / 64));
      }
    } else if (depth == 2 && event == Json::parse_event_t::object_end && in == Member::kJobs) {
      if (Result<Job> job = JobFromJson(parsed); job.ok() && wanted(*job)) {
        jobs.push_back(std::move(*job));
      }
      return false;  // not kept in the DOM
    } else if (depth == 2 && event == Json::parse_event_t::object_end && in == Member::kSteps) {
      if (Result<Step> step = StepFromJson(parsed); step.ok()) steps.push_back(std::move(*step));
      return false;
    }
    return true;
  };
  Json rest = Json::parse(text.begin(), text.end(), read, /*allow_exceptions=*/false);
  if (rest.is_discarded()) return Internal("the accounting answer is not JSON");
  return Status::Ok();
}

void SortForAccounting(std::vector<Job>& jobs) {
  auto before = [](const Job& a, const Job& b) {
    if (a.SubmissionId() != b.SubmissionId()) return a.SubmissionId() < b.SubmissionId();
    return a.array_task_id < b.array_task_id;
  };
  if (std::is_sorted(jobs.begin(), jobs.end(), before)) return;
  // Sorted on indices and moved once: a Job is a kilobyte, and a sort moving them n log n
  // times cost a tenth of a long history's time.
  std::vector<size_t> order(jobs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return before(jobs[x], jobs[y]); });
  std::vector<Job> sorted;
  sorted.reserve(jobs.size());
  for (size_t k : order) sorted.push_back(std::move(jobs[k]));
  jobs = std::move(sorted);
}

std::vector<SacctLine> BuildSacctLines(const std::vector<Job>& jobs, bool allocations_only,
                                       const std::vector<Step>& steps) {
  std::vector<SacctLine> lines;
  for (const JobRow& row : BuildJobRows(jobs, false)) {
    auto first = std::lower_bound(steps.begin(), steps.end(), row.job->id,
                                  [](const Step& s, JobId id) { return s.job_id < id; });
    SacctLine job_line{row, false, nullptr};
    for (auto it = first; it != steps.end() && it->job_id == row.job->id; ++it) {
      job_line.steps_user_cpu_us += it->user_cpu_us;
      job_line.steps_system_cpu_us += it->system_cpu_us;
    }
    lines.push_back(job_line);
    if (allocations_only || !row.pending_tasks.empty()) continue;
    if (row.job->start_time != 0 && !row.job->req.interactive) {
      lines.push_back(SacctLine{row, true, nullptr});
    }
    for (auto it = first; it != steps.end() && it->job_id == row.job->id; ++it) {
      lines.push_back(SacctLine{row, false, &*it});
    }
  }
  return lines;
}

namespace {

// A step's line: its own values where it has them, the job's otherwise.
std::optional<std::string> StepValue(const SacctField& f, const Step& s, int64_t now) {
  const int64_t end = s.end_time > 0 ? s.end_time : now;
  const int64_t elapsed = s.start_time > 0 ? std::max<int64_t>(0, end - s.start_time) : 0;
  const uint32_t cpus = s.ntasks * s.cpus_per_task;
  switch (f.kind) {
    case kJobId:
      return s.DisplayId();
    case kJobIdRaw:
      return std::to_string(s.job_id) + "." + std::to_string(s.step_id);
    case kJobName:
      return s.name;
    case kPartition:
    case kUser:
    case kUid:
    case kGroup:
    case kGid:
    case kTimelimit:
    case kTimelimitRaw:
    case kWorkDir:
    case kPriority:
    case kQos:
    case kReason:
    case kConstraints:
    case kDerivedExitCode:
      return "";
    case kAllocCpus:
    case kNCpus:
    case kReqCpus:
      return std::to_string(cpus);
    case kState:
      return JobStateName(s.state);
    case kExitCode:
      return std::to_string(s.exit_code) + ":" + std::to_string(s.exit_signal);
    case kElapsed:
      return FormatElapsed(elapsed);
    case kElapsedRaw:
      return std::to_string(elapsed);
    case kCpuTime:
      return FormatElapsed(elapsed * cpus);
    case kCpuTimeRaw:
      return std::to_string(elapsed * cpus);
    case kStart:
    case kSubmit:
    case kEligible:
      return Ts(s.start_time);
    case kEnd:
      return Ts(s.end_time);
    case kNodeList:
      return CompressHostlist(s.nodes);
    case kNNodes:
    case kAllocNodes:
    case kReqNodes:
      return std::to_string(s.nodes.size());
    case kNTasks:
      return std::to_string(s.ntasks);
    case kTotalCpu:
      return CpuTimeText(s.user_cpu_us + s.system_cpu_us);
    case kUserCpu:
      return CpuTimeText(s.user_cpu_us);
    case kSystemCpu:
      return CpuTimeText(s.system_cpu_us);
    case kMaxRss:
      return RssText(s.max_rss_kb);
    case kMaxRssNode:
      return s.max_rss_kb > 0 ? s.max_rss_node : "";
    default:
      return std::nullopt;
  }
}

}  // namespace

std::string SacctValue(const SacctField& f, const SacctLine& line, int64_t now) {
  if (line.step != nullptr) {
    if (auto v = StepValue(f, *line.step, now)) return *v;
  }
  const Job& job = *line.row.job;
  const JobRequest& req = job.req;
  const bool step = line.batch_step;
  const bool collapsed = !line.row.pending_tasks.empty() && line.row.bracketed;
  // The job's line adds its steps' CPU time to its script's; MaxRSS belongs to steps only.
  const int64_t user_us = job.user_cpu_us + (step ? 0 : line.steps_user_cpu_us);
  const int64_t system_us = job.system_cpu_us + (step ? 0 : line.steps_system_cpu_us);
  switch (f.kind) {
    case kTotalCpu:
      return CpuTimeText(user_us + system_us);
    case kUserCpu:
      return CpuTimeText(user_us);
    case kSystemCpu:
      return CpuTimeText(system_us);
    case kMaxRss:
      return step ? RssText(job.max_rss_kb) : "";
    case kMaxRssNode:
      return step && job.max_rss_kb > 0 && !job.nodes.empty() ? job.nodes.front() : "";
    case kJobId:
      return line.row.IdText() + (step ? ".batch" : "");
    case kJobIdRaw:
      return std::to_string(line.row.RawId()) + (step ? ".batch" : "");
    case kJobName:
      return step ? "batch" : req.name;
    case kPartition:
      return step ? "" : req.partition;
    case kAccount:
      return req.account;
    case kAllocCpus:
    case kNCpus:
      return std::to_string(step ? JobCpusOnFirstNode(job) : JobCpuCount(job));
    case kReqCpus:
      return std::to_string(JobCpuCount(job));
    case kState:
      if (step) return BatchStepState(job).first;
      return JobLineState(job);
    case kExitCode:
      return step ? BatchStepState(job).second : JobLineExitCode(job);
    case kDerivedExitCode:
      return step ? "" : JobLineExitCode(job);
    case kElapsed:
      return FormatElapsed(JobRunSeconds(job, now));
    case kElapsedRaw:
      return std::to_string(JobRunSeconds(job, now));
    case kCpuTime:
      return FormatElapsed(JobRunSeconds(job, now) *
                           (step ? JobCpusOnFirstNode(job) : JobCpuCount(job)));
    case kCpuTimeRaw:
      return std::to_string(JobRunSeconds(job, now) *
                            (step ? JobCpusOnFirstNode(job) : JobCpuCount(job)));
    case kStart:
      return Ts(job.start_time);
    case kEnd:
      return Ts(job.end_time);
    case kSubmit:
      return Ts(step ? job.start_time : job.submit_time);
    case kEligible:
      return step ? Ts(job.start_time) : Ts(JobEligibleTime(job));
    case kNodeList:
      if (job.nodes.empty()) return "None assigned";
      return step ? job.nodes.front() : JobNodeList(job);
    case kNNodes:
    case kAllocNodes:
      if (step) return "1";
      if (f.kind == kAllocNodes && job.nodes.empty()) return "0";
      return std::to_string(JobNodeCount(job));
    case kReqNodes:
      return std::to_string(std::max<uint32_t>(req.min_nodes, 1));
    case kUser:
      if (step) return "";
      return req.user.empty() ? UserName(req.uid) : req.user;
    case kUid:
      return step ? "" : std::to_string(req.uid);
    case kGroup:
      return step ? "" : GroupName(req.gid);
    case kGid:
      return step ? "" : std::to_string(req.gid);
    case kTimelimit:
      return step ? "" : FormatElapsed(JobTimeLimit(job));
    case kTimelimitRaw:
      if (step) return "";
      return JobTimeLimit(job) == kUnlimited ? "UNLIMITED" : std::to_string(JobTimeLimit(job) / 60);
    case kWorkDir:
      return step ? "" : req.work_dir;
    case kReqMem:
      if (req.mem_per_cpu_mb > 0) return FormatMemoryMB(req.mem_per_cpu_mb) + "c";
      if (req.mem_per_node_mb > 0) return FormatMemoryMB(req.mem_per_node_mb) + "n";
      return "0n";
    case kPriority:
      return step ? "" : std::to_string(job.priority);
    case kQos:
      return step ? "" : JobQosText(job);
    case kReason:
      return step ? "" : job.reason;
    case kCluster:
      return "";
    case kConstraints:
      return step ? "" : req.constraint;
    case kNTasks:
      return step ? "1" : "";
    case kAllocTres:
    case kReqTres: {
      if (f.kind == kAllocTres && job.nodes.empty() && !collapsed) return "";
      uint32_t cpus = step ? JobCpusOnFirstNode(job) : JobCpuCount(job);
      uint32_t nodes = step ? 1 : JobNodeCount(job);
      std::string t = "billing=" + std::to_string(cpus) + ",cpu=" + std::to_string(cpus);
      if (req.gpus_per_node > 0) t += ",gres/gpu=" + std::to_string(req.gpus_per_node * nodes);
      return t + ",node=" + std::to_string(nodes);
    }
    case kComment:
    case kUnknownMetric:
    default:
      return "";
  }
}

std::string RenderFieldTable(const std::vector<SacctField>& fields, size_t rows,
                             const std::function<std::string(const SacctField&, size_t)>& value,
                             const SacctOutput& out) {
  const bool parsable = out.parsable || out.parsable2;
  // Values too long for their column end in '+'; titles are simply cut.
  bool in_header = false;
  auto fit = [&](const std::string& v, const SacctField& f) {
    size_t w = static_cast<size_t>(f.width);
    if (v.size() > w) {
      if (in_header) return v.substr(0, w);
      return w == 0 ? std::string() : v.substr(0, w - 1) + "+";
    }
    std::string pad(w - v.size(), ' ');
    return f.left ? v + pad : pad + v;
  };
  auto render = [&](const std::function<std::string(const SacctField&)>& field_value) {
    std::string line;
    for (size_t i = 0; i < fields.size(); ++i) {
      std::string v = field_value(fields[i]);
      if (parsable) {
        line += v;
        if (out.parsable || i + 1 < fields.size()) line += out.delimiter;
      } else {
        line += fit(v, fields[i]) + " ";
      }
    }
    return line + "\n";
  };
  std::string text;
  if (out.header) {
    in_header = true;
    text += render([](const SacctField& f) { return f.title; });
    in_header = false;
    if (!parsable) {
      for (const SacctField& f : fields) text += std::string(f.width, '-') + " ";
      text += "\n";
    }
  }
  for (size_t r = 0; r < rows; ++r) {
    text += render([&](const SacctField& f) { return value(f, r); });
  }
  return text;
}

bool ApplyFieldWidth(std::string_view suffix, SacctField* f) {
  bool left = !suffix.empty() && suffix[0] == '-';
  if (left) suffix.remove_prefix(1);
  auto n = ParseUint(suffix);
  if (!n || *n > 10000) return false;
  f->width = static_cast<int>(*n);
  f->left = left;
  return true;
}

std::string RenderSacct(const std::vector<SacctField>& fields, const std::vector<SacctLine>& lines,
                        const SacctOutput& out, int64_t now) {
  return RenderFieldTable(
      fields, lines.size(),
      [&](const SacctField& f, size_t r) { return SacctValue(f, lines[r], now); }, out);
}

bool SacctInWindow(const Job& job, int64_t start, int64_t end, const std::set<JobState>& states) {
  if (!states.empty()) {
    if (states.count(job.state) == 0) return false;
    if (IsFinished(job.state)) return job.end_time >= start && job.end_time <= end;
    if (job.state == JobState::kPending) return job.submit_time <= end;
    return job.start_time != 0 && job.start_time <= end;
  }
  int64_t eligible = JobEligibleTime(job);
  if (eligible == 0) eligible = job.start_time;
  if (eligible == 0 || eligible > end) return false;
  return job.end_time == 0 || job.end_time >= start;
}

int64_t LocalMidnight(int64_t now) {
  time_t t = static_cast<time_t>(now);
  struct tm tm;
  localtime_r(&t, &tm);
  tm.tm_hour = 0;
  tm.tm_min = 0;
  tm.tm_sec = 0;
  tm.tm_isdst = -1;
  return static_cast<int64_t>(mktime(&tm));
}

}  // namespace shoal
