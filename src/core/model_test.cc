#include "core/model.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace shoal {
namespace {

const std::vector<JobState> kAllStates = {
    JobState::kPending,   JobState::kRunning,   JobState::kSuspended,   JobState::kCompleting,
    JobState::kCompleted, JobState::kCancelled, JobState::kFailed,      JobState::kTimeout,
    JobState::kNodeFail,  JobState::kPreempted, JobState::kOutOfMemory,
};

TEST(JobStateTest, NamesAsSlurmPrintsThem) {
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"PENDING", "PD"},   {"RUNNING", "R"},    {"SUSPENDED", "S"},       {"COMPLETING", "CG"},
      {"COMPLETED", "CD"}, {"CANCELLED", "CA"}, {"FAILED", "F"},          {"TIMEOUT", "TO"},
      {"NODE_FAIL", "NF"}, {"PREEMPTED", "PR"}, {"OUT_OF_MEMORY", "OOM"},
  };
  ASSERT_EQ(expected.size(), kAllStates.size());
  for (size_t i = 0; i < kAllStates.size(); ++i) {
    EXPECT_EQ(JobStateName(kAllStates[i]), expected[i].first);
    EXPECT_EQ(JobStateShortName(kAllStates[i]), expected[i].second);
  }
}

TEST(JobStateTest, ParseAcceptsBothFormsInAnyCase) {
  for (JobState s : kAllStates) {
    EXPECT_EQ(ParseJobState(JobStateName(s)), s) << JobStateName(s);
    EXPECT_EQ(ParseJobState(JobStateShortName(s)), s) << JobStateShortName(s);
  }
  EXPECT_EQ(ParseJobState("pending"), JobState::kPending);
  EXPECT_EQ(ParseJobState("Completed"), JobState::kCompleted);
  EXPECT_EQ(ParseJobState("cd"), JobState::kCompleted);
  EXPECT_EQ(ParseJobState("oom"), JobState::kOutOfMemory);
  EXPECT_EQ(ParseJobState("node_fail"), JobState::kNodeFail);
}

TEST(JobStateTest, ParseRejectsUnknownText) {
  EXPECT_EQ(ParseJobState(""), std::nullopt);
  EXPECT_EQ(ParseJobState("RUN"), std::nullopt);
  EXPECT_EQ(ParseJobState("PENDINGX"), std::nullopt);
  EXPECT_EQ(ParseJobState(" PENDING"), std::nullopt);
  EXPECT_EQ(ParseJobState("NODE FAIL"), std::nullopt);
}

TEST(JobStateTest, IsFinished) {
  EXPECT_FALSE(IsFinished(JobState::kPending));
  EXPECT_FALSE(IsFinished(JobState::kRunning));
  EXPECT_FALSE(IsFinished(JobState::kSuspended));
  EXPECT_FALSE(IsFinished(JobState::kCompleting));
  for (JobState s :
       {JobState::kCompleted, JobState::kCancelled, JobState::kFailed, JobState::kTimeout,
        JobState::kNodeFail, JobState::kPreempted, JobState::kOutOfMemory}) {
    EXPECT_TRUE(IsFinished(s)) << JobStateName(s);
  }
}

TEST(JobTest, DisplayId) {
  Job job;
  job.id = 12;
  EXPECT_EQ(job.DisplayId(), "12");
  EXPECT_FALSE(job.IsArrayTask());
  job.id = 14;
  job.array_job_id = 10;
  job.array_task_id = 3;
  EXPECT_EQ(job.DisplayId(), "10_3");
  EXPECT_TRUE(job.IsArrayTask());
}

Node RespondingNode(uint32_t cpus) {
  Node n;
  n.name = "n1";
  n.cpus = cpus;
  n.memory_mb = 1000;
  n.responding = true;
  n.boot_time = 100;
  return n;
}

TEST(NodeStateTest, IdleMixedAllocated) {
  Node n = RespondingNode(4);
  EXPECT_EQ(n.BaseState(), NodeState::kIdle);
  EXPECT_EQ(n.StateText(false), "idle");
  EXPECT_EQ(n.StateText(true), "idle");

  n.alloc_cpus = 2;
  n.running_jobs = {7};
  EXPECT_EQ(n.BaseState(), NodeState::kMixed);
  EXPECT_EQ(n.StateText(false), "mix");
  EXPECT_EQ(n.StateText(true), "mixed");

  n.alloc_cpus = 4;
  EXPECT_EQ(n.BaseState(), NodeState::kAllocated);
  EXPECT_EQ(n.StateText(false), "alloc");
  EXPECT_EQ(n.StateText(true), "allocated");
  EXPECT_TRUE(n.Schedulable());
}

