// ConfigIndex (config_index.h): the configurations of one peer's history.

#include "zab/config_index.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace synod::zab {

ConfigIndex::ConfigIndex(Config base) : base_(std::move(base)) {}

absl::Status ConfigIndex::Append(const Entry& entry) {
  if (!IsConfigData(entry.data)) return absl::OkStatus();
  absl::StatusOr<Config> config = ConfigOfEntry(entry);
  if (!config.ok()) return config.status();
  if (VoterDistance(current(), *config) > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the config entry at ", ZxidString(entry.zxid),
        " changes more than one voter: from ", DescribeConfig(current()),
        " to ", DescribeConfig(*config)));
  }
  logged_.push_back(*std::move(config));
  return absl::OkStatus();
}

void ConfigIndex::TruncateAfter(Zxid zxid) {
  while (!logged_.empty() && logged_.back().version > zxid) logged_.pop_back();
}

void ConfigIndex::Compact(Zxid zxid) {
  size_t folded = 0;
  while (folded < logged_.size() && logged_[folded].version <= zxid) ++folded;
  if (folded == 0) return;
  base_ = std::move(logged_[folded - 1]);
  logged_.erase(logged_.begin(),
                logged_.begin() + static_cast<std::ptrdiff_t>(folded));
}

void ConfigIndex::Reset(Config base) {
  base_ = std::move(base);
  logged_.clear();
}

const Config& ConfigIndex::current() const {
  return logged_.empty() ? base_ : logged_.back();
}

const Config* ConfigIndex::previous() const {
  if (logged_.empty()) return nullptr;
  return logged_.size() == 1 ? &base_ : &logged_[logged_.size() - 2];
}

const Config& ConfigIndex::AsOf(Zxid zxid) const {
  for (auto it = logged_.rbegin(); it != logged_.rend(); ++it) {
    if (it->version <= zxid) return *it;
  }
  return base_;
}

QuorumRule ConfigIndex::Rule(Zxid committed) const {
  Quorum now(current().VoterIds());
  const Config* before = previous();
  if (pending(committed) && before != nullptr) {
    return QuorumRule(std::move(now), Quorum(before->VoterIds()));
  }
  return QuorumRule(std::move(now));
}

}  // namespace synod::zab
