#include "core/accounting.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

using Verb = AccountingChange::Verb;
using Entity = AccountingChange::Entity;

AccountingChange Change(Verb verb, Entity entity, std::vector<std::string> names,
                        std::vector<std::pair<std::string, std::string>> settings = {},
                        std::vector<std::pair<std::string, std::string>> conditions = {}) {
  AccountingChange c;
  c.verb = verb;
  c.entity = entity;
  c.names = std::move(names);
  c.settings = std::move(settings);
  c.conditions = std::move(conditions);
  return c;
}

Status Apply(AccountingDb& db, const AccountingChange& c, const std::vector<ActiveJob>& jobs = {}) {
  auto r = ApplyAccountingChange(db, c, jobs);
  return r.ok() ? Status::Ok() : r.status();
}

TEST(TresTest, ParsesFormatsAndClears) {
  Tres t;
  ASSERT_TRUE(ParseTres("CPU=8,mem=10G,gres/gpu=2,node=3", t).ok());
  EXPECT_EQ(t.cpu, 8);
  EXPECT_EQ(t.mem_mb, 10240);
  EXPECT_EQ(t.gpu, 2);
  EXPECT_EQ(FormatTres(t), "cpu=8,mem=10G,node=3,gres/gpu=2");
  ASSERT_TRUE(ParseTres("node=-1,gpu=4", t).ok());
  EXPECT_EQ(FormatTres(t), "cpu=8,mem=10G,gres/gpu=4");
  // A bad item changes nothing and is named.
  Status s = ParseTres("cpu=1,foo=3", t);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("foo"), std::string::npos);
  EXPECT_EQ(t.cpu, 8);
  EXPECT_FALSE(ParseTres("cpu=x", t).ok());
  EXPECT_FALSE(ParseTres("cpu", t).ok());
  EXPECT_FALSE(ParseTres("mem=1.5G", t).ok());
  EXPECT_EQ(FormatTres(Tres{}), "");
}

TEST(TresTest, OverLimitNamesTheFirstResource) {
  Tres limit;
  limit.cpu = 8;
  limit.gpu = 2;
  Tres used;
  used.cpu = 6;
  used.gpu = 1;
  Tres add;
  add.cpu = 2;
  add.gpu = 1;
  EXPECT_EQ(TresOverLimit(limit, used, add), "");
  add.gpu = 2;
  EXPECT_EQ(TresOverLimit(limit, used, add), "gres/gpu");
  add.cpu = 3;
  EXPECT_EQ(TresOverLimit(limit, used, add), "cpu");
}

TEST(AccountingTest, InitialHasRootAndNormal) {
  AccountingDb db = AccountingDb::Initial();
  ASSERT_NE(db.FindAccount("root"), nullptr);
  ASSERT_NE(db.FindUser("root"), nullptr);
  EXPECT_EQ(db.FindUser("root")->admin, AdminLevel::kAdministrator);
  EXPECT_NE(db.FindAssoc("root", "root"), nullptr);
  EXPECT_NE(FindQos(db.qos, "normal"), nullptr);
}

TEST(AccountingTest, AddsAccountsUnderParentsWithSettings) {
  AccountingDb db = AccountingDb::Initial();
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"Physics"},
                               {{"Description", "Physics dept"}, {"Organization", "science"}}))
                  .ok());
  auto r = ApplyAccountingChange(
      db,
      Change(Verb::kAdd, Entity::kAccount, {"theory"},
             {{"parent", "physics"}, {"fairshare", "5"}, {"GrpTRES", "cpu=8"}, {"MaxJobs", "3"}}),
      {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->items, std::vector<std::string>{"theory"});
  const Account* physics = db.FindAccount("physics");
  ASSERT_NE(physics, nullptr);
  EXPECT_EQ(physics->description, "Physics dept");
  EXPECT_EQ(physics->parent, "root");
  const Account* theory = db.FindAccount("theory");
  EXPECT_EQ(theory->parent, "physics");
  EXPECT_EQ(theory->organization, "physics");  // Slurm's default: the parent
  const Association* a = db.FindAssoc("theory", "");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->shares, 5u);
  EXPECT_EQ(a->limits.grp_tres.cpu, 8);
  EXPECT_EQ(a->limits.max_jobs, 3);
  EXPECT_EQ(db.Ancestors("theory"), (std::vector<std::string>{"physics", "root"}));
}

