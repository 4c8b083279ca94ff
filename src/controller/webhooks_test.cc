#include "controller/webhooks.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "api/json_model.h"
#include "controller/controller_metrics.h"

namespace shoal {
namespace {

using namespace std::chrono_literals;

bool Eventually(const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

TEST(WebhookSignatureTest, IsHexHmacSha256OfTimestampDotBody) {
  // Python: hmac.new(b"topsecret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
  EXPECT_EQ(WebhookSignature("topsecret", 1700000000, R"({"a":1})"),
            "sha256=6a939b0c71853d606167625a15168ee9188c6a511c773ef4f42d307f3849e50f");
  // The timestamp is part of what is signed: a replayed body with a new time does not verify.
  EXPECT_NE(WebhookSignature("topsecret", 1700000001, R"({"a":1})"),
            WebhookSignature("topsecret", 1700000000, R"({"a":1})"));
  EXPECT_NE(WebhookSignature("other", 1700000000, R"({"a":1})"),
            WebhookSignature("topsecret", 1700000000, R"({"a":1})"));
}

TEST(WebhookBackoffTest, DoublesFromOneSecondToFiveMinutesWithJitterTakingUpToHalf) {
  const int64_t expected[] = {1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000};
  for (uint32_t failures = 1; failures <= 10; ++failures) {
    EXPECT_EQ(WebhookRetryDelayMs(failures, 0), expected[failures - 1]) << failures;
  }
  EXPECT_EQ(WebhookRetryDelayMs(11, 0), 300000);
  EXPECT_EQ(WebhookRetryDelayMs(1000000, 0), 300000);  // no overflow however many
  EXPECT_EQ(WebhookRetryDelayMs(1, 0.5), 750);
  EXPECT_EQ(WebhookRetryDelayMs(3, 0.75), 2500);
  EXPECT_EQ(WebhookRetryDelayMs(20, 1), 150000);
  EXPECT_EQ(WebhookRetryDelayMs(2, 0, WebhookBackoff{10, 15}), 15);
}

TEST(WebhookEventTest, TypeFollowsStateAndRequeues) {
  Job job;
  job.state = JobState::kRunning;
  EXPECT_EQ(WebhookEventType(JobState::kPending, 0, job), "running");
  EXPECT_EQ(WebhookEventType(JobState::kRunning, 0, job), "");
  job.state = JobState::kNodeFail;
  EXPECT_EQ(WebhookEventType(JobState::kRunning, 0, job), "node_fail");
  job.state = JobState::kPending;
  job.restart_count = 1;
  EXPECT_EQ(WebhookEventType(JobState::kRunning, 0, job), "requeued");
  // Requeued and started again before anyone was told: still a requeue.
  job.state = JobState::kRunning;
  job.restart_count = 2;
  EXPECT_EQ(WebhookEventType(JobState::kRunning, 1, job), "requeued");
}

TEST(WebhookEventTest, BodyHoldsTheEventAndTheJobsKeyFields) {
  Job job;
  job.id = 12;
  job.array_job_id = 10;
  job.array_task_id = 2;
  job.req.name = "train";
  job.req.user = "alice";
  job.req.account = "ml";
  job.req.partition = "gpu";
  job.req.webhook = "http://secret-ish/hook";
  job.state = JobState::kFailed;
  job.exit_code = 3;
  job.nodes = {"n1", "n2"};
  job.start_time = 100;
  job.end_time = 160;
  Json doc = Json::parse(WebhookEventBody("abc", "failed", 170, "shoal", job));
  EXPECT_EQ(doc["id"], "abc");
  EXPECT_EQ(doc["type"], "failed");
  EXPECT_EQ(doc["time"], 170);
  EXPECT_EQ(doc["cluster"], "shoal");
  const Json& j = doc["job"];
  EXPECT_EQ(j["job_id"], 12);
  EXPECT_EQ(j["display_id"], "10_2");
  EXPECT_EQ(j["array_job_id"], 10);
  EXPECT_EQ(j["array_task_id"], 2);
  EXPECT_EQ(j["name"], "train");
  EXPECT_EQ(j["user"], "alice");
  EXPECT_EQ(j["account"], "ml");
  EXPECT_EQ(j["partition"], "gpu");
  EXPECT_EQ(j["state"], "FAILED");
  EXPECT_EQ(j["exit_code"], 3);
  EXPECT_EQ(j["nodes"], Json::array({"n1", "n2"}));
  EXPECT_EQ(j["start_time"], 100);
  EXPECT_EQ(j["end_time"], 160);
  EXPECT_FALSE(j.contains("request"));  // not the whole record (work dir, URL, ...)
}

// Answers each POST from a script of statuses (then 200), recording what was sent.
class FakeSender : public WebhookSender {
 public:
  Result<int> Post(const WebhookRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    sent_.push_back(request);
    if (answers_.empty()) return 200;
    int code = answers_.front();
    answers_.erase(answers_.begin());
    if (code < 0) return Unavailable("Couldn't connect to server");
    return code;
  }
  void Script(std::vector<int> answers) {
    std::lock_guard<std::mutex> lock(mu_);
    answers_ = std::move(answers);
  }
  std::vector<WebhookRequest> sent() {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }

 private:
  std::mutex mu_;
  std::vector<int> answers_;
  std::vector<WebhookRequest> sent_;
};

std::string Header(const WebhookRequest& r, const std::string& name) {
  for (const std::string& h : r.headers) {
    if (h.rfind(name + ": ", 0) == 0) return h.substr(name.size() + 2);
  }
  return "";
}

class WebhookOutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "webhooks_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto store = OpenSqliteStore(dir_ + "/shoal.db");
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
  }
  void TearDown() override {
    outbox_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartOutbox(int64_t max_age_s = 86400) {
    auto sender = std::make_unique<FakeSender>();
    sender_ = sender.get();
    WebhookOutboxOptions o;
    o.secret = "k";
    o.max_age_s = max_age_s;
    o.backoff = {20, 80};
    outbox_ = std::make_unique<WebhookOutbox>(o, store_.get(), &metrics_, std::move(sender));
    auto stored = store_->LoadOutbox();
    ASSERT_TRUE(stored.ok());
    outbox_->Start(std::move(stored).value());
  }

  OutboxEntry Entry(JobId job, const std::string& type, const std::string& url,
                    int64_t created = 0) {
    OutboxEntry e;
    e.seq = outbox_ ? outbox_->NextSeq() : ++seq_;
    e.event_id = "evt" + std::to_string(e.seq);
    e.job_id = job;
    e.url = url;
    e.body = R"({"type":")" + type + R"(","job":{"job_id":)" + std::to_string(job) + "}}";
    e.created = created != 0 ? created : static_cast<int64_t>(std::time(nullptr));
    return e;
  }
  // Writes the entries as PersistLocked would, and hands them over.
  void Write(std::vector<OutboxEntry> entries) {
    std::vector<StoreOp> ops;
    for (const OutboxEntry& e : entries) {
      StoreOp op;
      op.kind = StoreOp::Kind::kAddOutbox;
      op.outbox = e;
      ops.push_back(op);
    }
    outbox_->Add(std::move(entries), store_->Submit(std::move(ops)).share());
  }
  size_t Stored() {
    auto rows = store_->LoadOutbox();
    return rows.ok() ? rows->size() : 999;
  }
  std::string Metric(const std::string& series) {
    const std::string text = metrics_.Render();
    const size_t at = text.find("\n" + series + " ");
    if (at == std::string::npos) return "";
    const size_t start = at + series.size() + 2;
    return text.substr(start, text.find('\n', start) - start);
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
  ControllerMetrics metrics_;
  FakeSender* sender_ = nullptr;
  std::unique_ptr<WebhookOutbox> outbox_;
  int64_t seq_ = 0;
};

TEST_F(WebhookOutboxTest, DeliversSignedWithTheIdempotencyKeyAndEmptiesTheStore) {
  StartOutbox();
  Write({Entry(7, "running", "http://a/"), Entry(7, "running", "http://b/")});
  ASSERT_TRUE(Eventually([&] { return sender_->sent().size() == 2 && Stored() == 0; }));
  const WebhookRequest r = sender_->sent()[0];
  EXPECT_EQ(r.url, "http://a/");
  EXPECT_EQ(Header(r, "Idempotency-Key"), "evt1");
  EXPECT_EQ(Header(r, "X-Shoal-Event"), "running");
  const int64_t ts = std::stoll(Header(r, "X-Shoal-Timestamp"));
  EXPECT_LE(std::abs(ts - static_cast<int64_t>(std::time(nullptr))), 5);
  EXPECT_EQ(Header(r, "X-Shoal-Signature"), WebhookSignature("k", ts, r.body));
  EXPECT_EQ(Metric("shoal_webhook_deliveries_total{result=\"delivered\"}"), "2");
  EXPECT_TRUE(Eventually([&] { return Metric("shoal_webhook_outbox_depth") == "0"; }));
}

TEST_F(WebhookOutboxTest, RetriesWithBackoffKeepingEachJobsOrderPerReceiver) {
  StartOutbox();
  // The receiver fails the first two attempts: the job's second event must not overtake.
  sender_->Script({503, -1});
  Write({Entry(1, "running", "http://a/")});
  Write({Entry(1, "completed", "http://a/")});
  ASSERT_TRUE(Eventually([&] { return sender_->sent().size() == 4 && Stored() == 0; })) << Stored();
  std::vector<std::string> order;
  for (const WebhookRequest& r : sender_->sent()) order.push_back(Header(r, "Idempotency-Key"));
  EXPECT_EQ(order, (std::vector<std::string>{"evt1", "evt1", "evt1", "evt2"}));
  EXPECT_EQ(Metric("shoal_webhook_deliveries_total{result=\"failed\"}"), "2");
  EXPECT_EQ(Metric("shoal_webhook_deliveries_total{result=\"delivered\"}"), "2");
}

TEST_F(WebhookOutboxTest, WhatTheStoreHeldAtStartIsDeliveredAndOldEventsAreGivenUp) {
  // Written by a controller that then died: the outbox starts with them.
  std::vector<StoreOp> ops;
  for (OutboxEntry e : {Entry(3, "running", "http://a/"),
                        Entry(4, "running", "http://a/", std::time(nullptr) - 100)}) {
    StoreOp op;
    op.kind = StoreOp::Kind::kAddOutbox;
    op.outbox = e;
    ops.push_back(op);
  }
  ASSERT_TRUE(store_->Write(ops).ok());
  StartOutbox(/*max_age_s=*/50);
  EXPECT_GT(outbox_->NextSeq(), 2);  // above what was stored
  ASSERT_TRUE(Eventually([&] { return Stored() == 0; }));
  ASSERT_EQ(sender_->sent().size(), 1u);
  EXPECT_EQ(Header(sender_->sent()[0], "Idempotency-Key"), "evt1");
  EXPECT_EQ(Metric("shoal_webhook_deliveries_total{result=\"expired\"}"), "1");
}

TEST_F(WebhookOutboxTest, AWriteThatFailedDeliversNothing) {
  StartOutbox();
  std::promise<Status> failed;
  failed.set_value(Internal("disk full"));
  outbox_->Add({Entry(5, "running", "http://a/")}, failed.get_future().share());
  Write({Entry(6, "running", "http://a/")});
  ASSERT_TRUE(Eventually([&] { return sender_->sent().size() == 1 && Stored() == 0; }));
  std::this_thread::sleep_for(50ms);
  ASSERT_EQ(sender_->sent().size(), 1u);
  EXPECT_NE(sender_->sent()[0].body.find("\"job_id\":6"), std::string::npos);
}

TEST(WebhookSecretTest, CreatedOnceWithModeSixHundredThenReadBack) {
  std::string tmpl = ::testing::TempDir() + "webhook_secret.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string path = tmpl + "/webhook.key";
  auto missing = LoadOrCreateWebhookSecret(path, /*create=*/false);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(path), std::string::npos);
  auto made = LoadOrCreateWebhookSecret(path, /*create=*/true);
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_EQ(made->size(), 64u);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = LoadOrCreateWebhookSecret(path, /*create=*/true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *made);
  std::ofstream(tmpl + "/given") << "  my secret \n";
  EXPECT_EQ(*LoadOrCreateWebhookSecret(tmpl + "/given", false), "my secret");
  std::ofstream(tmpl + "/empty") << "\n";
  EXPECT_FALSE(LoadOrCreateWebhookSecret(tmpl + "/empty", false).ok());
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace shoal
