// Registrations (recipes/registrations.h): a keeper thread reconciles each
// registered path with the node in the local replica, on events.

#include "recipes/registrations.h"

#include <map>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "recipes/contenders.h"
#include "recipes/waits.h"
#include "util/mutex.h"

namespace synod::recipes::internal {
namespace {

// How often the keeper looks at every registration when nothing happens
// (a safety net: events drive it).
constexpr absl::Duration kSafetyNet = absl::Seconds(10);
// How long the destructor keeps trying to delete the nodes.
constexpr absl::Duration kStopTimeout = absl::Seconds(30);
// How long one attempt at creating missing parents may take.
constexpr absl::Duration kParentsTimeout = absl::Seconds(5);

std::string ParentOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "" : path.substr(0, slash);
}

}  // namespace

struct Registrations::Core : std::enable_shared_from_this<Core> {
  // What Add waits for: the first outcome of a registration.
  struct Start {
    bool done = false;
    absl::Status status;
  };
  struct Entry {
    uint64_t serial = 0;      // tells a re-added path from the one removed
    std::string data;         // what the node should hold
    uint64_t gen = 1;         // bumped by every SetData
    uint64_t applied = 0;     // the gen the node was last made to hold
    bool armed = false;       // a watch on the node is registered
    bool removing = false;
    std::shared_ptr<Start> start;  // until the first outcome
  };

  explicit Core(Coordinator& c) : coordinator(c) {}

  // The keeper thread's loop.
  void Run();
  // Brings the node of `path` one step closer to its entry. True if it
  // should be looked at again soon (a retry, after a pause).
  bool Reconcile(const std::string& path);
  // Ends a registration that failed to start with `status`.
  void FailStart(const std::string& path, uint64_t serial,
                 absl::Status status);
  // Marks `path` (its serial) as holding gen `gen`.
  void Applied(const std::string& path, uint64_t serial, uint64_t gen);
  // Drops the entry of `path` if it is still `serial`.
  void Erase(const std::string& path, uint64_t serial);
  void Wake() {
    MutexLock lock(&mu);
    dirty = true;
  }

  Coordinator& coordinator;
  Mutex mu;
  std::map<std::string, Entry> entries ABSL_GUARDED_BY(mu);
  std::set<int64_t> sessions ABSL_GUARDED_BY(mu);  // ours, ever seen
  bool dirty ABSL_GUARDED_BY(mu) = false;
  bool stopping ABSL_GUARDED_BY(mu) = false;
  uint64_t next_serial ABSL_GUARDED_BY(mu) = 1;
  int64_t session_listener = 0;  // set before the thread starts
  std::thread keeper;
};

void Registrations::Core::Run() {
  absl::Time stop_by = absl::InfiniteFuture();
  while (true) {
    std::vector<std::string> paths;
    {
      MutexLock lock(&mu);
      mu.AwaitWithTimeout(
          [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
            return dirty || stopping;
          },
          kSafetyNet);
      if (stopping) {
        if (stop_by == absl::InfiniteFuture()) {
          stop_by = absl::Now() + kStopTimeout;
        }
        if (entries.empty() || absl::Now() >= stop_by) return;
      }
      dirty = false;
      paths.reserve(entries.size());
      for (const auto& [path, entry] : entries) paths.push_back(path);
    }
    bool again = false;
    for (const std::string& path : paths) again = Reconcile(path) || again;
    if (again) Wake();
  }
}

void Registrations::Core::FailStart(const std::string& path, uint64_t serial,
                                    absl::Status status) {
  MutexLock lock(&mu);
  auto it = entries.find(path);
  if (it == entries.end() || it->second.serial != serial) return;
  if (it->second.start) {
    it->second.start->done = true;
    it->second.start->status = std::move(status);
    entries.erase(it);  // nothing kept
  }
  // Once started, a registration keeps trying (the next event, or the
  // safety net, looks again).
}

void Registrations::Core::Applied(const std::string& path, uint64_t serial,
                                  uint64_t gen) {
  MutexLock lock(&mu);
  auto it = entries.find(path);
  if (it == entries.end() || it->second.serial != serial) return;
  it->second.applied = std::max(it->second.applied, gen);
  if (it->second.start) {
    it->second.start->done = true;
    it->second.start.reset();
  }
}

void Registrations::Core::Erase(const std::string& path, uint64_t serial) {
  MutexLock lock(&mu);
  auto it = entries.find(path);
  if (it != entries.end() && it->second.serial == serial) entries.erase(it);
}

