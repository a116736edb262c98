// Sessions a Coordinator hosts for remote clients (the client service and
// ZooKeeper's protocol): alive while hosted, expired after their timeout
// once they are not; their password digests; the watches a resumed session
// restores (ZooKeeper's setWatches) and checkWatches.

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

#include "coordinator_internals.h"
#include "transport/remote_session.h"
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
  std::shared_ptr<const AuthInfo> system = transport::SystemAuth();

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

txn::Request Write(const std::string& path, const std::string& data,
                   bool create) {
  txn::Request r;
  if (create) {
    r.mutable_create()->set_path(path);
    r.mutable_create()->set_data(data);
  } else {
    r.mutable_set_data()->set_path(path);
    r.mutable_set_data()->set_data(data);
    r.mutable_set_data()->set_version(-1);
  }
  return r;
}

TEST_CASE("a remote session's timeout and password digest are on its peer until it closes",
          "[coordinator][sessions]") {
  TempDir dir;
  auto c = Coordinator::Start(TestOptions(dir.path()));
  REQUIRE(c.ok());
  PeerRuntime* impl = CoordinatorInternals::runtime(**c);
  txn::Request open;
  open.mutable_create_session()->set_timeout_ms(5000);
  open.mutable_create_session()->set_password_digest(std::string(32, 'x'));
  WriteOutcome opened = Run(impl, 0, transport::SystemAuth(), open);
  REQUIRE(opened.status.ok());
  const int64_t id = opened.zxid;
  CHECK(impl->LastAppliedZxid() >= id);
  std::optional<transport::ClientHost::OpenSession> found =
      impl->FindSession(id);
  REQUIRE(found.has_value());
  CHECK(found->timeout_ms == 5000);
  CHECK(found->password_digest == std::string(32, 'x'));
  // A session created without one has an empty digest.
  txn::Request plain;
  plain.mutable_create_session()->set_timeout_ms(5000);
  const int64_t plain_id = Run(impl, 0, transport::SystemAuth(), plain).zxid;
  REQUIRE(impl->FindSession(plain_id).has_value());
  CHECK(impl->FindSession(plain_id)->password_digest.empty());
  CHECK_FALSE(impl->FindSession(id + 1000).has_value());

  txn::Request close;
  close.mutable_close_session();
  REQUIRE(Run(impl, id, transport::SystemAuth(), close).status.ok());
  CHECK_FALSE(impl->FindSession(id).has_value());
}

