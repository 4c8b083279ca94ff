#include "core/plan.h"

#include <algorithm>

namespace shoal {
namespace {

void Add(Amount& a, const Amount& b) {
  a.cpus += b.cpus;
  a.mem_mb += b.mem_mb;
  a.gpus += b.gpus;
}

void Sub(Amount& a, const Amount& b) {
  a.cpus -= b.cpus;
  a.mem_mb -= b.mem_mb;
  a.gpus -= b.gpus;
}

}  // namespace

void AvailabilityPlan::Reset(const std::vector<Node>& nodes, int64_t now) {
  now_ = now;
  built_ = false;
  holds_ = 0;
  total_free_cpus_ = 0;
  nodes_.resize(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& node = nodes[i];
    NodePlan& n = nodes_[i];
    n.capacity = {node.cpus, static_cast<int64_t>(node.memory_mb), node.gpus};
    int64_t free_gpus = 0;
    for (size_t g = 0; g < node.gpu_busy.size() && g < node.gpus; ++g)
      free_gpus += !node.gpu_busy[g];
    n.free = {static_cast<int64_t>(node.cpus) - node.alloc_cpus,
              static_cast<int64_t>(node.memory_mb) - static_cast<int64_t>(node.alloc_mem_mb),
              free_gpus};
    n.schedulable = node.Schedulable();
    n.busy = node.alloc_cpus > 0 || !node.running_jobs.empty();
    n.holds = 0;
    n.releases.clear();
    n.profile.clear();
    if (n.schedulable) total_free_cpus_ += std::max<int64_t>(0, n.free.cpus);
  }
}

void AvailabilityPlan::AddRelease(uint32_t node, int64_t end, const Amount& amount) {
  if (end == kNever) return;  // never comes back
  end = std::max(end, now_);
  NodePlan& n = nodes_[node];
  if (!built_) {
    n.releases.push_back({end, amount});
    return;
  }
  size_t first = 0;
  if (end == now_) {
    if (n.profile.size() < 2 || n.profile[1].t != now_) {
      n.profile.insert(n.profile.begin() + 1, Step{now_, n.profile[0].avail});
    }
    first = 1;
  } else {
    first = Breakpoint(n, end);
  }
  for (size_t i = first; i < n.profile.size(); ++i) Add(n.profile[i].avail, amount);
}

void AvailabilityPlan::BuildProfiles() {
  for (NodePlan& n : nodes_) {
    n.profile.clear();
    n.profile.push_back({now_, n.free});
    std::sort(n.releases.begin(), n.releases.end(),
              [](const Release& a, const Release& b) { return a.t < b.t; });
    Amount cur = n.free;
    for (const Release& r : n.releases) {
      Add(cur, r.amount);
      // Step 0 stays the node as it is now, even when releases are due now.
      if (n.profile.size() > 1 && n.profile.back().t == r.t) {
        n.profile.back().avail = cur;
      } else {
        n.profile.push_back({r.t, cur});
      }
    }
    n.releases.clear();
  }
  built_ = true;
}

size_t AvailabilityPlan::StepAt(const NodePlan& n, int64_t t) const {
  auto it = std::upper_bound(n.profile.begin(), n.profile.end(), t,
                             [](int64_t v, const Step& s) { return v < s.t; });
  return static_cast<size_t>(it - n.profile.begin()) - 1;
}

size_t AvailabilityPlan::Breakpoint(NodePlan& n, int64_t t) {
  auto it = std::lower_bound(n.profile.begin() + 1, n.profile.end(), t,
                             [](const Step& s, int64_t v) { return s.t < v; });
  size_t i = static_cast<size_t>(it - n.profile.begin());
  if (i < n.profile.size() && n.profile[i].t == t) return i;
  Amount prev = n.profile[i - 1].avail;
  n.profile.insert(n.profile.begin() + static_cast<std::ptrdiff_t>(i), Step{t, prev});
  return i;
}

bool AvailabilityPlan::WindowFits(const NodePlan& n, size_t first, const Amount& need,
                                  int64_t end) {
  for (size_t i = first; i < n.profile.size(); ++i) {
    if (i > first && n.profile[i].t >= end) break;
    if (!Covers(n.profile[i].avail, need)) return false;
  }
  return true;
}

bool AvailabilityPlan::FitsFromNow(uint32_t node, const Amount& need, int64_t end) const {
  const NodePlan& n = nodes_[node];
  if (!n.schedulable || !Covers(n.free, need)) return false;
  // Without reservations on the node its free space only grows from now on.
  if (!built_ || n.holds == 0) return true;
  return WindowFits(n, 0, need, end);
}

void AvailabilityPlan::Take(uint32_t node, const Amount& amount, int64_t end) {
  NodePlan& n = nodes_[node];
  const int64_t before = std::max<int64_t>(0, n.free.cpus);
  Sub(n.free, amount);
  n.busy = true;
  if (n.schedulable) total_free_cpus_ -= before - std::max<int64_t>(0, n.free.cpus);
  if (!built_) {
    if (end != kNever) n.releases.push_back({std::max(end, now_ + 1), amount});
    return;
  }
  size_t last = end == kNever ? n.profile.size() : Breakpoint(n, std::max(end, now_ + 1));
  for (size_t i = 0; i < last; ++i) Sub(n.profile[i].avail, amount);
}

void AvailabilityPlan::Hold(uint32_t node, const Amount& amount, int64_t start, int64_t end) {
  if (!built_) BuildProfiles();
  NodePlan& n = nodes_[node];
  size_t first = 0;
  if (start <= now_) {
    // A reservation due now leaves the node as it is now alone: it counts from the moment the
    // imminent releases have happened.
    if (n.profile.size() < 2 || n.profile[1].t != now_) {
      n.profile.insert(n.profile.begin() + 1, Step{now_, n.profile[0].avail});
    }
    first = 1;
  } else {
    first = Breakpoint(n, start);
  }
  size_t last = end == kNever ? n.profile.size() : Breakpoint(n, std::max(end, start + 1));
  for (size_t i = first; i < last; ++i) Sub(n.profile[i].avail, amount);
  ++n.holds;
  ++holds_;
}

int64_t AvailabilityPlan::MonotoneEarliest(const NodePlan& n, const Amount& need) const {
  if (!n.schedulable) return kNever;
  for (const Step& s : n.profile) {
    if (Covers(s.avail, need)) return s.t;
  }
  return kNever;
}

bool AvailabilityPlan::FitsAt(const NodePlan& n, const Amount& need, int64_t t,
                              int64_t duration) const {
  if (!n.schedulable) return false;
  return WindowFits(n, StepAt(n, t), need, EndOf(t, duration));
}

int64_t AvailabilityPlan::EarliestStart(const std::vector<NodeNeed>& required,
                                        const std::vector<NodeNeed>& candidates, uint32_t want,
                                        int64_t duration, std::vector<NodeNeed>* chosen) {
  if (!built_) BuildProfiles();
  chosen->clear();
  const size_t others = want > required.size() ? want - required.size() : 0;
  times_.clear();
  times_.push_back(now_);
  for (const NodeNeed& r : required) {
    const NodePlan& n = nodes_[r.node];
    if (!n.schedulable) return kNever;
    for (const Step& s : n.profile) times_.push_back(s.t);
  }
  // Nodes without reservations become usable at one time and stay so; the others are tested
  // at every step of their profile.
  mono_.clear();
  varied_.clear();
  size_t usable = 0;
  for (uint32_t k = 0; k < candidates.size(); ++k) {
    const NodePlan& n = nodes_[candidates[k].node];
    if (!n.schedulable) continue;
    ++usable;
    if (n.holds == 0) {
      int64_t e = MonotoneEarliest(n, candidates[k].need);
      if (e == kNever) continue;
      mono_.push_back({e, k});
      times_.push_back(e);
    } else {
      varied_.push_back(k);
      for (const Step& s : n.profile) times_.push_back(s.t);
    }
  }
  if (usable < others) return kNever;
  std::sort(times_.begin(), times_.end());
  times_.erase(std::unique(times_.begin(), times_.end()), times_.end());
  std::sort(mono_.begin(), mono_.end());

  size_t ready = 0;
  for (int64_t t : times_) {
    while (ready < mono_.size() && mono_[ready].first <= t) ++ready;
    bool required_fit = true;
    for (const NodeNeed& r : required) {
      if (!FitsAt(nodes_[r.node], r.need, t, duration)) {
        required_fit = false;
        break;
      }
    }
    if (!required_fit) continue;
    size_t count = ready;
    for (size_t v = 0; v < varied_.size() && count < others; ++v) {
      const NodeNeed& c = candidates[varied_[v]];
      if (FitsAt(nodes_[c.node], c.need, t, duration)) ++count;
    }
    if (count < others) continue;
    // Pick in the candidates' order, as a start now would.
    for (const NodeNeed& r : required) chosen->push_back(r);
    size_t picked = 0;
    for (const NodeNeed& c : candidates) {
      if (picked == others) break;
      const NodePlan& n = nodes_[c.node];
      if (n.schedulable && FitsAt(n, c.need, t, duration)) {
        chosen->push_back(c);
        ++picked;
      }
    }
    return t;
  }
  return kNever;
}

}  // namespace shoal
