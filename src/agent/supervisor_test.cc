// Runs the real shoal-supervisor (built next to this test) on job directories made here.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include "agent/agent_test_util.h"
#include "agent/job_dir.h"
#include "agent/job_files.h"

namespace shoal::agent {
namespace {

using testing::FileExists;
using testing::ProcessAlive;
using testing::ReadOr;
using testing::WaitFor;

class SupervisorTest : public ::testing::Test {
 protected:
  JobSpec BaseSpec() {
    JobSpec s;
    s.job_id = 42;
    s.generation = 7;
    s.env = {"PATH=/usr/bin:/bin", "FOO=bar baz"};
    s.work_dir = tmp_.path();
    s.stdout_path = tmp_.path() + "/out.txt";
    s.kill_wait_s = 1;
    s.uid = getuid();
    s.gid = getgid();
    return s;
  }

  // Prepares the job directory and starts the supervisor on it, the way the agent does.
  pid_t Start(const JobSpec& spec, const std::string& script) {
    dir_ = tmp_.path() + "/job";
    Status st = PrepareJobDir(dir_, spec, script);
    EXPECT_TRUE(st.ok()) << st.message();
    Result<pid_t> pid = SpawnSupervisor(testing::SupervisorExe(), dir_);
    EXPECT_TRUE(pid.ok()) << pid.status().message();
    return pid.ok() ? *pid : -1;
  }

