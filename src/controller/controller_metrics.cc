#include "controller/controller_metrics.h"

#include <cctype>
#include <string_view>

#include "common/strings.h"
#include "controller/controller.h"

namespace shoal {
namespace {

using metrics::ExpositionWriter;
using metrics::MetricType;

// Durations from 100 µs to about 13 s (factor 2.5): a pass over a short queue takes well under
// a millisecond, a commit with fsync a few milliseconds, a pass over 100,000 jobs seconds.
std::vector<double> DurationBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

// Every state the gauges list, so that a panel shows 0 rather than no data.
const char* const kLiveStates[] = {"pending", "running", "suspended", "completing"};
const char* const kNodeStates[] = {"idle",     "mixed", "allocated", "drained",
                                   "draining", "down",  "unknown"};

}  // namespace

ControllerMetrics::ControllerMetrics(std::string cluster_name)
    : submitted_(registry_.AddCounter("shoal_jobs_submitted_total",
                                      "Jobs accepted by the controller (array tasks each count).",
                                      {"partition"})),
      started_(
          registry_.AddCounter("shoal_jobs_started_total", "Job runs launched by the scheduler.")),
      finished_(registry_.AddCounter("shoal_jobs_finished_total",
                                     "Jobs that reached a final state, by that state.", {"state"})),
      transitions_(registry_.AddCounter("shoal_job_state_transitions_total",
                                        "Job state changes, by the state entered.", {"state"})),
      requeued_(registry_.AddCounter("shoal_jobs_requeued_total",
                                     "Jobs put back in the queue (node failure, preemption, "
                                     "scontrol requeue).")),
      node_failures_(registry_.AddCounter("shoal_node_failures_total",
                                          "Nodes declared down (not responding or set down).")),
      pass_seconds_(registry_.AddHistogram("shoal_scheduler_pass_duration_seconds",
                                           "Time one scheduling pass held the controller.", {},
                                           DurationBuckets())),
      api_seconds_(registry_.AddHistogram(
          "shoal_api_request_duration_seconds",
          "Time to answer an HTTP API request, by route class, method and status code.",
          {"route", "method", "code"}, DurationBuckets())),
      commit_seconds_(
          registry_.AddHistogram("shoal_store_commit_duration_seconds",
                                 "Time one store transaction (a group commit) took, sync included.",
                                 {}, DurationBuckets())),
      webhook_deliveries_(registry_.AddCounter(
          "shoal_webhook_deliveries_total",
          "Webhook delivery attempts by result: delivered (2xx), failed (retried later), "
          "expired (given up after WebhookMaxAge).",
          {"result"})),
      webhook_outbox_(registry_.AddGauge("shoal_webhook_outbox_depth",
                                         "Webhook deliveries waiting in the durable outbox.")),
      leader_(registry_.AddGauge("shoal_controller_leader",
                                 "1 while this controller leads (holds the lease), else 0.")),
      lease_epoch_(registry_.AddGauge(
          "shoal_controller_lease_epoch",
          "The leader lease's epoch (fencing token) this controller leads at; 0 without "
          "high availability.")) {
  leader_.Labels().Set(1);  // a controller that renders metrics leads (a standby has none)
  lease_epoch_.Labels().Set(0);
  registry_
      .AddGauge("shoal_build_info", "Always 1; the labels say which shoal this is.",
                {"version", "cluster"})
      .Labels({SHOAL_VERSION, std::move(cluster_name)})
      .Set(1);
  // Series that exist from the start, so rate() has a first sample to work from.
  started_.Labels();
  requeued_.Labels();
  node_failures_.Labels();
  pass_seconds_.Labels();
  commit_seconds_.Labels();
  for (const char* result : {"delivered", "failed", "expired"}) {
    webhook_deliveries_.Labels({result});
  }
  webhook_outbox_.Labels().Set(0);
  for (JobState s : {JobState::kCompleted, JobState::kFailed, JobState::kCancelled,
                     JobState::kTimeout, JobState::kNodeFail, JobState::kPreempted}) {
    finished_.Labels({StateLabel(s)});
  }
  registry_.AddCollector([this](ExpositionWriter& out) { RenderSnapshot(out); });
  registry_.AddCollector([this](ExpositionWriter& out) { RenderNodeGpus(out); });
}

std::string ControllerMetrics::StateLabel(JobState state) {
  std::string name = JobStateName(state);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

std::string ControllerMetrics::NodeStateLabel(const Node& node) {
  // Power saving's nodes by their power state: "powered_down", "powering_up", "powering_down".
  if (node.power != NodePower::kOn && !node.down) return ToLower(NodePowerFlag(node.power));
  std::string text = node.StateText(/*long_form=*/true);
  while (!text.empty() && (text.back() == '*' || text.back() == '!' || text.back() == '~')) {
    text.pop_back();
  }
  return text;
}

void ControllerMetrics::JobsSubmitted(const std::string& partition, size_t count) {
  submitted_.Labels({partition}).Inc(static_cast<double>(count));
  transitions_.Labels({"pending"}).Inc(static_cast<double>(count));
}

void ControllerMetrics::JobsStarted(size_t count) {
  if (count == 0) return;
  started_.Labels().Inc(static_cast<double>(count));
  transitions_.Labels({"running"}).Inc(static_cast<double>(count));
}

void ControllerMetrics::JobFinished(JobState state) {
  finished_.Labels({StateLabel(state)}).Inc();
  transitions_.Labels({StateLabel(state)}).Inc();
}

void ControllerMetrics::JobRequeued() {
  requeued_.Labels().Inc();
  transitions_.Labels({"pending"}).Inc();
}

void ControllerMetrics::NodeFailed() { node_failures_.Labels().Inc(); }

void ControllerMetrics::WebhookDelivery(const char* result) {
  webhook_deliveries_.Labels({result}).Inc();
}

void ControllerMetrics::SetWebhookOutboxDepth(size_t depth) {
  webhook_outbox_.Labels().Set(static_cast<double>(depth));
}

void ControllerMetrics::SetLeadership(bool leader, int64_t epoch) {
  leader_.Labels().Set(leader ? 1 : 0);
  lease_epoch_.Labels().Set(static_cast<double>(epoch));
}

void ControllerMetrics::JobsSubmitted(const std::vector<Job>& jobs) {
  if (jobs.empty()) return;
  JobsSubmitted(jobs.front().req.partition, jobs.size());
  if (ClusterListener* l = listener_.load()) {
    for (const Job& job : jobs) l->OnJob(job, "submitted");
  }
}

void ControllerMetrics::JobStarted(const Job& job) {
  if (ClusterListener* l = listener_.load()) l->OnJob(job, "started");
}

void ControllerMetrics::JobFinished(const Job& job) {
  JobFinished(job.state);
  if (ClusterListener* l = listener_.load()) l->OnJob(job, "finished");
}

void ControllerMetrics::JobRequeued(const Job& job) {
  JobRequeued();
  if (ClusterListener* l = listener_.load()) l->OnJob(job, "requeued");
}

void ControllerMetrics::NodeFailed(const Node& node) {
  NodeFailed();
  SetNodeGpus(node.name, {});
  if (ClusterListener* l = listener_.load()) l->OnNode(node, "failed");
}

void ControllerMetrics::NodeChanged(const Node& node, const char* what) {
  if (std::string_view(what) == "disconnected") SetNodeGpus(node.name, {});
  if (ClusterListener* l = listener_.load()) l->OnNode(node, what);
}

void ControllerMetrics::NodesObserved(const std::vector<Node>& nodes) {
  if (ClusterListener* l = listener_.load()) l->OnNodes(nodes);
}

void ControllerMetrics::SchedulePass(double seconds) { pass_seconds_.Labels().Observe(seconds); }

void ControllerMetrics::StoreCommit(double seconds) { commit_seconds_.Labels().Observe(seconds); }

void ControllerMetrics::ApiRequest(const std::string& route, const std::string& method, int status,
                                   double seconds) {
  api_seconds_.Labels({route, method, std::to_string(status)}).Observe(seconds);
}

void ControllerMetrics::SetSnapshot(ClusterSnapshot snapshot) {
  if (ClusterListener* l = listener_.load()) l->OnSnapshot(snapshot);
  std::lock_guard<std::mutex> lock(mu_);
  snapshot_ = std::move(snapshot);
  have_snapshot_ = true;
}

void ControllerMetrics::SetAgentTarget(const std::string& node, const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  if (address.empty()) {
    agent_targets_.erase(node);
  } else {
    agent_targets_[node] = address;
  }
}

std::map<std::string, std::string> ControllerMetrics::AgentTargets() const {
  std::lock_guard<std::mutex> lock(mu_);
  return agent_targets_;
}

void ControllerMetrics::SetNodeGpus(const std::string& node, std::vector<GpuReading> gpus) {
  std::lock_guard<std::mutex> lock(mu_);
  if (gpus.empty()) {
    node_gpus_.erase(node);
  } else {
    node_gpus_[node] = std::move(gpus);
  }
}

std::map<std::string, std::vector<GpuReading>> ControllerMetrics::NodeGpus() const {
  std::lock_guard<std::mutex> lock(mu_);
  return node_gpus_;
}

void ControllerMetrics::RenderNodeGpus(ExpositionWriter& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (node_gpus_.empty()) return;
  auto family = [&](const char* name, const char* help, double (*value)(const GpuReading&)) {
    out.Family(name, help, MetricType::kGauge);
    for (const auto& [node, gpus] : node_gpus_) {
      for (const GpuReading& g : gpus) {
        out.Sample(name, {{"node", node}, {"gpu", std::to_string(g.index)}}, value(g));
      }
    }
  };
  family("shoal_node_gpu_utilization_ratio",
         "Share of time each node's GPU was busy (0..1), as its agent last read it.",
         [](const GpuReading& g) { return g.utilization_ratio; });
  family("shoal_node_gpu_memory_used_bytes", "GPU memory in use.",
         [](const GpuReading& g) { return static_cast<double>(g.memory_used_bytes); });
  family("shoal_node_gpu_memory_total_bytes", "GPU memory.",
         [](const GpuReading& g) { return static_cast<double>(g.memory_total_bytes); });
  family("shoal_node_gpu_temperature_celsius", "GPU core temperature.",
         [](const GpuReading& g) { return g.temperature_celsius; });
  family("shoal_node_gpu_power_watts", "GPU power draw.",
         [](const GpuReading& g) { return g.power_watts; });
}

void ControllerMetrics::RenderSnapshot(ExpositionWriter& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!have_snapshot_) return;  // before the first pass: no cluster gauges rather than zeros
  const ClusterSnapshot& s = snapshot_;
  auto gauge = [&out](const char* name, const char* help, double v) {
    out.Family(name, help, MetricType::kGauge);
    out.Sample(name, {}, v);
  };
  out.Family("shoal_jobs", "Live jobs by state and partition.", MetricType::kGauge);
  for (const auto& [key, n] : s.jobs) {
    out.Sample("shoal_jobs", {{"state", key.first}, {"partition", key.second}},
               static_cast<double>(n));
  }
  gauge("shoal_queue_length", "Pending jobs (the queue).", static_cast<double>(s.queue_length));
  out.Family("shoal_pending_jobs", "Pending jobs by the reason they wait (squeue's REASON).",
             MetricType::kGauge);
  for (const auto& [reason, n] : s.pending_by_reason) {
    out.Sample("shoal_pending_jobs", {{"reason", reason}}, static_cast<double>(n));
  }
  out.Family("shoal_nodes", "Nodes by state (sinfo's long state names).", MetricType::kGauge);
  for (const auto& [state, n] : s.nodes) {
    out.Sample("shoal_nodes", {{"state", state}}, static_cast<double>(n));
  }
  gauge("shoal_nodes_not_responding", "Nodes whose agent is not connected.",
        static_cast<double>(s.nodes_not_responding));
  gauge("shoal_agents_connected", "Agents holding a stream to the controller.",
        static_cast<double>(s.agents_connected));
  gauge("shoal_cpus", "CPUs of all nodes.", static_cast<double>(s.cpus));
  gauge("shoal_cpus_allocated", "CPUs allocated to running jobs.",
        static_cast<double>(s.cpus_allocated));
  gauge("shoal_gpus", "GPUs of all nodes.", static_cast<double>(s.gpus));
  gauge("shoal_gpus_allocated", "GPUs allocated to running jobs.",
        static_cast<double>(s.gpus_allocated));
  gauge("shoal_memory_bytes", "Memory of all nodes.", static_cast<double>(s.memory_bytes));
  gauge("shoal_memory_allocated_bytes", "Memory allocated to running jobs.",
        static_cast<double>(s.memory_allocated_bytes));
  gauge("shoal_cluster_snapshot_timestamp_seconds",
        "When the gauges above were taken (after a scheduling pass, at most once a second).",
        s.taken_at);
}

// ---------------------------------------------------------------------------------------------
// The controller's side: the snapshot and the targets, under its lock.

void Controller::ObservePassLocked(double pass_seconds, size_t launches) {
  metrics_->SchedulePass(pass_seconds);
  metrics_->JobsStarted(launches);
  metrics_->NodesObserved(nodes_);
  const auto now = std::chrono::steady_clock::now();
  if (now - last_metrics_snapshot_ < std::chrono::seconds(1)) return;
  last_metrics_snapshot_ = now;

  ClusterSnapshot s;
  s.taken_at =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // One walk over the live jobs. Partitions and reasons are few: a short list searched from the
  // last hit counts 100,000 jobs without a string hash per job.
  struct Bucket {
    const std::string* partition;
    JobState state;
    int64_t n;
  };
  std::vector<Bucket> buckets;
  std::vector<std::pair<const std::string*, int64_t>> reasons;
  size_t last_bucket = 0, last_reason = 0;
  for (const auto& [id, job] : live_jobs_) {
    const std::string& part = job->req.partition;
    if (last_bucket >= buckets.size() || buckets[last_bucket].state != job->state ||
        *buckets[last_bucket].partition != part) {
      last_bucket = buckets.size();
      for (size_t i = 0; i < buckets.size(); ++i) {
        if (buckets[i].state == job->state && *buckets[i].partition == part) last_bucket = i;
      }
      if (last_bucket == buckets.size()) buckets.push_back({&part, job->state, 0});
    }
    ++buckets[last_bucket].n;
    if (job->state != JobState::kPending) continue;
    ++s.queue_length;
    if (last_reason >= reasons.size() || *reasons[last_reason].first != job->reason) {
      last_reason = reasons.size();
      for (size_t i = 0; i < reasons.size(); ++i) {
        if (*reasons[i].first == job->reason) last_reason = i;
      }
      if (last_reason == reasons.size()) reasons.emplace_back(&job->reason, 0);
    }
    ++reasons[last_reason].second;
  }
  for (const Partition& p : partitions_) {
    for (const char* state : kLiveStates) s.jobs[{state, p.name}] = 0;
  }
  for (const Bucket& b : buckets) {
    s.jobs[{ControllerMetrics::StateLabel(b.state), *b.partition}] += b.n;
  }
  for (const auto& [reason, n] : reasons) s.pending_by_reason[*reason] += n;

  for (const char* state : kNodeStates) s.nodes[state] = 0;
  for (const Node& node : nodes_) {
    ++s.nodes[ControllerMetrics::NodeStateLabel(node)];
    if (!node.responding) ++s.nodes_not_responding;
    s.cpus += node.cpus;
    s.cpus_allocated += node.alloc_cpus;
    s.gpus += node.gpus;
    for (bool busy : node.gpu_busy) s.gpus_allocated += busy ? 1 : 0;
    s.memory_bytes += static_cast<int64_t>(node.memory_mb) << 20;
    s.memory_allocated_bytes += static_cast<int64_t>(node.alloc_mem_mb) << 20;
  }
  s.agents_connected = static_cast<int64_t>(sessions_.size());
  metrics_->SetSnapshot(std::move(s));
}

std::vector<Controller::MetricsTarget> Controller::AgentMetricsTargets() const {
  // Without the controller's lock: a scheduling pass over a long queue holds it for a while.
  // A node keeps its last address while its agent is away, so Prometheus records it as down
  // (up == 0) instead of forgetting it.
  std::vector<MetricsTarget> out;
  for (auto& [node, address] : metrics_->AgentTargets()) out.push_back({node, address});
  return out;
}

}  // namespace shoal
