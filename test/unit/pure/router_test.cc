// Tests for server::Router: parking, routing in order, forwarding, and how
// waiting writes fail.

#include "server/router.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "util/errors.h"

namespace synod::server {
namespace {

// Records completions as "name:OK" or "name:<error code>".
class Recorder {
 public:
  Pipeline::Completer completer() {
    return [](WriteDone& done, WriteOutcome&& o) { done(std::move(o)); };
  }
  WriteDone Done(std::string name) {
    return [this, name](WriteOutcome&& o) {
      log.push_back(o.status.ok() ? name + ":OK"
                                  : name + ":" + std::to_string(static_cast<int>(
                                                     ErrorOf(o.status))));
    };
  }
  std::vector<std::string> log;
};

std::string Code(Error e) { return std::to_string(static_cast<int>(e)); }

Pending Write(int64_t session, const std::string& path, WriteDone done) {
  Pending p;
  p.request.mutable_delete_node()->set_path(path);
  p.session = session;
  p.auth = std::make_shared<AuthInfo>();
  p.done = std::move(done);
  return p;
}

Router::Standing Leading() {
  Router::Standing s;
  s.leading = true;
  s.own_session = 42;
  return s;
}

TEST_CASE("Router keeps writes parked, in order, while no leader serves",
          "[server]") {
  Recorder r;
  Router router(3, 100, r.completer());
  router.Park(Write(7, "/a", r.Done("a")), 0);
  router.Park(Write(7, "/b", r.Done("b")), 1);
  std::vector<std::string> prepared;
  auto prepare = [&](Pending* p) {
    prepared.push_back(p->request.delete_node().path());
  };
  auto propose = [](std::string) { return absl::OkStatus(); };
  router.Route(Router::Standing{}, 2, prepare, propose);
  CHECK(router.parked() == 2);
  CHECK(prepared.empty());
  router.Route(Leading(), 3, prepare, propose);
  CHECK(prepared == std::vector<std::string>{"/a", "/b"});
  CHECK_FALSE(router.has_parked());
  CHECK(r.log.empty());
}

TEST_CASE("Router resolves our own session, and waits for it", "[server]") {
  Recorder r;
  Router router(3, 100, r.completer());
  router.Park(Write(kOwnSession, "/own", r.Done("own")), 0);
  router.Park(Write(9, "/other", r.Done("other")), 0);
  std::vector<int64_t> sessions;
  auto prepare = [&](Pending* p) { sessions.push_back(p->session); };
  auto propose = [](std::string) { return absl::OkStatus(); };
  Router::Standing no_session = Leading();
  no_session.own_session = 0;
  router.Route(no_session, 1, prepare, propose);
  // Another session's write goes; ours waits for the session.
  CHECK(sessions == std::vector<int64_t>{9});
  CHECK(router.parked() == 1);
  router.Route(Leading(), 2, prepare, propose);
  CHECK(sessions == std::vector<int64_t>{9, 42});

  // An expired session's writes fail with its status.
  router.Park(Write(kOwnSession, "/late", r.Done("late")), 3);
  Router::Standing expired = Leading();
  expired.own_unusable = MakeError(Error::kSessionExpired, "expired");
  router.Route(expired, 4, prepare, propose);
  CHECK(r.log == std::vector<std::string>{"late:" + Code(Error::kSessionExpired)});
}

TEST_CASE("Router forwards to the leader and completes in order", "[server]") {
  Recorder r;
  Router router(3, 100, r.completer());
  std::vector<txn::ForwardedRequest> sent;
  auto propose = [&](std::string data) {
    txn::ForwardedRequest fr;
    REQUIRE(fr.ParseFromString(data));
    sent.push_back(fr);
    return absl::OkStatus();
  };
  auto prepare = [](Pending*) { FAIL("a learner prepares nothing"); };
  Router::Standing learning;
  learning.learning = true;
  for (const char* name : {"a", "b", "c"}) {
    router.Park(Write(7, std::string("/") + name, r.Done(name)), 0);
  }
  router.Route(learning, 5, prepare, propose);
  REQUIRE(sent.size() == 3);
  CHECK(sent[0].origin() == 3);
  CHECK(sent[0].request() == 100);
  CHECK(sent[2].request() == 102);
  CHECK(sent[1].session() == 7);
  CHECK(sent[1].request_body().delete_node().path() == "/b");
  CHECK(router.forwarded() == 3);
  // The leader dropped 100: 101's txn coming back shows it.
  router.CompleteForwarded(101, WriteOutcome{});
  CHECK(r.log == std::vector<std::string>{"a:" + Code(Error::kConnectionLoss),
                                          "b:OK"});
  // Losing the leader fails what is still forwarded.
  router.FailForwarded(MakeError(Error::kConnectionLoss, "lost"));
  CHECK(r.log.back() == "c:" + Code(Error::kConnectionLoss));
  CHECK(router.forwarded() == 0);
}

TEST_CASE("Router fails a write the core refuses to forward", "[server]") {
  Recorder r;
  Router router(3, 1, r.completer());
  router.Park(Write(7, "/a", r.Done("a")), 0);
  Router::Standing learning;
  learning.learning = true;
  router.Route(
      learning, 1, [](Pending*) {},
      [](std::string) { return absl::FailedPreconditionError("not serving"); });
  CHECK(r.log == std::vector<std::string>{"a:" + Code(Error::kConnectionLoss)});
  CHECK(router.forwarded() == 0);
}

TEST_CASE("Router expires what waited too long, and fails all at the end",
          "[server]") {
  Recorder r;
  Router router(3, 1, r.completer());
  router.Park(Write(7, "/old", r.Done("old")), 0);
  router.Park(Write(7, "/new", r.Done("new")), 900);
  router.Expire(1000, 500);
  CHECK(r.log == std::vector<std::string>{"old:" + Code(Error::kConnectionLoss)});
  CHECK(router.parked() == 1);
  router.Park(Write(7, "/x", r.Done("x")), 1000);
  router.FailAll(MakeError(Error::kClosing, "stop"));
  CHECK(r.log == std::vector<std::string>{"old:" + Code(Error::kConnectionLoss),
                                          "new:" + Code(Error::kClosing),
                                          "x:" + Code(Error::kClosing)});
  CHECK_FALSE(router.has_parked());
}

TEST_CASE("Router fails every write once the server failed", "[server]") {
  Recorder r;
  Router router(3, 1, r.completer());
  router.Park(Write(7, "/a", r.Done("a")), 0);
  router.Park(Write(kOwnSession, "/b", r.Done("b")), 0);
  Router::Standing failed = Leading();
  failed.failed = MakeError(Error::kSystemError, "broken");
  router.Route(
      failed, 1, [](Pending*) { FAIL("nothing is prepared"); },
      [](std::string) { return absl::OkStatus(); });
  CHECK(r.log == std::vector<std::string>{"a:" + Code(Error::kSystemError),
                                          "b:" + Code(Error::kSystemError)});
}

}  // namespace
}  // namespace synod::server
