// MetricsText: Health as Prometheus metric families, written by
// prometheus-cpp's text serializer (it keeps the exposition format's
// escaping, ordering and histogram conventions right).

#include "runtime/metrics_text.h"

#include <sstream>
#include <utility>
#include <vector>

#include "prometheus/metric_family.h"
#include "prometheus/text_serializer.h"

namespace synod {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

class Families {
 public:
  void Gauge(const char* name, const char* help, double value,
             std::vector<ClientMetric::Label> labels = {}) {
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = value;
    Add(name, help, MetricType::Gauge).metric.push_back(std::move(m));
  }
  void Counter(const char* name, const char* help, double value) {
    ClientMetric m;
    m.counter.value = value;
    Add(name, help, MetricType::Counter).metric.push_back(std::move(m));
  }
  void Histogram(const char* name, const char* help,
                 const LatencyHistogram& h) {
    ClientMetric m;
    m.histogram.sample_count = static_cast<uint64_t>(h.count);
    m.histogram.sample_sum = h.sum_seconds;
    for (size_t i = 0; i < h.upper_bounds_seconds.size() &&
                       i < h.cumulative_counts.size();
         ++i) {
      m.histogram.bucket.push_back(ClientMetric::Bucket{
          static_cast<uint64_t>(h.cumulative_counts[i]),
          h.upper_bounds_seconds[i]});
    }
    Add(name, help, MetricType::Histogram).metric.push_back(std::move(m));
  }
  std::vector<MetricFamily>& all() { return families_; }

 private:
  // The family `name`, added on first use (one family, several series).
  MetricFamily& Add(const char* name, const char* help, MetricType type) {
    for (MetricFamily& f : families_) {
      if (f.name == name) return f;
    }
    families_.push_back(MetricFamily{name, help, type, {}});
    return families_.back();
  }

  std::vector<MetricFamily> families_;
};

double D(int64_t v) { return static_cast<double>(v); }

}  // namespace

bool Serving(const Health& h) {
  if (h.recovering) return false;
  if (h.role == "leader") return true;
  return (h.role == "follower" || h.role == "observer") && h.leader_id != 0;
}

std::string MetricsText(const Health& h) {
  Families f;
  for (const char* role : {"leader", "follower", "observer", "looking"}) {
    f.Gauge("synod_role", "1 for this peer's current role, 0 for the others",
            h.role == role ? 1 : 0, {{"role", role}});
  }
  f.Gauge("synod_serving",
          "1 if this peer serves (a leader serves the ensemble), as /health",
          Serving(h) ? 1 : 0);
  f.Gauge("synod_connected",
          "1 if this Coordinator's session is with a serving leader",
          h.connected ? 1 : 0);
  f.Gauge("synod_recovering",
          "1 while this peer recovers a damaged log (it observes)",
          h.recovering ? 1 : 0);
  f.Gauge("synod_peer_id", "this peer's id", D(static_cast<int64_t>(h.peer_id)));
  f.Gauge("synod_leader_id", "the serving leader's id (0: none)",
          D(static_cast<int64_t>(h.leader_id)));
  f.Gauge("synod_epoch", "the current epoch", D(h.epoch));
  f.Gauge("synod_last_zxid", "the last applied zxid", D(h.last_zxid));
  f.Gauge("synod_config_version",
          "the zxid of the configuration change in force (0: founding)",
          D(h.config_version));
  f.Gauge("synod_members", "members of the configuration, by kind",
          D(static_cast<int64_t>(h.voters.size())), {{"kind", "voter"}});
  f.Gauge("synod_members", "members of the configuration, by kind",
          D(static_cast<int64_t>(h.observers.size())), {{"kind", "observer"}});
  // The leader's view of each other member.
  for (const auto* list : {&h.voters, &h.observers}) {
    for (const EnsembleMember& m : *list) {
      if (m.lag_txns < 0 || m.id == h.peer_id) continue;
      f.Gauge("synod_learner_lag_txns",
              "on the leader: log entries a member has not acknowledged (a "
              "voter) or been sent (an observer) yet",
              D(m.lag_txns), {{"peer", std::to_string(m.id)}});
    }
  }
  f.Gauge("synod_znodes", "znodes in the tree", D(h.znode_count));
  f.Gauge("synod_ephemerals", "ephemeral znodes in the tree",
          D(h.ephemeral_count));
  f.Gauge("synod_data_bytes", "bytes of data of every znode", D(h.data_bytes));
  f.Gauge("synod_sessions", "sessions the ensemble holds", D(h.session_count));
  f.Gauge("synod_watches", "watches registered on this peer",
          D(h.watch_count));
  f.Gauge("synod_remote_sessions",
          "sessions of remote clients this peer hosts", D(h.remote_sessions));
  f.Gauge("synod_pending_writes", "writes accepted and not yet completed",
          D(h.pending_writes));
  f.Gauge("synod_dispatcher_queue",
          "watch events and callbacks waiting for the dispatcher",
          D(h.dispatcher_queue));
  f.Counter("synod_reads_total", "reads served", D(h.reads));
  f.Counter("synod_writes_total", "writes accepted", D(h.writes));
  f.Counter("synod_write_errors_total", "writes that failed",
            D(h.write_errors));
  f.Counter("synod_log_syncs_total",
            "synced appends of the txn log (each may carry many txns)",
            D(h.log_syncs));
  f.Counter("synod_txns_logged_total", "txns made durable", D(h.txns_logged));
  f.Counter("synod_events_delivered_total",
            "watch events and callbacks run by the dispatcher",
            D(h.events_delivered));
  f.Counter("synod_snapshots_installed_total",
            "times a leader synchronized this peer with a snapshot",
            D(h.snapshots_installed));
  f.Counter("synod_snapshots_sent_total",
            "snapshots this peer sent to learners while leading",
            D(h.snapshots_sent));
  f.Counter("synod_elections_total",
            "elections this peer came out of (looking, then a role)",
            D(h.elections));
  f.Counter("synod_quota_soft_exceeded_total",
            "writes past a soft quota (allowed), counted while leading",
            D(h.quota_soft_exceeded));
  f.Counter("synod_quota_hard_exceeded_total",
            "writes refused at a hard quota, counted while leading",
            D(h.quota_hard_exceeded));
  f.Histogram("synod_write_latency_seconds",
              "successful writes, from submission to completion",
              h.write_latency);
  f.Histogram("synod_fsync_latency_seconds", "synced appends of the txn log",
              h.fsync_latency);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, f.all());
  return out.str();
}

}  // namespace synod
