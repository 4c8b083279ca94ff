// The controller: owns jobs, nodes and partitions, persists every acknowledged change through
// the Store, runs the scheduler core, and talks to agents through their sessions. The HTTP
// routes (api_routes.cc) and the gRPC agent service (agent_service.cc) are thin adapters over
// the methods here. All state sits behind one reader-writer lock; the scheduler runs on its own
// thread and computes a pass under the shared side, so listings never wait for it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/container/btree_map.h"
#include "api/json_model.h"
#include "controller/config.h"
#include "controller/controller_metrics.h"
#include "controller/job_env.h"
#include "controller/power.h"
#include "controller/step_layout.h"
#include "controller/webhooks.h"
#include "core/limits.h"
#include "core/model.h"
#include "core/scheduler.h"
#include "core/shares.h"
#include "rpc/agent.pb.h"
#include "store/store.h"

namespace shoal {

// The outbound half of one agent's stream. The gRPC reactor drains it; the controller fills it.
class AgentSession {
 public:
  enum class Poll { kMessage, kEmpty, kClosed };

  explicit AgentSession(std::string node) : node_(std::move(node)) {}
  void Send(rpc::ControllerMessage msg);
  // Blocks until a message is ready or the session closes (then returns false).
  bool Next(rpc::ControllerMessage& out);
  // Never blocks: takes the next message, or says the outbox is closed, or that it is empty; after
  // kEmpty the wake hook runs once, when a message arrives or the session closes.
  Poll TryNext(rpc::ControllerMessage& out);
  // The writer's "call me again" hook for TryNext. It runs on the thread that sends or closes,
  // outside this session's lock but possibly under the controller's, so it must not block.
  void SetWake(std::function<void()> wake);
  void Close();
  // Close has been called (readable without the session's lock).
  bool closed() const { return ended_.load(std::memory_order_acquire); }
  const std::string& node() const { return node_; }
  // Set once a message on this session, after the controller ended it, has been logged.
  std::atomic<bool> refusal_logged{false};
  // When the agent last said anything on this session: the controller's steady clock (ms) for
  // liveness, and Unix seconds for display. Stored without the controller's lock, so that a
  // heartbeat costs no exclusive lock; the timer folds them into the node (HeardMs).
  void Heard(int64_t steady_ms, int64_t unix_s) {
    heard_ms_.store(steady_ms, std::memory_order_relaxed);
    heard_s_.store(unix_s, std::memory_order_relaxed);
  }
  int64_t heard_ms() const { return heard_ms_.load(std::memory_order_relaxed); }
  int64_t heard_s() const { return heard_s_.load(std::memory_order_relaxed); }
  // The node's GPUs when it registered (set before the session is handed out): the indices its
  // heartbeats' GPU readings may name.
  uint32_t gpus = 0;
  std::atomic<bool> bad_gpu_readings_logged{false};

 private:
  std::string node_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<rpc::ControllerMessage> outbox_;
  bool closed_ = false;
  std::function<void()> wake_;
  bool wake_wanted_ = false;  // TryNext found nothing: the next Send or Close calls wake_
  std::atomic<int64_t> heard_ms_{0};
  std::atomic<int64_t> heard_s_{0};
  std::atomic<bool> ended_{false};
};

struct CancelFilter {
  std::vector<std::string> ids;   // "12", "10_3", "10" (whole array)
  std::string user;
  std::string name;
  std::vector<JobState> states;
  std::string partition;
  std::string account;
  std::string qos;
  std::string reservation;
  int signal = 0;                 // 0: cancel; else deliver this signal
  bool batch_only = false;
  uint32_t requester_uid = 0;
};

struct CancelResult {
  std::vector<std::string> done;
  std::vector<std::pair<std::string, std::string>> errors;  // id, message
};

struct JobFilter {
  std::vector<std::string> ids;
  std::vector<std::string> users;
  std::vector<JobState> states;
  std::vector<std::string> partitions;
  std::vector<std::string> names;
};

class Controller {
 public:
  Controller(ControllerConfig config, std::unique_ptr<Store> store, std::string socket_path);
  ~Controller();

  // Loads state from the store and starts the scheduler and timer threads. The scheduler's
  // policies come from `registry` by the names the config gives.
  Status Start(const PolicyRegistry& registry = PolicyRegistry::Builtin());
  void Stop();
  // Where webhook deliveries go (tests); set before Start. Default: libcurl.
  void SetWebhookSender(std::unique_ptr<WebhookSender> sender) {
    webhook_sender_ = std::move(sender);
  }
  size_t webhook_outbox_depth() const { return webhooks_ ? webhooks_->depth() : 0; }

