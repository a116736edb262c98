// Fuzzes the decoding of node and session storage records
// (DataTree::LoadNode / LoadSession, lib/tree/data_tree.h) into a fresh
// tree. The first byte picks what the rest of the input is:
//
//   0: the record of node "/a"          1: the record of the root "/"
//   2: the record of "/a/b" (under a valid "/a")
//   3: a session record; 8 bytes of session id, then the record
//
// Properties: nothing crashes; a refused record is DataInconsistency and
// leaves the tree as it was; a record that decodes re-encodes to a record
// that decodes to the same node (and re-encodes to the same bytes), also
// when it replaces a node already loaded; the tree then survives a
// snapshot round trip.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "fuzz_util.h"
#include "synod/types.h"
#include "tree/data_tree.h"
#include "tree_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace synod;
  using namespace synod::fuzz;
  if (size > kMaxInputBytes) return 0;
  Input in(data, size);
  const uint8_t kind = in.Byte() % 4;

  if (kind == 3) {
    const auto id = static_cast<int64_t>(in.Int(8));
    const std::string_view record = in.Rest();
    DataTree tree;
    absl::Status s = tree.LoadSession(id, record);
    if (!s.ok()) {
      SYNOD_FUZZ_CHECK(ErrorOf(s) == Error::kDataInconsistency, s.ToString());
      SYNOD_FUZZ_CHECK(tree.sessions().empty(), "refused session was loaded");
      return 0;
    }
    const std::string again = tree.EncodeSession(id);
    DataTree other;
    s = other.LoadSession(id, again);
    SYNOD_FUZZ_CHECK(s.ok(), s.ToString());
    SYNOD_FUZZ_CHECK(other.sessions() == tree.sessions(), "session differs");
    SYNOD_FUZZ_CHECK(other.EncodeSession(id) == again, "session record differs");
    CheckStoredAndReadBack(tree);
    return 0;
  }

  const std::string_view path = kind == 0 ? "/a" : kind == 1 ? "/" : "/a/b";
  const std::string_view record = in.Rest();
  // A valid record for "/a": what a fresh tree's "/synod" encodes to.
  static const std::string parent_record = DataTree().EncodeNode("/synod");

  // Loads the record into a tree prepared for it.
  auto fresh_tree = [&](DataTree* tree) {
    if (kind == 2) {
      absl::Status s = tree->LoadNode("/a", parent_record);
      SYNOD_FUZZ_CHECK(s.ok(), s.ToString());
    }
  };
  DataTree tree;
  fresh_tree(&tree);
  const int64_t nodes_before = tree.node_count();
  const std::string root_before = tree.EncodeNode("/");
  absl::Status s = tree.LoadNode(path, record);
  if (!s.ok()) {
    SYNOD_FUZZ_CHECK(ErrorOf(s) == Error::kDataInconsistency, s.ToString());
    SYNOD_FUZZ_CHECK(tree.node_count() == nodes_before &&
                         tree.EncodeNode("/") == root_before,
                     "a refused record changed the tree");
    return 0;
  }
  const Znode* node = tree.Find(path);
  SYNOD_FUZZ_CHECK(node != nullptr, "a loaded node is missing");
  SYNOD_FUZZ_CHECK(node->stat.data_length ==
                       static_cast<int32_t>(node->data.size()),
                   "data_length");
  const std::string encoded = tree.EncodeNode(path);

  // The re-encoded record decodes to the same node, in a fresh tree...
  DataTree other;
  fresh_tree(&other);
  s = other.LoadNode(path, encoded);
  SYNOD_FUZZ_CHECK(s.ok(), absl::StrCat("re-encoded record refused: ",
                                        s.ToString(), " ", Printable(encoded)));
  const Znode* back = other.Find(path);
  SYNOD_FUZZ_CHECK(back != nullptr && SameNode(*node, *back),
                   "re-encoded record decodes to another node");
  SYNOD_FUZZ_CHECK(other.EncodeNode(path) == encoded,
                   "re-encoding is not stable");
  // ... and over the node already there (a restart's later record).
  s = tree.LoadNode(path, encoded);
  SYNOD_FUZZ_CHECK(s.ok(), s.ToString());
  SYNOD_FUZZ_CHECK(tree.Find(path) != nullptr &&
                       SameNode(*tree.Find(path), *back),
                   "reloading a node changed it");
  SYNOD_FUZZ_CHECK(tree.node_count() == other.node_count(), "node count");
  CheckStoredAndReadBack(tree);
  return 0;
}
