#include "agent/job_cgroup.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace shoal::agent {
namespace {

namespace fs = std::filesystem;

// A fake /proc/self (mountinfo, cgroup) and fake cgroup mounts (plain directories).
class JobCgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal_job_cgroup_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(dir_ + path).parent_path());
    std::ofstream(dir_ + path) << text;
  }
  std::string dir_;
};

TEST_F(JobCgroupTest, V1LayoutNestsUnderTheAgentsOwnCgroupsInEachHierarchy) {
  const std::string cg = dir_ + "/sys/fs/cgroup";
  fs::create_directories(cg + "/memory/box/agent1");
  fs::create_directories(cg + "/cpu,cpuacct/system.slice");
  Write("/proc/self/mountinfo",
        "25 1 0:22 / /sys rw - sysfs sysfs rw\n"
        "30 25 0:26 / " +
            cg +
            "/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
            "31 25 0:27 / " +
            cg +
            "/cpu,cpuacct rw,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct\n"
            "32 25 0:28 / " +
            cg + "/unified rw,relatime - cgroup2 cgroup2 rw\n");
  Write("/proc/self/cgroup",
        "4:memory:/box/agent1\n3:cpu,cpuacct:/system.slice\n1:name=systemd:/\n0::/\n");
  CgroupLayout layout = PrepareCgroupLayout("node1", dir_ + "/proc");
  ASSERT_TRUE(layout.ok()) << layout.problem;
  EXPECT_TRUE(layout.memory);
  ASSERT_EQ(layout.parents.size(), 2u);  // v1 wins over the controller-less unified mount
  EXPECT_EQ(layout.parents[0], cg + "/memory/box/agent1/shoal/node1");
  EXPECT_EQ(layout.parents[1], cg + "/cpu,cpuacct/system.slice/shoal/node1");
  EXPECT_TRUE(fs::is_directory(layout.parents[0]));
  EXPECT_TRUE(fs::is_directory(layout.parents[1]));
  EXPECT_EQ(JobCgroupDirs(layout, 42), (std::vector<std::string>{layout.parents[0] + "/job_42",
                                                                 layout.parents[1] + "/job_42"}));
  EXPECT_EQ(StepCgroupLeaf(true, 0), "step_batch");
  EXPECT_EQ(StepCgroupLeaf(false, 3), "step_3");
}

TEST_F(JobCgroupTest, AMountOfAnotherPartOfTheHierarchyIsResolvedOrSkipped) {
  const std::string cg = dir_ + "/cg";
  fs::create_directories(cg + "/memory/inner");
  // The mount shows /outer of the hierarchy (a container's view); the process is in
  // /outer/inner, so its directory is <mount>/inner.
  Write("/proc/self/mountinfo",
        "30 25 0:26 /outer " + cg + "/memory rw - cgroup cgroup rw,memory\n");
  Write("/proc/self/cgroup", "4:memory:/outer/inner\n");
  CgroupLayout layout = PrepareCgroupLayout("n", dir_ + "/proc");
  ASSERT_TRUE(layout.ok()) << layout.problem;
  EXPECT_EQ(layout.parents[0], cg + "/memory/inner/shoal/n");

  Write("/proc/self/cgroup", "4:memory:/elsewhere\n");
  EXPECT_FALSE(PrepareCgroupLayout("n", dir_ + "/proc").ok());
}

TEST_F(JobCgroupTest, V2WithoutAMemoryControllerAccountsButDoesNotLimit) {
  const std::string cg = dir_ + "/cg2";
  fs::create_directories(cg + "/agent.service");
  Write("/proc/self/mountinfo", "32 25 0:28 / " + cg + " rw - cgroup2 cgroup2 rw\n");
  Write("/proc/self/cgroup", "0::/agent.service\n");
  Write("/cg2/agent.service/cgroup.controllers", "cpu pids\n");
  CgroupLayout layout = PrepareCgroupLayout("n1", dir_ + "/proc");
  ASSERT_TRUE(layout.ok()) << layout.problem;
  EXPECT_FALSE(layout.memory);
  EXPECT_NE(layout.problem.find("no memory controller"), std::string::npos) << layout.problem;
  EXPECT_EQ(layout.parents[0], cg + "/agent.service/shoal/n1");
}

TEST_F(JobCgroupTest, NoCgroupFilesystemIsSaidPlainly) {
  Write("/proc/self/mountinfo", "25 1 0:22 / /sys rw - sysfs sysfs rw\n");
  Write("/proc/self/cgroup", "0::/\n");
  CgroupLayout layout = PrepareCgroupLayout("n1", dir_ + "/proc");
  EXPECT_FALSE(layout.ok());
  EXPECT_EQ(layout.problem, "no cgroup hierarchy is mounted");
}

TEST_F(JobCgroupTest, OomKillsUsageAndRemoval) {
  const std::string v1 = dir_ + "/memory/job_5", v2 = dir_ + "/unified/job_5";
  Write("/memory/job_5/step_batch/memory.oom_control",
        "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  Write("/unified/job_5/step_batch/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
  EXPECT_EQ(CountOomKills({v1}, "step_batch"), 2u);
  EXPECT_EQ(CountOomKills({v2}, "step_batch"), 1u);
  EXPECT_EQ(CountOomKills({v1}, "step_0"), 0u);

  Write("/memory/job_5/memory.usage_in_bytes", "1048576\n");
  EXPECT_FALSE(ReadCgroupUsage({v1}).has_value());  // no CPU figure: not the job's usage
  Write("/memory/job_5/cpuacct.usage", "250000000\n");
  auto u = ReadCgroupUsage({v1});
  ASSERT_TRUE(u.has_value());
  EXPECT_DOUBLE_EQ(u->cpu_seconds, 0.25);
  EXPECT_EQ(u->memory_bytes, 1048576u);

  // rmdir removes only empty directories; on a real cgroup filesystem the control files do not
  // count, here the test empties them first.
  fs::remove(dir_ + "/memory/job_5/step_batch/memory.oom_control");
  RemoveJobCgroup({v1}, "step_batch");
  EXPECT_FALSE(fs::exists(v1 + "/step_batch"));
  EXPECT_TRUE(fs::exists(v1));  // still holds files: another step's, as far as rmdir knows
  RemoveJobCgroup({dir_ + "/nowhere/job_5"}, "step_batch");  // missing: fine
}

}  // namespace
}  // namespace shoal::agent