  // --- public API ---
  Result<JobId> Submit(SubmitRequest request, int64_t now);
  std::vector<Job> ListJobs(const JobFilter& filter) const;
  // Calls `visit` for each job ListJobs would return, under the controller's lock: for
  // listings that render straight from the jobs instead of copying 100,000 of them.
  // `expect`, when given, is told first how many jobs at most will be visited.
  void ForEachJob(const JobFilter& filter, const std::function<void(const Job&)>& visit,
                  const std::function<void(size_t)>& expect = nullptr) const;
  // The same, the jobs split into up to `runs` runs visited at once, each on a thread of its
  // own (the caller's is the first), all under the one lock: visit(k, job) sees run k's jobs
  // in order, and run k's come before run k + 1's. A listing of fewer than 20,000 jobs per
  // run is split less. `expect` is told first how many runs there will be and how many jobs
  // at most each visits.
  void ForEachJobInRuns(const JobFilter& filter, size_t runs,
                        const std::function<void(size_t, const Job&)>& visit,
                        const std::function<void(size_t runs, size_t jobs_per_run)>& expect) const;
  Result<Job> GetJob(const std::string& id) const;
  CancelResult Cancel(const CancelFilter& filter);
  Status Hold(const std::string& id, bool hold);
  Status Requeue(const std::string& id);
  Status UpdateJob(const std::string& id, const Json& changes);
  std::vector<Node> ListNodes() const;
  Status UpdateNode(const std::string& name, const std::string& state, const std::string& reason);
  // scontrol delete NodeName=LIST: removes nodes that run nothing (and their saved admin
  // state); configured nodes, unknown ones and busy ones are refused, and then none is removed.
  Status DeleteNodes(const std::string& names);
  std::vector<Partition> ListPartitions() const;
  Json ConfigJson() const;
  // sprio: the priority factors of the pending jobs that are eligible to start (not held, begin
  // time reached, dependencies satisfied) and match the filter, in job id order.
  struct PriorityRow {
    JobId id = 0;
    std::string user;
    std::string partition;
    uint32_t priority = 0;
    PriorityFactors factors;
  };
  // Not const: brings the fair-share factors up to date first.
  std::vector<PriorityRow> ListPriorities(const JobFilter& filter);
  // The same rows with the user and partition as indices into shared name lists (a listing of
  // 100,000 jobs copies no strings per row).
  struct PriorityListing {
    struct Row {
      JobId id = 0;
      uint32_t user = 0;       // in users
      uint32_t partition = 0;  // in partitions
      uint32_t priority = 0;
      PriorityFactors factors;
    };
    std::vector<std::string> users;
    std::vector<std::string> partitions;
    std::vector<Row> rows;
  };
  PriorityListing ListPriorityTable(const JobFilter& filter);
  Result<std::vector<Job>> QueryAccounting(const JobQuery& query) const;
  // The same, as the store keeps them (each a JSON Job document), for answers that pass them on.
  Result<std::vector<JobRecord>> QueryAccountingRecords(const JobQuery& query) const;
  // Node outages that overlap [start, end) (sreport, sacctmgr show event), from the store.
  Result<std::vector<NodeEvent>> NodeEvents(int64_t start, int64_t end) const;
  // The accounting database (sacctmgr show).
  AccountingDb Accounting() const;
  // sshare: every association with its shares, usage and fair-share factor.
  std::vector<ShareRow> ListShares() const;
  // Applies an sacctmgr change asked by `requester_uid` (nullopt: an in-process caller, not
  // checked) and stores it before answering; with dry_run, only checks it. The rule is
  // authz.h's MayChangeAccounting: Operators, and Administrators to grant admin levels (root
  // and the controller's own user are Administrators).
  Result<ChangeReport> ChangeAccounting(const AccountingChange& change,
                                        std::optional<uint32_t> requester_uid, bool dry_run);
  const ControllerConfig& config() const { return config_; }
  // The admin level the rules use for `uid` (named `name` in passwd): Administrator for root
  // and the controller's own user, else the user's AdminLevel in the accounting database.
  AdminLevel EffectiveAdminLevel(uint32_t uid, const std::string& name) const;
  // The passwd name of `uid`, "" when it has none.
  static std::string UserName(uint32_t uid);

