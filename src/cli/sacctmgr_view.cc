#include "cli/sacctmgr_view.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>

#include "common/slurm_time.h"
#include "common/strings.h"

namespace shoal {
namespace {

using Verb = AccountingChange::Verb;
using Entity = AccountingChange::Entity;
using Pairs = std::vector<std::pair<std::string, std::string>>;

bool WordIs(std::string_view word, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (EqualsIgnoreCase(word, n)) return true;
  }
  return false;
}

Result<SacctmgrEntity> ParseEntity(std::string_view word) {
  if (WordIs(word, {"account", "accounts", "acct", "accts"})) return SacctmgrEntity::kAccount;
  if (WordIs(word, {"user", "users"})) return SacctmgrEntity::kUser;
  if (WordIs(word, {"qos", "qoses"})) return SacctmgrEntity::kQos;
  if (WordIs(word, {"association", "associations", "assoc", "assocs"})) {
    return SacctmgrEntity::kAssociation;
  }
  if (WordIs(word, {"event", "events"})) return SacctmgrEntity::kEvent;
  return InvalidArgument(
      "No valid entity in command: '" + std::string(word) +
      "'\nshoal's sacctmgr knows Account, User, QOS and (for show) Association");
}

// One operand: a bare name, or KEY=VALUE (the key keeps any '+' or '-' before '=').
bool SplitPair(const std::string& word, std::pair<std::string, std::string>& out) {
  const size_t eq = word.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  out = {word.substr(0, eq), word.substr(eq + 1)};
  return true;
}

// --- tables ------------------------------------------------------------------------------

struct AssocRow {
  const Account* account = nullptr;      // the association's account (or the listed account)
  const UserRecord* user = nullptr;      // user listings, and user associations
  const Association* assoc = nullptr;    // null in plain account and user listings
  int depth = 0;                         // in the account tree (tree listings)
};

struct Field {
  const char* name;  // format= name (any case)
  const char* header;
  int width;
  std::function<std::string(const AssocRow&)> assoc_value;
  std::function<std::string(const Qos&)> qos_value;
};

std::string Count(int64_t n) { return n == kNoLimit ? "" : std::to_string(n); }
std::string Wall(int64_t s) { return s == kNoLimit ? "" : FormatElapsed(s); }

std::vector<Field> AssocFields(const AccountingDb& db, const std::string& cluster) {
  auto limits = [&db](const AssocRow& r) {
    return r.assoc == nullptr ? AssocLimits{} : db.EffectiveLimits(*r.assoc);
  };
  auto own = [](const AssocRow& r) { return r.assoc == nullptr ? AssocLimits{} : r.assoc->limits; };
  return {
      {"Account", "Account", 10,
       [](const AssocRow& r) { return r.assoc ? r.assoc->account : r.account ? r.account->name : ""; },
       nullptr},
      {"Descr", "Descr", 20, [](const AssocRow& r) { return r.account ? r.account->description : ""; },
       nullptr},
      {"Org", "Org", 20, [](const AssocRow& r) { return r.account ? r.account->organization : ""; },
       nullptr},
      {"Cluster", "Cluster", 10, [cluster](const AssocRow&) { return cluster; }, nullptr},
      {"ParentName", "Par Name", 10,
       [](const AssocRow& r) {
         return r.assoc && r.assoc->user.empty() && r.account ? r.account->parent : "";
       },
       nullptr},
      {"User", "User", 10,
       [](const AssocRow& r) { return r.assoc ? r.assoc->user : r.user ? r.user->name : ""; },
       nullptr},
      {"DefaultAccount", "Def Acct", 10,
       [](const AssocRow& r) { return r.user ? r.user->default_account : ""; }, nullptr},
      {"AdminLevel", "Admin", 9,
       [](const AssocRow& r) { return r.user ? AdminLevelName(r.user->admin) : ""; }, nullptr},
      {"Partition", "Partition", 10,
       [](const AssocRow& r) { return r.assoc ? r.assoc->partition : ""; }, nullptr},
      {"Share", "Share", 9,
       [](const AssocRow& r) { return r.assoc ? std::to_string(r.assoc->shares) : ""; }, nullptr},
      {"Priority", "Priority", 10,
       [](const AssocRow& r) {
         return r.assoc && r.assoc->priority != 0 ? std::to_string(r.assoc->priority) : "";
       },
       nullptr},
      {"GrpJobs", "GrpJobs", 7, [own](const AssocRow& r) { return Count(own(r).grp_jobs); }, nullptr},
      {"GrpTRES", "GrpTRES", 13, [own](const AssocRow& r) { return FormatTres(own(r).grp_tres); },
       nullptr},
      {"GrpSubmit", "GrpSubmit", 9, [own](const AssocRow& r) { return Count(own(r).grp_submit); },
       nullptr},
      {"GrpWall", "GrpWall", 11, [](const AssocRow&) { return ""; }, nullptr},
      {"GrpTRESMins", "GrpTRESMins", 13, [](const AssocRow&) { return ""; }, nullptr},
      {"MaxJobs", "MaxJobs", 7, [limits](const AssocRow& r) { return Count(limits(r).max_jobs); },
       nullptr},
      {"MaxTRES", "MaxTRES", 13,
       [limits](const AssocRow& r) { return FormatTres(limits(r).max_tres_per_job); }, nullptr},
      {"MaxTRESPerNode", "MaxTRESPerNode", 14, [](const AssocRow&) { return ""; }, nullptr},
      {"MaxSubmit", "MaxSubmit", 9,
       [limits](const AssocRow& r) { return Count(limits(r).max_submit); }, nullptr},
      {"MaxWall", "MaxWall", 11, [limits](const AssocRow& r) { return Wall(limits(r).max_wall_s); },
       nullptr},
      {"MaxTRESMins", "MaxTRESMins", 13, [](const AssocRow&) { return ""; }, nullptr},
      {"QOS", "QOS", 20,
       [&db](const AssocRow& r) { return r.assoc ? Join(db.EffectiveQos(*r.assoc), ",") : ""; },
       nullptr},
      {"DefaultQOS", "Def QOS", 9,
       [](const AssocRow& r) { return r.assoc ? r.assoc->default_qos : ""; }, nullptr},
      {"GrpTRESRunMin", "GrpTRESRunMin", 13, [](const AssocRow&) { return ""; }, nullptr},
  };
}

std::vector<Field> QosFields() {
  auto none = [](const Qos&) { return std::string(); };
  return {
      {"Name", "Name", 10, nullptr, [](const Qos& q) { return q.name; }},
      {"Description", "Descr", 11, nullptr, [](const Qos& q) { return q.description; }},
      {"Priority", "Priority", 10, nullptr, [](const Qos& q) { return std::to_string(q.priority); }},
      {"GraceTime", "GraceTime", 10, nullptr, [](const Qos& q) { return FormatElapsed(q.grace_time_s); }},
      {"Preempt", "Preempt", 10, nullptr, [](const Qos& q) { return Join(q.preempt, ","); }},
      {"PreemptExemptTime", "PreemptExemptTime", 19, nullptr, none},
      {"PreemptMode", "PreemptMode", 11, nullptr,
       [](const Qos& q) {
         return q.preempt_mode ? ToLower(PreemptModeName(*q.preempt_mode)) : std::string("cluster");
       }},
      {"Flags", "Flags", 40, nullptr, none},
      {"UsageThres", "UsageThres", 10, nullptr, none},
      {"UsageFactor", "UsageFactor", 11, nullptr,
       [](const Qos& q) {
         char buf[32];
         snprintf(buf, sizeof buf, "%f", q.usage_factor);
         return std::string(buf);
       }},
      {"GrpTRES", "GrpTRES", 13, nullptr, [](const Qos& q) { return FormatTres(q.grp_tres); }},
      {"GrpTRESMins", "GrpTRESMins", 13, nullptr, none},
      {"GrpTRESRunMin", "GrpTRESRunMin", 13, nullptr, none},
      {"GrpJobs", "GrpJobs", 7, nullptr, [](const Qos& q) { return Count(q.grp_jobs); }},
      {"GrpSubmit", "GrpSubmit", 9, nullptr, [](const Qos& q) { return Count(q.grp_submit); }},
      {"GrpWall", "GrpWall", 11, nullptr, none},
      {"MaxTRES", "MaxTRES", 13, nullptr,
       [](const Qos& q) { return FormatTres(q.max_tres_per_job); }},
      {"MaxTRESPerNode", "MaxTRESPerNode", 14, nullptr, none},
      {"MaxTRESMins", "MaxTRESMins", 13, nullptr, none},
      {"MaxWall", "MaxWall", 11, nullptr, [](const Qos& q) { return Wall(q.max_wall_s); }},
      {"MaxTRESPU", "MaxTRESPU", 13, nullptr,
       [](const Qos& q) { return FormatTres(q.max_tres_per_user); }},
      {"MaxJobsPU", "MaxJobsPU", 9, nullptr,
       [](const Qos& q) {
         return q.max_jobs_per_user == 0 ? std::string() : std::to_string(q.max_jobs_per_user);
       }},
      {"MaxSubmitPU", "MaxSubmitPU", 11, nullptr,
       [](const Qos& q) {
         return q.max_submit_jobs_per_user == 0 ? std::string()
                                                : std::to_string(q.max_submit_jobs_per_user);
       }},
      {"MaxTRESPA", "MaxTRESPA", 13, nullptr, none},
      {"MaxJobsPA", "MaxJobsPA", 9, nullptr, none},
      {"MaxSubmitPA", "MaxSubmitPA", 11, nullptr, none},
      {"MinTRES", "MinTRES", 13, nullptr, none},
  };
}

// Other spellings sacctmgr accepts in format=.
const std::map<std::string, std::string, std::less<>>& FieldAliases() {
  static const auto* aliases = new std::map<std::string, std::string, std::less<>>{
      {"description", "Descr"},       {"organization", "Org"},     {"parent", "ParentName"},
      {"defaultaccount", "DefaultAccount"}, {"defacct", "DefaultAccount"},
      {"admin", "AdminLevel"},        {"fairshare", "Share"},      {"shares", "Share"},
      {"grpsubmitjobs", "GrpSubmit"}, {"maxsubmitjobs", "MaxSubmit"},
      {"maxtresperjob", "MaxTRES"},   {"maxwalldurationperjob", "MaxWall"},
      {"defqos", "DefaultQOS"},       {"maxjobsperuser", "MaxJobsPU"},
      {"maxsubmitjobsperuser", "MaxSubmitPU"}, {"maxtresperuser", "MaxTRESPU"},
      {"descr", "Descr"},             {"qoslevel", "QOS"},
  };
  return *aliases;
}

struct Column {
  const Field* field;
  std::string header;
  int width;
};

Result<std::vector<Column>> ResolveColumns(const std::vector<Field>& fields,
                                           const std::vector<std::string>& names) {
  std::vector<Column> out;
  for (const std::string& spec : names) {
    std::string name = spec;
    int width = -1;
    if (size_t pct = spec.find('%'); pct != std::string::npos) {
      name = spec.substr(0, pct);
      auto w = ParseUint(spec.substr(pct + 1));
      if (!w || *w == 0 || *w > 1000) return InvalidArgument("Invalid field width in '" + spec + "'");
      width = static_cast<int>(*w);
    }
    std::string canonical = name;
    if (auto it = FieldAliases().find(ToLower(name)); it != FieldAliases().end()) {
      canonical = it->second;
    }
    const Field* found = nullptr;
    for (const Field& f : fields) {
      if (EqualsIgnoreCase(f.name, canonical)) found = &f;
    }
    if (found == nullptr) return InvalidArgument("Invalid field requested: \"" + name + "\"");
    out.push_back({found, found->header, width > 0 ? width : found->width});
  }
  return out;
}

std::string Cell(std::string value, int width, bool left) {
  if (static_cast<int>(value.size()) > width) {
    value.resize(static_cast<size_t>(width - 1));
    value.push_back('+');
  }
  std::string pad(static_cast<size_t>(width) - value.size(), ' ');
  return left ? value + pad : pad + value;
}

std::string RenderTable(const std::vector<Column>& columns,
                        const std::vector<std::vector<std::string>>& rows, const TableStyle& style,
                        bool tree) {
  std::string out;
  auto line = [&](const std::vector<std::string>& cells, bool is_header) {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (style.parsable || style.parsable_no_end) {
        out += cells[i];
        if (style.parsable || i + 1 < columns.size()) out.push_back('|');
      } else {
        // In a tree listing the Account column is left-aligned, so its indentation shows.
        const bool left = tree && EqualsIgnoreCase(columns[i].field->name, "Account");
        out += Cell(cells[i], columns[i].width, left || (is_header && left));
        out.push_back(' ');
      }
    }
    out.push_back('\n');
  };
  if (style.header) {
    std::vector<std::string> headers;
    for (const Column& c : columns) headers.push_back(c.header);
    line(headers, true);
    if (!style.parsable && !style.parsable_no_end) {
      for (const Column& c : columns) out += std::string(static_cast<size_t>(c.width), '-') + " ";
      out.push_back('\n');
    }
  }
  for (const auto& row : rows) line(row, false);
  return out;
}

