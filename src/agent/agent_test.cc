// The Agent against an in-process fake controller: register, launch, finish, ack, reconnect,
// fencing, refusal.
#include "agent/agent.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "agent/agent_test_util.h"
#include "agent/job_files.h"

namespace shoal::agent {
namespace {

using testing::FileExists;
using ControllerStream = grpc::ServerReaderWriter<rpc::ControllerMessage, rpc::AgentMessage>;

// Each Connect runs the next handler in line (the last one repeats).
class FakeController final : public rpc::AgentService::Service {
 public:
  using Handler = std::function<void(ControllerStream*)>;
  explicit FakeController(std::vector<Handler> handlers, int port = 0)
      : handlers_(std::move(handlers)) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(),
                       &port_);
    b.RegisterService(this);
    server_ = b.BuildAndStart();
  }
  ~FakeController() override { server_->Shutdown(std::chrono::system_clock::now()); }

  grpc::Status Connect(grpc::ServerContext*, ControllerStream* stream) override {
    size_t i = connections_++;
    handlers_[std::min(i, handlers_.size() - 1)](stream);
    return grpc::Status::OK;
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_; }

 private:
  std::vector<Handler> handlers_;
  std::atomic<int> connections_{0};
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

rpc::ControllerMessage Accept(uint32_t heartbeat_ms, std::vector<uint64_t> kill = {}) {
  rpc::ControllerMessage m;
  m.mutable_register_reply()->set_accepted(true);
  m.mutable_register_reply()->set_heartbeat_interval_ms(heartbeat_ms);
  for (uint64_t id : kill) m.mutable_register_reply()->add_kill_job_ids(id);
  return m;
}

rpc::ControllerMessage Launch(uint64_t id, uint64_t gen, const std::string& script,
                              const std::string& out) {
  rpc::ControllerMessage m;
  rpc::LaunchJob* l = m.mutable_launch();
  l->set_job_id(id);
  l->set_generation(gen);
  l->set_script(script);
  l->add_env("PATH=/usr/bin:/bin");
  l->set_work_dir("/tmp");
  l->set_stdout_path(out);
  l->set_uid(getuid());
  l->set_gid(getgid());
  l->set_kill_wait_s(1);
  return m;
}

// Reads until a message satisfies `want`; false when the stream ends first.
bool ReadUntil(ControllerStream* s, rpc::AgentMessage* m,
               const std::function<bool(const rpc::AgentMessage&)>& want) {
  while (s->Read(m)) {
    if (want(*m)) return true;
  }
  return false;
}

class AgentTest : public ::testing::Test {
 protected:
  ~AgentTest() override {
    // A failed assertion may leave the agent running.
    if (runner_.joinable()) StopAgent();
  }
  void StartAgent(const std::string& controller) {
    AgentOptions o;
    o.controller = controller;
    o.node_name = "n1";
    o.state_dir = tmp_.path() + "/state";
    o.cpus = 4;
    o.memory_mb = 1000;
    o.gpus = 2;
    o.gpu_type = "emulated";
    agent_ = std::make_unique<Agent>(o, testing::SupervisorExe());
    runner_ = std::thread([this] { rc_ = agent_->Run(); });
  }
  int StopAgent() {
    agent_->Shutdown();
    runner_.join();
    return rc_;
  }
  std::string JobDir(uint64_t id) { return tmp_.path() + "/state/jobs/" + std::to_string(id); }

