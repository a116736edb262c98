// Server: recovery, the round, the Ready host's work (persistence order and
// barriers), and handing the log writer its group-commit writes.

#include "server/server.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tree/snapshot.h"
#include "util/errors.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/status_macros.h"

namespace synod::server {
namespace {

absl::Status StorageFailed(const absl::Status& s) {
  return MakeError(Error::kConnectionLoss,
                   absl::StrCat("storage failed: ", s.ToString()));
}

}  // namespace

void Inputs::Clear() {
  requests.clear();
  messages.clear();
  touches.clear();
  touch_acks.clear();
  hosted.clear();
  log_round = false;
  durable = 0;
  log_status = absl::OkStatus();
  stopping = false;
  joining.reset();
}

// The replica as the core's SnapshotSource. Called from Step, on the
// server's thread (the tree's only writer), so the tree cannot move under
// it; the shared lock is for the readers' sake only.
class Server::TreeSnapshots : public zab::SnapshotSource {
 public:
  explicit TreeSnapshots(Server* server) : server_(server) {}
  std::pair<Zxid, std::string> Snapshot() const override {
    std::pair<Zxid, std::string> out;
    // About a second per million znodes: the voters must not give up on
    // their leader meanwhile.
    std::vector<zab::PeerId> voters;
    for (zab::PeerId id : server_->config_.core.voters) {
      if (id != server_->self()) voters.push_back(id);
    }
    std::unique_ptr<KeepAlive> alive =
        server_->outbox_->KeepAliveWhile(std::move(voters));
    {
      ReaderLock lock(&server_->replica_->mu);
      out = {server_->replica_->tree.last_zxid(),
             EncodeSnapshot(server_->replica_->tree)};
    }
    Log(server_->options_, LogLevel::kInfo,
        absl::StrCat("peer ", server_->self(), ": encoded a snapshot at ",
                     zab::ZxidString(out.first), " (", out.second.size(),
                     " bytes)"));
    return out;
  }

 private:
  Server* const server_;
};

Server::Server(ServerConfig config, Storage* storage, Replica* replica,
               Outbox* outbox, const Clock* clock, Published* published)
    : config_(std::move(config)),
      options_(config_.options),
      storage_(storage),
      replica_(replica),
      outbox_(outbox),
      clock_(clock),
      published_(published),
      ensemble_(config_.ensemble),
      system_auth_([] {
        auto a = std::make_shared<AuthInfo>();
        a->super = true;
        return a;
      }()),
      pipeline_([this](WriteDone& done, WriteOutcome&& outcome) {
        Complete(done, std::move(outcome));
      }),
      router_(config_.core.self, config_.first_request,
              [this](WriteDone& done, WriteOutcome&& outcome) {
                Complete(done, std::move(outcome));
              }),
      sessions_(absl::ToInt64Milliseconds(config_.options.tick)),
      own_lease_(OwnLease::Window(
          absl::ToInt64Milliseconds(config_.options.session_timeout),
          absl::ToInt64Milliseconds(config_.options.tick),
          config_.core.follower_timeout, config_.core.ping_ticks)) {
  if (!ensemble_) own_lease_.SetUnbounded();
}

Server::~Server() = default;

absl::Status Server::Recover() {
  // The applied-state records, then the log's tail.
  {
    WriterLock lock(&replica_->mu);
    replica_->tree.Reserve(storage_->node_count_hint());
    DataTree::LoadCursor cursor;
    absl::Status s = storage_->LoadState(
        [this, &cursor](std::string_view path, std::string_view record)
            ABSL_NO_THREAD_SAFETY_ANALYSIS {  // under the lock, in LoadState
              return replica_->tree.LoadNode(path, record, &cursor);
            },
        [this](int64_t id, std::string_view record)
            ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return replica_->tree.LoadSession(id, record);
            });
    SYNOD_RETURN_IF_ERROR(StorageError(s));
    replica_->tree.SetLastZxid(storage_->applied_zxid());
    published_->last_applied = replica_->tree.last_zxid();
  }
  const Zxid applied = published_->last_applied.load();
  CheckpointPolicy policy;
  policy.log_retention = options_.log_retention;
  // The last checkpoint counts as long ago: an idle peer takes one at once.
  checkpointer_ = std::make_unique<Checkpointer>(policy, applied, /*now_ms=*/0);