TEST(AccountingTest, BadAccountRequestsChangeNothing) {
  AccountingDb db = AccountingDb::Initial();
  const size_t accounts = db.accounts.size();
  EXPECT_EQ(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"a"}, {{"parent", "nosuch"}}))
                .message(),
            "Parent Account nosuch doesn't exist.");
  EXPECT_FALSE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"a"}, {{"GrpTRES", "foo=3"}})).ok());
  EXPECT_FALSE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"a"}, {{"MaxWall", "abc"}})).ok());
  EXPECT_FALSE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"a"}, {{"Fairshare", "-3"}})).ok());
  EXPECT_FALSE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"a"}, {{"Colour", "red"}})).ok());
  EXPECT_FALSE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"a,b"})).ok());
  EXPECT_FALSE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {})).ok());
  EXPECT_EQ(db.accounts.size(), accounts);
  EXPECT_EQ(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"root"})).code(),
            StatusCode::kAlreadyExists);
}

TEST(AccountingTest, AddsUsersWithAssociationsAndDefaults) {
  AccountingDb db = AccountingDb::Initial();
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"physics", "chem"})).ok());
  EXPECT_EQ(Apply(db, Change(Verb::kAdd, Entity::kUser, {"carol"}, {{"account", "nosuch"}}))
                .code(),
            StatusCode::kNotFound);
  EXPECT_EQ(db.FindUser("carol"), nullptr);
  EXPECT_FALSE(Apply(db, Change(Verb::kAdd, Entity::kUser, {"dave"})).ok());
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kUser, {"alice"},
                               {{"Accounts", "physics,chem"}, {"DefaultAccount", "chem"},
                                {"MaxJobs", "2"}, {"AdminLevel", "Operator"}}))
                  .ok());
  const UserRecord* alice = db.FindUser("alice");
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(alice->default_account, "chem");
  EXPECT_EQ(alice->admin, AdminLevel::kOperator);
  ASSERT_NE(db.FindAssoc("physics", "alice"), nullptr);
  EXPECT_EQ(db.FindAssoc("physics", "alice")->limits.max_jobs, 2);
  // Adding again adds nothing.
  EXPECT_EQ(Apply(db, Change(Verb::kAdd, Entity::kUser, {"alice"}, {{"account", "physics"}}))
                .code(),
            StatusCode::kAlreadyExists);
}

TEST(AccountingTest, MaxLimitsInheritFromTheNearestAccount) {
  AccountingDb db = AccountingDb::Initial();
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"physics"},
                               {{"MaxWall", "2:00:00"}, {"MaxJobs", "5"}, {"GrpJobs", "7"}}))
                  .ok());
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"theory"},
                               {{"Parent", "physics"}, {"MaxJobs", "3"}}))
                  .ok());
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kUser, {"bob"}, {{"Account", "theory"}})).ok());
  AssocLimits l = db.EffectiveLimits(*db.FindAssoc("theory", "bob"));
  EXPECT_EQ(l.max_jobs, 3);
  EXPECT_EQ(l.max_wall_s, 7200);
  EXPECT_EQ(l.grp_jobs, kNoLimit);  // group limits bind the account's subtree, not copied
  // A later change above reaches users that set nothing themselves.
  ASSERT_TRUE(Apply(db, Change(Verb::kModify, Entity::kAccount, {"theory"}, {{"MaxJobs", "-1"}}))
                  .ok());
  EXPECT_EQ(db.EffectiveLimits(*db.FindAssoc("theory", "bob")).max_jobs, 5);
}

TEST(AccountingTest, ModifiesUsersAndTheirAssociations) {
  AccountingDb db = AccountingDb::Initial();
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"physics", "chem"})).ok());
  ASSERT_TRUE(
      Apply(db, Change(Verb::kAdd, Entity::kUser, {"alice"}, {{"Account", "physics,chem"}})).ok());
  auto r = ApplyAccountingChange(
      db, Change(Verb::kModify, Entity::kUser, {"alice"}, {{"MaxJobs", "4"}}, {{"Account", "chem"}}),
      {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->items, std::vector<std::string>{"A = chem U = alice"});
  EXPECT_EQ(db.FindAssoc("chem", "alice")->limits.max_jobs, 4);
  EXPECT_EQ(db.FindAssoc("physics", "alice")->limits.max_jobs, kNoLimit);
  ASSERT_TRUE(Apply(db, Change(Verb::kModify, Entity::kUser, {"alice"},
                               {{"DefaultAccount", "chem"}}))
                  .ok());
  EXPECT_EQ(db.FindUser("alice")->default_account, "chem");
  EXPECT_FALSE(
      Apply(db, Change(Verb::kModify, Entity::kUser, {"alice"}, {{"DefaultAccount", "root"}})).ok());
  EXPECT_EQ(Apply(db, Change(Verb::kModify, Entity::kUser, {"nosuch"}, {{"MaxJobs", "4"}})).message(),
            "Nothing modified");
}

