// A relay between agents and the controller: agents dial it as they would the controller, and it
// carries each agent's stream to the controller as a stream of its own over a few shared
// connections. The controller sees the same streams, registrations and messages as without it,
// but holds a handful of TLS connections instead of one per node, and per-connection buffers
// are most of what an agent costs it in memory and in handshakes (docs/scaling.md). One relay
// per rack turns 10,000 connections into 200.
//
// The relay reads nothing and decides nothing: messages pass both ways as they are, the
// membership proof in each stream's metadata included (the controller checks it, as ever), and
// a stream's end on either side ends the other with the same status. `shoal join` passes
// through too. The relay serves agents with a certificate of the cluster CA, and checks the
// controller's against the same CA.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "rpc/agent.grpc.pb.h"

namespace shoal::relay {

struct RelayOptions {
  std::string listen;  // host:port agents dial (port 0: any free one, see Relay::port)
  // host:port of each controller's agent service: one, or the leader and its standbys in any
  // order. New streams go to one of them until it is found unavailable (down, or a standby
  // refusing agents), then to the next: an agent behind the relay reaches whichever leads.
  std::vector<std::string> controllers;
  std::string ca_pem;      // the cluster CA
  std::string cert_pem;    // the relay's certificate, signed by the CA, and its key
  std::string key_pem;
  int connections = 2;  // to the controller, shared by all streams
};

class Relay {
 public:
  explicit Relay(RelayOptions options);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Listens for agents; the controller is dialled as streams arrive.
  Status Start();
  // Ends every stream (agents see UNAVAILABLE and dial again) and stops listening.
  void Stop();
  int port() const { return port_; }
  // Agents' streams open now.
  int64_t streams() const { return streams_.load(); }

 private:
  class Service;
  class Pipe;
  // The controller new streams go to, and the next of its connections (round robin).
  struct Upstream {
    size_t controller;
    rpc::AgentService::Stub* stub;
  };
  Upstream NextUpstream();
  // A stream to `controller` ended UNAVAILABLE: new streams go to the next controller, unless
  // another stream's end has already moved them on.
  void MoveOnFrom(size_t controller, const std::string& why);

  RelayOptions options_;
  // upstream_[c][k]: connection k to controllers[c].
  std::vector<std::vector<std::unique_ptr<rpc::AgentService::Stub>>> upstream_;
  std::atomic<size_t> current_controller_{0};
  std::atomic<uint64_t> next_upstream_{0};
  std::atomic<int64_t> streams_{0};
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace shoal::relay
