#include "core/scheduler.h"

#include <algorithm>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "common/slurm_time.h"
#include "core/limits.h"
#include "core/plan.h"

namespace shoal {
namespace {

uint32_t CeilDiv(uint32_t a, uint32_t b) { return b == 0 ? a : (a + b - 1) / b; }

bool HasFeatures(const Node& node, const std::string& constraint) {
  if (constraint.empty()) return true;
  // "a&b" or "a,b": every feature must be present. "a|b": any one.
  const bool any = constraint.find('|') != std::string::npos;
  size_t start = 0;
  bool all_ok = true, any_ok = false;
  while (start <= constraint.size()) {
    size_t end = constraint.find_first_of("&,|", start);
    if (end == std::string::npos) end = constraint.size();
    std::string feature = constraint.substr(start, end - start);
    if (!feature.empty()) {
      bool has =
          std::find(node.features.begin(), node.features.end(), feature) != node.features.end();
      all_ok = all_ok && has;
      any_ok = any_ok || has;
    }
    start = end + 1;
  }
  return any ? any_ok : all_ok;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Could `req` ever fit on `node` (an empty node)?
bool FitsEmptyNode(const JobRequest& req, const Node& node) {
  NodeShape need = ShapeFor(req, node);
  if (need.cpus > node.cpus || need.mem_mb > node.memory_mb || need.gpus > node.gpus) return false;
  if (!req.gpu_type.empty() && req.gpus_per_node > 0 && req.gpu_type != node.gpu_type) {
    return false;
  }
  return HasFeatures(node, req.constraint) && !Contains(req.excluded_nodes, node.name);
}

}  // namespace

NodeShape ShapeFor(const JobRequest& req, const Node& node) {
  NodeShape s;
  const uint32_t nodes = std::max<uint32_t>(1, req.min_nodes);
  const uint32_t tasks_per_node = req.ntasks_per_node > 0
                                      ? req.ntasks_per_node
                                      : CeilDiv(std::max<uint32_t>(1, req.ntasks), nodes);
  s.cpus = tasks_per_node * std::max<uint32_t>(1, req.cpus_per_task);
  if (req.exclusive) s.cpus = std::max(s.cpus, node.cpus);
  if (req.mem_per_node_mb > 0) {
    s.mem_mb = req.mem_per_node_mb;
  } else if (req.mem_per_cpu_mb > 0) {
    s.mem_mb = req.mem_per_cpu_mb * s.cpus;
  }
  s.gpus = req.gpus_per_node;
  return s;
}

Status CheckSatisfiable(const JobRequest& req, const Partition& partition,
                        const std::vector<Node>& nodes) {
  uint32_t candidates = 0;
  for (const auto& node : nodes) {
    if (partition.Contains(node.name) && FitsEmptyNode(req, node)) ++candidates;
  }
  for (const auto& name : req.required_nodes) {
    auto it =
        std::find_if(nodes.begin(), nodes.end(), [&](const Node& n) { return n.name == name; });
    if (it == nodes.end()) return InvalidArgument("Invalid node name specified");
    if (!partition.Contains(name) || !FitsEmptyNode(req, *it)) {
      return InvalidArgument("Requested node configuration is not available");
    }
  }
  if (partition.max_nodes > 0 && req.min_nodes > partition.max_nodes) {
    return InvalidArgument("Node count specification invalid");
  }
  // A partition whose nodes have not registered yet may still get them: only refuse when
  // nodes are known and none can ever hold the job.
  bool partition_has_nodes = std::any_of(nodes.begin(), nodes.end(),
                                         [&](const Node& n) { return partition.Contains(n.name); });
  if (partition_has_nodes && candidates < std::max<uint32_t>(1, req.min_nodes)) {
    return InvalidArgument("Requested node configuration is not available");
  }
  return Status::Ok();
}

DependencyState EvaluateDependency(const Job& job, const std::map<JobId, Job>& jobs) {
  const DependencySpec& spec = job.req.dependency;
  if (spec.clauses.empty()) return DependencyState::kSatisfied;
  bool any_satisfied = false, all_satisfied = true, any_never = false, all_never = true;
  for (const Dependency& d : spec.clauses) {
    DependencyState clause = DependencyState::kSatisfied;
    if (d.kind == Dependency::Kind::kSingleton) {
      for (const auto& [id, other] : jobs) {
        if (id != job.id && !IsFinished(other.state) && other.req.name == job.req.name &&
            other.req.user == job.req.user && (other.state != JobState::kPending || id < job.id)) {
          clause = DependencyState::kWaiting;
          break;
        }
      }
    } else {
      // The clause names one job, one array task (12_3, or the task's own job id), or a whole
      // array (every task; the array's id is also the job id of its first task).
      std::vector<const Job*> targets;
      if (auto it = jobs.find(d.job_id);
          it != jobs.end() && d.array_task == kNoArrayTask && it->second.array_job_id != d.job_id) {
        targets.push_back(&it->second);
      }
      if (targets.empty()) {
        // Tasks of an array hold consecutive ids from the array's id on.
        for (auto it = jobs.lower_bound(d.job_id);
             it != jobs.end() && it->second.array_job_id == d.job_id; ++it) {
          if (d.array_task == kNoArrayTask || it->second.array_task_id == d.array_task) {
            targets.push_back(&it->second);
          }
        }
      }
      // afternotok over several tasks: once all have ended, satisfied when any failed.
      if (d.kind == Dependency::Kind::kAfterNotOk && !targets.empty()) {
        bool all_finished = true, any_failed = false;
        for (const Job* t : targets) {
          all_finished = all_finished && IsFinished(t->state);
          any_failed = any_failed || (IsFinished(t->state) && t->state != JobState::kCompleted);
        }
        clause = !all_finished ? DependencyState::kWaiting
                 : any_failed  ? DependencyState::kSatisfied
                               : DependencyState::kNeverSatisfied;
        targets.clear();
      }
      // Jobs not held (purged after MinJobAge, or never known) count as satisfied, as Slurm
      // 22.05 does: it accepts afterok:<unknown id> and runs the job.
      for (const Job* t : targets) {
        DependencyState s = DependencyState::kSatisfied;
        switch (d.kind) {
          case Dependency::Kind::kAfter:
            s = t->state == JobState::kPending ? DependencyState::kWaiting
                                               : DependencyState::kSatisfied;
            break;
          case Dependency::Kind::kAfterAny:
            s = IsFinished(t->state) ? DependencyState::kSatisfied : DependencyState::kWaiting;
            break;
          case Dependency::Kind::kAfterOk:
            if (!IsFinished(t->state))
              s = DependencyState::kWaiting;
            else
              s = t->state == JobState::kCompleted ? DependencyState::kSatisfied
                                                   : DependencyState::kNeverSatisfied;
            break;
          case Dependency::Kind::kAfterNotOk:  // decided above
          case Dependency::Kind::kSingleton:
            break;
        }
        if (s == DependencyState::kNeverSatisfied)
          clause = s;
        else if (s == DependencyState::kWaiting && clause == DependencyState::kSatisfied)
          clause = s;
      }
    }
    any_satisfied = any_satisfied || clause == DependencyState::kSatisfied;
    all_satisfied = all_satisfied && clause == DependencyState::kSatisfied;
    any_never = any_never || clause == DependencyState::kNeverSatisfied;
    all_never = all_never && clause == DependencyState::kNeverSatisfied;
  }
  if (spec.any) {
    if (any_satisfied) return DependencyState::kSatisfied;
    return all_never ? DependencyState::kNeverSatisfied : DependencyState::kWaiting;
  }
  if (all_satisfied) return DependencyState::kSatisfied;
  return any_never ? DependencyState::kNeverSatisfied : DependencyState::kWaiting;
}

int64_t EstimateOf(const JobRequest& req, const Partition* partition) {
  int64_t t = req.time_limit_s;
  if (t == 0 && partition != nullptr) {
    t = partition->default_time_s != kUnlimited ? partition->default_time_s : partition->max_time_s;
  }
  return t <= 0 ? kNever : t;
}

namespace {

Amount ToAmount(const NodeShape& s) { return {s.cpus, static_cast<int64_t>(s.mem_mb), s.gpus}; }

// A shape that failed to start now. Within a pass resources only get scarcer (starts and
// reservations take, nothing gives back), so a job asking at least as much for at least as
// long fails too and need not scan the nodes again.
struct Failure {
  uint32_t partition;
  uint32_t want;
  bool exclusive;
  Amount need;
  int64_t duration;
};

}  // namespace

struct Scheduler::Pass {
  struct Entry {
    QueueKey key;
    const Job* job;
  };
  struct PartState {
    bool blocked = false;  // a job of it could not start: later ones are backfill
    bool stopped = false;  // nothing more of it starts this pass
  };
  struct Deferred {
    int64_t duration;
    size_t position;
    const Job* job;
    uint32_t partition;
  };

