// The on-disk contract between the node agent and the per-job supervisor.
//
// Every job the agent launches lives in its own directory, <state-dir>/jobs/<job_id>/:
//
//   spec.json       written by the agent before the supervisor starts (JobSpec below)
//   slurm_script    the batch script, mode 0700 (0500 and owned by the job's user when root)
//   supervisor.log  the supervisor's own stdout/stderr (diagnostics only; in a recycled
//                   directory it goes on from earlier jobs' lines, each naming its job)
//   supervisor.pid  "<pid>\n", written by the supervisor once its control signals are blocked
//   state.json      written by the supervisor once the script runs (SupervisorState below)
//   result.json     written by the supervisor when the job is over (JobResult below)
//
// Every file is replaced atomically (tmp + rename), so a reader sees the old or the new content,
// never a torn one (the script of a recycled directory excepted: it is written in place before
// the spec exists). The agent may die and come back at any time; the supervisor never depends
// on it, and the files above are all the agent needs to pick up where it left off.
//
// A finished job's directory may be recycled for a later job (job_dir.h: RecycleJobDir): it
// waits as <state-dir>/jobs/.spare-N with its files renamed NAME.tmp, so that the next job's
// writes reuse their inodes. Nothing but the agent reads spares; it drops them when it starts.
//
// The agent talks to a live supervisor with queued real-time signals whose value carries the
// request (see SupervisorSignal). The agent starts the supervisor (through its launcher,
// launcher.h, or by posix_spawn) with these signals already blocked, so a request sent right
// after the start is queued, never lost and never fatal.
#pragma once

#include <spawn.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "core/model.h"

namespace shoal::agent {

inline constexpr char kSpecFile[] = "spec.json";
inline constexpr char kScriptFile[] = "slurm_script";
inline constexpr char kSupervisorLogFile[] = "supervisor.log";
inline constexpr char kPidFile[] = "supervisor.pid";
inline constexpr char kStateFile[] = "state.json";
inline constexpr char kResultFile[] = "result.json";
inline constexpr char kSupervisorExeName[] = "shoal-supervisor";
// Beside jobs/ in the agent's state directory: containers/<job>/<name>/rootfs, a job's named
// containers (--container-name), removed with the job (supervisor.cc, agent.cc).
inline constexpr char kNamedContainersDir[] = "containers";

// What the supervisor runs. Mirrors rpc::LaunchJob plus what the agent adds per node.
struct JobSpec {
  uint64_t job_id = 0;
  uint64_t generation = 0;
  std::vector<std::string> env;  // KEY=VALUE: the script's complete environment
  std::vector<std::string> args;  // the script's arguments
  std::string work_dir;
  std::string stdout_path;    // absolute, already expanded
  std::string stderr_path;    // empty: the stdout file
  bool open_append = false;   // else truncate
  int64_t time_limit_s = 0;   // <= 0: unlimited
  uint32_t kill_wait_s = 30;  // SIGTERM -> SIGKILL grace for time limit and terminate
  uint32_t uid = 0;           // honoured only when the supervisor runs as root
  uint32_t gid = 0;
  // Supplementary groups of the job's user, looked up by the agent so the supervisor (a static
  // binary, for a fast start) never needs the name service.
  std::vector<uint32_t> groups;
  std::vector<uint32_t> gpu_indices;
  uint32_t cpus = 0;
  int64_t launch_time = 0;  // epoch seconds when the agent spawned the supervisor
  // --container-image ...: the script or the tasks run in a podman container
  // (container_command.h), as the job's user, whose home directory the agent looked up.
  ContainerSpec container;
  std::string home;
  // TaskPlugin=task/cgroup (job_cgroup.h): the job's cgroup directories on this node, the
  // unit's leaf in them, and the memory limit to set (0: none). No directories: no cgroup.
  std::vector<std::string> cgroup_dirs;
  std::string cgroup_leaf;
  uint64_t memory_limit_bytes = 0;
  // With --container-name: where the node keeps the job's named containers
  // (<state>/containers/<job>; the agent removes it at the job's end).
  std::string containers_dir;

