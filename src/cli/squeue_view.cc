#include "cli/squeue_view.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <unordered_map>

#include "cli/users.h"
#include "common/hostlist.h"
#include "common/slurm_time.h"
#include "common/strings.h"

namespace shoal {
namespace {

// -O fields that have no %-letter of their own.
constexpr char kRawJobId = 1;
constexpr char kStdout = 2;
constexpr char kStderr = 3;
constexpr char kExitCode = 4;
constexpr char kNumTasks = 5;

struct CodeInfo {
  char code;
  const char* title;
};

// squeue's %-letters and their column titles.
constexpr CodeInfo kCodes[] = {
    {'a', "ACCOUNT"},
    {'A', "JOBID"},
    {'b', "TRES_PER_NODE"},
    {'B', "EXEC_HOST"},
    {'c', "MIN_CPUS"},
    {'C', "CPUS"},
    {'d', "MIN_TMP_DISK"},
    {'D', "NODES"},
    {'e', "END_TIME"},
    {'E', "DEPENDENCY"},
    {'f', "FEATURES"},
    {'F', "ARRAY_JOB_ID"},
    {'g', "GROUP"},
    {'G', "GROUP"},
    {'h', "OVER_SUBSCRIBE"},
    {'H', "SOCKETS_PER_NODE"},
    {'i', "JOBID"},
    {'I', "CORES_PER_SOCKET"},
    {'j', "NAME"},
    {'J', "THREADS_PER_CORE"},
    {'k', "COMMENT"},
    {'K', "ARRAY_TASK_ID"},
    {'l', "TIME_LIMIT"},
    {'L', "TIME_LEFT"},
    {'m', "MIN_MEMORY"},
    {'M', "TIME"},
    {'n', "REQ_NODES"},
    {'N', "NODELIST"},
    {'o', "COMMAND"},
    {'O', "CONTIGUOUS"},
    {'p', "PRIORITY"},
    {'P', "PARTITION"},
    {'q', "QOS"},
    {'Q', "PRIORITY"},
    {'r', "REASON"},
    {'R', "NODELIST(REASON)"},
    {'S', "START_TIME"},
    {'t', "ST"},
    {'T', "STATE"},
    {'u', "USER"},
    {'U', "UID"},
    {'v', "RESERVATION"},
    {'V', "SUBMIT_TIME"},
    {'w', "WCKEY"},
    {'W', "LICENSES"},
    {'x', "EXC_NODES"},
    {'X', "CORE_SPEC"},
    {'y', "NICE"},
    {'Y', "SCHEDNODES"},
    {'z', "S:C:T"},
    {'Z', "WORK_DIR"},
};

struct NamedField {
  const char* name;  // lower case
  char code;
  const char* title;
};

// squeue -O names (matched case-insensitively).
constexpr NamedField kNamed[] = {
    {"account", 'a', "ACCOUNT"},
    {"arrayjobid", 'F', "ARRAY_JOB_ID"},
    {"arraytaskid", 'K', "ARRAY_TASK_ID"},
    {"batchhost", 'B', "EXEC_HOST"},
    {"command", 'o', "COMMAND"},
    {"comment", 'k', "COMMENT"},
    {"dependency", 'E', "DEPENDENCY"},
    {"endtime", 'e', "END_TIME"},
    {"excnodes", 'x', "EXC_NODES"},
    {"exitcode", kExitCode, "EXIT_CODE"},
    {"feature", 'f', "FEATURES"},
    {"groupid", 'G', "GROUP"},
    {"groupname", 'g', "GROUP"},
    {"jobarrayid", 'i', "JOBID"},
    {"jobid", kRawJobId, "JOBID"},
    {"mincpus", 'c', "MIN_CPUS"},
    {"minmemory", 'm', "MIN_MEMORY"},
    {"name", 'j', "NAME"},
    {"nice", 'y', "NICE"},
    {"nodelist", 'N', "NODELIST"},
    {"numcpus", 'C', "CPUS"},
    {"numnodes", 'D', "NODES"},
    {"numtasks", kNumTasks, "TASKS"},
    {"partition", 'P', "PARTITION"},
    {"priority", 'p', "PRIORITY"},
    {"prioritylong", 'Q', "PRIORITY"},
    {"qos", 'q', "QOS"},
    {"reason", 'r', "REASON"},
    {"reasonlist", 'R', "NODELIST(REASON)"},
    {"reqnodes", 'n', "REQ_NODES"},
    {"starttime", 'S', "START_TIME"},
    {"state", 'T', "STATE"},
    {"statecompact", 't', "ST"},
    {"stderr", kStderr, "STDERR"},
    {"stdout", kStdout, "STDOUT"},
    {"submittime", 'V', "SUBMIT_TIME"},
    {"timeleft", 'L', "TIME_LEFT"},
    {"timelimit", 'l', "TIME_LIMIT"},
    {"timeused", 'M', "TIME"},
    {"tres-per-node", 'b', "TRES_PER_NODE"},
    {"userid", 'U', "UID"},
    {"username", 'u', "USER"},
    {"workdir", 'Z', "WORK_DIR"},
};

const NamedField* FindNamed(std::string_view name) {
  std::string lower = ToLower(name);
  for (const NamedField& n : kNamed) {
    if (lower == n.name) return &n;
  }
  return nullptr;
}

std::string ValidCodes() {
  std::string s;
  for (const CodeInfo& c : kCodes) s.push_back(c.code);
  return s;
}

std::string TimeOrText(int64_t t, const char* zero) { return FormatTimestamp(t, zero); }

std::string Priority(const Job& job) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.14f", static_cast<double>(job.priority) / 4294967295.0);
  return buf;
}

std::string UserOf(const Job& job) {
  return job.req.user.empty() ? UserName(job.req.uid) : job.req.user;
}

std::string OrNull(const std::string& s) { return s.empty() ? "(null)" : s; }

int64_t TimeLeft(const Job& job, int64_t now) {
  int64_t limit = JobTimeLimit(job);
  if (limit == kUnlimited) return kUnlimited;
  if (job.state == JobState::kRunning || job.state == JobState::kSuspended) {
    return std::max<int64_t>(0, limit - JobRunSeconds(job, now));
  }
  return limit;
}

std::string EndTimeText(const Job& job) {
  if (job.state == JobState::kPending) return "N/A";
  if (!IsFinished(job.state) && JobTimeLimit(job) == kUnlimited && job.end_time == 0) {
    return "NONE";
  }
  return TimeOrText(JobEndTime(job), "N/A");
}

std::string StartTimeText(const Job& job) { return FormatTimestamp(JobStartTime(job), "N/A"); }

}  // namespace

