// The scheduler core: pure decisions from values. The controller and the simulator both call
// it with the cluster as it is and the current time, and apply what it returns. It never
// touches clocks, files, sockets or threads (a CI check keeps it that way).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "core/model.h"
#include "core/plan.h"
#include "core/policy.h"
#include "core/priority.h"
#include "core/accounting.h"
#include "core/qos.h"
#include "core/reservation.h"

namespace shoal {

// Resources one job takes on one node.
struct NodeShape {
  uint32_t cpus = 0;
  uint64_t mem_mb = 0;
  uint32_t gpus = 0;
};

// A decision to start a job on nodes. gpu_indices[i] are the GPUs bound on nodes[i].
struct StartDecision {
  JobId job_id = 0;
  std::vector<std::string> nodes;
  NodeShape per_node;
  std::vector<std::vector<uint32_t>> gpu_indices;
};

// When the plan expects a pending job to start (squeue --start). Only jobs that hold a
// reservation get one: EASY plans the first blocked job of each partition, conservative every
// blocked job.
struct PlannedStart {
  JobId job_id = 0;
  int64_t start_time = 0;
  std::vector<std::string> nodes;  // the nodes the plan holds for it
};

// A decision to stop a running job so that a pending job of a QOS allowed to preempt it can
// start once its resources are free. The pending job does not start in the same pass.
struct PreemptDecision {
  JobId job_id = 0;                         // the running job to stop
  JobId preemptor_id = 0;                   // the pending job it makes room for
  PreemptMode mode = PreemptMode::kCancel;  // kCancel or kRequeue
  int64_t grace_time_s = 0;                 // its QOS's GraceTime: SIGTERM to SIGKILL
};

struct ScheduleResult {
  std::vector<StartDecision> starts;
  std::vector<PreemptDecision> preemptions;
  // New pending reasons for jobs that stay pending (only where the reason changed). Waiting
  // (Resources, Priority, Dependency, ...) is not an error: these jobs run once things change.
  std::vector<std::pair<JobId, std::string>> reasons;
  std::vector<PlannedStart> planned;
  // Jobs the pass could not judge because what it was given is inconsistent (an operator or a
  // bug must fix it; waiting will not). They stay pending.
  std::vector<std::pair<JobId, Status>> errors;
};

// What the scheduler sees. Pointers stay owned by the caller; nodes in config order.
struct ClusterView {
  const std::map<JobId, Job>* jobs = nullptr;
  const std::vector<Node>* nodes = nullptr;
  const std::vector<Partition>* partitions = nullptr;
  // The pending and running jobs, when the caller keeps them apart (a pass then costs what the
  // live queue costs, not what all remembered jobs cost); null: scan `jobs`.
  const std::vector<const Job*>* live_jobs = nullptr;
  // For callers that keep the queue incrementally (the simulator): the pending jobs in the
  // order the pass is to consider them (normally Scheduler::KeyOf ascending; a caller may pin a
  // job first), and the running ones. When set, the pass neither scans `jobs`/`live_jobs` nor
  // sorts.
  const std::vector<const Job*>* pending_in_order = nullptr;
  const std::vector<const Job*>* running = nullptr;
  // The QOS jobs may name (null: none; a job then passes QOS checks only when it names none).
  const std::vector<Qos>* qos = nullptr;
  // Jobs being stopped whose resources are still allocated (preempted or cancelled, not yet
  // ended): preemption counts them as soon free, so it never stops more jobs for a job that
  // is only waiting for those to end.
  const std::vector<const Job*>* releasing = nullptr;
  // Association and QOS limits on running jobs (AccountingStorageEnforce=limits); null: none.
  const AccountingDb* accounting = nullptr;
  // Advance reservations (null or empty: none). Windows already rolled forward by the caller.
  const std::vector<Reservation>* reservations = nullptr;
};

// The per-node shape a request needs when spread over `nodes` nodes of `node_cpus` CPUs
// (exclusive jobs take the whole node).
NodeShape ShapeFor(const JobRequest& req, const Node& node);

// Why a request can never run in `partition` on the configured nodes, or OK. Used at submit
// to refuse impossible requests ("Requested node configuration is not available").
Status CheckSatisfiable(const JobRequest& req, const Partition& partition,
                        const std::vector<Node>& nodes);

enum class DependencyState { kSatisfied, kWaiting, kNeverSatisfied };
DependencyState EvaluateDependency(const Job& job, const std::map<JobId, Job>& jobs);

// The planning estimate of a job: its time limit, else its partition's DefaultTime, else its
// MaxTime; kNever when unlimited (a job that never ends, for planning).
int64_t EstimateOf(const JobRequest& req, const Partition* partition);

struct SchedulerOptions {
  std::string queue_order = "priority";  // a PolicyRegistry order name
  std::string backfill = "easy";         // a PolicyRegistry backfill name
  // False for callers that only want starts (the simulator): the pass then stops as soon as
  // nothing more can start, and reports no reasons.
  bool report_reasons = true;
  // At most this many reservations per pass (conservative backfill on a long queue); 0: no cap.
  // Jobs past the cap still start when they delay no reservation.
  uint32_t max_reservations = 0;
  // PreemptType=preempt/qos: a pending job that cannot start may have running jobs of the QOS
  // its own QOS lists in Preempt stopped for it, when stopping them lets it start.
  bool preempt = false;
  PreemptMode preempt_mode = PreemptMode::kCancel;  // PreemptMode: for QOS that set none
  bool requeue_allowed = true;  // JobRequeue; false (or --no-requeue) turns REQUEUE into CANCEL
};

// The production scheduler: one matcher steered by a queue order and a backfill policy.
//
// A pass walks the eligible pending jobs in queue order. A job starts when it fits now and
// delays no reservation made earlier in the pass. The first job of a partition that cannot
// start is that partition's blocked job (reason Resources; the jobs behind it wait with reason
// Priority unless they start). What happens then is the backfill policy's:
//   none          nothing behind it in its partition starts (strict order per partition);
//   easy          it is reserved at its earliest start in the plan (running jobs end at start +
//                 estimate); later jobs start only if they fit now and end by then or use only
//                 what the reservation leaves spare;
//   easy-sjbf     the same, with the later jobs tried shortest estimate first;
//   conservative  every job that cannot start is reserved, and later jobs must delay none.
// QOS: a job whose QOS is unknown waits with reason InvalidQOS; one over its QOS's MaxWall with
// QOSMaxWallDurationPerJobLimit; one whose user already runs MaxJobsPerUser jobs of the QOS with
// QOSMaxJobsPerUserLimit.
// Preemption (options.preempt): a job that cannot start now, of a QOS that may preempt others,
// looks at the running jobs of those QOS (not PreemptMode OFF), lowest priority first (then the
// most recently started), and takes them until the job would fit now on what they and the jobs
// already being stopped free; then it drops those not needed, highest priority first. Only if
// the job then fits are they preempted (it starts in a later pass, once they have ended). A job
// that fits on what is already being freed preempts nothing more. A job requeued by preemption
// (Job::preempted_by) waits with reason BeginTime while its preemptor is pending.
// Reservations (view.reservations): during a window its nodes are held for the jobs that name
// it; other jobs neither start there if they would still run at the window's start nor are
// planned across it (the window is a hold in the availability plan). A job naming a reservation
// waits (reason Reservation) until the window opens, then starts only on the reservation's nodes
// when they have room now (else Resources; it may run past the window's end, as in Slurm); it
// is never backfill-planned and does not block its partition. A job blocked while a MAINT window
// holds nodes of its partition waits with reason "ReqNodeNotAvail, Reserved for maintenance".
// A blocked job whose start the plan cannot place (resources held by jobs without a time
// limit, or too few usable nodes) cannot be protected, so its partition behaves as under none.
// Not thread-safe: one pass at a time. Keeps its buffers between passes.
class Scheduler {
 public:
  // NotFound for unknown policy names.
  static Result<std::unique_ptr<Scheduler>> Create(
      const SchedulerOptions& options, const PolicyRegistry& registry = PolicyRegistry::Builtin());
  ~Scheduler();

  ScheduleResult Schedule(const ClusterView& view, int64_t now);

  const SchedulerOptions& options() const { return options_; }
  const QueueOrder& order() const { return *order_; }
  const BackfillPolicy& backfill() const { return *backfill_; }
  // The job's queue key, as the pass orders it.
  QueueKey KeyOf(const Job& job, const Partition* partition) const {
    return order_->Key(job, EstimateOf(job.req, partition));
  }

 private:
  struct Pass;
  Scheduler(SchedulerOptions options, std::unique_ptr<QueueOrder> order,
            std::unique_ptr<BackfillPolicy> backfill);

  SchedulerOptions options_;
  std::unique_ptr<QueueOrder> order_;
  std::unique_ptr<BackfillPolicy> backfill_;
  std::unique_ptr<Pass> pass_;  // buffers reused between passes
};

// One pass with the controller's defaults (priority order, EASY backfill).
ScheduleResult Schedule(const ClusterView& view, int64_t now);

}  // namespace shoal
