#include "agent/job_files.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <nlohmann/json.hpp>

namespace shoal::agent {
namespace {

using Json = nlohmann::json;

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// Parses `text` and runs `fill` on the object; any type error becomes an InvalidArgument.
template <typename T, typename Fill>
Result<T> Decode(const std::string& text, const char* what, Fill fill) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument(std::string("malformed ") + what + ": not a JSON object");
  }
  T out;
  try {
    fill(j, out);
  } catch (const Json::exception& e) {
    return InvalidArgument(std::string("malformed ") + what + ": " + e.what());
  }
  return out;
}

// Reads j[key] into `out` when present; absent keys keep their defaults.
template <typename V>
void Get(const Json& j, const char* key, V& out) {
  auto it = j.find(key);
  if (it != j.end() && !it->is_null()) it->get_to(out);
}

}  // namespace

std::string SpecToJson(const JobSpec& s) {
  Json j = {{"job_id", s.job_id},
            {"generation", s.generation},
            {"env", s.env},
            {"args", s.args},
            {"work_dir", s.work_dir},
            {"stdout_path", s.stdout_path},
            {"stderr_path", s.stderr_path},
            {"open_append", s.open_append},
            {"time_limit_s", s.time_limit_s},
            {"kill_wait_s", s.kill_wait_s},
            {"uid", s.uid},
            {"gid", s.gid},
            {"groups", s.groups},
            {"gpu_indices", s.gpu_indices},
            {"cpus", s.cpus},
            {"launch_time", s.launch_time}};
  if (!s.cgroup_dirs.empty()) {
    j["cgroup_dirs"] = s.cgroup_dirs;
    j["cgroup_leaf"] = s.cgroup_leaf;
    j["memory_limit_bytes"] = s.memory_limit_bytes;
  }
  if (s.container.Enabled()) {
    const ContainerSpec& c = s.container;
    j["container"] = {{"image", c.image},
                      {"mounts", c.mounts},
                      {"workdir", c.workdir},
                      {"name", c.name},
                      {"env", c.env},
                      {"remap_root", c.remap_root},
                      {"mount_home", c.mount_home},
                      {"writable", c.writable},
                      {"entrypoint", c.entrypoint}};
    j["home"] = s.home;
    if (!s.containers_dir.empty()) j["containers_dir"] = s.containers_dir;
  }
  if (!s.tasks.empty()) {
    Json tasks = Json::array();
    for (const JobSpec::Task& t : s.tasks) tasks.push_back({{"rank", t.rank}, {"env", t.env}});
    j["tasks"] = std::move(tasks);
    j["argv"] = s.argv;
    j["io_addr"] = s.io_addr;
    j["io_port"] = s.io_port;
    j["io_key"] = s.io_key;
    j["kill_on_bad_exit"] = s.kill_on_bad_exit;
    j["input"] = s.input;
    j["pty"] = s.pty;
    j["pty_rows"] = s.pty_rows;
    j["pty_cols"] = s.pty_cols;
  }
  return j.dump() + "\n";
}

Result<JobSpec> SpecFromJson(const std::string& text) {
  return Decode<JobSpec>(text, "job spec", [](const Json& j, JobSpec& s) {
    j.at("job_id").get_to(s.job_id);
    j.at("generation").get_to(s.generation);
    Get(j, "env", s.env);
    Get(j, "args", s.args);
    Get(j, "work_dir", s.work_dir);
    j.at("stdout_path").get_to(s.stdout_path);
    Get(j, "stderr_path", s.stderr_path);
    Get(j, "open_append", s.open_append);
    Get(j, "time_limit_s", s.time_limit_s);
    Get(j, "kill_wait_s", s.kill_wait_s);
    Get(j, "uid", s.uid);
    Get(j, "gid", s.gid);
    Get(j, "groups", s.groups);
    Get(j, "gpu_indices", s.gpu_indices);
    Get(j, "cpus", s.cpus);
    Get(j, "launch_time", s.launch_time);
    Get(j, "cgroup_dirs", s.cgroup_dirs);
    Get(j, "cgroup_leaf", s.cgroup_leaf);
    Get(j, "memory_limit_bytes", s.memory_limit_bytes);
    if (auto c = j.find("container"); c != j.end() && c->is_object()) {
      Get(*c, "image", s.container.image);
      Get(*c, "mounts", s.container.mounts);
      Get(*c, "workdir", s.container.workdir);
      Get(*c, "name", s.container.name);
      Get(*c, "env", s.container.env);
      Get(*c, "remap_root", s.container.remap_root);
      Get(*c, "mount_home", s.container.mount_home);
      Get(*c, "writable", s.container.writable);
      Get(*c, "entrypoint", s.container.entrypoint);
    }
    Get(j, "home", s.home);
    Get(j, "containers_dir", s.containers_dir);
    if (auto tasks = j.find("tasks"); tasks != j.end() && tasks->is_array()) {
      for (const Json& t : *tasks) {
        JobSpec::Task task;
        t.at("rank").get_to(task.rank);
        Get(t, "env", task.env);
        s.tasks.push_back(std::move(task));
      }
    }
    Get(j, "argv", s.argv);
    Get(j, "io_addr", s.io_addr);
    Get(j, "io_port", s.io_port);
    Get(j, "io_key", s.io_key);
    Get(j, "kill_on_bad_exit", s.kill_on_bad_exit);
    Get(j, "input", s.input);
    Get(j, "pty", s.pty);
    Get(j, "pty_rows", s.pty_rows);
    Get(j, "pty_cols", s.pty_cols);
  });
}

