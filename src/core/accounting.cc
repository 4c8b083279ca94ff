#include "core/accounting.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "common/slurm_time.h"
#include "common/strings.h"

namespace shoal {
namespace {

using Verb = AccountingChange::Verb;
using Entity = AccountingChange::Entity;
using Pairs = std::vector<std::pair<std::string, std::string>>;

bool ValidEntityName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && name.find_first_of(", \t\n=:'\"|") == name.npos;
}

bool KeyIs(std::string_view key, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (EqualsIgnoreCase(key, n)) return true;
  }
  return false;
}

std::string Setting(std::string_view key, std::string_view value) {
  return std::string(key) + "=" + std::string(value);
}

// A count limit: a whole number, or -1 (UNLIMITED) for none.
Result<int64_t> CountValue(std::string_view key, std::string_view value) {
  if (value == "-1" || EqualsIgnoreCase(value, "UNLIMITED")) return kNoLimit;
  auto n = ParseUint(value);
  if (!n || *n > (uint64_t{1} << 31)) {
    return InvalidArgument("Invalid value for " + Setting(key, value) +
                           " (a whole number, or -1 for no limit)");
  }
  return static_cast<int64_t>(*n);
}

Result<int64_t> WallValue(std::string_view key, std::string_view value) {
  auto t = ParseTimeLimit(value);
  if (!t.ok()) return InvalidArgument("Bad " + std::string(key) + " time format: " + Setting(key, value));
  return *t;  // kUnlimited (-1) is kNoLimit
}

Status TresValue(std::string_view key, std::string_view value, Tres& tres) {
  Status s = ParseTres(value, tres);
  if (!s.ok()) return InvalidArgument("Invalid " + Setting(key, value) + ": " + s.message());
  return Status::Ok();
}

Result<std::vector<std::string>> NameList(std::string_view key, std::string_view value) {
  std::vector<std::string> out;
  for (const std::string& item : Split(value, ',')) {
    if (item.empty()) continue;
    if (!ValidEntityName(item)) {
      return InvalidArgument("Invalid name '" + item + "' in " + Setting(key, value));
    }
    out.push_back(ToLower(item));
  }
  return out;
}

bool Contains(const std::vector<std::string>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

bool IsAssocKey(std::string_view key) {
  return KeyIs(key, {"Fairshare", "Share", "Shares", "Priority", "GrpTRES", "GrpJobs",
                     "GrpSubmitJobs", "GrpSubmit", "MaxJobs", "MaxSubmitJobs", "MaxSubmit",
                     "MaxWall", "MaxWallDurationPerJob", "MaxTRES", "MaxTRESPerJob", "QOS",
                     "QOSLevel", "DefaultQOS", "DefQOS"});
}

std::string AssocLabel(const Association& a) {
  std::string label = a.user.empty() ? "A = " + a.account : "A = " + a.account + " U = " + a.user;
  if (!a.partition.empty()) label += " P = " + a.partition;
  return label;
}

// The names a modify or delete selects: `names` plus Name(s)= conditions.
Result<std::vector<std::string>> SelectedNames(const AccountingChange& c, bool lower) {
  std::vector<std::string> names;
  for (const std::string& n : c.names) names.push_back(lower ? ToLower(n) : n);
  for (const auto& [key, value] : c.conditions) {
    if (!KeyIs(key, {"Name", "Names", "User", "Users"}) ||
        (c.entity != Entity::kUser && KeyIs(key, {"User", "Users"}))) {
      continue;
    }
    for (const std::string& item : Split(value, ',')) {
      if (!item.empty()) names.push_back(lower ? ToLower(item) : item);
    }
  }
  for (const std::string& n : names) {
    if (!ValidEntityName(n)) return InvalidArgument("Invalid name '" + n + "'");
  }
  return names;
}

Status RejectUnknownConditions(const AccountingChange& c,
                               std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : c.conditions) {
    if (KeyIs(key, {"Name", "Names"}) || KeyIs(key, allowed)) continue;
    if (KeyIs(key, {"Partition", "Partitions"})) {
      return InvalidArgument("Partition associations are not supported: " + Setting(key, value));
    }
    return InvalidArgument("Unknown condition: " + Setting(key, value));
  }
  return Status::Ok();
}

Status JobsActive(const std::vector<const ActiveJob*>& jobs) {
  std::string msg = "Error with request: Job(s) active, cancel job(s) before remove";
  for (const ActiveJob* j : jobs) {
    msg += "\n  JobID = " + std::to_string(j->id) + "  A = " + j->account + "  U = " + j->user;
  }
  return FailedPrecondition(msg);
}

Status DefinedInConfig(const char* what, const std::string& name, const std::string& where) {
  return FailedPrecondition(std::string(what) + " '" + name + "' is defined in the config file (" +
                            where + "); change it there");
}

class Changer {
 public:
  Changer(AccountingDb& db, const AccountingChange& c, const std::vector<ActiveJob>& active)
      : db_(db), c_(c), active_(active) {}

  Result<ChangeReport> Run() {
    switch (c_.entity) {
      case Entity::kAccount:
        return c_.verb == Verb::kAdd      ? AddAccounts()
               : c_.verb == Verb::kModify ? ModifyAccounts()
                                          : DeleteAccounts();
      case Entity::kUser:
        return c_.verb == Verb::kAdd      ? AddUsers()
               : c_.verb == Verb::kModify ? ModifyUsers()
                                          : DeleteUsers();
      case Entity::kQos:
        return c_.verb == Verb::kAdd      ? AddQos()
               : c_.verb == Verb::kModify ? ModifyQos()
                                          : DeleteQos();
    }
    return InvalidArgument("unknown entity");
  }

