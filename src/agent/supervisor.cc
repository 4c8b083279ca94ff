#include "agent/supervisor.h"

#include <alloca.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "agent/container_command.h"
#include "agent/job_cgroup.h"
#include "agent/job_files.h"
#include "core/container.h"

namespace shoal::agent {
namespace {

// How long the final sweep keeps killing and reaping leftovers before giving up (a process stuck
// in uninterruptible sleep cannot be reaped; the result must still be written).
constexpr int kSweepLimitMs = 10000;
// SIGTERM to the supervisor itself (`shoal down`, a service manager stopping everything) means
// whoever sent it will SIGKILL us soon: the job gets a short grace so it dies with us rather
// than outliving its supervisor.
constexpr int64_t kSelfStopKillWaitS = 2;

void Log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void Log(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "shoal-supervisor[%d]: %s\n", static_cast<int>(getpid()), buf);
}

std::string ErrnoText(int err) { return std::strerror(err); }

timespec MonotonicNow() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts;
}

// Lists the supervisor's children: the script plus every orphan the subreaper inherited.
std::vector<pid_t> ListChildren() {
  std::vector<pid_t> out;
  std::string path = "/proc/self/task/" + std::to_string(getpid()) + "/children";
  if (FILE* f = std::fopen(path.c_str(), "re")) {
    long pid;
    while (std::fscanf(f, "%ld", &pid) == 1) out.push_back(static_cast<pid_t>(pid));
    std::fclose(f);
    return out;
  }
  // Kernels without CONFIG_PROC_CHILDREN: scan every process for our pid as its parent.
  DIR* d = opendir("/proc");
  if (d == nullptr) return out;
  pid_t self = getpid();
  while (dirent* e = readdir(d)) {
    char* end;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    std::string stat = "/proc/" + std::string(e->d_name) + "/stat";
    Result<std::string> text = ReadWholeFile(stat);
    if (!text.ok()) continue;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so skip to the last ')'.
    size_t close = text->rfind(')');
    if (close == std::string::npos) continue;
    char state;
    long ppid;
    if (std::sscanf(text->c_str() + close + 1, " %c %ld", &state, &ppid) == 2 && ppid == self) {
      out.push_back(static_cast<pid_t>(pid));
    }
  }
  closedir(d);
  return out;
}

// Reads an octal umask from the job's SLURM_UMASK, as sbatch records it; -1 when absent.
int UmaskFromEnv(const std::vector<std::string>& env) {
  for (const std::string& kv : env) {
    if (kv.rfind("SLURM_UMASK=", 0) != 0) continue;
    char* end;
    long v = std::strtol(kv.c_str() + 12, &end, 8);
    if (*end == '\0' && end != kv.c_str() + 12 && v >= 0 && v <= 0777) return static_cast<int>(v);
  }
  return -1;
}

class Supervisor {
 public:
  explicit Supervisor(std::string dir) : dir_(std::move(dir)) {}
  ~Supervisor() {
    for (int fd : {sigfd_, limit_tfd_, kill_tfd_, job_err_fd_, pty_master_, pty_slave_, pty_sock_,
                   pty_ctl_}) {
      if (fd >= 0) close(fd);
    }
  }

  int Run();

 private:
  std::string Path(const char* name) const { return dir_ + "/" + name; }
  // Ends the job before the script ran: fills the result and writes it.
  int LaunchFailed(const std::string& message);
  int WriteResult();
  bool SetUpSignals();
  bool OpenOutputs(int* out_fd, int* err_fd, std::string* error);
  bool SwitchEffectiveIds(bool to_user);
  bool StartScript(int out_fd, int err_fd, std::string* error);
  // The batch script's process: argv and envp built beforehand, as it may run in our memory
  // (vfork) until it execs.
  [[noreturn]] void ExecChild(int out_fd, int err_fd, int errpipe, char* const* argv,
                              char* const* envp);
  // A step's tasks: all in one process group (the first task's), so SignalTree reaches them.
  bool StartTasks(std::string* error);
  [[noreturn]] void ExecTask(size_t index, pid_t group);
  int ConnectIo(uint32_t rank, int stream, int timeout_s = 0) const;
  void ComputeTaskResult();
  void ReportTaskExits() const;
  void Loop();
  void HandleSignals();
  void ReapChildren();
  // Sends `sig` to every process of the job: the script's group and the inherited orphans.
  void SignalTree(int sig);
  void BeginTerminate(int64_t kill_wait_s, const char* why);
  // Slurm's "*** JOB 12 ON node1 CANCELLED AT ... ***" line, once, where the job's user looks:
  // a batch job's error file, a step's stderr at srun.
  void AnnounceCancel(bool time_limit);
  std::string EnvValue(const char* key) const;
  void SetTimeLimit(int64_t limit_s);
  void FinalSweep();
  // srun --pty: the pseudo-terminal of task 0 and its relay to srun.
  bool OpenPty(std::string* error);
  void AddPtyFds(std::vector<pollfd>* fds) const;
  void ServePty(const std::vector<pollfd>& fds);
  void ApplyWindowSizes();
  // The tasks are gone: what they left in the terminal goes to srun, then the relay closes.
  void DrainPty();
  void ClosePty();
  // --container-image: the image must be there before anything starts (no pull, ever); the
  // podman command that replaces the program; the containers a killed podman left behind.
  bool CheckContainerImage(std::string* error);
  bool CheckImageExists(std::string* error);
  // --container-name: the job's named container on this node is a root filesystem directory
  // that podman runs each step in (--rootfs), so what one step changes there the next sees
  // (pyxis's named containers). The first step that names it creates it from the image, under
  // a lock (the tasks of a step start at once); the agent removes it at the job's end.
  bool PrepareNamedContainer(std::string* error);
  // Runs podman (`args` after the executable) as the job's user, output captured; its exit
  // status, or -1 when it could not run.
  int RunPodman(const std::vector<std::string>& args, std::string* output, int timeout_s = 60);
  // Runs `argv` (absolute) as the job's user with podman's environment, output captured.
  int RunAsUser(const std::vector<std::string>& argv, std::string* output, int timeout_s);
  std::vector<std::string> ContainerArgv(const std::vector<std::string>& env, uint32_t rank,
                                         bool tty, std::vector<std::string> command);
  void RemoveLeftoverContainers();
  // TaskPlugin=task/cgroup: after the job's processes are gone, whether the kernel killed any of
  // them for the job's memory limit; if so the result says so and the user is told, in Slurm's
  // words, where they look (the batch job's error file, srun's stderr for a step).
  void CheckOutOfMemory();

  std::string dir_;
  JobSpec spec_;
  JobResult result_;
  bool switch_ids_ = false;  // root running a job for another uid/gid
  int sigfd_ = -1;
  int limit_tfd_ = -1;
  int kill_tfd_ = -1;
  sigset_t blocked_;
  pid_t script_pid_ = 0;
  bool script_done_ = false;
  int script_status_ = 0;
  timespec mono_start_{};
  bool terminating_ = false;
  timespec kill_deadline_{};
  std::vector<pid_t> task_pids_;
  std::vector<int> task_status_;
  size_t tasks_left_ = 0;
  bool announced_ = false;
  int job_err_fd_ = -1;  // a batch job's error file
  // srun --pty (all -1 otherwise).
  int pty_master_ = -1;
  int pty_slave_ = -1;   // only until the tasks have started
  int pty_sock_ = -1;    // stream 5: the terminal's output to srun, srun's input back
  int pty_ctl_ = -1;     // stream 6: "winsize ROWS COLS" lines from srun
  std::string pty_out_;  // read from the master, not yet sent to srun
  std::string pty_in_;   // from srun, not yet written to the master
  std::string pty_ctl_in_;
  bool pty_input_ended_ = false;  // srun sent all its input (the terminal gets an end-of-file)
  bool pty_master_done_ = false;  // the master reads end (EIO: no task holds the terminal)
  bool pty_eof_sent_ = false;
  std::string podman_;                        // with a container: the podman executable
  std::vector<std::string> container_names_;  // the containers started (by rank order)
  std::string container_rootfs_;              // a named container's root filesystem ("" unnamed)
};

