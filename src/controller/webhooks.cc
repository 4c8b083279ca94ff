#include "controller/webhooks.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <set>

#include "api/json_model.h"
#include "common/strings.h"
#include "controller/controller_metrics.h"
#include "security/crypto.h"

namespace shoal {
namespace {

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A line of text from a body, shortened, for the log.
std::string Excerpt(const std::string& s) { return s.size() <= 200 ? s : s.substr(0, 200) + "..."; }

class CurlSender : public WebhookSender {
 public:
  CurlSender(int64_t connect_timeout_ms, int64_t timeout_ms, const std::atomic<bool>* abort)
      : connect_timeout_ms_(connect_timeout_ms), timeout_ms_(timeout_ms), abort_(abort) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    curl_ = curl_easy_init();
  }
  ~CurlSender() override {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }

  Result<int> Post(const WebhookRequest& request) override {
    if (curl_ == nullptr) return Internal("libcurl could not be initialized");
    // One handle for every request keeps connections to a receiver alive between events.
    curl_easy_reset(curl_);
    curl_slist* headers = nullptr;
    for (const std::string& h : request.headers) headers = curl_slist_append(headers, h.c_str());
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    curl_easy_setopt(curl_, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, "shoal-webhook/" SHOAL_VERSION);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout_ms_));
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms_));
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Discard);
    curl_easy_setopt(curl_, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl_, CURLOPT_XFERINFOFUNCTION, &Progress);
    curl_easy_setopt(curl_, CURLOPT_XFERINFODATA, this);
    const CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) return Unavailable(curl_easy_strerror(rc));
    long code = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &code);
    return static_cast<int>(code);
  }

 private:
  static size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }
  static int Progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    const auto* abort = static_cast<CurlSender*>(self)->abort_;
    return abort != nullptr && abort->load() ? 1 : 0;
  }

  const int64_t connect_timeout_ms_;
  const int64_t timeout_ms_;
  const std::atomic<bool>* abort_;
  CURL* curl_ = nullptr;
};

}  // namespace

std::string WebhookSignature(std::string_view secret, int64_t timestamp, std::string_view body) {
  std::string signed_text = std::to_string(timestamp);
  signed_text += '.';
  signed_text += body;
  return "sha256=" + security::HexEncode(security::HmacSha256(secret, signed_text));
}

int64_t WebhookRetryDelayMs(uint32_t failures, double jitter, const WebhookBackoff& backoff) {
  int64_t delay = backoff.initial_ms;
  for (uint32_t i = 1; i < failures && delay < backoff.max_ms; ++i) delay *= 2;
  delay = std::min(delay, backoff.max_ms);
  jitter = std::clamp(jitter, 0.0, 1.0);
  return delay - static_cast<int64_t>(static_cast<double>(delay / 2) * jitter);
}

std::string WebhookEventType(JobState before, uint32_t restarts_before, const Job& job) {
  if (job.restart_count > restarts_before) return "requeued";
  if (job.state == before) return "";
  return ControllerMetrics::StateLabel(job.state);
}

std::string WebhookEventBody(const std::string& event_id, const std::string& type, int64_t time,
                             const std::string& cluster, const Job& job) {
  // The key fields under the names JobToJson gives them (GET /api/v1/jobs/{id} has the rest).
  const Json full = JobToJson(job);
  Json j = Json::object();
  for (const char* key :
       {"job_id", "array_job_id", "array_task_id", "state", "reason", "exit_code", "exit_signal",
        "nodes", "submit_time", "start_time", "end_time", "restart_count"}) {
    j[key] = full[key];
  }
  j["display_id"] = job.DisplayId();
  j["name"] = job.req.name;
  j["user"] = job.req.user;
  j["account"] = job.req.account;
  j["partition"] = job.req.partition;
  j["qos"] = job.req.qos;
  j["time_limit_s"] = job.req.time_limit_s;
  Json doc = {{"id", event_id},
              {"type", type},
              {"time", time},
              {"cluster", cluster},
              {"job", std::move(j)}};
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<std::string> LoadOrCreateWebhookSecret(const std::string& path, bool create) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      std::string text;
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
      close(fd);
      if (n < 0) return Internal("cannot read webhook secret " + path + ": " + strerror(errno));
      std::string secret(Trim(text));
      if (secret.empty()) return InvalidArgument("webhook secret file " + path + " is empty");
      return secret;
    }
    if (errno != ENOENT || !create) {
      return FailedPrecondition("cannot read webhook secret " + path + ": " + strerror(errno));
    }
    // O_EXCL: two controllers starting at once agree on one key (the loser reads it).
    const int out = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
      if (errno == EEXIST) continue;
      return Internal("cannot create webhook secret " + path + ": " + strerror(errno));
    }
    const std::string secret = security::HexEncode(security::RandomBytes(32));
    const std::string line = secret + "\n";
    const bool ok = write(out, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                    fsync(out) == 0;
    close(out);
    if (!ok) {
      unlink(path.c_str());
      return Internal("cannot write webhook secret " + path + ": " + strerror(errno));
    }
    spdlog::info("webhooks: created signing secret {}", path);
    return secret;
  }
  return Internal("cannot create webhook secret " + path);
}

