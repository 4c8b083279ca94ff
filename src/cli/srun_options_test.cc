#include "cli/srun_options.h"

#include <csignal>

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

TEST(SrunOptionsTest, WebhookIsTheAllocationsAndChecked) {
  for (const char* prog : {"srun", "salloc"}) {
    auto r = Parse({"--webhook=https://tracker/run", "-N1", "hostname"}, prog);
    ASSERT_TRUE(std::holds_alternative<SrunOptions>(r)) << std::get<CliError>(r).text;
    EXPECT_EQ(std::get<SrunOptions>(r).alloc.submit.req.webhook, "https://tracker/run");
    auto bad = Parse({"--webhook=ftp://x", "hostname"}, prog);
    ASSERT_TRUE(std::holds_alternative<CliError>(bad));
    EXPECT_EQ(std::get<CliError>(bad).text,
              std::string(prog) +
                  ": error: invalid webhook URL 'ftp://x': only http:// and https:// URLs are "
                  "allowed\n");
  }
}

// pyxis's options are the step's (srun checks and normalizes them before it allocates).
TEST(SrunOptionsTest, ContainerOptionsAreTheSteps) {
  auto r = Parse({"--container-image=localhost/x:1", "--container-mounts=/a:/b",
                  "--no-container-entrypoint", "--container-entrypoint", "cat", "/b/f"});
  ASSERT_TRUE(std::holds_alternative<SrunOptions>(r)) << std::get<CliError>(r).text;
  const SrunOptions& o = std::get<SrunOptions>(r);
  EXPECT_EQ(o.step.container.image, "localhost/x:1");
  EXPECT_EQ(o.step.container.mounts, std::vector<std::string>{"/a:/b"});
  EXPECT_TRUE(o.step.container.entrypoint);
  EXPECT_FALSE(o.alloc.submit.req.container.Enabled());  // the allocation runs no script
  EXPECT_EQ(o.command, (std::vector<std::string>{"cat", "/b/f"}));
  auto salloc = Parse({"--container-image=localhost/x:1"}, "salloc");
  ASSERT_TRUE(std::holds_alternative<CliError>(salloc));
  EXPECT_NE(std::get<CliError>(salloc).text.find("salloc: error: --container-image"),
            std::string::npos);
}