// How much of the terminal's traffic a slow reader may leave waiting, each way.
constexpr size_t kPtyBufferMax = 1 << 16;

int Supervisor::Run() {
  // Whatever the spawner leaked (sockets of a gRPC daemon) must not reach the job, and fds 0-2
  // must be taken so that no file we open lands there.
  close_range(3, ~0U, 0);
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) < 0) open("/dev/null", O_RDWR);
  }
  // Orphans of the job re-parent to us, so we can reap and, at the end, kill them.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  if (!SetUpSignals()) return LaunchFailed("supervisor could not set up signal handling");

  Result<std::string> text = ReadWholeFile(Path(kSpecFile));
  if (!text.ok()) return LaunchFailed(text.status().message());
  Result<JobSpec> spec = SpecFromJson(*text);
  if (!spec.ok()) return LaunchFailed(spec.status().message());
  spec_ = std::move(spec).value();
  result_.job_id = spec_.job_id;
  result_.generation = spec_.generation;

  Status st = WriteFileAtomic(Path(kPidFile), std::to_string(getpid()) + "\n");
  if (!st.ok()) Log("%s", st.message().c_str());  // the agent falls back to a /proc scan

  if (geteuid() == 0) {
    switch_ids_ = spec_.uid != 0 || spec_.gid != getegid();
  } else if (spec_.uid != geteuid()) {
    Log("job %llu asks for uid %u but the supervisor is not root: running as uid %u",
        static_cast<unsigned long long>(spec_.job_id), spec_.uid, geteuid());
  }
  if (switch_ids_) {
    // Supplementary groups as the agent looked them up (none when the uid has no passwd entry).
    std::vector<gid_t> groups(spec_.groups.begin(), spec_.groups.end());
    if (setgroups(groups.size(), groups.data()) != 0) setgroups(0, nullptr);
  }

  if (!spec_.cgroup_dirs.empty()) {
    // Before anything of the job starts, so that none of its processes escapes the cgroup.
    Status entered =
        EnterJobCgroup(spec_.cgroup_dirs, spec_.cgroup_leaf, spec_.memory_limit_bytes);
    if (!entered.ok()) {
      if (spec_.memory_limit_bytes > 0) return LaunchFailed(entered.message());
      Log("running without a cgroup: %s", entered.message().c_str());
    }
  }

  int umask_value = UmaskFromEnv(spec_.env);
  if (umask_value >= 0) umask(static_cast<mode_t>(umask_value));

  std::string error;
  if (!spec_.tasks.empty()) {
    if (spec_.container.Enabled() && !CheckContainerImage(&error)) {
      // srun shows task 0's stderr: the reason goes there as well as into the result.
      if (spec_.io_port != 0 && !spec_.tasks.empty() && !spec_.pty) {
        int fd = ConnectIo(spec_.tasks.front().rank, 2, 5);
        if (fd >= 0) {
          std::string line = "slurmstepd: error: " + error + "\n";
          ssize_t ignored = write(fd, line.data(), line.size());
          (void)ignored;
          close(fd);
        }
      }
      return LaunchFailed(error);
    }
    if (!StartTasks(&error)) return LaunchFailed(error);
    Log("unit %llu: %zu tasks started", static_cast<unsigned long long>(spec_.job_id),
        task_pids_.size());
    Loop();
    FinalSweep();
    RemoveLeftoverContainers();
    CheckOutOfMemory();
    DrainPty();
    result_.end_time = time(nullptr);
    ComputeTaskResult();
    ReportTaskExits();
    Log("unit %llu: tasks ended: exit %d signal %d%s",
        static_cast<unsigned long long>(spec_.job_id), result_.exit_code, result_.signal,
        result_.timed_out ? " (time limit)" : "");
    return WriteResult();
  }
  int out_fd = -1, err_fd = -1;
  if (!OpenOutputs(&out_fd, &err_fd, &error)) return LaunchFailed(error);
  if (spec_.container.Enabled() && !CheckContainerImage(&error)) {
    // Where the user looks first: the job's error file (Slurm's slurmstepd lines go there too).
    std::string line = "slurmstepd: error: " + error + "\n";
    ssize_t ignored = write(err_fd, line.data(), line.size());
    (void)ignored;
    if (err_fd != out_fd) close(err_fd);
    close(out_fd);
    return LaunchFailed(error);
  }
  bool started = StartScript(out_fd, err_fd, &error);
  // The error file stays open for slurmstepd's lines: they share the script's file offset,
  // so neither overwrites the other.
  if (err_fd != out_fd) close(out_fd);
  job_err_fd_ = err_fd;
  if (!started) return LaunchFailed(error);

  Log("job %llu: script started as pid %d", static_cast<unsigned long long>(spec_.job_id),
      static_cast<int>(script_pid_));
  Loop();
  FinalSweep();
  RemoveLeftoverContainers();
  CheckOutOfMemory();

  result_.end_time = time(nullptr);
  if (WIFEXITED(script_status_)) {
    result_.exit_code = WEXITSTATUS(script_status_);
  } else if (WIFSIGNALED(script_status_)) {
    result_.signal = WTERMSIG(script_status_);
    result_.core_dumped = WCOREDUMP(script_status_);
  }
  Log("job %llu: script ended: exit %d signal %d%s", static_cast<unsigned long long>(spec_.job_id),
      result_.exit_code, result_.signal, result_.timed_out ? " (time limit)" : "");
  return WriteResult();
}

int Supervisor::LaunchFailed(const std::string& message) {
  Log("launch failed: %s", message.c_str());
  result_.launch_failed = true;
  result_.exit_code = 1;
  result_.message = message;
  result_.start_time = result_.end_time = time(nullptr);
  return WriteResult();
}

int Supervisor::WriteResult() {
  if (result_.job_id == 0) {
    // Spec unreadable: recover the id from the directory name so the agent can still report.
    size_t slash = dir_.find_last_of('/');
    result_.job_id = std::strtoull(dir_.c_str() + slash + 1, nullptr, 10);
  }
  Status st = WriteFileAtomic(Path(kResultFile), ResultToJson(result_));
  if (!st.ok()) {
    Log("%s", st.message().c_str());
    return 1;
  }
  return 0;
}

bool Supervisor::SetUpSignals() {
  sigemptyset(&blocked_);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&blocked_, sig);
  for (int i = 0; i < kSupervisorSignalCount; ++i) {
    sigaddset(&blocked_, SupervisorSignalNumber(static_cast<SupervisorSignal>(i)));
  }
  if (sigprocmask(SIG_BLOCK, &blocked_, nullptr) != 0) return false;
  signal(SIGPIPE, SIG_IGN);  // a closed log must not kill us; the child resets it
  sigfd_ = signalfd(-1, &blocked_, SFD_NONBLOCK | SFD_CLOEXEC);
  limit_tfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  kill_tfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  return sigfd_ >= 0 && limit_tfd_ >= 0 && kill_tfd_ >= 0;
}