  // --- advance reservations (controller_reservations.cc) ---
  // scontrol create/update/delete reservation, in scontrol's Key=Value words; stored before
  // answering. `requester_uid` as ChangeAccounting's. Create returns the new name.
  Result<std::string> CreateReservation(const std::vector<std::string>& words,
                                        std::optional<uint32_t> requester_uid, int64_t now);
  Status UpdateReservation(const std::string& name, const std::vector<std::string>& words,
                           std::optional<uint32_t> requester_uid, int64_t now);
  Status DeleteReservation(const std::string& name, std::optional<uint32_t> requester_uid,
                           int64_t now);
  struct ReservationRow {
    Reservation reservation;
    uint64_t cpus = 0;  // CoreCnt
  };
  // The reservations not yet over (repeating ones at their next window), by name.
  std::vector<ReservationRow> ListReservations(int64_t now) const;

  // --- metrics (controller_metrics.cc) ---
  ControllerMetrics& metrics() { return *metrics_; }
  // The agents that reported a metrics address, by node name (Prometheus service discovery).
  struct MetricsTarget {
    std::string node;
    std::string address;  // HOST:PORT of the agent's /metrics
  };
  std::vector<MetricsTarget> AgentMetricsTargets() const;
  // --- job steps and interactive allocations (steps.cc) ---
  // Starts a step of running job `job_id` on its nodes (srun). `requester_uid` 0: anyone.
  Result<Step> CreateStep(const std::string& job_id, StepRequest request, uint32_t requester_uid);
  Result<Step> GetStep(JobId job_id, uint32_t step_id) const;
  // Steps the controller still remembers (those of the jobs it holds), by job and step id;
  // `job_ids` empty: every job's.
  std::vector<Step> ListSteps(const std::vector<JobId>& job_ids, bool running_only) const;
  // Signals a running step's tasks; signal 0 ends the step (SIGTERM, SIGKILL after KillWait).
  Status SignalStep(JobId job_id, uint32_t step_id, int signal, uint32_t requester_uid);
  // Ends an interactive allocation for its submitter (salloc or srun relinquishing it): a
  // running one completes with the command's exit status, a pending one is cancelled.
  Status CompleteAllocation(const std::string& job_id, int32_t exit_code, int32_t signal,
                            uint32_t requester_uid);
  // The SLURM_* variables of a running job, as salloc hands them to its command.
  Result<std::vector<std::string>> AllocationEnvironment(const std::string& job_id) const;
  Result<std::vector<Step>> QueryStepAccounting(const std::vector<JobId>& job_ids) const;

  // --- live usage (controller_usage.cc) ---
  struct JobUsageAnswer {
    Job job;
    std::vector<StepUsage> steps;            // its running steps; none when it is not running
    std::vector<std::string> missing_nodes;  // nodes that did not answer in time
  };
  // sstat: asks each node of running job `id` ("12", "10_3") what its batch script and steps
  // use now, and waits up to `wait` for the answers without holding the state lock. NotFound
  // ("Invalid job id specified") for a job the controller does not hold.
  Result<JobUsageAnswer> JobUsage(const std::string& id, std::chrono::milliseconds wait);

  // --- agents ---
  // Handles a Register; on success returns the session the agent's stream must drain.
  Result<std::shared_ptr<AgentSession>> RegisterAgent(const rpc::Register& reg,
                                                      rpc::RegisterReply& reply);
  // The same, off the caller's thread: `done` runs on the agent intake thread once the node is
  // registered (or at once, with the error, for a malformed Register). Registrations queued
  // together are applied under one exclusive lock. The agent service uses this, so that gRPC's
  // threads never wait for the controller's lock.
  using RegisterDone =
      std::function<void(Result<std::shared_ptr<AgentSession>>, rpc::RegisterReply)>;
  void RegisterAgentAsync(rpc::Register reg, RegisterDone done);
  // A message from an agent, applied before this returns.
  void OnAgentMessage(const std::shared_ptr<AgentSession>& session, const rpc::AgentMessage& msg);
  // The same for the agent service: a heartbeat is taken here, without any lock; anything else
  // is applied on the agent intake thread, in order, with what other agents said meanwhile (job
  // ends in one exclusive lock and one commit). gRPC's threads carry every agent's heartbeats,
  // so they must never wait for the controller's lock or its store: a node whose heartbeat sat
  // behind a busy store would be declared DOWN while it was fine.
  void QueueAgentMessage(std::shared_ptr<AgentSession> session, rpc::AgentMessage msg);
  // The agent's stream ended: the node is no longer responding (its timeout runs from the last
  // word on the stream).
  void OnAgentDisconnected(const std::shared_ptr<AgentSession>& session);
  // The same for the agent service: the session closes at once, the node's state changes on the
  // agent intake thread, after whatever the agent said before.
  void QueueAgentDisconnected(std::shared_ptr<AgentSession> session);
  // A HealthCheckProgram outcome: a failure drains the node (unless an administrator drained
  // it), a pass resumes it when the health check drained it.
  void OnNodeHealth(const std::string& node, const rpc::NodeHealth& health, int64_t now);
  // Whether `session` is its node's live one (not ended by the controller, nor replaced).
  bool CurrentSession(const std::shared_ptr<AgentSession>& session) const;

