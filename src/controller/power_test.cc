#include "controller/power.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

using Names = std::vector<std::string>;

Node UpNode(const std::string& name) {
  Node n;
  n.name = name;
  n.cpus = 4;
  n.configured = true;
  n.responding = true;
  return n;
}

Node DownNode(const std::string& name) {
  Node n = UpNode(name);
  n.responding = false;
  n.power = NodePower::kPoweredDown;
  return n;
}

PowerSaving Settings() {
  PowerSaving p;
  p.resume_program = "/bin/true";
  p.suspend_program = "/bin/true";
  p.suspend_time_s = 10;
  p.suspend_timeout_s = 5;
  p.resume_timeout_s = 30;
  p.resume_rate = 0;
  p.suspend_rate = 0;
  return p;
}

TEST(PowerPlannerTest, ResumesPoweredDownNodesThatJobsWereAllocated) {
  PowerPlanner planner(Settings());
  std::vector<Node> nodes = {DownNode("c1"), DownNode("c2"), DownNode("c3")};
  nodes[1].running_jobs = {7};
  nodes[1].alloc_cpus = 1;
  PowerDecisions d = planner.Decide(nodes, {}, {}, 100);
  EXPECT_EQ(d.resume, (Names{"c2"}));
  EXPECT_TRUE(d.suspend.empty());
  // POWER_UP asks for a node without a job.
  d = planner.Decide(nodes, {}, {"c3"}, 101);
  EXPECT_EQ(d.resume, (Names{"c2", "c3"}));  // the caller marks them POWERING_UP; here not
}

TEST(PowerPlannerTest, DownNodeIsNotResumed) {
  PowerPlanner planner(Settings());
  std::vector<Node> nodes = {DownNode("c1")};
  nodes[0].down = true;
  EXPECT_TRUE(planner.Decide(nodes, {}, {"c1"}, 100).resume.empty());
}

TEST(PowerPlannerTest, ResumeRateLimitsNodesPerMinute) {
  PowerSaving s = Settings();
  s.resume_rate = 2;
  PowerPlanner planner(s);
  std::vector<Node> nodes = {DownNode("c1"), DownNode("c2"), DownNode("c3")};
  for (Node& n : nodes) n.running_jobs = {1};
  EXPECT_EQ(planner.Decide(nodes, {}, {}, 100).resume, (Names{"c1", "c2"}));
  nodes[0].power = nodes[1].power = NodePower::kPoweringUp;
  nodes[0].power_since = nodes[1].power_since = 100;
  EXPECT_TRUE(planner.Decide(nodes, {}, {}, 159).resume.empty());  // same minute
  EXPECT_EQ(planner.Decide(nodes, {}, {}, 160).resume, (Names{"c3"}));
}

TEST(PowerPlannerTest, SuspendsNodesIdleForSuspendTime) {
  PowerPlanner planner(Settings());
  std::vector<Node> nodes = {UpNode("n1"), UpNode("n2")};
  nodes[1].running_jobs = {3};
  nodes[1].alloc_cpus = 1;
  EXPECT_TRUE(planner.Decide(nodes, {}, {}, 100).suspend.empty());  // idle from 100
  EXPECT_TRUE(planner.Decide(nodes, {}, {}, 109).suspend.empty());
  EXPECT_EQ(planner.Decide(nodes, {}, {}, 110).suspend, (Names{"n1"}));
  nodes[0].power = NodePower::kPoweringDown;  // as the controller marks it
  nodes[0].power_since = 110;
  nodes[0].responding = false;
  // A node that was busy starts its idle time when it becomes idle.
  nodes[1].running_jobs.clear();
  nodes[1].alloc_cpus = 0;
  EXPECT_TRUE(planner.Decide(nodes, {}, {}, 111).suspend.empty());
  EXPECT_TRUE(planner.Decide(nodes, {}, {}, 120).suspend.empty());
  EXPECT_EQ(planner.Decide(nodes, {}, {}, 121).suspend, (Names{"n2"}));
}

TEST(PowerPlannerTest, ExcludedAndUnconfiguredSettingsNeverSuspend) {
  PowerPlanner planner(Settings());
  std::vector<Node> nodes = {UpNode("n1"), UpNode("n2")};
  planner.Decide(nodes, {"n1"}, {}, 100);
  EXPECT_EQ(planner.Decide(nodes, {"n1"}, {}, 200).suspend, (Names{"n2"}));

  PowerSaving off = Settings();
  off.suspend_time_s = -1;  // INFINITE
  PowerPlanner never(off);
  never.Decide(nodes, {}, {}, 100);
  EXPECT_TRUE(never.Decide(nodes, {}, {}, 100000).suspend.empty());
}