bool Supervisor::SwitchEffectiveIds(bool to_user) {
  if (!switch_ids_) return true;
  if (to_user) {
    return setegid(spec_.gid) == 0 && seteuid(spec_.uid) == 0;
  }
  return seteuid(0) == 0 && setegid(0) == 0;
}

bool Supervisor::OpenOutputs(int* out_fd, int* err_fd, std::string* error) {
  // Opened with the job user's rights: root must not write where the user may not.
  if (!SwitchEffectiveIds(true)) {
    *error = "could not switch to uid " + std::to_string(spec_.uid) + ": " + ErrnoText(errno);
    return false;
  }
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (spec_.open_append ? O_APPEND : O_TRUNC);
  auto open_one = [&](const std::string& path) {
    if (path.empty()) return open("/dev/null", O_WRONLY | O_CLOEXEC);
    int fd = open(path.c_str(), flags, 0666);
    if (fd < 0) *error = "could not open output file " + path + ": " + ErrnoText(errno);
    return fd;
  };
  *out_fd = open_one(spec_.stdout_path);
  *err_fd = *out_fd;
  if (*out_fd >= 0 && !spec_.stderr_path.empty() && spec_.stderr_path != spec_.stdout_path) {
    *err_fd = open_one(spec_.stderr_path);
    if (*err_fd < 0) close(*out_fd);
  }
  SwitchEffectiveIds(false);
  return *out_fd >= 0 && *err_fd >= 0;
}

bool Supervisor::StartScript(int out_fd, int err_fd, std::string* error) {
  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) != 0) {
    *error = "pipe: " + ErrnoText(errno);
    return false;
  }
  // Not posix_spawn: the child must switch ids and chdir with a Slurm-style fallback. vfork,
  // not fork: no copy of our page tables for the child to throw away at its exec (a
  // measurable part of a trivial job's cost). The child allocates nothing and returns
  // nowhere; this process is single-threaded. A container job's child builds podman's command
  // line itself, so it gets a fork.
  std::string script = Path(kScriptFile);
  std::vector<char*> argv = {script.data()};
  for (std::string& a : spec_.args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(spec_.env.size() + 1);
  for (std::string& kv : spec_.env) envp.push_back(kv.data());
  envp.push_back(nullptr);
  const bool container = spec_.container.Enabled();
  pid_t pid = container ? fork() : vfork();
  if (pid < 0) {
    *error = "fork: " + ErrnoText(errno);
    close(errpipe[0]);
    close(errpipe[1]);
    return false;
  }
  if (pid == 0) ExecChild(out_fd, err_fd, errpipe[1], argv.data(), envp.data());
  setpgid(pid, pid);  // also done by the child; whichever runs first wins the race harmlessly
  close(errpipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(errpipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(errpipe[0]);
  if (n == sizeof child_errno) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    *error = "could not execute " + Path(kScriptFile) + ": " + ErrnoText(child_errno);
    return false;
  }
  script_pid_ = pid;
  result_.start_time = time(nullptr);
  mono_start_ = MonotonicNow();
  SupervisorState state{getpid(), pid, result_.start_time};
  Status st = WriteFileAtomic(Path(kStateFile), StateToJson(state));
  if (!st.ok()) Log("%s", st.message().c_str());
  SetTimeLimit(spec_.time_limit_s);
  return true;
}

void Supervisor::ExecChild(int out_fd, int err_fd, int errpipe, char* const* argv,
                           char* const* envp) {
  auto fail = [errpipe](int err) {
    ssize_t ignored = write(errpipe, &err, sizeof err);
    (void)ignored;
    _exit(127);
  };
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  setpgid(0, 0);
  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd < 0) fail(errno);
  if (dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) fail(errno);
  if (null_fd > 2) close(null_fd);
  if (switch_ids_) {
    if (setgid(spec_.gid) != 0 || setuid(spec_.uid) != 0) fail(errno);
  }
  if (!spec_.work_dir.empty() && chdir(spec_.work_dir.c_str()) != 0) {
    // In pieces: no allocation here (vfork).
    const char* reason = strerror(errno);
    const char* head = "slurmstepd: error: couldn't chdir to `";
    const char* mid = "': ";
    const char* tail = ": going to /tmp instead\n";
    iovec parts[] = {{const_cast<char*>(head), std::strlen(head)},
                     {const_cast<char*>(spec_.work_dir.data()), spec_.work_dir.size()},
                     {const_cast<char*>(mid), std::strlen(mid)},
                     {const_cast<char*>(reason), std::strlen(reason)},
                     {const_cast<char*>(tail), std::strlen(tail)}};
    ssize_t ignored = writev(2, parts, 5);
    (void)ignored;
    if (chdir("/tmp") != 0) fail(errno);
  }
  if (spec_.container.Enabled()) {
    std::string script = Path(kScriptFile);
    std::vector<std::string> command = {script};
    command.insert(command.end(), spec_.args.begin(), spec_.args.end());
    std::vector<std::string> args = ContainerArgv(spec_.env, 0, false, std::move(command));
    std::vector<std::string> env = PodmanEnvironment(spec_.env, spec_.uid, spec_.home);
    std::vector<char*> pargv, penvp;
    for (std::string& a : args) pargv.push_back(a.data());
    pargv.push_back(nullptr);
    for (std::string& kv : env) penvp.push_back(kv.data());
    penvp.push_back(nullptr);
    execve(podman_.c_str(), pargv.data(), penvp.data());
    fail(errno);
  }
  execve(argv[0], argv, envp);
  if (errno == ENOEXEC) {
    // No "#!" line: run it with the POSIX shell, as execvp would (argv on the stack: vfork).
    size_t n = 0;
    while (argv[n] != nullptr) ++n;
    char** sh_argv = static_cast<char**>(alloca((n + 2) * sizeof(char*)));
    char sh[] = "/bin/sh";
    sh_argv[0] = sh;
    for (size_t i = 0; i <= n; ++i) sh_argv[i + 1] = argv[i];
    execve(sh, sh_argv, envp);
  }
  fail(errno);
  _exit(127);  // not reached
}

bool Supervisor::StartTasks(std::string* error) {
  // Nothing is reaped before every task has started: a first task that exits at once stays a
  // zombie, so its process group still exists for the others to join.
  if (spec_.pty && !OpenPty(error)) return false;
  pid_t group = 0;
  for (size_t i = 0; i < spec_.tasks.size(); ++i) {
    pid_t pid = fork();
    if (pid < 0) {
      *error = "fork: " + ErrnoText(errno);
      if (group > 0) kill(-group, SIGKILL);
      return false;
    }
    if (pid == 0) ExecTask(i, group);
    if (group == 0) group = pid;
    // Also done by the child; whichever runs first wins harmlessly. The terminal's task leads a
    // session of its own (setsid in the child), so it must not be made a group leader here.
    if (!(spec_.pty && spec_.tasks[i].rank == 0)) setpgid(pid, group);
    task_pids_.push_back(pid);
  }
  if (pty_slave_ >= 0) {
    close(pty_slave_);  // the master reads EIO once no task holds the terminal any more
    pty_slave_ = -1;
  }
  task_status_.assign(task_pids_.size(), 0);
  tasks_left_ = task_pids_.size();
  script_pid_ = group;
  result_.start_time = time(nullptr);
  mono_start_ = MonotonicNow();
  SupervisorState state{getpid(), group, result_.start_time};
  Status st = WriteFileAtomic(Path(kStateFile), StateToJson(state));
  if (!st.ok()) Log("%s", st.message().c_str());
  SetTimeLimit(spec_.time_limit_s);
  return true;
}

