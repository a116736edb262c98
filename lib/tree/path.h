// Znode path rules, as ZooKeeper's PathUtils.validatePath, for UTF-8.

#ifndef SYNOD_TREE_PATH_H_
#define SYNOD_TREE_PATH_H_

#include <string_view>

#include "absl/status/status.h"

namespace synod {

// The subtree reserved for the system: writes below it are refused.
inline constexpr std::string_view kSystemRoot = "/synod";

// Longest path accepted anywhere, in bytes (creates are held to
// Options::max_path_bytes, at most this: util/limits.h's kPathBytesCeiling).
inline constexpr size_t kMaxPathBytes = 32 * 1024;

// Returns OK if `path` is a valid znode path: absolute, '/'-separated, no
// trailing '/' except the root, no empty, "." or ".." component, valid UTF-8
// without NUL, control characters (U+0001-U+001F, U+007F-U+009F) or the
// code points ZooKeeper refuses (U+D800-U+F8FF, U+FFF0-U+FFFF), at most
// kMaxPathBytes. Otherwise a BadArguments error that names the problem.
absl::Status ValidatePath(std::string_view path);

// As ValidatePath for the path given to a create. A sequential create may
// end in '/' (the name is then just the sequence number), as in ZooKeeper.
absl::Status ValidateCreatePath(std::string_view path, bool sequential);

// Returns the parent of a valid path other than "/": "/" for "/a",
// "/a" for "/a/b". Returns "" for "/".
std::string_view ParentOf(std::string_view path);

// Returns the last component of a valid path: "b" for "/a/b", "" for "/".
std::string_view BaseName(std::string_view path);

// Returns true if `path` is kSystemRoot or below it.
bool IsSystemPath(std::string_view path);

}  // namespace synod

#endif  // SYNOD_TREE_PATH_H_
