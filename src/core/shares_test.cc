#include "core/shares.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace shoal
