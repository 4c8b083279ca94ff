// Helpers shared by the agent module's tests (header-only, not part of the library).
#pragma once

#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "agent/job_files.h"
#include "agent/pidfd.h"

namespace shoal::agent::testing {

// A fresh directory under $TMPDIR, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "shoal-agent-test-XXXXXX");
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// build/bin/shoal-supervisor: the tests live in the same directory.
inline std::string SupervisorExe() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string self(buf, n > 0 ? static_cast<size_t>(n) : 0);
  return self.substr(0, self.find_last_of('/')) + "/" + kSupervisorExeName;
}

// Polls `done` every 10 ms for up to `timeout`.
inline bool WaitFor(const std::function<bool()>& done,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

inline bool FileExists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

inline std::string ReadOr(const std::string& path, const std::string& fallback = "") {
  Result<std::string> r = ReadWholeFile(path);
  return r.ok() ? *r : fallback;
}

// Whether a process (not a zombie) with this pid exists.
inline bool ProcessAlive(pid_t pid) {
  Result<std::string> stat = ReadWholeFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return false;
  size_t close = stat->rfind(')');
  return close != std::string::npos && close + 2 < stat->size() && (*stat)[close + 2] != 'Z';
}

// Waits for a child to exit (SIGKILLs it after `timeout`); returns its wait status.
inline int WaitChild(pid_t pid, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  int pidfd = PidfdOpen(pid);
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) kill(pid, SIGKILL);
    close(pidfd);
  }
  int status = -1;
  waitpid(pid, &status, 0);
  return status;
}

// Queues a supervisor request the way the agent does (sigqueue with a value).
inline int SendRequest(pid_t supervisor, SupervisorSignal which, int value) {
  sigval v;
  v.sival_int = value;
  return sigqueue(supervisor, SupervisorSignalNumber(which), v);
}

}  // namespace shoal::agent::testing
