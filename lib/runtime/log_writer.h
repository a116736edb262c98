// The storage thread: makes proposals durable with group commit. While one
// synced write is in progress, everything submitted meanwhile waits and then
// goes in the next write, so many writes share one sync.
//
// Transient storage errors are retried, with a backoff, so they delay the
// writes they touch instead of failing them: an append the store reports
// Unavailable (nothing of it is in the log) is retried until it succeeds,
// a fatal error occurs or the writer stops; a failed state write or trim is
// retried a few times (about 2 s in all) before it is reported.

#ifndef SYNOD_RUNTIME_LOG_WRITER_H_
#define SYNOD_RUNTIME_LOG_WRITER_H_

#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "storage/store.h"
#include "util/latency_histogram.h"
#include "util/mutex.h"

namespace synod {

class LogWriter {
 public:
  // Called on the storage thread after each write with the last zxid now
  // durable (0 if the write had no log entries) and the write's status.
  // `durable` is set whenever the entries reached the log durably, even if
  // a later part of the round (state, trim) failed; with a non-OK status
  // and `durable` 0 the round's entries may or may not be in the log.
  using OnDurable = std::function<void(Zxid durable, absl::Status status)>;

  // `store` (and `fsync_latency`, if not null: each synced append's time
  // is recorded there) must outlive the LogWriter.
  LogWriter(Store* store, OnDurable on_durable,
            LatencyRecorder* fsync_latency = nullptr);
  // Finishes the writes already submitted, then joins the thread.
  ~LogWriter();

  // Queues log `entries` (synced) and applied-state `state` up to `applied`
  // (not synced; written even if `state` is empty when `applied` moved, so
  // the store's applied zxid never lags a trim), and a trim of the log
  // through `trim_through` (0: none). Consecutive submissions are merged
  // into one write.
  void Submit(std::vector<LogEntry>* entries, StateBatch* state, Zxid applied,
              Zxid trim_through);

 private:
  void Run();
  // Runs `op` until it succeeds, returns an error `retry` rejects, or
  // `attempts` runs failed (0: no limit) or the writer stops; waits with an
  // exponential backoff in between. Returns the last status.
  absl::Status Retry(const std::function<absl::Status()>& op,
                     bool (*retry)(const absl::Status&), int attempts);

  Store* const store_;
  const OnDurable on_durable_;
  LatencyRecorder* const fsync_latency_;
  Mutex mu_;
  std::vector<LogEntry> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<StateBatch, Zxid>> states_ ABSL_GUARDED_BY(mu_);
  Zxid trim_through_ ABSL_GUARDED_BY(mu_) = 0;
  Zxid applied_submitted_ ABSL_GUARDED_BY(mu_) = 0;
  bool has_work_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace synod

#endif  // SYNOD_RUNTIME_LOG_WRITER_H_