 private:
  Account* FindAccount(std::string_view name) {
    return const_cast<Account*>(db_.FindAccount(name));
  }
  Association* FindAssoc(std::string_view account, std::string_view user) {
    return const_cast<Association*>(db_.FindAssoc(account, user));
  }

  // Checks the QOS names an association setting refers to.
  Status CheckAssocQos(const Association& a) {
    for (const std::string& q : a.qos) {
      if (FindQos(db_.qos, q) == nullptr) return InvalidArgument("Invalid qos '" + q + "'");
    }
    if (!a.default_qos.empty()) {
      if (FindQos(db_.qos, a.default_qos) == nullptr) {
        return InvalidArgument("Invalid default qos '" + a.default_qos + "'");
      }
      if (!Contains(db_.EffectiveQos(a), a.default_qos)) {
        return InvalidArgument("Default qos '" + a.default_qos +
                               "' is not one of the association's QOS (" +
                               Join(db_.EffectiveQos(a), ",") + ")");
      }
    }
    return Status::Ok();
  }

  Status ApplyAssocSettings(Association& a, const Pairs& settings) {
    for (const auto& [key, value] : settings) {
      if (!IsAssocKey(key)) continue;
      Status s = ApplyAssocSetting(a, key, value);
      if (!s.ok()) return s;
    }
    return CheckAssocQos(a);
  }

  // Every job in `accounts` (with `user` when not empty) that is still pending or running.
  std::vector<const ActiveJob*> ActiveIn(const std::set<std::string>& accounts,
                                         std::string_view user) const {
    std::vector<const ActiveJob*> out;
    for (const ActiveJob& j : active_) {
      if (accounts.count(j.account) != 0 && (user.empty() || j.user == user)) out.push_back(&j);
    }
    return out;
  }

  // The account and every account below it.
  std::set<std::string> Subtree(const std::string& root) const {
    std::set<std::string> out = {root};
    bool grew = true;
    while (grew) {
      grew = false;
      for (const Account& a : db_.accounts) {
        if (out.count(a.name) == 0 && out.count(a.parent) != 0) {
          out.insert(a.name);
          grew = true;
        }
      }
    }
    return out;
  }

  // --- accounts ---------------------------------------------------------------------------

  Result<ChangeReport> AddAccounts() {
    if (!c_.conditions.empty()) {
      return InvalidArgument("Use 'modify' to change existing accounts; 'add' takes no 'where'");
    }
    if (c_.names.empty()) return InvalidArgument("Need name of account to add.");
    Account proto;
    proto.parent = kRootAccount;
    for (const auto& [key, value] : c_.settings) {
      if (KeyIs(key, {"Description", "Descr"})) {
        proto.description = value;
      } else if (KeyIs(key, {"Organization", "Org"})) {
        proto.organization = ToLower(value);
      } else if (KeyIs(key, {"Parent"})) {
        proto.parent = ToLower(value);
      } else if (KeyIs(key, {"Cluster", "Clusters"})) {
        // One cluster per controller: accepted, nothing to choose.
      } else if (!IsAssocKey(key)) {
        return InvalidArgument("Unknown option: " + Setting(key, value));
      }
    }
    if (FindAccount(proto.parent) == nullptr) {
      return NotFound("Parent Account " + proto.parent + " doesn't exist.");
    }
    ChangeReport report;
    for (const std::string& raw : c_.names) {
      const std::string name = ToLower(raw);
      if (!ValidEntityName(name)) return InvalidArgument("Invalid account name '" + raw + "'");
      if (FindAccount(name) != nullptr || Contains(report.items, name)) continue;
      Account a = proto;
      a.name = name;
      if (a.description.empty()) a.description = name;
      if (a.organization.empty()) a.organization = a.parent == kRootAccount ? name : a.parent;
      Association assoc;
      assoc.account = name;
      Status s = ApplyAssocSettings(assoc, c_.settings);
      if (!s.ok()) return s;
      db_.accounts.push_back(std::move(a));
      db_.assocs.push_back(std::move(assoc));
      report.items.push_back(name);
    }
    if (report.items.empty()) return AlreadyExists("Nothing new added.");
    return report;
  }

