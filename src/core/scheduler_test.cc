#include "core/scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/slurm_time.h"

namespace shoal {
namespace {

constexpr int64_t kNow = 10000;

Node MakeNode(const std::string& name, uint32_t cpus, uint64_t mem_mb = 4000, uint32_t gpus = 0) {
  Node n;
  n.name = name;
  n.cpus = cpus;
  n.memory_mb = mem_mb;
  n.gpus = gpus;
  n.gpu_busy.assign(gpus, false);
  n.responding = true;
  n.boot_time = 1;
  return n;
}

Partition MakePartition(const std::string& name, std::vector<std::string> nodes = {}) {
  Partition p;
  p.name = name;
  p.all_nodes = nodes.empty();
  p.nodes = std::move(nodes);
  return p;
}

// A pending job asking for one CPU in partition "batch"; submitted in id order.
Job MakeJob(JobId id, uint32_t priority = 100, uint32_t cpus = 1) {
  Job j;
  j.id = id;
  j.priority = priority;
  j.submit_time = static_cast<int64_t>(id);
  j.req.name = "job" + std::to_string(id);
  j.req.user = "alice";
  j.req.partition = "batch";
  j.req.cpus_per_task = cpus;
  return j;
}

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest() { partitions.push_back(MakePartition("batch")); }

  Job& Add(Job job) { return jobs[job.id] = std::move(job); }

  ScheduleResult Run(int64_t now = kNow) {
    ClusterView view{&jobs, &nodes, &partitions};
    return Schedule(view, now);
  }

  static std::vector<JobId> Started(const ScheduleResult& r) {
    std::vector<JobId> ids;
    for (const auto& s : r.starts) ids.push_back(s.job_id);
    return ids;
  }

  static const StartDecision* StartOf(const ScheduleResult& r, JobId id) {
    for (const auto& s : r.starts) {
      if (s.job_id == id) return &s;
    }
    return nullptr;
  }

  static std::optional<std::string> ReasonOf(const ScheduleResult& r, JobId id) {
    std::optional<std::string> reason;
    for (const auto& [job_id, text] : r.reasons) {
      if (job_id == id) {
        EXPECT_FALSE(reason.has_value()) << "two reasons for job " << id;
        reason = text;
      }
    }
    return reason;
  }

  std::map<JobId, Job> jobs;
  std::vector<Node> nodes;
  std::vector<Partition> partitions;
};

using Ids = std::vector<JobId>;
using Names = std::vector<std::string>;

TEST_F(SchedulerTest, NothingToDo) {
  nodes.push_back(MakeNode("n1", 4));
  ScheduleResult r = Run();
  EXPECT_TRUE(r.starts.empty());
  EXPECT_TRUE(r.reasons.empty());
}

TEST_F(SchedulerTest, StartsInPriorityOrderThenSubmitOrder) {
  nodes.push_back(MakeNode("n1", 4));
  Add(MakeJob(1, 10, 2));
  Add(MakeJob(2, 20, 2));
  Add(MakeJob(3, 10, 2));  // same priority as job 1, submitted later
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{2, 1}));
  EXPECT_EQ(ReasonOf(r, 3), "Resources");
}

TEST_F(SchedulerTest, SamePrioritySameSubmitTimeGoesByJobId) {
  nodes.push_back(MakeNode("n1", 1));
  Job a = MakeJob(5);
  Job b = MakeJob(4);
  a.submit_time = b.submit_time = 50;
  Add(a);
  Add(b);
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{4}));
  EXPECT_EQ(ReasonOf(r, 5), "Resources");
}

TEST_F(SchedulerTest, OnlyPendingJobsAreConsidered) {
  nodes.push_back(MakeNode("n1", 4));
  for (JobState s : {JobState::kRunning, JobState::kCompleted, JobState::kSuspended,
                     JobState::kCompleting, JobState::kFailed}) {
    Job j = MakeJob(jobs.size() + 1);
    j.state = s;
    Add(j);
  }
  ScheduleResult r = Run();
  EXPECT_TRUE(r.starts.empty());
  EXPECT_TRUE(r.reasons.empty());
}

TEST_F(SchedulerTest, FirstFitInConfigOrderByCpusAndMemory) {
  nodes.push_back(MakeNode("small", 2, 1000));
  nodes.push_back(MakeNode("big", 8, 8000));
  Job cpu_heavy = MakeJob(1, 100, 4);
  Job mem_heavy = MakeJob(2, 90);
  mem_heavy.req.mem_per_node_mb = 2000;
  Job tiny = MakeJob(3, 80);
  Add(cpu_heavy);
  Add(mem_heavy);
  Add(tiny);
  ScheduleResult r = Run();
  ASSERT_EQ(Started(r), (Ids{1, 2, 3}));
  EXPECT_EQ(StartOf(r, 1)->nodes, (Names{"big"}));
  EXPECT_EQ(StartOf(r, 1)->per_node.cpus, 4u);
  EXPECT_EQ(StartOf(r, 2)->nodes, (Names{"big"}));
  EXPECT_EQ(StartOf(r, 2)->per_node.mem_mb, 2000u);
  EXPECT_EQ(StartOf(r, 3)->nodes, (Names{"small"}));
  EXPECT_TRUE(r.reasons.empty());
}

TEST_F(SchedulerTest, DecisionsInOnePassSeeEachOther) {
  nodes.push_back(MakeNode("n1", 4, 1000));
  nodes.push_back(MakeNode("n2", 4, 1000));
  Job a = MakeJob(1, 100, 3);
  Job b = MakeJob(2, 100, 3);
  Job c = MakeJob(3, 100, 1);
  c.req.mem_per_cpu_mb = 600;  // n1 and n2 have 1000; 600 fits once
  Job d = MakeJob(4, 100, 1);
  d.req.mem_per_node_mb = 600;
  Add(a);
  Add(b);
  Add(c);
  Add(d);
  ScheduleResult r = Run();
  ASSERT_EQ(Started(r), (Ids{1, 2, 3, 4}));
  EXPECT_EQ(StartOf(r, 1)->nodes, (Names{"n1"}));
  EXPECT_EQ(StartOf(r, 2)->nodes, (Names{"n2"}));
  EXPECT_EQ(StartOf(r, 3)->nodes, (Names{"n1"}));
  EXPECT_EQ(StartOf(r, 3)->per_node.mem_mb, 600u);
  EXPECT_EQ(StartOf(r, 4)->nodes, (Names{"n2"}));
}

TEST_F(SchedulerTest, ExistingAllocationsCount) {
  nodes.push_back(MakeNode("n1", 4, 1000));
  nodes.push_back(MakeNode("n2", 4, 1000));
  nodes[0].alloc_cpus = 3;
  nodes[0].running_jobs = {99};
  nodes[1].alloc_mem_mb = 900;
  nodes[1].running_jobs = {98};
  Job j = MakeJob(1, 100, 2);
  Add(j);
  Job m = MakeJob(2, 90, 2);  // n1 lacks CPUs, n2 memory
  m.req.mem_per_node_mb = 200;
  Add(m);
  ScheduleResult r = Run();
  ASSERT_EQ(Started(r), (Ids{1}));
  EXPECT_EQ(StartOf(r, 1)->nodes, (Names{"n2"}));
  EXPECT_EQ(ReasonOf(r, 2), "Resources");
}

