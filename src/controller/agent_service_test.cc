// The agent service over real gRPC on localhost: a Controller with a SQLite store in a temp dir,
// and agents as plain synchronous client streams. These pin the stream's life cycle: what ends
// it from either side, and that the controller hears of each end.
#include "controller/agent_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "security/crypto.h"
#include "security/membership.h"

namespace shoal {
namespace {

using namespace std::chrono_literals;
using Stream = grpc::ClientReaderWriter<rpc::AgentMessage, rpc::ControllerMessage>;

bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

rpc::AgentMessage Registration(const std::string& node, uint32_t cpus = 4) {
  rpc::AgentMessage m;
  rpc::Register* reg = m.mutable_register_();
  reg->set_node_name(node);
  reg->set_hostname(node);
  reg->set_cpus(cpus);
  reg->set_memory_mb(8192);
  return m;
}

// One agent's client stream.
struct Agent {
  grpc::ClientContext ctx;
  std::unique_ptr<Stream> stream;
};

class AgentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    char tmpl[] = "/tmp/shoal_agent_service_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = OpenSqliteStore(dir_ + "/state.db");
    ASSERT_TRUE(store.ok()) << store.status().message();
    ctl_ = std::make_unique<Controller>(ControllerConfig(), std::move(store).value(),
                                        dir_ + "/ctl.sock");
    ASSERT_TRUE(ctl_->Start(PolicyRegistry::Builtin()).ok());
    service_ = std::make_unique<AgentServiceImpl>(*ctl_, cluster_key_, limits_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials());
    stub_ = rpc::AgentService::NewStub(channel_);
  }

  void TearDown() override {
    agents_.clear();
    if (ctl_) ctl_->Stop();
    // Every stream must end (OnDone) for Shutdown to return: a reactor that never finishes
    // hangs the test here.
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + 2s);
    server_.reset();
    service_.reset();
    ctl_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // `proof`: the membership proof's metadata, if any.
  Agent& Open(const security::MembershipProof* proof = nullptr) {
    agents_.push_back(std::make_unique<Agent>());
    Agent& a = *agents_.back();
    if (proof != nullptr) {
      a.ctx.AddMetadata(security::kProofNodeHeader, proof->node);
      a.ctx.AddMetadata(security::kProofTimeHeader, proof->time);
      a.ctx.AddMetadata(security::kProofNonceHeader, proof->nonce);
      a.ctx.AddMetadata(security::kProofMacHeader, proof->mac);
    }
    // A stream the service fails to end fails its test here instead of hanging it.
    a.ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    a.stream = stub_->Connect(&a.ctx);
    return a;
  }

  // Opens a stream and registers `node`; returns the agent with the reply read.
  Agent& Connect(const std::string& node) {
    Agent& a = Open();
    EXPECT_TRUE(a.stream->Write(Registration(node)));
    rpc::ControllerMessage reply;
    EXPECT_TRUE(a.stream->Read(&reply));
    EXPECT_TRUE(reply.has_register_reply());
    EXPECT_TRUE(reply.register_reply().accepted()) << reply.register_reply().message();
    return a;
  }

  bool Known(const std::string& node) {
    for (const Node& n : ctl_->ListNodes()) {
      if (n.name == node) return true;
    }
    return false;
  }

  bool Responding(const std::string& node) {
    for (const Node& n : ctl_->ListNodes()) {
      if (n.name == node) return n.responding;
    }
    return false;
  }

  std::optional<std::string> cluster_key_;  // set before SetUp to require membership proofs
  AgentLimits limits_;                       // set before SetUp for tighter ones
  std::string dir_;
  std::unique_ptr<Controller> ctl_;
  std::unique_ptr<AgentServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<rpc::AgentService::Stub> stub_;
  std::vector<std::unique_ptr<Agent>> agents_;
};

