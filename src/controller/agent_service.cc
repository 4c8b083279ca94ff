#include "controller/agent_service.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>

#include "controller/rate_limiter.h"
#include "log/logging.h"
#include "security/membership.h"

namespace shoal {

// Each kind of refusal is logged at most this often, with a count of the rest.
constexpr auto kWarnEvery = std::chrono::seconds(10);

// An agent says a few things a second: a heartbeat, its jobs' starts and ends, its steps'. One
// that says far more is cut off rather than let it fill the controller's intake queue ahead of
// everyone else; one that registers again and again is turned away for a while.
struct AgentGuards {
  explicit AgentGuards(const AgentLimits& limits)
      : limits(limits), registrations(limits.registrations_per_s, limits.registration_burst) {}
  const AgentLimits limits;
  RateLimiter registrations;
  LogThrottle log{kWarnEvery};  // keyed by what went wrong and the node
};

namespace {

std::string Metadata(const grpc::CallbackServerContext* context, const char* key) {
  const auto& md = context->client_metadata();
  auto it = md.find(key);
  return it == md.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

// The node the stream's membership proof is for, or why there is no valid proof.
Result<std::string> CheckMembership(const grpc::CallbackServerContext* context,
                                    const std::string& key) {
  security::MembershipProof proof{Metadata(context, security::kProofNodeHeader),
                                  Metadata(context, security::kProofTimeHeader),
                                  Metadata(context, security::kProofNonceHeader),
                                  Metadata(context, security::kProofMacHeader)};
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  if (Status s = security::VerifyMembershipProof(key, proof, now); !s.ok()) return s;
  return proof.node;
}

// A name fit for a log line, whatever the peer sent.
std::string Printable(const std::string& name) {
  if (name.empty()) return "(unnamed)";
  std::string out;
  for (char c : name.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

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
  static AgentStream* Open(Controller& controller, AgentGuards& guards,
                           grpc::CallbackServerContext* context,
                           const std::optional<std::string>& cluster_key) {
    // Not make_shared: the wake hook's weak reference must not keep the reactor's memory.
    std::shared_ptr<AgentStream> stream(new AgentStream(controller, guards, context));
    stream->self_ = stream;
    if (cluster_key) {
      Result<std::string> node = CheckMembership(context, *cluster_key);
      if (!node.ok()) {
        const std::string name = Printable(Metadata(context, security::kProofNodeHeader));
        guards.log.Warn("refused " + name,
                        fmt::format("refused agent {} from {}: {}", name, context->peer(),
                                    node.status().message()));
        stream->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                    "cluster key rejected: " + node.status().message()));
        return stream.get();
      }
      stream->proven_node_ = *node;
    }
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
    const AgentLimits& limits = guards_.limits;
    if (ok && flood_.Take(limits.messages_per_s, limits.message_burst,
                          TokenBucket::Clock::now()) > 0) {
      guards_.log.Warn("flooding " + session_->node(), fmt::format(
          "node {}: disconnected for sending more than {:.0f} messages a second; it must "
          "register again",
          session_->node(), limits.messages_per_s));
      {
        // Before the session closes: its wake must not cancel the stream, which ends with
        // this status instead.
        std::lock_guard<std::mutex> lock(mu_);
        finish_status_ = grpc::Status(
            grpc::StatusCode::RESOURCE_EXHAUSTED,
            fmt::format("too many messages: more than {:.0f} a second", limits.messages_per_s));
        stop_writing_ = true;
      }
      controller_.QueueAgentDisconnected(session_);
      std::lock_guard<std::mutex> lock(mu_);
      reads_ended_ = true;
      MaybeFinishLocked();
      return;
    }
    if (ok) {
      // Handed over whole: the next read parses into a cleared message.
      controller_.QueueAgentMessage(session_, std::move(in_));
      StartRead(&in_);
      return;
    }
    // The session closes here (if it has not already); its wake then finds nothing to write.
    controller_.QueueAgentDisconnected(session_);
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
    if (disconnected) controller_.QueueAgentDisconnected(session_);
    if (start_reading) StartRead(&in_);
    if (cancel) context_->TryCancel();
  }

  void OnDone() override {
    if (session_) session_->SetWake(nullptr);
    std::shared_ptr<AgentStream> self = std::move(self_);  // may delete this on return
  }

 private:
  AgentStream(Controller& controller, AgentGuards& guards, grpc::CallbackServerContext* context)
      : controller_(controller), guards_(guards), context_(context) {}

  void Register() {
    if (!in_.has_register_()) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "first message must be Register"));
      return;
    }
    // A proof is good for its own node only: another node's cannot register this one.
    if (proven_node_ && in_.register_().node_name() != *proven_node_) {
      guards_.log.Warn("refused " + Printable(*proven_node_),
                       fmt::format("refused agent {} from {}: its membership proof is for node {}",
                                   Printable(in_.register_().node_name()), context_->peer(),
                                   Printable(*proven_node_)));
      Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "cluster key rejected: the membership proof is for node " +
                              Printable(*proven_node_) + ", not " +
                              Printable(in_.register_().node_name())));
      return;
    }
    const std::string& name = in_.register_().node_name();
    if (const double wait = guards_.registrations.Take(name); wait > 0) {
      guards_.log.Warn("looping " + Printable(name), fmt::format(
          "node {}: registration from {} refused, it registers too often (a crash loop?)",
          Printable(name), context_->peer()));
      Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          fmt::format("node {} registers too often: try again in {:.0f} s",
                                      Printable(name), std::ceil(wait))));
      return;
    }
    // Registered on the controller's agent intake thread; nothing else happens on this stream
    // until then (no read or write is outstanding), and the reference keeps the reactor alive.
    controller_.RegisterAgentAsync(
        in_.register_(), [self = shared_from_this()](
                             Result<std::shared_ptr<AgentSession>> session,
                             rpc::RegisterReply reply) {
          self->Registered(std::move(session), std::move(reply));
        });
  }

  void Registered(Result<std::shared_ptr<AgentSession>> session, rpc::RegisterReply reply) {
    *out_.mutable_register_reply() = std::move(reply);
    if (!session.ok() && session.status().code() == StatusCode::kUnavailable) {
      // The controller is stopping: the agent tries again, as after any lost connection.
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, session.status().message()));
      return;
    }
    if (!session.ok()) {
      out_.mutable_register_reply()->set_accepted(false);
      out_.mutable_register_reply()->set_message(session.status().message());
      spdlog::warn("refused agent {}: {}", Printable(in_.register_().node_name()),
                   session.status().message());
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
    Finish(finish_status_);
  }

  Controller& controller_;
  AgentGuards& guards_;
  grpc::CallbackServerContext* context_;
  std::shared_ptr<AgentStream> self_;
  std::shared_ptr<AgentSession> session_;  // set once, before the wake hook exists
  std::optional<std::string> proven_node_;  // whom the membership proof was for
  rpc::AgentMessage in_;                   // touched only by the read reactions
  TokenBucket flood_{guards_.limits.message_burst, TokenBucket::Clock::now()};  // reads only

  std::mutex mu_;  // guards the write side below
  rpc::ControllerMessage out_;
  bool reading_ = false;       // the registration reply is out and reads have started
  bool writing_ = false;       // a write is in flight
  bool stop_writing_ = false;  // a write failed or the session closed: write nothing more
  bool reads_ended_ = false;
  bool finished_ = false;
  grpc::Status finish_status_;  // OK unless the agent was cut off
};

}  // namespace

