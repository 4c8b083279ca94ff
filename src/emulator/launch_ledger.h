// Every launch the emulated nodes were sent, by job: a job launched again (a second run, on any
// node) is what a test or a bench counts to tell that no job ran twice, e.g. across a
// controller restart. After a node failure a requeued job is launched again by design.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace shoal::emulator {

class LaunchLedger {
 public:
  struct Earlier {
    uint32_t launches = 0;    // how many times the job was launched before this one
    uint32_t node_index = 0;  // where its last launch went (valid when launches > 0)
    uint64_t generation = 0;  // and with which generation
  };
  // Records a launch of `job_id` (run `generation`) on the node numbered `node_index`; returns
  // what was recorded of the job before it.
  Earlier Record(uint64_t job_id, uint64_t generation, uint32_t node_index);

  size_t launches() const;
  size_t jobs() const;
  // Jobs launched more than once.
  size_t repeated() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Earlier> by_job_;
  size_t launches_ = 0;
  size_t repeated_ = 0;
};

}  // namespace shoal::emulator
