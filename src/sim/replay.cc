#include "sim/replay.h"

#include <algorithm>
#include <memory>
#include <queue>
#include <set>
#include <unordered_map>

#include "common/strings.h"
#include "core/scheduler.h"

namespace shoal {
namespace {

constexpr char kPartition[] = "sim";

class Engine {
 public:
  Engine(const Workload& workload, const ReplayOptions& options,
         std::unique_ptr<Scheduler> scheduler)
      : workload_(workload), options_(options), scheduler_(std::move(scheduler)) {
    const Machine& m = workload.machine;
    nodes_.resize(m.nodes);
    for (uint32_t i = 0; i < m.nodes; ++i) {
      Node& n = nodes_[i];
      n.name = "n" + std::to_string(i + 1);
      n.cpus = m.cpus_per_node;
      n.memory_mb = 1;
      n.responding = true;
      n.boot_time = 1;
      node_index_.emplace(n.name, i);
    }
    free_cpus_ = m.cpus();
    Partition p;
    p.name = kPartition;
    p.all_nodes = true;
    p.is_default = true;
    partitions_.push_back(p);
    arrival_last_ = scheduler_->order().ArrivalOrdered() || scheduler_->backfill().name() == "none";
    // A pass at every window's start and end: jobs held back by a window may start then.
    for (const Reservation& r : options_.reservations) {
      boundaries_.push_back(r.start_time);
      boundaries_.push_back(r.end_time);
    }
    std::sort(boundaries_.begin(), boundaries_.end(), std::greater<>());
    keyed_ = !scheduler_->order().ArrivalOrdered();
  }

  Result<ReplayResult> Run() {
    const std::vector<SimJob>& jobs = workload_.jobs;
    result_.jobs.resize(jobs.size());
    slots_.resize(jobs.size());
    // Submissions by time, ties in workload order.
    std::vector<uint32_t> order(jobs.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return jobs[a].submit < jobs[b].submit; });
    size_t next = 0;
    while (next < order.size() || !ends_.empty() || (!boundaries_.empty() && !queue_.empty())) {
      int64_t now = kNever;
      if (next < order.size()) now = jobs[order[next]].submit;
      if (!ends_.empty()) now = std::min(now, ends_.top().end);
      if (!boundaries_.empty() && boundaries_.back() <= now) {
        now = boundaries_.back();
        while (!boundaries_.empty() && boundaries_.back() == now) boundaries_.pop_back();
        Event(now, Idle());
      }
      while (next < order.size() && jobs[order[next]].submit == now) {
        uint32_t procs = Submit(order[next++], now);
        const bool idle = Idle() || (arrival_last_ && procs > free_cpus_);
        Event(now, idle);
      }
      while (!ends_.empty() && ends_.top().end == now) {
        uint32_t index = ends_.top().index;
        ends_.pop();
        Finish(index);
        Event(now, Idle());
      }
    }
    if (!queue_.empty()) {
      return FailedPrecondition(std::to_string(queue_.size()) +
                                " jobs could never start (larger than the machine?)");
    }
    result_.stats = Summarize(result_.jobs, workload_.machine);
    return std::move(result_);
  }

 private:
  struct End {
    int64_t end;
    uint64_t seq;  // start order: terminations at one instant go in it
    uint32_t index;
    bool operator>(const End& o) const { return end != o.end ? end > o.end : seq > o.seq; }
  };

  // No pending job asks for at most the free CPUs: no pass could start anything.
  bool Idle() const { return demand_.empty() || *demand_.begin() > free_cpus_; }

  void Event(int64_t now, bool idle) {
    if (options_.skip_idle_passes && idle) {
      ++result_.skipped;
    } else {
      Pass(now);
    }
    // The job at the front is the head now; it stays there (Calibration A).
    pinned_ = options_.pin_head && !queue_.empty();
  }

