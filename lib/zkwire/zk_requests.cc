#include "zkwire/zk_requests.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "synod/types.h"
#include "util/errors.h"
#include "util/status_macros.h"

namespace synod::zkwire {
namespace {

// MultiHeader: the type of the op that follows, or the end of the list.
struct MultiHeader {
  int32_t type = -1;
  bool done = true;
  int32_t err = -1;
};

absl::Status ReadMultiHeader(JuteReader* in, MultiHeader* h) {
  SYNOD_RETURN_IF_ERROR(in->Int(&h->type, "multi header"));
  SYNOD_RETURN_IF_ERROR(in->Bool(&h->done, "multi header"));
  return in->Int(&h->err, "multi header");
}

void WriteMultiHeader(int32_t type, bool done, int32_t err, JuteWriter* out) {
  out->Int(type);
  out->Bool(done);
  out->Int(err);
}

absl::Status ReadAclEntries(
    JuteReader* in, google::protobuf::RepeatedPtrField<txn::AclEntry>* acl) {
  int32_t n = 0;
  // Each ACL is at least its perms and two string lengths.
  SYNOD_RETURN_IF_ERROR(in->Count(&n, 12, "acl list"));
  acl->Reserve(n);
  for (int32_t i = 0; i < n; ++i) {
    txn::AclEntry* a = acl->Add();
    int32_t perms = 0;
    SYNOD_RETURN_IF_ERROR(in->Int(&perms, "acl"));
    a->set_perms(perms);
    SYNOD_RETURN_IF_ERROR(in->String(a->mutable_scheme(), "acl scheme"));
    SYNOD_RETURN_IF_ERROR(in->String(a->mutable_id(), "acl id"));
  }
  return absl::OkStatus();
}

void WriteAclEntries(const google::protobuf::RepeatedPtrField<txn::AclEntry>& acl,
                     JuteWriter* out) {
  out->Int(acl.size());
  for (const txn::AclEntry& a : acl) {
    out->Int(a.perms());
    out->String(a.scheme());
    out->String(a.id());
  }
}

bool IsTtlFlag(int32_t flags) {
  return flags == static_cast<int32_t>(CreateMode::kPersistentWithTtl) ||
         flags == static_cast<int32_t>(CreateMode::kPersistentSequentialWithTtl);
}

bool IsKnownFlag(int32_t flags) {
  return flags >= static_cast<int32_t>(CreateMode::kPersistent) &&
         flags <= static_cast<int32_t>(CreateMode::kPersistentSequentialWithTtl);
}

// The fields every create carries (CreateRequest), and the TTL of a
// CreateTTLRequest when `with_ttl`.
struct CreateFields {
  int32_t flags = 0;
  int64_t ttl = -1;
};
absl::Status ReadCreate(JuteReader* in, bool with_ttl, txn::CreateRequest* c,
                        CreateFields* f) {
  SYNOD_RETURN_IF_ERROR(in->String(c->mutable_path(), "create path"));
  SYNOD_RETURN_IF_ERROR(in->Buffer(c->mutable_data(), "create data"));
  SYNOD_RETURN_IF_ERROR(ReadAclEntries(in, c->mutable_acl()));
  SYNOD_RETURN_IF_ERROR(in->Int(&f->flags, "create flags"));
  if (with_ttl) SYNOD_RETURN_IF_ERROR(in->Long(&f->ttl, "create ttl"));
  return absl::OkStatus();
}

// A create's opcode decides, as ZooKeeper's PrepRequestProcessor does, what
// it creates: createContainer a container, createTTL a TTL node, create and
// create2 the mode of the flags (a container flag makes a persistent node
// there). BadArguments for an unknown flag, a TTL mode without a TTL, and a
// TTL for another mode (which ZooKeeper would fail to apply).
absl::Status SetCreateMode(OpCode op, const CreateFields& f,
                           txn::CreateRequest* c) {
  if (!IsKnownFlag(f.flags)) {
    return MakeError(Error::kBadArguments,
                     absl::StrCat("unknown create mode ", f.flags));
  }
  const bool ttl_mode = IsTtlFlag(f.flags);
  if (op == OpCode::kCreateTtl) {
    if (!ttl_mode) {
      return MakeError(Error::kBadArguments,
                       absl::StrCat("createTTL with create mode ", f.flags));
    }
    c->set_mode(f.flags);
    c->set_ttl_ms(f.ttl);
    return absl::OkStatus();
  }
  if (ttl_mode) {
    return MakeError(Error::kBadArguments,
                     absl::StrCat("create mode ", f.flags, " needs a TTL"));
  }
  if (op == OpCode::kCreateContainer) {
    c->set_mode(static_cast<int32_t>(CreateMode::kContainer));
  } else if (f.flags == static_cast<int32_t>(CreateMode::kContainer)) {
    c->set_mode(static_cast<int32_t>(CreateMode::kPersistent));
  } else {
    c->set_mode(f.flags);
  }
  return absl::OkStatus();
}

absl::Status ReadPathAndVersion(JuteReader* in, std::string* path,
                                int32_t* version, std::string_view what) {
  SYNOD_RETURN_IF_ERROR(in->String(path, what));
  return in->Int(version, what);
}

// One op of a multi: as ZooKeeper's MultiOperationRecord reads it. A
// create's mode comes from its flags (an unknown flag is persistent), and
// a TTL only counts for a TTL mode.
absl::Status ReadMultiWriteOp(JuteReader* in, int32_t type,
                              txn::Request* op, OpCode* result_type) {
  switch (static_cast<OpCode>(type)) {
    case OpCode::kCreate:
    case OpCode::kCreate2:
    case OpCode::kCreateContainer:
    case OpCode::kCreateTtl: {
      const bool with_ttl = static_cast<OpCode>(type) == OpCode::kCreateTtl;
      CreateFields f;
      txn::CreateRequest* c = op->mutable_create();
      SYNOD_RETURN_IF_ERROR(ReadCreate(in, with_ttl, c, &f));
      const int32_t mode = IsKnownFlag(f.flags) ? f.flags : 0;
      c->set_mode(mode);
      // A TTL mode without a TTL keeps 0, which the preparer refuses.
      if (IsTtlFlag(mode) && with_ttl) c->set_ttl_ms(f.ttl);
      *result_type =
          IsTtlFlag(mode) || mode == static_cast<int32_t>(CreateMode::kContainer)
              ? OpCode::kCreate2
              : OpCode::kCreate;
      return absl::OkStatus();
    }
    case OpCode::kDelete: {
      txn::DeleteRequest* d = op->mutable_delete_node();
      int32_t version = 0;
      SYNOD_RETURN_IF_ERROR(
          ReadPathAndVersion(in, d->mutable_path(), &version, "delete"));
      d->set_version(version);
      *result_type = OpCode::kDelete;
      return absl::OkStatus();
    }
    case OpCode::kSetData: {
      txn::SetDataRequest* s = op->mutable_set_data();
      int32_t version = 0;
      SYNOD_RETURN_IF_ERROR(in->String(s->mutable_path(), "setData path"));
      SYNOD_RETURN_IF_ERROR(in->Buffer(s->mutable_data(), "setData data"));
      SYNOD_RETURN_IF_ERROR(in->Int(&version, "setData version"));
      s->set_version(version);
      *result_type = OpCode::kSetData;
      return absl::OkStatus();
    }
    case OpCode::kCheck: {
      txn::CheckRequest* c = op->mutable_check();
      int32_t version = 0;
      SYNOD_RETURN_IF_ERROR(
          ReadPathAndVersion(in, c->mutable_path(), &version, "check"));
      c->set_version(version);
      *result_type = OpCode::kCheck;
      return absl::OkStatus();
    }
    default:
      return MalformedError("multi", absl::StrCat("op type ", type,
                                                  " in a multi of writes"));
  }
}

absl::Status ReadMulti(JuteReader* in, Request* r) {
  txn::MultiRequest* multi = r->write.mutable_multi();
  MultiHeader h;
  SYNOD_RETURN_IF_ERROR(ReadMultiHeader(in, &h));
  while (!h.done) {
    OpCode result_type = OpCode::kCreate;
    SYNOD_RETURN_IF_ERROR(
        ReadMultiWriteOp(in, h.type, multi->add_ops(), &result_type));
    r->result_types.push_back(result_type);
    SYNOD_RETURN_IF_ERROR(ReadMultiHeader(in, &h));
  }
  return absl::OkStatus();
}

absl::Status ReadMultiRead(JuteReader* in, Request* r) {
  MultiHeader h;
  SYNOD_RETURN_IF_ERROR(ReadMultiHeader(in, &h));
  while (!h.done) {
    const OpCode op = static_cast<OpCode>(h.type);
    if (op != OpCode::kGetData && op != OpCode::kGetChildren) {
      return MalformedError("multiRead", absl::StrCat("op type ", h.type,
                                                      " in a multi of reads"));
    }
    ReadOp read;
    read.op = op;
    SYNOD_RETURN_IF_ERROR(in->String(&read.path, "multiRead path"));
    SYNOD_RETURN_IF_ERROR(in->Bool(&read.watch, "multiRead watch"));
    // ZooKeeper's multiRead sets no watches, whatever the flag says.
    read.watch = false;
    r->reads.push_back(std::move(read));
    SYNOD_RETURN_IF_ERROR(ReadMultiHeader(in, &h));
  }
  return absl::OkStatus();
}

absl::Status ReadSetWatches(JuteReader* in, bool v2, SetWatches* w) {
  SYNOD_RETURN_IF_ERROR(in->Long(&w->relative_zxid, "setWatches zxid"));
  SYNOD_RETURN_IF_ERROR(in->StringVector(&w->data, "setWatches data"));
  SYNOD_RETURN_IF_ERROR(in->StringVector(&w->exist, "setWatches exist"));
  SYNOD_RETURN_IF_ERROR(in->StringVector(&w->child, "setWatches child"));
  if (!v2) return absl::OkStatus();
  SYNOD_RETURN_IF_ERROR(
      in->StringVector(&w->persistent, "setWatches persistent"));
  return in->StringVector(&w->persistent_recursive,
                          "setWatches persistent recursive");
}

void Refuse(Request* r, ZkError error) {
  r->kind = RequestKind::kRefused;
  r->error = error;
}

// Reads the body of `r`'s opcode; sets its kind (or refuses it).
absl::Status ReadBody(JuteReader* in, Request* r) {
  const OpCode op = static_cast<OpCode>(r->header.type);
  switch (op) {
    case OpCode::kCreate:
    case OpCode::kCreate2:
    case OpCode::kCreateContainer:
    case OpCode::kCreateTtl: {
      CreateFields f;
      txn::CreateRequest* c = r->write.mutable_create();
      SYNOD_RETURN_IF_ERROR(ReadCreate(in, op == OpCode::kCreateTtl, c, &f));
      if (absl::Status s = SetCreateMode(op, f, c); !s.ok()) {
        r->write.Clear();
        Refuse(r, ZkError::kBadArguments);
        return absl::OkStatus();
      }
      r->kind = RequestKind::kWrite;
      r->result_types = {op == OpCode::kCreate ? OpCode::kCreate
                                               : OpCode::kCreate2};
      return absl::OkStatus();
    }
    case OpCode::kDelete:
    case OpCode::kSetData:
    case OpCode::kCheck: {
      OpCode result_type = op;
      SYNOD_RETURN_IF_ERROR(
          ReadMultiWriteOp(in, r->header.type, &r->write, &result_type));
      r->kind = RequestKind::kWrite;
      r->result_types = {result_type};
      return absl::OkStatus();
    }
    case OpCode::kSetAcl: {
      txn::SetAclRequest* s = r->write.mutable_set_acl();
      int32_t version = 0;
      SYNOD_RETURN_IF_ERROR(in->String(s->mutable_path(), "setACL path"));
      SYNOD_RETURN_IF_ERROR(ReadAclEntries(in, s->mutable_acl()));
      SYNOD_RETURN_IF_ERROR(in->Int(&version, "setACL version"));
      s->set_aversion(version);
      r->kind = RequestKind::kWrite;
      r->result_types = {OpCode::kSetAcl};
      return absl::OkStatus();
    }
    case OpCode::kMulti:
      r->write.mutable_multi();  // an empty multi is a multi too
      SYNOD_RETURN_IF_ERROR(ReadMulti(in, r));
      r->kind = RequestKind::kWrite;
      return absl::OkStatus();
    case OpCode::kMultiRead:
      SYNOD_RETURN_IF_ERROR(ReadMultiRead(in, r));
      r->kind = RequestKind::kMultiRead;
      return absl::OkStatus();
    case OpCode::kGetData:
    case OpCode::kExists:
    case OpCode::kGetChildren:
    case OpCode::kGetChildren2:
      r->read.op = op;
      SYNOD_RETURN_IF_ERROR(in->String(&r->read.path, "read path"));
      SYNOD_RETURN_IF_ERROR(in->Bool(&r->read.watch, "read watch"));
      r->kind = RequestKind::kRead;
      return absl::OkStatus();
    case OpCode::kGetAcl:
    case OpCode::kGetEphemerals:
    case OpCode::kGetAllChildrenNumber:
      r->read.op = op;
      SYNOD_RETURN_IF_ERROR(in->String(&r->read.path, "read path"));
      r->kind = RequestKind::kRead;
      return absl::OkStatus();
    case OpCode::kSync:
      SYNOD_RETURN_IF_ERROR(in->String(&r->path, "sync path"));
      r->kind = RequestKind::kSync;
      return absl::OkStatus();
    case OpCode::kAuth: {
      int32_t type = 0;  // unused by ZooKeeper too
      SYNOD_RETURN_IF_ERROR(in->Int(&type, "auth"));
      SYNOD_RETURN_IF_ERROR(in->String(&r->scheme, "auth scheme"));
      SYNOD_RETURN_IF_ERROR(in->Buffer(&r->credentials, "auth credentials"));
      r->kind = RequestKind::kAuth;
      return absl::OkStatus();
    }
    case OpCode::kSetWatches:
    case OpCode::kSetWatches2:
      SYNOD_RETURN_IF_ERROR(ReadSetWatches(in, op == OpCode::kSetWatches2,
                                           &r->set_watches));
      r->kind = RequestKind::kSetWatches;
      return absl::OkStatus();
    case OpCode::kAddWatch: {
      int32_t mode = 0;
      SYNOD_RETURN_IF_ERROR(in->String(&r->path, "addWatch path"));
      SYNOD_RETURN_IF_ERROR(in->Int(&mode, "addWatch mode"));
      absl::StatusOr<WatchMode> m = WatchModeFromZk(mode);
      if (!m.ok()) {
        Refuse(r, ZkError::kBadArguments);
        return absl::OkStatus();
      }
      r->watch_mode = *m;
      r->kind = RequestKind::kAddWatch;
      return absl::OkStatus();
    }
    case OpCode::kRemoveWatches:
    case OpCode::kCheckWatches: {
      int32_t type = 0;
      SYNOD_RETURN_IF_ERROR(in->String(&r->path, "watches path"));
      SYNOD_RETURN_IF_ERROR(in->Int(&type, "watcher type"));
      absl::StatusOr<WatcherType> t = WatcherTypeFromZk(type);
      if (!t.ok()) {
        Refuse(r, ZkError::kBadArguments);
        return absl::OkStatus();
      }
      r->watcher_type = *t;
      r->kind = op == OpCode::kRemoveWatches ? RequestKind::kRemoveWatches
                                             : RequestKind::kCheckWatches;
      return absl::OkStatus();
    }
    case OpCode::kWhoAmI:
      r->kind = RequestKind::kWhoAmI;
      return absl::OkStatus();
    case OpCode::kPing:
      r->kind = RequestKind::kPing;
      return absl::OkStatus();
    case OpCode::kCloseSession:
      r->kind = RequestKind::kCloseSession;
      return absl::OkStatus();
    case OpCode::kReconfig:
      // synod changes its members itself (docs/membership.md), as a
      // ZooKeeper ensemble with reconfigEnabled=false (its default) says.
      Refuse(r, ZkError::kReconfigDisabled);
      return absl::OkStatus();
    default:
      // sasl, the server's own opcodes, and any unknown one.
      Refuse(r, ZkError::kUnimplemented);
      return absl::OkStatus();
  }
}

void WriteCreateOp(const txn::CreateRequest& c, bool with_ttl,
                   JuteWriter* w) {
  w->String(c.path());
  w->Buffer(c.data());
  WriteAclEntries(c.acl(), w);
  w->Int(c.mode());
  if (with_ttl) w->Long(c.ttl_ms());
}

// The opcode a multi's op is sent as, as ZooKeeper's Java client sends it
// (Op.Create's opcode follows its mode).
int32_t MultiOpType(const txn::Request& op) {
  switch (op.body_case()) {
    case txn::Request::kCreate: {
      const int32_t mode = op.create().mode();
      if (IsTtlFlag(mode)) return static_cast<int32_t>(OpCode::kCreateTtl);
      return static_cast<int32_t>(
          mode == static_cast<int32_t>(CreateMode::kContainer)
              ? OpCode::kCreateContainer
              : OpCode::kCreate);
    }
    case txn::Request::kDeleteNode:
      return static_cast<int32_t>(OpCode::kDelete);
    case txn::Request::kSetData:
      return static_cast<int32_t>(OpCode::kSetData);
    case txn::Request::kCheck:
      return static_cast<int32_t>(OpCode::kCheck);
    default:
      return -1;
  }
}

void WriteWriteOp(const txn::Request& op, int32_t type, JuteWriter* w) {
  switch (op.body_case()) {
    case txn::Request::kCreate:
      WriteCreateOp(op.create(),
                    type == static_cast<int32_t>(OpCode::kCreateTtl), w);
      return;
    case txn::Request::kDeleteNode:
      w->String(op.delete_node().path());
      w->Int(op.delete_node().version());
      return;
    case txn::Request::kSetData:
      w->String(op.set_data().path());
      w->Buffer(op.set_data().data());
      w->Int(op.set_data().version());
      return;
    case txn::Request::kCheck:
      w->String(op.check().path());
      w->Int(op.check().version());
      return;
    case txn::Request::kSetAcl:
      w->String(op.set_acl().path());
      WriteAclEntries(op.set_acl().acl(), w);
      w->Int(op.set_acl().aversion());
      return;
    case txn::Request::kMulti:
      for (const txn::Request& sub : op.multi().ops()) {
        const int32_t sub_type = MultiOpType(sub);
        WriteMultiHeader(sub_type, false, -1, w);
        WriteWriteOp(sub, sub_type, w);
      }
      WriteMultiHeader(-1, true, -1, w);
      return;
    default:
      return;
  }
}

}  // namespace

absl::StatusOr<WatcherType> WatcherTypeFromZk(int32_t type) {
  switch (type) {
    case 1:
      return WatcherType::kChildren;
    case 2:
      return WatcherType::kData;
    case 3:
      return WatcherType::kAny;
    case 4:
      return WatcherType::kPersistent;
    case 5:
      return WatcherType::kPersistentRecursive;
    default:
      return MakeError(Error::kBadArguments,
                       absl::StrCat("unknown watcher type ", type));
  }
}

int32_t WatcherTypeToZk(WatcherType type) {
  switch (type) {
    case WatcherType::kChildren:
      return 1;
    case WatcherType::kData:
      return 2;
    case WatcherType::kAny:
      return 3;
    case WatcherType::kPersistent:
      return 4;
    case WatcherType::kPersistentRecursive:
      return 5;
  }
  return 3;
}

absl::StatusOr<WatchMode> WatchModeFromZk(int32_t mode) {
  switch (mode) {
    case 0:
      return WatchMode::kPersistent;
    case 1:
      return WatchMode::kPersistentRecursive;
    default:
      return MakeError(Error::kBadArguments,
                       absl::StrCat("unknown watch mode ", mode));
  }
}

absl::StatusOr<Request> DecodeRequest(std::string_view body,
                                      int32_t max_length) {
  JuteReader in(body, max_length);
  Request r;
  SYNOD_RETURN_IF_ERROR(ReadRequestHeader(&in, &r.header));
  SYNOD_RETURN_IF_ERROR(ReadBody(&in, &r));
  // A refused request's body is not read (ZooKeeper's server answers sasl
  // and reconfig whatever they hold).
  if (r.kind != RequestKind::kRefused) {
    SYNOD_RETURN_IF_ERROR(in.ExpectDone(OpCodeName(r.header.type)));
  }
  return r;
}

void EncodeRequest(const Request& r, std::string* out) {
  JuteWriter w(out);
  WriteRequestHeader(r.header, &w);
  switch (r.kind) {
    case RequestKind::kWrite:
      WriteWriteOp(r.write, r.header.type, &w);
      return;
    case RequestKind::kRead:
      w.String(r.read.path);
      if (r.read.op == OpCode::kGetData || r.read.op == OpCode::kExists ||
          r.read.op == OpCode::kGetChildren ||
          r.read.op == OpCode::kGetChildren2) {
        w.Bool(r.read.watch);
      }
      return;
    case RequestKind::kMultiRead:
      for (const ReadOp& read : r.reads) {
        WriteMultiHeader(static_cast<int32_t>(read.op), false, -1, &w);
        w.String(read.path);
        w.Bool(read.watch);
      }
      WriteMultiHeader(-1, true, -1, &w);
      return;
    case RequestKind::kSync:
      w.String(r.path);
      return;
    case RequestKind::kAuth:
      w.Int(0);
      w.String(r.scheme);
      w.Buffer(r.credentials);
      return;
    case RequestKind::kSetWatches: {
      const SetWatches& s = r.set_watches;
      w.Long(s.relative_zxid);
      w.StringVector(s.data);
      w.StringVector(s.exist);
      w.StringVector(s.child);
      if (r.header.type == static_cast<int32_t>(OpCode::kSetWatches2)) {
        w.StringVector(s.persistent);
        w.StringVector(s.persistent_recursive);
      }
      return;
    }
    case RequestKind::kAddWatch:
      w.String(r.path);
      w.Int(r.watch_mode == WatchMode::kPersistentRecursive ? 1 : 0);
      return;
    case RequestKind::kRemoveWatches:
    case RequestKind::kCheckWatches:
      w.String(r.path);
      w.Int(WatcherTypeToZk(r.watcher_type));
      return;
    case RequestKind::kWhoAmI:
    case RequestKind::kPing:
    case RequestKind::kCloseSession:
    case RequestKind::kRefused:
      return;
  }
}

}  // namespace synod::zkwire
