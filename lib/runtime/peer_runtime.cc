// PeerRuntime: startup, the loop thread and the write path's entry.

#include "runtime/peer_runtime.h"

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "acl/identity.h"
#include "runtime/status_client.h"
#include "transport/grpc_server.h"
#include "transport/peer_network.h"
#include "tree/path.h"
#include "util/errors.h"
#include "storage/backup_file.h"
#include "storage/log_file.h"
#include "tree/snapshot.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/status_macros.h"
#include "zkserver/four_letter_words.h"

namespace synod {
namespace {

// The peer id of a one-peer ensemble's only peer.
constexpr zab::PeerId kSelfPeer = 1;
using SteadyClock = std::chrono::steady_clock;
// The data directory's identity (docs/membership.md, "Identity").
constexpr char kEnsembleIdMeta[] = "ensemble_id";
constexpr char kPeerIdMeta[] = "peer_id";
// How many founding voters the ensemble had (their ids are 1..n).
constexpr char kFoundersMeta[] = "founders";
// "1": this peer joined an existing ensemble (it was not a founder).
constexpr char kJoinedMeta[] = "joined";
constexpr char kRunsMeta[] = "runs";
// "ZXID CRC" of the backup this store was seeded from (Options::restore_from).
constexpr char kRestoredMeta[] = "restored";

absl::Status ClosingError() {
  return MakeError(Error::kClosing, "the Coordinator is shutting down");
}

}  // namespace

bool IsEnsemble(const Options& o) {
  if (o.seeds.empty()) return false;
  // seeds = {listen}: a one-peer ensemble that others can join, unless it
  // listens on port 0 (nobody could name it before it starts): alone.
  return !(o.seeds.size() == 1 && o.seeds[0] == o.listen &&
           absl::EndsWith(o.listen, ":0"));
}

namespace {

absl::Status ValidateOptions(const Options& o) {
  if (o.data_dir.empty()) {
    return BadArgumentsError("Options::data_dir is required");
  }
  if (o.session_timeout < absl::Milliseconds(100) ||
      o.session_timeout > absl::Minutes(10)) {
    return BadArgumentsError(
        absl::StrCat("Options::session_timeout must be within 100ms..10m, not ",
                     absl::FormatDuration(o.session_timeout)));
  }
  SYNOD_RETURN_IF_ERROR(ValidateLimits(o));
  if (o.cleanup_interval <= absl::ZeroDuration()) {
    return BadArgumentsError("Options::cleanup_interval must be positive");
  }
  if (o.log_retention < 0) {
    return BadArgumentsError("Options::log_retention must not be negative");
  }
  if (!o.super_digest.empty() &&
      o.super_digest.find(':') == std::string::npos) {
    return BadArgumentsError(
        "Options::super_digest must be user:base64(sha1(user:password))");
  }
  if (!o.ensemble_secret.empty() &&
      (o.ensemble_secret.size() < 16 || o.ensemble_secret.size() > 4096)) {
    return BadArgumentsError(absl::StrCat(
        "Options::ensemble_secret must be 16 to 4096 bytes, not ",
        o.ensemble_secret.size()));
  }
  if (o.tick < absl::Milliseconds(10) || o.tick > absl::Seconds(10)) {
    return BadArgumentsError(
        absl::StrCat("Options::tick must be within 10ms..10s, not ",
                     absl::FormatDuration(o.tick)));
  }
  if (o.voters < 1 || o.voters > 9 || o.voters % 2 == 0) {
    return BadArgumentsError(absl::StrCat(
        "Options::voters must be odd, within 1..9, not ", o.voters));
  }
  if (o.dead_voter_timeout < absl::Seconds(1) ||
      o.dead_voter_timeout > absl::Hours(24)) {
    return BadArgumentsError(absl::StrCat(
        "Options::dead_voter_timeout must be within 1s..24h, not ",
        absl::FormatDuration(o.dead_voter_timeout)));
  }
  if (o.zone.size() > zab::kMaxZoneBytes) {
    return BadArgumentsError(absl::StrCat("Options::zone is longer than ",
                                          zab::kMaxZoneBytes, " bytes"));
  }
  if (o.max_client_sessions < 1 || o.max_client_sessions > 65536) {
    return BadArgumentsError(absl::StrCat(
        "Options::max_client_sessions must be within 1..65536, not ",
        o.max_client_sessions));
  }
  if (o.max_connections < 16 || o.max_connections > 65536) {
    return BadArgumentsError(
        absl::StrCat("Options::max_connections must be within 16..65536, not ",
                     o.max_connections));
  }
  if (o.connection_idle_timeout < absl::Seconds(1) ||
      o.connection_idle_timeout > absl::Hours(1)) {
    return BadArgumentsError(absl::StrCat(
        "Options::connection_idle_timeout must be within 1s..1h, not ",
        absl::FormatDuration(o.connection_idle_timeout)));
  }
  // `min_port` 0 admits port 0 (the system picks one).
  auto valid_address = [](const std::string& a, int min_port = 1) {
    const size_t colon = a.rfind(':');
    int port = 0;
    return colon != std::string::npos && colon > 0 &&
           absl::SimpleAtoi(a.substr(colon + 1), &port) && port >= min_port &&
           port < 65536;
  };
  if (!o.zk_listen.empty() && !valid_address(o.zk_listen, 0)) {
    return BadArgumentsError(absl::StrCat(
        "Options::zk_listen must be host:port, not '", o.zk_listen, "'"));
  }
  if (absl::StatusOr<zkserver::WordWhitelist> words =
          zkserver::WordWhitelist::Parse(o.zk_4lw_whitelist);
      !words.ok()) {
    return BadArgumentsError(absl::StrCat("Options::zk_4lw_whitelist: ",
                                          words.status().message()));
  }
  if (!o.metrics_listen.empty() && !valid_address(o.metrics_listen, 0)) {
    return BadArgumentsError(absl::StrCat(
        "Options::metrics_listen must be IP:port, not '", o.metrics_listen,
        "'"));
  }
  // Port 0 only alone: peers must know each other's addresses beforehand.
  if (!o.listen.empty() && !valid_address(o.listen, IsEnsemble(o) ? 1 : 0)) {
    return BadArgumentsError(
        absl::StrCat("Options::listen must be host:port",
                     IsEnsemble(o) ? " (port > 0 in an ensemble)" : "",
                     ", not '", o.listen, "'"));
  }
  for (const std::string& seed : o.seeds) {
    // Alone, the seeds may name our own listen address, port 0 included.
    if (!valid_address(seed, seed == o.listen && !IsEnsemble(o) ? 0 : 1)) {
      return BadArgumentsError(
          absl::StrCat("Options::seeds must be host:port, not '", seed, "'"));
    }
  }
  if (IsEnsemble(o) && o.listen.empty()) {
    return BadArgumentsError(
        "Options::listen is required when Options::seeds names other peers");
  }
  if (IsEnsemble(o) && o.session_timeout < 20 * o.tick) {
    // A failover takes about 15 ticks; a session must outlive it.
    return BadArgumentsError(absl::StrCat(
        "Options::session_timeout must be at least 20 ticks (",
        absl::FormatDuration(20 * o.tick), ") in an ensemble, not ",
        absl::FormatDuration(o.session_timeout)));
  }
  return absl::OkStatus();
}

}  // namespace

// ---- The clock and the outbox the server sees -------------------------------

class PeerRuntime::SystemClock : public server::Clock {
 public:
  int64_t WallMs() const override { return absl::ToUnixMillis(absl::Now()); }
  int64_t SteadyMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               SteadyClock::now().time_since_epoch())
        .count();
  }
  int64_t SteadyUs() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               SteadyClock::now().time_since_epoch())
        .count();
  }
};

