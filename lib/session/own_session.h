// The Coordinator's own session as one state machine: created once a
// leader serves, connected while one serves, expired when the ensemble
// closes it without our asking, closed at shutdown. It replaces the host's
// flags (creating, closing, expired, connected, was-serving, session
// state) and decides the session events the user's session watcher sees.
//
//   state          id  visible to the user  how it is left
//   kNone          0   Disconnected         CreateStarted -> kCreating
//   kCreating      0   Disconnected         Created -> kConnected (serving)
//                                             or kDisconnected; CreateFailed
//                                             -> kNone (retried)
//   kConnected     id  Connected            not serving -> kDisconnected;
//                                             expired -> kExpired
//   kDisconnected  id  Disconnected         serving -> kConnected;
//                                             expired -> kExpired
//   kExpired       0   Expired              CreateStarted -> kRenewing
//   kRenewing      0   Expired              Created -> kConnected (serving)
//                                             or kDisconnected, reported;
//                                             CreateFailed -> kExpired
//   kClosing       any as when requested    Closed -> kClosed
//   kClosed        any Closed               (final)
//
// "Expired" is a committed close_session of our id that we did not ask for
// (the leader expired it), or a snapshot installed without our id (the
// close was in the history the snapshot skipped). An expiry is not the end:
// the user hears Expired, and once a leader serves the host creates a new
// session (kRenewing) and the user hears Connected (or Disconnected) again,
// as a Curator client does with a new handle. Each expiry starts a new
// generation: requests made in an earlier one fail SessionExpired rather
// than run on the new session. CloseRequested moves every state but
// kExpired and kClosed to kClosing, and asks the caller to
// submit close_session only from kConnected: without a serving leader the
// session cannot be closed and expires on the ensemble, as in ZooKeeper.
// Closed ends every state; a Coordinator that shuts down reports Closed
// last, whatever came before (ZooKeeper's client does the same).
//
// Events: the user's view starts as Disconnected; every change of it is
// queued once, in order (TakeEvents). Nothing is reported in kClosing but
// the final Closed: after close the user hears nothing else.
//
// Inputs that do not apply in the current state are ignored (changing
// nothing, reporting nothing), never asserted: they come from asynchronous
// sources whose late or repeated arrival is legitimate, e.g. a create
// outcome after shutdown began, a leader change while closing, a close
// txn of our id replayed or seen after a snapshot already told us. A host
// must not crash on such a race; the state machine absorbs it. The full
// table is in Next() (own_session.cc) and docs/sessions.md.
//
// Pure and deterministic: no clock, threads or I/O. Not thread-safe: the
// host's loop thread owns it and publishes id(), connected() and Usable()
// to other threads itself.

#ifndef SYNOD_SESSION_OWN_SESSION_H_
#define SYNOD_SESSION_OWN_SESSION_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "synod/watch.h"

namespace synod {

class OwnSession {
 public:
  enum class State {
    kNone,          // no session yet (and none being created)
    kCreating,      // a create_session is on its way
    kConnected,     // created, and a leader serves
    kDisconnected,  // created, but no leader serves
    kExpired,       // the ensemble closed it without our asking
    kRenewing,      // expired, and a new session's create is on its way
    kClosing,       // shutdown: the close was requested
    kClosed,        // shut down (final)
  };

  // The inputs of the state machine, as Next() takes them. The methods
  // below turn the host's observations into these.
  enum class Input {
    kServing,            // a leader serves (this peer or another)
    kNotServing,         // no leader serves
    kCreateStarted,      // the host submitted a create_session for us
    kCreated,            // it committed (with our id)
    kCreateFailed,       // it failed; retry once serving
    kExpiredByEnsemble,  // a close_session of our id we did not ask for,
                         // or a snapshot without our id
    kCloseRequested,     // shutdown began
    kClosed,             // shutdown finished
  };

  // The outcome of `input` in `state`: the next state and whether the
  // user's view changes (`report`, with `event`). `ignored` when the input
  // does not apply in `state` (next == state, nothing reported).
  struct Transition {
    State next;
    bool ignored = false;
    bool report = false;
    SessionState event = SessionState::kDisconnected;
  };
  // Returns the transition for `input` in `state`, given whether a leader
  // serves (`serving`, which decides where kCreated leads). The whole table.
  static Transition Next(State state, Input input, bool serving);

  // Returns the name of `state`, e.g. "Connected" (traces, tests).
  static const char* StateName(State state);

  // Starts in kNone, not serving, with no previous session.
  OwnSession() = default;

  // Notes whether a leader serves (called on every core state change;
  // repeats change nothing).
  void SetServing(bool serving);
  // Notes that the host submitted a create_session for this Coordinator.
  // Call when ShouldCreate() says so.
  void CreateStarted();
  // The create_session committed as `id` (its zxid, > 0). Ignored for
  // id <= 0. In kClosing the id is recorded (the host may persist it so
  // the next run closes it) but nothing else changes.
  void Created(int64_t id);
  // The create_session failed; ShouldCreate() says when to retry.
  void CreateFailed();
  // A close_session of `id` committed. Ours (id == this->id(), not asked
  // for): the ensemble expired it; id() is 0 from then until a new session
  // is created. Others' ids are ignored, as is ours after CloseRequested.
  void CloseCommitted(int64_t id);
  // A snapshot was installed; `contains_session` says whether its session
  // table holds id(). Without it our session is gone: expired.
  void SnapshotInstalled(bool contains_session);
  // Shutdown begins. Returns true if the host should submit close_session
  // for id() now (a connected session); false if there is nothing it can
  // close (none yet, no serving leader: the session then expires on the
  // ensemble; already expired or closing).
  bool CloseRequested();
  // Shutdown is complete: reports Closed (once).
  void Closed();

  // Sets the session id this data directory held in an earlier run (0 for
  // none): that session is certainly dead and is closed once a leader
  // serves rather than left to expire.
  void SetPreviousSession(int64_t id) { previous_ = id > 0 ? id : 0; }
  // Returns the previous run's session id to close now, once: non-zero only
  // while a leader serves and before shutdown, and 0 from then on.
  int64_t TakePreviousToClose();

  // Returns true if the host should submit a create_session now: a leader
  // serves, there is no session (none yet, or the last one expired), none
  // is being created, and it is not shutting down.
  bool ShouldCreate() const {
    return (state_ == State::kNone || state_ == State::kExpired) && serving_;
  }

  // Returns the session events to report to the user's session watcher
  // since the last call, in order, each once.
  std::vector<SessionState> TakeEvents();

  // Returns the session id: 0 until created, and from an expiry until the
  // new session is created.
  int64_t id() const { return id_; }
  // Returns how many of this Coordinator's sessions expired: the
  // generation of the current (or coming) session. A request made in an
  // earlier generation must not run on a later generation's session.
  int64_t generation() const { return generation_; }
  // Returns true in kConnected.
  bool connected() const { return state_ == State::kConnected; }
  // Returns OK if requests may still go: Closing once closed; OK otherwise
  // (while no session exists, none yet or a new one after an expiry,
  // requests wait for it).
  absl::Status Usable() const;

  State state() const { return state_; }
  bool serving() const { return serving_; }

 private:
  // Applies `input`; returns false if it was ignored.
  bool Apply(Input input);
  // Our session was closed without our asking: kExpired, a new generation.
  void Expire();

  State state_ = State::kNone;
  bool serving_ = false;
  int64_t id_ = 0;
  int64_t previous_ = 0;
  int64_t generation_ = 0;
  std::vector<SessionState> events_;
};

}  // namespace synod

#endif  // SYNOD_SESSION_OWN_SESSION_H_
