#include "controller/step_layout.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace shoal {
namespace {

using Counts = std::vector<uint32_t>;

Job Allocation(size_t nodes, uint32_t cpus, uint32_t ntasks) {
  Job job;
  job.id = 7;
  job.state = JobState::kRunning;
  job.req.ntasks = ntasks;
  for (size_t i = 0; i < nodes; ++i) job.nodes.push_back("node" + std::to_string(i + 1));
  job.cpus_per_node = cpus;
  return job;
}

StepRequest Request(uint32_t nodes, uint32_t ntasks) {
  StepRequest r;
  r.argv = {"hostname"};
  r.nodes = nodes;
  r.ntasks = ntasks;
  return r;
}

TEST(PlanStepTest, DefaultsToTheAllocation) {
  auto l = PlanStep(Allocation(3, 4, 7), Request(0, 0), {});
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->nodes, (std::vector<std::string>{"node1", "node2", "node3"}));
  EXPECT_EQ(l->tasks_per_node, (Counts{3, 2, 2}));
  EXPECT_EQ(l->ntasks, 7u);
}

TEST(PlanStepTest, BlockDistributionOverRequestedNodes) {
  auto l = PlanStep(Allocation(2, 4, 2), Request(2, 4), {});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->tasks_per_node, (Counts{2, 2}));
  // Fewer tasks than nodes: one node per task.
  l = PlanStep(Allocation(4, 4, 4), Request(0, 2), {});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->nodes.size(), 2u);
  EXPECT_EQ(l->tasks_per_node, (Counts{1, 1}));
  // -N alone: one task per node.
  l = PlanStep(Allocation(4, 4, 8), Request(3, 0), {});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->tasks_per_node, (Counts{1, 1, 1}));
}

TEST(PlanStepTest, NtasksPerNode) {
  StepRequest r = Request(0, 5);
  r.ntasks_per_node = 2;
  auto l = PlanStep(Allocation(4, 4, 4), r, {});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->tasks_per_node, (Counts{2, 2, 1}));
  r.ntasks = 0;
  l = PlanStep(Allocation(2, 4, 2), r, {});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->ntasks, 4u);
  EXPECT_EQ(l->tasks_per_node, (Counts{2, 2}));
}

TEST(PlanStepTest, BiggerThanTheAllocationFails) {
  auto l = PlanStep(Allocation(2, 2, 2), Request(0, 100), {});
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().message(), "More processors requested than permitted");
  l = PlanStep(Allocation(2, 2, 2), Request(3, 0), {});
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().message(), "Requested node configuration is not available");
  StepRequest r = Request(0, 1);
  r.nodelist = {"node9"};
  EXPECT_FALSE(PlanStep(Allocation(2, 2, 2), r, {}).ok());
  r = Request(0, 2);
  r.cpus_per_task = 2;
  r.nodes = 1;
  EXPECT_FALSE(PlanStep(Allocation(2, 2, 2), r, {}).ok());
}

TEST(PlanStepTest, NodelistAndExclusive) {
  StepRequest r = Request(0, 0);
  r.nodelist = {"node2"};
  auto l = PlanStep(Allocation(2, 4, 2), r, {});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->nodes, (std::vector<std::string>{"node2"}));
  EXPECT_EQ(l->node_index, (std::vector<size_t>{1}));
}

NodeUse Cpus(uint32_t n) {
  NodeUse u;
  u.cpus = n;
  return u;
}

TEST(PlanStepTest, StepsDoNotShareCpus) {
  // --exclusive (and --exact, -c) steps hold only the CPUs their tasks need.
  StepRequest r = Request(1, 2);
  r.exclusive = true;
  auto l = PlanStep(Allocation(1, 4, 1), r, {{"node1", Cpus(2)}});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->holds[0].cpus, 2u);
  auto busy = PlanStep(Allocation(1, 4, 1), r, {{"node1", Cpus(3)}});
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(busy.status().message(), "Requested nodes are busy");
  // Without --exact a step takes every free CPU of the job on its nodes, and still waits for
  // the CPUs its tasks need.
  r.exclusive = false;
  l = PlanStep(Allocation(1, 4, 1), r, {{"node1", Cpus(1)}});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->holds[0].cpus, 3u);
  EXPECT_FALSE(PlanStep(Allocation(1, 4, 1), r, {{"node1", Cpus(3)}}).ok());
  // --overlap shares everything and holds nothing.
  r.overlap = true;
  l = PlanStep(Allocation(1, 4, 1), r, {{"node1", Cpus(4)}});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->holds[0].cpus, 0u);
  // A step that can never fit fails at once, busy or not.
  r = Request(1, 5);
  auto never = PlanStep(Allocation(1, 4, 1), r, {{"node1", Cpus(4)}});
  ASSERT_FALSE(never.ok());
  EXPECT_EQ(never.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(never.status().message(), "More processors requested than permitted");
}

TEST(PlanStepTest, FewerNodesThanTheJobTakeTheFreeOnes) {
  StepRequest r = Request(0, 1);
  r.exact = true;
  auto l = PlanStep(Allocation(3, 2, 6), r, {{"node1", Cpus(2)}, {"node2", Cpus(1)}});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->nodes, (std::vector<std::string>{"node2"}));
  r = Request(2, 3);
  r.exact = true;
  l = PlanStep(Allocation(3, 2, 6), r, {{"node1", Cpus(2)}});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->nodes, (std::vector<std::string>{"node2", "node3"}));
  EXPECT_EQ(l->tasks_per_node, (Counts{2, 1}));
}