  Result<ChangeReport> ModifyAccounts() {
    Status ok = RejectUnknownConditions(c_, {"Parent"});
    if (!ok.ok()) return ok;
    auto names = SelectedNames(c_, true);
    if (!names.ok()) return names.status();
    std::string parent_condition;
    for (const auto& [key, value] : c_.conditions) {
      if (KeyIs(key, {"Parent"})) parent_condition = ToLower(value);
    }
    if (c_.settings.empty()) return InvalidArgument("Nothing to set: use 'set KEY=VALUE'");
    ChangeReport report;
    for (Account& a : db_.accounts) {
      if (!names->empty() && !Contains(*names, a.name)) continue;
      if (names->empty() && parent_condition.empty()) continue;  // never everything by default
      if (!parent_condition.empty() && a.parent != parent_condition) continue;
      if (!a.defined_in.empty()) return DefinedInConfig("Account", a.name, a.defined_in);
      Association* assoc = FindAssoc(a.name, "");
      for (const auto& [key, value] : c_.settings) {
        if (KeyIs(key, {"Description", "Descr"})) {
          a.description = value;
        } else if (KeyIs(key, {"Organization", "Org"})) {
          a.organization = ToLower(value);
        } else if (KeyIs(key, {"Parent"})) {
          const std::string parent = ToLower(value);
          if (a.name == kRootAccount) return InvalidArgument("The root account has no parent");
          if (FindAccount(parent) == nullptr) {
            return NotFound("Parent Account " + parent + " doesn't exist.");
          }
          if (Subtree(a.name).count(parent) != 0) {
            return InvalidArgument("Account " + parent + " is below " + a.name +
                                   "; it cannot become its parent");
          }
          a.parent = parent;
        } else if (IsAssocKey(key)) {
          if (assoc == nullptr) return Internal("account " + a.name + " has no association");
          Status s = ApplyAssocSetting(*assoc, key, value);
          if (!s.ok()) return s;
        } else {
          return InvalidArgument("Unknown option: " + Setting(key, value));
        }
      }
      if (assoc != nullptr) {
        Status s = CheckAssocQos(*assoc);
        if (!s.ok()) return s;
      }
      report.items.push_back(a.name);
    }
    if (report.items.empty()) return NotFound("Nothing modified");
    return report;
  }

  Result<ChangeReport> DeleteAccounts() {
    Status ok = RejectUnknownConditions(c_, {});
    if (!ok.ok()) return ok;
    auto names = SelectedNames(c_, true);
    if (!names.ok()) return names.status();
    if (names->empty()) return InvalidArgument("Name the accounts to delete");
    std::set<std::string> doomed;
    ChangeReport report;
    for (const std::string& name : *names) {
      const Account* a = FindAccount(name);
      if (a == nullptr) continue;
      if (name == kRootAccount) return InvalidArgument("The root account cannot be deleted");
      for (const std::string& n : Subtree(name)) {
        const Account* sub = FindAccount(n);
        if (sub != nullptr && !sub->defined_in.empty()) {
          return DefinedInConfig("Account", sub->name, sub->defined_in);
        }
        doomed.insert(n);
      }
      report.items.push_back(name);
    }
    if (report.items.empty()) return NotFound("Nothing deleted");
    if (auto jobs = ActiveIn(doomed, ""); !jobs.empty()) return JobsActive(jobs);
    std::erase_if(db_.accounts, [&](const Account& a) { return doomed.count(a.name) != 0; });
    std::erase_if(db_.assocs, [&](const Association& a) { return doomed.count(a.account) != 0; });
    for (UserRecord& u : db_.users) {
      if (doomed.count(u.default_account) != 0) u.default_account = FirstAccountOf(u.name);
    }
    return report;
  }

  std::string FirstAccountOf(const std::string& user) const {
    for (const Association& a : db_.assocs) {
      if (a.user == user) return a.account;
    }
    return "";
  }

  // --- users ------------------------------------------------------------------------------

  Result<ChangeReport> AddUsers() {
    if (!c_.conditions.empty()) {
      return InvalidArgument("Use 'modify' to change existing users; 'add' takes no 'where'");
    }
    if (c_.names.empty()) return InvalidArgument("Need name of user to add.");
    std::vector<std::string> accounts;
    std::vector<std::string> partitions;  // empty: the partition-less association
    std::string default_account;
    AdminLevel admin = AdminLevel::kNone;
    for (const auto& [key, value] : c_.settings) {
      if (KeyIs(key, {"Account", "Accounts"})) {
        auto list = NameList(key, value);
        if (!list.ok()) return list.status();
        for (std::string& a : *list) {
          if (!Contains(accounts, a)) accounts.push_back(std::move(a));
        }
      } else if (KeyIs(key, {"DefaultAccount", "DefAccount", "DefAcct"})) {
        default_account = ToLower(value);
      } else if (KeyIs(key, {"AdminLevel", "Admin"})) {
        auto level = ParseAdminLevel(value);
        if (!level.ok()) return level.status();
        admin = *level;
      } else if (KeyIs(key, {"Cluster", "Clusters"})) {
      } else if (KeyIs(key, {"Partition", "Partitions"})) {
        // Partition names are the controller's to know (as in Slurm, sacctmgr takes any), and
        // keep their case.
        for (const std::string& p : Split(value, ',')) {
          if (p.empty()) continue;
          if (!ValidEntityName(p)) {
            return InvalidArgument("Invalid name '" + p + "' in " + Setting(key, value));
          }
          if (!Contains(partitions, p)) partitions.push_back(p);
        }
      } else if (!IsAssocKey(key)) {
        return InvalidArgument("Unknown option: " + Setting(key, value));
      }
    }
    if (accounts.empty() && !default_account.empty()) accounts.push_back(default_account);
    if (accounts.empty()) return InvalidArgument("Need name of account to add user to.");
    for (const std::string& a : accounts) {
      if (FindAccount(a) == nullptr) {
        return NotFound("This account '" + a +
                        "' doesn't exist.\n        Contact your admin to add this account.");
      }
    }
    if (!default_account.empty() && !Contains(accounts, default_account)) {
      return InvalidArgument("Default account '" + default_account +
                             "' is not among the accounts given (" + Join(accounts, ",") + ")");
    }
    ChangeReport report;
    for (const std::string& user : c_.names) {
      if (!ValidEntityName(user)) return InvalidArgument("Invalid user name '" + user + "'");
      if (db_.FindUser(user) == nullptr) {
        db_.users.push_back({user, default_account.empty() ? accounts.front() : default_account,
                             admin});
      }
      const std::vector<std::string> parts =
          partitions.empty() ? std::vector<std::string>{""} : partitions;
      for (const std::string& account : accounts) {
        for (const std::string& partition : parts) {
          if (db_.FindAssoc(account, user, partition) != nullptr) continue;
          Association assoc;
          assoc.account = account;
          assoc.user = user;
          assoc.partition = partition;
          Status s = ApplyAssocSettings(assoc, c_.settings);
          if (!s.ok()) return s;
          report.items.push_back(AssocLabel(assoc));
          db_.assocs.push_back(std::move(assoc));
        }
      }
      UserRecord* record = const_cast<UserRecord*>(db_.FindUser(user));
      if (record->default_account.empty()) record->default_account = accounts.front();
    }
    if (report.items.empty()) return AlreadyExists("Nothing new added.");
    return report;
  }

