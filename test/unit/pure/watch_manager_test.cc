// Tests for lib/watch/watch_manager: which watches each event fires, in what
// order, one-shot versus persistent lifetimes, removal (by owner), and
// concurrent use.

#include "watch/watch_manager.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace synod {
namespace {

// A watcher that records its label into `log` when the test calls it; the
// manager itself never calls watchers.
Watcher Labeled(std::vector<std::string>* log, std::string label) {
  return [log, label](const WatchEvent&) { log->push_back(label); };
}

// Calls every delivered watcher and returns the labels they logged, in
// delivery order.
std::vector<std::string> Run(const std::vector<Delivery>& deliveries,
                             std::vector<std::string>* log) {
  log->clear();
  for (const Delivery& d : deliveries) (*d.watcher)(d.event);
  return *log;
}

using Labels = std::vector<std::string>;

// Registers one watch of every kind on `path`, labeled "<kind><path>".
void AddAllKinds(WatchManager& wm, std::vector<std::string>* log,
                 const std::string& path) {
  wm.AddDataWatch(path, Labeled(log, "data" + path));
  wm.AddChildWatch(path, Labeled(log, "child" + path));
  wm.AddPersistentWatch(path, WatchMode::kPersistent,
                        Labeled(log, "persistent" + path));
  wm.AddPersistentWatch(path, WatchMode::kPersistentRecursive,
                        Labeled(log, "recursive" + path));
}

TEST_CASE("Each event type fires the right kinds on its path", "[watch]") {
  WatchManager wm;
  std::vector<std::string> log;
  AddAllKinds(wm, &log, "/a");
  REQUIRE(wm.size() == 4);
  std::vector<Delivery> out;

  SECTION("kCreated") {
    wm.Trigger("/a", EventType::kCreated, &out);
    CHECK(Run(out, &log) == Labels{"data/a", "persistent/a", "recursive/a"});
    CHECK(wm.size() == 3);  // the child watch waits
  }
  SECTION("kDataChanged") {
    wm.Trigger("/a", EventType::kDataChanged, &out);
    CHECK(Run(out, &log) == Labels{"data/a", "persistent/a", "recursive/a"});
    CHECK(wm.size() == 3);
  }
  SECTION("kDeleted") {
    wm.Trigger("/a", EventType::kDeleted, &out);
    CHECK(Run(out, &log) ==
          Labels{"data/a", "child/a", "persistent/a", "recursive/a"});
    CHECK(wm.size() == 2);
  }
  SECTION("kChildrenChanged") {
    wm.Trigger("/a", EventType::kChildrenChanged, &out);
    CHECK(Run(out, &log) == Labels{"child/a", "persistent/a"});
    CHECK(wm.size() == 3);  // the data watch waits
  }
  for (const Delivery& d : out) {
    CHECK(d.event.path == "/a");
    CHECK(d.event.state == SessionState::kConnected);
  }
}

TEST_CASE("Every delivery carries the event type", "[watch]") {
  for (EventType type :
       {EventType::kCreated, EventType::kDeleted, EventType::kDataChanged,
        EventType::kChildrenChanged}) {
    WatchManager wm;
    std::vector<std::string> log;
    AddAllKinds(wm, &log, "/x");
    std::vector<Delivery> out;
    wm.Trigger("/x", type, &out);
    REQUIRE_FALSE(out.empty());
    for (const Delivery& d : out) CHECK(d.event.type == type);
  }
}

TEST_CASE("One-shot watches fire once, persistent ones stay", "[watch]") {
  WatchManager wm;
  std::vector<std::string> log;
  wm.AddDataWatch("/a", Labeled(&log, "data"));
  wm.AddChildWatch("/a", Labeled(&log, "child"));
  wm.AddPersistentWatch("/a", WatchMode::kPersistent, Labeled(&log, "p"));
  REQUIRE(wm.size() == 3);

  std::vector<Delivery> out;
  wm.Trigger("/a", EventType::kDataChanged, &out);
  CHECK(Run(out, &log) == Labels{"data", "p"});
  CHECK(wm.size() == 2);

  out.clear();
  wm.Trigger("/a", EventType::kDataChanged, &out);
  CHECK(Run(out, &log) == Labels{"p"});
  CHECK(wm.size() == 2);

  out.clear();
  wm.Trigger("/a", EventType::kChildrenChanged, &out);
  CHECK(Run(out, &log) == Labels{"child", "p"});
  CHECK(wm.size() == 1);

  out.clear();
  wm.Trigger("/a", EventType::kDeleted, &out);
  CHECK(Run(out, &log) == Labels{"p"});
  CHECK(wm.size() == 1);
}

TEST_CASE("Watches on other paths do not fire", "[watch]") {
  WatchManager wm;
  std::vector<std::string> log;
  wm.AddDataWatch("/a/b", Labeled(&log, "data"));
  wm.AddPersistentWatch("/a/b", WatchMode::kPersistent, Labeled(&log, "p"));
  wm.AddPersistentWatch("/a/b/c", WatchMode::kPersistentRecursive,
                        Labeled(&log, "below"));
  wm.AddPersistentWatch("/a/bc", WatchMode::kPersistentRecursive,
                        Labeled(&log, "sibling"));
  std::vector<Delivery> out;
  // A persistent (non-recursive) or one-shot watch on an ancestor, a
  // recursive watch below the path or on a sibling with a shared prefix.
  wm.Trigger("/a/b/x", EventType::kDataChanged, &out);
  wm.Trigger("/a", EventType::kCreated, &out);
  wm.Trigger("/a/b/cd", EventType::kDeleted, &out);
  CHECK(out.empty());
  CHECK(wm.size() == 4);
}

TEST_CASE("Recursive watches fire for descendants", "[watch]") {
  WatchManager wm;
  std::vector<std::string> log;
  wm.AddPersistentWatch("/", WatchMode::kPersistentRecursive,
                        Labeled(&log, "root"));
  wm.AddPersistentWatch("/a", WatchMode::kPersistentRecursive,
                        Labeled(&log, "a"));
  wm.AddPersistentWatch("/a/b", WatchMode::kPersistentRecursive,
                        Labeled(&log, "ab-1"));
  wm.AddPersistentWatch("/a/b", WatchMode::kPersistentRecursive,
                        Labeled(&log, "ab-2"));
  wm.AddPersistentWatch("/a/b/c", WatchMode::kPersistentRecursive,
                        Labeled(&log, "abc"));
  wm.AddPersistentWatch("/x", WatchMode::kPersistentRecursive,
                        Labeled(&log, "x"));
  REQUIRE(wm.size() == 6);
  std::vector<Delivery> out;

  SECTION("nearest ancestor first, with the descendant's path") {
    for (EventType type :
         {EventType::kCreated, EventType::kDataChanged, EventType::kDeleted}) {
      out.clear();
      wm.Trigger("/a/b/c/d", type, &out);
      CHECK(Run(out, &log) == Labels{"abc", "ab-1", "ab-2", "a", "root"});
      for (const Delivery& d : out) {
        CHECK(d.event.path == "/a/b/c/d");
        CHECK(d.event.type == type);
      }
    }
    CHECK(wm.size() == 6);
  }
  SECTION("on the watched path itself") {
    wm.Trigger("/a/b", EventType::kDataChanged, &out);
    CHECK(Run(out, &log) == Labels{"ab-1", "ab-2", "a", "root"});
  }
  SECTION("the root's recursive watch sees the root") {
    wm.Trigger("/", EventType::kDataChanged, &out);
    CHECK(Run(out, &log) == Labels{"root"});
  }
  SECTION("never for kChildrenChanged") {
    wm.Trigger("/a/b/c/d", EventType::kChildrenChanged, &out);
    wm.Trigger("/a/b", EventType::kChildrenChanged, &out);
    wm.Trigger("/", EventType::kChildrenChanged, &out);
    CHECK(out.empty());
  }
  SECTION("after the recursive ones are removed, ancestors fire nothing") {
    for (const char* p : {"/", "/a", "/a/b", "/a/b/c", "/x"}) {
      wm.Remove(p, WatcherType::kPersistentRecursive, 0, 0, &out);
    }
    CHECK(wm.size() == 0);
    out.clear();
    wm.Trigger("/a/b/c/d", EventType::kCreated, &out);
    CHECK(out.empty());
  }
}

TEST_CASE("Trigger orders kinds, then registration order", "[watch]") {
  WatchManager wm;
  std::vector<std::string> log;
  // Registered interleaved, out of delivery order.
  wm.AddPersistentWatch("/", WatchMode::kPersistentRecursive,
                        Labeled(&log, "r/"));
  wm.AddPersistentWatch("/p", WatchMode::kPersistentRecursive,
                        Labeled(&log, "r/p-1"));
  wm.AddPersistentWatch("/p/q", WatchMode::kPersistentRecursive,
                        Labeled(&log, "r/p/q"));
  wm.AddPersistentWatch("/p/q", WatchMode::kPersistent, Labeled(&log, "p-1"));
  wm.AddChildWatch("/p/q", Labeled(&log, "c-1"));
  wm.AddDataWatch("/p/q", Labeled(&log, "d-1"));
  wm.AddPersistentWatch("/p", WatchMode::kPersistentRecursive,
                        Labeled(&log, "r/p-2"));
  wm.AddChildWatch("/p/q", Labeled(&log, "c-2"));
  wm.AddPersistentWatch("/p/q", WatchMode::kPersistent, Labeled(&log, "p-2"));
  wm.AddDataWatch("/p/q", Labeled(&log, "d-2"));

  std::vector<Delivery> out;
  wm.Trigger("/p/q", EventType::kDeleted, &out);
  CHECK(Run(out, &log) == Labels{"d-1", "d-2", "c-1", "c-2", "p-1", "p-2",
                                 "r/p/q", "r/p-1", "r/p-2", "r/"});
  CHECK(wm.size() == 6);
}

TEST_CASE("Trigger appends to what is already in out", "[watch]") {
  WatchManager wm;
  std::vector<std::string> log;
  wm.AddDataWatch("/a", Labeled(&log, "a"));
  wm.AddDataWatch("/b", Labeled(&log, "b"));
  std::vector<Delivery> out;
  wm.Trigger("/a", EventType::kDataChanged, &out);
  wm.Trigger("/b", EventType::kDeleted, &out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].event.path == "/a");
  CHECK(out[1].event.path == "/b");
  CHECK(out[1].event.type == EventType::kDeleted);
  CHECK(wm.size() == 0);
}