bool Listed(const std::vector<std::string>& wanted, std::string_view value) {
  return wanted.empty() || std::find(wanted.begin(), wanted.end(), value) != wanted.end();
}

// The association rows in the account tree's order: an account, its users, then the accounts
// below it, each level by name.
void TreeRows(const AccountingDb& db, const std::string& account, int depth,
              std::vector<AssocRow>& out) {
  const Account* a = db.FindAccount(account);
  if (a == nullptr || depth > 64) return;
  if (const Association* own = db.FindAssoc(account, "")) out.push_back({a, nullptr, own, depth});
  std::vector<const Association*> users;
  for (const Association& as : db.assocs) {
    if (as.account == account && !as.user.empty()) users.push_back(&as);
  }
  std::sort(users.begin(), users.end(), [](const Association* x, const Association* y) {
    return x->user != y->user ? x->user < y->user : x->partition < y->partition;
  });
  for (const Association* u : users) out.push_back({a, db.FindUser(u->user), u, depth + 1});
  std::vector<std::string> children;
  for (const Account& c : db.accounts) {
    if (c.parent == account) children.push_back(c.name);
  }
  std::sort(children.begin(), children.end());
  for (const std::string& c : children) TreeRows(db, c, depth + 1, out);
}

}  // namespace

Result<SacctmgrRequest> ParseSacctmgrWords(const std::vector<std::string>& words) {
  if (words.empty()) return InvalidArgument("No command given: add, modify, delete or show");
  SacctmgrRequest r;
  const std::string& verb = words[0];
  if (WordIs(verb, {"show", "list"})) {
    r.show = true;
  } else if (WordIs(verb, {"add", "create"})) {
    r.change.verb = Verb::kAdd;
  } else if (WordIs(verb, {"modify", "update"})) {
    r.change.verb = Verb::kModify;
  } else if (WordIs(verb, {"delete", "remove"})) {
    r.change.verb = Verb::kDelete;
  } else {
    return InvalidArgument("invalid keyword: " + verb);
  }
  if (words.size() < 2) return InvalidArgument("No entity given after '" + verb + "'");
  auto entity = ParseEntity(words[1]);
  if (!entity.ok()) return entity.status();
  r.entity = *entity;
  if (!r.show) {
    if (r.entity == SacctmgrEntity::kAssociation) {
      return InvalidArgument("Associations are changed through their user or account: e.g. "
                             "'modify user NAME where account=ACCOUNT set ...'");
    }
    if (r.entity == SacctmgrEntity::kEvent) {
      return InvalidArgument("Events are recorded by the controller; they can only be shown");
    }
    r.change.entity = r.entity == SacctmgrEntity::kAccount ? Entity::kAccount
                      : r.entity == SacctmgrEntity::kUser  ? Entity::kUser
                                                           : Entity::kQos;
  }
  bool after_set = false;
  for (size_t i = 2; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (WordIs(w, {"where"})) {
      if (r.change.verb == Verb::kAdd && !r.show) {
        return InvalidArgument("'where' is for modify, delete and show; add takes the names and "
                               "settings directly");
      }
      continue;
    }
    if (WordIs(w, {"set"})) {
      if (r.show || r.change.verb != Verb::kModify) {
        return InvalidArgument("'set' is only for modify");
      }
      after_set = true;
      continue;
    }
    if (r.show && WordIs(w, {"withassoc", "withassocs", "withassociations"})) {
      r.with_assoc = true;
      continue;
    }
    if (r.show && WordIs(w, {"tree"})) {
      r.tree = true;
      continue;
    }
    std::pair<std::string, std::string> pair;
    if (!SplitPair(w, pair)) {
      if (after_set) return InvalidArgument("Expected KEY=VALUE after 'set', got '" + w + "'");
      for (const std::string& name : Split(w, ',')) {
        if (name.empty()) continue;
        (r.show ? r.names : r.change.names).push_back(name);
      }
      continue;
    }
    if (r.show) {
      if (WordIs(pair.first, {"format", "fmt"})) {
        for (const std::string& f : Split(pair.second, ',')) {
          if (!f.empty()) r.format.push_back(f);
        }
      } else {
        r.conditions.push_back(std::move(pair));
      }
    } else if (r.change.verb == Verb::kAdd) {
      if (WordIs(pair.first, {"Name", "Names"})) {
        for (const std::string& name : Split(pair.second, ',')) {
          if (!name.empty()) r.change.names.push_back(name);
        }
      } else {
        r.change.settings.push_back(std::move(pair));
      }
    } else if (after_set) {
      r.change.settings.push_back(std::move(pair));
    } else {
      r.change.conditions.push_back(std::move(pair));
    }
  }
  if (!r.show && r.change.verb == Verb::kModify && !after_set) {
    return InvalidArgument("Nothing to set: modify needs 'set KEY=VALUE'");
  }
  return r;
}

