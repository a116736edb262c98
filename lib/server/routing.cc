// Server: routing writes. A leader prepares them into txns and proposes
// them (in flight until applied); a learner forwards them to the leader
// (forwarded until their txn comes back through the log); while no leader
// serves, they wait (parked) and fail after the session timeout. Errors
// and syncs complete in order behind the txns prepared before them.

#include <utility>

#include "absl/strings/str_cat.h"
#include "acl/identity.h"
#include "server/server.h"
#include "util/errors.h"
#include "util/log.h"
#include "util/status_macros.h"

namespace synod::server {
namespace {

absl::Status ConnectionLoss(std::string_view why) {
  return MakeError(Error::kConnectionLoss, why);
}

}  // namespace

void Server::Complete(WriteDone& done, WriteOutcome&& outcome) {
  if (!outcome.status.ok()) {
    published_->write_errors.fetch_add(1, std::memory_order_relaxed);
  }
  if (!done) return;
  published_->pending_writes.fetch_sub(1, std::memory_order_relaxed);
  done(std::move(outcome));
}

void Server::Prepare(Pending* p) {
  Pipeline::Item item;
  item.done = std::move(p->done);
  item.submitted_us = p->submitted_us;
  if (p->request.body_case() == txn::Request::BODY_NOT_SET && !ensemble_) {
    item.zxid = last_assigned_;  // a sync: done once all before it applied
  } else if (!failed_.ok()) {
    item.zxid = last_assigned_;
    item.error = failed_;
  } else if (core_->next_zxid() == 0) {
    item.zxid = last_assigned_;
    item.error = ConnectionLoss("no serving leader");
  } else {
    const Zxid zxid = core_->next_zxid();
    const int64_t now_ms = clock_->WallMs();
    absl::Status s;
    if (p->request.body_case() == txn::Request::BODY_NOT_SET) {
      // A sync in an ensemble: a leader may have been deposed without
      // knowing it yet, so its syncs, too, go through a quorum round.
      item.txn.mutable_sync();
    } else if (p->request.has_reconfig()) {
      // The change is an entry of its own: the request completes when that
      // applies (committed), or fails with it.
      item.error = ProposeReconfig(p->request.reconfig());
      item.zxid = last_assigned_;
      pipeline_.Push(std::move(item));
      return;
    } else {
      s = preparer_->Prepare(p->request, p->session, *p->auth, zxid, now_ms,
                             &item.txn);
      NoteQuotas();
    }
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
        Fail(MakeError(Error::kSystemError, std::string(s.message())));
      }
    } else {
      item.zxid = last_assigned_;
      item.error = std::move(s);
      item.txn.Clear();
    }
  }
  pipeline_.Push(std::move(item));
}

void Server::UnparkAll() {
  if (!router_.has_parked() || CoreBlocked()) return;
  const zab::CoreStatus st = core_->status();
  const bool leading = core_->next_zxid() != 0;
  const bool learning = st.serving && (st.state == zab::PeerState::kFollowing ||
                                       st.state == zab::PeerState::kObserving);
  // Everything routable goes, in order; the rest keeps its order. What is
  // routable is the same for all requests of one session, so each session's
  // requests stay in submission order.
  // A new leader first applies the history it established. Done once,
  // before routing: applying may create our session, which must not let
  // later requests of it overtake earlier ones.
  if (leading && published_->last_applied.load() < committed_) ApplyCommitted();
  Router::Standing standing;
  standing.leading = leading;
  standing.learning = learning;
  standing.own_session = own_.id();
  standing.own_generation = own_.generation();
  standing.own_unusable = own_.Usable();
  standing.failed = failed_;
  router_.Route(
      standing, clock_->SteadyMs(), [this](Pending* p) { Prepare(p); },
      [this](std::string request) {
        return core_->Propose(std::move(request));
      });
}