TEST_CASE("The same watcher registered twice fires twice", "[watch]") {
  WatchManager wm;
  std::vector<std::string> log;
  const Watcher w = Labeled(&log, "w");
  wm.AddDataWatch("/a", w);
  wm.AddDataWatch("/a", w);
  CHECK(wm.size() == 2);
  std::vector<Delivery> out;
  wm.Trigger("/a", EventType::kCreated, &out);
  CHECK(Run(out, &log) == Labels{"w", "w"});
  CHECK(wm.size() == 0);
}

TEST_CASE("Remove takes away one kind and reports it", "[watch]") {
  std::vector<std::string> log;
  std::vector<Delivery> out;
  struct Case {
    WatcherType type;
    EventType removed_event;
    Labels labels;
    EventType still_fires;  // an event the other kinds still see
    Labels after;
  };
  const Case cases[] = {
      {WatcherType::kData,
       EventType::kDataWatchRemoved,
       {"data/a", "data2/a"},
       EventType::kDeleted,
       {"child/a", "persistent/a", "recursive/a"}},
      {WatcherType::kChildren,
       EventType::kChildWatchRemoved,
       {"child/a"},
       EventType::kDeleted,
       {"data/a", "data2/a", "persistent/a", "recursive/a"}},
      {WatcherType::kPersistent,
       EventType::kPersistentWatchRemoved,
       {"persistent/a"},
       EventType::kDeleted,
       {"data/a", "data2/a", "child/a", "recursive/a"}},
      {WatcherType::kPersistentRecursive,
       EventType::kPersistentWatchRemoved,
       {"recursive/a"},
       EventType::kDeleted,
       {"data/a", "data2/a", "child/a", "persistent/a"}},
  };
  for (const Case& c : cases) {
    WatchManager m;
    AddAllKinds(m, &log, "/a");
    m.AddDataWatch("/a", Labeled(&log, "data2/a"));
    AddAllKinds(m, &log, "/a/b");
    REQUIRE(m.size() == 9);
    out.clear();
    CHECK(m.Remove("/a", c.type, 0, 0, &out) ==
          static_cast<int>(c.labels.size()));
    CHECK(Run(out, &log) == c.labels);
    for (const Delivery& d : out) {
      CHECK(d.event.type == c.removed_event);
      CHECK(d.event.path == "/a");
      CHECK(d.event.state == SessionState::kConnected);
    }
    CHECK(m.size() == 9 - static_cast<int64_t>(c.labels.size()));
    // Removing again finds nothing.
    out.clear();
    CHECK(m.Remove("/a", c.type, 0, 0, &out) == 0);
    CHECK(out.empty());
    // The other kinds on /a still fire; /a/b's are untouched.
    m.Trigger("/a", c.still_fires, &out);
    CHECK(Run(out, &log) == c.after);
    out.clear();
    m.Trigger("/a/b", EventType::kDeleted, &out);
    Labels below = {"data/a/b", "child/a/b", "persistent/a/b", "recursive/a/b"};
    if (c.type != WatcherType::kPersistentRecursive) {
      below.push_back("recursive/a");
    }
    CHECK(Run(out, &log) == below);
  }
}

