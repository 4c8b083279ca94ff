#include "controller/step_layout.h"

#include <algorithm>

#include "common/hostlist.h"
#include "controller/job_env.h"

namespace shoal {

namespace {

// Places `slots` (task counts, in order) on distinct `candidates`, each slot on the first
// candidate left where it fits beside `in_use`. Empty when some slot fits nowhere.
std::vector<size_t> PlaceSlots(const Job& job, const StepRequest& req,
                               const std::vector<size_t>& candidates,
                               const std::vector<uint32_t>& slots,
                               const std::vector<size_t>& gpus_wanted,
                               const std::map<std::string, NodeUse>& in_use) {
  static const NodeUse kFree;
  std::vector<size_t> chosen;
  std::vector<bool> taken(candidates.size(), false);
  for (size_t k = 0; k < slots.size(); ++k) {
    const uint64_t cpus = static_cast<uint64_t>(slots[k]) * req.cpus_per_task;
    bool placed = false;
    for (size_t c = 0; c < candidates.size() && !placed; ++c) {
      if (taken[c]) continue;
      const size_t j = candidates[c];
      auto found = in_use.find(job.nodes[j]);
      const NodeUse& use = found == in_use.end() ? kFree : found->second;
      const size_t held = j < job.gpu_indices.size() ? job.gpu_indices[j].size() : 0;
      size_t gpus_busy = 0;
      if (j < job.gpu_indices.size()) {
        for (uint32_t g : job.gpu_indices[j]) gpus_busy += use.gpus.count(g);
      }
      const bool fits = cpus + use.cpus <= job.cpus_per_node &&
                        (req.mem_per_node_mb == 0 || job.mem_per_node_alloc_mb == 0 ||
                         req.mem_per_node_mb + use.mem_mb <= job.mem_per_node_alloc_mb) &&
                        gpus_wanted[k] + gpus_busy <= held;
      if (fits) {
        taken[c] = true;
        chosen.push_back(j);
        placed = true;
      }
    }
    if (!placed) return {};
  }
  return chosen;
}

}  // namespace

Result<StepLayout> PlanStep(const Job& job, const StepRequest& req,
                            const std::map<std::string, NodeUse>& in_use) {
  const Status no_nodes = InvalidArgument("Requested node configuration is not available");
  // The candidate nodes, in the job's order.
  std::vector<size_t> candidates;
  if (!req.nodelist.empty()) {
    for (const std::string& name : req.nodelist) {
      auto it = std::find(job.nodes.begin(), job.nodes.end(), name);
      if (it == job.nodes.end()) return no_nodes;
      candidates.push_back(static_cast<size_t>(it - job.nodes.begin()));
    }
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  } else {
    for (size_t i = 0; i < job.nodes.size(); ++i) candidates.push_back(i);
  }
  if (candidates.empty()) return no_nodes;
  if (req.nodes > candidates.size()) return no_nodes;

  uint32_t ntasks = req.ntasks;
  if (ntasks == 0) {
    if (req.ntasks_per_node > 0) {
      ntasks = req.ntasks_per_node *
               (req.nodes > 0 ? req.nodes : static_cast<uint32_t>(candidates.size()));
    } else if (req.nodes > 0 || !req.nodelist.empty()) {
      ntasks = req.nodes > 0 ? req.nodes : static_cast<uint32_t>(candidates.size());
    } else {
      for (uint32_t t : TasksPerNode(job.req, job.nodes.size())) ntasks += t;
    }
  }
  ntasks = std::max<uint32_t>(ntasks, 1);

  size_t nnodes = candidates.size();
  if (req.nodes > 0) {
    nnodes = req.nodes;
  } else if (req.ntasks_per_node > 0) {
    nnodes = (ntasks + req.ntasks_per_node - 1) / req.ntasks_per_node;
    if (nnodes > candidates.size()) return no_nodes;
  }
  // Every node of a step runs at least one task.
  nnodes = std::min<size_t>(nnodes, ntasks);

  // Task counts of the step's nodes in order ("slots"), before they are given nodes.
  std::vector<uint32_t> slots(nnodes, 0);
  if (req.ntasks_per_node > 0) {
    if (static_cast<uint64_t>(req.ntasks_per_node) * nnodes < ntasks) return no_nodes;
    uint32_t left = ntasks;
    for (auto& t : slots) {
      t = std::min(left, req.ntasks_per_node);
      left -= t;
    }
  } else {
    for (size_t i = 0; i < nnodes; ++i) {
      slots[i] = ntasks / static_cast<uint32_t>(nnodes) + (i < ntasks % nnodes ? 1 : 0);
    }
  }
  // What can never fit the job, whatever other steps do.
  const bool explicit_gpus = req.gpus > 0 || req.gpus_per_node > 0;
  std::vector<size_t> gpus_wanted(nnodes, 0);
  for (size_t k = 0; k < nnodes; ++k) {
    if (static_cast<uint64_t>(slots[k]) * req.cpus_per_task > job.cpus_per_node) {
      return InvalidArgument("More processors requested than permitted");
    }
    if (req.gpus_per_node > 0) {
      gpus_wanted[k] = req.gpus_per_node;
    } else if (req.gpus > 0) {
      gpus_wanted[k] = (req.gpus + nnodes - 1) / nnodes;
    }
  }
  if (req.mem_per_node_mb > 0 && job.mem_per_node_alloc_mb > 0 &&
      req.mem_per_node_mb > job.mem_per_node_alloc_mb) {
    return InvalidArgument("Memory required by task is not available");
  }
  std::vector<size_t> chosen = PlaceSlots(job, req, candidates, slots, gpus_wanted, {});
  if (chosen.empty()) return InvalidArgument("Invalid generic resource (gres) specification");
  if (!req.overlap) {
    chosen = PlaceSlots(job, req, candidates, slots, gpus_wanted, in_use);
    if (chosen.empty()) return Unavailable("Requested nodes are busy");
  }
  // The step's nodes in the job's order, each with its slot's task count.
  std::vector<size_t> order(nnodes);
  for (size_t k = 0; k < nnodes; ++k) order[k] = k;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return chosen[a] < chosen[b]; });

  static const NodeUse kFree;
  const bool exact = req.exact || req.exclusive;
  StepLayout out;
  out.ntasks = ntasks;
  for (size_t k : order) {
    const size_t j = chosen[k];
    out.node_index.push_back(j);
    out.nodes.push_back(job.nodes[j]);
    out.tasks_per_node.push_back(slots[k]);
    auto found = in_use.find(job.nodes[j]);
    const NodeUse& use = req.overlap || found == in_use.end() ? kFree : found->second;
    const std::vector<uint32_t> held =
        j < job.gpu_indices.size() ? job.gpu_indices[j] : std::vector<uint32_t>{};
    std::vector<uint32_t> gpus;
    if (!explicit_gpus) {
      gpus = held;  // every GPU of the job there, held by no step in particular
    } else {
      for (uint32_t g : held) {
        if (gpus.size() < gpus_wanted[k] && use.gpus.count(g) == 0) gpus.push_back(g);
      }
    }
    NodeUse holds;
    if (!req.overlap) {
      const uint32_t need = slots[k] * req.cpus_per_task;
      holds.cpus = exact ? need : job.cpus_per_node - use.cpus;
      holds.mem_mb = req.mem_per_node_mb;
      if (explicit_gpus) holds.gpus.insert(gpus.begin(), gpus.end());
    }
    out.gpus.push_back(std::move(gpus));
    out.holds.push_back(std::move(holds));
  }
  return out;
}