// While the loop thread is busy with one long step (encoding or installing
// a snapshot), sends `to` a heartbeat every tick from a thread of its own,
// so they do not give up on this peer. The pings carry zxid 0: they claim
// nothing (a learner checks a leader's ping zxid against its log; 0 never
// fails that check) and may overtake messages the loop still holds, so
// only liveness is affected, never the protocol's state.
class PeerRuntime::StallPings : public server::KeepAlive {
 public:
  StallPings(PeerRuntime* impl, std::vector<zab::PeerId> to)
      : impl_(impl), to_(std::move(to)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~StallPings() override {
    {
      MutexLock lock(&mu_);
      done_ = true;
    }
    thread_.join();
  }

 private:
  void Run() {
    MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return done_;
    }, impl_->options_.tick)) {
      for (zab::PeerId id : to_) {
        zab::Message ping;
        ping.type = zab::MessageType::kPing;
        ping.from = impl_->self_id_;
        ping.to = id;
        ping.zxid = 0;
        impl_->network_->Send(std::move(ping));
      }
    }
  }

  PeerRuntime* const impl_;
  const std::vector<zab::PeerId> to_;
  Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

class PeerRuntime::RuntimeOutbox : public server::Outbox {
 public:
  explicit RuntimeOutbox(PeerRuntime* impl) : impl_(impl) {}
  void Send(zab::Message&& message) override {
    if (impl_->network_) impl_->network_->Send(std::move(message));
  }
  void SendTouch(zab::PeerId leader, std::vector<int64_t>&& sessions,
                 int64_t sent_ms) override {
    if (impl_->network_) {
      impl_->network_->SendTouch(leader, std::move(sessions), sent_ms);
    }
  }
  void SendTouchAck(zab::PeerId learner, int64_t sent_ms,
                    std::vector<int64_t>&& untracked) override {
    if (impl_->network_) {
      impl_->network_->SendTouchAck(learner, sent_ms, std::move(untracked));
    }
  }
  void WriteLog(std::vector<LogEntry>* entries, StateBatch* state, Zxid applied,
                Zxid trim_through) override {
    impl_->log_writer_->Submit(entries, state, applied, trim_through);
  }
  void Post(std::vector<std::function<void()>>* tasks) override {
    impl_->dispatcher_->PostAll(tasks);
  }
  std::unique_ptr<server::KeepAlive> KeepAliveWhile(
      std::vector<zab::PeerId> peers) override {
    if (!impl_->network_ || peers.empty()) return nullptr;
    return std::make_unique<StallPings>(impl_, std::move(peers));
  }

