#include "controller/job_env.h"

#include <algorithm>
#include <map>

#include "common/hostlist.h"

namespace shoal {

std::string FoldCounts(const std::vector<uint32_t>& counts) {
  std::string out;
  for (size_t i = 0; i < counts.size();) {
    size_t j = i;
    while (j + 1 < counts.size() && counts[j + 1] == counts[i]) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(counts[i]);
    if (j > i) out += "(x" + std::to_string(j - i + 1) + ")";
    i = j + 1;
  }
  return out;
}

std::vector<uint32_t> TasksPerNode(const JobRequest& req, size_t num_nodes) {
  std::vector<uint32_t> out(num_nodes, 0);
  if (num_nodes == 0) return out;
  if (req.ntasks_per_node > 0) {
    std::fill(out.begin(), out.end(), req.ntasks_per_node);
    return out;
  }
  uint32_t tasks = std::max<uint32_t>(req.ntasks, 1);
  for (size_t i = 0; i < num_nodes; ++i) {
    out[i] = tasks / num_nodes + (i < tasks % num_nodes ? 1 : 0);
  }
  return out;
}

std::vector<std::string> BuildJobEnvironment(const Job& job, const std::vector<std::string>& submit_env,
                                             const std::string& cluster_name,
                                             const std::string& controller_endpoint,
                                             const ArrayBounds* array) {
  std::map<std::string, std::string> vars;
  for (const auto& kv : submit_env) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string key = kv.substr(0, eq);
    // Inherited from an enclosing array task: only this job's own array values may appear.
    if (key.rfind("SLURM_ARRAY_", 0) == 0) continue;
    // Submitted from inside a step (srun ... sbatch): a batch script is no step.
    if (key.rfind("SLURM_STEP", 0) == 0) continue;
    vars[std::move(key)] = kv.substr(eq + 1);
  }
  const JobRequest& r = job.req;
  const std::string id = std::to_string(job.id);
  const std::string nodelist = CompressHostlist(job.nodes);
  const std::string nnodes = std::to_string(job.nodes.size());
  auto tasks = TasksPerNode(r, job.nodes.size());
  uint32_t ntasks = 0;
  for (uint32_t t : tasks) ntasks += t;

  vars["SLURM_JOB_ID"] = id;
  vars["SLURM_JOBID"] = id;
  vars["SLURM_JOB_NAME"] = r.name;
  vars["SLURM_JOB_NODELIST"] = nodelist;
  vars["SLURM_NODELIST"] = nodelist;
  vars["SLURM_NNODES"] = nnodes;
  vars["SLURM_JOB_NUM_NODES"] = nnodes;
  vars["SLURM_NTASKS"] = std::to_string(ntasks);
  vars["SLURM_NPROCS"] = std::to_string(ntasks);
  vars["SLURM_TASKS_PER_NODE"] = FoldCounts(tasks);
  vars["SLURM_JOB_CPUS_PER_NODE"] =
      FoldCounts(std::vector<uint32_t>(job.nodes.size(), job.cpus_per_node));
  vars["SLURM_CPUS_ON_NODE"] = std::to_string(job.cpus_per_node);
  if (r.cpus_per_task > 1) vars["SLURM_CPUS_PER_TASK"] = std::to_string(r.cpus_per_task);
  if (r.ntasks_per_node > 0) vars["SLURM_NTASKS_PER_NODE"] = std::to_string(r.ntasks_per_node);
  if (r.mem_per_node_mb > 0) vars["SLURM_MEM_PER_NODE"] = std::to_string(r.mem_per_node_mb);
  if (r.mem_per_cpu_mb > 0) vars["SLURM_MEM_PER_CPU"] = std::to_string(r.mem_per_cpu_mb);
  vars["SLURM_SUBMIT_DIR"] = r.work_dir;
  vars["SLURM_SUBMIT_HOST"] = r.submit_host;
  vars["SLURM_JOB_PARTITION"] = r.partition;
  vars["SLURM_CLUSTER_NAME"] = cluster_name;
  vars["SLURM_JOB_USER"] = r.user;
  vars["SLURM_JOB_UID"] = std::to_string(r.uid);
  vars["SLURM_JOB_GID"] = std::to_string(r.gid);
  if (!r.account.empty()) vars["SLURM_JOB_ACCOUNT"] = r.account;
  vars["SLURM_NODEID"] = "0";
  vars["SLURM_PROCID"] = "0";
  vars["SLURM_LOCALID"] = "0";
  vars["SLURM_PRIO_PROCESS"] = std::to_string(r.nice);
  vars["SLURM_GTIDS"] = "0";
  vars["SLURM_TOPOLOGY_ADDR"] = job.nodes.empty() ? "" : job.nodes.front();
  vars["SLURM_TOPOLOGY_ADDR_PATTERN"] = "node";
  vars["ENVIRONMENT"] = "BATCH";
  if (job.restart_count > 0) vars["SLURM_RESTART_COUNT"] = std::to_string(job.restart_count);
  if (r.gpus_per_node > 0) {
    vars["SLURM_GPUS_ON_NODE"] = std::to_string(r.gpus_per_node);
    vars["SLURM_GPUS_PER_NODE"] = std::to_string(r.gpus_per_node);
  }
  if (job.IsArrayTask() && array != nullptr) {
    vars["SLURM_ARRAY_JOB_ID"] = std::to_string(job.array_job_id);
    vars["SLURM_ARRAY_TASK_ID"] = std::to_string(job.array_task_id);
    vars["SLURM_ARRAY_TASK_COUNT"] = std::to_string(array->count);
    vars["SLURM_ARRAY_TASK_MIN"] = std::to_string(array->min);
    vars["SLURM_ARRAY_TASK_MAX"] = std::to_string(array->max);
    vars["SLURM_ARRAY_TASK_STEP"] = std::to_string(array->step);
  }
  // Lets squeue, scontrol and friends inside the job find this cluster.
  vars["SHOAL_CONTROLLER"] = controller_endpoint;

  std::vector<std::string> env;
  env.reserve(vars.size());
  for (const auto& [k, v] : vars) env.push_back(k + "=" + v);
  return env;
}

}  // namespace shoal
