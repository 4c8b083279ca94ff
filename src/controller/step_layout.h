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

struct StepLayout {
  std::vector<size_t> node_index;           // into the job's nodes, in job order
  std::vector<std::string> nodes;           // the step's nodes
  std::vector<uint32_t> tasks_per_node;     // parallel to nodes
  std::vector<std::vector<uint32_t>> gpus;  // the step's GPU indices on each of its nodes
  uint32_t ntasks = 0;
};

// Lays a step out on a running job. `busy_cpus` holds, per job node name, the CPUs other
// running steps use (only --exclusive steps look at it). Defaults as srun inside an
// allocation: every node of the job (no more than there are tasks) and the job's task count;
// tasks spread in blocks, the first nodes taking the remainder. Errors carry the text srun
// prints after "Unable to create step for job N: ".
Result<StepLayout> PlanStep(const Job& job, const StepRequest& req,
                            const std::map<std::string, uint32_t>& busy_cpus);

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
