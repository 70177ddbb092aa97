// Token buckets keyed by client IP or user id (docs/auth.md, "Rate limits"). Each bucket
// holds up to one minute's allowance and refills continuously, so a client may burst its
// whole allowance and then gets one request per 60/limit seconds.
//
// Memory stays bounded whatever clients send: a bucket that has refilled completely is
// indistinguishable from no bucket and is dropped when the table is swept; should the table
// still be full (many busy keys, e.g. an attack from many addresses), the least recently
// used half is dropped — those clients merely get a fresh allowance.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace pgfolio::http {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  RateLimiter(int per_minute, size_t max_keys = 100000);

  // Takes one token from `key`'s bucket. Returns 0 when the request may go ahead, otherwise
  // the whole seconds until a token is available (at least 1), for Retry-After.
  int take(const std::string& key, Clock::time_point now = Clock::now());

  size_t size() const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  void evict(Clock::time_point now);

  const double capacity_;
  const double tokens_per_second_;
  const size_t max_keys_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace pgfolio::http
