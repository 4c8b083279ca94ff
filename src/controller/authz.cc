#include "controller/authz.h"

namespace shoal {

Caller Caller::Root() {
  Caller c;
  c.how = How::kUnix;
  c.uid = 0;
  c.gid = 0;
  c.user = "root";
  c.level = AdminLevel::kAdministrator;
  return c;
}

const char* CallerHowName(Caller::How how) {
  switch (how) {
    case Caller::How::kUnix:
      return "unix";
    case Caller::How::kToken:
      return "token";
    case Caller::How::kAnonymous:
      return "anonymous";
  }
  return "anonymous";
}

bool IsOperator(const Caller& caller) {
  return !caller.anonymous() && caller.level >= AdminLevel::kOperator;
}

bool MayChangeJob(const Caller& caller, uint32_t owner_uid) {
  return !caller.anonymous() && (IsOperator(caller) || caller.uid == owner_uid);
}

bool MaySeeJob(const Caller& caller, uint32_t owner_uid, bool private_jobs) {
  return !private_jobs || MayChangeJob(caller, owner_uid);
}

bool MayReadJobOutput(const Caller& caller, uint32_t owner_uid, bool private_jobs) {
  return MayChangeJob(caller, owner_uid) || (caller.anonymous() && !private_jobs);
}

bool MayChangeCluster(const Caller& caller) { return IsOperator(caller); }

bool MayChangeAccounting(AdminLevel level, bool grants_admin_level) {
  if (level == AdminLevel::kAdministrator) return true;
  return level == AdminLevel::kOperator && !grants_admin_level;
}

bool MayIssueTokenFor(const Caller& caller, uint32_t target_uid) {
  if (caller.anonymous()) return false;
  return caller.uid == target_uid || caller.level == AdminLevel::kAdministrator;
}

uint32_t JobRequesterUid(const Caller& caller) {
  if (IsOperator(caller)) return 0;
  return caller.anonymous() ? Caller::kNoUid : caller.uid;
}

Status AuthenticationRequired() {
  return Unauthenticated(
      "authentication required: over TCP, set SLURM_JWT to a token from `scontrol token` (or "
      "use the Unix socket)");
}

}  // namespace shoal
