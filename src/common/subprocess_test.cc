#include "common/subprocess.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

using std::chrono::milliseconds;

TEST(RunProgramTest, PassesArgumentsAndCapturesOutput) {
  ProgramResult r = RunProgram({"/bin/sh", "-c", "echo out $0; echo err >&2; exit 3", "arg"},
                               milliseconds(5000), /*capture=*/true);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.output, "out arg\nerr\n");
  EXPECT_EQ(r.Describe(milliseconds(5000)), "exit code 3");
}

TEST(RunProgramTest, SucceedsWithoutCapture) {
  ProgramResult r = RunProgram({"/bin/sh", "-c", "echo hidden"}, milliseconds(5000));
  EXPECT_TRUE(r.ok);
  EXPECT_TRUE(r.output.empty());
}

TEST(RunProgramTest, KillsAProgramThatHangsPastItsTimeout) {
  const auto t0 = std::chrono::steady_clock::now();
  ProgramResult r = RunProgram({"/bin/sh", "-c", "echo started; sleep 30"}, milliseconds(300),
                               /*capture=*/true);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.output, "started\n");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_EQ(r.Describe(milliseconds(2000)), "timed out after 2 s");
}

TEST(RunProgramTest, ABackgroundChildHoldingTheOutputDoesNotHoldTheCaller) {
  const auto t0 = std::chrono::steady_clock::now();
  ProgramResult r = RunProgram({"/bin/sh", "-c", "sleep 5 & echo done"}, milliseconds(10000),
                               /*capture=*/true);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.output, "done\n");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
}

TEST(RunProgramTest, MissingProgramIsAnErrorNotACrash) {
  ProgramResult r = RunProgram({"/nonexistent/program"}, milliseconds(1000), true);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(r.Describe(milliseconds(1000)).rfind("could not run: ", 0), 0u);
  EXPECT_FALSE(RunProgram({}, milliseconds(1000)).ok);
}

}  // namespace
}  // namespace shoal