TEST_CASE("Remove kAny takes away all four kinds", "[watch]") {
  WatchManager wm;
  std::vector<std::string> log;
  AddAllKinds(wm, &log, "/a");
  AddAllKinds(wm, &log, "/a/b");
  std::vector<Delivery> out;
  CHECK(wm.Remove("/a", WatcherType::kAny, 0, 0, &out) == 4);
  CHECK(Run(out, &log) ==
        Labels{"data/a", "child/a", "persistent/a", "recursive/a"});
  REQUIRE(out.size() == 4);
  CHECK(out[0].event.type == EventType::kDataWatchRemoved);
  CHECK(out[1].event.type == EventType::kChildWatchRemoved);
  CHECK(out[2].event.type == EventType::kPersistentWatchRemoved);
  CHECK(out[3].event.type == EventType::kPersistentWatchRemoved);
  CHECK(wm.size() == 4);
  // The recursive watch on /a no longer sees /a/b.
  out.clear();
  wm.Trigger("/a/b", EventType::kDataChanged, &out);
  CHECK(Run(out, &log) ==
        Labels{"data/a/b", "persistent/a/b", "recursive/a/b"});
  out.clear();
  CHECK(wm.Remove("/a", WatcherType::kAny, 0, 0, &out) == 0);
  CHECK(out.empty());
}

