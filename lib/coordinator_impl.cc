// Coordinator::Impl: startup and recovery, the loop thread, local reads.

#include "coordinator_impl.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tree/path.h"
#include "util/errors.h"
#include "util/log.h"
#include "util/status_macros.h"

namespace synod {
namespace {

constexpr char kSelfSessionMeta[] = "self_session";
// The peer id of a one-peer ensemble's only peer.
constexpr zab::PeerId kSelfPeer = 1;
using SteadyClock = std::chrono::steady_clock;

int64_t WallMs() { return absl::ToUnixMillis(absl::Now()); }

std::chrono::milliseconds ToChrono(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

absl::Status ClosingError() {
  return MakeError(Error::kClosing, "the Coordinator is shutting down");
}

// Maps storage's plain statuses onto synod errors, keeping the message.
absl::Status FromStorage(const absl::Status& s) {
  if (s.code() == absl::StatusCode::kDataLoss) {
    return MakeError(Error::kDataInconsistency, std::string(s.message()));
  }
  return s;
}

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
  if (o.max_data_bytes < 0 || o.max_data_bytes > (64 << 20)) {
    return BadArgumentsError(
        absl::StrCat("Options::max_data_bytes must be within 0..64 MiB, not ",
                     o.max_data_bytes));
  }
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
  bool alone = o.seeds.empty() || (o.seeds.size() == 1 && o.seeds[0] == o.listen);
  if (!alone || !o.listen.empty()) {
    return MakeError(Error::kUnimplemented,
                     "multi-peer ensembles (Options::listen, Options::seeds) "
                     "are not available in this version");
  }
  return absl::OkStatus();
}

}  // namespace

Coordinator::Impl::Impl(Options options) : options_(std::move(options)) {}

absl::Status Coordinator::Impl::Init() {
  SYNOD_RETURN_IF_ERROR(ValidateOptions(options_));
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options_.data_dir);
  if (!store.ok()) return FromStorage(store.status());
  store_ = std::move(*store);

  // Recover: the applied-state records, then the log's tail.
  {
    WriterLock lock(&tree_mu_);
    absl::Status s = store_->LoadState(
        [this](std::string_view path, std::string_view record)
            ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return tree_.LoadNode(path, record);
            },
        [this](int64_t id, std::string_view record)
            ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return tree_.LoadSession(id, record);
            });
    SYNOD_RETURN_IF_ERROR(FromStorage(s));
    tree_.SetLastZxid(store_->applied_zxid());
    last_applied_ = tree_.last_zxid();
  }

  // The zab core starts from the applied state plus the log's unapplied
  // tail. A one-peer ensemble elects itself, moves to a new epoch above
  // every one it has seen, and commits the tail: that is the replay.
  zab::DurableState durable;
  durable.accepted_epoch = store_->accepted_epoch();
  durable.current_epoch = store_->current_epoch();
  durable.base_zxid = last_applied_.load();
  SYNOD_RETURN_IF_ERROR(FromStorage(store_->ReadLog(
      0, [&](Zxid zxid, std::string_view data) {
        logged_zxids_.push_back(zxid);
        if (zxid > durable.base_zxid) {
          durable.log.push_back(zab::Entry{zxid, std::string(data)});
        }
        return true;
      })));
  zab::CoreConfig core_config;
  core_config.self = kSelfPeer;
  core_config.voters = {kSelfPeer};
  core_ = std::make_unique<zab::Core>(core_config, std::move(durable));
  preparer_ = std::make_unique<Preparer>(&tree_, options_.max_data_bytes);
  SYNOD_RETURN_IF_ERROR(EstablishAlone());
  {
    MutexLock lock(&auth_mu_);
    auto info = std::make_shared<AuthInfo>();
    info->ip = "127.0.0.1";
    auth_ = std::move(info);
  }

  // Sessions of earlier runs: our own previous session is certainly dead and
  // closes at once; any other gets its full timeout to come back.
  int64_t previous_self = 0;
  if (absl::StatusOr<std::string> v = store_->GetMeta(kSelfSessionMeta); v.ok()) {
    absl::SimpleAtoi(*v, &previous_self);
  }
  std::vector<int64_t> to_close;
  {
    ReaderLock lock(&tree_mu_);
    for (const auto& [id, timeout_ms] : tree_.sessions()) {
      if (id == previous_self) {
        to_close.push_back(id);
      } else {
        session_deadlines_[id] =
            SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
      }
    }
  }
  next_cleanup_ = SteadyClock::now();

  dispatcher_ = std::make_unique<Dispatcher>();
  log_writer_ = std::make_unique<LogWriter>(
      store_.get(),
      [this](Zxid durable, absl::Status status) { OnDurable(durable, status); });
  loop_ = std::thread([this] { LoopMain(); });

  for (int64_t id : to_close) {
    txn::Request close;
    close.mutable_close_session();
    MutexLock lock(&inbox_mu_);
    inbox_.push_back(Pending{std::move(close), id, system_auth_, nullptr});
  }

  txn::Request create;
  create.mutable_create_session()->set_timeout_ms(
      static_cast<int32_t>(absl::ToInt64Milliseconds(options_.session_timeout)));
  {
    // Submitted as the system: the session does not exist yet.
    Mutex mu;
    bool done = false;
    WriteOutcome outcome;
    {
      MutexLock lock(&inbox_mu_);
      pending_writes_.fetch_add(1, std::memory_order_relaxed);
      inbox_.push_back(Pending{std::move(create), 0, system_auth_,
                               [&](WriteOutcome&& o) {
                                 MutexLock l(&mu);
                                 outcome = std::move(o);
                                 done = true;
                               }});
    }
    MutexLock l(&mu);
    mu.Await([&done] { return done; });
    SYNOD_RETURN_IF_ERROR(outcome.status);
    session_id_ = outcome.zxid;
  }
  SYNOD_RETURN_IF_ERROR(store_->PutMeta(
      kSelfSessionMeta, std::to_string(session_id_.load()), /*sync=*/false));
  if (options_.session_watcher) {
    Watcher watcher = options_.session_watcher;
    dispatcher_->Post([watcher] {
      watcher(WatchEvent{EventType::kSession, SessionState::kConnected, ""});
    });
  }
  return absl::OkStatus();
}

