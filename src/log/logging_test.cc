#include "log/logging.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/details/log_msg.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace shoal {
namespace {

namespace fs = std::filesystem;

std::string FormatJson(std::string_view text, spdlog::level::level_enum level) {
  auto formatter = MakeJsonLogFormatter("controller");
  spdlog::details::log_msg msg("controller", level, spdlog::string_view_t(text.data(), text.size()));
  spdlog::memory_buf_t out;
  formatter->format(msg, out);
  return std::string(out.data(), out.size());
}

TEST(JsonLogFormatterTest, OneParsableObjectPerLine) {
  std::string line = FormatJson("bad \"quote\"\nand a newline\t\x01", spdlog::level::warn);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // the message's newline is escaped
  nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "warning");
  EXPECT_EQ(j["component"], "controller");
  EXPECT_EQ(j["msg"], "bad \"quote\"\nand a newline\t\x01");
  EXPECT_FALSE(j.contains("job"));
  EXPECT_TRUE(j["time"].get<std::string>().ends_with("Z"));
  EXPECT_EQ(j["time"].get<std::string>().size(), std::string("2026-12-03T04:37:57.906Z").size());
}

TEST(JsonLogFormatterTest, NamesTheJobALineIsAbout) {
  auto job_of = [](std::string_view text) {
    nlohmann::json j = nlohmann::json::parse(FormatJson(text, spdlog::level::info));
    return j.contains("job") ? j["job"].get<std::string>() : std::string("-");
  };
  EXPECT_EQ(job_of("job 12 started on node[1-2]"), "12");
  EXPECT_EQ(job_of("job 12_3 COMPLETED exit 0:0"), "12_3");
  EXPECT_EQ(job_of("step 12.0 started on node1: 2 tasks"), "12.0");
  EXPECT_EQ(job_of("job 7: launched generation 1"), "7");
  EXPECT_EQ(job_of("job 7."), "7");
  EXPECT_EQ(job_of("jobs 7 and 8"), "-");
  EXPECT_EQ(job_of("job abc"), "-");
  EXPECT_EQ(job_of("job 12x"), "-");
  EXPECT_EQ(job_of("node node1 registered"), "-");
}

TEST(JsonLogFormatterTest, BytesThatAreNotUtf8StayValidJson) {
  std::string line = FormatJson("path /tmp/\xff\xfe", spdlog::level::info);
  EXPECT_TRUE(nlohmann::json::accept(line));
}

TEST(LogOptionsTest, ParsesSlurmAndSpdlogLevels) {
  EXPECT_EQ(*ParseLogLevel("info"), spdlog::level::info);
  EXPECT_EQ(*ParseLogLevel("DEBUG3"), spdlog::level::trace);
  EXPECT_EQ(*ParseLogLevel("verbose"), spdlog::level::debug);
  EXPECT_EQ(*ParseLogLevel("quiet"), spdlog::level::off);
  EXPECT_EQ(*ParseLogLevel("fatal"), spdlog::level::critical);
  EXPECT_EQ(*ParseLogLevel("warning"), spdlog::level::warn);
  Result<spdlog::level::level_enum> bad = ParseLogLevel("loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'loud'"), std::string::npos);
  EXPECT_EQ(*ParseLogFormat("JSON"), LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("xml").ok());
}

TEST(LogOptionsTest, ParsesSizes) {
  EXPECT_EQ(*ParseLogSize("0"), 0u);
  EXPECT_EQ(*ParseLogSize("4096"), 4096u);
  EXPECT_EQ(*ParseLogSize("10K"), 10u << 10);
  EXPECT_EQ(*ParseLogSize("64m"), 64ull << 20);
  EXPECT_EQ(*ParseLogSize("2G"), 2ull << 30);
  for (const char* bad : {"", "M", "-1", "1.5M", "10X", "99999999999999999999"}) {
    EXPECT_FALSE(ParseLogSize(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseLogSize("17179869184G").ok());  // past 2^64 bytes
}

class InstallLoggerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-log-test.XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    spdlog::set_default_logger(spdlog::stderr_color_mt("restored-" + std::to_string(++n_)));
    fs::remove_all(dir_);
  }
  std::string dir_;
  static inline int n_ = 0;
};

