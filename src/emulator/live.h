// The live simulation (`shoal sim live`): a real controller, emulated nodes (emulator.h) that
// fail and recover at their own rates, and a job generator that submits plausible work through
// the public API. Everything a real cluster does with that work (queueing, backfill, time
// limits, requeues after node failures) is the real controller's doing.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "api/json_model.h"
#include "api/live_sim.h"  // PresetJobRate
#include "common/status.h"

namespace shoal::emulator {

// "2/min", "2", "0.5/min", "30/h": jobs per minute, 0.1 to 50.
Result<double> ParseJobRate(std::string_view text);
// "5-12%/min", "5-12", "3%": per node, percent per minute, 0 to 100; low <= high.
Result<std::pair<double, double>> ParseFailureRate(std::string_view text);

struct LiveOptions {
  std::string preset = "steady";  // used when job_rate_per_min is 0
  double job_rate_per_min = 0;
  std::pair<double, double> failure_pct_per_min = {0, 0};
  std::pair<int64_t, int64_t> recovery_s = {20, 60};
  uint32_t cpus_per_node = 8;
  uint32_t gpus_per_node = 0;
  uint64_t seed = 1;
};

// What the simulation needs from the world, so it can be tested without one.
struct LiveWorld {
  std::function<Result<uint64_t>(const SubmitRequest&)> submit;
  std::function<bool(const std::string& node)> crash;
  std::function<bool(const std::string& node)> revive;
  std::vector<std::string> nodes;
};

struct LiveStats {
  uint64_t submitted = 0;
  uint64_t submit_errors = 0;
  uint64_t failures = 0;
  uint64_t recoveries = 0;
  std::map<std::string, uint64_t> by_type;
};

class LiveSimulation {
 public:
  LiveSimulation(LiveOptions options, LiveWorld world);
  // Advances the simulation by `dt_s` seconds, `elapsed_s` into the run: due submissions,
  // failures and recoveries. Returns one line per event.
  std::vector<std::string> Step(double elapsed_s, double dt_s);
  // The job rate now in force (a preset's may change with time).
  double JobRate(double elapsed_s) const;
  void SetJobRate(double per_min) { options_.job_rate_per_min = per_min; }
  void SetPreset(std::string preset) {
    options_.preset = std::move(preset);
    options_.job_rate_per_min = 0;
  }
  void SetFailureRate(std::pair<double, double> pct_per_min);
  // The settings in force, as the API carries them, and a change of them (from the API).
  LiveSimSettings settings() const;
  // True when something changed.
  bool Apply(const LiveSimSettings& wanted);
  const LiveStats& stats() const { return stats_; }
  // One job as the generator draws it (exposed for tests).
  SubmitRequest DrawJob();

 private:
  LiveOptions options_;
  LiveWorld world_;
  std::mt19937_64 rng_;
  std::map<std::string, double> node_rate_;    // percent per minute, drawn per node
  std::map<std::string, double> down_until_;   // crashed nodes and when they come back
  LiveStats stats_;
};

}  // namespace shoal::emulator
