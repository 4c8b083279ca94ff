// How a batch script or a step's tasks run in a container: the `podman run` command line the
// supervisor executes instead of the program (docs/containers.md). Every podman flag shoal
// passes is chosen here; what depends on the host (OCI runtime, storage driver, cgroup manager)
// belongs in its containers.conf, not in shoal.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model.h"

namespace shoal::agent {

struct ContainerRun {
  std::string podman;            // the podman executable, absolute
  std::string name;              // the container's name (ContainerName)
  uint32_t uid = 0;              // the job's user (0: podman runs as root, no user namespace)
  std::string cwd;               // the job's working directory here: mounted at the same path
  std::string home;              // the user's home directory ("" unknown)
  std::vector<std::string> env;  // the job's KEY=VALUE environment
  // The GPUs the job holds here, as podman --device values ("nvidia.com/gpu=0" or "/dev/nvidia0")
  // and how many: inside, CUDA_VISIBLE_DEVICES counts them from 0.
  std::vector<std::string> gpu_devices;
  size_t gpu_count = 0;
  std::vector<std::string> extra_mounts;  // "SRC:DST[:opts]" shoal adds (the batch script)
  bool tty = false;                       // srun --pty's task
  // A named container's root filesystem (--container-name): podman runs there (--rootfs)
  // instead of in a fresh copy of the image, so changes stay for the job's next steps.
  std::string rootfs;
};

// "shoal-<job>-<unit>-<rank>": unique on the node while the step runs, so a leftover can be
// removed by name. A --container-name becomes part of it.
std::string ContainerName(uint64_t job_id, const std::string& unit, uint32_t rank,
                          const std::string& user_name);

// The argv of `podman run` for `spec` running `command` inside.
std::vector<std::string> PodmanRunArgv(const ContainerSpec& spec, const ContainerRun& run,
                                       const std::vector<std::string>& command);

// Environment for the podman process itself: the job's, with HOME set to the user's home (where
// rootless podman keeps its storage and configuration) and an XDG_RUNTIME_DIR that is not the
// user's own removed (podman would try to use it).
std::vector<std::string> PodmanEnvironment(const std::vector<std::string>& job_env, uint32_t uid,
                                           const std::string& home);

// podman found in `path_list` (a PATH value) or the usual places; "" when none.
std::string FindPodman(const std::string& path_list);

// The --device values for GPUs `indices` on this host: CDI names when an NVIDIA CDI spec is
// installed, else the /dev/nvidiaN nodes that exist (plus the control devices); none for
// emulated GPUs.
std::vector<std::string> GpuDeviceArgs(const std::vector<uint32_t>& indices);

}  // namespace shoal::agent
