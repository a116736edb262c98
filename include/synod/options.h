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

// Sends the messages of the libraries synod runs on (gRPC and protobuf),
// which otherwise print to stderr, to `sink` instead; an empty `sink`
// drops them. This changes process-wide state (those libraries keep one
// handler per process), so synod never calls it on its own: a host that
// wants those messages in its sink calls it once, before it starts a
// Coordinator, and again to change the sink. Thread-safe; `sink` may be
// called from any thread and must not call back into synod or log through
// gRPC or protobuf.
void RouteLibraryLogs(LogSink sink);

// TLS for a peer's links, its client service and its ZooKeeper port, and
// for a client (docs/security.md). Either all three files are named, or
// none (plaintext).
struct TlsOptions {
  // This peer's (or client's) certificate, PEM, with any intermediates
  // after it. As a server it must name the address others dial (an IP or
  // DNS subject alternative name): clients and peers check it.
  std::string cert_file;
  // The certificate's private key, PEM, unencrypted.
  std::string key_file;
  // The certificate authorities trusted for every certificate presented to
  // this one, PEM. Connections are mutually authenticated: a peer or client
  // without a certificate this CA signed is refused in the handshake,
  // before any synod message is read.
  std::string ca_file;
  // How often the three files are read again: a changed certificate, key
  // or CA takes effect for new connections without a restart. Default:
  // 10 s. Range: 1 s to 1 h.
  absl::Duration reload_interval = absl::Seconds(10);

  // True if TLS is configured (any file named).
  bool enabled() const {
    return !cert_file.empty() || !key_file.empty() || !ca_file.empty();
  }
};

struct Options {
  // Directory of the durable state. Created if missing; refused if it holds
  // anything that is not synod's. Required.
  std::string data_dir;

  // Address this peer listens on for its ensemble and for remote clients
  // (synod-cli), "host:port". Required when `seeds` names other peers.
  // Default: empty, a one-peer ensemble that listens nowhere. A one-peer
  // Coordinator may ask for port 0: the system picks a free port, and
  // Health::listen says which.
  std::string listen;

  // Where to serve metrics and health over HTTP, "IP:port" (port 0: a free
  // one, which Health::metrics_listen says): GET /metrics in Prometheus
  // text format, GET /health 200 when this peer serves and 503 otherwise
  // (docs/metrics.md). Default: empty, not served. The same numbers are in
  // Coordinator::GetHealth() for embedders who export them their own way.
  std::string metrics_listen;

  // Where to serve ZooKeeper's client protocol, "host:port" (port 0: a
  // free one, which Health::zk_listen says): ZooKeeper 3.8's clients
  // (zkCli, the C and Java clients, Curator, kazoo) use the ensemble
  // through this peer, with sessions that resume at any peer serving it
  // (docs/wire.md). With `tls`, the port speaks mutual TLS only, with the
  // same files and rules, and a client's certificate subject is its x509
  // identity (docs/security.md). Default: empty, not served.
  std::string zk_listen;

  // The four-letter words the ZooKeeper port answers (a connection that
  // sends "ruok", "srvr", ... in place of a frame): a comma-separated list
  // of ruok, isro, srvr, stat, mntr, conf, cons and wchs, or "*" for all;
  // srvr always runs. ZooKeeper's 4lw.commands.whitelist, with its
  // default: srvr alone. Another word is refused at Start.
  std::string zk_4lw_whitelist = "srvr";

  // A backup file (`synod-cli backup`) to seed a new data directory from:
  // the tree as the backup holds it, but for sessions and their ephemeral
  // nodes, at the backup's zxid (new writes continue above it). Only a
  // data directory that holds nothing yet is seeded; a restart with the
  // same file finds it seeded already and goes on; a directory holding
  // other data is refused (FailedPrecondition). In an ensemble every
  // founding peer must be started with the same file (a peer that joins
  // later gets the tree from the ensemble, and is refused one). Default:
  // empty, no restore. docs/data-tools.md.
  std::string restore_from;

  // Contact points of the ensemble ("host:port"). When the ensemble is
  // first formed they are its founding voters, the same list (in any order)
  // at each of them, every founder's `listen` among them. A new peer whose
  // `listen` is not among them asks them to join, comes in as an observer,
  // and the autopilot may make it a voter (docs/membership.md). Once a data
  // directory belongs to an ensemble, its membership comes from its data:
  // the seeds need only name some reachable member. A one-peer ensemble
  // (seeds = {listen}) can grow the same way, unless it listens on port 0
  // (then it runs alone, as with no seeds). Default: empty, this peer
  // alone.
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

  // ---- Limits on what one request may hold. Every request accepted within
  // them can be stored, replicated and read back: the decoders of node
  // records, log entries, snapshots and peer frames accept everything these
  // allow at their largest (limits.h's ceilings). A request beyond a limit
  // gets BadArguments (InvalidAcl for an ACL) and changes nothing. The
  // leader's limits decide for the ensemble's writes.

