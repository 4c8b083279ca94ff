// The jobs of one node: launches them through shoal-supervisor, watches the supervisors, relays
// the controller's requests to them, and keeps each finished job until the controller has
// acknowledged it. Knows nothing of gRPC: the agent turns its events into messages.
//
// Jobs outlive the JobManager and the agent process: destroying a JobManager stops watching but
// never touches a job. A new JobManager on the same state directory reattaches to the running
// jobs and reloads the finished ones (Start()).
//
// Thread-safe. The listener is called from the caller's thread (launches) or the watcher thread
// (finishes), with the JobManager's lock held, so events of one job arrive in order (started
// before finished); a listener must be quick and must not call back into the JobManager.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/job_dir.h"
#include "agent/job_files.h"
#include "agent/launcher.h"
#include "common/status.h"

namespace shoal::agent {

struct RunningJobInfo {
  uint64_t job_id = 0;
  uint64_t generation = 0;
  int64_t start_time = 0;
  pid_t supervisor_pid = 0;  // the job's shoal-supervisor (its processes descend from it)
  std::vector<uint32_t> gpu_indices = {};  // the GPUs it holds here
  std::vector<std::string> cgroup_dirs = {};  // its cgroups here (job_cgroup.h), if any
};

class JobManager {
 public:
  struct Options {
    std::string state_dir;        // absolute; jobs live in state_dir/jobs/<job_id>
    std::string supervisor_path;  // the shoal-supervisor executable
    std::string node_name;        // for SLURMD_NODENAME
    SupervisorProbe probe = SupervisorProbe::Proc();
    // How long a relaunch waits for a stale generation of the same job to die.
    int stale_kill_timeout_ms = 5000;
  };
  struct Listener {
    std::function<void(const RunningJobInfo&)> started;
    std::function<void(const JobResult&)> finished;
  };

  JobManager(Options options, Listener listener);
  ~JobManager();  // stops watching; every job keeps running
  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  // Creates state_dir/jobs, reattaches to live supervisors, loads finished (and lost) jobs, and
  // starts watching. Reports nothing: the agent sends Unacknowledged() after registering.
  Status Start();

  // Launches one job. The same job id and generation again is a duplicate: the job's current
  // event (started or finished) is re-emitted. Another generation of a job still here is stale:
  // it is killed (SIGKILL to the whole job) and forgotten first. A launch that fails before the
  // supervisor runs ends as a finished job with launch_failed. Returns an error only for
  // failures the controller should also log; the job is reported finished either way.
  Status Launch(JobSpec spec, const std::string& script);

  // Requests to a running job; NotFound when the job is not running here.
  Status Signal(uint64_t job_id, int sig, bool whole_tree);
  Status Terminate(uint64_t job_id, uint32_t kill_wait_s);
  Status UpdateTimeLimit(uint64_t job_id, int64_t time_limit_s);

  // The controller recorded the job's end: its directory is removed and the job forgotten.
  // Ignored unless the job is finished with that generation.
  void Acknowledge(uint64_t job_id, uint64_t generation);

  // The controller no longer assigns this job to the node: kill it at once (SIGKILL), and forget
  // it without reporting when it ends. A finished job is forgotten right away.
  void Fence(uint64_t job_id);

  std::vector<RunningJobInfo> Running() const;
  // Finished jobs the controller has not acknowledged yet, in job id order.
  std::vector<JobResult> Unacknowledged() const;

 private:
  struct Job {
    uint64_t job_id = 0;
    uint64_t generation = 0;
    bool running = false;
    bool fenced = false;  // forget silently when it ends
    pid_t pid = 0;
    int pidfd = -1;
    int64_t start_time = 0;
    std::vector<uint32_t> gpu_indices;
    std::vector<std::string> cgroup_dirs;  // TaskPlugin=task/cgroup: removed once it ended
    std::string cgroup_leaf;
    JobResult result;  // when finished
    bool recyclable = false;  // its directory may be recycled (RecycleJobDir)
  };

  std::string JobDir(uint64_t job_id) const;
  // Adds a running job's pidfd to the watch set and the map.
  void Watch(Job job);
  void Unwatch(Job& job);
  void WatchLoop();
  void OnSupervisorExit(uint64_t job_id);
  void FinishLaunchFailed(uint64_t job_id, uint64_t generation, const std::string& message);
  // Kills a stale running job taken out of the map and waits for it; lock not held.
  void KillStale(Job job);
  Status SendRequest(uint64_t job_id, SupervisorSignal which, int value);

  const Options options_;
  const Listener listener_;
  SupervisorLauncher launcher_{options_.supervisor_path};  // used under mu_
  mutable std::mutex mu_;
  std::map<uint64_t, Job> jobs_;  // by job id
  // Recycled job directories (job_dir.h: RecycleJobDir), state_dir/jobs/.spare-N, and the
  // number the next one gets.
  std::vector<std::string> spares_;
  uint64_t next_spare_ = 0;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: stops the watcher
  std::thread watcher_;
};

}  // namespace shoal::agent
