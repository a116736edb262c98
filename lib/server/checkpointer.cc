#include "server/checkpointer.h"

#include <algorithm>
#include <utility>

namespace synod::server {

Checkpointer::Checkpointer(CheckpointPolicy policy, Zxid checkpoint_zxid,
                           int64_t now_ms)
    : policy_(policy),
      checkpoint_zxid_(checkpoint_zxid),
      last_checkpoint_ms_(now_ms) {}

void Checkpointer::Logged(Zxid zxid) { logged_.push_back(zxid); }

void Checkpointer::Truncated(Zxid zxid) {
  while (!logged_.empty() && logged_.back() > zxid) logged_.pop_back();
}

void Checkpointer::SnapshotStored(Zxid zxid) {
  logged_.clear();
  unsaved_nodes_.clear();
  unsaved_sessions_.clear();
  unsaved_txns_ = 0;
  checkpoint_zxid_ = zxid;
}

void Checkpointer::Changed(StrSet* nodes,
                           absl::flat_hash_set<int64_t>* sessions,
                           int64_t txns) {
  // merge moves what is not already unsaved; what is left are duplicates.
  unsaved_nodes_.merge(*nodes);
  unsaved_sessions_.merge(*sessions);
  nodes->clear();
  sessions->clear();
  unsaved_txns_ += txns;
}

bool Checkpointer::Due(Zxid applied, bool idle, int64_t now_ms) const {
  if (!Behind(applied)) return false;
  // The log is trimmed only below a checkpoint: checkpoint at least every
  // log_retention txns so that it keeps about that many.
  const int64_t max_txns = std::min<int64_t>(
      policy_.max_txns, std::max<int64_t>(1, policy_.log_retention));
  return (idle && now_ms - last_checkpoint_ms_ >= policy_.idle_gap_ms) ||
         unsaved_records() >= policy_.max_records || unsaved_txns_ >= max_txns;
}

void Checkpointer::Take(Zxid applied, int64_t now_ms, StrSet* nodes,
                        absl::flat_hash_set<int64_t>* sessions) {
  nodes->clear();
  sessions->clear();
  nodes->swap(unsaved_nodes_);
  sessions->swap(unsaved_sessions_);
  unsaved_txns_ = 0;
  checkpoint_zxid_ = applied;
  last_checkpoint_ms_ = now_ms;
}

Zxid Checkpointer::TakeTrim() {
  // Entries the store's applied state does not cover yet stay in its log.
  Zxid through = 0;
  while (static_cast<int64_t>(logged_.size()) > policy_.log_retention &&
         logged_.front() <= checkpoint_zxid_) {
    through = logged_.front();
    logged_.pop_front();
  }
  return through;
}

}  // namespace synod::server