TEST_F(SchedulerTest, UnschedulableNodesAreSkipped) {
  nodes.push_back(MakeNode("drained", 4));
  nodes.push_back(MakeNode("down", 4));
  nodes.push_back(MakeNode("silent", 4));
  nodes.push_back(MakeNode("ok", 4));
  nodes[0].drain = true;
  nodes[1].down = true;
  nodes[2].responding = false;
  Add(MakeJob(1));
  Add(MakeJob(2, 100, 4));
  ScheduleResult r = Run();
  ASSERT_EQ(Started(r), (Ids{1}));
  EXPECT_EQ(StartOf(r, 1)->nodes, (Names{"ok"}));
  EXPECT_EQ(ReasonOf(r, 2), "Resources");
}

TEST_F(SchedulerTest, GpusGetConcreteFreeIndices) {
  nodes.push_back(MakeNode("g1", 16, 4000, 4));
  nodes[0].gpu_busy = {true, false, true, false};
  Job a = MakeJob(1, 100);
  a.req.gpus_per_node = 2;
  Job b = MakeJob(2, 90);
  b.req.gpus_per_node = 1;
  Add(a);
  Add(b);
  ScheduleResult r = Run();
  ASSERT_EQ(Started(r), (Ids{1}));
  const StartDecision* s = StartOf(r, 1);
  EXPECT_EQ(s->per_node.gpus, 2u);
  ASSERT_EQ(s->gpu_indices.size(), 1u);
  EXPECT_EQ(s->gpu_indices[0], (std::vector<uint32_t>{1, 3}));
  EXPECT_EQ(ReasonOf(r, 2), "Resources");
}

TEST_F(SchedulerTest, GpuJobsShareANodeWithoutSharingGpus) {
  nodes.push_back(MakeNode("g1", 16, 4000, 4));
  for (JobId id = 1; id <= 3; ++id) {
    Job j = MakeJob(id);
    j.req.gpus_per_node = id == 3 ? 2 : 1;
    Add(j);
  }
  ScheduleResult r = Run();
  ASSERT_EQ(Started(r), (Ids{1, 2, 3}));
  EXPECT_EQ(StartOf(r, 1)->gpu_indices[0], (std::vector<uint32_t>{0}));
  EXPECT_EQ(StartOf(r, 2)->gpu_indices[0], (std::vector<uint32_t>{1}));
  EXPECT_EQ(StartOf(r, 3)->gpu_indices[0], (std::vector<uint32_t>{2, 3}));
}

TEST_F(SchedulerTest, GpuTypeMustMatch) {
  nodes.push_back(MakeNode("v100", 8, 4000, 2));
  nodes.push_back(MakeNode("a100", 8, 4000, 2));
  nodes[0].gpu_type = "v100";
  nodes[1].gpu_type = "a100";
  Job j = MakeJob(1);
  j.req.gpus_per_node = 1;
  j.req.gpu_type = "a100";
  Add(j);
  ScheduleResult r = Run();
  ASSERT_EQ(Started(r), (Ids{1}));
  EXPECT_EQ(StartOf(r, 1)->nodes, (Names{"a100"}));
  EXPECT_EQ(StartOf(r, 1)->gpu_indices, (std::vector<std::vector<uint32_t>>{{0}}));
}

TEST_F(SchedulerTest, JobsWithoutGpusGetEmptyIndexLists) {
  nodes.push_back(MakeNode("n1", 4));
  nodes.push_back(MakeNode("n2", 4));
  Job j = MakeJob(1);
  j.req.min_nodes = 2;
  j.req.ntasks = 2;
  Add(j);
  ScheduleResult r = Run();
  ASSERT_EQ(Started(r), (Ids{1}));
  EXPECT_EQ(StartOf(r, 1)->gpu_indices, (std::vector<std::vector<uint32_t>>{{}, {}}));
}

TEST_F(SchedulerTest, MultiNodeJobSpreadsTasks) {
  nodes.push_back(MakeNode("n1", 4, 4000, 2));
  nodes.push_back(MakeNode("n2", 2, 4000, 2));
  nodes.push_back(MakeNode("n3", 4, 4000, 2));
  Job j = MakeJob(1);
  j.req.min_nodes = 2;
  j.req.ntasks = 6;  // 3 per node: n2 is too small
  j.req.gpus_per_node = 1;
  Add(j);
  ScheduleResult r = Run();
  ASSERT_EQ(Started(r), (Ids{1}));
  const StartDecision* s = StartOf(r, 1);
  EXPECT_EQ(s->nodes, (Names{"n1", "n3"}));
  EXPECT_EQ(s->per_node.cpus, 3u);
  EXPECT_EQ(s->gpu_indices, (std::vector<std::vector<uint32_t>>{{0}, {0}}));
}

TEST_F(SchedulerTest, MultiNodeJobWaitsForEnoughNodes) {
  nodes.push_back(MakeNode("n1", 4));
  nodes.push_back(MakeNode("n2", 4));
  nodes[1].drain = true;
  Job j = MakeJob(1);
  j.req.min_nodes = 2;
  Add(j);
  ScheduleResult r = Run();
  EXPECT_TRUE(r.starts.empty());
  EXPECT_EQ(ReasonOf(r, 1), "Resources");
}

TEST_F(SchedulerTest, ExclusiveTakesWholeIdleNode) {
  nodes.push_back(MakeNode("n1", 8));
  nodes.push_back(MakeNode("n2", 8));
  nodes[0].alloc_cpus = 1;
  nodes[0].running_jobs = {99};
  Job ex = MakeJob(1, 100);
  ex.req.exclusive = true;
  Add(ex);
  Add(MakeJob(2, 90));  // n1 still has room; n2 is taken whole
  Job ex2 = MakeJob(3, 80);
  ex2.req.exclusive = true;
  Add(ex2);
  ScheduleResult r = Run();
  ASSERT_EQ(Started(r), (Ids{1, 2}));
  EXPECT_EQ(StartOf(r, 1)->nodes, (Names{"n2"}));
  EXPECT_EQ(StartOf(r, 1)->per_node.cpus, 8u);
  EXPECT_EQ(StartOf(r, 2)->nodes, (Names{"n1"}));
  EXPECT_EQ(ReasonOf(r, 3), "Resources");
}

TEST_F(SchedulerTest, ExclusiveNodeIsNotShared) {
  nodes.push_back(MakeNode("n1", 8));
  Job ex = MakeJob(1, 100);
  ex.req.exclusive = true;
  Add(ex);
  Add(MakeJob(2, 90));
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{1}));
  EXPECT_EQ(ReasonOf(r, 2), "Resources");
}

TEST_F(SchedulerTest, BlockedJobHoldsBackLowerPriorityJobsOfItsPartition) {
  nodes.push_back(MakeNode("a1", 2));
  nodes.push_back(MakeNode("b1", 2));
  partitions = {MakePartition("pa", {"a1"}), MakePartition("pb", {"b1"})};
  nodes[0].alloc_cpus = 1;
  nodes[0].running_jobs = {99};
  Job big = MakeJob(1, 100, 2);
  big.req.partition = "pa";
  Job small = MakeJob(2, 50, 1);  // would fit on a1, but must not jump the queue
  small.req.partition = "pa";
  Job other = MakeJob(3, 10, 1);  // another partition is not held back
  other.req.partition = "pb";
  Add(big);
  Add(small);
  Add(other);
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{3}));
  EXPECT_EQ(ReasonOf(r, 1), "Resources");
  EXPECT_EQ(ReasonOf(r, 2), "Priority");
}

