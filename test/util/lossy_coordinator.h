// LossyCoordinator: a ForwardingCoordinator that loses the outcome of
// chosen Multis, as a leader change can: it applies the Multi and reports
// ConnectionLoss, or drops it and reports ConnectionLoss, or holds it and
// applies it only once the caller has settled (a write that arrives late).
// For the tests of recipes whose writes must apply exactly once. And
// CountsLosses, which only counts such outcomes.

#ifndef SYNOD_TEST_UTIL_LOSSY_COORDINATOR_H_
#define SYNOD_TEST_UTIL_LOSSY_COORDINATOR_H_

#include <atomic>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "synod/coordinator.h"
#include "util/forwarding_coordinator.h"
#include "util/mutex.h"

namespace synod::testing {

class LossyCoordinator : public ForwardingCoordinator {
 public:
  enum class Fault {
    kApplyThenLose,  // applied, reported lost
    kDropAndLose,    // not applied, reported lost
    kApplyLate,      // reported lost, applied just before the next Multi
  };

  // Every `every`-th Multi (the `every`-th, the 2*`every`-th, ...) whose
  // ops `select` accepts (all when null) meets `fault`.
  LossyCoordinator(Coordinator& to, Fault fault, int every,
                   std::function<bool(const std::vector<Op>&)> select = nullptr)
      : ForwardingCoordinator(to),
        fault_(fault),
        every_(every),
        select_(std::move(select)) {}

  // Runs `hook` (on the calling thread) each time a fault is injected,
  // before the loss is reported: what another process does meanwhile.
  void OnFault(std::function<void()> hook) { hook_ = std::move(hook); }
  // Makes the next `n` Syncs fail with SystemError (a settle that cannot
  // finish).
  void FailSyncs(int n) { failing_syncs_ = n; }
  // Stops injecting faults.
  void Heal() { healed_ = true; }

  int faults() const { return faults_; }

  absl::StatusOr<std::vector<OpResult>> Multi(std::vector<Op> ops) override {
    ApplyHeld();
    if (healed_ || (select_ && !select_(ops)) || ++selected_ % every_ != 0) {
      return to_.Multi(std::move(ops));
    }
    ++faults_;
    switch (fault_) {
      case Fault::kApplyThenLose:
        to_.Multi(std::move(ops)).IgnoreError();
        break;
      case Fault::kDropAndLose:
        break;
      case Fault::kApplyLate: {
        MutexLock lock(&mu_);
        if (held_) {  // one late write at a time
          --faults_;
          return to_.Multi(std::move(ops));
        }
        held_ = std::move(ops);
        break;
      }
    }
    if (hook_) hook_();
    return MakeError(Error::kConnectionLoss, "lost with the leader (test)");
  }

  absl::Status Sync(std::string_view path) override {
    if (failing_syncs_ > 0 && failing_syncs_-- > 0) {
      return MakeError(Error::kSystemError, "the settle cannot finish (test)");
    }
    return to_.Sync(path);
  }

 private:
  // Applies the held write, if any: it arrives after its sender settled.
  void ApplyHeld() {
    std::optional<std::vector<Op>> held;
    {
      MutexLock lock(&mu_);
      held.swap(held_);
    }
    if (held) to_.Multi(*std::move(held)).IgnoreError();
  }

  const Fault fault_;
  const int every_;
  const std::function<bool(const std::vector<Op>&)> select_;
  std::function<void()> hook_;
  std::atomic<int> selected_{0};
  std::atomic<int> faults_{0};
  std::atomic<int> failing_syncs_{0};
  std::atomic<bool> healed_{false};
  Mutex mu_;
  std::optional<std::vector<Op>> held_ ABSL_GUARDED_BY(mu_);
};

// Counts the Multis whose outcome came back unknown (the faults a recipe
// had to settle): ConnectionLoss or OperationTimeout, and SessionExpired
// (a request of a session that expired).
class CountsLosses : public ForwardingCoordinator {
 public:
  using ForwardingCoordinator::ForwardingCoordinator;
  absl::StatusOr<std::vector<OpResult>> Multi(std::vector<Op> ops) override {
    absl::StatusOr<std::vector<OpResult>> r = to_.Multi(std::move(ops));
    const Error e = ErrorOf(r.status());
    if (e == Error::kConnectionLoss || e == Error::kOperationTimeout) {
      ++lost;
    } else if (e == Error::kSessionExpired) {
      ++expired;
    }
    return r;
  }
  std::atomic<int> lost{0};
  std::atomic<int> expired{0};
};

}  // namespace synod::testing

#endif  // SYNOD_TEST_UTIL_LOSSY_COORDINATOR_H_
