// Fuzzes znode path validation (lib/tree/path.h): the input is one path.
// Properties: validation never crashes and refuses with BadArguments; a path
// it accepts has the documented shape, its parent is valid and parent plus
// base name give it back; a sequential create path it accepts is valid once
// the sequence number is appended.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "fuzz_util.h"
#include "synod/types.h"
#include "tree/path.h"
#include "util/strings.h"

namespace synod::fuzz {
namespace {

void CheckShape(std::string_view path) {
  SYNOD_FUZZ_CHECK(!path.empty() && path[0] == '/', Printable(path));
  SYNOD_FUZZ_CHECK(path.size() <= kMaxPathBytes, Printable(path));
  if (path == "/") return;
  SYNOD_FUZZ_CHECK(path.back() != '/', Printable(path));
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view name = path.substr(start, end - start);
    SYNOD_FUZZ_CHECK(!name.empty() && name != "." && name != "..",
                     Printable(path));
    start = end + 1;
  }
  for (char c : path) {
    const auto b = static_cast<unsigned char>(c);
    SYNOD_FUZZ_CHECK(b >= 0x20 && b != 0x7f, Printable(path));
  }
}

void CheckRefusal(const absl::Status& s, std::string_view path) {
  SYNOD_FUZZ_CHECK(ErrorOf(s) == Error::kBadArguments,
                   absl::StrCat(Printable(path), " -> ", s.ToString()));
}

}  // namespace
}  // namespace synod::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace synod;
  using namespace synod::fuzz;
  if (size > 64 * 1024) return 0;  // well past kMaxPathBytes
  const std::string_view path(reinterpret_cast<const char*>(data), size);

  const absl::Status s = ValidatePath(path);
  const absl::Status create = ValidateCreatePath(path, /*sequential=*/false);
  SYNOD_FUZZ_CHECK(s.ok() == create.ok(), Printable(path));
  if (!s.ok()) {
    CheckRefusal(s, path);
  } else {
    CheckShape(path);
    const std::string_view base = BaseName(path);
    if (path == "/") {
      SYNOD_FUZZ_CHECK(ParentOf(path).empty() && base.empty(), "root");
    } else {
      const std::string_view parent = ParentOf(path);
      SYNOD_FUZZ_CHECK(ValidatePath(parent).ok(), Printable(path));
      SYNOD_FUZZ_CHECK(parent.size() < path.size(), Printable(path));
      const std::string joined = parent == "/"
                                     ? absl::StrCat("/", AV(base))
                                     : absl::StrCat(AV(parent), "/", AV(base));
      SYNOD_FUZZ_CHECK(joined == path, Printable(path));
    }
    if (IsSystemPath(path)) {
      SYNOD_FUZZ_CHECK(path.substr(0, kSystemRoot.size()) == kSystemRoot,
                       Printable(path));
    }
  }

  // A sequential create: the name gets 10 digits appended by the leader.
  const absl::Status seq = ValidateCreatePath(path, /*sequential=*/true);
  if (!seq.ok()) {
    CheckRefusal(seq, path);
  } else {
    const std::string named = absl::StrCat(AV(path), "0000000042");
    SYNOD_FUZZ_CHECK(ValidatePath(named).ok(), Printable(named));
  }
  return 0;
}
