// Semaphore (synod/recipes/semaphore.h): leases held while among the first
// `permits` in sequence order, acquirers taking turns through a Lock so that
// only the turn's owner waits on the leases.
//
// Why not "each waiter watches its predecessor", as the Lock does: with
// more than one permit, a waiter's place changes whenever ANY lease before
// it goes, not only its predecessor. With permits 2 and leases a b c d, the
// waiter d watching c is not woken when a goes, though it now holds; and
// watching every lease before it would wake every waiter on each release
// (the herd). With one waiter at a time (the turn's owner) one child watch
// of the leases wakes exactly the one that may take the freed permit.
//
// Why the permits can never be overshot, even by a turn's owner whose
// session expires mid-acquire (its Lock node gone, another acquirer given
// the turn while its own lease create is retried on the new session): a
// lease holds only while it is among the first `permits` leases in
// sequence order, and a lease never moves back (later creates get greater
// sequence numbers). Every lease that ever judged itself held is still
// within the first `permits`, so at most `permits` hold. The turn gives
// fairness and quiet wake-ups, not safety.

#include "synod/recipes/semaphore.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "recipes/contenders.h"
#include "synod/recipes/lock.h"

namespace synod::recipes {
namespace {

// How long a release keeps trying to delete a node through a lost
// connection.
constexpr absl::Duration kReleaseTimeout = absl::Seconds(30);

}  // namespace

struct Semaphore::State {
  State(Coordinator& c, std::string p, int n)
      : coordinator(c),
        path(std::move(p)),
        leases(absl::StrCat(path, "/leases")),
        permits(n),
        turn(c, absl::StrCat(path, "/locks")) {}

  // Queues one lease and waits (the turn held) until it is among the first
  // `permits`, at most until `deadline`; returns its node.
  absl::StatusOr<std::string> TakeLease(absl::Time deadline);

  Coordinator& coordinator;
  const std::string path;
  const std::string leases;
  const int permits;
  Lock turn;
};

absl::StatusOr<std::string> Semaphore::State::TakeLease(absl::Time deadline) {
  absl::StatusOr<std::string> node = internal::CreateContender(
      coordinator, leases, internal::NewProtectedPrefix(), "lease-", "",
      deadline);
  if (!node.ok()) return node.status();
  const std::string name = node->substr(node->rfind('/') + 1);
  auto give_up = [&](absl::Status why) {
    internal::DeleteContender(coordinator, *node,
                              absl::Now() + kReleaseTimeout)
        .IgnoreError();
    return why;
  };
  // Reads the leases without a watch first, and with one only when it must
  // wait: a watch left behind would fire, for nothing, on the next change.
  bool watch = false;
  while (true) {
    std::shared_ptr<internal::Signal> changed;
    Watcher watcher;
    if (watch) {
      changed = std::make_shared<internal::Signal>();
      watcher = [changed](const WatchEvent&) { changed->Notify(); };
    }
    // Our create applied here before it returned, and every lease before
    // ours did too: the local replica is enough.
    absl::StatusOr<std::vector<std::string>> queue =
        internal::SortedContenders(coordinator, leases, std::move(watcher));
    if (!queue.ok()) return give_up(queue.status());
    size_t index = 0;
    while (index < queue->size() && (*queue)[index] != name) ++index;
    if (index == queue->size()) {
      return MakeError(Error::kSessionExpired,
                       absl::StrCat("the lease ", *node,
                                    " is gone: its session ended"));
    }
    if (index < static_cast<size_t>(permits)) return node;
    if (!watch) {
      watch = true;
      continue;
    }
    // Any lease that goes moves ours forward; so does our own going (a
    // session expiry), which the next read reports.
    if (!changed->WaitUntil(deadline)) {
      return give_up(absl::DeadlineExceededError(absl::StrCat(
          "no permit of the semaphore ", path, " came free in time")));
    }
    watch = false;
  }
}

Semaphore::Lease::Lease(Coordinator* coordinator, std::string node)
    : coordinator_(coordinator), node_(std::move(node)) {}

Semaphore::Lease::~Lease() {
  if (!node_.empty()) Release().IgnoreError();
}

Semaphore::Lease::Lease(Lease&& other) noexcept
    : coordinator_(other.coordinator_), node_(std::move(other.node_)) {
  other.node_.clear();
}

Semaphore::Lease& Semaphore::Lease::operator=(Lease&& other) noexcept {
  if (this == &other) return *this;
  if (!node_.empty()) Release().IgnoreError();
  coordinator_ = other.coordinator_;
  node_ = std::move(other.node_);
  other.node_.clear();
  return *this;
}

absl::Status Semaphore::Lease::Release() {
  if (node_.empty()) {
    return absl::FailedPreconditionError("the lease holds nothing");
  }
  const std::string node = std::move(node_);
  node_.clear();
  return internal::DeleteContender(*coordinator_, node,
                                   absl::Now() + kReleaseTimeout);
}

bool Semaphore::Lease::IsHeld() const {
  if (node_.empty() || !coordinator_->SessionLeaseValid()) return false;
  absl::StatusOr<std::optional<Stat>> stat = coordinator_->Exists(node_);
  return stat.ok() && stat->has_value() &&
         (*stat)->ephemeral_owner == coordinator_->session_id();
}

Semaphore::Semaphore(Coordinator& coordinator, std::string path, int permits)
    : state_(std::make_unique<State>(coordinator, std::move(path), permits)) {}

Semaphore::~Semaphore() = default;

absl::StatusOr<Semaphore::Lease> Semaphore::Acquire(absl::Duration timeout) {
  absl::StatusOr<std::vector<Lease>> leases = Acquire(1, timeout);
  if (!leases.ok()) return leases.status();
  return std::move(leases->front());
}

absl::StatusOr<std::vector<Semaphore::Lease>> Semaphore::Acquire(
    int n, absl::Duration timeout) {
  State& s = *state_;
  if (s.permits < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the semaphore ", s.path, " has ", s.permits, " permits (< 1)"));
  }
  if (n < 1 || n > s.permits) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot acquire ", n, " of the ", s.permits,
                     " permits of the semaphore ", s.path));
  }
  const absl::Time deadline = absl::Now() + timeout;
  const absl::Status turn = s.turn.Acquire(timeout);
  if (!turn.ok()) {
    if (turn.code() == absl::StatusCode::kDeadlineExceeded) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no permit of the semaphore ", s.path, " came free in time"));
    }
    return turn;
  }
  std::vector<Lease> leases;
  leases.reserve(n);
  absl::Status failed;
  for (int i = 0; i < n && failed.ok(); ++i) {
    absl::StatusOr<std::string> node = s.TakeLease(deadline);
    if (node.ok()) {
      leases.push_back(Lease(&s.coordinator, *std::move(node)));
    } else {
      failed = node.status();
    }
  }
  if (!failed.ok()) leases.clear();  // all or none: release those taken
  // A turn that cannot be released now goes with the session.
  s.turn.Release().IgnoreError();
  if (!failed.ok()) return failed;
  return leases;
}

}  // namespace synod::recipes
