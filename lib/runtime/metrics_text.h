// The Prometheus text exposition of a Coordinator's Health: what /metrics
// serves (docs/metrics.md lists every metric).

#ifndef SYNOD_RUNTIME_METRICS_TEXT_H_
#define SYNOD_RUNTIME_METRICS_TEXT_H_

#include <string>

#include "synod/coordinator.h"

namespace synod {

// Returns `health` in the Prometheus text format (version 0.0.4): every
// metric with its HELP and TYPE, names prefixed "synod_", counters ending
// "_total", the two latency histograms in seconds.
std::string MetricsText(const Health& health);

// True if `health` describes a peer that serves: it is leader, follower or
// observer with a serving leader, and not recovering a damaged log.
bool Serving(const Health& health);

}  // namespace synod

#endif  // SYNOD_RUNTIME_METRICS_TEXT_H_
