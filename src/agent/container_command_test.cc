#include "agent/container_command.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/strings.h"

namespace shoal::agent {
namespace {

bool Has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// The value following flag `flag` each time it appears.
std::vector<std::string> Values(const std::vector<std::string>& argv, const std::string& flag) {
  std::vector<std::string> out;
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == flag) out.push_back(argv[i + 1]);
  }
  return out;
}

ContainerRun BaseRun() {
  ContainerRun run;
  run.podman = "/usr/bin/podman";
  run.name = "shoal-12-batch-0";
  run.uid = 1000;
  run.cwd = "/home/u/job";
  run.home = "/home/u";
  run.env = {"SLURM_JOB_ID=12", "PATH=/usr/bin", "HOME=/home/u", "LD_LIBRARY_PATH=/x", "SECRET=s"};
  return run;
}

TEST(PodmanRunArgv, RootlessDefaults) {
  ContainerSpec spec;
  spec.image = "localhost/t:1";
  std::vector<std::string> argv = PodmanRunArgv(spec, BaseRun(), {"/bin/sh", "-c", "true"});
  ASSERT_GE(argv.size(), 6u);
  EXPECT_EQ(argv[0], "/usr/bin/podman");
  EXPECT_EQ(argv[1], "run");
  EXPECT_TRUE(Has(argv, "--rm"));
  EXPECT_TRUE(Has(argv, "--pull=never"));
  EXPECT_TRUE(Has(argv, "--init"));
  EXPECT_TRUE(Has(argv, "--userns=keep-id"));
  EXPECT_TRUE(Has(argv, "--entrypoint="));
  EXPECT_FALSE(Has(argv, "--read-only"));
  EXPECT_EQ(Values(argv, "--name"), std::vector<std::string>{"shoal-12-batch-0"});
  EXPECT_EQ(Values(argv, "--volume"), std::vector<std::string>{"/home/u/job:/home/u/job"});
  EXPECT_EQ(Values(argv, "--workdir"), std::vector<std::string>{"/home/u/job"});
  // Names only, no values; the host's PATH and library path stay outside.
  std::vector<std::string> env = Values(argv, "--env");
  EXPECT_TRUE(Has(env, "SLURM_JOB_ID"));
  EXPECT_TRUE(Has(env, "SECRET"));
  EXPECT_TRUE(Has(env, "HOME"));
  EXPECT_FALSE(Has(env, "PATH"));
  EXPECT_FALSE(Has(env, "LD_LIBRARY_PATH"));
  // The image, then the command, last.
  ASSERT_GE(argv.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(argv.end() - 4, argv.end()),
            (std::vector<std::string>{"localhost/t:1", "/bin/sh", "-c", "true"}));
}

// A named container runs in its kept root filesystem, not in a fresh copy of the image.
TEST(PodmanRunArgv, NamedContainerRunsInItsRootfs) {
  ContainerSpec spec;
  spec.name = "build";  // a later step: the name alone
  ContainerRun run = BaseRun();
  run.rootfs = "/var/lib/shoal/containers/12/build/rootfs";
  std::vector<std::string> argv = PodmanRunArgv(spec, run, {"cat", "/x"});
  EXPECT_EQ(std::vector<std::string>(argv.end() - 4, argv.end()),
            (std::vector<std::string>{"--rootfs", run.rootfs, "cat", "/x"}));
  EXPECT_TRUE(Has(argv, "--rm"));  // the process's container goes; the filesystem stays
  EXPECT_FALSE(Has(argv, "--pull=never"));
  EXPECT_TRUE(Has(argv, "--userns=keep-id"));
}

