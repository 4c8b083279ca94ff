// The public API's identity and authorization through the real HTTP handler, in process: who
// the caller is (Unix peer, token, anonymous), what each may change, PrivateData and the rate
// limit.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <filesystem>

#include "controller/controller.h"
#include "controller/metrics_routes.h"
#include "security/jwt.h"

namespace shoal {
namespace {

const std::string kKey(32, 'k');
constexpr uint32_t kAlice = 4242;

class ApiAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    char tmpl[] = "/tmp/shoal_api_auth_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = OpenSqliteStore(dir_ + "/state.db");
    ASSERT_TRUE(store.ok());
    ControllerConfig config;
    config.private_jobs = true;
    config.private_usage = PrivateUsage();
    config.api_rate_limit = RateLimit();
    config.api_rate_burst = RateLimit();
    ctl_ = std::make_unique<Controller>(config, std::move(store).value(), dir_ + "/ctl.sock");
    ASSERT_TRUE(ctl_->Start().ok());
    handler_ = std::make_unique<ControllerHttpHandler>(*ctl_);
    handler_->SetTokenKey(kKey);
    root_job_ = Submit(0, "root");
    alice_job_ = Submit(kAlice, "alice");
  }
  void TearDown() override {
    handler_.reset();
    ctl_.reset();
    std::filesystem::remove_all(dir_);
  }

  virtual uint32_t RateLimit() const { return 0; }
  virtual bool PrivateUsage() const { return false; }

  JobId Submit(uint32_t uid, const std::string& user) {
    SubmitRequest r;
    r.req.name = "x";
    r.req.user = user;
    r.req.uid = uid;
    r.req.gid = uid;
    r.req.work_dir = "/tmp";
    r.script = "#!/bin/sh\nsleep 100\n";
    auto id = ctl_->Submit(r, NowSeconds());
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? *id : 0;
  }

  static std::string AliceToken(int64_t lifespan = 600) {
    return security::SignJwt({"alice", kAlice, NowSeconds(), NowSeconds() + lifespan}, kKey);
  }

  HttpResponse Call(const std::string& method, const std::string& path, const std::string& body,
                    const std::string& token = "", std::optional<uint32_t> peer_uid = {}) {
    HttpRequest r;
    r.method = method;
    r.path = path;
    r.body = body;
    r.remote_address = "127.0.0.1";
    if (!token.empty()) r.headers["Authorization"] = "Bearer " + token;
    if (peer_uid) r.peer = PeerCredentials{1, *peer_uid, *peer_uid};
    return handler_->Handle(r);
  }
  static std::string Message(const HttpResponse& r) {
    return Json::parse(r.body)["error"]["message"].get<std::string>();
  }

  std::string dir_;
  std::unique_ptr<Controller> ctl_;
  std::unique_ptr<ControllerHttpHandler> handler_;
  JobId root_job_ = 0, alice_job_ = 0;
};

TEST_F(ApiAuthTest, AnonymousReadsButChangesNothing) {
  EXPECT_EQ(Call("GET", "/api/v1/nodes", "").status, 200);
  HttpResponse r = Call("POST", "/api/v1/jobs/cancel", R"({"ids":["1"]})");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(Message(r).find("authentication required"), std::string::npos);
  EXPECT_EQ(Call("POST", "/api/v1/tokens", "{}").status, 401);
  // PrivateData=jobs: an anonymous caller owns no job, so sees none.
  EXPECT_EQ(Json::parse(Call("GET", "/api/v1/jobs", "").body)["jobs"].size(), 0u);
  EXPECT_TRUE(ctl_->GetJob(std::to_string(root_job_)).ok());
}

TEST_F(ApiAuthTest, BadTokensAreRefusedNotAnonymous) {
  HttpResponse r = Call("GET", "/api/v1/nodes", "", "not-a-token");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(Message(r).find("malformed token"), std::string::npos);
  r = Call("GET", "/api/v1/nodes", "", AliceToken(-1));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Message(r), "token expired");
  std::string other = security::SignJwt({"root", 0, 0, NowSeconds() + 60}, std::string(32, 'x'));
  EXPECT_EQ(Message(Call("GET", "/api/v1/nodes", "", other)), "bad token signature");
}

TEST_F(ApiAuthTest, OwnerOrOperatorChangesAJob) {
  const std::string root_id = std::to_string(root_job_);
  const std::string alice_id = std::to_string(alice_job_);
  Json out = Json::parse(
      Call("POST", "/api/v1/jobs/cancel", R"({"ids":[")" + root_id + R"("]})", AliceToken()).body);
  ASSERT_EQ(out["errors"].size(), 1u);
  EXPECT_EQ(out["errors"][0]["message"], "Access/permission denied");
  for (const char* action : {"hold", "requeue", "update"}) {
    HttpResponse r = Call("POST", "/api/v1/jobs/" + root_id + "/" + action, "{}", AliceToken());
    EXPECT_EQ(r.status, 403) << action;
    EXPECT_EQ(Message(r), "Access/permission denied");
  }
  // The Unix socket's word counts the same as a token.
  out = Json::parse(
      Call("POST", "/api/v1/jobs/cancel", R"({"ids":[")" + root_id + R"("]})", "", kAlice).body);
  EXPECT_EQ(out["errors"].size(), 1u);
  EXPECT_EQ(Call("POST", "/api/v1/jobs/" + alice_id + "/hold", "{}", AliceToken()).status, 200);
  out = Json::parse(
      Call("POST", "/api/v1/jobs/cancel", R"({"ids":[")" + alice_id + R"("]})", AliceToken()).body);
  EXPECT_EQ(out["cancelled"].size(), 1u);
  // root (the Unix socket's uid 0) changes anyone's.
  EXPECT_EQ(Call("POST", "/api/v1/jobs/" + root_id + "/hold", "{}", "", 0u).status, 200);
}