TEST_F(SchedulerTest, HigherPriorityJobsStartBeforeTheBlock) {
  nodes.push_back(MakeNode("n1", 2));
  Add(MakeJob(1, 100, 1));
  Add(MakeJob(2, 90, 2));
  Add(MakeJob(3, 80, 1));
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{1}));
  EXPECT_EQ(ReasonOf(r, 2), "Resources");
  EXPECT_EQ(ReasonOf(r, 3), "Priority");
}

TEST_F(SchedulerTest, ReasonsAreOnlyReportedWhenChanged) {
  nodes.push_back(MakeNode("n1", 1));
  nodes[0].alloc_cpus = 1;
  nodes[0].running_jobs = {99};
  Job a = MakeJob(1, 100);
  a.reason = "Resources";
  Job b = MakeJob(2, 90);
  b.reason = "Resources";  // now behind job 1: becomes Priority
  Add(a);
  Add(b);
  ScheduleResult r = Run();
  EXPECT_TRUE(r.starts.empty());
  EXPECT_EQ(ReasonOf(r, 1), std::nullopt);
  EXPECT_EQ(ReasonOf(r, 2), "Priority");
  EXPECT_EQ(r.reasons.size(), 1u);
}

TEST_F(SchedulerTest, HeldJobsNeverStartAndDoNotBlock) {
  nodes.push_back(MakeNode("n1", 4));
  Job user_hold = MakeJob(1, 0);
  user_hold.held = true;
  Job admin_hold = MakeJob(2, 0);
  admin_hold.held = true;
  admin_hold.reason = "JobHeldAdmin";
  Job user_hold_known = MakeJob(3, 0);
  user_hold_known.held = true;
  user_hold_known.reason = "JobHeldUser";
  Add(user_hold);
  Add(admin_hold);
  Add(user_hold_known);
  Add(MakeJob(4, 0));
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{4}));
  EXPECT_EQ(ReasonOf(r, 1), "JobHeldUser");
  EXPECT_EQ(ReasonOf(r, 2), std::nullopt);  // already JobHeldAdmin: unchanged
  EXPECT_EQ(ReasonOf(r, 3), std::nullopt);
}

TEST_F(SchedulerTest, BeginTime) {
  nodes.push_back(MakeNode("n1", 4));
  Job later = MakeJob(1);
  later.req.begin_time = kNow + 1;
  Job now = MakeJob(2);
  now.req.begin_time = kNow;
  Add(later);
  Add(now);
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{2}));
  EXPECT_EQ(ReasonOf(r, 1), "BeginTime");
  r = Run(kNow + 1);
  EXPECT_EQ(Started(r), (Ids{1, 2}));
}

TEST_F(SchedulerTest, ArrayThrottle) {
  nodes.push_back(MakeNode("n1", 16));
  for (JobId id = 10; id < 15; ++id) {
    Job t = MakeJob(id);
    t.array_job_id = 10;
    t.array_task_id = static_cast<int64_t>(id - 10);
    t.req.array_spec = "0-4%2";
    t.req.array_max_running = 2;
    if (id == 10) t.state = JobState::kRunning;
    if (id == 11) t.state = JobState::kCompleted;
    Add(t);
  }
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{12}));
  EXPECT_EQ(ReasonOf(r, 13), "JobArrayTaskLimit");
  EXPECT_EQ(ReasonOf(r, 14), "JobArrayTaskLimit");
}

TEST_F(SchedulerTest, ArrayThrottleIsPerArray) {
  nodes.push_back(MakeNode("n1", 16));
  for (JobId id = 1; id <= 4; ++id) {
    Job t = MakeJob(id);
    t.array_job_id = id <= 2 ? 1 : 3;
    t.array_task_id = static_cast<int64_t>((id - 1) % 2);
    t.req.array_max_running = 1;
    Add(t);
  }
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{1, 3}));
  EXPECT_EQ(ReasonOf(r, 2), "JobArrayTaskLimit");
  EXPECT_EQ(ReasonOf(r, 4), "JobArrayTaskLimit");
}

TEST_F(SchedulerTest, RequiredNodes) {
  nodes.push_back(MakeNode("n1", 4));
  nodes.push_back(MakeNode("n2", 4));
  nodes.push_back(MakeNode("n3", 4));
  Job j = MakeJob(1);
  j.req.required_nodes = {"n3"};
  Add(j);
  Job two = MakeJob(2);
  two.req.min_nodes = 2;
  two.req.required_nodes = {"n2"};
  Add(two);
  ScheduleResult r = Run();
  ASSERT_EQ(Started(r), (Ids{1, 2}));
  EXPECT_EQ(StartOf(r, 1)->nodes, (Names{"n3"}));
  EXPECT_EQ(StartOf(r, 2)->nodes, (Names{"n2", "n1"}));
}

TEST_F(SchedulerTest, RequiredNodeNamedTwiceIsAllocatedOnce) {
  nodes.push_back(MakeNode("n1", 4));
  Job j = MakeJob(1, 100, 3);
  j.req.required_nodes = {"n1", "n1"};
  Add(j);
  ScheduleResult r = Run();
  ASSERT_EQ(Started(r), (Ids{1}));
  EXPECT_EQ(StartOf(r, 1)->nodes, (Names{"n1"}));
  EXPECT_EQ(StartOf(r, 1)->gpu_indices.size(), 1u);
}

TEST_F(SchedulerTest, RequiredNodeBusyOrUnknownOrOutsidePartitionWaits) {
  nodes.push_back(MakeNode("n1", 4));
  nodes.push_back(MakeNode("n2", 4));
  nodes.push_back(MakeNode("x1", 4));
  partitions = {MakePartition("batch", {"n1", "n2"})};
  nodes[1].alloc_cpus = 4;
  nodes[1].running_jobs = {99};
  for (const char* name : {"n2", "nope", "x1"}) {
    jobs.clear();
    Job j = MakeJob(1);
    j.req.required_nodes = {name};
    Add(j);
    ScheduleResult r = Run();
    EXPECT_TRUE(r.starts.empty()) << name;
    EXPECT_EQ(ReasonOf(r, 1), "Resources") << name;
  }
}

TEST_F(SchedulerTest, ExcludedNodes) {
  nodes.push_back(MakeNode("n1", 4));
  nodes.push_back(MakeNode("n2", 4));
  Job j = MakeJob(1);
  j.req.excluded_nodes = {"n1"};
  Add(j);
  Job k = MakeJob(2);
  k.req.excluded_nodes = {"n1", "n2"};
  Add(k);
  ScheduleResult r = Run();
  ASSERT_EQ(Started(r), (Ids{1}));
  EXPECT_EQ(StartOf(r, 1)->nodes, (Names{"n2"}));
  EXPECT_EQ(ReasonOf(r, 2), "Resources");
}

TEST_F(SchedulerTest, ConstraintFeatures) {
  nodes.push_back(MakeNode("plain", 8));
  nodes.push_back(MakeNode("fast", 8));
  nodes.push_back(MakeNode("both", 8));
  nodes[1].features = {"ssd"};
  nodes[2].features = {"ssd", "ib"};
  struct Case {
    std::string constraint;
    std::string node;
  };
  for (const Case& c : {Case{"ssd", "fast"}, Case{"ssd&ib", "both"}, Case{"ib", "both"},
                        Case{"ib|ssd", "fast"}, Case{"gpu|ib", "both"}, Case{"", "plain"}}) {
    jobs.clear();
    Job j = MakeJob(1);
    j.req.constraint = c.constraint;
    Add(j);
    ScheduleResult r = Run();
    ASSERT_EQ(Started(r), (Ids{1})) << c.constraint;
    EXPECT_EQ(StartOf(r, 1)->nodes, (Names{c.node})) << c.constraint;
  }
  jobs.clear();
  Job j = MakeJob(1);
  j.req.constraint = "gpu";
  Add(j);
  ScheduleResult r = Run();
  EXPECT_TRUE(r.starts.empty());
  EXPECT_EQ(ReasonOf(r, 1), "Resources");
}

