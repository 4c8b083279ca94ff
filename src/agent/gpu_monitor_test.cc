#include "agent/gpu_monitor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace shoal::agent {
namespace {

TEST(GpuMonitorTest, EmulatedGpusArePlausibleAndMarked) {
  double now = 1000;
  auto mon = MakeEmulatedGpuMonitor(4, "a100", [&] { return now; });
  EXPECT_EQ(mon->source(), "emulated");
  for (int step = 0; step < 200; ++step, now += 37) {
    std::vector<GpuSample> gpus = mon->Sample();
    ASSERT_EQ(gpus.size(), 4u);
    for (uint32_t i = 0; i < gpus.size(); ++i) {
      const GpuSample& g = gpus[i];
      EXPECT_EQ(g.index, i);
      EXPECT_TRUE(g.emulated);
      EXPECT_EQ(g.name, "a100");
      EXPECT_GE(g.utilization_ratio, 0.0);
      EXPECT_LE(g.utilization_ratio, 1.0);
      EXPECT_GT(g.memory_total_bytes, 0u);
      EXPECT_LE(g.memory_used_bytes, g.memory_total_bytes);
      EXPECT_GE(g.temperature_celsius, 30);
      EXPECT_LE(g.temperature_celsius, 85);
      EXPECT_GE(g.power_watts, 50);
      EXPECT_LE(g.power_watts, 400);
    }
  }
}

TEST(GpuMonitorTest, EmulatedValuesVarySlowly) {
  double now = 5000;
  auto mon = MakeEmulatedGpuMonitor(2, "emulated", [&] { return now; });
  GpuSample a = mon->Sample()[0];
  now += 1;  // a second later: nearly the same
  GpuSample b = mon->Sample()[0];
  EXPECT_LE(std::fabs(a.utilization_ratio - b.utilization_ratio), 0.03);
  EXPECT_LE(std::fabs(a.temperature_celsius - b.temperature_celsius), 2);
  // Over ten minutes they move, and two GPUs do not move in lockstep.
  bool moved = false, differ = false;
  for (int i = 0; i < 60; ++i) {
    now += 10;
    auto s = mon->Sample();
    moved = moved || std::fabs(s[0].utilization_ratio - a.utilization_ratio) > 0.1;
    differ = differ || std::fabs(s[0].utilization_ratio - s[1].utilization_ratio) > 0.1;
  }
  EXPECT_TRUE(moved);
  EXPECT_TRUE(differ);
}

TEST(GpuMonitorTest, EmulatedGpusFollowTheJobsOnThem) {
  EmulatedGpuModel model(2, "a100", 7);
  double now = 100;
  // Idle: 0-5 %, about 35 C, next to no memory.
  for (int i = 0; i < 20; ++i, now += 1) {
    for (const GpuSample& g : model.Sample(now, {false, false})) {
      EXPECT_LE(g.utilization_ratio, 0.05);
      EXPECT_NEAR(g.temperature_celsius, EmulatedGpuModel::kIdleCelsius, 1);
      EXPECT_LT(g.memory_used_bytes, g.memory_total_bytes / 50);
    }
  }
  // GPU 0 busy: 60-100 % with noise, memory in use, heating toward 62-80 C; GPU 1 stays idle.
  std::vector<double> utils;
  GpuSample first_busy = model.Sample(now, {true, false})[0];
  for (int i = 0; i < 180; ++i) {
    now += 1;
    std::vector<GpuSample> s = model.Sample(now, {true, false});
    EXPECT_GE(s[0].utilization_ratio, 0.55);
    EXPECT_LE(s[0].utilization_ratio, 1.0);
    EXPECT_GT(s[0].memory_used_bytes, s[0].memory_total_bytes / 4);
    EXPECT_LE(s[1].utilization_ratio, 0.05);
    EXPECT_NEAR(s[1].temperature_celsius, EmulatedGpuModel::kIdleCelsius, 1);
    utils.push_back(s[0].utilization_ratio);
  }
  EXPECT_LT(first_busy.temperature_celsius, 40);  // it heats over time, not at once
  GpuSample hot = model.Sample(now, {true, false})[0];
  EXPECT_GE(hot.temperature_celsius, 60);
  EXPECT_LE(hot.temperature_celsius, 81);
  EXPECT_GT(hot.power_watts, 200);
  EXPECT_NE(*std::min_element(utils.begin(), utils.end()),
            *std::max_element(utils.begin(), utils.end()));  // noisy, not a constant
  // The job ends: utilization drops at once, the card cools over a minute or two.
  GpuSample ended = model.Sample(now + 1, {false, false})[0];
  EXPECT_LE(ended.utilization_ratio, 0.05);
  EXPECT_GT(ended.temperature_celsius, 55);
  GpuSample cool = model.Sample(now + 300, {false, false})[0];
  EXPECT_NEAR(cool.temperature_celsius, EmulatedGpuModel::kIdleCelsius, 2);
}

TEST(GpuMonitorTest, EmulatedMonitorWithJobsUsesTheModel) {
  double now = 10;
  std::vector<bool> busy = {false, true};
  auto mon = MakeEmulatedGpuMonitor(
      2, "emulated", [&] { return now; }, [&] { return busy; });
  std::vector<GpuSample> s = mon->Sample();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_LE(s[0].utilization_ratio, 0.05);
  EXPECT_GE(s[1].utilization_ratio, 0.55);
}

TEST(GpuMonitorTest, NoEmulatedGpusReportsNone) {
  EXPECT_TRUE(MakeEmulatedGpuMonitor(0, "x")->Sample().empty());
}

TEST(GpuMonitorTest, MissingNvmlLibraryIsNotFound) {
  auto mon = OpenNvmlGpuMonitor("libshoal-no-such-nvml.so.1");
  ASSERT_FALSE(mon.ok());
  EXPECT_EQ(mon.status().code(), StatusCode::kNotFound);
  EXPECT_NE(mon.status().message().find("libshoal-no-such-nvml.so.1"), std::string::npos);
}

TEST(GpuMonitorTest, LibraryWithoutNvmlFunctionsIsNotFound) {
  // libm loads everywhere and has none of NVML's functions.
  auto mon = OpenNvmlGpuMonitor("libm.so.6");
  ASSERT_FALSE(mon.ok());
  EXPECT_EQ(mon.status().code(), StatusCode::kNotFound);
  EXPECT_NE(mon.status().message().find("lacks"), std::string::npos);
}

// The reader against a library with NVML's ABI (testdata/nvml_double.cc), loaded by dlopen as
// the driver's is: every reading converted, a reading a board does not support left out.
TEST(GpuMonitorTest, NvmlReadingsAreConvertedFromTheDriversUnits) {
  unsetenv("SHOAL_NVML_DOUBLE_FAIL_INIT");
  auto mon = OpenNvmlGpuMonitor(SHOAL_NVML_DOUBLE);
  ASSERT_TRUE(mon.ok()) << mon.status().message();
  EXPECT_EQ((*mon)->source(), "nvml");
  std::vector<GpuSample> s = (*mon)->Sample();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].index, 0u);
  EXPECT_EQ(s[0].name, "NVIDIA H200 #0");
  EXPECT_FALSE(s[0].emulated);
  EXPECT_DOUBLE_EQ(s[0].utilization_ratio, 0.37);  // percent -> ratio
  EXPECT_EQ(s[0].memory_used_bytes, 4ull << 30);
  EXPECT_EQ(s[0].memory_total_bytes, 150754820096ull);
  EXPECT_DOUBLE_EQ(s[0].temperature_celsius, 41);
  EXPECT_DOUBLE_EQ(s[0].power_watts, 123.456);  // milliwatts -> watts
  EXPECT_EQ(s[1].index, 1u);
  EXPECT_DOUBLE_EQ(s[1].utilization_ratio, 0);
  EXPECT_DOUBLE_EQ(s[1].power_watts, 0);  // not supported on that board: no reading

  std::string note;
  auto chosen = CreateGpuMonitor(4, "emulated", &note, SHOAL_NVML_DOUBLE);
  ASSERT_NE(chosen, nullptr);
  EXPECT_EQ(chosen->source(), "nvml");  // real GPUs win over --gpus
  EXPECT_EQ(note, "GPU metrics from NVML (2 GPUs)");
}