TEST_CASE("a resumed session's watches: missed events told, the rest "
          "registered, as ZooKeeper's setWatches",
          "[coordinator][sessions]") {
  TempDir dir;
  auto c = Coordinator::Start(TestOptions(dir.path()));
  REQUIRE(c.ok());
  PeerRuntime* impl = CoordinatorInternals::runtime(**c);
  txn::Request open;
  open.mutable_create_session()->set_timeout_ms(5000);
  const int64_t owner = Run(impl, 0, transport::SystemAuth(), open).zxid;
  REQUIRE(owner != 0);

  for (const char* path : {"/d", "/dchanged", "/dgone", "/e", "/c",
                           "/cchanged", "/p", "/r", "/secret"}) {
    REQUIRE(Run(impl, 0, transport::SystemAuth(), Write(path, "", true)).status.ok());
  }
  txn::Request locked;
  locked.mutable_set_acl()->set_path("/secret");
  txn::AclEntry* entry = locked.mutable_set_acl()->add_acl();
  entry->set_perms(perms::kAll);
  entry->set_scheme("digest");
  entry->set_id("someone:AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  locked.mutable_set_acl()->set_aversion(-1);
  REQUIRE(Run(impl, 0, transport::SystemAuth(), locked).status.ok());
  // What the client saw last; then it lost its connection and missed these.
  const Zxid seen = impl->LastAppliedZxid();
  REQUIRE(Run(impl, 0, transport::SystemAuth(), Write("/dchanged", "v2", false)).status.ok());
  txn::Request del;
  del.mutable_delete_node()->set_path("/dgone");
  del.mutable_delete_node()->set_version(-1);
  REQUIRE(Run(impl, 0, transport::SystemAuth(), del).status.ok());
  REQUIRE(Run(impl, 0, transport::SystemAuth(), Write("/cchanged/kid", "", true)).status.ok());
  REQUIRE(Run(impl, 0, transport::SystemAuth(), Write("/secret", "v2", false)).status.ok());

  // The owner reads with no identity: /secret's events are not its to hear.
  impl->SetWatchAuth(owner, std::make_shared<AuthInfo>());
  testing::EventLog log;
  transport::ClientHost::RestoredWatches w;
  w.relative_zxid = seen;
  w.data = {"/d", "/dchanged", "/dgone", "/secret", "not a path"};
  w.exist = {"/e", "/enot"};
  w.child = {"/c", "/cchanged", "/cgone"};
  w.persistent = {"/p"};
  w.persistent_recursive = {"/r"};
  std::vector<WatchEvent> missed =
      impl->RestoreWatchesAs(owner, w, log.Recorder("restored"));
  std::vector<std::string> got;
  for (const WatchEvent& e : missed) {
    got.push_back(absl::StrCat(static_cast<int>(e.type), " ", e.path));
  }
  auto ev = [](EventType t, const char* path) {
    return absl::StrCat(static_cast<int>(t), " ", path);
  };
  CHECK(got == std::vector<std::string>{
                   ev(EventType::kDataChanged, "/dchanged"),
                   ev(EventType::kDeleted, "/dgone"),
                   ev(EventType::kCreated, "/e"),
                   ev(EventType::kChildrenChanged, "/cchanged"),
                   ev(EventType::kDeleted, "/cgone")});

  // Registered: exactly the watches whose events were not missed.
  CHECK(impl->HasWatchesAs(owner, "/d", WatcherType::kData));
  CHECK(impl->HasWatchesAs(owner, "/enot", WatcherType::kData));
  CHECK(impl->HasWatchesAs(owner, "/c", WatcherType::kChildren));
  CHECK(impl->HasWatchesAs(owner, "/p", WatcherType::kPersistent));
  CHECK(impl->HasWatchesAs(owner, "/r", WatcherType::kPersistentRecursive));
  CHECK(impl->HasWatchesAs(owner, "/r", WatcherType::kAny));
  CHECK_FALSE(impl->HasWatchesAs(owner, "/r", WatcherType::kPersistent));
  CHECK_FALSE(impl->HasWatchesAs(owner, "/d", WatcherType::kChildren));
  CHECK_FALSE(impl->HasWatchesAs(owner, "/dchanged", WatcherType::kAny));
  CHECK_FALSE(impl->HasWatchesAs(owner, "/e", WatcherType::kAny));
  CHECK_FALSE(impl->HasWatchesAs(owner, "/cchanged", WatcherType::kAny));
  CHECK_FALSE(impl->HasWatchesAs(owner + 1, "/d", WatcherType::kAny));

  // The registered ones fire as any other.
  REQUIRE(Run(impl, 0, transport::SystemAuth(), Write("/d", "x", false)).status.ok());
  REQUIRE(Run(impl, 0, transport::SystemAuth(), Write("/enot", "", true)).status.ok());
  REQUIRE(Run(impl, 0, transport::SystemAuth(), Write("/c/kid", "", true)).status.ok());
  REQUIRE(Run(impl, 0, transport::SystemAuth(), Write("/p", "x", false)).status.ok());
  REQUIRE(Run(impl, 0, transport::SystemAuth(), Write("/r/kid", "", true)).status.ok());
  std::vector<std::string> fired;
  for (const auto& e : log.WaitFor(5)) {
    fired.push_back(absl::StrCat(static_cast<int>(e.event.type), " ",
                                 e.event.path));
  }
  std::sort(fired.begin(), fired.end());
  std::vector<std::string> want = {ev(EventType::kDataChanged, "/d"),
                                   ev(EventType::kCreated, "/enot"),
                                   ev(EventType::kChildrenChanged, "/c"),
                                   ev(EventType::kDataChanged, "/p"),
                                   ev(EventType::kCreated, "/r/kid")};
  std::sort(want.begin(), want.end());
  CHECK(fired == want);
  // One-shot ones are gone once fired; persistent ones stay.
  CHECK_FALSE(impl->HasWatchesAs(owner, "/d", WatcherType::kData));
  CHECK(impl->HasWatchesAs(owner, "/p", WatcherType::kPersistent));

  // With the identity, the missed change of /secret is told.
  auto reader = std::make_shared<AuthInfo>();
  reader->super = true;
  impl->SetWatchAuth(owner, reader);
  transport::ClientHost::RestoredWatches secret;
  secret.relative_zxid = seen;
  secret.data = {"/secret"};
  missed = impl->RestoreWatchesAs(owner, secret, log.Recorder("again"));
  REQUIRE(missed.size() == 1);
  CHECK(missed[0].type == EventType::kDataChanged);
  CHECK(missed[0].path == "/secret");
}

}  // namespace
}  // namespace synod
