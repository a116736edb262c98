// The requests of ZooKeeper 3.8's client protocol, decoded from a frame
// into what synod runs: a write becomes the txn::Request the leader
// prepares (create, create2, createTTL, createContainer, delete, setData,
// setACL, check and multi), a read names the replica read to make, and the
// session's own requests (ping, auth, setWatches, addWatch, removeWatches,
// checkWatches, whoAmI, closeSession, sync) carry their arguments.
//
// DecodeRequest refuses a malformed frame (short, trailing bytes, a length
// or count out of bounds, an op a multi may not hold, a multi mixing reads
// and writes) with MarshallingError: the server closes that connection. A
// well-formed request synod does not run (sasl, reconfig, an unknown
// opcode, an unknown watch mode or watcher type) decodes with an `error`
// to answer instead, and the connection carries on. Paths, data sizes and
// ACLs are checked later, where synod checks its own callers' (the
// preparer, the replica's reads). EncodeRequest writes what a ZooKeeper
// client would send, for tests and the fuzzers' seeds. Pure: no I/O.

#ifndef SYNOD_ZKWIRE_ZK_REQUESTS_H_
#define SYNOD_ZKWIRE_ZK_REQUESTS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "txn/txn.pb.h"
#include "zkwire/zk_protocol.h"
#include "zkwire/zk_records.h"

namespace synod::zkwire {

// How the server handles a request.
enum class RequestKind {
  kWrite,          // `write`, answered as `result_types` say
  kSync,           // `path`
  kRead,           // `read`
  kMultiRead,      // `reads`, each answered on its own
  kAuth,           // `scheme`, `credentials`
  kSetWatches,     // `set_watches` (setWatches and setWatches2)
  kAddWatch,       // `path`, `watch_mode`
  kRemoveWatches,  // `path`, `watcher_type` (removeWatches)
  kCheckWatches,   // `path`, `watcher_type`
  kWhoAmI,
  kPing,
  kCloseSession,
  kRefused,        // answered with `error` alone
};

// One read: getData, exists, getChildren, getChildren2, getACL,
// getEphemerals (path is the prefix) or getAllChildrenNumber.
struct ReadOp {
  OpCode op = OpCode::kGetData;
  std::string path;
  bool watch = false;
};

// The watches a reconnecting client had (setWatches2; setWatches has the
// first three lists only), and the last zxid it saw.
struct SetWatches {
  int64_t relative_zxid = 0;
  std::vector<std::string> data;
  std::vector<std::string> exist;
  std::vector<std::string> child;
  std::vector<std::string> persistent;
  std::vector<std::string> persistent_recursive;
};

struct Request {
  RequestHeader header;
  RequestKind kind = RequestKind::kRefused;
  // kWrite: the request, and for each of its results (one, or one per op
  // of a multi) the opcode its reply is encoded as: kCreate (the path),
  // kCreate2 (the path and Stat), kDelete, kSetData, kSetAcl or kCheck.
  txn::Request write;
  std::vector<OpCode> result_types;
  ReadOp read;                   // kRead
  std::vector<ReadOp> reads;     // kMultiRead: getData and getChildren
  std::string path;              // kSync, kAddWatch, k*Watches
  WatchMode watch_mode = WatchMode::kPersistent;
  WatcherType watcher_type = WatcherType::kAny;
  std::string scheme;            // kAuth
  std::string credentials;
  SetWatches set_watches;        // kSetWatches
  ZkError error = ZkError::kOk;  // kRefused
};

// Decodes a request frame's body (after its length). `max_length` bounds
// every buffer, string and vector in it.
absl::StatusOr<Request> DecodeRequest(std::string_view body,
                                      int32_t max_length);

// Appends the body of a frame that DecodeRequest reads back as `r` (for
// tests and seeds). Writes are encoded from `write` with the opcode in
// `header.type`; kRefused requests as their header alone.
void EncodeRequest(const Request& r, std::string* out);

// ZooKeeper's WatcherType (removeWatches, checkWatches) and AddWatchMode
// numbers, and synod's.
absl::StatusOr<WatcherType> WatcherTypeFromZk(int32_t type);
int32_t WatcherTypeToZk(WatcherType type);
absl::StatusOr<WatchMode> WatchModeFromZk(int32_t mode);

}  // namespace synod::zkwire

#endif  // SYNOD_ZKWIRE_ZK_REQUESTS_H_