TEST(NodeStateTest, DrainedAndDraining) {
  Node n = RespondingNode(4);
  n.drain = true;
  EXPECT_FALSE(n.Schedulable());
  EXPECT_EQ(n.StateText(false), "drain");
  EXPECT_EQ(n.StateText(true), "drained");
  n.alloc_cpus = 1;
  n.running_jobs = {3};
  EXPECT_EQ(n.StateText(false), "drng");
  EXPECT_EQ(n.StateText(true), "draining");
}

TEST(NodeStateTest, DownWinsOverDrain) {
  Node n = RespondingNode(4);
  n.down = true;
  n.drain = true;
  EXPECT_FALSE(n.Schedulable());
  EXPECT_EQ(n.BaseState(), NodeState::kDown);
  EXPECT_EQ(n.StateText(false), "down");
  EXPECT_EQ(n.StateText(true), "down");
}

TEST(NodeStateTest, NotRespondingGetsAStar) {
  Node n = RespondingNode(4);
  n.responding = false;
  EXPECT_FALSE(n.Schedulable());
  // Silent but not (yet) declared down: the allocation state with '*', as sinfo shows it.
  EXPECT_EQ(n.StateText(false), "idle*");
  n.alloc_cpus = 2;
  n.running_jobs = {5};
  EXPECT_EQ(n.StateText(false), "mix*");
  n.alloc_cpus = 4;
  EXPECT_EQ(n.StateText(false), "alloc*");
  EXPECT_EQ(n.StateText(true), "allocated*");
  n.down = true;
  EXPECT_EQ(n.StateText(false), "down*");
  n.down = false;
  n.drain = true;
  EXPECT_EQ(n.StateText(false), "drng*");
  n.alloc_cpus = 0;
  n.running_jobs.clear();
  EXPECT_EQ(n.StateText(false), "drain*");
}

TEST(NodeStateTest, NeverRegisteredIsUnknown) {
  Node n;
  n.name = "n9";
  EXPECT_EQ(n.StateText(false), "unk*");
  EXPECT_EQ(n.StateText(true), "unknown*");
  EXPECT_FALSE(n.Schedulable());
}

TEST(PartitionTest, Contains) {
  Partition p;
  p.nodes = {"n1", "n2"};
  EXPECT_TRUE(p.Contains("n1"));
  EXPECT_TRUE(p.Contains("n2"));
  EXPECT_FALSE(p.Contains("n3"));
  EXPECT_FALSE(p.Contains("n"));
  p.all_nodes = true;
  EXPECT_TRUE(p.Contains("n3"));
}

}  // namespace
}  // namespace shoal

namespace shoal {
namespace {

// Power saving's states, as sinfo's suffixes show them: powered down is idle (not down and not
// "not responding"), and takes jobs.
TEST(NodePowerTest, SuffixesAndSchedulable) {
  Node n;
  n.name = "c1";
  n.cpus = 2;
  n.power = NodePower::kPoweredDown;
  EXPECT_EQ(n.StateText(false), "idle~");
  EXPECT_EQ(n.BaseState(), NodeState::kIdle);
  EXPECT_TRUE(n.Schedulable());
  n.power = NodePower::kPoweringUp;
  n.alloc_cpus = 2;
  n.running_jobs = {1};
  EXPECT_EQ(n.StateText(false), "alloc#");
  EXPECT_TRUE(n.Schedulable());
  EXPECT_FALSE(n.PoweredOn());
  n.alloc_cpus = 0;
  n.running_jobs.clear();
  n.power = NodePower::kPoweringDown;
  EXPECT_EQ(n.StateText(false), "idle%");
  EXPECT_FALSE(n.Schedulable());
  n.power = NodePower::kOn;
  n.responding = true;
  n.boot_time = 1;
  n.power_down_pending = true;
  EXPECT_EQ(n.StateText(false), "idle!");
  EXPECT_FALSE(n.Schedulable());
  n.power_down_pending = false;
  n.power = NodePower::kPoweredDown;
  n.down = true;
  EXPECT_EQ(n.StateText(false), "down~");
  EXPECT_FALSE(n.Schedulable());
  EXPECT_STREQ(NodePowerFlag(NodePower::kPoweredDown), "POWERED_DOWN");
  EXPECT_STREQ(NodePowerFlag(NodePower::kOn), "");
}

}  // namespace
}  // namespace shoal
