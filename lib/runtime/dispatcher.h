// The thread that runs user code: watch events and completion callbacks, one
// at a time, in the order they were posted.

#ifndef SYNOD_RUNTIME_DISPATCHER_H_
#define SYNOD_RUNTIME_DISPATCHER_H_

#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "util/mutex.h"

namespace synod {

class Dispatcher {
 public:
  using Task = std::function<void()>;

  // Starts the thread.
  Dispatcher();
  // Stops (see Stop).
  ~Dispatcher();

  // Runs every task posted so far, and those they post, then joins the
  // thread. Tasks posted after it returns never run. Idempotent; not from
  // the dispatcher thread.
  void Stop();

  // Queues `task` behind every task posted before. Any thread; never blocks
  // on a running task.
  void Post(Task task);
  // Queues `tasks`, in order, as one step.
  void PostAll(std::vector<Task>* tasks);

  // Returns how many tasks have run.
  int64_t tasks_run() const;
  // Returns how many tasks wait (posted, not yet taken up to run).
  int64_t queued() const;
  // Returns true on the dispatcher thread (for callers that must not wait
  // on their own completions).
  bool OnDispatcherThread() const;

 private:
  void Run();

  mutable Mutex mu_;
  std::vector<Task> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t tasks_run_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace synod

#endif  // SYNOD_RUNTIME_DISPATCHER_H_
