// ZkConnection: one client connection speaking ZooKeeper's protocol, over
// the peer that hosts it (transport::ClientHost). It takes the bytes the
// client sends and gives back the bytes to send it; the server that owns
// it (zk_server.h) moves them over the socket. No socket, thread or clock
// of its own: the server calls it on its loop thread alone, with the time,
// and the host's completions and watch events come back to that thread
// through the server's Poster. So the whole protocol is tested without a
// socket, deterministically (zk_connection_test.cc).
//
// A connection begins with a ConnectRequest. Session id 0 opens a new
// session: created through the leader like any write, with a fresh random
// password of which the ensemble keeps the digest
// (transport/session_secret.h). Another id resumes that session: after a
// sync through the leader (so the replica holds everything the client
// saw), the session must be open and the password must match its digest;
// otherwise the client is told the session expired (timeout 0) and the
// connection closes. While attached, the peer keeps the session alive
// (ClientHost::AddHostedSession); when the connection goes, the session
// stays open on the ensemble for its timeout, with its ephemerals, for the
// client to resume anywhere; only closeSession ends it at once.
//
// Requests run in order: writes and syncs are submitted at once (the host
// runs a session's writes in order); everything answered here (reads,
// watches, auth, ...) waits until the session's earlier writes completed,
// so replies leave in request order and a read sees the session's own
// writes. Pings are answered at once. A write's reply, and a read's reply
// on a connection with watches, go out after the watch events the host
// queued before them (ClientHost::RunAfterEvents): a client hears of a
// change it watches before it sees the change's result, as ZooKeeper
// promises.
//
// Bounded whatever the client sends: a frame longer than the peer's
// max_request_bytes or malformed (zkwire/zk_requests.h) closes the
// connection; input is not read while kMaxInFlight requests are
// unanswered; a client that reads nothing while its watches fire loses its
// connection (kMaxOutputBytes).

#ifndef SYNOD_ZKSERVER_ZK_CONNECTION_H_
#define SYNOD_ZKSERVER_ZK_CONNECTION_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "synod/options.h"
#include "synod/types.h"
#include "synod/watch.h"
#include "transport/client_host.h"
#include "zkserver/four_letter_words.h"
#include "zkwire/zk_records.h"
#include "zkwire/zk_requests.h"
#include "zkwire/zk_responses.h"

namespace synod::zkserver {

class ZkConnection;

// Runs tasks on the server's loop thread. Thread-safe.
class Poster {
 public:
  virtual ~Poster() = default;
  // Queues `task` to run on the loop thread later, never inline; once the
  // server stopped, drops it.
  virtual void Post(std::function<void()> task) = 0;
};

// The server a connection belongs to. Called on the loop thread.
class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  // `conn` serves session `id` from now on. Another connection of this
  // server serving it (the client moved to a new connection) is closed
  // (its OnClosed called) before this returns, once `conn` is recorded:
  // so the old one does not stop hosting the session.
  virtual void Attach(int64_t id, ZkConnection* conn) = 0;
  // `conn` no longer serves `id`. Returns true if it was the one serving
  // it (the caller then stops hosting the session).
  virtual bool Detach(int64_t id, ZkConnection* conn) = 0;
  // The answer to a four-letter word (four_letter_words.h) the connection
  // received in place of its handshake.
  virtual std::string AnswerWord(std::string_view word) = 0;
};

class ZkConnection : public std::enable_shared_from_this<ZkConnection> {
 public:
  // Most requests read and not yet answered; input waits meanwhile.
  static constexpr size_t kMaxInFlight = 256;
  // How long a connection may take to send its handshake (or a
  // four-letter word) before it is closed: ZooKeeper's sessionless
  // connection timeout.
  static constexpr int64_t kHandshakeTimeoutMs = 10000;
  // Most bytes waiting to be sent before the connection is dropped.
  static constexpr size_t kMaxOutputBytes = size_t{64} << 20;

  // `host`, `options`, `owner` must outlive the connection; `auth` is what
  // the connection proves (its address, a certificate's x509 subject).
  ZkConnection(transport::ClientHost* host, const Options* options,
               std::shared_ptr<Poster> poster, ConnectionOwner* owner,
               AuthInfo auth, int64_t now_ms);
  ~ZkConnection();

  ZkConnection(const ZkConnection&) = delete;
  ZkConnection& operator=(const ZkConnection&) = delete;

