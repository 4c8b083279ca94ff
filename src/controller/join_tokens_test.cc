#include "controller/join_tokens.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace shoal {
namespace {

class JoinTokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "join_tokens_test." + std::to_string(getpid());
    std::filesystem::create_directories(dir_);
    store_ = Open();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<Store> Open() {
    auto store = OpenSqliteStore(dir_ + "/state.db");
    EXPECT_TRUE(store.ok()) << store.status().message();
    return std::move(store).value();
  }
  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(JoinTokensTest, ATokenIsGoodOnceAndOnlyBeforeItExpires) {
  JoinTokens tokens(*store_);
  Result<IssuedJoinToken> t = tokens.Issue(60, "root", 1000);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->id.size(), 6u);
  EXPECT_EQ(t->secret.size(), 16u);
  EXPECT_EQ(t->expires_at, 1060);
  for (char c : t->id + t->secret) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)));

  Status wrong = tokens.Redeem(t->id, "0000000000000000", "n1", 1001);
  EXPECT_EQ(wrong.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(wrong.message().find("knows no such token"), std::string::npos) << wrong.message();
  EXPECT_EQ(tokens.Redeem("zzzzzz", t->secret, "n1", 1001).code(), StatusCode::kPermissionDenied);

  EXPECT_TRUE(tokens.Redeem(t->id, t->secret, "n1", 1001).ok());
  Status again = tokens.Redeem(t->id, t->secret, "n2", 1002);
  EXPECT_EQ(again.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(again.message().find("already used"), std::string::npos) << again.message();

  Result<IssuedJoinToken> late = tokens.Issue(1, "root", 2000);
  ASSERT_TRUE(late.ok());
  Status expired = tokens.Redeem(late->id, late->secret, "n3", 2001);
  EXPECT_EQ(expired.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(expired.message().find("expired"), std::string::npos) << expired.message();

  EXPECT_EQ(tokens.Issue(0, "root", 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tokens.Issue(kMaxJoinTokenLifespan + 1, "root", 1).status().code(),
            StatusCode::kInvalidArgument);
}

// The store keeps which tokens were used: a restarted controller refuses them still.
TEST_F(JoinTokensTest, UseSurvivesARestart) {
  IssuedJoinToken used, unused;
  {
    JoinTokens tokens(*store_);
    used = tokens.Issue(600, "root", 1000).value();
    unused = tokens.Issue(600, "root", 1000).value();
    ASSERT_TRUE(tokens.Redeem(used.id, used.secret, "n1", 1001).ok());
  }
  store_.reset();
  store_ = Open();
  JoinTokens tokens(*store_);
  EXPECT_NE(tokens.Redeem(used.id, used.secret, "n1", 1002).message().find("already used"),
            std::string::npos);
  EXPECT_TRUE(tokens.Redeem(unused.id, unused.secret, "n2", 1002).ok());
}

// A revoked token is refused with its own message, even after a restart; the list never shows a
// secret, and revoking checks what it is given.
TEST_F(JoinTokensTest, ARevokedTokenIsRefusedAndListed) {
  IssuedJoinToken a, b, used;
  {
    JoinTokens tokens(*store_);
    a = tokens.Issue(600, "root", 1000).value();
    b = tokens.Issue(60, "alice", 1001).value();
    used = tokens.Issue(600, "root", 1002).value();
    ASSERT_TRUE(tokens.Redeem(used.id, used.secret, "n9", 1003).ok());
    ASSERT_TRUE(tokens.Revoke(a.id, "root", 1010).ok());

    EXPECT_EQ(tokens.Revoke("ABC!!!", "root", 1011).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(tokens.Revoke("zzzzzz", "root", 1011).code(), StatusCode::kNotFound);
    Status twice = tokens.Revoke(a.id, "root", 1011);
    EXPECT_EQ(twice.code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(twice.message().find("already revoked"), std::string::npos) << twice.message();
    Status spent = tokens.Revoke(used.id, "root", 1011);
    EXPECT_EQ(spent.code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(spent.message().find("already used by node n9"), std::string::npos)
        << spent.message();
  }
  store_.reset();
  store_ = Open();
  JoinTokens tokens(*store_);
  Status refused = tokens.Redeem(a.id, a.secret, "n1", 1020);
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.message().find("join token " + a.id + " was revoked"), std::string::npos)
      << refused.message();
  // A wrong secret still reads as unknown: revocation reveals nothing to a guesser.
  EXPECT_NE(tokens.Redeem(a.id, "0000000000000000", "n1", 1020).message().find("no such token"),
            std::string::npos);

  Result<std::vector<JoinTokenInfo>> list = tokens.List();
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].id, a.id);
  EXPECT_EQ((*list)[0].revoked_at, 1010);
  EXPECT_EQ((*list)[0].revoked_by, "root");
  EXPECT_EQ((*list)[1].id, b.id);
  EXPECT_EQ((*list)[1].issued_by, "alice");
  EXPECT_EQ((*list)[1].created_at, 1001);
  EXPECT_EQ((*list)[1].expires_at, 1061);
  EXPECT_EQ((*list)[1].used_at, 0);
  EXPECT_EQ((*list)[1].revoked_at, 0);
  EXPECT_EQ((*list)[2].used_by, "n9");
  EXPECT_TRUE(tokens.Redeem(b.id, b.secret, "n2", 1021).ok());
}

}  // namespace
}  // namespace shoal