  static Result<AdminLevel> ParseAdminLevel(std::string_view value) {
    for (AdminLevel l : {AdminLevel::kNone, AdminLevel::kOperator, AdminLevel::kAdministrator}) {
      if (EqualsIgnoreCase(value, AdminLevelName(l))) return l;
    }
    if (EqualsIgnoreCase(value, "Admin")) return AdminLevel::kAdministrator;
    return InvalidArgument("Invalid AdminLevel '" + std::string(value) +
                           "' (None, Operator or Administrator)");
  }

  // Partition= conditions of a modify or delete (case kept); empty: no such condition.
  std::vector<std::string> PartitionConditions() const {
    std::vector<std::string> out;
    for (const auto& [key, value] : c_.conditions) {
      if (!KeyIs(key, {"Partition", "Partitions"})) continue;
      for (const std::string& p : Split(value, ',')) {
        if (!p.empty()) out.push_back(p);
      }
    }
    return out;
  }

  Result<ChangeReport> ModifyUsers() {
    Status ok = RejectUnknownConditions(
        c_, {"User", "Users", "Account", "Accounts", "Partition", "Partitions"});
    if (!ok.ok()) return ok;
    auto names = SelectedNames(c_, false);
    if (!names.ok()) return names.status();
    if (names->empty()) return InvalidArgument("Name the users to modify");
    std::vector<std::string> accounts;
    for (const auto& [key, value] : c_.conditions) {
      if (!KeyIs(key, {"Account", "Accounts"})) continue;
      auto list = NameList(key, value);
      if (!list.ok()) return list.status();
      accounts.insert(accounts.end(), list->begin(), list->end());
    }
    const std::vector<std::string> partitions = PartitionConditions();
    if (c_.settings.empty()) return InvalidArgument("Nothing to set: use 'set KEY=VALUE'");
    ChangeReport report;
    for (UserRecord& u : db_.users) {
      if (!Contains(*names, u.name)) continue;
      bool touched = false;
      for (const auto& [key, value] : c_.settings) {
        if (KeyIs(key, {"DefaultAccount", "DefAccount", "DefAcct"})) {
          const std::string account = ToLower(value);
          if (!db_.HasAnyAssoc(account, u.name)) {
            return InvalidArgument("User " + u.name + " has no association with account '" +
                                   account + "'; add it first");
          }
          u.default_account = account;
          touched = true;
        } else if (KeyIs(key, {"AdminLevel", "Admin"})) {
          auto level = ParseAdminLevel(value);
          if (!level.ok()) return level.status();
          u.admin = *level;
          touched = true;
        } else if (!IsAssocKey(key)) {
          return InvalidArgument("Unknown option: " + Setting(key, value));
        }
      }
      if (touched) report.items.push_back(u.name);
      for (Association& a : db_.assocs) {
        if (a.user != u.name || (!accounts.empty() && !Contains(accounts, a.account)) ||
            (!partitions.empty() && !Contains(partitions, a.partition))) {
          continue;
        }
        bool assoc_touched = false;
        for (const auto& [key, value] : c_.settings) {
          if (!IsAssocKey(key)) continue;
          Status s = ApplyAssocSetting(a, key, value);
          if (!s.ok()) return s;
          assoc_touched = true;
        }
        if (!assoc_touched) continue;
        Status s = CheckAssocQos(a);
        if (!s.ok()) return s;
        report.items.push_back(AssocLabel(a));
      }
    }
    if (report.items.empty()) return NotFound("Nothing modified");
    return report;
  }

