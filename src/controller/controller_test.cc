// In-process tests of the Controller: a real SQLite store in a temp dir, no gRPC. Agents are
// faked by draining their AgentSession on a reader thread and calling OnAgentMessage directly.
#include "controller/controller.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace shoal {
namespace {

using namespace std::chrono_literals;
using Body = rpc::ControllerMessage::BodyCase;

// Polls `pred` until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

bool HasEnv(const rpc::LaunchJob& l, const std::string& kv) {
  return std::find(l.env().begin(), l.env().end(), kv) != l.env().end();
}

// One agent's end of the stream. A reader thread drains the session into an inbox, so tests
// can wait for a kind of message with a deadline instead of blocking in Next().
class FakeAgent {
 public:
  FakeAgent(Controller* ctl, std::shared_ptr<AgentSession> session)
      : ctl_(ctl), session_(std::move(session)) {
    reader_ = std::thread([this] {
      rpc::ControllerMessage msg;
      while (session_->Next(msg)) {
        std::lock_guard<std::mutex> lock(mu_);
        inbox_.push_back(msg);
        cv_.notify_all();
      }
    });
  }
  ~FakeAgent() {
    session_->Close();
    reader_.join();
  }
  FakeAgent(const FakeAgent&) = delete;
  FakeAgent& operator=(const FakeAgent&) = delete;

  // Takes the first message of `kind` (others stay queued, in order), waiting up to `timeout`.
  std::optional<rpc::ControllerMessage> Await(Body kind, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<rpc::ControllerMessage> found;
    cv_.wait_for(lock, timeout, [&] {
      for (auto it = inbox_.begin(); it != inbox_.end(); ++it) {
        if (it->body_case() == kind) {
          found = std::move(*it);
          inbox_.erase(it);
          return true;
        }
      }
      return false;
    });
    return found;
  }

  // True when no message of `kind` arrives within `period` (nothing is consumed).
  bool Quiet(Body kind, std::chrono::milliseconds period) {
    std::unique_lock<std::mutex> lock(mu_);
    return !cv_.wait_for(lock, period, [&] {
      return std::any_of(inbox_.begin(), inbox_.end(),
                         [&](const rpc::ControllerMessage& m) { return m.body_case() == kind; });
    });
  }

  rpc::LaunchJob AwaitLaunch() {
    auto m = Await(Body::kLaunch);
    EXPECT_TRUE(m.has_value()) << "no LaunchJob reached " << session_->node();
    return m ? m->launch() : rpc::LaunchJob();
  }

  void Finish(JobId id, uint64_t generation, int32_t exit_code, bool timed_out = false,
              int32_t signal = 0) {
    rpc::AgentMessage msg;
    rpc::JobFinished* f = msg.mutable_job_finished();
    f->set_job_id(id);
    f->set_generation(generation);
    f->set_exit_code(exit_code);
    f->set_signal(signal);
    f->set_timed_out(timed_out);
    ctl_->OnAgentMessage(session_, msg);
  }

  void Health(bool ok, const std::string& failure) {
    rpc::AgentMessage msg;
    msg.mutable_node_health()->set_ok(ok);
    msg.mutable_node_health()->set_failure(failure);
    ctl_->OnAgentMessage(session_, msg);
  }

  void Heartbeat() {
    rpc::AgentMessage msg;
    msg.mutable_heartbeat()->set_time(NowSeconds());
    ctl_->OnAgentMessage(session_, msg);
  }

  const std::shared_ptr<AgentSession>& session() const { return session_; }

 private:
  Controller* ctl_;
  std::shared_ptr<AgentSession> session_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<rpc::ControllerMessage> inbox_;
};

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    char tmpl[] = "/tmp/shoal_controller_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // Fake agents heartbeat only where a test makes them: the tests of node liveness set their
    // own timeout, the others must not lose their nodes to the default one (3 s).
    config_.node_timeout_s = 60;
  }

  void TearDown() override {
    agents_.clear();
    ctl_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void StartController(const PolicyRegistry& registry = PolicyRegistry::Builtin()) {
    auto store = OpenSqliteStore(dir_ + "/state.db");
    ASSERT_TRUE(store.ok()) << store.status().message();
    std::unique_ptr<Store> opened = std::move(store).value();
    if (wrap_store_) opened = wrap_store_(std::move(opened));
    ctl_ = std::make_unique<Controller>(config_, std::move(opened), dir_ + "/ctl.sock");
    Status s = ctl_->Start(registry);
    ASSERT_TRUE(s.ok()) << s.message();
  }

  // Destroys the controller (its agents' streams close with it) and opens a new one on the
  // same database.
  void RestartController() {
    agents_.clear();
    ctl_.reset();
    StartController();
  }

  FakeAgent& Register(const std::string& node, uint32_t cpus = 4,
                      std::vector<std::pair<JobId, uint64_t>> running = {},
                      rpc::RegisterReply* reply_out = nullptr) {
    rpc::Register reg;
    reg.set_node_name(node);
    reg.set_hostname(node);
    reg.set_cpus(cpus);
    reg.set_memory_mb(8192);
    for (const auto& [id, gen] : running) {
      rpc::RunningJob* r = reg.add_running();
      r->set_job_id(id);
      r->set_generation(gen);
    }
    rpc::RegisterReply reply;
    auto session = ctl_->RegisterAgent(reg, reply);
    EXPECT_TRUE(session.ok()) << session.status().message();
    EXPECT_TRUE(reply.accepted());
    if (reply_out != nullptr) *reply_out = reply;
    auto s = session.ok() ? std::move(session).value() : std::make_shared<AgentSession>(node);
    agents_.push_back(std::make_unique<FakeAgent>(ctl_.get(), std::move(s)));
    return *agents_.back();
  }

  SubmitRequest Request(const std::string& name = "job") {
    SubmitRequest r;
    r.req.name = name;
    r.req.user = "alice";
    r.req.uid = 1000;
    r.req.gid = 1000;
    r.req.work_dir = dir_;
    r.script = "#!/bin/sh\necho hello\n";
    r.env = {"FOO=bar", "PATH=/usr/bin:/bin"};
    return r;
  }

  JobId Submit(SubmitRequest r) {
    auto id = ctl_->Submit(std::move(r), NowSeconds());
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? *id : 0;
  }
  JobId Submit() { return Submit(Request()); }

  Job GetJob(JobId id) {
    auto job = ctl_->GetJob(std::to_string(id));
    EXPECT_TRUE(job.ok()) << "job " << id << ": " << job.status().message();
    return job.ok() ? *job : Job();
  }

  JobState StateOf(JobId id) { return GetJob(id).state; }

  bool WaitState(JobId id, JobState state, std::chrono::milliseconds timeout = 5s) {
    return WaitUntil([&] { return StateOf(id) == state; }, timeout);
  }

  std::optional<Node> MaybeNode(const std::string& name) {
    for (const Node& n : ctl_->ListNodes()) {
      if (n.name == name) return n;
    }
    return std::nullopt;
  }
  Node FindNode(const std::string& name) {
    auto n = MaybeNode(name);
    EXPECT_TRUE(n.has_value()) << "no node " << name;
    return n.value_or(Node());
  }

  // The job as the store has it (what a restarted controller or sacct would see).
  std::optional<Job> StoredJob(JobId id) {
    JobQuery q;
    q.ids = {id};
    auto jobs = ctl_->QueryAccounting(q);
    EXPECT_TRUE(jobs.ok()) << jobs.status().message();
    if (!jobs.ok()) return std::nullopt;
    for (const Job& j : *jobs) {
      if (j.id == id) return j;
    }
    return std::nullopt;
  }

  std::string dir_;
  ControllerConfig config_;
  // When set, StartController hands the store through it (a test's wrapper around it).
  std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)> wrap_store_;
  std::unique_ptr<Controller> ctl_;
  std::vector<std::unique_ptr<FakeAgent>> agents_;
};

// A store whose script reads wait until the test opens the gate, to see what the controller
// holds while it reads them; everything else goes straight to the real store.
class GatedPayloadStore : public Store {
 public:
  explicit GatedPayloadStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  // Waits until a script read is held at the gate.
  bool AwaitReader(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return waiting_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

  Result<JobPayload> LoadPayload(JobId payload_id) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      waiting_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_; });
      if (scripts_lost_) return NotFound("no script stored for job " + std::to_string(payload_id));
    }
    return inner_->LoadPayload(payload_id);
  }
  // From now on every script read finds nothing (a store that lost them).
  void LoseScripts() {
    std::lock_guard<std::mutex> lock(mu_);
    scripts_lost_ = true;
  }
  std::future<Status> Submit(std::vector<StoreOp> ops) override {
    return inner_->Submit(std::move(ops));
  }
  Status Write(std::vector<StoreOp> ops) override { return inner_->Write(std::move(ops)); }
  Result<std::vector<Job>> LoadLiveJobs(int64_t finished_since) override {
    return inner_->LoadLiveJobs(finished_since);
  }
  Result<JobId> MaxJobId() override { return inner_->MaxJobId(); }
  Result<std::vector<JobRecord>> QueryJobRecords(const JobQuery& query) override {
    return inner_->QueryJobRecords(query);
  }
  Result<UsageState> LoadUsage() override { return inner_->LoadUsage(); }
  Result<std::vector<Step>> QuerySteps(const std::vector<JobId>& job_ids) override {
    return inner_->QuerySteps(job_ids);
  }
  Result<std::vector<NodeAdminState>> LoadNodeStates() override { return inner_->LoadNodeStates(); }
  Result<std::optional<std::string>> LoadDocument(const std::string& name) override {
    return inner_->LoadDocument(name);
  }
  Result<std::vector<OutboxEntry>> LoadOutbox() override { return inner_->LoadOutbox(); }
  Result<std::vector<NodeEvent>> LoadNodeEvents(int64_t start, int64_t end) override {
    return inner_->LoadNodeEvents(start, end);
  }

 private:
  std::unique_ptr<Store> inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool waiting_ = false;
  bool open_ = false;
  bool scripts_lost_ = false;
};

// The controller's store behind a GatedPayloadStore (gate_), for tests of how it reads scripts.
class GatedStoreTest : public ControllerTest {
 protected:
  void SetUp() override {
    ControllerTest::SetUp();
    wrap_store_ = [this](std::unique_ptr<Store> inner) -> std::unique_ptr<Store> {
      auto gated = std::make_unique<GatedPayloadStore>(std::move(inner));
      gate_ = gated.get();
      return gated;
    };
  }
  GatedPayloadStore* gate_ = nullptr;  // owned by the controller
};

// ---------------------------------------------------------------------------------------------
// Submission and durability

TEST_F(ControllerTest, SubmittedJobIsDurableAndIdsContinue) {
  StartController();
  JobId a = Submit(Request("first"));
  JobId b = Submit(Request("second"));
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);

  RestartController();
  Job j = GetJob(b);
  EXPECT_EQ(j.id, 2u);
  EXPECT_EQ(j.req.name, "second");
  EXPECT_EQ(j.req.user, "alice");
  EXPECT_EQ(j.req.partition, "debug");
  EXPECT_EQ(j.state, JobState::kPending);
  EXPECT_EQ(ctl_->ListJobs({}).size(), 2u);

  EXPECT_EQ(Submit(), 3u);
  // The stored script is what gets launched once a node shows up.
  FakeAgent& n1 = Register("n1");
  std::vector<JobId> launched;
  for (int i = 0; i < 3; ++i) {
    rpc::LaunchJob l = n1.AwaitLaunch();
    EXPECT_EQ(l.script(), "#!/bin/sh\necho hello\n");
    launched.push_back(l.job_id());
  }
  std::sort(launched.begin(), launched.end());
  EXPECT_EQ(launched, (std::vector<JobId>{1, 2, 3}));
}

// Keys workflow engines parse out of `scontrol show config` (Toil: "NAME = VALUE UNIT").
TEST_F(ControllerTest, ConfigHasTheKeysClientsRead) {
  config_ = ControllerConfig();
  StartController();
  Json c = ctl_->ConfigJson()["config"];
  EXPECT_EQ(c.value("SchedulerTimeSlice", ""), "30 sec");
  EXPECT_EQ(c.value("AcctGatherNodeFreq", ""), "0 sec");
  // Where the state is kept (SQLite by default; no URL).
  EXPECT_EQ(c.value("StorageType", ""), "sqlite");
  EXPECT_EQ(c.value("StorageURL", ""), "(null)");
  EXPECT_EQ(c.value("AccountingStorageType", ""), "accounting_storage/shoal_sqlite");
  // shoal's default SlurmdTimeout (not Slurm's 300 s) is the one shown, as it is in effect.
  EXPECT_EQ(c.value("SlurmdTimeout", ""), "3 sec");
}

TEST_F(ControllerTest, SubmitErrors) {
  StartController();
  Register("n1", /*cpus=*/2);

  SubmitRequest r = Request();
  r.req.partition = "nosuch";
  auto res = ctl_->Submit(r, NowSeconds());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().message(), "Invalid partition name specified");

  r = Request();
  r.script = "echo no shebang\n";
  res = ctl_->Submit(r, NowSeconds());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(res.status().message().find("#!"), std::string::npos) << res.status().message();

  r = Request();
  r.req.cpus_per_task = 8;  // the only node has 2
  res = ctl_->Submit(r, NowSeconds());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().message(), "Requested node configuration is not available");

  r = Request();
  r.req.array_spec = "0-" + std::to_string(config_.max_array_size);  // last id == MaxArraySize
  res = ctl_->Submit(r, NowSeconds());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(res.status().message().find("MaxArraySize"), std::string::npos)
      << res.status().message();

  // A dependency on a job never issued, or on a task its array does not have.
  r = Request();
  r.req.dependency.clauses.push_back({Dependency::Kind::kAfterOk, 99, kNoArrayTask});
  res = ctl_->Submit(r, NowSeconds());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().message(), "Job dependency problem: job 99 does not exist");

  // Refused submissions leave nothing behind and consume no ids.
  EXPECT_TRUE(ctl_->ListJobs({}).empty());
  EXPECT_EQ(Submit(), 1u);

  r = Request();
  r.req.array_spec = "0-1";
  const JobId array = Submit(r);
  r = Request();
  r.req.dependency.clauses.push_back({Dependency::Kind::kAfterOk, array, 5});
  res = ctl_->Submit(r, NowSeconds());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().message(),
            "Job dependency problem: job " + std::to_string(array) + "_5 does not exist");
  r.req.dependency.clauses = {{Dependency::Kind::kAfterOk, array, 1},
                              {Dependency::Kind::kAfterAny, 1, kNoArrayTask}};
  EXPECT_TRUE(ctl_->Submit(r, NowSeconds()).ok());
}

