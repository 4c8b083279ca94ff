#include "controller/cluster_events.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "api/job_table.h"

namespace shoal {
namespace {

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string EventChunk(uint64_t id, const char* event, const std::string& data) {
  std::string out;
  out.reserve(data.size() + 48);
  out += "id: " + std::to_string(id) + "\nevent: ";
  out += event;
  out += "\ndata: ";
  out += data;  // JSON without raw newlines, so one data line
  out += "\n\n";
  return out;
}

const char* Severity(JobState state) {
  switch (state) {
    case JobState::kCompleted:
      return "info";
    case JobState::kCancelled:
      return "warn";
    default:
      return "error";
  }
}

}  // namespace

ClusterEvents::ClusterEvents(ClusterEventsOptions options) : options_(options) {}
ClusterEvents::~ClusterEvents() { Close(); }

std::shared_ptr<HttpStream> ClusterEvents::Subscribe() {
  // A client that missed events reloads the full lists rather than guess what it missed.
  auto stream =
      std::make_shared<HttpStream>(options_.stream_queue_bytes, "event: resync\ndata: {}\n\n");
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(streams_, [](const auto& s) { return s->done(); });
  if (streams_.size() >= options_.max_streams) return nullptr;
  char hello[96];
  std::snprintf(hello, sizeof hello, "retry: 1000\nevent: hello\ndata: {\"time\":%.3f}\n\n",
                WallSeconds());
  stream->Push(std::string(hello));
  streams_.push_back(stream);
  open_.store(streams_.size());
  return stream;
}

void ClusterEvents::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& s : streams_) s->Finish();
  streams_.clear();
  open_.store(0);
}

size_t ClusterEvents::streams() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& s : streams_) n += s->done() ? 0 : 1;
  return n;
}

void ClusterEvents::Publish(const char* event, const std::string& data) {
  // Called with mu_ held. One copy of the text is shared by every stream's queue.
  auto chunk = std::make_shared<const std::string>(EventChunk(next_event_id_++, event, data));
  bool gone = false;
  for (auto& s : streams_) {
    if (!s->Push(chunk) && s->done()) gone = true;
  }
  if (gone) {
    std::erase_if(streams_, [](const auto& s) { return s->done(); });
    open_.store(streams_.size());
  }
}

void ClusterEvents::Remember(Json entry) {
  // Called with mu_ held.
  std::string text = entry.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (!streams_.empty()) Publish("timeline", text);
  timeline_.push_back(std::move(text));
  while (timeline_.size() > options_.max_timeline) timeline_.pop_front();
}

void ClusterEvents::OnJob(const Job& job, const char* what) {
  const std::string_view w = what;
  const bool notable = w == "finished" || w == "requeued";
  if (open_.load() == 0 && !notable) return;
  std::string doc = open_.load() == 0 ? std::string() : JobDocument(job);
  std::lock_guard<std::mutex> lock(mu_);
  if (!doc.empty() && !streams_.empty()) Publish("job", doc);
  if (!notable) return;
  std::string text = "job " + job.DisplayId() + " (" + job.req.name + ") ";
  if (w == "requeued") {
    text += "requeued: " + job.reason;
  } else {
    text += JobStateName(job.state);
    if (job.state != JobState::kCompleted && job.state != JobState::kCancelled) {
      text += ", exit " + std::to_string(job.exit_code) + ":" + std::to_string(job.exit_signal);
    }
    if (!job.nodes.empty()) text += " on " + job.nodes.front();
  }
  Remember({{"time", WallSeconds()},
            {"kind", "job"},
            {"job_id", job.DisplayId()},
            {"state", JobStateName(job.state)},
            {"what", what},
            {"severity", w == "requeued" ? "warn" : Severity(job.state)},
            {"text", std::move(text)}});
}

void ClusterEvents::OnNode(const Node& node, const char* what) {
  const std::string_view w = what;
  std::lock_guard<std::mutex> lock(mu_);
  if (!streams_.empty()) {
    Publish("node", NodeToJson(node).dump(-1, ' ', false, Json::error_handler_t::replace));
    // Already sent: the next pass need not send it again.
    for (NodeLook& look : node_looks_) {
      if (look.name == node.name) look = LookOf(node);
    }
  }
  std::string text = "node " + node.name + " " + what;
  if (!node.reason.empty()) text += ": " + node.reason;
  const char* severity = w == "failed" ? "error" : w == "disconnected" ? "warn" : "info";
  if (w == "updated" && (node.drain || node.down)) severity = "warn";
  Remember({{"time", WallSeconds()},
            {"kind", "node"},
            {"node", node.name},
            {"state", node.StateText(true)},
            {"what", what},
            {"severity", severity},
            {"text", std::move(text)}});
}

