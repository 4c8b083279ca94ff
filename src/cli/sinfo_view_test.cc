#include "cli/sinfo_view.h"

#include <gtest/gtest.h>

#include "cli/test_fixtures.h"
#include "common/slurm_time.h"

namespace shoal {
namespace {

using testing::MakeNode;

// n1 mixed (8 of 16 CPUs), n2 drained with reason "maint work", n3 and n4 fully allocated:
// the cluster sinfo 22.05 was run on for the outputs below.
std::vector<Node> ReferenceNodes() {
  Node n2 = MakeNode("n2", 0);
  n2.drain = true;
  n2.reason = "maint work";
  n2.reason_time = testing::kSubmit + 74;  // 2026-11-25T17:08:55
  return {MakeNode("n1", 8), n2, MakeNode("n3", 16), MakeNode("n4", 16)};
}

class SinfoViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::UseUtc();
    nodes_ = ReferenceNodes();
    partitions_ = testing::ReferencePartitions();
  }

  std::string Render(const char* format, SinfoMode mode, bool header = true) {
    std::vector<FieldSpec> fields = ParseSinfoFormat(format, false, nullptr);
    if (mode == SinfoMode::kNode) SizeNodeNameField(&fields, nodes_);
    return RenderSinfo(fields, BuildSinfoLines(fields, partitions_, nodes_, mode), header);
  }

  std::vector<Node> nodes_;
  std::vector<Partition> partitions_;
};

TEST_F(SinfoViewTest, DefaultMatchesSlurm) {
  EXPECT_EQ(Render(kSinfoDefaultFormat, SinfoMode::kPartition),
            "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n"
            "debug*       up   infinite      1  drain n2\n"
            "debug*       up   infinite      1    mix n1\n"
            "debug*       up   infinite      2  alloc n[3-4]\n"
            "long         up 2-00:00:00      2  alloc n[3-4]\n");
}

TEST_F(SinfoViewTest, IdleClusterMatchesSlurm) {
  nodes_ = {MakeNode("n1", 0), MakeNode("n2", 0), MakeNode("n3", 0), MakeNode("n4", 0)};
  partitions_.resize(1);
  EXPECT_EQ(Render(kSinfoDefaultFormat, SinfoMode::kPartition),
            "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n"
            "debug*       up   infinite      4   idle n[1-4]\n");
}

TEST_F(SinfoViewTest, LongMatchesSlurm) {
  EXPECT_EQ(
      Render(kSinfoLongFormat, SinfoMode::kPartition),
      "PARTITION AVAIL  TIMELIMIT   JOB_SIZE ROOT OVERSUBS     GROUPS  NODES       STATE NODELIST\n"
      "debug*       up   infinite 1-infinite   no       NO        all      1     drained n2\n"
      "debug*       up   infinite 1-infinite   no       NO        all      1       mixed n1\n"
      "debug*       up   infinite 1-infinite   no       NO        all      2   allocated n[3-4]\n"
      "long         up 2-00:00:00 1-infinite   no       NO        all      2   allocated n[3-4]\n");
}

TEST_F(SinfoViewTest, SummarizeMatchesSlurm) {
  EXPECT_EQ(Render(kSinfoSummarizeFormat, SinfoMode::kSummarize),
            "PARTITION AVAIL  TIMELIMIT   NODES(A/I/O/T) NODELIST\n"
            "debug*       up   infinite          3/0/1/4 n[1-4]\n"
            "long         up 2-00:00:00          2/0/0/2 n[3-4]\n");
}

TEST_F(SinfoViewTest, NodeOrientedMatchesSlurm) {
  EXPECT_EQ(Render(kSinfoNodeFormat, SinfoMode::kNode),
            "NODELIST   NODES PARTITION STATE \n"
            "n1             1    debug* mix   \n"
            "n2             1    debug* drain \n"
            "n3             1    debug* alloc \n"
            "n3             1      long alloc \n"
            "n4             1    debug* alloc \n"
            "n4             1      long alloc \n");
  EXPECT_EQ(Render(kSinfoNodeLongFormat, SinfoMode::kNode),
            "NODELIST   NODES PARTITION       STATE CPUS    S:C:T MEMORY TMP_DISK WEIGHT AVAIL_FE "
            "REASON              \n"
            "n1             1    debug*       mixed 16     16:1:1   4000        0      1   (null) "
            "none                \n"
            "n2             1    debug*     drained 16     16:1:1   4000        0      1   (null) "
            "maint work          \n"
            "n3             1    debug*   allocated 16     16:1:1   4000        0      1   (null) "
            "none                \n"
            "n3             1      long   allocated 16     16:1:1   4000        0      1   (null) "
            "none                \n"
            "n4             1    debug*   allocated 16     16:1:1   4000        0      1   (null) "
            "none                \n"
            "n4             1      long   allocated 16     16:1:1   4000        0      1   (null) "
            "none                \n");
}

TEST_F(SinfoViewTest, ReasonsList) {
  // Slurm prints the user who set the reason ("root"); shoal does not record it.
  EXPECT_EQ(Render(kSinfoReasonFormat, SinfoMode::kReasons),
            "REASON               USER      TIMESTAMP           NODELIST\n"
            "maint work           Unknown   2026-11-25T17:08:55 n2\n");
}