std::vector<FieldSpec> ParseSqueueFormat(std::string_view format, bool named,
                                         const std::function<void(std::string_view)>& on_invalid) {
  std::vector<FieldSpec> out;
  if (!named) {
    out = ParsePercentFormat(format, ValidCodes(), [&](char c) {
      if (on_invalid) on_invalid(std::string_view(&c, 1));
    });
  } else {
    for (FieldSpec& f : ParseNamedFormat(format, 20)) {
      const NamedField* n = FindNamed(f.name);
      if (n == nullptr || n->code == 0) {
        if (on_invalid) on_invalid(f.name);
        continue;
      }
      f.code = n->code;
      out.push_back(std::move(f));
    }
  }
  // squeue prints durations whole even when they overflow their column.
  for (FieldSpec& f : out) f.cut = f.code != 'M' && f.code != 'l' && f.code != 'L';
  return out;
}

std::string SqueueFieldTitle(const FieldSpec& f) {
  if (!f.name.empty()) {
    if (const NamedField* n = FindNamed(f.name)) return n->title;
  }
  for (const CodeInfo& c : kCodes) {
    if (c.code == f.code) return c.title;
  }
  return "";
}

std::string SqueueFieldValue(const FieldSpec& f, const JobRow& row, int64_t now) {
  const Job& job = *row.job;
  const JobRequest& req = job.req;
  switch (f.code) {
    case kRawJobId:
      return std::to_string(row.RawId());
    case kStdout:
      return JobStdoutPath(job);
    case kStderr:
      return JobStderrPath(job);
    case kExitCode:
      return JobExitCodeText(job);
    case kNumTasks:
      return std::to_string(std::max<uint32_t>(req.ntasks, 1));
    case 'a':
      return OrNull(req.account);
    case 'A':
    case 'F':
      return std::to_string(job.SubmissionId());
    case 'b':
      return JobTresPerNode(job);
    case 'B':
      return job.nodes.empty() ? "n/a" : job.nodes.front();
    case 'c':
      return std::to_string(std::max<uint32_t>(req.cpus_per_task, 1) *
                            std::max<uint32_t>(req.ntasks_per_node, 1));
    case 'C':
      return std::to_string(JobCpuCount(job));
    case 'd':
    case 'O':
      return "0";
    case 'D':
      return std::to_string(JobNodeCount(job));
    case 'e':
      return EndTimeText(job);
    case 'E':
      return JobDependencyText(job);
    case 'f':
      return OrNull(req.constraint);
    case 'g':
      return GroupName(req.gid);
    case 'G':
      return std::to_string(req.gid);
    case 'h':
      return req.exclusive ? "NO" : "OK";
    case 'H':
    case 'I':
    case 'J':
      return "*";
    case 'i':
      return row.IdText();
    case 'j':
      return req.name;
    case 'k':
    case 'v':
    case 'w':
    case 'W':
    case 'Y':
      return job.planned_nodes.empty() ? "(null)" : CompressHostlist(job.planned_nodes);
    case 'K':
      return row.TaskIdText();
    case 'l':
      return FormatTimeLimit(JobTimeLimit(job));
    case 'L':
      return FormatTimeLimit(TimeLeft(job, now));
    case 'm':
      return JobMinMemoryText(job);
    case 'M':
      return FormatDuration(JobRunSeconds(job, now));
    case 'n':
      return CompressHostlist(req.required_nodes);
    case 'N':
      return JobNodeList(job);
    case 'o':
      return JobCommandText(job);
    case 'p':
      return Priority(job);
    case 'P':
      return req.partition;
    case 'q':
      return JobQosText(job);
    case 'Q':
      return std::to_string(job.priority);
    case 'r':
      return job.reason;
    case 'R':
      return JobReasonOrNodes(job);
    case 'S':
      return StartTimeText(job);
    case 't':
      // Waiting for powered-down nodes to come up: CONFIGURING, as Slurm shows it.
      return job.configuring ? "CF" : JobStateShortName(job.state);
    case 'T':
      return job.configuring ? "CONFIGURING" : JobStateName(job.state);
    case 'u':
      return UserOf(job);
    case 'U':
      return std::to_string(req.uid);
    case 'V':
      return FormatTimestamp(job.submit_time, "N/A");
    case 'x':
      return CompressHostlist(req.excluded_nodes);
    case 'X':
      return "N/A";
    case 'y':
      return std::to_string(req.nice);
    case 'z':
      return "*:*:*";
    case 'Z':
      return req.work_dir;
    default:
      return "";
  }
}

