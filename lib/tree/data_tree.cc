// DataTree: applying txns, and the compact node/session records.

#include "tree/data_tree.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "tree/path.h"
#include "tree/quota.h"
#include "util/coding.h"
#include "util/limits.h"

namespace synod {
namespace {

constexpr uint64_t kNodeRecordVersion = 1;

absl::Status Corrupt(std::string_view what, std::string_view path) {
  return MakeError(Error::kDataInconsistency,
                   absl::StrCat("log contradicts tree: ", AV(what), " ", AV(path)));
}

void PutAcl(std::string* out, const AclList& acl) {
  PutVarint(out, acl.size());
  for (const Acl& a : acl) {
    PutVarint(out, static_cast<uint32_t>(a.perms));
    PutBytes(out, a.scheme);
    PutBytes(out, a.id);
  }
}

bool GetAcl(Decoder* in, AclList* acl) {
  uint64_t n;
  if (!in->Varint(&n) || n > static_cast<uint64_t>(kAclEntriesCeiling)) return false;
  acl->resize(n);
  for (Acl& a : *acl) {
    uint64_t perms;
    std::string_view scheme, id;
    if (!in->Varint(&perms) || !in->Bytes(&scheme) || !in->Bytes(&id)) {
      return false;
    }
    a.perms = static_cast<int32_t>(perms);
    a.scheme.assign(scheme);
    a.id.assign(id);
  }
  return true;
}

// Reads past an ACL as GetAcl would, without building it.
bool SkipAcl(Decoder* in) {
  uint64_t n;
  if (!in->Varint(&n) || n > static_cast<uint64_t>(kAclEntriesCeiling)) return false;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t perms;
    std::string_view scheme, id;
    if (!in->Varint(&perms) || !in->Bytes(&scheme) || !in->Bytes(&id)) {
      return false;
    }
  }
  return true;
}

}  // namespace

void AclToProto(const AclList& acl,
                google::protobuf::RepeatedPtrField<txn::AclEntry>* out) {
  out->Clear();
  out->Reserve(static_cast<int>(acl.size()));
  for (const Acl& a : acl) {
    txn::AclEntry* e = out->Add();
    e->set_perms(a.perms);
    e->set_scheme(a.scheme);
    e->set_id(a.id);
  }
}

AclList AclFromProto(
    const google::protobuf::RepeatedPtrField<txn::AclEntry>& entries) {
  AclList acl;
  acl.reserve(entries.size());
  for (const txn::AclEntry& e : entries) {
    acl.push_back(Acl{e.perms(), e.scheme(), e.id()});
  }
  return acl;
}

DataTree::DataTree() {
  AclRef open = InternAcl(OpenAcl());
  Znode& root = nodes_["/"];
  root.acl = open;
  Znode& system = nodes_[std::string(kSystemRoot)];
  system.acl = open;
  root.children.insert(std::string(BaseName(kSystemRoot)));
  root.stat.num_children = 1;
}

const Znode* DataTree::Find(std::string_view path) const {
  auto it = nodes_.find(path);
  return it == nodes_.end() ? nullptr : &it->second;
}

Znode* DataTree::FindMutable(std::string_view path) {
  auto it = nodes_.find(path);
  return it == nodes_.end() ? nullptr : &it->second;
}

AclRef DataTree::InternAcl(AclList acl) {
  std::string key;
  PutAcl(&key, acl);
  auto it = acl_cache_.find(key);
  if (it != acl_cache_.end()) return it->second;
  auto ref = std::make_shared<const AclList>(std::move(acl));
  acl_cache_.emplace(std::move(key), ref);
  return ref;
}

int64_t DataTree::ephemeral_count() const {
  int64_t n = 0;
  for (const auto& [session, paths] : ephemerals_) n += paths.size();
  return n;
}

std::vector<std::string> DataTree::EphemeralsOf(int64_t session) const {
  auto it = ephemerals_.find(session);
  if (it == ephemerals_.end()) return {};
  return std::vector<std::string>(it->second.begin(), it->second.end());
}