bool Registrations::Core::Reconcile(const std::string& path) {
  const int64_t session = coordinator.session_id();
  Entry want;
  Watcher watcher;
  {
    MutexLock lock(&mu);
    auto it = entries.find(path);
    if (it == entries.end()) return false;
    if (session != 0) sessions.insert(session);
    if (!it->second.armed) {
      // One watch at a time; it clears `armed` when it fires (watches
      // outlive a session expiry: never registered twice).
      it->second.armed = true;
      watcher = [weak = weak_from_this(), path,
                 serial = it->second.serial](const WatchEvent&) {
        auto self = weak.lock();
        if (!self) return;
        MutexLock lock(&self->mu);
        auto e = self->entries.find(path);
        if (e != self->entries.end() && e->second.serial == serial) {
          e->second.armed = false;
        }
        self->dirty = true;
      };
    }
    want.serial = it->second.serial;
    want.data = it->second.data;
    want.gen = it->second.gen;
    want.applied = it->second.applied;
    want.removing = it->second.removing;
    want.start = it->second.start;
  }
  const bool armed_now = watcher != nullptr;
  absl::StatusOr<std::optional<Stat>> stat =
      coordinator.Exists(path, std::move(watcher));
  if (!stat.ok()) {
    if (armed_now) {
      MutexLock lock(&mu);
      auto it = entries.find(path);
      if (it != entries.end() && it->second.serial == want.serial) {
        it->second.armed = false;
      }
    }
    if (Retryable(stat.status())) {
      Pause(coordinator, absl::Now() + absl::Seconds(1));
      return true;
    }
    if (want.removing) Erase(path, want.serial);
    else FailStart(path, want.serial, stat.status());
    return false;
  }
  const bool exists = stat->has_value();
  const int64_t owner = exists ? (*stat)->ephemeral_owner : 0;
  const bool ours = exists && session != 0 && owner == session;
  bool ours_before = false;
  if (exists && !ours) {
    MutexLock lock(&mu);
    ours_before = sessions.count(owner) > 0;
  }

  auto settle = [&](const absl::Status& s) {
    // A write whose outcome is unknown: catch up with the leader so that
    // the next look at the node tells.
    if (Retryable(s)) {
      Pause(coordinator, absl::Now() + absl::Seconds(1));
      coordinator.Sync(path).IgnoreError();
      return true;
    }
    return false;
  };

  if (want.removing) {
    if (!ours) {  // gone, or not ours to delete
      Erase(path, want.serial);
      return false;
    }
    const absl::Status deleted = coordinator.Delete(path, (*stat)->version);
    const Error e = ErrorOf(deleted);
    if (deleted.ok() || e == Error::kNoNode) {
      Erase(path, want.serial);
      return false;
    }
    if (e == Error::kBadVersion) return true;
    if (settle(deleted)) return true;
    Erase(path, want.serial);  // it goes with the session
    return false;
  }

  if (!exists) {
    absl::Status created =
        coordinator.Create(path, want.data, CreateMode::kEphemeral).status();
    const Error e = ErrorOf(created);
    if (created.ok()) {
      Applied(path, want.serial, want.gen);
      return false;
    }
    if (e == Error::kNodeExists) return true;  // look at whose it is
    if (e == Error::kNoNode) {
      const std::string parent = ParentOf(path);
      absl::Status parents =
          parent.empty()
              ? created
              : EnsureParents(coordinator, parent,
                              absl::Now() + kParentsTimeout);
      if (!parents.ok() && !Retryable(parents) &&
          ErrorOf(parents) != Error::kOperationTimeout &&
          parents.code() != absl::StatusCode::kDeadlineExceeded) {
        FailStart(path, want.serial, parents);
        return false;
      }
      return true;
    }
    if (settle(created)) return true;
    if (e == Error::kSessionExpired || e == Error::kClosing) {
      // Sent on a session that ended: the session listener wakes the
      // keeper once a new one exists.
      return false;
    }
    FailStart(path, want.serial, created);
    return false;
  }

  if (ours) {
    if (want.applied >= want.gen) {
      Applied(path, want.serial, want.gen);  // (settles a start)
      return false;
    }
    // Created unseen by us (a settled create), or SetData since.
    const absl::Status set =
        coordinator.Set(path, want.data, (*stat)->version).status();
    const Error e = ErrorOf(set);
    if (set.ok()) {
      Applied(path, want.serial, want.gen);
      return false;
    }
    if (e == Error::kBadVersion || e == Error::kNoNode) return true;
    if (settle(set)) return true;
    if (e == Error::kSessionExpired || e == Error::kClosing) return false;
    FailStart(path, want.serial, set);
    return false;
  }

  if (ours_before) {
    // Left by a session of ours that expired: the ensemble deletes it; the
    // armed watch fires then and we create it again.
    return false;
  }
  // Another live session's node.
  FailStart(path, want.serial,
            MakeError(Error::kNodeExists,
                      absl::StrCat(path, " is registered by another session (",
                                   owner, ")")));
  return false;
}

