#include "controller/authz.h"

#include <gtest/gtest.h>

#include "controller/rate_limiter.h"

namespace shoal {
namespace {

Caller User(uint32_t uid, AdminLevel level = AdminLevel::kNone) {
  Caller c;
  c.how = Caller::How::kToken;
  c.uid = uid;
  c.gid = uid;
  c.user = "u" + std::to_string(uid);
  c.level = level;
  return c;
}

TEST(Authz, OwnerOrOperatorChangesAJob) {
  EXPECT_TRUE(MayChangeJob(User(1000), 1000));
  EXPECT_FALSE(MayChangeJob(User(1000), 1001));
  EXPECT_FALSE(MayChangeJob(User(1000), 0));
  EXPECT_TRUE(MayChangeJob(User(1000, AdminLevel::kOperator), 1001));
  EXPECT_TRUE(MayChangeJob(User(1000, AdminLevel::kAdministrator), 0));
  EXPECT_TRUE(MayChangeJob(Caller::Root(), 1001));
}

TEST(Authz, AnonymousChangesNothingAndOwnsNothing) {
  Caller anon;
  EXPECT_TRUE(anon.anonymous());
  EXPECT_FALSE(MayChangeJob(anon, Caller::kNoUid));
  EXPECT_FALSE(MayChangeJob(anon, 0));
  // Even a level set by mistake gives an anonymous caller nothing.
  anon.level = AdminLevel::kAdministrator;
  EXPECT_FALSE(IsOperator(anon));
  EXPECT_FALSE(MayChangeCluster(anon));
  EXPECT_FALSE(MayIssueTokenFor(anon, Caller::kNoUid));
  EXPECT_FALSE(MayChangeJobAs(JobRequesterUid(anon), 1000));
}

TEST(Authz, ClusterChangesAreForOperators) {
  EXPECT_FALSE(MayChangeCluster(User(1000)));
  EXPECT_TRUE(MayChangeCluster(User(1000, AdminLevel::kOperator)));
  EXPECT_TRUE(MayChangeCluster(Caller::Root()));
}

TEST(Authz, AccountingChangesNeedOperatorAndAdministratorToGrant) {
  EXPECT_FALSE(MayChangeAccounting(AdminLevel::kNone, false));
  EXPECT_TRUE(MayChangeAccounting(AdminLevel::kOperator, false));
  EXPECT_FALSE(MayChangeAccounting(AdminLevel::kOperator, true));
  EXPECT_TRUE(MayChangeAccounting(AdminLevel::kAdministrator, true));
}

TEST(Authz, PrivateJobsShowOnlyOwnToUsers) {
  EXPECT_TRUE(MaySeeJob(User(1000), 0, false));
  EXPECT_TRUE(MaySeeJob(Caller(), 0, false));
  EXPECT_FALSE(MaySeeJob(User(1000), 0, true));
  EXPECT_TRUE(MaySeeJob(User(1000), 1000, true));
  EXPECT_TRUE(MaySeeJob(User(1000, AdminLevel::kOperator), 0, true));
  EXPECT_FALSE(MaySeeJob(Caller(), Caller::kNoUid, true));
}

TEST(Authz, TokensForOthersAreForAdministrators) {
  EXPECT_TRUE(MayIssueTokenFor(User(1000), 1000));
  EXPECT_FALSE(MayIssueTokenFor(User(1000), 1001));
  EXPECT_FALSE(MayIssueTokenFor(User(1000, AdminLevel::kOperator), 1001));
  EXPECT_TRUE(MayIssueTokenFor(User(1000, AdminLevel::kAdministrator), 1001));
  EXPECT_TRUE(MayIssueTokenFor(Caller::Root(), 65534));
}

TEST(Authz, JobRequesterEncodesTheSameRule) {
  EXPECT_EQ(JobRequesterUid(Caller::Root()), 0u);
  EXPECT_EQ(JobRequesterUid(User(1000)), 1000u);
  EXPECT_TRUE(MayChangeJobAs(JobRequesterUid(User(1000)), 1000));
  EXPECT_FALSE(MayChangeJobAs(JobRequesterUid(User(1000)), 1001));
  EXPECT_TRUE(MayChangeJobAs(JobRequesterUid(User(1000, AdminLevel::kOperator)), 1001));
}

TEST(RateLimiter, BurstThenRefillPerKey) {
  RateLimiter limiter(10, 3);
  auto t = RateLimiter::Clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Take("a", t), 0);
  double wait = limiter.Take("a", t);
  EXPECT_GT(wait, 0);
  EXPECT_LE(wait, 0.1 + 1e-9);
  // Another caller is untouched by the first one's flood.
  EXPECT_EQ(limiter.Take("b", t), 0);
  // A tenth of a second later, one more for "a".
  EXPECT_EQ(limiter.Take("a", t + std::chrono::milliseconds(100)), 0);
  EXPECT_GT(limiter.Take("a", t + std::chrono::milliseconds(100)), 0);
}

TEST(RateLimiter, ZeroIsOffAndIdleKeysAreForgotten) {
  RateLimiter off(0, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(off.Take("x"), 0);
  RateLimiter limiter(100, 10);
  auto t = RateLimiter::Clock::now();
  for (int i = 0; i < 50; ++i) limiter.Take("k" + std::to_string(i), t);
  EXPECT_EQ(limiter.keys(), 50u);
  limiter.Take("late", t + std::chrono::seconds(11));
  EXPECT_EQ(limiter.keys(), 1u);
}

}  // namespace
}  // namespace shoal