TEST_F(SchedulerTest, PartitionMembership) {
  nodes.push_back(MakeNode("n1", 4));
  nodes.push_back(MakeNode("n2", 4));
  partitions = {MakePartition("batch", {"n2"})};
  Add(MakeJob(1));
  ScheduleResult r = Run();
  ASSERT_EQ(Started(r), (Ids{1}));
  EXPECT_EQ(StartOf(r, 1)->nodes, (Names{"n2"}));
}

TEST_F(SchedulerTest, PartitionDownAndUnknown) {
  nodes.push_back(MakeNode("n1", 4));
  partitions = {MakePartition("batch"), MakePartition("closed")};
  partitions[1].up = false;
  Job down = MakeJob(1, 100);
  down.req.partition = "closed";
  Job gone = MakeJob(2, 100);
  gone.req.partition = "removed";
  Add(down);
  Add(gone);
  Add(MakeJob(3, 10));
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{3}));
  EXPECT_EQ(ReasonOf(r, 1), "PartitionDown");
  EXPECT_EQ(ReasonOf(r, 2), "PartitionConfig");
}

TEST_F(SchedulerTest, PartitionTimeLimit) {
  nodes.push_back(MakeNode("n1", 8));
  partitions[0].max_time_s = 3600;
  Job too_long = MakeJob(1);
  too_long.req.time_limit_s = 3601;
  Job unlimited = MakeJob(2);
  unlimited.req.time_limit_s = kUnlimited;
  Job exact = MakeJob(3);
  exact.req.time_limit_s = 3600;
  Job unset = MakeJob(4);
  Add(too_long);
  Add(unlimited);
  Add(exact);
  Add(unset);
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{3, 4}));
  EXPECT_EQ(ReasonOf(r, 1), "PartitionTimeLimit");
  EXPECT_EQ(ReasonOf(r, 2), "PartitionTimeLimit");

  partitions[0].max_time_s = -1;  // unlimited partition takes anything
  r = Run();
  EXPECT_EQ(Started(r), (Ids{1, 2, 3, 4}));
}

TEST_F(SchedulerTest, TerminatingJobsNeverStart) {
  nodes.push_back(MakeNode("n1", 4));
  Job t = MakeJob(1, 1000);
  t.terminating = true;
  t.restart_count = 1;
  Add(t);
  Add(MakeJob(2, 10));
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{2}));
  EXPECT_EQ(ReasonOf(r, 1), std::nullopt);
}

TEST_F(SchedulerTest, Dependencies) {
  nodes.push_back(MakeNode("n1", 4));
  Job running = MakeJob(1);
  running.state = JobState::kRunning;
  Job failed = MakeJob(2);
  failed.state = JobState::kFailed;
  Job waits = MakeJob(3, 100);
  waits.req.dependency.clauses = {{Dependency::Kind::kAfterOk, 1, kNoArrayTask}};
  Job never = MakeJob(4, 100);
  never.req.dependency.clauses = {{Dependency::Kind::kAfterOk, 2, kNoArrayTask}};
  Job ok = MakeJob(5, 10);
  ok.req.dependency.clauses = {{Dependency::Kind::kAfterNotOk, 2, kNoArrayTask}};
  for (Job* j : {&running, &failed, &waits, &never, &ok}) Add(*j);
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{5}));
  EXPECT_EQ(ReasonOf(r, 3), "Dependency");
  EXPECT_EQ(ReasonOf(r, 4), "DependencyNeverSatisfied");
}

// --- Policies: queue orders, EASY, conservative, shortest-first backfill ---------------------

class PolicyTest : public SchedulerTest {
 protected:
  // A running job of `cpus` CPUs on `node`, started at `start`, limited to `limit` seconds.
  void AddRunning(JobId id, const std::string& node, uint32_t cpus, int64_t start, int64_t limit) {
    Job j = MakeJob(id, 100, cpus);
    j.state = JobState::kRunning;
    j.start_time = start;
    j.req.time_limit_s = limit;
    j.nodes = {node};
    j.cpus_per_node = cpus;
    j.alloc_cpus = cpus;
    j.gpu_indices = {{}};
    Add(j);
    for (Node& n : nodes) {
      if (n.name == node) {
        n.alloc_cpus += cpus;
        n.running_jobs.push_back(id);
      }
    }
  }
  // A pending job; `priority` falls with the id so queue order is id order.
  Job& AddPending(JobId id, uint32_t cpus, int64_t limit, uint32_t min_nodes = 1) {
    Job j = MakeJob(id, 1000 - static_cast<uint32_t>(id), cpus);
    j.req.time_limit_s = limit;
    j.req.min_nodes = min_nodes;
    j.req.ntasks = min_nodes;
    return Add(j);
  }
  ScheduleResult RunWith(const std::string& order, const std::string& backfill, int64_t now = 10) {
    SchedulerOptions o;
    o.queue_order = order;
    o.backfill = backfill;
    auto s = Scheduler::Create(o);
    EXPECT_TRUE(s.ok()) << s.status().message();
    ClusterView view{&jobs, &nodes, &partitions};
    return (*s)->Schedule(view, now);
  }
  static std::optional<int64_t> PlannedOf(const ScheduleResult& r, JobId id) {
    for (const auto& p : r.planned) {
      if (p.job_id == id) return p.start_time;
    }
    return std::nullopt;
  }
};

TEST_F(PolicyTest, EasyBackfillsJobsThatEndByTheShadowTime) {
  nodes.push_back(MakeNode("n1", 8));
  AddRunning(1, "n1", 8, 0, 100);  // frees everything at 100
  AddPending(2, 8, 50);            // head: reserved at 100
  ScheduleResult r = RunWith("priority", "easy");
  EXPECT_TRUE(r.starts.empty());
  EXPECT_EQ(PlannedOf(r, 2), 100);
  ASSERT_EQ(r.planned.size(), 1u);
  EXPECT_EQ(r.planned[0].nodes, (std::vector<std::string>{"n1"}));  // squeue's SCHEDNODES

  nodes[0].alloc_cpus = 6;  // job 1 holds 6 of 8: 2 free now
  jobs[1].cpus_per_node = 6;
  AddPending(3, 2, 90);  // ends at 100: backfills
  AddPending(4, 2, 91);  // would end at 101: delays job 2, and no CPU is left anyway
  r = RunWith("priority", "easy");
  EXPECT_EQ(Started(r), (Ids{3}));
  EXPECT_EQ(ReasonOf(r, 2), "Resources");
  EXPECT_EQ(ReasonOf(r, 4), "Priority");
  EXPECT_EQ(PlannedOf(r, 2), 100);
}

TEST_F(PolicyTest, EasyNeverDelaysTheReservedJob) {
  nodes.push_back(MakeNode("n1", 8));
  AddRunning(1, "n1", 6, 0, 100);
  AddPending(2, 8, 50);    // needs the whole node at 100: nothing spare then
  AddPending(3, 2, 200);   // fits now but runs past 100
  AddPending(4, 1, 1000);  // likewise
  ScheduleResult r = RunWith("priority", "easy");
  EXPECT_TRUE(r.starts.empty());
  EXPECT_EQ(PlannedOf(r, 2), 100);
  EXPECT_EQ(ReasonOf(r, 3), "Priority");
  EXPECT_EQ(ReasonOf(r, 4), "Priority");
}

