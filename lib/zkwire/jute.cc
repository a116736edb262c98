#include "zkwire/jute.h"

#include "absl/strings/str_cat.h"
#include "synod/types.h"
#include "util/strings.h"

namespace synod::zkwire {

absl::Status MalformedError(std::string_view what, std::string_view why) {
  return MakeError(Error::kMarshallingError,
                   absl::StrCat("malformed ", AV(what), ": ", AV(why)));
}

void JuteWriter::Int(int32_t v) {
  const uint32_t u = static_cast<uint32_t>(v);
  const char bytes[4] = {static_cast<char>(u >> 24), static_cast<char>(u >> 16),
                         static_cast<char>(u >> 8), static_cast<char>(u)};
  out_->append(bytes, 4);
}

void JuteWriter::Long(int64_t v) {
  const uint64_t u = static_cast<uint64_t>(v);
  Int(static_cast<int32_t>(static_cast<uint32_t>(u >> 32)));
  Int(static_cast<int32_t>(static_cast<uint32_t>(u)));
}

void JuteWriter::Buffer(std::string_view bytes) {
  Int(static_cast<int32_t>(bytes.size()));
  out_->append(bytes.data(), bytes.size());
}

void JuteWriter::StringVector(const std::vector<std::string>& strings) {
  Int(static_cast<int32_t>(strings.size()));
  for (const std::string& s : strings) String(s);
}

absl::Status JuteReader::Int(int32_t* v, std::string_view what) {
  if (in_.size() < 4) return MalformedError(what, "truncated");
  uint32_t u = 0;
  for (int i = 0; i < 4; ++i) {
    u = (u << 8) | static_cast<uint8_t>(in_[i]);
  }
  in_.remove_prefix(4);
  *v = static_cast<int32_t>(u);
  return absl::OkStatus();
}

absl::Status JuteReader::Long(int64_t* v, std::string_view what) {
  if (in_.size() < 8) return MalformedError(what, "truncated");
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i) {
    u = (u << 8) | static_cast<uint8_t>(in_[i]);
  }
  in_.remove_prefix(8);
  *v = static_cast<int64_t>(u);
  return absl::OkStatus();
}

absl::Status JuteReader::Bool(bool* v, std::string_view what) {
  if (in_.empty()) return MalformedError(what, "truncated");
  const uint8_t b = static_cast<uint8_t>(in_[0]);
  if (b > 1) return MalformedError(what, absl::StrCat("boolean byte ", b));
  in_.remove_prefix(1);
  *v = b == 1;
  return absl::OkStatus();
}

absl::Status JuteReader::Buffer(std::string* v, std::string_view what,
                                bool* is_null) {
  int32_t length = 0;
  if (absl::Status s = Int(&length, what); !s.ok()) return s;
  if (is_null != nullptr) *is_null = length == -1;
  if (length == -1) {
    v->clear();
    return absl::OkStatus();
  }
  if (length < 0) {
    return MalformedError(what, absl::StrCat("negative length ", length));
  }
  if (length > max_length_) {
    return MalformedError(what, absl::StrCat("length ", length,
                                             " exceeds the limit of ",
                                             max_length_));
  }
  if (static_cast<size_t>(length) > in_.size()) {
    return MalformedError(what, absl::StrCat("length ", length, " but ",
                                             in_.size(), " bytes left"));
  }
  v->assign(in_.data(), static_cast<size_t>(length));
  in_.remove_prefix(static_cast<size_t>(length));
  return absl::OkStatus();
}

absl::Status JuteReader::Count(int32_t* n, size_t min_element_bytes,
                               std::string_view what) {
  int32_t count = 0;
  if (absl::Status s = Int(&count, what); !s.ok()) return s;
  if (count == -1) count = 0;
  if (count < 0) {
    return MalformedError(what, absl::StrCat("negative count ", count));
  }
  if (count > max_length_) {
    return MalformedError(what, absl::StrCat("count ", count,
                                             " exceeds the limit of ",
                                             max_length_));
  }
  if (static_cast<size_t>(count) * min_element_bytes > in_.size()) {
    return MalformedError(what, absl::StrCat("count ", count, " but ",
                                             in_.size(), " bytes left"));
  }
  *n = count;
  return absl::OkStatus();
}

absl::Status JuteReader::StringVector(std::vector<std::string>* v,
                                      std::string_view what) {
  int32_t n = 0;
  // Each string is at least its 4-byte length.
  if (absl::Status s = Count(&n, 4, what); !s.ok()) return s;
  v->clear();
  v->reserve(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    std::string s;
    if (absl::Status st = String(&s, what); !st.ok()) return st;
    v->push_back(std::move(s));
  }
  return absl::OkStatus();
}

absl::Status JuteReader::ExpectDone(std::string_view what) const {
  if (in_.empty()) return absl::OkStatus();
  return MalformedError(what, absl::StrCat(in_.size(), " trailing bytes"));
}

}  // namespace synod::zkwire