  // Inputs of the current pass.
  const ClusterView* view = nullptr;
  const SchedulerOptions* options = nullptr;
  int64_t now = 0;
  ScheduleResult* result = nullptr;

  AvailabilityPlan plan;
  std::vector<std::string> node_names;  // what node_index was built from
  std::unordered_map<std::string, uint32_t> node_index;
  std::vector<const Partition*> parts;
  std::unordered_map<std::string, uint32_t> part_index;  // only when there are many
  std::vector<std::vector<uint8_t>> member;              // [partition][node]
  std::vector<int64_t> part_free_cpus;
  std::vector<int64_t> part_max_free;  // an upper bound; exact when not dirty
  std::vector<uint8_t> part_max_dirty;
  std::vector<PartState> part_state;
  std::vector<uint8_t> gpu_busy;  // working copy, node i's GPUs from gpu_offset[i]
  std::vector<size_t> gpu_offset;

  std::vector<Entry> entries;
  // Without reasons to report: the fewest CPUs any job from entries[i] on asks for, so the
  // walk stops once none of the rest could start.
  std::vector<int64_t> min_cpus_from;
  std::vector<const Job*> running;
  std::unordered_map<JobId, uint32_t> running_per_array;
  std::vector<Deferred> deferred;
  std::vector<Failure> failures;
  std::vector<NodeNeed> required, candidates, chosen;
  std::vector<uint32_t> picked;
  bool releases_added = false;
  uint32_t reservations = 0;
  // QOS MaxJobsPerUser: running jobs per QOS and user ("qos\0user"), kept only when some QOS
  // has the limit.
  bool count_qos_users = false;
  std::unordered_map<std::string, uint32_t> running_per_qos_user;
  std::string qos_user_key;
  LimitTracker limits;  // association and QOS limits, when the view asks for them
  // Preemption: jobs chosen for preemption this pass, and scratch.
  std::unordered_set<JobId> preempted;
  std::vector<Amount> extra;
  std::vector<const Job*> victims;
  // Advance reservations whose window has not ended: their node indices, and per partition
  // whether an open MAINT window holds some of its nodes.
  std::vector<std::vector<uint32_t>> resv_nodes;  // parallel to *view->reservations
  // Per node, the windows (start, end) of the reservations holding it; empty without any.
  std::vector<std::vector<std::pair<int64_t, int64_t>>> node_windows;
  std::vector<uint8_t> part_maint;