// ---------------------------------------------------------------------------------------------
// Launch and completion

TEST_F(ControllerTest, LaunchCarriesScriptEnvOutputAndLimit) {
  StartController();
  FakeAgent& n1 = Register("n1");
  SubmitRequest r = Request("hello");
  r.req.time_limit_s = 120;
  JobId id = Submit(r);

  rpc::LaunchJob l = n1.AwaitLaunch();
  EXPECT_EQ(l.job_id(), id);
  EXPECT_GE(l.generation(), 1u);
  EXPECT_EQ(l.script(), "#!/bin/sh\necho hello\n");
  EXPECT_TRUE(HasEnv(l, "SLURM_JOB_ID=" + std::to_string(id)));
  EXPECT_TRUE(HasEnv(l, "SLURM_JOB_NODELIST=n1"));
  EXPECT_TRUE(HasEnv(l, "SLURM_JOB_NAME=hello"));
  EXPECT_TRUE(HasEnv(l, "FOO=bar"));
  EXPECT_EQ(l.work_dir(), dir_);
  EXPECT_EQ(l.stdout_path(), dir_ + "/slurm-" + std::to_string(id) + ".out");
  EXPECT_EQ(l.stderr_path(), "");
  EXPECT_FALSE(l.open_append());
  EXPECT_EQ(l.time_limit_s(), 120);
  EXPECT_EQ(l.uid(), 1000u);
  EXPECT_EQ(l.cpus(), 1u);

  Job j = GetJob(id);
  EXPECT_EQ(j.state, JobState::kRunning);
  EXPECT_EQ(j.nodes, (std::vector<std::string>{"n1"}));
  EXPECT_EQ(j.generation, l.generation());
  EXPECT_GT(j.start_time, 0);
  // The start was durable before the launch went out.
  auto stored = StoredJob(id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->state, JobState::kRunning);
  EXPECT_EQ(stored->generation, l.generation());
  EXPECT_EQ(FindNode("n1").alloc_cpus, 1u);
}

// A pass reads its starts' scripts from the store before it takes the exclusive lock: the
// controller answers a listing while the store is slow to give them (a round trip each on
// PostgreSQL), and the launch still carries the script.
TEST_F(GatedStoreTest, ScriptsAreReadWithoutHoldingListingsOff) {
  StartController();
  FakeAgent& n1 = Register("n1");
  JobId id = Submit();
  if (!gate_->AwaitReader(5s)) {
    gate_->Open();
    FAIL() << "the pass never read the job's script";
  }
  auto listing = std::async(std::launch::async, [&] { return ctl_->ListJobs(JobFilter{}).size(); });
  const bool answered = listing.wait_for(2s) == std::future_status::ready;
  gate_->Open();
  EXPECT_TRUE(answered) << "the listing waited for the script's read";
  EXPECT_EQ(listing.get(), 1u);
  rpc::LaunchJob l = n1.AwaitLaunch();
  EXPECT_EQ(l.job_id(), id);
  EXPECT_EQ(l.script(), "#!/bin/sh\necho hello\n");
  EXPECT_EQ(StateOf(id), JobState::kRunning);
}

// A job whose script the store cannot give fails at its start, with the reason saying so, and
// its node is free for the next job.
TEST_F(GatedStoreTest, AJobWhoseScriptIsMissingFails) {
  StartController();
  FakeAgent& n1 = Register("n1", 1);
  gate_->LoseScripts();
  gate_->Open();
  JobId lost = Submit();
  ASSERT_TRUE(WaitState(lost, JobState::kFailed));
  EXPECT_EQ(GetJob(lost).reason, "launch failed: script missing");
  EXPECT_EQ(FindNode("n1").alloc_cpus, 0u);
  EXPECT_EQ(StoredJob(lost)->state, JobState::kFailed);
  EXPECT_TRUE(n1.Quiet(Body::kLaunch, 200ms));
}

// A submission wakes the scheduler at once rather than at its next one-second tick.
TEST_F(ControllerTest, LaunchFollowsSubmitPromptly) {
  StartController();
  FakeAgent& n1 = Register("n1", /*cpus=*/16);
  for (int i = 0; i < 8; ++i) {
    JobId id = Submit();
    auto m = n1.Await(Body::kLaunch, 600ms);
    ASSERT_TRUE(m.has_value()) << "job " << id << " not launched within 600 ms";
    EXPECT_EQ(m->launch().job_id(), id);
  }
}

TEST_F(ControllerTest, ExitZeroCompletesAndIsAcked) {
  StartController();
  FakeAgent& n1 = Register("n1");
  JobId id = Submit();
  rpc::LaunchJob l = n1.AwaitLaunch();

  n1.Finish(id, l.generation(), 0);
  auto ack = n1.Await(Body::kFinishedAcks);
  ASSERT_TRUE(ack.has_value());
  ASSERT_EQ(ack->finished_acks().acks_size(), 1);
  EXPECT_EQ(ack->finished_acks().acks(0).job_id(), id);
  EXPECT_EQ(ack->finished_acks().acks(0).generation(), l.generation());

  Job j = GetJob(id);
  EXPECT_EQ(j.state, JobState::kCompleted);
  EXPECT_EQ(j.exit_code, 0);
  EXPECT_GT(j.end_time, 0);
  EXPECT_EQ(FindNode("n1").alloc_cpus, 0u);
  EXPECT_TRUE(FindNode("n1").running_jobs.empty());

  // The ack means it is durable: accounting sees the final state.
  auto stored = StoredJob(id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->state, JobState::kCompleted);
  JobQuery q;
  q.states = {"COMPLETED"};
  auto done = ctl_->QueryAccounting(q);
  ASSERT_TRUE(done.ok());
  ASSERT_EQ(done->size(), 1u);
  EXPECT_EQ(done->front().id, id);
}

TEST_F(ControllerTest, EndsSyncedTogetherAreAcknowledgedInOneMessagePerNode) {
  StartController();
  FakeAgent& n1 = Register("n1");
  std::vector<rpc::LaunchJob> launches;
  for (int i = 0; i < 3; ++i) {
    Submit();
    launches.push_back(n1.AwaitLaunch());
  }
  for (const rpc::LaunchJob& l : launches) n1.Finish(l.job_id(), l.generation(), 0);
  // The three ends are synced together (every quarter second), or at worst across one sync.
  std::multiset<JobId> acked;
  int messages = 0;
  while (acked.size() < launches.size()) {
    auto ack = n1.Await(Body::kFinishedAcks);
    ASSERT_TRUE(ack.has_value()) << acked.size() << " of 3 ends acknowledged";
    ++messages;
    for (const rpc::JobFinishedAck& a : ack->finished_acks().acks()) acked.insert(a.job_id());
  }
  EXPECT_EQ(acked, (std::multiset<JobId>{launches[0].job_id(), launches[1].job_id(),
                                         launches[2].job_id()}));
  EXPECT_LE(messages, 2);
}

TEST_F(ControllerTest, NonZeroExitFails) {
  StartController();
  FakeAgent& n1 = Register("n1");
  JobId id = Submit();
  rpc::LaunchJob l = n1.AwaitLaunch();
  n1.Finish(id, l.generation(), 3);
  ASSERT_TRUE(n1.Await(Body::kFinishedAcks).has_value());
  Job j = GetJob(id);
  EXPECT_EQ(j.state, JobState::kFailed);
  EXPECT_EQ(j.exit_code, 3);
  EXPECT_EQ(j.reason, "NonZeroExitCode");
  EXPECT_EQ(StoredJob(id)->exit_code, 3);
}

TEST_F(ControllerTest, TimedOutEndsTimeout) {
  StartController();
  FakeAgent& n1 = Register("n1");
  JobId id = Submit();
  rpc::LaunchJob l = n1.AwaitLaunch();
  n1.Finish(id, l.generation(), 0, /*timed_out=*/true, /*signal=*/15);
  ASSERT_TRUE(n1.Await(Body::kFinishedAcks).has_value());
  EXPECT_EQ(StateOf(id), JobState::kTimeout);
  EXPECT_EQ(StoredJob(id)->state, JobState::kTimeout);
}

TEST_F(ControllerTest, FinishWithWrongGenerationOrNodeIsIgnored) {
  StartController();
  FakeAgent& n1 = Register("n1");
  JobId id = Submit();
  rpc::LaunchJob l = n1.AwaitLaunch();
  FakeAgent& n2 = Register("n2");

  n1.Finish(id, l.generation() + 1, 1);
  n1.Finish(id, l.generation() - 1, 1);
  n2.Finish(id, l.generation(), 1);  // right generation, wrong node
  Job j = GetJob(id);
  EXPECT_EQ(j.state, JobState::kRunning);
  EXPECT_EQ(j.exit_code, 0);
  EXPECT_EQ(j.generation, l.generation());
  EXPECT_EQ(FindNode("n1").alloc_cpus, 1u);

  n1.Finish(id, l.generation(), 0);
  EXPECT_EQ(StateOf(id), JobState::kCompleted);
}

// ---------------------------------------------------------------------------------------------
// Cancel, hold, requeue, update

TEST_F(ControllerTest, CancelPendingJob) {
  StartController();
  JobId id = Submit();  // no node: stays pending
  CancelFilter f;
  f.ids = {std::to_string(id)};
  CancelResult r = ctl_->Cancel(f);
  EXPECT_EQ(r.done, (std::vector<std::string>{std::to_string(id)}));
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(StateOf(id), JobState::kCancelled);
  EXPECT_EQ(StoredJob(id)->state, JobState::kCancelled);

  // A second cancel names the job as already done; an unknown id is an error.
  f.ids = {std::to_string(id), "999"};
  r = ctl_->Cancel(f);
  EXPECT_TRUE(r.done.empty());
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].first, "999");
  EXPECT_EQ(r.errors[0].second, "Invalid job id specified");

  // A cancelled job never starts.
  FakeAgent& n1 = Register("n1");
  EXPECT_TRUE(n1.Quiet(Body::kLaunch, 250ms));
}

TEST_F(ControllerTest, CancelRunningJobTerminatesIt) {
  StartController();
  FakeAgent& n1 = Register("n1");
  JobId id = Submit();
  rpc::LaunchJob l = n1.AwaitLaunch();

  CancelFilter f;
  f.ids = {std::to_string(id)};
  CancelResult r = ctl_->Cancel(f);
  EXPECT_EQ(r.done.size(), 1u);
  auto term = n1.Await(Body::kTerminate);
  ASSERT_TRUE(term.has_value());
  EXPECT_EQ(term->terminate().job_id(), id);
  EXPECT_EQ(term->terminate().kill_wait_s(), config_.kill_wait_s);
  Job j = GetJob(id);
  EXPECT_EQ(j.state, JobState::kCancelled);
  EXPECT_TRUE(j.terminating);
  EXPECT_EQ(FindNode("n1").alloc_cpus, 1u);  // held until the run really ends

  n1.Finish(id, l.generation(), 0, false, /*signal=*/15);
  ASSERT_TRUE(n1.Await(Body::kFinishedAcks).has_value());
  j = GetJob(id);
  EXPECT_EQ(j.state, JobState::kCancelled);
  EXPECT_FALSE(j.terminating);
  EXPECT_EQ(j.exit_signal, 15);
  EXPECT_EQ(FindNode("n1").alloc_cpus, 0u);
  EXPECT_EQ(StoredJob(id)->state, JobState::kCancelled);
}

TEST_F(ControllerTest, HoldAndRelease) {
  StartController();
  JobId id = Submit();
  ASSERT_TRUE(ctl_->Hold(std::to_string(id), true).ok());
  Job j = GetJob(id);
  EXPECT_TRUE(j.held);
  EXPECT_EQ(j.priority, 0u);
  EXPECT_EQ(j.reason, "JobHeldAdmin");
  EXPECT_TRUE(StoredJob(id)->held);

  FakeAgent& n1 = Register("n1");
  EXPECT_TRUE(n1.Quiet(Body::kLaunch, 250ms));
  EXPECT_EQ(StateOf(id), JobState::kPending);

  ASSERT_TRUE(ctl_->Hold(std::to_string(id), false).ok());
  EXPECT_FALSE(GetJob(id).held);
  rpc::LaunchJob l = n1.AwaitLaunch();
  EXPECT_EQ(l.job_id(), id);
  EXPECT_EQ(StateOf(id), JobState::kRunning);

  Status s = ctl_->Hold(std::to_string(id), true);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ctl_->Hold("999", true).code(), StatusCode::kNotFound);

  // Submitted held (sbatch -H): pending with JobHeldUser until released.
  SubmitRequest r = Request();
  r.hold = true;
  JobId held = Submit(r);
  EXPECT_TRUE(n1.Quiet(Body::kLaunch, 200ms));
  EXPECT_EQ(GetJob(held).reason, "JobHeldUser");
  ASSERT_TRUE(ctl_->Hold(std::to_string(held), false).ok());
  EXPECT_EQ(n1.AwaitLaunch().job_id(), held);
}