  Result<ChangeReport> DeleteUsers() {
    Status ok = RejectUnknownConditions(
        c_, {"User", "Users", "Account", "Accounts", "Partition", "Partitions"});
    if (!ok.ok()) return ok;
    auto names = SelectedNames(c_, false);
    if (!names.ok()) return names.status();
    if (names->empty()) return InvalidArgument("Name the users to delete");
    std::vector<std::string> accounts;
    for (const auto& [key, value] : c_.conditions) {
      if (!KeyIs(key, {"Account", "Accounts"})) continue;
      auto list = NameList(key, value);
      if (!list.ok()) return list.status();
      accounts.insert(accounts.end(), list->begin(), list->end());
    }
    // `where partition=P` deletes only the user's associations for P (and the accounts named).
    const std::vector<std::string> partitions = PartitionConditions();
    auto selected = [&](const Association& a, const std::string& user) {
      return a.user == user && (accounts.empty() || Contains(accounts, a.account)) &&
             (partitions.empty() || Contains(partitions, a.partition));
    };
    ChangeReport report;
    std::vector<const ActiveJob*> busy;
    for (const std::string& user : *names) {
      const UserRecord* u = db_.FindUser(user);
      if (u == nullptr) continue;
      std::set<std::string> gone;  // accounts losing an association of the user
      std::vector<std::string> labels;
      bool default_kept = false;  // an association in the default account stays
      size_t kept = 0;
      for (const Association& a : db_.assocs) {
        if (a.user != user) continue;
        if (selected(a, user)) {
          gone.insert(a.account);
          labels.push_back(AssocLabel(a));
        } else {
          ++kept;
          default_kept = default_kept || a.account == u->default_account;
        }
      }
      if ((!accounts.empty() || !partitions.empty()) && gone.empty()) continue;
      if (kept > 0 && gone.count(u->default_account) != 0 && !default_kept) {
        return FailedPrecondition("Can't remove user " + user + "'s default account " +
                                  u->default_account +
                                  " while other associations remain; change DefaultAccount first");
      }
      for (const ActiveJob* j : ActiveIn(gone, user)) {
        if (partitions.empty() || Contains(partitions, j->partition)) busy.push_back(j);
      }
      if (!partitions.empty()) {
        report.items.insert(report.items.end(), labels.begin(), labels.end());
      } else {
        report.items.push_back(accounts.empty()
                                   ? user
                                   : user + " (" + Join({gone.begin(), gone.end()}, ",") + ")");
      }
    }
    if (report.items.empty()) return NotFound("Nothing deleted");
    if (!busy.empty()) return JobsActive(busy);
    for (const std::string& user : *names) {
      if (db_.FindUser(user) == nullptr) continue;
      std::erase_if(db_.assocs, [&](const Association& a) { return selected(a, user); });
      if (FirstAccountOf(user).empty()) {  // no association left: the user goes too
        std::erase_if(db_.users, [&](const UserRecord& u) { return u.name == user; });
      } else if (UserRecord* u = const_cast<UserRecord*>(db_.FindUser(user));
                 u != nullptr && !db_.HasAnyAssoc(u->default_account, user)) {
        u->default_account = FirstAccountOf(user);
      }
    }
    return report;
  }

  // --- QOS --------------------------------------------------------------------------------

  Status CheckPreemptNames(const Qos& q) {
    for (const std::string& p : q.preempt) {
      if (p == q.name) return InvalidArgument("QOS '" + q.name + "' cannot preempt itself");
      if (FindQos(db_.qos, p) == nullptr) {
        return InvalidArgument("Invalid qos '" + p + "' in Preempt of " + q.name);
      }
    }
    return Status::Ok();
  }

  Result<ChangeReport> AddQos() {
    if (!c_.conditions.empty()) {
      return InvalidArgument("Use 'modify' to change existing QOS; 'add' takes no 'where'");
    }
    if (c_.names.empty()) return InvalidArgument("Need name of qos to add.");
    ChangeReport report;
    std::vector<Qos> added;
    for (const std::string& raw : c_.names) {
      const std::string name = ToLower(raw);
      if (!ValidEntityName(name)) return InvalidArgument("Invalid qos name '" + raw + "'");
      if (FindQos(db_.qos, name) != nullptr || Contains(report.items, name)) continue;
      Qos q;
      q.name = name;
      q.description = name;
      for (const auto& [key, value] : c_.settings) {
        Status s = ApplyQosSetting(q, key, value);
        if (!s.ok()) return s;
      }
      added.push_back(std::move(q));
      report.items.push_back(name);
    }
    if (report.items.empty()) return AlreadyExists("Nothing new added.");
    const size_t before = db_.qos.size();
    for (Qos& q : added) db_.qos.push_back(std::move(q));
    for (size_t i = before; i < db_.qos.size(); ++i) {
      Status s = CheckPreemptNames(db_.qos[i]);
      if (!s.ok()) return s;
    }
    return report;
  }

  Result<ChangeReport> ModifyQos() {
    Status ok = RejectUnknownConditions(c_, {});
    if (!ok.ok()) return ok;
    auto names = SelectedNames(c_, true);
    if (!names.ok()) return names.status();
    if (names->empty()) return InvalidArgument("Name the qos to modify");
    if (c_.settings.empty()) return InvalidArgument("Nothing to set: use 'set KEY=VALUE'");
    ChangeReport report;
    for (Qos& q : db_.qos) {
      if (!Contains(*names, q.name)) continue;
      if (!q.defined_in.empty()) return DefinedInConfig("QOS", q.name, q.defined_in);
      for (const auto& [key, value] : c_.settings) {
        Status s = ApplyQosSetting(q, key, value);
        if (!s.ok()) return s;
      }
      Status s = CheckPreemptNames(q);
      if (!s.ok()) return s;
      report.items.push_back(q.name);
    }
    if (report.items.empty()) return NotFound("Nothing modified");
    return report;
  }

