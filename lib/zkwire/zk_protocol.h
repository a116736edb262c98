// The numbers of ZooKeeper 3.8's client protocol: opcodes, the special
// xids, watch event types and states, and error codes, with the mapping
// between ZooKeeper's error codes and synod::Error. Pure: no I/O.

#ifndef SYNOD_ZKWIRE_ZK_PROTOCOL_H_
#define SYNOD_ZKWIRE_ZK_PROTOCOL_H_

#include <cstdint>
#include <string_view>

#include "synod/types.h"
#include "synod/watch.h"

namespace synod::zkwire {

// ZooDefs.OpCode.
enum class OpCode : int32_t {
  kNotification = 0,
  kCreate = 1,
  kDelete = 2,
  kExists = 3,
  kGetData = 4,
  kSetData = 5,
  kGetAcl = 6,
  kSetAcl = 7,
  kGetChildren = 8,
  kSync = 9,
  kPing = 11,
  kGetChildren2 = 12,
  kCheck = 13,
  kMulti = 14,
  kCreate2 = 15,
  kReconfig = 16,
  kCheckWatches = 17,
  kRemoveWatches = 18,
  kCreateContainer = 19,
  kDeleteContainer = 20,
  kCreateTtl = 21,
  kMultiRead = 22,
  kAuth = 100,
  kSetWatches = 101,
  kSasl = 102,
  kGetEphemerals = 103,
  kGetAllChildrenNumber = 104,
  kSetWatches2 = 105,
  kAddWatch = 106,
  kWhoAmI = 107,
  kCreateSession = -10,
  kCloseSession = -11,
  kError = -1,
};

// Whether `code` is an opcode of the list above.
bool IsKnownOpCode(int32_t code);
// Its name ("create", "getData", ...), or "unknown".
std::string_view OpCodeName(int32_t code);

// The xids ZooKeeper reserves: a watch notification's, a ping's, an auth
// packet's and a setWatches packet's.
inline constexpr int32_t kNotificationXid = -1;
inline constexpr int32_t kPingXid = -2;
inline constexpr int32_t kAuthXid = -4;
inline constexpr int32_t kSetWatchesXid = -8;

// Watcher.Event.EventType, as sent in a notification.
enum class ZkEventType : int32_t {
  kNone = -1,
  kNodeCreated = 1,
  kNodeDeleted = 2,
  kNodeDataChanged = 3,
  kNodeChildrenChanged = 4,
  kDataWatchRemoved = 5,
  kChildWatchRemoved = 6,
  kPersistentWatchRemoved = 7,
};

// Watcher.Event.KeeperState values a server sends.
inline constexpr int32_t kStateSyncConnected = 3;
inline constexpr int32_t kStateExpired = -112;

// KeeperException.Code.
enum class ZkError : int32_t {
  kOk = 0,
  kSystemError = -1,
  kRuntimeInconsistency = -2,
  kDataInconsistency = -3,
  kConnectionLoss = -4,
  kMarshallingError = -5,
  kUnimplemented = -6,
  kOperationTimeout = -7,
  kBadArguments = -8,
  kNewConfigNoQuorum = -13,
  kReconfigInProgress = -14,
  kApiError = -100,
  kNoNode = -101,
  kNoAuth = -102,
  kBadVersion = -103,
  kNoChildrenForEphemerals = -108,
  kNodeExists = -110,
  kNotEmpty = -111,
  kSessionExpired = -112,
  kInvalidCallback = -113,
  kInvalidAcl = -114,
  kAuthFailed = -115,
  kSessionMoved = -118,
  kNotReadOnly = -119,
  kNoWatcher = -121,
  kReconfigDisabled = -123,
  kQuotaExceeded = -125,
};

// ZooKeeper's code for a synod error; an error ZooKeeper has no code for
// is SystemError.
ZkError ToZkError(Error error);
// synod's error for ZooKeeper's code `code`; an unknown code is
// SystemError.
Error FromZkError(int32_t code);

// ZooKeeper's event type for a synod watch event type (kSession: kNone).
ZkEventType ToZkEventType(EventType type);

}  // namespace synod::zkwire

#endif  // SYNOD_ZKWIRE_ZK_PROTOCOL_H_
