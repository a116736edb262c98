// Tests for ACL validation, "auth" expansion, permission checks,
// authentication and DigestId, against ZooKeeper's semantics.

#include "acl/acl.h"

#include <string>

#include <catch2/catch.hpp>

#include "acl/identity.h"
#include "synod/options.h"
#include "synod/types.h"

namespace synod {
namespace {

Error ValidateError(const AclList& acl) { return ErrorOf(ValidateAcl(acl)); }

Error IpIdError(const std::string& id) {
  return ValidateError({Acl{perms::kAll, "ip", id}});
}

AuthInfo FromIp(std::string ip) {
  AuthInfo auth;
  auth.ip = std::move(ip);
  return auth;
}

AuthInfo WithIds(std::vector<AuthId> ids) {
  AuthInfo auth;
  auth.ids = std::move(ids);
  return auth;
}

// Whether a session at `session_ip` may read under the single entry ip:`id`.
bool IpReads(const std::string& id, const std::string& session_ip) {
  return Permits({Acl{perms::kRead, "ip", id}}, perms::kRead,
                 FromIp(session_ip));
}

constexpr int32_t kEachPerm[] = {perms::kRead, perms::kWrite, perms::kCreate,
                                 perms::kDelete, perms::kAdmin};

// ---- DigestId ---------------------------------------------------------------

TEST_CASE("DigestId matches ZooKeeper's generateDigest", "[acl][digest]") {
  // The example from ZooKeeper's administrator guide.
  CHECK(DigestId("super", "test") == "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
  // The rest computed with
  //   printf 'u:p' | sha1sum | cut -c1-40 | xxd -r -p | base64
  CHECK(DigestId("alice", "secret") == "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=");
  CHECK(DigestId("alice", "pa:ss") == "alice:Xm0T4kmWgo7kHgMxxjDH/S43rxM=");
  CHECK(DigestId("bob", "") == "bob:tK1fpNO1hB0F++FhHpSq0Fa4tv0=");
}

// ---- Authenticate -----------------------------------------------------------

TEST_CASE("Authenticate digest yields the digest id", "[acl][auth]") {
  absl::StatusOr<AuthId> id = Authenticate("digest", "super:test");
  REQUIRE(id.ok());
  CHECK(*id == AuthId{"digest", "super:D/InIHSb7yEEbrWz8b9l71RjZJU="});
}

TEST_CASE("Authenticate splits on the first ':' so passwords may hold ':'",
          "[acl][auth]") {
  absl::StatusOr<AuthId> id = Authenticate("digest", "alice:pa:ss");
  REQUIRE(id.ok());
  CHECK(id->scheme == "digest");
  CHECK(id->id == "alice:Xm0T4kmWgo7kHgMxxjDH/S43rxM=");
}

TEST_CASE("Authenticate accepts an empty password", "[acl][auth]") {
  absl::StatusOr<AuthId> id = Authenticate("digest", "bob:");
  REQUIRE(id.ok());
  CHECK(id->id == "bob:tK1fpNO1hB0F++FhHpSq0Fa4tv0=");
}

TEST_CASE("Authenticate rejects malformed digest credentials",
          "[acl][auth]") {
  CHECK(ErrorOf(Authenticate("digest", "alice").status()) ==
        Error::kAuthFailed);
  CHECK(ErrorOf(Authenticate("digest", "").status()) == Error::kAuthFailed);
  CHECK(ErrorOf(Authenticate("digest", ":secret").status()) ==
        Error::kAuthFailed);
  CHECK(ErrorOf(Authenticate("digest", ":").status()) == Error::kAuthFailed);
}

TEST_CASE("Authenticate rejects every scheme but digest", "[acl][auth]") {
  for (const char* scheme :
       {"ip", "world", "auth", "", "Digest", "DIGEST", "super", "sasl"}) {
    INFO("scheme " << scheme);
    absl::StatusOr<AuthId> id = Authenticate(scheme, "alice:secret");
    CHECK(ErrorOf(id.status()) == Error::kAuthFailed);
  }
}

// ---- ValidateAcl ------------------------------------------------------------

TEST_CASE("ValidateAcl accepts the predefined and well-formed lists",
          "[acl][validate]") {
  CHECK(ValidateAcl(OpenAcl()).ok());
  CHECK(ValidateAcl(ReadOnlyAcl()).ok());
  CHECK(ValidateAcl(CreatorAllAcl()).ok());
  CHECK(ValidateAcl({Acl{perms::kRead, "digest", DigestId("a", "b")},
                     Acl{perms::kWrite, "ip", "10.0.0.0/8"},
                     Acl{perms::kAll, "auth", "whatever"},
                     Acl{perms::kAdmin, "world", "anyone"}})
            .ok());
}

TEST_CASE("ValidateAcl rejects an empty list", "[acl][validate]") {
  CHECK(ValidateError({}) == Error::kInvalidAcl);
}

TEST_CASE("ValidateAcl checks perms are within 0..31", "[acl][validate]") {
  CHECK(ValidateAcl({Acl{0, "world", "anyone"}}).ok());
  CHECK(ValidateAcl({Acl{31, "world", "anyone"}}).ok());
  for (int32_t bad : {-1, 32, 64, 0x7fffffff, -0x7fffffff - 1}) {
    INFO("perms " << bad);
    CHECK(ValidateError({Acl{bad, "world", "anyone"}}) == Error::kInvalidAcl);
  }
}

TEST_CASE("ValidateAcl allows only world:anyone", "[acl][validate]") {
  for (const char* id : {"", "Anyone", "anyone ", "everyone", "alice"}) {
    INFO("id '" << id << "'");
    CHECK(ValidateError({Acl{perms::kAll, "world", id}}) ==
          Error::kInvalidAcl);
  }
}

TEST_CASE("ValidateAcl checks digest ids are user:hash", "[acl][validate]") {
  CHECK(ValidateAcl({Acl{perms::kAll, "digest", "u:h"}}).ok());
  for (const char* id : {"", "alice", ":hash", "alice:", ":", "a:b:c",
                         "alice::hash"}) {
    INFO("id '" << id << "'");
    CHECK(ValidateError({Acl{perms::kAll, "digest", id}}) ==
          Error::kInvalidAcl);
  }
}

TEST_CASE("ValidateAcl rejects unknown schemes", "[acl][validate]") {
  for (const char* scheme : {"", "World", "DIGEST", "super", "X509", "sasl"}) {
    INFO("scheme '" << scheme << "'");
    CHECK(ValidateError({Acl{perms::kAll, scheme, "anyone"}}) ==
          Error::kInvalidAcl);
  }
}

TEST_CASE("x509: a certificate subject in ACLs, matched exactly, and in "
          "auth's expansion",
          "[acl][validate]") {
  CHECK(ValidateAcl({Acl{perms::kRead, "x509", "CN=alice,O=example"}}).ok());
  CHECK(ValidateError({Acl{perms::kRead, "x509", ""}}) == Error::kInvalidAcl);
  const AclList alice = {Acl{perms::kRead, "x509", "CN=alice,O=example"}};
  AuthInfo a;
  a.ids.push_back(AuthId{"x509", "CN=alice,O=example"});
  CHECK(Permits(alice, perms::kRead, a));
  CHECK(!Permits(alice, perms::kWrite, a));
  AuthInfo other;
  other.ids.push_back(AuthId{"x509", "CN=alice"});
  other.ids.push_back(AuthId{"digest", "CN=alice,O=example"});
  CHECK(!Permits(alice, perms::kRead, other));
  // "auth" takes digests and subjects, never the address.
  AuthInfo both = a;
  both.ids.push_back(AuthId{"digest", "bob:hash"});
  both.ip = "10.0.0.1";
  absl::StatusOr<AclList> r =
      ResolveAcl({Acl{perms::kAll, "auth", ""}}, both);
  REQUIRE(r.ok());
  CHECK(*r == AclList{Acl{perms::kAll, "x509", "CN=alice,O=example"},
                      Acl{perms::kAll, "digest", "bob:hash"}});
  AuthInfo ip_only;
  ip_only.ip = "10.0.0.1";
  CHECK(!ResolveAcl({Acl{perms::kAll, "auth", ""}}, ip_only).ok());
  // Nobody adds one by word.
  CHECK(ErrorOf(Authenticate("x509", "CN=alice").status()) ==
        Error::kAuthFailed);
}

TEST_CASE("ValidateAcl names the failing entry and the reason",
          "[acl][validate]") {
  absl::Status status = ValidateAcl({Acl{perms::kAll, "world", "anyone"},
                                     Acl{perms::kAll, "ip", "1.2.3"}});
  REQUIRE(ErrorOf(status) == Error::kInvalidAcl);
  CHECK_THAT(std::string(status.message()),
             Catch::Contains("entry 1") && Catch::Contains("ip:1.2.3"));
  status = ValidateAcl({Acl{99, "world", "anyone"}});
  REQUIRE(ErrorOf(status) == Error::kInvalidAcl);
  CHECK_THAT(std::string(status.message()),
             Catch::Contains("entry 0") && Catch::Contains("perms"));
}

TEST_CASE("ValidateAcl accepts well-formed IPv4 ids", "[acl][validate][ip]") {
  for (const char* id : {"0.0.0.0", "127.0.0.1", "255.255.255.255",
                         "10.0.0.0/8", "1.2.3.4/0", "1.2.3.4/32",
                         "192.168.1.0/24", "010.1.1.1"}) {
    INFO("id " << id);
    CHECK(IpIdError(id) == Error::kOk);
  }
}

TEST_CASE("ValidateAcl rejects malformed IPv4 ids", "[acl][validate][ip]") {
  for (const char* id :
       {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "1.2.3.4/33",
        "1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/+8", "1.2.3.4/8/8", "/8",
        " 1.2.3.4", "1.2.3.4 ", "1.2.3.4x", "1..2.3", "1.2.3.", ".1.2.3",
        "a.b.c.d", "+1.2.3.4", "1.2.3.-4", "0001.2.3.4", "1.2.3.4/0008",
        "localhost"}) {
    INFO("id '" << id << "'");
    CHECK(IpIdError(id) == Error::kInvalidAcl);
  }
}

TEST_CASE("ValidateAcl accepts well-formed IPv6 ids", "[acl][validate][ip]") {
  for (const char* id :
       {"::", "::1", "1::", "fe80::1", "2001:db8::/32",
        "2001:0db8:0000:0000:0000:0000:0000:0001",
        "2001:DB8:0:0:0:0:0:1/128", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
        "1:2:3::6:7:8", "::ffff:10.0.0.1", "::ffff:10.0.0.0/120", "::/0"}) {
    INFO("id " << id);
    CHECK(IpIdError(id) == Error::kOk);
  }
}

TEST_CASE("ValidateAcl rejects malformed IPv6 ids", "[acl][validate][ip]") {
  for (const char* id :
       {":", ":::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3",
        "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", ":1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7:8:", "12345::", "g::1", "::1/129", "::1/", "::1/-1",
        "1.2.3.4::", "::1.2.3.4:5", "::1.2.3", "::256.1.1.1", "[::1]",
        "fe80::1%eth0", " ::1", "::1 "}) {
    INFO("id '" << id << "'");
    CHECK(IpIdError(id) == Error::kInvalidAcl);
  }
}

// ---- ResolveAcl -------------------------------------------------------------

TEST_CASE("ResolveAcl keeps lists without auth entries", "[acl][resolve]") {
  AclList acl = {Acl{perms::kRead, "world", "anyone"},
                 Acl{perms::kWrite, "ip", "10.0.0.0/8"}};
  absl::StatusOr<AclList> resolved = ResolveAcl(acl, AuthInfo{});
  REQUIRE(resolved.ok());
  CHECK(*resolved == acl);
}

TEST_CASE("ResolveAcl expands auth to every digest id with its perms",
          "[acl][resolve]") {
  std::string alice = DigestId("alice", "a");
  std::string bob = DigestId("bob", "b");
  AuthInfo auth = WithIds({{"digest", alice}, {"ip", "1.2.3.4"},
                           {"digest", bob}});
  AclList acl = {Acl{perms::kRead, "world", "anyone"},
                 Acl{perms::kWrite | perms::kAdmin, "auth", ""},
                 Acl{perms::kDelete, "ip", "1.2.3.4"}};
  absl::StatusOr<AclList> resolved = ResolveAcl(acl, auth);
  REQUIRE(resolved.ok());
  CHECK(*resolved ==
        AclList{Acl{perms::kRead, "world", "anyone"},
                Acl{perms::kWrite | perms::kAdmin, "digest", alice},
                Acl{perms::kWrite | perms::kAdmin, "digest", bob},
                Acl{perms::kDelete, "ip", "1.2.3.4"}});
}

TEST_CASE("ResolveAcl fails on auth without a digest identity",
          "[acl][resolve]") {
  CHECK(ErrorOf(ResolveAcl(CreatorAllAcl(), AuthInfo{}).status()) ==
        Error::kInvalidAcl);
  CHECK(ErrorOf(ResolveAcl(CreatorAllAcl(),
                           WithIds({{"ip", "127.0.0.1"}}))
                    .status()) == Error::kInvalidAcl);
  // A super session with no digest id still has nothing to expand to.
  AuthInfo super_only;
  super_only.super = true;
  CHECK(ErrorOf(ResolveAcl(CreatorAllAcl(), super_only).status()) ==
        Error::kInvalidAcl);
}

TEST_CASE("ResolveAcl validates before expanding", "[acl][resolve]") {
  AuthInfo auth = WithIds({{"digest", DigestId("alice", "a")}});
  CHECK(ErrorOf(ResolveAcl({}, auth).status()) == Error::kInvalidAcl);
  CHECK(ErrorOf(ResolveAcl({Acl{perms::kAll, "auth", ""},
                            Acl{perms::kAll, "ip", "1.2.3.4/33"}},
                           auth)
                    .status()) == Error::kInvalidAcl);
  CHECK(ErrorOf(ResolveAcl({Acl{40, "auth", ""}}, auth).status()) ==
        Error::kInvalidAcl);
}

TEST_CASE("ResolveAcl removes exact duplicates, keeping first-seen order",
          "[acl][resolve]") {
  std::string alice = DigestId("alice", "a");
  AuthInfo auth = WithIds({{"digest", alice}, {"digest", alice}});
  AclList acl = {Acl{perms::kRead, "world", "anyone"},
                 Acl{perms::kAll, "digest", alice},
                 Acl{perms::kRead, "world", "anyone"},
                 Acl{perms::kWrite, "world", "anyone"},  // other perms: kept
                 Acl{perms::kAll, "auth", ""},           // same as entry 1
                 Acl{perms::kRead, "auth", ""},
                 Acl{perms::kRead, "auth", "ignored"}};
  absl::StatusOr<AclList> resolved = ResolveAcl(acl, auth);
  REQUIRE(resolved.ok());
  CHECK(*resolved == AclList{Acl{perms::kRead, "world", "anyone"},
                             Acl{perms::kAll, "digest", alice},
                             Acl{perms::kWrite, "world", "anyone"},
                             Acl{perms::kRead, "digest", alice}});
}

// ---- Permits ----------------------------------------------------------------

TEST_CASE("Permits lets super through everything", "[acl][permits]") {
  AuthInfo super;
  super.super = true;
  for (int32_t perm : kEachPerm) {
    CHECK(Permits({Acl{0, "world", "anyone"}}, perm, super));
    CHECK(Permits({Acl{perms::kAll, "digest", "x:y"}}, perm, super));
    CHECK(Permits({}, perm, super));
  }
}

TEST_CASE("Permits grants world:anyone exactly its perm bits",
          "[acl][permits]") {
  for (int32_t granted : kEachPerm) {
    for (int32_t asked : kEachPerm) {
      INFO("granted " << granted << " asked " << asked);
      CHECK(Permits({Acl{granted, "world", "anyone"}}, asked, AuthInfo{}) ==
            (granted == asked));
    }
  }
  for (int32_t asked : kEachPerm) {
    CHECK(Permits(OpenAcl(), asked, AuthInfo{}));
    CHECK_FALSE(Permits({Acl{0, "world", "anyone"}}, asked, AuthInfo{}));
  }
  CHECK(Permits(ReadOnlyAcl(), perms::kRead, AuthInfo{}));
  CHECK_FALSE(Permits(ReadOnlyAcl(), perms::kWrite, AuthInfo{}));
}

TEST_CASE("Permits denies under an empty list", "[acl][permits]") {
  CHECK_FALSE(Permits({}, perms::kRead, FromIp("127.0.0.1")));
}

TEST_CASE("Permits matches digest entries by exact id", "[acl][permits]") {
  std::string alice = DigestId("alice", "a");
  AclList acl = {Acl{perms::kRead | perms::kWrite, "digest", alice}};
  AuthInfo as_alice = WithIds({{"digest", DigestId("bob", "b")},
                               {"digest", alice}});
  CHECK(Permits(acl, perms::kRead, as_alice));
  CHECK(Permits(acl, perms::kWrite, as_alice));
  CHECK_FALSE(Permits(acl, perms::kCreate, as_alice));
  CHECK_FALSE(Permits(acl, perms::kDelete, as_alice));
  CHECK_FALSE(Permits(acl, perms::kAdmin, as_alice));

  CHECK_FALSE(Permits(acl, perms::kRead, AuthInfo{}));
  CHECK_FALSE(Permits(acl, perms::kRead, WithIds({{"digest",
                                                  DigestId("alice", "x")}})));
  // Same id string under another scheme is not the digest identity.
  CHECK_FALSE(Permits(acl, perms::kRead, WithIds({{"ip", alice}})));
}

TEST_CASE("Permits combines entries: any matching entry with the bit",
          "[acl][permits]") {
  std::string alice = DigestId("alice", "a");
  AclList acl = {Acl{perms::kRead, "world", "anyone"},
                 Acl{perms::kWrite, "digest", alice},
                 Acl{perms::kDelete, "ip", "10.0.0.0/8"}};
  AuthInfo auth = WithIds({{"digest", alice}});
  auth.ip = "10.1.2.3";
  CHECK(Permits(acl, perms::kRead, auth));
  CHECK(Permits(acl, perms::kWrite, auth));
  CHECK(Permits(acl, perms::kDelete, auth));
  CHECK_FALSE(Permits(acl, perms::kCreate, auth));
  CHECK_FALSE(Permits(acl, perms::kAdmin, auth));
  auth.ip = "11.1.2.3";
  CHECK_FALSE(Permits(acl, perms::kDelete, auth));
}

TEST_CASE("Permits never matches auth entries", "[acl][permits]") {
  AuthInfo auth = WithIds({{"digest", DigestId("alice", "a")},
                           {"auth", ""}});
  auth.ip = "127.0.0.1";
  for (int32_t perm : kEachPerm) {
    CHECK_FALSE(Permits(CreatorAllAcl(), perm, auth));
  }
}

TEST_CASE("Permits matches IPv4 hosts and /24 edges", "[acl][permits][ip]") {
  CHECK(IpReads("127.0.0.1", "127.0.0.1"));
  CHECK_FALSE(IpReads("127.0.0.1", "127.0.0.2"));
  CHECK(IpReads("127.0.0.1/32", "127.0.0.1"));
  CHECK_FALSE(IpReads("127.0.0.1/32", "127.0.0.0"));

  CHECK(IpReads("192.168.1.0/24", "192.168.1.0"));
  CHECK(IpReads("192.168.1.0/24", "192.168.1.255"));
  CHECK(IpReads("192.168.1.77/24", "192.168.1.1"));  // host bits ignored
  CHECK_FALSE(IpReads("192.168.1.0/24", "192.168.0.255"));
  CHECK_FALSE(IpReads("192.168.1.0/24", "192.168.2.0"));
}

TEST_CASE("Permits matches IPv4 prefixes off byte boundaries",
          "[acl][permits][ip]") {
  CHECK(IpReads("10.0.0.0/8", "10.255.255.255"));
  CHECK_FALSE(IpReads("10.0.0.0/8", "11.0.0.0"));
  CHECK(IpReads("172.16.0.0/12", "172.31.255.255"));
  CHECK_FALSE(IpReads("172.16.0.0/12", "172.32.0.0"));
  CHECK_FALSE(IpReads("172.16.0.0/12", "172.15.255.255"));
  CHECK(IpReads("1.2.3.4/31", "1.2.3.5"));
  CHECK_FALSE(IpReads("1.2.3.4/31", "1.2.3.6"));
  CHECK(IpReads("128.0.0.0/1", "255.1.1.1"));
  CHECK_FALSE(IpReads("128.0.0.0/1", "127.255.255.255"));
}

TEST_CASE("Permits treats /0 as every address of the family",
          "[acl][permits][ip]") {
  CHECK(IpReads("1.2.3.4/0", "0.0.0.0"));
  CHECK(IpReads("1.2.3.4/0", "255.255.255.255"));
  CHECK_FALSE(IpReads("1.2.3.4/0", "::1"));
  CHECK(IpReads("::/0", "::1"));
  CHECK(IpReads("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  CHECK_FALSE(IpReads("::/0", "127.0.0.1"));
}

TEST_CASE("Permits matches IPv6 hosts and prefixes", "[acl][permits][ip]") {
  CHECK(IpReads("::1", "::1"));
  CHECK(IpReads("::1", "0:0:0:0:0:0:0:1"));
  CHECK(IpReads("::1/128", "0000:0000:0000:0000:0000:0000:0000:0001"));
  CHECK_FALSE(IpReads("::1/128", "::2"));
  CHECK_FALSE(IpReads("::1", "::"));
  CHECK(IpReads("FE80::ABCD", "fe80::abcd"));

  CHECK(IpReads("2001:db8::/64", "2001:db8::1"));
  CHECK(IpReads("2001:db8::/64", "2001:db8:0:0:ffff:ffff:ffff:ffff"));
  CHECK_FALSE(IpReads("2001:db8::/64", "2001:db8:0:1::"));
  CHECK(IpReads("2001:db8::/127", "2001:db8::1"));
  CHECK_FALSE(IpReads("2001:db8::/127", "2001:db8::2"));
  CHECK(IpReads("::ffff:10.0.0.0/120", "::ffff:10.0.0.255"));
  CHECK_FALSE(IpReads("::ffff:10.0.0.0/120", "::ffff:10.0.1.0"));
}

TEST_CASE("Permits never crosses address families", "[acl][permits][ip]") {
  CHECK_FALSE(IpReads("127.0.0.1", "::1"));
  CHECK_FALSE(IpReads("::1", "127.0.0.1"));
  CHECK_FALSE(IpReads("::ffff:127.0.0.1", "127.0.0.1"));
  CHECK_FALSE(IpReads("127.0.0.1", "::ffff:127.0.0.1"));
}

TEST_CASE("Permits does not match malformed or missing session addresses",
          "[acl][permits][ip]") {
  CHECK_FALSE(IpReads("0.0.0.0/0", ""));
  CHECK_FALSE(IpReads("0.0.0.0/0", "localhost"));
  CHECK_FALSE(IpReads("0.0.0.0/0", "1.2.3.4/32"));  // a mask, not an address
  CHECK_FALSE(IpReads("::/0", "::1/128"));
  CHECK_FALSE(IpReads("0.0.0.0/0", "1.2.3"));
}

TEST_CASE("Permits checks the ip entry's perm bits", "[acl][permits][ip]") {
  for (int32_t granted : kEachPerm) {
    for (int32_t asked : kEachPerm) {
      INFO("granted " << granted << " asked " << asked);
      CHECK(Permits({Acl{granted, "ip", "10.0.0.0/8"}}, asked,
                    FromIp("10.0.0.1")) == (granted == asked));
    }
  }
}

}  // namespace
}  // namespace synod

namespace synod {
namespace {

TEST_CASE("AddIdentity takes only digest and x509 ids that make valid ACL "
          "entries",
          "[acl][identity]") {
  Options options;
  AuthInfo info;
  // An empty certificate subject names nobody: "auth" must not expand to
  // an x509 entry that ValidateAcl refuses (found by the acl fuzzer).
  CHECK(ErrorOf(AddIdentity(options, AuthId{"x509", ""}, &info)) ==
        Error::kBadArguments);
  CHECK(ErrorOf(AddIdentity(options, AuthId{"digest", "no-colon"}, &info)) ==
        Error::kBadArguments);
  CHECK(info.ids.empty());
  REQUIRE(AddIdentity(options, AuthId{"x509", "CN=alice"}, &info).ok());
  REQUIRE(AddIdentity(options, AuthId{"digest", DigestId("u", "p")}, &info)
              .ok());
  CHECK(info.ids.size() == 2);
  auto resolved = ResolveAcl({Acl{perms::kAll, "auth", ""}}, info);
  REQUIRE(resolved.ok());
  CHECK(ValidateAcl(*resolved).ok());
}

}  // namespace
}  // namespace synod
