// The accounting database: a tree of accounts under "root", users, associations (a user within
// an account, or an account's own) with fair-share shares and limits, and QOS. Administrators
// change it in sacctmgr's words (a verb, an entity, names, conditions and settings); the change is
// checked and applied here, purely, so the controller only persists the result and the commands
// only format it. Nothing changes when any part of a request is bad.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "core/qos.h"
#include "core/tres.h"

namespace shoal {

inline constexpr char kRootAccount[] = "root";

enum class AdminLevel : uint8_t { kNone, kOperator, kAdministrator };
// "None", "Operator", "Administrator".
const char* AdminLevelName(AdminLevel level);

struct Account {
  std::string name;
  std::string description;
  std::string organization;
  std::string parent;  // "" only for root
  // Where the controller's config file defines this account ("file:line"); such accounts are
  // changed there, not with sacctmgr.
  std::string defined_in;
};

struct UserRecord {
  std::string name;
  std::string default_account;
  AdminLevel admin = AdminLevel::kNone;
};

// Limits of one association; kNoLimit where unset. Unset Max* limits are inherited from the
// nearest account above that sets them; Grp* limits bind the association's whole subtree.
struct AssocLimits {
  Tres grp_tres;                    // GrpTRES: resources of running jobs
  int64_t grp_jobs = kNoLimit;      // GrpJobs: running jobs
  int64_t grp_submit = kNoLimit;    // GrpSubmitJobs: pending and running jobs
  int64_t max_jobs = kNoLimit;      // MaxJobs: running jobs of one association
  int64_t max_submit = kNoLimit;    // MaxSubmitJobs: pending and running jobs of one association
  int64_t max_wall_s = kNoLimit;    // MaxWall
  Tres max_tres_per_job;            // MaxTRES (MaxTRESPerJob)
};

struct Association {
  std::string account;
  std::string user;  // "" for the account's own association
  // A user's association may be limited to one partition (Slurm's user+account+partition);
  // "" for all partitions. Account associations have none.
  std::string partition;
  uint32_t shares = 1;    // Fairshare
  uint32_t priority = 0;  // Priority (the assoc priority factor)
  AssocLimits limits;
  std::vector<std::string> qos;  // the QOS it may use; empty: as its parent (root: "normal")
  std::string default_qos;       // "" : the first of its QOS ("normal" when allowed)
};

struct AccountingDb {
  std::vector<Account> accounts;
  std::vector<UserRecord> users;
  std::vector<Association> assocs;  // account associations and user associations
  std::vector<Qos> qos;
  // Bumped by every change, so readers may cache what they derive from it.
  uint64_t version = 0;

  // A database with the root account, the root user (Administrator) and the QOS "normal".
  static AccountingDb Initial();

