// sprio's output against Slurm 22.05's, captured on a reference cluster of 2 nodes x 4 CPUs with
// PriorityWeightAge=1000, PriorityWeightFairshare=10000, PriorityWeightJobSize=1000,
// PriorityWeightPartition=1000, PriorityWeightQOS=10000, partitions debug (PriorityJobFactor 1)
// and big (10), a running job filling the nodes and these pending jobs:
//   14  sbatch                    15  sbatch -p big -N2          16  sbatch -c 3 --nice=100
//   17  sbatch -p debug,big -n 3  18  sbatch --nice=-5           19  sbatch --array=1-3
#include "cli/sprio_view.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace shoal {
namespace {

PriorityWeights RefWeights() {
  PriorityWeights w;
  w.age = 1000;
  w.fairshare = 10000;
  w.job_size = 1000;
  w.partition = 1000;
  w.qos = 10000;
  return w;
}

SprioRow Row(JobId id, const std::string& partition, uint32_t priority, double job_size,
             double partition_factor, int32_t nice = 0, double fairshare = 1.0, double age = 0.0) {
  SprioRow r;
  r.id = id;
  r.user = "root";
  r.partition = partition;
  r.priority = priority;
  r.factors.age = age;
  r.factors.fairshare = fairshare;
  r.factors.job_size = job_size;
  r.factors.partition = partition_factor;
  r.factors.nice = nice;
  return r;
}

// Job 17 asked for two partitions: Slurm lists it once per partition. (shoal jobs have one; the
// rows are what the controller would send for such jobs.)
std::vector<SprioRow> RefRows() {
  return {Row(14, "debug", 10412, 0.3125, 0.1),      Row(15, "big", 11625, 0.625, 1.0),
          Row(16, "debug", 10437, 0.4375, 0.1, 100), Row(17, "debug", 10537, 0.4375, 0.1),
          Row(17, "big", 11437, 0.4375, 1.0),        Row(18, "debug", 10417, 0.3125, 0.1, -5),
          Row(19, "debug", 10412, 0.3125, 0.1)};
}

std::string Render(bool long_list, bool normalized, bool with_user, bool header = true,
                   bool weights = false, std::vector<SprioRow> rows = RefRows()) {
  const PriorityWeights w = RefWeights();
  auto fields = ParseSprioFormat(SprioDefaultFormat(long_list, normalized, with_user, w), nullptr);
  return RenderSprio(fields, rows, w, header, weights);
}

TEST(SprioViewTest, DefaultMatchesSlurm) {
  EXPECT_EQ(Render(false, false, false),
            "          JOBID PARTITION   PRIORITY       SITE        AGE  FAIRSHARE    JOBSIZE  "
            "PARTITION        QOS\n"
            "             14 debug          10412          0          0      10000        312     "
            "   100          0\n"
            "             15 big            11625          0          0      10000        625     "
            "  1000          0\n"
            "             16 debug          10437          0          0      10000        438     "
            "   100          0\n"
            "             17 debug          10537          0          0      10000        438     "
            "   100          0\n"
            "             17 big            11437          0          0      10000        438     "
            "  1000          0\n"
            "             18 debug          10417          0          0      10000        312     "
            "   100          0\n"
            "             19 debug          10412          0          0      10000        312     "
            "   100          0\n");
}

TEST(SprioViewTest, LongMatchesSlurm) {
  std::string out = Render(true, false, false);
  EXPECT_EQ(out.substr(0, out.find('\n') + 1),
            "          JOBID PARTITION     USER   PRIORITY       SITE        AGE      ASSOC  "
            "FAIRSHARE    JOBSIZE  PARTITION        QOS        NICE                 TRES\n");
  EXPECT_NE(out.find("             16 debug         root      10437          0          0     "
                     "     0      10000        438        100          0         100            "
                     "         \n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("             18 debug         root      10417          0          0     "
                     "     0      10000        312        100          0          -5            "
                     "         \n"),
            std::string::npos)
      << out;
}

TEST(SprioViewTest, NormalizedMatchesSlurm) {
  EXPECT_EQ(Render(false, true, false, true, false, {RefRows()[0], RefRows()[1]}),
            "          JOBID PARTITION PRIORITY   AGE        FAIRSHARE  JOBSIZE    PARTITION  QOS "
            "      \n"
            "             14 debug     0.00000242 0.0000000  1.0000000  0.3125000  0.1000000  "
            "0.0000000 \n"
            "             15 big       0.00000270 0.0000000  1.0000000  0.6250000  1.0000000  "
            "0.0000000 \n");
  EXPECT_EQ(Render(true, true, false, true, false, {RefRows()[0]}),
            "          JOBID PARTITION     USER PRIORITY   AGE        ASSOC      FAIRSHARE  "
            "JOBSIZE    PARTITION  QOS        TRES                \n"
            "             14 debug         root 0.00000242 0.0000000  0.0000000  1.0000000  "
            "0.3125000  0.1000000  0.0000000                      \n");
}

TEST(SprioViewTest, WeightsMatchSlurm) {
  EXPECT_EQ(Render(false, false, false, true, true),
            "          JOBID PARTITION   PRIORITY       SITE        AGE  FAIRSHARE    JOBSIZE  "
            "PARTITION        QOS\n"
            "        Weights                               1       1000      10000       1000     "
            "  1000      10000\n");
  EXPECT_EQ(Render(true, false, false, false, true),
            "        Weights                                        1       1000          0      "
            "10000       1000       1000      10000                           (null)\n");
  EXPECT_EQ(Render(false, true, false, false, true),
            "        Weights                      1000       10000      1000       1000       "
            "10000     \n");
  EXPECT_EQ(Render(true, true, false, false, true),
            "        Weights                               1000       0          10000      1000 "
            "      1000       10000                          \n");
  // -u adds the user column.
  EXPECT_EQ(Render(false, false, true, false, true),
            "        Weights                                        1       1000      10000     "
            "  1000       1000      10000\n");
}

TEST(SprioViewTest, ColumnsFollowTheWeights) {
  PriorityWeights w;  // only age and QOS weighted
  w.age = 5;
  w.qos = 7;
  EXPECT_EQ(SprioDefaultFormat(false, false, false, w), "%.15i %9r %.10Y %.10S %.10A %.10Q");
  EXPECT_EQ(SprioDefaultFormat(false, true, true, w), "%.15i %9r %.8u %10y %10a %10q");
  EXPECT_EQ(SprioDefaultFormat(true, false, false, w),
            "%.15i %9r %.8u %.10Y %.10S %.10A %.10B %.10F %.10J %.10P %.10Q %.11N %.20T");
}

TEST(SprioViewTest, EveryLetterMatchesSlurm) {
  // sprio -j 16 -o "%.15i %.8u %a %A %b %B %y %Y %f %F %j %J %p %P %q %Q %N %S %t %T %c %r",
  // a little later (age and fair share had moved). %y is the weighted sum before truncation over
  // 2^32 - 1.
  SprioRow r = Row(16, "debug", 7104, 0.4375, 0.1, 100, 0.6666667, 0.0000810);
  r.factors.fairshare = 2.0 / 3;
  auto fields = ParseSprioFormat(
      "%.15i %.8u %a %A %b %B %y %Y %f %F %j %J %p %P %q %Q %N %S %t %T %c %r", nullptr);
  EXPECT_EQ(RenderSprio(fields, {r}, RefWeights(), true, false),
            "          JOBID     USER AGE AGE ASSOC ASSOC PRIORITY PRIORITY FAIRSHARE FAIRSHARE "
            "JOBSIZE JOBSIZE PARTITION PARTITION QOS QOS NICE SITE TRES TRES CLUSTER PARTITION\n"
            "             16     root 0.0000810 0 0.0000000 0 0.00000165408656 7104 0.6666667 "
            "6667 0.4375000 438 0.1000000 100 0.0000000 0 100 0   (null) debug\n");
  // And the weights line of each letter.
  fields =
      ParseSprioFormat("%i|%r|%u|%Y|%y|%S|%A|%a|%B|%b|%N|%T|%t|%F|%f|%J|%j|%P|%p|%Q|%q", nullptr);
  EXPECT_EQ(RenderSprio(fields, {}, RefWeights(), false, true),
            "Weights|||||1|1000|1000|0|0||(null)||10000|10000|1000|1000|1000|1000|10000|10000\n");
}

TEST(SprioViewTest, FormatParsingMatchesSlurm) {
  std::string invalid;
  auto on_invalid = [&](char c) { invalid += c; };
  const std::vector<SprioRow> rows = {Row(18, "debug", 7084, 0.3125, 0.1, -5)};
  auto render = [&](const char* format) {
    invalid.clear();
    return RenderSprio(ParseSprioFormat(format, on_invalid), rows, RefWeights(), true, false);
  };
  // An unknown letter drops its whole token, up to the next '%'.
  EXPECT_EQ(render("%i|%z|%Y"), "JOBID|PRIORITY\n18|7084\n");
  EXPECT_EQ(invalid, "z");
  EXPECT_EQ(render("%i %5z abc %Y|%%|x%"), "JOBID PRIORITY|\n18 7084|\n");
  EXPECT_EQ(invalid, "z|");
  EXPECT_EQ(render("ab%5.3ic"), "ab\nab\n");
  EXPECT_EQ(invalid, ".");
  EXPECT_EQ(render("%20i%-10Y %.3A x"), "JOBID               AGE x\n18                    0 x\n");
  EXPECT_EQ(invalid, "-");
  // Widths cut values and titles; '.' right-justifies.
  EXPECT_EQ(render("%.3i %.2Y %2r"), "JOB PR PA\n 18 70 de\n");
  EXPECT_EQ(render("%u %.3u"), "USER USE\nroot roo\n");
}

TEST(SprioViewTest, SortMatchesSlurm) {
  const PriorityWeights w = RefWeights();
  auto ids = [](const std::vector<SprioRow>& rows) {
    std::string out;
    for (const SprioRow& r : rows) out += std::to_string(r.id) + r.partition.substr(0, 1) + " ";
    return out;
  };
  std::vector<SprioRow> rows = RefRows();
  EXPECT_EQ(SortSprioRows(&rows, "-y", w), std::nullopt);
  // sprio -S -y: highest first, ties in job id order.
  EXPECT_EQ(ids(rows), "15b 17b 17d 16d 18d 14d 19d ");
  EXPECT_EQ(SortSprioRows(&rows, "y", w), std::nullopt);
  EXPECT_EQ(ids(rows), "14d 19d 18d 16d 17d 17b 15b ");
  EXPECT_EQ(SortSprioRows(&rows, "", w), std::nullopt);  // job id (partitions as listed)
  EXPECT_EQ(ids(rows), "14d 15b 16d 17d 17b 18d 19d ");
  rows = RefRows();
  EXPECT_EQ(SortSprioRows(&rows, "N", w), std::nullopt);
  EXPECT_EQ(ids(rows), "18d 14d 15b 17d 17b 19d 16d ");
  EXPECT_EQ(SortSprioRows(&rows, "r,-J", w), std::nullopt);
  EXPECT_EQ(ids(rows), "15b 17b 16d 17d 14d 18d 19d ");
  for (const char* bad : {"x", "b", "B", "S", "n", "Y,z"}) {
    std::vector<SprioRow> copy = RefRows();
    EXPECT_TRUE(SortSprioRows(&copy, bad, w).has_value()) << bad;
  }
  EXPECT_EQ(*SortSprioRows(&rows, "y,zz", w), "zz");
}

}  // namespace
}  // namespace shoal

