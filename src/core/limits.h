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

// The associations of a database by account and user, for a caller that looks up many (the
// controller stamping every job with its association: StampAssoc). Built once per version.
class AssocLookup {
 public:
  void Build(const AccountingDb& db);
  // The index in the database's assocs of the association a job of (account, user) in
  // `partition` uses (AccountingDb::JobAssoc), or kNoAssoc.
  uint32_t Find(std::string_view account, std::string_view user,
                std::string_view partition) const;

 private:
  std::unordered_map<std::string, uint32_t> index_;  // "account\0user\0partition"
};

// Sets `job`'s association index (Job::assoc_index) and its version to `db`'s, from `lookup`
// (built from `db` as it is now).
void StampAssoc(Job& job, const AccountingDb& db, const AssocLookup& lookup);

class LimitTracker {
 public:
  // Starts a pass over `db` (which must outlive the pass); with null every job may start. What
  // it derives from the associations is kept while `db` and its version stay the same. A job
  // stamped with `db`'s version (StampAssoc) is found by its index; others by name.
  void Reset(const AccountingDb* db);
  bool active() const { return db_ != nullptr; }
  // Whether some QOS sets a limit this class applies: without one, Charge needs no QOS.
  bool qos_limited() const { return qos_limited_; }

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
    bool built = false;    // derived from the database (when a job first needs it)
    bool limited = false;  // any limit at all applies to it
    const Association* assoc = nullptr;  // null: the job has no association (no limits)
    AssocLimits effective;
    int64_t running = 0;  // its own running jobs (MaxJobs)
    // The associations whose Grp limits bind it (its own, its account's, and those above),
    // only those that set one.
    std::vector<const Association*> groups;
    std::vector<Usage*> group_use;  // parallel to groups: their entries in assoc_use_
  };
  AssocInfo& InfoOf(const Job& job);
  // The slot of a job not stamped with the database's version, looked up by name.
  uint32_t SlotByName(const Job& job);
  void Build(AssocInfo& info, uint32_t slot);
  // Whether a QOS sets any limit this class applies (MaxJobsPerUser is the scheduler's own).
  static bool Limited(const Qos& q);
  const std::string& Key(std::string_view a, std::string_view b);

  const AccountingDb* db_ = nullptr;
  bool qos_limited_ = false;
  // Whether some limit counts GPUs: a running job's GPUs are counted only then (they sit in a
  // vector per node, one more memory access per job).
  bool gpu_limited_ = false;
  const AccountingDb* cached_db_ = nullptr;  // what slots_ were derived from
  uint64_t cached_version_ = 0;
  // By association index (Job::assoc_index), and one more, the last, for jobs without one.
  std::vector<AssocInfo> slots_;
  std::vector<uint32_t> used_slots_;  // the slots built, to clear their counts on Reset
  std::vector<Usage> assoc_use_;      // by association index: subtree usage for Grp limits
  std::unordered_map<std::string, uint32_t> slot_by_key_;  // "account\0user\0partition"
  std::unordered_map<std::string, Usage> qos_use_;       // by QOS name
  std::unordered_map<std::string, Usage> qos_user_use_;  // "qos\0user"
  std::string key_;  // scratch for Key, so lookups allocate nothing
};

}  // namespace shoal