TEST_F(SinfoViewTest, ManyCodesMatchSlurm) {
  std::string out =
      Render("%P|%a|%l|%D|%t|%T|%N|%c|%m|%G|%f|%R|%E|%H|%C|%A|%F|%L|%s|%z|%h|%g|%r|%w|%b",
             SinfoMode::kPartition);
  EXPECT_NE(out.find("PARTITION|AVAIL|TIMELIMIT|NODES|STATE|STATE|NODELIST|CPUS|MEMORY|GRES|"
                     "AVAIL_FEATURES|PARTITION|REASON|TIMESTAMP|CPUS(A/I/O/T)|NODES(A/I)|"
                     "NODES(A/I/O/T)|DEFAULTTIME|JOB_SIZE|S:C:T|OVERSUBSCRIBE|GROUPS|ROOT|WEIGHT|"
                     "ACTIVE_FEATURES\n"),
            std::string::npos);
  EXPECT_NE(out.find("debug*|up|infinite|1|drain|drained|n2|16|4000|(null)|(null)|debug|"
                     "maint work|2026-11-25T17:08:55|0/0/16/16|0/0|0/0/1/1|n/a|1-infinite|16:1:1|"
                     "NO|all|no|1|(null)\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("debug*|up|infinite|1|mix|mixed|n1|16|4000|(null)|(null)|debug|none|"
                     "Unknown|8/8/0/16|1/0|1/0/0/1|n/a|1-infinite|16:1:1|NO|all|no|1|(null)\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("long|up|2-00:00:00|2|alloc|allocated|n[3-4]|16|4000|(null)|(null)|long|"
                     "none|Unknown|32/0/0/32|2/0|2/0/0/2|1:00:00|1-infinite|16:1:1|NO|all|no|1|"
                     "(null)\n"),
            std::string::npos)
      << out;
}

// Without a node field in the format all nodes of a partition share its line.
TEST_F(SinfoViewTest, DefaultMarkSurvivesTruncation) {
  EXPECT_EQ(Render("%10P|%.3P|%5D|", SinfoMode::kPartition),
            "PARTITION |PAR|NODES|\n"
            "debug*    |de*|4    |\n"
            "long      |lon|2    |\n");
}

// sinfo -n n1: partitions left without nodes still get a line.
TEST_F(SinfoViewTest, EmptyPartitionLineMatchesSlurm) {
  nodes_ = {MakeNode("n1", 0)};
  EXPECT_EQ(Render(kSinfoDefaultFormat, SinfoMode::kPartition),
            "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n"
            "debug*       up   infinite      1   idle n1\n"
            "long         up 2-00:00:00      0    n/a \n");
  EXPECT_EQ(Render(kSinfoSummarizeFormat, SinfoMode::kSummarize),
            "PARTITION AVAIL  TIMELIMIT   NODES(A/I/O/T) NODELIST\n"
            "debug*       up   infinite          0/1/0/1 n1\n"
            "long         up 2-00:00:00          0/0/0/0 \n");
  EXPECT_EQ(Render(kSinfoNodeFormat, SinfoMode::kNode),
            "NODELIST   NODES PARTITION STATE \n"
            "n1             1    debug* idle  \n");
}

TEST_F(SinfoViewTest, StateNames) {
  EXPECT_TRUE(SinfoStateNameValid("ALLOC"));
  EXPECT_TRUE(SinfoStateNameValid("al"));
  EXPECT_TRUE(SinfoStateNameValid("mix"));
  EXPECT_FALSE(SinfoStateNameValid("resp"));
  EXPECT_FALSE(SinfoStateNameValid("foo"));
}

TEST_F(SinfoViewTest, StateFilter) {
  EXPECT_TRUE(SinfoStateMatches(nodes_[0], "mix"));
  EXPECT_TRUE(SinfoStateMatches(nodes_[1], "drain"));
  EXPECT_FALSE(SinfoStateMatches(nodes_[1], "idle"));
  EXPECT_TRUE(SinfoStateMatches(nodes_[2], "ALLOC"));
}

TEST(SinfoReservationsTest, ListsAsSlurm) {
  const int64_t now = testing::kSubmit;
  Reservation a;
  a.name = "maint";
  a.nodes = {"n1", "n2"};
  a.start_time = now - 60;
  a.end_time = now + 3540;
  Reservation b;
  b.name = "a_long_reservation";
  b.nodes = {"n3"};
  b.start_time = now + 86400;
  b.end_time = now + 2 * 86400 + 3600;
  const std::string out = RenderSinfoReservations({a, b}, true, now);
  const std::string pad(18 - 9, ' ');
  EXPECT_EQ(out, "RESV_NAME" + pad +
                     "     STATE           START_TIME             END_TIME     DURATION  NODELIST\n"
                     "maint" +
                     std::string(13, ' ') + "    ACTIVE  " + FormatTimestamp(a.start_time) + "  " +
                     FormatTimestamp(a.end_time) +
                     "     01:00:00  n[1-2]\n"
                     "a_long_reservation  INACTIVE  " +
                     FormatTimestamp(b.start_time) + "  " + FormatTimestamp(b.end_time) +
                     "   1-01:00:00  n3\n");
  // Without -h's header, and with none at all.
  EXPECT_EQ(
      RenderSinfoReservations({a}, false, now).rfind("maint" + std::string(8, ' ') + "ACTIVE  ", 0),
      0u);
  EXPECT_EQ(RenderSinfoReservations({}, true, now), "No reservations in the system\n");
}

}  // namespace
}  // namespace shoal
