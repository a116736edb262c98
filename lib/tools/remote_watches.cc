#include "tools/remote_watches.h"

#include <algorithm>
#include <utility>

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

std::vector<transport::SetWatchesRequest> RemoteWatches::ToRequests(
    size_t max_path_bytes) const {
  std::vector<transport::SetWatchesRequest> requests;
  size_t bytes = 0;
  // The request the next path goes in: a new one when none is open or
  // the path would take the open one past the limit.
  auto next = [&](const std::string& path) {
    if (requests.empty() ||
        (bytes > 0 && bytes + path.size() > max_path_bytes)) {
      requests.emplace_back().set_relative_zxid(zxid_);
      bytes = 0;
    }
    bytes += path.size();
    return &requests.back();
  };
  using Request = transport::SetWatchesRequest;
  const std::pair<Kind, google::protobuf::RepeatedPtrField<std::string>* (
                            Request::*)()>
      fields[] = {
          {Kind::kData, &Request::mutable_data},
          {Kind::kExist, &Request::mutable_exist},
          {Kind::kChild, &Request::mutable_child},
          {Kind::kPersistent, &Request::mutable_persistent},
          {Kind::kPersistentRecursive, &Request::mutable_persistent_recursive},
      };
  for (const auto& [kind, field] : fields) {
    for (const std::string& path : paths_[static_cast<size_t>(kind)]) {
      (next(path)->*field)()->Add(std::string(path));
    }
  }
  return requests;
}

}  // namespace synod::tools
