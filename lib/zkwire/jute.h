// Jute, the record encoding of ZooKeeper's client protocol: big-endian
// fixed-width integers, one-byte booleans, and length-prefixed buffers,
// strings and vectors (a length of -1 is null). JuteWriter appends records
// to a string; JuteReader takes them from a frame and refuses, with
// MarshallingError and nothing allocated beyond the frame, every length
// that is negative (other than -1), larger than what is left of the frame,
// or larger than its limit. Pure: no I/O.

#ifndef SYNOD_ZKWIRE_JUTE_H_
#define SYNOD_ZKWIRE_JUTE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace synod::zkwire {

// Appends jute records to `*out` (not owned; it must outlive the writer).
class JuteWriter {
 public:
  explicit JuteWriter(std::string* out) : out_(out) {}

  void Int(int32_t v);
  void Long(int64_t v);
  void Bool(bool v) { out_->push_back(v ? 1 : 0); }
  // A buffer or string: its length as an Int, then its bytes.
  void Buffer(std::string_view bytes);
  // A null buffer (length -1), as ZooKeeper writes an absent one.
  void NullBuffer() { Int(-1); }
  void String(std::string_view s) { Buffer(s); }
  void StringVector(const std::vector<std::string>& strings);

  std::string* out() const { return out_; }

 private:
  std::string* const out_;
};

// Reads jute records from the front of `in` (not owned). Each getter
// returns MarshallingError, naming `what`, when the input is short or a
// length is out of bounds; after an error the reader's state is
// unspecified and it should be dropped.
class JuteReader {
 public:
  // `max_length`: the largest buffer, string or vector length accepted.
  JuteReader(std::string_view in, int32_t max_length)
      : in_(in), max_length_(max_length) {}
  // The reader keeps a view: never of a temporary string.
  JuteReader(std::string&& in, int32_t max_length) = delete;

  absl::Status Int(int32_t* v, std::string_view what);
  absl::Status Long(int64_t* v, std::string_view what);
  // A boolean byte: 0 or 1; any other value is refused.
  absl::Status Bool(bool* v, std::string_view what);
  // A buffer; null (-1) reads as empty, with `*is_null` set when given.
  absl::Status Buffer(std::string* v, std::string_view what,
                      bool* is_null = nullptr);
  // A string: as a buffer (ZooKeeper's ustring is UTF-8 bytes; they are
  // not checked here: paths are validated where they are used).
  absl::Status String(std::string* v, std::string_view what) {
    return Buffer(v, what);
  }
  // A vector's element count; null (-1) reads as 0. Refuses a count whose
  // elements, at `min_element_bytes` each, could not fit in what is left:
  // a frame never makes the caller reserve more than it holds.
  absl::Status Count(int32_t* n, size_t min_element_bytes,
                     std::string_view what);
  absl::Status StringVector(std::vector<std::string>* v, std::string_view what);

  size_t remaining() const { return in_.size(); }
  bool done() const { return in_.empty(); }
  // Fails unless every byte was read: a frame with trailing bytes is
  // malformed.
  absl::Status ExpectDone(std::string_view what) const;

 private:
  std::string_view in_;
  const int32_t max_length_;
};

// MarshallingError: `what` could not be decoded, and why.
absl::Status MalformedError(std::string_view what, std::string_view why);

}  // namespace synod::zkwire

#endif  // SYNOD_ZKWIRE_JUTE_H_
