// sacctmgr: shows and changes the accounting database (accounts, users, associations, QOS).
// Changes are checked by the controller; without -i the command shows what would change and
// asks before committing, as sacctmgr does.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "api/client.h"
#include "cli/command_util.h"
#include "cli/commands.h"
#include "cli/sacctmgr_view.h"
#include "common/slurm_time.h"
#include "common/strings.h"

namespace shoal {
namespace {

constexpr char kProg[] = "sacctmgr";

enum : int { kOptHelp = 0x100, kOptUsage };

// '+': options end at the first word (the command), as sacctmgr's own words may start with '-'.
constexpr char kShortOpts[] = "+hinpPQrsvV";

const option kLongOpts[] = {
    {"help", no_argument, nullptr, kOptHelp},
    {"usage", no_argument, nullptr, kOptUsage},
    {"immediate", no_argument, nullptr, 'i'},
    {"noheader", no_argument, nullptr, 'n'},
    {"parsable", no_argument, nullptr, 'p'},
    {"parsable2", no_argument, nullptr, 'P'},
    {"quiet", no_argument, nullptr, 'Q'},
    {"readonly", no_argument, nullptr, 'r'},
    {"associations", no_argument, nullptr, 's'},
    {"verbose", no_argument, nullptr, 'v'},
    {"version", no_argument, nullptr, 'V'},
    {nullptr, 0, nullptr, 0},
};

constexpr char kHelp[] =
    "Usage: sacctmgr [-hinpPQrsvV] COMMAND ENTITY [NAMES] [where CONDITIONS] [set SETTINGS]\n"
    "  Commands: add (create), modify (update), delete (remove), show (list).\n"
    "  Entities: account, user, qos; show also lists association.\n"
    "  -i, --immediate    commit changes without asking\n"
    "  -n, --noheader     no header line in listings\n"
    "  -p, --parsable     '|' after every field;  -P, --parsable2: '|' between fields\n"
    "  -Q, --quiet        print no messages other than errors\n"
    "  -r, --readonly     refuse to change anything\n"
    "  -s, --associations list associations with users and accounts (as withassoc)\n"
    "  -V, --version      print the version\n"
    "Examples:\n"
    "  sacctmgr -i add account physics Description=\"Physics\" Fairshare=10\n"
    "  sacctmgr -i add user alice Account=physics DefaultAccount=physics\n"
    "  sacctmgr -i modify user alice where Account=physics set MaxJobs=4 GrpTRES=cpu=64\n"
    "  sacctmgr -i add qos high Priority=100 MaxWall=4:00:00 MaxJobsPerUser=2\n"
    "  sacctmgr show assoc tree format=account,user,share,grptres\n";

// Waits up to 30 s for a line on stdin; true when it starts with y or Y.
bool AskToCommit() {
  fputs("Would you like to commit changes? (You have 30 seconds to decide)\n(N/y): ", stdout);
  fflush(stdout);
  pollfd p{STDIN_FILENO, POLLIN, 0};
  if (poll(&p, 1, 30000) <= 0) {
    fputs("\n", stdout);
    return false;
  }
  char answer[64] = {0};
  if (fgets(answer, sizeof answer, stdin) == nullptr) return false;
  fputs("\n", stdout);
  return answer[0] == 'y' || answer[0] == 'Y';
}

int ChangeError(const Status& s) {
  if (s.code() == StatusCode::kUnavailable) {
    fprintf(stderr, "sacctmgr: error: %s\n", s.message().c_str());
    return 1;
  }
  fprintf(stderr, " %s\n", s.message().c_str());
  return 1;
}

}  // namespace

int SacctmgrMain(int argc, char** argv) {
  GetoptResult parsed = RunGetopt(kProg, ArgsOf(argc, argv), kShortOpts, kLongOpts);
  if (!parsed.ok) return ReportError({TryHelpLine(kProg), 1});
  bool immediate = false, quiet = false, readonly = false, with_assoc = false;
  TableStyle style;
  for (const ParsedOption& o : parsed.options) {
    switch (o.id) {
      case 'i': immediate = true; break;
      case 'n': style.header = false; break;
      case 'p': style.parsable = true; break;
      case 'P': style.parsable_no_end = true; break;
      case 'Q': quiet = true; break;
      case 'r': readonly = true; break;
      case 's': with_assoc = true; break;
      case 'V':
        fputs(kVersionLine, stdout);
        return 0;
      case 'h':
      case kOptHelp:
      case kOptUsage:
        fputs(kHelp, stdout);
        return 0;
      default: break;  // -v
    }
  }
  if (parsed.operands.empty()) {
    fputs(kHelp, stdout);
    return 0;
  }
  auto request = ParseSacctmgrWords(parsed.operands);
  if (!request.ok()) {
    fprintf(stderr, " %s\n", request.status().message().c_str());
    return 1;
  }
  request->with_assoc = request->with_assoc || with_assoc;
  ApiClient client = ApiClient::FromEnvironment();

  if (request->show && request->entity == SacctmgrEntity::kEvent) {
    // Start= and End= choose the window the controller answers for (default: all of it).
    std::string query;
    const int64_t now = NowEpoch();
    for (const auto& [key, value] : request->conditions) {
      const bool start = EqualsIgnoreCase(key, "Start") || EqualsIgnoreCase(key, "StartTime");
      if (!start && !EqualsIgnoreCase(key, "End") && !EqualsIgnoreCase(key, "EndTime")) continue;
      auto t = ParseTimePoint(value, now);
      if (!t.ok()) {
        fprintf(stderr, " Invalid time '%s'\n", value.c_str());
        return 1;
      }
      query += std::string(query.empty() ? "?" : "&") + (start ? "start=" : "end=") +
               std::to_string(std::max<int64_t>(0, *t));
    }
    auto answer = client.Get("/api/v1/accounting/events" + query);
    if (!answer.ok()) return ChangeError(answer.status());
    std::vector<NodeEventRow> events;
    try {
      for (const Json& e : (*answer)["events"]) {
        events.push_back({e["node"].get<std::string>(), e["state"].get<std::string>(),
                          e["reason"].get<std::string>(), e["cpus"].get<uint32_t>(),
                          e["start"].get<int64_t>(), e["end"].get<int64_t>()});
      }
    } catch (const Json::exception& e) {
      fprintf(stderr, "sacctmgr: error: malformed answer from controller: %s\n", e.what());
      return 1;
    }
    auto table = FormatSacctmgrEvents(*request, events, answer->value("cluster_name", ""), style);
    if (!table.ok()) {
      fprintf(stderr, " %s\n", table.status().message().c_str());
      return 1;
    }
    fputs(table->c_str(), stdout);
    return 0;
  }

  if (request->show) {
    auto answer = client.Get("/api/v1/accounting");
    if (!answer.ok()) return ChangeError(answer.status());
    auto db = AccountingDbFromJson(*answer);
    if (!db.ok()) {
      fprintf(stderr, "sacctmgr: error: malformed answer from controller: %s\n",
              db.status().message().c_str());
      return 1;
    }
    auto table = FormatSacctmgrTable(*request, *db, answer->value("cluster_name", ""), style);
    if (!table.ok()) {
      fprintf(stderr, " %s\n", table.status().message().c_str());
      return 1;
    }
    fputs(table->c_str(), stdout);
    return 0;
  }

  if (readonly) {
    fputs(" Can't run this command in readonly mode.\n", stderr);
    return 1;
  }
  auto send = [&](bool dry_run) {
    return client.Post("/api/v1/accounting/changes",
                       AccountingChangeToJson(request->change, dry_run));
  };
  auto answer = send(!immediate);
  if (!answer.ok()) return ChangeError(answer.status());
  std::vector<std::string> items;
  if (answer->contains("items") && (*answer)["items"].is_array()) {
    for (const Json& i : (*answer)["items"]) {
      if (i.is_string()) items.push_back(i.get<std::string>());
    }
  }
  if (!quiet) fputs(DescribeChange(request->change, items).c_str(), stdout);
  if (immediate) return 0;
  if (!AskToCommit()) {
    fputs(" Changes Discarded\n", stdout);
    return 0;
  }
  auto committed = send(false);
  if (!committed.ok()) return ChangeError(committed.status());
  return 0;
}

}  // namespace shoal
