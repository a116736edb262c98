// Tests for lib/tree/path: ZooKeeper's path rules over UTF-8, and the path
// string helpers.

#include "tree/path.h"

#include <catch2/catch.hpp>
#include <string>

#include "synod/types.h"

namespace synod {
namespace {

// Returns "/a" + the UTF-8 encoding of `cp` + "b" (the encoder does not check
// that `cp` is a scalar value, so it can build encoded surrogates).
std::string WithCodePoint(char32_t cp) {
  std::string s = "/a";
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s + "b";
}

// Checks that `path` is refused as BadArguments with a message containing
// `what`.
void ExpectInvalid(std::string_view path, const std::string& what) {
  const absl::Status status = ValidatePath(path);
  INFO("path bytes: " << path.size() << ", message: " << status.message());
  REQUIRE_FALSE(status.ok());
  CHECK(ErrorOf(status) == Error::kBadArguments);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()).find(what) != std::string::npos);
}

void ExpectValid(std::string_view path) {
  const absl::Status status = ValidatePath(path);
  INFO("message: " << status.message());
  CHECK(status.ok());
}

TEST_CASE("ValidatePath accepts valid paths", "[path]") {
  ExpectValid("/");
  ExpectValid("/a");
  ExpectValid("/a/b/c");
  ExpectValid("/zookeeper/quota");
  ExpectValid("/...");
  ExpectValid("/a/.../b");
  ExpectValid("/.a");
  ExpectValid("/a.");
  ExpectValid("/..a");
  ExpectValid("/a/.b/..c");
  ExpectValid("/with space/and-dash_and~tilde");
  ExpectValid("/caf\xC3\xA9");               // é, U+00E9
  ExpectValid("/\xE6\x97\xA5\xE6\x9C\xAC");  // 日本
  ExpectValid(WithCodePoint(0x20));
  ExpectValid(WithCodePoint(0x7E));
  ExpectValid(WithCodePoint(0xA0));
  ExpectValid(WithCodePoint(0x7FF));
  ExpectValid(WithCodePoint(0x800));
  ExpectValid(WithCodePoint(0xD7FF));
  ExpectValid(WithCodePoint(0xF900));
  ExpectValid(WithCodePoint(0xFFEF));
}

TEST_CASE("ValidatePath refuses malformed structure", "[path]") {
  ExpectInvalid("", "empty path");
  ExpectInvalid("a", "start with '/'");
  ExpectInvalid("a/b", "start with '/'");
  ExpectInvalid("./a", "start with '/'");
  ExpectInvalid("/a/", "ends with '/'");
  ExpectInvalid("//", "ends with '/'");
  ExpectInvalid("/a//b", "empty component at byte 3");
  ExpectInvalid("//a", "empty component at byte 1");
  ExpectInvalid("/.", "relative component \".\" at byte 1");
  ExpectInvalid("/..", "relative component \"..\" at byte 1");
  ExpectInvalid("/a/./b", "relative component \".\" at byte 3");
  ExpectInvalid("/a/../b", "relative component \"..\" at byte 3");
  ExpectInvalid("/a/.", "relative component");
  ExpectInvalid("/a/..", "relative component");
}

TEST_CASE("ValidatePath names the whole path in its message", "[path]") {
  const absl::Status status = ValidatePath("/a//b");
  CHECK(status.message() ==
        "invalid path \"/a//b\": empty component at byte 3");
}

TEST_CASE("ValidatePath refuses NUL and control characters", "[path]") {
  ExpectInvalid(std::string("/a\0b", 4), "NUL character at byte 2");
  ExpectInvalid(std::string("/\0", 2), "NUL character at byte 1");
  // Boundaries of U+0001-U+001F and U+007F-U+009F, both sides.
  ExpectInvalid(WithCodePoint(0x01), "control character U+0001 at byte 2");
  ExpectInvalid(WithCodePoint(0x1F), "control character U+001F");
  ExpectValid(WithCodePoint(0x20));
  ExpectValid(WithCodePoint(0x7E));
  ExpectInvalid(WithCodePoint(0x7F), "control character U+007F");
  ExpectInvalid(WithCodePoint(0x80), "control character U+0080");
  ExpectInvalid(WithCodePoint(0x9F), "control character U+009F");
  ExpectValid(WithCodePoint(0xA0));
  ExpectInvalid("/a\tb", "control character U+0009");
  ExpectInvalid("/a\nb", "control character U+000A");
}

