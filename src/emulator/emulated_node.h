// One emulated node: what a real agent says on its stream (registration, heartbeats, job
// starts and ends, acknowledgements honoured), with no process behind its jobs. The controller
// cannot tell it from a real agent; the emulator (emulator.h) carries its messages over gRPC.
// This class is only the node's logic, driven by the caller's clock, so tests need no network.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "agent/gpu_monitor.h"
#include "rpc/agent.pb.h"

namespace shoal::emulator {

// How long an emulated job runs.
enum class JobTime {
  // Its type's executor (SHOAL_EMULATE_TYPE in its environment, executors.h) decides; without
  // one, SHOAL_EMULATE_RUNTIME seconds or its time limit (unlimited: kUnlimitedRunS).
  kReal,
  kInstant,  // it ends as soon as it starts
  kFixed,    // a fixed number of seconds (capped by the time limit)
};

struct NodeConfig {
  std::string name;
  uint32_t cpus = 4;
  uint64_t memory_mb = 16384;
  uint32_t gpus = 0;
  std::string gpu_type = "emulated";
  JobTime job_time = JobTime::kReal;
  int64_t fixed_s = 0;  // with kFixed
  double speed = 1;     // kReal jobs run this many times faster than their nominal time
};

// A job without a time limit, under JobTime::kReal and no SHOAL_EMULATE_RUNTIME.
inline constexpr int64_t kUnlimitedRunS = 60;

class EmulatedNode {
 public:
  explicit EmulatedNode(NodeConfig config)
      : config_(std::move(config)),
        rng_(std::hash<std::string>{}(config_.name)),
        gpus_(config_.gpus, config_.gpu_type, std::hash<std::string>{}(config_.name)) {}

  const NodeConfig& config() const { return config_; }
  // The registration that opens every stream: running jobs and those whose end the controller
  // has not acknowledged are listed, as a real agent lists them.
  rpc::AgentMessage MakeRegister() const;
  // Handles a controller message at `now_ms` (a steady clock); what to send goes to `out`.
  // Returns false when the controller refused the registration.
  bool OnMessage(const rpc::ControllerMessage& msg, int64_t now_ms,
                 std::vector<rpc::AgentMessage>* out);
  // Jobs and steps that end by `now_ms`, and a heartbeat when one is due. Heartbeats carry the
  // GPUs' readings (agent::EmulatedGpuModel), which follow the jobs holding them.
  void Tick(int64_t now_ms, std::vector<rpc::AgentMessage>* out);
  // A new stream: ends that were sent but not acknowledged are sent again after registering.
  void OnReconnect();
  // The node lost power: every job is gone, nothing is remembered.
  void Crash();

  size_t running_jobs() const;
  bool registered() const { return registered_; }
  // How late a heartbeat due by `now_ms` would leave (0 when none is due): the emulator's own
  // lag, told apart from the controller's.
  int64_t HeartbeatLateMs(int64_t now_ms) const {
    return registered_ && now_ms > next_heartbeat_ms_ ? now_ms - next_heartbeat_ms_ : 0;
  }

 private:
  struct Job {
    uint64_t generation = 0;
    int64_t start_ms = 0;
    int64_t end_ms = 0;      // when it ends by itself
    int64_t limit_ms = 0;    // when its time limit ends it (0: none)
    uint32_t cpus = 0;
    int32_t exit_code = 0;
    int32_t end_signal = 0;  // what it dies of when it ends by itself (crash, oom)
    std::vector<uint32_t> gpu_indices;
    bool ended = false;      // its JobFinished was sent; waiting for the ack
    rpc::AgentMessage finished;
  };
  struct Step {
    uint64_t generation = 0;
    int64_t start_ms = 0;
    int64_t end_ms = 0;
  };
  void End(uint64_t job_id, Job& job, int64_t now_ms, int32_t signal, bool timed_out,
           std::vector<rpc::AgentMessage>* out);
  void EndStep(uint64_t key, const Step& step, int64_t now_ms, int32_t signal,
               std::vector<rpc::AgentMessage>* out);

  NodeConfig config_;
  std::mt19937_64 rng_;  // for executors' draws; seeded by the node's name, so runs repeat
  agent::EmulatedGpuModel gpus_;
  std::map<uint64_t, Job> jobs_;
  std::map<uint64_t, Step> steps_;  // by (job << 20 | step)
  bool registered_ = false;
  uint32_t heartbeat_ms_ = 1000;
  int64_t next_heartbeat_ms_ = 0;
};

}  // namespace shoal::emulator
