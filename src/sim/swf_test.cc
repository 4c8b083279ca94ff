#include "sim/swf.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace shoal {
namespace {

constexpr char kGood[] =
    "; Version: 2\n"
    ";   MaxNodes: 128 (batch)\n"
    "; MaxProcs: 1024\n"
    "\n"
    "1 0 10 3600 16 -1 -1 16 7200 -1 1 7 -1 -1 1 -1 -1 -1\n"
    "  2   5  0  60  1 12.5 -1.0 -1 -1 -1 1 8 -1 -1 1 -1 -1 -1  \r\n"
    "3 9 0 0 4 .5 -.5 4 100 -1 0 7 -1 -1 1 -1 -1 -1";  // no final newline

TEST(SwfTest, ParsesHeaderAndRecords) {
  auto t = ParseSwf(kGood, "good.swf", BadLinePolicy::kStop);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->header.max_nodes, 128);
  EXPECT_EQ(t->header.max_procs, 1024);
  ASSERT_EQ(t->records.size(), 3u);
  const SwfRecord& a = t->records[0];
  EXPECT_EQ(a.job_id(), 1);
  EXPECT_EQ(a.run(), 3600);
  EXPECT_EQ(a.alloc_procs(), 16);
  EXPECT_EQ(a.req_procs(), 16);
  EXPECT_EQ(a.req_time(), 7200);
  EXPECT_EQ(a.user(), 7);
  EXPECT_EQ(a.line, 5);
  EXPECT_EQ(t->records[1].f[5], 12);  // fractions are truncated
  EXPECT_EQ(t->records[1].f[6], -1);
  EXPECT_EQ(t->records[1].line, 6);
  EXPECT_EQ(t->records[2].f[5], 0);
  EXPECT_EQ(t->records[2].line, 7);
  EXPECT_TRUE(t->skipped.empty());
}

constexpr char kBad[] =
    "1 0 10 3600 16 -1 -1 16 7200 -1 1 7 -1 -1 1 -1 -1 -1\n"
    "2 0 10 3600 16 -1 -1 16 7200 -1 1 7 -1 -1 1 -1 -1\n"       // 17 fields
    "3 0 10 3600 16 -1 -1 16 7200 -1 1 7 -1 -1 1 -1 -1 -1 9\n"  // 19 fields
    "4 0 10 36x0 16 -1 -1 16 7200 -1 1 7 -1 -1 1 -1 -1 -1\n"    // not a number
    "5 0 10 99999999999999999999 16 -1 -1 16 7200 -1 1 7 -1 -1 1 -1 -1 -1\n"
    "6 0 10 3600 16 -1 -1 16 7200 -1 1 7 -1 -1 1 -1 -1 -1\n";

TEST(SwfTest, SkipsBadLinesNamingFileAndLine) {
  auto t = ParseSwf(kBad, "bad.swf", BadLinePolicy::kSkip);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->records.size(), 2u);
  EXPECT_EQ(t->records[0].job_id(), 1);
  EXPECT_EQ(t->records[1].job_id(), 6);
  ASSERT_EQ(t->skipped.size(), 4u);
  EXPECT_EQ(t->skipped[0], "bad.swf:2: expected 18 fields, found 17");
  EXPECT_EQ(t->skipped[1], "bad.swf:3: expected 18 fields, found 19");
  EXPECT_EQ(t->skipped[2], "bad.swf:4: not a number '36x0'");
  EXPECT_EQ(t->skipped[3], "bad.swf:5: number out of range '99999999999999999999'");
}

TEST(SwfTest, StopsAtTheFirstBadLine) {
  auto t = ParseSwf(kBad, "bad.swf", BadLinePolicy::kStop);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.status().message(), "bad.swf:2: expected 18 fields, found 17");
}

TEST(SwfTest, ReadsPlainAndGzipFiles) {
  const std::string dir = ::testing::TempDir();
  const std::string plain = dir + "/t.swf", gz = dir + "/t.swf.gz";
  std::ofstream(plain) << kGood;
  gzFile f = gzopen(gz.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  gzwrite(f, kGood, sizeof(kGood) - 1);
  gzclose(f);
  for (const std::string& path : {plain, gz}) {
    auto t = ReadSwf(path, BadLinePolicy::kStop);
    ASSERT_TRUE(t.ok()) << path << ": " << t.status().message();
    EXPECT_EQ(t->records.size(), 3u) << path;
    EXPECT_EQ(t->header.max_procs, 1024) << path;
  }
  auto missing = ReadSwf(dir + "/nope.swf", BadLinePolicy::kStop);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  std::remove(plain.c_str());
  std::remove(gz.c_str());
}

TEST(SwfTest, TruncatedGzipIsAnError) {
  const std::string path = ::testing::TempDir() + "/cut.swf.gz";
  std::string text;
  for (int i = 0; i < 2000; ++i) text += kBad;
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  auto t = ReadSwf(path, BadLinePolicy::kSkip);
  EXPECT_FALSE(t.ok());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace shoal