  // Largest data of one znode, in bytes. Default: 1 MiB. Range: 0 to 64 MiB.
  int32_t max_data_bytes = 1 << 20;

  // Longest path a create accepts, in bytes (its sequence suffix included).
  // Default: 4 KiB. Range: 64 B to 32 KiB.
  int32_t max_path_bytes = 4 << 10;

  // Most entries in one ACL, after "auth" expands to one entry per identity.
  // Default: 1,024. Range: 1 to 4,096.
  int32_t max_acl_entries = 1024;

  // Longest scheme or id of one ACL entry or of one AddAuth identity, in
  // bytes. Default: 1 KiB. Range: 16 B to 64 KiB.
  int32_t max_acl_id_bytes = 1 << 10;

  // Most identities one session may hold (AddAuth calls with distinct
  // results). Default: 64. Range: 1 to max_acl_entries.
  int32_t max_auth_ids = 64;

  // Most operations in one multi. Default: 1,024. Range: 1 to 65,536.
  int32_t max_multi_ops = 1024;

  // Largest request as a whole (a multi's ops together, paths, data and
  // ACLs included), in bytes. 0: max_data_bytes + 1 MiB. Range: at least
  // max_data_bytes + 64 KiB, at most 128 MiB.
  int64_t max_request_bytes = 0;

  // ---- Remote clients (the client service at `listen`).

  // Most remote sessions open at this peer at once; one more is refused
  // with ConnectionLoss ("too many sessions"), the others unaffected.
  // Default: 1,024. Range: 1 to 65,536.
  int32_t max_client_sessions = 1024;

  // Most TCP connections this peer's port accepts at once (peers' links and
  // clients' together); further connections are closed at once.
  // Default: 2,048. Range: 16 to 65,536.
  int32_t max_connections = 2048;

  // A connection with no open stream (or that never completes its
  // handshake) for this long is closed. Half-open connections, whose other
  // end is gone without a word, are dropped by keepalive pings, whatever
  // this is: a ping every 10 s, unanswered for 10 s. Default: 60 s.
  // Range: 1 s to 1 h.
  absl::Duration connection_idle_timeout = absl::Seconds(60);

  // How often the leader looks for containers and TTL nodes to delete; the
  // first look is one interval after it began to lead (as ZooKeeper's
  // leader), also after a restart. Default: 100 ms.
  absl::Duration cleanup_interval = absl::Milliseconds(100);

  // ---- Membership (docs/membership.md). The serving leader runs an
  // autopilot: it promotes caught-up observers while the voters are fewer
  // than `voters`, and replaces a voter it has not reached for
  // `dead_voter_timeout` by a healthy observer (adding first, removing
  // after), never going below a majority of the current voters. The
  // leader's values decide.

  // How many voters the ensemble keeps, and never fewer than the seeds
  // (the voters it was formed with). Odd. Default: 3. Range: 1 to 9.
  int32_t voters = 3;

  // How long a voter may be unreachable from the leader before it is
  // replaced; a plain restart takes less and keeps its seat. Never less
  // than 20 ticks (longer than a failover), whatever this says.
  // Default: 30 s. Range: 1 s to 1 day.
  absl::Duration dead_voter_timeout = absl::Seconds(30);

  // This peer's failure domain (a rack, a zone): the autopilot promotes
  // observers in zones no voter is in first. At most 64 bytes.
  // Default: empty, none.
  std::string zone;

  // Log entries kept behind the applied state (for followers to catch up).
  // Default: 100000.
  int64_t log_retention = 100000;

  // Called for every session state change (connected, disconnected,
  // expired, closed), on the dispatcher thread. After Expired the
  // Coordinator opens a new session by itself, and Connected follows once
  // it exists (docs/sessions.md). Default: none.
  Watcher session_watcher;

  // Where log records go. Default: warnings and above to stderr.
  LogSink log_sink;

  // Digest-scheme identity ("user:base64(sha1(user:password))") that passes
  // every ACL check, as ZooKeeper's superDigest. Default: none.
  std::string super_digest;

  // TLS for every peer link, for the client service at `listen` and for
  // the ZooKeeper port at `zk_listen`, with mutual authentication
  // (TlsOptions). A peer with TLS and a peer without
  // never talk. Default: none, plaintext.
  TlsOptions tls;

  // A secret every member of the ensemble shares (16 to 4,096 bytes): a
  // peer link opens only between peers that both prove it, by an HMAC
  // challenge in the link's opening (the secret never crosses the wire), so
  // a process without it can neither join nor receive anything a member
  // sends. Works with or without `tls` (docs/security.md). Without either,
  // a peer that listens beyond loopback logs a warning at start. Default:
  // none.
  std::string ensemble_secret;
};

}  // namespace synod

#endif  // SYNOD_OPTIONS_H_
