// The controller's configuration, read from an optional file in slurm.conf syntax. Keys it
// does not know are warned about and ignored; a bad value is an error naming file:line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "core/model.h"
#include "core/priority.h"
#include "core/accounting.h"
#include "core/qos.h"
#include "core/shares.h"
#include "core/scheduler.h"

namespace shoal {

// An account defined by the config file, with its own association.
struct ConfigAccount {
  Account account;
  Association assoc;
};

// A cluster-wide webhook receiver (a WebhookURL= line): told of every job's state changes, or
// only of the event types listed (Events=completed,failed on the same line).
struct WebhookTarget {
  std::string url;
  std::vector<std::string> events;  // empty: every event type
  bool Wants(std::string_view type) const;
};

// The webhook event types, as they appear in a delivery's "type": "submitted", "running",
// "completed", "failed", "cancelled", "timeout", "node_fail", "preempted", "requeued", ...
const std::vector<std::string>& WebhookEventTypes();

// Power saving and cloud nodes (Slurm's keys: ResumeProgram, SuspendProgram, SuspendTime, ...).
// The programs run on the controller's host, as its user, with a hostlist expression of the
// nodes as their one argument.
struct PowerSaving {
  std::string resume_program;
  std::string suspend_program;
  std::string resume_fail_program;  // optional: told of nodes whose resume failed
  int64_t suspend_time_s = -1;      // idle this long before suspend; -1 (INFINITE): never
  int64_t suspend_timeout_s = 30;   // POWERING_DOWN this long, then POWERED_DOWN
  int64_t resume_timeout_s = 60;    // not registered this long after resume: DOWN, jobs requeued
  uint32_t resume_rate = 300;       // nodes resumed per minute; 0: no limit
  uint32_t suspend_rate = 60;       // nodes suspended per minute; 0: no limit
  std::vector<std::string> suspend_exc_nodes;  // expanded
  std::vector<std::string> suspend_exc_parts;
  std::string where;        // file:line of the first power saving key, for errors
  std::string cloud_where;  // file:line of the first State=CLOUD node
  // Power saving runs when a ResumeProgram is set (checked at parse: with CLOUD nodes or a
  // SuspendTime it must be, and with a SuspendTime a SuspendProgram too).
  bool Enabled() const { return !resume_program.empty(); }
  // Nodes idle SuspendTime are suspended (SuspendProgram set and SuspendTime not INFINITE).
  bool Suspends() const { return Enabled() && suspend_time_s >= 0 && !suspend_program.empty(); }
};

struct ControllerConfig {
  std::string cluster_name = "shoal";
  // SlurmctldDebug and SlurmctldLogFile, used where the command line names no level or file.
  std::string log_level;  // checked with ParseLogLevel
  std::string log_file;   // an absolute path
  std::vector<Node> nodes;            // NodeName lines (configured = true)
  std::vector<Partition> partitions;  // PartitionName lines; empty: one default over all nodes
  // SlurmdTimeout: a node whose agent says nothing this long is DOWN and its jobs requeued.
  // Slurm's default is 300 s; shoal's is 3 s on purpose, for issue 6's target of a failed
  // node's requeued job running elsewhere within 5 s: with a heartbeat every second, a node
  // that fails between two heartbeats is DOWN 2.0-3.1 s later (the timeout runs from the last
  // heartbeat, checked every node_check_ms), and its jobs start elsewhere at once, leaving
  // ~2 s for the rescheduling. Two heartbeats may be lost or late before a false DOWN. Sites
  // that prefer slower detection to any false one set SlurmdTimeout as in Slurm.
  int64_t node_timeout_s = 3;
  uint32_t kill_wait_s = 30;          // KillWait: SIGTERM -> SIGKILL
  int64_t min_job_age_s = 300;        // MinJobAge: finished jobs stay visible in squeue
  // HeartbeatInterval (shoal's, ms): how often agents say they are alive. One a second keeps
  // 10,000 nodes' heartbeats within the controller's budget (../shared/TARGETS.md, issue 11).
  uint32_t heartbeat_interval_ms = 1000;
  // How often the controller looks for silent nodes: DOWN lands at most this long after the
  // timeout (internal; not a Slurm key).
  uint32_t node_check_ms = 100;
  uint32_t max_array_size = 1001;     // MaxArraySize: task ids must be below it
  uint32_t max_job_count = 1000000;   // MaxJobCount: live jobs the controller will hold
  bool requeue_default = true;  // JobRequeue: for jobs given neither --requeue nor --no-requeue
  // SchedulerParameters=max_batch_requeue: automatic requeues (node failures) a batch job may
  // have; the one after that holds it (JobHeldAdmin), as Slurm does.
  uint32_t max_batch_requeue = 5;
  // TaskPlugin (task/none, task/affinity, task/cgroup, comma-separated): with task/cgroup every
  // job runs in a control group of its own on each node. ConstrainRAMSpace (cgroup.conf's key,
  // accepted here): its cgroup's memory limit is the job's memory on that node.
  std::string task_plugin = "task/none";
  bool task_cgroup = false;
  bool constrain_ram_space = false;
  // HealthCheckProgram / HealthCheckInterval: run by every agent; empty or 0: none.
  std::string health_check_program;
  uint32_t health_check_interval_s = 0;
  std::string scheduler_type = "sched/backfill";  // as in Slurm: EASY backfill
  // SchedulerParameters: bf_policy (shoal's: easy, easy-sjbf or conservative, with
  // sched/backfill) and bf_max_job_test (at most this many reservations per pass; Slurm's 500).
  std::string backfill_policy = "easy";
  uint32_t bf_max_job_test = 500;
  std::string scheduler_parameters;  // as written, for scontrol show config
  std::string priority_type = "priority/multifactor";
  PriorityWeights weights;
  // PriorityFlags, as given (upper case); NO_FAIR_TREE picks classic fair share over Fair Tree.
  std::vector<std::string> priority_flags;
  FairShareAlgorithm fairshare_algorithm = FairShareAlgorithm::kFairTree;
  int64_t decay_half_life_s = 7 * 86400;  // PriorityDecayHalfLife; 0: usage never decays
  UsageResetPeriod usage_reset = UsageResetPeriod::kNone;  // PriorityUsageResetPeriod
  int64_t priority_calc_period_s = 300;       // PriorityCalcPeriod (minutes in the file)
  std::string preempt_type = "preempt/none";  // PreemptType: preempt/none or preempt/qos
  // PreemptMode: how jobs of a QOS without its own PreemptMode are preempted. As in Slurm,
  // preempt/qos needs CANCEL or REQUEUE and preempt/none OFF (or none given).
  std::optional<PreemptMode> preempt_mode;
  // shoal's QOS lines ("QOS=high Priority=100 Preempt=normal ..."); always holds "normal".
  // They join sacctmgr's QOS at start and are changed only in the file.
  std::vector<Qos> qos = {DefaultQos()};
  // shoal's Account lines ("Account=physics Parent=science Fairshare=2 Priority=10"), likewise.
  std::vector<ConfigAccount> accounts;
  EnforceFlags enforce;  // AccountingStorageEnforce
  // shoal's storage keys, named like slurmdbd.conf's: StorageType=sqlite (the default: a file,
  // StorageLoc, by default STATE_DIR/shoal.db) or postgresql (a server: StorageURL, a libpq URI
  // postgresql://user@host:port/db or key=value conninfo).
  std::string storage_type = "sqlite";
  std::string storage_loc;
  std::string storage_url;
  // SlurmctldHost lines, in order: SlurmctldHost=NAME or NAME(ADDR), the first the primary. More
  // than one: high availability (docs/high-availability.md): the controllers share one
  // PostgreSQL database and the one holding its lease leads; each knows itself by
  // `--name` (else the host's name). ADDR, else NAME, is where clients and agents reach it.
  struct ControllerHost {
    std::string name;
    std::string addr;  // empty: NAME
    const std::string& Address() const { return addr.empty() ? name : addr; }
  };
  std::vector<ControllerHost> controller_hosts;
  // SlurmctldTimeout: seconds a silent leader keeps the lease before a backup takes it over.
  // Slurm's default is 120; shoal's 3, so that a failover takes a few seconds.
  uint32_t slurmctld_timeout_s = 3;
  // Which SlurmctldHost this controller is (set at start, not read from the file); empty
  // without high availability.
  std::string controller_name;
  bool HighAvailability() const { return controller_hosts.size() > 1; }
  // shoal's agent-channel security keys (absolute paths). Agents talk to the controller over
  // TLS with the controller's certificate (TLSCertFile/TLSKeyFile, signed by the cluster CA
  // TLSCAFile) and prove membership with the cluster key (ClusterKeyFile). When none of them is
  // set, the files live in the state directory (tls/ca.pem, tls/controller.pem,
  // tls/controller.key, cluster.key) and the controller creates what is missing; a file that is
  // named must exist. TLSCertNames: host names and addresses the certificate it creates covers
  // besides localhost, the host's name and addresses, and the agent listen address.
  std::string cluster_key_file;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::vector<std::string> tls_cert_names;
  // Webhooks (shoal's keys): the WebhookURL lines; the file holding the signing secret
  // (WebhookSecretFile; empty: STATE_DIR/webhook.key, created at start); how long an event is
  // retried before it is given up on (WebhookMaxAge, Slurm's time format; default a day).
  std::vector<WebhookTarget> webhooks;
  std::string webhook_secret_file;
  int64_t webhook_max_age_s = 86400;
  // The signing secret, read from the file at start (shoal-controller); never shown.
  std::string webhook_secret;
  // PrivateData (Slurm's): what non-operators see only of their own. shoal honours jobs (job
  // listings, job gets, sacct, squeue, sprio) and usage/accounts (sshare, the accounting
  // database: a user sees the rows of their own associations). As written, for show config.
  bool private_jobs = false;
  bool private_usage = false;
  std::string private_data;
  // AuthAltParameters=jwt_key=PATH (Slurm's spelling): the HS256 key that signs API tokens;
  // empty: STATE_DIR/jwt.key, created at start when missing.
  std::string jwt_key_path;
  std::string auth_alt_parameters;  // as written
  // ApiRateLimit / ApiRateBurst (shoal's): requests per second each caller (a user, or an
  // anonymous client's address) may make on the public API, and the burst above it; 0: no
  // limit. Over it: 429 with Retry-After.
  uint32_t api_rate_limit = 200;
  uint32_t api_rate_burst = 400;
  PowerSaving power;
  std::vector<std::string> warnings;  // unknown keys, to log at start

  static Qos DefaultQos() {
    Qos q;
    q.name = kDefaultQos;
    return q;
  }
  bool PreemptEnabled() const { return preempt_type == "preempt/qos"; }
};

// Parses config text. `file_name` only labels errors.
Result<ControllerConfig> ParseControllerConfig(std::string_view text, std::string_view file_name);
Result<ControllerConfig> LoadControllerConfig(const std::string& path);

// The scheduler the config asks for: SchedulerType sched/backfill is EASY backfill,
// sched/builtin none (strict order per partition); PriorityType priority/basic orders the queue
// by submit time, priority/multifactor by job priority; PreemptType/PreemptMode/JobRequeue set
// preemption.
SchedulerOptions SchedulerOptionsFor(const ControllerConfig& config);

// The partitions in force: the configured ones, or "debug" (default, every node) when none.
std::vector<Partition> EffectivePartitions(const ControllerConfig& config);

}  // namespace shoal
