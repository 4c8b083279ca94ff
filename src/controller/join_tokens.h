// One-time, short-lived tokens that let a new node join the cluster (`shoal token --join`,
// `shoal join`). A token reads ID.SECRET.CAHASH (kubeadm's scheme): the controller keeps the ID
// and a hash of the SECRET only, durably (the store's "join_tokens" document), and hands the
// cluster key to whoever presents both, once, before the token expires. CAHASH pins the cluster
// CA, so the node trusts no impostor: it is the node's check (agent/join.h), not ours.
//
// A join only hands out material; the node then registers on the agents' normal path, so a
// refused or failed join leaves nothing of the node behind.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace shoal {

inline constexpr int64_t kDefaultJoinTokenLifespan = 3600;
inline constexpr int64_t kMaxJoinTokenLifespan = 7 * 86400;

// What `shoal token --list` shows of a token: never its secret (nor the secret's hash).
struct JoinTokenInfo {
  std::string id;
  std::string issued_by;
  int64_t created_at = 0;
  int64_t expires_at = 0;
  int64_t used_at = 0;  // 0: unused
  std::string used_by;
  int64_t revoked_at = 0;  // 0: not revoked
  std::string revoked_by;
};

struct IssuedJoinToken {
  std::string id;      // 6 characters [a-z0-9]
  std::string secret;  // 16 characters [a-z0-9]
  int64_t expires_at = 0;
};

class JoinTokens {
 public:
  // `store` outlives this object (it is thread-safe on its own).
  explicit JoinTokens(Store& store) : store_(store) {}

  // A new token valid for `lifespan_s` seconds from `now`, stored before it is returned.
  // InvalidArgument outside 1..kMaxJoinTokenLifespan.
  Result<IssuedJoinToken> Issue(int64_t lifespan_s, const std::string& issued_by, int64_t now);
  // Accepts a token once: its use is stored before Ok is returned, so a second redemption (even
  // after a restart) is refused. PermissionDenied saying why: unknown, wrong secret, expired or
  // already used, revoked.
  Status Redeem(const std::string& id, const std::string& secret, const std::string& node,
                int64_t now);
  // Every token still kept (expired ones for a day), oldest first.
  Result<std::vector<JoinTokenInfo>> List();
  // Makes an unused token unusable, durably (the entry stays, so a join with it is told it was
  // revoked). InvalidArgument for a malformed id, NotFound for an unknown one,
  // FailedPrecondition for one already used or already revoked.
  Status Revoke(const std::string& id, const std::string& revoked_by, int64_t now);

 private:
  struct Entry {
    std::string id;
    std::string secret_sha256;  // hex
    std::string issued_by;
    int64_t created_at = 0;
    int64_t expires_at = 0;
    int64_t used_at = 0;  // 0: unused
    std::string used_by;  // the node name the joiner gave
    int64_t revoked_at = 0;  // 0: not revoked
    std::string revoked_by;
  };
  Status LoadLocked();
  // Stores `next` (dropping tokens expired more than a day: until then a late try is told
  // "expired" rather than "unknown"), then makes it current.
  Status CommitLocked(std::vector<Entry> next, int64_t now);

  Store& store_;
  std::mutex mu_;  // tokens only: never held with the controller's mu_
  bool loaded_ = false;
  std::vector<Entry> tokens_;
};

}  // namespace shoal