TEST_F(ControllerTest, RequeueRunningJobWaitsForOldRun) {
  StartController();
  FakeAgent& n1 = Register("n1");
  JobId id = Submit();
  rpc::LaunchJob first = n1.AwaitLaunch();

  ASSERT_TRUE(ctl_->Requeue(std::to_string(id)).ok());
  auto term = n1.Await(Body::kTerminate);
  ASSERT_TRUE(term.has_value());
  EXPECT_EQ(term->terminate().job_id(), id);
  Job j = GetJob(id);
  EXPECT_EQ(j.state, JobState::kPending);
  EXPECT_EQ(j.restart_count, 1u);
  EXPECT_TRUE(j.terminating);
  EXPECT_EQ(StoredJob(id)->state, JobState::kPending);

  // Not relaunched while the old run may still be alive.
  EXPECT_TRUE(n1.Quiet(Body::kLaunch, 250ms));
  EXPECT_EQ(StateOf(id), JobState::kPending);

  n1.Finish(id, first.generation(), 0, false, 15);
  ASSERT_TRUE(n1.Await(Body::kFinishedAcks).has_value());
  rpc::LaunchJob second = n1.AwaitLaunch();
  EXPECT_EQ(second.job_id(), id);
  EXPECT_GT(second.generation(), first.generation());
  EXPECT_TRUE(second.open_append());
  EXPECT_TRUE(HasEnv(second, "SLURM_RESTART_COUNT=1"));
  j = GetJob(id);
  EXPECT_EQ(j.state, JobState::kRunning);
  EXPECT_EQ(j.restart_count, 1u);
  EXPECT_EQ(FindNode("n1").alloc_cpus, 1u);

  // A pending job cannot be requeued.
  JobId other = Submit([&] {
    SubmitRequest r = Request();
    r.hold = true;
    return r;
  }());
  EXPECT_EQ(ctl_->Requeue(std::to_string(other)).code(), StatusCode::kFailedPrecondition);
}

// scancel then scontrol requeue while the cancelled run is still being killed: the new run
// must wait for the old one, like any requeue of a running job.
TEST_F(ControllerTest, RequeueOfCancelledJobWaitsForItsRun) {
  StartController();
  FakeAgent& n1 = Register("n1");
  JobId id = Submit();
  rpc::LaunchJob first = n1.AwaitLaunch();

  CancelFilter f;
  f.ids = {std::to_string(id)};
  ctl_->Cancel(f);
  ASSERT_TRUE(n1.Await(Body::kTerminate).has_value());
  ASSERT_TRUE(ctl_->Requeue(std::to_string(id)).ok());
  EXPECT_EQ(StateOf(id), JobState::kPending);
  EXPECT_TRUE(n1.Quiet(Body::kLaunch, 250ms));

  n1.Finish(id, first.generation(), 0, false, 15);
  rpc::LaunchJob second = n1.AwaitLaunch();
  EXPECT_GT(second.generation(), first.generation());
  n1.Finish(id, second.generation(), 0);
  ASSERT_TRUE(WaitState(id, JobState::kCompleted));
  Node n = FindNode("n1");
  EXPECT_EQ(n.alloc_cpus, 0u);
  EXPECT_TRUE(n.running_jobs.empty());
}

TEST_F(ControllerTest, UpdateJob) {
  StartController();
  FakeAgent& n1 = Register("n1");
  JobId id = Submit();
  n1.AwaitLaunch();

  ASSERT_TRUE(ctl_->UpdateJob(std::to_string(id), Json{{"time_limit_s", 600}}).ok());
  auto upd = n1.Await(Body::kUpdateTimeLimit);
  ASSERT_TRUE(upd.has_value());
  EXPECT_EQ(upd->update_time_limit().job_id(), id);
  EXPECT_EQ(upd->update_time_limit().time_limit_s(), 600);
  EXPECT_EQ(GetJob(id).req.time_limit_s, 600);
  EXPECT_EQ(StoredJob(id)->req.time_limit_s, 600);

  EXPECT_EQ(ctl_->UpdateJob(std::to_string(id), Json{{"bogus", 1}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ctl_->UpdateJob(std::to_string(id), Json{{"partition", "debug"}}).code(),
            StatusCode::kFailedPrecondition);  // running
  EXPECT_EQ(ctl_->UpdateJob("999", Json{{"name", "x"}}).code(), StatusCode::kNotFound);

  SubmitRequest r = Request();
  r.hold = true;
  JobId pending = Submit(r);
  Status s = ctl_->UpdateJob(std::to_string(pending), Json{{"partition", "nosuch"}});
  EXPECT_EQ(s.message(), "Invalid partition name specified");
  ASSERT_TRUE(ctl_->UpdateJob(std::to_string(pending), Json{{"name", "renamed"}}).ok());
  EXPECT_EQ(GetJob(pending).req.name, "renamed");
}

// Live jobs carry their association's index in the accounting database (the scheduler's limits
// use it instead of a lookup by name): set at admission, re-set whenever the database changes,
// and on load.
TEST_F(ControllerTest, JobsCarryTheirAssociationIndex) {
  StartController();
  auto change = [&](AccountingChange::Verb verb, AccountingChange::Entity entity,
                    std::vector<std::string> names,
                    std::vector<std::pair<std::string, std::string>> settings) {
    AccountingChange c;
    c.verb = verb;
    c.entity = entity;
    c.names = std::move(names);
    c.settings = std::move(settings);
    auto r = ctl_->ChangeAccounting(c, std::nullopt, false);
    ASSERT_TRUE(r.ok()) << r.status().message();
  };
  using V = AccountingChange::Verb;
  using E = AccountingChange::Entity;
  change(V::kAdd, E::kAccount, {"aaa"}, {});
  change(V::kAdd, E::kAccount, {"physics"}, {});
  change(V::kAdd, E::kUser, {"alice"}, {{"Account", "physics"}});
  SubmitRequest r = Request();
  r.req.account = "physics";
  r.hold = true;
  const JobId id = Submit(r);
  // Stamped against the database as it is: the index names alice's association in physics.
  auto stamped_right = [&] {
    const AccountingDb db = ctl_->Accounting();
    const Job job = GetJob(id);
    return job.assoc_version == db.version && job.assoc_index < db.assocs.size() &&
           db.assocs[job.assoc_index].account == "physics" &&
           db.assocs[job.assoc_index].user == "alice";
  };
  EXPECT_TRUE(WaitUntil(stamped_right, 5s));
  const uint32_t before = GetJob(id).assoc_index;
  // Deleting an account listed before it moves alice's association: the job is re-stamped.
  change(V::kDelete, E::kAccount, {"aaa"}, {});
  EXPECT_TRUE(stamped_right());
  EXPECT_EQ(GetJob(id).assoc_index, before - 1);
  RestartController();
  EXPECT_TRUE(stamped_right());
}

// ---------------------------------------------------------------------------------------------
// Nodes

TEST_F(ControllerTest, UpdateNodeDrainAndResume) {
  StartController();
  FakeAgent& n1 = Register("n1");
  Status s = ctl_->UpdateNode("n1", "DRAIN", "");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("reason"), std::string::npos) << s.message();
  EXPECT_FALSE(FindNode("n1").drain);
  EXPECT_EQ(ctl_->UpdateNode("n9", "DRAIN", "x").code(), StatusCode::kNotFound);
  EXPECT_EQ(ctl_->UpdateNode("n1", "SIDEWAYS", "x").code(), StatusCode::kInvalidArgument);

  ASSERT_TRUE(ctl_->UpdateNode("n1", "drain", "maintenance").ok());
  Node n = FindNode("n1");
  EXPECT_TRUE(n.drain);
  EXPECT_EQ(n.reason, "maintenance");

  JobId id = Submit();
  EXPECT_TRUE(n1.Quiet(Body::kLaunch, 250ms));
  EXPECT_EQ(StateOf(id), JobState::kPending);
  EXPECT_EQ(GetJob(id).reason, "Resources");

  ASSERT_TRUE(ctl_->UpdateNode("n1", "RESUME", "").ok());
  EXPECT_FALSE(FindNode("n1").drain);
  EXPECT_EQ(n1.AwaitLaunch().job_id(), id);
}

TEST_F(ControllerTest, AdminNodeStatesSurviveARestart) {
  StartController();
  Register("n1");
  Register("n2");
  Register("n3");
  ASSERT_TRUE(ctl_->UpdateNode("n[1-2]", "DRAIN", "disk swap").ok());
  ASSERT_TRUE(ctl_->UpdateNode("n3", "DOWN", "bad dimm").ok());
  ASSERT_TRUE(ctl_->UpdateNode("n2", "RESUME", "").ok());

  RestartController();
  // Self-registered nodes are known again once their agents come back.
  Register("n1");
  Register("n2");
  Register("n3");
  Node n = FindNode("n1");
  EXPECT_TRUE(n.drain);
  EXPECT_EQ(n.reason, "disk swap");
  EXPECT_NE(n.reason_time, 0);
  EXPECT_FALSE(FindNode("n2").drain);
  EXPECT_TRUE(FindNode("n3").down) << "an administrator's DOWN outlives the agent's return";
  EXPECT_EQ(FindNode("n3").reason, "bad dimm");

  ASSERT_TRUE(ctl_->UpdateNode("n[1,3]", "RESUME", "").ok());
  RestartController();
  Register("n1");
  Register("n3");
  EXPECT_FALSE(FindNode("n1").drain);
  EXPECT_FALSE(FindNode("n3").down);
}

// A node drained or downed before a restart is listed before its agent is back: not
// responding, with its size and reason, and an administrator can resume or delete it then.
TEST_F(ControllerTest, DrainedNodesAreListedBeforeTheirAgentsComeBack) {
  StartController();
  Register("n1", /*cpus=*/6);
  Register("n2");
  Register("n3");
  Register("n4");
  ASSERT_TRUE(ctl_->UpdateNode("n1", "DRAIN", "disk swap").ok());
  ASSERT_TRUE(ctl_->UpdateNode("n[2-3]", "DOWN", "bad dimm").ok());

  RestartController();
  Node n1 = FindNode("n1");
  EXPECT_TRUE(n1.drain);
  EXPECT_FALSE(n1.responding);
  EXPECT_EQ(n1.cpus, 6u);
  EXPECT_EQ(n1.memory_mb, 8192u);
  EXPECT_EQ(n1.reason, "disk swap");
  EXPECT_EQ(n1.StateText(false), "drain*");
  EXPECT_TRUE(FindNode("n2").down);
  EXPECT_FALSE(MaybeNode("n4").has_value()) << "a node in service waits for its agent";
  auto events = ctl_->NodeEvents(0, NowSeconds() + 10);
  ASSERT_TRUE(events.ok());
  int open = 0;
  for (const NodeEvent& e : *events) open += e.node == "n1" && e.end == 0;
  EXPECT_EQ(open, 1) << "n1's drain goes on counting across the restart";

  ASSERT_TRUE(ctl_->UpdateNode("n1", "RESUME", "").ok());
  EXPECT_FALSE(FindNode("n1").drain);
  EXPECT_EQ(FindNode("n1").StateText(false), "unk*");
  ASSERT_TRUE(ctl_->DeleteNodes("n3").ok());
  EXPECT_FALSE(MaybeNode("n3").has_value());
  JobId id = Submit();
  EXPECT_EQ(GetJob(id).state, JobState::kPending) << "no node is up";

  // The agent's return takes the node into service; the resume and the deletion were kept.
  FakeAgent& back = Register("n1", /*cpus=*/6);
  rpc::LaunchJob launch = back.AwaitLaunch();
  EXPECT_EQ(launch.job_id(), id);
  back.Finish(id, launch.generation(), 0);
  ASSERT_TRUE(WaitState(id, JobState::kCompleted));
  RestartController();
  EXPECT_FALSE(MaybeNode("n1").has_value());
  EXPECT_TRUE(FindNode("n2").down);
  EXPECT_FALSE(MaybeNode("n3").has_value());
}

TEST_F(ControllerTest, DeleteNodes) {
  Node fixed;
  fixed.name = "c1";
  fixed.cpus = 2;
  fixed.memory_mb = 1024;
  fixed.configured = true;
  config_.nodes = {fixed};
  StartController();
  FakeAgent& n1 = Register("n1");
  Register("n2");
  Register("n3");
  ASSERT_TRUE(ctl_->UpdateNode("n2", "DRAIN", "retiring").ok());
  SubmitRequest r = Request();
  r.req.required_nodes = {"n1"};
  JobId id = Submit(r);
  n1.AwaitLaunch();

  // Refused, and nothing removed: an unknown node, a busy one, a configured one.
  Status s = ctl_->DeleteNodes("n[2,9]");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("n9"), std::string::npos) << s.message();
  s = ctl_->DeleteNodes("n[1-2]");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("node n1 has running jobs (" + std::to_string(id) + ")"),
            std::string::npos)
      << s.message();
  EXPECT_NE(ctl_->DeleteNodes("c1").message().find("configuration file"), std::string::npos);
  EXPECT_EQ(ctl_->DeleteNodes("n[").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(MaybeNode("n1") && MaybeNode("n2") && MaybeNode("n3"));

  ASSERT_TRUE(ctl_->DeleteNodes("n[2-3]").ok());
  EXPECT_FALSE(MaybeNode("n2").has_value());
  EXPECT_FALSE(MaybeNode("n3").has_value());
  EXPECT_TRUE(MaybeNode("n1").has_value());
  EXPECT_FALSE(ctl_->CurrentSession(agents_[2]->session()));

  // Its saved drain is gone too: after a restart, an agent of that name is a new, idle node.
  RestartController();
  Register("n2");
  Node back = FindNode("n2");
  EXPECT_FALSE(back.drain);
  EXPECT_TRUE(back.reason.empty());
  EXPECT_FALSE(MaybeNode("n3").has_value());
}