namespace {

bool IsSortKey(char code) {
  switch (code) {
    case 'i': case 'A': case 'F': case 'j': case 'u': case 't': case 'T': case 'p': case 'Q':
    case 'P': case 'M': case 'l': case 'D': case 'C': case 'S': case 'V': case 'e': case 'N':
    case 'r': case 'a': case 'q': case 'y':
      return true;
    default:
      return false;  // unknown keys are ignored, as squeue does
  }
}

bool IsIdKey(char code) { return code == 'i' || code == 'A' || code == 'F'; }

uint64_t SignedKey(int64_t v) { return static_cast<uint64_t>(v) ^ (uint64_t{1} << 63); }

}  // namespace

SqueueSortKeys::SqueueSortKeys(std::string_view spec, int64_t now) : now_(now) {
  for (const std::string& raw : Split(spec, ',')) {
    std::string_view key = Trim(raw);
    bool desc = false;
    if (!key.empty() && (key[0] == '-' || key[0] == '+')) {
      desc = key[0] == '-';
      key.remove_prefix(1);
    }
    if (key.empty() || !IsSortKey(key[0])) continue;
    keys_.push_back({key[0], desc, {}, {}});
    width_ += IsIdKey(key[0]) ? 2 : 1;
  }
}

void SqueueSortKeys::Add(const Job& j) {
  cells_ahead_.Before(cells_.data(), cells_.size() * sizeof(uint64_t),
                      cells_.capacity() * sizeof(uint64_t));
  auto put = [&](const Key& k, uint64_t v) { cells_.push_back(k.desc ? ~v : v); };
  for (Key& k : keys_) {
    // Strings become the number of their first sighting here, and their rank among the
    // distinct values in Order(): a listing holds few distinct partitions, states, users.
    auto put_seen = [&](std::string_view text) {
      if (k.last_seen == UINT32_MAX || *k.distinct[k.last_seen] != text) {
        auto [it, fresh] = k.seen.try_emplace(std::string(text), k.distinct.size());
        if (fresh) k.distinct.push_back(&it->first);
        k.last_seen = it->second;
      }
      cells_.push_back(k.last_seen);
    };
    switch (k.code) {
      case 'i':
      case 'A':
      case 'F':
        put(k, j.SubmissionId());
        put(k, SignedKey(j.array_task_id));
        continue;
      case 'j': put_seen(j.req.name); continue;
      case 'u': put_seen(j.req.user.empty() ? UserOf(j) : j.req.user); continue;
      case 't':
      case 'T':
        // By state name, as Slurm compares them: CA < CD < CG < F < PD < R < S < TO.
        put_seen(JobStateName(j.state));
        continue;
      case 'P': put_seen(j.req.partition); continue;
      case 'N': {
        const std::string nodes = JobNodeList(j);
        put_seen(nodes);
        continue;
      }
      case 'r': put_seen(j.reason); continue;
      case 'a': put_seen(j.req.account); continue;
      case 'q': {
        const std::string qos = JobQosText(j);
        put_seen(qos);
        continue;
      }
      default: break;
    }
    int64_t v = 0;
    switch (k.code) {
      case 'p': case 'Q': v = j.priority; break;
      case 'M': v = JobRunSeconds(j, now_); break;
      case 'l': v = JobTimeLimit(j) == kUnlimited ? INT64_MAX : JobTimeLimit(j); break;
      case 'D': v = JobNodeCount(j); break;
      case 'C': v = JobCpuCount(j); break;
      case 'S':  // an unknown start sorts after every known one, as Slurm lists them
        v = JobStartTime(j) != 0 ? JobStartTime(j) : INT64_MAX;
        break;
      case 'V': v = j.submit_time; break;
      case 'e': v = JobEndTime(j); break;
      case 'y': v = j.req.nice; break;
      default: break;
    }
    put(k, SignedKey(v));
  }
  // Ties fall back to the job id, then the array task id.
  cells_.push_back(j.SubmissionId());
  cells_.push_back(SignedKey(j.array_task_id));
  ++rows_;
}

