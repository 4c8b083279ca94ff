// The job, node and partition model shared by the scheduler, the controller, the store, the
// public API and the commands. Plain values: no I/O, no clocks (times are epoch seconds passed
// in by whoever drives the core).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shoal {

using JobId = uint64_t;
inline constexpr int64_t kNoArrayTask = -1;

enum class JobState : uint8_t {
  kPending,
  kRunning,
  kSuspended,
  kCompleting,
  kCompleted,
  kCancelled,
  kFailed,
  kTimeout,
  kNodeFail,
  kPreempted,
  kOutOfMemory,
};

// "PENDING", "RUNNING", ... and the compact form "PD", "R", "CD", ... as squeue prints them.
const char* JobStateName(JobState s);
const char* JobStateShortName(JobState s);
// Accepts either form, any case. nullopt when unknown.
std::optional<JobState> ParseJobState(std::string_view text);
// A job in a final state never changes again (except a requeue, which makes it pending).
bool IsFinished(JobState s);

// One clause of --dependency, e.g. afterok:12 or singleton.
struct Dependency {
  enum class Kind : uint8_t { kAfter, kAfterAny, kAfterOk, kAfterNotOk, kSingleton };
  Kind kind = Kind::kAfterAny;
  JobId job_id = 0;            // unused for singleton
  int64_t array_task = kNoArrayTask;  // afterok:12_3 names one task; -1: every task of 12
};
struct DependencySpec {
  std::vector<Dependency> clauses;
  bool any = false;  // '?' separated: satisfied when any clause is
  // The text as the user wrote it, for display ("afterok:12,afterany:13").
  std::string text;
};

// NVIDIA pyxis's --container-* options (docs/containers.md): the batch script or a step's tasks
// run in a rootless podman container. Checked by ValidateContainerSpec (core/container.h).
struct ContainerSpec {
  std::string image;  // local podman image or an absolute archive path; empty: no container
  std::vector<std::string> mounts;  // "SRC:DST[:FLAGS]", FLAGS "+"-joined ro, rw, ...
  std::string workdir;              // inside the container; empty: the job's working directory
  // A named container (pyxis): created from `image` by the job's first step on a node that
  // names it, reused (its filesystem changes kept) by the job's later steps there, which may
  // then leave `image` empty; removed at the job's end.
  std::string name;
  std::vector<std::string> env;     // variables whose job value wins over the image's
  bool remap_root = false;          // run as root inside (a user-namespace root, no privilege)
  bool mount_home = false;          // bind mount the user's home directory
  bool writable = true;             // false: --container-readonly
  bool entrypoint = false;          // run the image's entrypoint before the command

  bool Enabled() const { return !image.empty() || !name.empty(); }
  bool operator==(const ContainerSpec&) const = default;
};

// What the user asked for. Fixed at submit (scontrol update may change a few fields).
// Job::assoc_index when the job has no association; Job::assoc_version when never stamped.
inline constexpr uint32_t kNoAssoc = UINT32_MAX;
inline constexpr uint64_t kNoAssocVersion = UINT64_MAX;

struct JobRequest {
  std::string name;
  std::string user;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string account;
  std::string qos;              // resolved at submit ("normal" when not given); "" in old records
  std::string partition;        // resolved at submit: never empty once accepted
  std::string work_dir;
  std::string stdout_pattern;   // as given (-o), may hold %j etc.; empty: slurm-%j.out
  std::string stderr_pattern;   // empty: same as stdout
  std::string submit_host;
  std::string command;          // for display: script path or "(wrap)"
  uint32_t min_nodes = 1;
  uint32_t max_nodes = 0;       // 0: same as min_nodes
  uint32_t ntasks = 1;
  uint32_t ntasks_per_node = 0; // 0: not given
  uint32_t cpus_per_task = 1;
  uint64_t mem_per_node_mb = 0; // 0: not given
  uint64_t mem_per_cpu_mb = 0;  // 0: not given
  uint32_t gpus_per_node = 0;
  std::string gpu_type;         // "" any
  int64_t time_limit_s = 0;     // 0: not given (partition default); kUnlimited (-1); seconds
  int64_t begin_time = 0;       // 0: now
  bool exclusive = false;
  bool requeue = true;
  int32_t nice = 0;
  std::string constraint;       // node features, "&"-joined
  std::vector<std::string> required_nodes;  // --nodelist, expanded
  std::vector<std::string> excluded_nodes;  // --exclude, expanded
  DependencySpec dependency;
  std::string array_spec;       // "0-9%2" as written; empty: not an array
  uint32_t array_max_running = 0;  // %N throttle, 0: none
  bool open_append = false;
  // An allocation made by salloc (or srun outside one): no batch script; nothing runs on its
  // nodes until steps are launched into it, and it ends when its submitter relinquishes it.
  bool interactive = false;
  // shoal's own (sbatch --webhook): an http(s) URL told of this job's state changes, besides
  // the cluster's WebhookURL receivers. Empty: none.
  std::string webhook;
  std::string reservation;      // --reservation: runs only on its nodes, in its window
  ContainerSpec container;      // --container-image ...: the batch script runs in it
};

