#include "security/membership.h"

#include "common/strings.h"
#include "security/crypto.h"

namespace shoal::security {
namespace {

std::string ProofMac(const std::string& key, const MembershipProof& p) {
  return HexEncode(HmacSha256(key, "shoal-agent-v1\n" + p.node + "\n" + p.time + "\n" + p.nonce));
}

bool IsLowerHex(const std::string& s, size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

MembershipProof MakeMembershipProof(const std::string& key, const std::string& node,
                                    int64_t now_s) {
  MembershipProof p{node, std::to_string(now_s), HexEncode(RandomBytes(16)), ""};
  p.mac = ProofMac(key, p);
  return p;
}

Status VerifyMembershipProof(const std::string& key, const MembershipProof& proof, int64_t now_s,
                             int64_t window_s) {
  if (proof.node.empty()) return PermissionDenied("no membership proof (node name missing)");
  if (proof.node.size() > 256 || proof.node.find('\n') != std::string::npos) {
    return PermissionDenied("malformed membership proof (node name)");
  }
  std::optional<int64_t> t = ParseInt(proof.time);
  if (!t) return PermissionDenied("malformed membership proof (time)");
  if (!IsLowerHex(proof.nonce, 32)) return PermissionDenied("malformed membership proof (nonce)");
  if (!IsLowerHex(proof.mac, 64)) return PermissionDenied("malformed membership proof (MAC)");
  // The MAC first: a stale proof under the wrong key is reported as the wrong key.
  if (key.empty() || !ConstantTimeEqual(ProofMac(key, proof), proof.mac)) {
    return PermissionDenied("wrong cluster key");
  }
  if (*t < now_s - window_s || *t > now_s + window_s) {
    return PermissionDenied("proof time " + proof.time + " is " +
                            std::to_string(*t < now_s ? now_s - *t : *t - now_s) + " s " +
                            (*t < now_s ? "old" : "in the future") + " (the window is " +
                            std::to_string(window_s) + " s: check the clocks)");
  }
  return Status::Ok();
}

}  // namespace shoal::security
