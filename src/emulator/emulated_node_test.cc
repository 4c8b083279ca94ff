#include "emulator/emulated_node.h"

#include <gtest/gtest.h>

#include <csignal>

namespace shoal::emulator {
namespace {

rpc::ControllerMessage Accept(uint32_t heartbeat_ms, std::vector<uint64_t> kill = {}) {
  rpc::ControllerMessage m;
  m.mutable_register_reply()->set_accepted(true);
  m.mutable_register_reply()->set_heartbeat_interval_ms(heartbeat_ms);
  for (uint64_t id : kill) m.mutable_register_reply()->add_kill_job_ids(id);
  return m;
}

rpc::ControllerMessage Launch(uint64_t job, uint64_t generation, int64_t limit_s,
                              std::vector<std::string> env = {}) {
  rpc::ControllerMessage m;
  rpc::LaunchJob* l = m.mutable_launch();
  l->set_job_id(job);
  l->set_generation(generation);
  l->set_time_limit_s(limit_s);
  l->set_cpus(2);
  for (auto& e : env) l->add_env(e);
  return m;
}

rpc::ControllerMessage Ack(uint64_t job, uint64_t generation) {
  rpc::ControllerMessage m;
  rpc::JobFinishedAck* a = m.mutable_finished_acks()->add_acks();
  a->set_job_id(job);
  a->set_generation(generation);
  return m;
}

std::vector<rpc::JobFinished> Ends(const std::vector<rpc::AgentMessage>& out) {
  std::vector<rpc::JobFinished> ends;
  for (const auto& m : out) {
    if (m.has_job_finished()) ends.push_back(m.job_finished());
  }
  return ends;
}

NodeConfig Config(JobTime time, int64_t fixed_s = 0) {
  NodeConfig c;
  c.name = "emu1";
  c.cpus = 8;
  c.gpus = 2;
  c.job_time = time;
  c.fixed_s = fixed_s;
  return c;
}

TEST(EmulatedNodeTest, AnswersUsageRequestsWithItsCpusBusy) {
  EmulatedNode node(Config(JobTime::kReal));
  std::vector<rpc::AgentMessage> out;
  node.OnMessage(Accept(1000), 0, &out);
  node.OnMessage(Launch(1, 1, 600), 0, &out);
  out.clear();
  rpc::ControllerMessage ask;
  ask.mutable_usage_request()->set_request_id(9);
  ask.mutable_usage_request()->set_job_id(1);
  node.OnMessage(ask, 3000, &out);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_usage_report());
  const rpc::UsageReport& r = out[0].usage_report();
  EXPECT_EQ(r.request_id(), 9u);
  ASSERT_EQ(r.steps_size(), 1);
  EXPECT_TRUE(r.steps(0).batch());
  ASSERT_EQ(r.steps(0).tasks_size(), 1);
  EXPECT_DOUBLE_EQ(r.steps(0).tasks(0).cpu_seconds(), 6.0);  // 3 s on its 2 CPUs
  // A job the node does not run: an answer with no steps.
  out.clear();
  ask.mutable_usage_request()->set_job_id(2);
  node.OnMessage(ask, 3000, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].usage_report().steps_size(), 0);
}

TEST(EmulatedNodeTest, RegistersAsARealAgentWould) {
  EmulatedNode node(Config(JobTime::kReal));
  rpc::AgentMessage reg = node.MakeRegister();
  ASSERT_TRUE(reg.has_register_());
  EXPECT_EQ(reg.register_().node_name(), "emu1");
  EXPECT_EQ(reg.register_().cpus(), 8u);
  ASSERT_EQ(reg.register_().gpus_size(), 2);
  EXPECT_TRUE(reg.register_().gpus(1).emulated());
  EXPECT_EQ(reg.register_().running_size(), 0);

  std::vector<rpc::AgentMessage> out;
  rpc::ControllerMessage refused;
  refused.mutable_register_reply()->set_accepted(false);
  EXPECT_FALSE(node.OnMessage(refused, 0, &out));
  EXPECT_TRUE(node.OnMessage(Accept(500), 0, &out));
  EXPECT_TRUE(node.registered());
}

TEST(EmulatedNodeTest, JobsRunForTheirTimeLimitOrTheirAskedRuntime) {
  EmulatedNode node(Config(JobTime::kReal));
  std::vector<rpc::AgentMessage> out;
  node.OnMessage(Accept(1000), 0, &out);
  node.OnMessage(Launch(1, 1, 10), 0, &out);
  node.OnMessage(Launch(2, 1, 10, {"SHOAL_EMULATE_RUNTIME=3", "SHOAL_EMULATE_EXIT=4"}), 0, &out);
  node.OnMessage(Launch(3, 1, 2, {"SHOAL_EMULATE_RUNTIME=30"}), 0, &out);
  EXPECT_TRUE(out.empty()) << "a start is not reported: the controller recorded it at launch";
  EXPECT_EQ(node.running_jobs(), 3u);

  out.clear();
  node.Tick(2500, &out);  // job 3 hits its 2 s limit; heartbeats are due every second
  std::vector<rpc::JobFinished> ends = Ends(out);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].job_id(), 3u);
  EXPECT_TRUE(ends[0].timed_out());
  EXPECT_EQ(ends[0].signal(), SIGTERM);
  ASSERT_FALSE(out.empty());
  EXPECT_TRUE(out.back().has_heartbeat());
  EXPECT_EQ(out.back().heartbeat().load_1m(), 4.0);  // jobs 1 and 2 hold 2 CPUs each

  out.clear();
  node.Tick(3000, &out);
  ends = Ends(out);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].job_id(), 2u);
  EXPECT_EQ(ends[0].exit_code(), 4);
  EXPECT_FALSE(ends[0].timed_out());

  out.clear();
  node.Tick(10000, &out);
  ends = Ends(out);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].job_id(), 1u);
  EXPECT_EQ(node.running_jobs(), 0u);
}

