// File: synod/options.h
//
// Everything a Coordinator is configured with. Options is a plain struct;
// each field says its default. The defaults make a durable one-peer ensemble
// in `data_dir`.
//
// Example:
//
//   synod::Options options;
//   options.data_dir = "/var/lib/myapp/synod";
//   auto coordinator = synod::Coordinator::Start(options);

#ifndef SYNOD_OPTIONS_H_
#define SYNOD_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "synod/watch.h"

namespace synod {

// Severity of a log record.
enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Receives synod's log records. May be called from any of synod's threads,
// concurrently; must not call back into the Coordinator.
using LogSink = std::function<void(LogLevel level, std::string_view message)>;

// Returns the sink used when Options::log_sink is empty: records at
// `min_level` and above go to stderr, one line each.
LogSink StderrLogSink(LogLevel min_level = LogLevel::kWarning);

struct Options {
  // Directory of the durable state. Created if missing; refused if it holds
  // anything that is not synod's. Required.
  std::string data_dir;

  // Address this peer listens on for its ensemble and for remote clients
  // (synod-cli), "host:port". Required when `seeds` names other peers.
  // Default: empty, a one-peer ensemble that listens nowhere.
  std::string listen;

  // Addresses ("host:port") of the ensemble's voting peers, the same list
  // (in any order) at every peer. A peer whose `listen` is among them votes;
  // one whose `listen` is not joins as an observer: it replicates and serves
  // local reads but never votes. Default: empty, this peer alone.
  std::vector<std::string> seeds;

  // The ensemble's clock period: leader heartbeats go every 2 ticks, and a
  // peer silent for 10 ticks is given up on (so a dead leader is noticed in
  // 10 ticks). Default: 100 ms. Range: 10 ms to 10 s.
  absl::Duration tick = absl::Milliseconds(100);

  // How long the Coordinator's session survives without reaching the leader.
  // In an ensemble it must be at least 20 ticks, more than a failover takes
  // (about 15 ticks), so the session survives a leader change; writes
  // submitted while no leader serves wait this long before failing with
  // ConnectionLoss.
  // Default: 10 s. Range: 100 ms to 10 min.
  absl::Duration session_timeout = absl::Seconds(10);

  // Largest data of one znode, in bytes. Default: 1 MiB. Range: 0 to 64 MiB.
  int32_t max_data_bytes = 1 << 20;

  // How often the leader looks for containers and TTL nodes to delete.
  // Default: 100 ms.
  absl::Duration cleanup_interval = absl::Milliseconds(100);

  // Log entries kept behind the applied state (for followers to catch up).
  // Default: 100000.
  int64_t log_retention = 100000;

  // Called for every session state change (connected, expired, closed), on
  // the dispatcher thread. Default: none.
  Watcher session_watcher;

  // Where log records go. Default: warnings and above to stderr.
  LogSink log_sink;

  // Digest-scheme identity ("user:base64(sha1(user:password))") that passes
  // every ACL check, as ZooKeeper's superDigest. Default: none.
  std::string super_digest;
};

}  // namespace synod

#endif  // SYNOD_OPTIONS_H_