TEST_F(PolicyTest, EasyBackfillsIntoWhatTheReservationLeavesSpare) {
  nodes.push_back(MakeNode("n1", 8));
  AddRunning(1, "n1", 6, 0, 100);
  AddPending(2, 6, 50);   // at 100 it takes 6 of 8: 2 spare from then on
  AddPending(3, 2, 500);  // runs past 100 but within the spare 2
  ScheduleResult r = RunWith("priority", "easy");
  EXPECT_EQ(Started(r), (Ids{3}));
  EXPECT_EQ(PlannedOf(r, 2), 100);
}

TEST_F(PolicyTest, EasyOnNodesKeepsOffReservedNodesOnly) {
  for (const char* name : {"n1", "n2", "n3", "n4"}) nodes.push_back(MakeNode(name, 4));
  AddRunning(1, "n1", 4, 0, 100);
  AddRunning(2, "n4", 2, 0, 300);
  AddPending(3, 4, 50, 3);  // three whole nodes: n1 (free at 100), n2 and n3
  AddPending(4, 2, 1000);   // a long job: n2 and n3 are reserved, n4 is not
  AddPending(5, 2, 1000);   // nothing left that would not delay job 3
  ScheduleResult r = RunWith("priority", "easy");
  ASSERT_EQ(Started(r), (Ids{4}));
  EXPECT_EQ(StartOf(r, 4)->nodes, (Names{"n4"}));
  EXPECT_EQ(PlannedOf(r, 3), 100);
  EXPECT_EQ(ReasonOf(r, 5), "Priority");

  jobs.erase(4);
  jobs.erase(5);
  AddPending(6, 4, 90);  // ends by 100: may use reserved n2 until then
  r = RunWith("priority", "easy");
  EXPECT_EQ(Started(r), (Ids{6}));
  EXPECT_EQ(StartOf(r, 6)->nodes, (Names{"n2"}));
}

TEST_F(PolicyTest, ConservativeProtectsEveryBlockedJob) {
  nodes.push_back(MakeNode("n1", 10));
  AddRunning(1, "n1", 8, 0, 100);  // 2 free now, 10 from 100
  AddPending(2, 4, 100);           // reserved 100..200 (6 spare then)
  AddPending(3, 10, 50);           // conservative: reserved 200..250
  AddPending(4, 2, 500);           // fits now and beside job 2, but would delay job 3
  ScheduleResult easy = RunWith("priority", "easy");
  EXPECT_EQ(Started(easy), (Ids{4}));
  EXPECT_EQ(PlannedOf(easy, 2), 100);
  EXPECT_EQ(PlannedOf(easy, 3), std::nullopt);

  ScheduleResult cons = RunWith("priority", "conservative");
  EXPECT_TRUE(cons.starts.empty());
  EXPECT_EQ(PlannedOf(cons, 2), 100);
  EXPECT_EQ(PlannedOf(cons, 3), 200);
  EXPECT_EQ(ReasonOf(cons, 2), "Resources");
  EXPECT_EQ(ReasonOf(cons, 3), "Priority");
  EXPECT_EQ(ReasonOf(cons, 4), "Priority");

  jobs[4].req.time_limit_s = 190;  // ends at 200, in the gap beside job 2
  cons = RunWith("priority", "conservative");
  EXPECT_EQ(Started(cons), (Ids{4}));
  EXPECT_EQ(PlannedOf(cons, 3), 200);
}

TEST_F(PolicyTest, NoBackfillStopsThePartition) {
  nodes.push_back(MakeNode("n1", 8));
  AddRunning(1, "n1", 6, 0, 100);
  AddPending(2, 8, 50);
  AddPending(3, 2, 10);  // would end long before 100
  ScheduleResult r = RunWith("priority", "none");
  EXPECT_TRUE(r.starts.empty());
  EXPECT_TRUE(r.planned.empty());
  EXPECT_EQ(ReasonOf(r, 3), "Priority");
  r = RunWith("priority", "easy");
  EXPECT_EQ(Started(r), (Ids{3}));
}

TEST_F(PolicyTest, ShortestFirstBackfill) {
  nodes.push_back(MakeNode("n1", 8));
  AddRunning(1, "n1", 6, 0, 100);
  AddPending(2, 8, 50);
  AddPending(3, 2, 80);  // earlier in the queue
  AddPending(4, 2, 30);  // shorter
  EXPECT_EQ(Started(RunWith("priority", "easy")), (Ids{3}));
  EXPECT_EQ(Started(RunWith("priority", "easy-sjbf")), (Ids{4}));
}

TEST_F(PolicyTest, QueueOrders) {
  nodes.push_back(MakeNode("n1", 2));
  Job a = MakeJob(1, 1, 2);  // oldest, lowest priority, longest
  a.req.time_limit_s = 300;
  Job b = MakeJob(2, 50, 2);
  b.req.time_limit_s = 100;
  Job c = MakeJob(3, 10, 2);
  c.req.time_limit_s = 200;
  Add(a);
  Add(b);
  Add(c);
  EXPECT_EQ(Started(RunWith("fcfs", "none")), (Ids{1}));
  EXPECT_EQ(Started(RunWith("sjf", "none")), (Ids{2}));
  EXPECT_EQ(Started(RunWith("priority", "none")), (Ids{2}));
  jobs[2].req.time_limit_s = 0;  // partition default (unlimited here): sorts last under sjf
  EXPECT_EQ(Started(RunWith("sjf", "none")), (Ids{3}));
}

TEST_F(PolicyTest, UnlimitedJobsBlockBackfillBehindThem) {
  nodes.push_back(MakeNode("n1", 8));
  AddRunning(1, "n1", 6, 0, kUnlimited);  // never ends, for planning
  AddPending(2, 8, 50);                   // cannot be planned: nothing behind it may start
  AddPending(3, 1, 10);
  ScheduleResult r = RunWith("priority", "easy");
  EXPECT_TRUE(r.starts.empty());
  EXPECT_TRUE(r.planned.empty());
  EXPECT_EQ(ReasonOf(r, 3), "Priority");
}

TEST_F(PolicyTest, PartitionDefaultAndMaxTimeAreTheEstimate) {
  nodes.push_back(MakeNode("n1", 8));
  partitions[0].max_time_s = 1000;
  partitions[0].default_time_s = 60;
  AddRunning(1, "n1", 6, 0, 0);  // default 60: ends at 60
  AddPending(2, 8, 100);
  ScheduleResult r = RunWith("priority", "easy");
  EXPECT_EQ(PlannedOf(r, 2), 60);
  partitions[0].default_time_s = kUnlimited;  // then MaxTime: 1000
  r = RunWith("priority", "easy");
  EXPECT_EQ(PlannedOf(r, 2), 1000);

  Partition p = MakePartition("x");
  JobRequest req;
  EXPECT_EQ(EstimateOf(req, &p), kNever);
  EXPECT_EQ(EstimateOf(req, nullptr), kNever);
  req.time_limit_s = 5;
  EXPECT_EQ(EstimateOf(req, &p), 5);
  req.time_limit_s = kUnlimited;
  EXPECT_EQ(EstimateOf(req, &p), kNever);
}

TEST_F(PolicyTest, OverdueRunningJobsEndNowForPlanning) {
  nodes.push_back(MakeNode("n1", 8));
  AddRunning(1, "n1", 8, 0, 5);  // its limit passed at 5; it is being stopped
  AddPending(2, 8, 100);
  ScheduleResult r = RunWith("priority", "easy", 10);
  EXPECT_EQ(PlannedOf(r, 2), 10);
}