TEST(PodmanRunArgv, OptionsMapToPodmanFlags) {
  ContainerSpec spec;
  spec.image = "localhost/t:1";
  spec.mounts = {"/data:/mnt:ro+rprivate", "/scratch", "/home/u/job:/job"};
  spec.workdir = "/mnt";
  spec.env = {"PATH"};
  spec.remap_root = true;
  spec.mount_home = true;
  spec.writable = false;
  spec.entrypoint = true;
  ContainerRun run = BaseRun();
  run.extra_mounts = {"/s/slurm_script:/s/slurm_script:ro"};
  std::vector<std::string> argv = PodmanRunArgv(spec, run, {"x"});
  EXPECT_FALSE(Has(argv, "--userns=keep-id"));  // remapped: the user is root inside
  EXPECT_TRUE(Has(argv, "--read-only"));
  EXPECT_FALSE(Has(argv, "--entrypoint="));
  EXPECT_EQ(Values(argv, "--volume"),
            (std::vector<std::string>{"/data:/mnt:ro,rprivate", "/scratch:/scratch",
                                      "/home/u/job:/job", "/home/u/job:/home/u/job",
                                      "/home/u:/home/u", "/s/slurm_script:/s/slurm_script:ro"}));
  EXPECT_EQ(Values(argv, "--workdir"), std::vector<std::string>{"/mnt"});
  EXPECT_TRUE(Has(Values(argv, "--env"), "PATH"));  // --container-env lets it through
}

TEST(PodmanRunArgv, MountsNeverCollide) {
  ContainerSpec spec;
  spec.image = "i";
  spec.mounts = {"/elsewhere:/home/u/job"};
  spec.mount_home = true;
  ContainerRun run = BaseRun();
  run.home = "/home/u/job";
  std::vector<std::string> argv = PodmanRunArgv(spec, run, {"x"});
  EXPECT_EQ(Values(argv, "--volume"), std::vector<std::string>{"/elsewhere:/home/u/job"});
}

TEST(PodmanRunArgv, RootJobsAndGpus) {
  ContainerSpec spec;
  spec.image = "i";
  ContainerRun run = BaseRun();
  run.uid = 0;
  run.env.push_back("CUDA_VISIBLE_DEVICES=2,3");
  run.gpu_devices = {"nvidia.com/gpu=2", "nvidia.com/gpu=3"};
  run.gpu_count = 2;
  run.tty = true;
  std::vector<std::string> argv = PodmanRunArgv(spec, run, {"x"});
  EXPECT_FALSE(Has(argv, "--userns=keep-id"));  // podman as root: no user namespace to keep
  EXPECT_TRUE(Has(argv, "--tty"));
  EXPECT_TRUE(Has(argv, "--device=nvidia.com/gpu=2"));
  EXPECT_TRUE(Has(argv, "--device=nvidia.com/gpu=3"));
  std::vector<std::string> env = Values(argv, "--env");
  EXPECT_TRUE(Has(env, "CUDA_VISIBLE_DEVICES=0,1"));  // counted from 0 inside
  EXPECT_FALSE(Has(env, "CUDA_VISIBLE_DEVICES"));
}

TEST(PodmanEnvironment, HomeIsTheUsersAndForeignRuntimeDirsGo) {
  std::vector<std::string> env =
      PodmanEnvironment({"HOME=/root", "XDG_RUNTIME_DIR=/run/user/0", "A=1"}, 1000, "/home/u");
  EXPECT_TRUE(Has(env, "HOME=/home/u"));
  EXPECT_FALSE(Has(env, "HOME=/root"));
  EXPECT_FALSE(Has(env, "XDG_RUNTIME_DIR=/run/user/0"));
  EXPECT_TRUE(Has(env, "A=1"));
  EXPECT_TRUE(Has(PodmanEnvironment({"HOME=/x"}, 1000, ""), "HOME=/x"));
}

TEST(ContainerName, UniquePerUnitAndRank) {
  EXPECT_EQ(ContainerName(12, "batch", 0, ""), "shoal-12-batch-0");
  EXPECT_EQ(ContainerName(12, "3", 5, "ctr"), "shoal-12-3-5-ctr");
}

}  // namespace
}  // namespace shoal::agent
