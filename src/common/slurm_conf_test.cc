#include "common/slurm_conf.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace shoal {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

std::vector<ConfLine> Parse(std::string_view text) {
  auto r = ParseSlurmConf(text, "slurm.conf");
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : std::vector<ConfLine>{};
}

std::string ParseError(std::string_view text) {
  auto r = ParseSlurmConf(text, "slurm.conf");
  EXPECT_FALSE(r.ok()) << text;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

TEST(ParseSlurmConfTest, TypicalFile) {
  auto lines = Parse(
      "# slurm.conf\n"
      "ClusterName=shoal\n"
      "\n"
      "SlurmctldPort=6817   # the controller\n"
      "NodeName=n[1-4] CPUs=16 RealMemory=1000 State=UNKNOWN\n"
      "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP\n");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].pairs, (Pairs{{"ClusterName", "shoal"}}));
  EXPECT_EQ(lines[0].line, 2);
  EXPECT_EQ(lines[0].Where(), "slurm.conf:2");
  EXPECT_EQ(lines[1].pairs, (Pairs{{"SlurmctldPort", "6817"}}));
  EXPECT_EQ(lines[2].line, 5);
  EXPECT_EQ(
      lines[2].pairs,
      (Pairs{
          {"NodeName", "n[1-4]"}, {"CPUs", "16"}, {"RealMemory", "1000"}, {"State", "UNKNOWN"}}));
  EXPECT_EQ(lines[3].Get("partitionname"), "debug");
  EXPECT_EQ(lines[3].Get("MAXTIME"), "INFINITE");
  EXPECT_EQ(lines[3].Get("nodes"), "ALL");
  EXPECT_EQ(lines[3].Get("Weight"), std::nullopt);
}

TEST(ParseSlurmConfTest, QuotesTabsAndCrlf) {
  auto lines = Parse("Epilog=\"/etc/my epilog.sh\"\tTmpFS=/tmp\r\nName=a\"b c\"d Empty=\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].pairs, (Pairs{{"Epilog", "/etc/my epilog.sh"}, {"TmpFS", "/tmp"}}));
  EXPECT_EQ(lines[1].pairs, (Pairs{{"Name", "ab cd"}, {"Empty", ""}}));
  // '#' inside quotes or escaped is data, not a comment.
  lines = Parse("A=\"x#y\" B=1\\#2 # real comment\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].pairs, (Pairs{{"A", "x#y"}, {"B", "1#2"}}));
}

TEST(ParseSlurmConfTest, LineContinuation) {
  auto lines = Parse(
      "A=1\n"
      "NodeName=n[1-2] \\\n"
      "   CPUs=4 \\\n"
      "   RealMemory=10\n"
      "Nodes=a,\\\n"
      "b\n"
      "# comment \\\n"
      "B=2");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1].line, 2);
  EXPECT_EQ(lines[1].pairs, (Pairs{{"NodeName", "n[1-2]"}, {"CPUs", "4"}, {"RealMemory", "10"}}));
  EXPECT_EQ(lines[2].line, 5);
  EXPECT_EQ(lines[2].pairs, (Pairs{{"Nodes", "a,b"}}));
  EXPECT_EQ(lines[3].line, 8);  // a comment ending in '\' does not continue
  EXPECT_EQ(lines[3].pairs, (Pairs{{"B", "2"}}));
}

TEST(ParseSlurmConfTest, LastDuplicateWins) {
  auto lines = Parse("State=DOWN state=UP\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].Get("STATE"), "UP");
}

TEST(ParseSlurmConfTest, EmptyInput) {
  EXPECT_TRUE(Parse("").empty());
  EXPECT_TRUE(Parse("\n\n  # only comments\n\t\n").empty());
}

TEST(ParseSlurmConfTest, Errors) {
  EXPECT_EQ(ParseError("A=1\nClusterName = shoal\n"),
            "slurm.conf:2: spaces around '=' are not allowed near 'ClusterName'");
  EXPECT_EQ(ParseError("ClusterName =shoal\n"),
            "slurm.conf:1: spaces around '=' are not allowed near 'ClusterName'");
  EXPECT_EQ(ParseError("ClusterName= shoal\n"),
            "slurm.conf:1: spaces around '=' are not allowed near 'shoal'");
  EXPECT_EQ(ParseError("\n\nNodeName=n1 junk\n"), "slurm.conf:3: expected Key=Value, got 'junk'");
  EXPECT_EQ(ParseError("=value\n"), "slurm.conf:1: missing key before '='");
  EXPECT_EQ(ParseError("A=1\nEpilog=\"/x y\n"),
            "slurm.conf:2: unterminated quote in value of 'Epilog'");
  // Errors on a continued line point at its first physical line.
  EXPECT_EQ(ParseError("A=1 \\\nB=2 oops\n"), "slurm.conf:1: expected Key=Value, got 'oops'");
}

TEST(ReadSlurmConfTest, ReadsFileAndNamesItInErrors) {
  char dir_template[] = "/tmp/slurm_conf_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::string dir = dir_template;
  std::string good = dir + "/slurm.conf";
  std::string bad = dir + "/bad.conf";
  std::ofstream(good) << "ClusterName=shoal\nNodeName=n1 CPUs=2\n";
  std::ofstream(bad) << "\nfoo\n";

  auto r = ReadSlurmConf(good);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].file, good);
  EXPECT_EQ((*r)[1].Get("cpus"), "2");

  auto e = ReadSlurmConf(bad);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), bad + ":2: expected Key=Value, got 'foo'");

  auto missing = ReadSlurmConf(dir + "/nope.conf");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope.conf"), std::string::npos);

  unlink(good.c_str());
  unlink(bad.c_str());
  rmdir(dir.c_str());
}

}  // namespace
}  // namespace shoal
