// Many emulated nodes in one process, each on its own stream to the controller over the real
// agent protocol (gRPC's callback API: no thread per node, so thousands fit). Streams that end
// reconnect with backoff and jitter, as real agents do. Nodes can be crashed, frozen and
// revived in bulk to measure mass failures.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "emulator/emulated_node.h"
#include "emulator/launch_ledger.h"

namespace shoal::emulator {

class Emulator {
 public:
  struct Options {
    std::string controller;  // HOST:PORT of the controller's agent endpoint
    // The cluster CA (PEM) every node verifies the controller with, and the raw cluster key
    // each proves membership with, as real agents do. An empty CA: plaintext (tests against
    // a plaintext server only); an empty key: no proof.
    std::string tls_ca_pem;
    std::string cluster_key;
    std::vector<NodeConfig> nodes;
    // Nodes per connection: 1, one each, as agents dialling the controller; more, as agents
    // behind relays of that width (shoal-relay carries its agents' streams over shared
    // connections, so the controller holds one connection per relay, not per node).
    size_t relay_width = 1;
  };
  explicit Emulator(Options options);
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // Connects every node and runs until Stop().
  void Start();
  void Stop();

  // Crashes (everything lost, stream cut, no reconnect), freezes (stream kept, nothing sent or
  // handled) or revives `count` nodes chosen at random among those in the other state. Returns
  // the names of the nodes it changed.
  std::vector<std::string> Crash(size_t count);
  std::vector<std::string> Freeze(size_t count);
  std::vector<std::string> Revive(size_t count);

  // The same for one node by name; false when there is no such node or it is already so.
  bool CrashNode(const std::string& name);
  bool ReviveNode(const std::string& name);
  std::vector<std::string> Names() const;

  size_t registered() const;
  size_t running_jobs() const;
  // A node's registration was refused (a bad registration, or the controller rejected the
  // cluster key): the emulator gives up on it.
  size_t refused() const { return refused_; }
  // Every launch the nodes got; each job launched again is also logged as it happens.
  const LaunchLedger& launches() const { return launches_; }

 private:
  class NodeStream;
  struct Slot;
  void Connect(Slot& slot);
  void StreamEnded(Slot& slot, bool refused);
  void NoteLaunch(const Slot& slot, const rpc::LaunchJob& launch);
  void Loop();
  void ConnectLoop();
  std::vector<std::string> Pick(size_t count, int from_state, int to_state);
  bool ChangeNode(const std::string& name, int from_state, int to_state);
  static bool InState(const Slot& slot, int state);
  static void SetState(Slot& slot, int state);  // under the slot's lock

  Options options_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<size_t> refused_{0};
  LaunchLedger launches_;
  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stopping_ = false;
  std::thread loop_;
  std::thread connect_loop_;
};

}  // namespace shoal::emulator
