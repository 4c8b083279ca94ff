// The agent's side of a job directory (layout in job_files.h): preparing one for a launch,
// spawning its supervisor, and working out, after an agent restart, what became of each job.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "agent/job_files.h"
#include "common/status.h"

namespace shoal::agent {

// Sets KEY=value in a KEY=VALUE list, replacing an existing KEY.
void SetEnv(std::vector<std::string>& env, const std::string& key, const std::string& value);

// Adds what only the node knows: SLURMD_NODENAME, and for jobs holding GPUs
// CUDA_VISIBLE_DEVICES, GPU_DEVICE_ORDINAL and SLURM_JOB_GPUS (comma-separated indices).
void AddNodeEnv(JobSpec& spec, const std::string& node_name);

// Creates `dir` (which must not exist) holding spec.json and slurm_script. When the agent runs
// as root for another user, the script belongs to that user and the directory is traversable,
// so the user's shell can read its own script; spec and results stay root's. With `spare` (a
// directory RecycleJobDir made), that directory becomes `dir` and its files are written over.
Status PrepareJobDir(const std::string& dir, const JobSpec& spec, const std::string& script,
                     const std::string& spare = "");

// Job directories are recycled rather than removed where that is safe. On a file system like
// this project's hosts' (ext4 without a journal) each new inode's allocation scans past every
// inode freed in the last seconds, so at a few hundred jobs a second creating a job's 7 inodes
// cost more CPU than the job itself. A recycled directory keeps its files under "NAME.tmp", the
// names WriteFileAtomic writes through, so a job that reuses it allocates no inode and the end of
// the job frees none.
//
// Moves the finished job's `dir` to `spare` (best in the same parent: a cheaper rename) and
// renames each file there to NAME.tmp, so that no file of the old job keeps a name anything
// reads; slurm_script (PrepareJobDir writes it in place before the spec exists) and
// supervisor.log (kept up to 64 KB; each line names its job) keep theirs. Only for a job whose
// files no other user could have opened (it ran as the agent's user, or as root): an open file
// would show the next job's content. False when it could not (something other than plain files,
// a rename that failed); the caller then removes `dir` and `spare`.
bool RecycleJobDir(const std::string& dir, const std::string& spare);

// Starts `supervisor_exe dir` in a new session (so it outlives the agent) with the supervisor's
// request signals already blocked (so early requests queue), stdin /dev/null and output to
// dir/supervisor.log. posix_spawn, never fork: the agent is a large threaded process.
Result<pid_t> SpawnSupervisor(const std::string& supervisor_exe, const std::string& dir);

// Removes a job directory and everything in it; missing is fine.
void RemoveJobDir(const std::string& dir);

// How the agent recognises a job's supervisor among the host's processes. The default probes
// /proc (argv is exactly "<...>/shoal-supervisor <job_dir>"); tests substitute their own.
struct SupervisorProbe {
  // Whether `pid` is alive and is the supervisor of `job_dir`.
  std::function<bool(pid_t pid, const std::string& job_dir)> is_supervisor_of;
  // The pid of the supervisor of `job_dir`, 0 when none runs.
  std::function<pid_t(const std::string& job_dir)> find_supervisor_of;

  static SupervisorProbe Proc();
};

// What the agent finds in one job directory when it starts.
struct ScannedJob {
  enum class Kind {
    kRunning,   // a verified live supervisor: reattach
    kFinished,  // result.json present: report until acknowledged
    kLost,      // no result and no supervisor: report as killed ("supervisor lost")
    kInvalid,   // no readable spec: nothing to report, the directory is garbage
  };
  Kind kind = Kind::kInvalid;
  std::string dir;
  uint64_t job_id = 0;
  uint64_t generation = 0;
  pid_t supervisor_pid = 0;  // kRunning
  int64_t start_time = 0;    // kRunning: from state.json, else the launch time
  std::vector<uint32_t> gpu_indices;  // from the spec: the GPUs the job holds here
  std::vector<std::string> cgroup_dirs;  // from the spec: the job's cgroups (job_cgroup.h)
  std::string cgroup_leaf;
  JobResult result;          // kFinished; kLost: the result to report (signal 9)
  std::string problem;       // kInvalid: why
};

// Inspects one directory. A lost job's fabricated result is not written here (the caller does).
ScannedJob InspectJobDir(const std::string& dir, const SupervisorProbe& probe, int64_t now);

// Inspects every <jobs_root>/<number> directory, in job id order. Other entries are skipped.
std::vector<ScannedJob> ScanJobDirs(const std::string& jobs_root, const SupervisorProbe& probe,
                                    int64_t now);

}  // namespace shoal::agent