TEST_F(ApiAuthTest, NodesAreForOperators) {
  HttpResponse r =
      Call("POST", "/api/v1/nodes/n1/update", R"({"state":"DRAIN","reason":"x"})", AliceToken());
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(Call("POST", "/api/v1/nodes/n1/delete", "", AliceToken()).status, 403);
}

TEST_F(ApiAuthTest, PrivateJobsShowOnlyOwn) {
  Json jobs = Json::parse(Call("GET", "/api/v1/jobs", "", AliceToken()).body)["jobs"];
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["job_id"], alice_job_);
  EXPECT_EQ(Call("GET", "/api/v1/jobs/" + std::to_string(root_job_), "", AliceToken()).status, 404);
  EXPECT_EQ(Json::parse(Call("GET", "/api/v1/jobs", "", "", 0u).body)["jobs"].size(), 2u);
  EXPECT_EQ(
      Call("GET", "/api/v1/jobs/" + std::to_string(root_job_) + "/steps", "", AliceToken()).status,
      404);
  EXPECT_EQ(
      Call("GET", "/api/v1/jobs/" + std::to_string(alice_job_) + "/steps", "", AliceToken()).status,
      200);
}

TEST_F(ApiAuthTest, UnknownFieldsAndBadBodiesAre400) {
  HttpResponse r = Call("POST", "/api/v1/jobs/cancel", R"({"idz":["1"]})", "", 0u);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(Message(r).find("unknown field 'idz'"), std::string::npos);
  EXPECT_EQ(Call("POST", "/api/v1/jobs/cancel", "{not json", "", 0u).status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/jobs/cancel", "[1]", "", 0u).status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/tokens", R"({"lifespan":-5})", "", 0u).status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/tokens", R"({"lifespan":99999999999})", "", 0u).status, 400);
}

TEST_F(ApiAuthTest, IssuedTokensWorkAndOthersNeedAnAdministrator) {
  HttpResponse r = Call("POST", "/api/v1/tokens", R"({"lifespan":60})", "", 0u);
  ASSERT_EQ(r.status, 200) << r.body;
  Json t = Json::parse(r.body);
  EXPECT_EQ(t["user"], "root");
  EXPECT_EQ(Call("GET", "/api/v1/nodes", "", t["token"].get<std::string>()).status, 200);
  // alice (by token) may not have one made for root.
  r = Call("POST", "/api/v1/tokens", R"({"username":"root"})", AliceToken());
  EXPECT_EQ(r.status, 403);
}

class ApiPrivateUsageTest : public ApiAuthTest {
 protected:
  bool PrivateUsage() const override { return true; }
};

TEST_F(ApiPrivateUsageTest, UsersSeeOnlyTheirOwnAssociations) {
  Json root_db = Json::parse(Call("GET", "/api/v1/accounting", "", "", 0u).body);
  Json alice_db = Json::parse(Call("GET", "/api/v1/accounting", "", AliceToken()).body);
  EXPECT_FALSE(root_db["users"].empty());
  EXPECT_TRUE(alice_db["users"].empty());  // alice has no record; root's is hidden
  EXPECT_TRUE(alice_db["associations"].empty());
  EXPECT_FALSE(Json::parse(Call("GET", "/api/v1/shares", "", "", 0u).body)["rows"].empty());
  EXPECT_TRUE(Json::parse(Call("GET", "/api/v1/shares", "", AliceToken()).body)["rows"].empty());
}

class ApiRateTest : public ApiAuthTest {
 protected:
  uint32_t RateLimit() const override { return 5; }
};

TEST_F(ApiRateTest, OneCallersFloodDoesNotStopAnother) {
  int refused = 0;
  std::string retry_after;
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = Call("GET", "/api/v1/health", "");
    if (r.status == 429) {
      ++refused;
      for (const auto& [k, v] : r.headers) {
        if (k == "Retry-After") retry_after = v;
      }
    }
  }
  EXPECT_GE(refused, 14);
  EXPECT_EQ(retry_after, "1");
  EXPECT_EQ(Call("GET", "/api/v1/health", "", AliceToken()).status, 200);
  // Bad tokens from the flooding address are limited like it, not answered 401 forever.
  EXPECT_EQ(Call("GET", "/api/v1/health", "", "bad.token.here").status, 429);
  // root is not limited.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Call("GET", "/api/v1/health", "", "", 0u).status, 200);
}

}  // namespace
}  // namespace shoal