int Supervisor::ConnectIo(uint32_t rank, int stream, int timeout_s) const {
  if (spec_.io_port == 0 || spec_.io_port > 65535) return open("/dev/null", O_WRONLY);
  sockaddr_storage addr{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, spec_.io_addr.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(spec_.io_port));
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, spec_.io_addr.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(spec_.io_port));
    len = sizeof *v6;
  } else {
    errno = EINVAL;
    return -1;
  }
  int fd = socket(addr.ss_family, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (timeout_s > 0) {  // on Linux the send timeout bounds connect() and the writes
    timeval tv{timeout_s, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  std::string hello =
      "SHOAL-IO " + spec_.io_key + " " + std::to_string(rank) + " " + std::to_string(stream) + "\n";
  if (write(fd, hello.data(), hello.size()) != static_cast<ssize_t>(hello.size())) {
    close(fd);
    return -1;
  }
  return fd;
}

void Supervisor::ExecTask(size_t index, pid_t group) {
  const JobSpec::Task& task = spec_.tasks[index];
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  const bool on_pty = spec_.pty && task.rank == 0 && pty_slave_ >= 0;
  if (on_pty) {
    // A session of its own with the terminal as its controlling one, as a login shell has:
    // job control, Ctrl-C from the keyboard and SIGHUP on hangup work as they do at home.
    if (setsid() < 0 || ioctl(pty_slave_, TIOCSCTTY, 0) != 0) _exit(1);
  } else if (setpgid(0, group) != 0) {
    setpgid(0, 0);  // the group's leader is the terminal's task, in its own session
  }
  // srun's stdin, for the tasks --input names, arrives on a connection of its own.
  const bool reads_stdin = !spec_.pty && spec_.io_port != 0 &&
                           (spec_.input == "all" || spec_.input == std::to_string(task.rank));
  int null_fd, out_fd, err_fd;
  if (on_pty) {
    null_fd = out_fd = err_fd = pty_slave_;
  } else if (spec_.pty) {  // with --pty only task 0 talks to srun, as in Slurm
    null_fd = open("/dev/null", O_RDONLY);
    out_fd = err_fd = open("/dev/null", O_WRONLY);
  } else {
    null_fd = reads_stdin ? ConnectIo(task.rank, 0) : open("/dev/null", O_RDONLY);
    out_fd = ConnectIo(task.rank, 1);
    err_fd = ConnectIo(task.rank, 2);
  }
  if (out_fd < 0 || err_fd < 0 || null_fd < 0) {
    Log("task %u: cannot reach srun at %s:%u: %s", task.rank, spec_.io_addr.c_str(),
        spec_.io_port, ErrnoText(errno).c_str());
    _exit(1);
  }
  if (dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(1);
  for (int fd : {null_fd, out_fd, err_fd}) {
    if (fd > 2) close(fd);
  }
  auto fail = [](const std::string& what) {
    std::string line = "slurmstepd: error: " + what + "\n";
    ssize_t ignored = write(2, line.data(), line.size());
    (void)ignored;
  };
  if (switch_ids_) {
    if (setgid(spec_.gid) != 0 || setuid(spec_.uid) != 0) {
      fail("could not switch to uid " + std::to_string(spec_.uid) + ": " + ErrnoText(errno));
      _exit(1);
    }
  }
  if (!spec_.work_dir.empty() && chdir(spec_.work_dir.c_str()) != 0) {
    fail("couldn't chdir to `" + spec_.work_dir + "': " + ErrnoText(errno) +
         ": going to /tmp instead");
    if (chdir("/tmp") != 0) _exit(1);
  }
  // The task's own variables replace the shared ones of the same name.
  std::vector<std::string> env;
  for (const std::string& kv : spec_.env) {
    const std::string key = kv.substr(0, kv.find('=') + 1);
    bool replaced = false;
    for (const std::string& own : task.env) replaced = replaced || own.rfind(key, 0) == 0;
    if (!replaced) env.push_back(kv);
  }
  for (const std::string& kv : task.env) env.push_back(kv);
  std::vector<std::string> args = spec_.argv;
  if (args.empty()) {
    fail("execve(): no program to run");
    _exit(2);
  }
  if (spec_.container.Enabled()) {
    // The program is looked up in the image's PATH, by podman: PATH here is podman's.
    args = ContainerArgv(env, task.rank, on_pty, std::move(args));
    env = PodmanEnvironment(env, spec_.uid, spec_.home);
  }
  std::vector<char*> envp;
  for (std::string& kv : env) envp.push_back(kv.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string& prog = args.front();
  int err = ENOENT;
  auto try_exec = [&](const std::string& path) {
    execve(path.c_str(), argv.data(), envp.data());
    if (errno == ENOEXEC) {
      std::vector<char*> sh_argv = {const_cast<char*>("/bin/sh"), const_cast<char*>(path.c_str())};
      for (size_t i = 1; i + 1 < argv.size(); ++i) sh_argv.push_back(argv[i]);
      sh_argv.push_back(nullptr);
      execve("/bin/sh", sh_argv.data(), envp.data());
    }
    if (errno != ENOENT || err == ENOENT) err = errno;
  };
  if (prog.find('/') != std::string::npos) {
    try_exec(prog);
  } else {
    // PATH as the task will see it (srun's), as execvp would search it.
    std::string path = "/usr/local/bin:/usr/bin:/bin";
    for (const std::string& kv : env) {
      if (kv.rfind("PATH=", 0) == 0) path = kv.substr(5);
    }
    size_t start = 0;
    while (start <= path.size()) {
      size_t colon = path.find(':', start);
      if (colon == std::string::npos) colon = path.size();
      std::string dir = path.substr(start, colon - start);
      try_exec((dir.empty() ? "." : dir) + "/" + prog);
      start = colon + 1;
    }
  }
  fail("execve(): " + prog + ": " + ErrnoText(err));
  _exit(2);
}

void Supervisor::ComputeTaskResult() {
  result_.exit_code = 0;
  result_.signal = 0;
  for (int status : task_status_) {
    if (WIFEXITED(status)) {
      result_.exit_code = std::max(result_.exit_code, WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
      result_.signal = std::max(result_.signal, WTERMSIG(status));
      result_.core_dumped = result_.core_dumped || WCOREDUMP(status);
    }
  }
}

// srun prints Slurm's line for every task that failed ("srun: error: NODE: task 3: Exited with
// exit code 1"); it learns of them here, on one more connection, of stream kind 3: one line
// "exit NODE RANK WAIT_STATUS" per task. Best effort: a lost report loses only a message.
void Supervisor::ReportTaskExits() const {
  if (spec_.tasks.empty() || spec_.io_port == 0) return;
  std::string node = "?";
  for (const std::string& kv : spec_.env) {
    if (kv.rfind("SLURMD_NODENAME=", 0) == 0) node = kv.substr(16);
  }
  std::string lines;
  for (size_t i = 0; i < task_status_.size() && i < spec_.tasks.size(); ++i) {
    const int status = task_status_[i];
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
    lines += "exit " + node + " " + std::to_string(spec_.tasks[i].rank) + " " +
             std::to_string(status) + "\n";
  }
  if (lines.empty()) return;
  // srun may be gone (killed, its host down): the step's result must not wait on it for long.
  int fd = ConnectIo(spec_.tasks.front().rank, 3, 2);
  if (fd < 0) return;
  ssize_t ignored = write(fd, lines.data(), lines.size());
  (void)ignored;
  close(fd);
}

void Supervisor::Loop() {
  while (!script_done_) {
    std::vector<pollfd> fds = {
        {sigfd_, POLLIN, 0}, {limit_tfd_, POLLIN, 0}, {kill_tfd_, POLLIN, 0}};
    AddPtyFds(&fds);
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      Log("poll: %s", ErrnoText(errno).c_str());
      return;
    }
    ServePty(fds);
    uint64_t ticks;
    if (fds[1].revents & POLLIN) {
      if (read(limit_tfd_, &ticks, sizeof ticks) == sizeof ticks && !script_done_) {
        result_.timed_out = true;
        AnnounceCancel(true);
        BeginTerminate(spec_.kill_wait_s, "time limit");
      }
    }
    if (fds[2].revents & POLLIN) {
      if (read(kill_tfd_, &ticks, sizeof ticks) == sizeof ticks) SignalTree(SIGKILL);
    }
    if (fds[0].revents & POLLIN) HandleSignals();
  }
}

void Supervisor::HandleSignals() {
  // Real-time signals come out lowest first, not in the order they were sent: a signal request
  // sent just before a terminate request (srun's Ctrl-C: SIGINT, then the end of the step) would
  // otherwise lose to the SIGTERM. Requests read together therefore go signals first.
  std::vector<signalfd_siginfo> batch;
  signalfd_siginfo one;
  while (read(sigfd_, &one, sizeof one) == sizeof one) batch.push_back(one);
  const int terminate_sig = SupervisorSignalNumber(SupervisorSignal::kTerminate);
  std::stable_partition(batch.begin(), batch.end(), [&](const signalfd_siginfo& i) {
    return static_cast<int>(i.ssi_signo) != terminate_sig;
  });
  for (const signalfd_siginfo& si : batch) {
    int sig = static_cast<int>(si.ssi_signo);
    if (sig == SIGCHLD) {
      ReapChildren();
    } else if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
      BeginTerminate(std::min<int64_t>(spec_.kill_wait_s, kSelfStopKillWaitS),
                     "signal to the supervisor");
    } else if (sig == SIGHUP) {
      // No terminal to lose; ignored.
    } else if (sig == SupervisorSignalNumber(SupervisorSignal::kTerminate)) {
      // 0: the agent fencing off a stale or unknown run, no cancellation of the user's.
      if (!script_done_ && si.ssi_int > 0) AnnounceCancel(false);
      BeginTerminate(si.ssi_int < 0 ? 0 : si.ssi_int, "terminate request");
    } else if (sig == SupervisorSignalNumber(SupervisorSignal::kSignal)) {
      int job_sig;
      bool whole_tree;
      DecodeSignalRequest(si.ssi_int, &job_sig, &whole_tree);
      Log("signal %d to %s", job_sig, whole_tree ? "the job" : "the batch shell");
      if (job_sig <= 0 || job_sig >= NSIG || script_done_) continue;
      if (whole_tree) {
        SignalTree(job_sig);
      } else {
        kill(script_pid_, job_sig);
      }
    } else if (sig == SupervisorSignalNumber(SupervisorSignal::kUpdateTimeLimit)) {
      if (!result_.timed_out) SetTimeLimit(si.ssi_int);
    }
  }
  // SIGCHLD is not queued: always sweep, a request may have shared a wakeup with an exit.
  ReapChildren();
}

void Supervisor::ReapChildren() {
  for (;;) {
    int status;
    rusage usage{};
    pid_t pid = wait4(-1, &status, WNOHANG, &usage);
    if (pid <= 0) return;
    // Every reaped process is the job's (the supervisor is their subreaper); a child's usage
    // includes the descendants it waited for itself.
    result_.user_cpu_us += int64_t{usage.ru_utime.tv_sec} * 1000000 + usage.ru_utime.tv_usec;
    result_.system_cpu_us += int64_t{usage.ru_stime.tv_sec} * 1000000 + usage.ru_stime.tv_usec;
    result_.max_rss_kb = std::max<int64_t>(result_.max_rss_kb, usage.ru_maxrss);
    if (!task_pids_.empty()) {
      auto it = std::find(task_pids_.begin(), task_pids_.end(), pid);
      if (it == task_pids_.end()) continue;
      task_status_[static_cast<size_t>(it - task_pids_.begin())] = status;
      const bool bad = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
      if (--tasks_left_ == 0) {
        script_done_ = true;
      } else if (bad && spec_.kill_on_bad_exit) {
        BeginTerminate(0, "a task failed (kill-on-bad-exit)");
      }
      continue;
    }
    if (pid == script_pid_) {
      script_status_ = status;
      script_done_ = true;
    }
  }
}

void Supervisor::SignalTree(int sig) {
  if (script_pid_ <= 0) return;
  kill(-script_pid_, sig);
  for (pid_t child : ListChildren()) {
    // Orphans that left the job's group (setsid, setpgid) are still the job's; a task that
    // leads a group of its own (beside a --pty task's session) takes its group along.
    const pid_t pgid = getpgid(child);
    if (pgid == script_pid_) continue;
    kill(pgid == child ? -child : child, sig);
  }
}

void Supervisor::BeginTerminate(int64_t kill_wait_s, const char* why) {
  if (script_done_) return;
  if (kill_wait_s <= 0) {
    Log("%s: SIGKILL", why);
    SignalTree(SIGKILL);
    return;
  }
  timespec now = MonotonicNow();
  timespec deadline = now;
  deadline.tv_sec += kill_wait_s;
  if (terminating_ &&
      (kill_deadline_.tv_sec < deadline.tv_sec ||
       (kill_deadline_.tv_sec == deadline.tv_sec && kill_deadline_.tv_nsec <= deadline.tv_nsec))) {
    return;  // an earlier SIGKILL is already due
  }
  Log("%s: SIGTERM, SIGKILL in %lld s", why, static_cast<long long>(kill_wait_s));
  if (!terminating_) {
    SignalTree(SIGTERM);
    SignalTree(SIGCONT);  // a stopped job must wake up to see the SIGTERM
  }
  terminating_ = true;
  kill_deadline_ = deadline;
  itimerspec its{};
  its.it_value = deadline;
  timerfd_settime(kill_tfd_, TFD_TIMER_ABSTIME, &its, nullptr);
}

std::string Supervisor::EnvValue(const char* key) const {
  const std::string prefix = std::string(key) + "=";
  for (const std::string& kv : spec_.env) {
    if (kv.rfind(prefix, 0) == 0) return kv.substr(prefix.size());
  }
  return "";
}

void Supervisor::CheckOutOfMemory() {
  if (spec_.cgroup_dirs.empty()) return;
  const uint64_t kills = CountOomKills(spec_.cgroup_dirs, spec_.cgroup_leaf);
  if (kills == 0) return;
  result_.out_of_memory = true;
  const std::string step = spec_.cgroup_leaf.substr(spec_.cgroup_leaf.find('_') + 1);
  const std::string line = "slurmstepd: error: Detected " + std::to_string(kills) +
                           " oom_kill event" + (kills == 1 ? "" : "s") + " in StepId=" +
                           EnvValue("SLURM_JOB_ID") + "." + step +
                           ". Some of the step tasks have been OOM Killed.";
  Log("%s", line.c_str());
  int fd = job_err_fd_;
  if (fd < 0 && spec_.io_port != 0 && !spec_.tasks.empty()) {
    fd = ConnectIo(spec_.tasks.front().rank, 4, 2);  // stream 4: srun prints it unlabelled
  }
  if (fd < 0) return;
  const std::string text = line + "\n";
  ssize_t ignored = write(fd, text.data(), text.size());
  (void)ignored;
  if (fd != job_err_fd_) close(fd);
}

void Supervisor::AnnounceCancel(bool time_limit) {
  if (announced_) return;
  announced_ = true;
  std::string node = EnvValue("SLURMD_NODENAME");
  if (node.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    node = host;
  }
  std::string job = EnvValue("SLURM_JOB_ID");
  if (job.empty()) job = std::to_string(spec_.job_id);
  const std::string what =
      spec_.tasks.empty() ? "JOB " + job : "STEP " + job + "." + EnvValue("SLURM_STEP_ID");
  char stamp[32] = {};
  time_t now = time(nullptr);
  tm local{};
  localtime_r(&now, &local);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &local);
  const std::string line = "slurmstepd: error: *** " + what + " ON " + node + " CANCELLED AT " +
                           stamp + (time_limit ? " DUE TO TIME LIMIT" : "") + " ***\n";
  int fd = -1;
  if (!spec_.tasks.empty()) {
    // Only the first node's supervisor speaks for the step, as one slurmstepd line would.
    if (spec_.tasks.front().rank != 0) return;
    fd = ConnectIo(0, 4, 2);  // stream 4: srun prints it as it is, unlabelled
    if (fd < 0) return;
  } else {
    fd = job_err_fd_;
  }
  if (fd < 0) return;
  ssize_t ignored = write(fd, line.data(), line.size());
  (void)ignored;
  if (fd != job_err_fd_) close(fd);
}

void Supervisor::SetTimeLimit(int64_t limit_s) {
  itimerspec its{};  // all zero disarms
  if (limit_s > 0) {
    its.it_value = mono_start_;
    its.it_value.tv_sec += limit_s;  // a deadline already past fires at once
  }
  timerfd_settime(limit_tfd_, TFD_TIMER_ABSTIME, &its, nullptr);
}

bool Supervisor::CheckContainerImage(std::string* error) {
  std::string path_list;
  for (const std::string& kv : spec_.env) {
    if (kv.rfind("PATH=", 0) == 0) path_list = kv.substr(5);
  }
  podman_ = FindPodman(path_list);
  if (podman_.empty()) {
    *error = "container: podman is not installed on this node";
    return false;
  }
  for (size_t i = 0; i < std::max<size_t>(spec_.tasks.size(), 1); ++i) {
    uint32_t rank = spec_.tasks.empty() ? 0 : spec_.tasks[i].rank;
    container_names_.push_back(ContainerName(spec_.job_id, spec_.tasks.empty() ? "batch" : "step",
                                             rank, spec_.container.name));
  }
  if (!spec_.tasks.empty()) {
    // A step's unit key holds the step id (agent.cc: StepUnitKey): name it job-step.
    for (size_t i = 0; i < container_names_.size(); ++i) {
      container_names_[i] =
          ContainerName(spec_.job_id >> 20, std::to_string(spec_.job_id & ((1u << 20) - 1)),
                        spec_.tasks[i].rank, spec_.container.name);
    }
  }
  if (!spec_.container.name.empty()) return PrepareNamedContainer(error);
  return CheckImageExists(error);
}

bool Supervisor::CheckImageExists(std::string* error) {
  ContainerImageRef ref = SplitContainerImage(spec_.container.image);
  if (!ref.transport.empty()) {
    // Opened with the user's rights: the archive must be theirs to read.
    if (!SwitchEffectiveIds(true)) {
      *error = "could not switch to uid " + std::to_string(spec_.uid) + ": " + ErrnoText(errno);
      return false;
    }
    int fd = open(ref.path.c_str(), O_RDONLY | O_CLOEXEC);
    int err = errno;
    SwitchEffectiveIds(false);
    if (fd < 0) {
      *error = "container image archive " + ref.path + ": " + ErrnoText(err);
      return false;
    }
    close(fd);
    return true;
  }
  std::string output;
  int rc = RunPodman({"image", "exists", spec_.container.image}, &output);
  if (rc == 0) return true;
  if (rc == 1) {
    *error = "container image " + spec_.container.image +
             " not found in podman's local storage of uid " + std::to_string(spec_.uid) +
             " (never pulled here: podman build, podman load or podman pull it first)";
  } else {
    while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
    *error = "container: podman could not look up image " + spec_.container.image +
             (output.empty() ? "" : ": " + output.substr(0, 400));
  }
  return false;
}

bool Supervisor::PrepareNamedContainer(std::string* error) {
  const ContainerSpec& c = spec_.container;
  // A step's unit key holds the step id below the job id (agent.cc: StepUnitKey).
  const uint64_t job_id = spec_.tasks.empty() ? spec_.job_id : spec_.job_id >> 20;
  // The agent names <state>/containers/<job>; both are made here, on first use.
  if (spec_.containers_dir.empty()) {
    *error = "container " + c.name + ": the agent gave no place for named containers";
    return false;
  }
  const std::string job_dir = spec_.containers_dir;
  const std::string root = job_dir.substr(0, job_dir.find_last_of('/'));
  // Traversable for the job's user when root runs it (as the jobs directory is).
  const mode_t mode = geteuid() == 0 ? 0711 : 0700;
  for (const std::string& d : {root, job_dir}) {
    if (mkdir(d.c_str(), mode) != 0 && errno != EEXIST) {
      *error = "container " + c.name + ": could not create " + d + ": " + ErrnoText(errno);
      return false;
    }
  }
  const std::string dir = job_dir + "/" + c.name;
  const std::string lock_path = dir + ".lock";
  int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0) {
    *error = "container " + c.name + ": could not lock " + lock_path + ": " + ErrnoText(errno);
    if (lock_fd >= 0) close(lock_fd);
    return false;
  }
  struct Unlock {
    int fd;
    ~Unlock() { close(fd); }  // closing releases the lock
  } unlock{lock_fd};
  const std::string rootfs = dir + "/rootfs";
  const std::string ready = dir + "/ready";
  if (access(ready.c_str(), F_OK) == 0) {
    // pyxis: an existing named container is used as it is; an image given again is ignored.
    container_rootfs_ = rootfs;
    Log("container %s: reusing %s", c.name.c_str(), rootfs.c_str());
    return true;
  }
  if (c.image.empty()) {
    *error = "container " + c.name + " does not exist on this node for job " +
             std::to_string(job_id) +
             ": the first step that names it must give --container-image to create it";
    return false;
  }
  if (!CheckImageExists(error)) return false;
  // Made by root, handed to the user: podman writes the export there and tar unpacks it.
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);  // a creation that failed half-way
  if (mkdir(dir.c_str(), 0700) != 0 ||
      (switch_ids_ && chown(dir.c_str(), spec_.uid, spec_.gid) != 0)) {
    *error = "container " + c.name + ": could not create " + dir + ": " + ErrnoText(errno);
    return false;
  }
  const std::string creator = "shoal-" + std::to_string(job_id) + "-create-" + c.name;
  const std::string archive = dir + "/rootfs.tar";
  std::string output;
  // The image's files as a tar stream (`podman export` of a container never started); the
  // command is only recorded, never run (an imported image may have none).
  int rc = RunPodman({"create", "--pull=never", "--name", creator, c.image, "true"}, &output);
  if (rc == 0) {
    output.clear();
    rc = RunPodman({"export", "--output", archive, creator}, &output, 1800);
  }
  std::string ignored;
  RunPodman({"rm", "--force", "--ignore", creator}, &ignored);
  if (rc != 0) {
    *error = "container " + c.name + ": podman could not export image " + c.image + ": " +
             output.substr(0, 400);
    return false;
  }
  std::string tar;
  for (const char* candidate : {"/usr/bin/tar", "/bin/tar"}) {
    if (tar.empty() && access(candidate, X_OK) == 0) tar = candidate;
  }
  if (tar.empty()) {
    *error = "container " + c.name + ": tar is not installed on this node";
    return false;
  }
  output.clear();
  if (mkdir(rootfs.c_str(), 0755) != 0 ||
      (switch_ids_ && chown(rootfs.c_str(), spec_.uid, spec_.gid) != 0) ||
      (rc = RunAsUser({tar, "-x", "-f", archive, "-C", rootfs}, &output, 1800)) != 0) {
    *error = "container " + c.name + ": could not unpack image " + c.image + " into " + rootfs +
             ": " + (output.empty() ? ErrnoText(errno) : output.substr(0, 400));
    return false;
  }
  unlink(archive.c_str());
  if (Status s = WriteFileAtomic(ready, c.image + "\n"); !s.ok()) {
    *error = "container " + c.name + ": " + s.message();
    return false;
  }
  container_rootfs_ = rootfs;
  Log("container %s: created %s from %s", c.name.c_str(), rootfs.c_str(), c.image.c_str());
  return true;
}