  // A job step's tasks on this node instead of a batch script (rpc::LaunchTasks): each runs
  // `argv` (the program looked up in PATH) with `env` plus its own variables, stdin per `input`,
  // stdout and stderr connected to srun at io_addr:io_port (no output when io_port is 0).
  struct Task {
    uint32_t rank = 0;
    std::vector<std::string> env;  // KEY=VALUE, over the spec's env
  };
  std::vector<Task> tasks;
  std::vector<std::string> argv;
  std::string io_addr;  // numeric IPv4 or IPv6 address (the supervisor resolves no names)
  uint32_t io_port = 0;
  std::string io_key;
  bool kill_on_bad_exit = false;  // a task exiting non-zero ends the others
  // Which tasks read srun's stdin (a connection of stream kind 0); the others read /dev/null:
  // "all", "none" (or empty) or one rank.
  std::string input;
  // srun --pty: rank 0 runs on a pseudo-terminal (rows x cols; 0: the kernel's default) whose
  // master the supervisor relays to srun (stream kinds 5 and 6); the other tasks get /dev/null.
  bool pty = false;
  uint32_t pty_rows = 0;
  uint32_t pty_cols = 0;
};

// Written once the script has been started.
struct SupervisorState {
  pid_t supervisor_pid = 0;
  pid_t script_pid = 0;  // also the job's process group id
  int64_t start_time = 0;
};

// How a job ended.
struct JobResult {
  uint64_t job_id = 0;
  uint64_t generation = 0;
  // Tasks of a step: the highest exit status among those that exited, and a signal that ended
  // one of them.
  int32_t exit_code = 0;  // exit status when the script exited normally
  int32_t signal = 0;     // the signal that ended it; 0 when it exited
  bool core_dumped = false;
  bool timed_out = false;      // the time limit fired (whatever the script did afterwards)
  bool launch_failed = false;  // the script never ran
  std::string message;         // why, when launch_failed (or "supervisor lost")
  int64_t start_time = 0;      // epoch seconds
  int64_t end_time = 0;
  // Resource usage of every process the supervisor reaped (the script or the tasks, and their
  // descendants): CPU time summed, the largest resident set of any one.
  int64_t user_cpu_us = 0;
  int64_t system_cpu_us = 0;
  int64_t max_rss_kb = 0;
  bool out_of_memory = false;  // the kernel killed a process for the job's memory limit
};

std::string SpecToJson(const JobSpec& spec);
Result<JobSpec> SpecFromJson(const std::string& text);
std::string StateToJson(const SupervisorState& state);
Result<SupervisorState> StateFromJson(const std::string& text);
std::string ResultToJson(const JobResult& result);
Result<JobResult> ResultFromJson(const std::string& text);

// Whole-file helpers. WriteFileAtomic writes `path`.tmp, fsyncs nothing (a node crash loses the
// jobs anyway) and renames it over `path`. Errors name the path and strerror.
Status WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode = 0644);
// Writes `content` over the file at `path` (created if missing) without replacing it: for a
// file nothing reads while it is written. Keeps the inode and, where they suffice, its blocks.
Status WriteFileInPlace(const std::string& path, const std::string& content, mode_t mode);
Result<std::string> ReadWholeFile(const std::string& path);

// Requests to a live supervisor: sigqueue()/pidfd_send_signal() with si_value.sival_int.
//   kTerminate:       value = kill_wait_s; SIGTERM to the job now, SIGKILL after kill_wait_s
//   kSignal:          value = EncodeSignalRequest(sig, whole_tree)
//   kUpdateTimeLimit: value = new limit in seconds from the job's start, 0 unlimited
// Real-time signals queue (several requests in a row all arrive) and carry a value.
enum class SupervisorSignal { kTerminate = 0, kSignal = 1, kUpdateTimeLimit = 2 };
inline constexpr int kSupervisorSignalCount = 3;
int SupervisorSignalNumber(SupervisorSignal which);  // SIGRTMIN + which
// Initialises `attr` as a supervisor is started: a session of its own, the request signals
// blocked (so early requests queue), the usual termination signals at their defaults. The
// caller destroys it.
void InitSupervisorSpawnAttr(posix_spawnattr_t* attr);
int EncodeSignalRequest(int sig, bool whole_tree);
void DecodeSignalRequest(int value, int* sig, bool* whole_tree);
// Clamps a limit in seconds into the signal value's range (0 stays unlimited).
int ClampTimeLimitValue(int64_t time_limit_s);

}  // namespace shoal::agent