  // The zab core starts from the applied state plus the log's unapplied
  // tail.
  zab::DurableState durable;
  durable.accepted_epoch = storage_->accepted_epoch();
  durable.current_epoch = storage_->current_epoch();
  durable.base_zxid = applied;
  // The configuration as of the applied state; none stored: the founding
  // one (no change ever applied here).
  // (A runtime's founders store theirs, with addresses, at first start.)
  applied_config_ =
      zab::FoundingConfig(config_.core.voters, config_.core.observers);
  durable.base_config = applied_config_;
  if (absl::StatusOr<std::string> stored = storage_->GetMeta(kConfigMeta);
      stored.ok()) {
    absl::StatusOr<zab::Config> config = zab::DecodeConfig(*stored);
    if (!config.ok()) {
      return MakeError(Error::kDataInconsistency,
                       absl::StrCat("the stored configuration is damaged: ",
                                    config.status().message()));
    }
    applied_config_ = *config;
    durable.base_config = *std::move(config);
  } else if (!absl::IsNotFound(stored.status())) {
    return StorageError(stored.status());
  }
  // A peer whose log lost records may lack committed txns it acked: it must
  // not vote, ack or lead until a leader elected without it has synced it.
  // The mark is durable until then (a restart finds the cut log intact).
  absl::StatusOr<std::string> recovering = storage_->GetMeta(kRecoveringMeta);
  durable.recovering = recovering.ok() && *recovering == "1";
  if (std::optional<LogDamage> damage = storage_->log_damage()) {
    Log(options_, LogLevel::kWarning,
        absl::StrCat("the txn log was damaged (", damage->what,
                     "); kept through ", zab::ZxidString(damage->kept_through),
                     ", lost records up to at least ",
                     zab::ZxidString(damage->durable_at_least),
                     ": this peer takes no part in quorums until a leader "
                     "elected without it has synced it"));
    SYNOD_RETURN_IF_ERROR(
        StorageError(storage_->PutMeta(kRecoveringMeta, "1", /*sync=*/true)));
    durable.recovering = true;
  }
  published_->recovering = durable.recovering;
  absl::StatusOr<std::string> left = storage_->GetMeta(kLeftMeta);
  durable.left = left.ok() && *left == "1";
  SYNOD_RETURN_IF_ERROR(StorageError(storage_->ReadLog(
      0, [&](Zxid zxid, std::string_view data) {
        checkpointer_->Logged(zxid);
        if (zxid > durable.base_zxid) {
          durable.log.push_back(zab::Entry{zxid, std::string(data)});
        }
        return true;
      })));
  if (config_.reported && durable.base_zxid == 0 && durable.log.empty()) {
    // Joining, nothing received yet: what a member reported stands in until
    // the leader's SNAP brings the state and its configuration.
    durable.needs_snapshot = true;
    durable.base_config = *config_.reported;
    applied_config_ = *config_.reported;
  }
  {
    ReaderLock lock(&replica_->mu);
    preparer_ =
        std::make_unique<Preparer>(&replica_->tree, LimitsFrom(options_));
  }
  int64_t previous_self = 0;
  if (absl::StatusOr<std::string> v = storage_->GetMeta(kSelfSessionMeta);
      v.ok()) {
    if (!absl::SimpleAtoi(*v, &previous_self)) previous_self = 0;
  }
  // Our session of an earlier run is certainly dead: it is closed as soon
  // as a leader serves, rather than after its timeout.
  own_.SetPreviousSession(previous_self);

  zab::CoreConfig core = config_.core;
  if (ensemble_) {
    snapshots_ = std::make_unique<TreeSnapshots>(this);
    core.snapshot_source = snapshots_.get();
  }
  core_ = std::make_unique<zab::Core>(core, std::move(durable));
  ready_host_ = std::make_unique<ReadyHost>(core_.get());
  ready_host_->set_send_everything_early(config_.mutation ==
                                         Mutation::kSendEverythingEarly);
  published_->epoch = storage_->current_epoch();
  published_->role = ensemble_ ? zab::PeerState::kLooking
                               : zab::PeerState::kLeading;
  {
    MutexLock lock(&published_->config_mu);
    published_->config = core_->configuration();
  }
  config_published_ = true;
  published_config_version_ = core_->configuration().version;
  last_assigned_ = core_->status().last_zxid;
  const int64_t now = clock_->SteadyMs();
  next_tick_ = now;
  next_cleanup_ = now;
  cleanups_from_ = now + absl::ToInt64Milliseconds(options_.cleanup_interval);
  return absl::OkStatus();
}

