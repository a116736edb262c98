// LogWriter: one synced log append per round carries every log entry
// submitted since the previous round (group commit).

#include "runtime/log_writer.h"

#include <algorithm>
#include <utility>

namespace synod {

LogWriter::LogWriter(Store* store, OnDurable on_durable)
    : store_(store),
      on_durable_(std::move(on_durable)),
      thread_([this] { Run(); }) {}

LogWriter::~LogWriter() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void LogWriter::Submit(std::vector<LogEntry>* entries, StateBatch* state,
                       Zxid applied, Zxid trim_through) {
  MutexLock lock(&mu_);
  if (entries_.empty()) {
    entries_.swap(*entries);
  } else {
    for (LogEntry& e : *entries) entries_.push_back(std::move(e));
    entries->clear();
  }
  if (state && (!state->empty() || applied > applied_submitted_)) {
    states_.emplace_back(std::move(*state), applied);
    *state = StateBatch();
    applied_submitted_ = std::max(applied_submitted_, applied);
  }
  if (trim_through > trim_through_) trim_through_ = trim_through;
  has_work_ = true;
}

void LogWriter::Run() {
  std::vector<LogEntry> entries;
  std::vector<std::pair<StateBatch, Zxid>> states;
  while (true) {
    Zxid trim_through = 0;
    {
      MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return has_work_ || stopping_;
      };
      mu_.Await(ready);
      if (!has_work_) return;  // stopping with nothing left
      entries.swap(entries_);
      states.swap(states_);
      trim_through = trim_through_;
      trim_through_ = 0;
      has_work_ = false;
    }
    absl::Status status;
    Zxid durable = 0;
    if (!entries.empty()) {
      status = store_->AppendLog(entries, /*sync=*/true);
      durable = entries.back().zxid;
    }
    for (auto& [batch, applied] : states) {
      if (!status.ok()) break;
      status = store_->WriteState(&batch, applied);
    }
    if (status.ok() && trim_through > 0) {
      status = store_->TrimLogThrough(trim_through);
    }
    entries.clear();
    states.clear();
    on_durable_(durable, status);
  }
}

}  // namespace synod
