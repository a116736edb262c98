// Server: applying what the core committed to the replica, in order: each
// txn's watch events are posted, then its write completes (the order users
// see); and installing a leader's snapshot.

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/server.h"
#include "tree/snapshot.h"
#include "util/errors.h"
#include "util/log.h"

namespace synod::server {
namespace {

// Turns watch deliveries into dispatcher tasks.
void ToTasks(std::vector<Delivery>* deliveries,
             std::vector<std::function<void()>>* tasks) {
  for (Delivery& d : *deliveries) {
    tasks->push_back(
        [w = std::move(d.watcher), e = std::move(d.event)] { (*w)(e); });
  }
  deliveries->clear();
}

}  // namespace

void Server::ApplyCommitted() {
  if (to_apply_.empty() &&
      !pipeline_.ErrorDue(published_->last_applied.load())) {
    return;
  }
  std::vector<Delivery> deliveries;
  std::vector<std::function<void()>> tasks;
  int64_t applied_txns = 0;
  {
    WriterLock lock(&replica_->mu);
    pipeline_.CompleteThrough(replica_->tree.last_zxid());
    while (!to_apply_.empty() && failed_.ok()) {
      zab::Entry e = std::move(to_apply_.front());
      to_apply_.pop_front();
      if (e.zxid <= replica_->tree.last_zxid()) continue;  // applied state
      std::optional<Pipeline::Item> mine =
          pipeline_.TakeCommitted(e.zxid, replica_->tree.last_zxid());
      if (zab::IsConfigData(e.data)) {
        // A configuration change: no node changes, the applied state's
        // configuration does (persisted with the next checkpoint).
        absl::StatusOr<zab::Config> config = zab::ConfigOfEntry(e);
        if (mine.has_value() || !config.ok()) {
          Fail(MakeError(Error::kDataInconsistency,
                         absl::StrCat("bad committed config entry ",
                                      zab::ZxidString(e.zxid))));
          break;
        }
        applied_config_ = *std::move(config);
        config_unsaved_ = true;
        replica_->tree.SetLastZxid(e.zxid);
        ++applied_txns;
        preparer_->Applied(e.zxid);
        published_->last_applied = e.zxid;
        Log(options_, LogLevel::kInfo,
            absl::StrCat("peer ", self(), " applied configuration ",
                         zab::DescribeConfig(applied_config_)));
        pipeline_.CompleteThrough(e.zxid);
        continue;
      }
      Pipeline::Item item;
      const bool local = mine.has_value();
      if (local) {
        item = std::move(*mine);
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
      outcome.status =
          replica_->tree.Apply(item.txn, &apply_out_, &outcome.results);
      if (!outcome.status.ok()) {
        // The tree no longer matches the log: stop committing, and never
        // record the partial change as applied.
        Fail(outcome.status);
        apply_out_.Clear();
        break;
      }
      ++applied_txns;
      if (apply_observer_) apply_observer_(item.txn);
      if (item.txn.has_error()) {
        const txn::ErrorTxn& err = item.txn.error();
        outcome.status =
            MakeError(static_cast<Error>(err.error()), err.message());
        if (err.failed_op() >= 0) {
          outcome.status = WithFailedOpIndex(outcome.status, err.failed_op());
        }
        outcome.results.clear();
      }
      preparer_->Applied(e.zxid);
      for (size_t i = first_event; i < apply_out_.events.size(); ++i) {
        const TreeEvent& ev = apply_out_.events[i];
        replica_->watches.Trigger(ev.path, ev.type, ev.acl.get(), &deliveries);
      }
      apply_out_.events.clear();
      NoteSessionChange(item.txn);
      // This txn's watch events, then its completion: the order users see.
      ToTasks(&deliveries, &tasks);
      if (!tasks.empty()) outbox_->Post(&tasks);
      // Published after its events are queued (whoever reads a zxid and
      // then queues a task behind the events has it follow every event of
      // that txn: a remote reply carrying the zxid, ClientReply.zxid), and
      // before the completion runs (a caller that sees its write complete
      // sees it in GetHealth().last_zxid too).
      published_->last_applied = replica_->tree.last_zxid();
      const bool succeeded = outcome.status.ok();
      int64_t submitted_us = 0;
      if (local) {
        submitted_us = item.submitted_us;
        Complete(item.done, std::move(outcome));
      } else if (ensemble_ && item.txn.origin() == self()) {
        submitted_us =
            router_.CompleteForwarded(item.txn.request(), std::move(outcome));
      }
      if (succeeded && submitted_us > 0) {
        published_->write_latency.Observe(clock_->SteadyUs() - submitted_us);
      }
      pipeline_.CompleteThrough(replica_->tree.last_zxid());
    }
    // Persist what changed (written, unsynced, with the next log round).
    StageDirtyState(applied_txns);
  }
  // Alone, the applied txns live on in the tree and the store's log; the
  // core needs no copy (nobody to synchronize). An ensemble's core keeps
  // the log_retention tail for DIFFs (FlushToLog compacts it).
  if (!ensemble_) core_->Compact(published_->last_applied.load());
}

void Server::StageDirtyState(int64_t txns) {
  checkpointer_->Changed(&apply_out_.dirty_nodes, &apply_out_.dirty_sessions,
                         txns);
  apply_out_.Clear();
}

void Server::StoreSnapshot(const zab::Snapshot& snapshot) {
  // Loading a large snapshot takes seconds; the leader hears from us
  // meanwhile.
  std::vector<zab::PeerId> leader;
  if (core_->status().leader != 0) leader.push_back(core_->status().leader);
  std::unique_ptr<KeepAlive> alive = outbox_->KeepAliveWhile(std::move(leader));
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
  if (s.ok() && !snapshot.config.has_value()) {
    s = MakeError(Error::kDataInconsistency,
                  "the snapshot carries no configuration");
  }
  if (s.ok()) {
    batch.SetNodeCount(fresh->node_count());
    batch.PutMeta(kConfigMeta, zab::EncodeConfig(*snapshot.config));
    s = storage_->ReplaceState(&batch, snapshot.zxid);
  }
  if (!s.ok()) {
    Fail(MakeError(Error::kSystemError,
                   absl::StrCat("installing the leader's snapshot failed: ",
                                s.ToString())));
    return;
  }
  // The store holds the snapshot's state whole: nothing older is unsaved.
  checkpointer_->SnapshotStored(snapshot.zxid);
  durable_ = std::min(durable_, snapshot.zxid);
  installing_ = std::move(fresh);
  installing_config_ = *snapshot.config;
  Log(options_, LogLevel::kInfo,
      absl::StrCat("peer ", self(), " stored the leader's snapshot at ",
                   zab::ZxidString(snapshot.zxid), " (", snapshot.data.size(),
                   " bytes)"));
}

void Server::InstallTree(Zxid zxid) {
  if (!installing_ || installing_->last_zxid() != zxid) {
    Fail(MakeError(Error::kSystemError,
                   "the snapshot to install is not the one stored"));
    return;
  }
  std::vector<Delivery> deliveries;
  std::vector<std::function<void()>> tasks;
  {
    WriterLock lock(&replica_->mu);
    // Watchers learn what changed between the two trees, as if the
    // skipped txns had been applied one by one.
    if (replica_->watches.size() > 0) {
      for (const TreeEvent& ev : DiffTrees(replica_->tree, *installing_)) {
        replica_->watches.Trigger(ev.path, ev.type, ev.acl.get(), &deliveries);
      }
      ToTasks(&deliveries, &tasks);
      if (!tasks.empty()) outbox_->Post(&tasks);
    }
    replica_->tree = std::move(*installing_);
    // Counted before the zxid is published: whoever sees the snapshot's
    // zxid applied (Health, a test waiting on it) sees it counted.
    published_->snapshots_installed.fetch_add(1, std::memory_order_relaxed);
    published_->last_applied = replica_->tree.last_zxid();
    applied_config_ = installing_config_;
    config_unsaved_ = false;  // stored with the snapshot
    if (own_.id() != 0) {
      own_.SnapshotInstalled(replica_->tree.sessions().contains(own_.id()));
    }
  }
  NoteOwnSession();
  if (install_observer_) install_observer_(zxid);
  installing_.reset();
  preparer_->Reset();
  Log(options_, LogLevel::kInfo,
      absl::StrCat("peer ", self(), " installed the leader's snapshot at ",
                   zab::ZxidString(zxid)));
}

}  // namespace synod::server