TEST(PlanStepTest, MemoryAndGpusOfOtherSteps) {
  Job job = Allocation(1, 4, 1);
  job.mem_per_node_alloc_mb = 1000;
  job.gpu_indices = {{4, 5}};
  StepRequest r = Request(1, 1);
  r.exact = true;
  r.mem_per_node_mb = 600;
  NodeUse use;
  use.mem_mb = 500;
  auto l = PlanStep(job, r, {{"node1", use}});
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kUnavailable);
  r.mem_per_node_mb = 2000;
  l = PlanStep(job, r, {});
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().message(), "Memory required by task is not available");
  r.mem_per_node_mb = 0;
  r.gpus = 1;
  use = NodeUse();
  use.gpus = {4};
  l = PlanStep(job, r, {{"node1", use}});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->gpus[0], (std::vector<uint32_t>{5}));
  EXPECT_EQ(l->holds[0].gpus, (std::set<uint32_t>{5}));
  use.gpus = {4, 5};
  l = PlanStep(job, r, {{"node1", use}});
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kUnavailable);
  r.gpus = 3;
  l = PlanStep(job, r, {});
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().message(), "Invalid generic resource (gres) specification");
}

TEST(PlanStepTest, GpusOfTheJob) {
  Job job = Allocation(2, 4, 2);
  job.gpu_indices = {{0, 1}, {2, 3}};
  auto l = PlanStep(job, Request(0, 0), {});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->gpus, (std::vector<std::vector<uint32_t>>{{0, 1}, {2, 3}}));
  StepRequest r = Request(0, 0);
  r.gpus_per_node = 1;
  l = PlanStep(job, r, {});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->gpus, (std::vector<std::vector<uint32_t>>{{0}, {2}}));
  r.gpus_per_node = 3;
  EXPECT_FALSE(PlanStep(job, r, {}).ok());
}

TEST(PickMasterPortTest, StableAndAvoidsTakenPorts) {
  uint16_t p = PickMasterPort(12, 0, {});
  EXPECT_GE(p, 20000);
  EXPECT_LT(p, 30000);
  EXPECT_EQ(PickMasterPort(12, 0, {}), p);
  EXPECT_NE(PickMasterPort(12, 0, {p}), p);
  EXPECT_NE(PickMasterPort(12, 1, {}), p);
}

std::map<std::string, std::string> AsMap(const std::vector<std::string>& env) {
  std::map<std::string, std::string> out;
  for (const auto& kv : env) out[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
  return out;
}

TEST(BuildNodeTaskEnvTest, StepAndRankVariables) {
  Job job = Allocation(3, 4, 4);
  auto layout = PlanStep(job, Request(3, 5), {});
  ASSERT_TRUE(layout.ok());
  Step step;
  step.job_id = 7;
  step.step_id = 2;
  step.cpus_per_task = 1;
  std::vector<std::string> job_env = {"SLURM_JOB_ID=7", "ENVIRONMENT=BATCH", "SLURM_PROCID=0",
                                      "SLURM_NTASKS=4", "HOME=/home/a"};
  NodeTaskEnv env = BuildNodeTaskEnv(job_env, step, *layout, 1, "10.0.0.1", 29400);
  auto common = AsMap(env.common);
  EXPECT_EQ(common["SLURM_JOB_ID"], "7");
  EXPECT_EQ(common["HOME"], "/home/a");
  EXPECT_EQ(common.count("ENVIRONMENT"), 0u);
  EXPECT_EQ(common.count("SLURM_PROCID"), 0u);
  EXPECT_EQ(common["SLURM_STEP_ID"], "2");
  EXPECT_EQ(common["SLURM_STEPID"], "2");
  EXPECT_EQ(common["SLURM_STEP_NODELIST"], "node[1-3]");
  EXPECT_EQ(common["SLURM_STEP_NUM_NODES"], "3");
  EXPECT_EQ(common["SLURM_STEP_NUM_TASKS"], "5");
  EXPECT_EQ(common["SLURM_STEP_TASKS_PER_NODE"], "2(x2),1");
  EXPECT_EQ(common["SLURM_NTASKS"], "5");
  EXPECT_EQ(common["SLURM_NODEID"], "1");
  EXPECT_EQ(common["SLURM_GTIDS"], "2,3");
  EXPECT_EQ(common["MASTER_ADDR"], "10.0.0.1");
  EXPECT_EQ(common["MASTER_PORT"], "29400");
  EXPECT_EQ(common["WORLD_SIZE"], "5");
  EXPECT_EQ(common["LOCAL_WORLD_SIZE"], "2");
  ASSERT_EQ(env.ranks, (std::vector<uint32_t>{2, 3}));
  auto second = AsMap(env.task[1]);
  EXPECT_EQ(second["SLURM_PROCID"], "3");
  EXPECT_EQ(second["SLURM_LOCALID"], "1");
  EXPECT_EQ(second["RANK"], "3");
  EXPECT_EQ(second["LOCAL_RANK"], "1");
}

}  // namespace
}  // namespace shoal
