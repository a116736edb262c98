// LogWriter: one synced log append per round carries every log entry
// submitted since the previous round (group commit).

#include "runtime/log_writer.h"

#include <algorithm>
#include <utility>

#include "absl/time/time.h"

namespace synod {
namespace {

// Failed state writes and trims are retried this many times (with the
// backoff below, about 2 s) before they are reported.
constexpr int kStateAttempts = 14;

bool IsTransientAppendError(const absl::Status& s) {
  return absl::IsUnavailable(s);
}

bool IsRetryableStateError(const absl::Status& s) {
  return !absl::IsDataLoss(s) && !absl::IsInvalidArgument(s);
}

}  // namespace

LogWriter::LogWriter(Store* store, OnDurable on_durable,
                     LatencyRecorder* fsync_latency)
    : store_(store),
      on_durable_(std::move(on_durable)),
      fsync_latency_(fsync_latency),
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
      status = Retry(
          [&] {
            const absl::Time start = absl::Now();
            absl::Status appended = store_->AppendLog(entries, /*sync=*/true);
            if (fsync_latency_ != nullptr && appended.ok()) {
              fsync_latency_->Observe(
                  absl::ToInt64Microseconds(absl::Now() - start));
            }
            return appended;
          },
          IsTransientAppendError, 0);
      if (status.ok()) durable = entries.back().zxid;
    }
    for (auto& [batch, applied] : states) {
      if (!status.ok()) break;
      StateBatch* b = &batch;
      const Zxid a = applied;
      status = Retry([&] { return store_->WriteState(b, a); },
                     IsRetryableStateError, kStateAttempts);
    }
    if (status.ok() && trim_through > 0) {
      status = Retry([&] { return store_->TrimLogThrough(trim_through); },
                     IsRetryableStateError, kStateAttempts);
    }
    entries.clear();
    states.clear();
    on_durable_(durable, status);
  }
}

absl::Status LogWriter::Retry(const std::function<absl::Status()>& op,
                              bool (*retry)(const absl::Status&),
                              int attempts) {
  absl::Duration backoff = absl::Milliseconds(1);
  for (int n = 1;; ++n) {
    absl::Status s = op();
    if (s.ok() || !retry(s) || (attempts > 0 && n >= attempts)) return s;
    MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                                 mu_) { return stopping_; },
                             backoff)) {
      return s;  // stopping: the caller reports the error
    }
    backoff = std::min(backoff * 2, absl::Milliseconds(250));
  }
}

}  // namespace synod
