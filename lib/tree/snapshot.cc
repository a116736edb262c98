// Snapshot encoding of a DataTree (see snapshot.h).

#include "tree/snapshot.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "util/coding.h"
#include "util/errors.h"

namespace synod {
namespace {

constexpr std::string_view kMagic = "SNP1";

absl::Status Malformed(std::string_view what) {
  return MakeError(Error::kDataInconsistency,
                   absl::StrCat("malformed snapshot: ", AV(what)));
}

}  // namespace

std::string EncodeSnapshot(const DataTree& tree) {
  std::string out(kMagic);
  PutVarint(&out, static_cast<uint64_t>(tree.last_zxid()));
  std::string record;  // reused: no allocation per node
  tree.ForEachNode([&](const std::string& path, const Znode& node) {
    out.push_back('n');
    PutBytes(&out, path);
    record.clear();
    tree.AppendNodeRecord(node, &record);
    PutBytes(&out, record);
  });
  for (const auto& [id, timeout] : tree.sessions()) {
    out.push_back('s');
    PutBytes(&out, std::to_string(id));
    PutBytes(&out, tree.EncodeSession(id));
  }
  return out;
}

absl::Status LoadSnapshot(
    std::string_view snapshot, DataTree* tree,
    const std::function<void(std::string_view, std::string_view)>& on_node,
    const std::function<void(int64_t, std::string_view)>& on_session) {
  if (snapshot.substr(0, kMagic.size()) != kMagic) return Malformed("no magic");
  Decoder in(snapshot.substr(kMagic.size()));
  uint64_t zxid;
  if (!in.Varint(&zxid)) return Malformed("no zxid");
  bool saw_root = false;
  DataTree::LoadCursor cursor;  // siblings arrive one after another
  while (!in.empty()) {
    std::string_view kind, key, record;
    if (!in.Raw(1, &kind) || !in.Bytes(&key) || !in.Bytes(&record)) {
      return Malformed("truncated record");
    }
    if (kind == "n") {
      if (!saw_root && key != "/") return Malformed("root is not first");
      saw_root = true;
      absl::Status s = tree->LoadNode(key, record, &cursor);
      if (!s.ok()) return s;
      on_node(key, record);
    } else if (kind == "s") {
      int64_t id;
      if (!absl::SimpleAtoi(AV(key), &id)) return Malformed("bad session id");
      absl::Status s = tree->LoadSession(id, record);
      if (!s.ok()) return s;
      on_session(id, record);
    } else {
      return Malformed("unknown record kind");
    }
  }
  if (!saw_root) return Malformed("no root");
  tree->SetLastZxid(static_cast<Zxid>(zxid));
  return absl::OkStatus();
}

std::vector<TreeEvent> DiffTrees(const DataTree& before, const DataTree& after) {
  std::vector<TreeEvent> gone, created, changed, children;
  before.ForEachNode([&](const std::string& path, const Znode& old_ref) {
    const Znode* old_node = &old_ref;
    const Znode* new_node = after.Find(path);
    if (!new_node) {
      gone.push_back({EventType::kDeleted, path, old_node->acl});
      return;
    }
    if (old_node->stat.mzxid != new_node->stat.mzxid) {
      changed.push_back({EventType::kDataChanged, path, new_node->acl});
    }
    if (old_node->stat.pzxid != new_node->stat.pzxid ||
        old_node->children != new_node->children) {
      children.push_back({EventType::kChildrenChanged, path, new_node->acl});
    }
  });
  after.ForEachNode([&](const std::string& path, const Znode& node) {
    if (!before.Find(path)) {
      created.push_back({EventType::kCreated, path, node.acl});
    }
  });
  std::vector<TreeEvent> out;
  out.reserve(gone.size() + created.size() + changed.size() + children.size());
  out.insert(out.end(), gone.rbegin(), gone.rend());  // children first
  out.insert(out.end(), created.begin(), created.end());
  out.insert(out.end(), changed.begin(), changed.end());
  out.insert(out.end(), children.begin(), children.end());
  return out;
}

}  // namespace synod
