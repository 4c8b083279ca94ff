// The dashboard's live feed. Hears of job and node changes through ControllerMetrics's listener
// seam and fans them out, as server-sent events, to the open GET /api/v1/events streams; keeps a
// bounded history of cluster samples (queue length, utilization) and of notable events (jobs'
// ends, requeues, node failures) for the charts and the timeline.
//
// Publishing never blocks: each stream has a bounded queue (HttpStream); a client that falls
// behind loses events and is told to reload ("resync"). With no stream open, a change costs an
// atomic load and, for notable ones, one small entry in a ring.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/json_model.h"
#include "api/server/http_server.h"
#include "controller/controller_metrics.h"

namespace shoal {

struct ClusterEventsOptions {
  size_t max_streams = 64;              // more are refused (503)
  size_t stream_queue_bytes = 1 << 20;  // per stream, before events are dropped
  double sample_interval_s = 2;         // one history sample at most this often
  size_t max_samples = 1800;            // an hour at 2 s
  size_t max_timeline = 200;            // notable events remembered
};

class ClusterEvents : public ClusterListener {
 public:
  explicit ClusterEvents(ClusterEventsOptions options = {});
  ~ClusterEvents() override;

  // A new stream, already holding the greeting; nullptr when max_streams are open.
  std::shared_ptr<HttpStream> Subscribe();
  // Ends every stream (before the HTTP server stops).
  void Close();
  size_t streams() const;

  // {"interval_s":2,"columns":[...],"samples":[[...],...]}, oldest first; `since` (Unix
  // seconds) keeps only later samples.
  std::string History(double since = 0) const;
  // {"events":[...]}: the notable events remembered, oldest first.
  std::string Timeline() const;

  // ClusterListener
  void OnJob(const Job& job, const char* what) override;
  void OnNode(const Node& node, const char* what) override;
  void OnNodes(const std::vector<Node>& nodes) override;
  void OnSnapshot(const ClusterSnapshot& snapshot) override;

  struct Sample {
    double t = 0;
    int64_t pending = 0, running = 0;
    int64_t cpus = 0, cpus_allocated = 0, gpus = 0, gpus_allocated = 0;
    int64_t nodes = 0, nodes_unavailable = 0;  // down, drained or not responding
  };

 private:
  // Sends `event` with JSON `data` to every stream.
  void Publish(const char* event, const std::string& data);
  void Remember(Json entry);

  // A node's fields the grid shows; a pass compares them to send only the nodes that changed.
  struct NodeLook {
    std::string name;
    std::string state;
    uint32_t alloc_cpus = 0;
    uint32_t gpus_busy = 0;
    bool responding = false;
    std::string reason;
    bool operator==(const NodeLook&) const = default;
  };
  static NodeLook LookOf(const Node& node);

  const ClusterEventsOptions options_;
  std::atomic<size_t> open_{0};  // streams, read without the lock on the hot path

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<HttpStream>> streams_;
  std::vector<NodeLook> node_looks_;  // as after the last pass
  std::deque<Sample> samples_;
  std::deque<std::string> timeline_;  // JSON objects
  uint64_t next_event_id_ = 1;
};

}  // namespace shoal