 private:
  PeerRuntime* const impl_;
};

// ---- Startup and shutdown ---------------------------------------------------

Options PeerRuntime::WithSessionListeners(Options options,
                                          PeerRuntime* runtime) {
  options.session_watcher = [user = std::move(options.session_watcher),
                             runtime](const WatchEvent& event) {
    if (user) user(event);
    runtime->NotifySessionListeners(event);
  };
  return options;
}

void PeerRuntime::NotifySessionListeners(const WatchEvent& event) {
  std::vector<std::shared_ptr<const Watcher>> listeners;
  {
    MutexLock lock(&listeners_mu_);
    listeners.reserve(listeners_.size());
    for (const auto& [handle, listener] : listeners_) {
      listeners.push_back(listener);
    }
  }
  for (const auto& listener : listeners) (*listener)(event);
}

int64_t PeerRuntime::AddSessionListener(Watcher listener) {
  MutexLock lock(&listeners_mu_);
  const int64_t handle = next_listener_++;
  if (listener) {
    listeners_.emplace(handle,
                       std::make_shared<const Watcher>(std::move(listener)));
  }
  return handle;
}

void PeerRuntime::RemoveSessionListener(int64_t handle) {
  MutexLock lock(&listeners_mu_);
  listeners_.erase(handle);
}

PeerRuntime::PeerRuntime(Options options)
    : options_(WithSessionListeners(std::move(options), this)),
      ensemble_(IsEnsemble(options_)),
      system_auth_([] {
        auto a = std::make_shared<AuthInfo>();
        a->super = true;
        return a;
      }()),
      clock_(std::make_unique<SystemClock>()),
      outbox_(std::make_unique<RuntimeOutbox>(this)) {}

absl::Status PeerRuntime::Init() {
  SYNOD_RETURN_IF_ERROR(ValidateOptions(options_));
  SYNOD_ASSIGN_OR_RETURN(credentials_,
                         transport::TransportCredentials::Make(options_.tls));
  absl::StatusOr<std::unique_ptr<DataDirLock>> lock =
      DataDirLock::Acquire(options_.data_dir);
  if (!lock.ok()) return StorageError(lock.status());
  dir_lock_ = std::move(*lock);
  StoreOptions store_options;
  store_options.env = storage_env_;
  // In an ensemble a damaged log is survivable: the peer comes back as one
  // that lost part of its log (the server marks it recovering). Alone,
  // nobody else holds what was lost: Open refuses with DataLoss.
  store_options.allow_log_damage = ensemble_;
  store_options.warn = [this](const std::string& m) {
    Log(options_, LogLevel::kWarning, m);
  };
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(options_.data_dir, store_options);
  if (!store.ok()) return StorageError(store.status());
  store_ = std::move(*store);
  {
    auto info = std::make_shared<AuthInfo>();
    info->ip = "127.0.0.1";
    // With a certificate, the Coordinator's own session holds its subject
    // as its x509 identity, as a remote client presenting it would (the
    // subject read at start: a rotated certificate's takes a restart).
    if (credentials_->tls()) {
      SYNOD_ASSIGN_OR_RETURN(std::string subject,
                             transport::CertificateSubject(options_.tls.cert_file));
      // A certificate with an empty subject names nobody (as for clients).
      if (!subject.empty()) {
        SYNOD_RETURN_IF_ERROR(AddIdentity(
            options_, AuthId{"x509", std::move(subject)}, info.get()));
      }
    }
    replica_.watches.SetOwnerAuth(kLocalOwner, info);
    MutexLock lock(&auth_mu_);
    auth_ = std::move(info);
  }
  dispatcher_ = std::make_unique<Dispatcher>();
  SYNOD_RETURN_IF_ERROR(ensemble_ ? InitEnsemble() : InitAlone());
  if (!options_.metrics_listen.empty()) {
    SYNOD_ASSIGN_OR_RETURN(
        metrics_, MetricsServer::Start(options_.metrics_listen,
                                       [this] { return GetHealth(); }));
    MutexLock lock(&metrics_mu_);
    metrics_address_ = metrics_->address();
  }
  if (!options_.zk_listen.empty()) {
    SYNOD_ASSIGN_OR_RETURN(zk_, zkserver::ZkServer::Start(this, options_));
    MutexLock lock(&metrics_mu_);
    zk_address_ = zk_->address();
  }
  return absl::OkStatus();
}

