#include "agent/node_metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "metrics/metrics.h"

namespace shoal::agent {
namespace {

namespace fs = std::filesystem;

class NodeMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal_node_metrics_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ + "/proc");
    fs::create_directories(dir_ + "/cgroup");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(dir_ + path).parent_path());
    std::ofstream(dir_ + path) << text;
  }
  // A /proc/PID/stat line: ppid, utime+stime+cutime+cstime split as given, rss in pages.
  void Process(pid_t pid, pid_t ppid, long utime, long cutime, long rss_pages,
               const std::string& cgroup = "/user.slice") {
    std::string stat = std::to_string(pid) + " (sh (x) y) S " + std::to_string(ppid) +
                       " 1 1 0 -1 0 0 0 0 0 " + std::to_string(utime) + " 0 " +
                       std::to_string(cutime) + " 0 20 0 1 0 100 1000 " +
                       std::to_string(rss_pages) + " 0 0\n";
    Write("/proc/" + std::to_string(pid) + "/stat", stat);
    Write("/proc/" + std::to_string(pid) + "/cgroup", "0::" + cgroup + "\n");
  }

  std::string dir_;
};

TEST_F(NodeMetricsTest, JobUsageSumsTheSupervisorsProcessTree) {
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  Process(100, 1, 10, 5, 10);       // supervisor (5 ticks of reaped children)
  Process(101, 100, 200, 0, 1000);  // the script
  Process(102, 101, 300, 0, 2000);  // its child
  Process(200, 1, 9999, 0, 9999);   // someone else
  auto u = ReadJobUsage(100, {}, dir_ + "/proc");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->source, "proc");
  EXPECT_DOUBLE_EQ(u->cpu_seconds, 515 / hz);
  EXPECT_EQ(u->memory_bytes, static_cast<uint64_t>(3010 * page));
  EXPECT_FALSE(ReadJobUsage(555, {}, dir_ + "/proc").has_value());
}

TEST_F(NodeMetricsTest, TaskUsageSplitsTheSupervisorsChildrenIntoTasks) {
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  Process(100, 1, 10, 0, 10);        // supervisor: not a task
  Process(101, 100, 200, 0, 1000);   // task rank 1 (its environment says so)
  Process(103, 101, 100, 50, 2000);  // its child
  Process(102, 100, 300, 0, 500);    // task without a readable environment: its place, 1
  Write("/proc/101/environ", std::string("A=1\0SLURM_PROCID=1\0B=2\0", 25));
  Write("/proc/101/io", "rchar: 4096\nwchar: 10\nread_bytes: 0\n");
  Write("/proc/103/io", "rchar: 1\nwchar: 2\n");
  std::vector<TaskUsage> tasks = ReadTaskUsage(100, dir_ + "/proc");
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].task, 1u);
  EXPECT_DOUBLE_EQ(tasks[0].cpu_seconds, 350 / hz);
  EXPECT_EQ(tasks[0].rss_bytes, 3000 * page);
  EXPECT_EQ(tasks[0].vm_bytes, 2000u);  // 1000 bytes each
  EXPECT_EQ(tasks[0].read_bytes, 4097u);
  EXPECT_EQ(tasks[0].write_bytes, 12u);
  EXPECT_EQ(tasks[0].pids, (std::vector<pid_t>{101, 103}));
  EXPECT_EQ(tasks[1].task, 1u);
  EXPECT_EQ(tasks[1].pids, (std::vector<pid_t>{102}));
  EXPECT_EQ(tasks[1].read_bytes, 0u);
  EXPECT_TRUE(ReadTaskUsage(555, dir_ + "/proc").empty());
}