int Supervisor::RunPodman(const std::vector<std::string>& args, std::string* output,
                          int timeout_s) {
  std::vector<std::string> argv = {podman_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunAsUser(argv, output, timeout_s);
}

int Supervisor::RunAsUser(const std::vector<std::string>& argv_in, std::string* output,
                          int timeout_s) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return -1;
  std::vector<std::string> argv = argv_in;
  std::vector<std::string> env = PodmanEnvironment(spec_.env, spec_.uid, spec_.home);
  pid_t pid = fork();
  if (pid < 0) {
    close(pipefd[0]);
    close(pipefd[1]);
    return -1;
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(pipefd[1], 1) < 0 || dup2(pipefd[1], 2) < 0)
      _exit(127);
    if (switch_ids_ && (setgid(spec_.gid) != 0 || setuid(spec_.uid) != 0)) _exit(127);
    if (chdir("/") != 0) _exit(127);
    std::vector<char*> cargv, cenv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    for (std::string& kv : env) cenv.push_back(kv.data());
    cenv.push_back(nullptr);
    execve(argv[0].c_str(), cargv.data(), cenv.data());
    _exit(127);
  }
  close(pipefd[1]);
  // podman answers in well under a second; a minute means it is stuck (a storage lock). An
  // image's export and unpacking get longer.
  timespec start = MonotonicNow();
  for (;;) {
    pollfd pfd{pipefd[0], POLLIN, 0};
    int n = poll(&pfd, 1, 1000);
    if (n > 0) {
      char buf[1024];
      ssize_t got = read(pipefd[0], buf, sizeof buf);
      if (got > 0) {
        if (output->size() < 8192) output->append(buf, static_cast<size_t>(got));
        continue;
      }
      if (got == 0 || errno != EINTR) break;
    }
    if (MonotonicNow().tv_sec - start.tv_sec > timeout_s) {
      kill(pid, SIGKILL);
      *output += argv[0].substr(argv[0].find_last_of('/') + 1) + " did not answer within " +
                 std::to_string(timeout_s) + " s";
      break;
    }
  }
  close(pipefd[0]);
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<std::string> Supervisor::ContainerArgv(const std::vector<std::string>& env,
                                                   uint32_t rank, bool tty,
                                                   std::vector<std::string> command) {
  ContainerRun run;
  run.podman = podman_;
  size_t index = 0;
  for (size_t i = 0; i < spec_.tasks.size(); ++i) {
    if (spec_.tasks[i].rank == rank) index = i;
  }
  run.name = index < container_names_.size() ? container_names_[index] : "";
  run.uid = spec_.uid;
  char cwd[PATH_MAX];
  run.cwd = getcwd(cwd, sizeof cwd) != nullptr ? cwd : "";
  run.home = spec_.home;
  run.env = env;
  run.gpu_devices = GpuDeviceArgs(spec_.gpu_indices);
  run.gpu_count = run.gpu_devices.empty() ? 0 : spec_.gpu_indices.size();
  run.tty = tty;
  run.rootfs = container_rootfs_;
  if (spec_.tasks.empty()) {
    // The batch script, where the job's podman can read it, at the same path.
    run.extra_mounts.push_back(Path(kScriptFile) + ":" + Path(kScriptFile) + ":ro");
  }
  return PodmanRunArgv(spec_.container, run, command);
}