std::string StateToJson(const SupervisorState& s) {
  Json j = {{"supervisor_pid", s.supervisor_pid},
            {"script_pid", s.script_pid},
            {"start_time", s.start_time}};
  return j.dump() + "\n";
}

Result<SupervisorState> StateFromJson(const std::string& text) {
  return Decode<SupervisorState>(text, "supervisor state", [](const Json& j, SupervisorState& s) {
    j.at("supervisor_pid").get_to(s.supervisor_pid);
    j.at("script_pid").get_to(s.script_pid);
    j.at("start_time").get_to(s.start_time);
  });
}

std::string ResultToJson(const JobResult& r) {
  Json j = {{"job_id", r.job_id},
            {"generation", r.generation},
            {"exit_code", r.exit_code},
            {"signal", r.signal},
            {"core_dumped", r.core_dumped},
            {"timed_out", r.timed_out},
            {"launch_failed", r.launch_failed},
            {"message", r.message},
            {"start_time", r.start_time},
            {"end_time", r.end_time},
            {"user_cpu_us", r.user_cpu_us},
            {"system_cpu_us", r.system_cpu_us},
            {"max_rss_kb", r.max_rss_kb},
            {"out_of_memory", r.out_of_memory}};
  return j.dump() + "\n";
}

Result<JobResult> ResultFromJson(const std::string& text) {
  return Decode<JobResult>(text, "job result", [](const Json& j, JobResult& r) {
    j.at("job_id").get_to(r.job_id);
    j.at("generation").get_to(r.generation);
    j.at("exit_code").get_to(r.exit_code);
    j.at("signal").get_to(r.signal);
    Get(j, "core_dumped", r.core_dumped);
    Get(j, "timed_out", r.timed_out);
    Get(j, "launch_failed", r.launch_failed);
    Get(j, "message", r.message);
    Get(j, "start_time", r.start_time);
    Get(j, "end_time", r.end_time);
    Get(j, "user_cpu_us", r.user_cpu_us);
    Get(j, "system_cpu_us", r.system_cpu_us);
    Get(j, "max_rss_kb", r.max_rss_kb);
    Get(j, "out_of_memory", r.out_of_memory);
  });
}

Status WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode) {
  std::string tmp = path + ".tmp";
  // An existing tmp file (a recycled job directory's, job_dir.h) is written over, not truncated
  // first: freeing its blocks to allocate them again costs a discard on a `discard` mount and a
  // forced writeback at close (ext4's auto_da_alloc after a truncation to zero).
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, mode);
  if (fd < 0) return Internal(Errno("could not create", tmp));
  struct stat st;
  bool stat_ok = ::fstat(fd, &st) == 0;
  off_t old_size = stat_ok ? st.st_size : 0;
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Internal(Errno("could not write", tmp));
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (old_size > static_cast<off_t>(content.size()) &&
      ::ftruncate(fd, static_cast<off_t>(content.size())) != 0) {
    Status s = Internal(Errno("could not truncate", tmp));
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  // The umask may have narrowed the mode (or a leftover have another); the caller asked for
  // exactly this one.
  if (!stat_ok || (st.st_mode & 07777) != mode) ::fchmod(fd, mode);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Internal(Errno("could not rename to", path));
    ::unlink(tmp.c_str());
    return s;
  }
  return Status::Ok();
}

Status WriteFileInPlace(const std::string& path, const std::string& content, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, mode);
  if (fd < 0) return Internal(Errno("could not create", path));
  struct stat st;
  off_t old_size = ::fstat(fd, &st) == 0 ? st.st_size : 0;
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Internal(Errno("could not write", path));
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  Status result = Status::Ok();
  if (old_size > static_cast<off_t>(content.size()) &&
      ::ftruncate(fd, static_cast<off_t>(content.size())) != 0) {
    result = Internal(Errno("could not truncate", path));
  }
  if (result.ok() && (st.st_mode & 07777) != mode && ::fchmod(fd, mode) != 0) {
    result = Internal(Errno("could not chmod", path));
  }
  ::close(fd);
  return result;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status(errno == ENOENT ? StatusCode::kNotFound : StatusCode::kInternal,
                  Errno("could not open", path));
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Internal(Errno("could not read", path));
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

int SupervisorSignalNumber(SupervisorSignal which) { return SIGRTMIN + static_cast<int>(which); }

void InitSupervisorSpawnAttr(posix_spawnattr_t* attr) {
  posix_spawnattr_init(attr);
  sigset_t mask, defaults;
  sigemptyset(&mask);
  for (int i = 0; i < kSupervisorSignalCount; ++i) {
    sigaddset(&mask, SupervisorSignalNumber(static_cast<SupervisorSignal>(i)));
  }
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2}) {
    sigaddset(&defaults, sig);
  }
  posix_spawnattr_setflags(attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setsigmask(attr, &mask);
  posix_spawnattr_setsigdefault(attr, &defaults);
}

int EncodeSignalRequest(int sig, bool whole_tree) {
  return (sig & 0xff) | (whole_tree ? 0x100 : 0);
}

void DecodeSignalRequest(int value, int* sig, bool* whole_tree) {
  *sig = value & 0xff;
  *whole_tree = (value & 0x100) != 0;
}

int ClampTimeLimitValue(int64_t time_limit_s) {
  if (time_limit_s <= 0) return 0;
  return time_limit_s > INT_MAX ? INT_MAX : static_cast<int>(time_limit_s);
}

}  // namespace shoal::agent