  uint32_t Submit(uint32_t index, int64_t now) {
    const SimJob& s = workload_.jobs[index];
    slots_[index] = std::make_unique<Job>();
    Job& job = *slots_[index];
    job.id = index + 1;
    job.submit_time = now;
    job.eligible_time = now;
    job.req.partition = kPartition;
    job.req.ntasks = s.procs;
    job.req.min_nodes = static_cast<uint32_t>((s.procs + workload_.machine.cpus_per_node - 1) /
                                              workload_.machine.cpus_per_node);
    job.req.time_limit_s = std::max<int64_t>(1, s.estimate);
    JobOutcome& out = result_.jobs[index];
    out.trace_id = s.trace_id;
    out.submit = now;
    out.run = s.run;
    out.procs = s.procs;
    out.estimate = s.estimate;
    size_t pos = queue_.size();
    if (keyed_) {
      QueueKey key = scheduler_->KeyOf(job, &partitions_[0]);
      auto first = keys_.begin() + (pinned_ ? 1 : 0);
      pos = static_cast<size_t>(std::upper_bound(first, keys_.end(), key) - keys_.begin());
      keys_.insert(keys_.begin() + static_cast<std::ptrdiff_t>(pos), key);
    }
    queue_.insert(queue_.begin() + static_cast<std::ptrdiff_t>(pos), &job);
    demand_.insert(s.procs);
    return s.procs;
  }

  void Pass(int64_t now) {
    ++result_.passes;
    ClusterView view{&no_jobs_, &nodes_, &partitions_};
    view.pending_in_order = &queue_;
    view.running = &running_;
    if (!options_.reservations.empty()) view.reservations = &options_.reservations;
    ScheduleResult r = scheduler_->Schedule(view, now);
    if (options_.on_pass) options_.on_pass(now, r);
    if (r.starts.empty()) return;
    for (StartDecision& d : r.starts) Start(d, now);
    // Drop the started jobs from the queue, keeping its order.
    size_t out = 0;
    for (size_t i = 0; i < queue_.size(); ++i) {
      if (queue_[i]->state != JobState::kPending) continue;
      queue_[out] = queue_[i];
      if (keyed_) keys_[out] = keys_[i];
      ++out;
    }
    queue_.resize(out);
    if (keyed_) keys_.resize(out);
  }

  void Start(StartDecision& d, int64_t now) {
    const uint32_t index = static_cast<uint32_t>(d.job_id - 1);
    Job& job = *slots_[index];
    job.state = JobState::kRunning;
    job.start_time = now;
    job.cpus_per_node = d.per_node.cpus;
    job.alloc_cpus = d.per_node.cpus * static_cast<uint32_t>(d.nodes.size());
    for (const std::string& name : d.nodes) {
      Node& n = nodes_[node_index_.at(name)];
      n.alloc_cpus += d.per_node.cpus;
    }
    free_cpus_ -= job.alloc_cpus;
    job.nodes = std::move(d.nodes);
    job.gpu_indices = std::move(d.gpu_indices);
    demand_.erase(demand_.find(job.req.ntasks));
    running_pos_[index] = running_.size();
    running_.push_back(&job);
    JobOutcome& out = result_.jobs[index];
    out.start = now;
    out.end = now + out.run;
    ends_.push({out.end, seq_++, index});
  }

  void Finish(uint32_t index) {
    Job& job = *slots_[index];
    for (const std::string& name : job.nodes) {
      nodes_[node_index_.at(name)].alloc_cpus -= job.cpus_per_node;
    }
    free_cpus_ += job.alloc_cpus;
    size_t pos = running_pos_[index];
    running_pos_.erase(index);
    if (pos + 1 != running_.size()) {
      running_[pos] = running_.back();
      running_pos_[static_cast<uint32_t>(running_[pos]->id - 1)] = pos;
    }
    running_.pop_back();
    slots_[index].reset();
  }

  const Workload& workload_;
  ReplayOptions options_;
  std::unique_ptr<Scheduler> scheduler_;
  std::vector<Node> nodes_;
  std::unordered_map<std::string, uint32_t> node_index_;
  std::vector<Partition> partitions_;
  const std::map<JobId, Job> no_jobs_;       // only dependencies read it; traces have none
  std::vector<std::unique_ptr<Job>> slots_;  // live jobs, by workload index
  std::vector<const Job*> queue_;            // pending, in queue order
  std::vector<QueueKey> keys_;               // queue_'s keys, when the order needs them
  std::vector<const Job*> running_;
  std::unordered_map<uint32_t, size_t> running_pos_;
  std::multiset<uint32_t> demand_;  // CPUs each pending job asks for
  std::priority_queue<End, std::vector<End>, std::greater<End>> ends_;
  uint64_t free_cpus_ = 0;
  uint64_t seq_ = 0;
  bool arrival_last_ = false;
  bool keyed_ = false;
  bool pinned_ = false;
  std::vector<int64_t> boundaries_;  // reservation starts and ends, latest first
  ReplayResult result_;
};

}  // namespace

