#include "core/shares.h"

#include <algorithm>

namespace shoal {
namespace {

struct Walker {
  const AccountingDb& db;
  const UsageState& usage;
  const std::map<UsageKey, double>& factors;
  double total_usage = 0;
  std::vector<ShareRow> rows;

  // Usage of an account's whole subtree.
  double SubtreeUsage(const std::string& account, int depth) const {
    double sum = 0;
    for (const auto& [key, u] : usage.usage) {
      if (key.account == account) sum += u;
    }
    if (depth > 64) return sum;
    for (const Account& a : db.accounts) {
      if (a.parent == account) sum += SubtreeUsage(a.name, depth + 1);
    }
    return sum;
  }

  double Effective(double raw) const { return total_usage > 0 ? raw / total_usage : 0; }

  void Visit(const std::string& account, int depth, double norm) {
    const Association* own = db.FindAssoc(account, "");
    ShareRow row;
    row.account = account;
    row.depth = depth;
    row.raw_shares = own == nullptr ? 1 : own->shares;
    row.norm_shares = norm;
    row.raw_usage = SubtreeUsage(account, 0);
    row.effective_usage = Effective(row.raw_usage);
    rows.push_back(row);
    if (depth > 64) return;
    // Children: the account's users and its sub-accounts share its part by their shares.
    std::vector<const Association*> users;
    std::vector<const Account*> subs;
    double child_shares = 0;
    for (const Association& a : db.assocs) {
      if (a.account == account && !a.user.empty()) {
        users.push_back(&a);
        child_shares += a.shares;
      }
    }
    for (const Account& a : db.accounts) {
      if (a.parent == account) {
        subs.push_back(&a);
        const Association* sub = db.FindAssoc(a.name, "");
        child_shares += sub == nullptr ? 1 : sub->shares;
      }
    }
    auto part = [&](uint32_t shares) {
      return child_shares > 0 ? norm * shares / child_shares : 0.0;
    };
    std::sort(users.begin(), users.end(),
              [](const Association* x, const Association* y) { return x->user < y->user; });
    for (const Association* u : users) {
      ShareRow r;
      r.account = account;
      r.user = u->user;
      r.depth = depth + 1;
      r.raw_shares = u->shares;
      r.norm_shares = part(u->shares);
      auto it = usage.usage.find({account, u->user});
      r.raw_usage = it == usage.usage.end() ? 0 : it->second;
      r.effective_usage = Effective(r.raw_usage);
      auto f = factors.find({account, u->user});
      r.fairshare = f == factors.end() ? 1.0 : f->second;
      rows.push_back(std::move(r));
    }
    std::sort(subs.begin(), subs.end(),
              [](const Account* x, const Account* y) { return x->name < y->name; });
    for (const Account* a : subs) {
      const Association* sub = db.FindAssoc(a->name, "");
      Visit(a->name, depth + 1, part(sub == nullptr ? 1 : sub->shares));
    }
  }
};

}  // namespace

std::vector<ShareRow> ShareRows(const AccountingDb& db, const UsageState& usage,
                                const std::map<UsageKey, double>& factors) {
  Walker w{db, usage, factors, 0, {}};
  for (const auto& [key, u] : usage.usage) w.total_usage += u;
  w.Visit(kRootAccount, 0, 1.0);
  return std::move(w.rows);
}

}  // namespace shoal