void SqueueSortKeys::Append(SqueueSortKeys&& later) {
  // The later rows' string sightings, numbered as here.
  std::vector<std::vector<uint32_t>> renumbered(keys_.size());
  for (size_t k = 0; k < keys_.size(); ++k) {
    Key& mine = keys_[k];
    for (const std::string* text : later.keys_[k].distinct) {
      auto [it, fresh] = mine.seen.try_emplace(*text, mine.distinct.size());
      if (fresh) mine.distinct.push_back(&it->first);
      renumbered[k].push_back(it->second);
    }
  }
  cells_.reserve(cells_.size() + later.cells_.size());
  // Fresh memory, faulted in with one call rather than a page at a time as it is written.
  PrefaultForWrite(cells_.data() + cells_.size(), later.cells_.size() * sizeof(uint64_t));
  for (size_t r = 0; r < later.rows_; ++r) {
    const uint64_t* row = &later.cells_[r * width_];
    size_t col = 0;
    for (size_t k = 0; k < keys_.size(); ++k) {
      if (IsIdKey(keys_[k].code)) {
        cells_.push_back(row[col++]);
        cells_.push_back(row[col++]);
      } else {
        const uint64_t cell = row[col++];
        cells_.push_back(renumbered[k].empty() ? cell : renumbered[k][cell]);
      }
    }
    cells_.push_back(row[col++]);  // the id and array task id that break ties
    cells_.push_back(row[col++]);
  }
  rows_ += later.rows_;
}

