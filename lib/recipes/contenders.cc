// Contenders (recipes/contenders.h): protected sequential nodes, their
// order, and deletes that outlast a leader change.

#include "recipes/contenders.h"

#include <algorithm>
#include <optional>
#include <random>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace synod::recipes::internal {
namespace {

constexpr size_t kSequenceDigits = 10;

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

absl::StatusOr<std::vector<std::string>> SortedContenders(
    Coordinator& coordinator, const std::string& parent) {
  absl::StatusOr<std::vector<std::string>> children =
      coordinator.GetChildren(parent);
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

bool Retryable(const absl::Status& status) {
  const Error e = ErrorOf(status);
  return e == Error::kConnectionLoss || e == Error::kOperationTimeout;
}

}  // namespace synod::recipes::internal