 private:
  using ReadLock = std::shared_lock<std::shared_mutex>;
  using WriteLock = std::unique_lock<std::shared_mutex>;
  AdminLevel EffectiveAdminLevelLocked(uint32_t uid, const std::string& name) const;
  std::vector<Job*> ResolveIdsLocked(const std::string& id);
  // Readers' lookups: the jobs "12" or "10_3" or "10" (whole array) names, in jobs_ and among
  // the arrivals.
  std::vector<const Job*> ResolveIdsForReadLocked(const std::string& id) const;
  // The exclusive lock, with the arrivals moved into jobs_ first: every change takes it so.
  WriteLock LockForChange();
  void MergeArrivalsLocked();
  void AdmitJobLocked(Job job);
  Node* FindNodeLocked(const std::string& name);
  Node* InsertNodeLocked(Node node);
  // Sets the drain/down flags and reason an administrator gave the node, if any (kept in the
  // store across restarts).
  void ApplyAdminStateLocked(Node& node) const;
  // Keeps the node's drain, `down` and reason (with its size) for the next restart, or forgets
  // them when it has neither flag; resolved once stored.
  std::future<Status> SaveAdminStateLocked(const Node& node, bool down);
  const Partition* FindPartitionLocked(const std::string& name) const;
  const Partition* DefaultPartitionLocked() const;
  void TriggerSchedule();
  void SchedulerLoop();
  using PendingWrites = std::vector<std::future<Status>>;
  using Sends = std::vector<std::pair<std::string, rpc::ControllerMessage>>;
  // A pass in three steps: its inputs brought up to date (exclusive), the decisions and new
  // priorities computed (shared: listings and submissions go on meanwhile), then applied
  // (exclusive) where still valid.
  // Priorities are recomputed under the shared lock and take effect when the pass is applied.
  struct NewPriority {
    JobId id;
    Job* job;
    uint32_t priority;
  };
  using NewPriorities = std::vector<NewPriority>;
  bool PrioritiesDueLocked(int64_t now);
  NewPriorities ComputePrioritiesLocked(int64_t now) const;
  // True when a priority changed (the queue's order may then differ: another pass follows).
  bool ApplyPrioritiesLocked(const NewPriorities& priorities);
  ScheduleResult ComputePassLocked(int64_t now);
  // The scripts the pass's starts launch, by payload id (an array's tasks share their array's),
  // read from the store before the exclusive lock is taken: with one job's script per start, a
  // pass starting a thousand jobs would otherwise hold every reader (squeue) off for a thousand
  // store reads, a round trip each on PostgreSQL. A payload never changes once stored.
  using PassPayloads = std::unordered_map<JobId, Result<JobPayload>>;
  std::vector<JobId> StartPayloadIdsLocked(const ScheduleResult& result) const;
  PassPayloads LoadPassPayloads(const std::vector<JobId>& payload_ids) const;
  // Returns false when some decision no longer held (a job or node changed while the pass was
  // computed); those are dropped and another pass should follow.
  bool ApplyPassLocked(ScheduleResult& result, PassPayloads& payloads, int64_t now,
                       PendingWrites& ops, Sends& sends);
  bool StartStillValidLocked(const StartDecision& start) const;
  rpc::ControllerMessage BuildLaunchLocked(const Job& job, const JobPayload& payload);
  void ReleaseResourcesLocked(Job& job);
  // The memory limit a launch of `job` carries for its cgroup (TaskPlugin=task/cgroup with
  // ConstrainRAMSpace=yes): the job's memory on each node; 0 when nothing is enforced.
  uint64_t MemoryLimitMb(const Job& job) const {
    return config_.task_cgroup && config_.constrain_ram_space ? job.mem_per_node_alloc_mb : 0;
  }
  // Ends a job with `state`, recording exit details; frees its resources.
  void FinishJobLocked(Job& job, JobState state, int64_t now);
  void RequeueLocked(Job& job, int64_t now, const std::string& reason);
  // A batch job whose node failed: requeued to start again at once the first time, with a
  // backoff (its begin time) when it was requeued before, or held once it has been requeued
  // more than max_batch_requeue times.
  void RequeueAfterFailureLocked(Job& job, int64_t now);
  static constexpr int64_t kMaxRequeueBackoffS = 60;
  void TerminateOnNodesLocked(const Job& job);
  rpc::ControllerMessage TerminateMessage(const Job& job, uint32_t kill_wait_s) const;
  // Priority: the factors and the priority of a job now (held jobs 0).
  PriorityFactors FactorsLocked(const Job& job, int64_t now) const;
  // Factors of many jobs at once (controller_priority.cc).
  class FactorBatch;
  // What the priority listing keeps of each pending job between listings: the inputs of its
  // factors that change with neither time nor the shares, so a listing reads no job record.
  // Built by a listing that finds it missing or out of date; the jobs changed since it was
  // built (MarkPriorityRowChangedLocked) are listed from their records.
  struct PriorityTable;
  std::shared_ptr<const PriorityTable> BuildPriorityTableLocked(const PriorityContext& ctx) const;
  void MarkPriorityRowChangedLocked(JobId id);
  // The associations of the live jobs and of `more` (submissions not yet admitted), each once.
  std::vector<UsageKey> LiveAssociationsLocked(const std::map<JobId, Job>& more) const;
  uint32_t PriorityLocked(const Job& job, int64_t now) const;
  // The cluster-wide inputs of the factors; fair share only when `fairshare` and stale, at most
  // once a second unless `force`. Marks the priorities stale when an input changed.
  void RefreshPriorityInputsLocked(bool fairshare, bool force = false);
  // Loads the accounting database from the store and lays the config file's lines over it.
  Status LoadAccounting();
  Status LoadReservations();
  // Whether `requester_uid` may change reservations: root, the controller's user, AdminLevel
  // Operator or Administrator (one place, to fold into a common authorization check).
  Status MayChangeReservationsLocked(std::optional<uint32_t> requester_uid) const;
  // reservations_ without those over, repeating ones rolled forward to `now`.
  std::vector<Reservation> CurrentReservationsLocked(int64_t now) const;
  ReservationEnv ReservationEnvLocked(const std::vector<Reservation>& current,
                                      std::map<std::string, int64_t>& busy_until,
                                      int64_t now) const;
  // Stores `next` as the reservations document, then makes it current.
  Status CommitReservations(std::vector<Reservation> next);
  void SetAccountingLocked(AccountingDb db);
  // Fair-share usage: charges a run that ends (or is requeued) at `end` for the part not charged
  // yet; every PriorityCalcPeriod, decays the usage and charges the running jobs.
  void ChargeRunLocked(const Job& job, int64_t end);
  void UpdateUsageLocked(int64_t now);
  void SaveUsageLocked(std::vector<std::pair<UsageKey, double>> rows, bool replace_all);
  double UsageFactorOf(const Job& job) const;
  void SendLocked(const std::string& node, rpc::ControllerMessage msg);
  // Steps (steps.cc): a node's report that its part of a step ended; a job that ends takes its
  // running steps with it (and an interactive one its resources, no batch script holding them);
  // interactive allocations past their time limit end (no supervisor enforces it for them).
  void OnStepFinished(const std::shared_ptr<AgentSession>& session, const rpc::StepFinished& fin);
  void EndStepsLocked(Job& job, int64_t now);
  // A node's answer to a UsageRequest (JobUsage); ignored unless that request waits for it.
  void OnUsageReport(const std::string& node, const rpc::UsageReport& report);
  // After a restart: the stored steps of running jobs, as live steps waiting for their nodes'
  // reports (which the agents send again until acknowledged).
  void RestoreStepsLocked(const std::vector<Step>& stored);
  void CheckAllocationsLocked(int64_t now);
  void PersistStepLocked(const Step& step, PendingWrites* writes);
  rpc::ControllerMessage StepSignalMessage(const Step& step, int signal) const;
  void NodeFailedLocked(Node& node, int64_t now, const std::string& reason);
  // Liveness: nodes whose agent said nothing for SlurmdTimeout (steady clock, ms) are declared
  // DOWN. Returns true when one was. FoldHeardLocked copies what the sessions heard into their
  // nodes (last_heartbeat, for display); the check folds only the nodes it suspects.
  bool CheckLivenessLocked(int64_t now_ms, int64_t now);
  bool SilentLocked(const Node& node, int64_t now_ms) const;
  bool AnySilent(int64_t now_ms) const;  // takes the shared lock
  void FoldHeardLocked();
  void TimerLoop();
  // After a scheduling pass: its duration and launches; the cluster snapshot when due.
  void ObservePassLocked(double pass_seconds, size_t launches);
  void PersistLocked(const Job& job, PendingWrites& writes, bool must_sync = true);
  Status AwaitWrites(PendingWrites& writes);
  // Webhooks: whether the job has receivers (the cluster's or its own), and the outbox entries
  // for an event of type `type` about it, one per receiver that wants it.
  bool HasWebhooks(const Job& job) const;
  std::vector<OutboxEntry> WebhookEntries(const Job& job, const std::string& type, int64_t now);