std::vector<std::string> DataTree::CleanupCandidates(int64_t now_ms) const {
  std::vector<std::string> out;
  for (const std::string& path : containers_) {
    const Znode* n = Find(path);
    if (n && n->stat.num_children == 0 && n->stat.cversion > 0) {
      out.push_back(path);
    }
  }
  for (const std::string& path : ttl_nodes_) {
    const Znode* n = Find(path);
    if (n && n->stat.num_children == 0 && now_ms - n->stat.mtime > n->ttl_ms) {
      out.push_back(path);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void DataTree::Track(std::string_view path, const Znode& node) {
  data_bytes_ += static_cast<int64_t>(node.data.size());
  if (node.stat.ephemeral_owner != 0) {
    ephemerals_[node.stat.ephemeral_owner].emplace(path);
  }
  if (node.mode == CreateMode::kContainer) containers_.emplace(path);
  if (IsTtl(node.mode)) ttl_nodes_.emplace(path);
}

void DataTree::Untrack(std::string_view path, const Znode& node) {
  data_bytes_ -= static_cast<int64_t>(node.data.size());
  if (node.stat.ephemeral_owner != 0) {
    auto it = ephemerals_.find(node.stat.ephemeral_owner);
    if (it != ephemerals_.end()) {
      it->second.erase(std::string(path));
      if (it->second.empty()) ephemerals_.erase(it);
    }
  }
  if (node.mode == CreateMode::kContainer) containers_.erase(std::string(path));
  if (IsTtl(node.mode)) ttl_nodes_.erase(std::string(path));
}

absl::Status DataTree::Apply(const txn::Txn& txn, ApplyOutput* out,
                             std::vector<OpResult>* results) {
  if (txn.zxid() <= last_zxid_) {
    return Corrupt(absl::StrCat("zxid ", txn.zxid(), " not above ", last_zxid_),
                   "");
  }
  absl::Status status;
  if (txn.has_multi()) {
    if (results) results->assign(txn.multi().ops_size(), OpResult{});
    for (int i = 0; i < txn.multi().ops_size() && status.ok(); ++i) {
      status = ApplyOne(txn.multi().ops(i), txn, out,
                        results ? &(*results)[i] : nullptr);
    }
  } else {
    if (results) results->assign(1, OpResult{});
    status = ApplyOne(txn, txn, out, results ? &(*results)[0] : nullptr);
  }
  last_zxid_ = txn.zxid();
  return status;
}

absl::Status DataTree::ApplyOne(const txn::Txn& op, const txn::Txn& header,
                                ApplyOutput* out, OpResult* result) {
  const Zxid zxid = header.zxid();
  switch (op.body_case()) {
    case txn::Txn::kCreate:
      return ApplyCreate(op, header, out, result);
    case txn::Txn::kDeleteNode: {
      if (result) {
        result->type = Op::Type::kDelete;
        result->path = op.delete_node().path();
      }
      return ApplyDelete(op.delete_node().path(), zxid, out);
    }
    case txn::Txn::kSetData: {
      const txn::SetDataTxn& t = op.set_data();
      Znode* n = FindMutable(t.path());
      if (!n) return Corrupt("set of missing node", t.path());
      ChargeQuota(t.path(), 0,
                  static_cast<int64_t>(t.data().size()) -
                      static_cast<int64_t>(n->data.size()));
      data_bytes_ += static_cast<int64_t>(t.data().size()) -
                     static_cast<int64_t>(n->data.size());
      n->data = t.data();
      n->stat.version = t.version();
      n->stat.mzxid = zxid;
      n->stat.mtime = header.time_ms();
      n->stat.data_length = static_cast<int32_t>(n->data.size());
      out->events.push_back({EventType::kDataChanged, t.path(), n->acl});
      out->dirty_nodes.insert(t.path());
      if (result) *result = OpResult{Op::Type::kSet, t.path(), ServedStat(n->stat)};
      if (QuotaSubject(t.path())) return QuotaNodeChanged(t.path(), n);
      return absl::OkStatus();
    }
    case txn::Txn::kSetAcl: {
      const txn::SetAclTxn& t = op.set_acl();
      Znode* n = FindMutable(t.path());
      if (!n) return Corrupt("setACL of missing node", t.path());
      if (t.acl_size() > kAclEntriesCeiling) {
        return Corrupt("malformed setACL", t.path());
      }
      n->acl = InternAcl(AclFromProto(t.acl()));
      n->stat.aversion = t.aversion();
      out->dirty_nodes.insert(t.path());
      if (result) *result = OpResult{Op::Type::kSet, t.path(), ServedStat(n->stat)};
      return absl::OkStatus();
    }
    case txn::Txn::kCheck:
      if (result) {
        result->type = Op::Type::kCheck;
        result->path = op.check().path();
      }
      return absl::OkStatus();
    case txn::Txn::kCreateSession:
      // The store keeps timeouts in 0..INT32_MAX (LoadSession): a txn
      // outside it would be applied but never load back.
      if (op.create_session().timeout_ms() < 0) {
        return Corrupt("negative session timeout in", std::to_string(zxid));
      }
      if (op.create_session().password_digest().size() >
          kMaxSessionDigestBytes) {
        return Corrupt("oversized session password digest in",
                       std::to_string(zxid));
      }
      sessions_[zxid] = op.create_session().timeout_ms();
      if (!op.create_session().password_digest().empty()) {
        session_digests_[zxid] = op.create_session().password_digest();
      }
      out->dirty_sessions.insert(zxid);
      return absl::OkStatus();
    case txn::Txn::kCloseSession: {
      for (const std::string& path : op.close_session().ephemerals()) {
        absl::Status s = ApplyDelete(path, zxid, out);
        if (!s.ok()) return s;
      }
      sessions_.erase(header.session_id());
      session_digests_.erase(header.session_id());
      out->dirty_sessions.insert(header.session_id());
      return absl::OkStatus();
    }
    case txn::Txn::kError:
    case txn::Txn::kSync:
      return absl::OkStatus();  // outcomes for their origin; no change
    case txn::Txn::kMulti:
    case txn::Txn::BODY_NOT_SET:
      break;
  }
  return Corrupt("unknown txn body", "");
}

absl::Status DataTree::ApplyCreate(const txn::Txn& op, const txn::Txn& header,
                                   ApplyOutput* out, OpResult* result) {
  const txn::CreateTxn& t = op.create();
  const std::string& path = t.path();
  // The leader validated the request; a txn from the log or a peer that
  // breaks those rules anyway is refused before it can make a tree no
  // record or walk can handle (a "//" path, a mode no record holds).
  if (!ValidatePath(path).ok() || t.mode() < 0 ||
      t.mode() > static_cast<int32_t>(CreateMode::kPersistentSequentialWithTtl) ||
      t.acl_size() > kAclEntriesCeiling) {
    return Corrupt("malformed create", path);
  }
  if (path == "/" || nodes_.contains(path)) return Corrupt("create of existing", path);
  std::string_view parent_path = ParentOf(path);
  Znode* parent = FindMutable(parent_path);
  if (!parent) return Corrupt("create under missing parent", path);

  const Zxid zxid = header.zxid();
  auto [it, inserted] = nodes_.try_emplace(path);
  Znode& n = it->second;
  n.data = t.data();
  n.stat.czxid = n.stat.mzxid = n.stat.pzxid = zxid;
  n.stat.ctime = n.stat.mtime = header.time_ms();
  n.stat.ephemeral_owner = t.ephemeral_owner();
  n.stat.data_length = static_cast<int32_t>(n.data.size());
  n.acl = InternAcl(AclFromProto(t.acl()));
  n.mode = static_cast<CreateMode>(t.mode());
  n.ttl_ms = t.ttl_ms();
  Track(path, n);

  parent = FindMutable(parent_path);  // node_hash_map: pointers are stable
  parent->children.emplace(BaseName(path));
  parent->stat.num_children = static_cast<int32_t>(parent->children.size());
  parent->stat.cversion = t.parent_cversion();
  parent->stat.pzxid = zxid;

  out->events.push_back({EventType::kCreated, path, n.acl});
  out->events.push_back(
      {EventType::kChildrenChanged, std::string(parent_path), parent->acl});
  out->dirty_nodes.insert(path);
  out->dirty_nodes.emplace(parent_path);
  if (result) *result = OpResult{Op::Type::kCreate, path, ServedStat(n.stat)};
  ChargeQuota(path, 1, static_cast<int64_t>(n.data.size()));
  if (QuotaSubject(path)) return QuotaNodeChanged(path, &n);
  return absl::OkStatus();
}

absl::Status DataTree::ApplyDelete(std::string_view path, Zxid zxid,
                                   ApplyOutput* out) {
  auto it = nodes_.find(path);
  if (it == nodes_.end() || path == "/") return Corrupt("delete of missing", path);
  if (!it->second.children.empty()) return Corrupt("delete of non-empty", path);
  std::string_view parent_path = ParentOf(path);
  Znode* parent = FindMutable(parent_path);
  if (!parent) return Corrupt("delete under missing parent", path);

  Untrack(path, it->second);
  ChargeQuota(path, -1, -static_cast<int64_t>(it->second.data.size()));
  parent->children.erase(std::string(BaseName(path)));
  parent->stat.num_children = static_cast<int32_t>(parent->children.size());
  // As ZooKeeper: a deletion moves pzxid but not cversion.
  parent->stat.pzxid = std::max(parent->stat.pzxid, zxid);
  out->events.push_back({EventType::kDeleted, std::string(path), it->second.acl});
  out->events.push_back(
      {EventType::kChildrenChanged, std::string(parent_path), parent->acl});
  out->dirty_nodes.emplace(path);
  out->dirty_nodes.emplace(parent_path);
  nodes_.erase(it);
  if (QuotaSubject(path)) return QuotaNodeChanged(path, nullptr);
  return absl::OkStatus();
}

std::string DataTree::EncodeNode(std::string_view path) const {
  const Znode& n = *Find(path);
  std::string out;
  out.reserve(96 + n.data.size());
  AppendNodeRecord(n, &out);
  return out;
}

void DataTree::AppendNodeRecord(const Znode& n, std::string* out) const {
  PutVarint(out, kNodeRecordVersion);
  PutFixed64(out, n.stat.czxid);
  PutFixed64(out, n.stat.mzxid);
  PutFixed64(out, n.stat.pzxid);
  PutFixed64(out, n.stat.ctime);
  PutFixed64(out, n.stat.mtime);
  PutFixed64(out, n.stat.ephemeral_owner);
  PutFixed64(out, n.ttl_ms);
  PutFixed32(out, n.stat.version);
  PutFixed32(out, n.stat.cversion);
  PutFixed32(out, n.stat.aversion);
  PutVarint(out, static_cast<uint32_t>(n.mode));
  PutAcl(out, *n.acl);
  PutBytes(out, n.data);
}

void DataTree::ForEachNode(
    const std::function<void(const std::string&, const Znode&)>& fn) const {
  ForEachInSubtree("/", fn);
}

void DataTree::ForEachInSubtree(
    std::string_view root,
    const std::function<void(const std::string&, const Znode&)>& fn) const {
  // Depth first, with an explicit stack: trees may be deep.
  std::vector<std::string> stack = {std::string(root)};
  while (!stack.empty()) {
    std::string path = std::move(stack.back());
    stack.pop_back();
    auto it = nodes_.find(path);
    if (it == nodes_.end()) continue;
    fn(path, it->second);
    const std::string prefix = path == "/" ? path : path + "/";
    for (auto c = it->second.children.rbegin(); c != it->second.children.rend();
         ++c) {
      stack.push_back(prefix + *c);
    }
  }
}

absl::Status DataTree::LoadNode(std::string_view path, std::string_view record,
                                LoadCursor* cursor) {
  Decoder in(record);
  uint64_t version, czxid, mzxid, pzxid, ctime, mtime, owner, ttl, mode;
  uint32_t dversion, cversion, aversion;
  std::string_view acl_bytes;
  std::string_view data;
  bool ok = in.Varint(&version) && version == kNodeRecordVersion &&
            in.Fixed64(&czxid) && in.Fixed64(&mzxid) && in.Fixed64(&pzxid) &&
            in.Fixed64(&ctime) && in.Fixed64(&mtime) && in.Fixed64(&owner) &&
            in.Fixed64(&ttl) && in.Fixed32(&dversion) &&
            in.Fixed32(&cversion) && in.Fixed32(&aversion) &&
            in.Varint(&mode) &&
            mode <= static_cast<uint64_t>(
                        CreateMode::kPersistentSequentialWithTtl);
  if (ok) {
    // The ACL's encoding is its key in acl_cache_: most records share one
    // of a few ACLs, found without decoding (no allocation per node).
    const std::string_view acl_start = in.rest();
    ok = SkipAcl(&in);
    acl_bytes = acl_start.substr(0, acl_start.size() - in.rest().size());
  }
  ok = ok && in.Bytes(&data) && in.empty();
  AclRef acl_ref;
  if (ok) {
    auto cached = acl_cache_.find(acl_bytes);
    if (cached != acl_cache_.end()) {
      acl_ref = cached->second;
    } else {
      AclList acl;
      Decoder acl_in(acl_bytes);
      ok = GetAcl(&acl_in, &acl);
      if (ok) acl_ref = InternAcl(std::move(acl));
    }
  }
  if (!ok || !ValidatePath(path).ok()) {
    return MakeError(Error::kDataInconsistency,
                     absl::StrCat("malformed node record for ",
                                  absl::CHexEscape(AV(path))));
  }
  Znode* parent = nullptr;
  if (path != "/") {
    const std::string_view parent_path = ParentOf(path);
    if (cursor != nullptr && cursor->parent != nullptr &&
        cursor->parent_path == parent_path) {
      parent = cursor->parent;
    } else {
      parent = FindMutable(parent_path);
      if (cursor != nullptr && parent != nullptr) {
        cursor->parent_path.assign(parent_path);
        cursor->parent = parent;
      }
    }
    if (!parent) {
      return MakeError(Error::kDataInconsistency,
                       absl::StrCat("node record without parent: ", AV(path)));
    }
  }
  auto [it, inserted] = nodes_.try_emplace(path);
  Znode& n = it->second;
  if (!inserted) Untrack(path, n);
  ChargeQuota(path, inserted ? 1 : 0,
              static_cast<int64_t>(data.size()) -
                  (inserted ? 0 : static_cast<int64_t>(n.data.size())));
  n.data.assign(data);
  n.stat.czxid = czxid;
  n.stat.mzxid = mzxid;
  n.stat.pzxid = pzxid;
  n.stat.ctime = ctime;
  n.stat.mtime = mtime;
  n.stat.ephemeral_owner = owner;
  n.stat.version = dversion;
  n.stat.cversion = cversion;
  n.stat.aversion = aversion;
  n.stat.data_length = static_cast<int32_t>(n.data.size());
  n.stat.num_children = static_cast<int32_t>(n.children.size());
  n.ttl_ms = ttl;
  n.mode = static_cast<CreateMode>(mode);
  n.acl = std::move(acl_ref);
  Track(path, n);
  if (parent && inserted) {
    // nodes_ is a node map: `parent` stayed valid through the emplace.
    parent->children.emplace(BaseName(path));
    parent->stat.num_children = static_cast<int32_t>(parent->children.size());
  }
  if (QuotaSubject(path)) return QuotaNodeChanged(path, &n);
  return absl::OkStatus();
}

void DataTree::ChargeQuota(std::string_view path, int64_t count,
                           int64_t bytes) {
  if (quotas_.empty() || IsSystemPath(path)) return;
  // One quota per path from the root (the preparer sees to it): the
  // nearest one, the node itself included, is the only one.
  for (std::string_view p = path; p != "/"; p = ParentOf(p)) {
    auto it = quotas_.find(p);
    if (it != quotas_.end()) {
      it->second.count += count;
      it->second.bytes += bytes;
      return;
    }
  }
}

absl::Status DataTree::QuotaNodeChanged(std::string_view path,
                                        const Znode* node) {
  const std::string_view subject = *QuotaSubject(path);
  if (node == nullptr || node->data.empty()) {
    quotas_.erase(subject);
    return absl::OkStatus();
  }
  absl::StatusOr<QuotaLimits> limits = ParseQuotaLimits(node->data);
  if (!limits.ok()) {
    return MakeError(Error::kDataInconsistency,
                     absl::StrCat(limits.status().message(), " in ", AV(path)));
  }
  auto [it, inserted] = quotas_.try_emplace(subject);
  it->second.limits = *limits;
  if (inserted) {
    // A new quota counts what its subtree holds already.
    Quota& quota = it->second;
    ForEachInSubtree(subject, [&](const std::string&, const Znode& n) {
      quota.count++;
      quota.bytes += static_cast<int64_t>(n.data.size());
    });
  }
  return absl::OkStatus();
}

std::string DataTree::EncodeSession(int64_t id) const {
  std::string out;
  PutVarint(&out, static_cast<uint32_t>(sessions_.at(id)));
  // A session with a password digest adds it; records of sessions without
  // one (and every record written before digests existed) end here.
  if (auto it = session_digests_.find(id); it != session_digests_.end()) {
    PutBytes(&out, it->second);
  }
  return out;
}

absl::Status DataTree::LoadSession(int64_t id, std::string_view record) {
  Decoder in(record);
  uint64_t timeout;
  std::string_view digest;
  const bool ok = in.Varint(&timeout) && timeout <= INT32_MAX &&
                  (in.empty() || (in.Bytes(&digest) && !digest.empty() &&
                                  digest.size() <= kMaxSessionDigestBytes &&
                                  in.empty()));
  if (!ok) {
    return MakeError(Error::kDataInconsistency,
                     absl::StrCat("malformed session record ", id));
  }
  sessions_[id] = static_cast<int32_t>(timeout);
  if (digest.empty()) {
    session_digests_.erase(id);
  } else {
    session_digests_[id] = std::string(digest);
  }
  return absl::OkStatus();
}

std::optional<std::string_view> DataTree::SessionPasswordDigest(
    int64_t id) const {
  if (!sessions_.contains(id)) return std::nullopt;
  auto it = session_digests_.find(id);
  if (it == session_digests_.end()) return std::string_view();
  return std::string_view(it->second);
}

}  // namespace synod
