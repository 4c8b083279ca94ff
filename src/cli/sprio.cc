// sprio: the factors that make up each pending job's priority.
#include <cstdio>
#include <set>

#include "api/client.h"
#include "cli/command_util.h"
#include "cli/commands.h"
#include "cli/sprio_view.h"
#include "cli/users.h"
#include "common/strings.h"

namespace shoal {
namespace {

constexpr char kProg[] = "sprio";

enum : int { kOptHelp = 0x100, kOptUsage, kOptIgnored };

constexpr char kShortOpts[] = "hj::lM:no:p:S:u:vVw";

const option kLongOpts[] = {
    {"noheader", no_argument, nullptr, 'h'},
    {"jobs", optional_argument, nullptr, 'j'},
    {"long", no_argument, nullptr, 'l'},
    {"cluster", required_argument, nullptr, 'M'},
    {"clusters", required_argument, nullptr, 'M'},
    {"norm", no_argument, nullptr, 'n'},
    {"format", required_argument, nullptr, 'o'},
    {"partition", required_argument, nullptr, 'p'},
    {"sort", required_argument, nullptr, 'S'},
    {"user", required_argument, nullptr, 'u'},
    {"users", required_argument, nullptr, 'u'},
    {"verbose", no_argument, nullptr, 'v'},
    {"version", no_argument, nullptr, 'V'},
    {"weights", no_argument, nullptr, 'w'},
    {"help", no_argument, nullptr, kOptHelp},
    {"usage", no_argument, nullptr, kOptUsage},
    {"federation", no_argument, nullptr, kOptIgnored},
    {"local", no_argument, nullptr, kOptIgnored},
    {"sibling", no_argument, nullptr, kOptIgnored},
    {nullptr, 0, nullptr, 0},
};

constexpr char kUsage[] =
    "Usage: sprio [-j jid[s]] [-u user_name[s]] [-o format] [-p partitions]\n"
    "   [--federation] [--local] [--sibling] [--usage] [-hlnvVw]\n";

constexpr char kHelp[] =
    "Usage: sprio [OPTIONS]\n"
    "      --federation                display jobs in federation if a member of one\n"
    "  -h, --noheader                  no headers on output\n"
    "  -j, --jobs                      comma separated list of jobs\n"
    "                                  to view, default is all\n"
    "      --local                     display jobs on local cluster only\n"
    "  -l, --long                      long report\n"
    "  -M, --cluster=cluster_name      cluster to issue commands to.  Default is\n"
    "                                  current cluster.  cluster with no name will\n"
    "                                  reset to default.\n"
    "                                  NOTE: SlurmDBD must be up.\n"
    "  -n, --norm                      display normalized values\n"
    "  -o, --format=format             format specification\n"
    "      --sibling                   display job records separately for each federation "
    "cluster\n"
    "  -p, --partition=partition_name  comma separated list of partitions\n"
    "  -u, --user=user_name            comma separated list of users to view\n"
    "  -v, --verbose                   verbosity level\n"
    "  -V, --version                   output version information and exit\n"
    "  -w, --weights                   show the weights for each priority factor\n"
    "\nHelp options:\n"
    "  --help                          show this help message\n"
    "  --usage                         display a brief summary of sprio options\n";

}  // namespace

int SprioMain(int argc, char** argv) {
  GetoptResult parsed = RunGetopt(kProg, ArgsOf(argc, argv), kShortOpts, kLongOpts);
  if (!parsed.ok) return ReportError({TryHelpLine(kProg), 1});

  bool header = true, long_list = false, normalized = false, weights_only = false;
  bool jobs_given = false, users_given = false;
  std::string bad_id;
  auto AddJobIds = [&](const std::string& list, std::vector<std::string>* out) {
    for (const std::string& id : Split(list, ',')) {
      if (id.empty()) continue;
      auto n = ParseUint(id);
      if (!n || *n == 0) {
        bad_id = id;
        return false;
      }
      out->push_back(std::to_string(*n));
    }
    return true;
  };
  std::string format, sort;
  std::vector<std::string> job_ids, users, partitions;
  for (const ParsedOption& o : parsed.options) {
    switch (o.id) {
      case 'h':
        header = false;
        break;
      case 'j':
        jobs_given = true;
        if (!AddJobIds(o.arg, &job_ids)) {
          return ReportError({"sprio: error: Invalid job id: " + bad_id + "\n", 1});
        }
        break;
      case 'l':
        long_list = true;
        break;
      case 'n':
        normalized = true;
        break;
      case 'o':
        format = o.arg;
        break;
      case 'p':
        for (const std::string& p : Split(o.arg, ',')) {
          if (!p.empty()) partitions.push_back(p);
        }
        // An empty list names no partition at all: nothing matches.
        if (partitions.empty()) partitions.push_back("");
        break;
      case 'S':
        sort = o.arg;
        break;
      case 'u':
        users_given = true;
        for (const std::string& u : Split(o.arg, ',')) {
          if (u.empty()) continue;
          std::optional<uint32_t> uid = LookupUid(u);
          if (!uid) {
            fprintf(stderr, "sprio: error: Invalid user: %s\n\n", u.c_str());
            continue;
          }
          users.push_back(UserName(*uid));
        }
        break;
      case 'w':
        weights_only = true;
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
      default:  // -M, -v and the federation options change nothing on one cluster
        break;
    }
  }
  // "-j 12" (a space before the optional argument): the ids are the next operand.
  size_t next = 0;
  if (jobs_given && job_ids.empty() && next < parsed.operands.size()) {
    if (!AddJobIds(parsed.operands[next++], &job_ids)) {
      return ReportError({"sprio: error: Invalid job id: " + bad_id + "\n", 1});
    }
  }
  if (next < parsed.operands.size()) {
    fprintf(stderr, "sprio: error: Unrecognized option: %s\n", parsed.operands[next].c_str());
    fputs(kUsage, stdout);
    return 1;
  }
  if (!format.empty() && long_list) {
    return ReportError(
        {"sprio: fatal: Options -o(--format) and -l(--long) are mutually "
         "exclusive. Please remove one and retry.\n",
         1});
  }

  std::string path = "/api/v1/priority";
  std::vector<std::string> query;
  auto add = [&](const char* key, const std::vector<std::string>& values) {
    if (!values.empty()) query.push_back(std::string(key) + "=" + UrlEncode(Join(values, ",")));
  };
  add("ids", job_ids);
  add("users", users);
  add("partitions", partitions);
  // Users that do not exist match no job (sprio still prints its header).
  const bool match_nothing =
      (users_given && users.empty()) || (partitions.size() == 1 && partitions.front().empty());
  if (!query.empty()) path += "?" + Join(query, "&");

  ApiClient client = ApiClient::FromEnvironment();
  Result<ResponseBody> answer = client.CallRaw("GET", path);
  if (!answer.ok()) {
    if (answer.status().code() == StatusCode::kFailedPrecondition) {
      return ReportError({answer.status().message() + "\n", 1});  // priority/basic
    }
    return ReportError(
        {"Couldn't get priority factors from controller: " + answer.status().message() + "\n",
         255});
  }
  PriorityWeights w;
  std::vector<SprioRow> rows;
  Status decoded = DecodeSprioAnswer(answer->text(), &w, &rows);
  if (!decoded.ok()) {
    return ReportError(
        {"Couldn't get priority factors from controller: " + decoded.message() + "\n", 255});
  }
  if (match_nothing) rows.clear();

  auto on_invalid = [](char c) {
    fprintf(stderr, "sprio: error: Invalid job format specification: %c\n", c);
  };
  std::vector<FieldSpec> fields = ParseSprioFormat(
      !format.empty() ? format : SprioDefaultFormat(long_list, normalized, users_given, w),
      on_invalid);

  if (weights_only) {
    std::string out = RenderSprio(fields, {}, w, header, true);
    fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  if (jobs_given && rows.empty()) {
    puts("Unable to find jobs matching user/id(s) specified");
    return 0;
  }
  // As sprio does, the header is out before a bad sort key is noticed.
  std::string out = header ? RenderSprio(fields, {}, w, true, false) : "";
  std::optional<std::string> bad_sort = SortSprioRows(&rows, sort, w);
  if (bad_sort) {
    fwrite(out.data(), 1, out.size(), stdout);
    return ReportError({"sprio: error: Invalid sort specification: " + *bad_sort + "\n", 1});
  }
  out += RenderSprio(fields, rows, w, false, false);
  fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace shoal
