// Coordinator::Impl: startup and recovery, the loop thread, the write path.

#include "coordinator_impl.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tree/path.h"
#include "util/errors.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/status_macros.h"

namespace synod {
namespace {

// The peer id of a one-peer ensemble's only peer.
constexpr zab::PeerId kSelfPeer = 1;
using SteadyClock = std::chrono::steady_clock;

int64_t WallMs() { return absl::ToUnixMillis(absl::Now()); }

absl::Status ClosingError() {
  return MakeError(Error::kClosing, "the Coordinator is shutting down");
}

}  // namespace

bool IsEnsemble(const Options& o) {
  return !o.seeds.empty() && !(o.seeds.size() == 1 && o.seeds[0] == o.listen);
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
  if (o.tick < absl::Milliseconds(10) || o.tick > absl::Seconds(10)) {
    return BadArgumentsError(
        absl::StrCat("Options::tick must be within 10ms..10s, not ",
                     absl::FormatDuration(o.tick)));
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
  // Port 0 only alone: peers must know each other's addresses beforehand.
  if (!o.listen.empty() && !valid_address(o.listen, IsEnsemble(o) ? 1 : 0)) {
    return BadArgumentsError(absl::StrCat(
        "Options::listen must be host:port", IsEnsemble(o) ? " (port > 0 in an ensemble)" : "",
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

absl::Status Coordinator::Impl::Init() {
  SYNOD_RETURN_IF_ERROR(ValidateOptions(options_));
  ensemble_ = IsEnsemble(options_);
  absl::StatusOr<std::unique_ptr<DataDirLock>> lock =
      DataDirLock::Acquire(options_.data_dir);
  if (!lock.ok()) return StorageError(lock.status());
  dir_lock_ = std::move(*lock);
  StoreOptions store_options;
  store_options.env = storage_env_;
  // In an ensemble a damaged log is survivable: the peer comes back as one
  // that lost part of its log (see the recovering mark below). Alone,
  // nobody else holds what was lost: Open refuses with DataLoss.
  store_options.allow_log_damage = ensemble_;
  store_options.warn = [this](const std::string& m) {
    Log(options_, LogLevel::kWarning, m);
  };
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(options_.data_dir, store_options);
  if (!store.ok()) return StorageError(store.status());
  store_ = std::move(*store);

  // Recover: the applied-state records, then the log's tail.
  {
    WriterLock lock(&tree_mu_);
    tree_.Reserve(store_->node_count_hint());
    DataTree::LoadCursor cursor;
    absl::Status s = store_->LoadState(
        [this, &cursor](std::string_view path, std::string_view record)
            ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return tree_.LoadNode(path, record, &cursor);
            },
        [this](int64_t id, std::string_view record)
            ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return tree_.LoadSession(id, record);
            });
    SYNOD_RETURN_IF_ERROR(StorageError(s));
    tree_.SetLastZxid(store_->applied_zxid());
    last_applied_ = tree_.last_zxid();
  }
  server::CheckpointPolicy policy;
  policy.log_retention = options_.log_retention;
  // The last checkpoint counts as long ago: an idle peer takes one at once.
  checkpointer_ = std::make_unique<server::Checkpointer>(
      policy, last_applied_.load(), /*now_ms=*/0);

  // The zab core starts from the applied state plus the log's unapplied
  // tail.
  zab::DurableState durable;
  durable.accepted_epoch = store_->accepted_epoch();
  durable.current_epoch = store_->current_epoch();
  durable.base_zxid = last_applied_.load();
  // A peer whose log lost records may lack committed txns it acked: it must
  // not vote, ack or lead until a leader elected without it has synced it.
  // The mark is durable until then (a restart finds the cut log intact).
  absl::StatusOr<std::string> recovering = store_->GetMeta(kRecoveringMeta);
  durable.recovering = recovering.ok() && *recovering == "1";
  if (std::optional<LogDamage> damage = store_->log_damage()) {
    Log(options_, LogLevel::kWarning,
        absl::StrCat("the txn log was damaged (", damage->what,
                     "); kept through ", zab::ZxidString(damage->kept_through),
                     ", lost records up to at least ",
                     zab::ZxidString(damage->durable_at_least),
                     ": this peer takes no part in quorums until a leader "
                     "elected without it has synced it"));
    SYNOD_RETURN_IF_ERROR(
        StorageError(store_->PutMeta(kRecoveringMeta, "1", /*sync=*/true)));
    durable.recovering = true;
  }
  recovering_ = durable.recovering;
  SYNOD_RETURN_IF_ERROR(StorageError(store_->ReadLog(
      0, [&](Zxid zxid, std::string_view data) {
        checkpointer_->Logged(zxid);
        if (zxid > durable.base_zxid) {
          durable.log.push_back(zab::Entry{zxid, std::string(data)});
        }
        return true;
      })));
  preparer_ = std::make_unique<Preparer>(&tree_, LimitsFrom(options_));
  {
    MutexLock lock(&auth_mu_);
    auto info = std::make_shared<AuthInfo>();
    info->ip = "127.0.0.1";
    auth_ = std::move(info);
  }
  if (absl::StatusOr<std::string> v = store_->GetMeta(kSelfSessionMeta); v.ok()) {
    if (!absl::SimpleAtoi(*v, &previous_self_)) previous_self_ = 0;
  }
  dispatcher_ = std::make_unique<Dispatcher>();
  if (ensemble_) return InitEnsemble(std::move(durable));

  // Alone: the peer elects itself, moves to a new epoch above every one it
  // has seen, and commits the tail: that is the replay.
  zab::CoreConfig core_config;
  core_config.self = kSelfPeer;
  core_config.voters = {kSelfPeer};
  core_ = std::make_unique<zab::Core>(core_config, std::move(durable));
  ready_host_ = std::make_unique<server::ReadyHost>(core_.get());
  log_writer_ = std::make_unique<LogWriter>(
      store_.get(),
      [this](Zxid durable, absl::Status status) { OnDurable(durable, status); });
  SYNOD_RETURN_IF_ERROR(EstablishAlone());

  // Sessions of earlier runs: our own previous session is certainly dead and
  // closes at once; any other gets its full timeout to come back.
  std::vector<int64_t> to_close;
  {
    ReaderLock lock(&tree_mu_);
    sessions_.StartLeading(tree_.sessions(), SteadyMs(SteadyClock::now()));
    if (tree_.sessions().contains(previous_self_)) {
      sessions_.Remove(previous_self_);
      to_close.push_back(previous_self_);
    }
  }
  next_cleanup_ = SteadyClock::now();
  // Alone, a leader always serves; the session is created below.
  own_.SetServing(true);
  own_.CreateStarted();
  NoteOwnSession();

  loop_ = std::thread([this] { LoopMain(); });
  // Listening first: a peer that cannot listen opens no session (its
  // watcher hears nothing but Closed).
  if (!options_.listen.empty()) SYNOD_RETURN_IF_ERROR(StartServer());

  for (int64_t id : to_close) {
    txn::Request close;
    close.mutable_close_session();
    MutexLock lock(&inbox_mu_);
    inbox_.push_back(Pending{std::move(close), id, system_auth_, nullptr});
  }

  txn::Request create;
  create.mutable_create_session()->set_timeout_ms(
      static_cast<int32_t>(absl::ToInt64Milliseconds(options_.session_timeout)));
  Zxid created = 0;
  {
    // Submitted as the system: the session does not exist yet. own_ is
    // the loop's from here on; the outcome reaches it there.
    Mutex mu;
    bool done = false;
    absl::Status status;
    {
      MutexLock lock(&inbox_mu_);
      pending_writes_.fetch_add(1, std::memory_order_relaxed);
      inbox_.push_back(Pending{std::move(create), 0, system_auth_,
                               [&](WriteOutcome&& o) {
                                 if (o.status.ok()) {
                                   own_.Created(o.zxid);
                                 } else {
                                   own_.CreateFailed();
                                 }
                                 NoteOwnSession();
                                 MutexLock l(&mu);
                                 status = o.status;
                                 created = o.zxid;
                                 done = true;
                               }});
    }
    MutexLock l(&mu);
    mu.Await([&done] { return done; });
    SYNOD_RETURN_IF_ERROR(status);
  }
  SYNOD_RETURN_IF_ERROR(store_->PutMeta(
      kSelfSessionMeta, std::to_string(created), /*sync=*/false));
  return absl::OkStatus();
}

// ---- Writes -------------------------------------------------------------

void Coordinator::Impl::Submit(txn::Request request, Done done) {
  SubmitAs(ensemble_ ? kOwnSession : session_id_.load(), auth(),
           std::move(request), std::move(done));
}

void Coordinator::Impl::SubmitAs(int64_t session,
                                 std::shared_ptr<const AuthInfo> auth,
                                 txn::Request request, Done done) {
  writes_.fetch_add(1, std::memory_order_relaxed);
  {
    MutexLock lock(&inbox_mu_);
    if (!stopping_) {
      pending_writes_.fetch_add(1, std::memory_order_relaxed);
      inbox_.push_back(
          Pending{std::move(request), session, std::move(auth), std::move(done)});
      return;
    }
  }
  write_errors_.fetch_add(1, std::memory_order_relaxed);
  WriteOutcome o;
  o.status = ClosingError();
  done(std::move(o));
}

WriteOutcome Coordinator::Impl::SubmitAndWait(txn::Request request) {
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

void Coordinator::Impl::Complete(Done& done, WriteOutcome&& outcome) {
  if (!outcome.status.ok()) write_errors_.fetch_add(1, std::memory_order_relaxed);
  if (!done) return;
  pending_writes_.fetch_sub(1, std::memory_order_relaxed);
  done(std::move(outcome));
}

void Coordinator::Impl::OnDurable(Zxid durable, absl::Status status) {
  MutexLock lock(&inbox_mu_);
  if (durable > durable_zxid_) durable_zxid_ = durable;
  if (!status.ok() && storage_status_.ok()) storage_status_ = status;
  log_round_done_ = true;
}

void Coordinator::Impl::LoopMain() {
  std::vector<Pending> batch;
  std::vector<zab::Message> messages;
  std::vector<int64_t> touched;
  while (true) {
    bool round_done = false;
    bool stopping = false;
    Zxid durable = 0;
    absl::Status storage_status;
    {
      MutexLock lock(&inbox_mu_);
      // Stopping, the loop still waits for the log writer's last round.
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(inbox_mu_) {
        return !inbox_.empty() || !peer_inbox_.empty() || log_round_done_ ||
               (stopping_ && !log_busy_);
      };
      if (stopping_) {
        inbox_mu_.Await(ready);
      } else {
        auto next = ensemble_ ? std::min(next_cleanup_, next_tick_) : next_cleanup_;
        auto wait = next - SteadyClock::now();
        inbox_mu_.AwaitWithTimeout(
            ready,
            absl::FromChrono(std::max(wait, SteadyClock::duration::zero())));
      }
      batch.swap(inbox_);
      messages.swap(peer_inbox_);
      touched.swap(touched_);
      round_done = log_round_done_;
      log_round_done_ = false;
      durable = durable_zxid_;
      storage_status = storage_status_;
      stopping = stopping_;
    }
    if (round_done) log_busy_ = false;
    if (failed_.ok()) {
      server::HostWork work;
      AdvanceDurable(durable, &work);
      Process(&work, WallMs());
    }
    if (!storage_status.ok() && failed_.ok()) {
      // What was durable before the failure commits first; the rest may
      // or may not be in the log: unknown outcome (ConnectionLoss), never
      // reported as failed.
      if (!ensemble_) {
        CollectReady(WallMs());
        ApplyCommitted();
      }
      Fail(MakeError(Error::kConnectionLoss,
                     absl::StrCat("storage failed, no write can commit: ",
                                  storage_status.ToString())));
    }

    const int64_t now_ms = WallMs();
    const SteadyClock::time_point now = SteadyClock::now();
    // The destructor's close of our session: decided here, where own_ is.
    for (size_t i = 0; i < batch.size();) {
      if (batch[i].close_own && !ResolveOwnClose(&batch[i])) {
        batch.erase(batch.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
    if (ensemble_) {
      // A peer whose storage failed stops taking part: it goes silent.
      if (failed_.ok()) {
        for (zab::Message& m : messages) core_->Step(m);
      }
      messages.clear();
      // What the messages committed is applied before any timer prepares
      // a txn (a new leader's cleanups see its whole history).
      CollectReady(now_ms);
      NoteCoreState();
      ApplyCommitted();
      if (!touched.empty()) OnTouch(touched, now);
      touched.clear();
      // Ticking goes on while stopping: a leader that loses its quorum
      // then still steps down and fails what it cannot commit.
      if (failed_.ok()) EnsembleTimers(now, now_ms, stopping);
      CollectReady(now_ms);
      NoteCoreState();
      for (Pending& p : batch) {
        p.parked_at = now;
        parked_.push_back(std::move(p));
      }
      batch.clear();
      UnparkAll(now_ms);
    } else {
      for (Pending& p : batch) Prepare(&p, now_ms);
      batch.clear();
      if (!stopping) RunTimers(now);
    }
    CollectReady(now_ms);  // one Ready for the whole batch: one log round
    ApplyCommitted();
    FlushToLog(/*checkpoint=*/stopping);
    // After a failure nothing commits: whatever waits fails at once.
    if (!failed_.ok()) FailAll(failed_);
    if (stopping && (in_flight_.empty() || !failed_.ok()) && !log_busy_) {
      MutexLock lock(&inbox_mu_);
      if (inbox_.empty()) {
        closed_ = true;
        break;
      }
    }
  }
  // Requests that raced with the stop.
  FailAll(ClosingError());
}

void Coordinator::Impl::Prepare(Pending* p, int64_t now_ms) {
  InFlight item;
  item.done = std::move(p->done);
  if (p->request.body_case() == txn::Request::BODY_NOT_SET && !ensemble_) {
    item.zxid = last_assigned_;  // a sync: done once all before it applied
  } else if (!failed_.ok()) {
    item.zxid = last_assigned_;
    item.error = failed_;
  } else if (core_->next_zxid() == 0) {
    item.zxid = last_assigned_;
    item.error = MakeError(Error::kConnectionLoss, "no serving leader");
  } else {
    const Zxid zxid = core_->next_zxid();
    absl::Status s;
    if (p->request.body_case() == txn::Request::BODY_NOT_SET) {
      // A sync in an ensemble: a leader may have been deposed without
      // knowing it yet, so its syncs, too, go through a quorum round.
      item.txn.mutable_sync();
    } else {
      s = preparer_->Prepare(p->request, p->session, *p->auth, zxid, now_ms,
                             &item.txn);
    }
    if (s.ok()) {
      item.zxid = zxid;
      item.has_txn = true;
      item.txn.set_zxid(zxid);
      item.txn.set_time_ms(now_ms);
      item.txn.set_session_id(p->session);
      last_assigned_ = zxid;
      s = core_->Propose(item.txn.SerializeAsString());
      if (!s.ok()) {
        // The core was serving a moment ago and nothing ran in between.
        Fail(MakeError(Error::kSystemError, std::string(s.message())));
      }
    } else {
      item.zxid = last_assigned_;
      item.error = std::move(s);
      item.txn.Clear();
    }
  }
  in_flight_.push_back(std::move(item));
}

absl::Status Coordinator::Impl::EstablishAlone() {
  // Carried out synchronously: nothing else runs yet. The core elects
  // itself (its epochs are barriers) and commits its log's tail: the replay.
  for (int round = 0; round < 8 && core_->next_zxid() == 0 && failed_.ok();
       ++round) {
    CollectReady(WallMs());
    ApplyCommitted();
    core_->Tick();
  }
  SYNOD_RETURN_IF_ERROR(failed_);
  if (core_->next_zxid() == 0) {
    return MakeError(Error::kSystemError, "a one-peer ensemble did not elect itself");
  }
  const zab::CoreStatus st = core_->status();
  epoch_published_ = st.current_epoch;
  role_ = st.state;
  leading_ = true;  // alone, always
  last_assigned_ = st.last_zxid;
  committed_ = st.committed_zxid;
  return absl::OkStatus();
}

void Coordinator::Impl::CollectReady(int64_t now_ms) {
  while (failed_.ok()) {
    server::HostWork work;
    if (ready_host_->waiting_for_durable()) {
      // A barrier waits for the entries before it: let the log writer
      // finish them.
      if (!WaitLogRound(&work)) {
        Fail(MakeError(Error::kSystemError,
                       "a barrier waits for entries the log writer never got"));
        return;
      }
    } else if (!ready_host_->TakeNext(&work)) {
      return;
    }
    Process(&work, now_ms);
  }
}

void Coordinator::Impl::Process(server::HostWork* work, int64_t now_ms) {
  // Alone, the core serves once it elected itself (next_zxid != 0).
  if (!ensemble_ && core_->next_zxid() != 0 &&
      (work->persist_barrier || !work->send.empty() || work->lost_leader ||
       !work->requests.empty())) {
    // A one-peer ensemble never truncates, sends, or changes epochs once
    // established; anything else is a bug that must not go unnoticed.
    Fail(MakeError(Error::kSystemError,
                   "unexpected zab work in a one-peer ensemble"));
    return;
  }
  SendMessages(&work->send);
  for (zab::Entry& e : work->append) {
    to_log_.push_back(LogEntry{e.zxid, std::move(e.data)});
  }
  if (work->persist_barrier) {
    // Rare (elections, synchronization): written synchronously, after
    // everything queued before it.
    server::HostWork more;  // nothing: every entry before it is durable
    WaitLogIdle(&more);
    if (!failed_.ok()) return;
    SendMessages(&more.send);
    PersistBarrier(ready_host_->barrier());
    if (!failed_.ok()) return;
    // A stored snapshot is the store's state now, but not yet the tree's:
    // nothing may flush or apply until InstallTree (in Process(&done)).
    server::HostWork done;
    ready_host_->OnBarrierDone(&done);
    Process(&done, now_ms);
  }
  if (work->install) InstallTree(work->install->zxid);
  if (!work->commit.empty()) {
    committed_ = std::max(committed_, work->commit.back().zxid);
    for (zab::Entry& e : work->commit) to_apply_.push_back(std::move(e));
  }
  if (work->lost_leader) OnLostLeader();
  for (const std::string& request : work->requests) {
    PrepareForwarded(request, now_ms);
  }
}

void Coordinator::Impl::AdvanceDurable(Zxid durable, server::HostWork* work) {
  ready_host_->OnDurable(durable, work);
}

void Coordinator::Impl::CompleteInFlightThrough(Zxid zxid) {
  // Errors and syncs wait for the txns prepared before them.
  while (!in_flight_.empty() && !in_flight_.front().has_txn &&
         in_flight_.front().zxid <= zxid) {
    InFlight item = std::move(in_flight_.front());
    in_flight_.pop_front();
    WriteOutcome outcome;
    outcome.zxid = item.zxid;
    outcome.status = std::move(item.error);
    Complete(item.done, std::move(outcome));
  }
}

void Coordinator::Impl::ApplyCommitted() {
  if (to_apply_.empty() &&
      (in_flight_.empty() || in_flight_.front().has_txn ||
       in_flight_.front().zxid > last_applied_.load())) {
    return;
  }
  std::vector<Delivery> deliveries;
  std::vector<Dispatcher::Task> tasks;
  int64_t applied_txns = 0;
  {
    WriterLock lock(&tree_mu_);
    CompleteInFlightThrough(tree_.last_zxid());
    while (!to_apply_.empty() && failed_.ok()) {
      zab::Entry e = std::move(to_apply_.front());
      to_apply_.pop_front();
      if (e.zxid <= tree_.last_zxid()) continue;  // in the applied state
      // Our own prepared txns that never committed (a lost leadership).
      while (!in_flight_.empty() && in_flight_.front().has_txn &&
             in_flight_.front().zxid < e.zxid) {
        InFlight lost = std::move(in_flight_.front());
        in_flight_.pop_front();
        WriteOutcome o;
        o.status = MakeError(Error::kConnectionLoss, "leadership lost");
        Complete(lost.done, std::move(o));
        CompleteInFlightThrough(tree_.last_zxid());
      }
      InFlight item;
      bool local = false;
      if (!in_flight_.empty() && in_flight_.front().has_txn &&
          in_flight_.front().zxid == e.zxid) {
        item = std::move(in_flight_.front());
        in_flight_.pop_front();
        local = true;
      } else if (!item.txn.ParseFromArray(e.data.data(),
                                          static_cast<int>(e.data.size())) ||
                 item.txn.zxid() != e.zxid) {
        Fail(MakeError(Error::kDataInconsistency,
                       absl::StrCat("undecodable committed entry ",
                                    zab::ZxidString(e.zxid))));
        break;
      }
      WriteOutcome outcome;
      outcome.zxid = e.zxid;
      size_t first_event = apply_out_.events.size();
      outcome.status = tree_.Apply(item.txn, &apply_out_, &outcome.results);
      if (!outcome.status.ok()) {
        // The tree no longer matches the log: stop committing, and never
        // record the partial change as applied.
        Fail(outcome.status);
        apply_out_.Clear();
        break;
      }
      ++applied_txns;
      if (item.txn.has_error()) {
        const txn::ErrorTxn& err = item.txn.error();
        outcome.status = MakeError(static_cast<Error>(err.error()), err.message());
        if (err.failed_op() >= 0) {
          outcome.status = WithFailedOpIndex(outcome.status, err.failed_op());
        }
        outcome.results.clear();
      }
      preparer_->Applied(e.zxid);
      // Published before the completion runs: a caller that sees its write
      // complete then sees it in GetHealth().last_zxid too.
      last_applied_ = tree_.last_zxid();
      for (size_t i = first_event; i < apply_out_.events.size(); ++i) {
        watches_.Trigger(apply_out_.events[i].path, apply_out_.events[i].type,
                         &deliveries);
      }
      apply_out_.events.clear();
      NoteSessionChange(item.txn);
      // This txn's watch events, then its completion: the order users see.
      for (Delivery& d : deliveries) {
        tasks.push_back([w = std::move(d.watcher), e = std::move(d.event)] {
          (*w)(e);
        });
      }
      deliveries.clear();
      dispatcher_->PostAll(&tasks);
      if (local) {
        Complete(item.done, std::move(outcome));
      } else if (ensemble_ && item.txn.origin() == self_id_) {
        CompleteForwarded(item.txn, std::move(outcome));
      }
      CompleteInFlightThrough(tree_.last_zxid());
    }
    // Persist what changed (written, unsynced, with the next log round).
    StageDirtyState(applied_txns);
  }
  // Alone, the applied txns live on in the tree and the store's log; the
  // core needs no copy (nobody to synchronize). An ensemble's core keeps
  // the log_retention tail for DIFFs (FlushToLog compacts it).
  if (!ensemble_) core_->Compact(last_applied_.load());
}

void Coordinator::Impl::StageDirtyState(int64_t txns) {
  checkpointer_->Changed(&apply_out_.dirty_nodes, &apply_out_.dirty_sessions,
                         txns);
  apply_out_.Clear();
}

void Coordinator::Impl::EncodeCheckpoint() {
  StrSet nodes;
  absl::flat_hash_set<int64_t> sessions;
  checkpointer_->Take(last_applied_.load(), SteadyMs(SteadyClock::now()), &nodes,
                      &sessions);
  ReaderLock lock(&tree_mu_);
  state_batch_.SetNodeCount(tree_.node_count());
  for (const std::string& path : nodes) {
    if (tree_.Find(path)) {
      state_batch_.PutNode(path, tree_.EncodeNode(path));
    } else {
      state_batch_.DeleteNode(path);
    }
  }
  for (int64_t id : sessions) {
    if (tree_.sessions().contains(id)) {
      state_batch_.PutSession(id, tree_.EncodeSession(id));
    } else {
      state_batch_.DeleteSession(id);
    }
  }
}

void Coordinator::Impl::FlushToLog(bool checkpoint) {
  // After a failure nothing more is written: the store keeps its last
  // consistent state.
  if (log_busy_ || !failed_.ok()) return;
  const Zxid applied = last_applied_.load();
  const bool unsaved = checkpointer_->Behind(applied);
  if (to_log_.empty() && !unsaved) return;
  checkpoint = unsaved && (checkpoint || checkpointer_->Due(
                                             applied,
                                             /*idle=*/to_log_.empty() &&
                                                 in_flight_.empty(),
                                             SteadyMs(SteadyClock::now())));
  if (to_log_.empty() && !checkpoint) return;
  if (checkpoint) EncodeCheckpoint();
  for (const LogEntry& e : to_log_) checkpointer_->Logged(e.zxid);
  const Zxid trim_through = checkpointer_->TakeTrim();
  // The core keeps the same tail, for DIFFs to lagging learners.
  if (ensemble_ && trim_through != 0) core_->Compact(trim_through);
  if (!to_log_.empty()) {
    log_syncs_.fetch_add(1, std::memory_order_relaxed);
    txns_logged_.fetch_add(static_cast<int64_t>(to_log_.size()),
                           std::memory_order_relaxed);
  }
  log_writer_->Submit(&to_log_, &state_batch_, checkpointer_->checkpoint_zxid(),
                      trim_through);
  log_busy_ = true;
}

void Coordinator::Impl::RunTimers(SteadyClock::time_point now) {
  if (now < next_cleanup_) return;
  next_cleanup_ = now + ToChrono(options_.cleanup_interval);
  core_->Tick();
  const int64_t now_ms = WallMs();
  PrepareCleanups(now_ms);
  // Our session and the remote clients' are alive as long as we are.
  std::vector<int64_t> alive;
  {
    MutexLock lock(&inbox_mu_);
    alive.assign(hosted_sessions_.begin(), hosted_sessions_.end());
  }
  if (own_.id() != 0) alive.push_back(own_.id());
  OnTouch(alive, now);
  ExpireSessions(now, now_ms);
}

void Coordinator::Impl::PrepareCleanups(int64_t now_ms) {
  std::vector<std::string> candidates;
  {
    ReaderLock lock(&tree_mu_);
    candidates = tree_.CleanupCandidates(now_ms);
  }
  for (std::string& path : candidates) {
    Pending p;
    p.request.mutable_cleanup()->set_path(std::move(path));
    p.auth = system_auth_;
    Prepare(&p, now_ms);
    if (!in_flight_.back().has_txn) in_flight_.pop_back();  // no longer due
  }
}

void Coordinator::Impl::ExpireSessions(SteadyClock::time_point now,
                                       int64_t now_ms) {
  for (int64_t id : sessions_.TakeExpired(SteadyMs(now))) {
    Pending p;
    p.request.mutable_close_session();
    p.session = id;
    p.auth = system_auth_;
    Prepare(&p, now_ms);
  }
}

void Coordinator::Impl::FailUncommitted(
    const std::function<absl::Status(const InFlight&)>& status_of) {
  std::deque<InFlight> keep;
  while (!in_flight_.empty()) {
    InFlight item = std::move(in_flight_.front());
    in_flight_.pop_front();
    if (item.zxid <= committed_) {
      keep.push_back(std::move(item));
      continue;
    }
    WriteOutcome o;
    o.status = status_of(item);
    Complete(item.done, std::move(o));
  }
  in_flight_.swap(keep);
}

void Coordinator::Impl::Fail(absl::Status status) {
  if (!failed_.ok()) return;
  failed_ = std::move(status);
  Log(options_, LogLevel::kError, std::string(failed_.message()));
}

void Coordinator::Impl::FailAll(const absl::Status& status) {
  // Nothing queued or in flight will complete any other way: at shutdown,
  // or after a failure (when even committed txns can no longer be applied
  // here, so their outcome is unknown to this peer's callers).
  std::vector<Pending> inbox;
  {
    MutexLock lock(&inbox_mu_);
    inbox.swap(inbox_);
  }
  for (Pending& p : inbox) parked_.push_back(std::move(p));
  while (!parked_.empty()) {
    Pending p = std::move(parked_.front());
    parked_.pop_front();
    WriteOutcome o;
    o.status = status;
    Complete(p.done, std::move(o));
  }
  while (!forwarded_.empty()) {
    Forwarded f = std::move(forwarded_.front());
    forwarded_.pop_front();
    WriteOutcome o;
    o.status = status;
    Complete(f.done, std::move(o));
  }
  while (!in_flight_.empty()) {
    InFlight item = std::move(in_flight_.front());
    in_flight_.pop_front();
    WriteOutcome o;
    o.status = status;
    Complete(item.done, std::move(o));
  }
  if (!failed_.ok()) {
    to_log_.clear();
    to_apply_.clear();
    preparer_->Reset();
  }
}

}  // namespace synod