TEST_CASE("ValidatePath refuses ZooKeeper's refused code points", "[path]") {
  ExpectValid(WithCodePoint(0xD7FF));
  // U+D800-U+DFFF cannot be encoded in UTF-8 at all.
  ExpectInvalid(WithCodePoint(0xD800), "encoded surrogate U+D800");
  ExpectInvalid(WithCodePoint(0xDFFF), "encoded surrogate U+DFFF");
  ExpectInvalid(WithCodePoint(0xE000), "refused code point U+E000 at byte 2");
  ExpectInvalid(WithCodePoint(0xF8FF), "refused code point U+F8FF");
  ExpectValid(WithCodePoint(0xF900));
  ExpectValid(WithCodePoint(0xFFEF));
  ExpectInvalid(WithCodePoint(0xFFF0), "refused code point U+FFF0");
  ExpectInvalid(WithCodePoint(0xFFFD), "refused code point U+FFFD");
  ExpectInvalid(WithCodePoint(0xFFFF), "refused code point U+FFFF");
  // Beyond the BMP Java sees surrogate pairs, which ZooKeeper refuses.
  ExpectInvalid(WithCodePoint(0x10000), "refused code point U+10000");
  ExpectInvalid(WithCodePoint(0x1F600), "refused code point U+1F600");
  ExpectInvalid(WithCodePoint(0x10FFFF), "refused code point U+10FFFF");
}

TEST_CASE("ValidatePath refuses invalid UTF-8", "[path]") {
  SECTION("stray continuation byte") {
    ExpectInvalid("/a\x80", "stray continuation byte 0x80 at byte 2");
    ExpectInvalid("/\xBF", "stray continuation byte 0xBF");
  }
  SECTION("bytes that never appear in UTF-8") {
    ExpectInvalid("/\xF8\x88\x80\x80\x80", "byte 0xF8");
    ExpectInvalid("/\xFF", "byte 0xFF");
  }
  SECTION("truncated sequences") {
    ExpectInvalid("/\xC3", "truncated sequence at byte 1");
    ExpectInvalid("/\xE6\x97", "truncated sequence");
    ExpectInvalid("/\xF0\x9F\x98", "truncated sequence");
    ExpectInvalid("/\xC3/a", "truncated sequence");  // '/' cuts it
    ExpectInvalid(
        "/\xE6\x97"
        "a",
        "truncated sequence");
  }
  SECTION("overlong encodings") {
    ExpectInvalid("/\xC0\xAF", "overlong encoding");         // '/'
    ExpectInvalid(std::string("/\xC0\x80", 3), "overlong");  // modified NUL
    ExpectInvalid("/\xC1\xBF", "overlong encoding");
    ExpectInvalid("/\xE0\x80\xAF", "overlong encoding");
    ExpectInvalid("/\xE0\x9F\xBF", "overlong encoding");      // U+07FF
    ExpectInvalid("/\xF0\x8F\xBF\xBF", "overlong encoding");  // U+FFFF
  }
  SECTION("encoded surrogates") {
    ExpectInvalid("/\xED\xA0\x80", "encoded surrogate U+D800");
    ExpectInvalid("/\xED\xBF\xBF", "encoded surrogate U+DFFF");
  }
  SECTION("above U+10FFFF") {
    ExpectInvalid("/\xF4\x90\x80\x80", "above U+10FFFF");
    ExpectInvalid("/\xF7\xBF\xBF\xBF", "above U+10FFFF");
  }
}

TEST_CASE("ValidatePath enforces kMaxPathBytes", "[path]") {
  std::string path = "/" + std::string(kMaxPathBytes - 1, 'x');
  ExpectValid(path);
  path += 'x';
  ExpectInvalid(path, "32769 bytes, over the limit of 32768");
  // The message shows a bounded prefix of the path, not all of it.
  CHECK(ValidatePath(path).message().size() < 300);
  // Long paths made of many components.
  std::string deep;
  while (deep.size() + 2 <= kMaxPathBytes) deep += "/a";
  ExpectValid(deep);
  ExpectInvalid(deep + "/a", "over the limit");
}