std::vector<uint32_t> SqueueSortKeys::Order() {
  // Sightings become ranks: the sort then compares a compact array of integers and computes
  // nothing per comparison.
  size_t col = 0;
  for (Key& k : keys_) {
    if (IsIdKey(k.code)) {
      col += 2;
      continue;
    }
    if (!k.distinct.empty()) {
      std::vector<uint32_t> by_text(k.distinct.size());
      for (uint32_t d = 0; d < by_text.size(); ++d) by_text[d] = d;
      std::sort(by_text.begin(), by_text.end(),
                [&](uint32_t a, uint32_t b) { return *k.distinct[a] < *k.distinct[b]; });
      std::vector<uint64_t> rank(k.distinct.size());
      for (uint32_t r = 0; r < by_text.size(); ++r) rank[by_text[r]] = k.desc ? ~uint64_t{r} : r;
      for (size_t r = 0; r < rows_; ++r) {
        uint64_t& cell = cells_[r * width_ + col];
        cell = rank[cell];
      }
      k.seen.clear();
      k.distinct.clear();
      k.last_seen = UINT32_MAX;
    }
    col += 1;
  }
  std::vector<uint32_t> order(rows_);
  for (size_t r = 0; r < rows_; ++r) order[r] = static_cast<uint32_t>(r);
  auto before = [&](uint32_t a, uint32_t b) {
    const uint64_t* ka = &cells_[a * width_];
    const uint64_t* kb = &cells_[b * width_];
    for (size_t c = 0; c < width_; ++c) {
      if (ka[c] != kb[c]) return ka[c] < kb[c];
    }
    return false;
  };
  // The controller lists jobs by id, and a queue sorted by a key most jobs share is then often
  // in order already: checking costs one pass.
  if (!std::is_sorted(order.begin(), order.end(), before)) {
    std::stable_sort(order.begin(), order.end(), before);
  }
  return order;
}

void SortJobRows(std::vector<JobRow>* rows, std::string_view spec, int64_t now) {
  SqueueSortKeys keys(spec, now);
  for (const JobRow& row : *rows) keys.Add(*row.job);
  std::vector<JobRow> sorted;
  sorted.reserve(rows->size());
  for (uint32_t r : keys.Order()) sorted.push_back(std::move((*rows)[r]));
  *rows = std::move(sorted);
}

