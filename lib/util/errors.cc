// ErrorOf / MakeError: the synod::Error travels as a status payload.

#include "util/errors.h"

#include <cstdlib>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "util/strings.h"
#include "synod/types.h"

namespace synod {
namespace {

constexpr char kErrorPayload[] = "synod.dev/error";
constexpr char kOpIndexPayload[] = "synod.dev/failed-op";

absl::StatusCode CodeFor(Error error) {
  switch (error) {
    case Error::kOk: return absl::StatusCode::kOk;
    case Error::kSystemError: return absl::StatusCode::kInternal;
    case Error::kRuntimeInconsistency: return absl::StatusCode::kAborted;
    case Error::kDataInconsistency: return absl::StatusCode::kDataLoss;
    case Error::kConnectionLoss: return absl::StatusCode::kUnavailable;
    case Error::kMarshallingError: return absl::StatusCode::kInvalidArgument;
    case Error::kUnimplemented: return absl::StatusCode::kUnimplemented;
    case Error::kOperationTimeout: return absl::StatusCode::kDeadlineExceeded;
    case Error::kBadArguments: return absl::StatusCode::kInvalidArgument;
    case Error::kNoNode: return absl::StatusCode::kNotFound;
    case Error::kNoAuth: return absl::StatusCode::kPermissionDenied;
    case Error::kBadVersion: return absl::StatusCode::kAborted;
    case Error::kNoChildrenForEphemerals: return absl::StatusCode::kFailedPrecondition;
    case Error::kNodeExists: return absl::StatusCode::kAlreadyExists;
    case Error::kNotEmpty: return absl::StatusCode::kFailedPrecondition;
    case Error::kSessionExpired: return absl::StatusCode::kFailedPrecondition;
    case Error::kInvalidAcl: return absl::StatusCode::kInvalidArgument;
    case Error::kAuthFailed: return absl::StatusCode::kUnauthenticated;
    case Error::kSessionMoved: return absl::StatusCode::kFailedPrecondition;
    case Error::kNotReadOnly: return absl::StatusCode::kFailedPrecondition;
    case Error::kNoWatcher: return absl::StatusCode::kNotFound;
    case Error::kReconfigDisabled: return absl::StatusCode::kFailedPrecondition;
    case Error::kClosing: return absl::StatusCode::kCancelled;
    case Error::kNewConfigNoQuorum: return absl::StatusCode::kFailedPrecondition;
    case Error::kReconfigInProgress: return absl::StatusCode::kFailedPrecondition;
    case Error::kQuotaExceeded: return absl::StatusCode::kResourceExhausted;
  }
  return absl::StatusCode::kUnknown;
}

Error FallbackFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return Error::kOk;
    case absl::StatusCode::kNotFound: return Error::kNoNode;
    case absl::StatusCode::kAlreadyExists: return Error::kNodeExists;
    case absl::StatusCode::kAborted: return Error::kBadVersion;
    case absl::StatusCode::kPermissionDenied: return Error::kNoAuth;
    case absl::StatusCode::kUnauthenticated: return Error::kAuthFailed;
    case absl::StatusCode::kUnavailable: return Error::kConnectionLoss;
    case absl::StatusCode::kDeadlineExceeded: return Error::kOperationTimeout;
    case absl::StatusCode::kInvalidArgument: return Error::kBadArguments;
    case absl::StatusCode::kOutOfRange: return Error::kBadArguments;
    case absl::StatusCode::kDataLoss: return Error::kDataInconsistency;
    case absl::StatusCode::kCancelled: return Error::kClosing;
    case absl::StatusCode::kUnimplemented: return Error::kUnimplemented;
    default: return Error::kSystemError;
  }
}

}  // namespace

absl::Status MakeError(Error error, std::string_view message) {
  if (error == Error::kOk) return absl::OkStatus();
  absl::Status status(CodeFor(error), AV(message));
  status.SetPayload(kErrorPayload,
                    absl::Cord(std::to_string(static_cast<int>(error))));
  return status;
}

Error ErrorOf(const absl::Status& status) {
  if (status.ok()) return Error::kOk;
  if (auto payload = status.GetPayload(kErrorPayload)) {
    int value = 0;
    if (absl::SimpleAtoi(std::string(*payload), &value) &&
        value > 0 && value <= static_cast<int>(kLastError)) {
      return static_cast<Error>(value);
    }
  }
  return FallbackFor(status.code());
}

absl::Status WithFailedOpIndex(absl::Status status, int index) {
  status.SetPayload(kOpIndexPayload, absl::Cord(std::to_string(index)));
  return status;
}

int FailedOpIndex(const absl::Status& status) {
  if (status.ok()) return -1;
  auto payload = status.GetPayload(kOpIndexPayload);
  int value = -1;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &value)) return -1;
  return value;
}

std::string_view ErrorName(Error error) {
  switch (error) {
    case Error::kOk: return "Ok";
    case Error::kSystemError: return "SystemError";
    case Error::kRuntimeInconsistency: return "RuntimeInconsistency";
    case Error::kDataInconsistency: return "DataInconsistency";
    case Error::kConnectionLoss: return "ConnectionLoss";
    case Error::kMarshallingError: return "MarshallingError";
    case Error::kUnimplemented: return "Unimplemented";
    case Error::kOperationTimeout: return "OperationTimeout";
    case Error::kBadArguments: return "BadArguments";
    case Error::kNoNode: return "NoNode";
    case Error::kNoAuth: return "NoAuth";
    case Error::kBadVersion: return "BadVersion";
    case Error::kNoChildrenForEphemerals: return "NoChildrenForEphemerals";
    case Error::kNodeExists: return "NodeExists";
    case Error::kNotEmpty: return "NotEmpty";
    case Error::kSessionExpired: return "SessionExpired";
    case Error::kInvalidAcl: return "InvalidACL";
    case Error::kAuthFailed: return "AuthFailed";
    case Error::kSessionMoved: return "SessionMoved";
    case Error::kNotReadOnly: return "NotReadOnly";
    case Error::kNoWatcher: return "NoWatcher";
    case Error::kReconfigDisabled: return "ReconfigDisabled";
    case Error::kClosing: return "Closing";
    case Error::kNewConfigNoQuorum: return "NewConfigNoQuorum";
    case Error::kReconfigInProgress: return "ReconfigInProgress";
    case Error::kQuotaExceeded: return "QuotaExceeded";
  }
  return "Unknown";
}

absl::Status StorageError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kFailedPrecondition:
      return status;
    case absl::StatusCode::kDataLoss:
      return MakeError(Error::kDataInconsistency, std::string(status.message()));
    default:
      return MakeError(Error::kSystemError,
                       absl::StrCat("storage: ", status.message()));
  }
}

}  // namespace synod