void Server::PrepareForwarded(const std::string& data) {
  txn::ForwardedRequest fr;
  if (!fr.ParseFromString(data) || fr.origin() == 0) {
    Log(options_, LogLevel::kWarning,
        "dropped an undecodable forwarded request");
    return;
  }
  if (core_->next_zxid() == 0 || !failed_.ok()) return;  // origin times out
  NoteCoreState();  // a leadership just established starts its bookkeeping
  if (published_->last_applied.load() < committed_) ApplyCommitted();
  // The identities the origin verified (AddAuth digests it computed, the
  // connection's address), from an authenticated member when the ensemble
  // has TLS or a secret (docs/security.md). `super` is the leader's own
  // finding, by its super_digest, never the origin's word: a member's say
  // cannot lift every ACL.
  AuthInfo auth;
  for (const txn::AuthIdentity& a : fr.auth()) {
    auth.ids.push_back(AuthId{a.scheme(), a.id()});
    if (IsSuperIdentity(options_, auth.ids.back())) auth.super = true;
  }
  auth.ip = fr.ip();
  const int64_t now_ms = clock_->WallMs();
  txn::Txn t;
  absl::Status reconfigured;
  if (fr.request_body().has_reconfig()) {
    reconfigured = ProposeReconfig(fr.request_body().reconfig());
  }
  const Zxid zxid = core_->next_zxid();  // past a config entry, if any
  if (zxid == 0) return;  // the change made us leave: the origin times out
  if (!fr.has_request_body() ||
      (fr.request_body().has_reconfig() && reconfigured.ok())) {
    t.mutable_sync();
  } else if (!reconfigured.ok()) {
    txn::ErrorTxn* err = t.mutable_error();
    err->set_error(static_cast<int32_t>(ErrorOf(reconfigured)));
    err->set_message(std::string(reconfigured.message()));
    err->set_failed_op(-1);
  } else {
    absl::Status s = preparer_->Prepare(fr.request_body(), fr.session(), auth,
                                        zxid, now_ms, &t);
    NoteQuotas();
    if (!s.ok()) {
      t.Clear();
      txn::ErrorTxn* err = t.mutable_error();
      err->set_error(static_cast<int32_t>(ErrorOf(s)));
      err->set_message(std::string(s.message()));
      err->set_failed_op(FailedOpIndex(s));
    }
  }
  t.set_zxid(zxid);
  t.set_time_ms(now_ms);
  t.set_session_id(fr.session());
  t.set_origin(fr.origin());
  t.set_request(fr.request());
  last_assigned_ = zxid;
  absl::Status s = core_->Propose(t.SerializeAsString());
  if (!s.ok()) Fail(MakeError(Error::kSystemError, std::string(s.message())));
}

void Server::NoteQuotas() {
  const int64_t soft = preparer_->quota_soft_exceeded();
  published_->quota_soft_exceeded.store(soft, std::memory_order_relaxed);
  published_->quota_hard_exceeded.store(preparer_->quota_hard_exceeded(),
                                        std::memory_order_relaxed);
  if (soft == quota_soft_logged_) return;
  quota_soft_logged_ = soft;
  const int64_t now_ms = clock_->SteadyMs();
  if (now_ms - quota_logged_ms_ < 1000) return;
  quota_logged_ms_ = now_ms;
  Log(options_, LogLevel::kWarning,
      absl::StrCat(preparer_->last_soft_quota_warning(), " (soft: allowed)"));
}

absl::Status Server::ChangeConfig(const zab::ConfigChange& change) {
  if (!ensemble_) {
    return absl::FailedPreconditionError("a lone peer has no configuration");
  }
  if (!failed_.ok()) return failed_;
  SYNOD_RETURN_IF_ERROR(core_->ProposeConfig(change));
  // Prepared txns take the zxids after it.
  last_assigned_ = core_->status().last_zxid;
  return absl::OkStatus();
}

void Server::OnLostLeader() {
  if (config_.mutation == Mutation::kKeepWritesOnLostLeader) return;
  // What was forwarded or proposed and is not known committed may or may
  // not commit: its outcome is unknown (ZooKeeper's ConnectionLoss).
  router_.FailForwarded(
      ConnectionLoss("lost the leader; the write may or may not apply"));
  // Errors too: they were decided against txns that may now never apply.
  pipeline_.FailAbove(committed_, [](const Pipeline::Item& item) {
    return ConnectionLoss(
        item.has_txn ? "lost leadership; the write may or may not apply"
                     : "lost leadership");
  });
  preparer_->Reset();
  last_assigned_ = committed_;
}

bool Server::ResolveOwnClose(Pending* p) {
  const bool close = own_.CloseRequested();
  NoteOwnSession();
  if (!close) {
    // Nothing this peer can close: none yet, or no serving leader (the
    // session expires on the ensemble), or expired already.
    Complete(p->done, WriteOutcome{});
    return false;
  }
  p->session = own_.id();
  return true;
}

}  // namespace synod::server