TEST_CASE("Remove finds none", "[watch]") {
  WatchManager wm;
  std::vector<std::string> log;
  std::vector<Delivery> out;
  CHECK(wm.Remove("/a", WatcherType::kAny, 0, 0, &out) == 0);
  wm.AddDataWatch("/a", Labeled(&log, "d"));
  // Other kinds on the path, other paths (ancestor, descendant).
  CHECK(wm.Remove("/a", WatcherType::kChildren, 0, 0, &out) == 0);
  CHECK(wm.Remove("/a", WatcherType::kPersistent, 0, 0, &out) == 0);
  CHECK(wm.Remove("/a", WatcherType::kPersistentRecursive, 0, 0, &out) == 0);
  CHECK(wm.Remove("/", WatcherType::kAny, 0, 0, &out) == 0);
  CHECK(wm.Remove("/a/b", WatcherType::kAny, 0, 0, &out) == 0);
  CHECK(out.empty());
  CHECK(wm.size() == 1);
}

// ---- Owners -----------------------------------------------------------------

// Registers one watch of every kind on `path` for `owner`, labeled
// "<kind><path>#<owner>".
void AddAllKindsFor(WatchManager& wm, std::vector<std::string>* log,
                    const std::string& path, int64_t owner) {
  const std::string tag = path + "#" + std::to_string(owner);
  wm.AddDataWatch(path, Labeled(log, "data" + tag), owner);
  wm.AddChildWatch(path, Labeled(log, "child" + tag), owner);
  wm.AddPersistentWatch(path, WatchMode::kPersistent,
                        Labeled(log, "persistent" + tag), owner);
  wm.AddPersistentWatch(path, WatchMode::kPersistentRecursive,
                        Labeled(log, "recursive" + tag), owner);
}

TEST_CASE("Trigger fires every owner's watches, in registration order",
          "[watch]") {
  WatchManager wm;
  std::vector<std::string> log;
  // Owners interleaved; the order is the registration order regardless.
  AddAllKindsFor(wm, &log, "/a", 7);
  AddAllKindsFor(wm, &log, "/a", 0);
  AddAllKindsFor(wm, &log, "/a", 9);
  wm.AddPersistentWatch("/", WatchMode::kPersistentRecursive,
                        Labeled(&log, "recursive/#9"), 9);
  wm.AddPersistentWatch("/", WatchMode::kPersistentRecursive,
                        Labeled(&log, "recursive/#0"));
  REQUIRE(wm.size() == 14);
  std::vector<Delivery> out;
  wm.Trigger("/a", EventType::kDeleted, &out);
  CHECK(Run(out, &log) ==
        Labels{"data/a#7", "data/a#0", "data/a#9", "child/a#7", "child/a#0",
               "child/a#9", "persistent/a#7", "persistent/a#0",
               "persistent/a#9", "recursive/a#7", "recursive/a#0",
               "recursive/a#9", "recursive/#9", "recursive/#0"});
  CHECK(wm.size() == 8);  // the six one-shot ones fired
  // The fired one-shot watches are gone from their owners too.
  CHECK(wm.RemoveOwner(7) == 2);
  CHECK(wm.size() == 6);
}