TEST_F(ControllerTest, HealthCheckDrainsAndResumesButNeverOverridesAnAdmin) {
  config_.health_check_program = "/usr/local/sbin/check";
  config_.health_check_interval_s = 30;
  StartController();
  rpc::RegisterReply reply;
  FakeAgent& n1 = Register("n1", 4, {}, &reply);
  EXPECT_EQ(reply.health_check_program(), "/usr/local/sbin/check");
  EXPECT_EQ(reply.health_check_interval_s(), 30u);

  n1.Health(false, "exit code 3");
  Node n = FindNode("n1");
  EXPECT_TRUE(n.drain);
  EXPECT_EQ(n.reason, "HealthCheckProgram /usr/local/sbin/check: exit code 3");
  JobId id = Submit();
  EXPECT_TRUE(n1.Quiet(Body::kLaunch, 300ms));
  n1.Health(true, "");
  n = FindNode("n1");
  EXPECT_FALSE(n.drain);
  EXPECT_TRUE(n.reason.empty());
  EXPECT_EQ(n1.AwaitLaunch().job_id(), id);

  // An administrator's drain is neither replaced by a failing check nor lifted by a passing one.
  ASSERT_TRUE(ctl_->UpdateNode("n1", "DRAIN", "disk swap").ok());
  n1.Health(false, "timed out after 30 s");
  EXPECT_EQ(FindNode("n1").reason, "disk swap");
  n1.Health(true, "");
  EXPECT_TRUE(FindNode("n1").drain);
  EXPECT_EQ(FindNode("n1").reason, "disk swap");
  // Nor is a health drain the administrator took over by draining it again.
  ASSERT_TRUE(ctl_->UpdateNode("n1", "RESUME", "").ok());
  n1.Health(false, "exit code 1");
  ASSERT_TRUE(ctl_->UpdateNode("n1", "DRAIN", "replace fan").ok());
  n1.Health(true, "");
  EXPECT_TRUE(FindNode("n1").drain);
}

TEST_F(ControllerTest, ReRegistrationFencesUnknownJobs) {
  StartController();
  FakeAgent& n1 = Register("n1");
  JobId id = Submit();
  rpc::LaunchJob l = n1.AwaitLaunch();

  // The agent reconnects, still running our job plus one the controller never gave it.
  rpc::RegisterReply reply;
  FakeAgent& again = Register("n1", 4, {{id, l.generation()}, {999, 1}}, &reply);
  EXPECT_EQ(std::vector<uint64_t>(reply.kill_job_ids().begin(), reply.kill_job_ids().end()),
            (std::vector<uint64_t>{999}));
  EXPECT_GT(reply.heartbeat_interval_ms(), 0u);
  EXPECT_TRUE(again.Quiet(Body::kLaunch, 250ms));
  Job j = GetJob(id);
  EXPECT_EQ(j.state, JobState::kRunning);
  EXPECT_EQ(j.generation, l.generation());
  EXPECT_EQ(FindNode("n1").alloc_cpus, 1u);

  // The new session carries the job's messages; the old one is closed.
  again.Finish(id, l.generation(), 0);
  EXPECT_EQ(StateOf(id), JobState::kCompleted);
  ASSERT_TRUE(again.Await(Body::kFinishedAcks).has_value());

  // A stale generation of a job we do know is fenced off too.
  rpc::RegisterReply reply2;
  Register("n1", 4, {{id, l.generation() + 7}}, &reply2);
  EXPECT_EQ(std::vector<uint64_t>(reply2.kill_job_ids().begin(), reply2.kill_job_ids().end()),
            (std::vector<uint64_t>{id}));
}

TEST_F(ControllerTest, RegisterRejectsBadNodes) {
  StartController();
  rpc::Register reg;
  rpc::RegisterReply reply;
  reg.set_cpus(4);
  EXPECT_FALSE(ctl_->RegisterAgent(reg, reply).ok());
  reg.set_node_name("n1");
  reg.set_cpus(0);
  EXPECT_FALSE(ctl_->RegisterAgent(reg, reply).ok());
}

// The agent service registers through RegisterAgentAsync: registrations that arrive together
// are applied by the agent intake thread in one exclusive lock, whatever order their names come in.
TEST_F(ControllerTest, RegistrationsArrivingTogetherAndOutOfOrderAreAllApplied) {
  StartController();
  constexpr int kNodes = 60;
  std::vector<std::string> names;
  for (int i = 1; i <= kNodes; ++i) names.push_back("n" + std::to_string(i));
  std::vector<std::string> shuffled = names;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(7));
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, bool> accepted;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < shuffled.size(); i += 4) {
        rpc::Register reg;
        reg.set_node_name(shuffled[i]);
        reg.set_cpus(4);
        reg.set_memory_mb(1000);
        ctl_->RegisterAgentAsync(reg, [&, name = shuffled[i]](
                                          Result<std::shared_ptr<AgentSession>> session,
                                          rpc::RegisterReply reply) {
          std::lock_guard<std::mutex> lock(mu);
          accepted[name] = session.ok() && reply.accepted() && reply.heartbeat_interval_ms() > 0;
          cv.notify_all();
        });
      }
    });
  }
  for (std::thread& t : threads) t.join();
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return accepted.size() == kNodes; }));
    for (const auto& [name, ok] : accepted) EXPECT_TRUE(ok) << name;
  }
  // Natural name order, whatever the arrival order.
  std::vector<std::string> listed;
  for (const Node& n : ctl_->ListNodes()) listed.push_back(n.name);
  EXPECT_EQ(listed, names);
  // Each name still leads to its own node: registering again with other CPU counts changes
  // that node only (a stale index would update a neighbour, or add a duplicate).
  for (int i = 0; i < kNodes; ++i) {
    rpc::Register reg;
    reg.set_node_name(shuffled[i]);
    reg.set_cpus(100 + i);
    rpc::RegisterReply reply;
    ASSERT_TRUE(ctl_->RegisterAgent(reg, reply).ok());
  }
  std::vector<Node> nodes = ctl_->ListNodes();
  ASSERT_EQ(nodes.size(), static_cast<size_t>(kNodes));
  for (int i = 0; i < kNodes; ++i) EXPECT_EQ(FindNode(shuffled[i]).cpus, 100u + i) << shuffled[i];

  // A malformed Register is answered at once; once the controller stops, registrations are
  // turned away as unavailable (the agent retries), not refused.
  std::promise<Status> bad;
  rpc::Register no_cpus;
  no_cpus.set_node_name("n99");
  ctl_->RegisterAgentAsync(no_cpus, [&](Result<std::shared_ptr<AgentSession>> session,
                                        rpc::RegisterReply) { bad.set_value(session.status()); });
  EXPECT_EQ(bad.get_future().get().code(), StatusCode::kInvalidArgument);
  ctl_->Stop();
  std::promise<Status> late;
  rpc::Register reg;
  reg.set_node_name("n1");
  reg.set_cpus(4);
  ctl_->RegisterAgentAsync(reg, [&](Result<std::shared_ptr<AgentSession>> session,
                                    rpc::RegisterReply) { late.set_value(session.status()); });
  EXPECT_EQ(late.get_future().get().code(), StatusCode::kUnavailable);
}

// The agent service hands messages to QueueAgentMessage: a heartbeat is heard at once, on the
// caller's thread, while a job's end waits for the agent intake thread. Here that thread is held
// up (a registration's reply blocks it), as a busy lock or store would: the node stays heard,
// and the end is applied once the thread is free, and acknowledged.
TEST_F(ControllerTest, HeartbeatsAreHeardWhileTheAgentIntakeIsBusy) {
  StartController();
  FakeAgent& n1 = Register("n1");
  const JobId id = Submit();
  const rpc::LaunchJob launch = n1.AwaitLaunch();
  ASSERT_EQ(launch.job_id(), id);

  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> blocked;
  rpc::Register reg;
  reg.set_node_name("n2");
  reg.set_cpus(4);
  reg.set_memory_mb(1000);
  ctl_->RegisterAgentAsync(reg, [&](Result<std::shared_ptr<AgentSession>>, rpc::RegisterReply) {
    blocked.set_value();
    released.wait();
  });
  blocked.get_future().wait();

  rpc::AgentMessage fin;
  fin.mutable_job_finished()->set_job_id(id);
  fin.mutable_job_finished()->set_generation(launch.generation());
  ctl_->QueueAgentMessage(n1.session(), fin);
  const int64_t before = n1.session()->heard_ms();
  std::this_thread::sleep_for(5ms);
  rpc::AgentMessage beat;
  beat.mutable_heartbeat()->set_time(NowSeconds());
  ctl_->QueueAgentMessage(n1.session(), beat);
  EXPECT_GT(n1.session()->heard_ms(), before) << "the heartbeat waited for the intake thread";
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(StateOf(id), JobState::kRunning) << "the end overtook the busy intake thread";

  release.set_value();
  EXPECT_TRUE(WaitState(id, JobState::kCompleted));
  EXPECT_TRUE(n1.Await(Body::kFinishedAcks).has_value());

  // A message queued on a session the controller has since ended is never applied.
  const JobId second = Submit();
  const rpc::LaunchJob again = n1.AwaitLaunch();
  ASSERT_EQ(again.job_id(), second);
  n1.session()->Close();
  fin.mutable_job_finished()->set_job_id(second);
  fin.mutable_job_finished()->set_generation(again.generation());
  ctl_->QueueAgentMessage(n1.session(), fin);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(StateOf(second), JobState::kRunning);
}

TEST_F(ControllerTest, DisconnectedNodeGetsNoNewWork) {
  StartController();
  FakeAgent& n1 = Register("n1");
  JobId running = Submit();
  n1.AwaitLaunch();
  ctl_->OnAgentDisconnected(n1.session());
  EXPECT_FALSE(FindNode("n1").responding);
  // Its job stays running (the agent may reconnect); new work waits for a live node.
  EXPECT_EQ(StateOf(running), JobState::kRunning);
  JobId next = Submit();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(StateOf(next), JobState::kPending);
  FakeAgent& n2 = Register("n2");
  EXPECT_EQ(n2.AwaitLaunch().job_id(), next);
}

TEST_F(ControllerTest, SilentNodeIsDeclaredDownAndItsJobsRequeued) {
  config_.node_timeout_s = 1;
  StartController();
  FakeAgent& n2 = Register("n2", /*cpus=*/4);
  SubmitRequest r = Request("wide");
  r.req.cpus_per_task = 2;  // cannot run on n1 (1 CPU), so it stays pending once n2 is gone
  JobId requeueable = Submit(r);
  r = Request("norequeue");
  r.req.requeue = false;
  JobId fragile = Submit(r);
  uint64_t gen = 0;
  for (int i = 0; i < 2; ++i) {
    rpc::LaunchJob l = n2.AwaitLaunch();
    if (l.job_id() == requeueable) gen = l.generation();
  }
  ASSERT_GT(gen, 0u);
  FakeAgent& n1 = Register("n1", /*cpus=*/1);  // heartbeats; n2 falls silent

  ASSERT_TRUE(WaitUntil(
      [&] {
        n1.Heartbeat();
        return FindNode("n2").down;
      },
      6s));
  Node down = FindNode("n2");
  EXPECT_EQ(down.reason, "Not responding");
  EXPECT_FALSE(down.responding);
  EXPECT_TRUE(down.running_jobs.empty());
  EXPECT_EQ(down.alloc_cpus, 0u);
  EXPECT_FALSE(FindNode("n1").down);  // its heartbeats kept it alive

  // The requeueable job is pending again, free to start as soon as a node can take it.
  Job j = GetJob(requeueable);
  EXPECT_EQ(j.state, JobState::kPending);
  EXPECT_EQ(j.restart_count, 1u);
  EXPECT_FALSE(j.terminating);
  EXPECT_TRUE(WaitUntil([&] {
    auto s = StoredJob(requeueable);
    return s && s->state == JobState::kPending && s->restart_count == 1;
  }));
  // The one that may not be requeued ends NODE_FAIL.
  Job f = GetJob(fragile);
  EXPECT_EQ(f.state, JobState::kNodeFail);
  EXPECT_EQ(f.reason, "NodeFail");
  EXPECT_TRUE(WaitUntil([&] {
    auto s = StoredJob(fragile);
    return s && s->state == JobState::kNodeFail;
  }));

  // The node comes back and the job runs again, with a newer generation.
  FakeAgent& back = Register("n2", 4);
  EXPECT_FALSE(FindNode("n2").down);
  rpc::LaunchJob again = back.AwaitLaunch();
  EXPECT_EQ(again.job_id(), requeueable);
  EXPECT_GT(again.generation(), gen);
}

TEST_F(ControllerTest, DownLandsJustAfterTheTimeoutFromTheLastHeartbeat) {
  config_.node_timeout_s = 1;
  StartController();
  FakeAgent& n1 = Register("n1");
  // Heartbeats keep it up well past the timeout.
  auto last = std::chrono::steady_clock::now();
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(300ms);
    n1.Heartbeat();
    last = std::chrono::steady_clock::now();
    ASSERT_FALSE(FindNode("n1").down) << "DOWN while heartbeating, after heartbeat " << i;
  }
  // Then silence: DOWN once a full second has passed since the last heartbeat, and within the
  // check period (100 ms) after that, plus scheduling slack; never a whole second late.
  ASSERT_TRUE(WaitUntil([&] { return FindNode("n1").down; }, 3s));
  const auto after = std::chrono::steady_clock::now() - last;
  EXPECT_GE(after, 1000ms);
  EXPECT_LE(after, 1400ms) << "DOWN "
                           << std::chrono::duration_cast<std::chrono::milliseconds>(after).count()
                           << " ms after the last heartbeat, timeout 1000 ms";
}

