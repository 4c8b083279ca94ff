// The environment a batch script starts with: the submitter's exported variables plus Slurm's
// SLURM_* set, formatted as Slurm formats them.
#pragma once

#include <string>
#include <vector>

#include "core/model.h"

namespace shoal {

// "2(x3),1": counts per node, runs of equal counts folded.
std::string FoldCounts(const std::vector<uint32_t>& counts);
// Tasks of the job on each of its nodes, block distribution.
std::vector<uint32_t> TasksPerNode(const JobRequest& req, size_t num_nodes);

struct ArrayBounds {
  int64_t count = 0, min = 0, max = 0, step = 1;
};

// `submit_env` (KEY=VALUE) with Slurm's variables for `job` laid over it.
std::vector<std::string> BuildJobEnvironment(const Job& job, const std::vector<std::string>& submit_env,
                                             const std::string& cluster_name,
                                             const std::string& controller_endpoint,
                                             const ArrayBounds* array);

}  // namespace shoal