absl::Status PeerRuntime::StartServerCore(server::ServerConfig config) {
  config.options = options_;
  config.ensemble = ensemble_;
  server_ = std::make_unique<server::Server>(std::move(config), store_.get(),
                                             &replica_, outbox_.get(),
                                             clock_.get(), &published_);
  SYNOD_RETURN_IF_ERROR(server_->Recover());
  log_writer_ = std::make_unique<LogWriter>(
      store_.get(), [this](Zxid durable, absl::Status status) {
        MutexLock lock(&inbox_mu_);
        log_round_done_ = true;
        round_durable_ = std::max(round_durable_, durable);
        if (!status.ok() && round_status_.ok()) round_status_ = status;
      },
      &published_.fsync_latency);
  return absl::OkStatus();
}

// The restore runs before the server recovers: the server then finds a
// store whose applied state is the backup's tree at its zxid, with the
// epochs at that zxid's, so the first leader's epoch is above it.
absl::Status PeerRuntime::RestoreIfAsked(bool joining) {
  if (options_.restore_from.empty()) return absl::OkStatus();
  if (joining) {
    return absl::FailedPreconditionError(
        "a peer that joins an ensemble gets its tree from it: restore "
        "seeds the founding peers only");
  }
  absl::StatusOr<Backup> backup = ReadBackupFile(options_.restore_from);
  if (!backup.ok()) {
    return MakeError(ErrorOf(backup.status()),
                     absl::StrCat("cannot restore from ", options_.restore_from,
                                  ": ", backup.status().message()));
  }
  const std::string marker = absl::StrCat(
      backup->zxid, " ", Crc32c(backup->snapshot.data(), backup->snapshot.size()));
  if (store_->applied_zxid() != 0 || store_->last_logged_zxid() != 0) {
    absl::StatusOr<std::string> done = store_->GetMeta(kRestoredMeta);
    if (done.ok() && *done == marker) return absl::OkStatus();  // a restart
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot restore from ", options_.restore_from, ": data directory ",
        options_.data_dir, " holds data already (a restore seeds a new one)"));
  }
  DataTree tree;
  if (absl::Status s = LoadSnapshot(
          backup->snapshot, &tree, [](std::string_view, std::string_view) {},
          [](int64_t, std::string_view) {});
      !s.ok()) {
    return MakeError(ErrorOf(s), absl::StrCat("cannot restore from ",
                                              options_.restore_from, ": ",
                                              s.message()));
  }
  // Sessions do not survive: neither do their ephemerals (no session
  // would ever close them).
  StateBatch batch;
  int64_t nodes = 0;
  tree.ForEachNode([&](const std::string& path, const Znode& node) {
    if (node.stat.ephemeral_owner != 0 && IsEphemeral(node.mode)) return;
    batch.PutNode(path, tree.EncodeNode(path));
    ++nodes;
  });
  batch.SetNodeCount(nodes);
  batch.PutMeta(kRestoredMeta, marker);
  const int64_t epoch = EpochOf(backup->zxid);
  SYNOD_RETURN_IF_ERROR(store_->SetAcceptedEpoch(epoch));
  SYNOD_RETURN_IF_ERROR(store_->SetCurrentEpoch(epoch));
  SYNOD_RETURN_IF_ERROR(store_->ReplaceState(&batch, backup->zxid));
  Log(options_, LogLevel::kInfo,
      absl::StrCat("restored ", nodes, " nodes at ",
                   zab::ZxidString(backup->zxid), " from ",
                   options_.restore_from));
  return absl::OkStatus();
}

absl::Status PeerRuntime::InitAlone() {
  // The peer elects itself, moves to a new epoch above every one it has
  // seen, and commits the tail: that is the replay. Carried out here,
  // before the loop thread starts.
  SYNOD_RETURN_IF_ERROR(RestoreIfAsked(/*joining=*/false));
  server::ServerConfig config;
  config.core.self = kSelfPeer;
  config.core.voters = {kSelfPeer};
  SYNOD_RETURN_IF_ERROR(StartServerCore(std::move(config)));
  SYNOD_RETURN_IF_ERROR(RunRounds(
      [this] { return server_->established() || !server_->failed().ok(); },
      /*max_rounds=*/64));
  SYNOD_RETURN_IF_ERROR(server_->failed());
  // Listening first: a peer that cannot listen opens no session (its
  // watcher hears nothing but Closed).
  if (!options_.listen.empty()) SYNOD_RETURN_IF_ERROR(StartListening());
  // The server creates our session (and closes the one of our previous
  // run) once it serves: alone, at its first rounds.
  SYNOD_RETURN_IF_ERROR(RunRounds(
      [this] {
        return published_.connected.load() || !server_->failed().ok();
      },
      /*max_rounds=*/10000));
  SYNOD_RETURN_IF_ERROR(server_->failed());
  loop_ = std::thread([this] { RunRounds(nullptr, 0).IgnoreError(); });
  return absl::OkStatus();
}

