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

}  // namespace
}  // namespace shoal