  const Account* FindAccount(std::string_view name) const;
  const UserRecord* FindUser(std::string_view name) const;
  // The association of `user` in `account` ("" user: the account's own) for `partition` (""
  // the partition-less one), or null.
  const Association* FindAssoc(std::string_view account, std::string_view user,
                               std::string_view partition = "") const;
  // The association a job of `user` charged to `account` in `partition` runs under: the user's
  // association for that partition if there is one, else the partition-less one, else null.
  const Association* JobAssoc(std::string_view account, std::string_view user,
                              std::string_view partition) const;
  // Whether `user` has any association (for any partition) in `account`.
  bool HasAnyAssoc(std::string_view account, std::string_view user) const;
  // The account's ancestors from its parent up to root (empty for root or an unknown account).
  std::vector<std::string> Ancestors(std::string_view account) const;
  // The limits in effect for an association: its own, with unset Max* limits taken from the
  // nearest account above that sets them.
  AssocLimits EffectiveLimits(const Association& assoc) const;
  // The QOS an association may use (inherited when its own list is empty) and its default.
  std::vector<std::string> EffectiveQos(const Association& assoc) const;
  std::string EffectiveDefaultQos(const Association& assoc) const;
};

// One sacctmgr request. Keys are sacctmgr's (any case). `conditions` select what modify and
// delete act on (with `names`); `settings` are what add sets or modify sets.
struct AccountingChange {
  enum class Verb : uint8_t { kAdd, kModify, kDelete };
  enum class Entity : uint8_t { kAccount, kUser, kQos };
  Verb verb = Verb::kAdd;
  Entity entity = Entity::kAccount;
  std::vector<std::string> names;
  std::vector<std::pair<std::string, std::string>> conditions;
  std::vector<std::pair<std::string, std::string>> settings;
};

const char* VerbName(AccountingChange::Verb verb);      // "add", "modify", "delete"
const char* EntityName(AccountingChange::Entity entity);  // "account", "user", "qos"

// A job that keeps an association or QOS from being deleted.
struct ActiveJob {
  uint64_t id = 0;
  std::string account;
  std::string user;
  std::string qos;
  std::string partition;
};

// What a change did, for the report: the entities or associations it touched, in order
// ("physics", or "A = physics U = alice" for an association).
struct ChangeReport {
  std::vector<std::string> items;
};

// Applies `change` to `db`. On error `db` is unchanged and the message is the one sacctmgr prints.
// `active` lists pending and running jobs (deleting what they use is refused).
Result<ChangeReport> ApplyAccountingChange(AccountingDb& db, const AccountingChange& change,
                                           const std::vector<ActiveJob>& active);

// Applies one QOS setting (sacctmgr's and the config file's key) to `qos`: NotFound for a key it
// does not know, InvalidArgument for a bad value, each naming the setting.
Status ApplyQosSetting(Qos& qos, std::string_view key, std::string_view value);
// Applies one association setting (Fairshare, Priority, GrpTRES, GrpJobs, GrpSubmitJobs,
// MaxJobs, MaxSubmitJobs, MaxWall, MaxTRES, QOS, DefaultQOS).
Status ApplyAssocSetting(Association& assoc, std::string_view key, std::string_view value);

// What AccountingStorageEnforce turns on.
struct EnforceFlags {
  bool associations = false;  // jobs need an association (implied by limits and qos)
  bool limits = false;        // association and QOS limits bind
  bool qos = false;           // a job's QOS must be one its association may use
  bool Any() const { return associations || limits || qos; }
};
Result<EnforceFlags> ParseEnforceFlags(std::string_view text);
std::string FormatEnforceFlags(const EnforceFlags& flags);  // "associations,limits,qos" or "none"

// Resolves and checks a job's account and QOS at submit under `flags`: fills an empty account
// with the user's default and an empty QOS with the association's default. The association is
// JobAssoc's for `partition`. Errors carry Slurm's messages ("Invalid account or
// account/partition combination specified", "Invalid qos specification").
Status ResolveJobAssociation(const AccountingDb& db, const EnforceFlags& flags,
                             std::string_view user, std::string& account, std::string& qos,
                             std::string_view partition = "");

// Live-job counts the submit limits read: pending and running jobs of one association, of an
// account's whole subtree, and of a QOS (the caller counts; only asked for limits that are set).
struct LiveJobCounter {
  std::function<int64_t(const std::string& account, const std::string& user)> of_assoc;
  std::function<int64_t(const std::string& account)> of_subtree;
};

// The association limits checked when `count` jobs of `req` are submitted under `assoc`:
// MaxWall, MaxSubmitJobs and each GrpSubmitJobs up the tree. Refusals are InvalidArgument whose
// first line is Slurm's reason (AssocMaxWallDurationPerJobLimit, AssocMaxSubmitJobLimit,
// AssocGrpSubmitJobsLimit) and whose second is Slurm's policy message.
Status CheckAssocSubmitLimits(const AccountingDb& db, const Association& assoc,
                              const JobRequest& req, uint32_t count, const LiveJobCounter& live);

}  // namespace shoal
