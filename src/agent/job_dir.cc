#include "agent/job_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <system_error>

extern char** environ;

namespace shoal::agent {
namespace {

// A recycled directory's supervisor.log is kept up to this size (job_dir.h: RecycleJobDir).
constexpr off_t kMaxRecycledLogBytes = 64 * 1024;

std::string JoinIndices(const std::vector<uint32_t>& indices) {
  std::string out;
  for (uint32_t i : indices) {
    if (!out.empty()) out += ',';
    out += std::to_string(i);
  }
  return out;
}

// argv of a live process as NUL-separated words; empty for zombies, kernel threads, and gone
// processes.
std::vector<std::string> ProcessArgv(pid_t pid) {
  std::vector<std::string> argv;
  Result<std::string> raw = ReadWholeFile("/proc/" + std::to_string(pid) + "/cmdline");
  if (!raw.ok()) return argv;
  size_t pos = 0;
  while (pos < raw->size()) {
    size_t end = raw->find('\0', pos);
    if (end == std::string::npos) end = raw->size();
    argv.push_back(raw->substr(pos, end - pos));
    pos = end + 1;
  }
  // A supervisor forked by the launcher wrote its command line over a longer one (launcher.h):
  // the rest reads as empty words.
  while (!argv.empty() && argv.back().empty()) argv.pop_back();
  return argv;
}

bool ArgvIsSupervisorOf(const std::vector<std::string>& argv, const std::string& job_dir) {
  if (argv.size() != 2) return false;
  const std::string& exe = argv[0];
  size_t slash = exe.find_last_of('/');
  std::string base = slash == std::string::npos ? exe : exe.substr(slash + 1);
  if (base != kSupervisorExeName) return false;
  if (argv[1] == job_dir) return true;
  // The same directory spelled differently (a symlink, a restart with another --state-dir form).
  char a[PATH_MAX], b[PATH_MAX];
  return realpath(argv[1].c_str(), a) != nullptr && realpath(job_dir.c_str(), b) != nullptr &&
         std::strcmp(a, b) == 0;
}

bool ProcIsSupervisorOf(pid_t pid, const std::string& job_dir) {
  return pid > 0 && ArgvIsSupervisorOf(ProcessArgv(pid), job_dir);
}

pid_t ProcFindSupervisorOf(const std::string& job_dir) {
  DIR* d = opendir("/proc");
  if (d == nullptr) return 0;
  pid_t found = 0;
  while (dirent* e = readdir(d)) {
    char* end;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    if (ProcIsSupervisorOf(static_cast<pid_t>(pid), job_dir)) {
      found = static_cast<pid_t>(pid);
      break;
    }
  }
  closedir(d);
  return found;
}

bool ReadResult(const std::string& dir, JobResult* out) {
  Result<std::string> text = ReadWholeFile(dir + "/" + kResultFile);
  if (!text.ok()) return false;
  Result<JobResult> result = ResultFromJson(*text);
  if (!result.ok()) return false;
  *out = *result;
  return true;
}

}  // namespace

void SetEnv(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  std::string prefix = key + "=";
  for (std::string& kv : env) {
    if (kv.rfind(prefix, 0) == 0) {
      kv = prefix + value;
      return;
    }
  }
  env.push_back(prefix + value);
}

void AddNodeEnv(JobSpec& spec, const std::string& node_name) {
  SetEnv(spec.env, "SLURMD_NODENAME", node_name);
  if (!spec.gpu_indices.empty()) {
    std::string list = JoinIndices(spec.gpu_indices);
    SetEnv(spec.env, "CUDA_VISIBLE_DEVICES", list);
    SetEnv(spec.env, "GPU_DEVICE_ORDINAL", list);
    SetEnv(spec.env, "SLURM_JOB_GPUS", list);
  }
}

Status PrepareJobDir(const std::string& dir, const JobSpec& spec, const std::string& script,
                     const std::string& spare) {
  bool for_other_user = geteuid() == 0 && spec.uid != 0;
  // A spare is only for a job of the agent's user (RecycleJobDir); never hand one to another.
  bool reused = !spare.empty() && !for_other_user && rename(spare.c_str(), dir.c_str()) == 0;
  if (!spare.empty() && !reused) RemoveJobDir(spare);
  std::string script_path = dir + "/" + kScriptFile;
  if (reused) {
    // Only the agent's user's jobs are recycled, so the directory has the right mode already.
    // The script is written in place: nothing reads it before the spec (written next) exists.
    Status st = WriteFileInPlace(script_path, script, 0700);
    if (!st.ok()) return st;
    return WriteFileAtomic(dir + "/" + kSpecFile, SpecToJson(spec), 0600);
  }
  if (mkdir(dir.c_str(), for_other_user ? 0711 : 0700) != 0) {
    return Internal("could not create job directory " + dir + ": " + std::strerror(errno));
  }
  chmod(dir.c_str(), for_other_user ? 0711 : 0700);  // undo the umask
  Status st = WriteFileAtomic(script_path, script, 0700);
  if (!st.ok()) return st;
  if (for_other_user) {
    if (chown(script_path.c_str(), spec.uid, spec.gid) != 0 || chmod(script_path.c_str(), 0500)) {
      return Internal("could not hand " + script_path + " to uid " + std::to_string(spec.uid) +
                      ": " + std::strerror(errno));
    }
  }
  return WriteFileAtomic(dir + "/" + kSpecFile, SpecToJson(spec), 0600);
}

Result<pid_t> SpawnSupervisor(const std::string& supervisor_exe, const std::string& dir) {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  InitSupervisorSpawnAttr(&attr);
  posix_spawn_file_actions_init(&actions);

  std::string log = dir + "/" + kSupervisorLogFile;
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  // A recycled directory's log keeps the lines of the jobs that used it before (each names its
  // job); RecycleJobDir bounds it.
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);

