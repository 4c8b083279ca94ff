#include "agent/job_manager.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "agent/job_cgroup.h"
#include "agent/pidfd.h"

namespace shoal::agent {
namespace {

constexpr uint64_t kWakeKey = UINT64_MAX;
// Recycled job directories kept for the next launches; beyond that a finished job's directory
// is removed. About the number of jobs that end between two launches at the busiest.
constexpr size_t kMaxSpareJobDirs = 64;

int64_t Now() { return static_cast<int64_t>(time(nullptr)); }

bool PidfdExited(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

// Queues a request to a supervisor through its pidfd, immune to pid reuse.
int SendToSupervisor(int pidfd, int sig, int value) {
  siginfo_t info;
  std::memset(&info, 0, sizeof info);
  info.si_signo = sig;
  info.si_code = SI_QUEUE;
  info.si_pid = getpid();
  info.si_uid = getuid();
  info.si_value.sival_int = value;
  return PidfdSendSignal(pidfd, sig, &info);
}

}  // namespace

JobManager::JobManager(Options options, Listener listener)
    : options_(std::move(options)), listener_(std::move(listener)) {}

JobManager::~JobManager() {
  if (watcher_.joinable()) {
    uint64_t one = 1;
    ssize_t ignored = write(wake_fd_, &one, sizeof one);
    (void)ignored;
    watcher_.join();
  }
  for (auto& [id, job] : jobs_) {
    if (job.pidfd >= 0) close(job.pidfd);
  }
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

std::string JobManager::JobDir(uint64_t job_id) const {
  return options_.state_dir + "/jobs/" + std::to_string(job_id);
}

Status JobManager::Start() {
  std::string jobs_root = options_.state_dir + "/jobs";
  // Traversable for job users when root runs jobs for others (job_dir.h).
  mode_t mode = geteuid() == 0 ? 0711 : 0700;
  if (mkdir(options_.state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Internal("could not create " + options_.state_dir + ": " + std::strerror(errno));
  }
  if (geteuid() == 0) chmod(options_.state_dir.c_str(), mode);
  if (mkdir(jobs_root.c_str(), mode) != 0 && errno != EEXIST) {
    return Internal("could not create " + jobs_root + ": " + std::strerror(errno));
  }
  // Spares (jobs/.spare-N) are never scanned, and one left by a crash in the middle of
  // recycling may still hold a finished job's result under its own name: start with none.
  if (DIR* d = opendir(jobs_root.c_str())) {
    std::vector<std::string> spares;
    while (dirent* e = readdir(d)) {
      if (std::strncmp(e->d_name, ".spare", 6) == 0) spares.push_back(e->d_name);
    }
    closedir(d);
    for (const std::string& name : spares) RemoveJobDir(jobs_root + "/" + name);
  }
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0) return Internal(std::string("epoll: ") + strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeKey;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);

  std::lock_guard<std::mutex> lock(mu_);
  for (ScannedJob& found : ScanJobDirs(jobs_root, options_.probe, Now())) {
    Job job;
    job.job_id = found.job_id;
    job.generation = found.generation;
    job.start_time = found.start_time;
    job.gpu_indices = found.gpu_indices;
    job.cgroup_dirs = found.cgroup_dirs;
    job.cgroup_leaf = found.cgroup_leaf;
    switch (found.kind) {
      case ScannedJob::Kind::kInvalid:
        spdlog::warn("removing job directory {}: {}", found.dir, found.problem);
        RemoveJobDir(found.dir);
        continue;
      case ScannedJob::Kind::kRunning: {
        int pidfd = PidfdOpen(found.supervisor_pid);
        // Re-verify after opening: the pidfd then surely names this supervisor.
        if (pidfd >= 0 && options_.probe.is_supervisor_of(found.supervisor_pid, found.dir)) {
          job.running = true;
          job.pid = found.supervisor_pid;
          job.pidfd = pidfd;
          spdlog::info("job {}: reattached to supervisor pid {}", job.job_id, job.pid);
          Watch(std::move(job));
          continue;
        }
        if (pidfd >= 0) close(pidfd);
        // It ended between the scan and now: look again.
        found = InspectJobDir(found.dir, options_.probe, Now());
        if (found.kind == ScannedJob::Kind::kRunning) found.kind = ScannedJob::Kind::kLost;
        break;
      }
      default:
        break;
    }
    if (found.kind == ScannedJob::Kind::kLost) {
      spdlog::warn("job {}: supervisor lost", found.job_id);
      Status st = WriteFileAtomic(found.dir + "/" + kResultFile, ResultToJson(found.result));
      if (!st.ok()) spdlog::warn("{}", st.message());
    } else {
      spdlog::info("job {}: finished while the agent was away", found.job_id);
    }
    RemoveJobCgroup(job.cgroup_dirs, job.cgroup_leaf);
    job.result = found.result;
    jobs_[job.job_id] = std::move(job);
  }
  watcher_ = std::thread([this] { WatchLoop(); });
  return Status::Ok();
}

void JobManager::Watch(Job job) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = job.job_id;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, job.pidfd, &ev) != 0) {
    spdlog::error("job {}: cannot watch supervisor: {}", job.job_id, std::strerror(errno));
  }
  uint64_t id = job.job_id;
  jobs_[id] = std::move(job);
}

