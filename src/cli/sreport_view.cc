#include "cli/sreport_view.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <set>

#include "cli/format_spec.h"
#include "common/slurm_time.h"
#include "common/strings.h"

namespace shoal {
namespace {

constexpr int64_t kHour = 3600;

int64_t HourStart(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  tm local{};
  localtime_r(&tt, &local);
  local.tm_min = 0;
  local.tm_sec = 0;
  local.tm_isdst = -1;
  return static_cast<int64_t>(mktime(&local));
}

int64_t Midnight(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  tm local{};
  localtime_r(&tt, &local);
  local.tm_hour = 0;
  local.tm_min = 0;
  local.tm_sec = 0;
  local.tm_isdst = -1;
  return static_cast<int64_t>(mktime(&local));
}

bool WithPercent(SreportUnit u) {
  return u == SreportUnit::kSecPer || u == SreportUnit::kMinPer || u == SreportUnit::kHourPer;
}

const char* UnitTitle(SreportUnit u) {
  switch (u) {
    case SreportUnit::kSeconds: return "CPU Seconds";
    case SreportUnit::kMinutes: return "CPU Minutes";
    case SreportUnit::kHours: return "CPU Hours";
    case SreportUnit::kPercent: return "Percentage of Total";
    case SreportUnit::kSecPer: return "CPU Seconds/Percentage of Total";
    case SreportUnit::kMinPer: return "CPU Minutes/Percentage of Total";
    case SreportUnit::kHourPer: return "CPU Hours/Percentage of Total";
  }
  return "CPU Minutes";
}

// A usage figure in the unit: whole seconds, minutes or hours (rounded down, as sreport's are),
// a percentage of `total` with two decimals, or both.
std::string Value(double cpu_seconds, double total, SreportUnit u) {
  const auto whole = [&](double per) {
    return std::to_string(static_cast<int64_t>(std::floor(cpu_seconds / per + 1e-9)));
  };
  char pct[32];
  snprintf(pct, sizeof pct, "%.2f%%", total > 0 ? 100.0 * cpu_seconds / total : 0.0);
  switch (u) {
    case SreportUnit::kSeconds: return whole(1);
    case SreportUnit::kMinutes: return whole(60);
    case SreportUnit::kHours: return whole(3600);
    case SreportUnit::kPercent: return pct;
    case SreportUnit::kSecPer: return whole(1) + "(" + pct + ")";
    case SreportUnit::kMinPer: return whole(60) + "(" + pct + ")";
    case SreportUnit::kHourPer: return whole(3600) + "(" + pct + ")";
  }
  return whole(60);
}

struct Column {
  const char* title;
  int width;
  bool usage;  // a usage figure: wider when it carries a percentage too
};

// The banner, the column titles and the rows, in sreport's layout: every field right-aligned
// and cut to its width, a space after each; or '|'-separated with -p/-P.
std::string Render(const std::string& title, const std::vector<Column>& columns,
                   const std::vector<std::vector<std::string>>& rows, const SreportStyle& style) {
  std::string out;
  const bool parsable = style.parsable || style.parsable2;
  auto width = [&](const Column& c) { return c.usage && WithPercent(style.unit) ? 17 : c.width; };
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (parsable) {
        out += cells[i];
        if (style.parsable || i + 1 < cells.size()) out.push_back('|');
      } else {
        AppendFitted(cells[i], width(columns[i]), /*right=*/true, /*cut=*/true, &out);
        out.push_back(' ');
      }
    }
    out.push_back('\n');
  };
  if (style.header) {
    const std::string rule(80, '-');
    out += rule + "\n" + title + "\n" + "Usage reported in " + UnitTitle(style.unit) + "\n" +
           rule + "\n";
    std::vector<std::string> titles;
    for (const Column& c : columns) titles.push_back(c.title);
    line(titles);
    if (!parsable) {
      for (const Column& c : columns) out += std::string(static_cast<size_t>(width(c)), '-') + " ";
      out.push_back('\n');
    }
  }
  for (const auto& row : rows) line(row);
  return out;
}

std::string PeriodText(const SreportPeriod& p) {
  return FormatTimestamp(p.start) + " - " + FormatTimestamp(p.end - 1);
}

std::string Seconds(const SreportPeriod& p) {
  return "(" + std::to_string(p.end - p.start) + " secs)";
}

double Reported(const SreportUsage& u) {
  return static_cast<double>(u.cpus) * static_cast<double>(u.period.end - u.period.start);
}

std::string ProperName(const std::map<std::string, std::string>& names, const std::string& login) {
  auto it = names.find(login);
  return it == names.end() ? "" : it->second;
}

}  // namespace

std::optional<SreportUnit> ParseSreportUnit(std::string_view text) {
  const std::string t = ToLower(std::string(text));
  static const std::pair<const char*, SreportUnit> kUnits[] = {
      {"seconds", SreportUnit::kSeconds}, {"minutes", SreportUnit::kMinutes},
      {"hours", SreportUnit::kHours},     {"percent", SreportUnit::kPercent},
      {"secper", SreportUnit::kSecPer},   {"minper", SreportUnit::kMinPer},
      {"hourper", SreportUnit::kHourPer}};
  for (const auto& [name, unit] : kUnits) {
    if (t == name) return unit;
  }
  return std::nullopt;
}