TEST_F(ControllerTest, NodeFailureRequeuePolicyBackoffAndLimit) {
  config_.requeue_default = false;  // JobRequeue=0
  config_.max_batch_requeue = 3;
  StartController();
  FakeAgent& n1 = Register("n1");
  SubmitRequest r = Request("default");
  r.requeue_unset = true;  // neither --requeue nor --no-requeue
  JobId by_default = Submit(r);
  r = Request("asked");
  r.req.requeue = true;  // --requeue wins over JobRequeue=0
  JobId asked = Submit(r);
  EXPECT_FALSE(GetJob(by_default).req.requeue);
  EXPECT_TRUE(GetJob(asked).req.requeue);
  n1.AwaitLaunch();
  n1.AwaitLaunch();

  // The first failure requeues the job to start again at once; each later one with a longer
  // wait (1 s, then 2 s) before it may start.
  for (uint32_t restart = 1; restart <= 3; ++restart) {
    const int64_t before = NowSeconds();
    ASSERT_TRUE(ctl_->UpdateNode("n1", "DOWN", "test failure").ok());
    if (restart == 1) {
      Job f = GetJob(by_default);
      EXPECT_EQ(f.state, JobState::kNodeFail);
      EXPECT_EQ(f.reason, "NodeFail");
    }
    Job j = GetJob(asked);
    EXPECT_EQ(j.state, JobState::kPending);
    EXPECT_EQ(j.restart_count, restart);
    EXPECT_FALSE(j.held);
    const int64_t backoff = restart == 1 ? 0 : int64_t{1} << (restart - 2);
    if (backoff == 0) {
      // "None", or "Resources" once a pass has seen the node down: either way, no wait.
      EXPECT_NE(j.reason, "BeginTime");
      EXPECT_LT(j.req.begin_time, before);  // no wait
    } else {
      // (Begin times are whole seconds: after a 1 s backoff the wait may be over already.)
      if (backoff > 1) {
        EXPECT_EQ(j.reason, "BeginTime");
      }
      EXPECT_GE(j.req.begin_time, before + backoff);
      EXPECT_LE(j.req.begin_time, NowSeconds() + backoff);
    }
    const auto resumed = std::chrono::steady_clock::now();
    ASSERT_TRUE(ctl_->UpdateNode("n1", "RESUME", "").ok());
    // Not before the backoff is over (begin times are whole seconds: at least backoff - 1 s).
    if (backoff > 1) {
      EXPECT_TRUE(n1.Quiet(Body::kLaunch, 800ms));
    }
    rpc::LaunchJob l = n1.AwaitLaunch();
    EXPECT_EQ(l.job_id(), asked);
    EXPECT_TRUE(HasEnv(l, "SLURM_RESTART_COUNT=" + std::to_string(restart)));
    if (backoff == 0) {
      EXPECT_LT(std::chrono::steady_clock::now() - resumed, 500ms) << "the first requeue waited";
    }
  }
  // The fourth failure is one more than max_batch_requeue: the job is held for an admin.
  ASSERT_TRUE(ctl_->UpdateNode("n1", "DOWN", "test failure").ok());
  ASSERT_TRUE(ctl_->UpdateNode("n1", "RESUME", "").ok());
  Job held = GetJob(asked);
  EXPECT_EQ(held.state, JobState::kPending);
  EXPECT_TRUE(held.held);
  EXPECT_EQ(held.reason, "JobHeldAdmin");
  EXPECT_EQ(held.restart_count, 4u);
  EXPECT_TRUE(n1.Quiet(Body::kLaunch, 1500ms));
  EXPECT_TRUE(WaitUntil([&] {
    auto s = StoredJob(asked);
    return s && s->held && s->reason == "JobHeldAdmin";
  }));
  ASSERT_TRUE(ctl_->Hold(std::to_string(asked), false).ok());  // scontrol release
  EXPECT_EQ(n1.AwaitLaunch().job_id(), asked);
}

TEST_F(ControllerTest, EndedSessionAndStaleGenerationsAreRefused) {
  config_.node_timeout_s = 1;
  StartController();
  FakeAgent& n1 = Register("n1");
  JobId id = Submit();
  rpc::LaunchJob first = n1.AwaitLaunch();
  ASSERT_TRUE(WaitUntil([&] { return FindNode("n1").down; }, 4s));
  EXPECT_EQ(FindNode("n1").reason, "Not responding");
  EXPECT_EQ(StateOf(id), JobState::kPending);
  // The agent was only frozen: what it says on its ended session changes nothing.
  n1.Heartbeat();
  n1.Finish(id, first.generation(), 0);
  EXPECT_TRUE(FindNode("n1").down);
  EXPECT_EQ(StateOf(id), JobState::kPending);
  EXPECT_FALSE(ctl_->CurrentSession(n1.session()));

  // It registers again with its stale run: told to kill it, then given the job anew.
  rpc::RegisterReply reply;
  FakeAgent& back = Register("n1", 4, {{id, first.generation()}}, &reply);
  ASSERT_EQ(reply.kill_job_ids_size(), 1);
  EXPECT_EQ(reply.kill_job_ids(0), id);
  EXPECT_FALSE(FindNode("n1").down);
  rpc::LaunchJob again = back.AwaitLaunch();
  EXPECT_EQ(again.job_id(), id);
  EXPECT_GT(again.generation(), first.generation());
  // The stale run's end is refused even on the live session; the current one's counts.
  back.Finish(id, first.generation(), 0);
  EXPECT_EQ(StateOf(id), JobState::kRunning);
  back.Finish(id, again.generation(), 0);
  EXPECT_TRUE(WaitState(id, JobState::kCompleted));
}

// ---------------------------------------------------------------------------------------------
// Controller restarts

TEST_F(ControllerTest, RestartKeepsRunningJobWhenAgentStillHasIt) {
  StartController();
  FakeAgent& n1 = Register("n1");
  JobId id = Submit();
  rpc::LaunchJob l = n1.AwaitLaunch();

  RestartController();
  Job j = GetJob(id);
  EXPECT_EQ(j.state, JobState::kRunning);
  EXPECT_EQ(j.generation, l.generation());
  EXPECT_EQ(j.nodes, (std::vector<std::string>{"n1"}));

  rpc::RegisterReply reply;
  FakeAgent& back = Register("n1", 4, {{id, l.generation()}}, &reply);
  EXPECT_EQ(reply.kill_job_ids_size(), 0);
  EXPECT_TRUE(back.Quiet(Body::kLaunch, 250ms));
  j = GetJob(id);
  EXPECT_EQ(j.state, JobState::kRunning);
  EXPECT_EQ(j.generation, l.generation());
  EXPECT_EQ(j.restart_count, 0u);
  EXPECT_EQ(FindNode("n1").alloc_cpus, 1u);

  back.Finish(id, l.generation(), 0);
  ASSERT_TRUE(back.Await(Body::kFinishedAcks).has_value());
  EXPECT_EQ(StateOf(id), JobState::kCompleted);
  EXPECT_EQ(FindNode("n1").alloc_cpus, 0u);
}

TEST_F(ControllerTest, RestartRelaunchesJobTheAgentLost) {
  StartController();
  FakeAgent& n1 = Register("n1");
  JobId id = Submit();
  rpc::LaunchJob l = n1.AwaitLaunch();

  RestartController();
  EXPECT_EQ(StateOf(id), JobState::kRunning);

  rpc::RegisterReply reply;
  FakeAgent& back = Register("n1", 4, {}, &reply);  // came back without the job
  EXPECT_EQ(reply.kill_job_ids_size(), 0);
  rpc::LaunchJob again = back.AwaitLaunch();
  EXPECT_EQ(again.job_id(), id);
  EXPECT_GT(again.generation(), l.generation());
  EXPECT_TRUE(HasEnv(again, "SLURM_RESTART_COUNT=1"));
  Job j = GetJob(id);
  EXPECT_EQ(j.state, JobState::kRunning);
  EXPECT_EQ(j.restart_count, 1u);
  EXPECT_EQ(j.generation, again.generation());
  EXPECT_EQ(FindNode("n1").alloc_cpus, 1u);

  // A late report from the lost run changes nothing; the new run's report ends the job.
  back.Finish(id, l.generation(), 1);
  EXPECT_EQ(StateOf(id), JobState::kRunning);
  back.Finish(id, again.generation(), 0);
  EXPECT_EQ(StateOf(id), JobState::kCompleted);
  EXPECT_EQ(StoredJob(id)->state, JobState::kCompleted);
}

// After a restart every agent reconnects at once; at thousands that takes longer than
// SlurmdTimeout. A node restored with running jobs is not declared DOWN (its jobs requeued and
// run twice) while other nodes still register, only once registrations have stopped for the
// timeout.
TEST_F(ControllerTest, RestoredNodesWaitForTheReconnectStormAfterARestart) {
  config_.node_timeout_s = 1;
  StartController();
  FakeAgent& n1 = Register("n1", /*cpus=*/1);
  FakeAgent& n2 = Register("n2", /*cpus=*/1);
  JobId first = Submit();
  JobId second = Submit();
  std::map<std::string, rpc::LaunchJob> launched;
  launched["n1"] = n1.AwaitLaunch();
  launched["n2"] = n2.AwaitLaunch();

  RestartController();
  // Other nodes register for well over the timeout (the storm); n1 and n2 stay up meanwhile.
  for (int i = 1; i <= 5; ++i) {
    std::this_thread::sleep_for(400ms);
    Register("m" + std::to_string(i));
    ASSERT_FALSE(FindNode("n1").down) << "n1 DOWN while nodes still registered, " << i;
    ASSERT_FALSE(FindNode("n2").down) << "n2 DOWN while nodes still registered, " << i;
  }
  rpc::RegisterReply reply;
  const rpc::LaunchJob& on_n1 = launched["n1"];
  FakeAgent& back = Register("n1", 1, {{on_n1.job_id(), on_n1.generation()}}, &reply);
  EXPECT_EQ(reply.kill_job_ids_size(), 0);
  EXPECT_TRUE(back.Quiet(Body::kLaunch, 250ms));

  // n2 never comes back: DOWN a timeout after the last registration, its job requeued; n1
  // heartbeats and keeps its job.
  ASSERT_TRUE(WaitUntil(
      [&] {
        back.Heartbeat();
        return FindNode("n2").down;
      },
      3s));
  EXPECT_FALSE(FindNode("n1").down);
  EXPECT_EQ(FindNode("n2").reason, "Not responding");
  const JobId on_n2 = launched["n2"].job_id();
  EXPECT_EQ(GetJob(on_n2).restart_count, 1u);
  const JobId kept = on_n1.job_id();
  EXPECT_TRUE(kept == first || kept == second);
  EXPECT_EQ(GetJob(kept).state, JobState::kRunning);
  EXPECT_EQ(GetJob(kept).restart_count, 0u);
}

// A run the controller lost track of (its start record did not survive) is fenced off, and the
// job's next launch gets a generation newer than the stray run's, never the same one.
TEST_F(ControllerTest, StrayRunWithNewerGenerationIsFencedAndNotReused) {
  StartController();
  JobId id = Submit();  // pending: no node yet, generation 0
  rpc::RegisterReply reply;
  FakeAgent& n1 = Register("n1", 4, {{id, 5}}, &reply);
  EXPECT_EQ(std::vector<uint64_t>(reply.kill_job_ids().begin(), reply.kill_job_ids().end()),
            (std::vector<uint64_t>{id}));
  rpc::LaunchJob l = n1.AwaitLaunch();
  EXPECT_EQ(l.job_id(), id);
  EXPECT_GT(l.generation(), 5u);
}

// A job that ran, was requeued and whose old run ended is pending again: after a controller
// restart it must not be counted on the node it used to run on.
TEST_F(ControllerTest, RestartedPendingJobHoldsNoResources) {
  StartController();
  FakeAgent& n1 = Register("n1");
  JobId id = Submit();
  rpc::LaunchJob l = n1.AwaitLaunch();
  ASSERT_TRUE(ctl_->UpdateNode("n1", "DRAIN", "maintenance").ok());
  ASSERT_TRUE(ctl_->Requeue(std::to_string(id)).ok());
  n1.Finish(id, l.generation(), 0, false, 15);
  ASSERT_TRUE(n1.Await(Body::kFinishedAcks).has_value());
  EXPECT_EQ(FindNode("n1").alloc_cpus, 0u);

  RestartController();
  EXPECT_EQ(StateOf(id), JobState::kPending);
  if (auto n = MaybeNode("n1")) {
    EXPECT_EQ(n->alloc_cpus, 0u);
    EXPECT_TRUE(n->running_jobs.empty());
  }
  // It runs elsewhere; its old node comes back clean.
  FakeAgent& n2 = Register("n2");
  EXPECT_EQ(n2.AwaitLaunch().job_id(), id);
  Register("n1");
  Node n = FindNode("n1");
  EXPECT_EQ(n.alloc_cpus, 0u);
  EXPECT_TRUE(n.running_jobs.empty());
}

}  // namespace
}  // namespace shoal

namespace shoal {
namespace {

// ---------------------------------------------------------------------------------------------
// QOS, priority, preemption, fair share

// Holds the first scheduling pass that consults it, once armed, until opened: the pass is then
// being computed for as long as a test needs.
class PassGate {
 public:
  void Arm() {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = true;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool WaitInside(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return inside_; });
  }
  void Pass() {
    std::unique_lock<std::mutex> lock(mu_);
    if (!armed_) return;
    inside_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false, inside_ = false, open_ = false;
};

// The built-in priority order, stopping at the gate whenever it is asked for a key.
class GatedOrder : public QueueOrder {
 public:
  GatedOrder(std::shared_ptr<PassGate> gate, std::unique_ptr<QueueOrder> inner)
      : gate_(std::move(gate)), inner_(std::move(inner)) {}
  std::string_view name() const override { return inner_->name(); }
  QueueKey Key(const Job& job, int64_t estimate_s) const override {
    gate_->Pass();
    return inner_->Key(job, estimate_s);
  }

