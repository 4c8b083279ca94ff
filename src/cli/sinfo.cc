// sinfo: partitions and nodes.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>

#include "api/client.h"
#include "api/node_table.h"
#include "cli/command_util.h"
#include "cli/commands.h"
#include "cli/sinfo_view.h"
#include "common/hostlist.h"
#include "common/strings.h"

namespace shoal {
namespace {

constexpr char kProg[] = "sinfo";

enum : int { kOptHelp = 0x100, kOptUsage, kOptIgnored };

constexpr char kShortOpts[] = "abdehi:lM:n:No:O:p:rRsS:t:TvV";

const option kLongOpts[] = {
    {"all", no_argument, nullptr, 'a'},
    {"bg", no_argument, nullptr, 'b'},
    {"dead", no_argument, nullptr, 'd'},
    {"exact", no_argument, nullptr, 'e'},
    {"noheader", no_argument, nullptr, 'h'},
    {"iterate", required_argument, nullptr, 'i'},
    {"long", no_argument, nullptr, 'l'},
    {"cluster", required_argument, nullptr, 'M'},
    {"clusters", required_argument, nullptr, 'M'},
    {"nodes", required_argument, nullptr, 'n'},
    {"Node", no_argument, nullptr, 'N'},
    {"format", required_argument, nullptr, 'o'},
    {"Format", required_argument, nullptr, 'O'},
    {"partition", required_argument, nullptr, 'p'},
    {"responding", no_argument, nullptr, 'r'},
    {"list-reasons", no_argument, nullptr, 'R'},
    {"summarize", no_argument, nullptr, 's'},
    {"sort", required_argument, nullptr, 'S'},
    {"states", required_argument, nullptr, 't'},
    {"reservation", no_argument, nullptr, 'T'},
    {"verbose", no_argument, nullptr, 'v'},
    {"version", no_argument, nullptr, 'V'},
    {"help", no_argument, nullptr, kOptHelp},
    {"usage", no_argument, nullptr, kOptUsage},
    {"hide", no_argument, nullptr, kOptIgnored},
    {"local", no_argument, nullptr, kOptIgnored},
    {"federation", no_argument, nullptr, kOptIgnored},
    {"noconvert", no_argument, nullptr, kOptIgnored},
    {nullptr, 0, nullptr, 0},
};

constexpr char kUsage[] =
    "Usage: sinfo [-abdelNRrsTv] [-i seconds] [-t states] [-p partition] [-n nodes]\n"
    "             [-S fields] [-o format] [-O Format] [--federation] [--local] [--sibling]\n";

constexpr char kHelp[] =
    "Usage: sinfo [OPTIONS]\n"
    "  -a, --all                  show all partitions (including hidden and those\n"
    "                             not accessible)\n"
    "  -d, --dead                 show only non-responding nodes\n"
    "  -e, --exact                group nodes only on exact match of configuration\n"
    "  -h, --noheader             no headers on output\n"
    "  -i, --iterate=seconds      specify an iteration period\n"
    "  -l, --long                 long output - displays more information\n"
    "  -n, --nodes=NODES          report on specific node(s)\n"
    "  -N, --Node                 Node-centric format\n"
    "  -o, --format=format        format specification\n"
    "  -O, --Format=format        long format specification\n"
    "  -p, --partition=PARTITION  report on specific partition\n"
    "  -r, --responding           report only responding nodes\n"
    "  -R, --list-reasons         list reason nodes are down or drained\n"
    "  -s, --summarize            report state summary only\n"
    "  -S, --sort=fields          comma separated list of fields to sort on\n"
    "  -t, --states=node_state    specify the what states of nodes to view\n"
    "  -v, --verbose              verbosity level\n"
    "  -V, --version              output version information and exit\n"
    "\nHelp options:\n"
    "  --help                     show this help message\n"
    "  --usage                    display brief usage message\n";

std::string DateLine(int64_t now) {
  time_t t = static_cast<time_t>(now);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%a %b %e %H:%M:%S %Y", &tm);
  return std::string(buf) + "\n";
}

}  // namespace

int SinfoMain(int argc, char** argv) {
  GetoptResult parsed = RunGetopt(kProg, ArgsOf(argc, argv), kShortOpts, kLongOpts);
  if (!parsed.ok) return ReportError({TryHelpLine(kProg), 1});

  bool header = true, long_list = false, node_mode = false, reasons = false, summarize = false;
  bool responding_only = false, dead_only = false, reservations = false;
  int iterate = 0;
  std::string format, named_format;
  std::set<std::string> partitions_wanted, nodes_wanted;
  std::vector<std::string> states_wanted;
  for (const ParsedOption& o : parsed.options) {
    switch (o.id) {
      case 'd':
        dead_only = true;
        break;
      case 'h':
        header = false;
        break;
      case 'i':
        iterate = static_cast<int>(ParseInt(o.arg).value_or(0));
        if (iterate <= 0) {
          return ReportError(
              {"sinfo: error: Error: invalid entry for --iterate=" + o.arg + "\n", 1});
        }
        break;
      case 'l':
        long_list = true;
        break;
      case 'n': {
        Result<std::vector<std::string>> names = ExpandHostlist(o.arg);
        if (!names.ok()) {
          return ReportError({"sinfo: error: Invalid node name " + o.arg + "\n", 1});
        }
        nodes_wanted.insert(names->begin(), names->end());
        break;
      }
      case 'N':
        node_mode = true;
        break;
      case 'o':
        format = o.arg;
        break;
      case 'O':
        named_format = o.arg;
        break;
      case 'p':
        for (const std::string& p : Split(o.arg, ',')) {
          if (!p.empty()) partitions_wanted.insert(p);
        }
        break;
      case 'r':
        responding_only = true;
        break;
      case 'R':
        reasons = true;
        break;
      case 's':
        summarize = true;
        break;
      case 'T':
        reservations = true;
        break;
      case 't':
        for (const std::string& s : Split(o.arg, ',')) {
          if (s.empty()) continue;
          if (!SinfoStateNameValid(s)) {
            return ReportError({"sinfo: error: Bad state string: \"" + s +
                                    "\"\nsinfo: error: valid states: " + kSinfoValidStates + "\n",
                                1});
          }
          states_wanted.push_back(s);
        }
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
  if (!parsed.operands.empty()) {
    fprintf(stderr, "sinfo: error: Unrecognized option: %s\n", parsed.operands.front().c_str());
    fputs(kUsage, stdout);
    return 1;
  }

  if (reservations) {
    // -T lists the reservations and nothing else (other options are ignored, as Slurm).
    Result<Json> rj = ApiClient::FromEnvironment().Get("/api/v1/reservations");
    if (!rj.ok()) {
      fprintf(stderr, "slurm_load_reservations: %s\n", rj.status().message().c_str());
      return 1;
    }
    std::vector<Reservation> list;
    if ((*rj)["reservations"].is_array()) {
      for (const Json& j : (*rj)["reservations"]) {
        Result<Reservation> r = ReservationFromJson(j);
        if (r.ok()) list.push_back(std::move(*r));
      }
    }
    const std::string out = RenderSinfoReservations(list, header, NowEpoch());
    fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  SinfoMode mode = reasons     ? SinfoMode::kReasons
                   : node_mode ? SinfoMode::kNode
                   : summarize ? SinfoMode::kSummarize
                               : SinfoMode::kPartition;
  const char* default_format = long_list ? kSinfoLongFormat : kSinfoDefaultFormat;
  if (reasons) {
    default_format = long_list ? kSinfoReasonLongFormat : kSinfoReasonFormat;
  } else if (summarize) {
    default_format = kSinfoSummarizeFormat;
  } else if (node_mode) {
    default_format = long_list ? kSinfoNodeLongFormat : kSinfoNodeFormat;
  }
  auto on_invalid = [](std::string_view what) {
    fprintf(stderr, "Invalid node format specification: %.*s\n", static_cast<int>(what.size()),
            what.data());
  };
  std::vector<FieldSpec> fields =
      !named_format.empty()
          ? ParseSinfoFormat(named_format, true, on_invalid)
          : ParseSinfoFormat(!format.empty() ? format : default_format, false, on_invalid);

  ApiClient client = ApiClient::FromEnvironment();
  // Partitions and nodes in one answer (one round trip instead of two), the nodes as a compact
  // table: 10,000 node documents cost far more to send and parse. Their states are worked out
  // here from the fields, so those two columns are not asked for.
  std::vector<std::string> node_columns;
  for (const std::string& name : AllNodeColumns()) {
    if (name != "state" && name != "state_long") node_columns.push_back(name);
  }
  const std::string path = "/api/v1/nodes?with=partitions&fields=" + Join(node_columns, ",");
  for (;;) {
    Result<ResponseBody> answer = client.CallRaw("GET", path);
    Result<NodeTable> table =
        answer.ok() ? DecodeNodeTable(answer->text()) : Result<NodeTable>(answer.status());
    if (!table.ok()) {
      fprintf(stderr, "slurm_load_partitions: %s\n", table.status().message().c_str());
      return 1;
    }
    const Json partitions_json = Json::parse(table->partitions_json, nullptr, false);
    if (!partitions_json.is_array()) {
      fputs("slurm_load_partitions: the controller's answer lists no partitions\n", stderr);
      return 1;
    }
    std::vector<Partition> partitions;
    for (const Json& j : partitions_json) {
      Result<Partition> p = PartitionFromJson(j);
      if (!p.ok()) continue;
      if (!partitions_wanted.empty() && partitions_wanted.count(p->name) == 0) continue;
      partitions.push_back(std::move(*p));
    }
    // Filtered in place: with no filter, no Node is moved at all.
    std::vector<Node> nodes = std::move(table->nodes);
    nodes.erase(std::remove_if(nodes.begin(), nodes.end(),
                               [&](const Node& n) {
                                 if (!nodes_wanted.empty() && nodes_wanted.count(n.name) == 0) {
                                   return true;
                                 }
                                 if (responding_only && !n.responding) return true;
                                 if (dead_only && n.responding && !n.down) return true;
                                 if (states_wanted.empty()) return false;
                                 return std::none_of(
                                     states_wanted.begin(), states_wanted.end(),
                                     [&](const std::string& s) { return SinfoStateMatches(n, s); });
                               }),
                nodes.end());
    std::vector<FieldSpec> shown_fields = fields;
    if (mode == SinfoMode::kNode) SizeNodeNameField(&shown_fields, nodes);
    std::vector<SinfoLine> lines = BuildSinfoLines(shown_fields, partitions, nodes, mode);
    std::string out;
    if (header && (long_list || iterate > 0)) out += DateLine(NowEpoch());
    out += RenderSinfo(shown_fields, lines, header);
    fwrite(out.data(), 1, out.size(), stdout);
    if (iterate <= 0) break;
    fputc('\n', stdout);
    fflush(stdout);
    sleep(static_cast<unsigned>(iterate));
  }
  return 0;
}

}  // namespace shoal
