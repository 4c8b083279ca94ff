#include "relay/relay.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "rpc/agent_channel.h"

namespace shoal::relay {
namespace {

// Messages waiting for the controller on one stream. An agent sends a few a second; one that
// outruns the controller by this much is cut off rather than let the relay's memory grow.
constexpr size_t kMaxQueued = 10000;

// The stream metadata that goes on to the controller: the membership proof (x-shoal-*).
bool Forwarded(grpc::string_ref key) {
  constexpr std::string_view kPrefix = "x-shoal-";
  return key.size() > kPrefix.size() && std::string_view(key.data(), kPrefix.size()) == kPrefix;
}

}  // namespace

// One agent's stream: served to the agent (AgentSide) and carried to the controller as a client
// stream on a shared connection (ControllerSide). Whatever one side reads, the other writes, one
// write at a time with the rest queued. The controller's side ends the pair: its status is the
// one the agent gets. When the agent goes first, the controller's side is cancelled, which ends
// it, and so the agent's. The pair deletes itself when both sides are done.
class Relay::Pipe {
 public:
  Pipe(Relay* relay, grpc::CallbackServerContext* context, Upstream upstream)
      : relay_(relay), controller_index_(upstream.controller), agent_(this), controller_(this) {
    relay_->streams_.fetch_add(1);
    for (const auto& [key, value] : context->client_metadata()) {
      if (Forwarded(key)) {
        upstream_context_.AddMetadata(std::string(key.data(), key.size()),
                                      std::string(value.data(), value.size()));
      }
    }
    upstream.stub->async()->Connect(&upstream_context_, &controller_);
    // Writes to the controller start on the agent side's callbacks, outside the controller
    // side's own: the hold keeps that side from ending until its read side has (then nothing
    // more is written to it).
    controller_.AddHold();
    controller_.StartRead(&from_controller_);
    controller_.StartCall();
    agent_.StartRead(&from_agent_);
  }

  grpc::ServerBidiReactor<rpc::AgentMessage, rpc::ControllerMessage>* agent_side() {
    return &agent_;
  }

 private:
  class AgentSide final
      : public grpc::ServerBidiReactor<rpc::AgentMessage, rpc::ControllerMessage> {
   public:
    explicit AgentSide(Pipe* pipe) : pipe_(pipe) {}
    void OnReadDone(bool ok) override { pipe_->FromAgent(ok); }
    void OnWriteDone(bool ok) override { pipe_->WrittenToAgent(ok); }
    void OnCancel() override { pipe_->upstream_context_.TryCancel(); }
    void OnDone() override { pipe_->SideDone(); }

   private:
    Pipe* pipe_;
  };

  class ControllerSide final
      : public grpc::ClientBidiReactor<rpc::AgentMessage, rpc::ControllerMessage> {
   public:
    explicit ControllerSide(Pipe* pipe) : pipe_(pipe) {}
    void OnReadDone(bool ok) override { pipe_->FromController(ok); }
    void OnWriteDone(bool ok) override { pipe_->WrittenToController(ok); }
    void OnDone(const grpc::Status& status) override { pipe_->ControllerSideDone(status); }

   private:
    Pipe* pipe_;
  };

  void FromAgent(bool ok) {
    if (!ok) {  // the agent is gone (or closed its side): so is its stream to the controller
      upstream_context_.TryCancel();
      return;
    }
    bool overrun = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (controller_open_) {
        overrun = to_controller_.size() >= kMaxQueued;
        to_controller_.push_back(std::move(from_agent_));
        if (!writing_to_controller_) {
          writing_to_controller_ = true;
          controller_.StartWrite(&to_controller_.front());
        }
      }
      if (!overrun && !agent_finished_) agent_.StartRead(&from_agent_);
    }
    if (overrun) {
      spdlog::warn("relay: an agent outran the controller by {} messages; its stream is cut",
                   kMaxQueued);
      upstream_context_.TryCancel();
    }
  }

