#include "common/output_pattern.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

OutputPatternFields Job() {
  OutputPatternFields f;
  f.job_id = 42;
  f.job_name = "train";
  f.user = "alice";
  f.node_name = "node1";
  return f;
}

TEST(ExpandOutputPatternTest, DefaultSbatchName) {
  EXPECT_EQ(ExpandOutputPattern("slurm-%j.out", Job(), "/home/alice"), "/home/alice/slurm-42.out");
}

TEST(ExpandOutputPatternTest, AllFields) {
  OutputPatternFields f = Job();
  EXPECT_EQ(ExpandOutputPattern("/o/%x-%u-%N-%j-%%", f, "/w"), "/o/train-alice-node1-42-%");
  // Not an array: %A is the job id, %a prints 0.
  EXPECT_EQ(ExpandOutputPattern("/o/%A_%a", f, "/w"), "/o/42_0");
  f.job_id = 107;
  f.array_job_id = 100;
  f.array_task_id = 7;
  EXPECT_EQ(ExpandOutputPattern("/o/%A_%a.%j", f, "/w"), "/o/100_7.107");
}

TEST(ExpandOutputPatternTest, ZeroPadsNumbersOnly) {
  OutputPatternFields f = Job();
  EXPECT_EQ(ExpandOutputPattern("/o/%4j", f, "/w"), "/o/0042");
  EXPECT_EQ(ExpandOutputPattern("/o/%1j", f, "/w"), "/o/42");
  EXPECT_EQ(ExpandOutputPattern("/o/%3a", f, "/w"), "/o/000");
  EXPECT_EQ(ExpandOutputPattern("/o/%8N", f, "/w"), "/o/node1");
  EXPECT_EQ(ExpandOutputPattern("/o/%99j", f, "/w"), "/o/0000000042");  // capped at 10
}

TEST(ExpandOutputPatternTest, UnknownSequencesKept) {
  OutputPatternFields f = Job();
  EXPECT_EQ(ExpandOutputPattern("/o/%q%5z-%j", f, "/w"), "/o/%q%5z-42");
  EXPECT_EQ(ExpandOutputPattern("/o/end%", f, "/w"), "/o/end%");
  EXPECT_EQ(ExpandOutputPattern("/o/end%3", f, "/w"), "/o/end%3");
}

TEST(ExpandOutputPatternTest, RelativeJoinsWorkDir) {
  OutputPatternFields f = Job();
  EXPECT_EQ(ExpandOutputPattern("out/%j.log", f, "/w"), "/w/out/42.log");
  EXPECT_EQ(ExpandOutputPattern("%j.log", f, "/w/"), "/w/42.log");
  EXPECT_EQ(ExpandOutputPattern("/abs/%j.log", f, "/w"), "/abs/42.log");
  EXPECT_EQ(ExpandOutputPattern("%j.log", f, ""), "42.log");
  EXPECT_EQ(ExpandOutputPattern("/dev/null", f, "/w"), "/dev/null");
}

}  // namespace
}  // namespace shoal
