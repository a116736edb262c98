// The request limits through the Coordinator: what the hardening findings
// did on the old main (a legal write that no peer could read back after a
// restart, an unknown op dropped from a multi, unbounded ids and multis)
// and what each limit's Option does now.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "test_util.h"

namespace synod {
namespace {

using testing::TempDir;
using testing::TestOptions;


AclList Digests(int n) {
  AclList acl;
  for (int i = 0; i < n; ++i) {
    acl.push_back(Acl{perms::kAll, "digest", absl::StrCat("user", i, ":hash")});
  }
  return acl;
}

TEST_CASE("an ACL beyond the limit is refused and the peer restarts",
          "[limits]") {
  TempDir dir;
  const Options o = TestOptions(dir.path());
  {
    auto c = testing::MustStart(o);
    auto refused = c->Create("/a", "", CreateMode::kPersistent,
                             CreateOptions{Digests(4097), 0});
    CHECK(ErrorOf(refused.status()) == Error::kInvalidAcl);
    REQUIRE(c->Create("/c", "").ok());
    CHECK(ErrorOf(c->SetAcl("/c", Digests(1025), -1).status()) ==
          Error::kInvalidAcl);
    AclList readable = Digests(1023);  // and readable by us
    readable.push_back(Acl{perms::kRead, "world", "anyone"});
    REQUIRE(c->Create("/b", "", CreateMode::kPersistent,
                      CreateOptions{readable, 0})
                .ok());
  }
  auto c = testing::MustStart(o);  // used to fail: DATA_LOSS malformed node record
  CHECK(!c->Exists("/a")->has_value());
  auto acl = c->GetAcl("/b");
  REQUIRE(acl.ok());
  CHECK(acl->size() == 1024);
  CHECK(c->GetAcl("/c")->size() == 1);
}

TEST_CASE("identities are capped, so CreatorAllAcl stays within the ACL limit",
          "[limits]") {
  TempDir dir;
  Options o = TestOptions(dir.path());
  o.max_auth_ids = 8;
  {
    auto c = testing::MustStart(o);
    for (int i = 0; i < 8; ++i) {
      REQUIRE(c->AddAuth("digest", absl::StrCat("u", i, ":pw")).ok());
    }
    CHECK(c->AddAuth("digest", "u0:pw").ok());  // held already: no change
    CHECK(ErrorOf(c->AddAuth("digest", "u8:pw")) == Error::kBadArguments);
    REQUIRE(c->Create("/mine", "", CreateMode::kPersistent,
                      CreateOptions{CreatorAllAcl(), 0})
                .ok());
    CHECK(c->GetAcl("/mine")->size() == 8);
    // An identity longer than max_acl_id_bytes is refused.
    CHECK(ErrorOf(c->AddAuth("digest", std::string(2000, 'u') + ":pw")) ==
          Error::kBadArguments);
  }
  auto c = testing::MustStart(o);
  CHECK(c->Exists("/mine")->has_value());
}

TEST_CASE("a multi with an op of unknown type is refused whole", "[limits]") {
  TempDir dir;
  auto c = testing::MustStart(TestOptions(dir.path()));
  const Zxid before = c->GetHealth().last_zxid;
  Op bogus = Op::Check("/");
  bogus.type = static_cast<Op::Type>(42);
  auto r = c->Multi({Op::Create("/x", ""), bogus});
  CHECK(ErrorOf(r.status()) == Error::kBadArguments);
  CHECK(FailedOpIndex(r.status()) == 1);
  CHECK(!c->Exists("/x")->has_value());
  CHECK(c->GetHealth().last_zxid == before);  // no empty multi committed
  CHECK(ErrorOf(c->Multi({bogus}).status()) == Error::kBadArguments);
}

TEST_CASE("ACL ids, multis and requests are bounded", "[limits]") {
  TempDir dir;
  Options o = TestOptions(dir.path());
  o.max_multi_ops = 10;
  auto c = testing::MustStart(o);
  // An id of 2 KiB (limit 1 KiB).
  AclList long_id = {
      Acl{perms::kAll, "digest", std::string(2048, 'u') + ":hash"}};
  CHECK(ErrorOf(c->Create("/id", "", CreateMode::kPersistent,
                          CreateOptions{long_id, 0})
                    .status()) == Error::kInvalidAcl);
  // 11 ops (limit 10).
  std::vector<Op> ops;
  for (int i = 0; i < 11; ++i) ops.push_back(Op::Create(absl::StrCat("/m", i), ""));
  CHECK(ErrorOf(c->Multi(ops).status()) == Error::kBadArguments);
  ops.pop_back();
  CHECK(c->Multi(ops).ok());
  // 3 sets of 700 KiB: each within max_data_bytes, together beyond the
  // request limit (max_data_bytes + 1 MiB).
  std::vector<Op> big;
  for (int i = 0; i < 3; ++i) {
    big.push_back(Op::Set(absl::StrCat("/m", i), std::string(700 << 10, 'b')));
  }
  CHECK(ErrorOf(c->Multi(big).status()) == Error::kBadArguments);
  big.pop_back();
  CHECK(c->Multi(big).ok());
  // A path beyond max_path_bytes (4 KiB by default).
  CHECK(ErrorOf(c->Create("/" + std::string(4096, 'p'), "").status()) ==
        Error::kBadArguments);
  CHECK(c->Create("/" + std::string(4095, 'p'), "").ok());
}

TEST_CASE("limit options out of range are refused", "[limits]") {
  TempDir dir;
  auto refused = [&](auto set) {
    Options o = TestOptions(dir.path());
    set(o);
    auto c = Coordinator::Start(o);
    return !c.ok() && ErrorOf(c.status()) == Error::kBadArguments;
  };
  CHECK(refused([](Options& o) { o.max_acl_entries = 4097; }));
  CHECK(refused([](Options& o) { o.max_acl_entries = 0; }));
  CHECK(refused([](Options& o) { o.max_acl_id_bytes = 1 << 20; }));
  CHECK(refused([](Options& o) { o.max_path_bytes = 40 << 10; }));
  CHECK(refused([](Options& o) {
    o.max_acl_entries = 10;
    o.max_auth_ids = 11;
  }));
  CHECK(refused([](Options& o) { o.max_multi_ops = 0; }));
  CHECK(refused([](Options& o) { o.max_request_bytes = 1 << 20; }));
  CHECK(refused([](Options& o) { o.max_request_bytes = int64_t{1} << 30; }));
  Options ok = TestOptions(dir.path());
  ok.max_request_bytes = (1 << 20) + (64 << 10);
  CHECK(Coordinator::Start(ok).ok());
}

}  // namespace
}  // namespace synod
