#include "cli/sstat_view.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

TaskUsageSample Task(std::string node, uint32_t task, double cpu, uint64_t rss, uint64_t vm) {
  TaskUsageSample t;
  t.node = std::move(node);
  t.task = task;
  t.cpu_seconds = cpu;
  t.rss_bytes = rss;
  t.vm_bytes = vm;
  t.read_bytes = 1690115;
  t.write_bytes = 1690;
  t.pids = {static_cast<int32_t>(100 + task)};
  return t;
}

StepUsage Batch() {
  StepUsage s;
  s.job_id = 32;
  s.batch = true;
  s.nodes = {"n1"};
  s.ntasks = 1;
  s.tasks = {Task("n1", 0, 16.7, 120143872, 124477440)};
  return s;
}

// Three tasks on two nodes, task 2 the largest, task 0 the slowest.
StepUsage ThreeTasks() {
  StepUsage s;
  s.job_id = 33;
  s.step_id = 0;
  s.nodes = {"n1", "n2"};
  s.ntasks = 3;
  s.tasks = {Task("n1", 0, 1.2, 30 << 20, 40 << 20), Task("n1", 1, 1.9, 40 << 20, 50 << 20),
             Task("n2", 2, 1.5, 50 << 20, 60 << 20)};
  return s;
}

std::string Render(const std::string& format, const std::vector<const StepUsage*>& steps,
                   SacctOutput out, bool per_node = false, bool noconvert = false) {
  std::string bad;
  std::vector<SacctField> fields = ParseSstatFields(format, &bad);
  EXPECT_EQ(bad, "");
  std::vector<SstatRow> rows = SstatRows(steps, per_node);
  return RenderFieldTable(
      fields, rows.size(),
      [&](const SacctField& f, size_t r) { return SstatValue(f, rows[r], noconvert); }, out);
}

TEST(SstatViewTest, SizesScaleOnlyWhileExact) {
  EXPECT_EQ(SstatSizeText(120143872, false), "117328K");
  EXPECT_EQ(SstatSizeText(45208917, false), "45208917");
  EXPECT_EQ(SstatSizeText(100u << 20, false), "100M");
  EXPECT_EQ(SstatSizeText(0, false), "0");
  EXPECT_EQ(SstatSizeText(3ull << 30, false), "3G");
  EXPECT_EQ(SstatSizeText(120143872, true), "120143872");
}

TEST(SstatViewTest, BatchStepAsSlurmPrintsIt) {
  StepUsage b = Batch();
  SacctOutput out;
  EXPECT_EQ(Render("JobID,MaxRSS,AveCPU,MaxRSSNode,MaxRSSTask,NTasks,AveRSS,AveVMSize,MaxPages,"
                   "TRESUsageInMax,AveDiskRead,MinCPU",
                   {&b}, {true, true, false}),
            "JobID|MaxRSS|AveCPU|MaxRSSNode|MaxRSSTask|NTasks|AveRSS|AveVMSize|MaxPages|"
            "TRESUsageInMax|AveDiskRead|MinCPU|\n"
            "32.batch|117328K|00:00:16|n1|0|1|117328K|121560K|0|cpu=00:00:16,energy=0,fs/"
            "disk=1690115,mem=117328K,pages=0,vmem=121560K|1690115|00:00:16|\n");
  SacctOutput p2;
  p2.parsable2 = true;
  p2.header = false;
  EXPECT_EQ(Render("JobID,MaxRSS,AveCPU,MaxVMSize", {&b}, p2, false, true),
            "32.batch|120143872|00:00:16|124477440\n");
  EXPECT_EQ(Render("TRESUsageInMaxNode,TRESUsageInMaxTask,TRESUsageOutAve,TRESUsageOutMaxNode,"
                   "TRESUsageOutMaxTask",
                   {&b}, p2),
            "cpu=n1,energy=n1,fs/disk=n1,mem=n1,pages=n1,vmem=n1|cpu=00:00:00,fs/disk=0,mem=0,"
            "pages=0,vmem=0|energy=0,fs/disk=1690|energy=n1,fs/disk=n1|fs/disk=0\n");
}

TEST(SstatViewTest, StatisticsOverTasksOnSeveralNodes) {
  StepUsage s = ThreeTasks();
  SacctOutput p2;
  p2.parsable2 = true;
  p2.header = false;
  EXPECT_EQ(Render("JobID,MaxRSS,MaxRSSNode,MaxRSSTask,AveRSS,NTasks,MinCPU,MinCPUNode,MinCPUTask,"
                   "AveCPU,Nodelist,Pids,MaxVMSizeTask",
                   {&s}, p2),
            "33.0|50M|n2|2|40M|3|00:00:01|n1|0|00:00:01|n[1-2]|100,101,102|2\n");
  // -i: one line per node, its own tasks only.
  EXPECT_EQ(Render("JobID,Nodelist,Pids,NTasks,MaxRSS", {&s}, p2, true),
            "33.0|n1|100,101|2|40M\n33.0|n2|102|1|50M\n");
}

TEST(SstatViewTest, ColumnsHeaderAndCutAsSlurm) {
  StepUsage b = Batch();
  StepUsage s = ThreeTasks();
  EXPECT_EQ(Render("jobid%20,maxrss%-12,avecpu%3", {&b, &s}, SacctOutput{}),
            "               JobID MaxRSS       Ave \n"
            "-------------------- ------------ --- \n"
            "            32.batch 117328K      00+ \n"
            "                33.0 50M          00+ \n");
  EXPECT_EQ(Render("JobID,MaxRSS,Nodelist", {&s}, SacctOutput{}),
            "JobID            MaxRSS             Nodelist \n"
            "------------ ---------- -------------------- \n"
            "33.0                50M               n[1-2] \n");
}