  Result<ChangeReport> DeleteQos() {
    Status ok = RejectUnknownConditions(c_, {});
    if (!ok.ok()) return ok;
    auto names = SelectedNames(c_, true);
    if (!names.ok()) return names.status();
    if (names->empty()) return InvalidArgument("Name the qos to delete");
    ChangeReport report;
    std::vector<const ActiveJob*> busy;
    for (const std::string& name : *names) {
      const Qos* q = FindQos(db_.qos, name);
      if (q == nullptr) continue;
      if (q->name == kDefaultQos) return InvalidArgument("The qos 'normal' cannot be deleted");
      if (!q->defined_in.empty()) return DefinedInConfig("QOS", q->name, q->defined_in);
      for (const ActiveJob& j : active_) {
        if (EqualsIgnoreCase(j.qos, name)) busy.push_back(&j);
      }
      report.items.push_back(q->name);
    }
    if (report.items.empty()) return NotFound("Nothing deleted");
    if (!busy.empty()) return JobsActive(busy);
    std::erase_if(db_.qos, [&](const Qos& q) { return Contains(report.items, q.name); });
    for (Qos& q : db_.qos) {
      std::erase_if(q.preempt, [&](const std::string& p) { return Contains(report.items, p); });
    }
    for (Association& a : db_.assocs) {
      std::erase_if(a.qos, [&](const std::string& n) { return Contains(report.items, n); });
      if (Contains(report.items, a.default_qos)) a.default_qos.clear();
    }
    return report;
  }

  AccountingDb& db_;
  const AccountingChange& c_;
  const std::vector<ActiveJob>& active_;
};

}  // namespace

const char* AdminLevelName(AdminLevel level) {
  switch (level) {
    case AdminLevel::kNone: return "None";
    case AdminLevel::kOperator: return "Operator";
    case AdminLevel::kAdministrator: return "Administrator";
  }
  return "None";
}

const char* VerbName(AccountingChange::Verb verb) {
  switch (verb) {
    case Verb::kAdd: return "add";
    case Verb::kModify: return "modify";
    case Verb::kDelete: return "delete";
  }
  return "add";
}

const char* EntityName(AccountingChange::Entity entity) {
  switch (entity) {
    case Entity::kAccount: return "account";
    case Entity::kUser: return "user";
    case Entity::kQos: return "qos";
  }
  return "account";
}

AccountingDb AccountingDb::Initial() {
  AccountingDb db;
  db.accounts.push_back({kRootAccount, "default root account", kRootAccount, "", ""});
  db.users.push_back({"root", kRootAccount, AdminLevel::kAdministrator});
  Association root_account;
  root_account.account = kRootAccount;
  db.assocs.push_back(root_account);
  Association root_user = root_account;
  root_user.user = "root";
  db.assocs.push_back(root_user);
  Qos normal;
  normal.name = kDefaultQos;
  normal.description = "Normal QOS default";
  db.qos.push_back(normal);
  return db;
}

