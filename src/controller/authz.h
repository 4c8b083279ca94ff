// Who is asking, and what they may do: the one place where the public API's rules live.
// A Caller is resolved once per request by the HTTP glue (metrics_routes.cc): the kernel's word
// on the Unix socket (SO_PEERCRED), a verified token on TCP, else anonymous. The routes only ask
// the predicates below.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "common/status.h"
#include "core/accounting.h"

namespace shoal {

struct Caller {
  enum class How { kUnix, kToken, kAnonymous };
  // No real user has this uid (it is (uid_t)-1), so an anonymous caller owns nothing.
  static constexpr uint32_t kNoUid = std::numeric_limits<uint32_t>::max();

  How how = How::kAnonymous;
  uint32_t uid = kNoUid;
  uint32_t gid = kNoUid;
  std::string user;  // the user's name ("" when unknown)
  // Effective admin level: root and the controller's own user count as Administrator; others
  // have their accounting AdminLevel.
  AdminLevel level = AdminLevel::kNone;
  std::string remote_address;  // TCP: the client's address (rate limits anonymous callers)

  bool anonymous() const { return how == How::kAnonymous; }
  // For tests and in-process callers: root over the Unix socket.
  static Caller Root();
};

// "unix", "token", "anonymous".
const char* CallerHowName(Caller::How how);

// Operators and administrators (root and the controller's own user included).
bool IsOperator(const Caller& caller);
// Cancel, signal, hold, release, requeue, update a job: its owner, or an operator.
bool MayChangeJob(const Caller& caller, uint32_t owner_uid);
// See a job in listings: everyone unless PrivateData=jobs, then its owner and operators.
bool MaySeeJob(const Caller& caller, uint32_t owner_uid, bool private_jobs);
// Read a job's output file (the dashboard's tail): its owner and operators; an anonymous
// reader (the dashboard over TCP without a token) too unless PrivateData=jobs, as before
// tokens existed. Another signed-in user never reads it.
bool MayReadJobOutput(const Caller& caller, uint32_t owner_uid, bool private_jobs);
// Nodes (drain, resume, update, delete), partitions and reservations: operators.
bool MayChangeCluster(const Caller& caller);
// An sacctmgr change: operators; granting an admin level to a user takes an administrator.
bool MayChangeAccounting(AdminLevel level, bool grants_admin_level);
// A token for `target_uid`: anyone for themselves, administrators for anyone.
bool MayIssueTokenFor(const Caller& caller, uint32_t target_uid);

// The requester uid the Controller's job methods take: 0 (anyone's jobs) for an operator, the
// caller's uid otherwise; MayChangeJobAs is the same rule as MayChangeJob for that encoding.
uint32_t JobRequesterUid(const Caller& caller);
inline bool MayChangeJobAs(uint32_t requester_uid, uint32_t owner_uid) {
  return requester_uid == 0 || requester_uid == owner_uid;
}

// Slurm's words for a refusal.
inline Status AccessDenied() { return PermissionDenied("Access/permission denied"); }
// An anonymous caller asking to change something.
Status AuthenticationRequired();

}  // namespace shoal
