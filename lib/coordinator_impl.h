// Coordinator::Impl: wires the layers and owns the threads.
//
//  - application threads: read the tree under a shared lock; enqueue writes
//    to the inbox and wait (or return, for the async forms);
//  - the loop thread: prepares requests into txns, hands them to the log
//    writer, applies durable txns under the exclusive lock, queues watch
//    events and completions to the dispatcher before releasing that lock;
//  - the log writer thread: group commit into LevelDB;
//  - the dispatcher thread: runs watchers and callbacks, in order.
//
// Lock order: tree_mu_ -> WatchManager's mutex -> dispatcher's mutex.
// inbox_mu_ and auth_mu_ are leaves.

#ifndef SYNOD_COORDINATOR_IMPL_H_
#define SYNOD_COORDINATOR_IMPL_H_

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "acl/acl.h"
#include "runtime/dispatcher.h"
#include "runtime/log_writer.h"
#include "storage/store.h"
#include "synod/coordinator.h"
#include "tree/data_tree.h"
#include "txn/preparer.h"
#include "txn/txn.pb.h"
#include "util/mutex.h"
#include "watch/watch_manager.h"
#include "zab/core.h"

namespace synod {

// The outcome of a write as the loop reports it.
struct WriteOutcome {
  absl::Status status;
  Zxid zxid = 0;
  std::vector<OpResult> results;
};

class Coordinator::Impl {
 public:
  // Called on the loop thread when a write completes, in completion order.
  // Must not block; async callers hand their callback to the dispatcher.
  using Done = std::function<void(WriteOutcome&&)>;

  explicit Impl(Options options);
  ~Impl();

  // Opens storage, recovers the tree, starts the threads and the session.
  absl::Status Init();

  // Queues `request` for the leader on behalf of this Coordinator's session.
  void Submit(txn::Request request, Done done);
  // Submits and waits for the outcome.
  WriteOutcome SubmitAndWait(txn::Request request);

  // Reads (any thread).
  absl::StatusOr<Node> Get(std::string_view path, Watcher watcher);
  absl::StatusOr<std::optional<Stat>> Exists(std::string_view path,
                                             Watcher watcher);
  absl::StatusOr<std::vector<std::string>> GetChildren(std::string_view path,
                                                       Watcher watcher,
                                                       Stat* stat);
  absl::StatusOr<AclList> GetAcl(std::string_view path, Stat* stat);
  absl::Status AddWatch(std::string_view path, WatchMode mode, Watcher watcher);
  absl::Status RemoveWatches(std::string_view path, WatcherType type);
  absl::Status AddAuth(std::string_view scheme, std::string_view credentials);

  // Runs `task` on the dispatcher thread, behind everything queued so far.
  void Post(std::function<void()> task) { dispatcher_->Post(std::move(task)); }

  int64_t session_id() const { return session_id_; }
  Health GetHealth() const;
  const Options& options() const { return options_; }

 private:
  struct Pending {
    txn::Request request;
    int64_t session = 0;
    std::shared_ptr<const AuthInfo> auth;  // immutable; shared, not copied
    Done done;
  };
  // A request in the pipeline, completed in order once `zxid` is applied.
  struct InFlight {
    Zxid zxid = 0;
    bool has_txn = false;
    txn::Txn txn;
    absl::Status error;  // when !has_txn
    Done done;
  };

  void LoopMain();
  void Prepare(Pending* pending, int64_t now_ms);
  // Applies the prepared txns the core has committed, in order.
  void ApplyCommitted() ABSL_LOCKS_EXCLUDED(tree_mu_);
  // Elects this peer alone and commits (replays) its log's unapplied tail.
  absl::Status EstablishAlone();
  absl::Status ReplayCommitted(const std::vector<zab::Entry>& entries);
  // Takes the core's work: entries to the log writer, the commit point.
  void CollectReady();
  // Tells the core which of its entries the log writer made durable.
  void AdvanceDurable(Zxid durable);
  void FlushToLog();
  // Moves the records that applying txns changed into state_batch_.
  void StageDirtyState() ABSL_EXCLUSIVE_LOCKS_REQUIRED(tree_mu_);
  void RunTimers(std::chrono::steady_clock::time_point now);
  void FailAll(const absl::Status& status);
  void OnDurable(Zxid durable, absl::Status status);
  std::shared_ptr<const AuthInfo> auth() const;
  // The identity of the system's own requests (cleanup, expiry): super.
  const std::shared_ptr<const AuthInfo> system_auth_ = [] {
    auto a = std::make_shared<AuthInfo>();
    a->super = true;
    return a;
  }();
  bool Readable(const Znode& node) const;

  const Options options_;
  std::unique_ptr<Store> store_;

  // The replica. Written only by the loop thread, under tree_mu_.
  mutable SharedMutex tree_mu_;
  DataTree tree_ ABSL_GUARDED_BY(tree_mu_);
  WatchManager watches_;

  // Inbox of the loop thread.
  mutable Mutex inbox_mu_;
  std::vector<Pending> inbox_ ABSL_GUARDED_BY(inbox_mu_);
  Zxid durable_zxid_ ABSL_GUARDED_BY(inbox_mu_) = 0;
  bool log_round_done_ ABSL_GUARDED_BY(inbox_mu_) = false;
  absl::Status storage_status_ ABSL_GUARDED_BY(inbox_mu_);
  bool stopping_ ABSL_GUARDED_BY(inbox_mu_) = false;
  bool closed_ ABSL_GUARDED_BY(inbox_mu_) = false;

  // Loop-thread state.
  std::unique_ptr<Preparer> preparer_;
  std::unique_ptr<zab::Core> core_;
  Zxid last_assigned_ = 0;  // the last zxid given to a prepared txn
  Zxid committed_ = 0;      // the core's commit point
  // Readies whose entries the log writer has not yet made durable.
  std::deque<zab::Ready> awaiting_durable_;
  std::deque<InFlight> in_flight_;
  std::vector<LogEntry> to_log_;
  StateBatch state_batch_;
  bool state_dirty_ = false;
  bool log_busy_ = false;
  std::deque<Zxid> logged_zxids_;  // for trimming to log_retention
  absl::Status failed_;            // storage failure: nothing more commits
  ApplyOutput apply_out_;
  // Session deadlines of other sessions (from earlier runs), steady clock.
  absl::flat_hash_map<int64_t, std::chrono::steady_clock::time_point>
      session_deadlines_;
  std::chrono::steady_clock::time_point next_cleanup_;

  // This Coordinator's session.
  std::atomic<int64_t> session_id_{0};
  mutable Mutex auth_mu_;
  std::shared_ptr<const AuthInfo> auth_ ABSL_GUARDED_BY(auth_mu_);
  std::atomic<bool> auth_simple_{true};  // no identities, not super

  // Counters.
  std::atomic<int64_t> reads_{0};
  std::atomic<int64_t> writes_{0};
  std::atomic<int64_t> write_errors_{0};
  std::atomic<int64_t> pending_writes_{0};
  std::atomic<int64_t> log_syncs_{0};
  std::atomic<int64_t> txns_logged_{0};
  std::atomic<Zxid> last_applied_{0};
  std::atomic<int64_t> epoch_published_{0};
  std::atomic<zab::PeerState> role_{zab::PeerState::kLeading};

  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<LogWriter> log_writer_;
  std::thread loop_;
};

}  // namespace synod

#endif  // SYNOD_COORDINATOR_IMPL_H_