uint16_t PickMasterPort(JobId job_id, uint32_t step_id, const std::set<uint16_t>& taken) {
  // Above the common service ports and below Linux's ephemeral range (32768-60999), so an
  // outgoing connection's port rarely collides with it.
  constexpr uint32_t kBase = 20000, kSpan = 10000;
  uint32_t slot = static_cast<uint32_t>((job_id * 131 + step_id * 17) % kSpan);
  for (uint32_t i = 0; i < kSpan; ++i) {
    auto port = static_cast<uint16_t>(kBase + (slot + i) % kSpan);
    if (taken.count(port) == 0) return port;
  }
  return static_cast<uint16_t>(kBase + slot);
}

NodeTaskEnv BuildNodeTaskEnv(const std::vector<std::string>& job_env, const Step& step,
                             const StepLayout& layout, size_t node, const std::string& master_addr,
                             uint16_t master_port) {
  std::map<std::string, std::string> vars;
  for (const std::string& kv : job_env) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  vars.erase("ENVIRONMENT");  // a batch script's marker, not a task's
  const std::string step_id = std::to_string(step.step_id);
  const std::string nodelist = CompressHostlist(layout.nodes);
  const std::string nnodes = std::to_string(layout.nodes.size());
  const std::string ntasks = std::to_string(layout.ntasks);
  const std::string per_node = FoldCounts(layout.tasks_per_node);
  uint32_t first_rank = 0;
  for (size_t k = 0; k < node; ++k) first_rank += layout.tasks_per_node[k];
  const uint32_t local_tasks = layout.tasks_per_node[node];

  vars["SLURM_STEP_ID"] = step_id;
  vars["SLURM_STEPID"] = step_id;
  vars["SLURM_STEP_NODELIST"] = nodelist;
  vars["SLURM_STEP_NUM_NODES"] = nnodes;
  vars["SLURM_STEP_NUM_TASKS"] = ntasks;
  vars["SLURM_STEP_TASKS_PER_NODE"] = per_node;
  // Inside a step these describe the step, as srun sets them.
  vars["SLURM_NODELIST"] = nodelist;
  vars["SLURM_NNODES"] = nnodes;
  vars["SLURM_NTASKS"] = ntasks;
  vars["SLURM_NPROCS"] = ntasks;
  vars["SLURM_TASKS_PER_NODE"] = per_node;
  vars["SLURM_NODEID"] = std::to_string(node);
  vars["SLURM_TOPOLOGY_ADDR"] = layout.nodes[node];
  vars["SLURM_DISTRIBUTION"] = "block";
  if (step.cpus_per_task > 1) vars["SLURM_CPUS_PER_TASK"] = std::to_string(step.cpus_per_task);
  std::string gtids;
  for (uint32_t r = first_rank; r < first_rank + local_tasks; ++r) {
    gtids += (gtids.empty() ? "" : ",") + std::to_string(r);
  }
  vars["SLURM_GTIDS"] = gtids;
  if (!layout.gpus[node].empty()) {
    vars["SLURM_GPUS_ON_NODE"] = std::to_string(layout.gpus[node].size());
  }
  // PyTorch's env:// rendezvous.
  vars["MASTER_ADDR"] = master_addr;
  vars["MASTER_PORT"] = std::to_string(master_port);
  vars["WORLD_SIZE"] = ntasks;
  vars["LOCAL_WORLD_SIZE"] = std::to_string(local_tasks);
  vars.erase("SLURM_PROCID");
  vars.erase("SLURM_LOCALID");

  NodeTaskEnv out;
  out.common.reserve(vars.size());
  for (const auto& [k, v] : vars) out.common.push_back(k + "=" + v);
  for (uint32_t local = 0; local < local_tasks; ++local) {
    const std::string rank = std::to_string(first_rank + local);
    const std::string lid = std::to_string(local);
    out.ranks.push_back(first_rank + local);
    out.task.push_back(
        {"SLURM_PROCID=" + rank, "SLURM_LOCALID=" + lid, "RANK=" + rank, "LOCAL_RANK=" + lid});
  }
  return out;
}

}  // namespace shoal