  // Waits for the supervisor, checks it succeeded, and returns the job's result.
  JobResult Finish(pid_t pid) {
    int status = testing::WaitChild(pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "supervisor status " << status << "; log:\n"
        << ReadOr(dir_ + "/" + kSupervisorLogFile);
    Result<JobResult> r = ResultFromJson(ReadOr(dir_ + "/" + kResultFile));
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : JobResult{};
  }

  JobResult Run(const JobSpec& spec, const std::string& script) {
    return Finish(Start(spec, script));
  }

  // Waits until the script runs (state.json written).
  bool WaitStarted() {
    return WaitFor([&] { return FileExists(dir_ + "/" + kStateFile); });
  }

  testing::TempDir tmp_;
  std::string dir_;
};

TEST_F(SupervisorTest, PropagatesExitCode) {
  JobResult r = Run(BaseSpec(), "#!/bin/sh\nexit 3\n");
  EXPECT_EQ(r.job_id, 42u);
  EXPECT_EQ(r.generation, 7u);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.launch_failed);
  EXPECT_GT(r.start_time, 0);
  EXPECT_GE(r.end_time, r.start_time);
  EXPECT_TRUE(FileExists(dir_ + "/" + kPidFile));
}

TEST_F(SupervisorTest, ReportsDeathBySignal) {
  JobResult r = Run(BaseSpec(), "#!/bin/sh\nkill -USR1 $$\nsleep 5\n");
  EXPECT_EQ(r.signal, SIGUSR1);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(r.timed_out);
}

TEST_F(SupervisorTest, WritesStdoutAndStderrToSeparateFiles) {
  JobSpec spec = BaseSpec();
  spec.stderr_path = tmp_.path() + "/err.txt";
  JobResult r =
      Run(spec, "#!/bin/sh\necho \"out $FOO\"\necho err >&2\nread x && echo stdin\nexit 0\n");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(ReadOr(spec.stdout_path), "out bar baz\n");  // stdin is /dev/null: no "stdin"
  EXPECT_EQ(ReadOr(spec.stderr_path), "err\n");
}

TEST_F(SupervisorTest, SharesOneFileWhenStderrIsEmptyAndHonoursAppend) {
  JobSpec spec = BaseSpec();
  ASSERT_TRUE(WriteFileAtomic(spec.stdout_path, "old\n").ok());
  Run(spec, "#!/bin/sh\necho one\necho two >&2\n");
  EXPECT_EQ(ReadOr(spec.stdout_path), "one\ntwo\n");  // truncated first

  spec.open_append = true;
  std::filesystem::remove_all(tmp_.path() + "/job");
  Run(spec, "#!/bin/sh\necho three\n");
  EXPECT_EQ(ReadOr(spec.stdout_path), "one\ntwo\nthree\n");
}

TEST_F(SupervisorTest, PassesTheEnvironmentExactly) {
  JobSpec spec = BaseSpec();
  Run(spec, "#!/bin/sh\necho \"FOO=$FOO HOME=${HOME-unset}\"\n");
  EXPECT_EQ(ReadOr(spec.stdout_path), "FOO=bar baz HOME=unset\n");
}

TEST_F(SupervisorTest, MissingOutputDirectoryFailsTheLaunch) {
  JobSpec spec = BaseSpec();
  spec.stdout_path = tmp_.path() + "/no/such/dir/out.txt";
  JobResult r = Run(spec, "#!/bin/sh\ntouch ran\n");
  EXPECT_TRUE(r.launch_failed);
  EXPECT_EQ(r.message,
            "could not open output file " + spec.stdout_path + ": No such file or directory");
  EXPECT_FALSE(FileExists(tmp_.path() + "/ran"));
}

TEST_F(SupervisorTest, MissingWorkDirRunsInTmpWithANote) {
  JobSpec spec = BaseSpec();
  spec.work_dir = tmp_.path() + "/gone";
  JobResult r = Run(spec, "#!/bin/sh\npwd\n");
  EXPECT_FALSE(r.launch_failed);
  EXPECT_EQ(ReadOr(spec.stdout_path),
            "slurmstepd: error: couldn't chdir to `" + spec.work_dir +
                "': No such file or directory: going to /tmp instead\n/tmp\n");
}

TEST_F(SupervisorTest, ScriptWithoutShebangRunsUnderSh) {
  JobResult r = Run(BaseSpec(), "exit 4\n");
  EXPECT_FALSE(r.launch_failed);
  EXPECT_EQ(r.exit_code, 4);
}

TEST_F(SupervisorTest, ScriptArgumentsReachTheScriptWithAndWithoutShebang) {
  JobSpec spec = BaseSpec();
  spec.args = {"one", "two words"};
  Run(spec, "#!/bin/sh\necho \"$# $1|$2 $FOO\"\n");
  EXPECT_EQ(ReadOr(spec.stdout_path), "2 one|two words bar baz\n");
  RemoveJobDir(dir_);
  Run(spec, "echo \"$# $1|$2 ${0##*/}\"\n");
  EXPECT_EQ(ReadOr(spec.stdout_path), "2 one|two words slurm_script\n");
}

TEST_F(SupervisorTest, TimeLimitSendsTermThenKill) {
  JobSpec spec = BaseSpec();
  spec.time_limit_s = 1;
  spec.kill_wait_s = 1;
  auto begin = std::chrono::steady_clock::now();
  // Survives SIGTERM on purpose: only the SIGKILL kill_wait_s later can end it.
  JobResult r = Run(spec, "#!/bin/sh\necho $$ > " + tmp_.path() +
                              "/pid\ntrap 'echo got TERM' TERM\nwhile :; do sleep 0.1; done\n");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_GE(secs, 1.9);
  EXPECT_LT(secs, 5.0);
  EXPECT_NE(ReadOr(spec.stdout_path).find("got TERM"), std::string::npos);
  pid_t shell = std::stoi(ReadOr(tmp_.path() + "/pid", "0"));
  EXPECT_FALSE(ProcessAlive(shell));
}

TEST_F(SupervisorTest, TerminateRequestEndsTheJob) {
  pid_t pid = Start(BaseSpec(), "#!/bin/sh\nsleep 100\n");
  ASSERT_TRUE(WaitStarted());
  ASSERT_EQ(testing::SendRequest(pid, SupervisorSignal::kTerminate, 5), 0);
  JobResult r = Finish(pid);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_FALSE(r.timed_out);
}

TEST_F(SupervisorTest, RequestSentBeforeTheSupervisorRunsIsQueued) {
  // The agent may signal right after posix_spawn; the signal must wait, not kill.
  pid_t pid = Start(BaseSpec(), "#!/bin/sh\nsleep 100\n");
  ASSERT_EQ(testing::SendRequest(pid, SupervisorSignal::kTerminate, 0), 0);
  JobResult r = Finish(pid);
  EXPECT_FALSE(r.launch_failed);
  EXPECT_EQ(r.signal, SIGKILL);
}

TEST_F(SupervisorTest, SignalRequestReachesOnlyTheBatchShell) {
  pid_t pid = Start(BaseSpec(), "#!/bin/sh\ntrap 'echo usr1; exit 7' USR1\nsleep 100 &\nwait\n");
  ASSERT_TRUE(WaitStarted());
  // The shell installs its trap right after starting: give it a moment.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_EQ(testing::SendRequest(pid, SupervisorSignal::kSignal,
                                 EncodeSignalRequest(SIGUSR1, /*whole_tree=*/false)),
            0);
  JobResult r = Finish(pid);
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(ReadOr(tmp_.path() + "/out.txt"), "usr1\n");
}

