#include "core/reservation.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace shoal {
namespace {

constexpr int64_t kNow = 1'800'000'000;

// A reservation (designated initializers would leave members unnamed).
Reservation MakeResv(std::string name, std::vector<std::string> nodes, int64_t start, int64_t end,
                     uint32_t flags = 0, std::vector<std::string> users = {"root"}) {
  Reservation r;
  r.name = std::move(name);
  r.nodes = std::move(nodes);
  r.start_time = start;
  r.end_time = end;
  r.flags = flags;
  r.users = std::move(users);
  return r;
}

std::vector<Node> Nodes(int n) {
  std::vector<Node> nodes;
  for (int i = 1; i <= n; ++i) {
    Node node;
    node.name = "node" + std::to_string(i);
    node.cpus = 4;
    node.memory_mb = 1000;
    node.responding = true;
    nodes.push_back(node);
  }
  return nodes;
}

Partition DebugPartition() {
  Partition p;
  p.name = "debug";
  p.all_nodes = true;
  return p;
}

class ReservationTest : public ::testing::Test {
 protected:
  Result<Reservation> Build(const std::vector<std::string>& words,
                            const Reservation* existing = nullptr) {
    auto req = ParseReservationRequest(words);
    if (!req.ok()) return req.status();
    ReservationEnv env;
    env.nodes = &nodes_;
    env.partitions = &partitions_;
    env.reservations = &existing_;
    env.busy_until = &busy_;
    env.now = kNow;
    return BuildReservation(*req, existing, env);
  }