TEST(EmulatedNodeTest, InstantAndFixedJobs) {
  EmulatedNode instant(Config(JobTime::kInstant));
  std::vector<rpc::AgentMessage> out;
  instant.OnMessage(Accept(1000), 0, &out);
  instant.OnMessage(Launch(7, 1, 600), 0, &out);
  ASSERT_EQ(Ends(out).size(), 1u);
  EXPECT_EQ(Ends(out)[0].exit_code(), 0);

  EmulatedNode fixed(Config(JobTime::kFixed, 5));
  out.clear();
  fixed.OnMessage(Accept(1000), 0, &out);
  fixed.OnMessage(Launch(8, 1, 600), 0, &out);
  fixed.Tick(4999, &out);
  EXPECT_TRUE(Ends(out).empty());
  fixed.Tick(5000, &out);
  EXPECT_EQ(Ends(out).size(), 1u);
}

TEST(EmulatedNodeTest, EndsAreResentUntilAcknowledgedAndFencedJobsForgotten) {
  EmulatedNode node(Config(JobTime::kInstant));
  std::vector<rpc::AgentMessage> out;
  node.OnMessage(Accept(1000), 0, &out);
  node.OnMessage(Launch(1, 3, 0), 0, &out);
  node.OnMessage(Launch(2, 1, 0), 0, &out);
  // The stream breaks before the acks: the next registration lists both, and the ends follow
  // the reply again, except for the job the controller fenced off.
  node.OnReconnect();
  rpc::AgentMessage reg = node.MakeRegister();
  ASSERT_EQ(reg.register_().running_size(), 2);
  EXPECT_EQ(reg.register_().running(0).generation(), 3u);
  out.clear();
  node.OnMessage(Accept(1000, {2}), 100, &out);
  std::vector<rpc::JobFinished> ends = Ends(out);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].job_id(), 1u);
  // An ack of another generation is not this run's.
  node.OnMessage(Ack(1, 2), 100, &out);
  EXPECT_EQ(node.MakeRegister().register_().running_size(), 1);
  node.OnMessage(Ack(1, 3), 100, &out);
  EXPECT_EQ(node.MakeRegister().register_().running_size(), 0);
}

TEST(EmulatedNodeTest, TerminateSignalAndCrash) {
  EmulatedNode node(Config(JobTime::kReal));
  std::vector<rpc::AgentMessage> out;
  node.OnMessage(Accept(1000), 0, &out);
  node.OnMessage(Launch(1, 1, 100), 0, &out);
  node.OnMessage(Launch(2, 1, 100), 0, &out);
  node.OnMessage(Launch(3, 1, 100), 0, &out);
  out.clear();
  rpc::ControllerMessage terminate;
  terminate.mutable_terminate()->set_job_id(1);
  node.OnMessage(terminate, 10, &out);
  rpc::ControllerMessage usr1;
  usr1.mutable_signal()->set_job_id(2);
  usr1.mutable_signal()->set_signal(SIGUSR1);
  node.OnMessage(usr1, 10, &out);
  std::vector<rpc::JobFinished> ends = Ends(out);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].job_id(), 1u);
  EXPECT_EQ(ends[0].signal(), SIGTERM);
  EXPECT_EQ(node.running_jobs(), 2u);
  node.Crash();
  EXPECT_EQ(node.running_jobs(), 0u);
  EXPECT_FALSE(node.registered());
  EXPECT_EQ(node.MakeRegister().register_().running_size(), 0);
}

TEST(EmulatedNodeTest, HeartbeatsCarryGpuReadingsThatFollowTheJobs) {
  EmulatedNode node(Config(JobTime::kReal));  // 2 GPUs
  std::vector<rpc::AgentMessage> out;
  ASSERT_TRUE(node.OnMessage(Accept(1000), 0, &out));
  auto last_heartbeat = [&](int64_t from_ms, int64_t to_ms) {
    rpc::Heartbeat hb;
    for (int64_t t = from_ms; t <= to_ms; t += 1000) {
      out.clear();
      node.Tick(t, &out);
      for (const auto& m : out) {
        if (m.has_heartbeat()) hb = m.heartbeat();
      }
    }
    return hb;
  };
  rpc::Heartbeat idle = last_heartbeat(1000, 5000);
  ASSERT_EQ(idle.gpus_size(), 2);
  for (const rpc::GpuReading& g : idle.gpus()) EXPECT_LE(g.utilization_ratio(), 0.05);

  rpc::ControllerMessage launch = Launch(7, 1, 600, {"SHOAL_EMULATE_RUNTIME=300"});
  launch.mutable_launch()->add_gpu_indices(1);
  ASSERT_TRUE(node.OnMessage(launch, 5500, &out));
  rpc::Heartbeat busy = last_heartbeat(6000, 126000);
  ASSERT_EQ(busy.gpus_size(), 2);
  EXPECT_EQ(busy.gpus(1).index(), 1u);
  EXPECT_GE(busy.gpus(1).utilization_ratio(), 0.55);
  EXPECT_GE(busy.gpus(1).temperature_celsius(), 60);
  EXPECT_GT(busy.gpus(1).memory_used_bytes(), 0u);
  EXPECT_LE(busy.gpus(0).utilization_ratio(), 0.05);
  EXPECT_LE(busy.gpus(0).temperature_celsius(), 36);
}

}  // namespace
}  // namespace shoal::emulator
