// Power saving's decisions (Slurm's ResumeProgram/SuspendProgram): which powered-down nodes to
// resume, which idle ones to suspend, and which transitions have run out of time. Pure: the
// controller passes the nodes and the time in and carries out what comes back (running the
// programs, changing node states), so the rules are tested without processes or clocks.
#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/subprocess.h"
#include "controller/config.h"
#include "core/model.h"

namespace shoal {

// Whether power saving may suspend `node` on its own: configured, not in SuspendExcNodes, not in
// a partition of SuspendExcParts. (An administrator's POWER_DOWN applies to any node.)
bool SuspendExcluded(const PowerSaving& power, const Node& node,
                     const std::vector<Partition>& partitions);

struct PowerDecisions {
  std::vector<std::string> resume;            // POWERED_DOWN -> POWERING_UP (ResumeProgram)
  std::vector<std::string> suspend;           // idle -> POWERING_DOWN (SuspendProgram)
  std::vector<std::string> resume_timed_out;  // POWERING_UP past ResumeTimeout: DOWN
  std::vector<std::string> powered_down;      // POWERING_DOWN past SuspendTimeout
  bool empty() const {
    return resume.empty() && suspend.empty() && resume_timed_out.empty() && powered_down.empty();
  }
};

class PowerPlanner {
 public:
  explicit PowerPlanner(PowerSaving settings) : settings_(std::move(settings)) {}

  // One look at the nodes at `now` (Unix seconds). Resumed: the powered-down nodes that jobs
  // were allocated to, or that `wanted_up` names (POWER_UP), at most ResumeRate a minute (the
  // others wait for a later call). Suspended: nodes up, idle and responding for SuspendTime (not
  // `excluded`), at most SuspendRate a minute, and idle nodes with power_down_pending at once.
  // Each returned resume or suspend is counted against its rate.
  PowerDecisions Decide(const std::vector<Node>& nodes, const std::set<std::string>& excluded,
                        const std::set<std::string>& wanted_up, int64_t now);

  // Forgets when `node` became idle (it was resumed or asked up): its SuspendTime starts over.
  void ResetIdle(const std::string& node) { idle_since_.erase(node); }
  const PowerSaving& settings() const { return settings_; }

 private:
  // How many more actions `rate` (per minute; 0: no limit) allows at `now`, given the times of
  // the recent ones in `recent` (pruned to the last minute).
  static size_t Allowed(uint32_t rate, std::deque<int64_t>& recent, int64_t now);

  PowerSaving settings_;
  std::unordered_map<std::string, int64_t> idle_since_;
  std::deque<int64_t> resumed_;    // when each of the last minute's resumes was decided
  std::deque<int64_t> suspended_;  // likewise for suspends
};

// The power document the controller stores (node name -> power state, since, pending), so a
// restart keeps what the nodes were doing; and back. Nodes in state kOn are left out.
std::string PowerStateToJson(const std::vector<Node>& nodes);
struct SavedPower {
  NodePower power = NodePower::kOn;
  int64_t since = 0;
  bool pending = false;
};
std::unordered_map<std::string, SavedPower> PowerStateFromJson(const std::string& text);

}  // namespace shoal