 private:
  std::shared_ptr<PassGate> gate_;
  std::unique_ptr<QueueOrder> inner_;
};

TEST_F(ControllerTest, APassBeingComputedBlocksNeitherListingsNorSubmissions) {
  auto gate = std::make_shared<PassGate>();
  PolicyRegistry registry;
  ASSERT_TRUE(registry
                  .AddOrder("priority",
                            [gate] {
                              return std::make_unique<GatedOrder>(
                                  gate, PolicyRegistry::Builtin().NewOrder("priority").value());
                            })
                  .ok());
  ASSERT_TRUE(registry
                  .AddBackfill("easy",
                               [] { return PolicyRegistry::Builtin().NewBackfill("easy").value(); })
                  .ok());
  StartController(registry);
  FakeAgent& agent = Register("n1", 1);
  gate->Arm();
  const JobId first = Submit();
  ASSERT_TRUE(gate->WaitInside(5s)) << "no pass looked at the first job";

  // The pass now sits in the middle of its computation.
  auto during = std::async(std::launch::async, [&] {
    const JobId second = Submit();
    const size_t listed = ctl_->ListJobs(JobFilter()).size();
    auto job = ctl_->GetJob(std::to_string(second));
    const bool found = job.ok() && job->state == JobState::kPending;
    return std::make_tuple(second, listed, found);
  });
  const bool answered = during.wait_for(5s) == std::future_status::ready;
  gate->Open();
  ASSERT_TRUE(answered) << "submit or listing waited for the pass";
  auto [second, listed, found] = during.get();
  EXPECT_EQ(second, first + 1);
  EXPECT_EQ(listed, 2u);
  EXPECT_TRUE(found) << "the submission made during the pass is not visible";

  // Both runs follow, one after the other, on the one-CPU node.
  rpc::LaunchJob launch = agent.AwaitLaunch();
  EXPECT_EQ(launch.job_id(), first);
  agent.Finish(first, launch.generation(), 0);
  EXPECT_EQ(agent.AwaitLaunch().job_id(), second);
  EXPECT_EQ(GetJob(second).state, JobState::kRunning);
}

// ---------------------------------------------------------------------------------------------
// Job steps

StepRequest StepOf(uint32_t ntasks, bool exact = true) {
  StepRequest r;
  r.argv = {"work"};
  r.ntasks = ntasks;
  r.exact = exact;
  return r;
}

void FinishStep(Controller& ctl, FakeAgent& agent, const Step& step, uint64_t generation,
                int32_t exit_code, int32_t signal = 0) {
  rpc::AgentMessage msg;
  rpc::StepFinished* f = msg.mutable_step_finished();
  f->set_job_id(step.job_id);
  f->set_step_id(step.step_id);
  f->set_generation(generation);
  f->set_exit_code(exit_code);
  f->set_signal(signal);
  ctl.OnAgentMessage(agent.session(), msg);
}

TEST_F(ControllerTest, UsageAsksTheJobsNodeAndNamesNodesThatDoNotAnswer) {
  StartController();
  FakeAgent& n1 = Register("n1", 4);
  SubmitRequest req = Request();
  req.req.ntasks = 2;
  JobId id = Submit(req);
  rpc::LaunchJob l = n1.AwaitLaunch();
  const std::string job = std::to_string(id);
  ASSERT_TRUE(ctl_->CreateStep(job, StepOf(2), 0).ok());
  ASSERT_TRUE(n1.Await(Body::kLaunchTasks).has_value());

  auto asked = std::async(std::launch::async, [&] { return ctl_->JobUsage(job, 5s); });
  auto request = n1.Await(Body::kUsageRequest);
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->usage_request().job_id(), id);
  rpc::AgentMessage msg;
  rpc::UsageReport* report = msg.mutable_usage_report();
  report->set_request_id(request->usage_request().request_id());
  report->set_job_id(id);
  rpc::StepUsage* batch = report->add_steps();
  batch->set_batch(true);
  batch->add_tasks()->set_rss_bytes(100 << 20);
  rpc::StepUsage* step = report->add_steps();
  step->set_step_id(0);
  for (uint32_t t = 0; t < 2; ++t) {
    rpc::TaskUsage* task = step->add_tasks();
    task->set_task(t);
    task->set_cpu_seconds(1.5 + t);
  }
  rpc::StepUsage* gone = report->add_steps();  // ended meanwhile: not the controller's
  gone->set_step_id(7);
  gone->add_tasks();
  ctl_->OnAgentMessage(n1.session(), msg);
  auto answer = asked.get();
  ASSERT_TRUE(answer.ok()) << answer.status().message();
  EXPECT_TRUE(answer->missing_nodes.empty());
  ASSERT_EQ(answer->steps.size(), 2u);
  EXPECT_TRUE(answer->steps[0].batch);
  ASSERT_EQ(answer->steps[0].tasks.size(), 1u);
  EXPECT_EQ(answer->steps[0].tasks[0].rss_bytes, 100u << 20);
  EXPECT_EQ(answer->steps[0].tasks[0].node, "n1");
  EXPECT_EQ(answer->steps[1].IdText(), job + ".0");
  EXPECT_EQ(answer->steps[1].ntasks, 2u);
  ASSERT_EQ(answer->steps[1].tasks.size(), 2u);
  EXPECT_DOUBLE_EQ(answer->steps[1].tasks[1].cpu_seconds, 2.5);

  // A node that does not answer in time is named; its late answer is dropped.
  auto slow = ctl_->JobUsage(job, 100ms);
  ASSERT_TRUE(slow.ok());
  EXPECT_EQ(slow->missing_nodes, std::vector<std::string>{"n1"});
  ASSERT_EQ(slow->steps.size(), 2u);
  EXPECT_TRUE(slow->steps[0].tasks.empty());
  auto late = n1.Await(Body::kUsageRequest);
  ASSERT_TRUE(late.has_value());
  msg.mutable_usage_report()->set_request_id(late->usage_request().request_id());
  ctl_->OnAgentMessage(n1.session(), msg);

  // Unknown, and not running: no node is asked.
  EXPECT_EQ(ctl_->JobUsage("999999", 100ms).status().code(), StatusCode::kNotFound);
  n1.Finish(id, l.generation(), 0);
  ASSERT_TRUE(WaitState(id, JobState::kCompleted));
  auto done = ctl_->JobUsage(job, 100ms);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->steps.empty());
  EXPECT_TRUE(n1.Quiet(Body::kUsageRequest, 100ms));
}

TEST_F(ControllerTest, UsageRequestsWaitingForNodesAreBounded) {
  StartController();
  FakeAgent& n1 = Register("n1", 4);
  JobId id = Submit(Request());
  n1.AwaitLaunch();
  const std::string job = std::to_string(id);
  // A node that never answers: each request waits its whole time, holding its caller's thread.
  std::vector<std::future<Result<Controller::JobUsageAnswer>>> waiting;
  for (int i = 0; i < 4; ++i) {
    waiting.push_back(std::async(std::launch::async, [&] { return ctl_->JobUsage(job, 2s); }));
    ASSERT_TRUE(n1.Await(Body::kUsageRequest).has_value());
  }
  // One more is turned away at once instead of taking another thread.
  auto refused = ctl_->JobUsage(job, 2s);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(n1.Quiet(Body::kUsageRequest, 100ms));
  for (auto& w : waiting) {
    auto answer = w.get();
    ASSERT_TRUE(answer.ok());
    EXPECT_EQ(answer->missing_nodes, std::vector<std::string>{"n1"});
  }
  // Once they are done, a request is taken again.
  auto again = ctl_->JobUsage(job, 100ms);
  EXPECT_TRUE(again.ok());
}

TEST_F(ControllerTest, StepsWaitForCpusOtherStepsHold) {
  StartController();
  FakeAgent& n1 = Register("n1", 4);
  SubmitRequest req = Request();
  req.req.ntasks = 4;
  JobId id = Submit(req);
  rpc::LaunchJob l = n1.AwaitLaunch();
  const std::string job = std::to_string(id);

  std::vector<Step> steps;
  for (int i = 0; i < 4; ++i) {
    auto s = ctl_->CreateStep(job, StepOf(1), 0);
    ASSERT_TRUE(s.ok()) << s.status().message();
    steps.push_back(*s);
    ASSERT_TRUE(n1.Await(Body::kLaunchTasks).has_value());
  }
  // Every CPU is held: a fifth step waits (srun retries), it does not fail.
  auto busy = ctl_->CreateStep(job, StepOf(1), 0);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(busy.status().message(), "Requested nodes are busy");
  // One that can never fit the allocation fails at once.
  auto never = ctl_->CreateStep(job, StepOf(5), 0);
  ASSERT_FALSE(never.ok());
  EXPECT_EQ(never.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(never.status().message(), "More processors requested than permitted");
  // --overlap shares the CPUs.
  StepRequest overlap = StepOf(1);
  overlap.overlap = true;
  auto shared = ctl_->CreateStep(job, overlap, 0);
  ASSERT_TRUE(shared.ok()) << shared.status().message();
  ASSERT_TRUE(n1.Await(Body::kLaunchTasks).has_value());

  // A step that ends gives its CPU back.
  FinishStep(*ctl_, n1, steps[0], l.generation(), 0);
  ASSERT_TRUE(n1.Await(Body::kStepFinishedAck).has_value());
  auto next = ctl_->CreateStep(job, StepOf(1), 0);
  ASSERT_TRUE(next.ok()) << next.status().message();
  // Without --exact a step takes every free CPU: with one busy, it gets the other three and
  // the next one waits.
  for (size_t i = 1; i < steps.size(); ++i) {
    FinishStep(*ctl_, n1, steps[i], l.generation(), 0);
    ASSERT_TRUE(n1.Await(Body::kStepFinishedAck).has_value());
  }
  auto whole = ctl_->CreateStep(job, StepOf(1, /*exact=*/false), 0);
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  busy = ctl_->CreateStep(job, StepOf(1), 0);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.status().code(), StatusCode::kUnavailable);
}

// A job running on n1, with a one-task step launched there.
class OneStepTest : public ControllerTest {
 protected:
  void SetUp() override {
    ControllerTest::SetUp();
    StartController();
    n1_ = &Register("n1", 4);
    id_ = Submit();
    launch_ = n1_->AwaitLaunch();
    auto step = ctl_->CreateStep(std::to_string(id_), StepOf(1), 0);
    ASSERT_TRUE(step.ok()) << step.status().message();
    step_ = *step;
    ASSERT_TRUE(n1_->Await(Body::kLaunchTasks).has_value());
  }
  FakeAgent& n1() { return *n1_; }

  FakeAgent* n1_ = nullptr;
  JobId id_ = 0;
  rpc::LaunchJob launch_;
  Step step_;
};

TEST_F(OneStepTest, CancellingAStepLeavesTheJobRunning) {
  EXPECT_EQ(ctl_->SignalStep(id_, step_.step_id + 1, 0, 0).message(), "Invalid job id specified");
  ASSERT_TRUE(ctl_->SignalStep(id_, step_.step_id, 0, 0).ok());
  auto sig = n1().Await(Body::kSignalStep);
  ASSERT_TRUE(sig.has_value());
  EXPECT_EQ(sig->signal_step().step_id(), step_.step_id);
  EXPECT_EQ(sig->signal_step().signal(), 0);
  // A task that catches SIGTERM and exits 0 still leaves the step CANCELLED.
  FinishStep(*ctl_, n1(), step_, launch_.generation(), 0);
  ASSERT_TRUE(n1().Await(Body::kStepFinishedAck).has_value());
  auto ended = ctl_->GetStep(id_, step_.step_id);
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(ended->state, JobState::kCancelled);
  EXPECT_EQ(StateOf(id_), JobState::kRunning);
  EXPECT_TRUE(n1().Quiet(Body::kTerminate, 100ms));
  EXPECT_EQ(ctl_->SignalStep(id_, step_.step_id, 0, 0).message(),
            "Job/step already completing or completed");
}

// A job that ends before its step's tasks are dead ends the step at once, but its exit status
// comes with the node's report: until then the step is answered as completing (srun waits).
TEST_F(OneStepTest, AStepEndedWithItsJobIsCompletingUntilItsNodeReports) {
  EXPECT_FALSE(ctl_->GetStep(id_, step_.step_id)->completing) << "running";

  CancelFilter f;
  f.ids = {std::to_string(id_)};
  ASSERT_EQ(ctl_->Cancel(f).done.size(), 1u);
  n1().Finish(id_, launch_.generation(), 0, false, SIGTERM);
  ASSERT_TRUE(WaitState(id_, JobState::kCancelled));
  auto ending = ctl_->GetStep(id_, step_.step_id);
  ASSERT_TRUE(ending.ok());
  EXPECT_EQ(ending->state, JobState::kCancelled);
  EXPECT_TRUE(ending->completing);
  EXPECT_TRUE(ctl_->ListSteps({id_}, false).front().completing);

  FinishStep(*ctl_, n1(), step_, launch_.generation(), 0, SIGKILL);
  ASSERT_TRUE(n1().Await(Body::kStepFinishedAck).has_value());
  auto ended = ctl_->GetStep(id_, step_.step_id);
  ASSERT_TRUE(ended.ok());
  EXPECT_FALSE(ended->completing);
  EXPECT_EQ(ended->state, JobState::kCancelled);
  EXPECT_EQ(ended->exit_signal, SIGKILL);
}

TEST_F(ControllerTest, StepsOfARunBeforeARequeueHoldNothing) {
  StartController();
  FakeAgent& n1 = Register("n1", 4);
  JobId id = Submit();
  rpc::LaunchJob first = n1.AwaitLaunch();
  auto old = ctl_->CreateStep(std::to_string(id), StepOf(1), 0);
  ASSERT_TRUE(old.ok()) << old.status().message();
  ASSERT_TRUE(ctl_->Requeue(std::to_string(id)).ok());
  n1.Finish(id, first.generation(), 0, false, 15);
  ASSERT_TRUE(n1.Await(Body::kFinishedAcks).has_value());
  rpc::LaunchJob second = n1.AwaitLaunch();
  ASSERT_GT(second.generation(), first.generation());
  // The old run's step has not reported its end yet; the new run's step starts all the same.
  auto next = ctl_->CreateStep(std::to_string(id), StepOf(1), 0);
  ASSERT_TRUE(next.ok()) << next.status().message();
  EXPECT_GT(next->step_id, old->step_id);
}

TEST_F(ControllerTest, RunningStepSurvivesARestart) {
  StartController();
  FakeAgent& n1 = Register("n1", 4);
  JobId id = Submit();
  rpc::LaunchJob l = n1.AwaitLaunch();
  auto step = ctl_->CreateStep(std::to_string(id), StepOf(1), 0);
  ASSERT_TRUE(step.ok()) << step.status().message();

  RestartController();
  FakeAgent& back = Register("n1", 4, {{id, l.generation()}});
  auto live = ctl_->ListSteps({id}, /*running_only=*/true);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].step_id, step->step_id);
  // Still holding its CPU; it ends as its node reports, and the next step gets a new id.
  auto waiting = ctl_->CreateStep(std::to_string(id), StepOf(1), 0);
  EXPECT_EQ(waiting.status().code(), StatusCode::kUnavailable);
  FinishStep(*ctl_, back, *step, l.generation(), 0);
  ASSERT_TRUE(back.Await(Body::kStepFinishedAck).has_value());
  auto ended = ctl_->GetStep(id, step->step_id);
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(ended->state, JobState::kCompleted);
  auto next = ctl_->CreateStep(std::to_string(id), StepOf(1), 0);
  ASSERT_TRUE(next.ok()) << next.status().message();
  EXPECT_EQ(next->step_id, step->step_id + 1);
}

