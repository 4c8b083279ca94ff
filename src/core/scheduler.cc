#include "core/scheduler.h"

#include <algorithm>
#include <set>
#include <unordered_map>

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
      bool has = std::find(node.features.begin(), node.features.end(), feature) !=
                 node.features.end();
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

// Free GPU indices of a node, first `count` of them; empty when not enough.
std::vector<uint32_t> PickGpus(const Node& node, uint32_t count) {
  std::vector<uint32_t> picked;
  for (uint32_t i = 0; i < node.gpu_busy.size() && picked.size() < count; ++i) {
    if (!node.gpu_busy[i]) picked.push_back(i);
  }
  if (picked.size() < count) picked.clear();
  return picked;
}

bool FitsNow(const NodeShape& need, const Node& node, bool exclusive) {
  if (!node.Schedulable()) return false;
  if (exclusive && (node.alloc_cpus > 0 || !node.running_jobs.empty())) return false;
  if (node.alloc_cpus + need.cpus > node.cpus) return false;
  if (need.mem_mb > 0 && node.alloc_mem_mb + need.mem_mb > node.memory_mb) return false;
  if (need.gpus > 0 && PickGpus(node, need.gpus).empty()) return false;
  return true;
}

}  // namespace

NodeShape ShapeFor(const JobRequest& req, const Node& node) {
  NodeShape s;
  const uint32_t nodes = std::max<uint32_t>(1, req.min_nodes);
  const uint32_t tasks_per_node =
      req.ntasks_per_node > 0 ? req.ntasks_per_node : CeilDiv(std::max<uint32_t>(1, req.ntasks), nodes);
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
    auto it = std::find_if(nodes.begin(), nodes.end(), [&](const Node& n) { return n.name == name; });
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
  bool partition_has_nodes = std::any_of(nodes.begin(), nodes.end(), [&](const Node& n) {
    return partition.Contains(n.name);
  });
  if (partition_has_nodes && candidates < std::max<uint32_t>(1, req.min_nodes)) {
    return InvalidArgument("Requested node configuration is not available");
  }
  return Status::Ok();
}

