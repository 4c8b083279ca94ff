// Association and QOS limits on running jobs, as a scheduling pass applies them: which limit
// keeps a pending job from starting now (Slurm's reason), and the counters the jobs already
// running (and those the pass starts) use up. Only under AccountingStorageEnforce=limits.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/accounting.h"
#include "core/model.h"

namespace shoal {

// What a job holds (running) or asks for (pending) in TRES terms.
Tres JobTres(const Job& job);

class LimitTracker {
 public:
  // Starts a pass over `db` (which must outlive the pass); with null every job may start. What
  // it derives from the associations is kept while `db` and its version stay the same.
  void Reset(const AccountingDb* db);
  bool active() const { return db_ != nullptr; }

  // Slurm's reason for the first limit that keeps `job` from starting now ("AssocGrpCpuLimit",
  // "QOSMaxJobsPerUserLimit", ...), or "" when none does. `qos` is the job's QOS (may be null).
  std::string_view Blocker(const Job& job, const Qos* qos);
  // Counts a running job, or one the pass starts, against every limit it falls under.
  void Charge(const Job& job, const Qos* qos);

 private:
  struct Usage {
    int64_t jobs = 0;
    Tres tres{0, 0, 0, 0};
  };
  struct AssocInfo {
    const Association* assoc = nullptr;  // null: the job has no association (no limits)
    AssocLimits effective;
    int64_t running = 0;  // its own running jobs (MaxJobs)
    // The associations whose Grp limits bind it (its own, its account's, and those above),
    // only those that set one.
    std::vector<const Association*> groups;
    std::vector<Usage*> group_use;  // parallel to groups: their entries in assoc_use_
    bool limited = false;           // any limit at all applies to it
  };
  AssocInfo& InfoOf(const Job& job);
  // Whether a QOS sets any limit this class applies (MaxJobsPerUser is the scheduler's own).
  static bool Limited(const Qos& q);
  const std::string& Key(std::string_view a, std::string_view b);

  const AccountingDb* db_ = nullptr;
  const AccountingDb* cached_db_ = nullptr;  // what info_ was derived from
  uint64_t cached_version_ = 0;
  // Per association (null: jobs without one); jobs find theirs through job_info_.
  std::unordered_map<const Association*, AssocInfo> info_;
  std::unordered_map<std::string, AssocInfo*> job_info_;     // "account\0user\0partition"
  std::unordered_map<const Association*, Usage> assoc_use_;  // subtree usage for Grp limits
  std::unordered_map<std::string, Usage> qos_use_;           // by QOS name
  std::unordered_map<std::string, Usage> qos_user_use_;      // "qos\0user"
  std::string key_;  // scratch for Key, so lookups allocate nothing
};

}  // namespace shoal