class QosControllerTest : public ControllerTest {
 protected:
  void SetUp() override {
    ControllerTest::SetUp();
    auto c = ParseControllerConfig(
        "KillWait=7\n"
        "PriorityWeightQOS=1000 PriorityWeightFairshare=100\n"
        "PreemptType=preempt/qos PreemptMode=REQUEUE\n"
        "QOS=high Priority=100 Preempt=low\n"
        "QOS=low MaxJobsPerUser=1 MaxSubmitJobsPerUser=2 MaxWall=10\n"
        "QOS=scavenger Preempt=normal PreemptMode=CANCEL GraceTime=3\n",
        "test.conf");
    ASSERT_TRUE(c.ok()) << c.status().message();
    config_ = *c;
  }

  SubmitRequest InQos(const std::string& qos, uint32_t cpus = 1) {
    SubmitRequest r = Request();
    r.req.qos = qos;
    r.req.cpus_per_task = cpus;
    r.req.time_limit_s = 600;
    return r;
  }
};

TEST_F(QosControllerTest, SubmitResolvesAndChecksTheQos) {
  StartController();
  Register("n1", 4);
  SubmitRequest r = Request();
  Job j = GetJob(Submit(r));
  EXPECT_EQ(j.req.qos, "normal");
  r.req.qos = "HIGH";
  j = GetJob(Submit(r));
  EXPECT_EQ(j.req.qos, "high");
  EXPECT_EQ(j.priority, 1000u + 100u);  // QOS factor 1, fair share 1

  r.req.qos = "nosuch";
  auto res = ctl_->Submit(r, NowSeconds());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().message(), "Invalid qos specification");

  r = InQos("low");
  r.req.time_limit_s = 11 * 60;  // MaxWall=10 minutes
  res = ctl_->Submit(r, NowSeconds());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().message(),
            std::string("QOSMaxWallDurationPerJobLimit\n") + kQosPolicyViolation);

  // MaxSubmitJobsPerUser=2: pending and running jobs count, other users do not.
  r = InQos("low");
  r.req.time_limit_s = 60;
  Submit(r);
  Submit(r);
  res = ctl_->Submit(r, NowSeconds());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().message(),
            std::string("QOSMaxSubmitJobPerUserLimit\n") + kQosPolicyViolation);
  r.req.user = "bob";
  EXPECT_TRUE(ctl_->Submit(r, NowSeconds()).ok());
}

TEST_F(QosControllerTest, MaxJobsPerUserKeepsJobsPending) {
  StartController();
  FakeAgent& n1 = Register("n1", 4);
  SubmitRequest r = InQos("low");
  r.req.time_limit_s = 60;
  JobId a = Submit(r);
  JobId b = Submit(r);
  EXPECT_EQ(n1.AwaitLaunch().job_id(), a);
  ASSERT_TRUE(WaitUntil([&] { return GetJob(b).reason == "QOSMaxJobsPerUserLimit"; }));
  EXPECT_EQ(StateOf(b), JobState::kPending);
}

TEST_F(QosControllerTest, PreemptionRequeuesTheLowJobAndStartsTheHighOne) {
  StartController();
  FakeAgent& n1 = Register("n1", 2);
  JobId low = Submit(InQos("low", 2));
  rpc::LaunchJob first = n1.AwaitLaunch();
  ASSERT_EQ(first.job_id(), low);
  JobId high = Submit(InQos("high", 2));

  auto term = n1.Await(Body::kTerminate);
  ASSERT_TRUE(term.has_value());
  EXPECT_EQ(term->terminate().job_id(), low);
  EXPECT_EQ(term->terminate().kill_wait_s(), 7u);  // no GraceTime: KillWait
  Job j = GetJob(low);
  EXPECT_EQ(j.state, JobState::kPending);
  EXPECT_EQ(j.restart_count, 1u);
  EXPECT_EQ(j.reason, "BeginTime");
  EXPECT_TRUE(j.terminating);
  EXPECT_EQ(StoredJob(low)->state, JobState::kPending);
  // The high job waits for the low job's run to end; nothing more is preempted meanwhile.
  EXPECT_TRUE(n1.Quiet(Body::kLaunch, 300ms));
  EXPECT_EQ(StateOf(high), JobState::kPending);

  n1.Finish(low, first.generation(), 0, false, 15);
  rpc::LaunchJob second = n1.AwaitLaunch();
  EXPECT_EQ(second.job_id(), high);
  n1.Finish(high, second.generation(), 0);
  // Then the requeued job runs again and completes.
  rpc::LaunchJob again = n1.AwaitLaunch();
  EXPECT_EQ(again.job_id(), low);
  EXPECT_GT(again.generation(), first.generation());
  n1.Finish(low, again.generation(), 0);
  EXPECT_TRUE(WaitState(low, JobState::kCompleted));
  EXPECT_EQ(GetJob(low).restart_count, 1u);
}

TEST_F(QosControllerTest, QosWithoutPreemptModeUseTheClusters) {
  StartController();
  FakeAgent& n1 = Register("n1", 2);
  JobId victim = Submit(InQos("normal", 2));
  rpc::LaunchJob l = n1.AwaitLaunch();
  JobId scav = Submit(InQos("scavenger", 2));  // scavenger may preempt normal ...
  // ... but normal has no PreemptMode of its own: the cluster's (REQUEUE) applies.
  auto term = n1.Await(Body::kTerminate);
  ASSERT_TRUE(term.has_value());
  EXPECT_EQ(GetJob(victim).state, JobState::kPending);
  n1.Finish(victim, l.generation(), 0, false, 15);
  rpc::LaunchJob s = n1.AwaitLaunch();
  EXPECT_EQ(s.job_id(), scav);
  n1.Finish(scav, s.generation(), 0);
  n1.Finish(victim, n1.AwaitLaunch().generation(), 0);
  EXPECT_TRUE(WaitState(victim, JobState::kCompleted));
}

TEST_F(QosControllerTest, CancelModeFromTheVictimsQos) {
  auto c = ParseControllerConfig(
      "PreemptType=preempt/qos PreemptMode=REQUEUE\n"
      "QOS=high Preempt=low\n"
      "QOS=low PreemptMode=CANCEL GraceTime=3\n",
      "test.conf");
  ASSERT_TRUE(c.ok()) << c.status().message();
  config_ = *c;
  StartController();
  FakeAgent& n1 = Register("n1", 2);
  JobId low = Submit(InQos("low", 2));
  rpc::LaunchJob l = n1.AwaitLaunch();
  JobId high = Submit(InQos("high", 2));
  auto term = n1.Await(Body::kTerminate);
  ASSERT_TRUE(term.has_value());
  EXPECT_EQ(term->terminate().kill_wait_s(), 3u);  // GraceTime
  Job j = GetJob(low);
  EXPECT_EQ(j.state, JobState::kPreempted);
  EXPECT_TRUE(j.terminating);
  EXPECT_EQ(StoredJob(low)->state, JobState::kPreempted);
  n1.Finish(low, l.generation(), 0, false, 15);
  EXPECT_EQ(n1.AwaitLaunch().job_id(), high);
  EXPECT_EQ(StateOf(low), JobState::kPreempted);
}

TEST_F(QosControllerTest, PrioritiesListedForSprio) {
  StartController();
  Register("n1", 1);
  JobId running = Submit(InQos("normal"));
  ASSERT_TRUE(WaitState(running, JobState::kRunning));
  JobId high = Submit(InQos("high"));
  SubmitRequest held = InQos("normal");
  held.hold = true;
  Submit(held);
  SubmitRequest later = InQos("normal");
  later.req.begin_time = NowSeconds() + 3600;
  Submit(later);
  SubmitRequest bob = InQos("normal");
  bob.req.user = "bob";
  bob.req.nice = 10;
  JobId bobs = Submit(bob);

  auto rows = ctl_->ListPriorities({});
  ASSERT_EQ(rows.size(), 2u);  // not the running, held or not-yet-eligible ones
  EXPECT_EQ(rows[0].id, high);
  EXPECT_DOUBLE_EQ(rows[0].factors.qos, 1.0);
  EXPECT_EQ(rows[0].priority, 1100u);
  EXPECT_EQ(rows[1].id, bobs);
  EXPECT_EQ(rows[1].factors.nice, 10);
  EXPECT_EQ(rows[1].priority, 90u);
  JobFilter f;
  f.users = {"bob"};
  EXPECT_EQ(ctl_->ListPriorities(f).size(), 1u);
  f = {};
  f.ids = {std::to_string(high)};
  EXPECT_EQ(ctl_->ListPriorities(f).size(), 1u);
}

// The listing keeps what it read of each pending job in a table and reads only the jobs changed
// since: a listing after holds, releases, updates, cancellations and new submissions is what
// the job records say.
TEST_F(QosControllerTest, PriorityListingFollowsChangesAfterItsTableIsBuilt) {
  StartController();
  Register("n1", 1);
  ASSERT_TRUE(ctl_->UpdateNode("n1", "DRAIN", "test").ok());  // everything stays pending
  std::vector<JobId> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Submit(InQos(i % 2 == 0 ? "normal" : "high")));
  auto listed = [&] {
    std::vector<std::pair<JobId, uint32_t>> out;
    for (const auto& row : ctl_->ListPriorities({})) out.emplace_back(row.id, row.priority);
    return out;
  };
  using Listing = std::vector<std::pair<JobId, uint32_t>>;
  const Listing first = listed();
  ASSERT_EQ(first.size(), 5u);
  EXPECT_EQ(first[1], (std::pair<JobId, uint32_t>{ids[1], 1100u}));  // QOS high, fair share
  EXPECT_EQ(listed(), first);  // from the table: the same rows
  ASSERT_TRUE(ctl_->Hold(std::to_string(ids[0]), true).ok());
  ASSERT_TRUE(ctl_->UpdateJob(std::to_string(ids[1]), Json{{"nice", 100}}).ok());
  CancelFilter cancel;
  cancel.ids = {std::to_string(ids[2])};
  ctl_->Cancel(cancel);
  const JobId added = Submit(InQos("high"));
  EXPECT_EQ(listed(), (Listing{{ids[1], 1000u}, {ids[3], 1100u}, {ids[4], 100u}, {added, 1100u}}));
  ASSERT_TRUE(ctl_->Hold(std::to_string(ids[0]), false).ok());
  const Listing released = listed();
  ASSERT_EQ(released.size(), 5u);
  EXPECT_EQ(released.front(), (std::pair<JobId, uint32_t>{ids[0], 100u}));
  EXPECT_EQ(listed(), released);
}

TEST_F(QosControllerTest, FairShareUsageIsChargedAndSurvivesARestart) {
  config_.decay_half_life_s = 0;  // no decay: exact numbers
  StartController();
  FakeAgent& n1 = Register("n1", 4);
  SubmitRequest r = InQos("normal", 2);
  r.req.account = "a";
  JobId id = Submit(r);
  rpc::LaunchJob l = n1.AwaitLaunch();
  std::this_thread::sleep_for(1100ms);
  n1.Finish(id, l.generation(), 0);
  ASSERT_TRUE(WaitState(id, JobState::kCompleted));

  // Account a has used CPU time, account b none: b's job gets the larger fair-share factor.
  SubmitRequest pa = InQos("normal");
  pa.req.account = "a";
  pa.hold = false;
  SubmitRequest pb = pa;
  pb.req.account = "b";
  pb.req.user = "bob";
  // Keep them pending: the node is drained.
  ASSERT_TRUE(ctl_->UpdateNode("n1", "DRAIN", "test").ok());
  JobId ja = Submit(pa);
  JobId jb = Submit(pb);
  auto factors = [&](JobId want) {
    for (const auto& row : ctl_->ListPriorities({})) {
      if (row.id == want) return row.factors.fairshare;
    }
    ADD_FAILURE() << "no row for job " << want;
    return -1.0;
  };
  const double fa = factors(ja);
  EXPECT_LT(fa, 1.0);
  EXPECT_DOUBLE_EQ(factors(jb), 1.0);

  RestartController();
  EXPECT_DOUBLE_EQ(factors(ja), fa);
}

TEST_F(QosControllerTest, RunningJobsAreChargedEveryCalcPeriodAndResetNowClears) {
  config_.priority_calc_period_s = 1;
  config_.decay_half_life_s = 0;
  StartController();
  FakeAgent& n1 = Register("n1", 4);
  SubmitRequest r = InQos("normal", 2);
  r.req.account = "a";
  JobId running = Submit(r);
  rpc::LaunchJob l = n1.AwaitLaunch();
  ASSERT_TRUE(ctl_->UpdateNode("n1", "DRAIN", "test").ok());  // later jobs stay pending
  SubmitRequest pending = InQos("normal");
  pending.req.account = "a";
  JobId ja = Submit(pending);
  pending.req.account = "b";
  JobId jb = Submit(pending);
  auto fairshare = [&](JobId want) {
    for (const auto& row : ctl_->ListPriorities({})) {
      if (row.id == want) return row.factors.fairshare;
    }
    return -1.0;
  };
  // Still running, yet charged: a's factor drops below b's within a few calc periods.
  ASSERT_TRUE(WaitUntil([&] { return fairshare(ja) < 1.0; }, 5s));
  EXPECT_DOUBLE_EQ(fairshare(jb), 1.0);
  EXPECT_EQ(StateOf(running), JobState::kRunning);

  n1.Finish(running, l.generation(), 0);
  ASSERT_TRUE(WaitState(running, JobState::kCompleted));
  config_.usage_reset = UsageResetPeriod::kNow;  // cleared when the controller starts
  RestartController();
  EXPECT_DOUBLE_EQ(fairshare(ja), 1.0);
}