Registrations::Registrations(Coordinator& coordinator)
    : core_(std::make_shared<Core>(coordinator)) {
  core_->session_listener = coordinator.AddSessionListener(
      [weak = std::weak_ptr<Core>(core_)](const WatchEvent&) {
        if (auto self = weak.lock()) self->Wake();
      });
  core_->keeper = std::thread([core = core_.get()] { core->Run(); });
}

Registrations::~Registrations() {
  {
    MutexLock lock(&core_->mu);
    core_->stopping = true;
    for (auto& [path, entry] : core_->entries) {
      entry.removing = true;
      if (entry.start) {
        entry.start->done = true;
        entry.start->status = absl::CancelledError("registrations closed");
        entry.start.reset();
      }
    }
  }
  core_->keeper.join();
  core_->coordinator.RemoveSessionListener(core_->session_listener);
}

absl::Status Registrations::Add(const std::string& path, std::string data,
                                absl::Duration timeout) {
  Core& c = *core_;
  auto start = std::make_shared<Core::Start>();
  MutexLock lock(&c.mu);
  if (c.entries.count(path) > 0) {
    return MakeError(Error::kNodeExists,
                     absl::StrCat(path, " is registered here already"));
  }
  Core::Entry& entry = c.entries[path];
  entry.serial = c.next_serial++;
  entry.data = std::move(data);
  entry.start = start;
  c.dirty = true;
  if (!c.mu.AwaitWithTimeout(
          [&start]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(c.mu) {
            return start->done;
          },
          timeout)) {
    // Keep trying in the background, as a registration that started.
    auto it = c.entries.find(path);
    if (it != c.entries.end() && it->second.start == start) {
      it->second.start.reset();
    }
    return absl::DeadlineExceededError(absl::StrCat(
        path, " is not registered yet (still trying: ", path, ")"));
  }
  return start->status;
}

absl::Status Registrations::SetData(const std::string& path, std::string data,
                                    absl::Duration timeout) {
  Core& c = *core_;
  MutexLock lock(&c.mu);
  auto it = c.entries.find(path);
  if (it == c.entries.end() || it->second.removing) {
    return MakeError(Error::kNoNode, absl::StrCat(path, " is not registered"));
  }
  const uint64_t serial = it->second.serial;
  const uint64_t gen = ++it->second.gen;
  it->second.data = std::move(data);
  c.dirty = true;
  auto applied = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(c.mu) {
    auto e = c.entries.find(path);
    return e == c.entries.end() || e->second.serial != serial ||
           e->second.applied >= gen;
  };
  if (!c.mu.AwaitWithTimeout(applied, timeout)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "the new data of ", path, " is not written yet (kept)"));
  }
  auto e = c.entries.find(path);
  if (e == c.entries.end() || e->second.serial != serial) {
    return MakeError(Error::kNoNode,
                     absl::StrCat(path, " was unregistered meanwhile"));
  }
  return absl::OkStatus();
}

absl::Status Registrations::Remove(const std::string& path,
                                   absl::Duration timeout) {
  Core& c = *core_;
  MutexLock lock(&c.mu);
  auto it = c.entries.find(path);
  if (it == c.entries.end()) return absl::OkStatus();
  const uint64_t serial = it->second.serial;
  it->second.removing = true;
  if (it->second.start) {
    it->second.start->done = true;
    it->second.start->status =
        absl::CancelledError(absl::StrCat(path, " was removed"));
    it->second.start.reset();
  }
  c.dirty = true;
  auto removed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(c.mu) {
    auto e = c.entries.find(path);
    return e == c.entries.end() || e->second.serial != serial;
  };
  if (!c.mu.AwaitWithTimeout(removed, timeout)) {
    return absl::DeadlineExceededError(
        absl::StrCat(path, " is not deleted yet (still trying)"));
  }
  return absl::OkStatus();
}

bool Registrations::Registered(const std::string& path) const {
  {
    MutexLock lock(&core_->mu);
    auto it = core_->entries.find(path);
    if (it == core_->entries.end() || it->second.removing) return false;
  }
  absl::StatusOr<std::optional<Stat>> stat = core_->coordinator.Exists(path);
  return stat.ok() && stat->has_value() &&
         (*stat)->ephemeral_owner == core_->coordinator.session_id();
}

}  // namespace synod::recipes::internal