void Supervisor::RemoveLeftoverContainers() {
  if (!spec_.container.Enabled() || container_names_.empty()) return;
  // podman run --rm removes its container when it ends normally; a podman killed by the
  // time limit or scancel (or one that failed) can leave it behind.
  bool clean = !terminating_;
  if (spec_.tasks.empty()) {
    clean = clean && WIFEXITED(script_status_) && WEXITSTATUS(script_status_) < 125;
  } else {
    for (int status : task_status_) {
      clean = clean && WIFEXITED(status) && WEXITSTATUS(status) < 125;
    }
  }
  if (clean) return;
  std::vector<std::string> args = {"rm", "--force", "--ignore", "--time", "0"};
  args.insert(args.end(), container_names_.begin(), container_names_.end());
  std::string output;
  int rc = RunPodman(args, &output);
  Log("removed leftover containers (podman rm: %d) %s", rc, output.c_str());
  // podman may have started helpers (its rootless pause process) that came to us.
  FinalSweep();
}

void Supervisor::FinalSweep() {
  // Fast path: no children at all means no descendants at all (orphans come to us).
  timespec start = MonotonicNow();
  for (;;) {
    ReapChildren();
    siginfo_t info{};
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD) return;
    SignalTree(SIGKILL);
    pollfd pfd{sigfd_, POLLIN, 0};
    poll(&pfd, 1, 100);
    signalfd_siginfo si;
    while (read(sigfd_, &si, sizeof si) == sizeof si) {
    }
    timespec now = MonotonicNow();
    long elapsed_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (elapsed_ms > kSweepLimitMs) {
      Log("leftover processes would not die; giving up on them");
      return;
    }
  }
}

