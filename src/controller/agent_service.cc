#include "controller/agent_service.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>

namespace shoal {
namespace {

// One agent's stream. Reactions run on gRPC's callback threads; the controller wakes the writer
// from its own threads (AgentSession::SetWake). The wake hook holds only a weak reference, and the
// reactor keeps itself alive (self_) until OnDone, so a wake that races the stream's end finds
// either a live reactor that has finished (and does nothing) or none at all.
//
// The stream ends when its read side ends: the agent went away, or the stream was cancelled
// because a write failed or the controller closed the session (node declared down, a newer
// registration, shutdown). Then the controller hears of the disconnect, and Finish follows once
// no write is in flight.
class AgentStream final : public grpc::ServerBidiReactor<rpc::AgentMessage, rpc::ControllerMessage>,
                          public std::enable_shared_from_this<AgentStream> {
 public:
  static AgentStream* Open(Controller& controller, grpc::CallbackServerContext* context) {
    // Not make_shared: the wake hook's weak reference must not keep the reactor's memory.
    std::shared_ptr<AgentStream> stream(new AgentStream(controller, context));
    stream->self_ = stream;
    stream->StartRead(&stream->in_);
    return stream.get();
  }

  void OnReadDone(bool ok) override {
    if (!session_) {
      if (ok) {
        Register();
      } else {
        Finish(grpc::Status::OK);  // gone before registering
      }
      return;
    }
    if (ok) {
      controller_.OnAgentMessage(session_, in_);
      StartRead(&in_);
      return;
    }
    // The session closes here (if it has not already); its wake then finds nothing to write.
    controller_.OnAgentDisconnected(session_);
    std::lock_guard<std::mutex> lock(mu_);
    reads_ended_ = true;
    MaybeFinishLocked();
  }

  void OnWriteDone(bool ok) override {
    bool start_reading = false;
    bool cancel = false;
    bool disconnected = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      if (!ok) {
        stop_writing_ = true;
        if (reading_) {
          cancel = true;  // the outstanding read fails, and OnReadDone ends the stream
        } else {
          // The registration reply could not be written; no read was ever started.
          disconnected = true;
          reads_ended_ = true;
        }
      } else if (!reading_) {
        // The registration reply is out: from now on the agent is heard.
        reading_ = true;
        start_reading = true;
      }
      if (ok) cancel = WriteNextLocked();
      MaybeFinishLocked();
    }
    if (disconnected) controller_.OnAgentDisconnected(session_);
    if (start_reading) StartRead(&in_);
    if (cancel) context_->TryCancel();
  }

  void OnDone() override {
    if (session_) session_->SetWake(nullptr);
    std::shared_ptr<AgentStream> self = std::move(self_);  // may delete this on return
  }

 private:
  AgentStream(Controller& controller, grpc::CallbackServerContext* context)
      : controller_(controller), context_(context) {}

  void Register() {
    if (!in_.has_register_()) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "first message must be Register"));
      return;
    }
    auto session = controller_.RegisterAgent(in_.register_(), *out_.mutable_register_reply());
    if (!session.ok()) {
      out_.mutable_register_reply()->set_accepted(false);
      out_.mutable_register_reply()->set_message(session.status().message());
      spdlog::warn("refused agent {}: {}", in_.register_().node_name(), session.status().message());
      StartWriteAndFinish(&out_, grpc::WriteOptions(), grpc::Status::OK);
      return;
    }
    session_ = *session;
    // Installed before the first write can complete: a TryNext that finds the outbox empty
    // consumes the next wake, which must then reach us.
    session_->SetWake([weak = weak_from_this()] {
      if (std::shared_ptr<AgentStream> stream = weak.lock()) stream->Wake();
    });
    std::lock_guard<std::mutex> lock(mu_);
    // The reply goes first; the outbox (which may already hold messages) follows it.
    writing_ = true;
    StartWrite(&out_);
  }

  void Wake() {
    bool cancel = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancel = WriteNextLocked();
    }
    if (cancel) context_->TryCancel();
  }

  // Under mu_: starts the next write if none is in flight. Returns true when the controller has
  // closed the session, so the caller cancels the stream (outside the lock).
  bool WriteNextLocked() {
    if (writing_ || stop_writing_ || finished_ || !reading_) return false;
    switch (session_->TryNext(out_)) {
      case AgentSession::Poll::kMessage:
        writing_ = true;
        StartWrite(&out_);
        return false;
      case AgentSession::Poll::kEmpty:
        return false;  // the session wakes us
      case AgentSession::Poll::kClosed:
        // An agent that was only frozen or cut off must register again, and learn then which of
        // its jobs are no longer its own.
        stop_writing_ = true;
        return true;
    }
    return false;
  }

  void MaybeFinishLocked() {
    if (finished_ || !reads_ended_ || writing_) return;
    finished_ = true;
    Finish(grpc::Status::OK);
  }

  Controller& controller_;
  grpc::CallbackServerContext* context_;
  std::shared_ptr<AgentStream> self_;
  std::shared_ptr<AgentSession> session_;  // set once, before the wake hook exists
  rpc::AgentMessage in_;                   // touched only by the read reactions

  std::mutex mu_;  // guards the write side below
  rpc::ControllerMessage out_;
  bool reading_ = false;       // the registration reply is out and reads have started
  bool writing_ = false;       // a write is in flight
  bool stop_writing_ = false;  // a write failed or the session closed: write nothing more
  bool reads_ended_ = false;
  bool finished_ = false;
};

}  // namespace

grpc::ServerBidiReactor<rpc::AgentMessage, rpc::ControllerMessage>* AgentServiceImpl::Connect(
    grpc::CallbackServerContext* context) {
  return AgentStream::Open(controller_, context);
}

}  // namespace shoal