Result<std::string> FormatSacctmgrTable(const SacctmgrRequest& r, const AccountingDb& db,
                                        const std::string& cluster, const TableStyle& style) {
  // Conditions, as lists of lower-case-insensitive values by key.
  std::vector<std::string> names = r.names, accounts, users, parents, partitions;
  for (const auto& [key, value] : r.conditions) {
    std::vector<std::string>* into = nullptr;
    if (WordIs(key, {"Name", "Names"})) {
      into = &names;
    } else if (WordIs(key, {"Account", "Accounts", "Acct"})) {
      into = &accounts;
    } else if (WordIs(key, {"User", "Users"})) {
      into = &users;
    } else if (WordIs(key, {"Parent", "ParentName"})) {
      into = &parents;
    } else if (WordIs(key, {"Partition", "Partitions"})) {
      into = &partitions;
    } else if (WordIs(key, {"Cluster", "Clusters"})) {
      continue;
    } else {
      return InvalidArgument("Unknown condition: " + key + "=" + value);
    }
    for (const std::string& v : Split(value, ',')) {
      if (!v.empty()) into->push_back(v);
    }
  }
  auto lower_all = [](std::vector<std::string> v) {
    for (std::string& s : v) s = ToLower(s);
    return v;
  };

  if (r.entity == SacctmgrEntity::kQos) {
    const std::vector<Field> fields = QosFields();
    std::vector<std::string> wanted = r.format;
    if (wanted.empty()) {
      for (const Field& f : fields) {
        if (std::string_view(f.name) != "Description") wanted.push_back(f.name);
      }
    }
    auto columns = ResolveColumns(fields, wanted);
    if (!columns.ok()) return columns.status();
    const std::vector<std::string> qos_names = lower_all(names);
    std::vector<std::vector<std::string>> rows;
    for (const Qos& q : db.qos) {
      if (!Listed(qos_names, q.name)) continue;
      std::vector<std::string> cells;
      for (const Column& c : *columns) cells.push_back(c.field->qos_value(q));
      rows.push_back(std::move(cells));
    }
    return RenderTable(*columns, rows, style, false);
  }

  const std::vector<Field> fields = AssocFields(db, cluster);
  std::vector<AssocRow> rows;
  std::vector<std::string> wanted = r.format;
  if (r.entity == SacctmgrEntity::kAccount) {
    const std::vector<std::string> account_names = lower_all(names.empty() ? accounts : names);
    std::vector<const Account*> sorted;
    for (const Account& a : db.accounts) {
      if (Listed(account_names, a.name) && Listed(lower_all(parents), a.parent)) sorted.push_back(&a);
    }
    std::sort(sorted.begin(), sorted.end(),
              [](const Account* x, const Account* y) { return x->name < y->name; });
    for (const Account* a : sorted) {
      if (!r.with_assoc) {
        rows.push_back({a, nullptr, nullptr, 0});
        continue;
      }
      std::vector<AssocRow> tree;
      TreeRows(db, a->name, 0, tree);
      for (const AssocRow& row : tree) {
        if (row.account == a && Listed(users, row.assoc->user)) rows.push_back(row);
      }
    }
    if (wanted.empty()) {
      wanted = {"Account", "Descr", "Org"};
      if (r.with_assoc) {
        for (const char* f : {"Cluster", "ParentName", "User", "Share", "Priority", "GrpJobs",
                              "GrpTRES", "GrpSubmit", "MaxJobs", "MaxTRES", "MaxSubmit", "MaxWall",
                              "QOS", "DefaultQOS"}) {
          wanted.push_back(f);
        }
      }
    }
  } else if (r.entity == SacctmgrEntity::kUser) {
    const std::vector<std::string> user_names = names.empty() ? users : names;
    std::vector<const UserRecord*> sorted;
    for (const UserRecord& u : db.users) {
      if (Listed(user_names, u.name)) sorted.push_back(&u);
    }
    std::sort(sorted.begin(), sorted.end(),
              [](const UserRecord* x, const UserRecord* y) { return x->name < y->name; });
    const std::vector<std::string> account_names = lower_all(accounts);
    for (const UserRecord* u : sorted) {
      std::vector<const Association*> mine;
      for (const Association& a : db.assocs) {
        if (a.user == u->name && Listed(account_names, a.account)) mine.push_back(&a);
      }
      if (!account_names.empty() && mine.empty()) continue;
      if (!r.with_assoc) {
        rows.push_back({nullptr, u, nullptr, 0});
        continue;
      }
      for (const Association* a : mine) rows.push_back({db.FindAccount(a->account), u, a, 0});
    }
    if (wanted.empty()) {
      wanted = {"User", "DefaultAccount", "AdminLevel"};
      if (r.with_assoc) {
        for (const char* f : {"Cluster", "Account", "Partition", "Share", "Priority", "MaxJobs",
                              "MaxTRES", "MaxSubmit", "MaxWall", "QOS", "DefaultQOS"}) {
          wanted.push_back(f);
        }
      }
    }
  } else {
    std::vector<AssocRow> tree;
    TreeRows(db, kRootAccount, 0, tree);
    const std::vector<std::string> account_names = lower_all(accounts);
    for (AssocRow& row : tree) {
      if (!Listed(account_names, row.assoc->account) || !Listed(users, row.assoc->user)) continue;
      if (!parents.empty() && (row.account == nullptr ||
                               !Listed(lower_all(parents), row.account->parent))) {
        continue;
      }
      if (!users.empty() && row.assoc->user.empty()) continue;
      if (!partitions.empty() && std::find(partitions.begin(), partitions.end(),
                                           row.assoc->partition) == partitions.end()) {
        continue;
      }
      rows.push_back(row);
    }
    if (wanted.empty()) {
      wanted = {"Cluster", "Account", "User", "Partition", "Share", "Priority", "GrpJobs",
                "GrpTRES", "GrpSubmit", "GrpWall", "GrpTRESMins", "MaxJobs", "MaxTRES",
                "MaxTRESPerNode", "MaxSubmit", "MaxWall", "MaxTRESMins", "QOS", "DefaultQOS",
                "GrpTRESRunMin"};
    }
  }
  auto columns = ResolveColumns(fields, wanted);
  if (!columns.ok()) return columns.status();
  if (r.tree) {
    for (Column& c : *columns) {
      if (EqualsIgnoreCase(c.field->name, "Account") && c.width == c.field->width) c.width = 20;
    }
  }
  std::vector<std::vector<std::string>> cells;
  for (const AssocRow& row : rows) {
    std::vector<std::string> line;
    for (const Column& c : *columns) {
      std::string v = c.field->assoc_value(row);
      if (r.tree && EqualsIgnoreCase(c.field->name, "Account")) {
        v = std::string(static_cast<size_t>(row.depth), ' ') + v;
      }
      line.push_back(std::move(v));
    }
    cells.push_back(std::move(line));
  }
  return RenderTable(*columns, cells, style, r.tree);
}

