// scontrol: show, hold/release/requeue, update, ping.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <optional>

#include "api/client.h"
#include "cli/command_util.h"
#include "cli/commands.h"
#include "cli/scontrol_show.h"
#include "common/hostlist.h"
#include "common/slurm_time.h"
#include "common/strings.h"
#include "core/reservation.h"

namespace shoal {
namespace {

constexpr char kProg[] = "scontrol";

enum : int { kOptIgnored = 0x100, kOptIgnoredArg };

constexpr char kShortOpts[] = "+adFhM:oQu:vV";

const option kLongOpts[] = {
    {"all", no_argument, nullptr, 'a'},
    {"details", no_argument, nullptr, 'd'},
    {"future", no_argument, nullptr, 'F'},
    {"help", no_argument, nullptr, 'h'},
    {"cluster", required_argument, nullptr, 'M'},
    {"clusters", required_argument, nullptr, 'M'},
    {"oneliner", no_argument, nullptr, 'o'},
    {"quiet", no_argument, nullptr, 'Q'},
    {"uid", required_argument, nullptr, 'u'},
    {"verbose", no_argument, nullptr, 'v'},
    {"version", no_argument, nullptr, 'V'},
    {"hide", no_argument, nullptr, kOptIgnored},
    {"local", no_argument, nullptr, kOptIgnored},
    {"sibling", no_argument, nullptr, kOptIgnored},
    {"federation", no_argument, nullptr, kOptIgnored},
    {"json", optional_argument, nullptr, kOptIgnoredArg},
    {nullptr, 0, nullptr, 0},
};

constexpr char kHelp[] =
    "scontrol [<OPTION>] [<COMMAND>]\n"
    "    Valid <OPTION> values are:\n"
    "     -a, --all      Equivalent to \"all\" command\n"
    "     -d, --details  Equivalent to \"details\" command\n"
    "     -h, --help     Equivalent to \"help\" command\n"
    "     -o, --oneliner Equivalent to \"oneliner\" command\n"
    "     -Q, --quiet    Equivalent to \"quiet\" command\n"
    "     -v, --verbose  Equivalent to \"verbose\" command\n"
    "     -V, --version  Equivalent to \"version\" command\n"
    "\n"
    "    Valid <COMMAND> values are:\n"
    "     create <SPECIFICATIONS>  create a new reservation\n"
    "     delete <SPECIFICATIONS>  delete the specified node(s) or reservation\n"
    "     exit                     terminate scontrol\n"
    "     help                     print this description of use.\n"
    "     hold <job_list>          prevent specified job from starting.\n"
    "     ping                     print status of slurmctld daemons.\n"
    "     quit                     terminate this command.\n"
    "     release <job_list>       permit specified job to start (see hold)\n"
    "     requeue <job_id>         re-queue a batch job\n"
    "     requeuehold <job_id>     re-queue and hold a batch\n"
    "     show <ENTITY> [<ID>]     display state of identified entity, default\n"
    "                              is all records.\n"
    "     token [lifespan=SECONDS] [username=NAME]  print a token for the REST API:\n"
    "                              SLURM_JWT=<token> (for another user: administrators)\n"
    "     update <SPECIFICATIONS>  update job or node\n"
    "     version                  display tool version number.\n"
    "\n"
    "  <ENTITY> may be \"config\", \"hostlist\", \"hostlistsorted\", \"hostnames\",\n"
    "       \"job\", \"node\" or \"partition\".\n";

struct Context {
  ApiClient client = ApiClient::FromEnvironment();
  bool oneliner = false;
  bool quiet = false;
};

// Slurm's keyword matching: a case-insensitive prefix of `word` at least `min_len` long.
bool Matches(std::string_view tag, std::string_view word, size_t min_len) {
  if (tag.size() < min_len || tag.size() > word.size()) return false;
  return EqualsIgnoreCase(tag, word.substr(0, tag.size()));
}

bool ValidJobId(std::string_view id) {
  size_t us = id.find('_');
  if (!ParseUint(id.substr(0, us))) return false;
  return us == std::string_view::npos || ParseUint(id.substr(us + 1)).has_value();
}

void Err(const Context& ctx, const std::string& text) {
  if (!ctx.quiet) fputs(text.c_str(), stderr);
}

std::string ControllerHost(const ApiClient& client) {
  std::string_view ep = client.endpoint();
  if (!ep.starts_with("unix:")) {
    if (ep.starts_with("http://")) ep.remove_prefix(7);
    return std::string(ep.substr(0, ep.rfind(':')));
  }
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  std::string host = buf;
  return host.substr(0, host.find('.'));
}

template <typename T>
std::vector<T> Decode(const Json& list, Result<T> (*decode)(const Json&)) {
  std::vector<T> out;
  if (!list.is_array()) return out;
  out.reserve(list.size());
  for (const Json& j : list) {
    Result<T> v = decode(j);
    if (v.ok()) out.push_back(std::move(*v));
  }
  return out;
}

int ShowJobs(Context& ctx, const std::vector<std::string>& args) {
  std::string path = "/api/v1/jobs";
  if (!args.empty()) {
    if (!ValidJobId(args[0])) {
      Err(ctx, "scontrol_print_job error: Invalid job id specified\n");
      return 1;
    }
    path += "?ids=" + UrlEncode(args[0]);
  }
  Result<Json> r = ctx.client.Get(path);
  if (!r.ok()) {
    Err(ctx, "slurm_load_jobs error: " + r.status().message() + "\n");
    return 1;
  }
  std::vector<Job> jobs = Decode<Job>((*r)["jobs"], &JobFromJson);
  if (!args.empty()) {
    // Keep only what the id names: a job, a whole array, or one task.
    const std::string& id = args[0];
    size_t us = id.find('_');
    std::erase_if(jobs, [&](const Job& j) {
      if (us == std::string::npos) {
        return !(std::to_string(j.id) == id ||
                 (j.IsArrayTask() && std::to_string(j.array_job_id) == id));
      }
      return !(j.IsArrayTask() && std::to_string(j.array_job_id) == id.substr(0, us) &&
               std::to_string(j.array_task_id) == id.substr(us + 1));
    });
  }
  if (jobs.empty()) {
    if (!args.empty()) {
      Err(ctx, "slurm_load_jobs error: Invalid job id specified\n");
      return 1;
    }
    puts("No jobs in the system");
    return 0;
  }
  std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
    JobId ia = a.IsArrayTask() ? a.array_job_id : a.id;
    JobId ib = b.IsArrayTask() ? b.array_job_id : b.id;
    if (ia != ib) return ia < ib;
    return a.array_task_id < b.array_task_id;
  });
  const bool one_task = !args.empty() && args[0].find('_') != std::string::npos;
  std::vector<JobRow> rows = BuildJobRows(jobs, one_task);
  int64_t now = NowEpoch();
  std::string out;
  for (const JobRow& row : rows) out += RenderJobRecord(row, now, ctx.oneliner);
  fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int ShowNodesOrPartitions(Context& ctx, bool nodes_wanted, const std::vector<std::string>& args) {
  Result<Json> pj = ctx.client.Get("/api/v1/partitions");
  if (!pj.ok()) {
    Err(ctx, "slurm_load_partitions error: " + pj.status().message() + "\n");
    return 1;
  }
  Result<Json> nj = ctx.client.Get("/api/v1/nodes");
  if (!nj.ok()) {
    Err(ctx, "slurm_load_node error: " + nj.status().message() + "\n");
    return 1;
  }
  std::vector<Partition> partitions = Decode<Partition>((*pj)["partitions"], &PartitionFromJson);
  std::vector<Node> nodes = Decode<Node>((*nj)["nodes"], &NodeFromJson);
  std::string out;
  if (nodes_wanted) {
    std::vector<std::string> names;
    if (!args.empty()) {
      Result<std::vector<std::string>> expanded = ExpandHostlist(args[0]);
      names = expanded.ok() ? *expanded : std::vector<std::string>{args[0]};
    }
    bool any = false;
    for (const Node& n : nodes) {
      if (!names.empty() && std::find(names.begin(), names.end(), n.name) == names.end()) {
        continue;
      }
      out += RenderNodeRecord(n, partitions, ctx.oneliner);
      any = true;
    }
    if (!any) {
      if (args.empty()) {
        puts("No nodes in the system");
        return 0;
      }
      Err(ctx, "Node " + args[0] + " not found\n");
      return 1;
    }
  } else {
    bool any = false;
    for (const Partition& p : partitions) {
      if (!args.empty() && p.name != args[0]) continue;
      out += RenderPartitionRecord(p, nodes, ctx.oneliner);
      any = true;
    }
    if (!any) {
      if (args.empty()) {
        puts("No partitions in the system");
        return 0;
      }
      Err(ctx, "Partition " + args[0] + " not found\n");
      return 1;
    }
  }
  fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int ShowConfig(Context& ctx) {
  Result<Json> r = ctx.client.Get("/api/v1/config");
  if (!r.ok()) {
    Err(ctx, "slurm_load_ctl_conf error: " + r.status().message() + "\n");
    return 1;
  }
  std::map<std::string, std::string> config;
  if (r->contains("config") && (*r)["config"].is_object()) {
    for (const auto& [k, v] : (*r)["config"].items()) {
      config[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
  }
  std::string out = RenderConfig(config, NowEpoch());
  out += "\nSlurmctld(primary) at " + ControllerHost(ctx.client) + " is UP\n";
  fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

// A hostlist argument, or the names in a file when it is an absolute path.
std::string HostlistArgument(const std::string& arg) {
  if (arg.empty() || arg[0] != '/') return arg;
  FILE* f = fopen(arg.c_str(), "r");
  if (f == nullptr) return arg;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  fclose(f);
  std::replace(text.begin(), text.end(), '\n', ',');
  std::vector<std::string> parts;
  for (const std::string& p : Split(text, ',')) {
    if (!Trim(p).empty()) parts.emplace_back(Trim(p));
  }
  return Join(parts, ",");
}

int ShowHosts(Context& ctx, bool expand, const std::vector<std::string>& args) {
  std::string list;
  if (!args.empty()) {
    list = HostlistArgument(args[0]);
  } else if (expand) {
    list = GetEnv("SLURM_JOB_NODELIST").value_or(GetEnv("SLURM_NODELIST").value_or(""));
  }
  if (list.empty()) {
    Err(ctx, "scontrol: error: host list is empty\n");
    return expand ? 0 : 1;
  }
  Result<std::vector<std::string>> names = ExpandHostlist(list);
  if (!names.ok()) {
    Err(ctx, "scontrol: error: " + names.status().message() + "\n");
    return 1;
  }
  std::string out;
  if (expand) {
    for (const std::string& n : *names) out += n + "\n";
  } else {
    out = CompressHostlist(*names) + "\n";
  }
  fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

// show reservation[s] [NAME]: as Slurm 22.05 prints them, a blank line after each.
int ShowReservations(Context& ctx, const std::vector<std::string>& args) {
  Result<Json> r = ctx.client.Get("/api/v1/reservations");
  if (!r.ok()) {
    Err(ctx, "slurm_load_reservations error: " + r.status().message() + "\n");
    return 1;
  }
  const int64_t now = time(nullptr);
  std::string out;
  bool any = false;
  for (const Json& j : (*r)["reservations"]) {
    auto resv = ReservationFromJson(j);
    if (!resv.ok()) continue;
    any = true;
    if (!args.empty() && resv->name != args[0]) continue;
    std::string text = FormatReservation(*resv, j.value("cpus", uint64_t{0}), now);
    if (ctx.oneliner) {
      for (size_t pos; (pos = text.find("\n   ")) != std::string::npos;) text.replace(pos, 4, " ");
    }
    out += text + "\n\n";
  }
  if (out.empty()) {
    if (!args.empty() && any) {
      Err(ctx, "Reservation " + args[0] + " not found\n");
      return 1;
    }
    fputs("No reservations in the system\n", stdout);
    return args.empty() ? 0 : 1;
  }
  fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

// create reservation Key=Value...
int Create(Context& ctx, const std::vector<std::string>& args) {
  if (args.empty() || !Matches(args[0], "reservation", 3)) {
    Err(ctx, "invalid keyword: create " + (args.empty() ? std::string() : args[0]) +
                 " (only reservations can be created)\n");
    return 1;
  }
  std::vector<std::string> words(args.begin() + 1, args.end());
  if (words.empty()) {
    Err(ctx, "Error creating the reservation: ReservationName must be specified\n");
    return 1;
  }
  Result<Json> r = ctx.client.Post("/api/v1/reservations", Json{{"words", words}});
  if (!r.ok()) {
    Err(ctx, "Error creating the reservation: " + r.status().message() + "\n");
    return 1;
  }
  printf("Reservation created: %s\n", (*r).value("name", "").c_str());
  return 0;
}

int UpdateReservation(Context& ctx, const std::string& name,
                      const std::vector<std::string>& args) {
  Result<Json> r = ctx.client.Post("/api/v1/reservations/" + UrlEncode(name) + "/update",
                                   Json{{"words", args}});
  if (!r.ok()) {
    Err(ctx, "Error updating the reservation: " + r.status().message() + "\n");
    return 1;
  }
  puts("Reservation updated.");
  return 0;
}

int Show(Context& ctx, const std::vector<std::string>& args) {
  if (args.empty()) {
    Err(ctx, "too few arguments for keyword:show\n");
    return 1;
  }
  const std::string& entity = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (rest.size() > 1) {
    Err(ctx, "too many arguments for keyword:show\n");
    return 1;
  }
  if (Matches(entity, "jobs", 1)) return ShowJobs(ctx, rest);
  if (Matches(entity, "nodes", 1)) return ShowNodesOrPartitions(ctx, true, rest);
  if (Matches(entity, "partitions", 2)) return ShowNodesOrPartitions(ctx, false, rest);
  if (Matches(entity, "config", 1)) return ShowConfig(ctx);
  if (Matches(entity, "reservations", 3)) return ShowReservations(ctx, rest);
  if (Matches(entity, "hostnames", 5)) return ShowHosts(ctx, true, rest);
  if (EqualsIgnoreCase(entity, "hostlist") || Matches(entity, "hostlistsorted", 9)) {
    return ShowHosts(ctx, false, rest);
  }
  Err(ctx, "invalid entity:" + entity + " for keyword:show \n");
  return 1;
}

// hold / release / requeue (and requeuehold) on each job id given (space or comma separated).
int JobAction(Context& ctx, const std::string& keyword, const std::vector<std::string>& args,
              const std::vector<std::string>& actions) {
  std::vector<std::string> ids;
  for (const std::string& a : args) {
    for (const std::string& id : Split(a, ',')) {
      if (!id.empty()) ids.push_back(id);
    }
  }
  if (ids.empty()) {
    Err(ctx, "too few arguments for keyword:" + keyword + "\n");
    return 1;
  }
  const bool suspend_style = actions.front() != "requeue";
  int rc = 0;
  std::string last_error;
  for (const std::string& id : ids) {
    for (const std::string& action : actions) {
      Status s =
          ValidJobId(id)
              ? ctx.client.Post("/api/v1/jobs/" + UrlEncode(id) + "/" + action, Json::object())
                    .status()
              : InvalidArgument("Invalid job id specified");
      if (!s.ok()) {
        Err(ctx, s.message() + " for job " + id + "\n");
        last_error = s.message();
        rc = 1;
        break;
      }
    }
  }
  if (rc != 0 && suspend_style) Err(ctx, "slurm_suspend error: " + last_error + "\n");
  return rc;
}

struct KeyValue {
  std::string key;
  std::string value;
};

std::vector<KeyValue> SplitPairs(const std::vector<std::string>& args) {
  std::vector<KeyValue> pairs;
  for (const std::string& a : args) {
    size_t eq = a.find('=');
    if (eq == std::string::npos) {
      pairs.push_back({a, ""});
    } else {
      pairs.push_back({a.substr(0, eq), a.substr(eq + 1)});
    }
  }
  return pairs;
}

int UpdateJob(Context& ctx, const std::vector<KeyValue>& pairs) {
  std::vector<std::string> ids;
  Json body = Json::object();
  std::string relative_limit;  // "+N" / "-N" minutes, applied to each job's current limit
  for (const KeyValue& kv : pairs) {
    if (EqualsIgnoreCase(kv.key, "JobId")) {
      for (const std::string& id : Split(kv.value, ',')) {
        if (!id.empty()) ids.push_back(id);
      }
    } else if (EqualsIgnoreCase(kv.key, "TimeLimit")) {
      if (!kv.value.empty() && (kv.value[0] == '+' || kv.value[0] == '-')) {
        if (!ParseTimeLimit(kv.value.substr(1)).ok()) {
          Err(ctx, "scontrol: error: Invalid TimeLimit value\n");
          return 1;
        }
        relative_limit = kv.value;
        continue;
      }
      Result<int64_t> t = ParseTimeLimit(kv.value);
      if (!t.ok()) {
        Err(ctx, "scontrol: error: Invalid TimeLimit value\n");
        return 1;
      }
      body["time_limit_s"] = *t == kUnlimited ? kUnlimited : (*t + 59) / 60 * 60;
    } else if (EqualsIgnoreCase(kv.key, "Name") || EqualsIgnoreCase(kv.key, "JobName")) {
      body["name"] = kv.value;
    } else if (EqualsIgnoreCase(kv.key, "Partition")) {
      body["partition"] = kv.value;
    } else if (EqualsIgnoreCase(kv.key, "Nice")) {
      body["nice"] = ParseInt(kv.value).value_or(0);  // atoi, as Slurm
    } else {
      Err(ctx, "Update of this parameter is not supported: " + kv.key + "=" + kv.value +
                   "\nRequest aborted\n");
      return 1;
    }
  }
  int rc = 0;
  for (const std::string& id : ids) {
    Json job_body = body;
    if (!ValidJobId(id)) {
      Err(ctx, "Invalid job id specified for job " + id + "\n");
      rc = 1;
      continue;
    }
    if (!relative_limit.empty()) {
      Result<Json> cur = ctx.client.Get("/api/v1/jobs/" + UrlEncode(id));
      Result<Job> job = cur.ok() ? JobFromJson(*cur) : Result<Job>(cur.status());
      if (!job.ok()) {
        Err(ctx, job.status().message() + " for job " + id + "\n");
        rc = 1;
        continue;
      }
      int64_t delta = *ParseTimeLimit(relative_limit.substr(1));
      if (delta == kUnlimited) delta = 0;
      int64_t limit = JobTimeLimit(*job);
      if (limit != kUnlimited) {
        limit = relative_limit[0] == '+' ? limit + delta : std::max<int64_t>(60, limit - delta);
      }
      job_body["time_limit_s"] = limit;
    }
    Status s = ctx.client.Post("/api/v1/jobs/" + UrlEncode(id) + "/update", job_body).status();
    if (!s.ok()) {
      Err(ctx, s.message() + " for job " + id + "\n");
      rc = 1;
    }
  }
  return rc;
}

int UpdateNode(Context& ctx, const std::vector<KeyValue>& pairs) {
  std::string names_text, state, reason;
  bool has_reason = false;
  for (const KeyValue& kv : pairs) {
    if (EqualsIgnoreCase(kv.key, "NodeName")) {
      names_text = kv.value;
    } else if (EqualsIgnoreCase(kv.key, "State")) {
      state = ToUpper(kv.value);
    } else if (EqualsIgnoreCase(kv.key, "Reason")) {
      reason = kv.value;
      has_reason = true;
    } else {
      Err(ctx, "Update of this parameter is not supported: " + kv.key + "=" + kv.value +
                   "\nRequest aborted\n");
      return 1;
    }
  }
  if (state == "UNDRAIN" || state == "IDLE") state = "RESUME";
  const bool power = state == "POWER_UP" || state == "POWER_DOWN" || state == "POWER_DOWN_ASAP" ||
                     state == "POWER_DOWN_FORCE";
  if (!state.empty() && state != "DRAIN" && state != "DOWN" && state != "RESUME" && !power) {
    Err(ctx, "Invalid input: State=" + state +
                 "\nRequest aborted\nValid states are: NoResp DRAIN FAIL FUTURE RESUME "
                 "POWER_DOWN POWER_UP UNDRAIN\nNot all states are valid given a node's prior "
                 "state\n");
    return 1;
  }
  if ((state == "DRAIN" || state == "DOWN") && (!has_reason || reason.empty())) {
    Err(ctx, "You must specify a reason when DOWNING or DRAINING a node. Request denied\n");
    return 1;
  }
  Result<std::vector<std::string>> names = ExpandHostlist(names_text);
  if (!names.ok() || names->empty()) {
    Err(ctx, "slurm_update error: Invalid node name specified\n");
    return 1;
  }
  Json body = Json::object();
  if (!state.empty()) body["state"] = state;
  if (has_reason) body["reason"] = reason;
  for (const std::string& n : *names) {
    Status s = ctx.client.Post("/api/v1/nodes/" + UrlEncode(n) + "/update", body).status();
    if (!s.ok()) {
      Err(ctx, "slurm_update error: " + s.message() + "\n");
      return 1;
    }
  }
  return 0;
}

int Update(Context& ctx, const std::vector<std::string>& args) {
  if (args.empty()) {
    Err(ctx, "too few arguments for update keyword\n");
    return 1;
  }
  std::vector<KeyValue> pairs = SplitPairs(args);
  for (const KeyValue& kv : pairs) {
    if (EqualsIgnoreCase(kv.key, "JobId")) return UpdateJob(ctx, pairs);
    if (EqualsIgnoreCase(kv.key, "NodeName")) return UpdateNode(ctx, pairs);
    if (EqualsIgnoreCase(kv.key, "ReservationName") || EqualsIgnoreCase(kv.key, "Reservation")) {
      return UpdateReservation(ctx, kv.value, args);
    }
  }
  Err(ctx,
      "No valid entity in update command\nInput line must include \"NodeName\", "
      "\"PartitionName\", \"Reservation\", \"JobId\", or \"SlurmctldDebug\"\n");
  return 1;
}

// delete NodeName=LIST: one request for the whole list, so it removes all the nodes or none.
int Delete(Context& ctx, const std::vector<std::string>& args) {
  std::vector<KeyValue> pairs = SplitPairs(args);
  if (pairs.size() == 1 && (EqualsIgnoreCase(pairs[0].key, "ReservationName") ||
                            EqualsIgnoreCase(pairs[0].key, "Reservation"))) {
    Status s = ctx.client
                   .Post("/api/v1/reservations/" + UrlEncode(pairs[0].value) + "/delete",
                         Json::object())
                   .status();
    if (!s.ok()) {
      Err(ctx, "Error deleting the reservation: " + s.message() + "\n");
      return 1;
    }
    return 0;
  }
  if (pairs.size() != 1 || !EqualsIgnoreCase(pairs[0].key, "NodeName")) {
    Err(ctx, "Invalid delete specification: only NodeName=<node_list> can be deleted\n");
    return 1;
  }
  Result<std::vector<std::string>> names = ExpandHostlist(pairs[0].value);
  if (!names.ok() || names->empty()) {
    Err(ctx, "delete_node error: Invalid node name specified\n");
    return 1;
  }
  Status s =
      ctx.client.Post("/api/v1/nodes/" + UrlEncode(pairs[0].value) + "/delete", Json::object())
          .status();
  if (!s.ok()) {
    Err(ctx, "delete_node error: " + s.message() + "\n");
    return 1;
  }
  return 0;
}

// token [lifespan=SECONDS] [username=NAME]: asks the controller to sign one (the CLI never
// holds the key) and prints it as Slurm does, ready for `export`.
int Token(Context& ctx, const std::vector<std::string>& args) {
  Json body = Json::object();
  for (const KeyValue& kv : SplitPairs(args)) {
    if (EqualsIgnoreCase(kv.key, "lifespan")) {
      auto n = ParseInt(kv.value);
      if (!n || *n < 1) {
        Err(ctx, "Invalid lifespan value: " + kv.value + "\n");
        return 1;
      }
      body["lifespan"] = *n;
    } else if (EqualsIgnoreCase(kv.key, "username")) {
      if (kv.value.empty()) {
        Err(ctx, "Invalid username value\n");
        return 1;
      }
      body["username"] = kv.value;
    } else {
      Err(ctx, "Invalid parameter " + kv.key + (kv.value.empty() ? "" : "=" + kv.value) + "\n");
      return 1;
    }
  }
  Result<Json> r = ctx.client.Post("/api/v1/tokens", body);
  if (!r.ok()) {
    Err(ctx, "slurm_request_token error: " + r.status().message() + "\n");
    return 1;
  }
  if (!r->contains("token") || !(*r)["token"].is_string()) {
    Err(ctx, "slurm_request_token error: no token in the controller's answer\n");
    return 1;
  }
  printf("SLURM_JWT=%s\n", (*r)["token"].get<std::string>().c_str());
  return 0;
}

// Slurm's lines, one per controller in $SHOAL_CONTROLLER's order (the first the primary): a
// standby answers, so it is UP, as Slurm's backup is.
int Ping(Context& ctx) {
  const std::vector<std::string> endpoints = ctx.client.Endpoints();
  if (endpoints.size() <= 1) {
    Result<Json> r = ctx.client.Get("/api/v1/health");
    printf("Slurmctld(primary) at %s is %s\n", ControllerHost(ctx.client).c_str(),
           r.ok() ? "UP" : "DOWN");
    return r.ok() ? 0 : 1;
  }
  const char* token = getenv("SLURM_JWT");
  bool leader = false;
  for (size_t i = 0; i < endpoints.size(); ++i) {
    ApiClient one(endpoints[i], token != nullptr ? token : "");
    Result<Json> r = one.Call("GET", "/api/v1/health", nullptr, 1000);
    std::string name = ControllerHost(one);
    bool up = r.ok();
    if (r.ok()) {
      leader = true;
      if (r->contains("name") && (*r)["name"].is_string()) name = (*r)["name"];
    } else {
      // "controller NAME is a standby; ...": it answers.
      const std::string& m = r.status().message();
      const size_t at = m.find(" is a standby");
      if (m.rfind("controller ", 0) == 0 && at != std::string::npos) {
        up = true;
        name = m.substr(11, at - 11);
      }
    }
    const std::string role = i == 0                 ? "primary"
                             : endpoints.size() > 2 ? "backup" + std::to_string(i)
                                                    : "backup";
    printf("Slurmctld(%s) at %s is %s\n", role.c_str(), name.c_str(), up ? "UP" : "DOWN");
  }
  return leader ? 0 : 1;
}

// Runs one command line; `*stop` is set by quit/exit.
int RunCommand(Context& ctx, const std::vector<std::string>& words, bool* stop) {
  const std::string& cmd = words[0];
  std::vector<std::string> args(words.begin() + 1, words.end());
  if (Matches(cmd, "show", 3)) return Show(ctx, args);
  if (Matches(cmd, "hold", 2) || EqualsIgnoreCase(cmd, "uhold") || EqualsIgnoreCase(cmd, "holdu")) {
    return JobAction(ctx, cmd, args, {"hold"});
  }
  if (Matches(cmd, "release", 3)) return JobAction(ctx, cmd, args, {"release"});
  if (EqualsIgnoreCase(cmd, "requeuehold")) return JobAction(ctx, cmd, args, {"requeue", "hold"});
  if (Matches(cmd, "requeue", 3)) return JobAction(ctx, cmd, args, {"requeue"});
  if (Matches(cmd, "update", 1)) return Update(ctx, args);
  if (Matches(cmd, "delete", 3)) return Delete(ctx, args);
  if (Matches(cmd, "create", 2)) return Create(ctx, args);
  if (Matches(cmd, "ping", 2)) return Ping(ctx);
  if (Matches(cmd, "token", 3)) return Token(ctx, args);
  if (Matches(cmd, "version", 4)) {
    fputs(kVersionLine, stdout);
    return 0;
  }
  if (Matches(cmd, "oneliner", 1)) {
    ctx.oneliner = true;
    return 0;
  }
  if (Matches(cmd, "quiet", 4)) {
    ctx.quiet = true;
    return 0;
  }
  if (Matches(cmd, "help", 2)) {
    fputs(kHelp, stdout);
    return 0;
  }
  if (Matches(cmd, "quit", 4) || Matches(cmd, "exit", 4)) {
    *stop = true;
    return 0;
  }
  Err(ctx, "invalid keyword: " + cmd + "\n");
  return 1;
}

}  // namespace

// shoal token --join [lifespan=SECONDS]: a one-time join token for `shoal join`, on stdout alone
// (scripts capture it); how to use it goes to stderr.
int JoinToken(Context& ctx, const std::vector<std::string>& args) {
  Json body = Json::object();
  for (const KeyValue& kv : SplitPairs(args)) {
    std::string key = kv.key;
    if (key.rfind("--", 0) == 0) key = key.substr(2);
    if (!EqualsIgnoreCase(key, "lifespan")) {
      Err(ctx, "Invalid parameter " + kv.key + (kv.value.empty() ? "" : "=" + kv.value) +
                   " (shoal token --join [lifespan=SECONDS])\n");
      return 1;
    }
    auto n = ParseInt(kv.value);
    if (!n || *n < 1) {
      Err(ctx, "Invalid lifespan value: " + kv.value + "\n");
      return 1;
    }
    body["lifespan"] = *n;
  }
  Result<Json> r = ctx.client.Post("/api/v1/join-tokens", body);
  if (!r.ok()) {
    Err(ctx, "shoal token: cannot issue a join token: " + r.status().message() + "\n");
    return 1;
  }
  if (!r->contains("token") || !(*r)["token"].is_string()) {
    Err(ctx, "shoal token: no token in the controller's answer\n");
    return 1;
  }
  printf("%s\n", (*r)["token"].get<std::string>().c_str());
  fprintf(stderr,
          "one node may join with it until %s: shoal join CONTROLLER_HOST[:6817] TOKEN\n",
          FormatTimestamp(r->value("expires_at", int64_t{0})).c_str());
  return 0;
}

// shoal token --list: the join tokens the controller keeps (expired ones for a day), never
// their secrets.
int ListJoinTokens(Context& ctx) {
  Result<Json> r = ctx.client.Get("/api/v1/join-tokens");
  if (!r.ok()) {
    Err(ctx, "shoal token: cannot list join tokens: " + r.status().message() + "\n");
    return 1;
  }
  if (!r->contains("join_tokens") || !(*r)["join_tokens"].is_array()) {
    Err(ctx, "shoal token: no join_tokens in the controller's answer\n");
    return 1;
  }
  printf("%-6s %-19s %-19s %-7s %-10s %s\n", "ID", "CREATED", "EXPIRES", "STATE", "ISSUED_BY",
         "DETAIL");
  for (const Json& t : (*r)["join_tokens"]) {
    const std::string state = t.value("state", "");
    std::string detail;
    if (state == "used") {
      detail =
          "by " + t.value("used_by", "") + " at " + FormatTimestamp(t.value("used_at", int64_t{0}));
    } else if (state == "revoked") {
      detail = "by " + t.value("revoked_by", "") + " at " +
               FormatTimestamp(t.value("revoked_at", int64_t{0}));
    }
    printf("%-6s %-19s %-19s %-7s %-10s %s\n", t.value("id", "").c_str(),
           FormatTimestamp(t.value("created_at", int64_t{0})).c_str(),
           FormatTimestamp(t.value("expires_at", int64_t{0})).c_str(), state.c_str(),
           t.value("issued_by", "").c_str(), detail.c_str());
  }
  return 0;
}

// shoal token --revoke ID: an unused join token can no longer be used.
int RevokeJoinToken(Context& ctx, const std::string& id) {
  Result<Json> r = ctx.client.Call("DELETE", "/api/v1/join-tokens/" + UrlEncode(id));
  if (!r.ok()) {
    Err(ctx, "shoal token: cannot revoke join token " + id + ": " + r.status().message() + "\n");
    return 1;
  }
  fprintf(stderr, "join token %s revoked\n", id.c_str());
  return 0;
}

int ShoalTokenMain(int argc, char** argv) {
  Context ctx;
  std::vector<std::string> args;
  bool join = false, list = false;
  std::optional<std::string> revoke;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-h" || a == "--help") {
      fputs(
          "usage: shoal token [lifespan=SECONDS] [username=NAME]\n"
          "  prints SLURM_JWT=<token> for the REST API over TCP (as scontrol token)\n"
          "       shoal token --join [lifespan=SECONDS]\n"
          "  prints a one-time join token for `shoal join` (administrators; default an hour)\n"
          "       shoal token --list\n"
          "  lists the join tokens (id, created, expires, state; never the secret)\n"
          "       shoal token --revoke ID\n"
          "  revokes an unused join token (ID: its first 6 characters)\n",
          stdout);
      return 0;
    }
    if (a == "--join") {
      join = true;
    } else if (a == "--list") {
      list = true;
    } else if (a == "--revoke" || a.rfind("--revoke=", 0) == 0) {
      if (a == "--revoke" && i + 1 >= argc) {
        fputs("shoal token: --revoke needs a token id (shoal token --list)\n", stderr);
        return 1;
      }
      revoke = a == "--revoke" ? std::string(argv[++i]) : std::string(a.substr(9));
    } else if (a == "--lifespan" && i + 1 < argc) {
      args.push_back(std::string("lifespan=") + argv[++i]);
    } else {
      args.emplace_back(a);
    }
  }
  if (int(join) + int(list) + int(revoke.has_value()) > 1) {
    fputs("shoal token: --join, --list and --revoke exclude each other\n", stderr);
    return 1;
  }
  if ((list || revoke) && !args.empty()) {
    fprintf(stderr, "shoal token: unexpected argument %s with --%s\n", args[0].c_str(),
            list ? "list" : "revoke");
    return 1;
  }
  if (list) return ListJoinTokens(ctx);
  if (revoke) return RevokeJoinToken(ctx, *revoke);
  return join ? JoinToken(ctx, args) : Token(ctx, args);
}

int ScontrolMain(int argc, char** argv) {
  GetoptResult parsed = RunGetopt(kProg, ArgsOf(argc, argv), kShortOpts, kLongOpts);
  if (!parsed.ok) return ReportError({TryHelpLine(kProg), 1});
  Context ctx;
  for (const ParsedOption& o : parsed.options) {
    switch (o.id) {
      case 'h':
        fputs(kHelp, stdout);
        return 0;
      case 'o':
        ctx.oneliner = true;
        break;
      case 'Q':
        ctx.quiet = true;
        break;
      case 'V':
        fputs(kVersionLine, stdout);
        return 0;
      default:
        break;
    }
  }
  bool stop = false;
  if (!parsed.operands.empty()) return RunCommand(ctx, parsed.operands, &stop);
  // Interactive use: one command per line from stdin.
  int rc = 0;
  char* line = nullptr;
  size_t cap = 0;
  while (!stop) {
    if (isatty(STDIN_FILENO)) {
      fputs("scontrol: ", stdout);
      fflush(stdout);
    }
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) break;
    std::vector<std::string> words;
    for (const std::string& w : Split(Trim(std::string_view(line, static_cast<size_t>(n))), ' ')) {
      if (!w.empty()) words.push_back(w);
    }
    if (!words.empty()) rc = RunCommand(ctx, words, &stop);
  }
  free(line);
  return rc;
}

}  // namespace shoal
