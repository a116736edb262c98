// The small value-type helpers declared in synod/types.h and synod/watch.h.

#include "synod/types.h"
#include "synod/watch.h"

namespace synod {

bool operator==(const Stat& a, const Stat& b) {
  return a.czxid == b.czxid && a.mzxid == b.mzxid && a.pzxid == b.pzxid &&
         a.ctime == b.ctime && a.mtime == b.mtime && a.version == b.version &&
         a.cversion == b.cversion && a.aversion == b.aversion &&
         a.ephemeral_owner == b.ephemeral_owner &&
         a.data_length == b.data_length && a.num_children == b.num_children;
}

bool IsSequential(CreateMode mode) {
  return mode == CreateMode::kPersistentSequential ||
         mode == CreateMode::kEphemeralSequential ||
         mode == CreateMode::kPersistentSequentialWithTtl;
}

bool IsEphemeral(CreateMode mode) {
  return mode == CreateMode::kEphemeral ||
         mode == CreateMode::kEphemeralSequential;
}

bool IsTtl(CreateMode mode) {
  return mode == CreateMode::kPersistentWithTtl ||
         mode == CreateMode::kPersistentSequentialWithTtl;
}

AclList OpenAcl() { return {Acl{perms::kAll, "world", "anyone"}}; }
AclList CreatorAllAcl() { return {Acl{perms::kAll, "auth", ""}}; }
AclList ReadOnlyAcl() { return {Acl{perms::kRead, "world", "anyone"}}; }

Op Op::Create(std::string path, std::string data, CreateMode mode, AclList acl,
              int64_t ttl_ms) {
  Op op;
  op.type = Type::kCreate;
  op.path = std::move(path);
  op.data = std::move(data);
  op.mode = mode;
  op.acl = std::move(acl);
  op.ttl_ms = ttl_ms;
  return op;
}

Op Op::Delete(std::string path, int32_t version) {
  Op op;
  op.type = Type::kDelete;
  op.path = std::move(path);
  op.version = version;
  return op;
}

Op Op::Set(std::string path, std::string data, int32_t version) {
  Op op;
  op.type = Type::kSet;
  op.path = std::move(path);
  op.data = std::move(data);
  op.version = version;
  return op;
}

Op Op::Check(std::string path, int32_t version) {
  Op op;
  op.type = Type::kCheck;
  op.path = std::move(path);
  op.version = version;
  return op;
}

const char* EventTypeName(EventType type) {
  switch (type) {
    case EventType::kSession: return "None";
    case EventType::kCreated: return "NodeCreated";
    case EventType::kDeleted: return "NodeDeleted";
    case EventType::kDataChanged: return "NodeDataChanged";
    case EventType::kChildrenChanged: return "NodeChildrenChanged";
    case EventType::kDataWatchRemoved: return "DataWatchRemoved";
    case EventType::kChildWatchRemoved: return "ChildWatchRemoved";
    case EventType::kPersistentWatchRemoved: return "PersistentWatchRemoved";
  }
  return "Unknown";
}

const char* SessionStateName(SessionState state) {
  switch (state) {
    case SessionState::kConnected: return "SyncConnected";
    case SessionState::kDisconnected: return "Disconnected";
    case SessionState::kExpired: return "Expired";
    case SessionState::kClosed: return "Closed";
  }
  return "Unknown";
}

}  // namespace synod