const Account* AccountingDb::FindAccount(std::string_view name) const {
  for (const Account& a : accounts) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

const UserRecord* AccountingDb::FindUser(std::string_view name) const {
  for (const UserRecord& u : users) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

const Association* AccountingDb::FindAssoc(std::string_view account, std::string_view user,
                                           std::string_view partition) const {
  for (const Association& a : assocs) {
    if (a.account == account && a.user == user && a.partition == partition) return &a;
  }
  return nullptr;
}

const Association* AccountingDb::JobAssoc(std::string_view account, std::string_view user,
                                          std::string_view partition) const {
  const Association* any = nullptr;
  for (const Association& a : assocs) {
    if (a.account != account || a.user != user) continue;
    if (!partition.empty() && a.partition == partition) return &a;
    if (a.partition.empty()) any = &a;
  }
  return any;
}

bool AccountingDb::HasAnyAssoc(std::string_view account, std::string_view user) const {
  for (const Association& a : assocs) {
    if (a.account == account && a.user == user) return true;
  }
  return false;
}

std::vector<std::string> AccountingDb::Ancestors(std::string_view account) const {
  std::vector<std::string> out;
  const Account* a = FindAccount(account);
  // The tree is checked on every change; the bound only guards against a corrupted record.
  while (a != nullptr && !a->parent.empty() && out.size() < accounts.size()) {
    out.push_back(a->parent);
    a = FindAccount(a->parent);
  }
  return out;
}

AssocLimits AccountingDb::EffectiveLimits(const Association& assoc) const {
  AssocLimits out = assoc.limits;
  // A user's association inherits from its own account first, then the accounts above.
  std::vector<std::string> chain;
  if (!assoc.user.empty()) chain.push_back(assoc.account);
  for (std::string& a : Ancestors(assoc.account)) chain.push_back(std::move(a));
  auto inherit = [](int64_t& mine, int64_t theirs) {
    if (mine == kNoLimit) mine = theirs;
  };
  for (const std::string& name : chain) {
    const Association* up = FindAssoc(name, "");
    if (up == nullptr) continue;
    inherit(out.max_jobs, up->limits.max_jobs);
    inherit(out.max_submit, up->limits.max_submit);
    inherit(out.max_wall_s, up->limits.max_wall_s);
    inherit(out.max_tres_per_job.cpu, up->limits.max_tres_per_job.cpu);
    inherit(out.max_tres_per_job.mem_mb, up->limits.max_tres_per_job.mem_mb);
    inherit(out.max_tres_per_job.node, up->limits.max_tres_per_job.node);
    inherit(out.max_tres_per_job.gpu, up->limits.max_tres_per_job.gpu);
  }
  return out;
}

std::vector<std::string> AccountingDb::EffectiveQos(const Association& assoc) const {
  if (!assoc.qos.empty()) return assoc.qos;
  std::vector<std::string> chain;
  if (!assoc.user.empty()) chain.push_back(assoc.account);
  for (std::string& a : Ancestors(assoc.account)) chain.push_back(std::move(a));
  for (const std::string& name : chain) {
    const Association* up = FindAssoc(name, "");
    if (up != nullptr && !up->qos.empty()) return up->qos;
  }
  return {kDefaultQos};
}

std::string AccountingDb::EffectiveDefaultQos(const Association& assoc) const {
  if (!assoc.default_qos.empty()) return assoc.default_qos;
  const std::vector<std::string> allowed = EffectiveQos(assoc);
  if (Contains(allowed, kDefaultQos)) return kDefaultQos;
  return allowed.empty() ? kDefaultQos : allowed.front();
}

Result<ChangeReport> ApplyAccountingChange(AccountingDb& db, const AccountingChange& change,
                                           const std::vector<ActiveJob>& active) {
  AccountingDb work = db;  // all or nothing
  auto report = Changer(work, change, active).Run();
  if (report.ok()) {
    ++work.version;
    db = std::move(work);
  }
  return report;
}

Status ApplyAssocSetting(Association& a, std::string_view key, std::string_view value) {
  const std::string v(value);
  if (KeyIs(key, {"Fairshare", "Share", "Shares"})) {
    auto n = ParseUint(value);
    if (!n || *n == 0 || *n > 0xffffffffu) {
      return InvalidArgument("Invalid " + Setting(key, value) + " (a whole number of at least 1)");
    }
    a.shares = static_cast<uint32_t>(*n);
  } else if (KeyIs(key, {"Priority"})) {
    auto n = ParseUint(value);
    if (!n || *n > 0xffffffffu) {
      return InvalidArgument("Invalid " + Setting(key, value) + " (a whole number)");
    }
    a.priority = static_cast<uint32_t>(*n);
  } else if (KeyIs(key, {"GrpTRES"})) {
    return TresValue(key, value, a.limits.grp_tres);
  } else if (KeyIs(key, {"MaxTRES", "MaxTRESPerJob"})) {
    return TresValue(key, value, a.limits.max_tres_per_job);
  } else if (KeyIs(key, {"GrpJobs", "GrpSubmitJobs", "GrpSubmit", "MaxJobs", "MaxSubmitJobs",
                         "MaxSubmit"})) {
    auto n = CountValue(key, value);
    if (!n.ok()) return n.status();
    int64_t& field = KeyIs(key, {"GrpJobs"})                     ? a.limits.grp_jobs
                     : KeyIs(key, {"GrpSubmitJobs", "GrpSubmit"}) ? a.limits.grp_submit
                     : KeyIs(key, {"MaxJobs"})                    ? a.limits.max_jobs
                                                                  : a.limits.max_submit;
    field = *n;
  } else if (KeyIs(key, {"MaxWall", "MaxWallDurationPerJob"})) {
    auto t = WallValue(key, value);
    if (!t.ok()) return t.status();
    a.limits.max_wall_s = *t;
  } else if (KeyIs(key, {"QOS", "QOSLevel"})) {
    auto list = NameList(key, value);
    if (!list.ok()) return list.status();
    a.qos = *list;
  } else if (KeyIs(key, {"DefaultQOS", "DefQOS"})) {
    a.default_qos = value == "-1" ? "" : ToLower(v);
  } else {
    return NotFound("Unknown option: " + Setting(key, value));
  }
  return Status::Ok();
}

Status ApplyQosSetting(Qos& q, std::string_view key, std::string_view value) {
  const std::string v(value);
  if (KeyIs(key, {"Priority"})) {
    auto n = ParseUint(value);
    if (!n || *n > 0xffffffffu) {
      return InvalidArgument("Invalid " + Setting(key, value) + " (a whole number)");
    }
    q.priority = static_cast<uint32_t>(*n);
  } else if (KeyIs(key, {"Preempt"})) {
    auto list = NameList(key, value);
    if (!list.ok()) return list.status();
    q.preempt = *list;
  } else if (KeyIs(key, {"PreemptMode"})) {
    auto m = ParsePreemptMode(value);
    if (!m) {
      return InvalidArgument("Invalid " + Setting(key, value) +
                             " (OFF, CANCEL or REQUEUE; shoal does not suspend jobs)");
    }
    q.preempt_mode = *m;
  } else if (KeyIs(key, {"GraceTime"})) {
    auto n = ParseUint(value);
    if (!n || *n > 0xffffffffu) {
      return InvalidArgument("Invalid " + Setting(key, value) + " (seconds)");
    }
    q.grace_time_s = static_cast<int64_t>(*n);
  } else if (KeyIs(key, {"MaxJobsPerUser", "MaxJobsPU", "MaxJobs", "MaxSubmitJobsPerUser",
                         "MaxSubmitJobsPU", "MaxSubmitPU", "MaxSubmitJobs", "GrpJobs",
                         "GrpSubmitJobs", "GrpSubmit"})) {
    auto n = CountValue(key, value);
    if (!n.ok()) return n.status();
    if (KeyIs(key, {"GrpJobs"})) {
      q.grp_jobs = *n;
    } else if (KeyIs(key, {"GrpSubmitJobs", "GrpSubmit"})) {
      q.grp_submit = *n;
    } else if (KeyIs(key, {"MaxJobsPerUser", "MaxJobsPU", "MaxJobs"})) {
      q.max_jobs_per_user = *n == kNoLimit ? 0 : static_cast<uint32_t>(*n);
    } else {
      q.max_submit_jobs_per_user = *n == kNoLimit ? 0 : static_cast<uint32_t>(*n);
    }
  } else if (KeyIs(key, {"MaxWall", "MaxWallDurationPerJob"})) {
    auto t = WallValue(key, value);
    if (!t.ok()) return t.status();
    q.max_wall_s = *t;
  } else if (KeyIs(key, {"UsageFactor"})) {
    char* end = nullptr;
    const double f = std::strtod(v.c_str(), &end);
    if (v.empty() || end == nullptr || *end != '\0' || !std::isfinite(f) || f < 0) {
      return InvalidArgument("Invalid " + Setting(key, value) + " (a number of at least 0)");
    }
    q.usage_factor = f;
  } else if (KeyIs(key, {"GrpTRES"})) {
    return TresValue(key, value, q.grp_tres);
  } else if (KeyIs(key, {"MaxTRESPerJob", "MaxTRES"})) {
    return TresValue(key, value, q.max_tres_per_job);
  } else if (KeyIs(key, {"MaxTRESPerUser", "MaxTRESPU"})) {
    return TresValue(key, value, q.max_tres_per_user);
  } else if (KeyIs(key, {"Description"})) {
    q.description = v;
  } else if (KeyIs(key, {"Flags"})) {
    // Accepted for sacctmgr's vocabulary; shoal implements no QOS flags yet.
  } else {
    return NotFound("Unknown option: " + Setting(key, value));
  }
  return Status::Ok();
}

Result<EnforceFlags> ParseEnforceFlags(std::string_view text) {
  EnforceFlags f;
  for (const std::string& raw : Split(text, ',')) {
    const std::string item = ToLower(Trim(raw));
    if (item.empty() || item == "none" || item == "0") continue;
    if (item == "associations") {
      f.associations = true;
    } else if (item == "limits") {
      f.limits = f.associations = true;
    } else if (item == "qos") {
      f.qos = f.associations = true;
    } else if (item == "safe") {
      f.limits = f.associations = true;
    } else if (item == "all") {
      f.associations = f.limits = f.qos = true;
    } else if (item == "nojobs" || item == "nosteps") {
      // Job and step records are always kept; accepted for slurm.conf compatibility.
    } else {
      return InvalidArgument("unknown AccountingStorageEnforce value '" + item +
                             "' (associations, limits, qos, safe, all or none)");
    }
  }
  return f;
}

std::string FormatEnforceFlags(const EnforceFlags& flags) {
  std::vector<std::string> parts;
  if (flags.associations) parts.push_back("associations");
  if (flags.limits) parts.push_back("limits");
  if (flags.qos) parts.push_back("qos");
  return parts.empty() ? "none" : Join(parts, ",");
}

Status ResolveJobAssociation(const AccountingDb& db, const EnforceFlags& flags,
                             std::string_view user, std::string& account, std::string& qos,
                             std::string_view partition) {
  const UserRecord* u = db.FindUser(user);
  account = ToLower(account);
  if (account.empty() && u != nullptr) account = u->default_account;
  const Association* assoc = account.empty() ? nullptr : db.JobAssoc(account, user, partition);
  if (flags.associations && assoc == nullptr) {
    return InvalidArgument("Invalid account or account/partition combination specified");
  }
  if (assoc == nullptr) return Status::Ok();
  if (qos.empty()) {
    qos = db.EffectiveDefaultQos(*assoc);
  } else if (flags.qos && !Contains(db.EffectiveQos(*assoc), ToLower(qos))) {
    return InvalidArgument("Invalid qos specification");
  }
  return Status::Ok();
}

Status CheckAssocSubmitLimits(const AccountingDb& db, const Association& assoc,
                              const JobRequest& req, uint32_t count, const LiveJobCounter& live) {
  auto refuse = [](const char* reason) {
    return InvalidArgument(std::string(reason) + "\n" + kQosPolicyViolation);
  };
  const AssocLimits limits = db.EffectiveLimits(assoc);
  if (limits.max_wall_s != kNoLimit &&
      (req.time_limit_s < 0 || req.time_limit_s > limits.max_wall_s)) {
    return refuse("AssocMaxWallDurationPerJobLimit");
  }
  if (limits.max_submit != kNoLimit &&
      live.of_assoc(assoc.account, assoc.user) + count > limits.max_submit) {
    return refuse("AssocMaxSubmitJobLimit");
  }
  if (assoc.limits.grp_submit != kNoLimit &&
      live.of_assoc(assoc.account, assoc.user) + count > assoc.limits.grp_submit) {
    return refuse("AssocGrpSubmitJobsLimit");
  }
  std::vector<std::string> chain = db.Ancestors(assoc.account);
  if (!assoc.user.empty()) chain.insert(chain.begin(), assoc.account);
  for (const std::string& account : chain) {
    const Association* up = db.FindAssoc(account, "");
    if (up == nullptr || up->limits.grp_submit == kNoLimit) continue;
    if (live.of_subtree(account) + count > up->limits.grp_submit) {
      return refuse("AssocGrpSubmitJobsLimit");
    }
  }
  return Status::Ok();
}

}  // namespace shoal