  // --- node outage history (controller_node_events.cc) ---
  // At start: the events still open in the store.
  Status LoadOpenNodeEvents(int64_t now);
  // Timer chores and node changes: closes the open event of every node whose outage state
  // (DOWN, DRAIN, POWERED_DOWN or none) changed and opens one for the new state.
  void SyncNodeEventsLocked(int64_t now);

  // --- power saving (controller_power.cc) ---
  // At start: nodes power saving covers begin powered down, then what the power document saved.
  void InitPowerLocked(const std::optional<std::string>& saved, int64_t now);
  // Timer chores: resumes, suspends and timeouts that are due (PowerPlanner's decisions).
  void PowerTickLocked(int64_t now);
  // A resume that failed (the program, or ResumeTimeout): the node DOWN with `reason`, its jobs
  // requeued, powered down again; its name added to `failed` for ResumeFailProgram.
  void ResumeFailedLocked(Node& node, int64_t now, const std::string& reason,
                          std::vector<std::string>& failed);
  // scontrol update State=POWER_UP|POWER_DOWN|POWER_DOWN_ASAP|POWER_DOWN_FORCE.
  Status UpdateNodePowerLocked(Node& node, const std::string& state, int64_t now,
                               PendingWrites& ops);
  // A node that registers is up; jobs that waited for it (CONFIGURING) are launched once all
  // their nodes are.
  void NodePoweredOnLocked(Node& node, int64_t now, PendingWrites& ops);
  void LaunchIfReadyLocked(Job& job, int64_t now, PendingWrites& ops);
  void SavePowerLocked();
  enum class PowerHook { kResume, kSuspend, kResumeFail };
  // Runs the hook on its own thread (never under mu_); OnPowerHookDone applies its outcome.
  // A resume passes each node's power_since at its start: a run that outlives its attempt (a
  // hang past ResumeTimeout) must not fail the next resume of the same node.
  void RunPowerHook(PowerHook hook, std::vector<std::string> nodes,
                    std::vector<int64_t> started = {});
  void OnPowerHookDone(PowerHook hook, const std::vector<std::string>& nodes,
                       const std::vector<int64_t>& started, const ProgramResult& result,
                       std::chrono::milliseconds timeout);
  void WaitPowerHooks();

