// Starting supervisors by fork from a small resident process instead of an exec per job.
//
// Every exec of shoal-supervisor costs its loading and its C library's start (on these VMs the
// CPU-feature probing alone traps to the hypervisor for about 0.2 ms): more than the supervisor
// then does. So the agent starts one launcher per JobManager (`shoal-supervisor --launcher FD
// PAD`, in a session of its own, the request signals blocked) and asks it over a socket to
// start each supervisor. The launcher forks; the child becomes exactly what SpawnSupervisor
// starts: its command line rewritten to "<...>/shoal-supervisor JOB_DIR" (the agent recognises
// supervisors by it after a restart, job_dir.h), a session of its own, stdin /dev/null, output to
// JOB_DIR/supervisor.log, then RunSupervisor(JOB_DIR). The reply carries the child's pid and a
// pidfd opened before the launcher could reap it, so the agent's pidfd names the child even
// though the launcher, its parent, reaps it.
//
// The launcher exits when the agent closes its end; supervisors it started keep running (they
// are re-parented like any orphan), as they outlive the agent.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/status.h"

namespace shoal::agent {

// The launcher's main loop on socket `fd`. `args`..`args + args_size` is the process's argv
// strings' memory (what /proc/PID/cmdline shows), which each child overwrites. Returns the exit
// status.
int RunLauncher(int fd, char* args, size_t args_size);

// The agent's side. Not thread-safe (JobManager calls it under its lock).
class SupervisorLauncher {
 public:
  explicit SupervisorLauncher(std::string supervisor_exe) : exe_(std::move(supervisor_exe)) {}
  ~SupervisorLauncher();  // ends the launcher; the supervisors it started keep running
  SupervisorLauncher(const SupervisorLauncher&) = delete;
  SupervisorLauncher& operator=(const SupervisorLauncher&) = delete;

  struct Started {
    pid_t pid = 0;
    int pidfd = -1;  // owned by the caller
  };
  // Starts the supervisor of `dir` through the launcher, starting the launcher first if none
  // runs. An error means no supervisor was started (the caller may spawn one itself).
  Result<Started> Launch(const std::string& dir);

 private:
  Status StartLauncher();
  void StopLauncher();

  const std::string exe_;
  int fd_ = -1;
  pid_t pid_ = 0;
};

}  // namespace shoal::agent
