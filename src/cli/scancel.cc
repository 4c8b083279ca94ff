// scancel: cancels or signals jobs.
#include <cstdio>

#include "api/client.h"
#include "cli/command_util.h"
#include "cli/commands.h"
#include "cli/users.h"
#include "common/signals.h"
#include "common/strings.h"
#include "core/job_array.h"

namespace shoal {
namespace {

constexpr char kProg[] = "scancel";

enum : int { kOptHelp = 0x100, kOptUsage, kOptMe, kOptIgnored, kOptIgnoredArg };

constexpr char kShortOpts[] = "A:bcfHiM:n:p:q:QR:s:t:u:vVw:";

const option kLongOpts[] = {
    {"account", required_argument, nullptr, 'A'},
    {"batch", no_argument, nullptr, 'b'},
    {"ctld", no_argument, nullptr, 'c'},
    {"full", no_argument, nullptr, 'f'},
    {"hurry", no_argument, nullptr, 'H'},
    {"interactive", no_argument, nullptr, 'i'},
    {"cluster", required_argument, nullptr, 'M'},
    {"clusters", required_argument, nullptr, 'M'},
    {"name", required_argument, nullptr, 'n'},
    {"jobname", required_argument, nullptr, 'n'},
    {"partition", required_argument, nullptr, 'p'},
    {"qos", required_argument, nullptr, 'q'},
    {"quiet", no_argument, nullptr, 'Q'},
    {"reservation", required_argument, nullptr, 'R'},
    {"signal", required_argument, nullptr, 's'},
    {"state", required_argument, nullptr, 't'},
    {"user", required_argument, nullptr, 'u'},
    {"verbose", no_argument, nullptr, 'v'},
    {"version", no_argument, nullptr, 'V'},
    {"nodelist", required_argument, nullptr, 'w'},
    {"help", no_argument, nullptr, kOptHelp},
    {"usage", no_argument, nullptr, kOptUsage},
    {"me", no_argument, nullptr, kOptMe},
    {"sibling", required_argument, nullptr, kOptIgnoredArg},
    {"wckey", required_argument, nullptr, kOptIgnoredArg},
    {nullptr, 0, nullptr, 0},
};

constexpr char kUsage[] =
    "Usage: scancel [-A account] [--batch] [--full] [--interactive] [-n job_name]\n"
    "               [-p partition] [-Q] [-q qos] [-R reservation] [-s signal | integer]\n"
    "               [-t PENDING | RUNNING | SUSPENDED] [--usage] [-u user_name]\n"
    "               [--hurry] [-V] [-v] [-w hosts...] [--wckey=wckey]\n"
    "               [job_id[_array_id][.step_id]]\n";

constexpr char kHelp[] =
    "Usage: scancel [OPTIONS] [job_id[_array_id][.step_id]]\n"
    "  -A, --account=account           act only on jobs charging this account\n"
    "  -b, --batch                     signal batch shell for specified job\n"
    "  -f, --full                      signal batch shell and all steps for specified job\n"
    "  -i, --interactive               require response from user for each job\n"
    "      --me                        equivalent to --user=<current user>\n"
    "  -n, --name=job_name             act only on jobs with this name\n"
    "  -p, --partition=partition       act only on jobs in this partition\n"
    "  -Q, --quiet                     disable warnings\n"
    "  -s, --signal=name | integer     signal to send to job, default is SIGKILL\n"
    "  -t, --state=states              act only on jobs in this state.  Valid job\n"
    "                                  states are PENDING, RUNNING and SUSPENDED\n"
    "  -u, --user=user_name            act only on jobs of this user\n"
    "  -V, --version                   output version information and exit\n"
    "  -v, --verbose                   verbosity level\n"
    "\nHelp options:\n"
    "  --help                          show this help message\n"
    "  --usage                         display brief usage message\n";

// "12", "10_3": what the API accepts for jobs; steps ("12.0") go to their own route.
bool ValidJobId(std::string_view id) {
  size_t us = id.find('_');
  if (!ParseUint(id.substr(0, us))) return false;
  return us == std::string_view::npos || ParseUint(id.substr(us + 1)).has_value();
}

// Errors Slurm reports only in verbose mode: the job is simply gone already.
bool IsQuietError(const std::string& message) {
  return message == "Invalid job id specified" ||
         message == "Job/step already completing or completed";
}

}  // namespace

int ScancelMain(int argc, char** argv) {
  GetoptResult parsed = RunGetopt(kProg, ArgsOf(argc, argv), kShortOpts, kLongOpts);
  if (!parsed.ok) return ReportError({TryHelpLine(kProg), 1});

  Json body = Json::object();
  std::vector<std::string> states;
  std::string user, name, partition, account, qos, reservation;
  int signal = 0;
  int verbose = 0;
  bool quiet = false, batch_only = false;
  for (const ParsedOption& o : parsed.options) {
    switch (o.id) {
      case 'A':
        account = o.arg;
        break;
      case 'q':
        qos = o.arg;
        break;
      case 'R':
        reservation = o.arg;
        break;
      case 'w':
        // Filters the controller cannot apply; ignoring them would cancel too much.
        return ReportError({"scancel: error: " +
                                (o.long_name.empty() ? "-" + std::string(1, static_cast<char>(o.id))
                                                     : "--" + o.long_name) +
                                " is not supported by shoal\n",
                            1});
      case 'b':
        batch_only = true;
        break;
      case 'f':
        batch_only = false;
        break;
      case 'n':
        name = o.arg;
        break;
      case 'p':
        partition = o.arg;
        break;
      case 'Q':
        quiet = true;
        break;
      case 's': {
        std::optional<int> sig = ParseSignal(o.arg);
        if (!sig) return ReportError({"Unknown job signal: " + o.arg + "\n", 1});
        signal = *sig;
        break;
      }
      case 't':
        for (const std::string& s : Split(o.arg, ',')) {
          std::optional<JobState> st = ParseJobState(s);
          if (!st || (*st != JobState::kPending && *st != JobState::kRunning &&
                      *st != JobState::kSuspended)) {
            return ReportError({"Invalid job state specified: " + s +
                                    "\nValid job states are PENDING, RUNNING, and SUSPENDED\n",
                                1});
          }
          states.push_back(JobStateShortName(*st));
        }
        break;
      case 'u': {
        std::optional<uint32_t> uid = LookupUid(o.arg);
        if (!uid) return ReportError({"scancel: error: Invalid user name: " + o.arg + "\n", 1});
        user = UserName(*uid);
        break;
      }
      case kOptMe:
        user = CurrentUser().name;
        break;
      case 'v':
        ++verbose;
        break;
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
        break;
    }
  }

  std::vector<std::string> ids, steps;
  for (const std::string& arg : parsed.operands) {
    // "10_[1-3,7]" names several tasks of one array.
    size_t bracket = arg.find("_[");
    if (bracket != std::string::npos && arg.back() == ']' &&
        ParseUint(std::string_view(arg).substr(0, bracket))) {
      Result<ArraySpec> spec =
          ParseArraySpec(std::string_view(arg).substr(bracket + 2, arg.size() - bracket - 3),
                         4000001);  // Slurm's ceiling for MaxArraySize
      if (!spec.ok()) return ReportError({"scancel: error: Invalid job id " + arg + "\n", 1});
      for (int64_t t : spec->task_ids) {
        ids.push_back(arg.substr(0, bracket) + "_" + std::to_string(t));
      }
      continue;
    }
    for (const std::string& id : Split(arg, ',')) {
      if (id.empty()) continue;
      size_t dot = id.find('.');
      if (dot != std::string::npos && ValidJobId(id.substr(0, dot))) {
        steps.push_back(id);
        continue;
      }
      if (!ValidJobId(id)) return ReportError({"scancel: error: Invalid job id " + id + "\n", 1});
      ids.push_back(id);
    }
  }
  const bool has_filter = !user.empty() || !name.empty() || !partition.empty() || !states.empty() ||
                          !account.empty() || !qos.empty() || !reservation.empty();
  if (ids.empty() && steps.empty() && !has_filter) {
    return ReportError({"scancel: error: No job identification provided\n", 1});
  }

  int rc = 0;
  ApiClient client = ApiClient::FromEnvironment();
  // "12.3": that step only (its tasks get the signal, or SIGTERM then SIGKILL); the job runs on.
  for (const std::string& step : steps) {
    const size_t dot = step.find('.');
    const std::string job = step.substr(0, dot);
    const auto step_id = ParseUint(std::string_view(step).substr(dot + 1));
    Status st = NotFound("Invalid job id specified");
    // "12_3.0": the controller resolves an array task's id in the step's path.
    if (ValidJobId(job) && step_id && *step_id <= UINT32_MAX) {
      if (verbose > 0) {
        if (signal == 0) {
          fprintf(stderr, "scancel: Terminating step %s\n", step.c_str());
        } else {
          fprintf(stderr, "scancel: Signal %d to step %s\n", signal, step.c_str());
        }
      }
      Result<Json> answer =
          client.Post("/api/v1/jobs/" + job + "/steps/" + std::to_string(*step_id) + "/signal",
                      Json{{"signal", signal}});
      st = answer.ok() ? Status::Ok() : answer.status();
    }
    if (st.ok()) continue;
    const bool gone = IsQuietError(st.message()) && st.code() != StatusCode::kNotFound;
    if (!quiet && (!gone || verbose > 0)) {
      fprintf(stderr, "scancel: error: Kill job error on job step id %s: %s\n", step.c_str(),
              st.message().c_str());
    }
    if (!gone) rc = 1;
  }
  if (ids.empty() && !has_filter) return rc;

  body["ids"] = ids;
  body["user"] = user;
  body["name"] = name;
  body["states"] = states;
  body["partition"] = partition;
  // Sent only when given: a controller from before these filters refuses unknown keys.
  if (!account.empty()) body["account"] = account;
  if (!qos.empty()) body["qos"] = qos;
  if (!reservation.empty()) body["reservation"] = reservation;
  body["signal"] = signal;
  body["batch_only"] = batch_only;
  if (verbose > 0) {
    for (const std::string& id : ids) {
      if (signal == 0) {
        fprintf(stderr, "scancel: Terminating job %s\n", id.c_str());
      } else {
        fprintf(stderr, "scancel: Signal %d to job %s\n", signal, id.c_str());
      }
    }
  }
  Result<Json> answer = client.Post("/api/v1/jobs/cancel", body);
  if (!answer.ok()) {
    const std::string msg = answer.status().message();
    if (!quiet && ids.empty()) fprintf(stderr, "scancel: error: %s\n", msg.c_str());
    for (const std::string& id : ids) {
      if (!quiet) {
        fprintf(stderr, "scancel: error: Kill job error on job id %s: %s\n", id.c_str(),
                msg.c_str());
      }
    }
    return 1;
  }
  if (answer->contains("errors") && (*answer)["errors"].is_array()) {
    for (const Json& e : (*answer)["errors"]) {
      auto text = [&](const char* key) {
        if (!e.contains(key)) return std::string();
        return e[key].is_string() ? e[key].get<std::string>() : e[key].dump();
      };
      std::string id = text("id");
      std::string message = text("message");
      bool gone = IsQuietError(message);
      if (!quiet && (!gone || verbose > 0)) {
        fprintf(stderr, "scancel: error: Kill job error on job id %s: %s\n", id.c_str(),
                message.c_str());
      }
      if (!gone) rc = 1;
    }
  }
  if (ids.empty() && verbose > 0 && answer->contains("cancelled") &&
      (*answer)["cancelled"].is_array() && (*answer)["cancelled"].empty()) {
    std::string filters;
    if (!account.empty()) filters += "account=" + account + " ";
    if (!name.empty()) filters += "job_name=" + name + " ";
    if (!partition.empty()) filters += "partition=" + partition + " ";
    if (!qos.empty()) filters += "qos=" + qos + " ";
    if (!reservation.empty()) filters += "reservation=" + reservation + " ";
    if (!states.empty()) filters += "state=" + Join(states, ",") + " ";
    if (!user.empty()) filters += "user_name=" + user + " ";
    fprintf(stderr, "scancel: error: No active jobs match ALL job filters, including: %s\n",
            filters.c_str());
  }
  return rc;
}

}  // namespace shoal
