// What sshare shows: each association in the account tree with its shares, normalised over its
// siblings and scaled by its parent's (Slurm's NormShares), its decayed usage (an account's is
// its subtree's), that usage over everyone's, and the fair-share factor priorities use.
#pragma once

#include <cstdint>
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

// How the account tree's shares and usage become fair-share factors (PriorityFlags).
enum class FairShareAlgorithm : uint8_t {
  // Slurm's default since 19.05: siblings are ranked by their level fair share, shares over
  // usage both normalised among the siblings; a depth-first walk in that order ranks every user
  // association, and the factor is its rank over the number of users (the first gets 1).
  kFairTree,
  // PriorityFlags=NO_FAIR_TREE: 2^(-U/S), U the association's usage over everyone's, S its
  // shares normalised down the tree (sshare's NormShares).
  kClassic,
};

// The fair-share factor of every user association in `db`'s tree, and of every key in `extra`
// (associations with usage or live jobs). A key the database lacks counts as a user with one
// share in its account, or in root when the account is unknown too, so a cluster without
// sacctmgr still shares fairly between its users. Without any usage every factor is 1.
std::map<UsageKey, double> FairShareFactors(const AccountingDb& db, const UsageState& usage,
                                            const std::vector<UsageKey>& extra,
                                            FairShareAlgorithm algorithm);

// Rows in the tree's order (an account, its users, then its sub-accounts, by name).
// `factors` are the fair-share factors by association (FairShareFactors); a user association
// missing from it gets 1 (no usage yet).
std::vector<ShareRow> ShareRows(const AccountingDb& db, const UsageState& usage,
                                const std::map<UsageKey, double>& factors);

}  // namespace shoal