  void Prepare(const ClusterView& v, const SchedulerOptions& o, int64_t t, ScheduleResult* r) {
    view = &v;
    options = &o;
    now = t;
    result = r;
    const std::vector<Node>& nodes = *v.nodes;
    bool same = node_names.size() == nodes.size();
    for (size_t i = 0; same && i < nodes.size(); ++i) same = node_names[i] == nodes[i].name;
    if (!same) {
      node_names.clear();
      node_index.clear();
      for (size_t i = 0; i < nodes.size(); ++i) {
        node_names.push_back(nodes[i].name);
        node_index.emplace(nodes[i].name, static_cast<uint32_t>(i));
      }
    }
    plan.Reset(nodes, now);
    gpu_busy.clear();
    gpu_offset.resize(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i) {
      gpu_offset[i] = gpu_busy.size();
      for (uint32_t g = 0; g < nodes[i].gpus; ++g) {
        gpu_busy.push_back(g >= nodes[i].gpu_busy.size() || nodes[i].gpu_busy[g]);
      }
    }

    parts.clear();
    part_index.clear();
    for (const Partition& p : *v.partitions) parts.push_back(&p);
    if (parts.size() > 8) {
      for (uint32_t i = 0; i < parts.size(); ++i) part_index.emplace(parts[i]->name, i);
    }
    member.resize(parts.size());
    part_free_cpus.assign(parts.size(), 0);
    part_max_free.assign(parts.size(), 0);
    part_max_dirty.assign(parts.size(), 0);
    part_state.assign(parts.size(), PartState{});
    for (size_t p = 0; p < parts.size(); ++p) {
      std::vector<uint8_t>& m = member[p];
      m.assign(nodes.size(), parts[p]->all_nodes ? 1 : 0);
      if (!parts[p]->all_nodes) {
        for (const std::string& name : parts[p]->nodes) {
          if (auto it = node_index.find(name); it != node_index.end()) m[it->second] = 1;
        }
      }
      for (uint32_t i = 0; i < nodes.size(); ++i) {
        if (!m[i] || !plan.Schedulable(i)) continue;
        int64_t free = std::max<int64_t>(0, plan.FreeNow(i).cpus);
        part_free_cpus[p] += free;
        part_max_free[p] = std::max(part_max_free[p], free);
      }
    }

    entries.clear();
    running.clear();
    running_per_array.clear();
    deferred.clear();
    failures.clear();
    releases_added = false;
    reservations = 0;
    running_per_qos_user.clear();
    preempted.clear();
    count_qos_users = false;
    limits.Reset(v.accounting);
    resv_nodes.clear();
    node_windows.clear();
    part_maint.assign(parts.size(), 0);
    if (v.reservations != nullptr && !v.reservations->empty()) HoldReservations();
    if (v.qos != nullptr) {
      for (const Qos& q : *v.qos) count_qos_users = count_qos_users || q.max_jobs_per_user > 0;
    }
  }

  // Every window not yet over becomes a hold of its nodes' whole capacity, so that jobs outside
  // it neither start across its start nor are planned into it.
  void HoldReservations() {
    const std::vector<Reservation>& all = *view->reservations;
    resv_nodes.resize(all.size());
    node_windows.resize(view->nodes->size());
    for (size_t k = 0; k < all.size(); ++k) {
      const Reservation& r = all[k];
      if (r.end_time <= now) continue;
      for (const std::string& name : r.nodes) {
        auto it = node_index.find(name);
        if (it == node_index.end()) continue;
        const uint32_t i = it->second;
        resv_nodes[k].push_back(i);
        node_windows[i].emplace_back(r.start_time, r.end_time);
        plan.Hold(i, plan.Capacity(i), r.start_time, r.end_time);
        if (r.Has(kResvMaint) && r.start_time <= now) {
          for (size_t p = 0; p < parts.size(); ++p) part_maint[p] |= member[p][i];
        }
      }
    }
  }

  // Whether a reservation holds node i at some time in [now, end): a job outside it may not be
  // put there, by preemption either.
  bool ReservedBefore(uint32_t i, int64_t end) const {
    if (node_windows.empty()) return false;
    for (const auto& [start, stop] : node_windows[i]) {
      if (start < end && now < stop) return true;
    }
    return false;
  }

  int FindReservation(const std::string& name) const {
    if (view->reservations == nullptr) return -1;
    for (size_t k = 0; k < view->reservations->size(); ++k) {
      if ((*view->reservations)[k].name == name) return static_cast<int>(k);
    }
    return -1;
  }

