// sreport: usage reports over a period from the accounting records (cluster utilization, top
// users, usage by account and user), with sreport's words, units and layout.
#include <pwd.h>

#include <cstdio>
#include <ctime>
#include <map>

#include "api/client.h"
#include "cli/command_util.h"
#include "cli/commands.h"
#include "cli/sreport_view.h"
#include "common/slurm_time.h"
#include "common/strings.h"

namespace shoal {
namespace {

constexpr char kProg[] = "sreport";

enum : int { kOptHelp = 0x100, kOptUsage };

constexpr char kShortOpts[] = "ahnpPQt:vV";

const option kLongOpts[] = {
    {"all_clusters", no_argument, nullptr, 'a'},
    {"noheader", no_argument, nullptr, 'n'},
    {"parsable", no_argument, nullptr, 'p'},
    {"parsable2", no_argument, nullptr, 'P'},
    {"quiet", no_argument, nullptr, 'Q'},
    {"verbose", no_argument, nullptr, 'v'},
    {"version", no_argument, nullptr, 'V'},
    {"help", no_argument, nullptr, kOptHelp},
    {"usage", no_argument, nullptr, kOptUsage},
    {nullptr, 0, nullptr, 0},
};

constexpr char kHelp[] =
    "Usage: sreport [-hnpPQvV] [-t FORMAT] COMMAND [start=TIME] [end=TIME] ...\n"
    "  cluster utilization               the cluster's allocated, idle and reported CPU time\n"
    "  cluster AccountUtilizationByUser  usage of every account and its users\n"
    "  user top [topcount=N]             the users that used most (10 by default)\n"
    "  start=, end=                      the period (default: yesterday), in whole hours\n"
    "  -t FORMAT   Seconds, Minutes (default), Hours, Percent, SecPer, MinPer, HourPer\n"
    "  -n, --noheader   no banner and no titles\n"
    "  -p, --parsable   '|' after every field;  -P, --parsable2: '|' between fields\n";

constexpr char kClusterReports[] =
    "Valid cluster reports are, \"AccountUtilizationByUser\", \"Utilization\"\n";

// A login's full name: the password database's GECOS field up to its first comma.
std::map<std::string, std::string> ProperNames(const SreportUsage& usage) {
  std::map<std::string, std::string> names;
  for (const auto& [key, s] : usage.used) {
    const std::string& login = key.second;
    if (names.count(login) > 0) continue;
    passwd* pw = getpwnam(login.c_str());
    std::string gecos = pw != nullptr && pw->pw_gecos != nullptr ? pw->pw_gecos : "";
    names[login] = gecos.substr(0, gecos.find(','));
  }
  return names;
}

}  // namespace

int SreportMain(int argc, char** argv) {
  GetoptResult parsed = RunGetopt(kProg, ArgsOf(argc, argv), kShortOpts, kLongOpts);
  if (!parsed.ok) return ReportError({TryHelpLine(kProg), 1});
  SreportStyle style;
  for (const ParsedOption& o : parsed.options) {
    switch (o.id) {
      case 'n': style.header = false; break;
      case 'p': style.parsable = true; break;
      case 'P': style.parsable2 = true; break;
      case 't': {
        auto unit = ParseSreportUnit(o.arg);
        // sreport goes on in minutes; a report in a unit nobody asked for misleads, so stop.
        if (!unit) return ReportError({"unknown time format " + o.arg + "\n", 1});
        style.unit = *unit;
        break;
      }
      case 'V': fputs(kVersionLine, stdout); return 0;
      case 'h':
      case kOptHelp:
      case kOptUsage: fputs(kHelp, stdout); return 0;
      default: break;  // -a, -Q, -v
    }
  }
  // The command's words, then key=value options, in any case.
  std::vector<std::string> words;
  std::map<std::string, std::string> keys;
  for (const std::string& arg : parsed.operands) {
    const size_t eq = arg.find('=');
    if (eq == std::string::npos) {
      words.push_back(ToLower(arg));
    } else {
      keys[ToLower(arg.substr(0, eq))] = arg.substr(eq + 1);
    }
  }
  enum class Report { kUtilization, kAccountByUser, kUserTop } report;
  if (words.size() == 2 && words[0] == "cluster" && words[1] == "utilization") {
    report = Report::kUtilization;
  } else if (words.size() == 2 && words[0] == "cluster" && words[1] == "accountutilizationbyuser") {
    report = Report::kAccountByUser;
  } else if (words.size() == 2 && words[0] == "user" && words[1] == "top") {
    report = Report::kUserTop;
  } else if (words.size() >= 1 && words[0] == "cluster") {
    return ReportError({"Not valid report " + (words.size() > 1 ? words[1] : std::string()) +
                            "\n" + kClusterReports,
                        1});
  } else if (words.size() >= 1 && words[0] == "user") {
    return ReportError({"Not valid report " + (words.size() > 1 ? words[1] : std::string()) +
                            "\nValid user reports are, \"TopUsage\"\n",
                        1});
  } else {
    return ReportError({"invalid keyword: " + (words.empty() ? std::string() : words[0]) + "\n", 1});
  }

  const int64_t now = static_cast<int64_t>(time(nullptr));
  SreportPeriod period = DefaultSreportPeriod(now);
  size_t top_count = 10;
  for (const auto& [key, value] : keys) {
    if (key == "start" || key == "end") {
      auto t = ParseTimePoint(value, now);
      if (!t.ok()) return ReportError({"Invalid time specification (pos=0): " + value + "\n", 1});
      (key == "start" ? period.start : period.end) = *t;
    } else if (key == "topcount" && report == Report::kUserTop) {
      auto n = ParseUint(value);
      if (!n || *n == 0) return ReportError({"invalid topcount: " + value + "\n", 1});
      top_count = static_cast<size_t>(*n);
    } else if (key == "clusters" || key == "cluster") {
      continue;  // one cluster: its own
    } else {
      return ReportError({"Unknown condition: " + key + "=" + value + "\n", 1});
    }
  }
  period = RoundSreportPeriod(period.start, period.end, now);

  ApiClient client = ApiClient::FromEnvironment();
  auto answer = client.Get("/api/v1/accounting/utilization?start=" +
                           std::to_string(period.start) + "&end=" + std::to_string(period.end));
  if (!answer.ok()) {
    fprintf(stderr, "sreport: error: %s\n", answer.status().message().c_str());
    return 1;
  }
  SreportUsage usage;
  usage.period = period;
  std::map<std::string, std::string> parents;
  try {
    usage.cluster = (*answer)["cluster_name"].get<std::string>();
    usage.cpus = (*answer)["cpus"].get<uint64_t>();
    usage.down = answer->value("down_cpu_seconds", 0.0);
    usage.planned_down = answer->value("planned_down_cpu_seconds", 0.0);
    for (const Json& r : (*answer)["rows"]) {
      usage.used[{r[0].get<std::string>(), r[1].get<std::string>()}] += r[2].get<double>();
    }
    if (report == Report::kAccountByUser) {
      auto db = client.Get("/api/v1/accounting");
      if (!db.ok()) {
        fprintf(stderr, "sreport: error: %s\n", db.status().message().c_str());
        return 1;
      }
      for (const Json& a : (*db)["accounts"]) {
        parents[a["name"].get<std::string>()] = a.value("parent", "");
      }
    }
  } catch (const Json::exception& e) {
    fprintf(stderr, "sreport: error: malformed answer from controller: %s\n", e.what());
    return 1;
  }
  std::string out;
  switch (report) {
    case Report::kUtilization: out = RenderClusterUtilization(usage, style); break;
    case Report::kUserTop: out = RenderUserTop(usage, style, top_count, ProperNames(usage)); break;
    case Report::kAccountByUser:
      out = RenderAccountUtilizationByUser(usage, style, parents, ProperNames(usage));
      break;
  }
  fputs(out.c_str(), stdout);
  return 0;
}

}  // namespace shoal