bool SqueueMatches(const Job& job, const SqueueFilter& filter) {
  if (!filter.all_states) {
    if (filter.states.empty()) {
      if (job.state != JobState::kPending && job.state != JobState::kRunning &&
          job.state != JobState::kSuspended && job.state != JobState::kCompleting) {
        return false;
      }
    } else if (filter.states.count(job.state) == 0) {
      return false;
    }
  }
  if (!filter.users.empty() && filter.users.count(job.req.user) == 0 &&
      filter.users.count(std::to_string(job.req.uid)) == 0) {
    return false;
  }
  if (!filter.partitions.empty() && filter.partitions.count(job.req.partition) == 0) return false;
  if (!filter.names.empty() && filter.names.count(job.req.name) == 0) return false;
  if (!filter.accounts.empty() && filter.accounts.count(job.req.account) == 0) return false;
  if (!filter.qos.empty() && filter.qos.count(JobQosText(job)) == 0) return false;
  if (!filter.reservations.empty() && filter.reservations.count(job.req.reservation) == 0) {
    return false;
  }
  if (!filter.job_ids.empty()) {
    bool any = false;
    for (const std::string& id : filter.job_ids) {
      size_t us = id.find('_');
      if (us == std::string::npos) {
        any = id == std::to_string(job.id) ||
              (job.IsArrayTask() && id == std::to_string(job.array_job_id));
      } else {
        any = job.IsArrayTask() && id.substr(0, us) == std::to_string(job.array_job_id) &&
              id.substr(us + 1) == std::to_string(job.array_task_id);
      }
      if (any) break;
    }
    if (!any) return false;
  }
  if (!filter.nodes.empty()) {
    bool any = false;
    for (const std::string& n : job.nodes) {
      if (std::find(filter.nodes.begin(), filter.nodes.end(), n) != filter.nodes.end()) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

namespace {

// The fields one %-letter reads, for a format field or a sort key (a superset of both).
std::vector<const char*> ColumnsOfCode(char code) {
  switch (code) {
    case kStdout:
    case kStderr:
      return {"request.stdout_pattern", "request.stderr_pattern", "request.name",
              "request.user", "request.work_dir", "nodes"};
    case kExitCode:
      return {"exit_code", "exit_signal"};
    case kNumTasks:
      return {"request.ntasks"};
    case 'a':
      return {"request.account"};
    case 'q':
      return {"request.qos"};
    case 'b':
      return {"request.gpus_per_node", "request.gpu_type"};
    case 'B':
    case 'N':
      return {"nodes"};
    case 'c':
      return {"request.cpus_per_task", "request.ntasks_per_node"};
    case 'C':
      return {"alloc_cpus", "request.ntasks", "request.ntasks_per_node", "request.min_nodes",
              "request.cpus_per_task"};
    case 'D':
      return {"nodes", "request.min_nodes"};
    case 'M':  // JobRunSeconds
      return {"start_time", "end_time"};
    case 'l':
      return {"request.time_limit_s"};
    case 'L':
      return {"start_time", "end_time", "request.time_limit_s"};
    case 'e':  // JobEndTime: a pending job's planned start plus its limit
      return {"start_time", "end_time", "request.time_limit_s", "planned_start"};
    case 'E':
      return {"request.dependency", "reason"};
    case 'f':
      return {"request.constraint"};
    case 'g':
    case 'G':
      return {"request.gid"};
    case 'h':
      return {"request.exclusive"};
    case 'j':
      return {"request.name"};
    case 'm':
      return {"request.mem_per_node_mb", "request.mem_per_cpu_mb"};
    case 'n':
      return {"request.required_nodes"};
    case 'o':
      return {"request.command"};
    case 'p':
    case 'Q':
      return {"priority"};
    case 'P':
      return {"request.partition"};
    case 'r':
      return {"reason"};
    case 'R':
      return {"reason", "nodes"};
    case 'S':
      return {"start_time", "request.begin_time", "planned_start"};
    case 'Y':
      return {"planned_nodes"};
    case 'u':
    case 'U':
      return {"request.user", "request.uid"};
    case 'V':
      return {"submit_time"};
    case 'x':
      return {"request.excluded_nodes"};
    case 'y':
      return {"request.nice"};
    case 'Z':
      return {"request.work_dir"};
    default:
      return {};  // ids, states and constants need nothing beyond the base set
  }
}

}  // namespace

std::vector<std::string> SqueueJobColumns(const std::vector<FieldSpec>& fields,
                                          std::string_view sort, const SqueueFilter& filter) {
  // What every listing reads: ids, array collapsing (JobRow, BuildJobRows) and the state.
  std::vector<std::string> out = {"job_id",        "state",
                                  "configuring",   "array_job_id",
                                  "array_task_id", "request.array_max_running"};
  auto add = [&](const char* name) {
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  };
  if (!filter.users.empty()) {
    add("request.user");
    add("request.uid");
  }
  if (!filter.partitions.empty()) add("request.partition");
  if (!filter.names.empty()) add("request.name");
  if (!filter.accounts.empty()) add("request.account");
  if (!filter.qos.empty()) add("request.qos");
  if (!filter.reservations.empty()) add("request.reservation");
  if (!filter.nodes.empty()) add("nodes");
  for (const FieldSpec& f : fields) {
    for (const char* c : ColumnsOfCode(f.code)) add(c);
  }
  for (const std::string& raw : Split(sort, ',')) {
    std::string_view key = Trim(raw);
    if (!key.empty() && (key[0] == '-' || key[0] == '+')) key.remove_prefix(1);
    if (!key.empty()) {
      for (const char* c : ColumnsOfCode(key[0])) add(c);
    }
  }
  return out;
}

namespace {

std::string HeaderLine(const std::vector<FieldSpec>& fields) {
  return RenderLine(
             fields, [](const FieldSpec& f) { return SqueueFieldTitle(f); }, true) +
         '\n';
}

void AppendRowLine(const std::vector<FieldSpec>& fields, const JobRow& row, int64_t now,
                   std::string* out) {
  AppendLine(
      fields, [&](const FieldSpec& f) { return SqueueFieldValue(f, row, now); }, false, out);
  out->push_back('\n');
}

}  // namespace

std::string RenderSqueue(const std::vector<FieldSpec>& fields, const std::vector<JobRow>& rows,
                         bool header, int64_t now) {
  std::string out;
  if (header) out = HeaderLine(fields);
  out.reserve(out.size() + rows.size() * (out.size() + 1));
  for (const JobRow& row : rows) AppendRowLine(fields, row, now, &out);
  return out;
}

SqueueListing::SqueueListing(std::vector<FieldSpec> fields, std::string_view sort,
                             SqueueFilter filter, bool expand_arrays, int64_t now)
    : fields_(std::move(fields)),
      filter_(std::move(filter)),
      expand_arrays_(expand_arrays),
      now_(now),
      keys_(sort, now),
      blocks_(1) {}

void SqueueListing::Reserve(size_t table_bytes) {
  // A row of the table is at least 24 bytes (the columns every listing asks for), and a line
  // is rarely more than twice its row.
  const size_t most_rows = table_bytes / 24;
  keys_.Reserve(most_rows);
  blocks_.back().ends.reserve(most_rows);
  blocks_.back().text.reserve(table_bytes * 2);
}

void SqueueListing::Add(const Job& job) {
  if (!SqueueMatches(job, filter_)) return;
  // As BuildJobRows: without -r, an array's pending tasks wait to become one row.
  if (!expand_arrays_ && job.IsArrayTask()) {
    if (job.state != JobState::kPending) {
      started_arrays_.insert(job.array_job_id);
    } else {
      auto [it, fresh] = pending_arrays_.try_emplace(job.array_job_id);
      PendingTasks& tasks = it->second;
      if (fresh || job.array_task_id < tasks.first.array_task_id) tasks.first = job;
      tasks.task_ids.push_back(job.array_task_id);
      return;
    }
  }
  AddRow(JobRow{&job, {}, false});
}

void SqueueListing::AddRow(const JobRow& row) {
  keys_.Add(*row.job);
  LineBlock& block = blocks_.back();
  block.ahead.Before(block.text.data(), block.text.size(), block.text.capacity());
  AppendRowLine(fields_, row, now_, &block.text);
  block.ends.push_back(block.text.size());
}

void SqueueListing::Merge(SqueueListing&& later) {
  keys_.Append(std::move(later.keys_));
  for (LineBlock& block : later.blocks_) blocks_.push_back(std::move(block));
  for (auto& [array_id, tasks] : later.pending_arrays_) {
    auto [it, fresh] = pending_arrays_.try_emplace(array_id, std::move(tasks));
    if (fresh) continue;
    PendingTasks& mine = it->second;
    if (tasks.first.array_task_id < mine.first.array_task_id) mine.first = std::move(tasks.first);
    mine.task_ids.insert(mine.task_ids.end(), tasks.task_ids.begin(), tasks.task_ids.end());
  }
  started_arrays_.merge(later.started_arrays_);
}

void SqueueListing::Finish(bool header, const std::function<void(std::string_view)>& emit) {
  for (auto& [array_id, tasks] : pending_arrays_) {
    JobRow row{&tasks.first, std::move(tasks.task_ids), true};
    FinishCollapsedRow(&row, started_arrays_.count(array_id) != 0);
    AddRow(row);
  }
  if (header) {
    header_ = HeaderLine(fields_);
    emit(header_);
  }
  std::vector<size_t> first_rows;  // of each block
  size_t rows = 0;
  for (const LineBlock& block : blocks_) {
    first_rows.push_back(rows);
    rows += block.ends.size();
  }
  for (uint32_t r : keys_.Order()) {
    const size_t b =
        std::upper_bound(first_rows.begin(), first_rows.end(), r) - first_rows.begin() - 1;
    const LineBlock& block = blocks_[b];
    const size_t k = r - first_rows[b];
    const size_t begin = k == 0 ? 0 : block.ends[k - 1];
    emit(std::string_view(block.text).substr(begin, block.ends[k] - begin));
  }
}

std::string SqueueListing::Finish(bool header) {
  std::string out;
  Finish(header, [&](std::string_view piece) { out.append(piece); });
  return out;
}

}  // namespace shoal
