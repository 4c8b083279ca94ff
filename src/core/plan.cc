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
  any_asleep_ = false;
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
    n.asleep = node.power == NodePower::kPoweredDown;
    any_asleep_ = any_asleep_ || n.asleep;
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

void AvailabilityPlan::FeasibleStarts(const NodePlan& n, const Amount& need, int64_t duration) {
  if (!n.schedulable) return;
  const std::vector<Step>& p = n.profile;
  const size_t m = p.size();
  // bad_after_[i]: the first step at or after i that does not cover the need (m: none).
  bad_after_.resize(m + 1);
  bad_after_[m] = m;
  for (size_t i = m; i-- > 0;) bad_after_[i] = Covers(p[i].avail, need) ? bad_after_[i + 1] : i;
  for (size_t i = 0; i < m; ++i) {
    if (bad_after_[i] == i) continue;
    // A start in step i runs into later steps the longer it waits, so its feasible starts are a
    // prefix of the step: those ending by the first step that does not cover.
    int64_t to = i + 1 < m ? p[i + 1].t : kNever;
    const size_t b = bad_after_[i];
    if (b < m) {
      if (duration == kNever) continue;
      to = std::min(to, p[b].t - duration + 1);
    }
    if (to <= p[i].t) continue;
    if (!intervals_.empty() && intervals_.back().to == p[i].t &&
        intervals_.size() > first_interval_.back()) {
      intervals_.back().to = to;  // joins the previous step's
    } else {
      intervals_.push_back({p[i].t, to});
    }
  }
}

int64_t AvailabilityPlan::EarliestStart(const std::vector<NodeNeed>& required,
                                        const std::vector<NodeNeed>& candidates, uint32_t want,
                                        int64_t duration, std::vector<NodeNeed>* chosen) {
  if (!built_) BuildProfiles();
  chosen->clear();
  const int64_t others = want > required.size() ? want - required.size() : 0;
  // Each node's feasible start intervals, then a sweep over their edges for the first time
  // every required node and enough others are feasible at once.
  intervals_.clear();
  first_interval_.clear();
  edges_.clear();
  const size_t total = required.size() + candidates.size();
  for (size_t k = 0; k < total; ++k) {
    const bool is_required = k < required.size();
    const NodeNeed& c = is_required ? required[k] : candidates[k - required.size()];
    first_interval_.push_back(intervals_.size());
    FeasibleStarts(nodes_[c.node], c.need, duration);
    if (is_required && intervals_.size() == first_interval_.back()) return kNever;
  }
  first_interval_.push_back(intervals_.size());
  // Merge the nodes' edges in time order (each node's are already sorted) and stop at the first
  // time enough nodes are open: usually early, so most edges are never looked at.
  auto later = [](const Edge& a, const Edge& b) {
    return a.t != b.t ? a.t > b.t : a.delta > b.delta;  // closes before opens
  };
  edges_.clear();
  auto push = [&](uint32_t k, size_t edge) {  // edge 2i opens interval i, 2i+1 closes it
    const size_t i = first_interval_[k] + edge / 2;
    if (i >= first_interval_[k + 1]) return;
    const Interval& iv = intervals_[i];
    if (edge % 2 == 1 && iv.to == kNever) return;
    edges_.push_back(
        {edge % 2 == 0 ? iv.from : iv.to, edge % 2 == 0 ? +1 : -1, k < required.size(), k, edge});
    std::push_heap(edges_.begin(), edges_.end(), later);
  };
  for (uint32_t k = 0; k < total; ++k) push(k, 0);
  int64_t open_required = 0, open_others = 0, found = kNever;
  while (!edges_.empty()) {
    const int64_t t = edges_.front().t;
    while (!edges_.empty() && edges_.front().t == t) {
      std::pop_heap(edges_.begin(), edges_.end(), later);
      Edge e = edges_.back();
      edges_.pop_back();
      (e.required ? open_required : open_others) += e.delta;
      push(e.node, e.index + 1);
    }
    if (open_required == static_cast<int64_t>(required.size()) && open_others >= others) {
      found = t;
      break;
    }
  }
  if (found == kNever) return kNever;
  auto feasible_at = [&](size_t k) {
    for (size_t i = first_interval_[k]; i < first_interval_[k + 1]; ++i) {
      if (intervals_[i].from <= found && found < intervals_[i].to) return true;
    }
    return false;
  };
  for (const NodeNeed& r : required) chosen->push_back(r);
  int64_t picked = 0;
  for (size_t k = 0; k < candidates.size() && picked < others; ++k) {
    if (feasible_at(required.size() + k)) {
      chosen->push_back(candidates[k]);
      ++picked;
    }
  }
  return found;
}

}  // namespace shoal