AgentServiceImpl::AgentServiceImpl(Controller& controller, std::optional<std::string> cluster_key,
                                   AgentLimits limits)
    : controller_(controller),
      cluster_key_(std::move(cluster_key)),
      guards_(std::make_unique<AgentGuards>(limits)) {}

AgentServiceImpl::~AgentServiceImpl() = default;

grpc::ServerBidiReactor<rpc::AgentMessage, rpc::ControllerMessage>* AgentServiceImpl::Connect(
    grpc::CallbackServerContext* context) {
  return AgentStream::Open(controller_, *guards_, context, cluster_key_);
}

grpc::ServerUnaryReactor* AgentServiceImpl::Join(grpc::CallbackServerContext* context,
                                                 const rpc::JoinRequest* request,
                                                 rpc::JoinReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (join_tokens_ == nullptr || !cluster_key_) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 "this controller does not accept joins"));
    return reactor;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string node = Printable(request->node_name());
  Status s = join_tokens_->Redeem(request->token_id(), request->secret(), node, now);
  if (!s.ok()) {
    reactor->Finish(grpc::Status(s.code() == StatusCode::kPermissionDenied
                                     ? grpc::StatusCode::PERMISSION_DENIED
                                     : grpc::StatusCode::UNAVAILABLE,
                                 s.message()));
    return reactor;
  }
  spdlog::info("node {} joined with a join token from {}; it registers when its agent starts",
               node, context->peer());
  reply->set_cluster_key(*cluster_key_);
  reply->set_ca_pem(ca_pem_);
  reply->set_cluster_name(controller_.config().cluster_name);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace shoal
