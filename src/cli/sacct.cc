// sacct: the accounting records of jobs, from the durable store.
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "api/client.h"
#include "cli/command_util.h"
#include "cli/commands.h"
#include "cli/sacct_view.h"
#include "cli/users.h"
#include "common/slurm_time.h"
#include "common/strings.h"

namespace shoal {
namespace {

constexpr char kProg[] = "sacct";

enum : int {
  kOptHelp = 0x100,
  kOptUsage,
  kOptDelimiter,
  kOptName,
  kOptIgnored,
  kOptIgnoredArg,
};

constexpr char kShortOpts[] = "aA:bcC:DeE:f:F:g:hi:I:j:k:K:lLM:nN:o:pPq:r:s:S:Ttu:vVW:xX";

const option kLongOpts[] = {
    {"allusers", no_argument, nullptr, 'a'},
    {"accounts", required_argument, nullptr, 'A'},
    {"brief", no_argument, nullptr, 'b'},
    {"completion", no_argument, nullptr, 'c'},
    {"constraints", required_argument, nullptr, 'C'},
    {"duplicates", no_argument, nullptr, 'D'},
    {"helpformat", no_argument, nullptr, 'e'},
    {"endtime", required_argument, nullptr, 'E'},
    {"file", required_argument, nullptr, 'f'},
    {"flags", required_argument, nullptr, 'F'},
    {"gid", required_argument, nullptr, 'g'},
    {"group", required_argument, nullptr, 'g'},
    {"help", no_argument, nullptr, 'h'},
    {"nnodes", required_argument, nullptr, 'i'},
    {"ncpus", required_argument, nullptr, 'I'},
    {"jobs", required_argument, nullptr, 'j'},
    {"timelimit-min", required_argument, nullptr, 'k'},
    {"timelimit-max", required_argument, nullptr, 'K'},
    {"long", no_argument, nullptr, 'l'},
    {"allclusters", no_argument, nullptr, 'L'},
    {"cluster", required_argument, nullptr, 'M'},
    {"clusters", required_argument, nullptr, 'M'},
    {"noheader", no_argument, nullptr, 'n'},
    {"nodelist", required_argument, nullptr, 'N'},
    {"format", required_argument, nullptr, 'o'},
    {"parsable", no_argument, nullptr, 'p'},
    {"parsable2", no_argument, nullptr, 'P'},
    {"qos", required_argument, nullptr, 'q'},
    {"partition", required_argument, nullptr, 'r'},
    {"state", required_argument, nullptr, 's'},
    {"starttime", required_argument, nullptr, 'S'},
    {"truncate", no_argument, nullptr, 'T'},
    {"uid", required_argument, nullptr, 'u'},
    {"user", required_argument, nullptr, 'u'},
    {"usage", no_argument, nullptr, kOptUsage},
    {"verbose", no_argument, nullptr, 'v'},
    {"version", no_argument, nullptr, 'V'},
    {"wckeys", required_argument, nullptr, 'W'},
    {"associations", required_argument, nullptr, 'x'},
    {"allocations", no_argument, nullptr, 'X'},
    {"delimiter", required_argument, nullptr, kOptDelimiter},
    {"name", required_argument, nullptr, kOptName},
    {"units", required_argument, nullptr, kOptIgnoredArg},
    {"array", no_argument, nullptr, kOptIgnored},
    {"local", no_argument, nullptr, kOptIgnored},
    {"federation", no_argument, nullptr, kOptIgnored},
    {"noconvert", no_argument, nullptr, kOptIgnored},
    {"whole-hetjob", optional_argument, nullptr, kOptIgnoredArg},
    {nullptr, 0, nullptr, 0},
};

constexpr char kUsage[] =
    "Usage: sacct [-a] [-b] [-D] [-E endtime] [-j jobs] [-l] [-n] [-o format]\n"
    "             [-p] [-P] [-r partitions] [-s states] [-S starttime] [-u users] [-X]\n";

constexpr char kHelp[] =
    "sacct [<OPTION>]\n"
    "    Valid <OPTION> values are:\n"
    "     -a, --allusers:\n"
    "                   Display jobs for all users.\n"
    "     -b, --brief:\n"
    "                   Equivalent to '--format=jobid,state,exitcode'.\n"
    "     -E, --endtime:\n"
    "                   Select jobs eligible before this time.\n"
    "     -e, --helpformat:\n"
    "                   Print a list of fields that can be specified with the\n"
    "                   '--format' option\n"
    "     -j, --jobs:\n"
    "                   Format is <job(.step)>. Display information about this\n"
    "                   job or comma-separated list of jobs.\n"
    "     -l, --long:\n"
    "                   Equivalent to specifying a long list of fields.\n"
    "     -n, --noheader:\n"
    "                   No header will be added to the beginning of output.\n"
    "     -o, --format:\n"
    "                   Comma separated list of fields. (use \"--helpformat\"\n"
    "                   for a list of available fields).\n"
    "     -p, --parsable: output will be '|' delimited with a '|' at the end\n"
    "     -P, --parsable2: output will be '|' delimited without a '|' at the end\n"
    "     -r, --partition:\n"
    "                   Comma separated list of partitions to select jobs and\n"
    "                   job steps from.\n"
    "     -s, --state:\n"
    "                   Select jobs based on their state.\n"
    "     -S, --starttime:\n"
    "                   Select jobs eligible after this time.\n"
    "     -u, --uid, --user:\n"
    "                   Use this comma separated list of uids or user names\n"
    "                   to select jobs to display.\n"
    "     -X, --allocations:\n"
    "                   Only show statistics relevant to the job allocation\n"
    "                   itself, not taking steps into consideration.\n";

// One -j item: "12", "10_3", or with a step, "12.batch" (the only step shoal records).
struct JobSelector {
  std::string id;
  std::string step;  // "" for the whole job
};

bool ParseJobSelector(const std::string& text, JobSelector* sel) {
  size_t dot = text.find('.');
  std::string s = text.substr(0, dot);
  size_t us = s.find('_');
  if (!ParseUint(s.substr(0, us))) return false;
  if (us != std::string::npos && !ParseUint(s.substr(us + 1))) return false;
  sel->id = s;
  sel->step = dot == std::string::npos ? "" : text.substr(dot + 1);
  return !(dot != std::string::npos && sel->step.empty());
}

bool SelectorMatches(const Job& job, const std::string& id) {
  size_t us = id.find('_');
  if (us == std::string::npos) {
    return id == std::to_string(job.id) ||
           (job.IsArrayTask() && id == std::to_string(job.array_job_id));
  }
  return job.IsArrayTask() && id.substr(0, us) == std::to_string(job.array_job_id) &&
         id.substr(us + 1) == std::to_string(job.array_task_id);
}

}  // namespace

int SacctMain(int argc, char** argv) {
  GetoptResult parsed = RunGetopt(kProg, ArgsOf(argc, argv), kShortOpts, kLongOpts);
  if (!parsed.ok) return 1;  // sacct prints no "Try" line

  const int64_t now = NowEpoch();
  std::vector<std::string> ids, users, partitions, names;
  std::vector<JobSelector> selectors;
  std::set<JobState> states;
  std::string format;
  bool all_users = false, allocations_only = false;
  std::optional<int64_t> start, end;
  SacctOutput out;
  for (const ParsedOption& o : parsed.options) {
    switch (o.id) {
      case 'a':
        all_users = true;
        break;
      case 'b':
        format = kSacctBriefFields;
        break;
      case 'e':
        fputs(SacctFieldNames().c_str(), stdout);
        return 0;
      case 'E':
      case 'S': {
        Result<int64_t> t = ParseTimePoint(o.arg, now);
        if (!t.ok()) {
          return ReportError({"Invalid time specification (pos=0): " + o.arg + "\n", 1});
        }
        (o.id == 'S' ? start : end) = *t;
        break;
      }
      case 'h':
        fputs(kHelp, stdout);
        return 0;
      case 'j':
        for (const std::string& j : Split(o.arg, ',')) {
          if (j.empty()) continue;
          JobSelector sel;
          if (!ParseJobSelector(j, &sel)) {
            return ReportError({"sacct: fatal: Bad job/step specified: " + j + "\n", 1});
          }
          if (std::find(ids.begin(), ids.end(), sel.id) == ids.end()) ids.push_back(sel.id);
          selectors.push_back(sel);
        }
        break;
      case 'l':
        format = kSacctLongFields;
        break;
      case 'n':
        out.header = false;
        break;
      case 'o':
        format += (format.empty() ? "" : ",") + o.arg;
        break;
      case 'p':
        out.parsable = true;
        break;
      case 'P':
        out.parsable2 = true;
        break;
      case 'r':
        for (const std::string& p : Split(o.arg, ',')) {
          if (!p.empty()) partitions.push_back(p);
        }
        break;
      case 's':
        for (const std::string& s : Split(o.arg, ',')) {
          if (s.empty()) continue;
          std::optional<JobState> st = ParseJobState(s);
          if (!st) {
            return ReportError({"sacct: fatal: unrecognized job state value '" + s + "'\n", 1});
          }
          states.insert(*st);
        }
        break;
      case 'u':
        for (const std::string& u : Split(o.arg, ',')) {
          if (u.empty()) continue;
          if (u == "-1") {
            all_users = true;
            continue;
          }
          std::optional<uint32_t> uid = LookupUid(u);
          if (!uid) return ReportError({"sacct: error: Invalid user id: " + u + "\n", 1});
          users.push_back(UserName(*uid));
        }
        break;
      case 'V':
        fputs(kVersionLine, stdout);
        return 0;
      case 'X':
        allocations_only = true;
        break;
      case kOptDelimiter:
        out.delimiter = o.arg;
        break;
      case kOptName:
        for (const std::string& n : Split(o.arg, ',')) {
          if (!n.empty()) names.push_back(n);
        }
        break;
      case kOptUsage:
        fputs(kUsage, stdout);
        return 0;
      default:
        break;
    }
  }

  std::string bad;
  std::vector<SacctField> fields =
      ParseSacctFields(format.empty() ? kSacctDefaultFields : format, &bad);
  if (!bad.empty()) {
    return ReportError({"sacct: error: Invalid field requested: \"" + bad + "\"\n", 1});
  }

  // Slurm's defaults: everyone's jobs for root (or -a), else the caller's own; without job ids
  // the window starts at midnight, or "now" when states are asked for.
  if (users.empty() && !all_users && getuid() != 0) users.push_back(CurrentUser().name);
  const bool windowed = ids.empty() || start.has_value();
  if (!start) start = states.empty() ? LocalMidnight(now) : now;
  if (!end) end = now;

  std::vector<std::string> query;
  auto add = [&](const char* key, const std::vector<std::string>& values) {
    if (values.empty()) return;
    std::vector<std::string> enc;
    for (const std::string& v : values) enc.push_back(UrlEncode(v));
    query.push_back(std::string(key) + "=" + Join(enc, ","));
  };
  add("ids", ids);
  add("users", users);
  add("partitions", partitions);
  if (windowed) {
    query.push_back("start=" + std::to_string(*start));
    query.push_back("end=" + std::to_string(*end));
  }
  // -X still needs the steps when the job line adds up their CPU time.
  if (!allocations_only || SacctNeedsSteps(fields)) query.push_back("with=steps");
  std::string path = "/api/v1/accounting/jobs";
  if (!query.empty()) path += "?" + Join(query, "&");

  ApiClient client = ApiClient::FromEnvironment();
  std::vector<Job> jobs;
  std::vector<Step> steps;
  auto wanted = [&](const Job& job) {
    if (!ids.empty() && std::none_of(ids.begin(), ids.end(), [&](const std::string& id) {
          return SelectorMatches(job, id);
        })) {
      return false;
    }
    if (!users.empty() && std::find(users.begin(), users.end(), job.req.user) == users.end()) {
      return false;
    }
    if (!partitions.empty() &&
        std::find(partitions.begin(), partitions.end(), job.req.partition) == partitions.end()) {
      return false;
    }
    if (!names.empty() && std::find(names.begin(), names.end(), job.req.name) == names.end()) {
      return false;
    }
    if (windowed) return SacctInWindow(job, *start, *end, states);
    return states.empty() || states.count(job.state) > 0;
  };
  Result<ResponseBody> answer = client.CallRaw("GET", path);
  Status read =
      answer.ok() ? ReadAccountingAnswer(answer->text(), wanted, jobs, steps) : answer.status();
  if (!read.ok()) {
    fprintf(stderr, "sacct: error: Problem talking to the database: %s\n", read.message().c_str());
    return 1;
  }
  SortForAccounting(jobs);
  std::vector<SacctLine> lines = BuildSacctLines(jobs, allocations_only, steps);
  if (!selectors.empty()) {
    // "12.batch" asks for the step alone; a step other than batch matches nothing.
    std::erase_if(lines, [&](const SacctLine& line) {
      return std::none_of(selectors.begin(), selectors.end(), [&](const JobSelector& s) {
        if (!SelectorMatches(*line.row.job, s.id)) return false;
        if (line.step != nullptr) {
          return s.step.empty() || s.step == std::to_string(line.step->step_id);
        }
        return s.step.empty() || (s.step == "batch" && line.batch_step);
      });
    });
  }
  std::string text = RenderSacct(fields, lines, out, now);
  fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace shoal