absl::Status PeerRuntime::InitEnsemble() {
  // Which ensemble this data directory belongs to, and which peer of it:
  // fixed the first time it starts (docs/membership.md, "Identity"). From
  // then on the seeds are only contact points.
  SYNOD_ASSIGN_OR_RETURN(Identity identity, LoadOrCreateIdentity());
  ensemble_id_ = identity.ensemble_id;
  self_id_ = identity.self;
  absl::StatusOr<std::string> joined = store_->GetMeta(kJoinedMeta);
  SYNOD_RETURN_IF_ERROR(RestoreIfAsked(identity.reported.has_value() ||
                                       (joined.ok() && *joined == "1")));
  // Request numbers never repeat across restarts (the run number, kept in
  // the store, is their top bits): an entry of an earlier run can never
  // complete a request of this one.
  uint64_t runs = 0;
  if (absl::StatusOr<std::string> v = store_->GetMeta(kRunsMeta); v.ok()) {
    if (!absl::SimpleAtoi(*v, &runs)) runs = 0;
  }
  ++runs;
  SYNOD_RETURN_IF_ERROR(store_->PutMeta(kRunsMeta, std::to_string(runs), true));

  server::ServerConfig config;
  config.first_request = (runs << 40) + 1;
  config.core.self = self_id_;
  config.core.voters = identity.founding_voters;
  config.core.address = options_.listen;
  config.core.zone = options_.zone;
  config.reported = identity.reported;
  config.core.ping_ticks = 2;
  config.core.leader_timeout = 10;
  config.core.follower_timeout = 10;
  config.core.sync_timeout = 100;
  config.core.snapshot_chunk_bytes = size_t{1} << 20;
  SYNOD_RETURN_IF_ERROR(StartServerCore(std::move(config)));

  transport::PeerNetworkConfig net;
  net.self = self_id_;
  net.listen = options_.listen;
  net.ensemble_id = ensemble_id_;
  net.credentials = credentials_;
  net.secret = options_.ensemble_secret;
  net.addresses = Addresses(server_->configuration());
  addresses_version_ = server_->configuration().version;
  net.log = [this](LogLevel level, std::string_view message) {
    Log(options_, level, message);
  };
  transport::PeerNetworkHandler handler;
  handler.on_message = [this](zab::Message&& m) {
    if (m.type == zab::MessageType::kNotification && !m.data.empty()) {
      // A decided peer says where its leader listens (zab/message.h).
      network_->LearnAddress(m.vote.leader, m.data);
    }
    MutexLock lock(&inbox_mu_);
    peer_inbox_.push_back(std::move(m));
  };
  handler.on_touch = [this](zab::PeerId from, std::vector<int64_t>&& sessions,
                            int64_t sent_ms) {
    MutexLock lock(&inbox_mu_);
    touches_.push_back(server::TouchIn{from, sent_ms, std::move(sessions)});
  };
  handler.on_touch_ack = [this](zab::PeerId from, int64_t sent_ms,
                                std::vector<int64_t>&& untracked) {
    MutexLock lock(&inbox_mu_);
    touch_acks_.push_back(server::TouchAckIn{from, sent_ms, std::move(untracked)});
  };
  network_ = std::make_unique<transport::PeerNetwork>(net, std::move(handler));
  SYNOD_RETURN_IF_ERROR(StartListening());
  Log(options_, LogLevel::kInfo,
      absl::StrCat("peer ", self_id_, " of ensemble ", ensemble_id_,
                   identity.reported ? " (joining)" : "", " listening on ",
                   options_.listen, "; configuration ",
                   zab::DescribeConfig(server_->configuration())));
  loop_ = std::thread([this] { RunRounds(nullptr, 0).IgnoreError(); });
  return absl::OkStatus();
}

