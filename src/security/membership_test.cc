#include "security/membership.h"

#include <gtest/gtest.h>

#include "security/crypto.h"

namespace shoal::security {
namespace {

const std::string kKey = RandomBytes(32);
constexpr int64_t kNow = 1'800'000'000;

TEST(Membership, AGoodProofVerifies) {
  MembershipProof p = MakeMembershipProof(kKey, "node1", kNow);
  EXPECT_EQ(p.node, "node1");
  EXPECT_EQ(p.time, std::to_string(kNow));
  EXPECT_EQ(p.nonce.size(), 32u);
  EXPECT_EQ(p.mac.size(), 64u);
  EXPECT_TRUE(VerifyMembershipProof(kKey, p, kNow).ok());
  // Clocks may differ by up to the window either way.
  EXPECT_TRUE(VerifyMembershipProof(kKey, p, kNow + kProofWindowS).ok());
  EXPECT_TRUE(VerifyMembershipProof(kKey, p, kNow - kProofWindowS).ok());
  // The key itself is nowhere in the proof.
  EXPECT_EQ(p.mac.find(HexEncode(kKey)), std::string::npos);
  EXPECT_NE(MakeMembershipProof(kKey, "node1", kNow).nonce, p.nonce);
}

TEST(Membership, AWrongKeyIsRefused) {
  MembershipProof p = MakeMembershipProof(RandomBytes(32), "node1", kNow);
  Status s = VerifyMembershipProof(kKey, p, kNow);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "wrong cluster key");
  EXPECT_FALSE(VerifyMembershipProof("", MakeMembershipProof("", "node1", kNow), kNow).ok());
}

TEST(Membership, AStaleOrFutureProofIsRefused) {
  MembershipProof p = MakeMembershipProof(kKey, "node1", kNow);
  Status stale = VerifyMembershipProof(kKey, p, kNow + kProofWindowS + 1);
  EXPECT_FALSE(stale.ok());
  EXPECT_NE(stale.message().find("301 s old"), std::string::npos) << stale.message();
  Status future = VerifyMembershipProof(kKey, p, kNow - kProofWindowS - 1);
  EXPECT_FALSE(future.ok());
  EXPECT_NE(future.message().find("in the future"), std::string::npos) << future.message();
}

TEST(Membership, AnotherNodesProofOrAChangedFieldIsRefused) {
  MembershipProof p = MakeMembershipProof(kKey, "node1", kNow);
  MembershipProof other = p;
  other.node = "node2";  // node1's proof presented as node2's
  EXPECT_EQ(VerifyMembershipProof(kKey, other, kNow).message(), "wrong cluster key");
  MembershipProof later = p;
  later.time = std::to_string(kNow + 10);
  EXPECT_FALSE(VerifyMembershipProof(kKey, later, kNow).ok());
  MembershipProof nonce = p;
  nonce.nonce[0] = nonce.nonce[0] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(VerifyMembershipProof(kKey, nonce, kNow).ok());
}

TEST(Membership, MalformedProofsAreRefused) {
  const MembershipProof good = MakeMembershipProof(kKey, "node1", kNow);
  auto refused = [](MembershipProof p) {
    Status s = VerifyMembershipProof(kKey, p, kNow);
    return !s.ok() && s.code() == StatusCode::kPermissionDenied;
  };
  EXPECT_TRUE(refused(MembershipProof{}));
  MembershipProof p = good;
  p.node.clear();
  EXPECT_TRUE(refused(p));
  p = good;
  p.time = "soon";
  EXPECT_TRUE(refused(p));
  p = good;
  p.nonce = "xyz";
  EXPECT_TRUE(refused(p));
  p = good;
  p.mac = p.mac.substr(1);
  EXPECT_TRUE(refused(p));
  p = good;
  p.mac[0] = 'Z';
  EXPECT_TRUE(refused(p));
  p = good;
  p.node = "node1\nnode2";
  EXPECT_TRUE(refused(p));
}

}  // namespace
}  // namespace shoal::security