TEST_F(AgentServiceTest, FirstMessageMustBeRegister) {
  Agent& a = Open();
  rpc::AgentMessage hb;
  hb.mutable_heartbeat()->set_time(1);
  ASSERT_TRUE(a.stream->Write(hb));
  rpc::ControllerMessage m;
  EXPECT_FALSE(a.stream->Read(&m));
  grpc::Status s = a.stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "first message must be Register");
}

TEST_F(AgentServiceTest, RefusedRegistrationIsAnsweredThenEnded) {
  Agent& a = Open();
  ASSERT_TRUE(a.stream->Write(Registration("n1", /*cpus=*/0)));
  rpc::ControllerMessage reply;
  ASSERT_TRUE(a.stream->Read(&reply));
  EXPECT_FALSE(reply.register_reply().accepted());
  EXPECT_EQ(reply.register_reply().message(), "node reports 0 CPUs");
  EXPECT_FALSE(a.stream->Read(&reply));
  EXPECT_TRUE(a.stream->Finish().ok());
}

TEST_F(AgentServiceTest, OutboxReachesTheAgent) {
  Agent& a = Connect("n1");
  EXPECT_TRUE(Responding("n1"));
  // A job for the node: the controller's LaunchJob is written from its own thread, through
  // the session's wake hook.
  SubmitRequest r;
  r.req.name = "job";
  r.req.user = "alice";
  r.req.uid = 1000;
  r.req.gid = 1000;
  r.req.work_dir = dir_;
  r.script = "#!/bin/sh\ntrue\n";
  auto id = ctl_->Submit(std::move(r), NowSeconds());
  ASSERT_TRUE(id.ok()) << id.status().message();
  rpc::ControllerMessage m;
  while (a.stream->Read(&m) && !m.has_launch()) {
  }
  ASSERT_TRUE(m.has_launch());
  EXPECT_EQ(m.launch().job_id(), *id);
}

TEST_F(AgentServiceTest, AgentLeavingMarksItsNodeNotResponding) {
  Agent& a = Connect("n1");
  Agent& b = Connect("n2");
  ASSERT_TRUE(a.stream->WritesDone());
  rpc::ControllerMessage m;
  EXPECT_FALSE(a.stream->Read(&m));
  a.stream->Finish();
  EXPECT_TRUE(WaitUntil([&] { return !Responding("n1"); }));
  // Cut off without a goodbye: the same.
  b.ctx.TryCancel();
  EXPECT_TRUE(WaitUntil([&] { return !Responding("n2"); }));
}