  ControllerConfig config_;
  std::unique_ptr<Store> store_;
  std::string socket_path_;

  // Readers (listings, lookups, a pass's computation) share it; every change owns it.
  mutable std::shared_mutex mu_;
  std::map<JobId, Job> jobs_;
  std::vector<Node> nodes_;
  std::unordered_map<std::string, size_t> node_index_;
  std::vector<Partition> partitions_;
  std::map<std::string, NodeAdminState> admin_states_;  // by node name
  std::map<std::string, NodeEvent> open_node_events_;   // by node name: outages going on
  std::vector<Reservation> reservations_;
  // Changed while a pass was computed: its starts are dropped (they may sit in a new window).
  bool reservations_changed_during_pass_ = false;
  std::mutex reservation_change_mu_;  // one reservation change at a time
  std::unordered_map<std::string, std::shared_ptr<AgentSession>> sessions_;
  // When the last agent registered (steady ms; the start of this controller before any did):
  // nodes restored with running jobs wait for the reconnect storm after a restart (SilentLocked).
  int64_t last_registration_ms_ = 0;
  std::atomic<JobId> next_job_id_{1};
  // Submissions that became durable while the lock was busy (a pass being computed, a long
  // listing): they wait here, under their own mutex, so that submitting never waits for a pass.
  // The next change or pass moves them into jobs_; listings and lookups look here too.
  mutable std::mutex arrivals_mu_;
  std::map<JobId, Job> arrivals_;
  // Pending and running jobs (what a scheduling pass and a default squeue look at), pointing
  // into jobs_: walking them never touches the finished jobs still remembered, and a B-tree's
  // packed nodes walk far faster than a red-black tree's scattered ones.
  absl::btree_map<JobId, Job*> live_jobs_;
  // Finished jobs by end time, oldest first, so forgetting them after MinJobAge looks only at
  // those due. Entries of jobs requeued since are skipped when they come up.
  std::priority_queue<std::pair<int64_t, JobId>, std::vector<std::pair<int64_t, JobId>>,
                      std::greater<>>
      finished_by_end_;
  std::unique_ptr<Scheduler> scheduler_;  // from the config; scheduler thread only
  // Jobs changed (PersistLocked) while a pass was being computed: its decisions about them are
  // stale and dropped.
  bool pass_in_flight_ = false;
  std::set<JobId> changed_during_pass_;
  // Steps of the jobs held in jobs_, with what only a running step needs.
  struct LiveStep {
    Step step;
    uint64_t generation = 0;              // the job run it belongs to
    std::set<std::string> pending_nodes;  // nodes whose tasks have not reported their end
    std::vector<NodeUse> holds;           // parallel to step.nodes (empty ones: --overlap)
    bool kill_on_bad_exit = false;
    bool cancelled = false;  // scancel J.S (or srun forcing it): CANCELLED however tasks end
    uint16_t master_port = 0;
    // The step as answers show it: one that ended before all its nodes reported is completing.
    Step Answered() const {
      Step answered = step;
      answered.completing = step.state != JobState::kRunning && !pending_nodes.empty();
      return answered;
    }
  };
  std::map<JobId, std::map<uint32_t, LiveStep>> steps_;
  // JobUsage requests waiting for their nodes, by request id (under usage_mu_, not mu_: the
  // answers arrive without the state lock).
  struct PendingUsage {
    std::set<std::string> waiting;  // nodes asked that have not answered
    std::vector<std::pair<std::string, rpc::UsageReport>> reports;  // node, answer
  };
  // A quarter of the API's 16 threads at most wait for nodes' usage reports (sstat).
  static constexpr size_t kMaxUsageRequestsWaiting = 4;
  std::mutex usage_mu_;
  std::condition_variable usage_cv_;
  std::map<uint64_t, PendingUsage> usage_requests_;
  uint64_t next_usage_request_ = 1;
  std::map<JobId, uint32_t> next_step_id_;
  int64_t last_allocation_check_ = 0;
  std::vector<JobId> planned_ids_;  // jobs holding the last pass's planned start
  int64_t last_priority_calc_ = 0;
  // Fair share: usage per association (persisted), and the factors derived from it, worked
  // out again (at most once a second) after the usage changed.
  UsageState usage_;
  // The accounting database (sacctmgr's accounts, users, associations and QOS, with the config
  // file's QOS and Account lines laid over it), and each account's shares and priority from it.
  AccountingDb accounting_;
  // accounting_'s associations by name: live jobs carry their association's index (StampAssoc),
  // re-stamped whenever accounting_ changes.
  AssocLookup assoc_lookup_;
  std::vector<AccountConfig> account_shares_;
  std::mutex accounting_change_mu_;  // one sacctmgr change at a time
  std::map<UsageKey, double> fairshare_;
  bool fairshare_stale_ = true;
  // Counts the times the shares went stale; what a listing computed afresh is kept for the same
  // count (listings hold only the shared lock, so they cannot refresh fairshare_ itself).
  uint64_t fairshare_epoch_ = 0;
  void MarkFairshareStaleLocked() {
    fairshare_stale_ = true;
    ++fairshare_epoch_;
  }
  std::mutex listing_fairshare_mu_;
  uint64_t listing_fairshare_epoch_ = 0;
  std::shared_ptr<const std::map<UsageKey, double>> listing_fairshare_;
  // Listings replace the table under the shared lock: this mutex orders them. Writers (holding
  // mu_ exclusively) add the jobs they change to priority_changed_.
  std::mutex priority_table_mu_;
  std::shared_ptr<const PriorityTable> priority_table_;
  std::vector<JobId> priority_changed_;  // since priority_table_ was built
  bool priority_changed_overflow_ = false;  // too many to list: the next listing rebuilds
  bool priorities_stale_ = true;  // an input of the priorities changed since they were computed
  int64_t last_fairshare_calc_ = 0;
  int64_t last_usage_calc_ = 0;
  PriorityContext priority_ctx_;
  std::chrono::steady_clock::time_point last_pass_;  // scheduler thread only
  std::chrono::steady_clock::duration last_pass_cost_{};