TEST(GpuMonitorTest, NvmlThatCannotInitializeFallsBackToEmulatedGpus) {
  setenv("SHOAL_NVML_DOUBLE_FAIL_INIT", "1", 1);
  auto mon = OpenNvmlGpuMonitor(SHOAL_NVML_DOUBLE);
  ASSERT_FALSE(mon.ok());
  EXPECT_EQ(mon.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(mon.status().message().find("nvmlInit failed with NVML error 9"), std::string::npos)
      << mon.status().message();
  std::string note;
  auto chosen = CreateGpuMonitor(2, "emulated", &note, SHOAL_NVML_DOUBLE);
  unsetenv("SHOAL_NVML_DOUBLE_FAIL_INIT");
  ASSERT_NE(chosen, nullptr);
  EXPECT_EQ(chosen->source(), "emulated");
  EXPECT_NE(note.find("reporting 2 emulated GPUs"), std::string::npos) << note;
}

TEST(GpuMonitorTest, WithoutNvmlTheAgentReportsItsEmulatedGpus) {
  std::string note;
  auto mon = CreateGpuMonitor(3, "emulated", &note, "libshoal-no-such-nvml.so.1");
  ASSERT_NE(mon, nullptr);
  EXPECT_EQ(mon->source(), "emulated");
  EXPECT_EQ(mon->Sample().size(), 3u);
  EXPECT_NE(note.find("3 emulated GPUs"), std::string::npos) << note;
}

}  // namespace
}  // namespace shoal::agent
