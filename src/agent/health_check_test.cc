#include "agent/health_check.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

namespace shoal::agent {
namespace {

using namespace std::chrono_literals;

class HealthCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal_health_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  std::string Script(const std::string& name, const std::string& body) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    chmod(path.c_str(), 0755);
    return path;
  }

  std::string dir_;
};

TEST_F(HealthCheckTest, ExitStatusDecides) {
  HealthCheckResult r = RunHealthCheck(Script("good", "exit 0"), 5s);
  EXPECT_TRUE(r.ok);
  r = RunHealthCheck(Script("bad", "echo noise; exit 3"), 5s);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.Describe(5s), "exit code 3");
  r = RunHealthCheck(Script("killed", "kill -9 $$"), 5s);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.signal, 9);
  EXPECT_EQ(r.Describe(5s), "killed by signal 9");
}

TEST_F(HealthCheckTest, TimeoutKillsTheWholeGroup) {
  const std::string marker = dir_ + "/survived";
  const auto start = std::chrono::steady_clock::now();
  HealthCheckResult r =
      RunHealthCheck(Script("hang", "(sleep 1; touch " + marker + ") & sleep 30"), 300ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.Describe(1s), "timed out after 1 s");
  std::this_thread::sleep_for(1500ms);
  EXPECT_NE(access(marker.c_str(), F_OK), 0) << "a child of the check outlived its timeout";
}

TEST_F(HealthCheckTest, MissingProgramFails) {
  HealthCheckResult r = RunHealthCheck(dir_ + "/nope", 1s);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.Describe(1s).find("could not run"), std::string::npos);
}

}  // namespace
}  // namespace shoal::agent
