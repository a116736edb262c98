// RemoteWatches: the watches a remote client's session holds, as the
// client knows them, and the last zxid it saw. When the client resumes its
// session on another peer (its stream lost), it sets them again there
// with that zxid (transport/client.proto's SetWatchesRequest), as a
// ZooKeeper client does with setWatches: the peer sets the watches still
// pending and sends the events the client missed meanwhile. Not
// thread-safe; pure.

#ifndef SYNOD_TOOLS_REMOTE_WATCHES_H_
#define SYNOD_TOOLS_REMOTE_WATCHES_H_

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "synod/watch.h"
#include "transport/client.pb.h"

namespace synod::tools {

class RemoteWatches {
 public:
  // The kinds a peer tells apart when it sets them again.
  enum class Kind {
    kData,                 // Get with a watch, or Exists of a node
    kExist,                // Exists of a missing node
    kChild,                // GetChildren with a watch
    kPersistent,           // AddWatch(kPersistent)
    kPersistentRecursive,  // AddWatch(kPersistentRecursive)
  };

  // A reply carried `zxid` (ClientReply.zxid; 0: none): every event of a
  // txn up to it came before it. Keeps the largest.
  void Saw(int64_t zxid);
  // A watch of `kind` on `path` was set (its read succeeded).
  void Set(Kind kind, const std::string& path);
  // Event `type` on `path` arrived: the one-shot watches it fires are
  // gone (a creation or change fires data and exist watches, a deletion
  // those and child watches, a children change child watches). Persistent
  // watches stay.
  void Fired(EventType type, const std::string& path);
  // Watches of `type` on `path` were removed (RemoveWatches succeeded).
  void Removed(WatcherType type, const std::string& path);
  // Forgets every watch and the zxid (the session ended).
  void Clear();

  bool empty() const;
  int64_t zxid() const { return zxid_; }
  // Whether a watch of `kind` on `path` is held.
  bool Holds(Kind kind, const std::string& path) const;
  // Whether Removed(type, path) would remove a watch.
  bool Holds(WatcherType type, const std::string& path) const;
  // The requests that set every held watch again, each with the zxid and
  // paths of at most `max_path_bytes` in all (but at least one path), as
  // ZooKeeper's client splits its setWatches; none if no watch is held.
  std::vector<transport::SetWatchesRequest> ToRequests(
      size_t max_path_bytes = kMaxPathBytes) const;

  // What ToRequests puts in one request by default: well under the client
  // service's message limit.
  static constexpr size_t kMaxPathBytes = size_t{128} << 10;

 private:
  std::set<std::string>& of(Kind kind) {
    return paths_[static_cast<size_t>(kind)];
  }

  int64_t zxid_ = 0;
  std::array<std::set<std::string>, 5> paths_;
};

}  // namespace synod::tools

#endif  // SYNOD_TOOLS_REMOTE_WATCHES_H_