uint32_t ComputePriority(const Job& job, const Partition* partition, const PriorityWeights& w,
                         int64_t now) {
  if (job.held) return 0;
  double p = 1;
  if (w.age > 0 && w.max_age_s > 0) {
    int64_t age = std::max<int64_t>(0, now - std::max(job.submit_time, job.eligible_time));
    p += w.age * std::min(1.0, static_cast<double>(age) / static_cast<double>(w.max_age_s));
  }
  if (w.partition > 0 && partition != nullptr) {
    p += w.partition * std::min(1.0, partition->priority_job_factor / 65533.0);
  }
  if (w.job_size > 0) p += w.job_size * std::min(1.0, job.req.min_nodes / 1000.0);
  p -= job.req.nice;
  return p < 1 ? 1 : static_cast<uint32_t>(p);
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
            other.req.user == job.req.user &&
            (other.state != JobState::kPending || id < job.id)) {
          clause = DependencyState::kWaiting;
          break;
        }
      }
    } else {
      // The clause names one job, one array task (12_3, or the task's own job id), or a whole
      // array (every task; the array's id is also the job id of its first task).
      std::vector<const Job*> targets;
      if (auto it = jobs.find(d.job_id); it != jobs.end() && d.array_task == kNoArrayTask &&
                                         it->second.array_job_id != d.job_id) {
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
      // Jobs no longer held (purged after MinJobAge) count as satisfied, as in Slurm.
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
            if (!IsFinished(t->state)) s = DependencyState::kWaiting;
            else s = t->state == JobState::kCompleted ? DependencyState::kSatisfied
                                                       : DependencyState::kNeverSatisfied;
            break;
          case Dependency::Kind::kAfterNotOk:  // decided above
          case Dependency::Kind::kSingleton:
            break;
        }
        if (s == DependencyState::kNeverSatisfied) clause = s;
        else if (s == DependencyState::kWaiting && clause == DependencyState::kSatisfied) clause = s;
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

ScheduleResult Schedule(const ClusterView& view, int64_t now) {
  ScheduleResult result;
  const auto& jobs = *view.jobs;
  // Working copy of node usage so decisions within one pass see each other.
  std::vector<Node> nodes = *view.nodes;
  std::unordered_map<std::string, size_t> node_index;
  for (size_t i = 0; i < nodes.size(); ++i) node_index[nodes[i].name] = i;
  std::unordered_map<std::string, const Partition*> partitions;
  for (const auto& p : *view.partitions) partitions[p.name] = &p;

  std::unordered_map<JobId, uint32_t> running_per_array;
  std::vector<const Job*> pending;
  auto consider = [&](const Job& job) {
    if (job.state == JobState::kRunning && job.IsArrayTask()) ++running_per_array[job.array_job_id];
    if (job.state == JobState::kPending) pending.push_back(&job);
  };
  if (view.live_jobs != nullptr) {
    for (const Job* job : *view.live_jobs) consider(*job);
  } else {
    for (const auto& [id, job] : jobs) consider(job);
  }
  std::sort(pending.begin(), pending.end(), [](const Job* a, const Job* b) {
    if (a->priority != b->priority) return a->priority > b->priority;
    if (a->submit_time != b->submit_time) return a->submit_time < b->submit_time;
    return a->id < b->id;
  });

  auto set_reason = [&](const Job& job, const char* reason) {
    if (job.reason != reason) result.reasons.emplace_back(job.id, reason);
  };
  std::set<std::string> blocked_partitions;

  for (const Job* job : pending) {
    const JobRequest& req = job->req;
    if (job->terminating) continue;  // its previous run has not ended yet
    if (job->held) {
      set_reason(*job, job->reason == "JobHeldAdmin" ? "JobHeldAdmin" : "JobHeldUser");
      continue;
    }
    if (req.begin_time > now) {
      set_reason(*job, "BeginTime");
      continue;
    }
    DependencyState dep = EvaluateDependency(*job, jobs);
    if (dep == DependencyState::kNeverSatisfied) {
      set_reason(*job, "DependencyNeverSatisfied");
      continue;
    }
    if (dep == DependencyState::kWaiting) {
      set_reason(*job, "Dependency");
      continue;
    }
    auto pit = partitions.find(req.partition);
    if (pit == partitions.end()) {
      set_reason(*job, "PartitionConfig");
      continue;
    }
    const Partition& partition = *pit->second;
    if (!partition.up) {
      set_reason(*job, "PartitionDown");
      continue;
    }
    if (partition.max_time_s != -1 &&
        (req.time_limit_s == -1 || req.time_limit_s > partition.max_time_s)) {
      set_reason(*job, "PartitionTimeLimit");
      continue;
    }
    if (job->IsArrayTask() && req.array_max_running > 0 &&
        running_per_array[job->array_job_id] >= req.array_max_running) {
      set_reason(*job, "JobArrayTaskLimit");
      continue;
    }
    if (blocked_partitions.count(partition.name)) {
      set_reason(*job, "Priority");
      continue;
    }

    // Pick nodes: required ones first, then the lowest-named that fit, in config order.
    const uint32_t want = std::max<uint32_t>(1, req.min_nodes);
    std::vector<size_t> chosen;
    bool impossible = false;
    for (const auto& name : req.required_nodes) {
      auto it = node_index.find(name);
      if (it == node_index.end()) { impossible = true; break; }
      if (std::find(chosen.begin(), chosen.end(), it->second) != chosen.end()) continue;
      const Node& n = nodes[it->second];
      if (!partition.Contains(n.name) || !FitsNow(ShapeFor(req, n), n, req.exclusive)) {
        impossible = true;
        break;
      }
      chosen.push_back(it->second);
    }
    for (size_t i = 0; !impossible && i < nodes.size() && chosen.size() < want; ++i) {
      const Node& n = nodes[i];
      if (std::find(chosen.begin(), chosen.end(), i) != chosen.end()) continue;
      if (!partition.Contains(n.name) || Contains(req.excluded_nodes, n.name)) continue;
      if (!HasFeatures(n, req.constraint)) continue;
      if (!req.gpu_type.empty() && req.gpus_per_node > 0 && n.gpu_type != req.gpu_type) continue;
      if (!FitsNow(ShapeFor(req, n), n, req.exclusive)) continue;
      chosen.push_back(i);
    }
    if (impossible || chosen.size() < want) {
      set_reason(*job, "Resources");
      blocked_partitions.insert(partition.name);
      continue;
    }

    StartDecision start;
    start.job_id = job->id;
    start.per_node = ShapeFor(req, nodes[chosen.front()]);
    for (size_t i : chosen) {
      Node& n = nodes[i];
      NodeShape shape = ShapeFor(req, n);
      std::vector<uint32_t> gpus = PickGpus(n, shape.gpus);
      for (uint32_t g : gpus) n.gpu_busy[g] = true;
      n.alloc_cpus += shape.cpus;
      n.alloc_mem_mb += shape.mem_mb;
      n.running_jobs.push_back(job->id);
      start.nodes.push_back(n.name);
      start.gpu_indices.push_back(std::move(gpus));
    }
    if (job->IsArrayTask()) ++running_per_array[job->array_job_id];
    result.starts.push_back(std::move(start));
  }
  return result;
}

}  // namespace shoal
