// Where a job step's tasks go and what each one finds in its environment. Pure functions over
// model values, so the rules (Slurm's defaults for srun inside an allocation, block
// distribution, the PyTorch env:// variables) are tested without a cluster.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "api/json_model.h"
#include "common/status.h"
#include "core/model.h"

namespace shoal {

// What a job's other running steps hold on one of its nodes (--overlap steps hold nothing).
struct NodeUse {
  uint32_t cpus = 0;
  uint64_t mem_mb = 0;
  std::set<uint32_t> gpus;  // GPU indices held by steps that asked for GPUs
};

struct StepLayout {
  std::vector<size_t> node_index;           // into the job's nodes, in job order
  std::vector<std::string> nodes;           // the step's nodes
  std::vector<uint32_t> tasks_per_node;     // parallel to nodes
  std::vector<std::vector<uint32_t>> gpus;  // the step's GPU indices on each of its nodes
  uint32_t ntasks = 0;
  // What the step holds on each node, parallel to nodes (nothing for an --overlap step).
  std::vector<NodeUse> holds;
};

// Lays a step out on a running job, as Slurm 22.05 does. `in_use` holds, per job node name,
// what the other running steps hold. Defaults as srun inside an allocation: every node of the
// job (no more than there are tasks) and the job's task count; tasks spread in blocks, the
// first nodes taking the remainder; when the step needs fewer nodes than it may use, the first
// ones with room. Steps do not share CPUs: a step takes every free CPU of the job on its nodes,
// or with --exact (implied by --exclusive and -c) only those its tasks need; explicit GPU and
// memory requests are held the same way; --overlap shares everything. Errors carry the text
// srun prints after "Unable to create step for job N: "; kUnavailable ("Requested nodes are
// busy") means the step fits the job but not now: srun retries it.
Result<StepLayout> PlanStep(const Job& job, const StepRequest& req,
                            const std::map<std::string, NodeUse>& in_use);

// A port for MASTER_PORT that no other live step of the same first node uses: derived from the
// step's id (stable across retries), moved on while taken.
uint16_t PickMasterPort(JobId job_id, uint32_t step_id, const std::set<uint16_t>& taken);

// The environment of a step's tasks on one node of `layout`.
struct NodeTaskEnv {
  std::vector<std::string> common;             // every task on the node, KEY=VALUE, sorted
  std::vector<uint32_t> ranks;                 // the global ranks placed on the node
  std::vector<std::vector<std::string>> task;  // per rank: its own variables
};

// `job_env` is what BuildJobEnvironment gives the job for srun's environment; the step's
// variables are laid over it (SLURM_STEP_*, SLURM_NODEID, SLURM_PROCID, RANK, WORLD_SIZE,
// MASTER_ADDR, ...). `master_addr` is the address of the step's first node.
NodeTaskEnv BuildNodeTaskEnv(const std::vector<std::string>& job_env, const Step& step,
                             const StepLayout& layout, size_t node, const std::string& master_addr,
                             uint16_t master_port);

}  // namespace shoal
