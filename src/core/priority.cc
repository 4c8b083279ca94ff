#include "core/priority.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <set>

#include "core/plan.h"

namespace shoal {
namespace {

double Clamp01(double x) { return x < 0 ? 0 : (x > 1 ? 1 : x); }

double Ratio(double part, double whole) { return whole <= 0 ? 0 : Clamp01(part / whole); }

// CPUs a request asks for in all (what the job-size factor measures, with whole nodes for
// exclusive jobs).
uint64_t RequestedCpus(const JobRequest& req) {
  const uint64_t nodes = std::max<uint32_t>(1, req.min_nodes);
  const uint64_t tasks = req.ntasks_per_node > 0 ? uint64_t{req.ntasks_per_node} * nodes
                                                 : std::max<uint32_t>(1, req.ntasks);
  return tasks * std::max<uint32_t>(1, req.cpus_per_task);
}

// Days since 1970-01-01 of a proleptic Gregorian date, and back. Eras of 400 years repeat
// exactly, so the arithmetic is done within one era starting on a March 1st (leap days last).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, int64_t& m) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = yoe + era * 400 + (m <= 2);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

PriorityContext MakePriorityContext(const std::vector<Node>& nodes,
                                    const std::vector<Partition>& partitions,
                                    const std::vector<Qos>& qos,
                                    const std::vector<AccountConfig>& accounts) {
  PriorityContext ctx;
  ctx.total_nodes = static_cast<uint32_t>(nodes.size());
  for (const Node& n : nodes) ctx.total_cpus += n.cpus;
  for (const Partition& p : partitions) {
    ctx.max_partition_factor = std::max(ctx.max_partition_factor, p.priority_job_factor);
  }
  for (const Qos& q : qos) ctx.max_qos_priority = std::max(ctx.max_qos_priority, q.priority);
  for (const AccountConfig& a : accounts) {
    ctx.max_assoc_priority = std::max(ctx.max_assoc_priority, a.priority);
  }
  return ctx;
}

double AgeFactor(int64_t since, int64_t now, const PriorityWeights& w) {
  if (w.max_age_s <= 0) return 0;
  return Ratio(static_cast<double>(std::max<int64_t>(0, now - since)),
               static_cast<double>(w.max_age_s));
}

double JobSizeFactor(const JobRequest& req, const PriorityContext& ctx,
                     const PriorityWeights& w) {
  const double node_part = Ratio(std::max<uint32_t>(1, req.min_nodes), ctx.total_nodes);
  double cpus = static_cast<double>(RequestedCpus(req));
  if (req.exclusive && ctx.total_nodes > 0) {
    // Whole nodes: as many CPUs as its nodes hold (of the average node).
    cpus = std::max(cpus, std::max<uint32_t>(1, req.min_nodes) *
                              static_cast<double>(ctx.total_cpus) / ctx.total_nodes);
  }
  const double cpu_part = Ratio(cpus, static_cast<double>(ctx.total_cpus));
  const bool nodes_known = ctx.total_nodes > 0, cpus_known = ctx.total_cpus > 0;
  if (w.favor_small) {
    return ((nodes_known ? 1 - node_part : 0) + (cpus_known ? 1 - cpu_part : 0)) / 2;
  }
  return (node_part + cpu_part) / 2;
}

double AssocFactor(uint32_t assoc_priority, const PriorityContext& ctx) {
  return Ratio(assoc_priority, ctx.max_assoc_priority);
}

double FairshareFactor(double fairshare) { return Clamp01(fairshare); }

double PartitionFactor(const Partition* partition, const PriorityContext& ctx) {
  if (partition == nullptr) return 0;
  return Ratio(partition->priority_job_factor, ctx.max_partition_factor);
}

double QosFactor(const Qos* qos, const PriorityContext& ctx) {
  return qos == nullptr ? 0 : Ratio(qos->priority, ctx.max_qos_priority);
}

PriorityFactors ComputeFactors(const Job& job, const Partition* partition, const Qos* qos,
                               double fairshare, uint32_t assoc_priority,
                               const PriorityContext& ctx, const PriorityWeights& w, int64_t now) {
  PriorityFactors f;
  f.age = AgeFactor(std::max(job.submit_time, job.eligible_time), now, w);
  f.assoc = AssocFactor(assoc_priority, ctx);
  f.fairshare = FairshareFactor(fairshare);
  f.job_size = JobSizeFactor(job.req, ctx, w);
  f.partition = PartitionFactor(partition, ctx);
  f.qos = QosFactor(qos, ctx);
  f.nice = job.req.nice;
  return f;
}

PriorityFactors Weigh(const PriorityFactors& f, const PriorityWeights& w) {
  PriorityFactors x;
  x.nice = f.nice;
  x.age = w.age * f.age;
  x.assoc = w.assoc * f.assoc;
  x.fairshare = w.fairshare * f.fairshare;
  x.job_size = w.job_size * f.job_size;
  x.partition = w.partition * f.partition;
  x.qos = w.qos * f.qos;
  return x;
}

uint32_t PriorityOf(const PriorityFactors& f, const PriorityWeights& w) {
  const double p = std::floor(Weigh(f, w).Sum() - f.nice);
  if (p < 1) return 1;
  if (p >= static_cast<double>(std::numeric_limits<uint32_t>::max())) {
    return std::numeric_limits<uint32_t>::max();
  }
  return static_cast<uint32_t>(p);
}

// --- fair share ------------------------------------------------------------------------------

double DecayFactor(int64_t half_life_s, int64_t elapsed_s) {
  if (half_life_s <= 0 || elapsed_s <= 0) return 1;
  return std::exp2(-static_cast<double>(elapsed_s) / static_cast<double>(half_life_s));
}

void DecayUsage(UsageState& state, int64_t now, int64_t half_life_s) {
  if (state.as_of != 0 && now > state.as_of) {
    const double factor = DecayFactor(half_life_s, now - state.as_of);
    for (auto it = state.usage.begin(); it != state.usage.end();) {
      it->second *= factor;
      it = it->second < 1e-3 ? state.usage.erase(it) : std::next(it);
    }
  }
  if (now > state.as_of) state.as_of = now;
}

double UsageBetween(const Job& job, int64_t from, int64_t to, double usage_factor) {
  if (job.start_time <= 0 || job.alloc_cpus == 0) return 0;
  const bool running = job.state == JobState::kRunning || job.state == JobState::kCompleting ||
                       job.state == JobState::kSuspended || job.end_time <= 0;
  const int64_t begin = std::max(from, job.start_time);
  const int64_t end = running ? to : std::min(to, job.end_time);
  if (end <= begin) return 0;
  return static_cast<double>(end - begin) * job.alloc_cpus * std::max(0.0, usage_factor);
}

void ChargeUsage(UsageState& state, const UsageKey& key, double cpu_seconds) {
  if (cpu_seconds <= 0) return;
  state.usage[key] += cpu_seconds;
}

const char* UsageResetPeriodName(UsageResetPeriod p) {
  switch (p) {
    case UsageResetPeriod::kNone:
      return "NONE";
    case UsageResetPeriod::kNow:
      return "NOW";
    case UsageResetPeriod::kDaily:
      return "DAILY";
    case UsageResetPeriod::kWeekly:
      return "WEEKLY";
    case UsageResetPeriod::kMonthly:
      return "MONTHLY";
    case UsageResetPeriod::kQuarterly:
      return "QUARTERLY";
    case UsageResetPeriod::kYearly:
      return "YEARLY";
  }
  return "NONE";
}

std::optional<UsageResetPeriod> ParseUsageResetPeriod(std::string_view text) {
  std::string upper(text);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (UsageResetPeriod p :
       {UsageResetPeriod::kNone, UsageResetPeriod::kNow, UsageResetPeriod::kDaily,
        UsageResetPeriod::kWeekly, UsageResetPeriod::kMonthly, UsageResetPeriod::kQuarterly,
        UsageResetPeriod::kYearly}) {
    if (upper == UsageResetPeriodName(p)) return p;
  }
  return std::nullopt;
}

int64_t NextUsageReset(UsageResetPeriod period, int64_t t, int64_t utc_offset_s) {
  constexpr int64_t kDay = 86400;
  const int64_t day = FloorDiv(t + utc_offset_s, kDay);
  int64_t next_day = 0;
  switch (period) {
    case UsageResetPeriod::kNone:
    case UsageResetPeriod::kNow:
      return kNever;
    case UsageResetPeriod::kDaily:
      next_day = day + 1;
      break;
    case UsageResetPeriod::kWeekly: {
      const int64_t weekday = ((day + 4) % 7 + 7) % 7;  // 1970-01-01 was a Thursday; 0: Sunday
      next_day = day + (7 - weekday);
      break;
    }
    case UsageResetPeriod::kMonthly:
    case UsageResetPeriod::kQuarterly:
    case UsageResetPeriod::kYearly: {
      int64_t y = 0, m = 0;
      CivilFromDays(day, y, m);
      if (period == UsageResetPeriod::kMonthly) {
        m += 1;
      } else if (period == UsageResetPeriod::kQuarterly) {
        m = (m - 1) / 3 * 3 + 4;
      } else {
        m = 13;
      }
      if (m > 12) {
        m -= 12;
        y += 1;
      }
      next_day = DaysFromCivil(y, m, 1);
      break;
    }
  }
  return next_day * kDay - utc_offset_s;
}

}  // namespace shoal