Result<std::string> FormatSacctmgrEvents(const SacctmgrRequest& r,
                                         const std::vector<NodeEventRow>& events,
                                         const std::string& cluster, const TableStyle& style) {
  std::vector<std::string> nodes = r.names, states;
  for (const auto& [key, value] : r.conditions) {
    std::vector<std::string>* into = nullptr;
    if (WordIs(key, {"Nodes", "Node", "NodeName", "NodeNames", "NodeList"})) {
      into = &nodes;
    } else if (WordIs(key, {"States", "State"})) {
      into = &states;
    } else if (WordIs(key, {"Start", "StartTime", "End", "EndTime", "Cluster", "Clusters", "Event",
                            "Events"})) {
      continue;
    } else {
      return InvalidArgument("Unknown condition: " + key + "=" + value);
    }
    for (const std::string& v : Split(value, ',')) {
      if (!v.empty()) into->push_back(v);
    }
  }
  const std::vector<Field> fields = {
      {"Cluster", "Cluster", 10, nullptr, nullptr},
      {"NodeName", "NodeName", 15, nullptr, nullptr},
      {"TimeStart", "TimeStart", 19, nullptr, nullptr},
      {"TimeEnd", "TimeEnd", 19, nullptr, nullptr},
      {"State", "State", 6, nullptr, nullptr},
      {"Reason", "Reason", 30, nullptr, nullptr},
      {"User", "User", 10, nullptr, nullptr},
      {"Duration", "Duration", 13, nullptr, nullptr},
      {"CPUs", "CPUs", 9, nullptr, nullptr},
  };
  std::vector<std::string> wanted = r.format;
  if (wanted.empty()) {
    wanted = {"Cluster", "NodeName", "TimeStart", "TimeEnd", "State", "Reason", "User"};
  }
  auto columns = ResolveColumns(fields, wanted);
  if (!columns.ok()) return columns.status();
  std::vector<std::vector<std::string>> rows;
  for (const NodeEventRow& e : events) {
    if (!Listed(nodes, e.node)) continue;
    if (!states.empty() && std::none_of(states.begin(), states.end(), [&](const std::string& s) {
          return EqualsIgnoreCase(s, e.state);
        })) {
      continue;
    }
    std::vector<std::string> cells;
    for (const Column& c : *columns) {
      const std::string_view name = c.field->name;
      if (name == "Cluster") cells.push_back(cluster);
      if (name == "NodeName") cells.push_back(e.node);
      if (name == "TimeStart") cells.push_back(FormatTimestamp(e.start));
      if (name == "TimeEnd") cells.push_back(e.end == 0 ? "Unknown" : FormatTimestamp(e.end));
      if (name == "State") cells.push_back(e.state);
      if (name == "Reason") cells.push_back(e.reason);
      if (name == "User") cells.push_back("");
      if (name == "Duration") {
        cells.push_back(e.end == 0 ? "" : FormatElapsed(e.end - e.start));
      }
      if (name == "CPUs") cells.push_back(std::to_string(e.cpus));
    }
    rows.push_back(std::move(cells));
  }
  return RenderTable(*columns, rows, style, false);
}