Coordinator::Impl::~Impl() {
  if (loop_.joinable()) {
    if (session_id_ != 0) {
      txn::Request close;
      close.mutable_close_session();
      WriteOutcome o = SubmitAndWait(std::move(close));
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
  log_writer_.reset();  // finishes its last write
  if (dispatcher_ && options_.session_watcher) {
    Watcher watcher = options_.session_watcher;
    dispatcher_->Post([watcher] {
      watcher(WatchEvent{EventType::kSession, SessionState::kClosed, ""});
    });
  }
  dispatcher_.reset();  // runs everything queued
  store_.reset();
}

// ---- Writes -------------------------------------------------------------

void Coordinator::Impl::Submit(txn::Request request, Done done) {
  std::shared_ptr<const AuthInfo> a = auth();
  writes_.fetch_add(1, std::memory_order_relaxed);
  {
    MutexLock lock(&inbox_mu_);
    if (!stopping_) {
      pending_writes_.fetch_add(1, std::memory_order_relaxed);
      inbox_.push_back(Pending{std::move(request), session_id_.load(),
                               std::move(a),
                               std::move(done)});
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

void Coordinator::Impl::OnDurable(Zxid durable, absl::Status status) {
  MutexLock lock(&inbox_mu_);
  if (durable > durable_zxid_) durable_zxid_ = durable;
  if (!status.ok() && storage_status_.ok()) storage_status_ = status;
  log_round_done_ = true;
}

void Coordinator::Impl::LoopMain() {
  std::vector<Pending> batch;
  while (true) {
    bool round_done = false;
    bool stopping = false;
    Zxid durable = 0;
    absl::Status storage_status;
    {
      MutexLock lock(&inbox_mu_);
      // Stopping, the loop still waits for the log writer's last round.
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(inbox_mu_) {
        return !inbox_.empty() || log_round_done_ || (stopping_ && !log_busy_);
      };
      if (stopping_) {
        inbox_mu_.Await(ready);
      } else {
        auto wait = next_cleanup_ - SteadyClock::now();
        inbox_mu_.AwaitWithTimeout(
            ready,
            absl::FromChrono(std::max(wait, SteadyClock::duration::zero())));
      }
      batch.swap(inbox_);
      round_done = log_round_done_;
      log_round_done_ = false;
      durable = durable_zxid_;
      storage_status = storage_status_;
      stopping = stopping_;
    }
    if (round_done) log_busy_ = false;
    if (!storage_status.ok() && failed_.ok()) {
      failed_ = MakeError(Error::kSystemError,
                          absl::StrCat("storage failed, no write can commit: ",
                                       storage_status.ToString()));
      Log(options_, LogLevel::kError, std::string(failed_.message()));
      FailAll(failed_);
    }
    if (failed_.ok()) AdvanceDurable(durable);

    const int64_t now_ms = WallMs();
    for (Pending& p : batch) Prepare(&p, now_ms);
    batch.clear();
    if (!stopping) RunTimers(SteadyClock::now());
    CollectReady();  // one Ready for the whole batch: one log round
    ApplyCommitted();
    FlushToLog();
    if (stopping && in_flight_.empty() && !log_busy_) {
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
  if (p->request.body_case() == txn::Request::BODY_NOT_SET) {
    item.zxid = last_assigned_;  // a sync: done once all before it applied
  } else if (!failed_.ok()) {
    item.zxid = last_assigned_;
    item.error = failed_;
  } else if (core_->next_zxid() == 0) {
    item.zxid = last_assigned_;
    item.error = MakeError(Error::kConnectionLoss, "no serving leader");
  } else {
    const Zxid zxid = core_->next_zxid();
    absl::Status s = preparer_->Prepare(p->request, p->session, *p->auth, zxid,
                                        now_ms, &item.txn);
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
        failed_ = MakeError(Error::kSystemError, std::string(s.message()));
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
  // Carried out synchronously: nothing else runs yet.
  for (int round = 0; round < 8 && core_->next_zxid() == 0; ++round) {
    while (core_->HasReady()) {
      zab::Ready rd = core_->TakeReady();
      if (rd.accepted_epoch) {
        SYNOD_RETURN_IF_ERROR(store_->SetAcceptedEpoch(*rd.accepted_epoch));
      }
      if (rd.current_epoch) {
        SYNOD_RETURN_IF_ERROR(store_->SetCurrentEpoch(*rd.current_epoch));
      }
      if (!rd.committed.empty()) {
        SYNOD_RETURN_IF_ERROR(ReplayCommitted(rd.committed));
      }
      core_->Advance(rd);
    }
    core_->Tick();
  }
  if (core_->next_zxid() == 0) {
    return MakeError(Error::kSystemError, "a one-peer ensemble did not elect itself");
  }
  const zab::CoreStatus st = core_->status();
  epoch_published_ = st.current_epoch;
  role_ = st.state;
  last_assigned_ = st.last_zxid;
  committed_ = st.committed_zxid;
  return absl::OkStatus();
}

absl::Status Coordinator::Impl::ReplayCommitted(
    const std::vector<zab::Entry>& entries) {
  WriterLock lock(&tree_mu_);
  for (const zab::Entry& e : entries) {
    txn::Txn txn;
    if (!txn.ParseFromArray(e.data.data(), static_cast<int>(e.data.size())) ||
        txn.zxid() != e.zxid) {
      return MakeError(Error::kDataInconsistency,
                       absl::StrCat("undecodable log entry ", e.zxid));
    }
    SYNOD_RETURN_IF_ERROR(tree_.Apply(txn, &apply_out_, nullptr));
    apply_out_.events.clear();  // nobody can be watching yet
  }
  last_applied_ = tree_.last_zxid();
  StageDirtyState();
  return absl::OkStatus();
}

void Coordinator::Impl::CollectReady() {
  while (core_->HasReady()) {
    zab::Ready rd = core_->TakeReady();
    // A one-peer ensemble never truncates, sends, or changes epochs once
    // established; anything else is a bug that must not go unnoticed.
    if (rd.truncate_after || !rd.messages.empty() || rd.accepted_epoch ||
        rd.current_epoch || rd.lost_leader) {
      failed_ = MakeError(Error::kSystemError,
                          "unexpected zab work in a one-peer ensemble");
      Log(options_, LogLevel::kError, std::string(failed_.message()));
    }
    if (!rd.committed.empty()) committed_ = rd.committed.back().zxid;
    if (rd.entries.empty()) {
      core_->Advance(rd);
      continue;
    }
    // Advanced once the log writer reports these entries durable.
    zab::Ready stub;
    stub.entries.push_back(zab::Entry{rd.entries.back().zxid, std::string()});
    awaiting_durable_.push_back(std::move(stub));
    for (zab::Entry& e : rd.entries) {
      to_log_.push_back(LogEntry{e.zxid, std::move(e.data)});
    }
  }
}

void Coordinator::Impl::AdvanceDurable(Zxid durable) {
  while (!awaiting_durable_.empty() &&
         awaiting_durable_.front().entries.back().zxid <= durable) {
    core_->Advance(awaiting_durable_.front());
    awaiting_durable_.pop_front();
  }
  CollectReady();  // the commits that durability allowed
}

void Coordinator::Impl::ApplyCommitted() {
  if (in_flight_.empty() || in_flight_.front().zxid > committed_) return;
  std::vector<Delivery> deliveries;
  std::vector<Dispatcher::Task> tasks;
  {
    WriterLock lock(&tree_mu_);
    while (!in_flight_.empty() && in_flight_.front().zxid <= committed_) {
      InFlight item = std::move(in_flight_.front());
      in_flight_.pop_front();
      WriteOutcome outcome;
      outcome.zxid = item.zxid;
      if (item.has_txn) {
        size_t first_event = apply_out_.events.size();
        outcome.status = tree_.Apply(item.txn, &apply_out_, &outcome.results);
        if (!outcome.status.ok()) {
          // The tree no longer matches the log: stop committing.
          failed_ = outcome.status;
          Log(options_, LogLevel::kError, std::string(failed_.message()));
        }
        preparer_->Applied(item.zxid);
        // Published before the completion runs: a caller that sees its write
        // complete then sees it in GetHealth().last_zxid too.
        last_applied_ = tree_.last_zxid();
        for (size_t i = first_event; i < apply_out_.events.size(); ++i) {
          watches_.Trigger(apply_out_.events[i].path, apply_out_.events[i].type,
                           &deliveries);
        }
        apply_out_.events.clear();
      } else {
        outcome.status = std::move(item.error);
      }
      // This txn's watch events, then its completion: the order users see.
      for (Delivery& d : deliveries) {
        tasks.push_back([w = std::move(d.watcher), e = std::move(d.event)] {
          (*w)(e);
        });
      }
      deliveries.clear();
      dispatcher_->PostAll(&tasks);
      if (!outcome.status.ok()) write_errors_.fetch_add(1, std::memory_order_relaxed);
      if (item.done) {
        pending_writes_.fetch_sub(1, std::memory_order_relaxed);
        item.done(std::move(outcome));
      }
    }
    // Persist what changed (written, unsynced, with the next log round).
    StageDirtyState();
  }
  // The applied txns live on in the tree and the store's log; the core
  // needs no copy (a one-peer ensemble has nobody to synchronize).
  core_->Compact(last_applied_.load());
}

void Coordinator::Impl::StageDirtyState() {
  for (const std::string& path : apply_out_.dirty_nodes) {
    if (tree_.Find(path)) {
      state_batch_.PutNode(path, tree_.EncodeNode(path));
    } else {
      state_batch_.DeleteNode(path);
    }
  }
  for (int64_t id : apply_out_.dirty_sessions) {
    if (tree_.sessions().contains(id)) {
      state_batch_.PutSession(id, tree_.EncodeSession(id));
    } else {
      state_batch_.DeleteSession(id);
    }
  }
  if (!apply_out_.dirty_nodes.empty() || !apply_out_.dirty_sessions.empty()) {
    state_dirty_ = true;
  }
  apply_out_.Clear();
}

void Coordinator::Impl::FlushToLog() {
  if (log_busy_ || (to_log_.empty() && !state_dirty_)) return;
  for (const LogEntry& e : to_log_) logged_zxids_.push_back(e.zxid);
  Zxid trim_through = 0;
  const Zxid applied = last_applied_.load();
  while (static_cast<int64_t>(logged_zxids_.size()) > options_.log_retention &&
         logged_zxids_.front() <= applied) {
    trim_through = logged_zxids_.front();
    logged_zxids_.pop_front();
  }
  if (!to_log_.empty()) {
    log_syncs_.fetch_add(1, std::memory_order_relaxed);
    txns_logged_.fetch_add(static_cast<int64_t>(to_log_.size()),
                           std::memory_order_relaxed);
  }
  log_writer_->Submit(&to_log_, &state_batch_, applied, trim_through);
  state_dirty_ = false;
  log_busy_ = true;
}

void Coordinator::Impl::RunTimers(SteadyClock::time_point now) {
  if (now < next_cleanup_) return;
  next_cleanup_ = now + ToChrono(options_.cleanup_interval);
  core_->Tick();
  const int64_t now_ms = WallMs();
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
  for (auto it = session_deadlines_.begin(); it != session_deadlines_.end();) {
    if (now >= it->second) {
      Pending p;
      p.request.mutable_close_session();
      p.session = it->first;
      p.auth = system_auth_;
      Prepare(&p, now_ms);
      session_deadlines_.erase(it++);
    } else {
      ++it;
    }
  }
}

void Coordinator::Impl::FailAll(const absl::Status& status) {
  // Nothing prepared will commit: complete everything not yet applied.
  std::vector<Pending> inbox;
  {
    MutexLock lock(&inbox_mu_);
    inbox.swap(inbox_);
  }
  for (Pending& p : inbox) {
    if (!p.done) continue;
    pending_writes_.fetch_sub(1, std::memory_order_relaxed);
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    WriteOutcome o;
    o.status = status;
    p.done(std::move(o));
  }
  if (!status.ok() && ErrorOf(status) == Error::kClosing) return;
  // Storage failed: prepared txns that are not durable never will be.
  std::deque<InFlight> keep;
  while (!in_flight_.empty()) {
    InFlight item = std::move(in_flight_.front());
    in_flight_.pop_front();
    if (item.zxid <= committed_) {
      keep.push_back(std::move(item));
      continue;
    }
    if (item.done) {
      pending_writes_.fetch_sub(1, std::memory_order_relaxed);
      write_errors_.fetch_add(1, std::memory_order_relaxed);
      WriteOutcome o;
      o.status = status;
      item.done(std::move(o));
    }
  }
  in_flight_.swap(keep);
  to_log_.clear();
  preparer_->Reset();
}

// ---- Reads ------------------------------------------------------------------

std::shared_ptr<const AuthInfo> Coordinator::Impl::auth() const {
  MutexLock lock(&auth_mu_);
  return auth_;
}

bool Coordinator::Impl::Readable(const Znode& node) const {
  for (const Acl& a : *node.acl) {
    if ((a.perms & perms::kRead) && a.scheme == "world") return true;
  }
  return Permits(*node.acl, perms::kRead, *auth());
}

absl::StatusOr<Node> Coordinator::Impl::Get(std::string_view path,
                                            Watcher watcher) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  reads_.fetch_add(1, std::memory_order_relaxed);
  ReaderLock lock(&tree_mu_);
  const Znode* node = tree_.Find(path);
  if (!node) return NoNodeError(path);
  if (!Readable(*node)) return NoAuthError(path);
  if (watcher) watches_.AddDataWatch(path, std::move(watcher));
  return Node{node->data, node->stat};
}

absl::StatusOr<std::optional<Stat>> Coordinator::Impl::Exists(
    std::string_view path, Watcher watcher) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  reads_.fetch_add(1, std::memory_order_relaxed);
  ReaderLock lock(&tree_mu_);
  const Znode* node = tree_.Find(path);
  if (watcher) watches_.AddDataWatch(path, std::move(watcher));
  if (!node) return std::optional<Stat>();
  return std::optional<Stat>(node->stat);
}

absl::StatusOr<std::vector<std::string>> Coordinator::Impl::GetChildren(
    std::string_view path, Watcher watcher, Stat* stat) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  reads_.fetch_add(1, std::memory_order_relaxed);
  ReaderLock lock(&tree_mu_);
  const Znode* node = tree_.Find(path);
  if (!node) return NoNodeError(path);
  if (!Readable(*node)) return NoAuthError(path);
  if (watcher) watches_.AddChildWatch(path, std::move(watcher));
  if (stat) *stat = node->stat;
  return std::vector<std::string>(node->children.begin(), node->children.end());
}

absl::StatusOr<AclList> Coordinator::Impl::GetAcl(std::string_view path,
                                                  Stat* stat) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  reads_.fetch_add(1, std::memory_order_relaxed);
  ReaderLock lock(&tree_mu_);
  const Znode* node = tree_.Find(path);
  if (!node) return NoNodeError(path);
  // As ZooKeeper 3.6+: reading an ACL takes READ or ADMIN.
  std::shared_ptr<const AuthInfo> a = auth();
  if (!Permits(*node->acl, perms::kRead | perms::kAdmin, *a)) {
    return NoAuthError(path);
  }
  if (stat) *stat = node->stat;
  return *node->acl;
}

absl::Status Coordinator::Impl::AddWatch(std::string_view path, WatchMode mode,
                                         Watcher watcher) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  if (!watcher) return BadArgumentsError("AddWatch needs a watcher");
  // Registered under the tree lock so no change slips between a read and
  // the registration made by the same thread.
  ReaderLock lock(&tree_mu_);
  watches_.AddPersistentWatch(path, mode, std::move(watcher));
  return absl::OkStatus();
}

absl::Status Coordinator::Impl::RemoveWatches(std::string_view path,
                                              WatcherType type) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  std::vector<Delivery> removed;
  ReaderLock lock(&tree_mu_);
  if (watches_.Remove(path, type, &removed) == 0) {
    return MakeError(Error::kNoWatcher,
                     absl::StrCat("no watch of that type on ", AV(path)));
  }
  std::vector<Dispatcher::Task> tasks;
  for (Delivery& d : removed) {
    tasks.push_back([w = std::move(d.watcher), e = std::move(d.event)] { (*w)(e); });
  }
  dispatcher_->PostAll(&tasks);
  return absl::OkStatus();
}

absl::Status Coordinator::Impl::AddAuth(std::string_view scheme,
                                        std::string_view credentials) {
  SYNOD_ASSIGN_OR_RETURN(AuthId id, Authenticate(scheme, credentials));
  MutexLock lock(&auth_mu_);
  auto next = std::make_shared<AuthInfo>(*auth_);
  if (!options_.super_digest.empty() && id.scheme == "digest" &&
      id.id == options_.super_digest) {
    next->super = true;
  }
  if (std::find(next->ids.begin(), next->ids.end(), id) == next->ids.end()) {
    next->ids.push_back(std::move(id));
  }
  auth_ = std::move(next);
  return absl::OkStatus();
}

Health Coordinator::Impl::GetHealth() const {
  Health h;
  h.role = role_.load() == zab::PeerState::kLeading
               ? "leader"
               : zab::PeerStateName(role_.load());
  h.epoch = epoch_published_.load();
  h.last_zxid = last_applied_.load();
  h.session_id = session_id_.load();
  {
    ReaderLock lock(&tree_mu_);
    h.znode_count = tree_.node_count();
    h.ephemeral_count = tree_.ephemeral_count();
    h.session_count = static_cast<int64_t>(tree_.sessions().size());
  }
  h.watch_count = watches_.size();
  h.reads = reads_.load(std::memory_order_relaxed);
  h.writes = writes_.load(std::memory_order_relaxed);
  h.write_errors = write_errors_.load(std::memory_order_relaxed);
  h.pending_writes = pending_writes_.load(std::memory_order_relaxed);
  h.log_syncs = log_syncs_.load(std::memory_order_relaxed);
  h.txns_logged = txns_logged_.load(std::memory_order_relaxed);
  h.events_delivered = dispatcher_ ? dispatcher_->tasks_run() : 0;
  return h;
}

}  // namespace synod
