// LatencyRecorder: a latency histogram that hot paths feed with a few
// relaxed atomic adds (no lock, no allocation), read as a LatencyHistogram.

#ifndef SYNOD_UTIL_LATENCY_HISTOGRAM_H_
#define SYNOD_UTIL_LATENCY_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <limits>

#include "synod/coordinator.h"

namespace synod {

// Thread-safe. Buckets from 50 us to 10 s, about three per decade: a write
// on a fast disk lands in the first buckets, a stalled fsync in the last.
class LatencyRecorder {
 public:
  static constexpr std::array<int64_t, 16> kBoundsUs = {
      50,     100,    250,     500,     1000,    2500,    5000,    10000,
      25000,  50000,  100000,  250000,  500000,  1000000, 2500000, 10000000};

  // Records one latency of `us` microseconds (negative counts as 0).
  void Observe(int64_t us) {
    if (us < 0) us = 0;
    size_t i = 0;
    while (i < kBoundsUs.size() && us > kBoundsUs[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(us, std::memory_order_relaxed);
  }

  // The distribution so far. Concurrent Observes may be half seen (a count
  // without its sum), never lost.
  LatencyHistogram Snapshot() const {
    LatencyHistogram h;
    int64_t total = 0;
    for (size_t i = 0; i <= kBoundsUs.size(); ++i) {
      total += buckets_[i].load(std::memory_order_relaxed);
      h.upper_bounds_seconds.push_back(
          i < kBoundsUs.size() ? static_cast<double>(kBoundsUs[i]) / 1e6
                               : std::numeric_limits<double>::infinity());
      h.cumulative_counts.push_back(total);
    }
    h.count = total;
    h.sum_seconds =
        static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6;
    return h;
  }

 private:
  std::array<std::atomic<int64_t>, kBoundsUs.size() + 1> buckets_{};
  std::atomic<int64_t> sum_us_{0};
};

}  // namespace synod

#endif  // SYNOD_UTIL_LATENCY_HISTOGRAM_H_