TEST_CASE("Remove takes away only the owner's watches", "[watch]") {
  WatchManager wm;
  std::vector<std::string> log;
  AddAllKindsFor(wm, &log, "/a", 0);
  AddAllKindsFor(wm, &log, "/a", 7);
  wm.AddDataWatch("/a", Labeled(&log, "data2/a#0"));
  wm.AddDataWatch("/a", Labeled(&log, "data2/a#7"), 7);
  AddAllKindsFor(wm, &log, "/a/b", 7);
  REQUIRE(wm.size() == 14);
  std::vector<Delivery> out;

  SECTION("one kind") {
    CHECK(wm.Remove("/a", WatcherType::kData, 7, 0, &out) == 2);
    CHECK(Run(out, &log) == Labels{"data/a#7", "data2/a#7"});
    for (const Delivery& d : out) {
      CHECK(d.event.type == EventType::kDataWatchRemoved);
      CHECK(d.event.path == "/a");
    }
    CHECK(wm.size() == 12);
    // Owner 0's data watches still fire, in their order.
    out.clear();
    wm.Trigger("/a", EventType::kDataChanged, &out);
    CHECK(Run(out, &log) ==
          Labels{"data/a#0", "data2/a#0", "persistent/a#0", "persistent/a#7",
                 "recursive/a#0", "recursive/a#7"});
  }
  SECTION("kAny, by either owner") {
    CHECK(wm.Remove("/a", WatcherType::kAny, 0, 0, &out) == 5);
    CHECK(Run(out, &log) == Labels{"data/a#0", "data2/a#0", "child/a#0",
                                   "persistent/a#0", "recursive/a#0"});
    REQUIRE(out.size() == 5);
    CHECK(out[2].event.type == EventType::kChildWatchRemoved);
    CHECK(out[4].event.type == EventType::kPersistentWatchRemoved);
    CHECK(wm.size() == 9);
    out.clear();
    CHECK(wm.Remove("/a", WatcherType::kAny, 0, 0, &out) == 0);
    CHECK(out.empty());
    // Owner 7's, on /a and below, are untouched.
    wm.Trigger("/a/b", EventType::kDeleted, &out);
    CHECK(Run(out, &log) == Labels{"data/a/b#7", "child/a/b#7",
                                   "persistent/a/b#7", "recursive/a/b#7",
                                   "recursive/a#7"});
    out.clear();
    CHECK(wm.Remove("/a", WatcherType::kAny, 7, 0, &out) == 5);
    CHECK(wm.size() == 2);  // /a/b's persistent and recursive
  }
  SECTION("an owner with none there removes nothing") {
    CHECK(wm.Remove("/a", WatcherType::kAny, 42, 0, &out) == 0);
    CHECK(wm.Remove("/a/b", WatcherType::kAny, 0, 0, &out) == 0);
    CHECK(wm.Remove("/", WatcherType::kAny, 7, 0, &out) == 0);
    CHECK(out.empty());
    CHECK(wm.size() == 14);
  }
  SECTION("Remove keeps the owner index exact") {
    CHECK(wm.Remove("/a", WatcherType::kPersistentRecursive, 7, 0, &out) == 1);
    // 14 - 1: the rest of 7's on /a (data x2, child, persistent) and /a/b.
    CHECK(wm.RemoveOwner(7) == 8);
    CHECK(wm.size() == 5);
    CHECK(wm.RemoveOwner(7) == 0);
  }
}

TEST_CASE("A WatchHandle is one watcher: registered once per path and "
          "kind, called once per event, removable alone",
          "[watch]") {
  WatchManager wm;
  std::vector<std::string> log;
  const WatchHandle h(Labeled(&log, "h"));
  const WatchHandle copy = h;  // the same identity
  const WatchHandle other(Labeled(&log, "other"));
  CHECK(h.id() != 0);
  CHECK(copy.id() == h.id());
  CHECK(other.id() != h.id());
  CHECK(WatchHandleId(h) == h.id());
  CHECK(WatchHandleId(Labeled(&log, "plain")) == 0);

  wm.AddDataWatch("/a", h);
  wm.AddDataWatch("/a", copy);  // already there: nothing added
  wm.AddChildWatch("/a", h);
  wm.AddPersistentWatch("/a", WatchMode::kPersistent, h);
  wm.AddPersistentWatch("/", WatchMode::kPersistentRecursive, h);
  wm.AddPersistentWatch("/", WatchMode::kPersistentRecursive, h);
  wm.AddDataWatch("/a", other);
  wm.AddDataWatch("/a", Labeled(&log, "plain"));
  wm.AddDataWatch("/a", Labeled(&log, "plain"));  // plain ones are not sets
  wm.AddDataWatch("/a", h, /*owner=*/7);           // another owner's
  REQUIRE(wm.size() == 8);
  std::vector<Delivery> out;

  SECTION("one event calls it once, wherever it is registered") {
    wm.Trigger("/a", EventType::kDeleted, &out);
    CHECK(Run(out, &log) == Labels{"h", "other", "plain", "plain"});
    CHECK(wm.size() == 2);  // /a's persistent and /'s recursive stay
    out.clear();
    wm.Trigger("/a", EventType::kCreated, &out);
    CHECK(Run(out, &log) == Labels{"h"});
  }
  SECTION("RemoveWatch of the handle takes only its registrations") {
    CHECK(wm.Remove("/a", WatcherType::kData, 0, copy.id(), &out) == 1);
    CHECK(Run(out, &log) == Labels{"h"});
    CHECK(out[0].event.type == EventType::kDataWatchRemoved);
    out.clear();
    CHECK(wm.Remove("/a", WatcherType::kData, 0, h.id(), &out) == 0);
    CHECK(wm.Remove("/a", WatcherType::kAny, 0, h.id(), &out) == 2);
    CHECK(Run(out, &log) == Labels{"h", "h"});  // child, persistent
    out.clear();
    CHECK(wm.size() == 5);
    wm.Trigger("/a", EventType::kDataChanged, &out);
    // The recursive registration on "/" is another path's: it stays.
    CHECK(Run(out, &log) == Labels{"other", "plain", "plain", "h"});
    out.clear();
    CHECK(wm.Remove("/", WatcherType::kPersistentRecursive, 0, other.id(),
                    &out) == 0);
    CHECK(wm.Remove("/", WatcherType::kPersistentRecursive, 0, h.id(), &out) ==
          1);
    out.clear();
    wm.Trigger("/a", EventType::kDataChanged, &out);
    CHECK(out.empty());
  }
  SECTION("the same handle of two owners is two registrations") {
    CHECK(wm.RemoveOwner(7) == 1);
    CHECK(wm.size() == 7);
  }
}

