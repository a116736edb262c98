// ChildrenView (recipes/children_view.h): one-shot watches re-armed with
// each read, every read compared with what the listener heard last.

#include "recipes/children_view.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace synod::recipes::internal {

ChildrenView::ChildrenView(Coordinator& coordinator, std::string path,
                           Listener listener)
    : coordinator_(coordinator),
      path_(std::move(path)),
      listener_(std::move(listener)) {}

void ChildrenView::Start() {
  // A local read whose callback runs on the dispatcher: every Refresh runs
  // there, so the listener hears one change at a time, in order.
  coordinator_.ExistsAsync(
      path_, nullptr,
      [weak = weak_from_this()](absl::StatusOr<std::optional<Stat>>) {
        if (auto self = weak.lock()) self->Refresh();
      });
}

void ChildrenView::Stop() {
  MutexLock lock(&mu_);
  stopped_ = true;
  const std::thread::id me = std::this_thread::get_id();
  mu_.Await([this, me]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return running_ == 0 || runner_ == me;
  });
}

Watcher ChildrenView::Rearm(Kind kind, std::string child) {
  return [weak = weak_from_this(), kind,
          child = std::move(child)](const WatchEvent&) {
    auto self = weak.lock();
    if (!self) return;
    {
      MutexLock lock(&self->mu_);
      switch (kind) {
        case Kind::kChildren:
          self->children_armed_ = false;
          break;
        case Kind::kExists:
          self->exists_armed_ = false;
          break;
        case Kind::kData:
          self->data_armed_.erase(child);
          break;
      }
    }
    self->Refresh();
  };
}

void ChildrenView::Refresh() {
  {
    MutexLock lock(&mu_);
    if (stopped_) return;
    ++running_;
    runner_ = std::this_thread::get_id();
  }
  Children now;
  bool ok = false;
  bool again = false;
  // Runs on the dispatcher, like every watcher of ours: none fires while
  // it reads, so setting a flag before registering its watch is exact.
  for (int attempt = 0; attempt < 3; ++attempt) {
    Watcher children_watch;
    {
      MutexLock lock(&mu_);
      if (!children_armed_) {
        children_armed_ = true;
        children_watch = Rearm(Kind::kChildren, "");
      }
    }
    const bool armed_children = children_watch != nullptr;
    absl::StatusOr<std::vector<std::string>> names =
        coordinator_.GetChildren(path_, std::move(children_watch));
    if (names.ok()) {
      ok = true;
      for (std::string& name : *names) {
        Watcher data_watch;
        {
          MutexLock lock(&mu_);
          if (data_armed_.insert(name).second) {
            data_watch = Rearm(Kind::kData, name);
          }
        }
        const bool armed_data = data_watch != nullptr;
        absl::StatusOr<Node> node = coordinator_.Get(
            absl::StrCat(path_, "/", name), std::move(data_watch));
        if (node.ok()) {
          now.emplace(std::move(name), std::move(node->data));
          continue;
        }
        if (armed_data) {  // no watch was registered
          MutexLock lock(&mu_);
          data_armed_.erase(name);
        }
        // Gone since (its deletion fires the children watch), or an error:
        // then the next event reads again.
        if (ErrorOf(node.status()) != Error::kNoNode) ok = false;
      }
      break;
    }
    if (armed_children) {
      MutexLock lock(&mu_);
      children_armed_ = false;
    }
    if (ErrorOf(names.status()) != Error::kNoNode) break;
    // No node: no children, until it is created (an exists watch tells).
    Watcher exists_watch;
    {
      MutexLock lock(&mu_);
      if (!exists_armed_) {
        exists_armed_ = true;
        exists_watch = Rearm(Kind::kExists, "");
      }
    }
    const bool armed_exists = exists_watch != nullptr;
    absl::StatusOr<std::optional<Stat>> exists =
        coordinator_.Exists(path_, std::move(exists_watch));
    if (!exists.ok()) {
      if (armed_exists) {
        MutexLock lock(&mu_);
        exists_armed_ = false;
      }
      break;
    }
    if (!exists->has_value()) {
      ok = true;
      break;
    }
    again = attempt == 2;  // created meanwhile: read again
  }
  bool tell = false;
  {
    MutexLock lock(&mu_);
    if (ok && !stopped_ && (!told_ || now != last_)) {
      told_ = true;
      last_ = now;
      tell = true;
    }
  }
  if (tell && listener_) listener_(now);
  if (again) Start();  // still churning: once more, after what is queued
  MutexLock lock(&mu_);
  --running_;
}

absl::StatusOr<ChildrenView::Children> ReadChildren(Coordinator& coordinator,
                                                    const std::string& path) {
  ChildrenView::Children out;
  absl::StatusOr<std::vector<std::string>> names =
      coordinator.GetChildren(path);
  if (!names.ok()) {
    if (ErrorOf(names.status()) == Error::kNoNode) return out;
    return names.status();
  }
  for (std::string& name : *names) {
    absl::StatusOr<Node> node = coordinator.Get(absl::StrCat(path, "/", name));
    if (node.ok()) {
      out.emplace(std::move(name), std::move(node->data));
    } else if (ErrorOf(node.status()) != Error::kNoNode) {
      return node.status();
    }
  }
  return out;
}

}  // namespace synod::recipes::internal
