// Restart recovery, data directory checks and ACLs through the Coordinator.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/match.h"

#include "test_util.h"

namespace synod {
namespace {

using testing::TempDir;
using testing::TestOptions;

std::unique_ptr<Coordinator> StartIn(const std::string& dir) {
  auto c = Coordinator::Start(TestOptions(dir));
  REQUIRE(c.ok());
  return std::move(*c);
}

struct Snap {
  std::string data;
  Stat stat;
  AclList acl;
  bool operator==(const Snap& o) const {
    return data == o.data && stat == o.stat && acl == o.acl;
  }
};

// Every node of the tree with its data, Stat and ACL.
void Walk(Coordinator& c, const std::string& path,
          std::map<std::string, Snap>* out) {
  auto node = c.Get(path);
  REQUIRE(node.ok());
  auto acl = c.GetAcl(path);
  REQUIRE(acl.ok());
  (*out)[path] = Snap{node->data, node->stat, *acl};
  auto kids = c.GetChildren(path);
  REQUIRE(kids.ok());
  for (const std::string& k : *kids) {
    Walk(c, path == "/" ? "/" + k : path + "/" + k, out);
  }
}

TEST_CASE("restart restores the tree exactly, Stat and ACL included",
          "[durability]") {
  TempDir dir;
  std::map<std::string, Snap> before, after;
  int64_t first_session = 0;
  {
    auto c = StartIn(dir.path());
    first_session = c->session_id();
    REQUIRE(c->Create("/app", "cfg").ok());
    REQUIRE(c->Create("/app/seq-", "1", CreateMode::kPersistentSequential).ok());
    REQUIRE(c->Create("/app/seq-", "2", CreateMode::kPersistentSequential).ok());
    REQUIRE(c->Set("/app", "cfg2").ok());
    REQUIRE(c->Create("/app/box", "", CreateMode::kContainer).ok());
    REQUIRE(c->Create("/app/box/item", std::string(3000, 'z')).ok());
    REQUIRE(c->Create("/app/ttl", "", CreateMode::kPersistentWithTtl,
                      {{}, 3600 * 1000}).ok());
    REQUIRE(c->Create("/app/ro", "x", CreateMode::kPersistent, {ReadOnlyAcl(), 0})
                .ok());
    REQUIRE(c->Multi({Op::Create("/app/m1", "a"), Op::Create("/app/m2", "b")}).ok());
    REQUIRE(c->Delete("/app/m1").ok());
    REQUIRE(c->SetAcl("/app/m2", OpenAcl(), 0).ok());
    REQUIRE(c->Create("/app/gone", "", CreateMode::kEphemeral).ok());
    REQUIRE(c->Delete("/app/gone").ok());
    Walk(*c, "/", &before);
  }
  auto c = StartIn(dir.path());
  Walk(*c, "/", &after);
  CHECK(after.size() == before.size());
  for (const auto& [path, snap] : before) {
    INFO(path);
    REQUIRE(after.count(path) == 1);
    CHECK(after[path].data == snap.data);
    CHECK(after[path].stat == snap.stat);
    CHECK(after[path].acl == snap.acl);
  }
  // A new session and a new epoch; zxids keep increasing.
  CHECK(c->session_id() != first_session);
  CHECK(c->session_id() > first_session);
  auto next = c->CreateWithStat("/after", "", CreateMode::kPersistent, {});
  REQUIRE(next.ok());
  CHECK(EpochOf(next->stat.czxid) > EpochOf(before["/app"].stat.mzxid));
  // Sequence numbers continue from the restored cversion.
  CHECK(*c->Create("/app/seq-", "", CreateMode::kPersistentSequential) ==
        "/app/seq-0000000008");
}

TEST_CASE("a restart leaves an emptied container for a cleanup interval",
          "[durability]") {
  testing::TempDir dir;
  Options o = TestOptions(dir.path());
  o.cleanup_interval = absl::Hours(1);
  {
    auto c = Coordinator::Start(o);
    REQUIRE(c.ok());
    REQUIRE((*c)->Create("/box", "", CreateMode::kContainer).ok());
    REQUIRE((*c)->Create("/box/x", "").ok());
    REQUIRE((*c)->Delete("/box/x").ok());  // due from now on
  }
  // As ZooKeeper's leader, the restarted one first looks an interval after
  // it began to lead: the container is still there (a cleanup at start
  // would have been ordered before this write).
  auto c = Coordinator::Start(o);
  REQUIRE(c.ok());
  REQUIRE((*c)->WaitConnected(absl::Seconds(30)).ok());
  REQUIRE((*c)->Create("/probe", "").ok());
  CHECK((*c)->Exists("/box")->has_value());
}

TEST_CASE("a data directory that is not synod's is refused untouched",
          "[durability]") {
  TempDir dir;
  {
    std::ofstream f(dir.Sub("notes.txt"));
    f << "someone else's";
  }
  auto c = Coordinator::Start(TestOptions(dir.path()));
  REQUIRE(!c.ok());
  CHECK(c.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                      std::filesystem::directory_iterator()) == 1);
  std::ifstream f(dir.Sub("notes.txt"));
  std::string text;
  std::getline(f, text);
  CHECK(text == "someone else's");
}

TEST_CASE("a data directory in use is refused", "[durability]") {
  TempDir dir;
  auto first = StartIn(dir.path());
  auto second = Coordinator::Start(TestOptions(dir.path()));
  REQUIRE(!second.ok());
  CHECK(second.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(first->Create("/still-works", "").ok());
}

TEST_CASE("a data directory in use is refused under any spelling",
          "[durability]") {
  TempDir dir;
  const std::string data = dir.Sub("data");
  std::filesystem::create_directory(dir.Sub("sub"));
  std::filesystem::create_directory_symlink(data, dir.Sub("link"));
  auto first = StartIn(data);
  REQUIRE(first->Create("/mine", "").ok());
  for (const std::string& alias :
       {data + "/.", data + "//", data + "/../data", dir.Sub("sub/../data"),
        dir.Sub("link"), dir.Sub("link/")}) {
    INFO(alias);
    auto second = Coordinator::Start(TestOptions(alias));
    REQUIRE(!second.ok());
    CHECK(second.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK(absl::StrContains(second.status().message(), "in use"));
  }
  // Another process sees the lock too (flock(1) fails at once while held).
  const std::string probe = "flock -n -E 75 " + data + " true";
  CHECK(WEXITSTATUS(std::system(probe.c_str())) == 75);
  CHECK(first->Create("/still-mine", "").ok());
  first.reset();
  CHECK(WEXITSTATUS(std::system(probe.c_str())) == 0);
  auto again = StartIn(dir.Sub("link"));  // released with the Coordinator
  CHECK(again->Exists("/still-mine")->has_value());
}

TEST_CASE("a corrupted data directory is refused with DataInconsistency",
          "[durability]") {
  TempDir dir;
  {
    auto c = StartIn(dir.path());
    for (int i = 0; i < 200; ++i) {
      REQUIRE(c->Create("/n" + std::to_string(i), std::string(500, 'a' + i % 26))
                  .ok());
    }
  }
  {
    auto c = StartIn(dir.path());  // reopening moves the log into tables
  }
  int corrupted = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.Sub("db"))) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 4 && name.substr(name.size() - 4) == ".ldb") {
      std::fstream f(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(entry.file_size() / 3));
      f.write("\xde\xad\xbe\xef\xde\xad\xbe\xef", 8);
      ++corrupted;
    }
  }
  REQUIRE(corrupted > 0);
  auto c = Coordinator::Start(TestOptions(dir.path()));
  REQUIRE(!c.ok());
  CHECK(ErrorOf(c.status()) == Error::kDataInconsistency);
  CHECK(c.status().code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("ACLs: digest, auth, ip, super, NoAuth changes nothing", "[acl]") {
  TempDir dir;
  Options o = TestOptions(dir.path());
  o.super_digest = DigestId("root", "rootpw");
  auto started = Coordinator::Start(o);
  REQUIRE(started.ok());
  Coordinator& c = **started;

  const AclList alice_only = {Acl{perms::kAll, "digest", DigestId("alice", "pw")}};
  REQUIRE(c.Create("/secret", "s", CreateMode::kPersistent, {alice_only, 0}).ok());
  CHECK(ErrorOf(c.Get("/secret").status()) == Error::kNoAuth);
  CHECK(c.Get("/secret").status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(ErrorOf(c.Set("/secret", "x").status()) == Error::kNoAuth);
  CHECK(ErrorOf(c.GetChildren("/secret").status()) == Error::kNoAuth);
  CHECK(ErrorOf(c.Create("/secret/k", "").status()) == Error::kNoAuth);
  CHECK(ErrorOf(c.GetAcl("/secret").status()) == Error::kNoAuth);
  CHECK(c.Exists("/secret")->has_value());  // exists checks no ACL

  CHECK(ErrorOf(c.AddAuth("digest", "no-colon")) == Error::kAuthFailed);
  CHECK(ErrorOf(c.AddAuth("kerberos", "x:y")) == Error::kAuthFailed);
  REQUIRE(c.AddAuth("digest", "alice:pw").ok());
  CHECK(c.Get("/secret")->data == "s");
  CHECK(c.Set("/secret", "x").ok());
  CHECK(*c.GetAcl("/secret") == alice_only);

  // "auth" resolves to the session's identities.
  REQUIRE(c.Create("/mine", "", CreateMode::kPersistent, {CreatorAllAcl(), 0}).ok());
  CHECK(*c.GetAcl("/mine") == alice_only);

  // Read-only: no writes, deletes of children need DELETE on the parent.
  REQUIRE(c.Create("/ro", "", CreateMode::kPersistent,
                   {{Acl{perms::kRead | perms::kCreate, "world", "anyone"}}, 0})
              .ok());
  CHECK(ErrorOf(c.Set("/ro", "x").status()) == Error::kNoAuth);
  REQUIRE(c.Create("/ro/k", "").ok());
  CHECK(ErrorOf(c.Delete("/ro/k")) == Error::kNoAuth);
  CHECK(ErrorOf(c.SetAcl("/ro", OpenAcl()).status()) == Error::kNoAuth);
  CHECK(c.Exists("/ro/k")->has_value());

  // ip: this Coordinator's own session is local (127.0.0.1).
  REQUIRE(c.Create("/lan", "", CreateMode::kPersistent,
                   {{Acl{perms::kAll, "ip", "10.0.0.0/8"}}, 0}).ok());
  REQUIRE(c.Create("/local", "", CreateMode::kPersistent,
                   {{Acl{perms::kAll, "ip", "127.0.0.0/8"}}, 0}).ok());
  CHECK(ErrorOf(c.Get("/lan").status()) == Error::kNoAuth);
  CHECK(c.Get("/local").ok());

  // SetAcl checks aversion.
  CHECK(ErrorOf(c.SetAcl("/local", OpenAcl(), 5).status()) == Error::kBadVersion);
  auto st = c.SetAcl("/local", OpenAcl(), 0);
  REQUIRE(st.ok());
  CHECK(st->aversion == 1);

  // The super digest passes everything.
  REQUIRE(c.AddAuth("digest", "root:rootpw").ok());
  CHECK(c.Get("/lan").ok());
  CHECK(c.Delete("/ro/k").ok());
}

}  // namespace
}  // namespace synod