TEST_F(AgentServiceTest, ControllerEndsTheStreamOfAReplacedSession) {
  Agent& old_stream = Connect("n1");
  Connect("n1");
  rpc::ControllerMessage m;
  EXPECT_FALSE(old_stream.stream->Read(&m));
  EXPECT_EQ(old_stream.stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The old stream's end does not unregister the new one.
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(Responding("n1"));
}

TEST_F(AgentServiceTest, ControllerStopEndsEveryStream) {
  std::vector<Agent*> agents;
  for (int i = 0; i < 20; ++i) agents.push_back(&Connect("n" + std::to_string(i)));
  ctl_->Stop();
  for (Agent* a : agents) {
    rpc::ControllerMessage m;
    EXPECT_FALSE(a->stream->Read(&m));
    EXPECT_EQ(a->stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
}

// One agent misbehaving is turned away; the others keep their streams. Limits tightened so the
// test is quick (and holds under the sanitizers' slowness).
class AgentServiceLimitsTest : public AgentServiceTest {
 protected:
  AgentServiceLimitsTest() {
    limits_.messages_per_s = 50;
    limits_.message_burst = 200;
    limits_.registrations_per_s = 0.01;
    limits_.registration_burst = 3;
  }
};

TEST_F(AgentServiceLimitsTest, AnAgentFloodingMessagesIsCutOffAlone) {
  Agent& calm = Connect("n1");
  Agent& flood = Connect("n2");
  rpc::AgentMessage hb;
  hb.mutable_heartbeat()->set_time(1);
  int written = 0;
  while (written < 100000 && flood.stream->Write(hb)) ++written;
  EXPECT_GE(written, 200) << "cut off within its burst";
  EXPECT_LT(written, 100000) << "never cut off";
  rpc::ControllerMessage m;
  while (flood.stream->Read(&m)) {
  }
  grpc::Status s = flood.stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(s.error_message(), "too many messages: more than 50 a second");
  EXPECT_TRUE(WaitUntil([&] { return !Responding("n2"); }));
  // The calm one is untouched, and the flooder may register again.
  ASSERT_TRUE(calm.stream->Write(hb));
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(Responding("n1"));
  Connect("n2");
  EXPECT_TRUE(Responding("n2"));
}

TEST_F(AgentServiceLimitsTest, ANodeRegisteringInALoopIsTurnedAwayForAWhile) {
  for (int i = 0; i < 3; ++i) Connect("n1");  // each replaces the last
  Agent& a = Open();
  a.stream->Write(Registration("n1"));  // may fail: the stream may be over already
  rpc::ControllerMessage m;
  EXPECT_FALSE(a.stream->Read(&m)) << "a registration past the burst was answered";
  grpc::Status s = a.stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(s.error_message().find("node n1 registers too often: try again in"),
            std::string::npos)
      << s.error_message();
  // Another node is not held back by it.
  Connect("n2");
  EXPECT_TRUE(Responding("n2"));
}

// With a cluster key, only agents that prove it register, and only as the node proven.
class AgentServiceAuthTest : public AgentServiceTest {
 protected:
  AgentServiceAuthTest() { cluster_key_ = key_; }
  static int64_t Now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  // Registers `node` on a stream opened with `proof`; the status the stream ended with.
  grpc::Status Refused(const security::MembershipProof* proof, const std::string& node) {
    Agent& a = Open(proof);
    a.stream->Write(Registration(node));  // may fail: the stream may be over already
    rpc::ControllerMessage m;
    EXPECT_FALSE(a.stream->Read(&m)) << "the controller answered a refused agent";
    return a.stream->Finish();
  }
  const std::string key_ = security::RandomBytes(32);
};

TEST_F(AgentServiceAuthTest, AProvenAgentRegisters) {
  security::MembershipProof proof = security::MakeMembershipProof(key_, "n1", Now());
  Agent& a = Open(&proof);
  ASSERT_TRUE(a.stream->Write(Registration("n1")));
  rpc::ControllerMessage reply;
  ASSERT_TRUE(a.stream->Read(&reply));
  EXPECT_TRUE(reply.register_reply().accepted()) << reply.register_reply().message();
  EXPECT_TRUE(Responding("n1"));
}

TEST_F(AgentServiceAuthTest, AgentsWithoutAValidProofNeverBecomeNodes) {
  grpc::Status none = Refused(nullptr, "n1");
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(none.error_message().find("cluster key rejected"), std::string::npos);

  security::MembershipProof wrong =
      security::MakeMembershipProof(security::RandomBytes(32), "n2", Now());
  grpc::Status s = Refused(&wrong, "n2");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "cluster key rejected: wrong cluster key");

  security::MembershipProof stale = security::MakeMembershipProof(key_, "n3", Now() - 3600);
  s = Refused(&stale, "n3");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(s.error_message().find("old"), std::string::npos) << s.error_message();

  // A good proof for n4 does not register n5.
  security::MembershipProof other = security::MakeMembershipProof(key_, "n4", Now());
  s = Refused(&other, "n5");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(s.error_message().find("for node n4, not n5"), std::string::npos)
      << s.error_message();

  for (const char* node : {"n1", "n2", "n3", "n4", "n5"}) EXPECT_FALSE(Known(node)) << node;
}

}  // namespace
}  // namespace shoal
