// The scheduler core: pure decisions from values. The controller and the simulator both call
// it with the cluster as it is and the current time, and apply what it returns. It never
// touches clocks, files, sockets or threads (a CI check keeps it that way).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "core/model.h"

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

struct ScheduleResult {
  std::vector<StartDecision> starts;
  // New pending reasons for jobs that stay pending (only where the reason changed).
  std::vector<std::pair<JobId, std::string>> reasons;
};

struct PriorityWeights {
  uint32_t age = 0;          // PriorityWeightAge
  uint32_t job_size = 0;     // PriorityWeightJobSize
  uint32_t partition = 0;    // PriorityWeightPartition
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

// One scheduling pass: walks pending jobs in priority order and starts those that fit, strict
// first-come within each partition (a job blocked on resources holds back lower-priority jobs
// of its partition: reason "Priority"). Backfill arrives with the scheduler issue.
ScheduleResult Schedule(const ClusterView& view, int64_t now);

}  // namespace shoal