struct Job {
  JobId id = 0;
  JobRequest req;
  JobState state = JobState::kPending;
  std::string reason = "None";  // pending reason as Slurm names it, or a failure reason
  bool held = false;            // user/admin hold: priority 0, reason JobHeldUser/JobHeldAdmin
  uint32_t priority = 0;
  // Its association's index in the accounting database (AccountingDb::assocs; kNoAssoc: it has
  // none) as of the database version `assoc_version`; set by the controller (StampAssoc), so a
  // scheduling pass enforcing limits indexes an array instead of looking the association up by
  // name. An index whose version is not the database's is ignored (the pass looks it up).
  uint32_t assoc_index = kNoAssoc;
  uint64_t assoc_version = kNoAssocVersion;
  int64_t submit_time = 0;
  int64_t eligible_time = 0;
  int64_t start_time = 0;
  int64_t end_time = 0;
  JobId array_job_id = 0;       // 0: not an array task
  int64_t array_task_id = kNoArrayTask;
  std::vector<std::string> nodes;   // allocated, in order
  uint32_t alloc_cpus = 0;          // total over nodes
  uint32_t cpus_per_node = 0;       // allocated on each node
  uint64_t mem_per_node_alloc_mb = 0;
  std::vector<std::vector<uint32_t>> gpu_indices;  // per allocated node
  int32_t exit_code = 0;
  int32_t exit_signal = 0;
  // What the batch script's processes used, from their resource usage as they were reaped
  // (sacct's .batch line); 0 until the script ends.
  int64_t user_cpu_us = 0;
  int64_t system_cpu_us = 0;
  int64_t max_rss_kb = 0;  // the largest resident set of any one of its processes
  uint32_t restart_count = 0;
  uint64_t generation = 0;      // fencing token of the current launch
  bool terminating = false;     // an earlier run is being stopped; must not start again yet
  bool cancel_requested = false;  // scancel reached it while running
  // Power saving: running (its nodes allocated) but waiting for powered-down nodes to be
  // resumed and register; squeue shows CONFIGURING (CF). Launched, and its start time set,
  // once every node has registered.
  bool configuring = false;
  // Requeued by preemption for this job: it waits (reason BeginTime) while that job is pending,
  // so the two do not take turns preempting each other.
  JobId preempted_by = 0;
  int64_t last_modified = 0;
  // Where and when the last scheduling pass expects a pending job to start (squeue --start,
  // scontrol's StartTime and SchedNodeList); 0 and empty when it has no plan for it.
  int64_t planned_start = 0;
  std::vector<std::string> planned_nodes;

  // squeue/sacct id: "12" or "10_3".
  std::string DisplayId() const;
  bool IsArrayTask() const { return array_job_id != 0; }
  // The id its submission was given: the array's for an array task (the tasks share its script
  // and are listed under it), else the job's own.
  JobId SubmissionId() const { return IsArrayTask() ? array_job_id : id; }
};

// A job step: one launch of tasks on (some of) a job's nodes, "12.0", "12.1", ... The batch
// script of a batch job is the batch step, shown from the job record and never held here.
struct Step {
  JobId job_id = 0;
  uint32_t step_id = 0;
  std::string name;
  std::string user;       // the job's, for listings
  std::string partition;  // the job's, for listings
  std::vector<std::string> nodes;
  std::vector<uint32_t> tasks_per_node;  // parallel to nodes
  uint32_t ntasks = 0;
  uint32_t cpus_per_task = 1;
  JobState state = JobState::kRunning;
  int64_t start_time = 0;
  int64_t end_time = 0;
  int32_t exit_code = 0;    // the highest exit status among the tasks that exited
  int32_t exit_signal = 0;  // a signal that ended a task, 0 when none did
  // What its tasks' processes used on all its nodes (CPU summed, MaxRSS the largest of any one
  // process and where it was), reported as each node's part ends.
  int64_t user_cpu_us = 0;
  int64_t system_cpu_us = 0;
  int64_t max_rss_kb = 0;
  std::string max_rss_node;
  int64_t time_limit_s = 0; // 0: the job's
  JobId array_job_id = 0;   // the job's, when it is an array task (0: not one)
  int64_t array_task_id = kNoArrayTask;
  // Ended (cancelled, or its job ended) while some node has not yet reported its tasks' end,
  // so its exit status is not final. Set on the controller's answers only (stored: false).
  bool completing = false;

