// Quota nodes: the path of a quota's node and ZooKeeper's StatsTrack text.

#include "tree/quota.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "util/errors.h"
#include "util/strings.h"

namespace synod {
namespace {

absl::Status Malformed(std::string_view text, std::string_view why) {
  return MakeError(
      Error::kDataInconsistency,
      absl::StrCat("malformed quota \"", AV(text), "\": ", AV(why)));
}

}  // namespace

std::string QuotaNodePath(std::string_view path) {
  return absl::StrCat(AV(kQuotaRoot), AV(path));
}

std::optional<std::string_view> QuotaSubject(std::string_view node_path) {
  if (node_path.size() <= kQuotaRoot.size() + 1 ||
      node_path.substr(0, kQuotaRoot.size()) != kQuotaRoot ||
      node_path[kQuotaRoot.size()] != '/') {
    return std::nullopt;
  }
  return node_path.substr(kQuotaRoot.size());
}

std::string EncodeQuotaLimits(const QuotaLimits& limits) {
  // ZooKeeper's order: count and bytes first (with the '=' that older
  // parsers need), then the other keys sorted.
  return absl::StrCat("count=", limits.count, ",bytes=", limits.bytes,
                      "=;byteHardLimit=", limits.bytes_hard,
                      ";countHardLimit=", limits.count_hard);
}

absl::StatusOr<QuotaLimits> ParseQuotaLimits(std::string_view text) {
  QuotaLimits limits;
  bool seen[4] = {false, false, false, false};
  const std::vector<absl::string_view> pairs =
      absl::StrSplit(AV(text), absl::ByAnyChar(",;"), absl::SkipEmpty());
  if (pairs.empty()) return Malformed(text, "no fields");
  for (absl::string_view split : pairs) {
    const std::string_view pair(split.data(), split.size());
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos)
      return Malformed(text, "a field without '='");
    const std::string_view key = pair.substr(0, eq);
    std::string_view value = pair.substr(eq + 1);
    // ZooKeeper writes "bytes=5=" so that parsers before 3.7 stop there.
    const size_t stray = value.find('=');
    if (stray != std::string_view::npos) {
      if (stray + 1 != value.size())
        return Malformed(text, "a field with two values");
      value = value.substr(0, stray);
    }
    int64_t number;
    if (!absl::SimpleAtoi(AV(value), &number) || number < -1) {
      return Malformed(text, "a value that is not an integer >= -1");
    }
    int index;
    int64_t* field;
    if (key == "count") {
      index = 0, field = &limits.count;
    } else if (key == "bytes") {
      index = 1, field = &limits.bytes;
    } else if (key == "countHardLimit") {
      index = 2, field = &limits.count_hard;
    } else if (key == "byteHardLimit") {
      index = 3, field = &limits.bytes_hard;
    } else {
      return Malformed(text, "an unknown field");
    }
    if (seen[index]) return Malformed(text, "a repeated field");
    seen[index] = true;
    *field = number;
  }
  return limits;
}

std::string EncodeQuotaUsage(int64_t count, int64_t bytes) {
  return absl::StrCat("count=", count, ",bytes=", bytes);
}

absl::Status ValidateQuotaLimits(const QuotaLimits& limits) {
  struct Field {
    const char* name;
    int64_t value;
    int64_t least;
  };
  const Field fields[] = {{"count", limits.count, 1},
                          {"bytes", limits.bytes, 0},
                          {"count hard limit", limits.count_hard, 1},
                          {"bytes hard limit", limits.bytes_hard, 0}};
  bool any = false;
  for (const Field& f : fields) {
    if (f.value == -1) continue;
    if (f.value < f.least) {
      return BadArgumentsError(absl::StrCat(
          "the quota's ", f.name, " must be ", f.least == 1 ? "> 0" : ">= 0",
          " (or -1 for none), not ", f.value));
    }
    any = true;
  }
  if (!any) return BadArgumentsError("a quota needs at least one limit");
  return absl::OkStatus();
}

}  // namespace synod