namespace shoal {
namespace {

TEST(SprioDecodeTest, ReadsWeightsAndRowsWithoutADom) {
  PriorityWeights w;
  std::vector<SprioRow> rows;
  Status s = DecodeSprioAnswer(
      R"({"weights":{"age":1000,"assoc":0,"fairshare":2000,"job_size":3,"partition":4,"qos":5},)"
      R"("columns":["job_id","user","partition","priority","age","assoc","fairshare","job_size",)"
      R"("partition_factor","qos","nice","added_later"],)"
      R"("rows":[[7,"alice","batch",1500,0.5,0,0.25,1,1,0,-10,"x"],[8,"bob","gpu",1,1,0,1e-3,0,0,0,0,null]]})",
      &w, &rows);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(w.age, 1000u);
  EXPECT_EQ(w.fairshare, 2000u);
  EXPECT_EQ(w.qos, 5u);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].id, 7u);
  EXPECT_EQ(rows[0].user, "alice");
  EXPECT_EQ(rows[0].partition, "batch");
  EXPECT_EQ(rows[0].priority, 1500u);
  EXPECT_DOUBLE_EQ(rows[0].factors.age, 0.5);
  EXPECT_DOUBLE_EQ(rows[0].factors.fairshare, 0.25);
  EXPECT_DOUBLE_EQ(rows[0].factors.job_size, 1);
  EXPECT_EQ(rows[0].factors.nice, -10);
  EXPECT_DOUBLE_EQ(rows[1].factors.fairshare, 0.001);

  // A job id that is not a number, a missing weights member, broken text: each an error.
  EXPECT_FALSE(DecodeSprioAnswer(R"({"weights":{},"columns":["job_id"],"rows":[["7"]]})", &w,
                                 &rows)
                   .ok());
  EXPECT_FALSE(DecodeSprioAnswer(R"({"columns":["job_id"],"rows":[[7]]})", &w, &rows).ok());
  EXPECT_FALSE(DecodeSprioAnswer(R"({"weights":{},"columns":["job_id"],"rows":[[7])", &w, &rows)
                   .ok());
}

}  // namespace
}  // namespace shoal
