#include "controller/rate_limiter.h"

#include <algorithm>

namespace shoal {
namespace {
// A bucket untouched this long is full again: forgetting it changes nothing.
constexpr auto kPruneEvery = std::chrono::seconds(10);
}  // namespace

double TokenBucket::Take(double rate, double burst, Clock::time_point now) {
  const double elapsed = std::chrono::duration<double>(now - updated).count();
  if (elapsed > 0) {
    tokens = std::min(burst, tokens + elapsed * rate);
    updated = now;
  }
  if (tokens >= 1) {
    tokens -= 1;
    return 0;
  }
  return (1 - tokens) / rate;
}

RateLimiter::RateLimiter(double rate_per_s, double burst)
    : rate_(std::max(0.0, rate_per_s)), burst_(burst >= 1 ? burst : std::max(rate_per_s, 1.0)) {}

double RateLimiter::Take(const std::string& key, Clock::time_point now) {
  if (rate_ <= 0) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  if (now - last_prune_ > kPruneEvery) PruneLocked(now);
  auto it = buckets_.try_emplace(key, burst_, now).first;
  return it->second.Take(rate_, burst_, now);
}

size_t RateLimiter::keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

void RateLimiter::PruneLocked(Clock::time_point now) {
  last_prune_ = now;
  const double full_after_s = burst_ / rate_;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (std::chrono::duration<double>(now - it->second.updated).count() > full_after_s) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace shoal
