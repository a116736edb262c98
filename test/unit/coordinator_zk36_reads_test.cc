// ZooKeeper 3.6+'s getEphemerals and getAllChildrenNumber on a Coordinator.

#include <catch2/catch.hpp>

#include <memory>
#include <string>
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

}  // namespace
}  // namespace synod