double JobOutcome::bsld() const {
  const double r = static_cast<double>(std::max<int64_t>(run, 10));
  return std::max(1.0, static_cast<double>(wait() + run) / r);
}

Result<ReplayOptions> ReplayPolicy(std::string_view name) {
  ReplayOptions o;
  if (name == "fcfs") {
    o.queue_order = "fcfs";
    o.backfill = "none";
  } else if (name == "sjf") {
    o.queue_order = "sjf";
    o.backfill = "none";
  } else if (name == "easy" || name == "easy-sjbf" || name == "conservative") {
    o.queue_order = "fcfs";
    o.backfill = std::string(name);
  } else {
    return InvalidArgument("unknown policy '" + std::string(name) +
                           "' (fcfs, sjf, easy, easy-sjbf, conservative)");
  }
  return o;
}

Result<ReplayResult> Replay(const Workload& workload, const ReplayOptions& options) {
  SchedulerOptions so;
  so.queue_order = options.queue_order;
  so.backfill = options.backfill;
  so.report_reasons = false;
  auto scheduler = Scheduler::Create(so);
  if (!scheduler.ok()) return scheduler.status();
  if (workload.machine.nodes == 0 || workload.machine.cpus_per_node == 0) {
    return InvalidArgument("the machine has no CPUs");
  }
  Engine engine(workload, options, std::move(scheduler).value());
  return engine.Run();
}

Result<std::vector<Reservation>> ParseSimReservations(std::string_view text,
                                                      const Machine& machine) {
  std::vector<Node> nodes(machine.nodes);
  for (uint32_t i = 0; i < machine.nodes; ++i) {
    nodes[i].name = "n" + std::to_string(i + 1);
    nodes[i].cpus = machine.cpus_per_node;
    nodes[i].responding = true;
  }
  std::vector<Reservation> out;
  size_t line_no = 0;
  for (const std::string& raw : Split(text, '\n')) {
    ++line_no;
    std::string_view line = Trim(std::string_view(raw).substr(0, raw.find('#')));
    if (line.empty()) continue;
    std::vector<std::string> words;
    for (const std::string& w : Split(line, ' ')) {
      if (!Trim(w).empty()) words.emplace_back(Trim(w));
    }
    auto req = ParseReservationRequest(words);
    ReservationEnv env;
    env.nodes = &nodes;
    env.reservations = &out;
    env.now = 0;
    auto r = req.ok() ? BuildReservation(*req, nullptr, env) : Result<Reservation>(req.status());
    if (!r.ok()) {
      return InvalidArgument("reservations line " + std::to_string(line_no) + ": " +
                             r.status().message());
    }
    out.push_back(std::move(r).value());
  }
  return out;
}

ReplayStats Summarize(const std::vector<JobOutcome>& jobs, const Machine& machine) {
  ReplayStats s;
  s.jobs = jobs.size();
  if (jobs.empty()) return s;
  double wait = 0, response = 0, bsld = 0, used = 0;
  int64_t first = jobs.front().submit, last = jobs.front().end;
  for (const JobOutcome& j : jobs) {
    wait += static_cast<double>(j.wait());
    response += static_cast<double>(j.response());
    bsld += j.bsld();
    used += static_cast<double>(j.run) * j.procs;
    first = std::min(first, j.submit);
    last = std::max(last, j.end);
  }
  const double n = static_cast<double>(jobs.size());
  s.avg_wait = wait / n;
  s.avg_response = response / n;
  s.avg_bsld = bsld / n;
  s.makespan = last - first;
  if (s.makespan > 0) {
    s.utilization = used / (static_cast<double>(machine.cpus()) * static_cast<double>(s.makespan));
  }
  return s;
}

}  // namespace shoal
