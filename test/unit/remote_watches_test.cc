// RemoteWatches: what a remote client sets again when it resumes its
// session elsewhere follows ZooKeeper's client (its watches until their
// events fire or they are removed, persistent ones until removed) and the
// largest zxid its replies carried.

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "tools/remote_watches.h"

namespace synod::tools {
namespace {

using Kind = RemoteWatches::Kind;

std::vector<std::string> Paths(
    const google::protobuf::RepeatedPtrField<std::string>& paths) {
  return {paths.begin(), paths.end()};
}

TEST_CASE("RemoteWatches: one-shot watches go with the events that fire "
          "them, persistent ones stay, and the request carries the largest "
          "zxid seen",
          "[tools][remote_watches]") {
  RemoteWatches w;
  CHECK(w.empty());
  w.Saw(7);
  w.Saw(0);  // a reply without one
  w.Saw(5);
  CHECK(w.zxid() == 7);

  w.Set(Kind::kData, "/d");
  w.Set(Kind::kExist, "/e");
  w.Set(Kind::kChild, "/c");
  w.Set(Kind::kChild, "/d");
  w.Set(Kind::kPersistent, "/p");
  w.Set(Kind::kPersistentRecursive, "/q");
  CHECK_FALSE(w.empty());

  // A persistent watch's events fire no one-shot watch elsewhere; a
  // change of /p fires /p's persistent watch only.
  w.Fired(EventType::kDataChanged, "/p");
  CHECK(w.Holds(Kind::kPersistent, "/p"));
  // A creation fires the exist watch; a data change the data watch, not
  // the child watch on the same node.
  w.Fired(EventType::kCreated, "/e");
  CHECK_FALSE(w.Holds(Kind::kExist, "/e"));
  w.Fired(EventType::kDataChanged, "/d");
  CHECK_FALSE(w.Holds(Kind::kData, "/d"));
  CHECK(w.Holds(Kind::kChild, "/d"));
  // A deletion fires the child watch too; removal and session events fire
  // nothing.
  w.Fired(EventType::kDataWatchRemoved, "/d");
  w.Fired(EventType::kSession, "/d");
  CHECK(w.Holds(Kind::kChild, "/d"));
  w.Fired(EventType::kDeleted, "/d");
  CHECK_FALSE(w.Holds(Kind::kChild, "/d"));

  const std::vector<transport::SetWatchesRequest> sets = w.ToRequests();
  REQUIRE(sets.size() == 1);
  const transport::SetWatchesRequest& set = sets[0];
  CHECK(set.relative_zxid() == 7);
  CHECK(set.data().empty());
  CHECK(set.exist().empty());
  CHECK(Paths(set.child()) == std::vector<std::string>{"/c"});
  CHECK(Paths(set.persistent()) == std::vector<std::string>{"/p"});
  CHECK(Paths(set.persistent_recursive()) == std::vector<std::string>{"/q"});

  // Removed as RemoveWatches removes them: data takes exist watches too,
  // any takes all.
  w.Set(Kind::kData, "/x");
  w.Set(Kind::kExist, "/y");
  CHECK(w.Holds(WatcherType::kData, "/y"));
  CHECK(w.Holds(WatcherType::kAny, "/y"));
  CHECK_FALSE(w.Holds(WatcherType::kChildren, "/y"));
  CHECK(w.Holds(WatcherType::kPersistentRecursive, "/q"));
  CHECK_FALSE(w.Holds(WatcherType::kPersistent, "/q"));
  w.Removed(WatcherType::kData, "/x");
  w.Removed(WatcherType::kData, "/y");
  CHECK_FALSE(w.Holds(Kind::kData, "/x"));
  CHECK_FALSE(w.Holds(Kind::kExist, "/y"));
  w.Removed(WatcherType::kPersistent, "/q");  // not /q's kind
  CHECK(w.Holds(Kind::kPersistentRecursive, "/q"));
  w.Removed(WatcherType::kChildren, "/c");
  w.Removed(WatcherType::kAny, "/q");
  w.Removed(WatcherType::kPersistent, "/p");
  CHECK(w.empty());

  w.Set(Kind::kData, "/z");
  w.Clear();
  CHECK(w.empty());
  CHECK(w.zxid() == 0);
}

TEST_CASE("RemoteWatches: many watches go in several requests of bounded "
          "size, each with the zxid, every path once",
          "[tools][remote_watches]") {
  RemoteWatches w;
  CHECK(w.ToRequests().empty());
  w.Saw(42);
  std::vector<std::string> want;
  for (int i = 0; i < 100; ++i) {
    const std::string path = "/node-" + std::to_string(1000 + i);  // 10 B
    w.Set(i % 2 == 0 ? Kind::kData : Kind::kPersistent, path);
    want.push_back(path);
  }
  const std::vector<transport::SetWatchesRequest> sets = w.ToRequests(95);
  CHECK(sets.size() == 12);  // nine paths (90 B) a request
  std::vector<std::string> got;
  for (const transport::SetWatchesRequest& set : sets) {
    CHECK(set.relative_zxid() == 42);
    size_t bytes = 0;
    for (const auto* paths : {&set.data(), &set.persistent()}) {
      for (const std::string& path : *paths) {
        bytes += path.size();
        got.push_back(path);
      }
    }
    CHECK(bytes <= 95);
    CHECK(set.exist().empty());
  }
  std::sort(got.begin(), got.end());
  CHECK(got == want);
  // A path longer than the limit still goes, alone.
  RemoteWatches one;
  one.Set(Kind::kChild, "/a-long-path");
  const std::vector<transport::SetWatchesRequest> alone = one.ToRequests(4);
  REQUIRE(alone.size() == 1);
  CHECK(Paths(alone[0].child()) == std::vector<std::string>{"/a-long-path"});
}

}  // namespace
}  // namespace synod::tools