  // Job ends written unsynced, to be acknowledged to their agents once a sync makes them
  // durable (the timer thread syncs them together): one fsync per tick instead of per job.
  struct UnsyncedAck {
    std::weak_ptr<AgentSession> session;
    JobId job_id = 0;
    uint64_t generation = 0;
  };
  std::vector<UnsyncedAck> unsynced_acks_;
  // Stale runs (job id, generation) whose end was refused and logged: each is logged once.
  std::set<std::pair<JobId, uint64_t>> refused_runs_;
  // SLURM_ARRAY_TASK_MIN/MAX/STEP/COUNT of each array launched and still held.
  std::unordered_map<JobId, ArrayBounds> array_bounds_;
  const ArrayBounds& ArrayBoundsLocked(JobId array_job_id);
  void AcknowledgeSyncedEnds();

  std::unique_ptr<ControllerMetrics> metrics_;
  std::chrono::steady_clock::time_point last_metrics_snapshot_;  // scheduler thread only

  // Webhooks (webhooks.h): the outbox's delivery side, and what was last announced of each job
  // that has receivers (its state and restart count; under mu_), which tells PersistLocked
  // whether a change is an event. A job not in it was last announced as submitted.
  std::unique_ptr<WebhookSender> webhook_sender_;  // for the outbox; null: libcurl
  std::unique_ptr<WebhookOutbox> webhooks_;
  std::unordered_map<JobId, std::pair<JobState, uint32_t>> announced_;

