#include "cli/srun_options.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

constexpr int64_t kNow = 1795626461;

std::variant<SrunOptions, CliError> Parse(std::vector<std::string> args,
                                          std::string prog = "srun") {
  args.insert(args.begin(), prog);
  return ParseSrunCommandLine(prog, args, kNow);
}

TEST(SrunOptionsTest, StepAndJobOptions) {
  auto r = Parse({"-N2", "-n", "4", "-c2", "--ntasks-per-node=2", "-l", "-K", "-J", "train", "-t",
                  "5", "--mpi=none", "--input=none", "--exclusive", "python", "-u", "train.py"});
  ASSERT_TRUE(std::holds_alternative<SrunOptions>(r)) << std::get<CliError>(r).text;
  const SrunOptions& o = std::get<SrunOptions>(r);
  EXPECT_EQ(o.step.nodes, 2u);
  EXPECT_EQ(o.step.ntasks, 4u);
  EXPECT_EQ(o.step.cpus_per_task, 2u);
  EXPECT_EQ(o.step.ntasks_per_node, 2u);
  EXPECT_TRUE(o.label);
  EXPECT_TRUE(o.step.kill_on_bad_exit);
  EXPECT_TRUE(o.step.exclusive);
  EXPECT_EQ(o.step.name, "train");
  EXPECT_EQ(o.step.time_limit_s, 300);
  EXPECT_EQ(o.alloc.submit.req.min_nodes, 2u);
  EXPECT_EQ(o.alloc.submit.req.ntasks, 4u);
  EXPECT_EQ(o.alloc.submit.req.time_limit_s, 300);
  EXPECT_TRUE(o.alloc.submit.req.exclusive);
  // Options after the program are the program's.
  EXPECT_EQ(o.command, (std::vector<std::string>{"python", "-u", "train.py"}));
}

TEST(SrunOptionsTest, NodelistGresAndGpus) {
  auto r = Parse({"-w", "node[1-2]", "--gres=gpu:2", "-G", "4", "true"});
  ASSERT_TRUE(std::holds_alternative<SrunOptions>(r));
  const SrunOptions& o = std::get<SrunOptions>(r);
  EXPECT_EQ(o.step.nodelist, (std::vector<std::string>{"node1", "node2"}));
  EXPECT_EQ(o.step.gpus_per_node, 2u);
  EXPECT_EQ(o.step.gpus, 4u);
  EXPECT_EQ(o.alloc.submit.req.required_nodes, o.step.nodelist);
}

TEST(SrunOptionsTest, SlurmsErrors) {
  auto r = Parse({"-n", "0", "true"});
  ASSERT_TRUE(std::holds_alternative<CliError>(r));
  EXPECT_EQ(std::get<CliError>(r).text, "srun: error: Invalid numeric value \"0\" for --ntasks.\n");
  EXPECT_EQ(std::get<CliError>(r).exit_code, 1);
  r = Parse({"-t", "foo", "true"});
  ASSERT_TRUE(std::holds_alternative<CliError>(r));
  EXPECT_EQ(std::get<CliError>(r).text, "srun: error: Invalid --time specification\n");
  EXPECT_EQ(std::get<CliError>(r).exit_code, 255);
  r = Parse({"--mpi=foo", "true"});
  ASSERT_TRUE(std::holds_alternative<CliError>(r));
  EXPECT_EQ(std::get<CliError>(r).text,
            "srun: error: Invalid MPI type 'foo', --mpi=list for acceptable types\n");
  r = Parse({"-t", "foo"}, "salloc");
  ASSERT_TRUE(std::holds_alternative<CliError>(r));
  EXPECT_EQ(std::get<CliError>(r).text, "salloc: error: Invalid --time specification\n");
}

TEST(SrunOptionsTest, KillOnBadExitValueAndHelp) {
  auto r = Parse({"--kill-on-bad-exit=0", "true"});
  ASSERT_TRUE(std::holds_alternative<SrunOptions>(r));
  EXPECT_FALSE(std::get<SrunOptions>(r).step.kill_on_bad_exit);
  r = Parse({"--help"});
  ASSERT_TRUE(std::holds_alternative<SrunOptions>(r));
  EXPECT_TRUE(std::get<SrunOptions>(r).help);
}

}  // namespace
}  // namespace shoal
