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

struct ScheduleResult {
  std::vector<StartDecision> starts;
  // New pending reasons for jobs that stay pending (only where the reason changed). Waiting
  // (Resources, Priority, Dependency, ...) is not an error: these jobs run once things change.
  std::vector<std::pair<JobId, std::string>> reasons;
  std::vector<PlannedStart> planned;
  // Jobs the pass could not judge because what it was given is inconsistent (an operator or a
  // bug must fix it; waiting will not). They stay pending.
  std::vector<std::pair<JobId, Status>> errors;
};

struct PriorityWeights {
  uint32_t age = 0;                   // PriorityWeightAge
  uint32_t job_size = 0;              // PriorityWeightJobSize
  uint32_t partition = 0;             // PriorityWeightPartition
  int64_t max_age_s = 7 * 24 * 3600;  // PriorityMaxAge
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
};

// The per-node shape a request needs when spread over `nodes` nodes of `node_cpus` CPUs
// (exclusive jobs take the whole node).
NodeShape ShapeFor(const JobRequest& req, const Node& node);

// Why a request can never run in `partition` on the configured nodes, or OK. Used at submit
// to refuse impossible requests ("Requested node configuration is not available").
Status CheckSatisfiable(const JobRequest& req, const Partition& partition,
                        const std::vector<Node>& nodes);

// Multifactor priority of a pending job (held jobs are 0).
uint32_t ComputePriority(const Job& job, const Partition* partition, const PriorityWeights& w,
                         int64_t now);

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
