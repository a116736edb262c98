// Sessions a Coordinator hosts for remote clients (the client service):
// alive while hosted, expired after their timeout once they are not.

#include <catch2/catch.hpp>

#include <thread>

#include "coordinator_internals.h"
#include "test_util.h"

namespace synod {
namespace {

using testing::TempDir;
using testing::TestOptions;

// Submits `request` as `session` and waits for its outcome.
WriteOutcome Run(PeerRuntime* impl, int64_t session,
                 std::shared_ptr<const AuthInfo> auth, txn::Request request) {
  Mutex mu;
  WriteOutcome outcome;
  bool done = false;
  impl->SubmitAs(session, std::move(auth), std::move(request),
                 [&](WriteOutcome&& o) {
                   MutexLock lock(&mu);
                   outcome = std::move(o);
                   done = true;
                 });
  MutexLock lock(&mu);
  mu.Await([&] { return done; });
  return outcome;
}

TEST_CASE("a hosted session lives while hosted and expires after",
          "[coordinator][sessions]") {
  TempDir dir;
  auto c = Coordinator::Start(TestOptions(dir.path()));
  REQUIRE(c.ok());
  PeerRuntime* impl = CoordinatorInternals::runtime(**c);
  auto system = std::make_shared<AuthInfo>();
  system->super = true;

  txn::Request open;
  open.mutable_create_session()->set_timeout_ms(300);
  WriteOutcome opened = Run(impl, 0, system, open);
  REQUIRE(opened.status.ok());
  const int64_t id = opened.zxid;
  impl->AddHostedSession(id);

  txn::Request create;
  create.mutable_create()->set_path("/client-eph");
  create.mutable_create()->set_mode(static_cast<int32_t>(CreateMode::kEphemeral));
  REQUIRE(Run(impl, id, system, create).status.ok());

  // Hosted: kept alive well past its 300 ms timeout.
  std::this_thread::sleep_for(std::chrono::milliseconds(900));
  CHECK((*c)->Exists("/client-eph")->has_value());

  // No longer hosted (its client vanished without closing): it expires.
  impl->RemoveHostedSession(id);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while ((*c)->Exists("/client-eph")->has_value() && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(!(*c)->Exists("/client-eph")->has_value());
  CHECK((*c)->GetHealth().session_count == 1);  // ours alone
}

}  // namespace
}  // namespace synod
