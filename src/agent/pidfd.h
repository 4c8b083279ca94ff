// pidfd system calls. Called through syscall(2): glibc 2.36's <sys/pidfd.h> lacks extern "C",
// so its wrappers do not link from C++.
#pragma once

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace shoal::agent {

// A file descriptor naming process `pid`: poll() reports POLLIN when it exits (child or not),
// and signals sent through it cannot hit a process that later reuses the pid. -1 and errno on
// failure.
inline int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// Sends `sig` (with `info`, may be null) to the process named by `pidfd`; 0 or -1 and errno.
inline int PidfdSendSignal(int pidfd, int sig, siginfo_t* info) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, sig, info, 0));
}

}  // namespace shoal::agent