bool Supervisor::OpenPty(std::string* error) {
  bool has_rank0 = false;
  for (const JobSpec::Task& t : spec_.tasks) has_rank0 = has_rank0 || t.rank == 0;
  if (!has_rank0) return true;  // task 0 runs on another node: nothing here talks to srun
  pty_master_ = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (pty_master_ < 0 || unlockpt(pty_master_) != 0) {
    *error = "cannot open a pseudo-terminal: " + ErrnoText(errno);
    return false;
  }
  // TIOCGPTPEER needs no path lookup (a container's /dev/pts may differ); the name is the
  // fallback for older kernels.
  pty_slave_ = ioctl(pty_master_, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (pty_slave_ < 0) {
    char name[128];
    if (ptsname_r(pty_master_, name, sizeof name) == 0) {
      pty_slave_ = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    }
  }
  if (pty_slave_ < 0) {
    *error = "cannot open a pseudo-terminal: " + ErrnoText(errno);
    return false;
  }
  if (switch_ids_ && fchown(pty_slave_, spec_.uid, static_cast<gid_t>(-1)) == 0) {
    fchmod(pty_slave_, 0620);  // the job's user owns its terminal, as after a login
  }
  if (spec_.pty_rows > 0 && spec_.pty_cols > 0) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(std::min<uint32_t>(spec_.pty_rows, 65535));
    ws.ws_col = static_cast<unsigned short>(std::min<uint32_t>(spec_.pty_cols, 65535));
    ioctl(pty_master_, TIOCSWINSZ, &ws);
  }
  pty_sock_ = ConnectIo(0, 5);
  pty_ctl_ = pty_sock_ >= 0 ? ConnectIo(0, 6) : -1;
  if (pty_sock_ < 0 || pty_ctl_ < 0) {
    *error = "cannot reach srun at " + spec_.io_addr + ":" + std::to_string(spec_.io_port) + ": " +
             ErrnoText(errno);
    return false;
  }
  for (int fd : {pty_master_, pty_sock_, pty_ctl_}) {
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  return true;
}

void Supervisor::AddPtyFds(std::vector<pollfd>* fds) const {
  if (pty_master_ < 0) return;
  short master = 0;
  if (!pty_master_done_ && pty_out_.size() < kPtyBufferMax) master |= POLLIN;
  if (!pty_in_.empty()) master |= POLLOUT;
  // Once it read EIO the master would report POLLHUP on every poll: it is left out then.
  fds->push_back({pty_master_done_ ? -1 : pty_master_, master, 0});
  short sock = 0;
  if (pty_sock_ >= 0) {
    if (!pty_input_ended_ && pty_in_.size() < kPtyBufferMax) sock |= POLLIN;
    if (!pty_out_.empty()) sock |= POLLOUT;
  }
  fds->push_back({pty_sock_, sock, 0});  // a negative fd is skipped by poll
  fds->push_back({pty_ctl_, POLLIN, 0});
}

void Supervisor::ServePty(const std::vector<pollfd>& fds) {
  if (pty_master_ < 0 || fds.size() < 6) return;
  const short master = fds[3].revents, ctl = fds[5].revents;
  short sock = fds[4].revents;
  char buf[16384];
  if (master & (POLLIN | POLLHUP | POLLERR)) {
    ssize_t n = read(pty_master_, buf, sizeof buf);
    if (n > 0) {
      if (pty_sock_ >= 0) pty_out_.append(buf, static_cast<size_t>(n));  // else nobody listens
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      pty_master_done_ = true;  // EIO: every holder of the terminal is gone
    }
  }
  if ((master & POLLOUT) && !pty_in_.empty()) {
    ssize_t n = write(pty_master_, pty_in_.data(), pty_in_.size());
    if (n > 0) pty_in_.erase(0, static_cast<size_t>(n));
  }
  if (pty_sock_ >= 0 && (sock & POLLOUT) && !pty_out_.empty()) {
    ssize_t n = send(pty_sock_, pty_out_.data(), pty_out_.size(), MSG_NOSIGNAL);
    if (n > 0) pty_out_.erase(0, static_cast<size_t>(n));
    if (n < 0 && errno != EAGAIN && errno != EINTR) sock |= POLLERR;
  }
  if (pty_sock_ >= 0 && (sock & (POLLIN | POLLHUP | POLLERR))) {
    ssize_t n = read(pty_sock_, buf, sizeof buf);
    if (n > 0) {
      pty_in_.append(buf, static_cast<size_t>(n));
    } else if (n == 0 && !(sock & (POLLERR | POLLHUP))) {
      pty_input_ended_ = true;  // srun's input ended; its side still reads our output
    } else if (n != 0 && (errno == EAGAIN || errno == EINTR)) {
      // nothing yet
    } else {
      // srun is gone: a hangup, as when a terminal window closes (SIGHUP to the session).
      Log("srun closed the terminal's connection: hanging up");
      ClosePty();
      return;
    }
  }
  if (pty_input_ended_ && pty_in_.empty() && !pty_eof_sent_) {
    // The end of srun's input (not a terminal there) is an end-of-file typed here, once.
    termios t{};
    const bool known = tcgetattr(pty_master_, &t) == 0 && t.c_cc[VEOF] != 0;
    pty_in_.assign(1, known ? static_cast<char>(t.c_cc[VEOF]) : '\x04');
    pty_eof_sent_ = true;
  }
  if (pty_ctl_ >= 0 && (ctl & (POLLIN | POLLHUP | POLLERR))) {
    ssize_t n = read(pty_ctl_, buf, sizeof buf);
    if (n > 0) {
      pty_ctl_in_.append(buf, static_cast<size_t>(n));
      ApplyWindowSizes();
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      close(pty_ctl_);
      pty_ctl_ = -1;
    }
  }
}

void Supervisor::ApplyWindowSizes() {
  size_t nl;
  while ((nl = pty_ctl_in_.find('\n')) != std::string::npos) {
    unsigned rows = 0, cols = 0;
    if (std::sscanf(pty_ctl_in_.substr(0, nl).c_str(), "winsize %u %u", &rows, &cols) == 2 &&
        rows > 0 && cols > 0 && rows <= 65535 && cols <= 65535) {
      winsize ws{};
      ws.ws_row = static_cast<unsigned short>(rows);
      ws.ws_col = static_cast<unsigned short>(cols);
      ioctl(pty_master_, TIOCSWINSZ, &ws);  // the kernel sends SIGWINCH to the foreground
    }
    pty_ctl_in_.erase(0, nl + 1);
  }
  if (pty_ctl_in_.size() > 4096) pty_ctl_in_.clear();  // not srun's lines
}

void Supervisor::DrainPty() {
  if (pty_master_ < 0) return;
  // Every task and leftover is dead, so the master reads what is left, then EIO. Bounded: a
  // srun that stopped reading must not keep the step's result from being written.
  timespec start = MonotonicNow();
  while (pty_sock_ >= 0 && (!pty_master_done_ || !pty_out_.empty())) {
    std::vector<pollfd> fds = {{sigfd_, 0, 0}, {limit_tfd_, 0, 0}, {kill_tfd_, 0, 0}};
    AddPtyFds(&fds);
    if (poll(fds.data(), fds.size(), 100) < 0 && errno != EINTR) break;
    ServePty(fds);
    timespec now = MonotonicNow();
    if (now.tv_sec - start.tv_sec > 5) break;
  }
  ClosePty();
}

void Supervisor::ClosePty() {
  for (int* fd : {&pty_master_, &pty_sock_, &pty_ctl_, &pty_slave_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  pty_out_.clear();
  pty_in_.clear();
}

}  // namespace

int RunSupervisor(const std::string& job_dir) {
  char real[PATH_MAX];
  std::string dir = realpath(job_dir.c_str(), real) != nullptr ? real : job_dir;
  Supervisor supervisor(dir);
  return supervisor.Run();
}

}  // namespace shoal::agent