TEST_F(InstallLoggerTest, FileRotatesBySizeAndKeepsSoManyFiles) {
  LogOptions options;
  options.component = "agent";
  options.file = dir_ + "/agent.log";
  options.format = LogFormat::kJson;
  options.max_bytes = 4096;
  options.max_files = 2;
  ASSERT_TRUE(InstallLogger(options).ok());
  for (int i = 0; i < 400; ++i) spdlog::info("job {} started on node1", i);
  spdlog::debug("below the level, never written");
  EXPECT_TRUE(fs::exists(dir_ + "/agent.log"));
  EXPECT_TRUE(fs::exists(dir_ + "/agent.1.log"));
  EXPECT_TRUE(fs::exists(dir_ + "/agent.2.log"));
  EXPECT_FALSE(fs::exists(dir_ + "/agent.3.log"));
  for (const char* name : {"/agent.log", "/agent.1.log", "/agent.2.log"}) {
    EXPECT_LE(fs::file_size(dir_ + name), 4096u) << name;
  }
  // The live file holds the newest lines, each a JSON object naming its job.
  std::ifstream in(dir_ + "/agent.log");
  std::string line, last;
  while (std::getline(in, line)) last = line;
  nlohmann::json j = nlohmann::json::parse(last);
  EXPECT_EQ(j["job"], "399");
  EXPECT_EQ(j["component"], "agent");
}

TEST_F(InstallLoggerTest, TextLinesAtTheChosenLevel) {
  LogOptions options;
  options.component = "controller";
  options.file = dir_ + "/c.log";
  options.level = spdlog::level::debug;
  ASSERT_TRUE(InstallLogger(options).ok());
  spdlog::debug("shown at debug");
  spdlog::trace("hidden at debug");
  std::ifstream in(dir_ + "/c.log");
  std::stringstream all;
  all << in.rdbuf();
  EXPECT_NE(all.str().find("] [debug] shown at debug\n"), std::string::npos);
  EXPECT_EQ(all.str().find("hidden"), std::string::npos);
}

TEST_F(InstallLoggerTest, AFileThatCannotBeOpenedIsAnError) {
  LogOptions options;
  options.file = "/proc/shoal-cannot-create/c.log";
  Status s = InstallLogger(options);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/proc/shoal-cannot-create/c.log"), std::string::npos);
}

TEST(LogThrottleTest, OneLinePerKeyAndIntervalCountingWhatWasHeldBack) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_pattern("%l %v");
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  LogThrottle throttle(std::chrono::seconds(10));
  const auto t0 = LogThrottle::Clock::now();
  const auto at = [&](int s) { return t0 + std::chrono::seconds(s); };
  EXPECT_TRUE(throttle.Warn("a", "node a floods", at(0)));
  EXPECT_FALSE(throttle.Warn("a", "node a floods again", at(1)));
  // Another key is not held back by the first.
  EXPECT_TRUE(throttle.Log(spdlog::level::err, "b", "node b floods", at(2)));
  EXPECT_FALSE(throttle.Warn("a", "node a floods more", at(9)));
  EXPECT_TRUE(throttle.Warn("a", "node a still floods", at(10)));
  EXPECT_TRUE(throttle.Warn("a", "node a floods once more", at(25)));
  spdlog::set_default_logger(previous);
  EXPECT_EQ(out.str(),
            "warning node a floods\n"
            "error node b floods\n"
            "warning node a still floods (2 more like it held back)\n"
            "warning node a floods once more\n");
}

TEST(LogThrottleTest, RandomKeysShareOneLineOnceTheTableIsFull) {
  auto previous = spdlog::default_logger();
  std::ostringstream out;
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out)));
  LogThrottle throttle(std::chrono::seconds(10));
  const auto now = LogThrottle::Clock::now();
  int logged = 0;
  for (size_t k = 0; k < 3 * LogThrottle::kMaxKeys; ++k) {
    logged += throttle.Warn("node" + std::to_string(k), "refused", now) ? 1 : 0;
  }
  spdlog::set_default_logger(previous);
  // One line for each key that found room, and one for all the others together.
  EXPECT_EQ(logged, static_cast<int>(LogThrottle::kMaxKeys) + 1);
}

}  // namespace
}  // namespace shoal
