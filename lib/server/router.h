// Router: where this peer's writes wait while it cannot prepare them
// itself. Parked: no leader serves (or our own session does not exist
// yet); each round routes them, in order, to be prepared here (leading) or
// forwarded to the leader (following). Forwarded: sent to the leader as a
// ForwardedRequest, waiting for its txn to come back through the log. Both
// fail after the session timeout; forwarded ones also when the leader is
// lost (their outcome is unknown).
//
// Pure: the owner says where the peer stands and how to prepare and
// propose; completions go to the Completer given at construction.

#ifndef SYNOD_SERVER_ROUTER_H_
#define SYNOD_SERVER_ROUTER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "acl/acl.h"
#include "server/pipeline.h"
#include "server/write_outcome.h"
#include "txn/txn.pb.h"
#include "zab/message.h"

namespace synod::server {

// The session id meaning "this Coordinator's own session".
inline constexpr int64_t kOwnSession = -1;

// A write (or a sync: an empty request) waiting to be routed.
struct Pending {
  txn::Request request;
  // The session it runs for; kOwnSession: this Coordinator's, resolved
  // when it is routed (it may not exist yet).
  int64_t session = 0;
  std::shared_ptr<const AuthInfo> auth;  // immutable; shared, not copied
  WriteDone done;
  int64_t parked_at_ms = 0;  // steady clock: when it was parked
  // For kOwnSession: the generation of our session it was made in
  // (OwnSession::generation(), stamped as the server takes it). A request
  // of an expired generation fails SessionExpired instead of running on
  // the session that replaced it.
  int64_t own_generation = 0;
  // The shutdown's close of our own session: the server decides whether
  // there is one to close (OwnSession::CloseRequested).
  bool close_own = false;
  // When it was submitted (the server's Clock::SteadyUs; 0: not timed):
  // the start of its write latency.
  int64_t submitted_us = 0;
};

class Router {
 public:
  // Where the peer stands, for one round of routing.
  struct Standing {
    bool leading = false;   // prepares writes itself
    bool learning = false;  // follows or observes a serving leader
    int64_t own_session = 0;  // 0: none yet (or expired, none new yet)
    int64_t own_generation = 0;  // OwnSession::generation()
    // Not OK: our own session's writes fail so (it is closed).
    absl::Status own_unusable;
    // Not OK: the server failed; every write fails so.
    absl::Status failed;
  };

  // `first_request` numbers this run's forwarded requests (never reused
  // across runs).
  Router(zab::PeerId self, uint64_t first_request,
         Pipeline::Completer complete)
      : self_(self),
        next_request_(first_request),
        complete_(std::move(complete)) {}

  // Parks `p` (at steady time `now`) behind every parked write.
  void Park(Pending p, int64_t now);
  bool has_parked() const { return !parked_.empty(); }
  size_t parked() const { return parked_.size(); }
  size_t forwarded() const { return forwarded_.size(); }

  // Routes every parked write, in order: prepared (`prepare`) when leading,
  // forwarded (through `propose`, which hands the core an encoded
  // ForwardedRequest) when learning, failed when the server failed or our
  // expired session is theirs; the rest stays parked, in order. What is
  // routable is the same for all writes of one session, so each session's
  // writes keep their order.
  void Route(const Standing& standing, int64_t now,
             const std::function<void(Pending*)>& prepare,
             const std::function<absl::Status(std::string)>& propose);

  // The txn of our forwarded request `request` applied with `outcome`: it
  // completes, and older ones still waiting, which the leader dropped,
  // fail (the leader proposes forwarded requests in the order sent).
  // Returns the completed write's submitted_us (0 if none was completed).
  int64_t CompleteForwarded(uint64_t request, WriteOutcome&& outcome);

  // The leader is lost: every forwarded write fails with `status`.
  void FailForwarded(const absl::Status& status);

  // Fails parked writes parked, and forwarded ones sent, more than `limit`
  // ms before `now` (ConnectionLoss: their outcome is unknown).
  void Expire(int64_t now, int64_t limit);

  // Fails every parked and forwarded write with `status`.
  void FailAll(const absl::Status& status);

 private:
  struct Forwarded {
    uint64_t request = 0;
    WriteDone done;
    int64_t sent_ms = 0;
    int64_t submitted_us = 0;
  };

  void Fail(WriteDone& done, absl::Status status);
  void Forward(Pending* p, int64_t now,
               const std::function<absl::Status(std::string)>& propose);

  const zab::PeerId self_;
  uint64_t next_request_;
  const Pipeline::Completer complete_;
  std::deque<Pending> parked_;
  std::deque<Forwarded> forwarded_;
};

}  // namespace synod::server

#endif  // SYNOD_SERVER_ROUTER_H_
