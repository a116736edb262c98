#include "tools/remote_watches.h"

#include <algorithm>

namespace synod::tools {

void RemoteWatches::Saw(int64_t zxid) { zxid_ = std::max(zxid_, zxid); }

void RemoteWatches::Set(Kind kind, const std::string& path) {
  of(kind).insert(path);
}

void RemoteWatches::Fired(EventType type, const std::string& path) {
  switch (type) {
    case EventType::kCreated:
    case EventType::kDataChanged:
      of(Kind::kData).erase(path);
      of(Kind::kExist).erase(path);
      break;
    case EventType::kDeleted:
      of(Kind::kData).erase(path);
      of(Kind::kExist).erase(path);
      of(Kind::kChild).erase(path);
      break;
    case EventType::kChildrenChanged:
      of(Kind::kChild).erase(path);
      break;
    default:
      break;  // session and removal events fire nothing
  }
}

void RemoteWatches::Removed(WatcherType type, const std::string& path) {
  switch (type) {
    case WatcherType::kChildren:
      of(Kind::kChild).erase(path);
      break;
    case WatcherType::kData:
      of(Kind::kData).erase(path);
      of(Kind::kExist).erase(path);
      break;
    case WatcherType::kPersistent:
      of(Kind::kPersistent).erase(path);
      break;
    case WatcherType::kPersistentRecursive:
      of(Kind::kPersistentRecursive).erase(path);
      break;
    case WatcherType::kAny:
      for (std::set<std::string>& paths : paths_) paths.erase(path);
      break;
  }
}

void RemoteWatches::Clear() {
  zxid_ = 0;
  for (std::set<std::string>& paths : paths_) paths.clear();
}

bool RemoteWatches::empty() const {
  return std::all_of(paths_.begin(), paths_.end(),
                     [](const std::set<std::string>& p) { return p.empty(); });
}

bool RemoteWatches::Holds(Kind kind, const std::string& path) const {
  return paths_[static_cast<size_t>(kind)].count(path) > 0;
}

bool RemoteWatches::Holds(WatcherType type, const std::string& path) const {
  switch (type) {
    case WatcherType::kChildren:
      return Holds(Kind::kChild, path);
    case WatcherType::kData:
      return Holds(Kind::kData, path) || Holds(Kind::kExist, path);
    case WatcherType::kPersistent:
      return Holds(Kind::kPersistent, path);
    case WatcherType::kPersistentRecursive:
      return Holds(Kind::kPersistentRecursive, path);
    case WatcherType::kAny:
      return std::any_of(
          paths_.begin(), paths_.end(),
          [&path](const std::set<std::string>& p) { return p.count(path) > 0; });
  }
  return false;
}

transport::SetWatchesRequest RemoteWatches::ToRequest() const {
  transport::SetWatchesRequest request;
  request.set_relative_zxid(zxid_);
  auto add = [this](Kind kind, auto* out) {
    for (const std::string& path : paths_[static_cast<size_t>(kind)]) {
      out->Add(std::string(path));
    }
  };
  add(Kind::kData, request.mutable_data());
  add(Kind::kExist, request.mutable_exist());
  add(Kind::kChild, request.mutable_child());
  add(Kind::kPersistent, request.mutable_persistent());
  add(Kind::kPersistentRecursive, request.mutable_persistent_recursive());
  return request;
}

}  // namespace synod::tools
