// squeue: lists the controller's jobs.
#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <thread>

#include "api/client.h"
#include "api/job_table.h"
#include "cli/command_util.h"
#include "cli/commands.h"
#include "cli/squeue_view.h"
#include "cli/step_view.h"
#include "cli/users.h"
#include "common/hostlist.h"
#include "common/strings.h"

namespace shoal {
namespace {

constexpr char kProg[] = "squeue";

enum : int {
  kOptHelp = 0x100,
  kOptUsage,
  kOptMe,
  kOptStart,
  kOptIgnored,
  kOptIgnoredArg,
};

constexpr char kShortOpts[] = "A:ahi:j::lL:M:n:o:O:p:Pq:rR:s::S:t:u:vVw:";

const option kLongOpts[] = {
    {"account", required_argument, nullptr, 'A'},
    {"all", no_argument, nullptr, 'a'},
    {"array", no_argument, nullptr, 'r'},
    {"noheader", no_argument, nullptr, 'h'},
    {"iterate", required_argument, nullptr, 'i'},
    {"jobs", optional_argument, nullptr, 'j'},
    {"long", no_argument, nullptr, 'l'},
    {"licenses", required_argument, nullptr, 'L'},
    {"cluster", required_argument, nullptr, 'M'},
    {"clusters", required_argument, nullptr, 'M'},
    {"name", required_argument, nullptr, 'n'},
    {"format", required_argument, nullptr, 'o'},
    {"Format", required_argument, nullptr, 'O'},
    {"partition", required_argument, nullptr, 'p'},
    {"priority", no_argument, nullptr, 'P'},
    {"qos", required_argument, nullptr, 'q'},
    {"reservation", required_argument, nullptr, 'R'},
    {"steps", optional_argument, nullptr, 's'},
    {"sort", required_argument, nullptr, 'S'},
    {"states", required_argument, nullptr, 't'},
    {"user", required_argument, nullptr, 'u'},
    {"verbose", no_argument, nullptr, 'v'},
    {"version", no_argument, nullptr, 'V'},
    {"nodelist", required_argument, nullptr, 'w'},
    {"help", no_argument, nullptr, kOptHelp},
    {"usage", no_argument, nullptr, kOptUsage},
    {"me", no_argument, nullptr, kOptMe},
    {"hide", no_argument, nullptr, kOptIgnored},
    {"local", no_argument, nullptr, kOptIgnored},
    {"federation", no_argument, nullptr, kOptIgnored},
    {"sibling", no_argument, nullptr, kOptIgnored},
    {"noconvert", no_argument, nullptr, kOptIgnored},
    {"array-unique", no_argument, nullptr, kOptIgnored},
    {"start", no_argument, nullptr, kOptStart},
    {nullptr, 0, nullptr, 0},
};

constexpr char kUsage[] =
    "Usage: squeue [-A account] [--clusters names] [-i seconds] [--job jobid]\n"
    "              [-n name] [-o format] [-p partitions] [--qos qos]\n"
    "              [--reservation reservation] [--sort fields] [--start]\n"
    "              [--step step_id] [-t states] [-u user_name] [--usage]\n"
    "              [-L licenses] [-w nodes] [--federation] [--local] [--sibling]\n"
    "\t      [-ahjlrsv]\n";

constexpr char kHelp[] =
    "Usage: squeue [OPTIONS]\n"
    "  -A, --account=account(s)        comma separated list of accounts\n"
    "                                  to view, default is all accounts\n"
    "  -a, --all                       display jobs in hidden partitions\n"
    "  -h, --noheader                  no headers on output\n"
    "  -i, --iterate=seconds           specify an interation period\n"
    "  -j, --job=job(s)                comma separated list of jobs IDs\n"
    "                                  to view, default is all\n"
    "  -l, --long                      long report\n"
    "      --me                        equivalent to --user=<current user>\n"
    "  -n, --name=job_name(s)          comma separated list of job names to view\n"
    "  -o, --format=format             format specification\n"
    "  -O, --Format=format             format specification\n"
    "  -p, --partition=partition(s)    comma separated list of partitions\n"
    "                                  to view, default is all partitions\n"
    "  -r, --array                     display one job array element per line\n"
    "  -S, --sort=fields               comma separated list of fields to sort on\n"
    "  -t, --states=states             comma separated list of states to view,\n"
    "                                  default is pending and running,\n"
    "                                  '--states=all' reports all states\n"
    "  -u, --user=user_name(s)         comma separated list of users to view\n"
    "  -v, --verbose                   verbosity level\n"
    "  -V, --version                   output version information and exit\n"
    "  -w, --nodelist=hostlist         list of nodes to view, default is\n"
    "                                  all nodes\n"
    "\nHelp options:\n"
    "  --help                          show this help message\n"
    "  --usage                         display a brief summary of squeue options\n";

constexpr char kValidStates[] =
    "PENDING,RUNNING,SUSPENDED,COMPLETED,CANCELLED,FAILED,TIMEOUT,NODE_FAIL,PREEMPTED,"
    "BOOT_FAIL,DEADLINE,OUT_OF_MEMORY,COMPLETING,CONFIGURING,RESIZING,RESV_DEL_HOLD,REQUEUED,"
    "REQUEUE_FED,REQUEUE_HOLD,REVOKED,SIGNALING,SPECIAL_EXIT,STAGE_OUT,STOPPED";

bool ValidJobIdText(std::string_view id) {
  size_t us = id.find('_');
  if (!ParseUint(id.substr(0, us))) return false;
  return us == std::string_view::npos || ParseUint(id.substr(us + 1)).has_value();
}

void AddList(std::set<std::string>* set, const std::string& text) {
  for (const std::string& s : Split(text, ',')) {
    if (!s.empty()) set->insert(s);
  }
}

std::string DateLine(int64_t now) {
  time_t t = static_cast<time_t>(now);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%a %b %e %H:%M:%S %Y", &tm);
  return std::string(buf) + "\n";
}

std::string QueryString(const SqueueFilter& f) {
  std::vector<std::string> parts;
  auto add = [&](const char* key, const std::vector<std::string>& values) {
    if (values.empty()) return;
    std::vector<std::string> enc;
    for (const std::string& v : values) enc.push_back(UrlEncode(v));
    parts.push_back(std::string(key) + "=" + Join(enc, ","));
  };
  add("ids", f.job_ids);
  add("users", std::vector<std::string>(f.users.begin(), f.users.end()));
  add("partitions", std::vector<std::string>(f.partitions.begin(), f.partitions.end()));
  add("names", std::vector<std::string>(f.names.begin(), f.names.end()));
  // Let the controller drop what squeue would drop anyway: by default only live jobs show,
  // and with 100,000 finished jobs still remembered that is most of the answer.
  if (!f.all_states && f.job_ids.empty()) {
    std::vector<std::string> states;
    if (f.states.empty()) {
      for (JobState s : {JobState::kPending, JobState::kRunning, JobState::kSuspended,
                         JobState::kCompleting}) {
        states.push_back(JobStateShortName(s));
      }
    } else {
      for (JobState s : f.states) states.push_back(JobStateShortName(s));
    }
    add("states", states);
  }
  return parts.empty() ? "" : "?" + Join(parts, "&");
}

// Writes many pieces with writev, IOV_MAX at a time: 100,000 lines go out from where the
// listing rendered them, with no copy into one output string or stdio's buffer.
class GatheredOutput {
 public:
  explicit GatheredOutput(int fd) : fd_(fd) {}
  void Add(std::string_view piece) {
    if (piece.empty()) return;
    iov_.push_back({const_cast<char*>(piece.data()), piece.size()});
    if (iov_.size() == IOV_MAX) Flush();
  }
  void Flush() {
    size_t done = 0;  // iovecs written whole
    while (done < iov_.size() && !failed_) {
      ssize_t n = writev(fd_, iov_.data() + done, static_cast<int>(iov_.size() - done));
      if (n < 0) {
        failed_ = errno != EINTR;  // a closed pipe (squeue | head) ends the output quietly
        continue;
      }
      for (auto left = static_cast<size_t>(n); left > 0;) {
        iovec& v = iov_[done];
        const size_t taken = std::min(left, v.iov_len);
        v.iov_base = static_cast<char*>(v.iov_base) + taken;
        v.iov_len -= taken;
        left -= taken;
        if (v.iov_len == 0) ++done;
      }
    }
    iov_.clear();
  }

