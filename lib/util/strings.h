// Bridges std::string_view (the API's) and absl::string_view (Debian's
// Abseil keeps its own type), and string-keyed hash containers that accept
// either without building a std::string for each lookup.

#ifndef SYNOD_UTIL_STRINGS_H_
#define SYNOD_UTIL_STRINGS_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"

namespace synod {

// Returns `s` as an absl::string_view (no copy).
inline absl::string_view AV(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// Transparent hash and equality over std::string_view.
struct StrHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    return absl::Hash<absl::string_view>{}(AV(s));
  }
};
struct StrEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    return a == b;
  }
};

template <typename V>
using StrMap = absl::flat_hash_map<std::string, V, StrHash, StrEq>;
template <typename V>
using StrNodeMap = absl::node_hash_map<std::string, V, StrHash, StrEq>;
using StrSet = absl::flat_hash_set<std::string, StrHash, StrEq>;

}  // namespace synod

#endif  // SYNOD_UTIL_STRINGS_H_
