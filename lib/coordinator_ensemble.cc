// Coordinator::Impl in an ensemble: membership from the seeds, the peer
// network and server, routing writes (prepared here when leading, forwarded
// when following, parked while no leader serves), the zab work that is not
// group-committed (epochs, truncation, snapshots), and sessions: ours and
// the hosted ones kept alive by touches to the leader, which expires the
// silent ones.

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "coordinator_impl.h"
#include "transport/grpc_server.h"
#include "transport/peer_network.h"
#include "tree/snapshot.h"
#include "util/errors.h"
#include "util/log.h"
#include "util/status_macros.h"

namespace synod {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr char kSeedsMeta[] = "ensemble_seeds";
constexpr char kPeerIdMeta[] = "peer_id";
constexpr char kRunsMeta[] = "runs";

absl::Status ConnectionLoss(std::string_view why) {
  return MakeError(Error::kConnectionLoss, why);
}

}  // namespace

// While the loop thread is busy with one long step (encoding or installing
// a snapshot), sends `to` a heartbeat every tick from a thread of its own,
// so they do not give up on this peer. The pings carry zxid 0: they claim
// nothing (a learner checks a leader's ping zxid against its log; 0 never
// fails that check) and may overtake messages the loop still holds, so
// only liveness is affected, never the protocol's state.
class Coordinator::Impl::StallPings {
 public:
  StallPings(Impl* impl, std::vector<zab::PeerId> to)
      : impl_(impl), to_(std::move(to)) {
    if (impl_->network_ && !to_.empty()) thread_ = std::thread([this] { Run(); });
  }
  ~StallPings() {
    {
      MutexLock lock(&mu_);
      done_ = true;
    }
    if (thread_.joinable()) thread_.join();
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

  Impl* const impl_;
  const std::vector<zab::PeerId> to_;
  Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// The applied tree as the core's SnapshotSource. Called from Step on the
// loop thread (the tree's only writer), so the tree cannot move under it;
// the shared lock is for the readers' sake only.
class Coordinator::Impl::TreeSnapshots : public zab::SnapshotSource {
 public:
  explicit TreeSnapshots(Impl* impl) : impl_(impl) {}
  std::pair<Zxid, std::string> Snapshot() const override {
    const absl::Time start = absl::Now();
    std::pair<Zxid, std::string> out;
    // About a second per million znodes on the loop thread: the voters
    // must not give up on their leader meanwhile.
    std::vector<zab::PeerId> voters;
    for (zab::PeerId id = 1; id <= impl_->seeds_.size(); ++id) {
      if (id != impl_->self_id_) voters.push_back(id);
    }
    StallPings pings(impl_, std::move(voters));
    {
      ReaderLock lock(&impl_->tree_mu_);
      out = {impl_->tree_.last_zxid(), EncodeSnapshot(impl_->tree_)};
    }
    Log(impl_->options_, LogLevel::kInfo,
        absl::StrCat("peer ", impl_->self_id_, ": encoded a snapshot at ",
                     zab::ZxidString(out.first), " (", out.second.size(),
                     " bytes) in ", absl::FormatDuration(absl::Now() - start)));
    return out;
  }

 private:
  Impl* const impl_;
};

// Constructed and destroyed here, where the ensemble's types are complete.
Coordinator::Impl::Impl(Options options) : options_(std::move(options)) {}

Coordinator::Impl::~Impl() {
  if (loop_.joinable()) {
    // Remote clients' streams end first, while their sessions can still be
    // closed (their ephemerals go now, not at expiry).
    if (server_) server_->StopClients();
    // The loop closes our session if it is connected; in an ensemble
    // without a leader it cannot be closed and expires instead.
    {
      Mutex mu;
      bool done = false;
      WriteOutcome o;
      Pending close;
      close.request.mutable_close_session();
      close.session = kOwnSession;
      close.auth = system_auth_;
      close.close_own = true;
      close.done = [&](WriteOutcome&& outcome) {
        MutexLock lock(&mu);
        o = std::move(outcome);
        done = true;
      };
      {
        MutexLock lock(&inbox_mu_);
        pending_writes_.fetch_add(1, std::memory_order_relaxed);
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
  }
  StopEnsembleServices();
  log_writer_.reset();  // finishes its last write
  // The loop has ended: own_ is this thread's now.
  own_.Closed();
  if (dispatcher_) NoteOwnSession();
  // Runs everything queued, and what those tasks post, before any member
  // they may call goes.
  if (dispatcher_) dispatcher_->Stop();
  store_.reset();
}

absl::Status Coordinator::Impl::InitEnsemble(zab::DurableState durable) {
  seeds_ = options_.seeds;
  std::sort(seeds_.begin(), seeds_.end());
  seeds_.erase(std::unique(seeds_.begin(), seeds_.end()), seeds_.end());
  ensemble_id_ = transport::EnsembleId(seeds_);
  self_id_ = transport::PeerIdFor(seeds_, options_.listen);
  own_.SetPreviousSession(previous_self_);
  const bool observer = transport::IsObserverId(self_id_);

  // A data directory belongs to one ensemble and one peer of it.
  const std::string seeds_text = absl::StrJoin(seeds_, ",");
  if (absl::StatusOr<std::string> v = store_->GetMeta(kSeedsMeta); v.ok()) {
    if (*v != seeds_text) {
      return MakeError(
          Error::kBadArguments,
          absl::StrCat("seed list mismatch: ", options_.data_dir,
                       " belongs to the ensemble with seeds [", *v,
                       "], not [", seeds_text, "]"));
    }
  } else {
    SYNOD_RETURN_IF_ERROR(store_->PutMeta(kSeedsMeta, seeds_text, true));
  }
  if (absl::StatusOr<std::string> v = store_->GetMeta(kPeerIdMeta); v.ok()) {
    if (*v != std::to_string(self_id_)) {
      return MakeError(Error::kBadArguments,
                       absl::StrCat(options_.data_dir, " belongs to peer ", *v,
                                    ", but Options::listen ", options_.listen,
                                    " makes this peer ", self_id_));
    }
  } else {
    SYNOD_RETURN_IF_ERROR(
        store_->PutMeta(kPeerIdMeta, std::to_string(self_id_), true));
  }

  zab::CoreConfig config;
  config.self = self_id_;
  for (size_t i = 0; i < seeds_.size(); ++i) config.voters.push_back(i + 1);
  config.accept_any_observer = true;
  config.ping_ticks = 2;
  config.leader_timeout = 10;
  config.follower_timeout = 10;
  config.sync_timeout = 100;
  config.snapshot_chunk_bytes = size_t{1} << 20;
  snapshots_ = std::make_unique<TreeSnapshots>(this);
  config.snapshot_source = snapshots_.get();
  core_ = std::make_unique<zab::Core>(config, std::move(durable));
  ready_host_ = std::make_unique<server::ReadyHost>(core_.get());
  role_ = zab::PeerState::kLooking;
  epoch_published_ = store_->current_epoch();
  last_assigned_ = core_->status().last_zxid;
  // Request numbers never repeat across restarts (the run number, kept in
  // the store, is their top bits): an entry of an earlier run can never
  // complete a request of this one.
  uint64_t runs = 0;
  if (absl::StatusOr<std::string> v = store_->GetMeta(kRunsMeta); v.ok()) {
    if (!absl::SimpleAtoi(*v, &runs)) runs = 0;
  }
  ++runs;
  SYNOD_RETURN_IF_ERROR(store_->PutMeta(kRunsMeta, std::to_string(runs), true));
  next_request_ = (runs << 40) + 1;

  transport::PeerNetworkConfig net;
  net.self = self_id_;
  net.listen = options_.listen;
  net.ensemble_id = ensemble_id_;
  net.seeds = seeds_;
  net.log = [this](LogLevel level, std::string_view message) {
    Log(options_, level, message);
  };
  transport::PeerNetworkHandler handler;
  handler.on_message = [this](zab::Message&& m) {
    MutexLock lock(&inbox_mu_);
    peer_inbox_.push_back(std::move(m));
  };
  handler.on_touch = [this](zab::PeerId, std::vector<int64_t>&& sessions) {
    MutexLock lock(&inbox_mu_);
    touched_.insert(touched_.end(), sessions.begin(), sessions.end());
  };
  network_ = std::make_unique<transport::PeerNetwork>(net, std::move(handler));
  SYNOD_RETURN_IF_ERROR(StartServer());
  Log(options_, LogLevel::kInfo,
      absl::StrCat("peer ", self_id_, observer ? " (observer)" : " (voter)",
                   " of [", seeds_text, "] listening on ", options_.listen));

  next_tick_ = SteadyClock::now();
  next_cleanup_ = SteadyClock::now();
  log_writer_ = std::make_unique<LogWriter>(
      store_.get(),
      [this](Zxid durable, absl::Status status) { OnDurable(durable, status); });
  loop_ = std::thread([this] { LoopMain(); });
  return absl::OkStatus();
}

absl::Status Coordinator::Impl::StartServer() {
  server_ = std::make_unique<transport::GrpcServer>(options_, this,
                                                    network_.get());
  absl::Status started = server_->Start();
  if (!started.ok()) {
    StopEnsembleServices();
    return started;
  }
  bound_port_ = server_->port();
  return absl::OkStatus();
}

std::string Coordinator::Impl::ListenAddress() const {
  const int port = bound_port_.load();
  if (options_.listen.empty() || port == 0) return options_.listen;
  return absl::StrCat(options_.listen.substr(0, options_.listen.rfind(':') + 1),
                      port);
}

void Coordinator::Impl::StopEnsembleServices() {
  if (server_) server_->StopClients();
  if (network_) network_->Shutdown();
  if (server_) server_->Shutdown();
}

// ---- Routing writes ---------------------------------------------------------

void Coordinator::Impl::UnparkAll(int64_t now_ms) {
  const zab::CoreStatus st = core_->status();
  const bool leading = core_->next_zxid() != 0;
  const bool learning = st.serving && (st.state == zab::PeerState::kFollowing ||
                                       st.state == zab::PeerState::kObserving);
  // Everything routable goes, in order; the rest keeps its order. What is
  // routable is the same for all requests of one session, so each session's
  // requests stay in submission order.
  // A new leader first applies the history it established. Done once,
  // before routing: applying may create our session, which must not let
  // later requests of it overtake earlier ones.
  if (leading && last_applied_.load() < committed_) ApplyCommitted();
  const int64_t own = session_id_.load();
  const size_t n = parked_.size();
  for (size_t i = 0; i < n; ++i) {
    Pending p = std::move(parked_.front());
    parked_.pop_front();
    if (p.session == kOwnSession) {
      if (expired_.load()) {
        WriteOutcome o;
        o.status = CheckSessionUsable();
        Complete(p.done, std::move(o));
        continue;
      }
      if (own == 0) {
        parked_.push_back(std::move(p));
        continue;
      }
      p.session = own;
    }
    if (!failed_.ok()) {
      WriteOutcome o;
      o.status = failed_;
      Complete(p.done, std::move(o));
    } else if (leading) {
      Prepare(&p, now_ms);
    } else if (learning) {
      Forward(&p);
    } else {
      parked_.push_back(std::move(p));
    }
  }
}

void Coordinator::Impl::Forward(Pending* p) {
  txn::ForwardedRequest fr;
  fr.set_origin(self_id_);
  fr.set_request(next_request_);
  fr.set_session(p->session);
  for (const AuthId& id : p->auth->ids) {
    txn::AuthIdentity* a = fr.add_auth();
    a->set_scheme(id.scheme);
    a->set_id(id.id);
  }
  fr.set_super(p->auth->super);
  fr.set_ip(p->auth->ip);
  if (p->request.body_case() != txn::Request::BODY_NOT_SET) {
    *fr.mutable_request_body() = std::move(p->request);
  }
  absl::Status s = core_->Propose(fr.SerializeAsString());
  if (!s.ok()) {
    WriteOutcome o;
    o.status = ConnectionLoss("no serving leader");
    Complete(p->done, std::move(o));
    return;
  }
  forwarded_.push_back(Forwarded{next_request_++, std::move(p->done),
                                 SteadyClock::now()});
}

void Coordinator::Impl::PrepareForwarded(const std::string& data,
                                         int64_t now_ms) {
  txn::ForwardedRequest fr;
  if (!fr.ParseFromString(data) || fr.origin() == 0) {
    Log(options_, LogLevel::kWarning, "dropped an undecodable forwarded request");
    return;
  }
  if (core_->next_zxid() == 0 || !failed_.ok()) return;  // origin times out
  NoteCoreState();  // a leadership just established starts its bookkeeping
  if (last_applied_.load() < committed_) ApplyCommitted();
  AuthInfo auth;
  for (const txn::AuthIdentity& a : fr.auth()) {
    auth.ids.push_back(AuthId{a.scheme(), a.id()});
  }
  auth.super = fr.super();
  auth.ip = fr.ip();
  const Zxid zxid = core_->next_zxid();
  txn::Txn t;
  if (!fr.has_request_body()) {
    t.mutable_sync();
  } else {
    absl::Status s = preparer_->Prepare(fr.request_body(), fr.session(), auth,
                                        zxid, now_ms, &t);
    if (!s.ok()) {
      t.Clear();
      txn::ErrorTxn* err = t.mutable_error();
      err->set_error(static_cast<int32_t>(ErrorOf(s)));
      err->set_message(std::string(s.message()));
      err->set_failed_op(FailedOpIndex(s));
    }
  }
  t.set_zxid(zxid);
  t.set_time_ms(now_ms);
  t.set_session_id(fr.session());
  t.set_origin(fr.origin());
  t.set_request(fr.request());
  last_assigned_ = zxid;
  absl::Status s = core_->Propose(t.SerializeAsString());
  if (!s.ok()) Fail(MakeError(Error::kSystemError, std::string(s.message())));
}

void Coordinator::Impl::CompleteForwarded(const txn::Txn& txn,
                                          WriteOutcome&& outcome) {
  // The leader proposes forwarded requests in the order they were sent, so
  // an older one still waiting was dropped (a leader change).
  while (!forwarded_.empty() && forwarded_.front().request < txn.request()) {
    WriteOutcome lost;
    lost.status = ConnectionLoss("the leader dropped the request");
    Complete(forwarded_.front().done, std::move(lost));
    forwarded_.pop_front();
  }
  if (!forwarded_.empty() && forwarded_.front().request == txn.request()) {
    Complete(forwarded_.front().done, std::move(outcome));
    forwarded_.pop_front();
  }
}

void Coordinator::Impl::OnLostLeader() {
  // What was forwarded or proposed and is not known committed may or may
  // not commit: its outcome is unknown (ZooKeeper's ConnectionLoss).
  while (!forwarded_.empty()) {
    WriteOutcome o;
    o.status = ConnectionLoss("lost the leader; the write may or may not apply");
    Complete(forwarded_.front().done, std::move(o));
    forwarded_.pop_front();
  }
  // Errors too: they were decided against txns that may now never apply.
  FailUncommitted([](const InFlight& item) {
    return ConnectionLoss(item.has_txn
                              ? "lost leadership; the write may or may not apply"
                              : "lost leadership");
  });
  preparer_->Reset();
  last_assigned_ = committed_;
}

// ---- Persisting what cannot wait for group commit ---------------------------

bool Coordinator::Impl::WaitLogRound(server::HostWork* work) {
  if (!failed_.ok()) return false;
  if (!log_busy_) FlushToLog();
  if (!log_busy_) return false;  // nothing was queued
  Zxid durable = 0;
  absl::Status status;
  {
    MutexLock lock(&inbox_mu_);
    inbox_mu_.Await([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(inbox_mu_) {
      return log_round_done_;
    });
    log_round_done_ = false;
    durable = durable_zxid_;
    status = storage_status_;
  }
  log_busy_ = false;
  AdvanceDurable(durable, work);  // what reached the log, even if then it failed
  if (!status.ok()) {
    Fail(MakeError(Error::kConnectionLoss,
                   absl::StrCat("storage failed: ", status.ToString())));
    return false;
  }
  return true;
}

void Coordinator::Impl::WaitLogIdle(server::HostWork* work) {
  while (WaitLogRound(work)) {
  }
}

void Coordinator::Impl::PersistBarrier(zab::Ready* rd) {
  absl::Status s;
  if (rd->snapshot) {
    StoreSnapshot(*rd->snapshot);
    if (!failed_.ok()) return;
  }
  if (rd->truncate_after) {
    s = store_->TruncateLogAfter(*rd->truncate_after);
    {
      // Entries that replace the truncated ones are durable only once
      // written again (durability is tracked by zxid).
      MutexLock lock(&inbox_mu_);
      durable_zxid_ = std::min(durable_zxid_, *rd->truncate_after);
    }
    checkpointer_->Truncated(*rd->truncate_after);
  }
  if (s.ok() && !rd->entries.empty()) {
    std::vector<LogEntry> entries;
    entries.reserve(rd->entries.size());
    for (zab::Entry& e : rd->entries) {
      entries.push_back(LogEntry{e.zxid, std::move(e.data)});
      checkpointer_->Logged(e.zxid);
    }
    s = store_->AppendLog(entries, /*sync=*/true);
    log_syncs_.fetch_add(1, std::memory_order_relaxed);
    txns_logged_.fetch_add(static_cast<int64_t>(entries.size()),
                           std::memory_order_relaxed);
  }
  if (s.ok() && rd->accepted_epoch) s = store_->SetAcceptedEpoch(*rd->accepted_epoch);
  if (s.ok() && rd->current_epoch) s = store_->SetCurrentEpoch(*rd->current_epoch);
  if (s.ok() && rd->recovered) {
    // Synced by a leader elected without us: a voter again.
    s = store_->PutMeta(kRecoveringMeta, "0", /*sync=*/true);
    if (s.ok()) {
      recovering_ = false;
      Log(options_, LogLevel::kWarning,
          absl::StrCat("peer ", self_id_, " was synced by leader ",
                       core_->status().leader,
                       " after its log was damaged: it votes again"));
    }
  }
  if (!s.ok()) {
    Fail(MakeError(Error::kConnectionLoss,
                   absl::StrCat("storage failed: ", s.ToString())));
  }
}

void Coordinator::Impl::StoreSnapshot(const zab::Snapshot& snapshot) {
  // Loading a large snapshot takes seconds; the leader hears from us
  // meanwhile.
  std::vector<zab::PeerId> leader;
  if (core_->status().leader != 0) leader.push_back(core_->status().leader);
  StallPings pings(this, std::move(leader));
  auto fresh = std::make_unique<DataTree>();
  StateBatch batch;
  absl::Status s = LoadSnapshot(
      snapshot.data, fresh.get(),
      [&batch](std::string_view path, std::string_view record) {
        batch.PutNode(path, record);
      },
      [&batch](int64_t id, std::string_view record) {
        batch.PutSession(id, record);
      });
  if (s.ok() && fresh->last_zxid() != snapshot.zxid) {
    s = MakeError(Error::kDataInconsistency,
                  "the snapshot's zxid does not match its message");
  }
  if (s.ok()) {
    batch.SetNodeCount(fresh->node_count());
    s = store_->ReplaceState(&batch, snapshot.zxid);
  }
  if (!s.ok()) {
    Fail(MakeError(Error::kSystemError,
                   absl::StrCat("installing the leader's snapshot failed: ",
                                s.ToString())));
    return;
  }
  // The store holds the snapshot's state whole: nothing older is unsaved.
  checkpointer_->SnapshotStored(snapshot.zxid);
  {
    MutexLock lock(&inbox_mu_);
    durable_zxid_ = std::min(durable_zxid_, snapshot.zxid);
  }
  installing_ = std::move(fresh);
  Log(options_, LogLevel::kInfo,
      absl::StrCat("peer ", self_id_, " stored the leader's snapshot at ",
                   zab::ZxidString(snapshot.zxid), " (", snapshot.data.size(),
                   " bytes)"));
}

void Coordinator::Impl::InstallTree(Zxid zxid) {
  if (!installing_ || installing_->last_zxid() != zxid) {
    Fail(MakeError(Error::kSystemError,
                   "the snapshot to install is not the one stored"));
    return;
  }
  std::vector<Delivery> deliveries;
  std::vector<Dispatcher::Task> tasks;
  {
    WriterLock lock(&tree_mu_);
    // Watchers learn what changed between the two trees, as if the
    // skipped txns had been applied one by one.
    if (watches_.size() > 0) {
      for (const TreeEvent& ev : DiffTrees(tree_, *installing_)) {
        watches_.Trigger(ev.path, ev.type, &deliveries);
      }
      for (Delivery& d : deliveries) {
        tasks.push_back([w = std::move(d.watcher), e = std::move(d.event)] {
          (*w)(e);
        });
      }
      dispatcher_->PostAll(&tasks);
    }
    tree_ = std::move(*installing_);
    last_applied_ = tree_.last_zxid();
    if (own_.id() != 0) {
      own_.SnapshotInstalled(tree_.sessions().contains(own_.id()));
    }
  }
  NoteOwnSession();
  installing_.reset();
  preparer_->Reset();
  snapshots_installed_.fetch_add(1, std::memory_order_relaxed);
  Log(options_, LogLevel::kInfo,
      absl::StrCat("peer ", self_id_, " installed the leader's snapshot at ",
                   zab::ZxidString(zxid)));
}

void Coordinator::Impl::SendMessages(std::vector<zab::Message>* messages) {
  // A failed peer is silent: it cannot keep the promises its messages make.
  if (network_ && failed_.ok()) {
    for (zab::Message& m : *messages) network_->Send(std::move(m));
  }
  messages->clear();
}

// ---- Role, sessions and timers ----------------------------------------------

void Coordinator::Impl::NoteCoreState() {
  const zab::CoreStatus st = core_->status();
  const bool leading = st.state == zab::PeerState::kLeading && st.serving;
  if (st.state != role_.load() || (st.serving ? st.leader : 0) != leader_id_.load()) {
    if (st.state == zab::PeerState::kLooking) {
      Log(options_, LogLevel::kInfo,
          absl::StrCat("peer ", self_id_, ": looking for a leader"));
    } else if (st.serving) {
      Log(options_, LogLevel::kInfo,
          absl::StrCat("peer ", self_id_, ": ",
                       leading ? "leading" : zab::PeerStateName(st.state),
                       leading ? "" : absl::StrCat(" leader ", st.leader),
                       " in epoch ", st.current_epoch));
    }
  }
  role_ = st.state;
  epoch_published_ = st.current_epoch;
  leader_id_ = st.serving ? st.leader : 0;
  if (leading && (!leading_ || serving_epoch_ != st.current_epoch)) {
    // A new leadership: validation starts over from the established
    // history, and every session gets a full timeout to reach us.
    preparer_->Reset();
    last_assigned_ = st.last_zxid;
    serving_epoch_ = st.current_epoch;
    ReaderLock lock(&tree_mu_);
    sessions_.StartLeading(tree_.sessions(), SteadyMs(SteadyClock::now()));
  }
  if (!leading) sessions_.StopLeading();
  leading_ = leading;
  own_.SetServing(st.serving);
  NoteOwnSession();
}

void Coordinator::Impl::NoteSessionChange(const txn::Txn& txn) {
  if (txn.has_create_session()) {
    // Tracked on the leader only (ignored elsewhere).
    sessions_.Add(txn.zxid(), txn.create_session().timeout_ms(),
                  SteadyMs(SteadyClock::now()));
  } else if (txn.has_close_session()) {
    sessions_.Remove(txn.session_id());
    if (txn.session_id() == own_.id()) {
      const bool was_expired = own_.state() == OwnSession::State::kExpired;
      own_.CloseCommitted(txn.session_id());
      if (!was_expired && own_.state() == OwnSession::State::kExpired) {
        Log(options_, LogLevel::kWarning,
            absl::StrCat("peer ", self_id_, ": the ensemble expired session ",
                         txn.session_id()));
      }
      NoteOwnSession();
    }
  }
}

void Coordinator::Impl::OnTouch(const std::vector<int64_t>& sessions,
                                SteadyClock::time_point now) {
  if (!leading_) return;
  const int64_t now_ms = SteadyMs(now);
  for (int64_t id : sessions) sessions_.Touch(id, now_ms);
}

void Coordinator::Impl::EnsembleTimers(SteadyClock::time_point now,
                                       int64_t now_ms, bool stopping) {
  // Only a leader whose tree holds its whole committed history decides
  // cleanups and expiries.
  const bool caught_up = leading_ && last_applied_.load() >= committed_;
  if (now >= next_cleanup_) {
    next_cleanup_ = now + ToChrono(options_.cleanup_interval);
    if (caught_up && !stopping) PrepareCleanups(now_ms);
  }
  if (now < next_tick_) return;
  next_tick_ = now + ToChrono(options_.tick);
  core_->Tick();
  const zab::CoreStatus st = core_->status();

  // The sessions this peer keeps alive: ours and the hosted ones.
  std::vector<int64_t> alive;
  {
    MutexLock lock(&inbox_mu_);
    alive.assign(hosted_sessions_.begin(), hosted_sessions_.end());
  }
  if (own_.id() != 0 && own_.Usable().ok()) alive.push_back(own_.id());
  if (leading_) {
    OnTouch(alive, now);
    if (caught_up && !stopping) ExpireSessions(now, now_ms);
  } else if (st.state != zab::PeerState::kLooking && st.leader != 0 &&
             st.leader != self_id_ && !alive.empty()) {
    // Also while synchronizing: the session is with the ensemble, not
    // with this peer's state.
    network_->SendTouch(st.leader, std::move(alive));
  }
  if (stopping) return;

  if (st.serving) {
    if (own_.ShouldCreate()) {
      own_.CreateStarted();
      Pending p;
      p.request.mutable_create_session()->set_timeout_ms(static_cast<int32_t>(
          absl::ToInt64Milliseconds(options_.session_timeout)));
      p.auth = system_auth_;
      p.parked_at = now;
      p.done = [this](WriteOutcome&& o) { OnSessionCreated(std::move(o)); };
      pending_writes_.fetch_add(1, std::memory_order_relaxed);
      parked_.push_back(std::move(p));
    }
    if (const int64_t previous = own_.TakePreviousToClose(); previous != 0) {
      // Our session of an earlier run is certainly dead: close it now
      // rather than after its timeout.
      bool exists;
      {
        ReaderLock lock(&tree_mu_);
        exists = tree_.sessions().contains(previous);
      }
      if (exists) {
        Pending p;
        p.request.mutable_close_session();
        p.session = previous;
        p.auth = system_auth_;
        p.parked_at = now;
        parked_.push_back(std::move(p));
      }
    }
  }

  // Writes parked (no leader) or forwarded (no answer) for longer than the
  // session timeout fail; their outcome is unknown.
  const auto limit = ToChrono(options_.session_timeout);
  const size_t n = parked_.size();
  for (size_t i = 0; i < n; ++i) {
    Pending p = std::move(parked_.front());
    parked_.pop_front();
    if (now - p.parked_at > limit) {
      WriteOutcome o;
      o.status = ConnectionLoss("no leader served within the session timeout");
      Complete(p.done, std::move(o));
    } else {
      parked_.push_back(std::move(p));
    }
  }
  while (!forwarded_.empty() && now - forwarded_.front().sent > limit) {
    WriteOutcome o;
    o.status = ConnectionLoss("the leader did not answer within the session timeout");
    Complete(forwarded_.front().done, std::move(o));
    forwarded_.pop_front();
  }
}

void Coordinator::Impl::OnSessionCreated(WriteOutcome&& outcome) {
  if (!outcome.status.ok()) {
    Log(options_, LogLevel::kInfo,
        absl::StrCat("creating the session failed (retrying): ",
                     outcome.status.ToString()));
    own_.CreateFailed();
    NoteOwnSession();
    return;
  }
  own_.Created(outcome.zxid);
  absl::Status s = store_->PutMeta(kSelfSessionMeta,
                                   std::to_string(outcome.zxid), /*sync=*/false);
  if (!s.ok()) {
    Log(options_, LogLevel::kWarning,
        absl::StrCat("recording the session id failed: ", s.ToString()));
  }
  NoteOwnSession();
}

void Coordinator::Impl::NoteOwnSession() {
  session_id_ = own_.id();
  connected_ = own_.connected();
  if (own_.state() == OwnSession::State::kExpired) expired_ = true;
  std::vector<SessionState> events = own_.TakeEvents();
  if (events.empty() || !options_.session_watcher) return;
  std::vector<Dispatcher::Task> tasks;
  for (SessionState state : events) {
    tasks.push_back([watcher = options_.session_watcher, state] {
      watcher(WatchEvent{EventType::kSession, state, ""});
    });
  }
  dispatcher_->PostAll(&tasks);
}

bool Coordinator::Impl::ResolveOwnClose(Pending* p) {
  const bool close = own_.CloseRequested();
  NoteOwnSession();
  if (!close) {
    // Nothing this peer can close: none yet, or no serving leader (the
    // session expires on the ensemble), or expired already.
    Complete(p->done, WriteOutcome{});
    return false;
  }
  p->session = own_.id();
  p->auth = auth();
  return true;
}

// ---- For the client service and tools -------------------------------------

absl::Status Coordinator::Impl::WaitConnected(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    SYNOD_RETURN_IF_ERROR(CheckSessionUsable());
    if (connected_.load()) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      return ConnectionLoss(absl::StrCat("not connected within ",
                                         absl::FormatDuration(timeout)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void Coordinator::Impl::AddHostedSession(int64_t id) {
  MutexLock lock(&inbox_mu_);
  hosted_sessions_.insert(id);
}

void Coordinator::Impl::RemoveHostedSession(int64_t id) {
  MutexLock lock(&inbox_mu_);
  hosted_sessions_.erase(id);
}

Coordinator::Impl::PeerStatus Coordinator::Impl::GetPeerStatus() const {
  PeerStatus s;
  s.role = GetHealth().role;
  s.epoch = epoch_published_.load();
  s.last_zxid = last_applied_.load();
  s.peer_id = self_id_;
  s.leader_id = ensemble_ ? leader_id_.load() : self_id_;
  if (network_ && s.leader_id != 0) {
    s.leader = s.leader_id == self_id_ ? options_.listen
                                       : network_->AddressOf(s.leader_id);
  } else if (!ensemble_) {
    s.leader = ListenAddress();
  }
  s.peers = ensemble_ ? seeds_ : std::vector<std::string>{ListenAddress()};
  return s;
}

}  // namespace synod
