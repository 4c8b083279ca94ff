// sstat: what the running steps of jobs use now, as their nodes read it when asked.
#include <cstdio>

#include "api/client.h"
#include "api/json_model.h"
#include "cli/command_util.h"
#include "cli/commands.h"
#include "cli/sstat_view.h"
#include "common/strings.h"

namespace shoal {
namespace {

constexpr char kProg[] = "sstat";

enum : int { kOptNoconvert = 0x100, kOptUsage };

constexpr char kShortOpts[] = "aehij:no:pPvV";

const option kLongOpts[] = {
    {"allsteps", no_argument, nullptr, 'a'},
    {"helpformat", no_argument, nullptr, 'e'},
    {"help", no_argument, nullptr, 'h'},
    {"pidformat", no_argument, nullptr, 'i'},
    {"jobs", required_argument, nullptr, 'j'},
    {"noheader", no_argument, nullptr, 'n'},
    {"format", required_argument, nullptr, 'o'},
    {"fields", required_argument, nullptr, 'o'},
    {"parsable", no_argument, nullptr, 'p'},
    {"parsable2", no_argument, nullptr, 'P'},
    {"verbose", no_argument, nullptr, 'v'},
    {"version", no_argument, nullptr, 'V'},
    {"noconvert", no_argument, nullptr, kOptNoconvert},
    {"usage", no_argument, nullptr, kOptUsage},
    {nullptr, 0, nullptr, 0},
};

constexpr char kUsage[] =
    "Usage: sstat [options] -j <job(.stepid)>\n"
    "\tUse --help for help\n";

constexpr char kHelp[] =
    "sstat [<OPTION>] -j <job(.stepid)>\n"
    "    Valid <OPTION> values are:\n"
    "      -a, --allsteps:\n"
    "                   Print all steps for the given job(s) when no step is\n"
    "                   specified.\n"
    "      -e, --helpformat:\n"
    "                   Print a list of fields that can be specified with the\n"
    "                   '--format' option\n"
    "     -h, --help:   Print this description of use.\n"
    "     -i, --pidformat:\n"
    "                   Predefined format to list the pids running for each\n"
    "                   job step.  (JobId,Nodes,Pids)\n"
    "     -j, --jobs:\n"
    "                   Format is <job(.step)>. Stat this job step\n"
    "                   or comma-separated list of job steps. This option is\n"
    "                   required.  The step portion will default to the lowest\n"
    "                   numbered (not batch, extern, etc) step running if not\n"
    "                   specified, unless the --allsteps flag is set where not\n"
    "                   specifying a step will result in all running steps\n"
    "                   to be displayed. A step id of 'batch' will display the\n"
    "                   information about the batch step.\n"
    "     -n, --noheader:\n"
    "                   No header will be added to the beginning of output.\n"
    "                   The default is to print a header.\n"
    "     --noconvert:  Don't convert units from their original type\n"
    "                   (e.g. 2048M won't be converted to 2G).\n"
    "     -o, --format:\n"
    "                   Comma separated list of fields. (use \"--helpformat\"\n"
    "                   for a list of available fields).\n"
    "     -p, --parsable: output will be '|' delimited with a '|' at the end\n"
    "     -P, --parsable2: output will be '|' delimited without a '|' at the end\n"
    "     --usage:      Display brief usage message.\n"
    "     -v, --verbose:\n"
    "                   Primarily for debugging purposes, report the state of\n"
    "                   various variables during processing.\n"
    "     -V, --version: Print version.\n\n";

struct Answer {
  JobId job_id = 0;
  std::vector<StepUsage> steps;
  std::vector<std::string> missing_nodes;
};

Result<Answer> Decode(const Json& j) {
  Answer a;
  try {
    a.job_id = j.at("job_id").get<JobId>();
    for (const Json& s : j.at("steps")) {
      auto step = StepUsageFromJson(s);
      if (!step.ok()) return step.status();
      a.steps.push_back(std::move(step).value());
    }
    a.missing_nodes = j.at("missing_nodes").get<std::vector<std::string>>();
  } catch (const std::exception& e) {
    return Internal(std::string("malformed usage answer from controller: ") + e.what());
  }
  return a;
}

}  // namespace

int SstatMain(int argc, char** argv) {
  GetoptResult parsed = RunGetopt(kProg, ArgsOf(argc, argv), kShortOpts, kLongOpts);
  if (!parsed.ok) return 1;  // glibc said why; sstat adds nothing

  bool all_steps = false, pids = false, noconvert = false, verbose = false;
  SacctOutput out;
  std::string format;
  std::vector<SstatTarget> targets;
  for (const ParsedOption& o : parsed.options) {
    switch (o.id) {
      case 'a':
        all_steps = true;
        break;
      case 'e':
        fputs(SstatFieldNames().c_str(), stdout);
        return 0;
      case 'h':
        fputs(kHelp, stdout);
        return 0;
      case 'i':
        pids = true;
        break;
      case 'j': {
        auto list = ParseSstatJobs(o.arg);
        if (!list.ok()) return ReportError({"sstat: fatal: " + list.status().message() + "\n", 1});
        targets.insert(targets.end(), list->begin(), list->end());
        break;
      }
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
      case 'v':
        verbose = true;
        break;
      case 'V':
        fputs(kVersionLine, stdout);
        return 0;
      case kOptNoconvert:
        noconvert = true;
        break;
      case kOptUsage:
        fputs(kUsage, stdout);
        return 0;
      default:
        break;
    }
  }
  // Operands are jobs too ("sstat 12"), as Slurm's sstat takes them.
  for (const std::string& operand : parsed.operands) {
    auto list = ParseSstatJobs(operand);
    if (!list.ok()) return ReportError({"sstat: fatal: " + list.status().message() + "\n", 1});
    targets.insert(targets.end(), list->begin(), list->end());
  }
  // -i puts JobID,Nodelist,Pids before any -o fields.
  if (pids) format = std::string(kSstatPidFields) + (format.empty() ? "" : "," + format);
  if (format.empty()) format = kSstatDefaultFields;
  std::string bad;
  std::vector<SacctField> fields = ParseSstatFields(format, &bad);
  if (!bad.empty()) {
    return ReportError({"sstat: error: Invalid field requested: \"" + bad + "\"\n", 1});
  }
  if (targets.empty()) {
    return ReportError({"sstat: error: You didn't give me any jobs to stat.\n", 1});
  }

  // The header goes out first; each job's errors follow in their turn, and none of them
  // changes the exit status (as with Slurm).
  if (out.header) {
    std::string head = RenderFieldTable(fields, 0, nullptr, out);
    fwrite(head.data(), 1, head.size(), stdout);
    fflush(stdout);
  }
  SacctOutput body = out;
  body.header = false;
  ApiClient client = ApiClient::FromEnvironment();
  for (const SstatTarget& target : targets) {
    Result<Json> reply = client.Get("/api/v1/jobs/" + UrlEncode(target.job) + "/usage");
    const std::string step_name = "StepId=" + target.job + "." + target.step.value_or("");
    if (!reply.ok()) {
      switch (reply.status().code()) {
        case StatusCode::kNotFound:
          fprintf(stderr, "sstat: error: couldn't get steps for job %s\n", target.job.c_str());
          continue;
        case StatusCode::kFailedPrecondition:  // the job is not running
          if (target.step) {
            fprintf(stderr, "sstat: error: %s not found running.\n", step_name.c_str());
          } else {
            fprintf(stderr, "sstat: error: No steps running for job %s\n", target.job.c_str());
          }
          continue;
        default:
          return ReportError({"sstat: error: " + reply.status().message() + "\n", 1});
      }
    }
    Result<Answer> answer = Decode(*reply);
    if (!answer.ok()) return ReportError({"sstat: error: " + answer.status().message() + "\n", 1});
    if (verbose) {
      fprintf(stderr, "sstat: job %llu: %zu running steps\n",
              static_cast<unsigned long long>(answer->job_id), answer->steps.size());
    }
    if (!answer->missing_nodes.empty()) {
      fprintf(stderr, "sstat: error: no usage from node(s) %s for job %s: not answering\n",
              Join(answer->missing_nodes, ",").c_str(), target.job.c_str());
    }
    if (answer->steps.empty()) {
      fprintf(stderr, "sstat: error: No steps running for job %s\n", target.job.c_str());
      continue;
    }
    std::vector<const StepUsage*> steps = SstatSelectSteps(answer->steps, target, all_steps);
    if (target.step && steps.empty()) {
      fprintf(stderr, "sstat: error: StepId=%llu.%s not found running.\n",
              static_cast<unsigned long long>(answer->job_id), target.step->c_str());
      continue;
    }
    std::vector<SstatRow> rows = SstatRows(steps, pids);
    std::string text = RenderFieldTable(
        fields, rows.size(),
        [&](const SacctField& f, size_t r) { return SstatValue(f, rows[r], noconvert); }, body);
    fwrite(text.data(), 1, text.size(), stdout);
    fflush(stdout);
  }
  return 0;
}

}  // namespace shoal