absl::StatusOr<PeerRuntime::Identity> PeerRuntime::LoadOrCreateIdentity() {
  Identity id;
  std::vector<std::string> seeds = options_.seeds;
  std::sort(seeds.begin(), seeds.end());
  seeds.erase(std::unique(seeds.begin(), seeds.end()), seeds.end());
  absl::StatusOr<std::string> ensemble = store_->GetMeta(kEnsembleIdMeta);
  if (ensemble.ok()) {
    // A data directory of an ensemble: its identity is what it says.
    id.ensemble_id = *ensemble;
    absl::StatusOr<std::string> self = store_->GetMeta(kPeerIdMeta);
    absl::StatusOr<std::string> founders = store_->GetMeta(kFoundersMeta);
    uint64_t n = 0;
    if (!self.ok() || !absl::SimpleAtoi(*self, &id.self) || id.self == 0 ||
        !founders.ok() || !absl::SimpleAtoi(*founders, &n) || n == 0 ||
        n > zab::kMaxMembers) {
      return MakeError(Error::kDataInconsistency,
                       absl::StrCat(options_.data_dir,
                                    " names ensemble ", id.ensemble_id,
                                    " but not which peer of it this is"));
    }
    for (uint64_t i = 1; i <= n; ++i) id.founding_voters.push_back(i);
    if (absl::StatusOr<std::string> left = store_->GetMeta(server::kLeftMeta);
        left.ok() && *left == "1") {
      return MakeError(
          Error::kBadArguments,
          absl::StrCat(options_.data_dir, " belonged to peer ", id.self,
                       " of ensemble ", id.ensemble_id,
                       ", which left it: start with an empty data directory "
                       "to join again"));
    }
    absl::StatusOr<std::string> joined = store_->GetMeta(kJoinedMeta);
    const bool empty = store_->applied_zxid() == 0 && (store_->last_logged_zxid() == 0);
    if (joined.ok() && *joined == "1" && empty) {
      // It joined and has received nothing yet: ask again what the
      // configuration is (the SNAP it waits for brings the real one).
      SYNOD_ASSIGN_OR_RETURN(EnsembleReport report, AskSeeds(seeds, JoinTimeout(), *credentials_));
      if (report.ensemble_id != id.ensemble_id) {
        return EnsembleMismatch(report, id.ensemble_id);
      }
      id.reported = std::move(report.config);
    }
    // Seeds of another ensemble: a data directory started in the wrong
    // place (or a reused address). Said now, rather than as refused links.
    if (absl::Status s = CheckSeedsAgree(seeds, options_.listen,
                                         id.ensemble_id, absl::Seconds(2),
                                         *credentials_);
        !s.ok()) {
      return MakeError(Error::kBadArguments,
                       absl::StrCat(options_.data_dir, ": ", s.message()));
    }
    return id;
  }
  if (!absl::IsNotFound(ensemble.status())) return StorageError(ensemble.status());
  if (store_->applied_zxid() != 0 || !(store_->last_logged_zxid() == 0)) {
    return MakeError(Error::kDataInconsistency,
                     absl::StrCat(options_.data_dir,
                                  " holds data but names no ensemble"));
  }
  auto self = std::find(seeds.begin(), seeds.end(), options_.listen);
  if (self != seeds.end()) {
    // A founder: the seeds are the first voters, 1..n in sorted order, and
    // every founder derives the same identity and configuration from them.
    id.ensemble_id = transport::EnsembleId(seeds);
    id.self = static_cast<zab::PeerId>(self - seeds.begin()) + 1;
    zab::Config founding;
    for (size_t i = 0; i < seeds.size(); ++i) {
      id.founding_voters.push_back(i + 1);
      founding.voters.push_back(zab::Member{i + 1, seeds[i]});
    }
    SYNOD_RETURN_IF_ERROR(StorageError(store_->PutMeta(
        server::kConfigMeta, zab::EncodeConfig(founding), false)));
  } else {
    // A new peer: the seeds say which ensemble it joins. Its id is random
    // (top bit set: never a founder's), so a moved peer keeps it and a
    // replaced one never reuses it.
    SYNOD_ASSIGN_OR_RETURN(EnsembleReport report, AskSeeds(seeds, JoinTimeout(), *credentials_));
    id.ensemble_id = report.ensemble_id;
    id.founding_voters = report.config.VoterIds();
    std::random_device random;
    do {
      id.self = (uint64_t{random()} << 32 | random()) | (uint64_t{1} << 63);
    } while (report.config.Find(id.self) != nullptr);
    Log(options_, LogLevel::kInfo,
        absl::StrCat("joining ensemble ", id.ensemble_id, " as peer ", id.self,
                     " (", report.reported_by, " reported ",
                     zab::DescribeConfig(report.config), ")"));
    id.reported = std::move(report.config);
    SYNOD_RETURN_IF_ERROR(
        StorageError(store_->PutMeta(kJoinedMeta, "1", false)));
  }
  SYNOD_RETURN_IF_ERROR(StorageError(store_->PutMeta(
      kFoundersMeta, std::to_string(id.founding_voters.size()), false)));
  SYNOD_RETURN_IF_ERROR(StorageError(
      store_->PutMeta(kPeerIdMeta, std::to_string(id.self), false)));
  // Last, and durable: the identity is whole once this is.
  SYNOD_RETURN_IF_ERROR(
      StorageError(store_->PutMeta(kEnsembleIdMeta, id.ensemble_id, true)));
  return id;
}

absl::Duration PeerRuntime::JoinTimeout() const {
  return std::max(absl::Seconds(10), options_.session_timeout);
}

