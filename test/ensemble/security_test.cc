// Trust between members in an in-process ensemble (docs/security.md): the
// leader takes a forwarded request's identities from the member that
// verified them, but decides `super` by its own super_digest; a member
// configured with a super digest the leader does not share lifts no ACL on
// a write. (Transport security: test/integration/security_process_test.cc.)

#include <catch2/catch.hpp>
#include <string>

#include "ensemble/ensemble_util.h"

namespace synod::testing {
namespace {

TEST_CASE("Security: a member's word that a session is super lifts no ACL "
          "at the leader",
          "[ensemble][security]") {
  LocalEnsemble e(3);
  for (int i = 0; i < 3; ++i) {
    e.options(i).super_digest = DigestId("root", "rootpw");
  }
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  const int member = (leader + 1) % 3;
  const AclList alice_only = {
      Acl{perms::kAll, "digest", DigestId("alice", "pw")}};
  REQUIRE(e.at(leader)
              .Create("/guarded", "alice's", CreateMode::kPersistent,
                      {alice_only, 0})
              .ok());
  // The control: a super digest the leader shares is super there, for a
  // session at a member too.
  {
    Coordinator& c = e.at(member);
    REQUIRE(c.AddAuth("digest", "root:rootpw").ok());
    CHECK(c.Set("/guarded", "set by root").ok());
  }
  // The member restarts with a super digest of its own: its sessions that
  // present it are super in its eyes.
  e.Stop(member);
  e.options(member).super_digest = DigestId("mallory", "pw");
  REQUIRE(e.Start(member).ok());
  REQUIRE(e.WaitAllConnected());
  REQUIRE(e.WaitLeader() == leader);
  Coordinator& c = e.at(member);
  REQUIRE(c.AddAuth("digest", "mallory:pw").ok());
  // Its writes go to the leader, which holds another super digest:
  // refused, and nothing changed.
  CHECK(ErrorOf(c.Set("/guarded", "taken").status()) == Error::kNoAuth);
  CHECK(ErrorOf(c.Create("/guarded/child", "").status()) == Error::kNoAuth);
  CHECK(ErrorOf(c.SetAcl("/guarded", OpenAcl()).status()) == Error::kNoAuth);
  REQUIRE(e.at(leader).AddAuth("digest", "alice:pw").ok());
  absl::StatusOr<Node> got = e.at(leader).Get("/guarded");
  REQUIRE(got.ok());
  CHECK(got->data == "set by root");
  CHECK(got->stat.version == 1);
  CHECK(*e.at(leader).GetAcl("/guarded") == alice_only);
  // The identities themselves are taken: alice's digest, verified by the
  // member, opens the node at the leader.
  REQUIRE(c.AddAuth("digest", "alice:pw").ok());
  CHECK(c.Set("/guarded", "alice again").ok());
}

}  // namespace
}  // namespace synod::testing
