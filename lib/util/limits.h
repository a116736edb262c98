// The one set of limits on what a request may hold, and the ceilings every
// decoder accepts.
//
// A request is checked against RequestLimits where it is validated (the
// Preparer on the leader, AddAuth on the peer the client talks to). Every
// decoder of what an accepted request becomes (node records, log entries,
// snapshots, peer frames, client frames) accepts everything up to the
// ceilings below, and the Options ranges keep every limit at or below its
// ceiling; so whatever is accepted can be stored, replicated and read back,
// whichever peer's options are the larger.

#ifndef SYNOD_UTIL_LIMITS_H_
#define SYNOD_UTIL_LIMITS_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "synod/options.h"

namespace synod {

// ---- Ceilings: the largest value each limit may be configured to.

// Data of one znode (Options::max_data_bytes).
inline constexpr int64_t kDataBytesCeiling = int64_t{64} << 20;
// One path (Options::max_path_bytes); tree/path.h's kMaxPathBytes, which
// every path is validated against, equals it.
inline constexpr int64_t kPathBytesCeiling = 32 << 10;
// Entries of one ACL (Options::max_acl_entries): the node record decoder's
// bound.
inline constexpr int64_t kAclEntriesCeiling = 4096;
// One ACL scheme or id, or one identity (Options::max_acl_id_bytes).
inline constexpr int64_t kAclIdBytesCeiling = 64 << 10;
// Ops of one multi (Options::max_multi_ops).
inline constexpr int64_t kMultiOpsCeiling = 65536;
// One request or txn as a whole (Options::max_request_bytes).
inline constexpr int64_t kRequestBytesCeiling = int64_t{128} << 20;
// One txn as a whole: the Preparer holds the txn a request becomes (its
// "auth" ACL entries expanded) to max_request_bytes too.
inline constexpr int64_t kTxnBytesCeiling = kRequestBytesCeiling;
// One log entry or one forwarded request: a txn, or a request together with
// the identities of its session (at most max_auth_ids <= kAclEntriesCeiling
// of at most kAclIdBytesCeiling each, with their framing) and its routing.
inline constexpr int64_t kEntryBytesCeiling =
    kRequestBytesCeiling + kAclEntriesCeiling * (kAclIdBytesCeiling + 16) +
    (64 << 10);

// A session's password digest (txn CreateSession): a SHA-256 digest is
// 32 bytes; the room above it is for a stronger one later.
inline constexpr size_t kMaxSessionDigestBytes = 64;

// The limits one Coordinator enforces, from its Options (see options.h for
// each field's meaning and default).
struct RequestLimits {
  int64_t max_data_bytes = 1 << 20;
  int64_t max_path_bytes = 4 << 10;
  int64_t max_acl_entries = 1024;
  int64_t max_acl_id_bytes = 1 << 10;
  int64_t max_auth_ids = 64;
  int64_t max_multi_ops = 1024;
  int64_t max_request_bytes = (1 << 20) + (1 << 20);
};

// Returns the limits `options` configure (max_request_bytes 0 resolved to
// its default). REQUIRES: ValidateLimits(options) is OK.
RequestLimits LimitsFrom(const Options& options);

// Returns OK if every limit of `options` is within its range (options.h),
// else BadArguments naming the field, its range and the value.
absl::Status ValidateLimits(const Options& options);

}  // namespace synod

#endif  // SYNOD_UTIL_LIMITS_H_
