// Contenders (recipes/contenders.h): protected sequential nodes, their
// order, and deletes that outlast a leader change.

#include "recipes/contenders.h"

#include <algorithm>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace synod::recipes::internal {
namespace {

constexpr size_t kSequenceDigits = 10;
constexpr std::string_view kProtectedMark = "_c_";
constexpr size_t kProtectedLength = 3 + 32;  // "_c_" and 32 hex digits

// Waits (up to `deadline`) for a session with a serving leader, then a
// moment more, so that a retry loop never spins.
void AwaitLeader(Coordinator& coordinator, absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return;
  coordinator.WaitConnected(std::min(left, absl::Seconds(1))).IgnoreError();
  absl::SleepFor(std::min(left, absl::Milliseconds(20)));
}

absl::Status Late(const std::string& what) {
  return absl::DeadlineExceededError(
      absl::StrCat("the deadline passed before ", what));
}

}  // namespace

std::string NewProtectedPrefix() {
  std::random_device random;
  std::string prefix = "_c_";
  for (int i = 0; i < 4; ++i) {
    absl::StrAppend(&prefix, absl::Hex(random(), absl::kZeroPad8));
  }
  return prefix;
}

int64_t SequenceOf(std::string_view name) {
  if (name.size() < kSequenceDigits) return -1;
  const std::string_view digits = name.substr(name.size() - kSequenceDigits);
  int64_t n = 0;
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return -1;
    n = n * 10 + (c - '0');
  }
  return n;
}

std::string_view KindOf(std::string_view name) {
  if (SequenceOf(name) >= 0) name.remove_suffix(kSequenceDigits);
  if (name.size() >= kProtectedLength &&
      name.substr(0, kProtectedMark.size()) == kProtectedMark) {
    name.remove_prefix(kProtectedLength);
  }
  return name;
}

