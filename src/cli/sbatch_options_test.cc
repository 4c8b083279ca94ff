#include "cli/sbatch_options.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/slurm_time.h"

namespace shoal {
namespace {

constexpr int64_t kNow = 1795626461;
constexpr char kScript[] = "#!/bin/sh\ntrue\n";

SubmitContext Context(std::string script = kScript, std::string path = "job.sh") {
  SubmitContext ctx;
  ctx.user = {"alice", 1000, 1000};
  ctx.cwd = "/home/alice/work";
  ctx.host = "login1";
  ctx.environ = {"PATH=/usr/bin", "HOME=/home/alice", "FOO=1", "SLURM_CONF=/etc/slurm.conf"};
  ctx.script_path = std::move(path);
  ctx.script = std::move(script);
  return ctx;
}

// Runs sbatch's parsing over `args` (without argv[0]).
std::variant<SbatchOptions, CliError> Build(std::vector<std::string> args,
                                            const SubmitContext& ctx = Context()) {
  args.insert(args.begin(), "sbatch");
  auto cmd = ParseSbatchCommandLine(args);
  if (auto* err = std::get_if<CliError>(&cmd)) return *err;
  return BuildSbatchRequest(std::get<SbatchCommandLine>(cmd), ctx, kNow);
}

SbatchOptions Ok(const std::variant<SbatchOptions, CliError>& r) {
  if (auto* err = std::get_if<CliError>(&r)) ADD_FAILURE() << err->text;
  return std::holds_alternative<SbatchOptions>(r) ? std::get<SbatchOptions>(r) : SbatchOptions{};
}

CliError Fails(const std::variant<SbatchOptions, CliError>& r) {
  EXPECT_TRUE(std::holds_alternative<CliError>(r));
  return std::holds_alternative<CliError>(r) ? std::get<CliError>(r) : CliError{};
}

TEST(SbatchOptionsTest, BundledShortFlagsAndBothLongForms) {
  const SbatchOptions o =
      Ok(Build({"-HQn4", "-c", "2", "--job-name=x", "--partition", "gpu", "job.sh"}));
  EXPECT_TRUE(o.submit.hold);
  EXPECT_TRUE(o.quiet);
  EXPECT_EQ(o.submit.req.ntasks, 4u);
  EXPECT_EQ(o.submit.req.cpus_per_task, 2u);
  EXPECT_EQ(o.submit.req.name, "x");
  EXPECT_EQ(o.submit.req.partition, "gpu");
}

// getopt_long takes any unambiguous prefix of a long option, as Slurm's commands do.
TEST(SbatchOptionsTest, LongOptionAbbreviations) {
  const SbatchOptions o = Ok(Build({"--job-n=x", "--nodel", "node3", "--partit=gpu", "job.sh"}));
  EXPECT_EQ(o.submit.req.name, "x");
  EXPECT_EQ(o.submit.req.required_nodes, (std::vector<std::string>{"node3"}));
  EXPECT_EQ(o.submit.req.partition, "gpu");
  // "--ex" could be --exclude, --exclusive or --export, "--ntask" --ntasks or
  // --ntasks-per-node: rejected as glibc's getopt_long (and so Slurm's sbatch) rejects them.
  EXPECT_EQ(Fails(Build({"--ex", "job.sh"})).text, "Try \"sbatch --help\" for more information\n");
  EXPECT_FALSE(Fails(Build({"--ntask=2", "job.sh"})).text.empty());
}

TEST(SbatchOptionsTest, FlagsWithoutArgumentsDoNotSwallowTheNext) {
  const SbatchOptions o = Ok(Build({"-W", "-o", "/dev/null", "-k", "-s", "--wrap", "exit 3"}));
  EXPECT_TRUE(o.wait);
  EXPECT_EQ(o.submit.req.stdout_pattern, "/dev/null");
}

TEST(SbatchOptionsTest, FillsIdentityAndPaths) {
  const SbatchOptions o = Ok(Build({"-D", "sub", "./job.sh"}, Context(kScript, "./job.sh")));
  const JobRequest r = o.submit.req;
  EXPECT_EQ(r.user, "alice");
  EXPECT_EQ(r.uid, 1000u);
  EXPECT_EQ(r.gid, 1000u);
  EXPECT_EQ(r.submit_host, "login1");
  EXPECT_EQ(r.work_dir, "/home/alice/work/sub");
  EXPECT_EQ(r.command, "/home/alice/work/job.sh");
  EXPECT_EQ(r.name, "job.sh");
  EXPECT_EQ(o.submit.script, kScript);
  EXPECT_EQ(r.time_limit_s, 0);  // not given: the partition's default applies
  EXPECT_TRUE(r.requeue);
  EXPECT_TRUE(o.submit.requeue_unset);  // the cluster's JobRequeue decides
}

TEST(SbatchOptionsTest, DirectivesUntilFirstCommandAndCommandLineWins) {
  // The reference run: -J and --time from the script, -p long after a comment line, -N 2
  // after the first command ignored, -t 7 on the command line overriding --time=5.
  std::string script =
      "#!/bin/bash\n#SBATCH -J fromdir\n#SBATCH --time=5\n\n# comment\n#SBATCH -p long\n"
      "echo hi\n#SBATCH -N 2\n";
  const SbatchOptions o = Ok(Build({"-t", "7", "d.sh"}, Context(script, "d.sh")));
  EXPECT_EQ(o.submit.req.name, "fromdir");
  EXPECT_EQ(o.submit.req.partition, "long");
  EXPECT_EQ(o.submit.req.time_limit_s, 7 * 60);
  EXPECT_EQ(o.submit.req.min_nodes, 1u);
}

TEST(SbatchOptionsTest, DirectiveQuotesAndComments) {
  std::string script = "#!/bin/sh\n#SBATCH -J \"my job\" # a comment --foo\n#SBATCH --mem=2G\n";
  const SbatchOptions o = Ok(Build({"q.sh"}, Context(script, "q.sh")));
  EXPECT_EQ(o.submit.req.name, "my job");
  EXPECT_EQ(o.submit.req.mem_per_node_mb, 2048u);
}

TEST(SbatchOptionsTest, UnknownDirectiveFailsLikeCommandLine) {
  std::string script = "#!/bin/sh\n#SBATCH --foo\ntrue\n";
  CliError e = Fails(Build({"q.sh"}, Context(script, "q.sh")));
  EXPECT_EQ(e.exit_code, 255);
  EXPECT_EQ(e.text, "Try \"sbatch --help\" for more information\n");
}

TEST(SbatchOptionsTest, EnvironmentBetweenScriptAndCommandLine) {
  // SBATCH_TIMELIMIT=3 beat "#SBATCH --time=5" in the reference; the command line beats both.
  std::string script = "#!/bin/sh\n#SBATCH --time=5\n#SBATCH -p debug\n";
  SubmitContext ctx = Context(script, "d.sh");
  ctx.environ.push_back("SBATCH_TIMELIMIT=3");
  ctx.environ.push_back("SBATCH_PARTITION=long");
  const SbatchOptions o = Ok(Build({"d.sh"}, ctx));
  EXPECT_EQ(o.submit.req.time_limit_s, 3 * 60);
  EXPECT_EQ(o.submit.req.partition, "long");
  const SbatchOptions o2 = Ok(Build({"-p", "gpu", "d.sh"}, ctx));
  EXPECT_EQ(o2.submit.req.partition, "gpu");
  ctx.environ.push_back("SBATCH_JOB_NAME=fromenv");
  EXPECT_EQ(Ok(Build({"d.sh"}, ctx)).submit.req.name, "fromenv");
}

TEST(SbatchOptionsTest, WrapAndStdin) {
  const SbatchOptions o = Ok(Build({"--wrap", "sleep 1"}, Context("", "")));
  EXPECT_EQ(o.submit.script, "#!/bin/sh\n# This script was created by sbatch --wrap.\n\nsleep 1\n");
  EXPECT_EQ(o.submit.req.name, "wrap");
  EXPECT_EQ(o.submit.req.command, "(wrap)");
  EXPECT_EQ(Ok(Build({}, Context(kScript, ""))).submit.req.name, "sbatch");
  CliError e = Fails(Build({"--wrap", "true", "d.sh"}));
  EXPECT_EQ(e.text, "sbatch: error: Script arguments not permitted with --wrap option\n");
  EXPECT_EQ(e.exit_code, 1);
}

TEST(SbatchOptionsTest, ScriptChecks) {
  CliError e = Fails(Build({"x.sh"}, Context("echo hi\n", "x.sh")));
  EXPECT_EQ(e.text,
            "sbatch: error: This does not look like a batch script.  The first\n"
            "sbatch: error: line must start with #! followed by the path to an interpreter.\n"
            "sbatch: error: For instance: #!/bin/sh\n");
  EXPECT_EQ(e.exit_code, 1);
  EXPECT_EQ(Fails(Build({}, Context("", ""))).text, "sbatch: error: Batch script is empty!\n");
  EXPECT_EQ(Fails(Build({}, Context("\n  \n", ""))).text,
            "sbatch: error: Batch script contains only whitespace!\n");
  EXPECT_EQ(Fails(Build({}, Context("#!/bin/sh\r\ntrue\r\n", ""))).text,
            "sbatch: error: Batch script contains DOS line breaks (\\r\\n)\n"
            "sbatch: error: instead of expected UNIX line breaks (\\n).\n");
}

TEST(SbatchOptionsTest, ValueErrorsMatchSlurm) {
  struct Case {
    std::vector<std::string> args;
    std::string text;
    int code;
  };
  const Case cases[] = {
      {{"-t", "abc"}, "sbatch: error: Invalid --time specification\n", 255},
      {{"--mem=abc"}, "sbatch: error: Invalid --mem specification\n", 255},
      {{"-N", "abc"}, "sbatch: error: \"abc\" is not a valid node count\n", 255},
      {{"-N", "3-2"},
       "sbatch: error: Maximum node count 2 is less than minimum node count 3\n",
       255},
      {{"-N", "0"},
       "sbatch: error: Batch job submission failed: Node count specification invalid\n",
       1},
      {{"-n", "0"}, "sbatch: error: Invalid numeric value \"0\" for --ntasks.\n", 1},
      {{"-n", "abc"}, "sbatch: error: Invalid numeric value \"abc\" for --ntasks.\n", 1},
      {{"-c", "0"}, "sbatch: error: Invalid numeric value \"0\" for --cpus-per-task.\n", 1},
      {{"--ntasks-per-node=0"},
       "sbatch: error: Invalid numeric value \"0\" for --ntasks-per-node.\n",
       1},
      {{"--begin=garbage"},
       "Invalid time specification (pos=0): garbage\nsbatch: error: Invalid --begin "
       "specification\n",
       255},
      {{"--open-mode=foo"}, "sbatch: error: Invalid --open-mode specification\n", 255},
      {{"-a", "0-x"},
       "sbatch: error: Batch job submission failed: Invalid job array specification\n",
       1},
      {{"-d", "foo:1"}, "sbatch: error: Batch job submission failed: Job dependency problem\n", 1},
      {{"-d", "afterok:abc"},
       "sbatch: error: Batch job submission failed: Job dependency problem\n",
       1},
      {{"--mem-per-cpu=1G", "--mem=2G"},
       "sbatch: fatal: --mem, --mem-per-cpu, and --mem-per-gpu are mutually exclusive.\n",
       1},
      {{"--gres=gpu:x:y:z"}, "sbatch: error: Invalid generic resource (gres) specification\n", 1},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = c.args;
    args.push_back("--wrap=true");
    CliError e = Fails(Build(args));
    EXPECT_EQ(e.text, c.text) << c.args[0];
    EXPECT_EQ(e.exit_code, c.code) << c.args[0];
  }
  CliError unknown = Fails(Build({"--foo", "--wrap=true"}));
  EXPECT_EQ(unknown.exit_code, 255);
  EXPECT_EQ(unknown.text, "Try \"sbatch --help\" for more information\n");
}

TEST(SbatchOptionsTest, CountsAndLimits) {
  const JobRequest r = Ok(Build({"-N", "2", "--wrap=true"})).submit.req;
  EXPECT_EQ(r.min_nodes, 2u);
  EXPECT_EQ(r.max_nodes, 2u);
  EXPECT_EQ(r.ntasks, 2u);  // Slurm: NumTasks follows -N
  const JobRequest r2 = Ok(Build({"-n", "4", "--ntasks-per-node=2", "--wrap=true"})).submit.req;
  EXPECT_EQ(r2.min_nodes, 2u);
  const JobRequest r3 = Ok(Build({"-N", "2-3", "--ntasks-per-node=4", "--wrap=true"})).submit.req;
  EXPECT_EQ(r3.max_nodes, 3u);
  EXPECT_EQ(r3.ntasks, 8u);
  EXPECT_EQ(Ok(Build({"-t", "1-2:3:4", "--wrap=true"})).submit.req.time_limit_s,
            ((24 + 2) * 60 + 4) * 60);  // whole minutes, rounded up
  EXPECT_EQ(Ok(Build({"-t", "0", "--wrap=true"})).submit.req.time_limit_s, kUnlimited);
  EXPECT_EQ(Ok(Build({"--nice", "--wrap=true"})).submit.req.nice, 100);
  EXPECT_EQ(Ok(Build({"--nice=abc", "--wrap=true"})).submit.req.nice, 0);
  EXPECT_EQ(Ok(Build({"--nice=-5", "--wrap=true"})).submit.req.nice, -5);
  EXPECT_EQ(Ok(Build({"--begin=now+60", "--wrap=true"})).submit.req.begin_time, kNow + 60);
}

TEST(SbatchOptionsTest, MemoryFromHigherSourceWins) {
  std::string script = "#!/bin/sh\n#SBATCH --mem=4G\n";
  const JobRequest r = Ok(Build({"--mem-per-cpu=100", "d.sh"}, Context(script, "d.sh"))).submit.req;
  EXPECT_EQ(r.mem_per_cpu_mb, 100u);
  EXPECT_EQ(r.mem_per_node_mb, 0u);
}

TEST(SbatchOptionsTest, ArrayDependencyNodes) {
  const JobRequest r = Ok(Build({"-a", "0-15%4", "-d", "afterok:3:4,afterany:5_2", "-w", "n[1-2]",
                                 "-x", "n9", "--wrap=true"}))
                           .submit.req;
  EXPECT_EQ(r.array_spec, "0-15%4");
  EXPECT_EQ(r.array_max_running, 4u);
  ASSERT_EQ(r.dependency.clauses.size(), 3u);
  EXPECT_FALSE(r.dependency.any);
  EXPECT_EQ(r.dependency.clauses[0].kind, Dependency::Kind::kAfterOk);
  EXPECT_EQ(r.dependency.clauses[1].job_id, 4u);
  EXPECT_EQ(r.dependency.clauses[2].kind, Dependency::Kind::kAfterAny);
  EXPECT_EQ(r.dependency.clauses[2].array_task, 2);
  EXPECT_EQ(r.dependency.text, "afterok:3:4,afterany:5_2");
  EXPECT_EQ(r.required_nodes, (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(r.excluded_nodes, (std::vector<std::string>{"n9"}));
  const JobRequest any = Ok(Build({"-d", "afterok:30_1?afterany:5", "--wrap=true"})).submit.req;
  EXPECT_TRUE(any.dependency.any);
  const JobRequest single = Ok(Build({"-d", "singleton", "--wrap=true"})).submit.req;
  ASSERT_EQ(single.dependency.clauses.size(), 1u);
  EXPECT_EQ(single.dependency.clauses[0].kind, Dependency::Kind::kSingleton);
}

TEST(SbatchOptionsTest, Gpus) {
  const JobRequest r = Ok(Build({"--gres=gpu:a100:2", "--wrap=true"})).submit.req;
  EXPECT_EQ(r.gpus_per_node, 2u);
  EXPECT_EQ(r.gpu_type, "a100");
  EXPECT_EQ(Ok(Build({"--gres=gpu", "--wrap=true"})).submit.req.gpus_per_node, 1u);
  EXPECT_EQ(Ok(Build({"--gpus-per-node=3", "--wrap=true"})).submit.req.gpus_per_node, 3u);
  const JobRequest g = Ok(Build({"-N", "2", "--gpus=4", "--wrap=true"})).submit.req;
  EXPECT_EQ(g.gpus_per_node, 2u);
  EXPECT_EQ(Fails(Build({"-N", "2", "--gpus=3", "--wrap=true"})).exit_code, 1);
  // --gpus-per-task: per node = tasks on a node x GPUs per task.
  EXPECT_EQ(Ok(Build({"--gpus-per-task=1", "--wrap=true"})).submit.req.gpus_per_node, 1u);
  const JobRequest t =
      Ok(Build({"-N", "2", "-n", "4", "--gpus-per-task=a100:2", "--wrap=true"})).submit.req;
  EXPECT_EQ(t.gpus_per_node, 4u);
  EXPECT_EQ(t.gpu_type, "a100");
  EXPECT_EQ(Ok(Build({"--ntasks-per-node=3", "--gpus-per-task=1", "--wrap=true"}))
                .submit.req.gpus_per_node,
            3u);
  EXPECT_EQ(Fails(Build({"-n", "4", "--gpus-per-task=1", "--wrap=true"})).exit_code, 1);
  EXPECT_EQ(Fails(Build({"-N", "2", "-n", "3", "--gpus-per-task=1", "--wrap=true"})).exit_code,
            1);
  EXPECT_EQ(Fails(Build({"--gpus-per-task=0", "--wrap=true"})).exit_code, 1);
}

TEST(SbatchOptionsTest, Export) {
  auto env_of = [](std::vector<std::string> args) {
    args.push_back("--wrap=true");
    std::vector<std::string> env = Ok(Build(args)).submit.env;
    std::sort(env.begin(), env.end());
    return env;
  };
  EXPECT_EQ(env_of({}).size(), 4u);  // ALL
  EXPECT_EQ(env_of({"--export=NONE"}), (std::vector<std::string>{"SLURM_CONF=/etc/slurm.conf"}));
  EXPECT_EQ(env_of({"--export=FOO,BAR=2"}),
            (std::vector<std::string>{"BAR=2", "FOO=1", "SLURM_CONF=/etc/slurm.conf"}));
  EXPECT_EQ(env_of({"--export=ALL,FOO=9"}),
            (std::vector<std::string>{"FOO=9", "HOME=/home/alice", "PATH=/usr/bin",
                                      "SLURM_CONF=/etc/slurm.conf"}));
}

TEST(SbatchOptionsTest, WebhookIsShoalsOwnAndChecked) {
  EXPECT_EQ(Ok(Build({"--webhook=https://tracker/run", "--wrap=true"})).submit.req.webhook,
            "https://tracker/run");
  EXPECT_EQ(Ok(Build({"--wrap=true"})).submit.req.webhook, "");
  const CliError bad = Fails(Build({"--webhook=ftp://x", "--wrap=true"}));
  EXPECT_EQ(bad.text,
            "sbatch: error: invalid webhook URL 'ftp://x': only http:// and https:// URLs are "
            "allowed\n");
  EXPECT_EQ(bad.exit_code, 1);
  // In the script too.
  const CliError in_script = Fails(
      Build({"job.sh"}, Context("#!/bin/sh\n#SBATCH --webhook=http://\ntrue\n")));
  EXPECT_NE(in_script.text.find("invalid webhook URL 'http://': no host"), std::string::npos)
      << in_script.text;
}

TEST(SbatchOptionsTest, OutputFlags) {
  const SbatchOptions o =
      Ok(Build({"--parsable", "-o", "out%j.txt", "-e", "err.txt", "--open-mode=append",
                "--no-requeue", "--exclusive", "-C", "fast", "-A", "proj", "--wrap=true"}));
  EXPECT_TRUE(o.parsable);
  EXPECT_EQ(o.submit.req.stdout_pattern, "out%j.txt");
  EXPECT_EQ(o.submit.req.stderr_pattern, "err.txt");
  EXPECT_TRUE(o.submit.req.open_append);
  EXPECT_FALSE(o.submit.req.requeue);
  EXPECT_FALSE(o.submit.requeue_unset);
  EXPECT_TRUE(o.submit.req.exclusive);
  EXPECT_EQ(o.submit.req.constraint, "fast");
  EXPECT_EQ(o.submit.req.account, "proj");
}

TEST(SbatchOptionsTest, RequeueGivenOverridesTheClusterDefault) {
  const SbatchOptions o = Ok(Build({"--requeue", "--wrap=true"}));
  EXPECT_TRUE(o.submit.req.requeue);
  EXPECT_FALSE(o.submit.requeue_unset);
  // The JSON leaves "requeue" out only when neither option was given.
  EXPECT_TRUE(SubmitRequestToJson(o.submit)["job"].contains("requeue"));
  const SbatchOptions plain = Ok(Build({"--wrap=true"}));
  const Json j = SubmitRequestToJson(plain.submit);
  EXPECT_FALSE(j["job"].contains("requeue"));
  auto back = SubmitRequestFromJson(j);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->requeue_unset);
  EXPECT_FALSE(SubmitRequestFromJson(SubmitRequestToJson(o.submit))->requeue_unset);
}

TEST(SbatchOptionsTest, Qos) {
  EXPECT_EQ(Ok(Build({"--qos=high", "--wrap=true"})).submit.req.qos, "high");
  EXPECT_EQ(Ok(Build({"-q", "low", "--wrap=true"})).submit.req.qos, "low");
  EXPECT_EQ(Ok(Build({"--wrap=true"})).submit.req.qos, "");  // the controller's default
  std::string script = "#!/bin/sh\n#SBATCH --qos=fromscript\ntrue\n";
  EXPECT_EQ(Ok(Build({"q.sh"}, Context(script, "q.sh"))).submit.req.qos, "fromscript");
  SubmitContext ctx = Context(script, "q.sh");
  ctx.environ.push_back("SBATCH_QOS=fromenv");
  EXPECT_EQ(Ok(Build({"q.sh"}, ctx)).submit.req.qos, "fromenv");
}

// Values past what the request can hold are errors, not wrapped or rounded into other values.
TEST(SbatchOptionsTest, OutOfRangeCountsAreErrors) {
  // Found by fuzz_sbatch: rounding this limit up to minutes overflowed (UBSan).
  EXPECT_EQ(Fails(Build({"-t", "0:9223372036854775807", "job.sh"})).text,
            "sbatch: error: Invalid --time specification\n");
  EXPECT_EQ(Fails(Build({"--gres=gpu:4294967297", "job.sh"})).text,
            "sbatch: error: Invalid generic resource (gres) specification\n");
  EXPECT_EQ(Fails(Build({"--gres=gpu:a100:1025", "job.sh"})).text,
            "sbatch: error: Invalid generic resource (gres) specification\n");
  EXPECT_EQ(Ok(Build({"--gres=gpu:a100:1024", "job.sh"})).submit.req.gpus_per_node, 1024u);
  EXPECT_EQ(Fails(Build({"--ntasks-per-node=2147483647", "--gpus-per-task=1024", "job.sh"})).text,
            "sbatch: error: Invalid generic resource (gres) specification\n");
  EXPECT_EQ(Fails(Build({"-N", "3", "--ntasks-per-node=2147483647", "job.sh"})).text,
            "sbatch: error: Invalid numeric value: --ntasks-per-node times --nodes is too large\n");
}

// Found by fuzz_sbatch: a byte that is not UTF-8 (a Latin-1 script, name or variable) made the
// JSON encoder of the submission throw, so sbatch died instead of answering.
TEST(SbatchOptionsTest, TextThatIsNotUtf8IsRefused) {
  EXPECT_EQ(Fails(Build({"job.sh"}, Context("#!/bin/sh\n#SBATCH --time=5\n#\xe6"
                                            "BATCH -p x\n")))
                .text,
            "sbatch: error: Batch script is not UTF-8 text\n");
  EXPECT_EQ(Fails(Build({"-J", "caf\xe9", "job.sh"})).text,
            "sbatch: error: The value of the job's name is not UTF-8 text\n");
  EXPECT_EQ(Fails(Build({"-w", "n1\xff", "job.sh"})).text,
            "sbatch: error: The value of the job's required_nodes is not UTF-8 text\n");
  SubmitContext with_args = Context();
  with_args.args = {"ok", "caf\xe9"};
  EXPECT_EQ(Fails(Build({"job.sh"}, with_args)).text,
            "sbatch: error: Script argument 2 is not UTF-8 text\n");
  SubmitContext ctx = Context();
  ctx.environ.push_back("LATIN=caf\xe9");
  EXPECT_EQ(Fails(Build({"job.sh"}, ctx)).text,
            "sbatch: error: Environment variable LATIN is not UTF-8 text (unset it, or leave it "
            "out with --export)\n");
  EXPECT_TRUE(std::holds_alternative<SbatchOptions>(Build({"--export=NONE", "job.sh"}, ctx)));
  const SbatchOptions o =
      Ok(Build({"-J", "caf\xc3\xa9", "job.sh"}, Context("#!/bin/sh\necho \xe2\x82\xac\n")));
  EXPECT_EQ(o.submit.req.name, "caf\xc3\xa9");
}

TEST(SbatchOptionsTest, HelpStopsBeforeTheScript) {
  const SbatchOptions o = Ok(Build({"--help"}, Context("", "")));
  EXPECT_TRUE(o.help);
}

}  // namespace
}  // namespace shoal

namespace shoal {
namespace {

// pyxis's container options: normalized against the job's directory, checked at submit.
TEST(SbatchOptionsTest, ContainerOptions) {
  const SbatchOptions o = Ok(Build(
      {"--container-image=docker://nvcr.io#nvidia/x:1", "--container-mounts=data:/d:ro,/s",
       "--container-workdir=/d", "--container-name=c1", "--container-env=PATH,FOO",
       "--container-remap-root", "--container-mount-home", "--container-readonly", "job.sh"}));
  const ContainerSpec& c = o.submit.req.container;
  EXPECT_EQ(c.image, "nvcr.io/nvidia/x:1");
  EXPECT_EQ(c.mounts, (std::vector<std::string>{"/home/alice/work/data:/d:ro", "/s"}));
  EXPECT_EQ(c.workdir, "/d");
  EXPECT_EQ(c.name, "c1");
  EXPECT_EQ(c.env, (std::vector<std::string>{"PATH", "FOO"}));
  EXPECT_TRUE(c.remap_root);
  EXPECT_TRUE(c.mount_home);
  EXPECT_FALSE(c.writable);
  EXPECT_FALSE(Ok(Build({"job.sh"})).submit.req.container.Enabled());
  // A directive works as the command line does; a relative archive follows -D.
  const SbatchOptions d = Ok(Build(
      {"-D", "sub", "d.sh"}, Context("#!/bin/sh\n#SBATCH --container-image=./i.tar\n", "d.sh")));
  EXPECT_EQ(d.submit.req.container.image, "/home/alice/work/sub/i.tar");
}

TEST(SbatchOptionsTest, ContainerOptionsRefused) {
  EXPECT_NE(Fails(Build({"--container-image=/x/a.sqsh", "job.sh"})).text.find("squashfs"),
            std::string::npos);
  EXPECT_NE(Fails(Build({"--container-image=i", "--container-mounts=/a:b", "job.sh"}))
                .text.find("sbatch: error: --container-mounts"),
            std::string::npos);
  EXPECT_NE(Fails(Build({"--container-workdir=/x", "job.sh"})).text.find("need --container-image"),
            std::string::npos);
  EXPECT_NE(Fails(Build({"--container=/bundle", "job.sh"})).text.find("not supported"),
            std::string::npos);  // Slurm's own OCI option stays refused
}

}  // namespace
}  // namespace shoal
