#include "cli/job_fields.h"

#include <algorithm>
#include <map>

#include "common/hostlist.h"
#include "common/output_pattern.h"
#include "common/slurm_time.h"
#include "common/units.h"
#include "core/job_array.h"

namespace shoal {
namespace {

const char* DependencyKindName(Dependency::Kind k) {
  switch (k) {
    case Dependency::Kind::kAfter:
      return "after";
    case Dependency::Kind::kAfterAny:
      return "afterany";
    case Dependency::Kind::kAfterOk:
      return "afterok";
    case Dependency::Kind::kAfterNotOk:
      return "afternotok";
    case Dependency::Kind::kSingleton:
      return "singleton";
  }
  return "after";
}

std::string ExpandFilePattern(const Job& job, const std::string& pattern) {
  OutputPatternFields f;
  f.job_id = job.id;
  f.job_name = job.req.name;
  f.user = job.req.user;
  f.array_job_id = job.array_job_id != 0 ? job.array_job_id : job.id;
  f.array_task_id = job.IsArrayTask() ? job.array_task_id : -1;
  if (!job.nodes.empty()) f.node_name = job.nodes.front();
  return ExpandOutputPattern(pattern, f, job.req.work_dir);
}

}  // namespace

int64_t JobTimeLimit(const Job& job) {
  return job.req.time_limit_s <= 0 ? kUnlimited : job.req.time_limit_s;
}

int64_t JobEligibleTime(const Job& job) {
  if (job.state == JobState::kPending) {
    const std::string& r = job.reason;
    if (job.held || r == "JobHeldUser" || r == "JobHeldAdmin" || r == "Dependency" ||
        r == "DependencyNeverSatisfied" || r == "BeginTime" || r == "JobArrayTaskLimit") {
      return 0;
    }
  }
  return job.eligible_time;
}

std::string JobNodeList(const Job& job) { return CompressHostlist(job.nodes); }

uint32_t JobNodeCount(const Job& job) {
  if (!job.nodes.empty()) return static_cast<uint32_t>(job.nodes.size());
  return std::max<uint32_t>(job.req.min_nodes, 1);
}

uint32_t JobCpuCount(const Job& job) {
  if (job.alloc_cpus > 0) return job.alloc_cpus;
  uint32_t tasks = std::max<uint32_t>(job.req.ntasks, 1);
  if (job.req.ntasks_per_node > 0) {
    tasks = std::max(tasks, job.req.ntasks_per_node * std::max<uint32_t>(job.req.min_nodes, 1));
  }
  return tasks * std::max<uint32_t>(job.req.cpus_per_task, 1);
}

uint32_t JobCpusOnFirstNode(const Job& job) {
  if (job.cpus_per_node > 0) return job.cpus_per_node;
  if (!job.nodes.empty() && job.alloc_cpus > 0) {
    return job.alloc_cpus / static_cast<uint32_t>(job.nodes.size());
  }
  return JobCpuCount(job) / JobNodeCount(job);
}

int64_t JobRunSeconds(const Job& job, int64_t now) {
  if (job.start_time == 0) return 0;
  bool active = job.state == JobState::kRunning || job.state == JobState::kSuspended;
  int64_t end = active || job.end_time == 0 ? now : job.end_time;
  return std::max<int64_t>(0, end - job.start_time);
}

int64_t JobStartTime(const Job& job) {
  if (job.start_time != 0 || job.state != JobState::kPending) return job.start_time;
  return job.planned_start != 0 ? job.planned_start : job.req.begin_time;
}

int64_t JobEndTime(const Job& job) {
  if (job.end_time != 0) return job.end_time;
  const int64_t start = job.start_time != 0 ? job.start_time : job.planned_start;
  if (start != 0 && JobTimeLimit(job) != kUnlimited) return start + JobTimeLimit(job);
  return 0;
}

std::string JobDependencyText(const Job& job) {
  const DependencySpec& d = job.req.dependency;
  if (job.state != JobState::kPending || (d.clauses.empty() && d.text.empty())) return "(null)";
  if (d.clauses.empty()) return d.text;
  const char* status = job.reason == "DependencyNeverSatisfied" ? "(failed)" : "(unfulfilled)";
  std::string out;
  for (const Dependency& c : d.clauses) {
    if (!out.empty()) out += d.any ? '?' : ',';
    out += DependencyKindName(c.kind);
    if (c.kind != Dependency::Kind::kSingleton) {
      out += ':' + std::to_string(c.job_id);
      if (c.array_task != kNoArrayTask) out += '_' + std::to_string(c.array_task);
    }
    out += status;
  }
  return out;
}

std::string JobCommandText(const Job& job) {
  const std::string& c = job.req.command;
  return c.empty() || c == "(wrap)" ? "(null)" : c;
}

std::string JobExitCodeText(const Job& job) {
  return std::to_string(job.exit_code) + ":" + std::to_string(job.exit_signal);
}

std::string JobStdoutPath(const Job& job) {
  std::string pattern = job.req.stdout_pattern;
  if (pattern.empty()) pattern = job.IsArrayTask() ? "slurm-%A_%a.out" : "slurm-%j.out";
  return ExpandFilePattern(job, pattern);
}

std::string JobStderrPath(const Job& job) {
  if (job.req.stderr_pattern.empty()) return JobStdoutPath(job);
  return ExpandFilePattern(job, job.req.stderr_pattern);
}

std::string JobMinMemoryText(const Job& job) {
  uint64_t mb = job.req.mem_per_node_mb != 0 ? job.req.mem_per_node_mb : job.req.mem_per_cpu_mb;
  return FormatMemoryMB(mb);
}

std::string JobTresPerNode(const Job& job) {
  if (job.req.gpus_per_node == 0) return "N/A";
  std::string out = "gres:gpu:";
  if (!job.req.gpu_type.empty()) out += job.req.gpu_type + ":";
  return out + std::to_string(job.req.gpus_per_node);
}

bool JobShowsReason(const Job& job) {
  switch (job.state) {
    case JobState::kPending:
    case JobState::kFailed:
    case JobState::kTimeout:
    case JobState::kOutOfMemory:
      return true;
    default:
      return false;
  }
}

std::string JobReasonOrNodes(const Job& job) {
  if (JobShowsReason(job)) return "(" + job.reason + ")";
  return JobNodeList(job);
}

std::string JobNodeCountText(const Job& job) {
  if (!job.nodes.empty()) return std::to_string(job.nodes.size());
  std::string out = std::to_string(JobNodeCount(job));
  if (job.req.max_nodes != 0) out += "-" + std::to_string(job.req.max_nodes);
  return out;
}

std::string JobRow::IdText() const {
  if (pending_tasks.empty()) return job->DisplayId();
  std::string out = std::to_string(job->array_job_id) + "_";
  if (!bracketed) return out + std::to_string(pending_tasks.front());
  out += "[" + FormatTaskIds(pending_tasks);
  if (job->req.array_max_running > 0) out += "%" + std::to_string(job->req.array_max_running);
  return out + "]";
}

std::string JobRow::TaskIdText() const {
  if (!job->IsArrayTask()) return "N/A";
  if (pending_tasks.empty() || !bracketed) return std::to_string(job->array_task_id);
  std::string out = FormatTaskIds(pending_tasks);
  if (job->req.array_max_running > 0) out += "%" + std::to_string(job->req.array_max_running);
  return out;
}

JobId JobRow::RawId() const { return pending_tasks.empty() ? job->id : job->array_job_id; }

std::vector<JobRow> BuildJobRows(const std::vector<Job>& jobs, bool expand_arrays) {
  std::vector<JobRow> rows;
  rows.reserve(jobs.size());
  if (expand_arrays) {
    for (const Job& j : jobs) rows.push_back(JobRow{&j, {}, false});
    return rows;
  }
  // Array job id -> index of its collapsed row; and which arrays have tasks past pending.
  std::map<JobId, size_t> collapsed;
  std::map<JobId, bool> has_started;
  for (const Job& j : jobs) {
    if (j.IsArrayTask() && j.state != JobState::kPending) has_started[j.array_job_id] = true;
  }
  for (const Job& j : jobs) {
    if (!j.IsArrayTask() || j.state != JobState::kPending) {
      rows.push_back(JobRow{&j, {}, false});
      continue;
    }
    auto [it, inserted] = collapsed.emplace(j.array_job_id, rows.size());
    if (inserted) {
      rows.push_back(JobRow{&j, {j.array_task_id}, false});
      continue;
    }
    JobRow& row = rows[it->second];
    row.pending_tasks.push_back(j.array_task_id);
    if (j.array_task_id < row.job->array_task_id) row.job = &j;
  }
  for (JobRow& row : rows) {
    if (!row.pending_tasks.empty()) FinishCollapsedRow(&row, has_started[row.job->array_job_id]);
  }
  return rows;
}

void FinishCollapsedRow(JobRow* row, bool array_started) {
  std::sort(row->pending_tasks.begin(), row->pending_tasks.end());
  row->pending_tasks.erase(std::unique(row->pending_tasks.begin(), row->pending_tasks.end()),
                           row->pending_tasks.end());
  // Slurm shows the untouched remainder of an array in brackets; once it has split off all
  // but one task, that last one prints like any started task ("30_1").
  row->bracketed = row->pending_tasks.size() > 1 || !array_started;
}

std::string JobQosText(const Job& job) { return job.req.qos.empty() ? "normal" : job.req.qos; }

}  // namespace shoal
