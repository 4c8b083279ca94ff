// Job webhooks: each job state change becomes a JSON event, POSTed (signed with HMAC-SHA256) to
// the cluster's WebhookURL receivers and to the job's own --webhook URL. Events go through a
// durable outbox: the controller writes them to the store in the same transaction as the job
// change (PersistLocked), and a delivery thread of their own sends them, deleting each on a 2xx
// and retrying the rest with exponential backoff, so a controller restart loses none
// (at-least-once; the Idempotency-Key header lets receivers drop repeats). Delivery never takes
// the controller's lock, so a slow or dead receiver cannot hold up scheduling.
//
// What a receiver gets (docs/webhooks.md):
//   POST <url>, Content-Type: application/json
//   X-Shoal-Event: <type>            Idempotency-Key: <event id>
//   X-Shoal-Timestamp: <unix seconds of this attempt>
//   X-Shoal-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "core/model.h"
#include "store/store.h"

namespace shoal {

class ControllerMetrics;

// "sha256=" and the lowercase hex HMAC-SHA256, under `secret`, of "<timestamp>.<body>".
std::string WebhookSignature(std::string_view secret, int64_t timestamp, std::string_view body);

struct WebhookBackoff {
  int64_t initial_ms = 1000;  // after the first failure
  int64_t max_ms = 300000;    // the doubling stops here (5 minutes)
};
// How long to wait after the `failures`-th failed attempt in a row (1, 2, ...): initial_ms
// doubling per failure up to max_ms, less up to half of it by `jitter` (in [0, 1)) so that
// receivers coming back are not hit by every sender at once.
int64_t WebhookRetryDelayMs(uint32_t failures, double jitter, const WebhookBackoff& backoff = {});

// The event a job change makes, from what was last announced of the job (its state and restart
// count) to `job`: "requeued" when it was requeued since, else its new state in lower case
// ("running", "completed", "node_fail", ...), or "" when neither changed.
std::string WebhookEventType(JobState before, uint32_t restarts_before, const Job& job);

// The JSON document sent: {"id","type","time","cluster","job":{...the job's key fields}}.
std::string WebhookEventBody(const std::string& event_id, const std::string& type, int64_t time,
                             const std::string& cluster, const Job& job);

// The signing secret: the file's contents without trailing white space. When the file does not
// exist and `create` is set, a new random one (64 hex digits) is written there, mode 0600. An
// empty file, or a missing one without `create`, is an error naming the path.
Result<std::string> LoadOrCreateWebhookSecret(const std::string& path, bool create);

struct WebhookRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
};

// Sends one request; the HTTP status, or an error when no answer came (refused, timed out).
class WebhookSender {
 public:
  virtual ~WebhookSender() = default;
  virtual Result<int> Post(const WebhookRequest& request) = 0;
};

// libcurl, with bounded connect and total timeouts; http and https only, no redirects. Gives up
// at once (an error) when `abort` becomes true.
std::unique_ptr<WebhookSender> MakeCurlSender(int64_t connect_timeout_ms, int64_t timeout_ms,
                                              const std::atomic<bool>* abort);

struct WebhookOutboxOptions {
  std::string secret;
  int64_t max_age_s = 86400;  // an event this old is given up on (counted as expired)
  WebhookBackoff backoff;
  int64_t connect_timeout_ms = 2000;
  int64_t timeout_ms = 5000;
};

// The delivery side of the outbox. Entries are delivered in seq order per (job, URL): a later
// event of a job waits while an earlier one to the same receiver is retried. A receiver that
// fails is left alone, for all its events, for its own backoff delay.
class WebhookOutbox {
 public:
  // `store` and `metrics` (may be null) must outlive this. `sender` null: libcurl's.
  WebhookOutbox(WebhookOutboxOptions options, Store* store, ControllerMetrics* metrics,
                std::unique_ptr<WebhookSender> sender = nullptr);
  ~WebhookOutbox();
  WebhookOutbox(const WebhookOutbox&) = delete;
  WebhookOutbox& operator=(const WebhookOutbox&) = delete;

  // Starts delivering, beginning with what the store held at start.
  void Start(std::vector<OutboxEntry> stored);
  // Stops the thread (an attempt under way is abandoned); what is undelivered stays stored.
  void Stop();

  // The seq for a new entry: above every entry held.
  int64_t NextSeq() { return next_seq_.fetch_add(1); }
  // Entries written (or being written) to the store; delivered once `durable` says the write
  // succeeded, dropped if it failed (the change they report did not happen either).
  void Add(std::vector<OutboxEntry> entries, std::shared_future<Status> durable);
  void Add(std::vector<OutboxEntry> entries);  // already durable

  size_t depth() const { return depth_.load(); }

 private:
  struct Item {
    OutboxEntry entry;
    uint32_t failures = 0;
    int64_t next_ms = 0;  // not before (steady clock)
  };
  struct Receiver {
    uint32_t failures = 0;
    int64_t next_ms = 0;
  };
  struct Incoming {
    std::vector<OutboxEntry> entries;
    std::shared_future<Status> durable;
  };

  void Loop();
  // One pass over the due items; returns when the next one is due (steady ms; 0: none held).
  int64_t DeliverDue();
  void Remove(std::map<int64_t, Item>::iterator it, const char* result);
  void UpdateDepth();

  const WebhookOutboxOptions options_;
  Store* const store_;
  ControllerMetrics* const metrics_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<WebhookSender> sender_;
  std::atomic<int64_t> next_seq_{1};
  std::atomic<size_t> depth_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Incoming> incoming_;  // under mu_
  std::thread thread_;

  // The delivery thread's own.
  std::map<int64_t, Item> items_;  // by seq
  std::map<std::string, Receiver> receivers_;
  uint64_t rng_state_ = 0;
};

}  // namespace shoal
