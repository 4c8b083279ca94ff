#include "common/hostlist.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

using Names = std::vector<std::string>;

Names Expand(std::string_view expr) {
  auto r = ExpandHostlist(expr);
  EXPECT_TRUE(r.ok()) << expr << ": " << r.status().message();
  return r.ok() ? *r : Names{};
}

std::string ExpandError(std::string_view expr) {
  auto r = ExpandHostlist(expr);
  EXPECT_FALSE(r.ok()) << expr;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

TEST(ExpandHostlistTest, PlainNames) {
  EXPECT_EQ(Expand(""), Names{});
  EXPECT_EQ(Expand("node1"), (Names{"node1"}));
  EXPECT_EQ(Expand("b,a,c"), (Names{"b", "a", "c"}));
  EXPECT_EQ(Expand("a,,b,"), (Names{"a", "b"}));
  EXPECT_EQ(Expand("a b"), (Names{"a", "b"}));
}

TEST(ExpandHostlistTest, RangesInOrderWritten) {
  EXPECT_EQ(Expand("node[1-3,7]"), (Names{"node1", "node2", "node3", "node7"}));
  EXPECT_EQ(Expand("n[7,1-2]"), (Names{"n7", "n1", "n2"}));
  EXPECT_EQ(Expand("node[1-3,7],gpu[01-02]"),
            (Names{"node1", "node2", "node3", "node7", "gpu01", "gpu02"}));
  EXPECT_EQ(Expand("n[5]"), (Names{"n5"}));
}

TEST(ExpandHostlistTest, KeepsZeroPadding) {
  EXPECT_EQ(Expand("gpu[08-11]"), (Names{"gpu08", "gpu09", "gpu10", "gpu11"}));
  EXPECT_EQ(Expand("n[001-002]"), (Names{"n001", "n002"}));
  EXPECT_EQ(Expand("n[9-10]"), (Names{"n9", "n10"}));
}

TEST(ExpandHostlistTest, MultipleGroupsAndSuffixes) {
  EXPECT_EQ(Expand("r[1-2]n[1-2]"), (Names{"r1n1", "r1n2", "r2n1", "r2n2"}));
  EXPECT_EQ(Expand("n[1-2]-ib"), (Names{"n1-ib", "n2-ib"}));
  EXPECT_EQ(Expand("[1-2]x"), (Names{"1x", "2x"}));
}

TEST(ExpandHostlistTest, RejectsMalformed) {
  EXPECT_EQ(ExpandError("n[1-2"), "unbalanced '[' in 'n[1-2'");
  EXPECT_EQ(ExpandError("n[1-"), "unbalanced '[' in 'n[1-'");
  EXPECT_EQ(ExpandError("n1-2]"), "unbalanced ']' in 'n1-2]'");
  EXPECT_EQ(ExpandError("n[3-1]"), "invalid range '3-1' in 'n[3-1]'");
  EXPECT_EQ(ExpandError("n[a-b]"), "invalid range 'a-b' in 'n[a-b]'");
  EXPECT_EQ(ExpandError("n[]"), "empty brackets in 'n[]'");
  EXPECT_EQ(ExpandError("n[1,,2]"), "invalid range '' in 'n[1,,2]'");
  EXPECT_EQ(ExpandError("n[1-2-3]"), "invalid range '1-2-3' in 'n[1-2-3]'");
  EXPECT_EQ(ExpandError("n[1[2]]"), "nested '[' in 'n[1[2]]'");
  EXPECT_EQ(ExpandError("ok,n[1-x]"), "invalid range '1-x' in 'n[1-x]'");
  EXPECT_EQ(ExpandError("n[-1]"), "invalid range '-1' in 'n[-1]'");
  ExpandError("n[1-99999999999999999999]");
}

TEST(ExpandHostlistTest, RejectsAbsurdSizes) {
  EXPECT_EQ(ExpandError("n[1-999999999999]"),
            "hostlist 'n[1-999999999999]' expands to more than 1000000 names");
  ExpandError("a[1-1000]b[1-1001]");       // product over the limit
  ExpandError("a[1-600000],b[1-600000]");  // sum over the limit
  auto r = ExpandHostlist("n[1-1000000]");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 1000000u);
  EXPECT_EQ(r->back(), "n1000000");
}

TEST(CompressHostlistTest, MergesLikeSlurm) {
  EXPECT_EQ(CompressHostlist({}), "");
  EXPECT_EQ(CompressHostlist({"node1"}), "node1");
  EXPECT_EQ(CompressHostlist({"node1", "node2", "node4"}), "node[1-2,4]");
  EXPECT_EQ(CompressHostlist({"node3", "node1", "node2", "node5"}), "node[1-3,5]");
  EXPECT_EQ(CompressHostlist({"b2", "a1", "b1"}), "a1,b[1-2]");
  EXPECT_EQ(CompressHostlist({"n2", "n1", "n2", "n1"}), "n[1-2]");
  EXPECT_EQ(CompressHostlist({"n10", "n9", "n2"}), "n[2,9-10]");
  EXPECT_EQ(CompressHostlist({"n11", "n9", "n10"}), "n[9-11]");
}

TEST(CompressHostlistTest, RespectsPadding) {
  EXPECT_EQ(CompressHostlist({"gpu01", "gpu02"}), "gpu[01-02]");
  EXPECT_EQ(CompressHostlist({"gpu09", "gpu10", "gpu11"}), "gpu[09-11]");
  EXPECT_EQ(CompressHostlist({"n1", "n02", "n3"}), "n[1,02,3]");
  EXPECT_EQ(CompressHostlist({"n01", "n1"}), "n[1,01]");
  EXPECT_EQ(CompressHostlist({"n099", "n100", "n101"}), "n[099-101]");
}

TEST(CompressHostlistTest, NamesWithoutNumbers) {
  EXPECT_EQ(CompressHostlist({"login", "node2", "node1", "head"}), "head,login,node[1-2]");
  EXPECT_EQ(CompressHostlist({"node", "node1"}), "node,node1");
  EXPECT_EQ(CompressHostlist({"r1n2", "r1n1", "r2n1"}), "r1n[1-2],r2n1");
}

TEST(CompressHostlistTest, RoundTripsThroughExpand) {
  for (const char* expr : {"node[1-3,5]", "gpu[01-02,10-12]", "a1,b[1-2]", "n[9-11]", "x[001-100]",
                           "head,login,node[1-2]"}) {
    auto names = ExpandHostlist(expr);
    ASSERT_TRUE(names.ok()) << expr;
    EXPECT_EQ(CompressHostlist(*names), expr);
  }
}

}  // namespace
}  // namespace shoal
