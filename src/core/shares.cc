#include "core/shares.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <tuple>

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
        // One row per user: partition associations share the user's usage; the
        // partition-less association (else the first) stands for them.
        if (!a.partition.empty() && db.FindAssoc(account, a.user) != nullptr) continue;
        if (std::any_of(users.begin(), users.end(),
                        [&](const Association* u) { return u->user == a.user; })) {
          continue;
        }
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

// The account tree with users as leaves, for the fair-share factors.
struct TreeNode {
  std::string account;
  std::string user;  // "" for an account
  double shares = 1;
  double usage = 0;  // a user's own; an account's whole subtree's
  std::vector<TreeNode*> children;
};

class FairShareTree {
 public:
  FairShareTree(const AccountingDb& db, const UsageState& usage,
                const std::vector<UsageKey>& extra) {
    for (const Account& a : db.accounts) {
      const Association* own = db.FindAssoc(a.name, "");
      Node(a.name, "")->shares = own == nullptr ? 1 : own->shares;
    }
    for (const Account& a : db.accounts) {
      if (a.name != kRootAccount) AccountNode(a.parent)->children.push_back(Node(a.name, ""));
    }
    for (const Association& a : db.assocs) {
      if (!a.user.empty()) AddUser(a.account, a.user, a.shares);
    }
    for (const UsageKey& k : extra) AddUser(k.account, k.user, 1);
    for (const auto& [k, u] : usage.usage) {
      if (TreeNode* user = AddUser(k.account, k.user, 1)) user->usage = u;
    }
    SumUsage(AccountNode(kRootAccount), 0);
  }

  std::map<UsageKey, double> Factors(FairShareAlgorithm algorithm) {
    TreeNode* root = AccountNode(kRootAccount);
    std::map<UsageKey, double> out;
    if (root->usage <= 0) {
      for (const TreeNode* u : users_) out[{u->account, u->user}] = 1.0;
      return out;
    }
    if (algorithm == FairShareAlgorithm::kClassic) {
      Classic(root, 1.0, root->usage, 0, &out);
      return out;
    }
    std::vector<std::pair<const TreeNode*, bool>> order;  // user, tied with the one before
    Rank(root, 0, &order);
    const double n = static_cast<double>(order.size());
    double rank = n;
    for (size_t i = 0; i < order.size(); ++i) {
      if (!order[i].second) rank = n - static_cast<double>(i);
      out[{order[i].first->account, order[i].first->user}] = rank / n;
    }
    return out;
  }

 private:
  TreeNode* Node(const std::string& account, const std::string& user) {
    auto& slot = nodes_[{account, user}];
    if (!slot) slot = std::make_unique<TreeNode>(TreeNode{account, user, 1, 0, {}});
    return slot.get();
  }
  // An account known to the tree, or root for one it does not know.
  TreeNode* AccountNode(const std::string& name) {
    auto it = nodes_.find({name, ""});
    return it != nodes_.end() ? it->second.get() : Node(kRootAccount, "");
  }
  // The user's node, added under its account when new; null for a nameless user.
  TreeNode* AddUser(const std::string& account, const std::string& user, uint32_t shares) {
    if (user.empty()) return nullptr;
    TreeNode* parent = AccountNode(account);
    const UsageKey key{account, user};
    if (auto it = nodes_.find(key); it != nodes_.end()) return it->second.get();
    TreeNode* u = Node(account, user);
    u->shares = shares;
    parent->children.push_back(u);
    users_.push_back(u);
    return u;
  }
  double SumUsage(TreeNode* n, int depth) {
    if (depth > 64) return n->usage;  // the database refuses cycles; never recurse forever
    for (TreeNode* c : n->children) {
      if (!c->user.empty()) {
        n->usage += c->usage;
      } else {
        n->usage += SumUsage(c, depth + 1);
      }
    }
    return n->usage;
  }

  void Classic(const TreeNode* n, double norm, double total, int depth,
               std::map<UsageKey, double>* out) {
    double sibling_shares = 0;
    for (const TreeNode* c : n->children) sibling_shares += c->shares;
    for (const TreeNode* c : n->children) {
      const double s = sibling_shares > 0 ? norm * c->shares / sibling_shares : 0;
      if (!c->user.empty()) {
        const double u = c->usage / total;
        (*out)[{c->account, c->user}] = s <= 0 ? 0 : std::exp2(-u / s);
      } else if (depth < 64) {
        Classic(c, s, total, depth + 1, out);
      }
    }
  }

  // Level fair share of each child: its shares over its usage, both as parts of its siblings'.
  // No usage ranks first; no shares ranks last.
  void Rank(const TreeNode* n, int depth, std::vector<std::pair<const TreeNode*, bool>>* order) {
    double shares = 0, usage = 0;
    for (const TreeNode* c : n->children) {
      shares += c->shares;
      usage += c->usage;
    }
    struct Entry {
      const TreeNode* node;
      double level;
    };
    std::vector<Entry> entries;
    for (const TreeNode* c : n->children) {
      const double s = shares > 0 ? c->shares / shares : 0;
      const double u = usage > 0 ? c->usage / usage : 0;
      double level = s <= 0   ? 0
                     : u <= 0 ? std::numeric_limits<double>::infinity()
                              : s / u;
      entries.push_back({c, level});
    }
    // Highest first; at equal level users before accounts, then by name (a stable order).
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      if (a.level != b.level) return a.level > b.level;
      if (a.node->user.empty() != b.node->user.empty()) return !a.node->user.empty();
      return std::tie(a.node->account, a.node->user) < std::tie(b.node->account, b.node->user);
    });
    const TreeNode* previous_user = nullptr;
    double previous_level = 0;
    for (const Entry& e : entries) {
      if (!e.node->user.empty()) {
        // Users of one account with the same level fair share share a rank.
        const bool tied = previous_user != nullptr && previous_level == e.level;
        order->emplace_back(e.node, tied);
        previous_user = e.node;
        previous_level = e.level;
      } else {
        previous_user = nullptr;
        if (depth < 64) Rank(e.node, depth + 1, order);
      }
    }
  }

  std::map<UsageKey, std::unique_ptr<TreeNode>> nodes_;
  std::vector<const TreeNode*> users_;
};

}  // namespace

std::map<UsageKey, double> FairShareFactors(const AccountingDb& db, const UsageState& usage,
                                            const std::vector<UsageKey>& extra,
                                            FairShareAlgorithm algorithm) {
  FairShareTree tree(db, usage, extra);
  return tree.Factors(algorithm);
}

std::vector<ShareRow> ShareRows(const AccountingDb& db, const UsageState& usage,
                                const std::map<UsageKey, double>& factors) {
  Walker w{db, usage, factors, 0, {}};
  for (const auto& [key, u] : usage.usage) w.total_usage += u;
  w.Visit(kRootAccount, 0, 1.0);
  return std::move(w.rows);
}

}  // namespace shoal
