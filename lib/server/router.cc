#include "server/router.h"

#include <utility>

#include "util/errors.h"

namespace synod::server {
namespace {

absl::Status ConnectionLoss(std::string_view why) {
  return MakeError(Error::kConnectionLoss, why);
}

}  // namespace

void Router::Fail(WriteDone& done, absl::Status status) {
  WriteOutcome o;
  o.status = std::move(status);
  complete_(done, std::move(o));
}

void Router::Park(Pending p, int64_t now) {
  p.parked_at_ms = now;
  parked_.push_back(std::move(p));
}

void Router::Route(const Standing& standing, int64_t now,
                   const std::function<void(Pending*)>& prepare,
                   const std::function<absl::Status(std::string)>& propose) {
  const size_t n = parked_.size();
  for (size_t i = 0; i < n; ++i) {
    Pending p = std::move(parked_.front());
    parked_.pop_front();
    if (p.session == kOwnSession) {
      if (p.own_generation < standing.own_generation) {
        Fail(p.done, MakeError(Error::kSessionExpired,
                               "the session this request was made on expired"));
        continue;
      }
      if (!standing.own_unusable.ok()) {
        Fail(p.done, standing.own_unusable);
        continue;
      }
      if (standing.own_session == 0) {
        parked_.push_back(std::move(p));
        continue;
      }
      p.session = standing.own_session;
    }
    if (!standing.failed.ok()) {
      Fail(p.done, standing.failed);
    } else if (standing.leading) {
      prepare(&p);
    } else if (standing.learning) {
      Forward(&p, now, propose);
    } else {
      parked_.push_back(std::move(p));
    }
  }
}

void Router::Forward(Pending* p, int64_t now,
                     const std::function<absl::Status(std::string)>& propose) {
  txn::ForwardedRequest fr;
  fr.set_origin(self_);
  fr.set_request(next_request_);
  fr.set_session(p->session);
  for (const AuthId& id : p->auth->ids) {
    txn::AuthIdentity* a = fr.add_auth();
    a->set_scheme(id.scheme);
    a->set_id(id.id);
  }
  fr.set_ip(p->auth->ip);
  if (p->request.body_case() != txn::Request::BODY_NOT_SET) {
    *fr.mutable_request_body() = std::move(p->request);
  }
  if (!propose(fr.SerializeAsString()).ok()) {
    Fail(p->done, ConnectionLoss("no serving leader"));
    return;
  }
  forwarded_.push_back(
      Forwarded{next_request_++, std::move(p->done), now, p->submitted_us});
}

int64_t Router::CompleteForwarded(uint64_t request, WriteOutcome&& outcome) {
  while (!forwarded_.empty() && forwarded_.front().request < request) {
    Fail(forwarded_.front().done,
         ConnectionLoss("the leader dropped the request"));
    forwarded_.pop_front();
  }
  if (!forwarded_.empty() && forwarded_.front().request == request) {
    const int64_t submitted = forwarded_.front().submitted_us;
    complete_(forwarded_.front().done, std::move(outcome));
    forwarded_.pop_front();
    return submitted;
  }
  return 0;
}

void Router::FailForwarded(const absl::Status& status) {
  while (!forwarded_.empty()) {
    Fail(forwarded_.front().done, status);
    forwarded_.pop_front();
  }
}

void Router::Expire(int64_t now, int64_t limit) {
  const size_t n = parked_.size();
  for (size_t i = 0; i < n; ++i) {
    Pending p = std::move(parked_.front());
    parked_.pop_front();
    if (now - p.parked_at_ms > limit) {
      Fail(p.done, ConnectionLoss("no leader served within the session timeout"));
    } else {
      parked_.push_back(std::move(p));
    }
  }
  while (!forwarded_.empty() && now - forwarded_.front().sent_ms > limit) {
    Fail(forwarded_.front().done,
         ConnectionLoss("the leader did not answer within the session timeout"));
    forwarded_.pop_front();
  }
}

void Router::FailAll(const absl::Status& status) {
  while (!parked_.empty()) {
    Fail(parked_.front().done, status);
    parked_.pop_front();
  }
  FailForwarded(status);
}

}  // namespace synod::server
