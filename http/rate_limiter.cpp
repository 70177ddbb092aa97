#include "rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace pgfolio::http {

RateLimiter::RateLimiter(int per_minute, size_t max_keys)
    : capacity_(per_minute), tokens_per_second_(per_minute / 60.0), max_keys_(max_keys) {}

int RateLimiter::take(const std::string& key, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = buckets_.find(key);
  if (found == buckets_.end()) {
    if (buckets_.size() >= max_keys_) evict(now);
    buckets_.emplace(key, Bucket{capacity_ - 1, now});
    return 0;
  }
  Bucket& bucket = found->second;
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  if (elapsed > 0) {
    bucket.tokens = std::min(capacity_, bucket.tokens + elapsed * tokens_per_second_);
    bucket.updated = now;
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1 - bucket.tokens) / tokens_per_second_)));
}

size_t RateLimiter::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return buckets_.size();
}

void RateLimiter::evict(Clock::time_point now) {
  // A bucket untouched for as long as a full refill takes is full again: forgetting it
  // changes nothing for its client.
  const auto refill_time = std::chrono::duration<double>(capacity_ / tokens_per_second_);
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (now - it->second.updated >= refill_time)
      it = buckets_.erase(it);
    else
      ++it;
  }
  // Sweeping again at the very next new key would make every insertion O(n): unless the
  // sweep freed a quarter of the table, drop the least recently used half.
  if (buckets_.size() < max_keys_ - max_keys_ / 4) return;
  std::vector<Clock::time_point> times;
  times.reserve(buckets_.size());
  for (const auto& entry : buckets_) times.push_back(entry.second.updated);
  auto middle = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
  std::nth_element(times.begin(), middle, times.end());
  const Clock::time_point cutoff = *middle;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (it->second.updated <= cutoff)
      it = buckets_.erase(it);
    else
      ++it;
  }
}

}  // namespace pgfolio::http
