// Tests for lib/tree/snapshot: a tree's snapshot loads into an equal tree,
// malformed snapshots are refused, and DiffTrees names every change.

#include "tree/snapshot.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "synod/types.h"
#include "txn/txn.pb.h"

namespace synod {
namespace {

txn::Txn Create(Zxid zxid, const std::string& path, const std::string& data,
                int64_t owner = 0) {
  txn::Txn t;
  t.set_zxid(zxid);
  t.set_time_ms(1000 + zxid);
  t.set_session_id(owner);
  txn::CreateTxn* c = t.mutable_create();
  c->set_path(path);
  c->set_data(data);
  txn::AclEntry* a = c->add_acl();
  a->set_perms(31);
  a->set_scheme("world");
  a->set_id("anyone");
  c->set_mode(owner ? static_cast<int32_t>(CreateMode::kEphemeral) : 0);
  c->set_ephemeral_owner(owner);
  return t;
}

void Apply(DataTree* tree, const txn::Txn& t) {
  ApplyOutput out;
  REQUIRE(tree->Apply(t, &out, nullptr).ok());
}

// Every node's path, data and Stat, for comparing trees.
std::map<std::string, std::pair<std::string, Stat>> Contents(const DataTree& t) {
  std::map<std::string, std::pair<std::string, Stat>> out;
  t.ForEachNode([&](const std::string& path, const Znode& n) {
    out[path] = {n.data, n.stat};
  });
  return out;
}

DataTree Sample() {
  DataTree tree;
  txn::Txn session;
  session.set_zxid(1);
  session.mutable_create_session()->set_timeout_ms(4000);
  session.mutable_create_session()->set_password_digest("digest");
  Apply(&tree, session);
  Apply(&tree, Create(2, "/a", "x"));
  Apply(&tree, Create(3, "/a/b", "y"));
  Apply(&tree, Create(4, "/a/b/c", std::string(3000, 'z')));
  Apply(&tree, Create(5, "/e", "eph", /*owner=*/1));
  return tree;
}

TEST_CASE("Snapshot: a tree loads back equal, sessions and ephemerals too",
          "[snapshot]") {
  DataTree tree = Sample();
  const std::string snap = EncodeSnapshot(tree);
  DataTree loaded;
  int nodes = 0, sessions = 0;
  REQUIRE(LoadSnapshot(snap, &loaded,
                       [&](std::string_view, std::string_view) { ++nodes; },
                       [&](int64_t, std::string_view) { ++sessions; })
              .ok());
  CHECK(loaded.last_zxid() == 5);
  CHECK(Contents(loaded) == Contents(tree));
  CHECK(nodes == static_cast<int>(tree.node_count()));
  CHECK(sessions == 1);
  CHECK(loaded.sessions().at(1) == 4000);
  CHECK(*loaded.SessionPasswordDigest(1) == "digest");
  CHECK(loaded.EphemeralsOf(1) == std::vector<std::string>{"/e"});
}

TEST_CASE("Snapshot: malformed input is refused", "[snapshot]") {
  const std::string snap = EncodeSnapshot(Sample());
  auto load = [](std::string_view data) {
    DataTree t;
    return LoadSnapshot(data, &t, [](std::string_view, std::string_view) {},
                        [](int64_t, std::string_view) {});
  };
  CHECK(ErrorOf(load("")) == Error::kDataInconsistency);
  CHECK(ErrorOf(load("SNP2" + snap.substr(4))) == Error::kDataInconsistency);
  CHECK(ErrorOf(load(snap.substr(0, snap.size() - 7))) == Error::kDataInconsistency);
  std::string bad_kind = snap;
  bad_kind[5] = 'q';  // the first record's kind (after magic and zxid 5)
  CHECK(ErrorOf(load(bad_kind)) == Error::kDataInconsistency);
  CHECK(load(snap).ok());
}

TEST_CASE("Snapshot: DiffTrees names deletions, creations and changes",
          "[snapshot]") {
  DataTree before = Sample();
  DataTree after = Sample();
  txn::Txn del;
  del.set_zxid(6);
  del.mutable_delete_node()->set_path("/a/b/c");
  Apply(&after, del);
  Apply(&after, Create(7, "/n", "new"));
  txn::Txn set;
  set.set_zxid(8);
  set.mutable_set_data()->set_path("/a");
  set.mutable_set_data()->set_data("x2");
  set.mutable_set_data()->set_version(1);
  Apply(&after, set);
  std::vector<std::pair<EventType, std::string>> got;
  for (const TreeEvent& e : DiffTrees(before, after)) got.push_back({e.type, e.path});
  std::vector<std::pair<EventType, std::string>> want = {
      {EventType::kDeleted, "/a/b/c"},
      {EventType::kCreated, "/n"},
      {EventType::kDataChanged, "/a"},
      {EventType::kChildrenChanged, "/"},
      {EventType::kChildrenChanged, "/a/b"},
  };
  CHECK(got == want);
  CHECK(DiffTrees(before, before).empty());
}

}  // namespace
}  // namespace synod