  std::string exe = supervisor_exe;
  std::string arg = dir;
  char* argv[] = {exe.data(), arg.data(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, exe.c_str(), &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return Internal("could not start " + supervisor_exe + ": " + std::strerror(rc));
  }
  return pid;
}

bool RecycleJobDir(const std::string& dir, const std::string& spare) {
  if (rename(dir.c_str(), spare.c_str()) != 0) return false;
  int dfd = open(spare.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return false;
  DIR* d = fdopendir(dfd);
  if (d == nullptr) {
    close(dfd);
    return false;
  }
  constexpr std::string_view kTmp = ".tmp";
  std::vector<std::string> names;
  bool ok = true;
  while (dirent* e = readdir(d)) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    bool regular = e->d_type == DT_REG;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      regular = fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
    }
    if (!regular) {
      ok = false;
      break;
    }
    if (name == kSupervisorLogFile) {
      // Diagnostics of the jobs that used this directory: bounded, a new log past that.
      struct stat st;
      if (fstatat(dfd, e->d_name, &st, 0) == 0 && st.st_size > kMaxRecycledLogBytes) {
        unlinkat(dfd, e->d_name, 0);
        continue;
      }
    }
    // The script and the log keep their names: nothing takes them for the next job's (the
    // script is rewritten before the spec exists, the log's lines name their jobs).
    if (name == kScriptFile || name == kSupervisorLogFile) continue;
    if (name.size() < kTmp.size() || name.substr(name.size() - kTmp.size()) != kTmp) {
      names.emplace_back(name);
    }
  }
  // Renamed after the walk: a directory changed while it is read may list an entry twice.
  for (size_t i = 0; ok && i < names.size(); ++i) {
    std::string tmp = names[i] + ".tmp";
    ok = renameat(dfd, names[i].c_str(), dfd, tmp.c_str()) == 0;
  }
  closedir(d);  // closes dfd
  return ok;
}

void RemoveJobDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

SupervisorProbe SupervisorProbe::Proc() {
  return SupervisorProbe{ProcIsSupervisorOf, ProcFindSupervisorOf};
}

ScannedJob InspectJobDir(const std::string& dir, const SupervisorProbe& probe, int64_t now) {
  ScannedJob job;
  job.dir = dir;
  if (ReadResult(dir, &job.result)) {
    job.kind = ScannedJob::Kind::kFinished;
    job.job_id = job.result.job_id;
    job.generation = job.result.generation;
    return job;
  }
  Result<std::string> text = ReadWholeFile(dir + "/" + kSpecFile);
  Result<JobSpec> spec = text.ok() ? SpecFromJson(*text) : Result<JobSpec>(text.status());
  if (!spec.ok()) {
    job.problem = spec.status().message();
    return job;
  }
  job.job_id = spec->job_id;
  job.generation = spec->generation;
  job.gpu_indices = spec->gpu_indices;
  job.cgroup_dirs = spec->cgroup_dirs;
  job.cgroup_leaf = spec->cgroup_leaf;
  job.start_time = spec->launch_time;
  if (Result<std::string> state = ReadWholeFile(dir + "/" + kStateFile); state.ok()) {
    if (Result<SupervisorState> s = StateFromJson(*state); s.ok()) job.start_time = s->start_time;
  }

  pid_t pid = 0;
  if (Result<std::string> pid_text = ReadWholeFile(dir + "/" + kPidFile); pid_text.ok()) {
    pid = static_cast<pid_t>(std::strtol(pid_text->c_str(), nullptr, 10));
    if (!probe.is_supervisor_of(pid, dir)) pid = 0;
  }
  // No pid file yet: the agent died right after the spawn, before the supervisor wrote it.
  if (pid == 0) pid = probe.find_supervisor_of(dir);
  if (pid > 0) {
    job.kind = ScannedJob::Kind::kRunning;
    job.supervisor_pid = pid;
    return job;
  }
  // The supervisor may have written its result and exited since we first looked.
  if (ReadResult(dir, &job.result)) {
    job.kind = ScannedJob::Kind::kFinished;
    return job;
  }
  job.kind = ScannedJob::Kind::kLost;
  job.result.job_id = job.job_id;
  job.result.generation = job.generation;
  job.result.signal = SIGKILL;
  job.result.message = "supervisor lost";
  job.result.start_time = job.start_time;
  job.result.end_time = now;
  return job;
}

std::vector<ScannedJob> ScanJobDirs(const std::string& jobs_root, const SupervisorProbe& probe,
                                    int64_t now) {
  std::vector<std::pair<uint64_t, std::string>> dirs;
  if (DIR* d = opendir(jobs_root.c_str())) {
    while (dirent* e = readdir(d)) {
      char* end;
      errno = 0;
      unsigned long long id = std::strtoull(e->d_name, &end, 10);
      if (*end != '\0' || e->d_name[0] < '0' || e->d_name[0] > '9' || errno != 0) continue;
      dirs.emplace_back(id, jobs_root + "/" + e->d_name);
    }
    closedir(d);
  }
  std::sort(dirs.begin(), dirs.end());
  std::vector<ScannedJob> out;
  out.reserve(dirs.size());
  for (const auto& [id, dir] : dirs) out.push_back(InspectJobDir(dir, probe, now));
  return out;
}

}  // namespace shoal::agent
