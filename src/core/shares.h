// What sshare shows: each association in the account tree with its shares, normalised over its
// siblings and scaled by its parent's (Slurm's NormShares), its decayed usage (an account's is
// its subtree's), that usage over everyone's, and the fair-share factor priorities use.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/accounting.h"
#include "core/priority.h"

namespace shoal {

struct ShareRow {
  std::string account;
  std::string user;   // "" for an account's own row
  int depth = 0;      // in the tree (root 0; a user one below its account)
  uint32_t raw_shares = 0;
  double norm_shares = 0;
  double raw_usage = 0;        // decayed CPU-seconds
  double effective_usage = 0;  // raw usage over all usage (0 when there is none)
  double fairshare = -1;       // the priority factor of a user's association; -1 for accounts
};

// Rows in the tree's order (an account, its users, then its sub-accounts, by name).
// `factors` are the fair-share factors by association (FairShareFactors); a user association
// missing from it gets 1 (no usage yet).
std::vector<ShareRow> ShareRows(const AccountingDb& db, const UsageState& usage,
                                const std::map<UsageKey, double>& factors);

}  // namespace shoal
