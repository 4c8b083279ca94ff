#include "emulator/emulator.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <random>

#include "rpc/agent.grpc.pb.h"
#include "rpc/agent_channel.h"
#include "security/membership.h"

namespace shoal::emulator {
namespace {

enum NodeState { kUp, kFrozen, kCrashed, kRefused };

constexpr auto kTickEvery = std::chrono::milliseconds(50);

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct Emulator::Slot {
  Slot(NodeConfig config, uint32_t index) : node(std::move(config)), index(index) {}
  std::mutex mu;  // guards everything below, and the stream's queue
  EmulatedNode node;
  const uint32_t index;  // in slots_
  NodeStream* stream = nullptr;  // the live stream, if any
  int state = kUp;
  int64_t reconnect_at_ms = 0;
  int backoff_ms = rpc::kAgentReconnectStartMs;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<rpc::AgentService::Stub> stub;
};

// One node's stream. Writes come from the reactor's own callbacks and from the tick thread, both
// under the slot's lock; a hold keeps the reactor alive until its read side has ended, so a
// write never races the stream's end.
class Emulator::NodeStream final
    : public grpc::ClientBidiReactor<rpc::AgentMessage, rpc::ControllerMessage> {
 public:
  NodeStream(Emulator* emulator, Slot* slot) : emulator_(emulator), slot_(slot) {
    const std::string& key = emulator_->options_.cluster_key;
    if (!key.empty()) {
      const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      security::MembershipProof proof =
          security::MakeMembershipProof(key, slot_->node.config().name, now);
      ctx_.AddMetadata(security::kProofNodeHeader, proof.node);
      ctx_.AddMetadata(security::kProofTimeHeader, proof.time);
      ctx_.AddMetadata(security::kProofNonceHeader, proof.nonce);
      ctx_.AddMetadata(security::kProofMacHeader, proof.mac);
    }
    slot_->stub->async()->Connect(&ctx_, this);
    AddHold();
  }

  // Under the slot's lock.
  void Begin(rpc::AgentMessage registration) {
    Send(std::move(registration));
    StartRead(&in_);
    StartCall();
  }
  // Under the slot's lock.
  void Send(rpc::AgentMessage m) {
    if (closed_) return;
    queue_.push_back(std::move(m));
    if (!writing_) {
      writing_ = true;
      StartWrite(&queue_.front());
    }
  }
  void Cancel() { ctx_.TryCancel(); }
  // Messages not yet written, the one being written included. Under the slot's lock.
  size_t queued() const { return queue_.size(); }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(slot_->mu);
    queue_.pop_front();
    if (ok && !closed_ && !queue_.empty()) {
      StartWrite(&queue_.front());
    } else {
      writing_ = false;
    }
  }

  void OnReadDone(bool ok) override {
    bool refused = false;
    {
      std::lock_guard<std::mutex> lock(slot_->mu);
      if (ok && slot_->state == kUp) {
        if (in_.has_launch()) emulator_->NoteLaunch(*slot_, in_.launch());
        std::vector<rpc::AgentMessage> out;
        refused = !slot_->node.OnMessage(in_, NowMs(), &out);
        if (slot_->node.registered()) slot_->backoff_ms = rpc::kAgentReconnectStartMs;
        for (rpc::AgentMessage& m : out) Send(std::move(m));
      }
      if (!ok || refused) closed_ = true;
      refused_ = refused;
    }
    if (!ok || refused) {
      if (refused) ctx_.TryCancel();
      RemoveHold();  // outside the lock: it may end the stream (OnDone) right here
      return;
    }
    StartRead(&in_);
  }

  void OnDone(const grpc::Status& status) override {
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      // A wrong key stays wrong: retrying thousands of nodes would only load the controller.
      spdlog::error("{}: cluster key rejected by controller {}: {}", slot_->node.config().name,
                    emulator_->options_.controller, status.error_message());
      refused_ = true;
    } else if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
      spdlog::debug("{}: stream ended: {}", slot_->node.config().name, status.error_message());
    }
    emulator_->StreamEnded(*slot_, refused_);
    delete this;
  }

 private:
  Emulator* emulator_;
  Slot* slot_;
  grpc::ClientContext ctx_;
  rpc::ControllerMessage in_;
  std::deque<rpc::AgentMessage> queue_;
  bool writing_ = false;
  bool closed_ = false;
  bool refused_ = false;
};

Emulator::Emulator(Options options) : options_(std::move(options)) {
  for (NodeConfig& config : options_.nodes) {
    const auto index = static_cast<uint32_t>(slots_.size());
    slots_.push_back(std::make_unique<Slot>(std::move(config), index));
  }
}

Emulator::~Emulator() { Stop(); }

