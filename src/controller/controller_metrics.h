// The controller's Prometheus metrics. Events (a submission, a job's end, a scheduling pass, an
// API request, a store commit) update counters and histograms as they happen, from any thread.
// The gauges that describe the whole cluster (jobs by state and partition, pending reasons,
// nodes by state) come from a snapshot the controller takes under its lock after a scheduling
// pass, at most once a second: /metrics then costs the same with 100,000 jobs as with ten, and
// never waits for the controller's lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/model.h"
#include "metrics/metrics.h"

namespace shoal {

struct ClusterSnapshot {
  // Live jobs by (state, partition), state in lower case ("pending", "running", ...).
  std::map<std::pair<std::string, std::string>, int64_t> jobs;
  std::map<std::string, int64_t> pending_by_reason;
  int64_t queue_length = 0;              // pending jobs
  std::map<std::string, int64_t> nodes;  // by state: idle, mixed, allocated, drained, ...
  int64_t nodes_not_responding = 0;
  int64_t agents_connected = 0;
  int64_t cpus = 0, cpus_allocated = 0;
  int64_t gpus = 0, gpus_allocated = 0;
  int64_t memory_bytes = 0, memory_allocated_bytes = 0;
  double taken_at = 0;  // Unix time in seconds
};

// One GPU's readings as its node's agent last sent them (with its heartbeats).
struct GpuReading {
  uint32_t index = 0;
  double utilization_ratio = 0;  // 0..1
  uint64_t memory_used_bytes = 0;
  uint64_t memory_total_bytes = 0;
  double temperature_celsius = 0;
  double power_watts = 0;
};

// Hears of job and node changes as the metrics do, from the same calls: live views (the
// dashboard's event stream) hang off this seam instead of hooks of their own. Called under the
// controller's lock, from any thread: an implementation must be quick and must never block or
// call back into the controller.
class ClusterListener {
 public:
  virtual ~ClusterListener() = default;
  // `what`: "submitted", "started", "finished" or "requeued".
  virtual void OnJob(const Job& job, const char* what) = 0;
  // `what`: "failed", "registered", "disconnected" or "updated".
  virtual void OnNode(const Node& node, const char* what) = 0;
  // Every node, after each scheduling pass (allocations change there and at jobs' ends).
  virtual void OnNodes(const std::vector<Node>& nodes) = 0;
  virtual void OnSnapshot(const ClusterSnapshot& snapshot) = 0;
};

class ControllerMetrics {
 public:
  explicit ControllerMetrics(std::string cluster_name = "");

  void JobsSubmitted(const std::string& partition, size_t count);
  void JobsStarted(size_t count);
  void JobFinished(JobState state);
  void JobRequeued();
  void NodeFailed();
  // The same, telling the listener which job or node.
  void JobsSubmitted(const std::vector<Job>& jobs);
  void JobStarted(const Job& job);  // counted by JobsStarted; the listener hears of it here
  void JobFinished(const Job& job);
  void JobRequeued(const Job& job);
  void NodeFailed(const Node& node);
  void NodeChanged(const Node& node, const char* what);  // listener only
  void NodesObserved(const std::vector<Node>& nodes);    // listener only

  // At most one; nullptr detaches. The listener must outlive its attachment.
  void SetListener(ClusterListener* listener) { listener_.store(listener); }
  void SchedulePass(double seconds);
  void StoreCommit(double seconds);
  // Webhooks: one delivery attempt's outcome ("delivered": a 2xx; "failed": anything else, to
  // be retried; "expired": given up on after WebhookMaxAge), and the outbox's size.
  void WebhookDelivery(const char* result);
  void SetWebhookOutboxDepth(size_t depth);
  // `route` is a route class (a few dozen at most), never a raw path.
  void ApiRequest(const std::string& route, const std::string& method, int status, double seconds);
  void SetSnapshot(ClusterSnapshot snapshot);
  // Where an agent serves /metrics (empty: nowhere). Kept apart from the controller's lock so
  // that service discovery never waits for a scheduling pass.
  void SetAgentTarget(const std::string& node, const std::string& address);
  std::map<std::string, std::string> AgentTargets() const;
  // A node's GPUs as its agent last read them (empty: forget them). Kept apart from the
  // controller's lock, as heartbeats bring them; forgotten when the node fails or its agent
  // disconnects (NodeFailed, NodeChanged), so no stale reading outlives its agent.
  void SetNodeGpus(const std::string& node, std::vector<GpuReading> gpus);
  std::map<std::string, std::vector<GpuReading>> NodeGpus() const;

  // shoal_controller_leader and shoal_controller_lease_epoch (high availability).
  void SetLeadership(bool leader, int64_t epoch);

  // The exposition text of every controller metric.
  std::string Render() const { return registry_.Render(); }

  // Lower-case label value of a job state ("node_fail", "out_of_memory").
  static std::string StateLabel(JobState state);
  // A node's state for shoal_nodes: sinfo's long form without the not-responding '*'.
  static std::string NodeStateLabel(const Node& node);

 private:
  void RenderSnapshot(metrics::ExpositionWriter& out) const;
  void RenderNodeGpus(metrics::ExpositionWriter& out) const;

  metrics::Registry registry_;
  metrics::Family<metrics::Counter>& submitted_;
  metrics::Family<metrics::Counter>& started_;
  metrics::Family<metrics::Counter>& finished_;
  metrics::Family<metrics::Counter>& transitions_;
  metrics::Family<metrics::Counter>& requeued_;
  metrics::Family<metrics::Counter>& node_failures_;
  metrics::Family<metrics::Histogram>& pass_seconds_;
  metrics::Family<metrics::Histogram>& api_seconds_;
  metrics::Family<metrics::Histogram>& commit_seconds_;
  metrics::Family<metrics::Counter>& webhook_deliveries_;
  metrics::Family<metrics::Gauge>& webhook_outbox_;
  metrics::Family<metrics::Gauge>& leader_;
  metrics::Family<metrics::Gauge>& lease_epoch_;

  std::atomic<ClusterListener*> listener_{nullptr};
  mutable std::mutex mu_;
  std::map<std::string, std::string> agent_targets_;  // node -> HOST:PORT
  std::map<std::string, std::vector<GpuReading>> node_gpus_;
  ClusterSnapshot snapshot_;
  bool have_snapshot_ = false;
};

}  // namespace shoal
