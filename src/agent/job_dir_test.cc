#include "agent/job_dir.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "agent/agent_test_util.h"
#include "agent/job_files.h"

namespace shoal::agent {
namespace {

using testing::TempDir;

TEST(JobFilesTest, SpecRoundTrips) {
  JobSpec s;
  s.job_id = 12;
  s.generation = 3;
  s.env = {"A=1", "B=two words"};
  s.work_dir = "/w";
  s.stdout_path = "/w/o";
  s.stderr_path = "/w/e";
  s.open_append = true;
  s.time_limit_s = 60;
  s.kill_wait_s = 5;
  s.uid = 1000;
  s.gid = 100;
  s.gpu_indices = {0, 2};
  s.cpus = 4;
  s.launch_time = 1700000000;
  Result<JobSpec> back = SpecFromJson(SpecToJson(s));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->job_id, 12u);
  EXPECT_EQ(back->env, s.env);
  EXPECT_EQ(back->stderr_path, "/w/e");
  EXPECT_TRUE(back->open_append);
  EXPECT_EQ(back->time_limit_s, 60);
  EXPECT_EQ(back->gpu_indices, s.gpu_indices);
  EXPECT_EQ(back->launch_time, 1700000000);
}

TEST(JobFilesTest, StepSpecWithPtyRoundTrips) {
  JobSpec s;
  s.job_id = 12;
  s.stdout_path = "";
  s.tasks = {{0, {"SLURM_PROCID=0"}}, {1, {"SLURM_PROCID=1"}}};
  s.argv = {"bash", "-i"};
  s.io_addr = "127.0.0.1";
  s.io_port = 4000;
  s.io_key = "k";
  s.input = "none";
  s.pty = true;
  s.pty_rows = 33;
  s.pty_cols = 101;
  Result<JobSpec> back = SpecFromJson(SpecToJson(s));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(back->pty);
  EXPECT_EQ(back->pty_rows, 33u);
  EXPECT_EQ(back->pty_cols, 101u);
  EXPECT_EQ(back->tasks.size(), 2u);
  // A spec written before --pty existed reads as no terminal.
  s.pty = false;
  back = SpecFromJson(SpecToJson(s));
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->pty);
}

TEST(JobFilesTest, MalformedDocumentsAreErrorsNotCrashes) {
  EXPECT_FALSE(SpecFromJson("").ok());
  EXPECT_FALSE(SpecFromJson("[1]").ok());
  EXPECT_FALSE(SpecFromJson(R"({"job_id": "x", "generation": 1, "stdout_path": ""})").ok());
  EXPECT_FALSE(ResultFromJson(R"({"job_id": 1})").ok());
}

TEST(JobFilesTest, SignalRequestEncoding) {
  int sig;
  bool tree;
  DecodeSignalRequest(EncodeSignalRequest(SIGUSR1, true), &sig, &tree);
  EXPECT_EQ(sig, SIGUSR1);
  EXPECT_TRUE(tree);
  DecodeSignalRequest(EncodeSignalRequest(SIGKILL, false), &sig, &tree);
  EXPECT_EQ(sig, SIGKILL);
  EXPECT_FALSE(tree);
  EXPECT_EQ(ClampTimeLimitValue(-1), 0);
  EXPECT_EQ(ClampTimeLimitValue(int64_t{1} << 40), INT32_MAX);
}

TEST(NodeEnvTest, AddsNodeNameAndGpus) {
  JobSpec s;
  s.env = {"SLURMD_NODENAME=wrong", "X=1"};
  s.gpu_indices = {1, 3};
  AddNodeEnv(s, "n7");
  EXPECT_EQ(s.env,
            (std::vector<std::string>{"SLURMD_NODENAME=n7", "X=1", "CUDA_VISIBLE_DEVICES=1,3",
                                      "GPU_DEVICE_ORDINAL=1,3", "SLURM_JOB_GPUS=1,3"}));
}

TEST(NodeEnvTest, NoGpuVariablesWithoutGpus) {
  JobSpec s;
  AddNodeEnv(s, "n1");
  EXPECT_EQ(s.env, (std::vector<std::string>{"SLURMD_NODENAME=n1"}));
}

// A fake process table: pid -> the job directory it supervises.
struct FakeProcs {
  std::map<pid_t, std::string> procs;
  SupervisorProbe Probe() {
    return SupervisorProbe{[this](pid_t pid, const std::string& dir) {
                             auto it = procs.find(pid);
                             return it != procs.end() && it->second == dir;
                           },
                           [this](const std::string& dir) {
                             for (const auto& [pid, d] : procs) {
                               if (d == dir) return pid;
                             }
                             return pid_t{0};
                           }};
  }
};

class ScanTest : public ::testing::Test {
 protected:
  std::string MakeJob(uint64_t id, uint64_t generation) {
    std::string dir = tmp_.path() + "/" + std::to_string(id);
    JobSpec s;
    s.job_id = id;
    s.generation = generation;
    s.stdout_path = "/dev/null";
    s.uid = getuid();
    s.launch_time = 1000;
    EXPECT_TRUE(PrepareJobDir(dir, s, "#!/bin/sh\n").ok());
    return dir;
  }
  TempDir tmp_;
  FakeProcs procs_;
};

