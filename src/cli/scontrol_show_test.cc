#include "cli/scontrol_show.h"

#include <gtest/gtest.h>

#include "cli/test_fixtures.h"

namespace shoal {
namespace {

using testing::kSubmit;

const Job& Find(const std::vector<Job>& jobs, JobId id) {
  for (const Job& j : jobs) {
    if (j.id == id) return j;
  }
  static Job none;
  return none;
}

// scontrol show job 3 from Slurm 22.05, 33 s after submission. Only AllocNode:Sid differs
// (shoal keeps no session id).
TEST(ScontrolShowTest, RunningJobMatchesSlurm) {
  testing::UseUtc();
  std::vector<Job> jobs = testing::ReferenceQueue();
  JobRow row{&Find(jobs, 3), {}, false};
  EXPECT_EQ(RenderJobRecord(row, kSubmit + 1 + 33, false),
            "JobId=3 JobName=sleeper\n"
            "   UserId=root(0) GroupId=root(0) MCS_label=N/A\n"
            "   Priority=4294901757 Nice=0 Account=root QOS=normal\n"
            "   JobState=RUNNING Reason=None Dependency=(null)\n"
            "   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0\n"
            "   RunTime=00:00:33 TimeLimit=00:30:00 TimeMin=N/A\n"
            "   SubmitTime=2026-11-25T17:07:41 EligibleTime=2026-11-25T17:07:41\n"
            "   AccrueTime=2026-11-25T17:07:41\n"
            "   StartTime=2026-11-25T17:07:42 EndTime=2026-11-25T17:37:42 Deadline=N/A\n"
            "   SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-25T17:07:42 "
            "Scheduler=Main\n"
            "   Partition=debug AllocNode:Sid=localhost:0\n"
            "   ReqNodeList=(null) ExcNodeList=(null)\n"
            "   NodeList=n[1-2]\n"
            "   BatchHost=n1\n"
            "   NumNodes=2 NumCPUs=4 NumTasks=4 CPUs/Task=1 ReqB:S:C:T=0:0:*:*\n"
            "   TRES=cpu=4,node=2,billing=4\n"
            "   Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=*\n"
            "   MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0\n"
            "   Features=(null) DelayBoot=00:00:00\n"
            "   OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null)\n"
            "   Command=(null)\n"
            "   WorkDir=/tmp/sref\n"
            "   StdErr=/tmp/sref/slurm-3.out\n"
            "   StdIn=/dev/null\n"
            "   StdOut=/tmp/sref/slurm-3.out\n"
            "   Power=\n"
            "   \n"
            "\n");
}

// A pending job the scheduler has planned shows when and where, as Slurm's backfill shows it.
TEST(ScontrolShowTest, PlannedPendingJobShowsStartEndAndSchedNodes) {
  testing::UseUtc();
  std::vector<Job> jobs = testing::ReferenceQueue();
  Job job = Find(jobs, 7);  // pending on Resources
  job.req.time_limit_s = 300;
  job.planned_start = kSubmit + 600;
  job.planned_nodes = {"n3", "n4"};
  std::string out = RenderJobRecord(JobRow{&job, {}, false}, kSubmit + 5, false);
  EXPECT_NE(out.find("   StartTime=2026-11-25T17:17:41 EndTime=2026-11-25T17:22:41 Deadline=N/A\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("   NodeList= SchedNodeList=n[3-4]\n"), std::string::npos) << out;
  job.planned_start = 0;
  job.planned_nodes.clear();
  out = RenderJobRecord(JobRow{&job, {}, false}, kSubmit + 5, false);
  EXPECT_NE(out.find("   StartTime=Unknown EndTime=Unknown Deadline=N/A\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("   NodeList=\n"), std::string::npos) << out;
}

TEST(ScontrolShowTest, ArrayTaskHeaderAndOneliner) {
  testing::UseUtc();
  std::vector<Job> jobs = testing::ReferenceQueue();
  JobRow task{&Find(jobs, 11), {}, false};  // 5_1, running
  std::string out = RenderJobRecord(task, kSubmit + 34, false);
  EXPECT_TRUE(
      out.starts_with("JobId=11 ArrayJobId=5 ArrayTaskId=1 ArrayTaskThrottle=4 "
                      "JobName=wrap\n"))
      << out;
  EXPECT_NE(out.find("   StartTime=2026-11-25T17:07:42 EndTime=Unknown Deadline=N/A\n"),
            std::string::npos);
  EXPECT_NE(out.find("   NumNodes=1 NumCPUs=2 NumTasks=1 CPUs/Task=2 ReqB:S:C:T=0:0:*:*\n"),
            std::string::npos);
  EXPECT_NE(out.find("   MinCPUsNode=2 MinMemoryNode=0 MinTmpDiskNode=0\n"), std::string::npos);
  EXPECT_NE(out.find("   StdErr=/tmp/sref/slurm-5_1.out\n"), std::string::npos);

  // The pending remainder shows as the array's own record.
  std::vector<JobRow> rows = BuildJobRows(jobs, false);
  const JobRow* meta = nullptr;
  for (const JobRow& r : rows) {
    if (!r.pending_tasks.empty()) meta = &r;
  }
  ASSERT_NE(meta, nullptr);
  std::string one = RenderJobRecord(*meta, kSubmit + 34, true);
  EXPECT_TRUE(
      one.starts_with("JobId=5 ArrayJobId=5 ArrayTaskId=4-15%4 ArrayTaskThrottle=4 "
                      "JobName=wrap UserId=root(0) GroupId=root(0) MCS_label=N/A "))
      << one;
  EXPECT_TRUE(one.ends_with(" Power= \n")) << one;
  EXPECT_EQ(one.find('\n'), one.size() - 1);
  EXPECT_NE(one.find(" JobState=PENDING Reason=JobArrayTaskLimit Dependency=(null) "),
            std::string::npos);
  EXPECT_NE(one.find(" SubmitTime=2026-11-25T17:07:41 EligibleTime=Unknown AccrueTime=Unknown "
                     "StartTime=Unknown EndTime=Unknown Deadline=N/A "),
            std::string::npos);
  EXPECT_NE(one.find(" NodeList= NumNodes=1 NumCPUs=2 "), std::string::npos);
}

TEST(ScontrolShowTest, PartitionMatchesSlurm) {
  std::vector<Node> nodes = {testing::MakeNode("n1", 0), testing::MakeNode("n2", 0),
                             testing::MakeNode("n3", 0), testing::MakeNode("n4", 0)};
  std::vector<Partition> parts = testing::ReferencePartitions();
  EXPECT_EQ(RenderPartitionRecord(parts[0], nodes, false),
            "PartitionName=debug\n"
            "   AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL\n"
            "   AllocNodes=ALL Default=YES QoS=N/A\n"
            "   DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO\n"
            "   MaxNodes=UNLIMITED MaxTime=UNLIMITED MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED\n"
            "   Nodes=n[1-4]\n"
            "   PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO\n"
            "   OverTimeLimit=NONE PreemptMode=OFF\n"
            "   State=UP TotalCPUs=64 TotalNodes=4 SelectTypeParameters=NONE\n"
            "   JobDefaults=(null)\n"
            "   DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED\n"
            "   TRES=cpu=64,mem=16000M,node=4,billing=64\n"
            "\n");
  std::string long_p = RenderPartitionRecord(parts[1], nodes, false);
  EXPECT_NE(long_p.find("   DefaultTime=01:00:00 DisableRootJobs=NO"), std::string::npos);
  EXPECT_NE(long_p.find("   MaxNodes=UNLIMITED MaxTime=2-00:00:00 MinNodes=0 "), std::string::npos);
  EXPECT_NE(long_p.find("   TRES=cpu=32,mem=8000M,node=2,billing=32\n"), std::string::npos);
}

TEST(ScontrolShowTest, NodeRecord) {
  testing::UseUtc();
  Node n2 = testing::MakeNode("n2", 0);
  n2.drain = true;
  n2.reason = "maint work";
  n2.reason_time = kSubmit + 74;
  std::string out = RenderNodeRecord(n2, testing::ReferencePartitions(), false);
  EXPECT_TRUE(
      out.starts_with("NodeName=n2 Arch=(null) CoresPerSocket=1 \n"
                      "   CPUAlloc=0 CPUEfctv=16 CPUTot=16 CPULoad=N/A\n"))
      << out;
  EXPECT_NE(out.find("   State=IDLE+DRAIN ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A "
                     "MCS_label=N/A\n"),
            std::string::npos);
  EXPECT_NE(out.find("   Partitions=debug \n"), std::string::npos);
  EXPECT_NE(out.find("   CfgTRES=cpu=16,mem=4000M,billing=16\n   AllocTRES=\n"), std::string::npos);
  EXPECT_TRUE(out.ends_with("   Reason=maint work [unknown@2026-11-25T17:08:55]\n\n")) << out;
  Node n1 = testing::MakeNode("n1", 8);
  EXPECT_EQ(ScontrolNodeState(n1), "MIXED");
  n1.responding = false;
  EXPECT_EQ(ScontrolNodeState(n1), "DOWN+NOT_RESPONDING");
}

TEST(ScontrolShowTest, Config) {
  testing::UseUtc();
  std::map<std::string, std::string> config = {{"AccountingStorageHost", "localhost"},
                                               {"AccountingStorageBackupHost", "(null)"}};
  EXPECT_EQ(RenderConfig(config, kSubmit),
            "Configuration data as of 2026-11-25T17:07:41\n"
            "AccountingStorageBackupHost = (null)\n"
            "AccountingStorageHost   = localhost\n");
}

}  // namespace
}  // namespace shoal