TEST_F(PolicyTest, MultiplePartitionsEachReserveTheirFirstBlockedJob) {
  nodes.push_back(MakeNode("a1", 4));
  nodes.push_back(MakeNode("b1", 4));
  partitions = {MakePartition("pa", {"a1"}), MakePartition("pb", {"b1"})};
  AddRunning(1, "a1", 4, 0, 100);
  AddRunning(2, "b1", 2, 0, 200);
  Job& a = AddPending(3, 4, 50);
  a.req.partition = "pa";
  Job& b = AddPending(4, 4, 50);
  b.req.partition = "pb";
  Job& c = AddPending(5, 2, 150);  // fits now on b1 but ends after 200? no: 10 + 150 = 160
  c.req.partition = "pb";
  Job& d = AddPending(6, 2, 1000);  // would delay job 4
  d.req.partition = "pb";
  ScheduleResult r = RunWith("priority", "easy");
  EXPECT_EQ(Started(r), (Ids{5}));
  EXPECT_EQ(PlannedOf(r, 3), 100);
  EXPECT_EQ(PlannedOf(r, 4), 200);
  EXPECT_EQ(ReasonOf(r, 6), "Priority");
}

TEST_F(PolicyTest, PendingInOrderSkipsSortingAndReasonsCanBeOff) {
  nodes.push_back(MakeNode("n1", 8));
  AddRunning(1, "n1", 6, 0, 100);
  AddPending(2, 8, 50);
  AddPending(3, 2, 80);
  SchedulerOptions o;
  o.queue_order = "fcfs";
  o.report_reasons = false;
  auto s = Scheduler::Create(o);
  ASSERT_TRUE(s.ok());
  std::vector<const Job*> pending = {&jobs[3], &jobs[2]};  // the caller's order wins
  std::vector<const Job*> running = {&jobs[1]};
  ClusterView view{&jobs, &nodes, &partitions};
  view.pending_in_order = &pending;
  view.running = &running;
  ScheduleResult r = (*s)->Schedule(view, 10);
  EXPECT_EQ(Started(r), (Ids{3}));  // job 3 is the head now and fits
  EXPECT_TRUE(r.reasons.empty());
  EXPECT_EQ((*s)->order().name(), "fcfs");
}

TEST_F(PolicyTest, PartitionStatesAndNodeLimit) {
  nodes.push_back(MakeNode("n1", 8));
  nodes.push_back(MakeNode("n2", 8));
  partitions = {MakePartition("batch"), MakePartition("off"), MakePartition("small")};
  partitions[1].inactive = true;
  partitions[2].max_nodes = 1;
  Job& off = AddPending(1, 1, 10);
  off.req.partition = "off";
  Job& big = AddPending(2, 1, 10, 2);
  big.req.partition = "small";
  partitions[0].drain = true;  // a draining partition still runs what it has queued
  AddPending(3, 1, 10);
  ScheduleResult r = RunWith("priority", "easy");
  EXPECT_EQ(Started(r), (Ids{3}));
  EXPECT_EQ(ReasonOf(r, 1), "PartitionInactive");
  EXPECT_EQ(ReasonOf(r, 2), "PartitionNodeLimit");
}

TEST_F(PolicyTest, RunningOnAnUnknownNodeIsAnError) {
  nodes.push_back(MakeNode("n1", 8));
  AddRunning(1, "gone", 2, 0, 100);
  AddPending(2, 9, 50);  // never fits: the pass plans, and meets job 1
  ScheduleResult r = RunWith("priority", "easy");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].first, 1u);
  EXPECT_EQ(r.errors[0].second.code(), StatusCode::kInternal);
}

TEST(PolicyRegistryTest, NamesAndErrors) {
  const PolicyRegistry& r = PolicyRegistry::Builtin();
  EXPECT_EQ(r.OrderNames(), (std::vector<std::string>{"fcfs", "priority", "sjf"}));
  EXPECT_EQ(r.BackfillNames(),
            (std::vector<std::string>{"conservative", "easy", "easy-sjbf", "none"}));
  auto bad = r.NewOrder("lifo");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kNotFound);
  EXPECT_NE(bad.status().message().find("fcfs"), std::string::npos);
  SchedulerOptions o;
  o.backfill = "aggressive";
  auto s = Scheduler::Create(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);

  PolicyRegistry mine;
  RegisterBuiltinPolicies(mine);
  EXPECT_EQ(mine.AddOrder("fcfs", nullptr).code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE((*mine.NewBackfill("easy-sjbf"))->ShortestFirst());
  EXPECT_TRUE((*mine.NewOrder("fcfs"))->ArrivalOrdered());
}

// --- EvaluateDependency ----------------------------------------------------------------------

class DependencyTest : public ::testing::Test {
 protected:
  Job& AddJob(JobId id, JobState state) {
    Job j = MakeJob(id);
    j.state = state;
    return jobs[id] = j;
  }
  // An array 10 with tasks 0..n-1 as jobs 10, 11, ...
  void AddArray(JobId first, const std::vector<JobState>& states) {
    for (size_t i = 0; i < states.size(); ++i) {
      Job& t = AddJob(first + i, states[i]);
      t.array_job_id = first;
      t.array_task_id = static_cast<int64_t>(i);
    }
  }
  DependencyState Eval(std::vector<Dependency> clauses, bool any = false) {
    Job j = MakeJob(100);
    j.req.dependency.clauses = std::move(clauses);
    j.req.dependency.any = any;
    return EvaluateDependency(j, jobs);
  }

  std::map<JobId, Job> jobs;
};

using K = Dependency::Kind;
constexpr auto kSat = DependencyState::kSatisfied;
constexpr auto kWait = DependencyState::kWaiting;
constexpr auto kNever = DependencyState::kNeverSatisfied;

TEST_F(DependencyTest, NoClausesIsSatisfied) { EXPECT_EQ(Eval({}), kSat); }

TEST_F(DependencyTest, After) {
  AddJob(1, JobState::kPending);
  AddJob(2, JobState::kRunning);
  AddJob(3, JobState::kCancelled);
  EXPECT_EQ(Eval({{K::kAfter, 1}}), kWait);
  EXPECT_EQ(Eval({{K::kAfter, 2}}), kSat);
  EXPECT_EQ(Eval({{K::kAfter, 3}}), kSat);
}

TEST_F(DependencyTest, AfterAny) {
  AddJob(1, JobState::kRunning);
  AddJob(2, JobState::kFailed);
  AddJob(3, JobState::kCompleted);
  AddJob(4, JobState::kPending);
  EXPECT_EQ(Eval({{K::kAfterAny, 1}}), kWait);
  EXPECT_EQ(Eval({{K::kAfterAny, 2}}), kSat);
  EXPECT_EQ(Eval({{K::kAfterAny, 3}}), kSat);
  EXPECT_EQ(Eval({{K::kAfterAny, 4}}), kWait);
}

TEST_F(DependencyTest, AfterOk) {
  AddJob(1, JobState::kRunning);
  AddJob(2, JobState::kCompleted);
  AddJob(3, JobState::kFailed);
  AddJob(4, JobState::kCancelled);
  AddJob(5, JobState::kTimeout);
  AddJob(6, JobState::kCompleting);
  EXPECT_EQ(Eval({{K::kAfterOk, 1}}), kWait);
  EXPECT_EQ(Eval({{K::kAfterOk, 2}}), kSat);
  EXPECT_EQ(Eval({{K::kAfterOk, 3}}), kNever);
  EXPECT_EQ(Eval({{K::kAfterOk, 4}}), kNever);
  EXPECT_EQ(Eval({{K::kAfterOk, 5}}), kNever);
  EXPECT_EQ(Eval({{K::kAfterOk, 6}}), kWait);
}

