#include "controller/power.h"

#include <algorithm>

#include "api/json_model.h"

namespace shoal {

bool SuspendExcluded(const PowerSaving& power, const Node& node,
                     const std::vector<Partition>& partitions) {
  if (!node.configured) return true;
  const auto& exc = power.suspend_exc_nodes;
  if (std::find(exc.begin(), exc.end(), node.name) != exc.end()) return true;
  for (const std::string& name : power.suspend_exc_parts) {
    for (const Partition& p : partitions) {
      if (p.name == name && p.Contains(node.name)) return true;
    }
  }
  return false;
}

size_t PowerPlanner::Allowed(uint32_t rate, std::deque<int64_t>& recent, int64_t now) {
  while (!recent.empty() && now - recent.front() >= 60) recent.pop_front();
  if (rate == 0) return SIZE_MAX;
  return rate > recent.size() ? rate - recent.size() : 0;
}

PowerDecisions PowerPlanner::Decide(const std::vector<Node>& nodes,
                                    const std::set<std::string>& excluded,
                                    const std::set<std::string>& wanted_up, int64_t now) {
  PowerDecisions d;
  size_t may_resume = Allowed(settings_.resume_rate, resumed_, now);
  size_t may_suspend = Allowed(settings_.suspend_rate, suspended_, now);
  for (const Node& node : nodes) {
    const bool busy = node.alloc_cpus > 0 || !node.running_jobs.empty();
    const bool idle_up = node.power == NodePower::kOn && node.responding && !node.down && !busy;
    if (!idle_up) idle_since_.erase(node.name);
    switch (node.power) {
      case NodePower::kPoweredDown:
        if (!node.down && (busy || wanted_up.count(node.name)) && may_resume > 0) {
          d.resume.push_back(node.name);
          resumed_.push_back(now);
          --may_resume;
        }
        break;
      case NodePower::kPoweringUp:
        if (now - node.power_since >= settings_.resume_timeout_s) {
          d.resume_timed_out.push_back(node.name);
        }
        break;
      case NodePower::kPoweringDown:
        if (now - node.power_since >= settings_.suspend_timeout_s) {
          d.powered_down.push_back(node.name);
        }
        break;
      case NodePower::kOn: {
        if (!idle_up) break;
        auto [it, fresh] = idle_since_.try_emplace(node.name, now);
        if (node.power_down_pending) {
          // An administrator's POWER_DOWN, waiting for the node's jobs to end.
          d.suspend.push_back(node.name);
          idle_since_.erase(it);
          break;
        }
        if (!settings_.Suspends() || excluded.count(node.name) || may_suspend == 0) break;
        if (now - it->second >= settings_.suspend_time_s) {
          d.suspend.push_back(node.name);
          suspended_.push_back(now);
          --may_suspend;
          idle_since_.erase(it);
        }
        (void)fresh;
        break;
      }
    }
  }
  return d;
}

std::string PowerStateToJson(const std::vector<Node>& nodes) {
  Json doc = Json::object();
  for (const Node& n : nodes) {
    if (n.power == NodePower::kOn && !n.power_down_pending) continue;
    doc[n.name] = {{"power", static_cast<int>(n.power)},
                   {"since", n.power_since},
                   {"pending", n.power_down_pending}};
  }
  return doc.dump();
}

std::unordered_map<std::string, SavedPower> PowerStateFromJson(const std::string& text) {
  std::unordered_map<std::string, SavedPower> out;
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return out;
  for (const auto& [name, v] : doc.items()) {
    if (!v.is_object()) continue;
    SavedPower s;
    const int p = v.value("power", 0);
    if (p < 0 || p > static_cast<int>(NodePower::kPoweringDown)) continue;
    s.power = static_cast<NodePower>(p);
    s.since = v.value("since", int64_t{0});
    s.pending = v.value("pending", false);
    out[name] = s;
  }
  return out;
}

}  // namespace shoal
