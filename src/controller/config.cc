#include "controller/config.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <unordered_set>

#include "common/hostlist.h"
#include "common/slurm_conf.h"
#include "common/slurm_time.h"
#include "common/strings.h"
#include "common/units.h"
#include "common/webhook_url.h"
#include "log/logging.h"
#include "store/postgres_conninfo.h"

namespace shoal {
namespace {

Status At(const ConfLine& line, const std::string& why) {
  return InvalidArgument(line.Where() + ": " + why);
}

Result<uint64_t> UintValue(const ConfLine& line, const std::string& key, const std::string& v,
                           uint64_t max = std::numeric_limits<uint64_t>::max()) {
  auto n = ParseUint(v);
  if (!n) return At(line, "invalid value for " + key + ": '" + v + "' (expected a number)");
  if (*n > max) return At(line, "invalid value for " + key + ": '" + v + "' (too large)");
  return *n;
}

constexpr uint64_t kMaxU32 = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kMaxGpusPerNode = 1024;

Result<bool> YesNo(const ConfLine& line, const std::string& key, const std::string& v) {
  if (EqualsIgnoreCase(v, "yes") || v == "1") return true;
  if (EqualsIgnoreCase(v, "no") || v == "0") return false;
  return At(line, "invalid value for " + key + ": '" + v + "' (expected YES or NO)");
}

// NodeName=DEFAULT and PartitionName=DEFAULT lines set defaults for the lines after them.
Status ParseNodeLine(const ConfLine& line, Node& defaults, ControllerConfig& config) {
  auto names = ExpandHostlist(*line.Get("NodeName"));
  if (!names.ok()) return At(line, names.status().message());
  Node proto = defaults;
  proto.configured = true;
  for (const auto& [key, value] : line.pairs) {
    if (EqualsIgnoreCase(key, "NodeName")) continue;
    if (EqualsIgnoreCase(key, "CPUs")) {
      auto n = UintValue(line, key, value);
      if (!n.ok()) return n.status();
      if (*n == 0 || *n > 1000000) return At(line, "CPUs must be between 1 and 1000000");
      proto.cpus = static_cast<uint32_t>(*n);
    } else if (EqualsIgnoreCase(key, "RealMemory")) {
      auto n = UintValue(line, key, value);
      if (!n.ok()) return n.status();
      proto.memory_mb = *n;
    } else if (EqualsIgnoreCase(key, "Gres")) {
      // gpu:N or gpu:type:N
      auto parts = Split(value, ':');
      if (parts.size() < 2 || parts[0] != "gpu") return At(line, "invalid Gres '" + value + "'");
      auto n = ParseUint(parts.back());
      if (!n || *n > kMaxGpusPerNode) return At(line, "invalid Gres count in '" + value + "'");
      proto.gpus = static_cast<uint32_t>(*n);
      if (parts.size() == 3) proto.gpu_type = parts[1];
    } else if (EqualsIgnoreCase(key, "Feature") || EqualsIgnoreCase(key, "Features")) {
      proto.features = Split(value, ',');
    } else if (EqualsIgnoreCase(key, "NodeAddr") || EqualsIgnoreCase(key, "NodeHostname")) {
      proto.address = value;
    } else if (EqualsIgnoreCase(key, "State")) {
      // CLOUD: the node exists only while resumed (power saving starts it powered down). The
      // other states are accepted for compatibility; a node's state comes from its agent.
      proto.cloud = EqualsIgnoreCase(value, "CLOUD");
      if (proto.cloud && config.power.cloud_where.empty()) config.power.cloud_where = line.Where();
      static const char* const kStates[] = {"CLOUD", "UNKNOWN", "IDLE", "DOWN", "DRAIN",
                                            "FAIL",  "FUTURE",  "ALLOC"};
      const std::string& state = value;  // a structured binding cannot be captured (C++17)
      if (std::none_of(std::begin(kStates), std::end(kStates),
                       [&](const char* k) { return EqualsIgnoreCase(state, k); })) {
        return At(line, "invalid node State '" + value +
                            "' (CLOUD, UNKNOWN, IDLE, DOWN, DRAIN, FAIL or FUTURE)");
      }
    } else if (EqualsIgnoreCase(key, "Sockets") ||
               EqualsIgnoreCase(key, "CoresPerSocket") ||
               EqualsIgnoreCase(key, "ThreadsPerCore") || EqualsIgnoreCase(key, "Boards") ||
               EqualsIgnoreCase(key, "Weight") || EqualsIgnoreCase(key, "TmpDisk")) {
      // Accepted for compatibility; shoal derives these itself.
    } else {
      config.warnings.push_back(line.Where() + ": unknown node key '" + key + "' ignored");
    }
  }
  if (EqualsIgnoreCase(*line.Get("NodeName"), "DEFAULT")) {
    defaults = std::move(proto);
    return Status::Ok();
  }
  // A set, not a scan of the nodes so far: NodeName=n[1-100000] took minutes.
  std::unordered_set<std::string> defined;
  for (const Node& n : config.nodes) defined.insert(n.name);
  for (const auto& name : *names) {
    if (!defined.insert(name).second) return At(line, "node '" + name + "' is defined twice");
    Node n = proto;
    n.name = name;
    n.gpu_busy.assign(n.gpus, false);
    config.nodes.push_back(std::move(n));
  }
  return Status::Ok();
}

Result<int64_t> TimeValue(const ConfLine& line, const std::string& key, const std::string& v) {
  auto t = ParseTimeLimit(v);
  if (!t.ok()) return At(line, "invalid value for " + key + ": '" + v + "'");
  return *t;
}

constexpr uint64_t kMaxSlurmctldTimeout = 3600;

// A host name or address as written in SlurmctldHost (no spaces, commas, parentheses, slashes).
bool ValidHostWord(const std::string& s) {
  return !s.empty() && s.size() <= 253 &&
         std::all_of(s.begin(), s.end(),
                     [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                              c == '_' || c == ':' || c == '[' || c == ']';
                     }) &&
         s.front() != '-' && s.front() != '.';
}

// SlurmctldHost=NAME or NAME(ADDR).
Status AddControllerHost(const ConfLine& line, const std::string& value, ControllerConfig& config) {
  ControllerConfig::ControllerHost h;
  const size_t open = value.find('(');
  if (open == std::string::npos) {
    h.name = value;
  } else {
    if (value.back() != ')' || open == 0) {
      return At(line, "invalid SlurmctldHost '" + value + "' (expected NAME or NAME(ADDR))");
    }
    h.name = value.substr(0, open);
    h.addr = value.substr(open + 1, value.size() - open - 2);
    if (!ValidHostWord(h.addr)) {
      return At(line, "invalid address '" + h.addr + "' in SlurmctldHost '" + value + "'");
    }
  }
  if (!ValidHostWord(h.name) || h.name.find_first_of(":[]") != std::string::npos) {
    return At(line, "invalid SlurmctldHost name '" + h.name + "' (expected NAME or NAME(ADDR))");
  }
  for (const auto& other : config.controller_hosts) {
    if (other.name == h.name) return At(line, "SlurmctldHost '" + h.name + "' is listed twice");
    if (other.Address() == h.Address()) {
      return At(line, "SlurmctldHost '" + h.name + "' has the address of '" + other.name + "' (" +
                          h.Address() + ")");
    }
  }
  config.controller_hosts.push_back(std::move(h));
  return Status::Ok();
}

Status ParsePartitionLine(const ConfLine& line, Partition& defaults, ControllerConfig& config) {
  Partition p = defaults;
  p.name = *line.Get("PartitionName");
  if (p.name.empty()) return At(line, "PartitionName must not be empty");
  for (const auto& [key, value] : line.pairs) {
    if (EqualsIgnoreCase(key, "PartitionName")) continue;
    if (EqualsIgnoreCase(key, "Nodes")) {
      if (EqualsIgnoreCase(value, "ALL")) {
        p.all_nodes = true;
      } else {
        auto names = ExpandHostlist(value);
        if (!names.ok()) return At(line, names.status().message());
        p.nodes = *names;
      }
    } else if (EqualsIgnoreCase(key, "Default")) {
      auto b = YesNo(line, key, value);
      if (!b.ok()) return b.status();
      p.is_default = *b;
    } else if (EqualsIgnoreCase(key, "MaxTime")) {
      auto t = TimeValue(line, key, value);
      if (!t.ok()) return t.status();
      p.max_time_s = *t;
    } else if (EqualsIgnoreCase(key, "DefaultTime")) {
      auto t = TimeValue(line, key, value);
      if (!t.ok()) return t.status();
      p.default_time_s = *t;
    } else if (EqualsIgnoreCase(key, "MaxNodes")) {
      if (EqualsIgnoreCase(value, "UNLIMITED")) continue;
      auto n = UintValue(line, key, value, kMaxU32);
      if (!n.ok()) return n.status();
      p.max_nodes = static_cast<uint32_t>(*n);
    } else if (EqualsIgnoreCase(key, "PriorityJobFactor")) {
      auto n = UintValue(line, key, value, kMaxU32);
      if (!n.ok()) return n.status();
      p.priority_job_factor = static_cast<uint32_t>(*n);
    } else if (EqualsIgnoreCase(key, "PriorityTier")) {
      auto n = UintValue(line, key, value, kMaxU32);
      if (!n.ok()) return n.status();
      p.priority_tier = static_cast<uint32_t>(*n);
    } else if (EqualsIgnoreCase(key, "State")) {
      std::string s = ToUpper(value);
      p.up = true;  // this line's State replaces one inherited from PartitionName=DEFAULT
      p.drain = p.inactive = false;
      if (s == "UP") {
      } else if (s == "DOWN") {
        p.up = false;
      } else if (s == "DRAIN") {
        p.drain = true;
      } else if (s == "INACTIVE") {
        p.inactive = true;
        p.up = false;
      } else {
        return At(line, "invalid partition State '" + value + "' (UP, DOWN, DRAIN or INACTIVE)");
      }
    } else {
      config.warnings.push_back(line.Where() + ": unknown partition key '" + key + "' ignored");
    }
  }
  if (EqualsIgnoreCase(p.name, "DEFAULT")) {
    defaults = std::move(p);
    return Status::Ok();
  }
  for (const Partition& other : config.partitions) {
    if (other.name == p.name) return At(line, "partition '" + p.name + "' is defined twice");
    if (other.is_default && p.is_default) {
      return At(line, "more than one Default=YES partition ('" + other.name + "' and '" +
                          p.name + "')");
    }
  }
  config.partitions.push_back(std::move(p));
  return Status::Ok();
}

// WebhookURL=URL [Events=type,type...]: a cluster-wide receiver.
Status AddWebhook(const ConfLine& line, const std::string& url,
                  const std::optional<std::string>& events, ControllerConfig& config) {
  if (Status s = ValidateWebhookUrl(url); !s.ok()) return At(line, "WebhookURL: " + s.message());
  WebhookTarget target;
  target.url = url;
  if (events) {
    for (const std::string& e : Split(*events, ',')) {
      const std::string type = ToLower(Trim(e));
      const auto& known = WebhookEventTypes();
      if (std::find(known.begin(), known.end(), type) == known.end()) {
        return At(line, "unknown webhook event type '" + std::string(Trim(e)) + "' in Events (" +
                            Join(known, ", ") + ")");
      }
      target.events.push_back(type);
    }
  }
  for (const WebhookTarget& other : config.webhooks) {
    if (other.url == url) return At(line, "WebhookURL '" + url + "' is given twice");
  }
  config.webhooks.push_back(std::move(target));
  return Status::Ok();
}

Status ParseWebhookLine(const ConfLine& line, ControllerConfig& config) {
  for (const auto& [key, value] : line.pairs) {
    if (!EqualsIgnoreCase(key, "WebhookURL") && !EqualsIgnoreCase(key, "Events")) {
      return At(line, "unexpected key '" + key + "' on a WebhookURL line (only Events=)");
    }
  }
  return AddWebhook(line, *line.Get("WebhookURL"), line.Get("Events"), config);
}

bool ValidName(const std::string& name) {
  return !name.empty() && name.find_first_of(", \t=:") == std::string::npos;
}

// A setting the accounting model does not know is warned about (a file written for another
// version still loads); a bad value is an error at its line.
Status SettingResult(const ConfLine& line, const Status& s, const char* what,
                     const std::string& key, ControllerConfig& config) {
  if (s.code() == StatusCode::kNotFound) {
    config.warnings.push_back(line.Where() + ": unknown " + what + " key '" + key + "' ignored");
    return Status::Ok();
  }
  return s.ok() ? s : At(line, s.message());
}

// QOS=name [any sacctmgr QOS setting: Priority=N Preempt=a,b PreemptMode=... GraceTime=S
// MaxJobsPerUser=N MaxSubmitJobsPerUser=N MaxWall=TIME UsageFactor=X GrpTRES=... ...]: a QOS
// defined in the file (sacctmgr refuses to change it). A line for "normal" replaces the built-in.
Status ParseQosLine(const ConfLine& line, ControllerConfig& config, std::vector<int>& qos_lines) {
  Qos q;
  q.name = ToLower(*line.Get("QOS"));
  if (!ValidName(q.name)) return At(line, "invalid QOS name '" + q.name + "'");
  q.defined_in = line.Where();
  for (const auto& [key, value] : line.pairs) {
    if (EqualsIgnoreCase(key, "QOS")) continue;
    Status s = SettingResult(line, ApplyQosSetting(q, key, value), "QOS", key, config);
    if (!s.ok()) return s;
  }
  for (size_t i = 0; i < config.qos.size(); ++i) {
    if (config.qos[i].name != q.name) continue;
    if (qos_lines[i] != 0) {
      return At(line, "QOS '" + q.name + "' is defined twice (first at line " +
                          std::to_string(qos_lines[i]) + ")");
    }
    config.qos[i] = std::move(q);  // the built-in "normal"
    qos_lines[i] = line.line;
    return Status::Ok();
  }
  config.qos.push_back(std::move(q));
  qos_lines.push_back(line.line);
  return Status::Ok();
}

// Account=name [Parent=name] [Description=...] [Organization=...] [any association setting:
// Fairshare=N Priority=N GrpTRES=... MaxJobs=N ...]: an account defined in the file (sacctmgr
// refuses to change it). Parents must be defined earlier in the file or be root.
Status ParseAccountLine(const ConfLine& line, ControllerConfig& config) {
  ConfigAccount a;
  a.account.name = ToLower(*line.Get("Account"));
  if (!ValidName(a.account.name)) return At(line, "invalid account name '" + a.account.name + "'");
  a.account.parent = kRootAccount;
  a.account.defined_in = line.Where();
  a.assoc.account = a.account.name;
  for (const auto& [key, value] : line.pairs) {
    if (EqualsIgnoreCase(key, "Account")) continue;
    if (EqualsIgnoreCase(key, "Parent")) {
      a.account.parent = ToLower(value);
    } else if (EqualsIgnoreCase(key, "Description")) {
      a.account.description = value;
    } else if (EqualsIgnoreCase(key, "Organization")) {
      a.account.organization = ToLower(value);
    } else {
      Status s =
          SettingResult(line, ApplyAssocSetting(a.assoc, key, value), "account", key, config);
      if (!s.ok()) return s;
    }
  }
  if (a.account.name == kRootAccount) return At(line, "the root account is built in");
  bool parent_known = a.account.parent == kRootAccount;
  for (const ConfigAccount& other : config.accounts) {
    if (other.account.name == a.account.name) {
      return At(line, "account '" + a.account.name + "' is defined twice");
    }
    parent_known = parent_known || other.account.name == a.account.parent;
  }
  if (!parent_known) {
    return At(line, "account '" + a.account.name + "' names parent '" + a.account.parent +
                        "', which is not defined above");
  }
  if (a.account.description.empty()) a.account.description = a.account.name;
  if (a.account.organization.empty()) a.account.organization = a.account.name;
  config.accounts.push_back(std::move(a));
  return Status::Ok();
}

// SchedulerParameters=opt[=value],...: Slurm's tuning options. shoal acts on bf_max_job_test
// and on its own bf_policy; Slurm's other options are accepted (a file written for Slurm loads)
// and have no effect here; anything else is warned about.
Status ParseSchedulerParameters(const ConfLine& line, const std::string& value,
                                ControllerConfig& config) {
  static const std::set<std::string, std::less<>> kSlurmOptions = {
      "bf_busy_nodes", "bf_continue", "bf_hetjob_immediate", "bf_hetjob_prio",
      "bf_ignore_newly_avail_nodes", "bf_interval", "bf_job_part_count_reserve",
      "bf_licenses", "bf_max_job_array_resv", "bf_max_job_assoc", "bf_max_job_part",
      "bf_max_job_start", "bf_max_job_user", "bf_max_job_user_part", "bf_max_time",
      "bf_min_age_reserve", "bf_min_prio_reserve", "bf_node_space_size", "bf_one_resv_per_job",
      "bf_resolution", "bf_running_job_reserve", "bf_window", "bf_window_linear",
      "bf_yield_interval", "bf_yield_sleep", "batch_sched_delay", "build_queue_timeout",
      "default_queue_depth", "defer", "defer_batch", "delay_boot", "disable_job_shrink",
      "disable_hetjob_steps", "enable_hetjob_steps", "enable_user_top", "ignore_numa",
      "max_array_tasks", "max_rpc_cnt", "max_sched_time", "max_script_size", "max_switch_wait",
      "no_backup_scheduling", "no_env_cache", "nohold_on_prolog_fail", "pack_serial_at_end",
      "partition_job_depth", "preempt_reorder_count", "preempt_strict_order",
      "preempt_youngest_first", "reduce_completing_frag", "requeue_setup_env_fail",
      "salloc_wait_nodes", "sbatch_wait_nodes", "sched_interval", "sched_max_job_start",
      "sched_min_interval", "spec_cores_first", "step_retry_count", "step_retry_time",
      "whole_hetjob"};
  config.scheduler_parameters = value;
  for (const std::string& item : Split(value, ',')) {
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    const std::string name = ToLower(item.substr(0, eq));
    const std::string arg = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (name == "bf_policy") {
      if (arg != "easy" && arg != "easy-sjbf" && arg != "conservative") {
        return At(line, "invalid SchedulerParameters bf_policy '" + arg +
                            "' (easy, easy-sjbf or conservative)");
      }
      config.backfill_policy = arg;
    } else if (name == "bf_max_job_test") {
      auto n = UintValue(line, "bf_max_job_test", arg, kMaxU32);
      if (!n.ok()) return n.status();
      if (*n == 0) return At(line, "bf_max_job_test must be positive");
      config.bf_max_job_test = static_cast<uint32_t>(*n);
    } else if (name == "max_batch_requeue") {
      auto n = UintValue(line, "max_batch_requeue", arg, kMaxU32);
      if (!n.ok()) return n.status();
      config.max_batch_requeue = static_cast<uint32_t>(*n);
    } else if (kSlurmOptions.count(name) == 0) {
      config.warnings.push_back(line.Where() + ": unknown SchedulerParameters option '" + name +
                                "' ignored");
    }
  }
  return Status::Ok();
}

}  // namespace

// Power saving's keys together: what they name must exist, and what is enabled must be able to
// work (a CLOUD node nobody can resume would never run anything).
static Status CheckPowerSaving(const ControllerConfig& config, std::string_view file_name) {
  const PowerSaving& p = config.power;
  const std::string where = !p.where.empty()         ? p.where
                            : !p.cloud_where.empty() ? p.cloud_where
                                                     : std::string(file_name);
  const bool any_cloud = std::any_of(config.nodes.begin(), config.nodes.end(),
                                     [](const Node& n) { return n.cloud; });
  if ((any_cloud || p.suspend_time_s >= 0) && p.resume_program.empty()) {
    return InvalidArgument(where + ": " +
                           (any_cloud ? "State=CLOUD nodes need" : "SuspendTime needs") +
                           " a ResumeProgram");
  }
  if ((any_cloud || p.suspend_time_s >= 0) && p.suspend_program.empty()) {
    return InvalidArgument(where + ": " +
                           (any_cloud ? "State=CLOUD nodes need" : "SuspendTime needs") +
                           " a SuspendProgram");
  }
  std::unordered_set<std::string> names;
  for (const Node& n : config.nodes) names.insert(n.name);
  for (const std::string& n : p.suspend_exc_nodes) {
    if (!names.count(n)) {
      return InvalidArgument(where + ": SuspendExcNodes names unknown node '" + n + "'");
    }
  }
  for (const std::string& part : p.suspend_exc_parts) {
    if (std::none_of(config.partitions.begin(), config.partitions.end(),
                     [&](const Partition& q) { return q.name == part; })) {
      return InvalidArgument(where + ": SuspendExcParts names unknown partition '" + part + "'");
    }
  }
  return Status::Ok();
}

Result<ControllerConfig> ParseControllerConfig(std::string_view text, std::string_view file_name) {
  auto lines = ParseSlurmConf(text, file_name);
  if (!lines.ok()) return lines.status();
  ControllerConfig config;
  Node node_defaults;
  Partition partition_defaults;
  std::vector<int> qos_lines(config.qos.size(), 0);  // where each QOS was defined (0: built in)
  std::string preempt_where;  // file:line of the last PreemptType or PreemptMode
  std::string storage_type_where, storage_loc_where, storage_url_where;  // file:line of each
  std::string second_host_where;  // file:line of the second SlurmctldHost
  for (const ConfLine& line : *lines) {
    if (line.pairs.empty()) continue;
    if (EqualsIgnoreCase(line.pairs.front().first, "QOS")) {
      Status s = ParseQosLine(line, config, qos_lines);
      if (!s.ok()) return s;
      continue;
    }
    if (EqualsIgnoreCase(line.pairs.front().first, "Account")) {
      Status s = ParseAccountLine(line, config);
      if (!s.ok()) return s;
      continue;
    }
    if (EqualsIgnoreCase(line.pairs.front().first, "WebhookURL")) {
      Status s = ParseWebhookLine(line, config);
      if (!s.ok()) return s;
      continue;
    }
    if (line.Get("NodeName")) {
      Status s = ParseNodeLine(line, node_defaults, config);
      if (!s.ok()) return s;
      continue;
    }
    if (line.Get("PartitionName")) {
      Status s = ParsePartitionLine(line, partition_defaults, config);
      if (!s.ok()) return s;
      continue;
    }
    // Named references, not a structured binding: clang 14 cannot capture those in lambdas.
    for (const auto& pair : line.pairs) {
      const std::string& key = pair.first;
      const std::string& value = pair.second;
      auto uint_key = [&](auto& field) -> Status {
        using Field = std::remove_reference_t<decltype(field)>;
        auto n = UintValue(line, key, value,
                           static_cast<uint64_t>(std::numeric_limits<Field>::max()));
        if (!n.ok()) return n.status();
        field = static_cast<Field>(*n);
        return Status::Ok();
      };
      Status s;
      if (EqualsIgnoreCase(key, "ClusterName")) {
        if (value.empty()) s = At(line, "ClusterName must not be empty");
        config.cluster_name = ToLower(value);
      } else if (EqualsIgnoreCase(key, "SlurmctldDebug")) {
        if (auto level = ParseLogLevel(value); !level.ok()) {
          s = At(line, "SlurmctldDebug: " + level.status().message());
        }
        config.log_level = value;
      } else if (EqualsIgnoreCase(key, "SlurmctldLogFile")) {
        if (value.empty() || value[0] != '/') s = At(line, "SlurmctldLogFile must be an absolute path");
        config.log_file = value;
      } else if (EqualsIgnoreCase(key, "SlurmdTimeout")) {
        s = uint_key(config.node_timeout_s);
        if (s.ok() && config.node_timeout_s == 0) s = At(line, "SlurmdTimeout must be positive");
      } else if (EqualsIgnoreCase(key, "KillWait")) {
        s = uint_key(config.kill_wait_s);
      } else if (EqualsIgnoreCase(key, "MinJobAge")) {
        s = uint_key(config.min_job_age_s);
      } else if (EqualsIgnoreCase(key, "MaxArraySize")) {
        s = uint_key(config.max_array_size);
      } else if (EqualsIgnoreCase(key, "MaxJobCount")) {
        s = uint_key(config.max_job_count);
      } else if (EqualsIgnoreCase(key, "HeartbeatInterval")) {
        s = uint_key(config.heartbeat_interval_ms);
        if (s.ok() && config.heartbeat_interval_ms < 50) {
          s = At(line, "HeartbeatInterval must be at least 50 (milliseconds)");
        }
      } else if (EqualsIgnoreCase(key, "HealthCheckProgram")) {
        // Run on every node, where no working directory can be assumed.
        if (!value.empty() && value[0] != '/') {
          s = At(line, "HealthCheckProgram must be an absolute path, got '" + value + "'");
        }
        config.health_check_program = value;
      } else if (EqualsIgnoreCase(key, "ResumeProgram") ||
                 EqualsIgnoreCase(key, "SuspendProgram") ||
                 EqualsIgnoreCase(key, "ResumeFailProgram")) {
        // Run by the controller, whose working directory is nobody's business.
        if (value.empty() || value[0] != '/') {
          s = At(line, key + " must be an absolute path, got '" + value + "'");
        }
        PowerSaving& p = config.power;
        std::string& field = EqualsIgnoreCase(key, "ResumeProgram")    ? p.resume_program
                             : EqualsIgnoreCase(key, "SuspendProgram") ? p.suspend_program
                                                                       : p.resume_fail_program;
        field = value;
        if (config.power.where.empty()) config.power.where = line.Where();
      } else if (EqualsIgnoreCase(key, "SuspendTime")) {
        if (EqualsIgnoreCase(value, "INFINITE") || EqualsIgnoreCase(value, "NONE") ||
            value == "-1") {
          config.power.suspend_time_s = -1;
        } else {
          auto n = UintValue(line, key, value, 365LL * 86400);
          if (!n.ok()) {
            s = At(line, "invalid SuspendTime '" + value + "' (seconds, or INFINITE or -1)");
          } else {
            config.power.suspend_time_s = static_cast<int64_t>(*n);
          }
        }
        if (config.power.where.empty()) config.power.where = line.Where();
      } else if (EqualsIgnoreCase(key, "SuspendTimeout") ||
                 EqualsIgnoreCase(key, "ResumeTimeout")) {
        auto n = UintValue(line, key, value, 86400);
        if (!n.ok()) {
          s = n.status();
        } else if (*n == 0) {
          s = At(line, key + " must be positive (seconds)");
        } else {
          (EqualsIgnoreCase(key, "SuspendTimeout") ? config.power.suspend_timeout_s
                                                   : config.power.resume_timeout_s) =
              static_cast<int64_t>(*n);
        }
      } else if (EqualsIgnoreCase(key, "ResumeRate")) {
        s = uint_key(config.power.resume_rate);
      } else if (EqualsIgnoreCase(key, "SuspendRate")) {
        s = uint_key(config.power.suspend_rate);
      } else if (EqualsIgnoreCase(key, "SuspendExcNodes")) {
        auto names = ExpandHostlist(value);
        if (!names.ok()) {
          s = At(line, "invalid SuspendExcNodes '" + value + "': " + names.status().message());
        } else {
          config.power.suspend_exc_nodes = std::move(names).value();
        }
      } else if (EqualsIgnoreCase(key, "SuspendExcParts")) {
        config.power.suspend_exc_parts.clear();
        for (const std::string& p : Split(value, ',')) {
          if (!Trim(p).empty()) config.power.suspend_exc_parts.emplace_back(Trim(p));
        }
      } else if (EqualsIgnoreCase(key, "PrivateData")) {
        config.private_data = value;
        for (const auto& item : Split(value, ',')) {
          const std::string v = ToLower(Trim(item));
          if (v == "jobs") {
            config.private_jobs = true;
          } else if (v == "usage" || v == "accounts" || v == "users") {
            config.private_usage = true;
          } else if (v == "nodes" || v == "partitions" || v == "reservations" || v == "events" ||
                     v == "cloud") {
            // Slurm's other kinds: accepted; shoal shows those to everyone.
          } else if (!v.empty()) {
            s = At(line, "invalid PrivateData value '" + std::string(Trim(item)) +
                             "' (jobs, usage, accounts, users, nodes, partitions, reservations, "
                             "events, cloud)");
          }
        }
      } else if (EqualsIgnoreCase(key, "AuthAltParameters")) {
        config.auth_alt_parameters = value;
        for (const auto& item : Split(value, ',')) {
          const std::string v(Trim(item));
          if (v.rfind("jwt_key=", 0) == 0) {
            config.jwt_key_path = v.substr(8);
            if (config.jwt_key_path.empty() || config.jwt_key_path.front() != '/') {
              s = At(line, "AuthAltParameters jwt_key must be an absolute path, not '" +
                               config.jwt_key_path + "'");
            }
          } else if (!v.empty()) {
            s = At(line, "unsupported AuthAltParameters item '" + v + "' (jwt_key=PATH)");
          }
        }
      } else if (EqualsIgnoreCase(key, "AuthAltTypes")) {
        if (value != "auth/jwt")
          s = At(line, "unsupported AuthAltTypes '" + value + "' (auth/jwt)");
      } else if (EqualsIgnoreCase(key, "ApiRateLimit")) {
        s = uint_key(config.api_rate_limit);
      } else if (EqualsIgnoreCase(key, "ApiRateBurst")) {
        s = uint_key(config.api_rate_burst);
      } else if (EqualsIgnoreCase(key, "HealthCheckInterval")) {
        s = uint_key(config.health_check_interval_s);
      } else if (EqualsIgnoreCase(key, "TaskPlugin")) {
        config.task_cgroup = false;
        for (const std::string& item : Split(value, ',')) {
          const std::string_view plugin = Trim(item);
          if (plugin == "task/cgroup") {
            config.task_cgroup = true;
          } else if (plugin != "task/none" && plugin != "task/affinity") {
            s = At(line, "unsupported TaskPlugin '" + std::string(plugin) +
                             "' (task/none, task/affinity, task/cgroup)");
            break;
          }
        }
        config.task_plugin = value;
      } else if (EqualsIgnoreCase(key, "ConstrainRAMSpace")) {
        if (EqualsIgnoreCase(value, "yes")) {
          config.constrain_ram_space = true;
        } else if (EqualsIgnoreCase(value, "no")) {
          config.constrain_ram_space = false;
        } else {
          s = At(line, "invalid value for ConstrainRAMSpace: '" + value + "' (yes or no)");
        }
      } else if (EqualsIgnoreCase(key, "JobRequeue")) {
        auto n = UintValue(line, key, value);
        if (!n.ok() || *n > 1) s = At(line, "invalid value for JobRequeue: '" + value + "' (0 or 1)");
        else config.requeue_default = *n == 1;
      } else if (EqualsIgnoreCase(key, "SchedulerType")) {
        if (value != "sched/builtin" && value != "sched/backfill") {
          s = At(line, "unsupported SchedulerType '" + value + "'");
        }
        config.scheduler_type = value;
      } else if (EqualsIgnoreCase(key, "SchedulerParameters")) {
        s = ParseSchedulerParameters(line, value, config);
      } else if (EqualsIgnoreCase(key, "PriorityType")) {
        if (value != "priority/basic" && value != "priority/multifactor") {
          s = At(line, "unsupported PriorityType '" + value + "'");
        }
        config.priority_type = value;
      } else if (EqualsIgnoreCase(key, "PriorityWeightAge")) {
        s = uint_key(config.weights.age);
      } else if (EqualsIgnoreCase(key, "PriorityWeightJobSize")) {
        s = uint_key(config.weights.job_size);
      } else if (EqualsIgnoreCase(key, "PriorityWeightPartition")) {
        s = uint_key(config.weights.partition);
      } else if (EqualsIgnoreCase(key, "PriorityWeightFairshare")) {
        s = uint_key(config.weights.fairshare);
      } else if (EqualsIgnoreCase(key, "PriorityWeightQOS")) {
        s = uint_key(config.weights.qos);
      } else if (EqualsIgnoreCase(key, "PriorityWeightAssoc")) {
        s = uint_key(config.weights.assoc);
      } else if (EqualsIgnoreCase(key, "PriorityMaxAge")) {
        auto t = TimeValue(line, key, value);
        if (!t.ok()) s = t.status();
        else config.weights.max_age_s = *t;
      } else if (EqualsIgnoreCase(key, "PriorityFavorSmall")) {
        auto b = YesNo(line, key, value);
        if (!b.ok())
          s = b.status();
        else
          config.weights.favor_small = *b;
      } else if (EqualsIgnoreCase(key, "PriorityDecayHalfLife")) {
        // Slurm's time format; 0 turns decay off.
        auto t = value == "0" ? Result<int64_t>(int64_t{0}) : TimeValue(line, key, value);
        if (!t.ok())
          s = t.status();
        else if (*t == kUnlimited)
          s = At(line, "invalid value for PriorityDecayHalfLife: '" + value + "'");
        else
          config.decay_half_life_s = *t;
      } else if (EqualsIgnoreCase(key, "PriorityFlags")) {
        // Slurm's flags; only NO_FAIR_TREE changes what shoal computes, the others are accepted
        // so that a site's file reads unchanged.
        static constexpr std::string_view kKnown[] = {
            "ACCRUE_ALWAYS",   "CALCULATE_RUNNING",     "DEPTH_OBLIVIOUS", "NO_FAIR_TREE",
            "INCR_ONLY",       "MAX_TRES",              "NO_NORMAL_ALL",   "NO_NORMAL_ASSOC",
            "NO_NORMAL_PART",  "NO_NORMAL_QOS",         "NO_NORMAL_TRES",
            "SMALL_RELATIVE_TO_TIME"};
        config.priority_flags.clear();
        config.fairshare_algorithm = FairShareAlgorithm::kFairTree;
        for (std::string flag : Split(value, ',')) {
          for (char& c : flag) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          if (flag.empty()) continue;
          if (std::find(std::begin(kKnown), std::end(kKnown), flag) == std::end(kKnown)) {
            s = At(line, "unknown PriorityFlags flag '" + flag + "'");
            break;
          }
          if (flag == "NO_FAIR_TREE") config.fairshare_algorithm = FairShareAlgorithm::kClassic;
          config.priority_flags.push_back(flag);
        }
      } else if (EqualsIgnoreCase(key, "PriorityUsageResetPeriod")) {
        auto p = ParseUsageResetPeriod(value);
        if (!p) {
          s = At(line, "invalid value for PriorityUsageResetPeriod: '" + value +
                           "' (NONE, NOW, DAILY, WEEKLY, MONTHLY, QUARTERLY or YEARLY)");
        } else {
          config.usage_reset = *p;
        }
      } else if (EqualsIgnoreCase(key, "PriorityCalcPeriod")) {
        // Minutes, or Slurm's time format.
        auto t = TimeValue(line, key, value);
        if (!t.ok())
          s = t.status();
        else if (*t <= 0)
          s = At(line, "PriorityCalcPeriod must be at least one minute");
        else
          config.priority_calc_period_s = *t;
      } else if (EqualsIgnoreCase(key, "AccountingStorageEnforce")) {
        auto flags = ParseEnforceFlags(value);
        if (!flags.ok())
          s = At(line, flags.status().message());
        else
          config.enforce = *flags;
      } else if (EqualsIgnoreCase(key, "PreemptType")) {
        if (value != "preempt/none" && value != "preempt/qos") {
          s = At(line, "unsupported PreemptType '" + value + "' (preempt/none or preempt/qos)");
        }
        config.preempt_type = value;
        preempt_where = line.Where();
      } else if (EqualsIgnoreCase(key, "PreemptMode")) {
        preempt_where = line.Where();
        auto m = ParsePreemptMode(value);
        if (!m) {
          s = At(line, "unsupported PreemptMode '" + value +
                           "' (OFF, CANCEL or REQUEUE; shoal does not suspend or gang-schedule)");
        } else {
          config.preempt_mode = *m;
        }
      } else if (EqualsIgnoreCase(key, "WebhookURL")) {
        s = AddWebhook(line, value, std::nullopt, config);
      } else if (EqualsIgnoreCase(key, "WebhookSecretFile")) {
        if (value.empty() || value.front() != '/') {
          s = At(line, "WebhookSecretFile must be an absolute path, not '" + value + "'");
        }
        config.webhook_secret_file = value;
      } else if (EqualsIgnoreCase(key, "WebhookMaxAge")) {
        auto t = TimeValue(line, key, value);
        if (!t.ok())
          s = t.status();
        else if (*t <= 0 || *t == kUnlimited)
          s = At(line, "WebhookMaxAge must be a positive time ('" + value + "')");
        else
          config.webhook_max_age_s = *t;
      } else if (EqualsIgnoreCase(key, "StorageType")) {
        const std::string type = ToLower(value);
        if (type != "sqlite" && type != "postgresql") {
          s = At(line, "invalid StorageType '" + value + "' (sqlite or postgresql)");
        }
        config.storage_type = type;
        storage_type_where = line.Where();
      } else if (EqualsIgnoreCase(key, "StorageLoc")) {
        if (value.empty() || value.front() != '/') {
          s = At(line, "StorageLoc must be an absolute path to the SQLite database, not '" +
                           value + "'");
        }
        config.storage_loc = value;
        storage_loc_where = line.Where();
      } else if (EqualsIgnoreCase(key, "ClusterKeyFile") || EqualsIgnoreCase(key, "TLSCAFile") ||
                 EqualsIgnoreCase(key, "TLSCertFile") || EqualsIgnoreCase(key, "TLSKeyFile")) {
        // Daemons start from anywhere: relative paths would depend on their working directory.
        if (value.empty() || value.front() != '/') {
          s = At(line, key + " must be an absolute path, got '" + value + "'");
        }
        std::string& field = EqualsIgnoreCase(key, "ClusterKeyFile") ? config.cluster_key_file
                             : EqualsIgnoreCase(key, "TLSCAFile")    ? config.tls_ca_file
                             : EqualsIgnoreCase(key, "TLSCertFile")  ? config.tls_cert_file
                                                                     : config.tls_key_file;
        field = value;
      } else if (EqualsIgnoreCase(key, "TLSCertNames")) {
        config.tls_cert_names.clear();
        for (const std::string& n : Split(value, ',')) {
          std::string name(Trim(n));
          if (name.empty() || name.find_first_of(" \t/") != std::string::npos) {
            s = At(line, "invalid TLSCertNames entry '" + name +
                             "' (host names or addresses, separated by commas)");
            break;
          }
          config.tls_cert_names.push_back(name);
        }
      } else if (EqualsIgnoreCase(key, "SlurmctldHost")) {
        s = AddControllerHost(line, value, config);
        if (s.ok() && config.controller_hosts.size() == 2) second_host_where = line.Where();
      } else if (EqualsIgnoreCase(key, "SlurmctldTimeout")) {
        auto n = UintValue(line, key, value, kMaxSlurmctldTimeout);
        if (!n.ok()) {
          s = n.status();
        } else if (*n == 0) {
          s = At(line, "SlurmctldTimeout must be between 1 and " +
                           std::to_string(kMaxSlurmctldTimeout) + " seconds");
        } else {
          config.slurmctld_timeout_s = static_cast<uint32_t>(*n);
        }
      } else if (EqualsIgnoreCase(key, "StorageURL")) {
        Status valid = ValidatePostgresConninfo(value);
        if (value.empty()) {
          s = At(line, "StorageURL must not be empty (postgresql://user@host:port/database)");
        } else if (!valid.ok()) {
          s = At(line, "invalid StorageURL: " + valid.message());
        }
        config.storage_url = value;
        storage_url_where = line.Where();
      } else {
        config.warnings.push_back(line.Where() + ": unknown key '" + key + "' ignored");
      }
      if (!s.ok()) return s;
    }
  }
  // As in Slurm, preempt/qos needs a PreemptMode that preempts, and preempt/none none.
  const bool mode_preempts = config.preempt_mode && *config.preempt_mode != PreemptMode::kOff;
  if (config.PreemptEnabled() != mode_preempts) {
    return InvalidArgument(preempt_where +
                           ": PreemptType and PreemptMode values incompatible (preempt/qos needs "
                           "PreemptMode=CANCEL or REQUEUE, preempt/none PreemptMode=OFF)");
  }
  // Each store has its own location key; the other one would be silently ignored.
  if (config.storage_type == "postgresql" && config.storage_url.empty()) {
    return InvalidArgument(storage_type_where +
                           ": StorageType=postgresql needs StorageURL=postgresql://user@host:"
                           "port/database");
  }
  if (config.storage_type == "postgresql" && !config.storage_loc.empty()) {
    return InvalidArgument(storage_loc_where +
                           ": StorageLoc is the SQLite file; with StorageType=postgresql the "
                           "database is StorageURL");
  }
  if (config.storage_type == "sqlite" && !config.storage_url.empty()) {
    return InvalidArgument(storage_url_where + ": StorageURL needs StorageType=postgresql");
  }
  // Controllers that take over from each other must share their state: a SQLite file is one
  // host's.
  if (config.HighAvailability() && config.storage_type != "postgresql") {
    return InvalidArgument(second_host_where +
                           ": more than one SlurmctldHost needs StorageType=postgresql (the "
                           "controllers share its database and its leader lease)");
  }
  Status power = CheckPowerSaving(config, file_name);
  if (!power.ok()) return power;
  // Preempt lists name QOS that may be defined further down: check them once all are known.
  for (size_t i = 0; i < config.qos.size(); ++i) {
    const Qos& q = config.qos[i];
    const std::string where = std::string(file_name) + ":" + std::to_string(qos_lines[i]);
    for (const std::string& victim : q.preempt) {
      if (victim == q.name)
        return InvalidArgument(where + ": QOS '" + q.name + "' cannot preempt itself");
      if (FindQos(config.qos, victim) == nullptr) {
        return InvalidArgument(where + ": QOS '" + q.name + "' preempts unknown QOS '" + victim +
                               "'");
      }
    }
  }
  return config;
}

const std::vector<std::string>& WebhookEventTypes() {
  static const std::vector<std::string> kTypes = {
      "submitted", "pending",   "running", "suspended", "completing",    "completed",
      "cancelled", "failed",    "timeout", "node_fail", "out_of_memory", "preempted",
      "requeued"};
  return kTypes;
}

bool WebhookTarget::Wants(std::string_view type) const {
  return events.empty() || std::find(events.begin(), events.end(), type) != events.end();
}

Result<ControllerConfig> LoadControllerConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseControllerConfig(ss.str(), path);
}

SchedulerOptions SchedulerOptionsFor(const ControllerConfig& config) {
  SchedulerOptions o;
  o.backfill = config.scheduler_type == "sched/builtin" ? "none" : config.backfill_policy;
  o.max_reservations = config.bf_max_job_test;
  o.queue_order = config.priority_type == "priority/basic" ? "fcfs" : "priority";
  o.preempt = config.PreemptEnabled();
  o.preempt_mode = config.preempt_mode.value_or(PreemptMode::kOff);
  o.requeue_allowed = config.requeue_default;
  return o;
}

std::vector<Partition> EffectivePartitions(const ControllerConfig& config) {
  std::vector<Partition> parts = config.partitions;
  if (parts.empty()) {
    Partition p;
    p.name = "debug";
    p.all_nodes = true;
    p.is_default = true;
    parts.push_back(p);
  }
  bool has_default = false;
  for (const auto& p : parts) has_default = has_default || p.is_default;
  if (!has_default) parts.front().is_default = true;
  return parts;
}

}  // namespace shoal
