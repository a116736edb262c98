// Request limits: their ranges and the values a Coordinator enforces.

#include "util/limits.h"

#include <string_view>

#include "absl/strings/str_cat.h"
#include "util/errors.h"
#include "util/strings.h"

namespace synod {
namespace {

absl::Status CheckRange(std::string_view field, int64_t value, int64_t lo,
                        int64_t hi) {
  if (value >= lo && value <= hi) return absl::OkStatus();
  return BadArgumentsError(absl::StrCat("Options::", AV(field), " must be within ",
                                        lo, "..", hi, ", not ", value));
}

int64_t RequestBytes(const Options& o) {
  return o.max_request_bytes != 0 ? o.max_request_bytes
                                  : int64_t{o.max_data_bytes} + (1 << 20);
}

}  // namespace

absl::Status ValidateLimits(const Options& o) {
  absl::Status s =
      CheckRange("max_data_bytes", o.max_data_bytes, 0, kDataBytesCeiling);
  if (s.ok()) {
    s = CheckRange("max_path_bytes", o.max_path_bytes, 64, kPathBytesCeiling);
  }
  if (s.ok()) {
    s = CheckRange("max_acl_entries", o.max_acl_entries, 1,
                   kAclEntriesCeiling);
  }
  if (s.ok()) {
    s = CheckRange("max_acl_id_bytes", o.max_acl_id_bytes, 16,
                   kAclIdBytesCeiling);
  }
  if (s.ok()) {
    s = CheckRange("max_auth_ids", o.max_auth_ids, 1, o.max_acl_entries);
  }
  if (s.ok()) {
    s = CheckRange("max_multi_ops", o.max_multi_ops, 1, kMultiOpsCeiling);
  }
  if (s.ok() && o.max_request_bytes != 0) {
    s = CheckRange("max_request_bytes", o.max_request_bytes,
                   int64_t{o.max_data_bytes} + (64 << 10),
                   kRequestBytesCeiling);
  }
  return s;
}

RequestLimits LimitsFrom(const Options& o) {
  RequestLimits l;
  l.max_data_bytes = o.max_data_bytes;
  l.max_path_bytes = o.max_path_bytes;
  l.max_acl_entries = o.max_acl_entries;
  l.max_acl_id_bytes = o.max_acl_id_bytes;
  l.max_auth_ids = o.max_auth_ids;
  l.max_multi_ops = o.max_multi_ops;
  l.max_request_bytes = RequestBytes(o);
  return l;
}

}  // namespace synod