void JobManager::Unwatch(Job& job) {
  if (job.pidfd < 0) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, job.pidfd, nullptr);
  // Reap our own children (supervisors adopted after a restart are not ours: ECHILD).
  waitpid(job.pid, nullptr, WNOHANG);
  close(job.pidfd);
  job.pidfd = -1;
}

void JobManager::WatchLoop() {
  epoll_event events[32];
  for (;;) {
    int n = epoll_wait(epoll_fd_, events, 32, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("epoll_wait: {}", std::strerror(errno));
      return;
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kWakeKey) return;
      OnSupervisorExit(events[i].data.u64);
    }
  }
}

void JobManager::OnSupervisorExit(uint64_t job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(job_id);
  // The event may belong to a generation replaced since epoll_wait returned.
  if (it == jobs_.end() || !it->second.running || !PidfdExited(it->second.pidfd)) return;
  Job& job = it->second;
  Unwatch(job);
  job.running = false;
  // The supervisor is gone, and with it the last process the job's cgroups could hold.
  RemoveJobCgroup(job.cgroup_dirs, job.cgroup_leaf);
  std::string dir = JobDir(job_id);
  JobResult result;
  Result<std::string> text = ReadWholeFile(dir + "/" + kResultFile);
  Result<JobResult> parsed = text.ok() ? ResultFromJson(*text) : Result<JobResult>(text.status());
  if (parsed.ok() && parsed->generation == job.generation) {
    result = *parsed;
  } else {
    result.job_id = job_id;
    result.generation = job.generation;
    result.signal = SIGKILL;
    result.message = "supervisor lost";
    result.start_time = job.start_time;
    result.end_time = Now();
    if (!job.fenced) WriteFileAtomic(dir + "/" + kResultFile, ResultToJson(result));
  }
  if (job.fenced) {
    spdlog::info("job {}: fenced job ended; forgotten", job_id);
    RemoveJobDir(dir);
    jobs_.erase(it);
    return;
  }
  job.result = result;
  if (result.launch_failed) {
    spdlog::info("job {}: launch failed: {}", job_id, result.message);
  } else {
    spdlog::info("job {}: finished exit_code={} signal={}{}{}", job_id, result.exit_code,
                 result.signal, result.timed_out ? " timed_out" : "",
                 result.message.empty() ? "" : " (" + result.message + ")");
  }
  if (listener_.finished) listener_.finished(result);
}

void JobManager::FinishLaunchFailed(uint64_t job_id, uint64_t generation,
                                    const std::string& message) {
  Job job;
  job.job_id = job_id;
  job.generation = generation;
  job.start_time = Now();
  job.result.job_id = job_id;
  job.result.generation = generation;
  job.result.exit_code = 1;
  job.result.launch_failed = true;
  job.result.message = message;
  job.result.start_time = job.result.end_time = job.start_time;
  // Best effort: the directory may be what failed.
  WriteFileAtomic(JobDir(job_id) + "/" + kResultFile, ResultToJson(job.result));
  spdlog::error("job {}: launch failed: {}", job_id, message);
  if (listener_.finished) listener_.finished(job.result);
  jobs_[job_id] = std::move(job);
}