  std::unique_ptr<PowerPlanner> power_;     // null: power saving off
  std::set<std::string> power_excluded_;     // SuspendExcNodes and SuspendExcParts' nodes
  std::set<std::string> power_wanted_up_;    // POWER_UP asked, not yet resumed
  std::mutex power_hooks_mu_;
  std::list<std::future<void>> power_hooks_;  // running hooks (joined at Stop)

  std::mutex sched_mu_;
  std::condition_variable sched_cv_;
  bool sched_requested_ = false;
  bool stopping_ = false;
  std::thread scheduler_thread_;
  std::thread timer_thread_;

  // What agents said, waiting for the agent intake thread: registrations (RegisterAgentAsync)
  // and other messages (QueueAgentMessage).
  struct PendingRegistration {
    rpc::Register reg;
    RegisterDone done;
  };
  struct QueuedAgentMessage {
    std::shared_ptr<AgentSession> session;
    rpc::AgentMessage msg;
    bool disconnected = false;  // not a message: the stream ended
  };
  // Hands `item` to the intake thread. False, leaving `item` alone, when that thread is not
  // running (a test driving the controller directly, or stopping): the caller applies it then.
  bool QueueForIntake(QueuedAgentMessage& item);
  static Status CheckRegister(const rpc::Register& reg);
  std::shared_ptr<AgentSession> RegisterAgentLocked(const rpc::Register& reg,
                                                    rpc::RegisterReply& reply, int64_t now,
                                                    PendingWrites& ops);
  void ApplyRegistrations(std::vector<PendingRegistration>& batch);
  // Takes what needs no lock (liveness, a heartbeat's GPU readings); false when nothing more
  // is to be done with `msg` (a heartbeat, or a message on a session the controller ended).
  bool HearAgentMessage(AgentSession& session, const rpc::AgentMessage& msg);
  void ApplyAgentMessages(std::vector<QueuedAgentMessage>& batch);
  // A job's end, under the exclusive lock: true when applied (acknowledged once synced).
  bool ApplyJobFinishedLocked(const AgentSession& session, const rpc::JobFinished& fin,
                              int64_t now, PendingWrites& ops);
  bool CurrentSessionLocked(const std::shared_ptr<AgentSession>& session) const;
  void AgentIntakeLoop();
  std::mutex intake_mu_;
  std::condition_variable intake_cv_;
  std::vector<PendingRegistration> registrations_;
  std::vector<QueuedAgentMessage> agent_messages_;
  bool intake_stopping_ = false;
  bool intake_running_ = false;
  std::thread intake_thread_;
};

// Current time in epoch seconds (the controller's single clock read).
int64_t NowSeconds();
// The steady clock in milliseconds: node liveness, which must not jump with the wall clock.
int64_t SteadyMs();

}  // namespace shoal
