// What the server (server.h) needs from whoever runs it: a clock, and an
// outbox for its effects. The threaded runtime implements them with the
// system clock, the peer network, the log writer thread and the dispatcher
// thread; a simulation implements them with queues and a virtual clock, so
// whole servers run deterministically in one thread.

#ifndef SYNOD_SERVER_OUTBOX_H_
#define SYNOD_SERVER_OUTBOX_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "storage/storage.h"
#include "zab/message.h"

namespace synod::server {

// The server's only source of time.
class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock milliseconds since the Unix epoch: txn times (mtime, TTLs).
  // May jump, and differ between peers.
  virtual int64_t WallMs() const = 0;
  // Monotonic milliseconds: timers, session deadlines, parked requests.
  virtual int64_t SteadyMs() const = 0;
  // Monotonic microseconds, for latencies (SteadyMs's resolution unless a
  // clock has better).
  virtual int64_t SteadyUs() const { return SteadyMs() * 1000; }
};

// Keeps heartbeats going while it lives (Outbox::KeepAlive).
class KeepAlive {
 public:
  virtual ~KeepAlive() = default;
};

// Where the server's effects go. Called only from the thread driving the
// server; none of them calls back into it.
class Outbox {
 public:
  virtual ~Outbox() = default;
  // Sends `message` to its peer (message.to); lost if the peer is not
  // reachable (zab tolerates that).
  virtual void Send(zab::Message&& message) = 0;
  // Tells `leader` that these sessions (hosted here) are alive, as of
  // `sent_ms` on this server's steady clock (echoed by SendTouchAck).
  virtual void SendTouch(zab::PeerId leader, std::vector<int64_t>&& sessions,
                         int64_t sent_ms) = 0;
  // Tells `learner` that its touch sent at `sent_ms` was applied by this
  // serving leader, but for the sessions `untracked`.
  virtual void SendTouchAck(zab::PeerId learner, int64_t sent_ms,
                            std::vector<int64_t>&& untracked) = 0;
  // Starts one group-commit write: `entries` (synced), the applied-state
  // changes `state` as of `applied` (not synced) and a trim of the log
  // through `trim_through` (0: none); takes their contents. The server
  // starts a write only when none is in progress, and learns its end from
  // Inputs::log_round.
  virtual void WriteLog(std::vector<LogEntry>* entries, StateBatch* state,
                        Zxid applied, Zxid trim_through) = 0;
  // Runs `tasks` (watch events, session events) in order, after everything
  // posted before, on a thread that holds no lock of the server; takes them.
  virtual void Post(std::vector<std::function<void()>>* tasks) = 0;
  // Returns an object that, while it lives, sends `peers` a heartbeat every
  // tick: the server is about to take one long step (encoding or loading a
  // snapshot) and must not be given up on meanwhile. May return null.
  virtual std::unique_ptr<KeepAlive> KeepAliveWhile(
      std::vector<zab::PeerId> peers) = 0;
};

}  // namespace synod::server

#endif  // SYNOD_SERVER_OUTBOX_H_
