// Tests for StorageError (util/errors.h): how storage failures reach users.

#include <catch2/catch.hpp>
#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "util/errors.h"

namespace synod {
namespace {

TEST_CASE("storage failures keep their meaning, not a ZooKeeper look-alike",
          "[errors]") {
  // An errno's status: EACCES (PermissionDenied) was reported as NoAuth,
  // ENOENT (NotFound) as NoNode, EEXIST as NodeExists.
  for (int err : {EACCES, ENOENT, EEXIST, EIO, EMFILE, ENOSPC}) {
    INFO(err);
    absl::Status s = StorageError(absl::ErrnoToStatus(err, "open /d/log"));
    CHECK(ErrorOf(s) == Error::kSystemError);
    CHECK(absl::StartsWith(s.message(), "storage: open /d/log"));
  }
  absl::Status damage = StorageError(absl::DataLossError("bad record"));
  CHECK(ErrorOf(damage) == Error::kDataInconsistency);
  CHECK(damage.message() == "bad record");
  absl::Status refused =
      StorageError(absl::FailedPreconditionError("dir is in use"));
  CHECK(refused.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(StorageError(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace synod