TEST(SrunOptionsTest, LongOptionAbbreviationsAndStepSharing) {
  auto r = Parse({"--job-n=x", "--exa", "--overl", "--inp", "0", "--lab", "true"});
  ASSERT_TRUE(std::holds_alternative<SrunOptions>(r)) << std::get<CliError>(r).text;
  const SrunOptions& o = std::get<SrunOptions>(r);
  EXPECT_EQ(o.step.name, "x");
  EXPECT_TRUE(o.label);
  EXPECT_TRUE(o.step.exact);
  EXPECT_TRUE(o.step.overlap);
  EXPECT_EQ(o.step.input, "0");
  // Ambiguous, as glibc's getopt_long (and so Slurm) finds them: --exact, --exclude or
  // --exclusive; --ntasks or --ntasks-per-node.
  for (const char* ambiguous : {"--ex", "--ntask=2"}) {
    r = Parse({ambiguous, "true"});
    ASSERT_TRUE(std::holds_alternative<CliError>(r)) << ambiguous;
    EXPECT_EQ(std::get<CliError>(r).exit_code, 255);
  }
  // -c and --exclusive imply --exact; stdin goes to every task unless -i says otherwise.
  r = Parse({"-c", "2", "-i", "in.txt", "true"});
  ASSERT_TRUE(std::holds_alternative<SrunOptions>(r));
  EXPECT_TRUE(std::get<SrunOptions>(r).step.exact);
  EXPECT_EQ(std::get<SrunOptions>(r).step.input, "all");
  EXPECT_EQ(std::get<SrunOptions>(r).input_file, "in.txt");
  r = Parse({"-n1", "true"});
  ASSERT_TRUE(std::holds_alternative<SrunOptions>(r));
  EXPECT_FALSE(std::get<SrunOptions>(r).step.exact);
  EXPECT_EQ(std::get<SrunOptions>(r).step.input, "all");
  r = Parse({"--input=none", "true"});
  EXPECT_EQ(std::get<SrunOptions>(r).step.input, "none");
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

// The lines MPI launchers run srun with, to start one daemon per node of their allocation.
TEST(SrunOptionsTest, MpiLaunchersCommandLines) {
  // Open MPI 4.1 (plm/slurm), on the nodes besides its own.
  auto r = Parse({"--ntasks-per-node=1", "--kill-on-bad-exit", "--cpu_bind=none", "--nodes=1",
                  "--nodelist=node2", "--ntasks=1", "orted", "-mca", "ess", "\"slurm\""});
  ASSERT_TRUE(std::holds_alternative<SrunOptions>(r)) << std::get<CliError>(r).text;
  const SrunOptions& o = std::get<SrunOptions>(r);
  EXPECT_EQ(o.step.ntasks_per_node, 1u);
  EXPECT_TRUE(o.step.kill_on_bad_exit);
  EXPECT_EQ(o.step.nodes, 1u);
  EXPECT_EQ(o.step.ntasks, 1u);
  EXPECT_EQ(o.step.nodelist, (std::vector<std::string>{"node2"}));
  EXPECT_EQ(o.command.front(), "orted");
  // MPICH 4 (hydra's slurm launcher).
  r = Parse({"--nodelist", "node1,node2", "-N", "2", "-n", "2", "--input", "none",
             "/usr/bin/hydra_pmi_proxy", "--control-port", "vm:1234", "--proxy-id", "-1"});
  ASSERT_TRUE(std::holds_alternative<SrunOptions>(r)) << std::get<CliError>(r).text;
  const SrunOptions& h = std::get<SrunOptions>(r);
  EXPECT_EQ(h.step.nodelist, (std::vector<std::string>{"node1", "node2"}));
  EXPECT_EQ(h.step.nodes, 2u);
  EXPECT_EQ(h.step.ntasks, 2u);
  EXPECT_EQ(h.command.back(), "-1");
}

TEST(SrunOptionsTest, PtyAndInterruptOptions) {
  auto r = Parse({"--pty", "-X", "--quit-on-interrupt", "bash", "-i"});
  ASSERT_TRUE(std::holds_alternative<SrunOptions>(r)) << std::get<CliError>(r).text;
  const SrunOptions& o = std::get<SrunOptions>(r);
  EXPECT_TRUE(o.pty);
  EXPECT_TRUE(o.step.pty);
  EXPECT_TRUE(o.unbuffered);  // --pty implies -u, as in Slurm
  EXPECT_TRUE(o.disable_status);
  EXPECT_TRUE(o.quit_on_interrupt);
  EXPECT_EQ(o.command, (std::vector<std::string>{"bash", "-i"}));
  auto plain = Parse({"true"});
  ASSERT_TRUE(std::holds_alternative<SrunOptions>(plain));
  EXPECT_FALSE(std::get<SrunOptions>(plain).pty);
  EXPECT_FALSE(std::get<SrunOptions>(plain).step.pty);
  // --pty takes no value.
  auto bad = Parse({"--pty=yes", "true"});
  ASSERT_TRUE(std::holds_alternative<CliError>(bad));
  EXPECT_EQ(std::get<CliError>(bad).exit_code, 255);
}

TEST(SrunOptionsTest, CtrlCSequence) {
  InterruptState s;
  // First: the status; a second within a second: SIGINT and the end; then srun leaves.
  EXPECT_EQ(NextInterruptAction(s, 5000, false, false), InterruptAction::kStatus);
  EXPECT_EQ(NextInterruptAction(s, 5900, false, false), InterruptAction::kInterrupt);
  EXPECT_EQ(NextInterruptAction(s, 6000, false, false), InterruptAction::kAbandon);
  EXPECT_EQ(NextInterruptAction(s, 9000, false, false), InterruptAction::kAbandon);
  // Ctrl-Cs more than a second apart only show the status again, even at the very start.
  InterruptState t;
  EXPECT_EQ(NextInterruptAction(t, 0, false, false), InterruptAction::kStatus);
  EXPECT_EQ(NextInterruptAction(t, 1500, false, false), InterruptAction::kStatus);
  EXPECT_EQ(NextInterruptAction(t, 3001, false, false), InterruptAction::kStatus);
  EXPECT_EQ(NextInterruptAction(t, 3500, false, false), InterruptAction::kInterrupt);
  // -X: no status, the first one interrupts.
  InterruptState x;
  EXPECT_EQ(NextInterruptAction(x, 0, true, false), InterruptAction::kInterrupt);
  EXPECT_EQ(NextInterruptAction(x, 5000, true, false), InterruptAction::kAbandon);
  // --quit-on-interrupt: the first one ends the step.
  InterruptState q;
  EXPECT_EQ(NextInterruptAction(q, 0, false, true), InterruptAction::kForce);
  EXPECT_EQ(NextInterruptAction(q, 100, false, true), InterruptAction::kAbandon);
}

TEST(SrunOptionsTest, TaskStatusLineAndRankList) {
  EXPECT_EQ(TaskStatusLine("12.0", 1), "srun: StepId=12.0 task 0: running");
  EXPECT_EQ(TaskStatusLine("12.3", 4), "srun: StepId=12.3 tasks 0-3: running");
  EXPECT_EQ(RankList({5, 0, 1, 2, 2, 7, 6}), "0-2,5-7");
  EXPECT_EQ(RankList({}), "");
}

TEST(SrunOptionsTest, TaskExitLines) {
  const int exit3 = 3 << 8, exit4 = 4 << 8, killed = SIGKILL, segv_core = SIGSEGV | 0x80;
  std::vector<TaskExit> exits = {{"node2", 3, exit4}, {"node1", 1, exit3}, {"node1", 0, exit3},
                                 {"node2", 2, exit4}, {"node1", 4, killed}, {"node2", 6, 0},
                                 {"node2", 5, segv_core}, {"node1", 7, exit3}};
  EXPECT_EQ(TaskExitLines(exits, true),
            (std::vector<std::string>{
                "srun: error: node1: tasks 0-1,7: Exited with exit code 3",
                "srun: error: node2: tasks 2-3: Exited with exit code 4",
                "srun: error: node1: task 4: Killed",
                "srun: error: node2: task 5: Segmentation fault (core dumped)",
            }));
  // Tasks srun itself stopped are not errors.
  EXPECT_EQ(TaskExitLines({{"node1", 0, SIGINT}, {"node1", 1, exit3}}, false),
            (std::vector<std::string>{"srun: error: node1: task 1: Exited with exit code 3"}));
  EXPECT_TRUE(TaskExitLines({}, true).empty());
}

}  // namespace
}  // namespace shoal