TEST(SstatViewTest, NodesThatDidNotAnswerLeaveValuesEmpty) {
  StepUsage s = ThreeTasks();
  s.tasks.clear();
  SacctOutput p2;
  p2.parsable2 = true;
  p2.header = false;
  EXPECT_EQ(Render("JobID,NTasks,MaxRSS,AveCPU,Pids,AveCPUFreq", {&s}, p2), "33.0|3||||0\n");
}

TEST(SstatViewTest, DefaultHeaderAsSlurm) {
  const std::string text = Render(kSstatDefaultFields, {}, SacctOutput{});
  EXPECT_EQ(
      text.substr(0, text.find('\n')),
      "JobID         MaxVMSize  MaxVMSizeNode  MaxVMSizeTask  AveVMSize     MaxRSS MaxRSSNode "
      "MaxRSSTask     AveRSS MaxPages MaxPagesNode   MaxPagesTask   AvePages     MinCPU "
      "MinCPUNode MinCPUTask     AveCPU   NTasks AveCPUFreq ReqCPUFreqMin ReqCPUFreqMax "
      "ReqCPUFreqGov ConsumedEnergy  MaxDiskRead MaxDiskReadNode MaxDiskReadTask  AveDiskRead "
      "MaxDiskWrite MaxDiskWriteNode MaxDiskWriteTask AveDiskWrite TRESUsageInAve "
      "TRESUsageInMax TRESUsageInMaxNode TRESUsageInMaxTask TRESUsageInMin TRESUsageInMinNode "
      "TRESUsageInMinTask TRESUsageInTot TRESUsageOutAve TRESUsageOutMax TRESUsageOutMaxNode "
      "TRESUsageOutMaxTask TRESUsageOutMin TRESUsageOutMinNode TRESUsageOutMinTask "
      "TRESUsageOutTot ");
}

TEST(SstatViewTest, FieldsAndTheirErrors) {
  std::string bad;
  EXPECT_EQ(ParseSstatFields(kSstatDefaultFields, &bad).size(), 47u);
  EXPECT_EQ(bad, "");
  EXPECT_TRUE(ParseSstatFields("jobid,foo", &bad).empty());
  EXPECT_EQ(bad, "foo");
  // sacct-only fields are not sstat's.
  bad.clear();
  EXPECT_TRUE(ParseSstatFields("State", &bad).empty());
  EXPECT_EQ(bad, "State");
  const std::string names = SstatFieldNames();
  EXPECT_EQ(names.substr(0, names.find('\n') + 1),
            "AveCPU              AveCPUFreq          AveDiskRead         AveDiskWrite       \n");
  EXPECT_NE(names.find("TRESUsageOutMinNode TRESUsageOutMinTask TRESUsageOutTot    \n"),
            std::string::npos);
}

TEST(SstatViewTest, JobArguments) {
  auto ok = ParseSstatJobs("12,12.0,12.batch,10_3,10_3.1,12.1.1");
  ASSERT_TRUE(ok.ok());
  ASSERT_EQ(ok->size(), 6u);
  EXPECT_EQ((*ok)[0].job, "12");
  EXPECT_FALSE((*ok)[0].step.has_value());
  EXPECT_EQ((*ok)[1].step, "0");
  EXPECT_EQ((*ok)[2].step, "batch");
  EXPECT_EQ((*ok)[3].job, "10_3");
  EXPECT_EQ((*ok)[4].job, "10_3");
  EXPECT_EQ((*ok)[4].step, "1");
  EXPECT_EQ((*ok)[5].step, "1");
  EXPECT_EQ(ParseSstatJobs("abc").status().message(), "Bad job/step specified: abc");
  EXPECT_EQ(ParseSstatJobs("32.x").status().message(), "Bad step specified: 32");
  EXPECT_EQ(ParseSstatJobs("32_x").status().message(), "Bad job array element specified: 32");
}

TEST(SstatViewTest, WhichStepsAJobShows) {
  StepUsage b = Batch();
  StepUsage s0 = ThreeTasks();
  StepUsage s1 = ThreeTasks();
  s1.step_id = 1;
  std::vector<StepUsage> steps = {s1, b, s0};
  SstatTarget job{"33", std::nullopt};
  // No step: the lowest numbered srun step; -a: all, batch first.
  auto lowest = SstatSelectSteps(steps, job, false);
  ASSERT_EQ(lowest.size(), 1u);
  EXPECT_EQ(lowest[0]->step_id, 0u);
  auto all = SstatSelectSteps(steps, job, true);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_TRUE(all[0]->batch);
  EXPECT_EQ(all[2]->step_id, 1u);
  // A job running only its batch script shows nothing without -a or .batch.
  EXPECT_TRUE(SstatSelectSteps({b}, job, false).empty());
  EXPECT_EQ(SstatSelectSteps({b}, SstatTarget{"33", "batch"}, false).size(), 1u);
  EXPECT_TRUE(SstatSelectSteps(steps, SstatTarget{"33", "5"}, true).empty());
}

}  // namespace
}  // namespace shoal
