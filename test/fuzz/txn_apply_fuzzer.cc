// Fuzzes the decoding and application of a committed txn (txn::Txn from the
// log or a peer, DataTree::Apply in lib/tree/data_tree.h). The input is one
// serialized txn::Txn, applied to the base tree of base_tree.h.
//
// Properties: nothing crashes or hangs; a txn the tree applies without
// error leaves a tree whose every node and session record is stored and
// read back to the same node (what a restart or a SNAP would do), and the
// txn itself survives its own encoding.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base_tree.h"
#include "fuzz_util.h"
#include "tree/data_tree.h"
#include "tree_check.h"
#include "txn/txn.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace synod;
  using namespace synod::fuzz;
  if (size > kMaxInputBytes) return 0;
  txn::Txn t;
  if (!t.ParseFromArray(data, static_cast<int>(size))) return 0;

  // What the log stores of it reads back as the same txn.
  std::string encoded;
  SYNOD_FUZZ_CHECK(t.SerializeToString(&encoded), "serialize");
  txn::Txn back;
  SYNOD_FUZZ_CHECK(back.ParseFromString(encoded), "parse of own encoding");
  SYNOD_FUZZ_CHECK(back.SerializeAsString() == encoded, "txn round trip");

  DataTree tree;
  BuildBaseTree(&tree);
  ApplyOutput out;
  std::vector<OpResult> results;
  absl::Status s = tree.Apply(t, &out, &results);
  if (!s.ok()) return 0;  // DataLoss: the tree is unusable, as documented
  for (const std::string& path : out.dirty_nodes) {
    if (tree.Find(path) == nullptr) continue;
    const std::string record = tree.EncodeNode(path);
    DataTree fresh;
    // Only the record's own decoding matters here: load it as "/a".
    absl::Status load = fresh.LoadNode("/a", record);
    SYNOD_FUZZ_CHECK(load.ok(), absl::StrCat("record of ", Printable(path),
                                             " does not decode: ",
                                             load.ToString()));
  }
  CheckStoredAndReadBack(tree);
  return 0;
}
