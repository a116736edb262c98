// Fuzzes request validation on the leader (Preparer, lib/txn/preparer.h):
// "whatever the Preparer accepts can be stored and read back". The input is
// a serialized txn::MultiRequest used as a script: each of its ops is one
// request (itself possibly a multi), prepared in order from the open
// session of base_tree.h with its identities, all prepared before the first
// is applied (pipelining, as the leader does), then applied in order. Every
// limit is at its ceiling (util/limits.h).
//
// Properties: nothing crashes; every refusal carries a ZooKeeper error;
// every accepted request's txn survives its own encoding, applies to the
// tree without error, and leaves every changed node's record decodable, and
// the whole tree survives a snapshot round trip.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base_tree.h"
#include "fuzz_util.h"
#include "tree/data_tree.h"
#include "tree_check.h"
#include "txn/preparer.h"
#include "txn/txn.pb.h"
#include "util/limits.h"

namespace synod::fuzz {
namespace {

constexpr int kMaxRequests = 64;

// Every limit at its ceiling: the most permissive configuration Options
// allows, whose every accepted request must still be stored and read back.
RequestLimits CeilingLimits() {
  RequestLimits limits;
  limits.max_data_bytes = kDataBytesCeiling;
  limits.max_path_bytes = kPathBytesCeiling;
  limits.max_acl_entries = kAclEntriesCeiling;
  limits.max_acl_id_bytes = kAclIdBytesCeiling;
  limits.max_auth_ids = kAclEntriesCeiling;
  limits.max_multi_ops = kMultiOpsCeiling;
  limits.max_request_bytes = kRequestBytesCeiling;
  return limits;
}
// Late enough that /t's TTL has run out (a cleanup of it is due).
constexpr int64_t kNowMs = kBaseTimeMs + 5000;

}  // namespace
}  // namespace synod::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace synod;
  using namespace synod::fuzz;
  if (size > kMaxInputBytes) return 0;
  txn::MultiRequest script;
  if (!script.ParseFromArray(data, static_cast<int>(size))) return 0;

  DataTree tree;
  Zxid next = BuildBaseTree(&tree);
  Preparer preparer(&tree, CeilingLimits());
  const AuthInfo auth = BaseAuth();

  std::vector<txn::Txn> prepared;
  for (int i = 0; i < script.ops_size() && i < kMaxRequests; ++i) {
    const txn::Request& request = script.ops(i);
    txn::Txn t;
    absl::Status s =
        preparer.Prepare(request, kSession, auth, next, kNowMs, &t);
    if (!s.ok()) {
      const Error e = ErrorOf(s);
      SYNOD_FUZZ_CHECK(e != Error::kOk && e != Error::kSystemError &&
                           e != Error::kDataInconsistency,
                       s.ToString());
      continue;
    }
    t.set_zxid(next++);
    t.set_time_ms(kNowMs);
    t.set_session_id(kSession);
    prepared.push_back(std::move(t));
  }

  for (const txn::Txn& t : prepared) {
    // Logged and read back (or sent to a follower): the same txn.
    std::string encoded;
    SYNOD_FUZZ_CHECK(t.SerializeToString(&encoded), t.ShortDebugString());
    txn::Txn logged;
    SYNOD_FUZZ_CHECK(logged.ParseFromString(encoded) &&
                         logged.SerializeAsString() == encoded,
                     absl::StrCat("txn does not decode: ",
                                  Printable(t.ShortDebugString())));
    ApplyOutput out;
    absl::Status s = tree.Apply(logged, &out, nullptr);
    SYNOD_FUZZ_CHECK(s.ok(), absl::StrCat("accepted txn does not apply: ",
                                          s.ToString(), " ",
                                          Printable(t.ShortDebugString())));
    preparer.Applied(logged.zxid());
    for (const std::string& path : out.dirty_nodes) {
      if (tree.Find(path) == nullptr) continue;
      const std::string record = tree.EncodeNode(path);
      DataTree fresh;
      // Only the record's own decoding matters here: load it as "/a".
      s = fresh.LoadNode("/a", record);
      SYNOD_FUZZ_CHECK(s.ok(), absl::StrCat("accepted write's record of ",
                                            Printable(path),
                                            " does not decode: ",
                                            s.ToString()));
    }
  }
  SYNOD_FUZZ_CHECK(preparer.pending_size() == 0, "pending after all applied");
  CheckStoredAndReadBack(tree);
  return 0;
}
