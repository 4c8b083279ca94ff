#include "cli/sacct_view.h"

#include <gtest/gtest.h>

#include "api/json_model.h"
#include "cli/test_fixtures.h"

namespace shoal {
namespace {

using testing::kSubmit;
using testing::MakeJob;
using testing::Running;

Job Finished(Job j, JobState state, int exit_code, int signal, int64_t run) {
  j.state = state;
  j.exit_code = exit_code;
  j.exit_signal = signal;
  j.end_time = j.start_time + run;
  return j;
}

// Jobs as sacct 22.05 listed them: 14 "exit 3", 15 cancelled after 2 s, 16 killed by
// signal 9 inside the script.
std::vector<Job> FinishedJobs() {
  Job j14 = Finished(Running(MakeJob(14, "wrap", "debug", JobState::kRunning, 1), {"n1"}, 1),
                     JobState::kFailed, 3, 0, 0);
  Job j15 = Finished(Running(MakeJob(15, "tocancel", "debug", JobState::kRunning, 1), {"n1"}, 1),
                     JobState::kCancelled, 0, 15, 2);
  Job j16 = Finished(Running(MakeJob(16, "wrap", "debug", JobState::kRunning, 1), {"n1"}, 1),
                     JobState::kFailed, 0, 9, 0);
  j16.req.time_limit_s = 60;
  return {j14, j15, j16};
}

std::string Render(const std::vector<Job>& jobs, const char* fields, SacctOutput out = {},
                   bool allocations = false, int64_t now = kSubmit + 101) {
  std::string bad;
  std::vector<SacctField> f = ParseSacctFields(fields, &bad);
  EXPECT_EQ(bad, "");
  return RenderSacct(f, BuildSacctLines(jobs, allocations), out, now);
}

TEST(SacctViewTest, DefaultFormatMatchesSlurm) {
  testing::UseUtc();
  EXPECT_EQ(Render(FinishedJobs(), kSacctDefaultFields),
            "JobID           JobName  Partition    Account  AllocCPUS      State ExitCode \n"
            "------------ ---------- ---------- ---------- ---------- ---------- -------- \n"
            "14                 wrap      debug       root          1     FAILED      3:0 \n"
            "14.batch          batch                  root          1     FAILED      3:0 \n"
            "15             tocancel      debug       root          1 CANCELLED+      0:0 \n"
            "15.batch          batch                  root          1  CANCELLED     0:15 \n"
            "16                 wrap      debug       root          1     FAILED      0:9 \n"
            "16.batch          batch                  root          1  CANCELLED      0:9 \n");
  EXPECT_EQ(Render(FinishedJobs(), kSacctDefaultFields, {}, /*allocations=*/true),
            "JobID           JobName  Partition    Account  AllocCPUS      State ExitCode \n"
            "------------ ---------- ---------- ---------- ---------- ---------- -------- \n"
            "14                 wrap      debug       root          1     FAILED      3:0 \n"
            "15             tocancel      debug       root          1 CANCELLED+      0:0 \n"
            "16                 wrap      debug       root          1     FAILED      0:9 \n");
}

TEST(SacctViewTest, ParsableMatchesSlurm) {
  SacctOutput p2;
  p2.parsable2 = true;
  std::vector<Job> jobs = {FinishedJobs()[1]};
  EXPECT_EQ(Render(jobs, "jobid,state,exitcode", p2),
            "JobID|State|ExitCode\n"
            "15|CANCELLED by 0|0:0\n"
            "15.batch|CANCELLED|0:15\n");
  SacctOutput p;
  p.parsable = true;
  p.header = false;
  EXPECT_EQ(Render(jobs, "jobname", p, true), "tocancel|\n");
}

// A job the kernel killed for its cgroup's memory limit: both lines say OUT_OF_MEMORY with 0:125,
// whatever the script's shell returned (137 here).
TEST(SacctViewTest, OutOfMemoryShowsAsSlurmRecordsIt) {
  Job j = Finished(Running(MakeJob(21, "wrap", "debug", JobState::kRunning, 1), {"n1"}, 1),
                   JobState::kOutOfMemory, 137, 0, 1);
  SacctOutput p2;
  p2.parsable2 = true;
  EXPECT_EQ(Render({j}, "jobid,state,exitcode", p2),
            "JobID|State|ExitCode\n"
            "21|OUT_OF_MEMORY|0:125\n"
            "21.batch|OUT_OF_MEMORY|0:125\n");
}

TEST(SacctViewTest, WidthsAndTruncationMatchSlurm) {
  std::vector<Job> jobs = {FinishedJobs()[1]};
  EXPECT_EQ(Render(jobs, "state%20,jobname%3,jobid%-5"),
            "               State Job JobID \n"
            "-------------------- --- ----- \n"
            "      CANCELLED by 0 to+ 15    \n"
            "           CANCELLED ba+ 15.b+ \n");
  EXPECT_EQ(Render(jobs, "jobid%5,jobidraw%3,nodelist%-4,user%-2"),
            "JobID Job Node Us \n"
            "----- --- ---- -- \n"
            "   15  15 n1   r+ \n"
            "15.b+ 15+ n1      \n");
}

TEST(SacctViewTest, LongFieldsMatchSlurm) {
  testing::UseUtc();
  std::vector<Job> queue = testing::ReferenceQueue();
  std::vector<Job> array;
  for (const Job& j : queue) {
    if (j.array_job_id == 5) array.push_back(j);
  }
  std::string out =
      Render(array,
             "JobID,JobIDRaw,JobName,Partition,Account,AllocCPUS,State,ExitCode,Elapsed,Start,End,"
             "Submit,NodeList,NNodes,User,Timelimit,WorkDir");
  EXPECT_NE(out.find("JobID        JobIDRaw        JobName  Partition    Account  AllocCPUS      "
                     "State ExitCode    Elapsed               Start                 End          "
                     "    Submit        NodeList   NNodes      User  Timelimit              "
                     "WorkDir \n"
                     "------------ ------------ ---------- ---------- ---------- ---------- "
                     "---------- -------- ---------- ------------------- ------------------- "
                     "------------------- --------------- -------- --------- ---------- "
                     "-------------------- \n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("5_0          10                 wrap      debug       root          2    "
                     "RUNNING      0:0   00:01:40 2026-11-25T17:07:42             Unknown "
                     "2026-11-25T17:07:41              n1        1      root  UNLIMITED         "
                     "   /tmp/sref \n"
                     "5_0.batch    10.batch          batch                  root          2    "
                     "RUNNING      0:0   00:01:40 2026-11-25T17:07:42             Unknown "
                     "2026-11-25T17:07:42              n1        1                             "
                     "              \n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("5_[4-15%4]   5                  wrap      debug       root          2    "
                     "PENDING      0:0   00:00:00             Unknown             Unknown "
                     "2026-11-25T17:07:41   None assigned        1      root  UNLIMITED         "
                     "   /tmp/sref \n"),
            std::string::npos)
      << out;
}

TEST(SacctViewTest, UnknownFieldIsReported) {
  std::string bad;
  EXPECT_TRUE(ParseSacctFields("JobID,foo", &bad).empty());
  EXPECT_EQ(bad, "foo");
}

TEST(SacctViewTest, TimeWindow) {
  Job j = FinishedJobs()[0];  // eligible at kSubmit, ended at kSubmit + 1
  std::set<JobState> none;
  EXPECT_TRUE(SacctInWindow(j, kSubmit - 100, kSubmit + 100, none));
  EXPECT_FALSE(SacctInWindow(j, kSubmit + 50, kSubmit + 100, none));
  Job held = MakeJob(6, "wrap", "debug", JobState::kPending, 0);  // never eligible
  EXPECT_FALSE(SacctInWindow(held, kSubmit - 100, kSubmit + 100, none));
  // -s CA without -S looks at "now" only: a job cancelled earlier is not listed.
  std::set<JobState> ca = {JobState::kCancelled};
  Job c = FinishedJobs()[1];
  EXPECT_FALSE(SacctInWindow(c, kSubmit + 500, kSubmit + 500, ca));
  EXPECT_TRUE(SacctInWindow(c, kSubmit - 100, kSubmit + 500, ca));
}

Job OwnedBy(Job j, const std::string& user) {
  j.req.user = user;
  return j;
}

// An accounting answer: the count, then the jobs' documents, a line each as the controller
// writes them (`lines`) or all on one line, then the steps and a member no reader knows.
std::string Answer(const std::vector<Job>& jobs, const std::vector<Step>& steps, int64_t count,
                   bool lines = true) {
  const std::string nl = lines ? "\n" : "";
  std::string text = "{\"count\":" + std::to_string(count) + ",\"jobs\":[" + nl;
  for (size_t i = 0; i < jobs.size(); ++i) text += (i ? "," + nl : "") + JobToJson(jobs[i]).dump();
  text += nl + "],\"steps\":[";
  for (size_t i = 0; i < steps.size(); ++i) text += (i ? "," : "") + StepToJson(steps[i]).dump();
  return text + "],\"other\":[{\"job_id\":1}]}";
}

TEST(SacctAnswerTest, JobsAndStepsAreReadFilteredAndPutInSubmissionOrder) {
  // Tasks 1 and 0 of array 10 started after job 11 was submitted: ids 12 and 13.
  Job array_head = OwnedBy(MakeJob(10, "arr", "debug", JobState::kCompleted, 1), "alice");
  array_head.array_job_id = 10;
  array_head.array_task_id = 2;
  Job later = OwnedBy(MakeJob(11, "later", "debug", JobState::kCompleted, 1), "alice");
  Job task1 = OwnedBy(MakeJob(12, "arr", "debug", JobState::kCompleted, 1), "alice");
  task1.array_job_id = 10;
  task1.array_task_id = 1;
  Job task0 = OwnedBy(MakeJob(13, "arr", "debug", JobState::kFailed, 1), "alice");
  task0.array_job_id = 10;
  task0.array_task_id = 0;
  Job others = OwnedBy(MakeJob(14, "x", "debug", JobState::kCompleted, 1), "bob");
  Step step;
  step.job_id = 11;
  step.step_id = 0;
  step.name = "hostname";

  for (bool lines : {true, false}) {
    std::vector<Job> jobs;
    std::vector<Step> steps;
    Status read = ReadAccountingAnswer(
        Answer({array_head, later, task1, task0, others}, {step}, 5, lines),
        [](const Job& j) { return j.req.user == "alice"; }, jobs, steps);
    ASSERT_TRUE(read.ok()) << read.message();
    SortForAccounting(jobs);
    std::vector<JobId> order;
    for (const Job& j : jobs) order.push_back(j.id);
    EXPECT_EQ(order, (std::vector<JobId>{13, 12, 10, 11})) << "lines " << lines;
    EXPECT_EQ(jobs[0].state, JobState::kFailed);
    ASSERT_EQ(steps.size(), 1u);
    EXPECT_EQ(steps[0].name, "hostname");
  }
}

// A long answer is decoded on several threads, in runs of whole lines, and comes out whole
// and in order; one bad line sends it all to the general reader, which refuses it.
TEST(SacctAnswerTest, ALongAnswerIsReadInRunsAndInOrder) {
  std::vector<Job> sent;
  for (JobId id = 1; id <= 3000; ++id) {
    sent.push_back(OwnedBy(MakeJob(id, "j", "debug", JobState::kCompleted, 1), "alice"));
  }
  const std::string text = Answer(sent, {}, static_cast<int64_t>(sent.size()));
  ASSERT_GT(text.size(), 1u << 20) << "long enough for threads";
  std::vector<Job> jobs;
  std::vector<Step> steps;
  auto odd = [](const Job& j) { return j.id % 2 == 1; };
  ASSERT_TRUE(ReadAccountingAnswer(text, odd, jobs, steps).ok());
  ASSERT_EQ(jobs.size(), 1500u);
  // Sized from the runs' results (the general reader sizes it from the count, 3,000).
  EXPECT_EQ(jobs.capacity(), 1500u) << "read by lines";
  for (size_t k = 0; k < jobs.size(); ++k) ASSERT_EQ(jobs[k].id, 2 * k + 1);

  std::string broken = text;
  broken.insert(broken.find("\n", broken.size() / 2) + 1, "{not json},\n");
  jobs.clear();
  EXPECT_FALSE(ReadAccountingAnswer(broken, odd, jobs, steps).ok());
}

TEST(SacctAnswerTest, ABadCountOrAnswerIsNoHarm) {
  std::vector<Job> jobs;
  std::vector<Step> steps;
  auto all = [](const Job&) { return true; };
  // A count no answer of this size could hold reserves no more than the text could.
  const std::string text = Answer(
      {OwnedBy(MakeJob(1, "a", "debug", JobState::kCompleted, 1), "alice")}, {}, int64_t{1} << 60);
  ASSERT_TRUE(ReadAccountingAnswer(text, all, jobs, steps).ok());
  EXPECT_EQ(jobs.size(), 1u);
  EXPECT_LE(jobs.capacity(), text.size());
  jobs.clear();
  ASSERT_TRUE(ReadAccountingAnswer("{\"count\":0,\"jobs\":[\n\n]}", all, jobs, steps).ok());
  EXPECT_TRUE(jobs.empty());
  ASSERT_TRUE(ReadAccountingAnswer("{\"jobs\":[{\"job_id\":\"x\"}, 3]}", all, jobs, steps).ok());
  EXPECT_TRUE(jobs.empty()) << "documents that are not jobs are skipped";
  Status bad = ReadAccountingAnswer("{\"jobs\":[", all, jobs, steps);
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace shoal