TEST_F(DependencyTest, AfterNotOk) {
  AddJob(1, JobState::kRunning);
  AddJob(2, JobState::kCompleted);
  AddJob(3, JobState::kFailed);
  AddJob(4, JobState::kNodeFail);
  EXPECT_EQ(Eval({{K::kAfterNotOk, 1}}), kWait);
  EXPECT_EQ(Eval({{K::kAfterNotOk, 2}}), kNever);
  EXPECT_EQ(Eval({{K::kAfterNotOk, 3}}), kSat);
  EXPECT_EQ(Eval({{K::kAfterNotOk, 4}}), kSat);
}

TEST_F(DependencyTest, PurgedTargetCountsAsSatisfied) {
  EXPECT_EQ(Eval({{K::kAfterOk, 42}}), kSat);
}

TEST_F(DependencyTest, WholeArray) {
  AddArray(10, {JobState::kCompleted, JobState::kCompleted, JobState::kRunning});
  EXPECT_EQ(Eval({{K::kAfterOk, 10}}), kWait);
  EXPECT_EQ(Eval({{K::kAfterAny, 10}}), kWait);
  jobs[12].state = JobState::kCompleted;
  EXPECT_EQ(Eval({{K::kAfterOk, 10}}), kSat);
  EXPECT_EQ(Eval({{K::kAfterAny, 10}}), kSat);
  EXPECT_EQ(Eval({{K::kAfterNotOk, 10}}), kNever);
  jobs[11].state = JobState::kFailed;
  jobs[12].state = JobState::kRunning;  // one failed task dooms afterok already
  EXPECT_EQ(Eval({{K::kAfterOk, 10}}), kNever);
  EXPECT_EQ(Eval({{K::kAfterNotOk, 10}}), kWait);
  // afternotok on an array: once every task ended, one failure is enough.
  jobs[12].state = JobState::kCompleted;
  EXPECT_EQ(Eval({{K::kAfterNotOk, 10}}), kSat);
  EXPECT_EQ(Eval({{K::kAfterAny, 10}}), kSat);
}

TEST_F(DependencyTest, SingleArrayTask) {
  AddArray(10, {JobState::kFailed, JobState::kCompleted, JobState::kRunning});
  EXPECT_EQ(Eval({{K::kAfterOk, 10, 1}}), kSat);
  EXPECT_EQ(Eval({{K::kAfterOk, 10, 0}}), kNever);
  EXPECT_EQ(Eval({{K::kAfterOk, 10, 2}}), kWait);
  EXPECT_EQ(Eval({{K::kAfterNotOk, 10, 0}}), kSat);
}

TEST_F(DependencyTest, ArrayTaskByItsOwnJobId) {
  // Job 12 is task 10_2: naming 12 means that task alone, as in Slurm.
  AddArray(10, {JobState::kFailed, JobState::kRunning, JobState::kCompleted});
  EXPECT_EQ(Eval({{K::kAfterOk, 12}}), kSat);
  EXPECT_EQ(Eval({{K::kAfterOk, 11}}), kWait);
  EXPECT_EQ(Eval({{K::kAfterNotOk, 12}}), kNever);
  // Job 10 is both task 10_0 and the array's id: the whole array.
  EXPECT_EQ(Eval({{K::kAfterAny, 10}}), kWait);
}

TEST_F(DependencyTest, Singleton) {
  Job me = MakeJob(100);
  me.req.name = "build";
  me.req.dependency.clauses = {{K::kSingleton}};

  Job other = MakeJob(50);
  other.req.name = "build";
  other.state = JobState::kRunning;
  jobs[50] = other;
  jobs[100] = me;
  EXPECT_EQ(EvaluateDependency(me, jobs), kWait);

  jobs[50].state = JobState::kCompleted;
  EXPECT_EQ(EvaluateDependency(me, jobs), kSat);

  jobs[50].state = JobState::kPending;  // an earlier pending one goes first
  EXPECT_EQ(EvaluateDependency(me, jobs), kWait);

  jobs[50].state = JobState::kRunning;
  jobs[50].req.user = "bob";  // another user's job of the same name does not count
  EXPECT_EQ(EvaluateDependency(me, jobs), kSat);

  jobs[50].req.user = "alice";
  jobs[50].req.name = "test";
  EXPECT_EQ(EvaluateDependency(me, jobs), kSat);

  Job later = MakeJob(150);  // a later pending one waits for us, not we for it
  later.req.name = "build";
  jobs[150] = later;
  EXPECT_EQ(EvaluateDependency(me, jobs), kSat);
}

TEST_F(DependencyTest, AllClausesMustHold) {
  AddJob(1, JobState::kCompleted);
  AddJob(2, JobState::kRunning);
  AddJob(3, JobState::kFailed);
  EXPECT_EQ(Eval({{K::kAfterOk, 1}, {K::kAfterAny, 3}}), kSat);
  EXPECT_EQ(Eval({{K::kAfterOk, 1}, {K::kAfterOk, 2}}), kWait);
  EXPECT_EQ(Eval({{K::kAfterOk, 2}, {K::kAfterOk, 3}}), kNever);
}

TEST_F(DependencyTest, AnyClauseSuffices) {
  AddJob(1, JobState::kCompleted);
  AddJob(2, JobState::kRunning);
  AddJob(3, JobState::kFailed);
  EXPECT_EQ(Eval({{K::kAfterOk, 3}, {K::kAfterOk, 1}}, true), kSat);
  EXPECT_EQ(Eval({{K::kAfterOk, 3}, {K::kAfterOk, 2}}, true), kWait);
  EXPECT_EQ(Eval({{K::kAfterOk, 3}, {K::kAfterNotOk, 1}}, true), kNever);
}

// --- CheckSatisfiable, ShapeFor -----------------------------------------------------------

class SatisfiableTest : public ::testing::Test {
 protected:
  SatisfiableTest() {
    nodes.push_back(MakeNode("n1", 8, 16000));
    nodes.push_back(MakeNode("n2", 8, 16000, 2));
    nodes[1].gpu_type = "a100";
    nodes[1].features = {"ssd"};
    nodes.push_back(MakeNode("x1", 64, 512000, 8));  // not in the partition
    partition = MakePartition("batch", {"n1", "n2"});
  }
  Status Check(const JobRequest& req) { return CheckSatisfiable(req, partition, nodes); }

  std::vector<Node> nodes;
  Partition partition;
};

void ExpectNotAvailable(const Status& s) {
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "Requested node configuration is not available");
}

TEST_F(SatisfiableTest, PossibleRequests) {
  JobRequest r;
  EXPECT_TRUE(Check(r).ok());
  r.cpus_per_task = 8;
  r.mem_per_node_mb = 16000;
  EXPECT_TRUE(Check(r).ok());
  r = {};
  r.min_nodes = 2;
  r.ntasks = 16;
  r.exclusive = true;
  EXPECT_TRUE(Check(r).ok());
  r = {};
  r.gpus_per_node = 2;
  r.gpu_type = "a100";
  r.constraint = "ssd";
  EXPECT_TRUE(Check(r).ok());
  // Busy, drained or down nodes may become free: only the configuration counts.
  for (Node& n : nodes) {
    n.alloc_cpus = n.cpus;
    n.drain = true;
    n.down = true;
  }
  EXPECT_TRUE(Check(r).ok());
}