std::string DescribeChange(const AccountingChange& change, const std::vector<std::string>& items) {
  const bool assoc_items =
      !items.empty() && items.front().rfind("A = ", 0) == 0;
  std::string out;
  switch (change.verb) {
    case Verb::kAdd:
      out = change.entity == Entity::kAccount ? " Adding Account(s)\n"
            : change.entity == Entity::kUser  ? " Associations =\n"
                                              : " Adding QOS(s)\n";
      break;
    case Verb::kModify:
      out = change.entity == Entity::kQos ? " Modified qos...\n"
            : change.entity == Entity::kUser
                ? (assoc_items ? " Modified user associations...\n" : " Modified users...\n")
                : " Modified account associations...\n";
      break;
    case Verb::kDelete:
      out = change.entity == Entity::kAccount ? " Deleting accounts...\n"
            : change.entity == Entity::kUser  ? " Deleting users...\n"
                                              : " Deleting QOS(s)...\n";
      break;
  }
  for (const std::string& item : items) out += "  " + item + "\n";
  if (change.verb != Verb::kDelete && !change.settings.empty()) {
    out += change.verb == Verb::kAdd ? " Settings\n" : " Set\n";
    for (const auto& [key, value] : change.settings) out += "  " + key + " = " + value + "\n";
  }
  return out;
}

}  // namespace shoal
