// The small tree the txn and Preparer fuzz targets start from, built by
// applying valid txns: one open session (kSession) and nodes of each kind.
//
//   /a (open)  /a/b (data "b")  /e (ephemeral of kSession)
//   /c (container) /c/x  /t (TTL 1000 ms)  /d (digest ACL: alice only)

#ifndef SYNOD_TEST_FUZZ_BASE_TREE_H_
#define SYNOD_TEST_FUZZ_BASE_TREE_H_

#include <cstdint>
#include <string>

#include "acl/acl.h"
#include "absl/strings/str_cat.h"
#include "fuzz_util.h"
#include "synod/types.h"
#include "tree/data_tree.h"
#include "txn/txn.pb.h"

namespace synod::fuzz {

inline constexpr Zxid kBaseEpoch = 1;
// The session's id: the zxid of its CreateSessionTxn.
inline constexpr int64_t kSession = MakeZxid(kBaseEpoch, 1);
// The clock of every txn of the base tree.
inline constexpr int64_t kBaseTimeMs = 1000000;

// The identities of the session the targets act as.
inline AuthInfo BaseAuth() {
  AuthInfo auth;
  auth.ids.push_back(AuthId{"digest", DigestId("alice", "secret")});
  auth.ids.push_back(AuthId{"digest", DigestId("bob", "secret")});
  auth.ip = "10.0.0.1";
  return auth;
}

// Fills `tree` (freshly constructed) with the base nodes; returns the next
// free zxid.
inline Zxid BuildBaseTree(DataTree* tree) {
  Zxid zxid = kSession;
  auto apply = [&](txn::Txn t) {
    t.set_zxid(zxid++);
    t.set_time_ms(kBaseTimeMs);
    t.set_session_id(kSession);
    ApplyOutput out;
    absl::Status s = tree->Apply(t, &out, nullptr);
    if (!s.ok()) Fail("building the base tree", s.ToString());
  };
  txn::Txn session;
  session.mutable_create_session()->set_timeout_ms(30000);
  apply(session);
  int32_t root_cversion = 1;  // the root's cversion after each create
  auto create = [&](const std::string& path, const std::string& data,
                    CreateMode mode, const AclList& acl, int32_t cversion,
                    int64_t ttl_ms = 0) {
    txn::Txn t;
    txn::CreateTxn* c = t.mutable_create();
    c->set_path(path);
    c->set_data(data);
    AclToProto(acl, c->mutable_acl());
    c->set_mode(static_cast<int32_t>(mode));
    c->set_ttl_ms(ttl_ms);
    c->set_parent_cversion(cversion);
    c->set_ephemeral_owner(IsEphemeral(mode) ? kSession : 0);
    apply(t);
  };
  create("/a", "", CreateMode::kPersistent, OpenAcl(), root_cversion++);
  create("/a/b", "b", CreateMode::kPersistent, OpenAcl(), 1);
  create("/e", "e", CreateMode::kEphemeral, OpenAcl(), root_cversion++);
  create("/c", "", CreateMode::kContainer, OpenAcl(), root_cversion++);
  create("/c/x", "", CreateMode::kPersistent, OpenAcl(), 1);
  create("/t", "t", CreateMode::kPersistentWithTtl, OpenAcl(), root_cversion++,
         1000);
  create("/d", "d", CreateMode::kPersistent,
         {Acl{perms::kAll, "digest", DigestId("alice", "secret")}},
         root_cversion++);
  return zxid;
}

}  // namespace synod::fuzz

#endif  // SYNOD_TEST_FUZZ_BASE_TREE_H_
