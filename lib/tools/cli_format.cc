// synod-cli's output in zkCli's shapes.

#include "tools/cli_format.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "synod/watch.h"
#include "util/strings.h"

namespace synod::tools {
namespace {


// Java's Date.toString, in UTC.
std::string JavaTime(int64_t unix_ms) {
  return absl::FormatTime("%a %b %d %H:%M:%S UTC %Y",
                          absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

}  // namespace

std::string Hex(int64_t value) {
  return absl::StrCat("0x", absl::Hex(static_cast<uint64_t>(value)));
}

std::string FormatStat(const transport::ClientStat& s) {
  return absl::StrCat(
      "cZxid = ", Hex(s.czxid()), "\nctime = ", JavaTime(s.ctime()),
      "\nmZxid = ", Hex(s.mzxid()), "\nmtime = ", JavaTime(s.mtime()),
      "\npZxid = ", Hex(s.pzxid()), "\ncversion = ", s.cversion(),
      "\ndataVersion = ", s.version(), "\naclVersion = ", s.aversion(),
      "\nephemeralOwner = ", Hex(s.ephemeral_owner()),
      "\ndataLength = ", s.data_length(), "\nnumChildren = ", s.num_children(),
      "\n");
}

std::string FormatStat(const Stat& stat) {
  transport::ClientStat s;
  s.set_czxid(stat.czxid);
  s.set_mzxid(stat.mzxid);
  s.set_pzxid(stat.pzxid);
  s.set_ctime(stat.ctime);
  s.set_mtime(stat.mtime);
  s.set_version(stat.version);
  s.set_cversion(stat.cversion);
  s.set_aversion(stat.aversion);
  s.set_ephemeral_owner(stat.ephemeral_owner);
  s.set_data_length(stat.data_length);
  s.set_num_children(stat.num_children);
  return FormatStat(s);
}

std::string FormatList(
    const google::protobuf::RepeatedPtrField<std::string>& items) {
  return absl::StrCat("[", absl::StrJoin(items, ", "), "]");
}

std::string PermsText(int32_t p) {
  std::string text;
  if (p & perms::kCreate) text.push_back('c');
  if (p & perms::kDelete) text.push_back('d');
  if (p & perms::kRead) text.push_back('r');
  if (p & perms::kWrite) text.push_back('w');
  if (p & perms::kAdmin) text.push_back('a');
  return text;
}

std::string FormatAcl(
    const google::protobuf::RepeatedPtrField<txn::AclEntry>& acl) {
  std::string text;
  for (const txn::AclEntry& a : acl) {
    absl::StrAppend(&text, "'", AV(a.scheme()), ",'", AV(a.id()), "\n: ",
                    PermsText(a.perms()), "\n");
  }
  return text;
}

std::string FormatEvent(const transport::ClientWatchEvent& event) {
  const int type = event.type();
  const int state = event.state();
  const char* type_name =
      type >= 0 && type <= static_cast<int>(EventType::kPersistentWatchRemoved)
          ? EventTypeName(static_cast<EventType>(type))
          : "Unknown";
  const char* state_name =
      state >= 0 && state <= static_cast<int>(SessionState::kClosed)
          ? SessionStateName(static_cast<SessionState>(state))
          : "Unknown";
  return absl::StrCat("WatchedEvent state:", state_name, " type:", type_name,
                      " path:", event.path().empty() ? "null" : event.path());
}

absl::Status ZkError(const absl::Status& status, std::string_view path) {
  if (status.ok()) return status;
  const Error error = ErrorOf(status);
  const char* prefix = nullptr;
  switch (error) {
    case Error::kNoNode: prefix = "Node does not exist: "; break;
    case Error::kNoChildrenForEphemerals:
      prefix = "Ephemerals cannot have children: ";
      break;
    case Error::kNodeExists: prefix = "Node already exists: "; break;
    case Error::kNotEmpty: prefix = "Node not empty: "; break;
    case Error::kNotReadOnly: prefix = "Not a read-only call: "; break;
    case Error::kInvalidAcl: prefix = "Acl is not valid : "; break;
    case Error::kNoAuth: prefix = "Insufficient permission : "; break;
    // The peer's message says what is wrong, or which limit.
    case Error::kBadArguments:
      return MakeError(error, absl::StrCat("Arguments are not valid : ",
                                           AV(path), " (", status.message(),
                                           ")"));
    case Error::kNewConfigNoQuorum:
      return MakeError(
          error,
          absl::StrCat("No quorum of new config is connected and up-to-date "
                       "with the leader of last commmitted config - try "
                       "invoking reconfiguration after new servers are "
                       "connected and synced (",
                       status.message(), ")"));
    case Error::kReconfigInProgress:
      return MakeError(error,
                       "Another reconfiguration is in progress -- concurrent "
                       "reconfigs not supported (yet)");
    case Error::kQuotaExceeded:
      return MakeError(error, absl::StrCat("Quota has exceeded : ", AV(path),
                                           " (", status.message(), ")"));
    case Error::kBadVersion: prefix = "version No is not valid : "; break;
    case Error::kNoWatcher:
      prefix = "KeeperErrorCode = No such watcher for ";
      break;
    // The client's own findings: their messages say what happened.
    case Error::kConnectionLoss:
    case Error::kOperationTimeout:
    case Error::kClosing:
      return status;
    default:
      break;
  }
  if (prefix != nullptr) return MakeError(error, absl::StrCat(prefix, AV(path)));
  return MakeError(error, absl::StrCat("KeeperErrorCode = ", AV(ErrorName(error)),
                                       " for ", AV(path), ": ",
                                       status.message()));
}

}  // namespace synod::tools