TEST_CASE("An event is told only to owners that may read the node: the "
          "others' one-shot watches stay dormant as a ZooKeeper client's",
          "[watch]") {
  WatchManager wm;
  std::vector<std::string> log;
  auto nobody = std::make_shared<AuthInfo>();
  auto alice = std::make_shared<AuthInfo>();
  alice->ids.push_back(AuthId{"digest", "alice:x"});
  wm.SetOwnerAuth(0, nobody);
  wm.SetOwnerAuth(7, alice);
  const AclList alices = {Acl{perms::kAll, "digest", "alice:x"}};
  const AclList open = OpenAcl();
  wm.AddDataWatch("/a", Labeled(&log, "data#0"));
  wm.AddDataWatch("/a", Labeled(&log, "data#7"), 7);
  wm.AddPersistentWatch("/", WatchMode::kPersistentRecursive,
                        Labeled(&log, "recursive#0"));
  wm.AddPersistentWatch("/a", WatchMode::kPersistent,
                        Labeled(&log, "persistent#7"), 7);
  std::vector<Delivery> out;

  // Created with alice's ACL: owner 0 hears nothing, not even its recursive
  // watch; its data watch stays, dormant.
  wm.Trigger("/a", EventType::kCreated, &alices, &out);
  CHECK(Run(out, &log) == Labels{"data#7", "persistent#7"});
  CHECK(wm.size() == 3);
  out.clear();
  // An open event: owner 0 has no armed one-shot watch, so only its
  // recursive watch makes it sent, and the dormant one comes along.
  wm.Trigger("/a", EventType::kDataChanged, &open, &out);
  CHECK(Run(out, &log) == Labels{"data#0", "persistent#7", "recursive#0"});
  CHECK(wm.size() == 2);
  out.clear();

  SECTION("a dormant watch wakes only with an event sent to its owner") {
    REQUIRE(wm.Remove("/", WatcherType::kAny, 0, 0, &out) == 1);
    out.clear();
    wm.AddDataWatch("/b", Labeled(&log, "b1#0"));
    wm.Trigger("/b", EventType::kCreated, &alices, &out);
    CHECK(out.empty());
    CHECK(wm.size() == 2);  // b1 dormant, persistent#7
    wm.Trigger("/b", EventType::kDataChanged, &open, &out);
    CHECK(out.empty());  // nothing armed: not sent
    wm.AddDataWatch("/b", Labeled(&log, "b2#0"));  // armed again
    wm.Trigger("/b", EventType::kDataChanged, &open, &out);
    CHECK(Run(out, &log) == Labels{"b1#0", "b2#0"});
    CHECK(wm.size() == 1);
  }
  SECTION("removal takes dormant watches too") {
    wm.AddDataWatch("/c", Labeled(&log, "c#0"));
    wm.Trigger("/c", EventType::kDeleted, &alices, &out);
    CHECK(out.empty());
    CHECK(wm.Remove("/c", WatcherType::kData, 0, 0, &out) == 1);
    CHECK(wm.size() == 2);
  }
  SECTION("an owner without identities set is not filtered") {
    wm.SetOwnerAuth(0, nullptr);
    wm.AddDataWatch("/d", Labeled(&log, "d#0"));
    wm.Trigger("/d", EventType::kCreated, &alices, &out);
    CHECK(Run(out, &log) == Labels{"d#0", "recursive#0"});
  }
}

