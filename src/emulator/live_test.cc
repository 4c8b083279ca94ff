#include "emulator/live.h"

#include <gtest/gtest.h>

#include <set>

#include "emulator/executors.h"

namespace shoal::emulator {
namespace {

TEST(LiveTest, ParsesRatesAndPresets) {
  EXPECT_DOUBLE_EQ(*ParseJobRate("2/min"), 2);
  EXPECT_DOUBLE_EQ(*ParseJobRate("30/h"), 0.5);
  EXPECT_DOUBLE_EQ(*ParseJobRate("50"), 50);
  for (const char* bad : {"", "0.05/min", "51", "fast", "2/week", "-1"}) {
    EXPECT_FALSE(ParseJobRate(bad).ok()) << bad;
  }
  EXPECT_EQ(*ParseFailureRate("5-12%/min"), std::make_pair(5.0, 12.0));
  EXPECT_EQ(*ParseFailureRate("5%-12%"), std::make_pair(5.0, 12.0));
  EXPECT_EQ(*ParseFailureRate("3%"), std::make_pair(3.0, 3.0));
  EXPECT_EQ(*ParseFailureRate("0"), std::make_pair(0.0, 0.0));
  for (const char* bad : {"", "12-5", "-3", "101", "lots", "5-"}) {
    EXPECT_FALSE(ParseFailureRate(bad).ok()) << bad;
  }
  EXPECT_EQ(ParseFailureRate("12-5").status().message(),
            "invalid failure rate '12-5' (percent of nodes a minute, as 5-12%/min, 3% or 0)");
  EXPECT_DOUBLE_EQ(*PresetJobRate("steady", 0), 2);
  EXPECT_DOUBLE_EQ(*PresetJobRate("burst", 1), 0.5);
  EXPECT_DOUBLE_EQ(*PresetJobRate("burst", 4.5), 30);
  EXPECT_FALSE(PresetJobRate("wild", 0).ok());
}

struct FakeWorld {
  std::vector<SubmitRequest> submitted;
  std::set<std::string> down;
  LiveWorld World(int nodes) {
    LiveWorld w;
    for (int i = 1; i <= nodes; ++i) w.nodes.push_back("gpu" + std::to_string(i));
    w.submit = [this](const SubmitRequest& s) -> Result<uint64_t> {
      submitted.push_back(s);
      return submitted.size();
    };
    w.crash = [this](const std::string& n) { return down.insert(n).second; };
    w.revive = [this](const std::string& n) { return down.erase(n) == 1; };
    return w;
  }
};

TEST(LiveTest, SubmitsAtTheRateAskedWithPlausibleJobs) {
  FakeWorld fake;
  LiveOptions o;
  o.job_rate_per_min = 30;
  o.gpus_per_node = 4;
  o.seed = 7;
  LiveSimulation sim(o, fake.World(8));
  for (int s = 0; s < 600; ++s) sim.Step(s, 1.0);  // ten minutes
  // 300 expected; a Poisson count stays within +-25% with overwhelming probability.
  EXPECT_GT(fake.submitted.size(), 225u);
  EXPECT_LT(fake.submitted.size(), 375u);
  EXPECT_EQ(sim.stats().submitted, fake.submitted.size());
  std::set<std::string> types, users;
  bool some_gpu = false;
  for (const SubmitRequest& s : fake.submitted) {
    ASSERT_EQ(s.script.rfind("#!", 0), 0u);
    ASSERT_EQ(s.env[0].rfind("SHOAL_EMULATE_TYPE=", 0), 0u);
    const std::string type = s.env[0].substr(19);
    EXPECT_NE(ExecutorRegistry::Builtin().Find(type), nullptr) << type;
    EXPECT_TRUE(ParseExecutorArgs(s.env[1].substr(19)).ok()) << s.env[1];
    types.insert(type);
    users.insert(s.req.user);
    EXPECT_GE(s.req.time_limit_s, 60);
    EXPECT_LE(s.req.gpus_per_node, 4u);
    some_gpu = some_gpu || s.req.gpus_per_node > 0;
  }
  EXPECT_EQ(types.size(), ExecutorRegistry::Builtin().Names().size());
  EXPECT_GE(users.size(), 4u);
  EXPECT_TRUE(some_gpu);
}

TEST(LiveTest, NodesFailAtTheirRateAndRecover) {
  FakeWorld fake;
  LiveOptions o;
  o.job_rate_per_min = 0.1;
  o.failure_pct_per_min = {10, 10};  // 8 nodes: 0.8 failures a minute while all are up
  o.recovery_s = {30, 30};
  LiveSimulation sim(o, fake.World(8));
  size_t max_down = 0;
  for (int s = 0; s < 3600; ++s) {
    sim.Step(s, 1.0);
    max_down = std::max(max_down, fake.down.size());
  }
  // An hour: about 48 failures (slightly fewer: a node that is down cannot fail).
  EXPECT_GT(sim.stats().failures, 25u);
  EXPECT_LT(sim.stats().failures, 70u);
  EXPECT_GE(sim.stats().recoveries + fake.down.size(), sim.stats().failures);
  EXPECT_LT(max_down, 8u);

  // Failures off: whatever is down comes back and nothing fails again.
  sim.SetFailureRate({0, 0});
  const uint64_t failures = sim.stats().failures;
  for (int s = 3600; s < 3700; ++s) sim.Step(s, 1.0);
  EXPECT_EQ(sim.stats().failures, failures);
  EXPECT_TRUE(fake.down.empty());
}

TEST(ExecutorsTest, BuiltinTypesAndArguments) {
  std::mt19937_64 rng(1);
  const ExecutorRegistry& r = ExecutorRegistry::Builtin();
  ExecutorInput in;
  in.args = {{"seconds", "42"}};
  EXPECT_EQ((*r.Find("sleep"))(in, rng).run_s, 42);
  EXPECT_EQ((*r.Find("hang"))(in, rng).run_s, kUntilKilled);
  ExecutorOutcome oom = (*r.Find("oom"))(in, rng);
  EXPECT_EQ(oom.signal, 9);
  ExecutorOutcome crash = (*r.Find("crash"))(in, rng);
  EXPECT_TRUE(crash.signal != 0 || crash.exit_code != 0);
  // A GPU multiplies far faster than a CPU.
  in.args = {{"n", "8192"}, {"repeats", "100"}};
  in.cpus = 4;
  const int64_t cpu_s = (*r.Find("matmul"))(in, rng).run_s;
  in.gpus = 1;
  const int64_t gpu_s = (*r.Find("matmul"))(in, rng).run_s;
  EXPECT_GT(cpu_s, 10 * gpu_s);
  EXPECT_EQ(r.Find("teleport"), nullptr);
  EXPECT_FALSE(ParseExecutorArgs("n=1,oops").ok());
  EXPECT_EQ(ParseExecutorArgs(" n = 4 , m=x")->at("n"), "4");

  ExecutorRegistry mine;
  mine.Register("quick", [](const ExecutorInput&, std::mt19937_64&) {
    return ExecutorOutcome{1, 3, 0, "quick"};
  });
  EXPECT_EQ((*mine.Find("quick"))(in, rng).exit_code, 3);
}

}  // namespace
}  // namespace shoal::emulator
