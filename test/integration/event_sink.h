// The watch events a system told in a differential test against
// ZooKeeper, as text ("w<watcher>:<type>:<path>"), collected from
// whichever thread tells them.

#ifndef SYNOD_TEST_INTEGRATION_EVENT_SINK_H_
#define SYNOD_TEST_INTEGRATION_EVENT_SINK_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "util/mutex.h"

namespace synod::testing {

class EventSink {
 public:
  void Add(std::string event) {
    MutexLock lock(&mu_);
    events_.push_back(std::move(event));
  }
  // The events told since the last Take, in the order told.
  std::vector<std::string> Take() {
    MutexLock lock(&mu_);
    return std::exchange(events_, {});
  }
  size_t size() const {
    MutexLock lock(&mu_);
    return events_.size();
  }

 private:
  mutable Mutex mu_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};

}  // namespace synod::testing

#endif  // SYNOD_TEST_INTEGRATION_EVENT_SINK_H_