bool Server::established() const { return ensemble_ || leading_; }

int64_t Server::next_timer_ms() const {
  // Establishing: at once, unless a log write must end first.
  if (!established()) return clock_->SteadyMs() + (log_busy_ ? 1000 : 0);
  return ensemble_ ? std::min(next_cleanup_, next_tick_) : next_cleanup_;
}

bool Server::Drained() const {
  return stopping_ && (pipeline_.empty() || !failed_.ok()) && !log_busy_;
}

bool Server::CoreBlocked() const { return ready_host_->blocked(); }

ServerQueues Server::queues() const {
  ServerQueues q;
  q.parked = router_.parked();
  q.forwarded = router_.forwarded();
  q.uncommitted = pipeline_.Uncommitted(committed_);
  return q;
}

void Server::Round(Inputs* in) {
  stopping_ = in->stopping;
  if (in->joining) core_->SetJoining(*in->joining);
  for (const auto& [id, add] : in->hosted) {
    if (add) {
      hosted_.insert(id);
    } else {
      hosted_.erase(id);
    }
  }
  if (in->log_round) OnLogRound(in->durable, in->log_status);
  const int64_t now = clock_->SteadyMs();

  // Our session's requests belong to its generation as the round starts
  // (an expiry noticed in this round fails them). The shutdown's close of
  // our session: decided here, where own_ is.
  std::vector<Pending>& batch = in->requests;
  for (Pending& p : batch) p.own_generation = own_.generation();
  for (size_t i = 0; i < batch.size();) {
    if (batch[i].close_own && !ResolveOwnClose(&batch[i])) {
      batch.erase(batch.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }

  if (!established()) {
    // Alone, at start: the core elects itself (its epochs are barriers)
    // and commits its log's tail: the replay.
    CollectReady();
    ApplyCommitted();
    if (core_->next_zxid() != 0 && failed_.ok()) {
      const zab::CoreStatus st = core_->status();
      published_->epoch = st.current_epoch;
      published_->role = st.state;
      last_assigned_ = st.last_zxid;
      committed_ = st.committed_zxid;
      leading_ = true;  // alone, always
      {
        ReaderLock lock(&replica_->mu);
        sessions_.StartLeading(replica_->tree.sessions(), now);
      }
      own_.SetServing(true);
      NoteOwnSession();
    } else if (failed_.ok() && !CoreBlocked()) {
      if (++establish_rounds_ > 8) {
        Fail(MakeError(Error::kSystemError,
                       "a one-peer ensemble did not elect itself"));
      } else {
        core_->Tick();
      }
    }
    for (Pending& p : batch) router_.Park(std::move(p), now);
    batch.clear();
  } else if (ensemble_) {
    // A peer whose storage failed stops taking part: it goes silent.
    if (failed_.ok()) {
      if (CoreBlocked()) {
        for (zab::Message& m : in->messages) {
          held_messages_.push_back(std::move(m));
        }
      } else {
        for (zab::Message& m : held_messages_) core_->Step(m);
        held_messages_.clear();
        for (zab::Message& m : in->messages) core_->Step(m);
      }
    }
    // What the messages committed is applied before any timer prepares
    // a txn (a new leader's cleanups see its whole history).
    CollectReady();
    NoteCoreState();
    ApplyCommitted();
    OnTouches(in, now);
    // Ticking goes on while stopping: a leader that loses its quorum then
    // still steps down and fails what it cannot commit.
    if (failed_.ok()) EnsembleTimers(now, stopping_);
    CollectReady();
    NoteCoreState();
    for (Pending& p : batch) router_.Park(std::move(p), now);
    batch.clear();
    UnparkAll();
  } else {
    // Alone: a leader always serves; writes are prepared at once (behind
    // any that waited for the establishment).
    if (router_.has_parked()) UnparkAll();
    for (Pending& p : batch) {
      if (p.session == kOwnSession) {
        if (p.own_generation < own_.generation() || own_.id() == 0) {
          router_.Park(std::move(p), now);  // routed (failed or bound) below
          continue;
        }
        p.session = own_.id();
      }
      Prepare(&p);
    }
    batch.clear();
    if (!stopping_) AloneTimers(now);
    UnparkAll();
  }
  CollectReady();  // one Ready for the whole batch: one log round
  ApplyCommitted();
  FlushToLog(/*checkpoint=*/stopping_);
  // After a failure nothing commits: whatever waits fails at once.
  if (!failed_.ok()) FailAll(failed_, nullptr);
  in->Clear();
}

void Server::OnLogRound(Zxid durable, const absl::Status& status) {
  log_busy_ = false;
  durable_ = std::max(durable_, durable);
  if (!failed_.ok()) return;
  // What reached the log counts, even if the round then failed.
  HostWork work;
  ready_host_->OnDurable(durable_, &work);
  Process(&work);
  if (!status.ok() && failed_.ok()) {
    // What was durable before the failure commits first; the rest may or
    // may not be in the log: unknown outcome (ConnectionLoss), never
    // reported as failed.
    if (!ensemble_) {
      CollectReady();
      ApplyCommitted();
    }
    Fail(MakeError(Error::kConnectionLoss,
                   absl::StrCat("storage failed, no write can commit: ",
                                status.ToString())));
    return;
  }
  MaybePersistBarrier();
}

void Server::CollectReady() {
  while (failed_.ok() && !ready_host_->blocked()) {
    HostWork work;
    if (!ready_host_->TakeNext(&work)) return;
    Process(&work);
  }
}

void Server::Process(HostWork* work) {
  // Alone, the core serves once it elected itself (next_zxid != 0).
  if (!ensemble_ && leading_ &&
      (work->persist_barrier || !work->send.empty() || work->lost_leader ||
       !work->requests.empty())) {
    // A one-peer ensemble never truncates, sends, or changes epochs once
    // established; anything else is a bug that must not go unnoticed.
    Fail(MakeError(Error::kSystemError,
                   "unexpected zab work in a one-peer ensemble"));
    return;
  }
  SendMessages(&work->send);
  const Zxid appended = work->append.empty() ? 0 : work->append.back().zxid;
  for (zab::Entry& e : work->append) {
    if (config_.mutation == Mutation::kApplyBeforeCommit && ensemble_ &&
        !leading_) {
      to_apply_.push_back(e);
    }
    to_log_.push_back(LogEntry{e.zxid, std::move(e.data)});
  }
  if (config_.mutation == Mutation::kAckBeforeDurable && appended != 0) {
    HostWork early;
    ready_host_->OnDurable(appended, &early);
    Process(&early);
  }
  if (work->persist_barrier) {
    // Rare (elections, synchronization): written as soon as no log write
    // is in progress, after everything queued before it.
    barrier_due_ = true;
    MaybePersistBarrier();
  }
  if (work->install) InstallTree(work->install->zxid);
  if (!work->commit.empty()) {
    committed_ = std::max(committed_, work->commit.back().zxid);
    for (zab::Entry& e : work->commit) to_apply_.push_back(std::move(e));
  }
  if (work->lost_leader) OnLostLeader();
  for (const std::string& request : work->requests) PrepareForwarded(request);
}

void Server::MaybePersistBarrier() {
  if (!barrier_due_ || log_busy_ || !failed_.ok()) return;
  barrier_due_ = false;
  PersistBarrier(ready_host_->barrier());
  if (!failed_.ok()) return;
  // A stored snapshot is the store's state now, but not yet the tree's:
  // nothing may flush or apply until InstallTree (in Process(&done)).
  HostWork done;
  ready_host_->OnBarrierDone(&done);
  Process(&done);
  // The core may go on (held messages are stepped next round).
  CollectReady();
}

void Server::PersistBarrier(zab::Ready* rd) {
  absl::Status s;
  if (rd->snapshot) {
    StoreSnapshot(*rd->snapshot);
    if (!failed_.ok()) return;
  }
  if (rd->truncate_after) {
    s = storage_->TruncateLogAfter(*rd->truncate_after);
    // Entries that replace the truncated ones are durable only once
    // written again (durability is tracked by zxid).
    durable_ = std::min(durable_, *rd->truncate_after);
    checkpointer_->Truncated(*rd->truncate_after);
  }
  if (s.ok() && !rd->entries.empty()) {
    std::vector<LogEntry> entries;
    entries.reserve(rd->entries.size());
    for (zab::Entry& e : rd->entries) {
      entries.push_back(LogEntry{e.zxid, std::move(e.data)});
      checkpointer_->Logged(e.zxid);
    }
    s = storage_->AppendLog(entries, /*sync=*/true);
    published_->log_syncs.fetch_add(1, std::memory_order_relaxed);
    published_->txns_logged.fetch_add(static_cast<int64_t>(entries.size()),
                                      std::memory_order_relaxed);
  }
  if (s.ok() && rd->accepted_epoch) {
    s = storage_->SetAcceptedEpoch(*rd->accepted_epoch);
  }
  if (s.ok() && rd->current_epoch) {
    s = storage_->SetCurrentEpoch(*rd->current_epoch);
  }
  if (s.ok() && rd->recovered) {
    // Synced by a leader elected without us: a voter again.
    s = storage_->PutMeta(kRecoveringMeta, "0", /*sync=*/true);
    if (s.ok()) {
      published_->recovering = false;
      Log(options_, LogLevel::kWarning,
          absl::StrCat("peer ", self(), " was synced by leader ",
                       core_->status().leader,
                       " after its log was damaged: it votes again"));
    }
  }
  if (!s.ok()) Fail(StorageFailed(s));
}

void Server::SendMessages(std::vector<zab::Message>* messages) {
  // A failed peer is silent: it cannot keep the promises its messages make.
  if (failed_.ok()) {
    for (zab::Message& m : *messages) outbox_->Send(std::move(m));
  }
  messages->clear();
}

void Server::EncodeCheckpoint() {
  StrSet nodes;
  absl::flat_hash_set<int64_t> sessions;
  checkpointer_->Take(published_->last_applied.load(), clock_->SteadyMs(),
                      &nodes, &sessions);
  if (config_unsaved_) {
    state_batch_.PutMeta(kConfigMeta, zab::EncodeConfig(applied_config_));
    config_unsaved_ = false;
  }
  ReaderLock lock(&replica_->mu);
  state_batch_.SetNodeCount(replica_->tree.node_count());
  for (const std::string& path : nodes) {
    if (replica_->tree.Find(path)) {
      state_batch_.PutNode(path, replica_->tree.EncodeNode(path));
    } else {
      state_batch_.DeleteNode(path);
    }
  }
  for (int64_t id : sessions) {
    if (replica_->tree.sessions().contains(id)) {
      state_batch_.PutSession(id, replica_->tree.EncodeSession(id));
    } else {
      state_batch_.DeleteSession(id);
    }
  }
}

void Server::FlushToLog(bool checkpoint) {
  // After a failure nothing more is written: the store keeps its last
  // consistent state. A barrier due is written first.
  if (log_busy_ || barrier_due_ || !failed_.ok()) return;
  const Zxid applied = published_->last_applied.load();
  const bool unsaved = checkpointer_->Behind(applied);
  checkpoint = unsaved && (checkpoint ||
                           checkpointer_->Due(applied,
                                              /*idle=*/to_log_.empty() &&
                                                  pipeline_.empty(),
                                              clock_->SteadyMs()));
  if (!to_log_.empty() || checkpoint) {
    if (checkpoint) EncodeCheckpoint();
    for (const LogEntry& e : to_log_) checkpointer_->Logged(e.zxid);
    const Zxid trim_through = checkpointer_->TakeTrim();
    // The core keeps the same tail, for DIFFs to lagging learners.
    if (ensemble_ && trim_through != 0) core_->Compact(trim_through);
    if (!to_log_.empty()) {
      published_->log_syncs.fetch_add(1, std::memory_order_relaxed);
      published_->txns_logged.fetch_add(static_cast<int64_t>(to_log_.size()),
                                        std::memory_order_relaxed);
    }
    outbox_->WriteLog(&to_log_, &state_batch_, checkpointer_->checkpoint_zxid(),
                      trim_through);
    to_log_.clear();
    log_busy_ = true;
  }
  if (!log_busy_ && ready_host_->waiting_for_durable()) {
    Fail(MakeError(Error::kSystemError,
                   "a barrier waits for entries the log writer never got"));
  }
}

void Server::Fail(absl::Status status) {
  if (!failed_.ok()) return;
  failed_ = std::move(status);
  Log(options_, LogLevel::kError, std::string(failed_.message()));
}

void Server::FailAll(const absl::Status& status, std::vector<Pending>* more) {
  // Nothing queued or in flight will complete any other way: at shutdown,
  // or after a failure (when even committed txns can no longer be applied
  // here, so their outcome is unknown to this peer's callers).
  if (more) {
    for (Pending& p : *more) router_.Park(std::move(p), 0);
    more->clear();
  }
  router_.FailAll(status);
  pipeline_.FailAll(status);
  if (!failed_.ok()) {
    to_log_.clear();
    to_apply_.clear();
    if (preparer_) preparer_->Reset();
  }
}

}  // namespace synod::server
