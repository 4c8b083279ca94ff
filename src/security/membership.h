// Proof that an agent holds the cluster key, without sending the key: the agent signs its node
// name, the time and a random nonce with HMAC-SHA256 under the key, and sends the four values
// as gRPC metadata when it opens its stream. The controller recomputes the MAC, compares in
// constant time, and accepts the proof only within a window around its own clock and only for
// the node that then registers. The TLS channel keeps a proof from being seen and replayed.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace shoal::security {

// The metadata keys (gRPC wants them lowercase).
inline constexpr char kProofNodeHeader[] = "x-shoal-node";
inline constexpr char kProofTimeHeader[] = "x-shoal-time";
inline constexpr char kProofNonceHeader[] = "x-shoal-nonce";
inline constexpr char kProofMacHeader[] = "x-shoal-proof";

inline constexpr int64_t kProofWindowS = 300;  // how far the clocks may differ

struct MembershipProof {
  std::string node;
  std::string time;   // Unix seconds, decimal
  std::string nonce;  // 32 hex digits
  std::string mac;    // 64 hex digits: HMAC-SHA256(key, "shoal-agent-v1\n" node \n time \n nonce)
};

// A fresh proof for `node` at `now_s` under the raw cluster key.
MembershipProof MakeMembershipProof(const std::string& key, const std::string& node, int64_t now_s);

// PermissionDenied with the reason (missing or malformed field, stale or future time, wrong
// MAC) unless `proof` was made with `key` for a node within `window_s` seconds of `now_s`.
Status VerifyMembershipProof(const std::string& key, const MembershipProof& proof, int64_t now_s,
                             int64_t window_s = kProofWindowS);

}  // namespace shoal::security
