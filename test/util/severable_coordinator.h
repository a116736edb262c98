// SeverableCoordinator: a ForwardingCoordinator that can be cut from the
// Coordinator it forwards to, so a test can stop a peer (its session
// closes, its ephemerals go) while recipe objects made on it still live:
// once severed, the calls the recipes make fail with Closing instead of
// reaching a destroyed Coordinator. Sever waits for the calls under way.

#ifndef SYNOD_TEST_UTIL_SEVERABLE_COORDINATOR_H_
#define SYNOD_TEST_UTIL_SEVERABLE_COORDINATOR_H_

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "util/forwarding_coordinator.h"
#include "util/mutex.h"

namespace synod::testing {

class SeverableCoordinator : public ForwardingCoordinator {
 public:
  using ForwardingCoordinator::ForwardingCoordinator;
  using ForwardingCoordinator::Create;
  using ForwardingCoordinator::GetChildren;

  // From now on the recipes' calls fail with Closing. Returns once no call
  // is under way. REQUIRES: not called from a watcher or callback.
  void Sever() {
    WriterLock lock(&mu_);
    severed_ = true;
  }

  absl::StatusOr<std::string> Create(std::string_view path,
                                     std::string_view data, CreateMode mode,
                                     const CreateOptions& o) override {
    ReaderLock lock(&mu_);
    if (severed_) return Cut();
    return to_.Create(path, data, mode, o);
  }
  absl::StatusOr<Stat> Set(std::string_view path, std::string_view data,
                           int32_t version) override {
    ReaderLock lock(&mu_);
    if (severed_) return Cut();
    return to_.Set(path, data, version);
  }
  absl::Status Delete(std::string_view path, int32_t version) override {
    ReaderLock lock(&mu_);
    if (severed_) return Cut();
    return to_.Delete(path, version);
  }
  absl::StatusOr<std::vector<OpResult>> Multi(std::vector<Op> ops) override {
    ReaderLock lock(&mu_);
    if (severed_) return Cut();
    return to_.Multi(std::move(ops));
  }
  absl::Status Sync(std::string_view path) override {
    ReaderLock lock(&mu_);
    if (severed_) return Cut();
    return to_.Sync(path);
  }
  absl::StatusOr<Node> Get(std::string_view path, Watcher watcher) override {
    ReaderLock lock(&mu_);
    if (severed_) return Cut();
    return to_.Get(path, std::move(watcher));
  }
  absl::StatusOr<std::optional<Stat>> Exists(std::string_view path,
                                             Watcher watcher) override {
    ReaderLock lock(&mu_);
    if (severed_) return Cut();
    return to_.Exists(path, std::move(watcher));
  }
  absl::StatusOr<std::vector<std::string>> GetChildren(std::string_view path,
                                                       Watcher watcher,
                                                       Stat* stat) override {
    ReaderLock lock(&mu_);
    if (severed_) return Cut();
    return to_.GetChildren(path, std::move(watcher), stat);
  }
  void ExistsAsync(std::string_view path, Watcher watcher,
                   Callback<std::optional<Stat>> done) override {
    {
      ReaderLock lock(&mu_);
      if (!severed_) {
        to_.ExistsAsync(path, std::move(watcher), std::move(done));
        return;
      }
    }
    done(Cut());  // not under the lock: it may call back in
  }
  int64_t AddSessionListener(Watcher listener) override {
    ReaderLock lock(&mu_);
    if (severed_) return 0;
    return to_.AddSessionListener(std::move(listener));
  }
  void RemoveSessionListener(int64_t handle) override {
    ReaderLock lock(&mu_);
    if (!severed_) to_.RemoveSessionListener(handle);
  }
  int64_t session_id() const override {
    ReaderLock lock(&mu_);
    return severed_ ? 0 : to_.session_id();
  }
  bool SessionLeaseValid() const override {
    ReaderLock lock(&mu_);
    return !severed_ && to_.SessionLeaseValid();
  }
  // Waits one second at most (so that Sever never waits longer for it).
  absl::Status WaitConnected(absl::Duration timeout) override {
    ReaderLock lock(&mu_);
    if (severed_) return Cut();
    return to_.WaitConnected(std::min(timeout, absl::Seconds(1)));
  }

 private:
  static absl::Status Cut() {
    return MakeError(Error::kClosing, "severed from its Coordinator");
  }

  mutable SharedMutex mu_;
  bool severed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace synod::testing

#endif  // SYNOD_TEST_UTIL_SEVERABLE_COORDINATOR_H_
