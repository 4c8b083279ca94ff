#include "controller/rate_limiter.h"

#include <algorithm>

namespace shoal {
namespace {
// A bucket untouched this long is full again: forgetting it changes nothing.
constexpr auto kPruneEvery = std::chrono::seconds(10);
}  // namespace

RateLimiter::RateLimiter(double rate_per_s, double burst)
    : rate_(std::max(0.0, rate_per_s)), burst_(burst >= 1 ? burst : std::max(rate_per_s, 1.0)) {}

double RateLimiter::Take(const std::string& key, Clock::time_point now) {
  if (rate_ <= 0) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  if (now - last_prune_ > kPruneEvery) PruneLocked(now);
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    const double elapsed = std::chrono::duration<double>(now - b.updated).count();
    if (elapsed > 0) {
      b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
      b.updated = now;
    }
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return (1 - b.tokens) / rate_;
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
