// The availability plan a scheduling pass works against: what each node has free now, what the
// running jobs give back when (by their estimates), and what reservations hold from when to
// when. It answers "does this fit on node i from now until t" and "when is the earliest time
// enough nodes can take this job for d seconds". Pure and per pass; buffers are kept between
// passes so a pass does not allocate once warm.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "core/model.h"

namespace shoal {

// A time that never comes: the end of a job without a time limit, or a start that cannot be
// planned.
inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

// `start + duration`, saturating at kNever.
inline int64_t EndOf(int64_t start, int64_t duration) {
  return duration == kNever || start > kNever - duration ? kNever : start + duration;
}

// Some of one node's resources.
struct Amount {
  int64_t cpus = 0;
  int64_t mem_mb = 0;
  int64_t gpus = 0;
};

// True when `avail` covers `need`. A zero need is always covered (a job that asks for no
// memory fits on a node whose memory is overcommitted).
inline bool Covers(const Amount& avail, const Amount& need) {
  return (need.cpus <= 0 || avail.cpus >= need.cpus) &&
         (need.mem_mb <= 0 || avail.mem_mb >= need.mem_mb) &&
         (need.gpus <= 0 || avail.gpus >= need.gpus);
}

// One node a job could use, with what it would take there (exclusive jobs take whole nodes,
// so the amount can differ between nodes).
struct NodeNeed {
  uint32_t node = 0;
  Amount need;
};

class AvailabilityPlan {
 public:
  // Starts a pass: free now is each node's capacity minus its allocation; nothing planned.
  void Reset(const std::vector<Node>& nodes, int64_t now);

  int64_t now() const { return now_; }
  size_t size() const { return nodes_.size(); }
  bool Schedulable(uint32_t node) const { return nodes_[node].schedulable; }
  // Powered down or powering down (power saving): taken only when no up node fits.
  bool Asleep(uint32_t node) const { return nodes_[node].asleep; }
  bool AnyAsleep() const { return any_asleep_; }
  // No job on the node now (an exclusive job needs that).
  bool Idle(uint32_t node) const { return !nodes_[node].busy; }
  const Amount& FreeNow(uint32_t node) const { return nodes_[node].free; }
  const Amount& Capacity(uint32_t node) const { return nodes_[node].capacity; }
  int64_t TotalFreeCpus() const { return total_free_cpus_; }
  bool HasHolds() const { return holds_ > 0; }

  // A running job's share of `node` comes back at `end` (>= now; kNever: never). Completing
  // jobs give theirs back at now: soon, but not yet.
  void AddRelease(uint32_t node, int64_t end, const Amount& amount);

  // Whether `need` fits on `node` from now until `end` without touching a reservation.
  bool FitsFromNow(uint32_t node, const Amount& need, int64_t end) const;

  // A job starts now on `node` and gives `amount` back at `end`.
  void Take(uint32_t node, const Amount& amount, int64_t end);

  // The earliest time a job can run for `duration` on `want` nodes: all of `required` plus
  // enough of `candidates` (in their order). Fills `chosen` (required first) and returns the
  // time, or kNever when the plan has no such time (nodes held forever, or too few nodes).
  int64_t EarliestStart(const std::vector<NodeNeed>& required,
                        const std::vector<NodeNeed>& candidates, uint32_t want, int64_t duration,
                        std::vector<NodeNeed>* chosen);

  // Reserves `amount` of `node` over [start, end) for a job that will start at `start`.
  void Hold(uint32_t node, const Amount& amount, int64_t start, int64_t end);

 private:
  // One step of a node's free-over-time function: `avail` from `t` until the next step. The
  // first step is the node as it is now; a second step at the same time, if any, is the node
  // once the releases due now have happened ("imminent").
  struct Step {
    int64_t t;
    Amount avail;
  };
  struct Release {
    int64_t t;
    Amount amount;
  };
  struct NodePlan {
    Amount capacity;
    Amount free;
    bool schedulable = false;
    bool busy = false;
    bool asleep = false;
    uint32_t holds = 0;
    std::vector<Release> releases;  // until the profile is built
    std::vector<Step> profile;      // built on first need of the future
  };

  void BuildProfiles();
  // Makes a step begin at t (> now) and returns its index.
  size_t Breakpoint(NodePlan& n, int64_t t);
  // Whether `need` is covered from step `first` until `end`.
  static bool WindowFits(const NodePlan& n, size_t first, const Amount& need, int64_t end);
  // Appends to intervals_ the start times at which `need` fits on the node for `duration`, as
  // half-open intervals [from, to), ascending and disjoint.
  void FeasibleStarts(const NodePlan& n, const Amount& need, int64_t duration);

  int64_t now_ = 0;
  std::vector<NodePlan> nodes_;
  bool built_ = false;
  uint32_t holds_ = 0;
  int64_t total_free_cpus_ = 0;
  bool any_asleep_ = false;
  // Scratch for EarliestStart.
  struct Interval {
    int64_t from;
    int64_t to;
  };
  struct Edge {
    int64_t t;
    int32_t delta;  // +1 an interval opens, -1 one closes
    bool required;
    uint32_t node;  // index among required then candidates
    size_t index;   // 2i opens the node's interval i, 2i+1 closes it
  };
  std::vector<Interval> intervals_;
  std::vector<size_t> first_interval_;  // per required node then candidate, into intervals_
  std::vector<Edge> edges_;
  std::vector<size_t> bad_after_;
};

}  // namespace shoal
