// What synod-cli prints, in zkCli's shapes (ZooKeeper 3.8) where a script
// would parse it: Stats, lists, ACLs, watch events and error messages.

#ifndef SYNOD_TOOLS_CLI_FORMAT_H_
#define SYNOD_TOOLS_CLI_FORMAT_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/repeated_field.h"
#include "synod/types.h"
#include "transport/client.pb.h"

namespace synod::tools {

// A zxid or session id as zkCli prints one: "0x" and lowercase hex.
std::string Hex(int64_t value);

// The Stat, one "name = value" line a field, in zkCli's order and names
// (cZxid, ctime, mZxid, mtime, pZxid, cversion, dataVersion, aclVersion,
// ephemeralOwner, dataLength, numChildren); times in UTC as Java's
// Date.toString writes them ("Sun Dec 06 22:04:01 UTC 2026").
std::string FormatStat(const transport::ClientStat& stat);
std::string FormatStat(const Stat& stat);

// A list as Java prints one: "[a, b]" (and "[]").
std::string FormatList(
    const google::protobuf::RepeatedPtrField<std::string>& items);

// A permission mask as zkCli prints it: letters of "cdrwa", in that order.
std::string PermsText(int32_t perms);

// An ACL as zkCli's getAcl prints it: "'scheme,'id\n: perms\n" an entry.
std::string FormatAcl(
    const google::protobuf::RepeatedPtrField<txn::AclEntry>& acl);

// A watch event as zkCli prints it: "WatchedEvent state:SyncConnected
// type:NodeDataChanged path:/a".
std::string FormatEvent(const transport::ClientWatchEvent& event);

// `status` (a peer's answer about `path`) with zkCli's message for the
// errors zkCli words ("Node does not exist: /a", "Node already exists: /a",
// "version No is not valid : /a", "Insufficient permission : /a", ...;
// BadArguments and QuotaExceeded add the peer's reason in parentheses),
// otherwise "KeeperErrorCode = NAME for PATH: the peer's message". The
// client's own ConnectionLoss, OperationTimeout and Closing keep their
// messages. The synod::Error (ErrorOf) is kept. OK stays OK.
absl::Status ZkError(const absl::Status& status, std::string_view path);

}  // namespace synod::tools

#endif  // SYNOD_TOOLS_CLI_FORMAT_H_