SreportPeriod RoundSreportPeriod(int64_t start, int64_t end, int64_t now) {
  auto up = [](int64_t t) {
    const int64_t hour = HourStart(t);
    return hour == t ? t : hour + kHour;
  };
  SreportPeriod p{up(start), std::min(up(end), up(now))};
  if (p.end <= p.start) p.end = p.start + kHour;  // as sreport: at least the start's hour
  return p;
}

SreportPeriod DefaultSreportPeriod(int64_t now) {
  const int64_t today = Midnight(now);
  return {Midnight(today - 12 * kHour), today};
}

std::string RenderClusterUtilization(const SreportUsage& usage, const SreportStyle& style) {
  double allocated = 0;
  for (const auto& [key, s] : usage.used) allocated += s;
  const double reported = Reported(usage);
  // Node outages come from the node event history; planned (reserved) time is not kept: 0.
  const double down = std::min(usage.down, reported);
  const double planned_down = std::min(usage.planned_down, std::max(0.0, reported - down));
  const double idle = std::max(0.0, reported - allocated - down - planned_down);
  const SreportUnit u = style.unit;
  std::vector<std::vector<std::string>> rows = {
      {usage.cluster, Value(allocated, reported, u), Value(down, reported, u),
       Value(planned_down, reported, u), Value(idle, reported, u), Value(0, reported, u),
       Value(reported, reported, u)}};
  return Render("Cluster Utilization " + PeriodText(usage.period),
                {{"Cluster", 9, false},
                 {"Allocated", 8, true},
                 {"Down", 8, true},
                 {"PLND Down", 8, true},
                 {"Idle", 8, true},
                 {"Planned", 8, true},
                 {"Reported", 8, true}},
                rows, style);
}

std::string RenderUserTop(const SreportUsage& usage, const SreportStyle& style, size_t top_count,
                          const std::map<std::string, std::string>& proper_names) {
  struct Entry {
    std::string account, user;
    double used;
  };
  std::vector<Entry> entries;
  for (const auto& [key, s] : usage.used) {
    if (s > 0) entries.push_back({key.first.empty() ? "root" : key.first, key.second, s});
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.used > b.used; });
  if (entries.size() > top_count) entries.resize(top_count);
  const double reported = Reported(usage);
  std::vector<std::vector<std::string>> rows;
  for (const Entry& e : entries) {
    rows.push_back({usage.cluster, e.user, ProperName(proper_names, e.user), e.account,
                    Value(e.used, reported, style.unit), "0"});
  }
  return Render("Top " + std::to_string(top_count) + " Users " + PeriodText(usage.period) + " " +
                    Seconds(usage.period),
                {{"Cluster", 9, false},
                 {"Login", 9, false},
                 {"Proper Name", 15, false},
                 {"Account", 15, false},
                 {"Used", 8, true},
                 {"Energy", 8, false}},
                rows, style);
}

std::string RenderAccountUtilizationByUser(const SreportUsage& usage, const SreportStyle& style,
                                           const std::map<std::string, std::string>& parents,
                                           const std::map<std::string, std::string>& proper_names) {
  // The tree: known accounts under their parents; usage of unknown accounts under root.
  std::map<std::string, std::set<std::string>> children, users;
  std::map<std::pair<std::string, std::string>, double> used;
  auto known = [&](const std::string& a) { return a == "root" || parents.count(a) > 0; };
  for (const auto& [account, parent] : parents) {
    if (account != "root") children[known(parent) ? parent : "root"].insert(account);
  }
  for (const auto& [key, s] : usage.used) {
    const std::string account = known(key.first) ? key.first : "root";
    users[account].insert(key.second);
    used[{account, key.second}] += s;
  }
  const double reported = Reported(usage);
  std::vector<std::vector<std::string>> rows;
  std::function<double(const std::string&, int)> subtree = [&](const std::string& a, int depth) {
    double sum = 0;
    for (const std::string& u : users[a]) sum += used[{a, u}];
    if (depth < 64) {
      for (const std::string& c : children[a]) sum += subtree(c, depth + 1);
    }
    return sum;
  };
  std::function<void(const std::string&, int)> visit = [&](const std::string& a, int depth) {
    rows.push_back({usage.cluster, a, "", "", Value(subtree(a, 0), reported, style.unit), "0"});
    for (const std::string& u : users[a]) {
      rows.push_back({usage.cluster, a, u, ProperName(proper_names, u),
                      Value(used[{a, u}], reported, style.unit), "0"});
    }
    if (depth < 64) {
      for (const std::string& c : children[a]) visit(c, depth + 1);
    }
  };
  visit("root", 0);
  return Render("Cluster/Account/User Utilization " + PeriodText(usage.period) + " " +
                    Seconds(usage.period),
                {{"Cluster", 9, false},
                 {"Account", 15, false},
                 {"Login", 9, false},
                 {"Proper Name", 15, false},
                 {"Used", 8, true},
                 {"Energy", 8, false}},
                rows, style);
}

}  // namespace shoal