std::unique_ptr<WebhookSender> MakeCurlSender(int64_t connect_timeout_ms, int64_t timeout_ms,
                                              const std::atomic<bool>* abort) {
  return std::make_unique<CurlSender>(connect_timeout_ms, timeout_ms, abort);
}

WebhookOutbox::WebhookOutbox(WebhookOutboxOptions options, Store* store, ControllerMetrics* metrics,
                             std::unique_ptr<WebhookSender> sender)
    : options_(std::move(options)), store_(store), metrics_(metrics), sender_(std::move(sender)) {
  if (!sender_) {
    sender_ = MakeCurlSender(options_.connect_timeout_ms, options_.timeout_ms, &stopping_);
  }
  rng_state_ = static_cast<uint64_t>(SteadyNowMs()) * 0x9E3779B97F4A7C15ull + 1;
}

WebhookOutbox::~WebhookOutbox() { Stop(); }

void WebhookOutbox::Start(std::vector<OutboxEntry> stored) {
  int64_t max_seq = 0;
  for (OutboxEntry& e : stored) {
    max_seq = std::max(max_seq, e.seq);
    const int64_t seq = e.seq;
    items_.emplace(seq, Item{std::move(e)});
  }
  int64_t next = next_seq_.load();
  while (next <= max_seq && !next_seq_.compare_exchange_weak(next, max_seq + 1)) {
  }
  UpdateDepth();
  if (!items_.empty()) spdlog::info("webhooks: {} undelivered events in the outbox", items_.size());
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "webhooks");
    Loop();
  });
}

void WebhookOutbox::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_.exchange(true)) return;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WebhookOutbox::Add(std::vector<OutboxEntry> entries, std::shared_future<Status> durable) {
  if (entries.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    incoming_.push_back(Incoming{std::move(entries), std::move(durable)});
    depth_.fetch_add(incoming_.back().entries.size());
  }
  cv_.notify_all();
}

void WebhookOutbox::Add(std::vector<OutboxEntry> entries) {
  std::promise<Status> done;
  done.set_value(Status::Ok());
  Add(std::move(entries), done.get_future().share());
}

void WebhookOutbox::UpdateDepth() {
  size_t waiting = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Incoming& in : incoming_) waiting += in.entries.size();
  }
  depth_.store(items_.size() + waiting);
  if (metrics_ != nullptr) metrics_->SetWebhookOutboxDepth(depth_.load());
}

void WebhookOutbox::Loop() {
  int64_t next_due = items_.empty() ? 0 : SteadyNowMs();  // what the store held: due now
  while (true) {
    std::vector<Incoming> incoming;
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto ready = [&] { return stopping_.load() || !incoming_.empty(); };
      if (next_due == 0) {
        cv_.wait(lock, ready);
      } else {
        const int64_t wait_ms = next_due - SteadyNowMs();
        if (wait_ms > 0) cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), ready);
      }
      if (stopping_.load()) return;
      incoming.swap(incoming_);
    }
    for (Incoming& in : incoming) {
      // The store commits in order, so this waits at most for the batch holding the change.
      const Status s = in.durable.get();
      if (!s.ok()) {
        spdlog::warn("webhooks: {} events dropped: their job change was not stored ({})",
                     in.entries.size(), s.message());
        continue;
      }
      for (OutboxEntry& e : in.entries) {
        const int64_t seq = e.seq;
        items_.emplace(seq, Item{std::move(e)});
      }
    }
    UpdateDepth();
    next_due = DeliverDue();
  }
}

