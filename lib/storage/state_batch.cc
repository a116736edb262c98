// StateBatch: the applied state's changes, encoded in one buffer.

#include "storage/storage.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "util/coding.h"

namespace synod {
namespace {

constexpr char kPutNode = 'N';
constexpr char kDeleteNode = 'n';
constexpr char kPutSession = 'S';
constexpr char kDeleteSession = 's';
constexpr char kPutMeta = 'M';

}  // namespace

StateBatch::StateBatch() = default;
StateBatch::~StateBatch() = default;

StateBatch::StateBatch(StateBatch&& other) noexcept
    : rep_(std::move(other.rep_)),
      node_count_(std::exchange(other.node_count_, -1)) {
  other.rep_.clear();
}

StateBatch& StateBatch::operator=(StateBatch&& other) noexcept {
  rep_ = std::move(other.rep_);
  other.rep_.clear();
  node_count_ = std::exchange(other.node_count_, -1);
  return *this;
}

void StateBatch::PutNode(std::string_view path, std::string_view record) {
  rep_.push_back(kPutNode);
  PutBytes(&rep_, path);
  PutBytes(&rep_, record);
}

void StateBatch::DeleteNode(std::string_view path) {
  rep_.push_back(kDeleteNode);
  PutBytes(&rep_, path);
}

void StateBatch::PutSession(int64_t id, std::string_view record) {
  rep_.push_back(kPutSession);
  PutFixed64(&rep_, static_cast<uint64_t>(id));
  PutBytes(&rep_, record);
}

void StateBatch::DeleteSession(int64_t id) {
  rep_.push_back(kDeleteSession);
  PutFixed64(&rep_, static_cast<uint64_t>(id));
}

void StateBatch::PutMeta(std::string_view name, std::string_view value) {
  rep_.push_back(kPutMeta);
  PutBytes(&rep_, name);
  PutBytes(&rep_, value);
}

void StateBatch::SetNodeCount(int64_t count) { node_count_ = count; }

bool StateBatch::empty() const { return rep_.empty() && node_count_ < 0; }

void StateBatch::Clear() {
  rep_.clear();
  node_count_ = -1;
}

absl::Status StateBatch::Visit(StateBatchVisitor* visitor) const {
  Decoder in(rep_);
  while (!in.empty()) {
    const size_t at = rep_.size() - in.rest().size();
    std::string_view tag_byte;
    std::string_view key;
    std::string_view record;
    uint64_t id = 0;
    bool ok = in.Raw(1, &tag_byte);
    const char tag = ok ? tag_byte[0] : 0;
    switch (tag) {
      case kPutNode:
        ok = ok && in.Bytes(&key) && in.Bytes(&record);
        if (ok) visitor->PutNode(key, record);
        break;
      case kDeleteNode:
        ok = ok && in.Bytes(&key);
        if (ok) visitor->DeleteNode(key);
        break;
      case kPutSession:
        ok = ok && in.Fixed64(&id) && in.Bytes(&record);
        if (ok) visitor->PutSession(static_cast<int64_t>(id), record);
        break;
      case kDeleteSession:
        ok = ok && in.Fixed64(&id);
        if (ok) visitor->DeleteSession(static_cast<int64_t>(id));
        break;
      case kPutMeta:
        ok = ok && in.Bytes(&key) && in.Bytes(&record);
        if (ok) visitor->PutMeta(key, record);
        break;
      default:
        ok = false;
    }
    if (!ok) {
      return absl::DataLossError(absl::StrCat(
          "malformed state batch at byte ", at));
    }
  }
  return absl::OkStatus();
}

}  // namespace synod