  // Starts a job that names reservation k on the reservation's nodes if they have room now.
  // The window's hold keeps other jobs off them, so what is free now is the reservation's.
  bool TryStartInReservation(const Job& job, uint32_t p, size_t k, int64_t duration) {
    const JobRequest& req = job.req;
    const std::vector<Node>& nodes = *view->nodes;
    const uint32_t want = std::max<uint32_t>(1, req.min_nodes);
    if (k >= resv_nodes.size()) return false;
    const std::vector<uint32_t>& in = resv_nodes[k];
    auto fits = [&](uint32_t i, const Amount& need) {
      if (!plan.Schedulable(i) || (req.exclusive && !plan.Idle(i))) return false;
      return Covers(plan.FreeNow(i), need);
    };
    if (!RequiredNodes(req, p)) return false;
    chosen.clear();
    for (const NodeNeed& r : required) {
      if (std::find(in.begin(), in.end(), r.node) == in.end() || !fits(r.node, r.need)) {
        return false;
      }
      chosen.push_back(r);
    }
    for (uint32_t i : in) {
      if (chosen.size() >= want) break;
      if (!Eligible(req, p, i) || std::any_of(required.begin(), required.end(),
                                              [&](const NodeNeed& r) { return r.node == i; })) {
        continue;
      }
      NodeNeed c{i, ToAmount(ShapeFor(req, nodes[i]))};
      if (fits(i, c.need)) chosen.push_back(c);
    }
    if (chosen.size() < want) return false;
    Commit(job, EndOf(now, duration));
    return true;
  }

  const Qos* QosOf(const Job& job) const {
    return view->qos == nullptr ? nullptr : FindQos(*view->qos, QosNameOf(job.req));
  }

  // The running-job count of the job's QOS and user (count_qos_users only).
  uint32_t& RunningOfQosUser(const Qos& qos, const Job& job) {
    qos_user_key.assign(qos.name);
    qos_user_key.push_back('\0');
    qos_user_key.append(job.req.user);
    return running_per_qos_user[qos_user_key];
  }

  int FindPartition(const std::string& name) const {
    if (!part_index.empty()) {
      auto it = part_index.find(name);
      return it == part_index.end() ? -1 : static_cast<int>(it->second);
    }
    for (size_t i = 0; i < parts.size(); ++i) {
      if (parts[i]->name == name) return static_cast<int>(i);
    }
    return -1;
  }

  int64_t PartMaxFree(uint32_t p) {
    if (part_max_dirty[p]) {
      part_max_dirty[p] = 0;
      part_max_free[p] = 0;
      for (uint32_t i = 0; i < plan.size(); ++i) {
        if (member[p][i] && plan.Schedulable(i)) {
          part_max_free[p] = std::max(part_max_free[p], plan.FreeNow(i).cpus);
        }
      }
    }
    return part_max_free[p];
  }

  // Running jobs give their resources back at start + estimate; needed once the pass plans
  // the future.
  void AddReleases() {
    if (releases_added) return;
    releases_added = true;
    for (const Job* job : running) {
      int64_t end = kNever;
      if (job->state == JobState::kCompleting) {
        end = now;
      } else if (job->state == JobState::kRunning) {
        int p = FindPartition(job->req.partition);
        end = EndOf(job->start_time, EstimateOf(job->req, p < 0 ? nullptr : parts[p]));
      }
      if (end == kNever) continue;
      for (size_t k = 0; k < job->nodes.size(); ++k) {
        auto it = node_index.find(job->nodes[k]);
        if (it == node_index.end()) {
          result->errors.emplace_back(job->id,
                                      Internal("running on unknown node " + job->nodes[k] +
                                               "; its resources are left out of the plan"));
          continue;
        }
        Amount a{
            job->cpus_per_node, static_cast<int64_t>(job->mem_per_node_alloc_mb),
            k < job->gpu_indices.size() ? static_cast<int64_t>(job->gpu_indices[k].size()) : 0};
        plan.AddRelease(it->second, end, a);
      }
    }
  }

  // Whether node i could take the job at all (ignoring what is in use).
  bool Eligible(const JobRequest& req, uint32_t p, uint32_t i) const {
    if (!member[p][i]) return false;
    const Node& n = (*view->nodes)[i];
    if (!req.excluded_nodes.empty() && Contains(req.excluded_nodes, n.name)) return false;
    if (!req.gpu_type.empty() && req.gpus_per_node > 0 && n.gpu_type != req.gpu_type) return false;
    return HasFeatures(n, req.constraint);
  }

  // Required nodes as indices, deduplicated; false when one is unknown or outside the
  // partition.
  bool RequiredNodes(const JobRequest& req, uint32_t p) {
    required.clear();
    for (const std::string& name : req.required_nodes) {
      auto it = node_index.find(name);
      if (it == node_index.end() || !member[p][it->second]) return false;
      uint32_t i = it->second;
      if (std::any_of(required.begin(), required.end(),
                      [&](const NodeNeed& r) { return r.node == i; })) {
        continue;
      }
      required.push_back({i, ToAmount(ShapeFor(req, (*view->nodes)[i]))});
    }
    return true;
  }

  bool FitsNow(const JobRequest& req, const NodeNeed& c, int64_t end) const {
    if (req.exclusive && !plan.Idle(c.node)) return false;
    return plan.FitsFromNow(c.node, c.need, end);
  }

  void Taken(uint32_t node, int64_t free_before) {
    const int64_t delta =
        std::max<int64_t>(0, free_before) - std::max<int64_t>(0, plan.FreeNow(node).cpus);
    for (size_t p = 0; p < parts.size(); ++p) {
      if (!member[p][node]) continue;
      part_free_cpus[p] -= delta;
      part_max_dirty[p] = 1;
    }
  }