// ---------------------------------------------------------------------------------------------
// Webhooks

// Records what the controller's outbox sends; shared across a controller restart. Answers
// `code` (a negative one: no connection).
struct WebhookLog {
  std::mutex mu;
  std::vector<WebhookRequest> sent;
  int code = 200;
  // "url type" of each delivery that succeeded, first delivery of each event id only.
  std::vector<std::string> Delivered() {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (const WebhookRequest& r : sent) {
      Json doc = Json::parse(r.body);
      const std::string id = doc["id"].get<std::string>() + r.url;
      if (!seen.insert(id).second) continue;
      out.push_back(r.url + " " + doc["type"].get<std::string>() + " " +
                    doc["job"]["state"].get<std::string>());
    }
    return out;
  }
};

class RecordingSender : public WebhookSender {
 public:
  explicit RecordingSender(std::shared_ptr<WebhookLog> log) : log_(std::move(log)) {}
  Result<int> Post(const WebhookRequest& r) override {
    std::lock_guard<std::mutex> lock(log_->mu);
    if (log_->code < 0) return Unavailable("Couldn't connect to server");
    log_->sent.push_back(r);
    return log_->code;
  }

 private:
  std::shared_ptr<WebhookLog> log_;
};

TEST_F(ControllerTest, WebhooksTellEachReceiverOfEveryStateChangeInOrder) {
  config_.webhooks = {WebhookTarget{"http://cluster/all", {}},
                      WebhookTarget{"http://cluster/failures", {"failed", "requeued"}}};
  auto log = std::make_shared<WebhookLog>();
  auto store = OpenSqliteStore(dir_ + "/state.db");
  ASSERT_TRUE(store.ok());
  ctl_ = std::make_unique<Controller>(config_, std::move(store).value(), dir_ + "/ctl.sock");
  ctl_->SetWebhookSender(std::make_unique<RecordingSender>(log));
  ASSERT_TRUE(ctl_->Start().ok());
  FakeAgent& n1 = Register("n1");
  SubmitRequest r = Request();
  r.req.webhook = "http://tracker/run";
  JobId id = Submit(r);
  rpc::LaunchJob first = n1.AwaitLaunch();
  ASSERT_TRUE(ctl_->Requeue(std::to_string(id)).ok());
  n1.Finish(id, first.generation(), 0, false, 15);
  rpc::LaunchJob second = n1.AwaitLaunch();
  n1.Finish(id, second.generation(), 3);
  ASSERT_TRUE(WaitState(id, JobState::kFailed));
  const std::vector<std::string> all = {"submitted PENDING", "running RUNNING",
                                        "requeued PENDING", "running RUNNING", "failed FAILED"};
  std::vector<std::string> want;
  for (const char* url : {"http://cluster/all", "http://tracker/run"}) {
    for (const std::string& e : all) want.push_back(std::string(url) + " " + e);
  }
  want.push_back("http://cluster/failures requeued PENDING");
  want.push_back("http://cluster/failures failed FAILED");
  std::sort(want.begin(), want.end());
  ASSERT_TRUE(WaitUntil([&] {
    std::vector<std::string> got = log->Delivered();
    std::sort(got.begin(), got.end());
    return got == want;
  })) << ::testing::PrintToString(log->Delivered());
  // Per receiver, in the order they happened.
  std::vector<std::string> tracker;
  for (const std::string& d : log->Delivered()) {
    if (d.rfind("http://tracker/run ", 0) == 0) tracker.push_back(d.substr(19));
  }
  EXPECT_EQ(tracker, all);
  EXPECT_TRUE(WaitUntil([&] { return ctl_->webhook_outbox_depth() == 0; }));
}

TEST_F(ControllerTest, UndeliveredWebhooksSurviveARestartAndABadUrlIsRefused) {
  auto log = std::make_shared<WebhookLog>();
  log->code = -1;  // the receiver is down
  auto start = [&] {
    auto store = OpenSqliteStore(dir_ + "/state.db");
    ASSERT_TRUE(store.ok());
    ctl_ = std::make_unique<Controller>(config_, std::move(store).value(), dir_ + "/ctl.sock");
    ctl_->SetWebhookSender(std::make_unique<RecordingSender>(log));
    ASSERT_TRUE(ctl_->Start().ok());
  };
  start();
  SubmitRequest bad = Request();
  bad.req.webhook = "ftp://x";
  auto refused = ctl_->Submit(bad, NowSeconds());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "invalid webhook URL 'ftp://x': only http:// and https:// URLs are allowed");
  EXPECT_TRUE(ctl_->ListJobs({}).empty());
  EXPECT_EQ(ctl_->webhook_outbox_depth(), 0u);

  SubmitRequest r = Request();
  r.req.webhook = "http://tracker/run";
  JobId id = Submit(r);
  CancelFilter cancel;
  cancel.ids = {std::to_string(id)};
  ASSERT_TRUE(ctl_->Cancel(cancel).errors.empty());
  EXPECT_EQ(ctl_->webhook_outbox_depth(), 2u);
  agents_.clear();
  ctl_.reset();  // the events stay in the store
  {
    std::lock_guard<std::mutex> lock(log->mu);
    log->code = 200;
  }
  start();
  ASSERT_TRUE(WaitUntil([&] { return log->Delivered().size() == 2; }));
  EXPECT_EQ(log->Delivered(),
            (std::vector<std::string>{"http://tracker/run submitted PENDING",
                                      "http://tracker/run cancelled CANCELLED"}));
  EXPECT_TRUE(WaitUntil([&] { return ctl_->webhook_outbox_depth() == 0; }));
}

}  // namespace
}  // namespace shoal

namespace shoal {
namespace {

// ---------------------------------------------------------------------------------------------
// Advance reservations

TEST_F(ControllerTest, ReservationsAreCheckedStoredAndHonoured) {
  StartController();
  Register("n1", 2);
  Register("n2", 2);
  const int64_t now = NowSeconds();
  // Only administrators change them.
  auto denied = ctl_->CreateReservation(
      {"ReservationName=m", "StartTime=now", "Duration=10", "Nodes=n1", "Users=alice"}, 12345,
      now);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), StatusCode::kPermissionDenied);
  auto created = ctl_->CreateReservation({"ReservationName=m", "StartTime=now", "Duration=10",
                                          "Nodes=n1", "Users=alice", "Flags=MAINT"},
                                         std::nullopt, now);
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ(*created, "m");
  // An overlap is refused and changes nothing.
  auto clash = ctl_->CreateReservation(
      {"ReservationName=o", "StartTime=now", "Duration=10", "Nodes=n[1-2]", "Users=alice"},
      std::nullopt, now);
  EXPECT_TRUE(clash.ok()) << "a MAINT reservation may be overlapped";
  auto clash2 = ctl_->CreateReservation(
      {"ReservationName=p", "StartTime=now", "Duration=10", "Nodes=n2", "Users=alice"},
      std::nullopt, now);
  ASSERT_FALSE(clash2.ok());
  EXPECT_EQ(clash2.status().code(), StatusCode::kFailedPrecondition);
  ASSERT_EQ(ctl_->ListReservations(now).size(), 2u);
  ASSERT_TRUE(ctl_->DeleteReservation("o", std::nullopt, now).ok());
  EXPECT_EQ(FindNode("n1").StateText(false), "maint");
  EXPECT_EQ(FindNode("n2").StateText(false), "idle");

  // Submission: unknown or not admitted reservations are refused.
  SubmitRequest bad = Request();
  bad.req.reservation = "nope";
  auto id = ctl_->Submit(bad, now);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().message(), "Requested reservation is invalid");
  SubmitRequest other = Request();
  other.req.user = "bob";
  other.req.uid = 1001;
  other.req.reservation = "m";
  id = ctl_->Submit(other, now);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().message(), "Access denied to requested reservation");

  // A job naming it runs on n1; one that does not, on n2.
  SubmitRequest in = Request("in");
  in.req.reservation = "m";
  in.req.cpus_per_task = 2;
  JobId a = Submit(in);
  SubmitRequest out = Request("out");
  out.req.cpus_per_task = 2;
  JobId b = Submit(out);
  ASSERT_TRUE(WaitState(a, JobState::kRunning));
  ASSERT_TRUE(WaitState(b, JobState::kRunning));
  EXPECT_EQ(GetJob(a).nodes, std::vector<std::string>{"n1"});
  EXPECT_EQ(GetJob(b).nodes, std::vector<std::string>{"n2"});

  RestartController();
  auto rows = ctl_->ListReservations(NowSeconds());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].reservation.name, "m");
  EXPECT_TRUE(rows[0].reservation.Has(kResvMaint));
  EXPECT_EQ(rows[0].reservation.nodes, std::vector<std::string>{"n1"});
  EXPECT_EQ(ctl_->DeleteReservation("nope", std::nullopt, now).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace shoal

// ---------------------------------------------------------------------------------------------
// Power saving (ResumeProgram, State=CLOUD)

namespace shoal {
namespace {

class PowerControllerTest : public ControllerTest {
 protected:
  // A CLOUD node c1 and a ResumeProgram with `body` (a shell script).
  void Configure(const std::string& body) {
    const std::string prog = dir_ + "/resume.sh";
    {
      std::ofstream f(prog);
      f << "#!/bin/sh\n" << body;
    }
    chmod(prog.c_str(), 0755);
    config_.power.resume_program = prog;
    config_.power.suspend_program = "/bin/true";
    config_.power.resume_timeout_s = 30;
    Node c1;
    c1.name = "c1";
    c1.cpus = 2;
    c1.memory_mb = 8192;
    c1.configured = true;
    c1.cloud = true;
    config_.nodes = {c1};
  }
};

TEST_F(PowerControllerTest, CloudNodeIsResumedForAJobWhichLaunchesOnceItRegisters) {
  const std::string called = dir_ + "/called";
  Configure("echo \"$1\" >> " + called + "\n");
  StartController();
  EXPECT_EQ(FindNode("c1").power, NodePower::kPoweredDown);
  EXPECT_EQ(FindNode("c1").StateText(false), "idle~");
  JobId id = Submit();
  ASSERT_TRUE(WaitUntil([&] { return GetJob(id).configuring; }));
  EXPECT_EQ(StateOf(id), JobState::kRunning);
  ASSERT_TRUE(WaitUntil([&] { return FindNode("c1").power == NodePower::kPoweringUp; }));
  ASSERT_TRUE(WaitUntil([&] {
    std::ifstream f(called);
    std::string line;
    return std::getline(f, line) && line == "c1";
  }));
  FakeAgent& agent = Register("c1", 2);
  rpc::LaunchJob l = agent.AwaitLaunch();
  EXPECT_EQ(l.job_id(), id);
  Job j = GetJob(id);
  EXPECT_FALSE(j.configuring);
  EXPECT_EQ(j.state, JobState::kRunning);
  EXPECT_EQ(FindNode("c1").power, NodePower::kOn);
}

TEST_F(PowerControllerTest, FailedResumeDownsTheNodeAndRequeuesTheJobAcrossARestart) {
  Configure("echo 'no capacity' >&2\nexit 1\n");
  StartController();
  JobId id = Submit();
  ASSERT_TRUE(WaitUntil([&] { return FindNode("c1").down; }));
  Node n = FindNode("c1");
  EXPECT_EQ(n.reason, "ResumeProgram failed: exit code 1");
  EXPECT_EQ(n.power, NodePower::kPoweredDown);
  EXPECT_EQ(n.alloc_cpus, 0u);
  EXPECT_TRUE(n.running_jobs.empty());
  Job j = GetJob(id);
  EXPECT_EQ(j.state, JobState::kPending);  // requeued, not lost
  EXPECT_FALSE(j.configuring);
  EXPECT_EQ(j.restart_count, 1u);
  RestartController();
  n = FindNode("c1");
  EXPECT_TRUE(n.down);
  EXPECT_EQ(n.reason, "ResumeProgram failed: exit code 1");
  EXPECT_EQ(n.power, NodePower::kPoweredDown);
  EXPECT_EQ(StateOf(id), JobState::kPending);
}

// salloc/srun wait for a CONFIGURING allocation's nodes; a step asked for meanwhile is refused
// (nothing could run there yet), and taken once the node registered.
TEST_F(PowerControllerTest, StepsWaitUntilAConfiguringAllocationsNodesAreUp) {
  Configure("exit 0\n");
  StartController();
  SubmitRequest req = Request();
  req.req.interactive = true;
  req.script.clear();
  JobId id = Submit(req);
  ASSERT_TRUE(WaitUntil([&] { return GetJob(id).configuring; }));
  auto early = ctl_->CreateStep(std::to_string(id), StepOf(1), 0);
  EXPECT_EQ(early.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(early.status().message().find("not ready yet (CONFIGURING"), std::string::npos)
      << early.status().message();
  Register("c1", 2);
  ASSERT_TRUE(WaitUntil([&] { return !GetJob(id).configuring; }));
  EXPECT_EQ(StateOf(id), JobState::kRunning);
  auto step = ctl_->CreateStep(std::to_string(id), StepOf(1), 0);
  EXPECT_TRUE(step.ok()) << step.status().message();
}

TEST_F(PowerControllerTest, CancelOfAConfiguringJobFreesItsNodes) {
  Configure("exit 0\n");  // the node never registers
  StartController();
  JobId id = Submit();
  ASSERT_TRUE(WaitUntil([&] { return GetJob(id).configuring; }));
  CancelFilter f;
  f.ids = {std::to_string(id)};
  ctl_->Cancel(f);
  EXPECT_EQ(StateOf(id), JobState::kCancelled);
  EXPECT_EQ(FindNode("c1").alloc_cpus, 0u);
  EXPECT_TRUE(FindNode("c1").running_jobs.empty());
}

TEST_F(PowerControllerTest, PowerStatesNeedPowerSaving) {
  StartController();  // no ResumeProgram
  Register("n1");
  Status s = ctl_->UpdateNode("n1", "POWER_DOWN", "");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.message();
}

}  // namespace
}  // namespace shoal