void Emulator::Start() {
  const grpc::ChannelArguments args = rpc::AgentChannelArguments();
  // One credentials object for every node. Each channel makes its own TLS connection, shared by
  // relay_width consecutive nodes (1: one connection per node, as agents dialling directly).
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options_.tls_ca_pem.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options_.tls_ca_pem;
    credentials = grpc::SslCredentials(ssl);
  }
  const size_t width = std::max<size_t>(options_.relay_width, 1);
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& slot = *slots_[i];
    slot.channel = i % width == 0
                       ? grpc::CreateCustomChannel(options_.controller, credentials, args)
                       : slots_[i - i % width]->channel;
    slot.stub = rpc::AgentService::NewStub(slot.channel);
  }
  loop_ = std::thread([this] { Loop(); });
  connect_loop_ = std::thread([this] { ConnectLoop(); });
}

void Emulator::Stop() {
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  loop_cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  if (connect_loop_.joinable()) connect_loop_.join();
  for (auto& slot : slots_) {
    std::lock_guard<std::mutex> lock(slot->mu);
    slot->state = kCrashed;
    if (slot->stream != nullptr) slot->stream->Cancel();
  }
  // Every stream must have ended (OnDone) before the slots go away.
  for (;;) {
    bool any = false;
    for (auto& slot : slots_) {
      std::lock_guard<std::mutex> lock(slot->mu);
      any = any || slot->stream != nullptr;
    }
    if (!any) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Emulator::Connect(Slot& slot) {
  slot.node.OnReconnect();
  // After a failed attempt the channel sits in gRPC's own backoff (up to 2.4 s) and fails new
  // streams at once: stacked on ours, a node came back 3 s and more after a restarted
  // controller, past SlurmdTimeout, and the controller rightly requeued its jobs. A real agent
  // takes a fresh channel per attempt (agent.cc); here the channel tries again now.
  if (slot.backoff_ms > rpc::kAgentReconnectStartMs) {
    grpc::experimental::ChannelResetConnectionBackoff(slot.channel.get());
  }
  slot.stream = new NodeStream(this, &slot);
  slot.stream->Begin(slot.node.MakeRegister());
}

void Emulator::StreamEnded(Slot& slot, bool refused) {
  static thread_local std::mt19937 rng(std::random_device{}());
  std::lock_guard<std::mutex> lock(slot.mu);
  slot.stream = nullptr;
  slot.node.OnReconnect();
  if (refused) {
    slot.state = kRefused;
    ++refused_;
    spdlog::error("{}: the controller refused the registration", slot.node.config().name);
    return;
  }
  // Jitter spreads the reconnects of many nodes after a controller restart.
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  slot.reconnect_at_ms = NowMs() + static_cast<int64_t>(slot.backoff_ms * jitter(rng));
  slot.backoff_ms = std::min(slot.backoff_ms * 2, rpc::kAgentReconnectCapMs);
}

void Emulator::NoteLaunch(const Slot& slot, const rpc::LaunchJob& launch) {
  const LaunchLedger::Earlier before =
      launches_.Record(launch.job_id(), launch.generation(), slot.index);
  if (before.launches == 0) return;
  // Expected only for a job requeued after its node failed; anything else ran a job twice.
  spdlog::warn("job {} launched again on {} (generation {}; launched {} time(s) before, last on "
               "{}, generation {})",
               launch.job_id(), slot.node.config().name, launch.generation(), before.launches,
               slots_[before.node_index]->node.config().name, before.generation);
}

// Heartbeats (and ends) leave from one thread for every node. When the machine is short of CPU
// this thread falls behind, and the controller rightly declares nodes down that a real fleet
// would have kept up; the lag is logged, so a benchmark can tell the emulator's lag from the
// controller's.
void Emulator::Loop() {
  constexpr int64_t kLagReportEveryMs = 10'000;
  constexpr int64_t kLagWorthReportingMs = 1'000;
  int64_t window_start = NowMs();
  int64_t worst_late_ms = 0;
  int64_t worst_pass_ms = 0;
  size_t worst_queue = 0;
  std::unique_lock<std::mutex> lock(loop_mu_);
  while (!stopping_) {
    lock.unlock();
    const int64_t now = NowMs();
    for (auto& slot : slots_) {
      std::lock_guard<std::mutex> slot_lock(slot->mu);
      if (slot->state != kUp) continue;
      if (slot->stream == nullptr) continue;  // ConnectLoop's
      if (!slot->node.registered()) continue;
      worst_late_ms = std::max(worst_late_ms, slot->node.HeartbeatLateMs(now));
      std::vector<rpc::AgentMessage> out;
      slot->node.Tick(now, &out);
      for (rpc::AgentMessage& m : out) slot->stream->Send(std::move(m));
      worst_queue = std::max(worst_queue, slot->stream->queued());
    }
    const int64_t done = NowMs();
    worst_pass_ms = std::max(worst_pass_ms, done - now);
    if (done - window_start >= kLagReportEveryMs) {
      if (worst_late_ms >= kLagWorthReportingMs) {
        spdlog::warn("emulator behind: heartbeats left up to {} ms late in the last {} s (a pass "
                     "over the nodes took up to {} ms; up to {} messages waited on one stream)",
                     worst_late_ms, (done - window_start) / 1000, worst_pass_ms, worst_queue);
      }
      window_start = done;
      worst_late_ms = worst_pass_ms = 0;
      worst_queue = 0;
    }
    lock.lock();
    loop_cv_.wait_for(lock, kTickEvery, [this] { return stopping_; });
  }
}

// Connects (and reconnects) nodes on a thread of its own. A connect costs its thread
// milliseconds (gRPC sets up the channel's TLS there): with the heartbeats on the same thread,
// thousands of first connects held up every registered node's heartbeats for as long, and the
// controller rightly declared them down. A real node's heartbeats keep their pace whatever its
// neighbours are doing.
void Emulator::ConnectLoop() {
  std::unique_lock<std::mutex> lock(loop_mu_);
  while (!stopping_) {
    lock.unlock();
    bool connected = false;
    for (auto& slot : slots_) {
      std::lock_guard<std::mutex> slot_lock(slot->mu);
      if (slot->state != kUp || slot->stream != nullptr) continue;
      if (NowMs() >= slot->reconnect_at_ms) {
        Connect(*slot);
        connected = true;
      }
    }
    lock.lock();
    if (!connected) loop_cv_.wait_for(lock, kTickEvery, [this] { return stopping_; });
  }
}

// kUp matches nodes that are up; any other state matches frozen and crashed ones.
bool Emulator::InState(const Slot& slot, int state) {
  return state == kUp ? slot.state == kUp : (slot.state == kFrozen || slot.state == kCrashed);
}

void Emulator::SetState(Slot& slot, int state) {
  if (state == kCrashed) {
    slot.state = kCrashed;
    slot.node.Crash();
    if (slot.stream != nullptr) slot.stream->Cancel();
  } else if (state == kFrozen) {
    slot.state = kFrozen;
  } else {
    slot.state = kUp;
    slot.reconnect_at_ms = 0;
    slot.backoff_ms = rpc::kAgentReconnectStartMs;
  }
}

std::vector<std::string> Emulator::Pick(size_t count, int from_state, int to_state) {
  static thread_local std::mt19937 rng(std::random_device{}());
  std::vector<Slot*> candidates;
  for (auto& slot : slots_) {
    std::lock_guard<std::mutex> lock(slot->mu);
    if (InState(*slot, from_state)) candidates.push_back(slot.get());
  }
  std::shuffle(candidates.begin(), candidates.end(), rng);
  candidates.resize(std::min(count, candidates.size()));
  std::vector<std::string> names;
  for (Slot* slot : candidates) {
    std::lock_guard<std::mutex> lock(slot->mu);
    if (!InState(*slot, from_state)) continue;  // changed meanwhile
    names.push_back(slot->node.config().name);
    SetState(*slot, to_state);
  }
  return names;
}

bool Emulator::ChangeNode(const std::string& name, int from_state, int to_state) {
  for (auto& slot : slots_) {
    std::lock_guard<std::mutex> lock(slot->mu);
    if (slot->node.config().name != name) continue;
    if (!InState(*slot, from_state)) return false;
    SetState(*slot, to_state);
    return true;
  }
  return false;
}

bool Emulator::CrashNode(const std::string& name) { return ChangeNode(name, kUp, kCrashed); }
bool Emulator::ReviveNode(const std::string& name) { return ChangeNode(name, kCrashed, kUp); }

std::vector<std::string> Emulator::Names() const {
  std::vector<std::string> names;
  for (const auto& slot : slots_) names.push_back(slot->node.config().name);  // never changes
  return names;
}

std::vector<std::string> Emulator::Crash(size_t count) { return Pick(count, kUp, kCrashed); }
std::vector<std::string> Emulator::Freeze(size_t count) { return Pick(count, kUp, kFrozen); }
std::vector<std::string> Emulator::Revive(size_t count) { return Pick(count, kCrashed, kUp); }

size_t Emulator::registered() const {
  size_t n = 0;
  for (const auto& slot : slots_) {
    std::lock_guard<std::mutex> lock(slot->mu);
    n += slot->state == kUp && slot->stream != nullptr && slot->node.registered() ? 1 : 0;
  }
  return n;
}

size_t Emulator::running_jobs() const {
  size_t n = 0;
  for (const auto& slot : slots_) {
    std::lock_guard<std::mutex> lock(slot->mu);
    n += slot->node.running_jobs();
  }
  return n;
}

}  // namespace shoal::emulator
