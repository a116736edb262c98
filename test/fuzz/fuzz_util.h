// Helpers shared by the fuzz targets in test/fuzz: reading structured
// values from the fuzzer's bytes, and failing loudly when a property breaks.
// Everything is deterministic per input: no clock, no randomness.

#ifndef SYNOD_TEST_FUZZ_FUZZ_UTIL_H_
#define SYNOD_TEST_FUZZ_FUZZ_UTIL_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

// The entry point every target defines (libFuzzer's, and replay_main.cc's).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace synod::fuzz {

// Inputs larger than this are ignored by every target: nothing the
// properties check needs more, and huge inputs only slow the fuzzer.
inline constexpr size_t kMaxInputBytes = size_t{1} << 20;

// Reports a broken property and aborts, so the fuzzer (or the replay test)
// fails with this input as the reproducer.
[[noreturn]] inline void Fail(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "synod fuzz property failed: %.*s\n  %.*s\n",
               static_cast<int>(what.size()), what.data(),
               static_cast<int>(detail.size()), detail.data());
  std::fflush(stderr);
  std::abort();
}

// Fails with `what` (and `detail`) unless `cond` holds.
#define SYNOD_FUZZ_CHECK(cond, detail)                         \
  do {                                                         \
    if (!(cond)) ::synod::fuzz::Fail(#cond, (detail));         \
  } while (0)

// Reads values from the front of the fuzzer's bytes. Past the end every
// getter returns zeros / empty strings, so targets need no length checks.
class Input {
 public:
  Input(const uint8_t* data, size_t size)
      : rest_(reinterpret_cast<const char*>(data), size) {}
  explicit Input(std::string_view bytes) : rest_(bytes) {}

  // One byte, 0 at the end.
  uint8_t Byte() {
    if (rest_.empty()) return 0;
    const auto b = static_cast<uint8_t>(rest_[0]);
    rest_.remove_prefix(1);
    return b;
  }

  // `n` (<= 8) bytes, little-endian.
  uint64_t Int(int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= uint64_t{Byte()} << (8 * i);
    return v;
  }

  // A string of at most `max` bytes, its length in the first byte (or two
  // bytes when `max` > 255).
  std::string_view Bytes(size_t max) {
    size_t n = max > 255 ? static_cast<size_t>(Int(2)) : Byte();
    n = std::min({n, max, rest_.size()});
    std::string_view out = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return out;
  }

  // Everything that is left.
  std::string_view Rest() {
    std::string_view out = rest_;
    rest_ = {};
    return out;
  }

  bool empty() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

// Returns `bytes` printably (hex escapes for the rest), at most `max` bytes
// of it, for failure reports.
inline std::string Printable(std::string_view bytes, size_t max = 200) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (bytes.size() > max) out += "...";
  return out;
}

}  // namespace synod::fuzz

#endif  // SYNOD_TEST_FUZZ_FUZZ_UTIL_H_
