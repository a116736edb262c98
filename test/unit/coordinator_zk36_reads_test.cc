// ZooKeeper 3.6+'s getEphemerals, getAllChildrenNumber, multiRead and
// whoAmI on a Coordinator.

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "synod/synod.h"
#include "test_util.h"

namespace synod {
namespace {

using testing::TempDir;
using testing::TestOptions;

using Names = std::vector<std::string>;

std::unique_ptr<Coordinator> StartIn(const TempDir& dir) {
  auto c = Coordinator::Start(TestOptions(dir.path()));
  REQUIRE(c.ok());
  return std::move(*c);
}

TEST_CASE("GetEphemerals lists this session's ephemerals by string prefix, "
          "sorted",
          "[coordinator]") {
  TempDir dir;
  std::unique_ptr<Coordinator> c = StartIn(dir);
  Coordinator& co = *c;
  CHECK(co.GetEphemerals()->empty());
  REQUIRE(co.Create("/app", "").ok());
  REQUIRE(co.Create("/apple", "", CreateMode::kEphemeral).ok());
  REQUIRE(co.Create("/app/b", "", CreateMode::kEphemeral).ok());
  REQUIRE(co.Create("/app/a-", "", CreateMode::kEphemeralSequential).ok());
  // (/app's second child: a-0000000001.)
  REQUIRE(co.Create("/app/persistent", "").ok());
  REQUIRE(co.Create("/zeta", "", CreateMode::kEphemeral).ok());

  CHECK(*co.GetEphemerals() ==
        Names{"/app/a-0000000001", "/app/b", "/apple", "/zeta"});
  CHECK(*co.GetEphemerals("/") == *co.GetEphemerals());
  // A string prefix, as ZooKeeper's: "/app" matches "/apple" too.
  CHECK(*co.GetEphemerals("/app") ==
        Names{"/app/a-0000000001", "/app/b", "/apple"});
  CHECK(*co.GetEphemerals("/app/a") == Names{"/app/a-0000000001"});
  CHECK(co.GetEphemerals("/none")->empty());
  CHECK(ErrorOf(co.GetEphemerals("no-slash").status()) ==
        Error::kBadArguments);
  CHECK(ErrorOf(co.GetEphemerals("/a//b").status()) == Error::kBadArguments);
  CHECK(ErrorOf(co.GetEphemerals("/app/").status()) == Error::kBadArguments);
  // Deleted ones leave the list.
  REQUIRE(co.Delete("/app/b").ok());
  CHECK(*co.GetEphemerals("/app") == Names{"/app/a-0000000001", "/apple"});
}

TEST_CASE("GetAllChildrenNumber counts a subtree at every depth, without "
          "its root",
          "[coordinator]") {
  TempDir dir;
  std::unique_ptr<Coordinator> c = StartIn(dir);
  Coordinator& co = *c;
  // "/" counts /synod's subtree, as ZooKeeper's counts /zookeeper's.
  const int32_t fresh = *co.GetAllChildrenNumber("/");
  CHECK(fresh >= 1);
  REQUIRE(co.Create("/a", "").ok());
  CHECK(*co.GetAllChildrenNumber("/a") == 0);
  for (const char* p : {"/a/b", "/a/b/c", "/a/b/c/d", "/a/e", "/a/e/f",
                        "/ab"}) {
    REQUIRE(co.Create(p, "").ok());
  }
  CHECK(*co.GetAllChildrenNumber("/a") == 5);  // not /ab
  CHECK(*co.GetAllChildrenNumber("/a/b") == 2);
  CHECK(*co.GetAllChildrenNumber("/a/b/c/d") == 0);
  CHECK(*co.GetAllChildrenNumber("/") == fresh + 7);
  REQUIRE(co.Delete("/a/b/c/d").ok());
  CHECK(*co.GetAllChildrenNumber("/a") == 4);
  CHECK(ErrorOf(co.GetAllChildrenNumber("/missing").status()) ==
        Error::kNoNode);
  CHECK(ErrorOf(co.GetAllChildrenNumber("/a/").status()) ==
        Error::kBadArguments);
  // READ on the node is needed, as ZooKeeper's.
  REQUIRE(co.Create("/locked", "", CreateMode::kPersistent,
                    CreateOptions{AclList{Acl{perms::kWrite, "world",
                                              "anyone"}}})
              .ok());
  CHECK(ErrorOf(co.GetAllChildrenNumber("/locked").status()) ==
        Error::kNoAuth);
}

TEST_CASE("MultiRead reads at one point, each op with its own outcome",
          "[coordinator]") {
  TempDir dir;
  std::unique_ptr<Coordinator> c = StartIn(dir);
  Coordinator& co = *c;
  REQUIRE(co.Create("/m", "root").ok());
  REQUIRE(co.Create("/m/b", "").ok());
  REQUIRE(co.Create("/m/a", "").ok());
  REQUIRE(co.Set("/m", "v1").ok());
  REQUIRE(co.Create("/secret", "s", CreateMode::kPersistent,
                    CreateOptions{AclList{Acl{perms::kWrite, "world",
                                              "anyone"}}})
              .ok());
  const auto results = co.MultiRead(
      {ReadOp::GetData("/m"), ReadOp::GetChildren("/m"),
       ReadOp::Exists("/m/a"), ReadOp::Exists("/m/zz"),
       ReadOp::GetData("/missing"), ReadOp::GetChildren("/m/zz"),
       ReadOp::GetData("/secret"), ReadOp::Exists("/secret")});
  REQUIRE(results.ok());
  REQUIRE(results->size() == 8);
  const std::vector<ReadResult>& r = *results;
  const Node m = *co.Get("/m");
  CHECK(r[0].error == Error::kOk);
  CHECK(r[0].data == "v1");
  CHECK(r[0].stat == m.stat);
  CHECK(r[1].error == Error::kOk);
  CHECK(r[1].children == Names{"a", "b"});
  CHECK(r[1].stat == m.stat);
  CHECK(r[2].exists);
  CHECK(r[2].stat == **co.Exists("/m/a"));
  CHECK(r[3].error == Error::kOk);
  CHECK(!r[3].exists);
  CHECK(r[4].error == Error::kNoNode);
  CHECK(r[5].error == Error::kNoNode);
  CHECK(r[6].error == Error::kNoAuth);  // READ needed, as Get
  CHECK(r[6].data.empty());
  CHECK(r[7].exists);  // as Exists: no ACL check
  // No watch is set by any of them.
  CHECK(co.GetHealth().watch_count == 0);
  CHECK(co.MultiRead({})->empty());
  std::vector<ReadOp> too_many(TestOptions(dir.path()).max_multi_ops + 1,
                               ReadOp::Exists("/m"));
  CHECK(ErrorOf(co.MultiRead(too_many).status()) == Error::kBadArguments);
  // An invalid path anywhere fails the whole call, naming its op, as
  // ZooKeeper's client refuses such a multiRead before sending it.
  const auto invalid = co.MultiRead(
      {ReadOp::GetData("/m"), ReadOp::GetChildren("/m/"), ReadOp::Exists("")});
  CHECK(ErrorOf(invalid.status()) == Error::kBadArguments);
  CHECK(FailedOpIndex(invalid.status()) == 1);
}

TEST_CASE("MultiRead sees no write half applied", "[coordinator]") {
  TempDir dir;
  std::unique_ptr<Coordinator> c = StartIn(dir);
  Coordinator& co = *c;
  REQUIRE(co.Create("/x", "0").ok());
  REQUIRE(co.Create("/y", "0").ok());
  // A writer moves /x and /y together in multis; every MultiRead must see
  // them equal.
  std::atomic<bool> done{false};
  std::atomic<int> write_errors{0};
  std::thread writer([&] {
    for (int i = 1; i <= 200; ++i) {
      const std::string v = std::to_string(i);
      if (!co.Multi({Op::Set("/x", v), Op::Set("/y", v)}).ok()) ++write_errors;
    }
    done = true;
  });
  int reads = 0;
  int torn = 0;  // reads that saw one set and not the other
  bool saw_progress = false;
  while (!done.load() || reads == 0) {
    auto r = co.MultiRead({ReadOp::GetData("/x"), ReadOp::GetData("/y")});
    // After the creates (two txns), each multi sets both in one txn.
    if (!r.ok() || (*r)[0].data != (*r)[1].data ||
        ((*r)[0].data != "0" && (*r)[0].stat.mzxid != (*r)[1].stat.mzxid)) {
      ++torn;
      continue;
    }
    saw_progress = saw_progress || (*r)[0].data != "0";
    ++reads;
  }
  writer.join();
  CHECK(torn == 0);
  CHECK(write_errors.load() == 0);
  CHECK(saw_progress);
  auto last = co.MultiRead({ReadOp::GetData("/x"), ReadOp::GetData("/y")});
  CHECK((*last)[0].data == "200");
  CHECK((*last)[1].data == "200");
}

TEST_CASE("WhoAmI lists the session's identities as ZooKeeper's whoAmI",
          "[coordinator]") {
  TempDir dir;
  Options o = TestOptions(dir.path());
  o.super_digest = DigestId("root", "rootpw");
  auto started = Coordinator::Start(o);
  REQUIRE(started.ok());
  Coordinator& co = **started;
  CHECK(co.WhoAmI() == std::vector<ClientInfo>{{"ip", "127.0.0.1"}});
  REQUIRE(co.AddAuth("digest", "alice:pw").ok());
  REQUIRE(co.AddAuth("digest", "alice:pw").ok());  // held already
  REQUIRE(co.AddAuth("digest", "root:rootpw").ok());
  CHECK(ErrorOf(co.AddAuth("digest", "no-colon")) == Error::kAuthFailed);
  CHECK(co.WhoAmI() == std::vector<ClientInfo>{{"ip", "127.0.0.1"},
                                               {"digest", "alice"},
                                               {"super", ""},
                                               {"digest", "root"}});
}

}  // namespace
}  // namespace synod