  // Takes bytes the client sent; complete frames run at once.
  void OnInput(std::string_view bytes, int64_t now_ms);
  // The bytes to send the client. The server sends a prefix and erases it.
  std::string& output() { return out_; }
  // Whether the server may read more input now.
  bool wants_input() const;
  // Whether the connection is over: close it once output() is sent (its
  // session is not closed by that, unless the client asked).
  bool finished() const { return finished_; }
  // Called every tick: ends a connection idle past its session's timeout
  // (a client that vanished; its session then expires on the ensemble),
  // whose session the ensemble closed (expired), that has not sent its
  // handshake within kHandshakeTimeoutMs of opening, or that began a
  // session while the peer has no leader serving it
  // (ClientHost::ServesClients; a handshake then is not answered).
  void OnTick(int64_t now_ms);
  // The socket is closed (or the server stops, or the session moved to
  // another connection): the connection stops serving its session, drops
  // its watches, and ignores whatever completes later. Idempotent.
  void OnClosed();

  // The session served (0 before the handshake completes).
  int64_t session() const { return session_; }
  // What ZooKeeper's cons and stat tell of it (all but its address).
  ConnectionReport Report() const;

 private:
  enum class Phase { kAwaitConnect, kConnecting, kOpen, kClosing, kClosed };

  // Runs the complete frames at the front of in_.
  void RunFrames();
  void OnConnect(const zkwire::ConnectRequest& request);
  // The outcome of the create or the resume's sync.
  void OnSessionCreated(WriteOutcome&& o, int32_t timeout_ms,
                        const std::string& password);
  void OnResumeSynced(WriteOutcome&& o,
                      const zkwire::ConnectRequest& request);
  void Accept(int64_t id, int32_t timeout_ms, const std::string& password);
  // Tells the client its session is gone, then ends the connection.
  void RefuseSession();
  // Runs what can run of pending_, in order.
  void Pump();
  void Submit(zkwire::Request&& request);
  void SubmitClose(int32_t xid);
  // Answers a request answered here (not a write, sync or close).
  void Answer(zkwire::Request&& request);
  void Read(const zkwire::Request& request);
  void MultiRead(const zkwire::Request& request);
  void Auth(const zkwire::Request& request);
  void SetWatches(const zkwire::Request& request);
  void OnWriteDone(const zkwire::Request& request, WriteOutcome&& o);
  // A watcher that sends its events on this connection (removal events
  // are the client's own to make, as ZooKeeper's server sends none).
  Watcher MakeWatcher();
  void SendEvent(const WatchEvent& e);

  // Sends a reply: its header, then `body` if it succeeded and has one.
  // In order (Emit) unless `in_order` is false (pings); the connection
  // ends after it if `then_finish`.
  void Reply(int32_t xid, int64_t zxid, zkwire::ZkError err,
             const zkwire::OpResult* body = nullptr, bool in_order = true,
             bool then_finish = false);
  // Sends `frame` in request order: at once, or, on a connection with
  // watches (or with replies already routed so), behind the watch events
  // the host queued so far (ClientHost::RunAfterEvents). `zxid`: the
  // reply's (0 for a frame that is no reply). `write_done`: it answers a
  // submitted write or sync, which stops being outstanding when it is
  // sent.
  void Emit(std::string frame, int64_t zxid, bool write_done,
            bool then_finish = false);
  // The zxid a ping's reply carries: one the client has every event of.
  int64_t PingZxid() const;
  // Output grew: drops the connection if the client is not reading.
  void CheckOutput();
  void Finish() { finished_ = true; }
  // Appends a frame to the output (counted as sent).
  void Send(std::string_view frame);

  transport::ClientHost* const host_;
  const Options* const options_;
  const std::shared_ptr<Poster> poster_;
  ConnectionOwner* const owner_;
  const int32_t max_frame_bytes_;

  Phase phase_ = Phase::kAwaitConnect;
  bool finished_ = false;
  std::shared_ptr<const AuthInfo> auth_;
  int64_t session_ = 0;
  int32_t timeout_ms_ = 0;
  int64_t last_heard_ms_ = 0;
  const int64_t opened_ms_;
  bool has_watches_ = false;

  // For Report(): the latest time the server gave, and what ZooKeeper's
  // cons shows.
  int64_t now_ms_ = 0;
  int64_t established_ms_ = 0;
  int64_t received_ = 0;
  int64_t sent_ = 0;
  int32_t last_type_ = 0;  // the last request's opcode (0: none yet)
  int32_t last_cxid_ = -1;
  int64_t last_zxid_ = -1;
  // The largest zxid of a reply sent (Emit), every event before it sent.
  int64_t sent_zxid_ = 0;
  int64_t last_response_ms_ = 0;

  std::string in_;
  std::string out_;
  std::deque<zkwire::Request> pending_;
  size_t writes_outstanding_ = 0;
  // Replies being routed behind watch events (AfterEvents).
  size_t replies_routing_ = 0;
};

}  // namespace synod::zkserver

#endif  // SYNOD_ZKSERVER_ZK_CONNECTION_H_