TEST_CASE("RemoveOwner drops an owner's watches silently", "[watch]") {
  WatchManager wm;
  std::vector<std::string> log;
  AddAllKindsFor(wm, &log, "/", 5);
  AddAllKindsFor(wm, &log, "/a", 0);
  AddAllKindsFor(wm, &log, "/a", 5);
  AddAllKindsFor(wm, &log, "/a/b", 6);
  AddAllKindsFor(wm, &log, "/a/b/c", 5);
  wm.AddDataWatch("/x", Labeled(&log, "data/x#5"), 5);
  REQUIRE(wm.size() == 21);

  CHECK(wm.RemoveOwner(5) == 13);
  CHECK(wm.size() == 8);
  CHECK(wm.RemoveOwner(5) == 0);   // nothing left
  CHECK(wm.RemoveOwner(99) == 0);  // never had any
  CHECK(wm.size() == 8);
  // Owner 5's watchers never run again; the others' still fire.
  std::vector<Delivery> out;
  wm.Trigger("/a/b/c", EventType::kDeleted, &out);
  wm.Trigger("/x", EventType::kDeleted, &out);
  CHECK(Run(out, &log) == Labels{"recursive/a/b#6", "recursive/a#0"});
  out.clear();
  wm.Trigger("/a", EventType::kDeleted, &out);
  CHECK(Run(out, &log) ==
        Labels{"data/a#0", "child/a#0", "persistent/a#0", "recursive/a#0"});
  CHECK(wm.size() == 6);

  // The local owner too (a scan: it is not indexed).
  CHECK(wm.RemoveOwner(0) == 2);
  CHECK(wm.size() == 4);
  CHECK(wm.RemoveOwner(0) == 0);
  CHECK(wm.RemoveOwner(6) == 4);
  CHECK(wm.size() == 0);
  out.clear();
  wm.Trigger("/a/b/c", EventType::kCreated, &out);
  CHECK(out.empty());

  // The owner may register again afterwards.
  wm.AddPersistentWatch("/a", WatchMode::kPersistentRecursive,
                        Labeled(&log, "again"), 5);
  wm.Trigger("/a/b", EventType::kCreated, &out);
  CHECK(Run(out, &log) == Labels{"again"});
  CHECK(wm.RemoveOwner(5) == 1);
  CHECK(wm.size() == 0);
}

TEST_CASE("Fired one-shot watches leave the owner's index", "[watch]") {
  WatchManager wm;
  std::vector<std::string> log;
  wm.AddDataWatch("/a", Labeled(&log, "d"), 3);
  wm.AddChildWatch("/a", Labeled(&log, "c"), 3);
  wm.AddDataWatch("/b", Labeled(&log, "d-b"), 3);
  std::vector<Delivery> out;
  wm.Trigger("/a", EventType::kDataChanged, &out);
  wm.Trigger("/b", EventType::kCreated, &out);
  CHECK(Run(out, &log) == Labels{"d", "d-b"});
  CHECK(wm.size() == 1);
  CHECK(wm.RemoveOwner(3) == 1);  // the child watch alone
  CHECK(wm.size() == 0);
  out.clear();
  wm.Trigger("/a", EventType::kChildrenChanged, &out);
  CHECK(out.empty());
}

TEST_CASE("Owners add, remove and drop while triggers run",
          "[watch][concurrency]") {
  constexpr int kOwners = 4;
  constexpr int kPerOwner = 1000;
  constexpr int kPaths = 8;
  const auto path_of = [](int i) { return "/n" + std::to_string(i % kPaths); };

  WatchManager wm;
  std::vector<std::atomic<int>> fired(kOwners);
  for (auto& f : fired) f.store(0);
  std::atomic<bool> adding{true};
  std::thread trigger([&] {
    int i = 0;
    while (adding.load()) {
      std::vector<Delivery> out;
      wm.Trigger(path_of(i++), EventType::kDataChanged, &out);
      for (const Delivery& d : out) (*d.watcher)(d.event);
    }
  });
  std::vector<int64_t> dropped(kOwners, 0);
  std::vector<int64_t> removed(kOwners, 0);
  std::vector<std::thread> owners;
  for (int t = 0; t < kOwners; ++t) {
    owners.emplace_back([&, t] {
      const int64_t owner = t + 1;
      std::atomic<int>* mine = &fired[t];
      for (int k = 0; k < kPerOwner; ++k) {
        wm.AddDataWatch(path_of(k), [mine](const WatchEvent&) { ++*mine; },
                        owner);
        if (k % 100 == 0) {
          wm.AddPersistentWatch("/", WatchMode::kPersistentRecursive,
                                [](const WatchEvent&) {}, owner);
          std::vector<Delivery> out;
          removed[t] += wm.Remove("/", WatcherType::kPersistentRecursive,
                                  owner, 0, &out);
        }
      }
      dropped[t] = wm.RemoveOwner(owner);
    });
  }
  for (auto& o : owners) o.join();
  adding.store(false);
  trigger.join();
  CHECK(wm.size() == 0);
  for (int t = 0; t < kOwners; ++t) {
    // Every data watch either fired or was dropped; every recursive one
    // was removed by its owner.
    CHECK(fired[t].load() + dropped[t] == kPerOwner);
    CHECK(removed[t] == kPerOwner / 100);
  }
}