  void WrittenToController(bool ok) {
    bool release = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      to_controller_.pop_front();
      if (ok && controller_open_ && !to_controller_.empty()) {
        controller_.StartWrite(&to_controller_.front());
        return;
      }
      writing_to_controller_ = false;
      if (!ok) to_controller_.clear();
      release = ReleaseHoldLocked();
    }
    if (release) controller_.RemoveHold();
  }

  void FromController(bool ok) {
    if (!ok) {  // the controller's side is ending; its status comes with ControllerSideDone
      bool release = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        controller_open_ = false;
        release = ReleaseHoldLocked();
      }
      if (release) controller_.RemoveHold();
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!agent_finished_) {
        to_agent_.push_back(std::move(from_controller_));
        if (!writing_to_agent_) {
          writing_to_agent_ = true;
          agent_.StartWrite(&to_agent_.front());
        }
      }
    }
    controller_.StartRead(&from_controller_);
  }

  void WrittenToAgent(bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    to_agent_.pop_front();
    if (ok && !to_agent_.empty()) {
      agent_.StartWrite(&to_agent_.front());
      return;
    }
    writing_to_agent_ = false;
    if (!ok) {  // the agent is gone
      to_agent_.clear();
      upstream_context_.TryCancel();
    }
    FinishAgentLocked();
  }

  void ControllerSideDone(const grpc::Status& status) {
    // Down, stopping or a standby: the agent dials again, and its new stream should find the
    // controller that leads.
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      relay_->MoveOnFrom(controller_index_, status.error_message());
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      status_ = status;
      FinishAgentLocked();  // once what the controller said last has reached the agent
    }
    SideDone();
  }

  // The controller's side ended and nothing is left to write to the agent: end the agent's
  // stream with the controller's status (a refused proof stays UNAUTHENTICATED).
  void FinishAgentLocked() {
    if (!status_ || writing_to_agent_ || agent_finished_) return;
    agent_finished_ = true;
    agent_.Finish(*status_);
  }

  // The hold goes once nothing more will be written to the controller: its read side has ended
  // and no write is in flight.
  bool ReleaseHoldLocked() {
    if (controller_open_ || writing_to_controller_ || hold_released_) return false;
    hold_released_ = true;
    return true;
  }

  void SideDone() {
    if (sides_done_.fetch_add(1) + 1 < 2) return;
    relay_->streams_.fetch_sub(1);
    delete this;
  }

  Relay* relay_;
  const size_t controller_index_;  // in RelayOptions::controllers
  AgentSide agent_;
  ControllerSide controller_;
  grpc::ClientContext upstream_context_;
  rpc::AgentMessage from_agent_;
  rpc::ControllerMessage from_controller_;
  std::atomic<int> sides_done_{0};

  std::mutex mu_;  // guards everything below
  std::deque<rpc::AgentMessage> to_controller_;
  std::deque<rpc::ControllerMessage> to_agent_;
  bool writing_to_controller_ = false;
  bool writing_to_agent_ = false;
  bool controller_open_ = true;
  bool hold_released_ = false;
  bool agent_finished_ = false;
  std::optional<grpc::Status> status_;
};

class Relay::Service final : public rpc::AgentService::CallbackService {
 public:
  explicit Service(Relay* relay) : relay_(relay) {}

  grpc::ServerBidiReactor<rpc::AgentMessage, rpc::ControllerMessage>* Connect(
      grpc::CallbackServerContext* context) override {
    return (new Pipe(relay_, context, relay_->NextUpstream()))->agent_side();
  }

  // `shoal join` through the relay: the controller redeems the token.
  grpc::ServerUnaryReactor* Join(grpc::CallbackServerContext* context,
                                 const rpc::JoinRequest* request, rpc::JoinReply* reply) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    auto upstream = std::make_shared<grpc::ClientContext>();
    upstream->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    relay_->NextUpstream().stub->async()->Join(
        upstream.get(), request, reply,
        [reactor, upstream](grpc::Status status) { reactor->Finish(status); });
    return reactor;
  }

 private:
  Relay* relay_;
};

Relay::Relay(RelayOptions options) : options_(std::move(options)) {}

Relay::~Relay() { Stop(); }

Relay::Upstream Relay::NextUpstream() {
  const size_t controller = current_controller_.load();
  const auto& connections = upstream_[controller];
  return {controller, connections[next_upstream_.fetch_add(1) % connections.size()].get()};
}

void Relay::MoveOnFrom(size_t controller, const std::string& why) {
  if (upstream_.size() < 2) return;
  size_t expected = controller;
  const size_t next = (controller + 1) % upstream_.size();
  // Every stream to a dead controller ends at once: only the first of them moves on.
  if (current_controller_.compare_exchange_strong(expected, next)) {
    spdlog::warn("relay: controller {} unavailable ({}); new streams go to {}",
                 options_.controllers[controller], why, options_.controllers[next]);
  }
}

Status Relay::Start() {
  if (options_.connections < 1) return InvalidArgument("connections must be at least 1");
  if (options_.controllers.empty()) return InvalidArgument("no controller to relay to");
  grpc::SslCredentialsOptions client_ssl;
  client_ssl.pem_root_certs = options_.ca_pem;
  const std::shared_ptr<grpc::ChannelCredentials> to_controller = grpc::SslCredentials(client_ssl);
  // Each channel keeps a connection of its own (AgentChannelArguments), so the streams spread
  // over `connections` of them.
  const grpc::ChannelArguments args = rpc::AgentChannelArguments();
  for (const std::string& controller : options_.controllers) {
    auto& connections = upstream_.emplace_back();
    for (int i = 0; i < options_.connections; ++i) {
      connections.push_back(
          rpc::AgentService::NewStub(grpc::CreateCustomChannel(controller, to_controller, args)));
    }
  }

  grpc::SslServerCredentialsOptions server_ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  // The chain carries the CA, as the controller's does: `shoal join` finds the CA it pins there.
  std::string chain = options_.cert_pem;
  if (!chain.empty() && chain.back() != '\n') chain += '\n';
  server_ssl.pem_key_cert_pairs.push_back({options_.key_pem, chain + options_.ca_pem});
  service_ = std::make_unique<Service>(this);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.listen, grpc::SslServerCredentials(server_ssl), &port_);
  builder.RegisterService(service_.get());
  rpc::ApplyAgentServerArguments(builder);
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    server_.reset();
    return Unavailable("cannot listen for agents on " + options_.listen);
  }
  return Status::Ok();
}

void Relay::Stop() {
  if (!server_) return;
  // Streams still open after a second are cancelled; the agents dial again.
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  // The pipes use the upstream stubs until their last callback.
  for (int i = 0; i < 500 && streams_.load() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server_.reset();
}

}  // namespace shoal::relay
