#include "server/pipeline.h"

#include <utility>

#include "util/errors.h"

namespace synod::server {

void Pipeline::CompleteFront(WriteOutcome&& outcome) {
  Item item = std::move(items_.front());
  items_.pop_front();
  complete_(item.done, std::move(outcome));
}

bool Pipeline::ErrorDue(Zxid applied) const {
  return !items_.empty() && !items_.front().has_txn &&
         items_.front().zxid <= applied;
}

void Pipeline::CompleteThrough(Zxid applied) {
  while (ErrorDue(applied)) {
    WriteOutcome outcome;
    outcome.zxid = items_.front().zxid;
    outcome.status = std::move(items_.front().error);
    CompleteFront(std::move(outcome));
  }
}

std::optional<Pipeline::Item> Pipeline::TakeCommitted(Zxid zxid,
                                                      Zxid applied) {
  CompleteThrough(applied);
  // Our own prepared txns that never committed (a lost leadership).
  while (!items_.empty() && items_.front().has_txn &&
         items_.front().zxid < zxid) {
    WriteOutcome lost;
    lost.status = MakeError(Error::kConnectionLoss, "leadership lost");
    CompleteFront(std::move(lost));
    CompleteThrough(applied);
  }
  if (items_.empty() || !items_.front().has_txn ||
      items_.front().zxid != zxid) {
    return std::nullopt;
  }
  Item item = std::move(items_.front());
  items_.pop_front();
  return item;
}

void Pipeline::FailAbove(
    Zxid committed, const std::function<absl::Status(const Item&)>& status_of) {
  std::deque<Item> keep;
  while (!items_.empty()) {
    if (items_.front().zxid <= committed) {
      keep.push_back(std::move(items_.front()));
      items_.pop_front();
      continue;
    }
    WriteOutcome o;
    o.status = status_of(items_.front());
    CompleteFront(std::move(o));
  }
  items_.swap(keep);
}

void Pipeline::FailAll(const absl::Status& status) {
  while (!items_.empty()) {
    WriteOutcome o;
    o.status = status;
    CompleteFront(std::move(o));
  }
}

size_t Pipeline::Uncommitted(Zxid committed) const {
  size_t n = 0;
  for (const Item& item : items_) {
    if (item.has_txn && item.zxid > committed) ++n;
  }
  return n;
}

}  // namespace synod::server