TEST_F(ScanTest, LiveSupervisorFromPidFileIsRunning) {
  std::string dir = MakeJob(5, 2);
  ASSERT_TRUE(WriteFileAtomic(dir + "/" + kPidFile, "4242\n").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/" + kStateFile, StateToJson({4242, 4243, 1005})).ok());
  procs_.procs[4242] = dir;
  ScannedJob j = InspectJobDir(dir, procs_.Probe(), 2000);
  EXPECT_EQ(j.kind, ScannedJob::Kind::kRunning);
  EXPECT_EQ(j.job_id, 5u);
  EXPECT_EQ(j.generation, 2u);
  EXPECT_EQ(j.supervisor_pid, 4242);
  EXPECT_EQ(j.start_time, 1005);  // the script's start, not the launch
}

TEST_F(ScanTest, ReusedPidIsNotTheSupervisor) {
  std::string dir = MakeJob(5, 2);
  ASSERT_TRUE(WriteFileAtomic(dir + "/" + kPidFile, "4242\n").ok());
  procs_.procs[4242] = tmp_.path() + "/6";  // that pid now belongs to someone else
  ScannedJob j = InspectJobDir(dir, procs_.Probe(), 2000);
  EXPECT_EQ(j.kind, ScannedJob::Kind::kLost);
  EXPECT_EQ(j.result.signal, SIGKILL);
  EXPECT_FALSE(j.result.launch_failed);
  EXPECT_EQ(j.result.message, "supervisor lost");
  EXPECT_EQ(j.result.generation, 2u);
  EXPECT_EQ(j.result.start_time, 1000);
  EXPECT_EQ(j.result.end_time, 2000);
}

TEST_F(ScanTest, SupervisorWithoutPidFileIsFoundByItsCommandLine) {
  std::string dir = MakeJob(5, 2);
  procs_.procs[99] = dir;
  ScannedJob j = InspectJobDir(dir, procs_.Probe(), 2000);
  EXPECT_EQ(j.kind, ScannedJob::Kind::kRunning);
  EXPECT_EQ(j.supervisor_pid, 99);
  EXPECT_EQ(j.start_time, 1000);  // no state.json yet: the launch time
}

TEST_F(ScanTest, ResultMeansFinished) {
  std::string dir = MakeJob(5, 2);
  JobResult r;
  r.job_id = 5;
  r.generation = 2;
  r.exit_code = 3;
  ASSERT_TRUE(WriteFileAtomic(dir + "/" + kResultFile, ResultToJson(r)).ok());
  procs_.procs[77] = dir;  // exiting right after writing it
  ScannedJob j = InspectJobDir(dir, procs_.Probe(), 2000);
  EXPECT_EQ(j.kind, ScannedJob::Kind::kFinished);
  EXPECT_EQ(j.result.exit_code, 3);
}

TEST_F(ScanTest, ScanSkipsStrangersAndFlagsGarbage) {
  MakeJob(10, 1);
  MakeJob(9, 1);
  ASSERT_EQ(mkdir((tmp_.path() + "/11").c_str(), 0700), 0);  // no spec: agent died mid-launch
  ASSERT_EQ(mkdir((tmp_.path() + "/notajob").c_str(), 0700), 0);
  std::vector<ScannedJob> jobs = ScanJobDirs(tmp_.path(), procs_.Probe(), 2000);
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].job_id, 9u);
  EXPECT_EQ(jobs[1].job_id, 10u);
  EXPECT_EQ(jobs[2].kind, ScannedJob::Kind::kInvalid);
  EXPECT_EQ(jobs[2].dir, tmp_.path() + "/11");
}

