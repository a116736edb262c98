// ReadyHost: the one implementation of the zab core's host contract
// (zab/core.h): what to persist, in which order, which messages may leave
// before their Ready is durable, and when to tell the core (Advance).
//
// It owns no thread, disk or socket: it takes the core's Readies one at a
// time and hands its owner the work each asks for (HostWork); the owner
// carries it out (sends, appends to the log, applies) and reports back when
// the log writer made entries durable (OnDurable) or a barrier write is done
// (OnBarrierDone). The threaded runtime and the simulation drive the same
// code.
//
// Two kinds of Ready:
//  - group-committed: log entries only (the common case: PROPOSALs, acks).
//    Their entries go to the log writer with whatever else is queued (one
//    sync for many Readies); their messages wait until the entries are
//    durable, except PROPOSALs (zab::MaySendBeforeDurable), which go at
//    once unless an earlier message to the same peer still waits (links
//    keep their order). The core hears of the entries (Advance) once they
//    are durable. Later Readies are taken meanwhile (pipelining).
//  - barriers: a snapshot, a truncation, a new epoch or the end of a
//    recovery (rare: elections and synchronization). A barrier is written
//    only once every entry handed out before it is durable, as one write;
//    nothing of it (messages, commits, forwarded requests) is released, and
//    no later Ready is taken, until the owner reports it done. While a
//    barrier is pending (blocked()), the owner must not Step, Tick or
//    Propose on the core: it queues its inputs until the barrier is done.

#ifndef SYNOD_SERVER_READY_HOST_H_
#define SYNOD_SERVER_READY_HOST_H_

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "zab/core.h"

namespace synod::server {

// The work one Ready, or one completion, asks of the owner. Carry it out in
// field order:
//  1. send `send`, in order;
//  2. hand `append` to the log writer, behind everything handed before, and
//     report OnDurable as the writer makes entries durable;
//  3. if `persist_barrier`: persist ReadyHost::barrier() (REQUIRES: no
//     write of the log writer in progress), durably, then report
//     OnBarrierDone;
//  4. install `install` (a snapshot a barrier made durable) as the applied
//     state, then apply `commit`, in order;
//  5. if `lost_leader`: fail what was forwarded or proposed and has not
//     been seen committed (its outcome is unknown);
//  6. on the leader: turn each of `requests` (forwarded by learners) into
//     an entry and Propose it.
struct HostWork {
  std::vector<zab::Message> send;
  std::vector<zab::Entry> append;
  bool persist_barrier = false;
  std::optional<zab::Snapshot> install;
  std::vector<zab::Entry> commit;
  std::vector<std::string> requests;
  bool lost_leader = false;

  // Returns true if there is nothing to do.
  bool empty() const {
    return send.empty() && append.empty() && !persist_barrier && !install &&
           commit.empty() && requests.empty() && !lost_leader;
  }
};

// Returns true if `ready` must be persisted as a barrier (it installs a
// snapshot, truncates, changes an epoch or ends a recovery).
bool IsBarrier(const zab::Ready& ready);

class ReadyHost {
 public:
  // `core` must outlive the host.
  explicit ReadyHost(zab::Core* core) : core_(core) {}

  ReadyHost(const ReadyHost&) = delete;
  ReadyHost& operator=(const ReadyHost&) = delete;

  // Takes the core's next Ready, if any and if no barrier is pending, and
  // adds what it asks for to `*work`. Returns false (adding nothing) when
  // there was none to take.
  bool TakeNext(HostWork* work);

  // Reports that the log writer made every entry through `zxid` durable;
  // adds the messages that waited for them (and a barrier that waited for
  // them, as persist_barrier) to `*work`, and tells the core.
  void OnDurable(Zxid zxid, HostWork* work);

  // Reports that the pending barrier (persist_barrier) is durable; adds its
  // messages, snapshot, commits and requests to `*work`, and tells the core.
  // REQUIRES: barrier_written().
  void OnBarrierDone(HostWork* work);

  // Calls `observer` with each Ready taken, before its work is handed out
  // (traces and checks in tests). Null: none.
  void set_observer(std::function<void(const zab::Ready&)> observer) {
    observer_ = std::move(observer);
  }

  // Tests only: every message of a group-committed Ready goes at once
  // (Mutation::kSendEverythingEarly).
  void set_send_everything_early(bool on) { send_everything_early_ = on; }

  // True while a barrier is taken and not done: see the file comment.
  bool blocked() const { return barrier_.has_value(); }
  // True while a barrier waits for entries to become durable before it can
  // be written (the owner should let its log writer finish).
  bool waiting_for_durable() const { return barrier_ && !barrier_written_; }
  // True once a barrier was handed out (persist_barrier) and not yet done.
  bool barrier_written() const { return barrier_ && barrier_written_; }
  // The pending barrier, to persist: its snapshot, truncate_after, entries,
  // accepted_epoch and current_epoch, and `recovered` (the rest is the
  // host's). The owner may move the entries' and snapshot's data out.
  // REQUIRES: barrier_written().
  zab::Ready* barrier() { return &*barrier_; }

  // True if entries handed out (append) are not yet all durable.
  bool entries_pending() const { return !awaiting_.empty(); }

 private:
  // A group-committed Ready waiting for its entries to become durable.
  struct Awaiting {
    Zxid last = 0;  // durable once this is
    std::vector<zab::Message> messages;
  };

  void Hold(Awaiting* a, zab::Message&& m);
  // Hands the barrier out once nothing is pending before it.
  void MaybeWriteBarrier(HostWork* work);

  zab::Core* const core_;
  std::function<void(const zab::Ready&)> observer_;
  std::deque<Awaiting> awaiting_;
  // Peers with messages held in awaiting_, and how many: a message that may
  // go early waits if its peer has one.
  std::map<zab::PeerId, int> held_to_;
  std::optional<zab::Ready> barrier_;
  bool barrier_written_ = false;
  bool send_everything_early_ = false;
  // What Advance needs of the barrier once done (the owner may have moved
  // its data out).
  Zxid barrier_last_ = 0;
  // Through which zxid the owner reported entries durable, lowered when a
  // barrier truncates or installs a snapshot below it.
  Zxid durable_ = 0;
};

}  // namespace synod::server

#endif  // SYNOD_SERVER_READY_HOST_H_