TEST(AccountingTest, ReparentingRefusesCycles) {
  AccountingDb db = AccountingDb::Initial();
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"a"})).ok());
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"b"}, {{"Parent", "a"}})).ok());
  EXPECT_FALSE(Apply(db, Change(Verb::kModify, Entity::kAccount, {"a"}, {{"Parent", "b"}})).ok());
  EXPECT_FALSE(Apply(db, Change(Verb::kModify, Entity::kAccount, {"a"}, {{"Parent", "a"}})).ok());
  EXPECT_EQ(db.FindAccount("a")->parent, "root");
}

TEST(AccountingTest, DeletesSubtreesUnlessJobsAreActive) {
  AccountingDb db = AccountingDb::Initial();
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"physics"})).ok());
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"theory"}, {{"Parent", "physics"}}))
                  .ok());
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kUser, {"alice"}, {{"Account", "theory"}})).ok());
  const std::vector<ActiveJob> jobs = {{42, "theory", "alice", "normal", "batch"}};
  Status s = Apply(db, Change(Verb::kDelete, Entity::kAccount, {"physics"}), jobs);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("JobID = 42"), std::string::npos);
  EXPECT_NE(db.FindAccount("theory"), nullptr);
  ASSERT_TRUE(Apply(db, Change(Verb::kDelete, Entity::kAccount, {"physics"})).ok());
  EXPECT_EQ(db.FindAccount("theory"), nullptr);
  EXPECT_EQ(db.FindAssoc("theory", "alice"), nullptr);
  EXPECT_EQ(db.FindUser("alice")->default_account, "");
  EXPECT_FALSE(Apply(db, Change(Verb::kDelete, Entity::kAccount, {"root"})).ok());
  EXPECT_EQ(Apply(db, Change(Verb::kDelete, Entity::kAccount, {"nosuch"})).message(),
            "Nothing deleted");
}

TEST(AccountingTest, DeletesUsersOrOneAssociation) {
  AccountingDb db = AccountingDb::Initial();
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"physics", "chem"})).ok());
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kUser, {"alice"},
                               {{"Account", "physics,chem"}, {"DefaultAccount", "physics"}}))
                  .ok());
  // The default account goes last.
  EXPECT_FALSE(Apply(db, Change(Verb::kDelete, Entity::kUser, {"alice"}, {}, {{"Account", "physics"}}))
                   .ok());
  ASSERT_TRUE(
      Apply(db, Change(Verb::kDelete, Entity::kUser, {"alice"}, {}, {{"Account", "chem"}})).ok());
  EXPECT_EQ(db.FindAssoc("chem", "alice"), nullptr);
  EXPECT_NE(db.FindAssoc("physics", "alice"), nullptr);
  ASSERT_TRUE(Apply(db, Change(Verb::kDelete, Entity::kUser, {"alice"})).ok());
  EXPECT_EQ(db.FindUser("alice"), nullptr);
  EXPECT_EQ(db.FindAssoc("physics", "alice"), nullptr);
}

TEST(AccountingTest, ManagesQos) {
  AccountingDb db = AccountingDb::Initial();
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kQos, {"High"},
                               {{"Priority", "100"}, {"MaxWall", "01:00:00"},
                                {"MaxJobsPerUser", "2"}, {"GrpTRES", "cpu=4"},
                                {"MaxTRESPU", "gres/gpu=2"}, {"Preempt", "normal"}}))
                  .ok());
  const Qos* high = FindQos(db.qos, "high");
  ASSERT_NE(high, nullptr);
  EXPECT_EQ(high->priority, 100u);
  EXPECT_EQ(high->max_wall_s, 3600);
  EXPECT_EQ(high->max_jobs_per_user, 2u);
  EXPECT_EQ(high->grp_tres.cpu, 4);
  EXPECT_EQ(high->max_tres_per_user.gpu, 2);
  EXPECT_TRUE(high->MayPreempt("normal"));
  EXPECT_FALSE(Apply(db, Change(Verb::kAdd, Entity::kQos, {"x"}, {{"Preempt", "nosuch"}})).ok());
  EXPECT_EQ(FindQos(db.qos, "x"), nullptr);
  ASSERT_TRUE(Apply(db, Change(Verb::kModify, Entity::kQos, {"high"}, {{"MaxJobsPU", "-1"}})).ok());
  EXPECT_EQ(FindQos(db.qos, "high")->max_jobs_per_user, 0u);
  // An association may be limited to QOS that exist.
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"gpu"},
                               {{"QOS", "normal,high"}, {"DefaultQOS", "high"}}))
                  .ok());
  EXPECT_FALSE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"bad"}, {{"QOS", "nosuch"}})).ok());
  EXPECT_FALSE(Apply(db, Change(Verb::kDelete, Entity::kQos, {"high"}), {{1, "gpu", "u", "high", "batch"}})
                   .ok());
  ASSERT_TRUE(Apply(db, Change(Verb::kDelete, Entity::kQos, {"high"})).ok());
  EXPECT_EQ(db.FindAssoc("gpu", "")->qos, std::vector<std::string>{"normal"});
  EXPECT_EQ(db.FindAssoc("gpu", "")->default_qos, "");
  EXPECT_FALSE(Apply(db, Change(Verb::kDelete, Entity::kQos, {"normal"})).ok());
}