TEST_F(SupervisorTest, SignalRequestToTheWholeTree) {
  pid_t pid = Start(BaseSpec(),
                    "#!/bin/sh\nsh -c 'trap \"echo child; exit 0\" USR2; sleep 100 & wait' &\n"
                    "trap 'echo shell' USR2\nwait\nwait\n");
  ASSERT_TRUE(WaitStarted());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_EQ(testing::SendRequest(pid, SupervisorSignal::kSignal,
                                 EncodeSignalRequest(SIGUSR2, /*whole_tree=*/true)),
            0);
  JobResult r = Finish(pid);
  EXPECT_EQ(r.exit_code, 0);
  std::string out = ReadOr(tmp_.path() + "/out.txt");
  EXPECT_NE(out.find("child"), std::string::npos) << out;
  EXPECT_NE(out.find("shell"), std::string::npos) << out;
}

TEST_F(SupervisorTest, SignalRequestIsNotOvertakenByATerminateRequest) {
  // srun's double Ctrl-C: SIGINT, then the end of the step, sent back to back. Real-time
  // signals are read lowest first (kTerminate's), yet the SIGINT must reach the job first.
  pid_t pid = Start(BaseSpec(), "#!/bin/sh\nexec sleep 100\n");
  ASSERT_TRUE(WaitStarted());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(testing::SendRequest(pid, SupervisorSignal::kSignal,
                                 EncodeSignalRequest(SIGINT, /*whole_tree=*/true)),
            0);
  ASSERT_EQ(testing::SendRequest(pid, SupervisorSignal::kTerminate, 5), 0);
  JobResult r = Finish(pid);
  EXPECT_EQ(r.signal, SIGINT);
}

// Plays srun for a step's supervisor: listens on loopback and collects what arrives on each
// stream kind until every connection has closed.
class FakeSrun {
 public:
  FakeSrun() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~FakeSrun() {
    for (auto& [fd, text] : conns_) close(fd);
    close(fd_);
  }
  uint16_t port() const { return port_; }

  // Serves for up to `ms`, or until the terminal's connection (stream 5) and every other one
  // have closed; `on_connect(stream, fd)` may write to a new connection.
  void Serve(int ms, const std::function<void(int, int)>& on_connect = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (conns_.empty() && received_.count(5) > 0) return;  // the terminal's relay ended
      std::vector<pollfd> fds = {{fd_, POLLIN, 0}};
      for (auto& [fd, text] : conns_) fds.push_back({fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) conns_[c] = "";
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[4096];
        ssize_t n = read(fds[i].fd, buf, sizeof buf);
        std::string& text = conns_[fds[i].fd];
        if (n > 0) {
          const bool had_header = text.find('\n') != std::string::npos;
          text.append(buf, static_cast<size_t>(n));
          if (!had_header && text.find('\n') != std::string::npos && on_connect) {
            on_connect(StreamOf(text), fds[i].fd);
          }
          continue;
        }
        // Closed: filed under its stream kind.
        received_[StreamOf(text)] += text.substr(text.find('\n') + 1);
        close(fds[i].fd);
        conns_.erase(fds[i].fd);
      }
    }
  }
  std::string Received(int stream) { return received_[stream]; }

 private:
  static int StreamOf(const std::string& text) {
    char key[64];
    unsigned rank;
    int stream = -1;
    std::sscanf(text.c_str(), "SHOAL-IO %63s %u %d", key, &rank, &stream);
    return stream;
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::map<int, std::string> conns_;
  std::map<int, std::string> received_;
};