  // Starts the job now if it fits without delaying a reservation.
  bool TryStart(const Job& job, uint32_t p, int64_t duration) {
    const JobRequest& req = job.req;
    const std::vector<Node>& nodes = *view->nodes;
    const uint32_t want = std::max<uint32_t>(1, req.min_nodes);
    const int64_t end = EndOf(now, duration);
    const bool simple = req.required_nodes.empty() && req.excluded_nodes.empty() &&
                        req.constraint.empty() && (req.gpu_type.empty() || req.gpus_per_node == 0);
    Amount shape;  // what it takes per node unless exclusive (then whole nodes)
    if (req.required_nodes.empty()) {
      shape = ToAmount(ShapeFor(req, Node{}));
      const int64_t per_node = req.exclusive ? 1 : shape.cpus;
      if (part_free_cpus[p] < per_node * want) return false;
      if (!req.exclusive && part_max_free[p] < shape.cpus) return false;
      if (!req.exclusive && PartMaxFree(p) < shape.cpus) return false;
      if (simple) {
        for (const Failure& f : failures) {
          if (f.partition == p && want >= f.want && req.exclusive == f.exclusive &&
              duration >= f.duration && Covers(shape, f.need)) {
            return false;
          }
        }
      }
    }
    if (!RequiredNodes(req, p)) return false;
    chosen.clear();
    for (const NodeNeed& r : required) {
      if (!FitsNow(req, r, end)) return false;
      chosen.push_back(r);
    }
    // Nodes that are up first: a powered-down node is resumed only when they do not suffice.
    const int rounds = plan.AnyAsleep() ? 2 : 1;
    for (int round = 0; round < rounds; ++round) {
      for (uint32_t i = 0; i < nodes.size() && chosen.size() < want; ++i) {
        if (!plan.Schedulable(i) || !Eligible(req, p, i)) continue;
        if (rounds == 2 && plan.Asleep(i) != (round == 1)) continue;
        if (std::any_of(required.begin(), required.end(),
                        [&](const NodeNeed& r) { return r.node == i; })) {
          continue;
        }
        NodeNeed c{i, ToAmount(ShapeFor(req, nodes[i]))};
        if (FitsNow(req, c, end)) chosen.push_back(c);
      }
    }
    if (chosen.size() < want) {
      if (simple && failures.size() < 64) {
        // Without reservations a shape fails whatever its duration.
        failures.push_back({p, want, req.exclusive, shape, plan.HasHolds() ? duration : 0});
      }
      return false;
    }

    Commit(job, end);
    return true;
  }

  // Starts the job on `chosen` now, until `end`.
  void Commit(const Job& job, int64_t end) {
    const JobRequest& req = job.req;
    const std::vector<Node>& nodes = *view->nodes;
    StartDecision start;
    start.job_id = job.id;
    start.per_node = ShapeFor(req, nodes[chosen.front().node]);
    for (const NodeNeed& c : chosen) {
      const Node& n = nodes[c.node];
      std::vector<uint32_t> gpus;
      uint8_t* busy = gpu_busy.data() + gpu_offset[c.node];
      for (uint32_t g = 0; g < n.gpus && gpus.size() < static_cast<size_t>(c.need.gpus); ++g) {
        if (!busy[g]) gpus.push_back(g);
      }
      for (uint32_t g : gpus) busy[g] = 1;
      const int64_t before = plan.FreeNow(c.node).cpus;
      plan.Take(c.node, c.need, end);
      Taken(c.node, before);
      start.nodes.push_back(n.name);
      start.gpu_indices.push_back(std::move(gpus));
    }
    if (job.IsArrayTask()) ++running_per_array[job.array_job_id];
    if (count_qos_users) {
      if (const Qos* q = QosOf(job)) ++RunningOfQosUser(*q, job);
    }
    if (limits.active()) limits.Charge(job, QosOf(job));
    result->starts.push_back(std::move(start));
  }

  // Adds (sign 1) or removes (-1) what `job` holds on each node to `extra`.
  void AddHeld(const Job& job, int sign) {
    for (size_t k = 0; k < job.nodes.size(); ++k) {
      auto it = node_index.find(job.nodes[k]);
      if (it == node_index.end()) continue;
      Amount& a = extra[it->second];
      a.cpus += sign * static_cast<int64_t>(job.cpus_per_node);
      a.mem_mb += sign * static_cast<int64_t>(job.mem_per_node_alloc_mb);
      if (k < job.gpu_indices.size())
        a.gpus += sign * static_cast<int64_t>(job.gpu_indices[k].size());
    }
  }

  // Whether the job would fit now, until `end`, if what `extra` holds were free as well. Nodes
  // that a reservation holds before `end` are out of reach: preemption never crosses into a
  // reservation the job is not in (jobs in a reservation do not preempt).
  bool FitsWithExtra(const JobRequest& req, uint32_t p, int64_t end) {
    const std::vector<Node>& nodes = *view->nodes;
    if (!RequiredNodes(req, p)) return false;
    auto fits = [&](uint32_t i, const Amount& need) {
      if (ReservedBefore(i, end)) return false;
      Amount avail = plan.FreeNow(i);
      avail.cpus += extra[i].cpus;
      avail.mem_mb += extra[i].mem_mb;
      avail.gpus += extra[i].gpus;
      if (req.exclusive && avail.cpus < plan.Capacity(i).cpus) return false;  // not emptied
      return Covers(avail, need);
    };
    const uint32_t want = std::max<uint32_t>(1, req.min_nodes);
    uint32_t have = 0;
    for (const NodeNeed& r : required) {
      if (!fits(r.node, r.need)) return false;
      ++have;
    }
    for (uint32_t i = 0; i < nodes.size() && have < want; ++i) {
      if (!plan.Schedulable(i) || !Eligible(req, p, i)) continue;
      if (std::any_of(required.begin(), required.end(),
                      [&](const NodeNeed& r) { return r.node == i; })) {
        continue;
      }
      if (fits(i, ToAmount(ShapeFor(req, nodes[i])))) ++have;
    }
    return have >= want;
  }