void JobManager::KillStale(Job job) {
  spdlog::warn("job {}: killing stale generation {}", job.job_id, job.generation);
  SendToSupervisor(job.pidfd, SupervisorSignalNumber(SupervisorSignal::kTerminate), 0);
  pollfd p{job.pidfd, POLLIN, 0};
  if (poll(&p, 1, options_.stale_kill_timeout_ms) <= 0) {
    // The supervisor does not answer: kill the job's process group and the supervisor.
    Result<std::string> text = ReadWholeFile(JobDir(job.job_id) + "/" + kStateFile);
    if (text.ok()) {
      if (Result<SupervisorState> state = StateFromJson(*text); state.ok()) {
        if (state->script_pid > 0) kill(-state->script_pid, SIGKILL);
      }
    }
    PidfdSendSignal(job.pidfd, SIGKILL, nullptr);
    poll(&p, 1, 1000);
  }
  waitpid(job.pid, nullptr, WNOHANG);
  close(job.pidfd);
  RemoveJobCgroup(job.cgroup_dirs, job.cgroup_leaf);
}

Status JobManager::Launch(JobSpec spec, const std::string& script) {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t id = spec.job_id;
  std::string dir = JobDir(id);
  if (auto it = jobs_.find(id); it != jobs_.end()) {
    Job& old = it->second;
    if (old.generation == spec.generation && !old.fenced) {
      spdlog::info("job {}: duplicate launch of generation {}", id, spec.generation);
      if (old.running && listener_.started) {
        listener_.started({id, old.generation, old.start_time});
      } else if (!old.running && listener_.finished) {
        listener_.finished(old.result);
      }
      return Status::Ok();
    }
    Job stale = std::move(old);
    jobs_.erase(it);
    if (stale.running) {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, stale.pidfd, nullptr);
      lock.unlock();
      KillStale(std::move(stale));
      lock.lock();
    }
  }
  RemoveJobDir(dir);  // a stale generation's files or a leftover

  AddNodeEnv(spec, options_.node_name);
  spec.launch_time = Now();
  // No other user can open the files of a job run as the agent's user or as root (job_dir.h).
  const bool recyclable = geteuid() != 0 || spec.uid == 0;
  std::string spare;
  if (recyclable && !spares_.empty()) {
    spare = std::move(spares_.back());
    spares_.pop_back();
  }
  if (Status st = PrepareJobDir(dir, spec, script, spare); !st.ok()) {
    FinishLaunchFailed(id, spec.generation, st.message());
    return st;
  }
  pid_t supervisor_pid = 0;
  int pidfd = -1;
  if (Result<SupervisorLauncher::Started> started = launcher_.Launch(dir); started.ok()) {
    supervisor_pid = started->pid;
    pidfd = started->pidfd;
  } else if (pid_t found = options_.probe.find_supervisor_of(dir); found > 0) {
    // The launcher ended with the request but had started the supervisor.
    supervisor_pid = found;
    pidfd = PidfdOpen(found);
  } else {
    spdlog::warn("job {}: {}; spawning the supervisor directly", id, started.status().message());
  }
  Result<pid_t> pid = supervisor_pid > 0 ? Result<pid_t>(supervisor_pid)
                                         : SpawnSupervisor(options_.supervisor_path, dir);
  if (!pid.ok()) {
    FinishLaunchFailed(id, spec.generation, pid.status().message());
    return pid.status();
  }
  if (pidfd < 0) pidfd = PidfdOpen(*pid);
  if (pidfd < 0) {
    // Cannot watch it, so cannot report it: stop it before it runs anything.
    std::string message = std::string("pidfd_open: ") + std::strerror(errno);
    kill(*pid, SIGKILL);
    waitpid(*pid, nullptr, 0);
    FinishLaunchFailed(id, spec.generation, message);
    return Internal(message);
  }
  Job job;
  job.job_id = id;
  job.generation = spec.generation;
  job.running = true;
  job.pid = *pid;
  job.pidfd = pidfd;
  job.start_time = spec.launch_time;
  job.gpu_indices = spec.gpu_indices;
  job.cgroup_dirs = spec.cgroup_dirs;
  job.cgroup_leaf = spec.cgroup_leaf;
  job.recyclable = recyclable;
  spdlog::info("job {}: launched generation {} (supervisor pid {})", id, spec.generation, *pid);
  if (listener_.started) listener_.started({id, job.generation, job.start_time});
  Watch(std::move(job));
  return Status::Ok();
}