void WebhookOutbox::Remove(std::map<int64_t, Item>::iterator it, const char* result) {
  StoreOp op;
  op.kind = StoreOp::Kind::kDeleteOutbox;
  op.outbox.seq = it->first;
  op.must_sync = false;  // a delivery repeated after a crash is what at-least-once allows
  std::vector<StoreOp> ops;
  ops.push_back(std::move(op));
  store_->Submit(std::move(ops));  // queued in order; not waited for
  if (metrics_ != nullptr && result != nullptr) metrics_->WebhookDelivery(result);
  items_.erase(it);
}

int64_t WebhookOutbox::DeliverDue() {
  const int64_t wall_now = static_cast<int64_t>(std::time(nullptr));
  std::set<std::pair<JobId, std::string>> blocked;  // an earlier event of the job waits
  int64_t next_due = 0;
  auto due_at = [&](int64_t t) { next_due = next_due == 0 ? t : std::min(next_due, t); };
  for (auto it = items_.begin(); it != items_.end() && !stopping_.load();) {
    Item& item = it->second;
    const OutboxEntry& e = item.entry;
    if (wall_now - e.created >= options_.max_age_s) {
      spdlog::warn("webhooks: gave up on event {} for job {} to {} after {} attempts", e.event_id,
                   e.job_id, e.url, item.failures);
      Remove(it++, "expired");
      continue;
    }
    auto key = std::make_pair(e.job_id, e.url);
    if (blocked.count(key) != 0) {
      ++it;
      continue;
    }
    Receiver& receiver = receivers_[e.url];
    const int64_t now = SteadyNowMs();
    const int64_t not_before = std::max(item.next_ms, receiver.next_ms);
    if (not_before > now) {
      blocked.insert(key);
      due_at(not_before);
      ++it;
      continue;
    }
    const int64_t ts = static_cast<int64_t>(std::time(nullptr));
    WebhookRequest request;
    request.url = e.url;
    request.body = e.body;
    std::string type;
    if (Json doc = Json::parse(e.body, nullptr, false);
        doc.is_object() && doc.contains("type") && doc["type"].is_string()) {
      type = doc["type"].get<std::string>();
    }
    request.headers = {"X-Shoal-Event: " + type, "Idempotency-Key: " + e.event_id,
                       "X-Shoal-Timestamp: " + std::to_string(ts),
                       "X-Shoal-Signature: " + WebhookSignature(options_.secret, ts, e.body)};
    Result<int> answer = sender_->Post(request);
    if (stopping_.load()) break;
    if (answer.ok() && *answer >= 200 && *answer < 300) {
      receiver = Receiver{};
      Remove(it++, "delivered");
      UpdateDepth();
      continue;
    }
    // xorshift64: the jitter needs no quality, only spread.
    auto jitter = [&] {
      rng_state_ ^= rng_state_ << 13;
      rng_state_ ^= rng_state_ >> 7;
      rng_state_ ^= rng_state_ << 17;
      return static_cast<double>(rng_state_ >> 11) / static_cast<double>(1ull << 53);
    };
    ++item.failures;
    ++receiver.failures;
    const int64_t after = SteadyNowMs();
    item.next_ms = after + WebhookRetryDelayMs(item.failures, jitter(), options_.backoff);
    receiver.next_ms = after + WebhookRetryDelayMs(receiver.failures, jitter(), options_.backoff);
    if (metrics_ != nullptr) metrics_->WebhookDelivery("failed");
    const std::string why =
        answer.ok() ? "HTTP " + std::to_string(*answer) : Excerpt(answer.status().message());
    // The first failure of a receiver is worth a warning; its retries only at debug level.
    if (receiver.failures == 1) {
      spdlog::warn("webhooks: {} for event {} (job {}): {}; retrying", e.url, e.event_id, e.job_id,
                   why);
    } else {
      spdlog::debug("webhooks: {} for event {} (job {}): {} (attempt {})", e.url, e.event_id,
                    e.job_id, why, item.failures);
    }
    blocked.insert(key);
    due_at(std::max(item.next_ms, receiver.next_ms));
    ++it;
  }
  UpdateDepth();
  return next_due;
}

}  // namespace shoal