  std::vector<Node> nodes_ = Nodes(4);
  std::vector<Partition> partitions_ = {DebugPartition()};
  std::vector<Reservation> existing_;
  std::map<std::string, int64_t> busy_;
};

TEST_F(ReservationTest, CreatesFromScontrolWords) {
  auto r = Build({"ReservationName=maint", "StartTime=now", "Duration=60", "Nodes=node[1-2]",
                  "Users=root,alice", "Flags=maint,ignore_jobs"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->name, "maint");
  EXPECT_EQ(r->start_time, kNow);
  EXPECT_EQ(r->end_time, kNow + 3600);
  EXPECT_EQ(r->nodes, (std::vector<std::string>{"node1", "node2"}));
  EXPECT_EQ(r->users, (std::vector<std::string>{"root", "alice"}));
  EXPECT_TRUE(r->Has(kResvMaint));
  EXPECT_TRUE(r->Has(kResvIgnoreJobs));
  EXPECT_EQ(ReservationFlagsText(r->flags), "MAINT,IGNORE_JOBS,SPEC_NODES");
  EXPECT_TRUE(r->Admits("alice", "x"));
  EXPECT_FALSE(r->Admits("bob", "x"));
}

TEST_F(ReservationTest, EndTimeAndRelativeStart) {
  auto r = Build(
      {"name=a", "starttime=now+1hour", "endtime=now+3hours", "nodecnt=1", "accounts=physics"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->start_time, kNow + 3600);
  EXPECT_EQ(r->end_time, kNow + 3 * 3600);
  EXPECT_TRUE(r->Admits("anyone", "physics"));
  EXPECT_FALSE(r->Admits("anyone", ""));
}

TEST_F(ReservationTest, RefusesBadInput) {
  auto msg = [&](const std::vector<std::string>& w) {
    auto r = Build(w);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  const std::vector<std::string> base = {"Name=r", "StartTime=now", "Duration=10", "Users=root"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> w = base;
    w.insert(w.end(), extra.begin(), extra.end());
    return w;
  };
  EXPECT_EQ(msg(with({"Nodes=node9"})), "Invalid node name specified (node9)");
  EXPECT_EQ(msg(with({"NodeCnt=0"})), "Invalid node count '0'");
  EXPECT_EQ(msg(with({"NodeCnt=abc"})), "Invalid node count 'abc'");
  EXPECT_NE(msg(with({"NodeCnt=5"})).find("Requested nodes are busy"), std::string::npos);
  EXPECT_EQ(msg(with({"Nodes=node1", "Flags=BOGUS"})), "Invalid flag 'BOGUS'");
  EXPECT_EQ(msg(with({"Nodes=node1", "Colour=red"})),
            "Invalid input: Colour=red (unknown keyword Colour)");
  EXPECT_EQ(msg({"Name=r", "StartTime=yesterdayish", "Duration=10", "Users=root", "Nodes=node1"}),
            "Invalid StartTime 'yesterdayish'");
  EXPECT_EQ(msg({"Name=r", "StartTime=now", "Duration=abc", "Users=root", "Nodes=node1"}),
            "Invalid Duration 'abc'");
  EXPECT_EQ(msg({"Name=r", "StartTime=now", "Users=root", "Nodes=node1"}),
            "Duration or EndTime must be specified");
  EXPECT_EQ(msg({"Name=r", "StartTime=now", "Duration=10", "Nodes=node1"}),
            "Either Users or Accounts must be specified");
  EXPECT_EQ(
      msg({"Name=r", "StartTime=now+2hours", "EndTime=now+1hour", "Users=root", "Nodes=node1"}),
      "EndTime must be after StartTime");
  EXPECT_EQ(msg(with({"Nodes=node1", "PartitionName=nope"})), "Invalid partition name specified");
}

TEST_F(ReservationTest, OverlapRefusedUnlessOverlapOrMaint) {
  auto a = Build({"Name=a", "StartTime=now", "Duration=60", "Nodes=node[1-2]", "Users=root"});
  ASSERT_TRUE(a.ok());
  existing_.push_back(*a);
  auto b = Build({"Name=b", "StartTime=now+30minutes", "Duration=60", "Nodes=node2", "Users=root"});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(),
            "Requested nodes are busy (reservation a holds node2 then; add Flags=OVERLAP to "
            "share it)");
  // After a's end, or on other nodes, or with OVERLAP: fine.
  EXPECT_TRUE(
      Build({"Name=b", "StartTime=now+1hour", "Duration=60", "Nodes=node2", "Users=root"}).ok());
  EXPECT_TRUE(Build({"Name=b", "StartTime=now", "Duration=60", "Nodes=node3", "Users=root"}).ok());
  EXPECT_TRUE(Build({"Name=b", "StartTime=now", "Duration=60", "Nodes=node2", "Users=root",
                     "Flags=OVERLAP"})
                  .ok());
  // A name is unique.
  auto dup = Build({"Name=a", "StartTime=now", "Duration=60", "Nodes=node4", "Users=root"});
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  // Others may overlap a MAINT reservation.
  existing_[0].flags |= kResvMaint;
  EXPECT_TRUE(Build({"Name=b", "StartTime=now", "Duration=60", "Nodes=node2", "Users=root"}).ok());
}

TEST_F(ReservationTest, NodeCntPicksIdleNodesOutsideOtherReservations) {
  busy_["node1"] = kNow + 60;    // ends before the window
  nodes_[2].responding = false;  // node3 down
  existing_.push_back(MakeResv("x", {"node4"}, kNow, kNow + 7200, 0, {"root"}));
  auto r = Build({"Name=r", "StartTime=now+5minutes", "Duration=10", "NodeCnt=1", "Users=root"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->nodes, (std::vector<std::string>{"node2"}));  // idle first
  auto two = Build({"Name=r", "StartTime=now+5minutes", "Duration=10", "NodeCnt=2", "Users=root"});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->nodes, (std::vector<std::string>{"node1", "node2"}));
  EXPECT_FALSE(Build({"Name=r", "StartTime=now", "Duration=10", "NodeCnt=2", "Users=root"}).ok());
}

TEST_F(ReservationTest, RunningJobsBlockUnlessIgnoreJobs) {
  busy_["node1"] = kNow + 600;
  auto r = Build({"Name=r", "StartTime=now", "Duration=10", "Nodes=node1", "Users=root"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("jobs on node1 run past StartTime"), std::string::npos);
  EXPECT_TRUE(
      Build({"Name=r", "StartTime=now+10minutes", "Duration=10", "Nodes=node1", "Users=root"})
          .ok());
  EXPECT_TRUE(Build({"Name=r", "StartTime=now", "Duration=10", "Nodes=node1", "Users=root",
                     "Flags=IGNORE_JOBS"})
                  .ok());
}

TEST_F(ReservationTest, UpdateChangesOnlyWhatIsGiven) {
  auto r = Build({"Name=r", "StartTime=now", "Duration=60", "Nodes=node1", "Users=root"});
  ASSERT_TRUE(r.ok());
  existing_.push_back(*r);
  auto u = Build({"ReservationName=r", "Duration=120", "Users=alice"}, &existing_[0]);
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->end_time, kNow + 7200);
  EXPECT_EQ(u->nodes, (std::vector<std::string>{"node1"}));
  EXPECT_EQ(u->users, (std::vector<std::string>{"alice"}));
  auto moved = Build({"StartTime=now+1hour"}, &existing_[0]);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->start_time, kNow + 3600);
  EXPECT_EQ(moved->end_time, kNow + 7200);  // keeps its duration
}

TEST_F(ReservationTest, PlusAndMinusEditFlagsUsersAndAccounts) {
  auto r = Build({"Name=r", "StartTime=now", "Duration=60", "Nodes=node1", "Users=root",
                  "Accounts=a1", "Flags=MAINT"});
  ASSERT_TRUE(r.ok());
  existing_.push_back(*r);
  auto u =
      Build({"Flags+=IGNORE_JOBS,OVERLAP", "Users+=alice,root", "Accounts-=a1", "Accounts+=a2"},
            &existing_[0]);
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(ReservationFlagsText(u->flags), "MAINT,IGNORE_JOBS,OVERLAP,SPEC_NODES");
  EXPECT_EQ(u->users, (std::vector<std::string>{"root", "alice"}));
  EXPECT_EQ(u->accounts, (std::vector<std::string>{"a2"}));
  existing_[0] = *u;
  auto v = Build({"Flags-=MAINT", "Users-=root"}, &existing_[0]);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(ReservationFlagsText(v->flags), "IGNORE_JOBS,OVERLAP,SPEC_NODES");
  EXPECT_EQ(v->users, (std::vector<std::string>{"alice"}));
  auto msg = [&](const std::vector<std::string>& w) {
    auto b = Build(w, &existing_[0]);
    return b.ok() ? std::string("ok") : b.status().message();
  };
  EXPECT_EQ(msg({"Users-=bob"}), "User bob is not in the reservation");
  EXPECT_EQ(msg({"Flags-=DAILY"}), "Flag DAILY is not set on the reservation");
  EXPECT_EQ(msg({"Flags+=BOGUS"}), "Invalid flag 'BOGUS'");
  EXPECT_EQ(msg({"Nodes+=node2"}), "Invalid input: Nodes+=node2 (Nodes= cannot add or remove)");
  EXPECT_EQ(msg({"Users=a", "Users+=b"}), "Give Key= or Key+=/Key-=, not both");
  // Emptying both lists is refused, as at create.
  EXPECT_EQ(msg({"Users-=root,alice", "Accounts-=a2"}),
            "Either Users or Accounts must be specified");
  auto create = Build({"Name=n", "StartTime=now", "Duration=60", "Nodes=node2", "Users+=root"});
  ASSERT_FALSE(create.ok());
  EXPECT_EQ(create.status().message(), "+= and -= are for updates only");
}

TEST_F(ReservationTest, PartitionNameChoosesTheNodes) {
  Partition small;
  small.name = "small";
  small.nodes = {"node3", "node4"};
  partitions_.push_back(small);
  // PartitionName alone: all of its nodes.
  auto all = Build({"Name=p", "StartTime=now", "Duration=60", "PartitionName=small", "Users=root"});
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(all->nodes, (std::vector<std::string>{"node3", "node4"}));
  EXPECT_EQ(all->partition, "small");
  // With NodeCnt: counted from the partition only.
  busy_["node3"] = kNow + 600;
  auto one = Build(
      {"Name=p", "StartTime=now", "Duration=60", "PartitionName=small", "NodeCnt=1", "Users=root"});
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(one->nodes, (std::vector<std::string>{"node4"}));
  EXPECT_FALSE(Build({"Name=p", "StartTime=now", "Duration=60", "PartitionName=small", "NodeCnt=2",
                      "Users=root"})
                   .ok());
  auto none = Build({"Name=p", "StartTime=now", "Duration=60", "Users=root"});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(), "Nodes, NodeCnt or PartitionName must be specified");
}

TEST_F(ReservationTest, DailyRollsForward) {
  Reservation r = MakeResv("d", {}, kNow - 7200, kNow - 3600, kResvDaily);
  EXPECT_TRUE(RollForward(r, kNow));
  EXPECT_EQ(r.start_time, kNow - 7200 + 86400);
  EXPECT_EQ(r.end_time, kNow - 3600 + 86400);
  EXPECT_FALSE(RollForward(r, kNow));
  Reservation w = MakeResv("", {}, kNow - 100, kNow, kResvWeekly);
  EXPECT_TRUE(RollForward(w, kNow + 8 * 86400));
  EXPECT_EQ(w.end_time, kNow + 14 * 86400);
  Reservation once = MakeResv("", {}, kNow - 100, kNow);
  EXPECT_FALSE(RollForward(once, kNow + 5));
}

TEST_F(ReservationTest, ShowsAsScontrol) {
  Reservation r = MakeResv("maint", {"node1", "node2"}, kNow, kNow + 3600,
                           kResvMaint | kResvSpecNodes, {"root"});
  const std::string text = FormatReservation(r, ReservedCpus(r, nodes_), kNow);
  EXPECT_NE(text.find("ReservationName=maint StartTime="), std::string::npos) << text;
  EXPECT_NE(text.find(" Duration=01:00:00\n"), std::string::npos) << text;
  EXPECT_NE(text.find("   Nodes=node[1-2] NodeCnt=2 CoreCnt=8 Features=(null) "
                      "PartitionName=(null) Flags=MAINT,SPEC_NODES\n   TRES=cpu=8\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Users=root Groups=(null) Accounts=(null) Licenses=(null) State=ACTIVE "
                      "BurstBuffer=(null) Watts=n/a\n   MaxStartDelay=(null)"),
            std::string::npos)
      << text;
  EXPECT_NE(FormatReservation(r, 8, kNow + 3600).find("State=INACTIVE"), std::string::npos);
}

}  // namespace
}  // namespace shoal
