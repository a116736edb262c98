// Shorthands for making synod errors inside the library.

#ifndef SYNOD_UTIL_ERRORS_H_
#define SYNOD_UTIL_ERRORS_H_

#include <string_view>

#include "absl/status/status.h"
#include "synod/types.h"

namespace synod {

inline absl::Status NoNodeError(std::string_view path) {
  return MakeError(Error::kNoNode, std::string("no node ").append(path));
}
inline absl::Status NodeExistsError(std::string_view path) {
  return MakeError(Error::kNodeExists, std::string("node exists ").append(path));
}
inline absl::Status BadVersionError(std::string_view path) {
  return MakeError(Error::kBadVersion, std::string("bad version ").append(path));
}
inline absl::Status NoAuthError(std::string_view path) {
  return MakeError(Error::kNoAuth, std::string("not authorized ").append(path));
}
inline absl::Status BadArgumentsError(std::string_view message) {
  return MakeError(Error::kBadArguments, message);
}

// Maps a storage status onto a synod error, keeping the message: damage
// (DataLoss) is DataInconsistency, a refused directory (FailedPrecondition)
// stays as it is, and any other failure (an errno's status) is SystemError,
// never the ZooKeeper error its absl code happens to share (EACCES is not
// NoAuth, ENOENT not NoNode).
absl::Status StorageError(const absl::Status& status);

// Returns `status` with the index of the failed multi op attached.
absl::Status WithFailedOpIndex(absl::Status status, int index);

}  // namespace synod

#endif  // SYNOD_UTIL_ERRORS_H_