  // How a running job of `qos` is stopped when preempted.
  PreemptMode ModeFor(const Job& victim, const Qos& qos) const {
    PreemptMode m = qos.preempt_mode.value_or(options->preempt_mode);
    if (m == PreemptMode::kRequeue && !(options->requeue_allowed && victim.req.requeue)) {
      m = PreemptMode::kCancel;
    }
    return m;
  }

  // Preempts running jobs for a job that cannot start now (see Scheduler's comment). True when
  // the job will be able to start once jobs being stopped have ended.
  bool TryPreempt(const Job& job, uint32_t p, int64_t duration) {
    const Qos* qos = QosOf(job);
    if (qos == nullptr || qos->preempt.empty()) return false;
    const int64_t end = EndOf(now, duration);
    extra.assign(plan.size(), Amount{});
    if (view->releasing != nullptr) {
      for (const Job* r : *view->releasing) AddHeld(*r, 1);
    }
    if (FitsWithExtra(job.req, p, end)) return true;  // what is being freed already suffices
    victims.clear();
    for (const Job* r : running) {
      if (r->state != JobState::kRunning || r->terminating || r->cancel_requested ||
          preempted.count(r->id) != 0) {
        continue;
      }
      const Qos* rq = QosOf(*r);
      if (rq == nullptr || !qos->MayPreempt(rq->name) || ModeFor(*r, *rq) == PreemptMode::kOff) {
        continue;
      }
      const bool useful = std::any_of(r->nodes.begin(), r->nodes.end(), [&](const std::string& n) {
        auto it = node_index.find(n);
        return it != node_index.end() && Eligible(job.req, p, it->second) &&
               !ReservedBefore(it->second, end);
      });
      if (useful) victims.push_back(r);
    }
    std::sort(victims.begin(), victims.end(), [](const Job* a, const Job* b) {
      if (a->priority != b->priority) return a->priority < b->priority;
      if (a->start_time != b->start_time) return a->start_time > b->start_time;
      return a->id > b->id;
    });
    size_t taken = 0;
    bool fits = false;
    while (taken < victims.size() && !fits) {
      AddHeld(*victims[taken++], 1);
      fits = FitsWithExtra(job.req, p, end);
    }
    if (!fits) return false;  // never preempt for a job that still could not start
    victims.resize(taken);
    for (size_t i = victims.size(); i-- > 0;) {
      AddHeld(*victims[i], -1);
      if (FitsWithExtra(job.req, p, end)) {
        victims.erase(victims.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        AddHeld(*victims[i], 1);
      }
    }
    for (const Job* v : victims) {
      const Qos& vq = *QosOf(*v);
      preempted.insert(v->id);
      result->preemptions.push_back({v->id, job.id, ModeFor(*v, vq), vq.grace_time_s});
    }
    return true;
  }

  // Plans the job at its earliest start and holds its nodes from then on. kNever when the
  // plan has no such time.
  int64_t Reserve(const Job& job, uint32_t p, int64_t duration) {
    const JobRequest& req = job.req;
    const std::vector<Node>& nodes = *view->nodes;
    AddReleases();
    if (!RequiredNodes(req, p)) return kNever;
    candidates.clear();
    for (uint32_t i = 0; i < nodes.size(); ++i) {
      if (!plan.Schedulable(i) || !Eligible(req, p, i)) continue;
      if (std::any_of(required.begin(), required.end(),
                      [&](const NodeNeed& r) { return r.node == i; })) {
        continue;
      }
      NodeNeed c{i, ToAmount(ShapeFor(req, nodes[i]))};
      if (Covers(plan.Capacity(i), c.need)) candidates.push_back(c);
    }
    // Among the nodes free at the planned time, hold powered-down ones first: jobs backfilled
    // now then keep the nodes that are up, as the main pass would give them, instead of
    // resuming a node while an up one idles. The time does not depend on the order, and when
    // the planned job does start it goes through TryStart, which prefers up nodes again.
    if (plan.AnyAsleep()) {
      std::stable_partition(candidates.begin(), candidates.end(),
                            [&](const NodeNeed& c) { return plan.Asleep(c.node); });
    }
    const uint32_t want = std::max<uint32_t>(1, req.min_nodes);
    int64_t t = plan.EarliestStart(required, candidates, want, duration, &chosen);
    if (t == kNever) return kNever;
    const int64_t end = EndOf(t, duration);
    for (const NodeNeed& c : chosen) plan.Hold(c.node, c.need, t, end);
    ++reservations;
    PlannedStart& planned = result->planned.emplace_back();
    planned.job_id = job.id;
    planned.start_time = t;
    for (const NodeNeed& c : chosen) planned.nodes.push_back(nodes[c.node].name);
    return t;
  }
};

Scheduler::Scheduler(SchedulerOptions options, std::unique_ptr<QueueOrder> order,
                     std::unique_ptr<BackfillPolicy> backfill)
    : options_(std::move(options)),
      order_(std::move(order)),
      backfill_(std::move(backfill)),
      pass_(std::make_unique<Pass>()) {}

Scheduler::~Scheduler() = default;

Result<std::unique_ptr<Scheduler>> Scheduler::Create(const SchedulerOptions& options,
                                                     const PolicyRegistry& registry) {
  auto order = registry.NewOrder(options.queue_order);
  if (!order.ok()) return order.status();
  auto backfill = registry.NewBackfill(options.backfill);
  if (!backfill.ok()) return backfill.status();
  return std::unique_ptr<Scheduler>(
      new Scheduler(options, std::move(order).value(), std::move(backfill).value()));
}

ScheduleResult Scheduler::Schedule(const ClusterView& view, int64_t now) {
  ScheduleResult result;
  Pass& pass = *pass_;
  pass.Prepare(view, options_, now, &result);

  // The queue, in order.
  const bool keyed = order_->UsesEstimate();
  auto collect = [&](const Job& job) {
    if (job.state == JobState::kPending) {
      int64_t estimate = 0;
      if (keyed) {
        int p = pass.FindPartition(job.req.partition);
        estimate = EstimateOf(job.req, p < 0 ? nullptr : pass.parts[p]);
      }
      pass.entries.push_back({order_->Key(job, estimate), &job});
    } else if (job.state == JobState::kRunning || job.state == JobState::kCompleting ||
               job.state == JobState::kSuspended) {
      pass.running.push_back(&job);
    }
  };
  if (view.pending_in_order != nullptr) {
    for (const Job* job : *view.pending_in_order) pass.entries.push_back({QueueKey{}, job});
    if (view.running != nullptr) pass.running = *view.running;
  } else {
    if (view.live_jobs != nullptr) {
      for (const Job* job : *view.live_jobs) collect(*job);
    } else {
      for (const auto& [id, job] : *view.jobs) collect(job);
    }
    std::sort(pass.entries.begin(), pass.entries.end(),
              [](const Pass::Entry& a, const Pass::Entry& b) { return a.key < b.key; });
  }
  if (!options_.report_reasons) {
    pass.min_cpus_from.resize(pass.entries.size() + 1);
    pass.min_cpus_from.back() = std::numeric_limits<int64_t>::max();
    for (size_t i = pass.entries.size(); i-- > 0;) {
      const JobRequest& req = pass.entries[i].job->req;
      int64_t cpus = std::max<uint32_t>(1, req.min_nodes);
      if (!req.exclusive) cpus *= ShapeFor(req, Node{}).cpus;
      pass.min_cpus_from[i] = std::min(pass.min_cpus_from[i + 1], cpus);
    }
  }
  for (const Job* job : pass.running) {
    if (job->state == JobState::kRunning && job->IsArrayTask()) {
      ++pass.running_per_array[job->array_job_id];
    }
    if (job->state == JobState::kRunning || job->state == JobState::kSuspended) {
      const Qos* q =
          pass.count_qos_users || pass.limits.qos_limited() ? pass.QosOf(*job) : nullptr;
      if (pass.count_qos_users && q != nullptr) ++pass.RunningOfQosUser(*q, *job);
      if (pass.limits.active()) pass.limits.Charge(*job, q);
    }
  }

  auto set_reason = [&](const Job& job, const char* reason) {
    if (options_.report_reasons && job.reason != reason)
      result.reasons.emplace_back(job.id, reason);
  };
  // What to do with a job that cannot start now.
  auto blocked = [&](const Job& job, uint32_t p, int64_t duration) {
    Pass::PartState& ps = pass.part_state[p];
    const bool first = !ps.blocked;
    ps.blocked = true;
    if (!pass.part_maint.empty() && pass.part_maint[p]) {
      set_reason(job, "ReqNodeNotAvail, Reserved for maintenance");
    } else {
      set_reason(job, first ? "Resources" : "Priority");
    }
    switch (backfill_->OnBlocked(first)) {
      case BlockedAction::kStopPartition:
        ps.stopped = true;
        break;
      case BlockedAction::kSkip:
        break;
      case BlockedAction::kReserve: {
        bool capped =
            options_.max_reservations > 0 && pass.reservations >= options_.max_reservations;
        // A first blocked job the plan cannot protect would be starved by backfill: nothing
        // behind it in its partition may start then.
        if ((capped || pass.Reserve(job, p, duration) == kNever) && first) ps.stopped = true;
        break;
      }
    }
  };
  // Once no CPU is free anywhere nothing more can start; the rest of the walk only sets
  // reasons and plans.
  auto exhausted = [&] { return pass.plan.TotalFreeCpus() <= 0; };

  for (size_t pos = 0; pos < pass.entries.size(); ++pos) {
    const Job& job = *pass.entries[pos].job;
    const JobRequest& req = job.req;
    // None of the rest could start now and no reasons are wanted: stop. (With jobs deferred
    // to shortest-first backfill, the rest's reservations could still matter to them when there
    // are other partitions.)
    if (!options_.report_reasons && !options_.preempt &&
        pass.min_cpus_from[pos] > pass.plan.TotalFreeCpus() &&
        (pass.deferred.empty() || pass.parts.size() == 1)) {
      break;
    }
    if (job.terminating) continue;  // its previous run has not ended yet
    if (job.held) {
      set_reason(job, job.reason == "JobHeldAdmin" ? "JobHeldAdmin" : "JobHeldUser");
      continue;
    }
    if (req.begin_time > now) {
      set_reason(job, "BeginTime");
      continue;
    }
    if (job.preempted_by != 0) {
      auto it = view.jobs->find(job.preempted_by);
      if (it != view.jobs->end() && it->second.state == JobState::kPending && !it->second.held) {
        set_reason(job, "BeginTime");
        continue;
      }
    }
    if (!req.dependency.clauses.empty()) {
      DependencyState dep = EvaluateDependency(job, *view.jobs);
      if (dep == DependencyState::kNeverSatisfied) {
        set_reason(job, "DependencyNeverSatisfied");
        continue;
      }
      if (dep == DependencyState::kWaiting) {
        set_reason(job, "Dependency");
        continue;
      }
    }
    const int pi = pass.FindPartition(req.partition);
    if (pi < 0) {
      set_reason(job, "PartitionConfig");
      continue;
    }
    const uint32_t p = static_cast<uint32_t>(pi);
    const Partition& partition = *pass.parts[p];
    if (!partition.up) {
      set_reason(job, "PartitionDown");
      continue;
    }
    if (partition.inactive) {
      set_reason(job, "PartitionInactive");
      continue;
    }
    if (partition.max_time_s != kUnlimited &&
        (req.time_limit_s == kUnlimited || req.time_limit_s > partition.max_time_s)) {
      set_reason(job, "PartitionTimeLimit");
      continue;
    }
    if (partition.max_nodes > 0 && req.min_nodes > partition.max_nodes) {
      set_reason(job, "PartitionNodeLimit");
      continue;
    }
    if (job.IsArrayTask() && req.array_max_running > 0 &&
        pass.running_per_array[job.array_job_id] >= req.array_max_running) {
      set_reason(job, "JobArrayTaskLimit");
      continue;
    }
    const Qos* qos = view.qos != nullptr ? pass.QosOf(job) : nullptr;
    if (view.qos != nullptr) {
      if (qos == nullptr) {
        set_reason(job, "InvalidQOS");
        continue;
      }
      if (req.time_limit_s != 0 && ExceedsMaxWall(*qos, req.time_limit_s)) {
        set_reason(job, "QOSMaxWallDurationPerJobLimit");
        continue;
      }
      if (qos->max_jobs_per_user > 0 &&
          pass.RunningOfQosUser(*qos, job) >= qos->max_jobs_per_user) {
        set_reason(job, "QOSMaxJobsPerUserLimit");
        continue;
      }
    }
    if (pass.limits.active()) {
      const std::string_view limit = pass.limits.Blocker(job, qos);
      if (!limit.empty()) {
        set_reason(job, limit.data());  // one of Slurm's reason literals
        continue;
      }
    }
    if (!req.reservation.empty()) {
      // Checked against the reservation's users at submit; here only its window and room.
      const int k = pass.FindReservation(req.reservation);
      if (k < 0) {
        set_reason(job, "ReservationDeleted");
        continue;
      }
      const Reservation& r = (*view.reservations)[static_cast<size_t>(k)];
      if (!r.ActiveAt(now)) {
        set_reason(job, "Reservation");
        continue;
      }
      const int64_t estimate = EstimateOf(req, &partition);
      const int64_t duration = estimate == kNever ? kNever : std::max<int64_t>(1, estimate);
      if (exhausted() || !pass.TryStartInReservation(job, p, static_cast<size_t>(k), duration)) {
        set_reason(job, "Resources");
      }
      continue;
    }
    Pass::PartState& ps = pass.part_state[p];
    if (ps.stopped) {
      set_reason(job, "Priority");
      continue;
    }
    const int64_t estimate = EstimateOf(req, &partition);
    const int64_t duration = estimate == kNever ? kNever : std::max<int64_t>(1, estimate);
    if (ps.blocked && backfill_->ShortestFirst()) {
      pass.deferred.push_back({duration, pos, &job, p});
      continue;
    }
    if (!exhausted() && pass.TryStart(job, p, duration)) continue;
    if (options_.preempt) pass.TryPreempt(job, p, duration);
    blocked(job, p, duration);
  }

  // Backfill shortest first (easy-sjbf): the jobs behind each partition's blocked job.
  std::sort(pass.deferred.begin(), pass.deferred.end(),
            [](const Pass::Deferred& a, const Pass::Deferred& b) {
              return a.duration != b.duration ? a.duration < b.duration : a.position < b.position;
            });
  std::vector<int64_t>& min_cpus = pass.min_cpus_from;
  if (!options_.report_reasons) {
    min_cpus.resize(pass.deferred.size() + 1);
    min_cpus.back() = std::numeric_limits<int64_t>::max();
    for (size_t i = pass.deferred.size(); i-- > 0;) {
      const JobRequest& req = pass.deferred[i].job->req;
      int64_t cpus = std::max<uint32_t>(1, req.min_nodes);
      if (!req.exclusive) cpus *= ShapeFor(req, Node{}).cpus;
      min_cpus[i] = std::min(min_cpus[i + 1], cpus);
    }
  }
  for (size_t i = 0; i < pass.deferred.size(); ++i) {
    const Pass::Deferred& d = pass.deferred[i];
    if (!options_.report_reasons && !options_.preempt && min_cpus[i] > pass.plan.TotalFreeCpus()) {
      break;
    }
    if (pass.part_state[d.partition].stopped) {
      set_reason(*d.job, "Priority");
      continue;
    }
    // Jobs started since this one was deferred may have used up a limit it needs.
    if (pass.limits.active()) {
      const std::string_view limit = pass.limits.Blocker(*d.job, pass.QosOf(*d.job));
      if (!limit.empty()) {
        set_reason(*d.job, limit.data());
        continue;
      }
    }
    if (!exhausted() && pass.TryStart(*d.job, d.partition, d.duration)) continue;
    if (options_.preempt) pass.TryPreempt(*d.job, d.partition, d.duration);
    blocked(*d.job, d.partition, d.duration);
  }
  return result;
}

ScheduleResult Schedule(const ClusterView& view, int64_t now) {
  static const SchedulerOptions kDefaults;
  auto scheduler = Scheduler::Create(kDefaults);
  return (*scheduler)->Schedule(view, now);
}

}  // namespace shoal