absl::Status PeerRuntime::EnsembleMismatch(const EnsembleReport& report,
                                           const std::string& ours) const {
  return MakeError(
      Error::kBadArguments,
      absl::StrCat(options_.data_dir, " belongs to ensemble ", ours,
                   ", but seed ", report.reported_by, " is in ensemble ",
                   report.ensemble_id));
}

std::map<zab::PeerId, std::string> PeerRuntime::Addresses(
    const zab::Config& config) {
  std::map<zab::PeerId, std::string> out;
  for (const auto* list : {&config.voters, &config.observers}) {
    for (const zab::Member& m : *list) out[m.id] = m.address;
  }
  return out;
}

PeerRuntime::~PeerRuntime() {
  // No scrape runs once the rest begins to stop.
  metrics_.reset();
  // ZooKeeper clients' connections close; their sessions stay open for
  // their timeouts, for them to resume at another peer.
  if (zk_) zk_->Stop();
  if (loop_.joinable()) {
    // Remote clients' streams end first, while their sessions can still be
    // closed (their ephemerals go now, not at expiry).
    if (grpc_) grpc_->StopClients();
    // The loop closes our session if it is connected; in an ensemble
    // without a leader it cannot be closed and expires instead.
    {
      Mutex mu;
      bool done = false;
      WriteOutcome o;
      server::Pending close;
      close.request.mutable_close_session();
      close.session = kOwnSession;
      close.auth = auth();
      close.close_own = true;
      close.done = [&](WriteOutcome&& outcome) {
        MutexLock lock(&mu);
        o = std::move(outcome);
        done = true;
      };
      {
        MutexLock lock(&inbox_mu_);
        published_.pending_writes.fetch_add(1, std::memory_order_relaxed);
        inbox_.push_back(std::move(close));
      }
      MutexLock lock(&mu);
      mu.Await([&done] { return done; });
      if (!o.status.ok() && ErrorOf(o.status) != Error::kClosing) {
        Log(options_, LogLevel::kWarning,
            absl::StrCat("closing the session failed: ", o.status.ToString()));
      }
    }
    {
      MutexLock lock(&inbox_mu_);
      stopping_ = true;
    }
    loop_.join();
  } else if (server_) {
    // Init failed: what was submitted meanwhile fails.
    std::vector<server::Pending> rest;
    {
      MutexLock lock(&inbox_mu_);
      rest.swap(inbox_);
    }
    server_->FailAll(ClosingError(), &rest);
  }
  StopEnsembleServices();
  log_writer_.reset();  // finishes its last write
  // The loop has ended: the session state is this thread's now.
  if (server_) {
    server_->own_session()->Closed();
    server_->NoteOwnSession();
  }
  // Runs everything queued, and what those tasks post, before any member
  // they may call goes.
  if (dispatcher_) dispatcher_->Stop();
  server_.reset();
  store_.reset();
}

// ---- The loop ---------------------------------------------------------------

absl::Status PeerRuntime::RunRounds(const std::function<bool()>& until,
                                     int max_rounds) {
  server::Inputs in;
  for (int round = 0; !until || round < max_rounds; ++round) {
    {
      MutexLock lock(&inbox_mu_);
      // Stopping, the loop still waits for the log writer's last round.
      const bool busy = server_->log_busy();
      auto ready = [this, busy]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(inbox_mu_) {
        return !inbox_.empty() || !peer_inbox_.empty() || log_round_done_ ||
               (stopping_ && !busy);
      };
      if (stopping_) {
        inbox_mu_.Await(ready);
      } else {
        const int64_t wait = server_->next_timer_ms() - clock_->SteadyMs();
        inbox_mu_.AwaitWithTimeout(
            ready, absl::Milliseconds(std::max<int64_t>(wait, 0)));
      }
      in.requests.swap(inbox_);
      in.messages.swap(peer_inbox_);
      in.touches.swap(touches_);
      in.touch_acks.swap(touch_acks_);
      in.hosted.swap(hosted_);
      in.log_round = std::exchange(log_round_done_, false);
      in.durable = std::exchange(round_durable_, 0);
      in.log_status = std::exchange(round_status_, absl::OkStatus());
      in.stopping = stopping_;
      in.joining = std::exchange(joining_, std::nullopt);
    }
    server_->Round(&in);
    if (network_ && server_->configuration().version != addresses_version_) {
      // A configuration change: links follow the members' addresses.
      addresses_version_ = server_->configuration().version;
      network_->SetAddresses(Addresses(server_->configuration()));
    }
    if (until) {
      if (until()) return absl::OkStatus();
      continue;
    }
    if (server_->Drained()) {
      MutexLock lock(&inbox_mu_);
      if (inbox_.empty()) break;
    }
  }
  if (until) {
    return MakeError(Error::kSystemError,
                     absl::StrCat("the server did not get ready in ",
                                  max_rounds, " rounds"));
  }
  // Requests that raced with the stop.
  std::vector<server::Pending> rest;
  {
    MutexLock lock(&inbox_mu_);
    rest.swap(inbox_);
  }
  server_->FailAll(ClosingError(), &rest);
  return absl::OkStatus();
}

