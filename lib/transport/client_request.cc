#include "transport/client_request.h"

#include "absl/strings/str_cat.h"
#include "synod/watch.h"
#include "tree/path.h"
#include "util/errors.h"
#include "util/status_macros.h"

namespace synod::transport {
namespace {

absl::Status CheckWrite(const txn::Request& request, bool in_multi) {
  switch (request.body_case()) {
    case txn::Request::kCreate:
    case txn::Request::kDeleteNode:
    case txn::Request::kSetData:
    case txn::Request::kSetAcl:
    case txn::Request::kCheck:
      return absl::OkStatus();
    case txn::Request::kSetQuota:
    case txn::Request::kDeleteQuota:
      if (in_multi) {
        return BadArgumentsError("a quota change cannot be part of a multi");
      }
      return absl::OkStatus();
    case txn::Request::kReconfig:
      if (in_multi) {
        return BadArgumentsError("a membership change cannot be part of a multi");
      }
      if (request.reconfig().add_voter().empty() ==
          request.reconfig().remove().empty()) {
        return BadArgumentsError(
            "a membership change names exactly one of add_voter and remove");
      }
      return absl::OkStatus();
    case txn::Request::kMulti:
      if (in_multi) return BadArgumentsError("a multi may not nest");
      for (const txn::Request& op : request.multi().ops()) {
        if (absl::Status s = CheckWrite(op, true); !s.ok()) return s;
      }
      return absl::OkStatus();
    case txn::Request::BODY_NOT_SET:
      return BadArgumentsError(in_multi ? "an op of unknown or no type"
                                        : "a write of unknown or no type");
    default:
      return BadArgumentsError(
          "sessions are opened and closed by the stream, not by requests");
  }
}

absl::Status CheckRead(const ReadRequest& read) {
  switch (read.kind()) {
    case ReadRequest::GET:
    case ReadRequest::EXISTS:
    case ReadRequest::CHILDREN:
    case ReadRequest::GET_ACL:
    case ReadRequest::GET_QUOTA:
    case ReadRequest::GET_EPHEMERALS:
    case ReadRequest::ALL_CHILDREN_NUMBER:
      break;
    case ReadRequest::WHO_AM_I:
      return absl::OkStatus();  // no path
    case ReadRequest::ADD_WATCH: {
      const int32_t mode = read.watch_mode();
      if (mode != static_cast<int32_t>(WatchMode::kPersistent) &&
          mode != static_cast<int32_t>(WatchMode::kPersistentRecursive)) {
        return BadArgumentsError(absl::StrCat("unknown watch mode ", mode));
      }
      break;
    }
    case ReadRequest::REMOVE_WATCHES: {
      const int32_t type = read.watcher_type();
      if (type < static_cast<int32_t>(WatcherType::kChildren) ||
          type > static_cast<int32_t>(WatcherType::kAny)) {
        return BadArgumentsError(absl::StrCat("unknown watcher type ", type));
      }
      break;
    }
    default:
      return BadArgumentsError(
          absl::StrCat("unknown read kind ", static_cast<int>(read.kind())));
  }
  return ValidatePath(read.path());
}

absl::Status CheckSetWatches(const SetWatchesRequest& s) {
  for (const auto* paths : {&s.data(), &s.exist(), &s.child(),
                            &s.persistent(), &s.persistent_recursive()}) {
    for (const std::string& path : *paths) {
      SYNOD_RETURN_IF_ERROR(ValidatePath(path));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckClientWrite(const txn::Request& request) {
  return CheckWrite(request, false);
}

absl::Status CheckClientRequest(const ClientRequest& request) {
  switch (request.body_case()) {
    case ClientRequest::kWrite:
      return CheckClientWrite(request.write());
    case ClientRequest::kRead:
      return CheckRead(request.read());
    case ClientRequest::kSync:
      return ValidatePath(request.sync().path());
    case ClientRequest::kAuth:
      return absl::OkStatus();  // Authenticate judges the scheme
    case ClientRequest::kClose:
      return absl::OkStatus();
    case ClientRequest::kSetWatches:
      return CheckSetWatches(request.set_watches());
    case ClientRequest::kOpen:
      return BadArgumentsError("the session is already open");
    case ClientRequest::BODY_NOT_SET:
    default:
      return BadArgumentsError("a request of unknown or no kind");
  }
}

}  // namespace synod::transport