absl::StatusOr<std::vector<std::string>> SortedContenders(
    Coordinator& coordinator, const std::string& parent, Watcher watcher) {
  absl::StatusOr<std::vector<std::string>> children =
      coordinator.GetChildren(parent, std::move(watcher));
  if (!children.ok()) return children.status();
  std::vector<std::pair<int64_t, std::string>> keyed;
  keyed.reserve(children->size());
  for (std::string& name : *children) {
    const int64_t sequence = SequenceOf(name);
    if (sequence >= 0) keyed.emplace_back(sequence, std::move(name));
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::string> out;
  out.reserve(keyed.size());
  for (auto& [sequence, name] : keyed) out.push_back(std::move(name));
  return out;
}

absl::Status EnsureParents(Coordinator& coordinator, const std::string& parent,
                           absl::Time deadline) {
  // Each ancestor from the top; existing ones are skipped.
  for (size_t slash = parent.find('/', 1);;
       slash = parent.find('/', slash + 1)) {
    const std::string path =
        slash == std::string::npos ? parent : parent.substr(0, slash);
    while (true) {
      absl::StatusOr<std::optional<Stat>> exists = coordinator.Exists(path);
      if (exists.ok() && exists->has_value()) break;
      absl::Status s =
          coordinator.Create(path, "", CreateMode::kContainer).status();
      if (s.ok() || ErrorOf(s) == Error::kNodeExists) break;
      if (!Retryable(s)) return s;
      if (absl::Now() >= deadline) return Late(absl::StrCat("creating ", path));
      AwaitLeader(coordinator, deadline);
    }
    if (slash == std::string::npos) return absl::OkStatus();
  }
}

absl::StatusOr<std::string> CreateContender(Coordinator& coordinator,
                                            const std::string& parent,
                                            const std::string& prefix,
                                            const std::string& name,
                                            const std::string& data,
                                            absl::Time deadline) {
  const std::string path = absl::StrCat(parent, "/", prefix, name);
  absl::Status s = EnsureParents(coordinator, parent, deadline);
  if (!s.ok()) return s;
  while (true) {
    absl::StatusOr<std::string> created =
        coordinator.Create(path, data, CreateMode::kEphemeralSequential);
    if (created.ok()) return created;
    if (ErrorOf(created.status()) == Error::kNoNode) {
      // The parent container went with its last child: make it again.
      s = EnsureParents(coordinator, parent, deadline);
      if (!s.ok()) return s;
      continue;
    }
    if (!Retryable(created.status())) return created.status();
    // The create may have applied. Once this peer has everything committed
    // (Sync), the children say whether it did.
    while (true) {
      if (absl::Now() >= deadline) return Late(absl::StrCat("creating ", path));
      AwaitLeader(coordinator, deadline);
      const absl::Status synced = coordinator.Sync(parent);
      if (!synced.ok()) {
        if (!Retryable(synced)) return synced;
        continue;
      }
      absl::StatusOr<std::vector<std::string>> children =
          coordinator.GetChildren(parent);
      if (!children.ok() && !Retryable(children.status()) &&
          ErrorOf(children.status()) != Error::kNoNode) {
        return children.status();
      }
      if (children.ok()) {
        for (const std::string& child : *children) {
          if (absl::StartsWith(child, prefix)) {
            return absl::StrCat(parent, "/", child);
          }
        }
      }
      break;  // it did not apply: create again
    }
  }
}

absl::Status DeleteContender(Coordinator& coordinator, const std::string& path,
                             absl::Time deadline) {
  while (true) {
    const absl::Status s = coordinator.Delete(path);
    if (s.ok() || ErrorOf(s) == Error::kNoNode) return absl::OkStatus();
    if (!Retryable(s)) return s;
    if (absl::Now() >= deadline) return Late(absl::StrCat("deleting ", path));
    AwaitLeader(coordinator, deadline);
  }
}

// What the session listener shares with the waits: it may run after the
// alarm is gone (RemoveSessionListener does not wait for a delivery).
struct SessionAlarm::Shared {
  // Counts the end and wakes every wait in progress.
  void End(bool by_close) {
    std::vector<std::shared_ptr<Signal>> wake;
    {
      MutexLock lock(&mu);
      ++ends;
      closed = closed || by_close;
      wake = waiting;
    }
    for (const std::shared_ptr<Signal>& signal : wake) signal->Notify();
  }

  Mutex mu;
  int64_t ends ABSL_GUARDED_BY(mu) = 0;
  bool closed ABSL_GUARDED_BY(mu) = false;
  std::vector<std::shared_ptr<Signal>> waiting ABSL_GUARDED_BY(mu);
};

SessionAlarm::SessionAlarm(Coordinator& coordinator)
    : coordinator_(coordinator), shared_(std::make_shared<Shared>()) {
  handle_ = coordinator_.AddSessionListener(
      [weak = std::weak_ptr<Shared>(shared_)](const WatchEvent& event) {
        if (event.state != SessionState::kExpired &&
            event.state != SessionState::kClosed) {
          return;
        }
        if (auto shared = weak.lock()) {
          shared->End(event.state == SessionState::kClosed);
        }
      });
}

SessionAlarm::~SessionAlarm() { coordinator_.RemoveSessionListener(handle_); }

int64_t SessionAlarm::ends() const {
  MutexLock lock(&shared_->mu);
  return shared_->ends;
}

absl::Status SessionAlarm::Ended(const std::string& what) const {
  bool closed;
  {
    MutexLock lock(&shared_->mu);
    closed = shared_->closed;
  }
  return closed ? MakeError(Error::kClosing,
                            absl::StrCat(what, ": the Coordinator closed"))
                : MakeError(Error::kSessionExpired,
                            absl::StrCat(what, ": the session expired"));
}

SessionAlarm::Wake SessionAlarm::Wait(const std::shared_ptr<Signal>& signal,
                                      int64_t since, absl::Time deadline) {
  {
    MutexLock lock(&shared_->mu);
    if (shared_->ends != since) return Wake::kSessionEnded;
    shared_->waiting.push_back(signal);
  }
  const bool signalled = signal->WaitUntil(deadline);
  MutexLock lock(&shared_->mu);
  auto& waiting = shared_->waiting;
  waiting.erase(std::find(waiting.begin(), waiting.end(), signal));
  if (shared_->ends != since) return Wake::kSessionEnded;
  return signalled ? Wake::kSignalled : Wake::kTimedOut;
}

bool Retryable(const absl::Status& status) {
  const Error e = ErrorOf(status);
  return e == Error::kConnectionLoss || e == Error::kOperationTimeout;
}

}  // namespace synod::recipes::internal