TEST_F(NodeMetricsTest, JobUsageComesFromTheJobsOwnCgroups) {
  Process(100, 1, 10, 0, 10);
  // cgroup v2: one directory with both files.
  Write("/cgroup/shoal/n1/job_7/cpu.stat", "usage_usec 2500000\nuser_usec 2000000\n");
  Write("/cgroup/shoal/n1/job_7/memory.current", "123456789\n");
  auto u = ReadJobUsage(100, {dir_ + "/cgroup/shoal/n1/job_7"}, dir_ + "/proc");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->source, "cgroup");
  EXPECT_DOUBLE_EQ(u->cpu_seconds, 2.5);
  EXPECT_EQ(u->memory_bytes, 123456789u);
  // cgroup v1: the memory and cpuacct hierarchies each hold one directory of the job.
  Write("/v1/memory/shoal/n1/job_8/memory.usage_in_bytes", "4096\n");
  Write("/v1/cpuacct/shoal/n1/job_8/cpuacct.usage", "1500000000\n");
  auto v1 = ReadJobUsage(100,
                         {dir_ + "/v1/memory/shoal/n1/job_8", dir_ + "/v1/cpuacct/shoal/n1/job_8"},
                         dir_ + "/proc");
  ASSERT_TRUE(v1.has_value());
  EXPECT_EQ(v1->source, "cgroup");
  EXPECT_DOUBLE_EQ(v1->cpu_seconds, 1.5);
  EXPECT_EQ(v1->memory_bytes, 4096u);
  // No cgroups, or unreadable ones: the process tree.
  auto none = ReadJobUsage(100, {}, dir_ + "/proc");
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->source, "proc");
  auto gone = ReadJobUsage(100, {dir_ + "/cgroup/shoal/n1/job_9"}, dir_ + "/proc");
  ASSERT_TRUE(gone.has_value());
  EXPECT_EQ(gone->source, "proc");
}

TEST_F(NodeMetricsTest, RendersNodeJobAndGpuFamilies) {
  Process(100, 1, 50, 0, 10);
  Write("/proc/stat", "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 100 0 100 800 0 0 0 0 0 0\n");
  std::vector<RunningJobInfo> jobs = {{42, 1, 0, 100}};
  NodeMetrics m({"node7", 4, 1024, dir_ + "/proc"},
                MakeEmulatedGpuMonitor(2, "emulated", [] { return 0.0; }), [&] { return jobs; });
  std::string text = m.Render();
  for (const char* want :
       {"shoal_agent_info{node=\"node7\"", "shoal_node_cpus 4\n",
        "shoal_node_cpu_seconds_total{mode=\"busy\"}", "shoal_node_cpu_usage_ratio",
        "shoal_node_memory_available_bytes", "shoal_node_load1 ", "shoal_node_running_jobs 1\n",
        "shoal_job_cpu_seconds_total{job_id=\"42\",source=\"proc\"}",
        "shoal_job_memory_bytes{job_id=\"42\",source=\"proc\"}",
        "shoal_gpu_utilization_ratio{gpu=\"1\",emulated=\"true\"}",
        "shoal_gpu_memory_total_bytes{gpu=\"0\",emulated=\"true\"} 85899345920\n",
        "shoal_gpu_temperature_celsius{gpu=\"0\"", "shoal_gpu_power_watts{gpu=\"1\"",
        "# TYPE shoal_job_cpu_seconds_total counter\n"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
  // CPU use between two scrapes: 300 busy of 400 ticks.
  Write("/proc/stat", "cpu  250 0 250 900 0 0 0 0 0 0\n");
  text = m.Render();
  EXPECT_NE(text.find("shoal_node_cpu_usage_ratio 0.75\n"), std::string::npos) << text;
  // The job's CPU seconds never go down, even when its processes' counts do.
  Process(100, 1, 10, 0, 10);
  text = m.Render();
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  EXPECT_NE(text.find("source=\"proc\"} " + shoal::metrics::FormatValue(50 / hz) + "\n"),
            std::string::npos)
      << text;
  jobs.clear();
  text = m.Render();
  EXPECT_EQ(text.find("job_id=\"42\""), std::string::npos);
  EXPECT_NE(text.find("shoal_node_running_jobs 0\n"), std::string::npos);
}

}  // namespace
}  // namespace shoal::agent