TEST_CASE("ValidatePath escapes the path in its message", "[path]") {
  const absl::Status status = ValidatePath(std::string("/a\0b\n", 5));
  REQUIRE_FALSE(status.ok());
  const std::string message(status.message());
  CHECK(message.find('\0') == std::string::npos);
  CHECK(message.find('\n') == std::string::npos);
  CHECK(message.find("\\x00") != std::string::npos);
  const std::string bad_utf8 = ValidatePath("/\xFF").ToString();
  CHECK(bad_utf8.find('\xFF') == std::string::npos);
}

TEST_CASE("ValidateCreatePath", "[path]") {
  SECTION("non-sequential is ValidatePath") {
    CHECK(ValidateCreatePath("/a/b", false).ok());
    CHECK(ValidateCreatePath("/", false).ok());
    CHECK(ErrorOf(ValidateCreatePath("/a/", false)) == Error::kBadArguments);
    CHECK(ErrorOf(ValidateCreatePath("/a//b", false)) == Error::kBadArguments);
  }
  SECTION("sequential validates the path with a sequence number appended") {
    CHECK(ValidateCreatePath("/a/b", true).ok());
    CHECK(ValidateCreatePath("/a/", true).ok());
    CHECK(ValidateCreatePath("/", true).ok());
    CHECK(ValidateCreatePath("/a/lock-", true).ok());
    // "." and ".." become ".0000000000" and "..0000000000".
    CHECK(ValidateCreatePath("/a/.", true).ok());
    CHECK(ValidateCreatePath("/a/..", true).ok());
    CHECK(ErrorOf(ValidateCreatePath("/a//", true)) == Error::kBadArguments);
    CHECK(ErrorOf(ValidateCreatePath("", true)) == Error::kBadArguments);
    CHECK(ErrorOf(ValidateCreatePath("a/", true)) == Error::kBadArguments);
    CHECK(ErrorOf(ValidateCreatePath("/./", true)) == Error::kBadArguments);
    CHECK(ErrorOf(ValidateCreatePath(std::string("/a\0", 3), true)) ==
          Error::kBadArguments);
  }
  SECTION("sequential errors name the path as given") {
    const absl::Status status = ValidateCreatePath("/a//", true);
    CHECK(status.message() ==
          "invalid path \"/a//\": empty component at byte 3");
  }
  SECTION("the sequence number counts toward the length limit") {
    const std::string path = "/" + std::string(kMaxPathBytes - 11, 'x');
    CHECK(ValidateCreatePath(path, true).ok());
    const absl::Status status = ValidateCreatePath(path + "x", true);
    CHECK(ErrorOf(status) == Error::kBadArguments);
    CHECK(std::string(status.message()).find("with the sequence number") !=
          std::string::npos);
    CHECK(ValidateCreatePath(path + "x", false).ok());
  }
}

TEST_CASE("ParentOf", "[path]") {
  CHECK(ParentOf("/") == "");
  CHECK(ParentOf("/a") == "/");
  CHECK(ParentOf("/a/b") == "/a");
  CHECK(ParentOf("/a/b/c") == "/a/b");
  CHECK(ParentOf("/synod/x") == "/synod");
}

TEST_CASE("BaseName", "[path]") {
  CHECK(BaseName("/") == "");
  CHECK(BaseName("/a") == "a");
  CHECK(BaseName("/a/b") == "b");
  CHECK(BaseName("/a/b/lock-0000000007") == "lock-0000000007");
  CHECK(BaseName("/caf\xC3\xA9") == "caf\xC3\xA9");
}

TEST_CASE("IsSystemPath", "[path]") {
  CHECK(IsSystemPath("/synod"));
  CHECK(IsSystemPath("/synod/config"));
  CHECK(IsSystemPath("/synod/a/b"));
  CHECK_FALSE(IsSystemPath("/"));
  CHECK_FALSE(IsSystemPath("/synodx"));
  CHECK_FALSE(IsSystemPath("/synod-data"));
  CHECK_FALSE(IsSystemPath("/syno"));
  CHECK_FALSE(IsSystemPath("/a/synod"));
  CHECK_FALSE(IsSystemPath("/zookeeper"));
}

}  // namespace
}  // namespace synod