 private:
  int fd_;
  std::vector<iovec> iov_;
  bool failed_ = false;
};

}  // namespace

int SqueueMain(int argc, char** argv) {
  GetoptResult parsed = RunGetopt(kProg, ArgsOf(argc, argv), kShortOpts, kLongOpts);
  if (!parsed.ok) return ReportError({TryHelpLine(kProg), 1});

  SqueueFilter filter;
  bool header = true, long_list = false, expand_arrays = false, no_match = false;
  bool jobs_flag = false, start_view = false, sort_given = false, steps_view = false;
  std::vector<std::string> step_ids;  // -s's list: "12.0" or "12" (every step of job 12)
  int iterate = 0;
  std::string format, named_format, sort = kSqueueDefaultSort;
  for (const ParsedOption& o : parsed.options) {
    switch (o.id) {
      case 'A':
        AddList(&filter.accounts, o.arg);
        break;
      case 'h':
        header = false;
        break;
      case 'i':
        iterate = static_cast<int>(ParseInt(o.arg).value_or(0));
        if (iterate <= 0) {
          return ReportError({"squeue: error: --iterate=" + o.arg + "\n\n", 1});
        }
        break;
      case 'j':
        jobs_flag = true;
        if (o.has_arg) {
          for (const std::string& id : Split(o.arg, ',')) {
            if (id.empty()) continue;
            if (!ValidJobIdText(id)) {
              return ReportError({"squeue: error: Invalid job id: " + id + "\n", 1});
            }
            filter.job_ids.push_back(id);
          }
        }
        break;
      case 'l':
        long_list = true;
        break;
      case 's':
        steps_view = true;
        if (o.has_arg) {
          for (const std::string& id : Split(o.arg, ',')) {
            if (!id.empty()) step_ids.push_back(id);
          }
        }
        break;
      case 'n':
        AddList(&filter.names, o.arg);
        break;
      case 'o':
        format = o.arg;
        break;
      case 'O':
        named_format = o.arg;
        break;
      case 'p':
        AddList(&filter.partitions, o.arg);
        break;
      case 'q':
        AddList(&filter.qos, ToLower(o.arg));
        break;
      case 'r':
        expand_arrays = true;
        break;
      case 'R':
        AddList(&filter.reservations, o.arg);
        break;
      case 'S':
        sort = o.arg;
        sort_given = true;
        break;
      case 't':
        for (const std::string& s : Split(o.arg, ',')) {
          if (s.empty()) continue;
          if (EqualsIgnoreCase(s, "all")) {
            filter.all_states = true;
            continue;
          }
          std::optional<JobState> st = ParseJobState(s);
          if (!st) {
            return ReportError({"squeue: error: Invalid job state specified: " + s +
                                    "\nsqueue: error: Valid job states include: " + kValidStates +
                                    "\n\n",
                                1});
          }
          filter.states.insert(*st);
        }
        break;
      case 'u':
        for (const std::string& u : Split(o.arg, ',')) {
          if (u.empty()) continue;
          std::optional<uint32_t> uid = LookupUid(u);
          if (!uid) {
            fprintf(stderr, "squeue: error: Invalid user: %s\n\n", u.c_str());
            no_match = true;
            continue;
          }
          filter.users.insert(UserName(*uid));
        }
        break;
      case kOptMe:
        filter.users.insert(CurrentUser().name);
        break;
      case kOptStart:
        start_view = true;
        break;
      case 'w': {
        Result<std::vector<std::string>> names = ExpandHostlist(o.arg);
        if (!names.ok()) {
          return ReportError({"squeue: error: Invalid node name " + o.arg + "\n", 1});
        }
        filter.nodes.insert(filter.nodes.end(), names->begin(), names->end());
        break;
      }
      case 'V':
        fputs(kVersionLine, stdout);
        return 0;
      case kOptHelp:
        fputs(kHelp, stdout);
        return 0;
      case kOptUsage:
        fputs(kUsage, stdout);
        return 0;
      default:
        break;  // accepted, no effect here
    }
  }
  size_t next = 0;
  if (jobs_flag && filter.job_ids.empty() && next < parsed.operands.size()) {
    for (const std::string& id : Split(parsed.operands[next++], ',')) {
      if (id.empty()) continue;
      if (!ValidJobIdText(id)) {
        return ReportError({"squeue: error: Invalid job id: " + id + "\n", 1});
      }
      filter.job_ids.push_back(id);
    }
  }
  if (next < parsed.operands.size()) {
    fprintf(stderr, "squeue: error: Unrecognized option: %s\n", parsed.operands[next].c_str());
    fputs(kUsage, stdout);
    return 1;
  }

  if (steps_view) {
    // Every running step, filtered here: an id may name an array task (10_3) or a whole array,
    // whose tasks' steps live under other job ids. Running steps are few.
    const std::string path = "/api/v1/steps";
    Result<Json> answer = ApiClient::FromEnvironment().Get(path);
    if (!answer.ok()) {
      return ReportError({"squeue: error: " + answer.status().message() + "\n", 1});
    }
    std::vector<Step> steps;
    for (const Json& j : (*answer)["steps"]) {
      Result<Step> step = StepFromJson(j);
      if (!step.ok()) continue;
      bool wanted = step_ids.empty();
      // A step by its id (10_3.0 or its raw 12.0), or all steps of a job, an array task or a
      // whole array.
      const std::string raw = std::to_string(step->job_id);
      const std::string display = step->DisplayId();
      const std::string job_part = display.substr(0, display.rfind('.'));
      auto names_job = [&](const std::string& id) {
        return id == raw || id == job_part ||
               (step->array_job_id != 0 && id == std::to_string(step->array_job_id));
      };
      for (const std::string& id : step_ids) {
        wanted = wanted || id == display || id == raw + "." + std::to_string(step->step_id) ||
                 names_job(id);
      }
      if (!filter.job_ids.empty()) {  // -j: steps of those jobs only
        bool of_job = false;
        for (const std::string& id : filter.job_ids) of_job = of_job || names_job(id);
        wanted = wanted && of_job;
      }
      if (!filter.users.empty() && filter.users.count(step->user) == 0) wanted = false;
      if (wanted) steps.push_back(std::move(step).value());
    }
    fputs(RenderStepList(steps, header, NowEpoch()).c_str(), stdout);
    return 0;
  }

  // --start: pending jobs only, when and where the scheduler expects them to start, soonest
  // first.
  if (start_view) {
    if (filter.states.empty() && !filter.all_states) filter.states.insert(JobState::kPending);
    if (!sort_given) sort = "S";
  }
  auto on_invalid = [](std::string_view what) {
    fprintf(stderr, "squeue: error: Invalid job format specification: %.*s\n",
            static_cast<int>(what.size()), what.data());
  };
  std::vector<FieldSpec> fields =
      !named_format.empty()
          ? ParseSqueueFormat(named_format, true, on_invalid)
          : ParseSqueueFormat(
                !format.empty() ? format
                : start_view    ? kSqueueStartFormat
                : long_list     ? kSqueueLongFormat
                                : kSqueueDefaultFormat,
                false, on_invalid);

  ApiClient client = ApiClient::FromEnvironment();
  // Only the fields this listing reads, as a compact table: with 100,000 jobs the full
  // documents cost seconds to send and parse.
  std::string path = "/api/v1/jobs" + QueryString(filter);
  path += path.find('?') == std::string::npos ? "?fields=" : "&fields=";
  path += Join(SqueueJobColumns(fields, sort, filter), ",");
  for (;;) {
    int64_t now = NowEpoch();
    // Each job is filtered, keyed and rendered as the table is read (SqueueListing): the
    // jobs themselves are never all held. A large table is read by a thread per core, each
    // into a listing of its own, merged when all are done.
    const size_t threads = std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
    std::vector<SqueueListing> runs;
    runs.reserve(threads);
    for (size_t k = 0; k < threads; ++k) {
      runs.emplace_back(fields, sort, filter, expand_arrays, now);
    }
    if (!no_match) {
      Result<ResponseBody> answer = client.CallRaw("GET", path);
      if (answer.ok()) {
        for (SqueueListing& run : runs) run.Reserve(answer->text().size() / threads);
      }
      Result<JobTableRuns> read =
          answer.ok() ? ReadJobTableInRuns(answer->text(), threads,
                                           [&](size_t k, const Job& job) { runs[k].Add(job); })
                      : Result<JobTableRuns>(answer.status());
      if (!read.ok()) {
        fprintf(stderr, "slurm_load_jobs error: %s\n", read.status().message().c_str());
        return 1;
      }
      for (size_t k = 1; k < read->runs; ++k) runs[0].Merge(std::move(runs[k]));
      // Slurm looks a single id up directly, and fails when the controller does not know it.
      if (filter.job_ids.size() == 1 && read->rows == 0) {
        fputs("slurm_load_jobs error: Invalid job id specified\n", stderr);
        return 1;
      }
    }
    SqueueListing& listing = runs[0];
    if (header && (long_list || iterate > 0)) fputs(DateLine(now).c_str(), stdout);
    fflush(stdout);
    GatheredOutput out(STDOUT_FILENO);
    listing.Finish(header, [&](std::string_view piece) { out.Add(piece); });
    out.Flush();
    if (iterate <= 0) break;
    fputc('\n', stdout);
    fflush(stdout);
    sleep(static_cast<unsigned>(iterate));
  }
  return 0;
}

}  // namespace shoal
