// The supervisor launcher with the real shoal-supervisor: what it starts is a supervisor the
// agent recognises, that outlives the launcher, and a dead launcher is replaced.
#include "agent/launcher.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent_test_util.h"
#include "agent/job_dir.h"
#include "agent/job_files.h"
#include "agent/pidfd.h"

namespace shoal::agent {
namespace {

using testing::FileExists;
using testing::ReadOr;
using testing::TempDir;

std::string MakeJob(const TempDir& tmp, uint64_t id, const std::string& script) {
  std::string dir = tmp.path() + "/" + std::to_string(id);
  JobSpec s;
  s.job_id = id;
  s.generation = 1;
  s.stdout_path = tmp.path() + "/" + std::to_string(id) + ".out";
  s.uid = getuid();
  s.gid = getgid();
  s.work_dir = tmp.path();
  s.env = {"PATH=/usr/bin:/bin"};
  EXPECT_TRUE(PrepareJobDir(dir, s, script).ok());
  return dir;
}

bool WaitExit(int pidfd, int timeout_ms = 10000) {
  pollfd p{pidfd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1;
}

// The launcher's pid: the parent of the supervisors it starts.
pid_t ParentOf(pid_t pid) {
  std::string stat = ReadOr("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  char state;
  int ppid = 0;
  return std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) == 2 ? ppid : 0;
}

TEST(LauncherTest, StartsARecognisableSupervisorThatRunsTheJob) {
  TempDir tmp;
  std::string dir = MakeJob(tmp, 1, "#!/bin/sh\necho \"ran $0\"\nsleep 0.3\nexit 5\n");
  SupervisorLauncher launcher(testing::SupervisorExe());
  Result<SupervisorLauncher::Started> started = launcher.Launch(dir);
  ASSERT_TRUE(started.ok()) << started.status().message();
  EXPECT_GT(started->pid, 0);
  // After an agent restart it is found as a supervisor of its directory, and only of it.
  SupervisorProbe probe = SupervisorProbe::Proc();
  EXPECT_TRUE(probe.is_supervisor_of(started->pid, dir));
  EXPECT_FALSE(probe.is_supervisor_of(started->pid, tmp.path() + "/2"));
  EXPECT_EQ(probe.find_supervisor_of(dir), started->pid);
  // A session of its own, as SpawnSupervisor gives it.
  EXPECT_EQ(getsid(started->pid), started->pid);

  ASSERT_TRUE(WaitExit(started->pidfd));
  close(started->pidfd);
  Result<JobResult> result = ResultFromJson(ReadOr(dir + "/" + kResultFile));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->exit_code, 5);
  EXPECT_EQ(ReadOr(tmp.path() + "/1.out"), "ran " + dir + "/" + kScriptFile + "\n");
  EXPECT_NE(ReadOr(dir + "/" + kSupervisorLogFile).find("job 1: script ended"), std::string::npos);
}

TEST(LauncherTest, SupervisorsOutliveTheLauncherAndADeadLauncherIsReplaced) {
  TempDir tmp;
  std::string dir1 = MakeJob(tmp, 1, "#!/bin/sh\nsleep 100\n");
  std::string dir2 = MakeJob(tmp, 2, "#!/bin/sh\nexit 0\n");
  std::string dir3 = MakeJob(tmp, 3, "#!/bin/sh\nexit 3\n");
  Result<SupervisorLauncher::Started> first(Internal("unset"));
  {
    SupervisorLauncher launcher(testing::SupervisorExe());
    first = launcher.Launch(dir1);
    ASSERT_TRUE(first.ok()) << first.status().message();
    ASSERT_TRUE(testing::WaitFor([&] { return FileExists(dir1 + "/" + kStateFile); }));
    // Kill the launcher: the next launch starts another.
    pid_t launcher_pid = ParentOf(first->pid);
    ASSERT_GT(launcher_pid, 1);
    kill(launcher_pid, SIGKILL);
    waitpid(launcher_pid, nullptr, 0);
    Result<SupervisorLauncher::Started> second = launcher.Launch(dir2);
    ASSERT_TRUE(second.ok()) << second.status().message();
    EXPECT_NE(ParentOf(second->pid), launcher_pid);
    ASSERT_TRUE(WaitExit(second->pidfd));
    close(second->pidfd);
    EXPECT_TRUE(FileExists(dir2 + "/" + kResultFile));
  }
  // The launcher is gone with its owner; the first job still runs.
  pollfd p{first->pidfd, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 200), 0);
  EXPECT_FALSE(FileExists(dir1 + "/" + kResultFile));
  PidfdSendSignal(first->pidfd, SIGTERM, nullptr);
  ASSERT_TRUE(WaitExit(first->pidfd));
  close(first->pidfd);
  EXPECT_TRUE(testing::WaitFor([&] { return FileExists(dir1 + "/" + kResultFile); }));

  // A request the launcher refuses starts nothing and says why.
  SupervisorLauncher launcher(testing::SupervisorExe());
  Result<SupervisorLauncher::Started> bad = launcher.Launch("relative/dir");
  EXPECT_FALSE(bad.ok());
  Result<SupervisorLauncher::Started> good = launcher.Launch(dir3);
  ASSERT_TRUE(good.ok()) << good.status().message();
  ASSERT_TRUE(WaitExit(good->pidfd));
  close(good->pidfd);
}

}  // namespace
}  // namespace shoal::agent
