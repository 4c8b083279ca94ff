// sreport's reports, rendered from the controller's utilization answer: the period's rounding,
// the units (-t) and the tables, as Slurm's sreport prints them. Pure: no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shoal {

// -t: how usage is shown. The "...Per" forms show the value and its percentage of the total.
enum class SreportUnit { kSeconds, kMinutes, kHours, kPercent, kSecPer, kMinPer, kHourPer };

// "seconds", "minutes", "hours", "percent", "secper", "minper", "hourper" (any case).
std::optional<SreportUnit> ParseSreportUnit(std::string_view text);

// A report's period, [start, end) in epoch seconds. sreport works in whole hours: both ends
// move forward to the next full hour, the end never past the end of the current hour, and a
// period that ends before it starts becomes the start's hour. Hours are local time's.
struct SreportPeriod {
  int64_t start = 0;
  int64_t end = 0;
};
SreportPeriod RoundSreportPeriod(int64_t start, int64_t end, int64_t now);
// Without start= and end=: yesterday, midnight to midnight.
SreportPeriod DefaultSreportPeriod(int64_t now);

// What the controller answered: CPU-seconds per (account, user) in the period.
struct SreportUsage {
  std::string cluster;
  SreportPeriod period;
  uint64_t cpus = 0;  // the cluster's CPUs
  std::map<std::pair<std::string, std::string>, double> used;  // (account, user) -> CPU-seconds
  double down = 0;          // CPU-seconds of nodes DOWN or DRAINed
  double planned_down = 0;  // CPU-seconds of nodes powered down
};

struct SreportStyle {
  SreportUnit unit = SreportUnit::kMinutes;
  bool header = true;      // -n turns off the banner and the column titles
  bool parsable = false;   // -p: '|' after every field
  bool parsable2 = false;  // -P: '|' between fields
};

// sreport cluster utilization.
std::string RenderClusterUtilization(const SreportUsage& usage, const SreportStyle& style);

// sreport user top [topcount=N]: users by usage in each account, most first.
// `proper_name` gives a login's full name (the password database's).
std::string RenderUserTop(const SreportUsage& usage, const SreportStyle& style, size_t top_count,
                          const std::map<std::string, std::string>& proper_names);

// sreport cluster AccountUtilizationByUser: each account (its subtree's usage), then its users,
// then its sub-accounts, depth first. `parents` maps every account to its parent ("" for root);
// usage under an account it does not know is shown under root.
std::string RenderAccountUtilizationByUser(const SreportUsage& usage, const SreportStyle& style,
                                           const std::map<std::string, std::string>& parents,
                                           const std::map<std::string, std::string>& proper_names);

}  // namespace shoal
