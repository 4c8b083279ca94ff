#include "cli/job_fields.h"

#include <gtest/gtest.h>

#include "cli/test_fixtures.h"

namespace shoal {
namespace {

using testing::ArrayTask;
using testing::MakeJob;

std::vector<Job> Array(JobId array_id, const std::vector<int64_t>& pending,
                       const std::vector<int64_t>& started, uint32_t throttle) {
  std::vector<Job> jobs;
  JobId next = array_id;
  for (int64_t t : started) {
    jobs.push_back(
        ArrayTask(MakeJob(next++, "wrap", "debug", JobState::kRunning, 1), array_id, t, throttle));
  }
  for (int64_t t : pending) {
    jobs.push_back(
        ArrayTask(MakeJob(next++, "wrap", "debug", JobState::kPending, 1), array_id, t, throttle));
  }
  return jobs;
}

std::vector<std::string> Ids(const std::vector<Job>& jobs, bool expand) {
  std::vector<std::string> out;
  for (const JobRow& r : BuildJobRows(jobs, expand)) out.push_back(r.IdText());
  return out;
}

// The forms squeue 22.05 printed for: -a 0-15%4 (4 running), -a 0-1%1 (one running),
// -H -a 1,3,5, -H -a 0-10:2%3, -H -a 7.
TEST(JobRowsTest, CollapsesPendingArrayTasksLikeSlurm) {
  EXPECT_EQ(Ids(Array(5, {4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {0, 1, 2, 3}, 4), false),
            (std::vector<std::string>{"5_0", "5_1", "5_2", "5_3", "5_[4-15%4]"}));
  EXPECT_EQ(Ids(Array(30, {1}, {0}, 1), false), (std::vector<std::string>{"30_0", "30_1"}));
  EXPECT_EQ(Ids(Array(31, {1, 3, 5}, {}, 0), false), (std::vector<std::string>{"31_[1,3,5]"}));
  EXPECT_EQ(Ids(Array(32, {0, 2, 4, 6, 8, 10}, {}, 3), false),
            (std::vector<std::string>{"32_[0,2,4,6,8,10%3]"}));
  EXPECT_EQ(Ids(Array(33, {7}, {}, 0), false), (std::vector<std::string>{"33_[7]"}));
}

TEST(JobRowsTest, ExpandKeepsOneRowPerTask) {
  EXPECT_EQ(Ids(Array(31, {1, 3, 5}, {}, 0), true),
            (std::vector<std::string>{"31_1", "31_3", "31_5"}));
}

TEST(JobRowsTest, TaskIdTextAndRawId) {
  std::vector<Job> jobs = Array(5, {4, 5, 6}, {0}, 4);
  std::vector<JobRow> rows = BuildJobRows(jobs, false);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].TaskIdText(), "0");
  EXPECT_EQ(rows[1].TaskIdText(), "4-6%4");
  EXPECT_EQ(rows[1].RawId(), 5u);
  Job plain = MakeJob(9, "wrap", "debug", JobState::kPending, 1);
  std::vector<Job> one = {plain};
  EXPECT_EQ(BuildJobRows(one, false)[0].TaskIdText(), "N/A");
}

TEST(JobFieldsTest, Texts) {
  testing::UseUtc();
  Job j = MakeJob(54, "wrap", "debug", JobState::kPending, 0);
  EXPECT_EQ(JobCommandText(j), "(null)");
  EXPECT_EQ(JobStdoutPath(j), "/tmp/sref/slurm-54.out");
  EXPECT_EQ(JobStderrPath(j), "/tmp/sref/slurm-54.out");
  j.req.stdout_pattern = "out%j.txt";
  j.req.stderr_pattern = "err.txt";
  EXPECT_EQ(JobStdoutPath(j), "/tmp/sref/out54.txt");
  EXPECT_EQ(JobStderrPath(j), "/tmp/sref/err.txt");
  Job task = ArrayTask(MakeJob(17, "wrap", "debug", JobState::kPending, 1), 5, 7, 4);
  EXPECT_EQ(JobStdoutPath(task), "/tmp/sref/slurm-5_7.out");
  EXPECT_EQ(JobMinMemoryText(j), "0");
  j.req.mem_per_node_mb = 100;
  EXPECT_EQ(JobMinMemoryText(j), "100M");
  j.req.min_nodes = 2;
  j.req.max_nodes = 3;
  EXPECT_EQ(JobNodeCountText(j), "2-3");
  EXPECT_EQ(JobExitCodeText(j), "0:0");
  Dependency a, b;
  a.kind = Dependency::Kind::kAfterOk;
  a.job_id = 30;
  a.array_task = 1;
  b.kind = Dependency::Kind::kAfterAny;
  b.job_id = 5;
  j.req.dependency.clauses = {a, b};
  j.req.dependency.any = true;
  EXPECT_EQ(JobDependencyText(j), "afterok:30_1(unfulfilled)?afterany:5(unfulfilled)");
  j.state = JobState::kRunning;
  EXPECT_EQ(JobDependencyText(j), "(null)");
}

}  // namespace
}  // namespace shoal
