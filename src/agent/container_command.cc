#include "agent/container_command.h"

#include <unistd.h>

#include <algorithm>
#include <set>

#include "common/strings.h"

namespace shoal::agent {
namespace {

// The job's variables that describe the host, not the job: the image's own values stay unless
// --container-env names them.
const std::set<std::string>& HostOnlyVariables() {
  static const std::set<std::string> vars = {"PATH",       "LD_LIBRARY_PATH", "LD_PRELOAD",
                                             "HOSTNAME",   "XDG_RUNTIME_DIR", "container",
                                             "PYTHONPATH", "PYTHONHOME"};
  return vars;
}

std::string KeyOf(const std::string& kv) { return kv.substr(0, kv.find('=')); }

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

}  // namespace

std::string ContainerName(uint64_t job_id, const std::string& unit, uint32_t rank,
                          const std::string& user_name) {
  std::string name = "shoal-" + std::to_string(job_id) + "-" + unit + "-" + std::to_string(rank);
  if (!user_name.empty()) name += "-" + user_name;
  return name;
}

std::vector<std::string> PodmanRunArgv(const ContainerSpec& spec, const ContainerRun& run,
                                       const std::vector<std::string>& command) {
  std::vector<std::string> argv = {run.podman, "run", "--rm", "--name", run.name};
  // Never reach for a registry: an image is in the user's storage or an archive on disk.
  if (run.rootfs.empty()) argv.push_back("--pull=never");
  // As enroot does, the host's network: MPI, NCCL and the job's own ports work unchanged.
  argv.push_back("--network=host");
  // catatonit as PID 1 forwards scancel's and the time limit's signals and reaps orphans.
  argv.push_back("--init");
  argv.push_back("--interactive");  // the task's stdin (srun's, or /dev/null) reaches it
  if (run.tty) argv.push_back("--tty");
  // No copy of the output in podman's container log: it goes to the job's files or srun.
  argv.push_back("--log-driver=none");
  if (run.uid != 0 && !spec.remap_root) argv.push_back("--userns=keep-id");
  if (!spec.writable) argv.push_back("--read-only");
  if (!spec.entrypoint) argv.push_back("--entrypoint=");

  std::set<std::string> destinations;
  std::vector<std::string> volumes;
  for (const std::string& m : spec.mounts) {
    std::vector<std::string> parts = Split(m, ':');
    if (parts.size() == 1) parts.push_back(parts[0]);
    destinations.insert(parts[1]);
    std::string v = parts[0] + ":" + parts[1];
    if (parts.size() == 3) {
      std::string flags = parts[2];
      std::replace(flags.begin(), flags.end(), '+', ',');
      v += ":" + flags;
    }
    volumes.push_back(v);
  }
  auto same_path = [&](const std::string& path, const std::string& opts) {
    if (path.empty() || path == "/" || destinations.count(path) != 0) return;
    destinations.insert(path);
    volumes.push_back(path + ":" + path + opts);
  };
  same_path(run.cwd, "");
  if (spec.mount_home) same_path(run.home, "");
  for (const std::string& m : run.extra_mounts) volumes.push_back(m);
  for (const std::string& v : volumes) {
    argv.push_back("--volume");
    argv.push_back(v);
  }
  argv.push_back("--workdir");
  argv.push_back(spec.workdir.empty() ? (run.cwd.empty() ? "/" : run.cwd) : spec.workdir);

  for (const std::string& d : run.gpu_devices) argv.push_back("--device=" + d);
  // Names only: podman takes each value from its own environment, so no value shows in `ps`.
  std::set<std::string> wanted(spec.env.begin(), spec.env.end());
  for (const std::string& kv : run.env) {
    std::string key = KeyOf(kv);
    if (key.empty() || (HostOnlyVariables().count(key) != 0 && wanted.count(key) == 0)) continue;
    if (key == "CUDA_VISIBLE_DEVICES" && run.gpu_count > 0) continue;
    argv.push_back("--env");
    argv.push_back(key);
  }
  if (run.gpu_count > 0) {
    std::vector<std::string> ids;
    for (size_t i = 0; i < run.gpu_count; ++i) ids.push_back(std::to_string(i));
    argv.push_back("--env");
    argv.push_back("CUDA_VISIBLE_DEVICES=" + Join(ids, ","));
  }
  if (run.rootfs.empty()) {
    argv.push_back(spec.image);
  } else {
    argv.push_back("--rootfs");
    argv.push_back(run.rootfs);
  }
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

std::vector<std::string> PodmanEnvironment(const std::vector<std::string>& job_env, uint32_t uid,
                                           const std::string& home) {
  std::vector<std::string> out;
  const std::string own_runtime = "/run/user/" + std::to_string(uid);
  for (const std::string& kv : job_env) {
    const std::string key = KeyOf(kv);
    if (key == "HOME" && !home.empty()) continue;
    if (key == "XDG_RUNTIME_DIR" &&
        (kv.substr(key.size() + 1) != own_runtime || !Exists(own_runtime))) {
      continue;
    }
    out.push_back(kv);
  }
  if (!home.empty()) out.push_back("HOME=" + home);
  return out;
}

std::string FindPodman(const std::string& path_list) {
  for (const std::string& dir : Split(path_list + ":/usr/bin:/usr/local/bin:/bin", ':')) {
    if (dir.empty() || dir[0] != '/') continue;
    std::string candidate = dir + "/podman";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::vector<std::string> GpuDeviceArgs(const std::vector<uint32_t>& indices) {
  std::vector<std::string> out;
  if (indices.empty()) return out;
  if (Exists("/etc/cdi/nvidia.yaml") || Exists("/var/run/cdi/nvidia.yaml") ||
      Exists("/etc/cdi/nvidia.json") || Exists("/var/run/cdi/nvidia.json")) {
    for (uint32_t i : indices) out.push_back("nvidia.com/gpu=" + std::to_string(i));
    return out;
  }
  for (uint32_t i : indices) {
    std::string dev = "/dev/nvidia" + std::to_string(i);
    if (Exists(dev)) out.push_back(dev);
  }
  if (out.empty()) return out;  // emulated GPUs: nothing to pass
  for (const char* ctl : {"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"}) {
    if (Exists(ctl)) out.push_back(ctl);
  }
  return out;
}

}  // namespace shoal::agent
