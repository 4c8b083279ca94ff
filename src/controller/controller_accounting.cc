// The controller's accounting database: loaded from the store at start with the config file's
// QOS and Account lines laid over it, changed by sacctmgr through the API (checked in core,
// stored before the answer), and read by submissions, priorities and the scheduler.
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "common/strings.h"
#include "controller/authz.h"
#include "controller/controller.h"

namespace shoal {
namespace {

constexpr char kAccountingDocument[] = "accounting";

// The name of a local user id, or "" when it has none.
std::string UserNameOf(uint32_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) return "";
  return pw.pw_name;
}

// Lays the config file's QOS and Account lines over `db`: they replace what sacctmgr stored
// under the same names and are marked as the file's. Entities a file no longer names become
// sacctmgr's to change.
void OverlayConfig(const ControllerConfig& config, AccountingDb& db) {
  for (Qos& q : db.qos) q.defined_in.clear();
  for (Account& a : db.accounts) a.defined_in.clear();
  for (const Qos& q : config.qos) {
    if (q.defined_in.empty()) continue;  // the built-in "normal": sacctmgr's
    auto it = std::find_if(db.qos.begin(), db.qos.end(),
                           [&](const Qos& have) { return have.name == q.name; });
    if (it == db.qos.end()) {
      db.qos.push_back(q);
    } else {
      *it = q;
    }
  }
  for (const ConfigAccount& c : config.accounts) {
    auto account = std::find_if(db.accounts.begin(), db.accounts.end(),
                                [&](const Account& a) { return a.name == c.account.name; });
    if (account == db.accounts.end()) {
      db.accounts.push_back(c.account);
    } else {
      *account = c.account;
    }
    auto assoc = std::find_if(db.assocs.begin(), db.assocs.end(), [&](const Association& a) {
      return a.account == c.assoc.account && a.user.empty();
    });
    if (assoc == db.assocs.end()) {
      db.assocs.push_back(c.assoc);
    } else {
      *assoc = c.assoc;
    }
  }
}

}  // namespace

Status Controller::LoadAccounting() {
  auto doc = store_->LoadDocument(kAccountingDocument);
  if (!doc.ok()) return doc.status();
  AccountingDb db = AccountingDb::Initial();
  if (doc->has_value()) {
    Json j = Json::parse(**doc, nullptr, false);
    auto parsed = j.is_discarded() ? Result<AccountingDb>(InvalidArgument("not JSON"))
                                   : AccountingDbFromJson(j);
    if (!parsed.ok()) {
      return Internal("the stored accounting database is unreadable: " +
                      parsed.status().message());
    }
    db = std::move(parsed).value();
  }
  OverlayConfig(config_, db);
  std::string body = AccountingDbToJson(db).dump();
  if (!doc->has_value() || **doc != body) {
    StoreOp op;
    op.kind = StoreOp::Kind::kSaveDocument;
    op.doc_name = kAccountingDocument;
    op.doc_body = std::move(body);
    Status s = store_->Write({std::move(op)});
    if (!s.ok()) return s;
  }
  WriteLock lock = LockForChange();
  SetAccountingLocked(std::move(db));
  return Status::Ok();
}

void Controller::SetAccountingLocked(AccountingDb db) {
  db.version = accounting_.version + 1;  // the scheduler's limit caches follow it
  accounting_ = std::move(db);
  assoc_lookup_.Build(accounting_);
  for (auto& [id, job] : live_jobs_) StampAssoc(*job, accounting_, assoc_lookup_);
  account_shares_.clear();
  for (const Association& a : accounting_.assocs) {
    if (a.user.empty()) account_shares_.push_back({a.account, a.shares, a.priority});
  }
  MarkFairshareStaleLocked();
  priorities_stale_ = true;
}

AdminLevel Controller::EffectiveAdminLevelLocked(uint32_t uid, const std::string& name) const {
  // root and the controller's own user (Slurm's SlurmUser) administer the cluster.
  if (uid == 0 || uid == getuid()) return AdminLevel::kAdministrator;
  const UserRecord* user = name.empty() ? nullptr : accounting_.FindUser(name);
  return user == nullptr ? AdminLevel::kNone : user->admin;
}

AdminLevel Controller::EffectiveAdminLevel(uint32_t uid, const std::string& name) const {
  if (uid == 0 || uid == getuid()) return AdminLevel::kAdministrator;  // without the lock
  ReadLock lock(mu_);
  return EffectiveAdminLevelLocked(uid, name);
}

std::string Controller::UserName(uint32_t uid) { return UserNameOf(uid); }

AccountingDb Controller::Accounting() const {
  ReadLock lock(mu_);
  return accounting_;
}

std::vector<ShareRow> Controller::ListShares() const {
  ReadLock lock(mu_);
  return ShareRows(accounting_, usage_, fairshare_);
}

Result<ChangeReport> Controller::ChangeAccounting(const AccountingChange& change,
                                                  std::optional<uint32_t> requester_uid,
                                                  bool dry_run) {
  // One change at a time, so two admins cannot both build on the same old database; the
  // controller's lock is not held across the store's write.
  std::lock_guard<std::mutex> serial(accounting_change_mu_);
  AccountingDb db;
  std::vector<ActiveJob> active;
  // The passwd lookup may be slow (NSS): not under the lock.
  const std::string requester_name = requester_uid ? UserNameOf(*requester_uid) : "";
  {
    ReadLock lock(mu_);
    if (requester_uid) {
      const AdminLevel level = EffectiveAdminLevelLocked(*requester_uid, requester_name);
      bool grants_admin = false;
      for (const auto& [key, value] : change.settings) {
        grants_admin = grants_admin || (EqualsIgnoreCase(key, "AdminLevel") &&
                                        !EqualsIgnoreCase(value, "None"));
      }
      if (!MayChangeAccounting(level,
                               grants_admin && change.entity == AccountingChange::Entity::kUser)) {
        return PermissionDenied(
            "Access/permission denied: user '" +
            (requester_name.empty() ? std::to_string(*requester_uid) : requester_name) +
            "' may not change the accounting database (needs AdminLevel "
            "Operator, or Administrator to grant admin levels)");
      }
    }
    db = accounting_;
    for (const auto& [id, job] : live_jobs_) {
      if (IsFinished(job->state)) continue;
      active.push_back({job->id, job->req.account, job->req.user, std::string(QosNameOf(job->req)),
                        job->req.partition});
    }
  }
  auto report = ApplyAccountingChange(db, change, active);
  if (!report.ok() || dry_run) return report;
  StoreOp op;
  op.kind = StoreOp::Kind::kSaveDocument;
  op.doc_name = kAccountingDocument;
  op.doc_body = AccountingDbToJson(db).dump();
  Status s = store_->Write({std::move(op)});
  if (!s.ok()) return s;
  spdlog::info("accounting: {} {} {} by uid {}", VerbName(change.verb), EntityName(change.entity),
               Join(report->items, "; "), requester_uid ? std::to_string(*requester_uid) : "(tcp)");
  WriteLock lock = LockForChange();
  SetAccountingLocked(std::move(db));
  TriggerSchedule();
  return report;
}

}  // namespace shoal