TEST_F(SatisfiableTest, ImpossibleRequests) {
  JobRequest r;
  r.cpus_per_task = 9;
  ExpectNotAvailable(Check(r));
  r = {};
  r.mem_per_node_mb = 16001;
  ExpectNotAvailable(Check(r));
  r = {};
  r.mem_per_cpu_mb = 3000;
  r.ntasks = 6;  // 18000 on one node
  ExpectNotAvailable(Check(r));
  r = {};
  r.gpus_per_node = 3;
  ExpectNotAvailable(Check(r));
  r = {};
  r.gpus_per_node = 1;
  r.gpu_type = "v100";
  ExpectNotAvailable(Check(r));
  r = {};
  r.constraint = "ib";
  ExpectNotAvailable(Check(r));
  r = {};
  r.min_nodes = 3;  // x1 is outside the partition
  ExpectNotAvailable(Check(r));
  r = {};
  r.min_nodes = 2;
  r.gpus_per_node = 1;  // only n2 has GPUs
  ExpectNotAvailable(Check(r));
  r = {};
  r.excluded_nodes = {"n1", "n2"};
  ExpectNotAvailable(Check(r));
}

TEST_F(SatisfiableTest, RequiredNodes) {
  JobRequest r;
  r.required_nodes = {"n2"};
  EXPECT_TRUE(Check(r).ok());
  r.required_nodes = {"n9"};
  Status s = Check(r);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "Invalid node name specified");
  r.required_nodes = {"x1"};
  ExpectNotAvailable(Check(r));
  r.required_nodes = {"n1"};
  r.gpus_per_node = 1;
  ExpectNotAvailable(Check(r));
}

TEST_F(SatisfiableTest, PartitionMaxNodes) {
  partition.max_nodes = 1;
  JobRequest r;
  r.min_nodes = 2;
  Status s = Check(r);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "Node count specification invalid");
  r.min_nodes = 1;
  EXPECT_TRUE(Check(r).ok());
}

TEST_F(SatisfiableTest, PartitionWithoutRegisteredNodesAcceptsForNow) {
  partition = MakePartition("future", {"f1", "f2"});
  JobRequest r;
  r.cpus_per_task = 1000;
  EXPECT_TRUE(Check(r).ok());
}

TEST(ShapeForTest, SpreadsTasksOverNodes) {
  Node node = MakeNode("n1", 16);
  JobRequest r;
  EXPECT_EQ(ShapeFor(r, node).cpus, 1u);
  r.ntasks = 5;
  r.min_nodes = 2;
  r.cpus_per_task = 2;
  NodeShape s = ShapeFor(r, node);
  EXPECT_EQ(s.cpus, 6u);  // ceil(5 / 2) tasks of 2 CPUs
  EXPECT_EQ(s.mem_mb, 0u);
  r.ntasks_per_node = 4;
  EXPECT_EQ(ShapeFor(r, node).cpus, 8u);
  r.mem_per_cpu_mb = 100;
  EXPECT_EQ(ShapeFor(r, node).mem_mb, 800u);
  r.mem_per_node_mb = 300;
  EXPECT_EQ(ShapeFor(r, node).mem_mb, 300u);
  r.gpus_per_node = 2;
  EXPECT_EQ(ShapeFor(r, node).gpus, 2u);
}

TEST(ShapeForTest, ExclusiveTakesEveryCpu) {
  Node node = MakeNode("n1", 16);
  JobRequest r;
  r.exclusive = true;
  EXPECT_EQ(ShapeFor(r, node).cpus, 16u);
  r.cpus_per_task = 32;
  EXPECT_EQ(ShapeFor(r, node).cpus, 32u);
}

}  // namespace
}  // namespace shoal

namespace shoal {
namespace {

// Power saving: a powered-down node takes jobs (allocating it resumes it), but only when the
// nodes that are up do not suffice; powering-down and POWER_DOWN-pending nodes take none.
TEST_F(SchedulerTest, PoweredDownNodesAreUsedOnlyWhenUpNodesDoNotSuffice) {
  nodes.push_back(MakeNode("cloud1", 4));
  nodes.push_back(MakeNode("up1", 4));
  nodes[0].responding = false;
  nodes[0].power = NodePower::kPoweredDown;
  Add(MakeJob(1, 100, 4));
  Add(MakeJob(2, 90, 4));
  ScheduleResult r = Run();
  ASSERT_EQ(Started(r), (Ids{1, 2}));
  EXPECT_EQ(StartOf(r, 1)->nodes, (Names{"up1"}));     // the up node first
  EXPECT_EQ(StartOf(r, 2)->nodes, (Names{"cloud1"}));  // then the powered-down one
}

TEST_F(SchedulerTest, PoweringDownAndPendingPowerDownNodesTakeNoJobs) {
  nodes.push_back(MakeNode("going", 4));
  nodes.push_back(MakeNode("asked", 4));
  nodes[0].power = NodePower::kPoweringDown;
  nodes[1].power_down_pending = true;
  Add(MakeJob(1));
  ScheduleResult r = Run();
  EXPECT_TRUE(r.starts.empty());
  EXPECT_EQ(ReasonOf(r, 1), "Resources");
}

TEST_F(SchedulerTest, DownPoweredDownNodeTakesNoJobs) {
  nodes.push_back(MakeNode("cloud1", 4));
  nodes[0].responding = false;
  nodes[0].power = NodePower::kPoweredDown;
  nodes[0].down = true;  // its resume failed
  Add(MakeJob(1));
  EXPECT_TRUE(Run().starts.empty());
}

}  // namespace
}  // namespace shoal

namespace shoal {
namespace {

// Backfill prefers up nodes too: the blocked job's plan holds the powered-down node, so a long
// job backfilled now lands on the idle up node (no resume, no boot wait) rather than resuming
// the powered-down one, though both could take it.
TEST_F(PolicyTest, BackfillLandsOnAnIdleUpNodeRatherThanAPoweredDownOne) {
  nodes.push_back(MakeNode("n1", 4));
  nodes.push_back(MakeNode("up2", 4));
  nodes.push_back(MakeNode("cloud3", 4));
  nodes[2].responding = false;
  nodes[2].power = NodePower::kPoweredDown;
  AddRunning(1, "n1", 4, 0, 100);
  Job& head = AddPending(2, 4, 50, 2);  // n1 (busy until 100) and one more node
  head.req.required_nodes = {"n1"};
  AddPending(3, 4, 1000);  // one whole node, running well past 100
  for (const char* policy : {"easy", "conservative"}) {
    ScheduleResult r = RunWith("priority", policy);
    ASSERT_EQ(Started(r), (Ids{3})) << policy;
    EXPECT_EQ(StartOf(r, 3)->nodes, (Names{"up2"})) << policy;
    EXPECT_EQ(PlannedOf(r, 2), 100) << policy;
    ASSERT_EQ(r.planned.size(), 1u) << policy;
    EXPECT_EQ(r.planned[0].nodes, (Names{"n1", "cloud3"})) << policy;
  }
  // Without power saving the plan keeps node order (what the simulator's golden outputs pin).
  nodes[2].responding = true;
  nodes[2].power = NodePower::kOn;
  ScheduleResult r = RunWith("priority", "easy");
  ASSERT_EQ(Started(r), (Ids{3}));
  EXPECT_EQ(StartOf(r, 3)->nodes, (Names{"cloud3"}));
  EXPECT_EQ(r.planned[0].nodes, (Names{"n1", "up2"}));
}

}  // namespace
}  // namespace shoal
