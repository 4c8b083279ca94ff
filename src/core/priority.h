// Multifactor job priority and the fair-share usage it reads. Pure functions of values and
// times: the controller owns the usage state (and persists it), the core only computes.
//
// A pending job's priority is, as in Slurm's priority/multifactor,
//   sum over factors of weight * factor  -  nice
// truncated to an integer and at least 1 (a held job's is 0). Every factor lies in [0, 1]:
//   age        time since the job became eligible over PriorityMaxAge (capped at 1);
//   assoc      the job's account's priority over the largest account priority;
//   fair share the job's association's factor over the account tree (core/shares.h: Fair Tree,
//              or classic 2^(-U/S)), from the decayed CPU-seconds each association used;
//   job size   the mean of the requested nodes over all nodes and the requested CPUs over all
//              CPUs (an exclusive job asks for its nodes' CPUs; PriorityFavorSmall: the mean of
//              one minus each);
//   partition  the partition's PriorityJobFactor over the largest one;
//   QOS        the QOS's Priority over the largest QOS Priority.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"
#include "core/qos.h"

namespace shoal {

struct PriorityWeights {
  uint32_t age = 0;                   // PriorityWeightAge
  uint32_t assoc = 0;                 // PriorityWeightAssoc
  uint32_t fairshare = 0;             // PriorityWeightFairshare
  uint32_t job_size = 0;              // PriorityWeightJobSize
  uint32_t partition = 0;             // PriorityWeightPartition
  uint32_t qos = 0;                   // PriorityWeightQOS
  int64_t max_age_s = 7 * 24 * 3600;  // PriorityMaxAge
  bool favor_small = false;           // PriorityFavorSmall

  // True when priorities change with time alone (then they are recomputed as time passes).
  bool TimeDependent() const { return age > 0 || fairshare > 0; }
};

// The factors of a priority: each in [0, 1] as ComputeFactors gives them, or times its weight
// after Weigh; nice as the user gave it.
struct PriorityFactors {
  double age = 0;
  double assoc = 0;
  double fairshare = 0;
  double job_size = 0;
  double partition = 0;
  double qos = 0;
  int32_t nice = 0;
  // The weighted factors' sum (nice apart).
  double Sum() const { return age + assoc + fairshare + job_size + partition + qos; }
};

// What the factors are measured against, worked out once per pass.
struct PriorityContext {
  uint32_t total_nodes = 0;           // 0: the nodes half of job size is 0
  uint64_t total_cpus = 0;            // 0: the CPUs half of job size is 0
  uint32_t max_partition_factor = 0;  // largest PriorityJobFactor; 0: partition factor 0
  uint32_t max_qos_priority = 0;      // largest QOS Priority; 0: QOS factor 0
  uint32_t max_assoc_priority = 0;    // largest account priority; 0: assoc factor 0
};

// Accounts' shares and priorities (shoal's `Account=NAME Fairshare=N Priority=N` config line
// until sacctmgr arrives). Accounts and users not listed have 1 share and priority 0.
struct AccountConfig {
  std::string name;
  uint32_t shares = 1;
  uint32_t priority = 0;
};

PriorityContext MakePriorityContext(const std::vector<Node>& nodes,
                                    const std::vector<Partition>& partitions,
                                    const std::vector<Qos>& qos,
                                    const std::vector<AccountConfig>& accounts);

// `fairshare` is the job's association's fair-share factor (FairShareFactors); `qos` and
// `partition` may be null (factor 0).
PriorityFactors ComputeFactors(const Job& job, const Partition* partition, const Qos* qos,
                               double fairshare, uint32_t assoc_priority,
                               const PriorityContext& ctx, const PriorityWeights& w, int64_t now);
// ComputeFactors' parts, for a caller that keeps what does not change and computes the rest (the
// controller's priority listing): the age factor of a job eligible since `since`, ...
double AgeFactor(int64_t since, int64_t now, const PriorityWeights& w);
double JobSizeFactor(const JobRequest& req, const PriorityContext& ctx, const PriorityWeights& w);
double AssocFactor(uint32_t assoc_priority, const PriorityContext& ctx);
double FairshareFactor(double fairshare);
double PartitionFactor(const Partition* partition, const PriorityContext& ctx);  // null: 0
double QosFactor(const Qos* qos, const PriorityContext& ctx);                    // null: 0
// The factors times their weights (what sprio shows); nice unchanged.
PriorityFactors Weigh(const PriorityFactors& f, const PriorityWeights& w);
// The priority of a job with these factors (not held): the weighted sum minus nice, truncated,
// within [1, 2^32 - 1].
uint32_t PriorityOf(const PriorityFactors& f, const PriorityWeights& w);
// A job's priority: 0 when held, else PriorityOf.
inline uint32_t JobPriority(const Job& job, const PriorityFactors& f, const PriorityWeights& w) {
  return job.held ? 0 : PriorityOf(f, w);
}

// --- fair share ------------------------------------------------------------------------------

// An association: a user within an account.
struct UsageKey {
  std::string account;
  std::string user;
  auto operator<=>(const UsageKey&) const = default;
};

inline UsageKey UsageKeyOf(const JobRequest& req) { return {req.account, req.user}; }

// Decayed usage per association, in CPU-seconds.
struct UsageState {
  std::map<UsageKey, double> usage;
  int64_t as_of = 0;       // the time `usage` is decayed to (0: never decayed)
  int64_t last_reset = 0;  // when usage was last cleared (PriorityUsageResetPeriod)
};

// 2^(-elapsed / half_life); 1 when half_life_s <= 0 (PriorityDecayHalfLife=0: no decay) or
// elapsed_s <= 0.
double DecayFactor(int64_t half_life_s, int64_t elapsed_s);

// Decays every association's usage from state.as_of to `now` and sets as_of = now (a state never
// decayed before just takes the time). Usage that has decayed below a thousandth of a CPU-second
// is forgotten.
void DecayUsage(UsageState& state, int64_t now, int64_t half_life_s);

// CPU-seconds `job` ran within [from, to] times `usage_factor`: its allocated CPUs over the
// overlap of its run (start_time until end_time, or until `to` while it runs) with the window.
double UsageBetween(const Job& job, int64_t from, int64_t to, double usage_factor);

void ChargeUsage(UsageState& state, const UsageKey& key, double cpu_seconds);


// PriorityUsageResetPeriod.
enum class UsageResetPeriod : uint8_t {
  kNone,
  kNow,  // cleared once, when the controller starts with this setting
  kDaily,
  kWeekly,  // Sundays at 00:00
  kMonthly,
  kQuarterly,
  kYearly,
};
const char* UsageResetPeriodName(UsageResetPeriod p);
std::optional<UsageResetPeriod> ParseUsageResetPeriod(std::string_view text);

// The first reset time strictly after `t` (epoch seconds) for a calendar period, counted in the
// local time `utc_offset_s` east of UTC; kNever (core/plan.h) for kNone and kNow.
int64_t NextUsageReset(UsageResetPeriod period, int64_t t, int64_t utc_offset_s);

}  // namespace shoal
