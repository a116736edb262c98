// Pipeline: this peer's own writes between routing and completion, in the
// order they were prepared (ZooKeeper's outstanding requests). A prepared
// txn completes when it applies; one that a different txn overtook at
// apply never committed (a lost leadership) and fails; an error or a sync
// carries no txn and completes once every txn prepared before it has
// applied, so one session's outcomes arrive in submission order.
//
// Pure: the owner says what applied and what committed; completions go to
// the Completer given at construction, in order.

#ifndef SYNOD_SERVER_PIPELINE_H_
#define SYNOD_SERVER_PIPELINE_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <optional>

#include "absl/status/status.h"
#include "server/write_outcome.h"
#include "synod/types.h"
#include "txn/txn.pb.h"

namespace synod::server {

class Pipeline {
 public:
  // One write in the pipeline.
  struct Item {
    // A txn's zxid; for an error or a sync, the last zxid prepared before
    // it (it completes once that applied).
    Zxid zxid = 0;
    bool has_txn = false;
    txn::Txn txn;         // when has_txn
    absl::Status error;   // when !has_txn (OK: a sync)
    WriteDone done;
    int64_t submitted_us = 0;  // Pending::submitted_us
  };
  // Receives each completion.
  using Completer = std::function<void(WriteDone& done, WriteOutcome&&)>;

  explicit Pipeline(Completer complete) : complete_(std::move(complete)) {}

  // Appends `item`. REQUIRES: a txn's zxid is above every zxid before it.
  void Push(Item item) { items_.push_back(std::move(item)); }
  bool empty() const { return items_.empty(); }
  // The last item pushed. REQUIRES: !empty().
  const Item& back() const { return items_.back(); }
  // Drops the last item pushed without completing it. REQUIRES: !empty().
  void DropBack() { items_.pop_back(); }

  // True if an error or sync waits at the front for no more than `applied`
  // (CompleteThrough(applied) would complete it).
  bool ErrorDue(Zxid applied) const;

  // Completes the errors and syncs at the front waiting for zxids at or
  // below `applied`, in order.
  void CompleteThrough(Zxid applied);

  // The committed txn at `zxid` is about to apply, with everything through
  // `applied` applied: our txns prepared below `zxid` never committed and
  // fail (ConnectionLoss), with the errors behind them; then, if our txn
  // at `zxid` is next, it is taken out and returned to complete once
  // applied.
  std::optional<Item> TakeCommitted(Zxid zxid, Zxid applied);

  // Fails (with `status_of(item)`) every item above `committed`: what a
  // lost leadership leaves undecided. Items at or below it stay.
  void FailAbove(Zxid committed,
                 const std::function<absl::Status(const Item&)>& status_of);

  // Fails every item with `status`.
  void FailAll(const absl::Status& status);

  // How many txns above `committed` wait.
  size_t Uncommitted(Zxid committed) const;

 private:
  void CompleteFront(WriteOutcome&& outcome);

  const Completer complete_;
  std::deque<Item> items_;
};

}  // namespace synod::server

#endif  // SYNOD_SERVER_PIPELINE_H_