  testing::TempDir tmp_;
  std::unique_ptr<Agent> agent_;
  std::thread runner_;
  std::atomic<int> rc_{-1};
};

TEST_F(AgentTest, RegistersRunsAJobAndReconnects) {
  std::mutex mu;
  rpc::Register first, second;
  rpc::JobFinished finished;
  int heartbeats = 0;
  std::atomic<bool> done{false};
  std::string out = tmp_.path() + "/job1.out";
  FakeController ctl({
      [&](ControllerStream* s) {
        rpc::AgentMessage m;
        ASSERT_TRUE(s->Read(&m));
        ASSERT_TRUE(m.has_register_());
        {
          std::lock_guard<std::mutex> l(mu);
          first = m.register_();
        }
        s->Write(Accept(20));
        s->Write(Launch(1, 3, "#!/bin/sh\necho hi\nexit 5\n", out));
        ASSERT_TRUE(ReadUntil(s, &m, [&](const rpc::AgentMessage& x) {
          if (x.has_heartbeat()) ++heartbeats;
          return x.has_job_finished();
        }));
        finished = m.job_finished();
        // Wait for a few heartbeats, then break the stream without acknowledging.
        ASSERT_TRUE(ReadUntil(s, &m, [&](const rpc::AgentMessage& x) {
          return x.has_heartbeat() && ++heartbeats >= 3;
        }));
      },
      [&](ControllerStream* s) {
        rpc::AgentMessage m;
        ASSERT_TRUE(s->Read(&m));
        second = m.register_();
        s->Write(Accept(20));
        // The unacknowledged JobFinished comes again after the registration.
        ASSERT_TRUE(
            ReadUntil(s, &m, [](const rpc::AgentMessage& x) { return x.has_job_finished(); }));
        EXPECT_EQ(m.job_finished().job_id(), 1u);
        rpc::ControllerMessage ack;
        rpc::JobFinishedAck* a = ack.mutable_finished_acks()->add_acks();
        a->set_job_id(1);
        a->set_generation(3);
        s->Write(ack);
        done = true;
        while (s->Read(&m)) {
        }
      },
  });
  StartAgent(ctl.address());
  ASSERT_TRUE(testing::WaitFor([&] { return done.load(); }));
  EXPECT_TRUE(testing::WaitFor([&] { return !FileExists(JobDir(1)); }));
  EXPECT_EQ(StopAgent(), 0);

  EXPECT_EQ(first.node_name(), "n1");
  EXPECT_EQ(first.cpus(), 4u);
  EXPECT_EQ(first.memory_mb(), 1000u);
  ASSERT_EQ(first.gpus_size(), 2);
  EXPECT_EQ(first.gpus(1).index(), 1u);
  EXPECT_TRUE(first.gpus(1).emulated());
  EXPECT_EQ(first.running_size(), 0);
  EXPECT_EQ(finished.job_id(), 1u);
  EXPECT_EQ(finished.generation(), 3u);
  EXPECT_EQ(finished.exit_code(), 5);
  EXPECT_EQ(testing::ReadOr(out), "hi\n");
  // The finished, unacknowledged job is still held: listed so it is not taken for lost.
  ASSERT_EQ(second.running_size(), 1);
  EXPECT_EQ(second.running(0).job_id(), 1u);
  EXPECT_EQ(second.running(0).generation(), 3u);
}

TEST_F(AgentTest, RunningJobsAreReportedAndFencedOnReconnect) {
  std::atomic<bool> done{false};
  rpc::Register second;
  FakeController ctl({
      [&](ControllerStream* s) {
        rpc::AgentMessage m;
        ASSERT_TRUE(s->Read(&m));
        s->Write(Accept(20));
        s->Write(Launch(2, 9, "#!/bin/sh\nsleep 100\n", "/dev/null"));
        // Started (a start is not reported: the controller recorded it with the launch).
        ASSERT_TRUE(testing::WaitFor([&] { return FileExists(JobDir(2) + "/" + kPidFile); }));
      },
      [&](ControllerStream* s) {
        rpc::AgentMessage m;
        ASSERT_TRUE(s->Read(&m));
        second = m.register_();
        s->Write(Accept(20, {2}));
        done = true;
        while (s->Read(&m)) {
          EXPECT_FALSE(m.has_job_finished()) << "a fenced job is not reported";
        }
      },
  });
  StartAgent(ctl.address());
  ASSERT_TRUE(testing::WaitFor([&] { return done.load(); }));
  ASSERT_EQ(second.running_size(), 1);
  EXPECT_EQ(second.running(0).job_id(), 2u);
  EXPECT_EQ(second.running(0).generation(), 9u);
  EXPECT_TRUE(testing::WaitFor([&] { return !FileExists(JobDir(2)); }));
  EXPECT_EQ(StopAgent(), 0);
}

TEST_F(AgentTest, ReconnectsWhenTheControllerComesBack) {
  auto serve = [](std::atomic<int>* registrations) {
    return [registrations](ControllerStream* s) {
      rpc::AgentMessage m;
      if (!s->Read(&m)) return;
      s->Write(Accept(20));
      ++*registrations;
      while (s->Read(&m)) {
      }
    };
  };
  std::atomic<int> first{0}, second{0};
  auto ctl = std::make_unique<FakeController>(std::vector<FakeController::Handler>{serve(&first)});
  int port = std::stoi(ctl->address().substr(ctl->address().rfind(':') + 1));
  StartAgent(ctl->address());
  ASSERT_TRUE(testing::WaitFor([&] { return first.load() == 1; }));
  ctl.reset();  // the controller dies...
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // ...and comes back on the same address. Backoff is capped at 2 s: generous bound below.
  ctl =
      std::make_unique<FakeController>(std::vector<FakeController::Handler>{serve(&second)}, port);
  EXPECT_TRUE(testing::WaitFor([&] { return second.load() == 1; }, std::chrono::seconds(8)));
  EXPECT_EQ(StopAgent(), 0);
}

TEST_F(AgentTest, RefusedRegistrationEndsTheAgent) {
  FakeController ctl({[](ControllerStream* s) {
    rpc::AgentMessage m;
    s->Read(&m);
    rpc::ControllerMessage no;
    no.mutable_register_reply()->set_accepted(false);
    no.mutable_register_reply()->set_message("unknown node n1");
    s->Write(no);
  }});
  StartAgent(ctl.address());
  runner_.join();
  EXPECT_EQ(rc_, 1);
}

TEST_F(AgentTest, ShutdownWhileTheControllerIsDown) {
  StartAgent("127.0.0.1:1");  // nothing listens there
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(StopAgent(), 0);
}

}  // namespace
}  // namespace shoal::agent
