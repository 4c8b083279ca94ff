// Node outage history: every interval a node spends DOWN, DRAINed or powered down is kept in the
// store (node_events), for sreport's Down and PLND Down and sacctmgr show event.
#include <spdlog/spdlog.h>

#include "controller/controller.h"

namespace shoal {
namespace {

// The outage a node is in now: "" when it is in service.
std::string OutageStateOf(const Node& n) {
  if (n.down) return "DOWN";
  if (n.drain || n.health_drained) return "DRAIN";
  if (n.power == NodePower::kPoweredDown) return "POWERED_DOWN";
  return "";
}

StoreOp SaveEvent(const NodeEvent& e) {
  StoreOp op;
  op.kind = StoreOp::Kind::kSaveNodeEvent;
  op.node_event = e;
  // History nobody has been told about: a crash of the OS may lose the last second of it.
  op.must_sync = false;
  return op;
}

}  // namespace

Status Controller::LoadOpenNodeEvents(int64_t now) {
  auto events = store_->LoadNodeEvents(now, now + 1);
  if (!events.ok()) return events.status();
  WriteLock lock = LockForChange();
  for (NodeEvent& e : *events) {
    if (e.end == 0) open_node_events_[e.node] = std::move(e);
  }
  return Status::Ok();
}

void Controller::SyncNodeEventsLocked(int64_t now) {
  std::vector<StoreOp> ops;
  auto close = [&](NodeEvent& e) {
    // Within the second it began, the next event (same key) replaces it.
    if (e.start == now) return;
    e.end = now;
    ops.push_back(SaveEvent(e));
  };
  for (const Node& n : nodes_) {
    const std::string state = OutageStateOf(n);
    auto it = open_node_events_.find(n.name);
    if (it == open_node_events_.end()) {
      if (state.empty()) continue;
    } else if (it->second.state == state) {
      continue;
    } else {
      close(it->second);
      open_node_events_.erase(it);
    }
    if (state.empty()) continue;
    NodeEvent e{n.name, state, n.reason, n.cpus, now, 0};
    ops.push_back(SaveEvent(e));
    open_node_events_[n.name] = std::move(e);
  }
  // Nodes that are gone (deleted, or a cloud node not resumed) end their outage with them. The
  // open events are few; the nodes may be 10,000 (this runs every tick under the lock).
  for (auto it = open_node_events_.begin(); it != open_node_events_.end();) {
    if (FindNodeLocked(it->first) != nullptr) {
      ++it;
      continue;
    }
    close(it->second);
    it = open_node_events_.erase(it);
  }
  if (ops.empty()) return;
  // Not waited for: the history follows the state, it does not hold it up.
  store_->Submit(std::move(ops));
}

Result<std::vector<NodeEvent>> Controller::NodeEvents(int64_t start, int64_t end) const {
  return store_->LoadNodeEvents(start, end);
}

}  // namespace shoal
