// Token buckets per caller, so that one client flooding the API is refused cheaply (429) while
// every other caller keeps its own full bucket. Each key refills at `rate` per second up to
// `burst`; idle keys are forgotten, so random anonymous addresses cannot grow it forever.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace shoal {

// One token bucket, refilling at `rate` tokens a second up to `burst`; the caller keeps the rate
// and the burst (a limiter holds many buckets of the same pair). It starts full.
struct TokenBucket {
  using Clock = std::chrono::steady_clock;
  TokenBucket(double burst, Clock::time_point now) : tokens(burst), updated(now) {}
  // Takes one token: 0 when there was one, else the seconds until there will be.
  double Take(double rate, double burst, Clock::time_point now);
  double tokens;
  Clock::time_point updated;
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // rate 0: no limit. A burst below 1 is taken as max(rate, 1).
  RateLimiter(double rate_per_s, double burst);

  // Takes one token from `key`'s bucket: 0 when there was one, else the seconds until there
  // will be (for Retry-After).
  double Take(const std::string& key, Clock::time_point now = Clock::now());
  bool enabled() const { return rate_ > 0; }
  size_t keys() const;

 private:
  void PruneLocked(Clock::time_point now);

  const double rate_;
  const double burst_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, TokenBucket> buckets_;
  Clock::time_point last_prune_{};
};

}  // namespace shoal
