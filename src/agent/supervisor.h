// The per-job supervisor: a small process (shoal-supervisor) that runs one batch script and
// outlives the agent that started it.
//
// RunSupervisor(dir) reads dir/spec.json (job_files.h), writes dir/supervisor.pid, opens the
// job's output files, starts dir/slurm_script in its own process group (stdin /dev/null, the
// spec's environment exactly, the job's uid/gid when running as root), and waits. It enforces
// the time limit (SIGTERM to the job, SIGKILL kill_wait_s later, timed_out set), serves the
// agent's requests (job_files.h: SupervisorSignal), and treats SIGTERM/SIGINT sent to itself as
// a terminate request with at most 2 s of grace (so the job does not outlive it). When the
// script exits it kills whatever the job left behind (its process group plus every orphan
// re-parented to the supervisor, which is a child subreaper), writes dir/result.json atomically
// and returns.
//
// Launch failures (unreadable spec, output file that cannot be opened, script that cannot be
// executed) also end in a result.json, with launch_failed and a message naming the cause.
// A working directory that does not exist is not a failure: as in Slurm, the job gets a note on
// its stderr and runs in /tmp.
#pragma once

#include <string>

namespace shoal::agent {

// Returns the supervisor's exit status: 0 when result.json was written, 1 when even that failed.
// Must run in a single-threaded process (it forks and changes its effective ids).
int RunSupervisor(const std::string& job_dir);

}  // namespace shoal::agent