  // "12.0", or "10_3.0" for a step of an array task (as squeue -s and sacct show it)
  std::string DisplayId() const;
};

// sstat: one task's use of its node when its agent was asked, summed over its processes.
struct TaskUsageSample {
  std::string node;
  uint32_t task = 0;  // rank in the step; 0 for a batch script
  double cpu_seconds = 0;  // user + system
  uint64_t rss_bytes = 0;
  uint64_t vm_bytes = 0;
  uint64_t pages = 0;  // major page faults
  uint64_t read_bytes = 0;
  uint64_t write_bytes = 0;
  std::vector<int32_t> pids;
};

// A running step's live usage: the batch script or an srun step, with the tasks whose nodes
// answered.
struct StepUsage {
  JobId job_id = 0;
  bool batch = false;
  uint32_t step_id = 0;  // when not batch
  std::vector<std::string> nodes;  // where it runs
  uint32_t ntasks = 0;
  std::vector<TaskUsageSample> tasks;

  // "12.batch", "12.0".
  std::string IdText() const;
};

enum class NodeState : uint8_t { kUnknown, kIdle, kMixed, kAllocated, kDown };

// Power saving (ResumeProgram/SuspendProgram), as sinfo's state suffixes show it: kOn none,
// kPoweredDown '~', kPoweringUp '#', kPoweringDown '%'.
enum class NodePower : uint8_t { kOn, kPoweredDown, kPoweringUp, kPoweringDown };
// "POWERED_DOWN", "POWERING_UP", "POWERING_DOWN" (scontrol's state flags); "" for kOn.
const char* NodePowerFlag(NodePower p);

struct Node {
  std::string name;
  std::string address;
  uint32_t cpus = 1;
  uint64_t memory_mb = 1;
  uint32_t gpus = 0;
  std::string gpu_type;
  std::vector<std::string> features;
  // Base state is derived from allocation plus these flags.
  bool responding = false;      // agent connected and heartbeating
  bool drain = false;           // admin drain
  // Drained by a failed HealthCheckProgram (not by an administrator): resumed when it passes.
  bool health_drained = false;
  bool down = false;            // admin down or declared failed
  std::string reason;
  int64_t reason_time = 0;
  int64_t last_heartbeat = 0;  // Unix seconds, for display
  // When the controller last heard from the node's agent, on the controller's steady clock
  // (ms); liveness is judged on it. 0: never heard (and no job to wait for).
  int64_t heard_ms = 0;
  int64_t boot_time = 0;
  bool configured = false;      // from slurm.conf (else self-registered)
  uint32_t alloc_cpus = 0;
  uint64_t alloc_mem_mb = 0;
  std::vector<bool> gpu_busy;   // size == gpus
  std::vector<JobId> running_jobs;
  // In an advance reservation's window now: 1 reserved, 2 for maintenance (set on the copies the
  // controller lists; an idle node then shows "resv" or "maint").
  uint8_t reserved = 0;
  bool cloud = false;  // State=CLOUD in slurm.conf: exists only while resumed
  NodePower power = NodePower::kOn;
  // POWER_DOWN asked while the node runs jobs: powered down once idle (sinfo's '!').
  bool power_down_pending = false;
  int64_t power_since = 0;  // Unix seconds: when the current power transition began

  NodeState BaseState() const;
  // sinfo/scontrol state text: "idle", "mixed", "alloc", "down*", "drain", "drng", "unk*" ...
  std::string StateText(bool long_form) const;
  // A powered-down (or powering-up) node takes jobs: allocating one resumes it.
  bool Schedulable() const {
    return !drain && !down && !power_down_pending &&
           (power == NodePower::kPoweredDown || power == NodePower::kPoweringUp ||
            (responding && power == NodePower::kOn));
  }
  // Up and registered: jobs on it may be launched.
  bool PoweredOn() const { return power == NodePower::kOn; }
};

struct Partition {
  std::string name;
  std::vector<std::string> nodes;   // expanded; empty and all_nodes: every node
  bool all_nodes = false;
  bool is_default = false;
  bool up = true;                   // State=UP; false: DOWN (queues but never starts)
  bool inactive = false;            // State=INACTIVE: refuses submissions
  bool drain = false;               // State=DRAIN: refuses submissions, runs queued
  int64_t max_time_s = -1;          // kUnlimited
  int64_t default_time_s = -1;      // kUnlimited: use max_time_s
  uint32_t max_nodes = 0;           // 0: unlimited
  uint32_t priority_job_factor = 1;
  uint32_t priority_tier = 1;

  bool Contains(const std::string& node_name) const;
};

}  // namespace shoal