TEST(AccountingTest, ConfigDefinedEntitiesAreChangedInTheFile) {
  AccountingDb db = AccountingDb::Initial();
  db.qos.front().defined_in = "shoal.conf:3";
  Status s = Apply(db, Change(Verb::kModify, Entity::kQos, {"normal"}, {{"Priority", "5"}}));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("shoal.conf:3"), std::string::npos);
}

TEST(AccountingTest, PartitionAssociations) {
  AccountingDb db = AccountingDb::Initial();
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"physics"})).ok());
  // bob: only in partition "gpu" (case kept), with a limit of its own.
  auto r = ApplyAccountingChange(
      db,
      Change(Verb::kAdd, Entity::kUser, {"bob"},
             {{"Account", "physics"}, {"Partition", "GPU"}, {"MaxJobs", "2"}}),
      {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->items, (std::vector<std::string>{"A = physics U = bob P = GPU"}));
  ASSERT_NE(db.FindAssoc("physics", "bob", "GPU"), nullptr);
  EXPECT_EQ(db.FindAssoc("physics", "bob"), nullptr);
  EXPECT_EQ(db.FindAssoc("physics", "bob", "GPU")->limits.max_jobs, 2);
  EXPECT_EQ(db.FindUser("bob")->default_account, "physics");
  // alice: a partition-less association and one for "debug".
  ASSERT_TRUE(
      Apply(db, Change(Verb::kAdd, Entity::kUser, {"alice"}, {{"Account", "physics"}})).ok());
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kUser, {"alice"},
                               {{"Account", "physics"}, {"Partition", "debug"}}))
                  .ok());
  EXPECT_EQ(db.JobAssoc("physics", "alice", "debug"), db.FindAssoc("physics", "alice", "debug"));
  EXPECT_EQ(db.JobAssoc("physics", "alice", "batch"), db.FindAssoc("physics", "alice"));
  EXPECT_EQ(db.JobAssoc("physics", "bob", "batch"), nullptr);
  // Limits per partition association: modify where Partition=.
  ASSERT_TRUE(Apply(db, Change(Verb::kModify, Entity::kUser, {"alice"}, {{"MaxJobs", "7"}},
                               {{"Partition", "debug"}}))
                  .ok());
  EXPECT_EQ(db.FindAssoc("physics", "alice", "debug")->limits.max_jobs, 7);
  EXPECT_EQ(db.FindAssoc("physics", "alice")->limits.max_jobs, kNoLimit);
  // Enforcement: bob may run in GPU only.
  EnforceFlags assoc = *ParseEnforceFlags("associations");
  std::string account, qos;
  EXPECT_TRUE(ResolveJobAssociation(db, assoc, "bob", account, qos, "GPU").ok());
  EXPECT_EQ(account, "physics");
  account.clear();
  EXPECT_EQ(ResolveJobAssociation(db, assoc, "bob", account, qos, "batch").message(),
            "Invalid account or account/partition combination specified");
  account.clear();
  EXPECT_TRUE(ResolveJobAssociation(db, assoc, "alice", account, qos, "batch").ok());
  // DefaultAccount may name an account the user has only partition associations in.
  EXPECT_TRUE(
      Apply(db, Change(Verb::kModify, Entity::kUser, {"bob"}, {{"DefaultAccount", "physics"}}))
          .ok());
  EXPECT_FALSE(Apply(db, Change(Verb::kAdd, Entity::kUser, {"carol"},
                                {{"Account", "physics"}, {"Partition", "a b"}}))
                   .ok());
}

