// Quotas in the tree: where a quota's limits are kept and how they are
// written. The quota on the subtree at /a/b is the data of the node
// /synod/quota/a/b, in ZooKeeper's StatsTrack form
// ("count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=10"); a node there
// with no data only leads to a quota below it. So quotas are replicated,
// logged and snapshotted as any node, and a reader finds them with get.

#ifndef SYNOD_TREE_QUOTA_H_
#define SYNOD_TREE_QUOTA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "synod/types.h"

namespace synod {

// The node under which quotas are kept (inside the system subtree).
inline constexpr std::string_view kQuotaRoot = "/synod/quota";

// Returns the node that holds the quota of `path` (a valid path other
// than "/"): kQuotaRoot + path.
std::string QuotaNodePath(std::string_view path);

// Returns the path whose quota the node `node_path` would hold, or nullopt
// if `node_path` is not strictly below kQuotaRoot.
std::optional<std::string_view> QuotaSubject(std::string_view node_path);

// Returns `limits` in ZooKeeper's StatsTrack form, every field written.
std::string EncodeQuotaLimits(const QuotaLimits& limits);

// Parses ZooKeeper's StatsTrack form ("count=N,bytes=M" then optional
// ";key=value" fields; ',' and ';' both separate, a stray '=' after a
// value is ignored, as ZooKeeper's parser does). Unknown keys, repeated
// keys and values that are not integers >= -1 are DataInconsistency.
absl::StatusOr<QuotaLimits> ParseQuotaLimits(std::string_view text);

// Returns a subtree's usage in ZooKeeper's StatsTrack form, as zkCli's
// listquota prints it: "count=3,bytes=12".
std::string EncodeQuotaUsage(int64_t count, int64_t bytes);

// Returns OK if `limits` may be given to setquota: each field -1 or in
// range (counts > 0, bytes >= 0) and at least one set. Otherwise
// BadArguments naming the field.
absl::Status ValidateQuotaLimits(const QuotaLimits& limits);

}  // namespace synod

#endif  // SYNOD_TREE_QUOTA_H_
