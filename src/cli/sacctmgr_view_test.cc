#include "cli/sacctmgr_view.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

namespace shoal {
namespace {

using Verb = AccountingChange::Verb;
using Entity = AccountingChange::Entity;

SacctmgrRequest Words(std::vector<std::string> words) {
  auto r = ParseSacctmgrWords(words);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : SacctmgrRequest{};
}

AccountingDb Sample() {
  AccountingDb db = AccountingDb::Initial();
  auto apply = [&](std::vector<std::string> words) {
    SacctmgrRequest r = Words(std::move(words));
    auto report = ApplyAccountingChange(db, r.change, {});
    ASSERT_TRUE(report.ok()) << report.status().message();
  };
  apply({"add", "account", "physics", "Description=physics dept", "Organization=science"});
  apply({"add", "account", "theory", "parent=physics", "fairshare=5", "GrpTRES=cpu=8",
         "MaxJobs=3", "MaxWall=2:00:00"});
  apply({"add", "user", "alice", "account=physics"});
  apply({"add", "user", "alice", "account=theory"});
  apply({"add", "user", "bob", "account=theory", "AdminLevel=Operator", "MaxJobs=1"});
  apply({"add", "qos", "high", "Priority=100", "MaxWall=01:00:00", "MaxJobsPerUser=2",
         "GrpTRES=cpu=4"});
  return db;
}

TEST(SacctmgrWordsTest, AddModifyDeleteShow) {
  SacctmgrRequest add = Words({"create", "user", "alice,bob", "Account=physics", "MaxJobs=2"});
  EXPECT_FALSE(add.show);
  EXPECT_EQ(add.change.verb, Verb::kAdd);
  EXPECT_EQ(add.change.entity, Entity::kUser);
  EXPECT_EQ(add.change.names, (std::vector<std::string>{"alice", "bob"}));
  ASSERT_EQ(add.change.settings.size(), 2u);
  EXPECT_EQ(add.change.settings[0].first, "Account");

  SacctmgrRequest mod =
      Words({"modify", "user", "where", "name=alice", "account=physics", "set", "MaxJobs=4"});
  EXPECT_EQ(mod.change.verb, Verb::kModify);
  EXPECT_EQ(mod.change.conditions.size(), 2u);
  ASSERT_EQ(mod.change.settings.size(), 1u);
  EXPECT_EQ(mod.change.settings[0].second, "4");

  SacctmgrRequest del = Words({"remove", "user", "alice", "account=physics"});
  EXPECT_EQ(del.change.verb, Verb::kDelete);
  EXPECT_EQ(del.change.names, std::vector<std::string>{"alice"});
  EXPECT_EQ(del.change.conditions.size(), 1u);

  SacctmgrRequest show = Words({"list", "assoc", "tree", "where", "user=root",
                                "format=account,user%12"});
  EXPECT_TRUE(show.show);
  EXPECT_EQ(show.entity, SacctmgrEntity::kAssociation);
  EXPECT_TRUE(show.tree);
  EXPECT_EQ(show.format, (std::vector<std::string>{"account", "user%12"}));

  EXPECT_FALSE(ParseSacctmgrWords({"frob", "account", "x"}).ok());
  EXPECT_FALSE(ParseSacctmgrWords({"show", "frob"}).ok());
  EXPECT_FALSE(ParseSacctmgrWords({"modify", "user", "alice", "MaxJobs=4"}).ok());  // no set
  EXPECT_FALSE(ParseSacctmgrWords({"add", "account", "where", "name=x"}).ok());
  EXPECT_FALSE(ParseSacctmgrWords({"show"}).ok());
}

TEST(SacctmgrTableTest, DefaultListingsMatchSacctmgrsColumns) {
  AccountingDb db = Sample();
  TableStyle style;
  auto accounts = FormatSacctmgrTable(Words({"show", "account"}), db, "c1", style);
  ASSERT_TRUE(accounts.ok());
  EXPECT_EQ(*accounts,
            "   Account                Descr                  Org \n"
            "---------- -------------------- -------------------- \n"
            "   physics         physics dept              science \n"
            "      root default root account                 root \n"
            "    theory               theory              physics \n");
  auto users = FormatSacctmgrTable(Words({"show", "user"}), db, "c1", style);
  ASSERT_TRUE(users.ok());
  EXPECT_EQ(*users,
            "      User   Def Acct     Admin \n"
            "---------- ---------- --------- \n"
            "     alice    physics      None \n"
            "       bob     theory  Operator \n"
            "      root       root Administ+ \n");
}

TEST(SacctmgrTableTest, AssociationsInTreeOrderWithInheritedLimits) {
  AccountingDb db = Sample();
  TableStyle parsable;
  parsable.parsable_no_end = true;
  auto assoc = FormatSacctmgrTable(
      Words({"show", "assoc", "format=account,user,share,grptres,maxjobs,maxwall,qos"}), db, "c1",
      parsable);
  ASSERT_TRUE(assoc.ok()) << assoc.status().message();
  EXPECT_EQ(*assoc,
            "Account|User|Share|GrpTRES|MaxJobs|MaxWall|QOS\n"
            "root||1||||normal\n"
            "root|root|1||||normal\n"
            "physics||1||||normal\n"
            "physics|alice|1||||normal\n"
            "theory||5|cpu=8|3|02:00:00|normal\n"
            "theory|alice|1||3|02:00:00|normal\n"
            "theory|bob|1||1|02:00:00|normal\n");
  TableStyle plain;
  plain.header = false;
  auto tree = FormatSacctmgrTable(Words({"show", "assoc", "tree", "format=account,user"}), db,
                                  "c1", plain);
  ASSERT_TRUE(tree.ok());
  EXPECT_EQ(*tree,
            "root                            \n"
            " root                      root \n"
            " physics                        \n"
            "  physics                 alice \n"
            "  theory                        \n"
            "   theory                 alice \n"
            "   theory                   bob \n");
  auto bob = FormatSacctmgrTable(Words({"show", "assoc", "where", "user=bob", "format=account"}),
                                 db, "c1", parsable);
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(*bob, "Account\ntheory\n");
  EXPECT_FALSE(FormatSacctmgrTable(Words({"show", "assoc", "format=bogus"}), db, "c1", plain).ok());
  EXPECT_FALSE(FormatSacctmgrTable(Words({"show", "assoc", "colour=red"}), db, "c1", plain).ok());
}

TEST(SacctmgrTableTest, PartitionAssociationsShowTheirPartition) {
  AccountingDb db = Sample();
  auto added = ApplyAccountingChange(
      db, Words({"add", "user", "bob", "account=theory", "partition=gpu", "MaxJobs=4"}).change, {});
  ASSERT_TRUE(added.ok()) << added.status().message();
  TableStyle parsable;
  parsable.parsable_no_end = true;
  auto bob = FormatSacctmgrTable(
      Words({"show", "assoc", "where", "user=bob", "format=account,user,partition,maxjobs"}), db,
      "c1", parsable);
  ASSERT_TRUE(bob.ok()) << bob.status().message();
  EXPECT_EQ(*bob, "Account|User|Partition|MaxJobs\ntheory|bob||1\ntheory|bob|gpu|4\n");
  auto gpu = FormatSacctmgrTable(
      Words({"show", "assoc", "where", "partition=gpu", "format=user,partition"}), db, "c1",
      parsable);
  ASSERT_TRUE(gpu.ok()) << gpu.status().message();
  EXPECT_EQ(*gpu, "User|Partition\nbob|gpu\n");
}

TEST(SacctmgrTableTest, QosAndParsableEnds) {
  AccountingDb db = Sample();
  TableStyle p;
  p.parsable = true;
  auto qos = FormatSacctmgrTable(
      Words({"show", "qos", "format=name,priority,maxwall,maxjobspu,grptres"}), db, "c1", p);
  ASSERT_TRUE(qos.ok());
  EXPECT_EQ(*qos,
            "Name|Priority|MaxWall|MaxJobsPU|GrpTRES|\n"
            "normal|0||||\n"
            "high|100|01:00:00|2|cpu=4|\n");
  auto users = FormatSacctmgrTable(Words({"show", "user", "withassoc", "format=user,account"}), db,
                                   "c1", p);
  ASSERT_TRUE(users.ok());
  EXPECT_EQ(*users, "User|Account|\nalice|physics|\nalice|theory|\nbob|theory|\nroot|root|\n");
}

TEST(SacctmgrEventsTest, ListsNodeOutages) {
  setenv("TZ", "UTC", 1);
  tzset();
  const std::vector<NodeEventRow> events = {
      {"n1", "DOWN", "fan broke", 4, 1795168800, 1795168860},  // 2026-11-20T10:00:00Z
      {"n2", "DRAIN", "maint", 2, 1795168900, 0}};
  TableStyle parsable;
  parsable.parsable_no_end = true;
  auto all = FormatSacctmgrEvents(Words({"show", "event"}), events, "lab", parsable);
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(*all,
            "Cluster|NodeName|TimeStart|TimeEnd|State|Reason|User\n"
            "lab|n1|2026-11-20T10:00:00|2026-11-20T10:01:00|DOWN|fan broke|\n"
            "lab|n2|2026-11-20T10:01:40|Unknown|DRAIN|maint|\n");
  auto n1 = FormatSacctmgrEvents(
      Words({"show", "event", "where", "nodes=n1", "format=nodename,duration,cpus"}), events, "lab",
      parsable);
  ASSERT_TRUE(n1.ok()) << n1.status().message();
  EXPECT_EQ(*n1, "NodeName|Duration|CPUs\nn1|00:01:00|4\n");
  auto drain = FormatSacctmgrEvents(Words({"show", "event", "states=drain", "format=nodename"}),
                                    events, "lab", parsable);
  ASSERT_TRUE(drain.ok());
  EXPECT_EQ(*drain, "NodeName\nn2\n");
  EXPECT_FALSE(
      FormatSacctmgrEvents(Words({"show", "event", "colour=red"}), events, "lab", parsable).ok());
  EXPECT_FALSE(ParseSacctmgrWords({"add", "event", "x"}).ok());
}

TEST(SacctmgrDescribeTest, NamesWhatChanged) {
  SacctmgrRequest add = Words({"add", "qos", "high", "Priority=100"});
  EXPECT_EQ(DescribeChange(add.change, {"high"}),
            " Adding QOS(s)\n  high\n Settings\n  Priority = 100\n");
  SacctmgrRequest mod = Words({"modify", "user", "alice", "set", "MaxJobs=2"});
  EXPECT_EQ(DescribeChange(mod.change, {"A = physics U = alice"}),
            " Modified user associations...\n  A = physics U = alice\n Set\n  MaxJobs = 2\n");
}

}  // namespace
}  // namespace shoal
