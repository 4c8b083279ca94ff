#include "controller/job_env.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace shoal {
namespace {

using Counts = std::vector<uint32_t>;
using Env = std::map<std::string, std::string>;

TEST(FoldCountsTest, FoldsRunsOfEqualCounts) {
  EXPECT_EQ(FoldCounts({}), "");
  EXPECT_EQ(FoldCounts({1}), "1");
  EXPECT_EQ(FoldCounts({2, 2, 2, 1}), "2(x3),1");
  EXPECT_EQ(FoldCounts({4, 4}), "4(x2)");
  EXPECT_EQ(FoldCounts({1, 2, 1}), "1,2,1");
  EXPECT_EQ(FoldCounts({3, 2, 2, 3, 3}), "3,2(x2),3(x2)");
}

TEST(TasksPerNodeTest, BlockDistribution) {
  JobRequest r;
  r.ntasks = 5;
  EXPECT_EQ(TasksPerNode(r, 2), (Counts{3, 2}));
  r.ntasks = 7;
  EXPECT_EQ(TasksPerNode(r, 3), (Counts{3, 2, 2}));
  r.ntasks = 4;
  EXPECT_EQ(TasksPerNode(r, 4), (Counts{1, 1, 1, 1}));
  EXPECT_EQ(TasksPerNode(r, 1), (Counts{4}));
  EXPECT_EQ(TasksPerNode(r, 0), (Counts{}));
  r.ntasks = 0;
  EXPECT_EQ(TasksPerNode(r, 1), (Counts{1}));
}

TEST(TasksPerNodeTest, NtasksPerNodeWins) {
  JobRequest r;
  r.ntasks = 1;
  r.ntasks_per_node = 3;
  EXPECT_EQ(TasksPerNode(r, 2), (Counts{3, 3}));
}

Env ToMap(const std::vector<std::string>& env) {
  Env m;
  std::set<std::string> keys;
  for (const auto& kv : env) {
    auto eq = kv.find('=');
    EXPECT_NE(eq, std::string::npos) << kv;
    if (eq == std::string::npos) continue;
    std::string key = kv.substr(0, eq);
    EXPECT_TRUE(keys.insert(key).second) << "duplicate " << key;
    m[key] = kv.substr(eq + 1);
  }
  return m;
}

Job RunningJob() {
  Job j;
  j.id = 42;
  j.state = JobState::kRunning;
  j.req.name = "sim";
  j.req.user = "alice";
  j.req.uid = 1001;
  j.req.gid = 100;
  j.req.partition = "batch";
  j.req.work_dir = "/home/alice/sim";
  j.req.submit_host = "login1";
  j.req.min_nodes = 3;
  j.req.ntasks = 5;
  j.nodes = {"n1", "n2", "n3"};
  j.cpus_per_node = 2;
  j.alloc_cpus = 6;
  return j;
}

Env Build(const Job& job, const std::vector<std::string>& submit_env = {},
          const ArrayBounds* array = nullptr) {
  return ToMap(BuildJobEnvironment(job, submit_env, "shoal", "unix:/run/shoal.sock", array));
}

std::string Get(const Env& env, const std::string& key) {
  auto it = env.find(key);
  return it == env.end() ? "<unset>" : it->second;
}

TEST(BuildJobEnvironmentTest, SlurmVariables) {
  Env env = Build(RunningJob());
  EXPECT_EQ(Get(env, "SLURM_JOB_ID"), "42");
  EXPECT_EQ(Get(env, "SLURM_JOBID"), "42");
  EXPECT_EQ(Get(env, "SLURM_JOB_NAME"), "sim");
  EXPECT_EQ(Get(env, "SLURM_JOB_NODELIST"), "n[1-3]");
  EXPECT_EQ(Get(env, "SLURM_NODELIST"), "n[1-3]");
  EXPECT_EQ(Get(env, "SLURM_NNODES"), "3");
  EXPECT_EQ(Get(env, "SLURM_JOB_NUM_NODES"), "3");
  EXPECT_EQ(Get(env, "SLURM_NTASKS"), "5");
  EXPECT_EQ(Get(env, "SLURM_NPROCS"), "5");
  EXPECT_EQ(Get(env, "SLURM_TASKS_PER_NODE"), "2(x2),1");
  EXPECT_EQ(Get(env, "SLURM_JOB_CPUS_PER_NODE"), "2(x3)");
  EXPECT_EQ(Get(env, "SLURM_CPUS_ON_NODE"), "2");
  EXPECT_EQ(Get(env, "SLURM_SUBMIT_DIR"), "/home/alice/sim");
  EXPECT_EQ(Get(env, "SLURM_SUBMIT_HOST"), "login1");
  EXPECT_EQ(Get(env, "SLURM_JOB_PARTITION"), "batch");
  EXPECT_EQ(Get(env, "SLURM_CLUSTER_NAME"), "shoal");
  EXPECT_EQ(Get(env, "SLURM_JOB_USER"), "alice");
  EXPECT_EQ(Get(env, "SLURM_JOB_UID"), "1001");
  EXPECT_EQ(Get(env, "SLURM_JOB_GID"), "100");
  EXPECT_EQ(Get(env, "SLURM_TOPOLOGY_ADDR"), "n1");
  EXPECT_EQ(Get(env, "ENVIRONMENT"), "BATCH");
  EXPECT_EQ(Get(env, "SHOAL_CONTROLLER"), "unix:/run/shoal.sock");
  // Only set when asked for.
  for (const char* key :
       {"SLURM_CPUS_PER_TASK", "SLURM_NTASKS_PER_NODE", "SLURM_MEM_PER_NODE", "SLURM_MEM_PER_CPU",
        "SLURM_JOB_ACCOUNT", "SLURM_RESTART_COUNT", "SLURM_GPUS_ON_NODE", "SLURM_GPUS_PER_NODE"}) {
    EXPECT_EQ(env.count(key), 0u) << key;
  }
}

TEST(BuildJobEnvironmentTest, OptionalVariables) {
  Job j = RunningJob();
  j.req.cpus_per_task = 4;
  j.req.ntasks = 6;
  j.req.ntasks_per_node = 2;
  j.req.mem_per_node_mb = 8000;
  j.req.account = "physics";
  j.req.gpus_per_node = 2;
  j.restart_count = 1;
  Env env = Build(j);
  EXPECT_EQ(Get(env, "SLURM_CPUS_PER_TASK"), "4");
  EXPECT_EQ(Get(env, "SLURM_NTASKS_PER_NODE"), "2");
  EXPECT_EQ(Get(env, "SLURM_TASKS_PER_NODE"), "2(x3)");
  EXPECT_EQ(Get(env, "SLURM_NTASKS"), "6");
  EXPECT_EQ(Get(env, "SLURM_MEM_PER_NODE"), "8000");
  EXPECT_EQ(Get(env, "SLURM_JOB_ACCOUNT"), "physics");
  EXPECT_EQ(Get(env, "SLURM_GPUS_ON_NODE"), "2");
  EXPECT_EQ(Get(env, "SLURM_RESTART_COUNT"), "1");
  j.req.mem_per_node_mb = 0;
  j.req.mem_per_cpu_mb = 500;
  env = Build(j);
  EXPECT_EQ(Get(env, "SLURM_MEM_PER_CPU"), "500");
  EXPECT_EQ(env.count("SLURM_MEM_PER_NODE"), 0u);
}

TEST(BuildJobEnvironmentTest, NoArrayVariablesOutsideArrays) {
  ArrayBounds bounds{4, 0, 3, 1};
  // Even when the job was submitted from inside an array task.
  Env env = Build(RunningJob(), {"SLURM_ARRAY_TASK_ID=7", "SLURM_ARRAY_JOB_ID=9"}, &bounds);
  for (const auto& [key, value] : env) {
    EXPECT_NE(key.rfind("SLURM_ARRAY_", 0), 0u) << key << "=" << value;
  }
}

TEST(BuildJobEnvironmentTest, ArrayTaskVariables) {
  Job j = RunningJob();
  j.id = 47;
  j.array_job_id = 45;
  j.array_task_id = 4;
  ArrayBounds bounds{3, 0, 4, 2};
  Env env = Build(j, {"SLURM_ARRAY_TASK_COUNT=99"}, &bounds);
  EXPECT_EQ(Get(env, "SLURM_JOB_ID"), "47");
  EXPECT_EQ(Get(env, "SLURM_ARRAY_JOB_ID"), "45");
  EXPECT_EQ(Get(env, "SLURM_ARRAY_TASK_ID"), "4");
  EXPECT_EQ(Get(env, "SLURM_ARRAY_TASK_COUNT"), "3");
  EXPECT_EQ(Get(env, "SLURM_ARRAY_TASK_MIN"), "0");
  EXPECT_EQ(Get(env, "SLURM_ARRAY_TASK_MAX"), "4");
  EXPECT_EQ(Get(env, "SLURM_ARRAY_TASK_STEP"), "2");
}

TEST(BuildJobEnvironmentTest, SubmitEnvironmentIsKeptAndSlurmOverrides) {
  Env env = Build(RunningJob(),
                  {"HOME=/home/alice", "OPT=a=b", "EMPTY=", "SLURM_JOB_ID=1", "SLURM_NNODES=99",
                   "MY_SLURM_THING=x", "NOEQUALS", "=novalue", "SHOAL_CONTROLLER=elsewhere"});
  EXPECT_EQ(Get(env, "HOME"), "/home/alice");
  EXPECT_EQ(Get(env, "OPT"), "a=b");
  EXPECT_EQ(Get(env, "EMPTY"), "");
  EXPECT_EQ(Get(env, "MY_SLURM_THING"), "x");
  EXPECT_EQ(Get(env, "SLURM_JOB_ID"), "42");
  EXPECT_EQ(Get(env, "SLURM_NNODES"), "3");
  EXPECT_EQ(Get(env, "SHOAL_CONTROLLER"), "unix:/run/shoal.sock");
  EXPECT_EQ(env.count("NOEQUALS"), 0u);
  EXPECT_EQ(env.count(""), 0u);
}

TEST(BuildJobEnvironmentTest, LastSubmitValueWins) {
  Env env = Build(RunningJob(), {"X=1", "X=2"});
  EXPECT_EQ(Get(env, "X"), "2");
}

}  // namespace
}  // namespace shoal