TEST(PowerPlannerTest, SilentDownOrDrainedBusyNodesAreNotSuspendedButPendingPowerDownIs) {
  PowerPlanner planner(Settings());
  std::vector<Node> nodes = {UpNode("silent"), UpNode("down"), UpNode("asked")};
  nodes[0].responding = false;
  nodes[1].down = true;
  nodes[2].power_down_pending = true;
  nodes[2].running_jobs = {4};
  planner.Decide(nodes, {}, {}, 100);
  EXPECT_TRUE(planner.Decide(nodes, {}, {}, 200).suspend.empty());  // "asked" still busy
  nodes[2].running_jobs.clear();
  // POWER_DOWN: at once once idle, whatever SuspendTime and exclusions say.
  EXPECT_EQ(planner.Decide(nodes, {"asked"}, {}, 201).suspend, (Names{"asked"}));
}

TEST(PowerPlannerTest, SuspendRateLimitsNodesPerMinute) {
  PowerSaving s = Settings();
  s.suspend_rate = 1;
  PowerPlanner planner(s);
  std::vector<Node> nodes = {UpNode("n1"), UpNode("n2")};
  planner.Decide(nodes, {}, {}, 100);
  EXPECT_EQ(planner.Decide(nodes, {}, {}, 110).suspend, (Names{"n1"}));
  nodes[0].power = NodePower::kPoweringDown;
  nodes[0].power_since = 110;
  EXPECT_TRUE(planner.Decide(nodes, {}, {}, 140).suspend.empty());
  EXPECT_EQ(planner.Decide(nodes, {}, {}, 170).suspend, (Names{"n2"}));
}

TEST(PowerPlannerTest, TransitionsEndAfterTheirTimeouts) {
  PowerPlanner planner(Settings());  // ResumeTimeout 30, SuspendTimeout 5
  std::vector<Node> nodes = {DownNode("up"), UpNode("down")};
  nodes[0].power = NodePower::kPoweringUp;
  nodes[0].power_since = 100;
  nodes[1].power = NodePower::kPoweringDown;
  nodes[1].power_since = 100;
  nodes[1].responding = false;
  PowerDecisions d = planner.Decide(nodes, {}, {}, 104);
  EXPECT_TRUE(d.resume_timed_out.empty());
  EXPECT_TRUE(d.powered_down.empty());
  d = planner.Decide(nodes, {}, {}, 105);
  EXPECT_EQ(d.powered_down, (Names{"down"}));
  EXPECT_TRUE(d.resume_timed_out.empty());
  d = planner.Decide(nodes, {}, {}, 130);
  EXPECT_EQ(d.resume_timed_out, (Names{"up"}));
}

TEST(PowerPlannerTest, SuspendExcludedByNodeByPartitionAndUnconfigured) {
  PowerSaving s = Settings();
  s.suspend_exc_nodes = {"n1"};
  s.suspend_exc_parts = {"login"};
  Partition login;
  login.name = "login";
  login.nodes = {"n2"};
  Partition all;
  all.name = "batch";
  all.all_nodes = true;
  const std::vector<Partition> parts = {login, all};
  EXPECT_TRUE(SuspendExcluded(s, UpNode("n1"), parts));
  EXPECT_TRUE(SuspendExcluded(s, UpNode("n2"), parts));
  EXPECT_FALSE(SuspendExcluded(s, UpNode("n3"), parts));
  Node dynamic = UpNode("n4");
  dynamic.configured = false;
  EXPECT_TRUE(SuspendExcluded(s, dynamic, parts));
}

TEST(PowerStateDocumentTest, RoundTripsTheNodesNotUp) {
  std::vector<Node> nodes = {UpNode("a"), DownNode("b"), UpNode("c")};
  nodes[1].power_since = 42;
  nodes[2].power = NodePower::kPoweringUp;
  nodes[2].power_since = 43;
  auto back = PowerStateFromJson(PowerStateToJson(nodes));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back["b"].power, NodePower::kPoweredDown);
  EXPECT_EQ(back["b"].since, 42);
  EXPECT_EQ(back["c"].power, NodePower::kPoweringUp);
  EXPECT_TRUE(PowerStateFromJson("not json").empty());
  EXPECT_TRUE(PowerStateFromJson(R"({"x":{"power":9}})").empty());  // out of range
}

}  // namespace
}  // namespace shoal
