// The records of ZooKeeper 3.8's client protocol that frame a session:
// the length prefix of every frame, the connect handshake, the request and
// reply headers, Stat, ACL lists and watch notifications. Decoders refuse
// malformed input with MarshallingError (zkwire/jute.h); encoders append.
// Pure: no I/O.

#ifndef SYNOD_ZKWIRE_ZK_RECORDS_H_
#define SYNOD_ZKWIRE_ZK_RECORDS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "synod/types.h"
#include "zkwire/jute.h"
#include "zkwire/zk_protocol.h"

namespace synod::zkwire {

// Every frame is a 4-byte big-endian length, then that many bytes.
inline constexpr size_t kFrameHeaderBytes = 4;

// The length of the frame whose header begins `in` (at least
// kFrameHeaderBytes long). MarshallingError for a length below
// `min_bytes` or above `max_bytes`: the connection must be closed.
absl::StatusOr<int32_t> FrameLength(std::string_view in, int32_t min_bytes,
                                    int32_t max_bytes);

// Appends a frame holding `body` to `*out`.
void AppendFrame(std::string_view body, std::string* out);

// ConnectRequest, the first frame of a connection. `read_only` is the
// optional trailing flag of 3.4+ clients (false when absent).
struct ConnectRequest {
  int32_t protocol_version = 0;
  int64_t last_zxid_seen = 0;
  int32_t timeout_ms = 0;
  int64_t session_id = 0;
  std::string password;
  bool read_only = false;
};
// Decodes a whole ConnectRequest frame body. `max_length` bounds the
// password.
absl::StatusOr<ConnectRequest> DecodeConnectRequest(std::string_view body,
                                                    int32_t max_length);
void EncodeConnectRequest(const ConnectRequest& r, std::string* out);

// ConnectResponse: a session id of 0 (and timeout 0) refuses the
// connection (an expired or unknown session).
struct ConnectResponse {
  int32_t protocol_version = 0;
  int32_t timeout_ms = 0;
  int64_t session_id = 0;
  std::string password;
  bool read_only = false;
};
void EncodeConnectResponse(const ConnectResponse& r, std::string* out);
absl::StatusOr<ConnectResponse> DecodeConnectResponse(std::string_view body,
                                                      int32_t max_length);

struct RequestHeader {
  int32_t xid = 0;
  int32_t type = 0;  // an OpCode, unchecked here
};
absl::Status ReadRequestHeader(JuteReader* in, RequestHeader* h);
void WriteRequestHeader(const RequestHeader& h, JuteWriter* out);

struct ReplyHeader {
  int32_t xid = 0;
  int64_t zxid = 0;
  int32_t err = 0;  // a ZkError
};
void WriteReplyHeader(const ReplyHeader& h, JuteWriter* out);
absl::Status ReadReplyHeader(JuteReader* in, ReplyHeader* h);

// Stat, in ZooKeeper's field order.
void WriteStat(const Stat& s, JuteWriter* out);
absl::Status ReadStat(JuteReader* in, Stat* s);

// A vector of ACL records (perms, scheme, id).
void WriteAclList(const AclList& acl, JuteWriter* out);
absl::Status ReadAclList(JuteReader* in, AclList* acl);

// A watch notification's body after its ReplyHeader (xid -1): the event
// type, the keeper state and the path.
struct WatcherEvent {
  int32_t type = 0;   // a ZkEventType
  int32_t state = kStateSyncConnected;
  std::string path;
};
void WriteWatcherEvent(const WatcherEvent& e, JuteWriter* out);
absl::Status ReadWatcherEvent(JuteReader* in, WatcherEvent* e);

}  // namespace synod::zkwire

#endif  // SYNOD_ZKWIRE_ZK_RECORDS_H_