ino_t Inode(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST(WriteFileAtomicTest, WritesOverALongerLeftoverExactly) {
  TempDir tmp;
  std::string path = tmp.path() + "/f";
  ASSERT_TRUE(WriteFileAtomic(path + ".tmp", std::string(10000, 'x')).ok());
  ASSERT_TRUE(WriteFileAtomic(path, "short\n", 0600).ok());
  EXPECT_EQ(testing::ReadOr(path), "short\n");
  EXPECT_FALSE(testing::FileExists(path + ".tmp"));
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(RecycleJobDirTest, TheNextJobReusesTheFilesAndSeesNoneOfTheOldJob) {
  TempDir tmp;
  std::string dir = tmp.path() + "/7", spare = tmp.path() + "/spare";
  JobSpec s;
  s.job_id = 7;
  s.generation = 1;
  s.stdout_path = "/dev/null";
  s.uid = getuid();
  s.env = {"LONG=" + std::string(3000, 'v')};
  ASSERT_TRUE(PrepareJobDir(dir, s, "#!/bin/sh\n" + std::string(5000, '#') + "\n").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/" + kResultFile, ResultToJson(JobResult{})).ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/" + kSupervisorLogFile, "old job's line\n").ok());
  ino_t spec_inode = Inode(dir + "/" + kSpecFile);
  ino_t script_inode = Inode(dir + "/" + kScriptFile);
  ino_t result_inode = Inode(dir + "/" + kResultFile);

  ASSERT_TRUE(RecycleJobDir(dir, spare));
  EXPECT_FALSE(testing::FileExists(dir));
  // Nothing keeps a name that a reader of job directories looks for.
  for (const char* name : {kSpecFile, kResultFile}) {
    EXPECT_FALSE(testing::FileExists(spare + "/" + name)) << name;
    EXPECT_TRUE(testing::FileExists(spare + "/" + name + ".tmp")) << name;
  }
  EXPECT_TRUE(testing::FileExists(spare + "/" + kScriptFile));
  EXPECT_TRUE(testing::FileExists(spare + "/" + kSupervisorLogFile));

  std::string dir8 = tmp.path() + "/8";
  s.job_id = 8;
  s.env = {"A=1"};
  ASSERT_TRUE(PrepareJobDir(dir8, s, "#!/bin/sh\ntrue\n", spare).ok());
  EXPECT_FALSE(testing::FileExists(spare));
  EXPECT_EQ(Inode(dir8 + "/" + kSpecFile), spec_inode);
  EXPECT_EQ(Inode(dir8 + "/" + kScriptFile), script_inode);
  EXPECT_EQ(testing::ReadOr(dir8 + "/" + kScriptFile), "#!/bin/sh\ntrue\n");
  Result<JobSpec> back = SpecFromJson(testing::ReadOr(dir8 + "/" + kSpecFile));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->job_id, 8u);
  EXPECT_EQ(back->env, s.env);
  // The old result waits under its tmp name for the supervisor's, and is never read as one.
  EXPECT_FALSE(testing::FileExists(dir8 + "/" + kResultFile));
  ASSERT_TRUE(WriteFileAtomic(dir8 + "/" + kResultFile, ResultToJson(JobResult{})).ok());
  EXPECT_EQ(Inode(dir8 + "/" + kResultFile), result_inode);
  struct stat st;
  ASSERT_EQ(stat(dir8.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST(RecycleJobDirTest, AnotherUsersJobGetsAFreshDirectory) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  TempDir tmp;
  std::string dir = tmp.path() + "/7", spare = tmp.path() + "/spare";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_TRUE(WriteFileAtomic(dir + "/" + kSpecFile, "{}").ok());
  ASSERT_TRUE(RecycleJobDir(dir, spare));
  ino_t spec_inode = Inode(spare + "/" + kSpecFile + ".tmp");
  JobSpec s;
  s.job_id = 8;
  s.stdout_path = "/dev/null";
  s.uid = 65534;
  s.gid = 65534;
  ASSERT_TRUE(PrepareJobDir(tmp.path() + "/8", s, "#!/bin/sh\n", spare).ok());
  EXPECT_NE(Inode(tmp.path() + "/8/" + kSpecFile), spec_inode);
  EXPECT_FALSE(testing::FileExists(spare));
}

TEST(RecycleJobDirTest, RefusesADirectoryHoldingMoreThanFiles) {
  TempDir tmp;
  std::string dir = tmp.path() + "/7";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(mkdir((dir + "/sub").c_str(), 0700), 0);
  EXPECT_FALSE(RecycleJobDir(dir, tmp.path() + "/spare"));
  EXPECT_FALSE(RecycleJobDir(tmp.path() + "/missing", tmp.path() + "/spare2"));
}

TEST(RecycleJobDirTest, ALongLogIsDroppedAShortOneKept) {
  TempDir tmp;
  std::string dir = tmp.path() + "/7";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_TRUE(WriteFileAtomic(dir + "/" + kSupervisorLogFile, std::string(100000, 'l')).ok());
  ASSERT_TRUE(RecycleJobDir(dir, tmp.path() + "/spare"));
  EXPECT_FALSE(testing::FileExists(tmp.path() + "/spare/" + kSupervisorLogFile));
}

TEST(ProcProbeTest, RecognisesARealSupervisor) {
  TempDir tmp;
  std::string dir = tmp.path() + "/1";
  JobSpec s;
  s.job_id = 1;
  s.generation = 1;
  s.stdout_path = "/dev/null";
  s.uid = getuid();
  s.gid = getgid();
  s.work_dir = tmp.path();
  ASSERT_TRUE(PrepareJobDir(dir, s, "#!/bin/sh\nsleep 100\n").ok());
  Result<pid_t> pid = SpawnSupervisor(testing::SupervisorExe(), dir);
  ASSERT_TRUE(pid.ok());
  SupervisorProbe probe = SupervisorProbe::Proc();
  EXPECT_TRUE(testing::WaitFor([&] { return probe.is_supervisor_of(*pid, dir); }));
  EXPECT_FALSE(probe.is_supervisor_of(*pid, tmp.path() + "/2"));
  EXPECT_FALSE(probe.is_supervisor_of(getpid(), dir));
  EXPECT_EQ(probe.find_supervisor_of(dir), *pid);
  EXPECT_EQ(probe.find_supervisor_of(tmp.path() + "/2"), 0);
  testing::SendRequest(*pid, SupervisorSignal::kTerminate, 0);
  testing::WaitChild(*pid);
}

}  // namespace
}  // namespace shoal::agent
