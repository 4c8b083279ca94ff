#include "emulator/launch_ledger.h"

namespace shoal::emulator {

LaunchLedger::Earlier LaunchLedger::Record(uint64_t job_id, uint64_t generation,
                                           uint32_t node_index) {
  std::lock_guard<std::mutex> lock(mu_);
  ++launches_;
  Earlier& entry = by_job_[job_id];
  const Earlier before = entry;
  if (entry.launches == 1) ++repeated_;
  entry.launches += 1;
  entry.node_index = node_index;
  entry.generation = generation;
  return before;
}

size_t LaunchLedger::launches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return launches_;
}

size_t LaunchLedger::jobs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_job_.size();
}

size_t LaunchLedger::repeated() const {
  std::lock_guard<std::mutex> lock(mu_);
  return repeated_;
}

}  // namespace shoal::emulator