TEST(AccountingTest, DeletesOnePartitionAssociation) {
  AccountingDb db = AccountingDb::Initial();
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"physics", "chem"})).ok());
  ASSERT_TRUE(
      Apply(db, Change(Verb::kAdd, Entity::kUser, {"alice"}, {{"Account", "physics"}})).ok());
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kUser, {"alice"},
                               {{"Account", "physics"}, {"Partition", "gpu"}}))
                  .ok());
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kUser, {"bob"},
                               {{"Account", "chem"}, {"Partition", "gpu"}}))
                  .ok());
  // A running job in that partition and account keeps it; one elsewhere does not.
  const std::vector<ActiveJob> in_gpu = {{7, "physics", "alice", "normal", "gpu"}};
  const std::vector<ActiveJob> in_batch = {{8, "physics", "alice", "normal", "batch"}};
  auto where_gpu = Change(Verb::kDelete, Entity::kUser, {"alice"}, {}, {{"Partition", "gpu"}});
  Status s = Apply(db, where_gpu, in_gpu);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("JobID = 7"), std::string::npos);
  EXPECT_NE(db.FindAssoc("physics", "alice", "gpu"), nullptr);
  // Only the partition's association goes; the partition-less one in the same (default)
  // account stays, and so does the user.
  auto r = ApplyAccountingChange(db, where_gpu, in_batch);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->items, (std::vector<std::string>{"A = physics U = alice P = gpu"}));
  EXPECT_EQ(db.FindAssoc("physics", "alice", "gpu"), nullptr);
  EXPECT_NE(db.FindAssoc("physics", "alice"), nullptr);
  EXPECT_EQ(db.FindUser("alice")->default_account, "physics");
  EXPECT_EQ(Apply(db, where_gpu).message(), "Nothing deleted");
  // bob's only association: the user goes with it.
  ASSERT_TRUE(Apply(db, Change(Verb::kDelete, Entity::kUser, {"bob"}, {},
                               {{"Partition", "gpu"}, {"Account", "chem"}}))
                  .ok());
  EXPECT_EQ(db.FindUser("bob"), nullptr);
}

TEST(AccountingTest, ResolvesJobAssociationsUnderEnforcement) {
  AccountingDb db = AccountingDb::Initial();
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kQos, {"high"})).ok());
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kAccount, {"physics"})).ok());
  ASSERT_TRUE(Apply(db, Change(Verb::kAdd, Entity::kUser, {"alice"}, {{"Account", "physics"}})).ok());
  EnforceFlags none;
  EnforceFlags all = *ParseEnforceFlags("associations,limits,qos");
  std::string account, qos;
  ASSERT_TRUE(ResolveJobAssociation(db, all, "alice", account, qos).ok());
  EXPECT_EQ(account, "physics");
  EXPECT_EQ(qos, "normal");
  account = "chem";
  qos.clear();
  EXPECT_EQ(ResolveJobAssociation(db, all, "alice", account, qos).message(),
            "Invalid account or account/partition combination specified");
  account.clear();
  EXPECT_FALSE(ResolveJobAssociation(db, all, "mallory", account, qos).ok());
  // Without enforcement anything goes, and known users still get their default account.
  account = "chem";
  EXPECT_TRUE(ResolveJobAssociation(db, none, "alice", account, qos).ok());
  account.clear();
  EXPECT_TRUE(ResolveJobAssociation(db, none, "alice", account, qos).ok());
  EXPECT_EQ(account, "physics");
  // QOS: only those the association may use.
  account = "physics";
  qos = "high";
  EXPECT_EQ(ResolveJobAssociation(db, all, "alice", account, qos).message(),
            "Invalid qos specification");
  ASSERT_TRUE(
      Apply(db, Change(Verb::kModify, Entity::kAccount, {"physics"}, {{"QOS", "normal,high"}})).ok());
  EXPECT_TRUE(ResolveJobAssociation(db, all, "alice", account, qos).ok());
}

TEST(AccountingTest, EnforceFlags) {
  EXPECT_EQ(FormatEnforceFlags(*ParseEnforceFlags("limits")), "associations,limits");
  EXPECT_EQ(FormatEnforceFlags(*ParseEnforceFlags("")), "none");
  EXPECT_EQ(FormatEnforceFlags(*ParseEnforceFlags("qos,nojobs")), "associations,qos");
  EXPECT_FALSE(ParseEnforceFlags("bogus").ok());
}

}  // namespace
}  // namespace shoal
