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
      return std::to_string(job.IsArrayTask() ? job.array_job_id : job.id);
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

// One --sort key: its letter and direction.
struct SortKey {
  char code;
  bool desc;
};

}  // namespace

void SortJobRows(std::vector<JobRow>* rows, std::string_view spec, int64_t now) {
  std::vector<SortKey> keys;
  for (const std::string& raw : Split(spec, ',')) {
    std::string_view key = Trim(raw);
    bool desc = false;
    if (!key.empty() && (key[0] == '-' || key[0] == '+')) {
      desc = key[0] == '-';
      key.remove_prefix(1);
    }
    if (key.empty()) continue;
    switch (key[0]) {
      case 'i':
      case 'A':
      case 'F':
      case 'j':
      case 'u':
      case 't':
      case 'T':
      case 'p':
      case 'Q':
      case 'P':
      case 'M':
      case 'l':
      case 'D':
      case 'C':
      case 'S':
      case 'V':
      case 'e':
      case 'N':
      case 'r':
      case 'a':
      case 'q':
      case 'y':
        keys.push_back({key[0], desc});
        break;
      default:
        continue;  // unknown keys are ignored, as squeue does
    }
  }
  // Precompute each row's keys once as order-preserving unsigned integers (strings become
  // their rank among the distinct values), so the sort compares a compact array instead of
  // chasing every row's Job through the cache, and computes nothing per comparison.
  const size_t n = rows->size();
  std::vector<size_t> slots_of;  // slots per key: 'i' needs two
  size_t width = 2;              // the id tie-break: id, then array task id
  for (const SortKey& k : keys) width += (k.code == 'i' || k.code == 'A' || k.code == 'F') ? 2 : 1;
  std::vector<uint64_t> cells(n * width);
  auto sig = [](int64_t v) { return static_cast<uint64_t>(v) ^ (uint64_t{1} << 63); };
  auto id_of = [](const Job& j) { return j.IsArrayTask() ? j.array_job_id : j.id; };
  size_t col = 0;
  for (const SortKey& k : keys) {
    auto put = [&](size_t r, size_t slot, uint64_t v) {
      cells[r * width + col + slot] = k.desc ? ~v : v;
    };
    auto put_ranked = [&](auto text_of) {
      // A listing holds few distinct values of most keys (partitions, states, users): number
      // them as they come, then rank only the distinct ones.
      std::unordered_map<std::string, uint32_t> seen;
      std::vector<const std::string*> distinct;
      std::vector<uint32_t> seen_as(n);
      for (size_t r = 0; r < n; ++r) {
        auto [it, fresh] = seen.try_emplace(text_of(*(*rows)[r].job), distinct.size());
        if (fresh) distinct.push_back(&it->first);
        seen_as[r] = it->second;
      }
      std::vector<uint32_t> by_text(distinct.size());
      for (uint32_t d = 0; d < by_text.size(); ++d) by_text[d] = d;
      std::sort(by_text.begin(), by_text.end(),
                [&](uint32_t a, uint32_t b) { return *distinct[a] < *distinct[b]; });
      std::vector<uint64_t> rank(distinct.size());
      for (uint32_t k = 0; k < by_text.size(); ++k) rank[by_text[k]] = k;
      for (size_t r = 0; r < n; ++r) put(r, 0, rank[seen_as[r]]);
    };
    switch (k.code) {
      case 'i':
      case 'A':
      case 'F':
        for (size_t r = 0; r < n; ++r) {
          put(r, 0, id_of(*(*rows)[r].job));
          put(r, 1, sig((*rows)[r].job->array_task_id));
        }
        col += 2;
        continue;
      case 'j': put_ranked([](const Job& j) { return j.req.name; }); break;
      case 'u': put_ranked([](const Job& j) { return UserOf(j); }); break;
      case 't':
      case 'T':
        // By state name, as Slurm compares them: CA < CD < CG < F < PD < R < S < TO.
        put_ranked([](const Job& j) { return std::string(JobStateName(j.state)); });
        break;
      case 'P': put_ranked([](const Job& j) { return j.req.partition; }); break;
      case 'N': put_ranked([](const Job& j) { return JobNodeList(j); }); break;
      case 'r': put_ranked([](const Job& j) { return j.reason; }); break;
      case 'a': put_ranked([](const Job& j) { return j.req.account; }); break;
      case 'q': put_ranked([](const Job& j) { return JobQosText(j); }); break;
      default:
        for (size_t r = 0; r < n; ++r) {
          const Job& j = *(*rows)[r].job;
          int64_t v = 0;
          switch (k.code) {
            case 'p': case 'Q': v = j.priority; break;
            case 'M': v = JobRunSeconds(j, now); break;
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
          put(r, 0, sig(v));
        }
        break;
    }
    col += 1;
  }
  for (size_t r = 0; r < n; ++r) {
    cells[r * width + col] = id_of(*(*rows)[r].job);
    cells[r * width + col + 1] = sig((*rows)[r].job->array_task_id);
  }
  std::vector<uint32_t> order(n);
  for (size_t r = 0; r < n; ++r) order[r] = static_cast<uint32_t>(r);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const uint64_t* ka = &cells[a * width];
    const uint64_t* kb = &cells[b * width];
    for (size_t c = 0; c < width; ++c) {
      if (ka[c] != kb[c]) return ka[c] < kb[c];
    }
    return false;
  });
  std::vector<JobRow> sorted;
  sorted.reserve(n);
  for (uint32_t r : order) sorted.push_back(std::move((*rows)[r]));
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
  static constexpr const char* kTime[] = {"start_time", "end_time", "request.time_limit_s"};
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
    case 'e':
    case 'L':
    case 'M':
    case 'l':
      return {kTime[0], kTime[1], kTime[2]};
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

std::string RenderSqueue(const std::vector<FieldSpec>& fields, const std::vector<JobRow>& rows,
                         bool header, int64_t now) {
  std::string out;
  if (header) {
    out += RenderLine(
        fields, [](const FieldSpec& f) { return SqueueFieldTitle(f); }, true);
    out += '\n';
  }
  out.reserve(out.size() + rows.size() * (out.size() + 1));
  for (const JobRow& row : rows) {
    AppendLine(
        fields, [&](const FieldSpec& f) { return SqueueFieldValue(f, row, now); }, false, &out);
    out += '\n';
  }
  return out;
}

}  // namespace shoal