TEST_F(SupervisorTest, PtyTaskRunsOnATerminalRelayedToSrun) {
  FakeSrun srun;
  JobSpec spec = BaseSpec();
  spec.stdout_path.clear();
  spec.tasks = {{0, {"SLURM_PROCID=0"}}, {1, {"SLURM_PROCID=1"}}};
  spec.argv = {"/bin/sh", "-c",
               "if [ $SLURM_PROCID = 0 ]; then read line; echo \"got:$line\"; tty; stty size; "
               "test -t 0 && test -t 1 && test -t 2 && echo all-tty; "
               "else echo task-1-speaks; fi"};
  spec.io_addr = "127.0.0.1";
  spec.io_port = srun.port();
  spec.io_key = "key";
  spec.input = "none";
  spec.pty = true;
  spec.pty_rows = 33;
  spec.pty_cols = 101;
  pid_t pid = Start(spec, "");
  // srun's side: a typed line on the terminal's connection, a new size on the control one,
  // then the end of srun's input.
  srun.Serve(8000, [](int stream, int fd) {
    if (stream == 6) {
      const std::string size = "winsize 40 132\n";
      ASSERT_EQ(write(fd, size.data(), size.size()), static_cast<ssize_t>(size.size()));
    }
    if (stream == 5) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the new size first
      const std::string line = "hello\n";
      ASSERT_EQ(write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
      shutdown(fd, SHUT_WR);
    }
  });
  JobResult r = Finish(pid);
  EXPECT_EQ(r.exit_code, 0);
  const std::string out = srun.Received(5);
  EXPECT_NE(out.find("got:hello"), std::string::npos) << out;
  EXPECT_NE(out.find("/dev/pts/"), std::string::npos) << out;
  EXPECT_NE(out.find("40 132"), std::string::npos) << out;
  EXPECT_NE(out.find("all-tty"), std::string::npos) << out;
  // The other task writes to /dev/null: nothing of it reaches srun.
  EXPECT_EQ(srun.Received(1), "");
  EXPECT_EQ(out.find("task-1-speaks"), std::string::npos) << out;
}

TEST_F(SupervisorTest, UpdatedTimeLimitApplies) {
  pid_t pid = Start(BaseSpec(), "#!/bin/sh\nsleep 100\n");
  ASSERT_TRUE(WaitStarted());
  ASSERT_EQ(testing::SendRequest(pid, SupervisorSignal::kUpdateTimeLimit, 1), 0);
  JobResult r = Finish(pid);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGTERM);
}

TEST_F(SupervisorTest, NothingOutlivesTheJob) {
  std::string t = tmp_.path();
  JobResult r = Run(BaseSpec(), "#!/bin/sh\nsleep 100 &\necho $! > " + t +
                                    "/bg\nsetsid sleep 100 &\necho $! > " + t + "/escaped\n");
  EXPECT_EQ(r.exit_code, 0);
  pid_t bg = std::stoi(ReadOr(t + "/bg", "0"));
  pid_t escaped = std::stoi(ReadOr(t + "/escaped", "0"));
  ASSERT_GT(bg, 0);
  ASSERT_GT(escaped, 0);
  EXPECT_FALSE(ProcessAlive(bg));
  EXPECT_FALSE(ProcessAlive(escaped));
}

TEST_F(SupervisorTest, UnreadableSpecStillWritesAResult) {
  dir_ = tmp_.path() + "/17";
  ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0);
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/" + kSpecFile, "{not json").ok());
  Result<pid_t> pid = SpawnSupervisor(testing::SupervisorExe(), dir_);
  ASSERT_TRUE(pid.ok());
  JobResult r = Finish(*pid);
  EXPECT_TRUE(r.launch_failed);
  EXPECT_EQ(r.job_id, 17u);
}

}  // namespace
}  // namespace shoal::agent
