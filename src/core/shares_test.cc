#include "core/shares.h"

#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

namespace shoal {
namespace {

TEST(SharesTest, NormalisesOverSiblingsAndSumsSubtreeUsage) {
  AccountingDb db = AccountingDb::Initial();
  auto apply = [&](AccountingChange::Entity e, std::string name,
                   std::vector<std::pair<std::string, std::string>> settings) {
    AccountingChange c;
    c.verb = AccountingChange::Verb::kAdd;
    c.entity = e;
    c.names = {std::move(name)};
    c.settings = std::move(settings);
    ASSERT_TRUE(ApplyAccountingChange(db, c, {}).ok());
  };
  using E = AccountingChange::Entity;
  apply(E::kAccount, "physics", {{"Fairshare", "3"}});
  apply(E::kUser, "alice", {{"Account", "physics"}, {"Fairshare", "1"}});
  apply(E::kUser, "bob", {{"Account", "physics"}, {"Fairshare", "3"}});
  UsageState usage;
  usage.usage[{"physics", "alice"}] = 30;
  usage.usage[{"physics", "bob"}] = 10;
  usage.usage[{"root", "root"}] = 60;
  std::map<UsageKey, double> factors = {{{"physics", "alice"}, 0.25}};
  std::vector<ShareRow> rows = ShareRows(db, usage, factors);
  ASSERT_EQ(rows.size(), 5u);
  // root (1) | root/root (1 share of 4) | physics (3 of 4) | alice (1 of 4 of physics) | bob
  EXPECT_EQ(rows[0].account, "root");
  EXPECT_DOUBLE_EQ(rows[0].norm_shares, 1.0);
  EXPECT_DOUBLE_EQ(rows[0].raw_usage, 100);
  EXPECT_EQ(rows[1].user, "root");
  EXPECT_DOUBLE_EQ(rows[1].norm_shares, 0.25);
  EXPECT_DOUBLE_EQ(rows[1].effective_usage, 0.6);
  EXPECT_EQ(rows[2].account, "physics");
  EXPECT_EQ(rows[2].user, "");
  EXPECT_EQ(rows[2].depth, 1);
  EXPECT_DOUBLE_EQ(rows[2].norm_shares, 0.75);
  EXPECT_DOUBLE_EQ(rows[2].raw_usage, 40);
  EXPECT_DOUBLE_EQ(rows[2].fairshare, -1);
  EXPECT_EQ(rows[3].user, "alice");
  EXPECT_EQ(rows[3].depth, 2);
  EXPECT_DOUBLE_EQ(rows[3].norm_shares, 0.75 / 4);
  EXPECT_DOUBLE_EQ(rows[3].fairshare, 0.25);
  EXPECT_EQ(rows[4].user, "bob");
  EXPECT_DOUBLE_EQ(rows[4].norm_shares, 0.75 * 3 / 4);
  EXPECT_DOUBLE_EQ(rows[4].fairshare, 1.0);  // no factor yet: 1
}

// physics (Fairshare 1) with alice and bob, chemistry (1) with carol; root's own user too.
AccountingDb TwoAccounts() {
  AccountingDb db = AccountingDb::Initial();
  using E = AccountingChange::Entity;
  for (auto [entity, name, account] :
       {std::tuple{E::kAccount, "physics", ""}, std::tuple{E::kAccount, "chemistry", ""},
        std::tuple{E::kUser, "alice", "physics"}, std::tuple{E::kUser, "bob", "physics"},
        std::tuple{E::kUser, "carol", "chemistry"}}) {
    AccountingChange c;
    c.verb = AccountingChange::Verb::kAdd;
    c.entity = entity;
    c.names = {name};
    if (*account) c.settings = {{"Account", account}};
    EXPECT_TRUE(ApplyAccountingChange(db, c, {}).ok()) << name;
  }
  return db;
}

TEST(FairShareTest, EveryoneGetsOneWithoutUsage) {
  auto f = FairShareFactors(TwoAccounts(), UsageState{}, {{"nowhere", "dave"}},
                            FairShareAlgorithm::kFairTree);
  EXPECT_EQ(f.size(), 5u);  // root, alice, bob, carol, and dave under root
  for (const auto& [key, factor] : f) EXPECT_DOUBLE_EQ(factor, 1.0) << key.user;
}

TEST(FairShareTest, FairTreeRanksUsersByLevelFairShareDepthFirst) {
  UsageState usage;
  usage.usage[{"physics", "alice"}] = 10;
  usage.usage[{"chemistry", "carol"}] = 100;
  auto f = FairShareFactors(TwoAccounts(), usage, {}, FairShareAlgorithm::kFairTree);
  // Root's level: root's user (no usage) first, physics (1/3 of the shares, 10/110 of the usage)
  // before chemistry (1/3, 100/110). In physics bob (no usage) before alice.
  ASSERT_EQ(f.size(), 4u);
  EXPECT_DOUBLE_EQ((f[{"root", "root"}]), 4.0 / 4);
  EXPECT_DOUBLE_EQ((f[{"physics", "bob"}]), 3.0 / 4);
  EXPECT_DOUBLE_EQ((f[{"physics", "alice"}]), 2.0 / 4);
  EXPECT_DOUBLE_EQ((f[{"chemistry", "carol"}]), 1.0 / 4);
}

TEST(FairShareTest, FairTreeGivesTiedUsersOneRank) {
  UsageState usage;
  usage.usage[{"chemistry", "carol"}] = 50;
  auto f = FairShareFactors(TwoAccounts(), usage, {}, FairShareAlgorithm::kFairTree);
  // root's user first; physics (no usage) next: alice and bob tie; carol last.
  EXPECT_DOUBLE_EQ((f[{"root", "root"}]), 1.0);
  EXPECT_DOUBLE_EQ((f[{"physics", "alice"}]), 3.0 / 4);
  EXPECT_DOUBLE_EQ((f[{"physics", "bob"}]), 3.0 / 4);
  EXPECT_DOUBLE_EQ((f[{"chemistry", "carol"}]), 1.0 / 4);
}

TEST(FairShareTest, ClassicUsesTheTreesNormalisedShares) {
  UsageState usage;
  usage.usage[{"physics", "alice"}] = 30;
  usage.usage[{"chemistry", "carol"}] = 10;
  auto f = FairShareFactors(TwoAccounts(), usage, {}, FairShareAlgorithm::kClassic);
  // Root's children: root's user, physics, chemistry, a third each; alice has half of physics.
  EXPECT_DOUBLE_EQ((f[{"physics", "alice"}]), std::exp2(-0.75 / (1.0 / 6)));
  EXPECT_DOUBLE_EQ((f[{"physics", "bob"}]), 1.0);
  EXPECT_DOUBLE_EQ((f[{"chemistry", "carol"}]), std::exp2(-0.25 / (1.0 / 3)));
}

TEST(FairShareTest, UnknownAssociationsShareAsUsersUnderTheirAccountOrRoot) {
  UsageState usage;
  usage.usage[{"physics", "eve"}] = 10;  // no association: one share in physics
  usage.usage[{"", "frank"}] = 10;       // no account at all: one share under root
  auto f = FairShareFactors(TwoAccounts(), usage, {}, FairShareAlgorithm::kClassic);
  // physics is a quarter of root (root's user, physics, chemistry, frank); eve a third of it.
  EXPECT_DOUBLE_EQ((f[{"physics", "eve"}]), std::exp2(-0.5 / (0.25 / 3)));
  EXPECT_DOUBLE_EQ((f[{"", "frank"}]), std::exp2(-0.5 / 0.25));
}

}  // namespace
}  // namespace shoal
