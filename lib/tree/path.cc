// Znode path validation (ZooKeeper's PathUtils rules over decoded UTF-8) and
// the string helpers on valid paths.

#include "tree/path.h"

#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "synod/types.h"
#include "util/strings.h"

namespace synod {
namespace {

// Paths longer than this are cut short in error messages.
constexpr size_t kMaxShownBytes = 80;

// What a sequential create appends before validation, as ZooKeeper does.
constexpr std::string_view kSequenceStandIn = "0000000000";

std::string Quote(std::string_view path) {
  if (path.size() <= kMaxShownBytes) {
    return absl::StrCat("\"", absl::CHexEscape(AV(path)), "\"");
  }
  return absl::StrCat("\"",
                      absl::CHexEscape(AV(path.substr(0, kMaxShownBytes))),
                      "\"... (", path.size(), " bytes)");
}

absl::Status Invalid(std::string_view path, std::string_view reason) {
  return MakeError(
      Error::kBadArguments,
      absl::StrCat("invalid path ", Quote(path), ": ", AV(reason)));
}

// Decodes the UTF-8 sequence starting at `s[i]` into `*cp` and `*len`.
// Returns "" on success, otherwise why the bytes are not UTF-8.
std::string DecodeUtf8(std::string_view s, size_t i, char32_t* cp,
                       size_t* len) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  const uint8_t lead = byte(0);
  if (lead < 0x80) {
    *cp = lead;
    *len = 1;
    return "";
  }
  if (lead < 0xC0) {
    return absl::StrFormat("invalid UTF-8: stray continuation byte 0x%02X",
                           lead);
  }
  if (lead >= 0xF8) return absl::StrFormat("invalid UTF-8: byte 0x%02X", lead);
  *len = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  const char32_t min = *len == 2 ? 0x80 : *len == 3 ? 0x800 : 0x10000;
  *cp = lead & (0x7F >> *len);
  for (size_t k = 1; k < *len; ++k) {
    if (i + k >= s.size() || (byte(k) & 0xC0) != 0x80) {
      return "invalid UTF-8: truncated sequence";
    }
    *cp = (*cp << 6) | (byte(k) & 0x3F);
  }
  if (*cp < min) return "invalid UTF-8: overlong encoding";
  if (*cp >= 0xD800 && *cp <= 0xDFFF) {
    return absl::StrFormat("invalid UTF-8: encoded surrogate U+%04X",
                           static_cast<uint32_t>(*cp));
  }
  if (*cp > 0x10FFFF) {
    return absl::StrFormat("invalid UTF-8: code point U+%X above U+10FFFF",
                           static_cast<uint32_t>(*cp));
  }
  return "";
}

// Returns why ZooKeeper refuses `cp`, or "" if it is allowed. Java sees a
// code point above U+FFFF as two UTF-16 surrogates, which fall in the
// refused U+D800-U+F8FF, so those are refused too.
std::string RefusedCodePoint(char32_t cp) {
  const auto u = static_cast<uint32_t>(cp);
  if (u == 0) return "NUL character";
  if (u <= 0x1F || (u >= 0x7F && u <= 0x9F)) {
    return absl::StrFormat("control character U+%04X", u);
  }
  if ((u >= 0xD800 && u <= 0xF8FF) || (u >= 0xFFF0 && u <= 0xFFFF)) {
    return absl::StrFormat("refused code point U+%04X", u);
  }
  if (u > 0xFFFF) {
    return absl::StrFormat("refused code point U+%04X (outside the BMP)", u);
  }
  return "";
}

// Validates `path`; messages name `shown` (what the caller passed), which is
// `path` itself or, for a sequential create, `path` before its stand-in
// sequence number was appended.
absl::Status Validate(std::string_view path, std::string_view shown) {
  if (shown.empty()) return Invalid(shown, "empty path");
  if (path[0] != '/') return Invalid(shown, "does not start with '/'");
  if (path.size() > kMaxPathBytes) {
    return Invalid(shown, absl::StrCat(path.size(), " bytes",
                                       path.size() == shown.size()
                                           ? ""
                                           : " with the sequence number",
                                       ", over the limit of ", kMaxPathBytes));
  }
  if (path.size() == 1) return absl::OkStatus();
  if (path.back() == '/') return Invalid(shown, "ends with '/'");

  size_t start = 1;  // first byte of the current component
  for (size_t i = 1; i <= path.size();) {
    if (i == path.size() || path[i] == '/') {
      const std::string_view name = path.substr(start, i - start);
      if (name.empty()) {
        return Invalid(shown, absl::StrCat("empty component at byte ", i));
      }
      if (name == "." || name == "..") {
        return Invalid(shown, absl::StrCat("relative component \"", AV(name),
                                           "\" at byte ", start));
      }
      start = ++i;
      continue;
    }
    const auto b = static_cast<uint8_t>(path[i]);
    if (b >= 0x20 && b < 0x7F) {  // printable ASCII: the common case
      ++i;
      continue;
    }
    char32_t cp = 0;
    size_t len = 1;
    std::string reason = DecodeUtf8(path, i, &cp, &len);
    if (reason.empty()) reason = RefusedCodePoint(cp);
    if (!reason.empty()) {
      return Invalid(shown, absl::StrCat(reason, " at byte ", i));
    }
    i += len;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidatePath(std::string_view path) {
  return Validate(path, path);
}

absl::Status ValidateCreatePath(std::string_view path, bool sequential) {
  if (!sequential) return Validate(path, path);
  return Validate(absl::StrCat(AV(path), AV(kSequenceStandIn)), path);
}

std::string_view ParentOf(std::string_view path) {
  if (path.size() <= 1) return "";
  const size_t slash = path.rfind('/');
  return path.substr(0, slash == 0 ? 1 : slash);
}

std::string_view BaseName(std::string_view path) {
  return path.substr(path.rfind('/') + 1);
}

bool IsSystemPath(std::string_view path) {
  return path.substr(0, kSystemRoot.size()) == kSystemRoot &&
         (path.size() == kSystemRoot.size() || path[kSystemRoot.size()] == '/');
}

}  // namespace synod