// ---- Writes -------------------------------------------------------------

void PeerRuntime::Submit(txn::Request request, Done done) {
  SubmitAs(kOwnSession, auth(), std::move(request), std::move(done));
}

void PeerRuntime::SubmitAs(int64_t session,
                                 std::shared_ptr<const AuthInfo> auth,
                                 txn::Request request, Done done) {
  published_.writes.fetch_add(1, std::memory_order_relaxed);
  {
    MutexLock lock(&inbox_mu_);
    if (!stopping_) {
      published_.pending_writes.fetch_add(1, std::memory_order_relaxed);
      inbox_.push_back(server::Pending{std::move(request), session,
                                       std::move(auth), std::move(done)});
      inbox_.back().submitted_us = clock_->SteadyUs();
      return;
    }
  }
  published_.write_errors.fetch_add(1, std::memory_order_relaxed);
  WriteOutcome o;
  o.status = ClosingError();
  done(std::move(o));
}

WriteOutcome PeerRuntime::SubmitAndWait(txn::Request request) {
  Mutex mu;
  bool done = false;
  WriteOutcome outcome;
  Submit(std::move(request), [&](WriteOutcome&& o) {
    MutexLock lock(&mu);
    outcome = std::move(o);
    done = true;
  });
  MutexLock lock(&mu);
  mu.Await([&done] { return done; });
  return outcome;
}

// ---- Listening, and what the client service and tools ask -------------------

absl::Status PeerRuntime::StartListening() {
  grpc_ = std::make_unique<transport::GrpcServer>(options_, this,
                                                  network_.get(), credentials_);
  absl::Status started = grpc_->Start();
  if (!started.ok()) {
    StopEnsembleServices();
    return started;
  }
  bound_port_ = grpc_->port();
  if (!credentials_->tls() && options_.ensemble_secret.empty() &&
      !transport::IsLoopbackAddress(options_.listen)) {
    Log(options_, LogLevel::kWarning,
        absl::StrCat("listening on ", options_.listen,
                     " without TLS or an ensemble secret: any process that "
                     "can reach it can join the ensemble and read what its "
                     "members send (set Options::tls or "
                     "Options::ensemble_secret; docs/security.md)"));
  }
  return absl::OkStatus();
}

std::string PeerRuntime::ListenAddress() const {
  const int port = bound_port_.load();
  if (options_.listen.empty() || port == 0) return options_.listen;
  return absl::StrCat(options_.listen.substr(0, options_.listen.rfind(':') + 1),
                      port);
}

void PeerRuntime::StopEnsembleServices() {
  if (grpc_) grpc_->StopClients();
  if (network_) network_->Shutdown();
  if (grpc_) grpc_->Shutdown();
}

bool PeerRuntime::SessionLeaseValid() const {
  return clock_->SteadyMs() < published_.session_lease_until_ms.load();
}

absl::Status PeerRuntime::WaitConnected(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (published_.connected.load()) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      return MakeError(Error::kConnectionLoss,
                       absl::StrCat("not connected within ",
                                    absl::FormatDuration(timeout)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void PeerRuntime::AddHostedSession(int64_t id) {
  remote_sessions_.fetch_add(1, std::memory_order_relaxed);
  MutexLock lock(&inbox_mu_);
  hosted_.emplace_back(id, true);
}

void PeerRuntime::RemoveHostedSession(int64_t id) {
  remote_sessions_.fetch_sub(1, std::memory_order_relaxed);
  MutexLock lock(&inbox_mu_);
  hosted_.emplace_back(id, false);
}

PeerRuntime::PeerStatus PeerRuntime::GetPeerStatus() const {
  PeerStatus s;
  s.role = GetHealth().role;
  s.epoch = published_.epoch.load();
  s.last_zxid = published_.last_applied.load();
  s.peer_id = self_id_;
  s.leader_id = ensemble_ ? published_.leader_id.load() : self_id_;
  if (network_ && s.leader_id != 0) {
    s.leader = s.leader_id == self_id_ ? options_.listen
                                       : network_->AddressOf(s.leader_id);
  } else if (!ensemble_) {
    s.leader = ListenAddress();
  }
  if (!ensemble_) {
    s.peers = {ListenAddress()};
    return s;
  }
  const Health h = GetHealth();
  for (const EnsembleMember& m : h.voters) s.peers.push_back(m.address);
  s.voters = h.voters;
  s.observers = h.observers;
  s.config_version = h.config_version;
  s.ensemble_id = ensemble_id_;
  {
    MutexLock lock(&published_.config_mu);
    s.config = zab::EncodeConfig(published_.config);
  }
  return s;
}

}  // namespace synod
