#include "zkwire/zk_protocol.h"

namespace synod::zkwire {

namespace {

struct OpCodeEntry {
  OpCode code;
  std::string_view name;
};

constexpr OpCodeEntry kOpCodes[] = {
    {OpCode::kNotification, "notification"},
    {OpCode::kCreate, "create"},
    {OpCode::kDelete, "delete"},
    {OpCode::kExists, "exists"},
    {OpCode::kGetData, "getData"},
    {OpCode::kSetData, "setData"},
    {OpCode::kGetAcl, "getACL"},
    {OpCode::kSetAcl, "setACL"},
    {OpCode::kGetChildren, "getChildren"},
    {OpCode::kSync, "sync"},
    {OpCode::kPing, "ping"},
    {OpCode::kGetChildren2, "getChildren2"},
    {OpCode::kCheck, "check"},
    {OpCode::kMulti, "multi"},
    {OpCode::kCreate2, "create2"},
    {OpCode::kReconfig, "reconfig"},
    {OpCode::kCheckWatches, "checkWatches"},
    {OpCode::kRemoveWatches, "removeWatches"},
    {OpCode::kCreateContainer, "createContainer"},
    {OpCode::kDeleteContainer, "deleteContainer"},
    {OpCode::kCreateTtl, "createTTL"},
    {OpCode::kMultiRead, "multiRead"},
    {OpCode::kAuth, "auth"},
    {OpCode::kSetWatches, "setWatches"},
    {OpCode::kSasl, "sasl"},
    {OpCode::kGetEphemerals, "getEphemerals"},
    {OpCode::kGetAllChildrenNumber, "getAllChildrenNumber"},
    {OpCode::kSetWatches2, "setWatches2"},
    {OpCode::kAddWatch, "addWatch"},
    {OpCode::kWhoAmI, "whoAmI"},
    {OpCode::kCreateSession, "createSession"},
    {OpCode::kCloseSession, "closeSession"},
    {OpCode::kError, "error"},
};

}  // namespace

bool IsKnownOpCode(int32_t code) {
  for (const OpCodeEntry& e : kOpCodes) {
    if (static_cast<int32_t>(e.code) == code) return true;
  }
  return false;
}

std::string_view OpCodeName(int32_t code) {
  for (const OpCodeEntry& e : kOpCodes) {
    if (static_cast<int32_t>(e.code) == code) return e.name;
  }
  return "unknown";
}

ZkError ToZkError(Error error) {
  switch (error) {
    case Error::kOk: return ZkError::kOk;
    case Error::kSystemError: return ZkError::kSystemError;
    case Error::kRuntimeInconsistency: return ZkError::kRuntimeInconsistency;
    case Error::kDataInconsistency: return ZkError::kDataInconsistency;
    case Error::kConnectionLoss: return ZkError::kConnectionLoss;
    case Error::kMarshallingError: return ZkError::kMarshallingError;
    case Error::kUnimplemented: return ZkError::kUnimplemented;
    case Error::kOperationTimeout: return ZkError::kOperationTimeout;
    case Error::kBadArguments: return ZkError::kBadArguments;
    case Error::kNoNode: return ZkError::kNoNode;
    case Error::kNoAuth: return ZkError::kNoAuth;
    case Error::kBadVersion: return ZkError::kBadVersion;
    case Error::kNoChildrenForEphemerals:
      return ZkError::kNoChildrenForEphemerals;
    case Error::kNodeExists: return ZkError::kNodeExists;
    case Error::kNotEmpty: return ZkError::kNotEmpty;
    case Error::kSessionExpired: return ZkError::kSessionExpired;
    case Error::kInvalidAcl: return ZkError::kInvalidAcl;
    case Error::kAuthFailed: return ZkError::kAuthFailed;
    case Error::kSessionMoved: return ZkError::kSessionMoved;
    case Error::kNotReadOnly: return ZkError::kNotReadOnly;
    case Error::kNoWatcher: return ZkError::kNoWatcher;
    case Error::kReconfigDisabled: return ZkError::kReconfigDisabled;
    case Error::kNewConfigNoQuorum: return ZkError::kNewConfigNoQuorum;
    case Error::kReconfigInProgress: return ZkError::kReconfigInProgress;
    case Error::kQuotaExceeded: return ZkError::kQuotaExceeded;
    // A Coordinator shutting down: to a client, the connection is lost.
    case Error::kClosing: return ZkError::kConnectionLoss;
  }
  return ZkError::kSystemError;
}

Error FromZkError(int32_t code) {
  for (int e = 0; e <= static_cast<int>(kLastError); ++e) {
    const Error error = static_cast<Error>(e);
    if (error == Error::kClosing) continue;  // shares ConnectionLoss
    if (static_cast<int32_t>(ToZkError(error)) == code) return error;
  }
  return Error::kSystemError;
}

ZkEventType ToZkEventType(EventType type) {
  switch (type) {
    case EventType::kSession: return ZkEventType::kNone;
    case EventType::kCreated: return ZkEventType::kNodeCreated;
    case EventType::kDeleted: return ZkEventType::kNodeDeleted;
    case EventType::kDataChanged: return ZkEventType::kNodeDataChanged;
    case EventType::kChildrenChanged: return ZkEventType::kNodeChildrenChanged;
    case EventType::kDataWatchRemoved: return ZkEventType::kDataWatchRemoved;
    case EventType::kChildWatchRemoved: return ZkEventType::kChildWatchRemoved;
    case EventType::kPersistentWatchRemoved:
      return ZkEventType::kPersistentWatchRemoved;
  }
  return ZkEventType::kNone;
}

}  // namespace synod::zkwire