TEST_CASE("Clear removes everything silently", "[watch]") {
  WatchManager wm;
  std::vector<std::string> log;
  AddAllKinds(wm, &log, "/");
  AddAllKinds(wm, &log, "/a");
  REQUIRE(wm.size() == 8);
  wm.Clear();
  CHECK(wm.size() == 0);
  std::vector<Delivery> out;
  wm.Trigger("/a/b", EventType::kCreated, &out);
  wm.Trigger("/a", EventType::kDeleted, &out);
  CHECK(out.empty());
  CHECK(wm.Remove("/a", WatcherType::kAny, 0, 0, &out) == 0);
  // Still usable afterwards.
  wm.AddPersistentWatch("/", WatchMode::kPersistentRecursive,
                        Labeled(&log, "r"));
  wm.Trigger("/a/b", EventType::kCreated, &out);
  CHECK(Run(out, &log) == Labels{"r"});
}

TEST_CASE("Delivered watchers outlive their removal", "[watch]") {
  WatchManager wm;
  auto calls = std::make_shared<int>(0);
  wm.AddDataWatch("/a", [calls](const WatchEvent&) { ++*calls; });
  std::vector<Delivery> out;
  wm.Trigger("/a", EventType::kDataChanged, &out);
  wm.Clear();
  REQUIRE(out.size() == 1);
  (*out[0].watcher)(out[0].event);
  CHECK(*calls == 1);
}

TEST_CASE("Concurrent adds and triggers lose no watch",
          "[watch][concurrency]") {
  constexpr int kAdders = 4;
  constexpr int kPerAdder = 2000;
  constexpr int kPaths = 8;
  const auto path_of = [](int i) { return "/n" + std::to_string(i % kPaths); };

  WatchManager wm;
  std::vector<std::atomic<int>> fired(kAdders * kPerAdder);
  for (auto& f : fired) f.store(0);
  // The triggering thread records the ids it received; only it calls them.
  const auto run = [&](const std::vector<Delivery>& out) {
    for (const Delivery& d : out) (*d.watcher)(d.event);
  };

  // Recursive watches on "/" make every trigger walk the ancestors.
  std::atomic<int> recursive_fired{0};
  int recursive_added = 0;  // only adder 0 touches it before the join
  std::atomic<bool> adding{true};
  std::thread trigger([&] {
    int i = 0;
    while (adding.load()) {
      std::vector<Delivery> out;
      const EventType type =
          (i % 2 == 0) ? EventType::kDataChanged : EventType::kChildrenChanged;
      wm.Trigger(path_of(i++), type, &out);
      run(out);
    }
  });
  std::vector<std::thread> adders;
  for (int t = 0; t < kAdders; ++t) {
    adders.emplace_back([&, t] {
      for (int k = 0; k < kPerAdder; ++k) {
        const int id = t * kPerAdder + k;
        Watcher w = [&fired, id](const WatchEvent&) { ++fired[id]; };
        if (k % 2 == 0) {
          wm.AddDataWatch(path_of(id), std::move(w));
        } else {
          wm.AddChildWatch(path_of(id), std::move(w));
        }
        if (t == 0 && k % 100 == 0) {
          wm.AddPersistentWatch(
              "/", WatchMode::kPersistentRecursive,
              [&recursive_fired](const WatchEvent&) { ++recursive_fired; });
          ++recursive_added;
        }
        (void)wm.size();  // a concurrent reader too
      }
    });
  }
  for (auto& a : adders) a.join();
  adding.store(false);
  trigger.join();

  int fired_once = 0;
  for (const auto& f : fired) {
    REQUIRE(f.load() <= 1);
    fired_once += f.load();
  }
  CHECK(wm.size() == kAdders * kPerAdder - fired_once + recursive_added);
  CHECK(recursive_added == kPerAdder / 100);

  // Firing everything that is left fires each remaining watch exactly once.
  for (int p = 0; p < kPaths; ++p) {
    std::vector<Delivery> out;
    wm.Trigger(path_of(p), EventType::kDeleted, &out);
    run(out);
  }
  CHECK(wm.size() == recursive_added);
  for (const auto& f : fired) REQUIRE(f.load() == 1);
  CHECK(recursive_fired.load() > 0);
}

}  // namespace
}  // namespace synod