Status JobManager::SendRequest(uint64_t job_id, SupervisorSignal which, int value) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || !it->second.running) {
    return NotFound("job " + std::to_string(job_id) + " is not running on this node");
  }
  if (SendToSupervisor(it->second.pidfd, SupervisorSignalNumber(which), value) != 0) {
    return Internal("job " + std::to_string(job_id) +
                    ": cannot signal supervisor: " + std::strerror(errno));
  }
  return Status::Ok();
}

Status JobManager::Signal(uint64_t job_id, int sig, bool whole_tree) {
  if (sig <= 0 || sig >= NSIG) return InvalidArgument("bad signal " + std::to_string(sig));
  spdlog::info("job {}: signal {}{}", job_id, sig, whole_tree ? " to every process" : "");
  return SendRequest(job_id, SupervisorSignal::kSignal, EncodeSignalRequest(sig, whole_tree));
}

Status JobManager::Terminate(uint64_t job_id, uint32_t kill_wait_s) {
  spdlog::info("job {}: terminate (kill wait {} s)", job_id, kill_wait_s);
  int value = kill_wait_s > INT32_MAX ? INT32_MAX : static_cast<int>(kill_wait_s);
  return SendRequest(job_id, SupervisorSignal::kTerminate, value);
}

Status JobManager::UpdateTimeLimit(uint64_t job_id, int64_t time_limit_s) {
  spdlog::info("job {}: time limit now {} s", job_id, time_limit_s);
  return SendRequest(job_id, SupervisorSignal::kUpdateTimeLimit, ClampTimeLimitValue(time_limit_s));
}

void JobManager::Acknowledge(uint64_t job_id, uint64_t generation) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || it->second.running || it->second.generation != generation) return;
  std::string dir = JobDir(job_id);
  bool recycled = false;
  if (it->second.recyclable && spares_.size() < kMaxSpareJobDirs) {
    std::string spare = options_.state_dir + "/jobs/.spare-" + std::to_string(next_spare_++);
    recycled = RecycleJobDir(dir, spare);
    if (recycled) {
      spares_.push_back(std::move(spare));
    } else {
      RemoveJobDir(spare);
    }
  }
  if (!recycled) RemoveJobDir(dir);
  jobs_.erase(it);
  spdlog::debug("job {}: acknowledged, forgotten", job_id);
}

void JobManager::Fence(uint64_t job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  Job& job = it->second;
  spdlog::warn("job {}: fenced off by the controller; killing it", job_id);
  if (!job.running) {
    RemoveJobDir(JobDir(job_id));
    jobs_.erase(it);
    return;
  }
  job.fenced = true;
  SendToSupervisor(job.pidfd, SupervisorSignalNumber(SupervisorSignal::kTerminate), 0);
}

std::vector<RunningJobInfo> JobManager::Running() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<RunningJobInfo> out;
  for (const auto& [id, job] : jobs_) {
    if (job.running && !job.fenced) {
      out.push_back({id, job.generation, job.start_time, job.pid, job.gpu_indices,
                     job.cgroup_dirs});
    }
  }
  return out;
}

std::vector<JobResult> JobManager::Unacknowledged() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<JobResult> out;
  for (const auto& [id, job] : jobs_) {
    if (!job.running && !job.fenced) out.push_back(job.result);
  }
  return out;
}

}  // namespace shoal::agent
