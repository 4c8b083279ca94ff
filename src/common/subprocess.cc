#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace shoal {
namespace {

constexpr size_t kMaxOutput = 64 * 1024;

// Reads what is there without blocking; false at end of file (or an error).
bool Drain(int fd, std::string& out) {
  char buf[4096];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(std::min(static_cast<size_t>(n),
                                                   kMaxOutput - std::min(kMaxOutput, out.size()))));
      continue;
    }
    if (n < 0 && (errno == EINTR)) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
}

}  // namespace

std::string ProgramResult::Describe(std::chrono::milliseconds timeout) const {
  if (ok) return "ok";
  if (!error.empty()) return "could not run: " + error;
  if (timed_out) {
    return "timed out after " +
           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) + " s";
  }
  if (signal != 0) return "killed by signal " + std::to_string(signal);
  return "exit code " + std::to_string(exit_code);
}

ProgramResult RunProgram(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         bool capture) {
  ProgramResult r;
  if (argv.empty()) {
    r.error = "no program";
    return r;
  }
  const std::string& program = argv.front();
  if (access(program.c_str(), X_OK) != 0) {
    r.error = std::string(std::strerror(errno));
    return r;
  }
  int pipe_fds[2] = {-1, -1};
  if (capture && pipe2(pipe_fds, O_CLOEXEC) != 0) {
    r.error = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (capture) {
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  // None of the caller's descriptors (a daemon's listening sockets): a program that leaves
  // something running behind (a ResumeProgram starting an agent) must not keep them open.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own group, so a timeout ends what it started too; default signal handling, whatever
  // the caller blocks.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (std::string& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, program.c_str(), &actions, &attr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (capture) {
    close(pipe_fds[1]);
    fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
  }
  if (rc != 0) {
    if (capture) close(pipe_fds[0]);
    r.error = std::strerror(rc);
    return r;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  bool open = capture;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) {
      r.error = std::string("waitpid: ") + std::strerror(errno);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      r.timed_out = true;
      break;
    }
    if (open) {
      pollfd p{pipe_fds[0], POLLIN, 0};
      poll(&p, 1, 20);
      open = Drain(pipe_fds[0], r.output);
    } else {
      usleep(20 * 1000);
    }
  }
  if (capture) {
    // What it wrote before it ended; a child it left behind holding the pipe is not waited for.
    if (open) Drain(pipe_fds[0], r.output);
    close(pipe_fds[0]);
  }
  if (r.timed_out || !r.error.empty()) return r;
  if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  } else {
    r.exit_code = WEXITSTATUS(status);
    r.ok = r.exit_code == 0;
  }
  return r;
}

}  // namespace shoal
