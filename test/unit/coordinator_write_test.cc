// Coordinator writes and reads on one peer: modes, Stat, versions, errors,
// multi, sizes, TTL and containers.

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "absl/strings/numbers.h"
#include "test_util.h"

namespace synod {
namespace {

using testing::TempDir;
using testing::TestOptions;

std::unique_ptr<Coordinator> StartIn(const TempDir& dir, Options o = {}) {
  if (o.data_dir.empty()) o = TestOptions(dir.path());
  auto c = Coordinator::Start(o);
  REQUIRE(c.ok());
  return std::move(*c);
}

TEST_CASE("create, get, set, delete round trip with ZooKeeper's Stat",
          "[coordinator]") {
  TempDir dir;
  auto c = StartIn(dir);

  auto created = c->CreateWithStat("/a", "hello", CreateMode::kPersistent, {});
  REQUIRE(created.ok());
  CHECK(created->path == "/a");
  const Stat s0 = created->stat;
  CHECK(s0.czxid > 0);
  CHECK(s0.czxid == s0.mzxid);
  CHECK(s0.czxid == s0.pzxid);
  CHECK(s0.ctime == s0.mtime);
  CHECK(s0.ctime > 1600000000000);  // wall clock ms
  CHECK(s0.version == 0);
  CHECK(s0.cversion == 0);
  CHECK(s0.aversion == 0);
  CHECK(s0.ephemeral_owner == 0);
  CHECK(s0.data_length == 5);
  CHECK(s0.num_children == 0);

  auto got = c->Get("/a");
  REQUIRE(got.ok());
  CHECK(got->data == "hello");
  CHECK(got->stat == s0);

  auto set = c->Set("/a", "world!", 0);
  REQUIRE(set.ok());
  CHECK(set->version == 1);
  CHECK(set->mzxid > s0.mzxid);
  CHECK(set->czxid == s0.czxid);
  CHECK(set->pzxid == s0.pzxid);  // data changes leave pzxid alone
  CHECK(set->data_length == 6);
  CHECK(c->Get("/a")->data == "world!");

  REQUIRE(c->Delete("/a", 1).ok());
  CHECK(ErrorOf(c->Get("/a").status()) == Error::kNoNode);
  auto exists = c->Exists("/a");
  REQUIRE(exists.ok());
  CHECK(!exists->has_value());
}

TEST_CASE("parent Stat: cversion counts creations and deletions (ZooKeeper "
          "3.8), deletion moves pzxid",
          "[coordinator]") {
  TempDir dir;
  auto c = StartIn(dir);
  REQUIRE(c->Create("/p", "").ok());
  auto p0 = c->Exists("/p");
  REQUIRE(c->Create("/p/x", "").ok());
  REQUIRE(c->Create("/p/y", "").ok());
  auto p1 = **c->Exists("/p");
  CHECK(p1.cversion == 2);
  CHECK(p1.num_children == 2);
  CHECK(p1.pzxid == c->Exists("/p/y")->value().czxid);
  CHECK(p1.mzxid == (*p0)->mzxid);  // children do not touch mzxid
  CHECK(p1.version == 0);

  REQUIRE(c->Delete("/p/x").ok());
  auto p2 = **c->Exists("/p");
  CHECK(p2.cversion == 3);  // a deletion counts too
  CHECK(p2.num_children == 1);
  CHECK(p2.pzxid > p1.pzxid);

  auto kids = c->GetChildren("/p");
  REQUIRE(kids.ok());
  CHECK(*kids == std::vector<std::string>{"y"});
  Stat with_stat;
  auto kids2 = c->GetChildren("/p", nullptr, &with_stat);
  REQUIRE(kids2.ok());
  CHECK(with_stat == p2);
}

TEST_CASE("sequential names use the parent's cversion, 10 digits",
          "[coordinator]") {
  TempDir dir;
  auto c = StartIn(dir);
  REQUIRE(c->Create("/q", "").ok());
  CHECK(*c->Create("/q/lock-", "", CreateMode::kPersistentSequential) ==
        "/q/lock-0000000000");
  CHECK(*c->Create("/q/lock-", "", CreateMode::kEphemeralSequential) ==
        "/q/lock-0000000001");
  REQUIRE(c->Create("/q/plain", "").ok());  // counts too
  // A deletion moves cversion, not the count names take (ZooKeeper's).
  REQUIRE(c->Delete("/q/lock-0000000000").ok());
  CHECK(c->Exists("/q")->value().cversion == 4);
  CHECK(*c->Create("/q/lock-", "", CreateMode::kPersistentSequential) ==
        "/q/lock-0000000003");
  // A trailing slash names the node by its number alone.
  CHECK(*c->Create("/q/", "", CreateMode::kPersistentSequential) ==
        "/q/0000000004");
}

TEST_CASE("every write error is ZooKeeper's and changes nothing",
          "[coordinator]") {
  TempDir dir;
  auto c = StartIn(dir);
  REQUIRE(c->Create("/e", "x").ok());
  REQUIRE(c->Create("/e/child", "").ok());
  const Zxid before = c->GetHealth().last_zxid;

  CHECK(ErrorOf(c->Create("/e", "").status()) == Error::kNodeExists);
  CHECK(ErrorOf(c->Create("/missing/x", "").status()) == Error::kNoNode);
  CHECK(ErrorOf(c->Set("/missing", "").status()) == Error::kNoNode);
  CHECK(ErrorOf(c->Delete("/missing")) == Error::kNoNode);
  CHECK(ErrorOf(c->Set("/e", "y", 7).status()) == Error::kBadVersion);
  CHECK(ErrorOf(c->Delete("/e/child", 3)) == Error::kBadVersion);
  CHECK(ErrorOf(c->Delete("/e")) == Error::kNotEmpty);
  CHECK(c->Delete("/e").code() == absl::StatusCode::kFailedPrecondition);
  CHECK(c->Set("/e", "y", 7).status().code() == absl::StatusCode::kAborted);

  for (const char* bad : {"", "a", "/a/", "//", "/a//b", "/./a", "/a/..", "/a\x01"}) {
    INFO(bad);
    auto s = c->Create(bad, "");
    CHECK(ErrorOf(s.status()) == Error::kBadArguments);
    CHECK(s.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(ErrorOf(c->Get(bad).status()) == Error::kBadArguments);
  }
  // The root and the system subtree are not the user's to change.
  CHECK(ErrorOf(c->Delete("/")) == Error::kBadArguments);
  CHECK(ErrorOf(c->Create("/synod/x", "").status()) == Error::kBadArguments);
  CHECK(ErrorOf(c->Delete("/synod")) == Error::kBadArguments);
  CHECK(ErrorOf(c->Set("/synod", "x").status()) == Error::kBadArguments);
  CHECK(ErrorOf(c->Create("/", "").status()) == Error::kNodeExists);

  // Ephemerals have no children.
  REQUIRE(c->Create("/eph", "", CreateMode::kEphemeral).ok());
  CHECK(ErrorOf(c->Create("/eph/x", "").status()) ==
        Error::kNoChildrenForEphemerals);

  // TTL only with TTL modes, within range.
  CHECK(ErrorOf(c->Create("/t", "", CreateMode::kPersistentWithTtl).status()) ==
        Error::kBadArguments);
  CHECK(ErrorOf(c->Create("/t", "", CreateMode::kPersistent, {{}, 5}).status()) ==
        Error::kBadArguments);
  CHECK(ErrorOf(c->Create("/t", "", CreateMode::kPersistentWithTtl,
                          {{}, int64_t{1} << 41})
                    .status()) == Error::kBadArguments);
  CHECK(ErrorOf(c->Create("/t", "", static_cast<CreateMode>(99)).status()) ==
        Error::kBadArguments);

  // Invalid ACLs.
  CHECK(ErrorOf(c->Create("/t", "", CreateMode::kPersistent,
                          {{Acl{perms::kAll, "nope", "x"}}, 0})
                    .status()) == Error::kInvalidAcl);
  CHECK(ErrorOf(c->Create("/t", "", CreateMode::kPersistent,
                          {CreatorAllAcl(), 0})
                    .status()) == Error::kInvalidAcl);  // no identity yet

  CHECK(c->GetHealth().last_zxid == before + 1);  // only /eph was created
  CHECK(!c->Exists("/t")->has_value());
}

TEST_CASE("data size limit is enforced and configurable", "[coordinator]") {
  TempDir dir;
  Options o = TestOptions(dir.path());
  o.max_data_bytes = 1000;
  auto c = StartIn(dir, o);
  CHECK(c->Create("/ok", std::string(1000, 'x')).ok());
  auto big = c->Create("/big", std::string(1001, 'x'));
  CHECK(ErrorOf(big.status()) == Error::kBadArguments);
  CHECK(ErrorOf(c->Set("/ok", std::string(1001, 'y')).status()) ==
        Error::kBadArguments);
  CHECK(c->Get("/ok")->data == std::string(1000, 'x'));
  CHECK(!c->Exists("/big")->has_value());
}

TEST_CASE("bad options are refused with a clear error", "[coordinator]") {
  TempDir dir;
  Options o = TestOptions(dir.path());
  o.data_dir = "";
  CHECK(ErrorOf(Coordinator::Start(o).status()) == Error::kBadArguments);
  o = TestOptions(dir.path());
  o.session_timeout = absl::Milliseconds(1);
  CHECK(ErrorOf(Coordinator::Start(o).status()) == Error::kBadArguments);
  o = TestOptions(dir.path());
  o.max_data_bytes = -1;
  CHECK(ErrorOf(Coordinator::Start(o).status()) == Error::kBadArguments);
  o = TestOptions(dir.path());
  o.seeds = {"127.0.0.1:1", "127.0.0.1:2"};  // an ensemble needs `listen`
  CHECK(ErrorOf(Coordinator::Start(o).status()) == Error::kBadArguments);
  o.listen = "127.0.0.1";  // no port
  CHECK(ErrorOf(Coordinator::Start(o).status()) == Error::kBadArguments);
  o.listen = "127.0.0.1:1";
  o.seeds = {"127.0.0.1:1", "nohost"};
  CHECK(ErrorOf(Coordinator::Start(o).status()) == Error::kBadArguments);
  o.seeds = {"127.0.0.1:1", "127.0.0.1:70000"};
  CHECK(ErrorOf(Coordinator::Start(o).status()) == Error::kBadArguments);
  o = TestOptions(dir.path());
  o.tick = absl::Milliseconds(1);
  CHECK(ErrorOf(Coordinator::Start(o).status()) == Error::kBadArguments);
  // The autopilot's settings.
  for (int32_t voters : {0, 2, 11, -1}) {
    o = TestOptions(dir.path());
    o.voters = voters;
    auto bad = Coordinator::Start(o);
    CHECK(ErrorOf(bad.status()) == Error::kBadArguments);
    CHECK(bad.status().message().find("voters") != std::string_view::npos);
  }
  o = TestOptions(dir.path());
  o.dead_voter_timeout = absl::Milliseconds(999);
  CHECK(ErrorOf(Coordinator::Start(o).status()) == Error::kBadArguments);
  o.dead_voter_timeout = absl::Hours(25);
  CHECK(ErrorOf(Coordinator::Start(o).status()) == Error::kBadArguments);
  // In an ensemble a session must outlive a failover: 20 ticks at least.
  o = TestOptions(dir.path());
  o.listen = "127.0.0.1:1";
  o.seeds = {"127.0.0.1:1", "127.0.0.1:2"};
  o.tick = absl::Milliseconds(100);
  o.session_timeout = absl::Milliseconds(1999);
  auto short_session = Coordinator::Start(o);
  CHECK(ErrorOf(short_session.status()) == Error::kBadArguments);
  CHECK(short_session.status().message().find("20 ticks") != std::string_view::npos);
}

TEST_CASE("a one-peer Coordinator may listen on port 0, an ensemble peer may not",
          "[coordinator]") {
  TempDir dir;
  Options o = TestOptions(dir.path());
  o.listen = "127.0.0.1:0";
  auto c = Coordinator::Start(o);
  REQUIRE(c.ok());
  const std::string listen = (*c)->GetHealth().listen;
  REQUIRE(listen.rfind("127.0.0.1:", 0) == 0);
  int port = 0;
  REQUIRE(absl::SimpleAtoi(listen.substr(10), &port));
  CHECK(port > 0);
  CHECK(port < 65536);
  // Something listens there: a second peer cannot take the same port, and
  // it opens no session (its watcher hears only Closed).
  TempDir other_dir;
  testing::EventLog session_events;
  Options taken = TestOptions(other_dir.path());
  taken.listen = listen;
  taken.session_watcher = session_events.Recorder();
  CHECK(ErrorOf(Coordinator::Start(taken).status()) == Error::kBadArguments);
  const auto heard = session_events.Snapshot();
  REQUIRE(heard.size() == 1);
  CHECK(heard[0].event.state == SessionState::kClosed);

  TempDir ensemble_dir;
  Options peer = TestOptions(ensemble_dir.path());
  peer.listen = "127.0.0.1:0";
  peer.seeds = {"127.0.0.1:0", "127.0.0.1:1"};
  auto refused = Coordinator::Start(peer);
  CHECK(ErrorOf(refused.status()) == Error::kBadArguments);
  CHECK(refused.status().message().find("port > 0") != std::string_view::npos);
}

TEST_CASE("a data directory keeps its ensemble whatever the seeds say later",
          "[coordinator][membership]") {
  TempDir dir;
  Options o = TestOptions(dir.path());
  o.listen = "127.0.0.1:" + std::to_string(synod::testing::FreePort());
  o.seeds = {o.listen, "127.0.0.1:1"};
  uint64_t id = 0;
  {
    auto c = Coordinator::Start(o);
    REQUIRE(c.ok());
    const Health h = (*c)->GetHealth();
    id = h.peer_id;
    REQUIRE(h.voters.size() == 2);
  }
  // The seeds are contact points now: other ones change neither who this
  // peer is nor the configuration its data holds.
  Options other = o;
  other.seeds = {"127.0.0.1:2"};
  auto again = Coordinator::Start(other);
  REQUIRE(again.ok());
  const Health h = (*again)->GetHealth();
  CHECK(h.peer_id == id);
  REQUIRE(h.voters.size() == 2);
  std::vector<std::string> addresses = {h.voters[0].address,
                                        h.voters[1].address};
  std::sort(addresses.begin(), addresses.end());
  std::vector<std::string> founders = o.seeds;
  std::sort(founders.begin(), founders.end());
  CHECK(addresses == founders);
  CHECK(h.config_version == 0);
}

TEST_CASE("multi applies all ops or none, with per-op results",
          "[coordinator]") {
  TempDir dir;
  auto c = StartIn(dir);
  REQUIRE(c->Create("/m", "0").ok());

  auto ok = c->Multi({Op::Create("/m/a", "1"), Op::Set("/m", "2", 0),
                      Op::Check("/m", 1), Op::Create("/m/s-", "", CreateMode::kPersistentSequential),
                      Op::Delete("/m/a")});
  REQUIRE(ok.ok());
  REQUIRE(ok->size() == 5);
  CHECK((*ok)[0].type == Op::Type::kCreate);
  CHECK((*ok)[0].path == "/m/a");
  CHECK((*ok)[1].stat.version == 1);
  CHECK((*ok)[3].path == "/m/s-0000000001");
  // All ops of a multi share one zxid.
  CHECK((*ok)[0].stat.czxid == (*ok)[1].stat.mzxid);
  CHECK(!c->Exists("/m/a")->has_value());
  CHECK(c->Get("/m")->data == "2");

  const Zxid before = c->GetHealth().last_zxid;
  auto bad = c->Multi({Op::Create("/m/b", ""), Op::Set("/m", "3", 0),
                       Op::Create("/m/c", "")});
  CHECK(ErrorOf(bad.status()) == Error::kBadVersion);
  CHECK(FailedOpIndex(bad.status()) == 1);
  CHECK(!c->Exists("/m/b")->has_value());  // rolled back
  CHECK(c->Get("/m")->data == "2");
  CHECK(c->GetHealth().last_zxid == before);

  // Later ops see earlier ones; a failure on a node made earlier in the
  // same multi still undoes everything.
  auto dep = c->Multi({Op::Create("/m/d", ""), Op::Create("/m/d/e", ""),
                       Op::Delete("/m/d")});
  CHECK(ErrorOf(dep.status()) == Error::kNotEmpty);
  CHECK(FailedOpIndex(dep.status()) == 2);
  CHECK(!c->Exists("/m/d")->has_value());

  CHECK(ErrorOf(c->Multi({Op::Check("/nope")}).status()) == Error::kNoNode);
  auto empty = c->Multi({});
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}

TEST_CASE("containers vanish after their last child goes", "[coordinator]") {
  TempDir dir;
  auto c = StartIn(dir);
  REQUIRE(c->Create("/box", "", CreateMode::kContainer).ok());
  REQUIRE(c->Create("/unused", "", CreateMode::kContainer).ok());
  REQUIRE(c->Create("/box/x", "").ok());
  REQUIRE(c->Delete("/box/x").ok());
  testing::EventLog log;
  auto e = c->Exists("/box", log.Recorder());
  REQUIRE(e.ok());
  if (e->has_value()) {
    auto events = log.WaitFor(1);
    REQUIRE(events.size() == 1);
    CHECK(events[0].event.type == EventType::kDeleted);
  }
  CHECK(!c->Exists("/box")->has_value());
  // A container that never had a child stays.
  CHECK(c->Exists("/unused")->has_value());
}

TEST_CASE("TTL nodes vanish when unmodified and childless", "[coordinator]") {
  TempDir dir;
  auto c = StartIn(dir);
  REQUIRE(c->Create("/ttl", "", CreateMode::kPersistentWithTtl, {{}, 50}).ok());
  REQUIRE(c->Create("/ttl-parent", "", CreateMode::kPersistentWithTtl, {{}, 50})
              .ok());
  REQUIRE(c->Create("/ttl-parent/kid", "").ok());
  auto seq = c->Create("/ttl-seq-", "", CreateMode::kPersistentSequentialWithTtl,
                       {{}, 50});
  REQUIRE(seq.ok());
  testing::EventLog log;
  REQUIRE(c->Exists("/ttl", log.Recorder())->has_value());
  REQUIRE(c->Exists(*seq, log.Recorder())->has_value());
  auto events = log.WaitFor(2);
  REQUIRE(events.size() == 2);
  CHECK(events[0].event.type == EventType::kDeleted);
  CHECK(!c->Exists("/ttl")->has_value());
  CHECK(!c->Exists(*seq)->has_value());
  CHECK(c->Exists("/ttl-parent")->has_value());  // has a child
}

TEST_CASE("ephemerals belong to the session and go with it", "[coordinator]") {
  TempDir dir;
  auto c = StartIn(dir);
  REQUIRE(c->Create("/members", "").ok());
  auto eph = c->CreateWithStat("/members/m1", "", CreateMode::kEphemeral, {});
  REQUIRE(eph.ok());
  CHECK(eph->stat.ephemeral_owner == c->session_id());
  CHECK(c->session_id() != 0);
  CHECK(c->GetHealth().ephemeral_count == 1);
  REQUIRE(c->Delete("/members/m1").ok());
  CHECK(c->GetHealth().ephemeral_count == 0);
}

TEST_CASE("async writes complete in order on the dispatcher", "[coordinator]") {
  TempDir dir;
  auto c = StartIn(dir);
  REQUIRE(c->Create("/async", "").ok());
  constexpr int kOps = 500;
  synod::Mutex mu;
  std::vector<std::string> order;
  std::vector<absl::Status> errors;
  for (int i = 0; i < kOps; ++i) {
    c->CreateAsync("/async/n-", std::to_string(i),
                   CreateMode::kPersistentSequential, {},
                   [&](absl::StatusOr<std::string> r) {
                     synod::MutexLock l(&mu);
                     if (r.ok()) order.push_back(*r); else errors.push_back(r.status());
                   });
  }
  c->SyncAsync("/", [&](absl::Status s) {
    synod::MutexLock l(&mu);
    order.push_back(s.ok() ? "sync" : "sync-failed");
  });
  synod::MutexLock l(&mu);
  auto all = [&]() { return order.size() + errors.size() == kOps + 1; };
  REQUIRE(mu.AwaitWithTimeout(all, absl::Seconds(30)));
  CHECK(errors.empty());
  for (int i = 0; i < kOps; ++i) {
    char want[32];
    snprintf(want, sizeof want, "/async/n-%010d", i);
    REQUIRE(order[i] == want);
  }
  CHECK(order.back() == "sync");
  Health h = c->GetHealth();
  CHECK(h.log_syncs < h.txns_logged);  // group commit shared syncs
}

TEST_CASE("concurrent writers and readers see a consistent tree",
          "[coordinator]") {
  TempDir dir;
  auto c = StartIn(dir);
  REQUIRE(c->Create("/cc", "").ok());
  constexpr int kThreads = 4, kEach = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string path = "/cc/t" + std::to_string(t) + "-" + std::to_string(i);
        if (!c->Create(path, "v").ok()) failures++;
        // Read-your-writes: visible as soon as the call returns.
        if (!c->Get(path).ok()) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(c->GetChildren("/cc")->size() == kThreads * kEach);
  CHECK(c->Exists("/cc")->value().num_children == kThreads * kEach);
}

}  // namespace
}  // namespace synod

namespace synod {
namespace {

TEST_CASE("shutdown with writes in flight runs every callback exactly once",
          "[coordinator]") {
  testing::TempDir dir;
  constexpr int kOps = 300;
  std::atomic<int> ok{0}, closing{0}, other{0};
  {
    auto c = Coordinator::Start(testing::TestOptions(dir.path()));
    REQUIRE(c.ok());
    REQUIRE((*c)->Create("/s", "").ok());
    for (int i = 0; i < kOps; ++i) {
      (*c)->SetAsync("/s", std::to_string(i), -1, [&](absl::StatusOr<Stat> r) {
        if (r.ok()) {
          ok++;
        } else if (ErrorOf(r.status()) == Error::kClosing) {
          closing++;
        } else {
          other++;
        }
      });
    }
  }  // destroyed with writes queued
  CHECK(ok + closing == kOps);
  CHECK(other == 0);
  // Every acknowledged set is durable: the version counts them.
  auto c = Coordinator::Start(testing::TestOptions(dir.path()));
  REQUIRE(c.ok());
  CHECK((*c)->Exists("/s")->value().version == ok.load());
}

}  // namespace
}  // namespace synod