ClusterEvents::NodeLook ClusterEvents::LookOf(const Node& node) {
  NodeLook look;
  look.name = node.name;
  look.state = node.StateText(true);
  look.alloc_cpus = node.alloc_cpus;
  for (bool b : node.gpu_busy) look.gpus_busy += b ? 1 : 0;
  look.responding = node.responding;
  look.reason = node.reason;
  return look;
}

void ClusterEvents::OnNodes(const std::vector<Node>& nodes) {
  // Kept current even while nobody listens, so that a client that connects just before a pass
  // hears of that pass's changes.
  std::lock_guard<std::mutex> lock(mu_);
  if (node_looks_.size() != nodes.size()) {
    node_looks_.clear();
    for (const Node& n : nodes) node_looks_.push_back(LookOf(n));
    if (streams_.empty()) return;
    for (const Node& n : nodes) {
      Publish("node", NodeToJson(n).dump(-1, ' ', false, Json::error_handler_t::replace));
    }
    return;
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    NodeLook look = LookOf(nodes[i]);
    if (look == node_looks_[i]) continue;
    node_looks_[i] = std::move(look);
    if (streams_.empty()) continue;
    Publish("node", NodeToJson(nodes[i]).dump(-1, ' ', false, Json::error_handler_t::replace));
  }
}

void ClusterEvents::OnSnapshot(const ClusterSnapshot& s) {
  Sample sample;
  sample.t = s.taken_at;
  sample.pending = s.queue_length;
  for (const auto& [key, n] : s.jobs) {
    if (key.first == "running") sample.running += n;
  }
  sample.cpus = s.cpus;
  sample.cpus_allocated = s.cpus_allocated;
  sample.gpus = s.gpus;
  sample.gpus_allocated = s.gpus_allocated;
  for (const auto& [state, n] : s.nodes) {
    sample.nodes += n;
    if (state == "down" || state == "drained" || state == "draining") {
      sample.nodes_unavailable += n;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (samples_.empty() || sample.t - samples_.back().t >= options_.sample_interval_s - 0.05) {
    samples_.push_back(sample);
    while (samples_.size() > options_.max_samples) samples_.pop_front();
  }
  if (streams_.empty()) return;
  Json nodes = Json::object();
  for (const auto& [state, n] : s.nodes) nodes[state] = n;
  Json reasons = Json::object();
  for (const auto& [reason, n] : s.pending_by_reason) reasons[reason] = n;
  Json data = {{"time", s.taken_at},
               {"pending", sample.pending},
               {"running", sample.running},
               {"cpus", s.cpus},
               {"cpus_allocated", s.cpus_allocated},
               {"gpus", s.gpus},
               {"gpus_allocated", s.gpus_allocated},
               {"nodes", std::move(nodes)},
               {"nodes_not_responding", s.nodes_not_responding},
               {"agents_connected", s.agents_connected},
               {"pending_by_reason", std::move(reasons)}};
  Publish("summary", data.dump(-1, ' ', false, Json::error_handler_t::replace));
}

std::string ClusterEvents::History(double since) const {
  std::string out =
      "{\"interval_s\":" + Json(options_.sample_interval_s).dump() +
      ",\"columns\":[\"time\",\"pending\",\"running\",\"cpus\",\"cpus_allocated\",\"gpus\","
      "\"gpus_allocated\",\"nodes\",\"nodes_unavailable\"],\"samples\":[";
  std::lock_guard<std::mutex> lock(mu_);
  bool first = true;
  char row[256];
  for (const Sample& s : samples_) {
    if (s.t <= since) continue;
    std::snprintf(row, sizeof row, "%s[%.3f,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld]",
                  first ? "" : ",", s.t, static_cast<long long>(s.pending),
                  static_cast<long long>(s.running), static_cast<long long>(s.cpus),
                  static_cast<long long>(s.cpus_allocated), static_cast<long long>(s.gpus),
                  static_cast<long long>(s.gpus_allocated), static_cast<long long>(s.nodes),
                  static_cast<long long>(s.nodes_unavailable));
    out += row;
    first = false;
  }
  out += "]}";
  return out;
}

std::string ClusterEvents::Timeline() const {
  std::string out = "{\"events\":[";
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < timeline_.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += timeline_[i];
  }
  out += "]}";
  return out;
}

}  // namespace shoal
