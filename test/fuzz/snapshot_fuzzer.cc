// Fuzzes the loading of a snapshot (LoadSnapshot, lib/tree/snapshot.h): the
// input is the whole snapshot a leader streams in SNAPCHUNKs, loaded into a
// fresh tree as a learner does.
//
// Properties: nothing crashes or hangs; a refusal is DataInconsistency; a
// snapshot that loads reports each record once to the callbacks, and the
// tree it gives encodes to a snapshot that loads to the same tree (same
// records, same sessions, same zxid); DiffTrees against an empty tree works.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "fuzz_util.h"
#include "synod/types.h"
#include "tree/data_tree.h"
#include "tree/snapshot.h"
#include "tree_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace synod;
  using namespace synod::fuzz;
  if (size > kMaxInputBytes) return 0;
  const std::string_view snapshot(reinterpret_cast<const char*>(data), size);

  DataTree tree;
  int64_t node_records = 0;
  int64_t session_records = 0;
  absl::Status s = LoadSnapshot(
      snapshot, &tree,
      [&](std::string_view, std::string_view) { ++node_records; },
      [&](int64_t, std::string_view) { ++session_records; });
  if (!s.ok()) {
    SYNOD_FUZZ_CHECK(ErrorOf(s) == Error::kDataInconsistency, s.ToString());
    return 0;  // the tree is unusable, as documented
  }
  SYNOD_FUZZ_CHECK(tree.Find("/") != nullptr, "no root");
  // A record may replace an earlier one for the same key, so there may be
  // more records than nodes, never fewer (the fresh tree's "/synod" is
  // there without a record).
  SYNOD_FUZZ_CHECK(node_records + 1 >= tree.node_count(),
                   absl::StrCat(node_records, " node records, ",
                                tree.node_count(), " nodes"));
  SYNOD_FUZZ_CHECK(
      session_records >= static_cast<int64_t>(tree.sessions().size()),
      "sessions without records");
  CheckStoredAndReadBack(tree);
  DataTree empty;
  (void)DiffTrees(empty, tree);
  (void)DiffTrees(tree, empty);
  return 0;
}
