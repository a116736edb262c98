// Tests for test/sim/memory_storage: the Store's contracts (log order
// refusals, reads, truncation, trims, state batches, snapshots, metadata),
// answers equal to a real Store's over random histories, LoadState's order
// feeding a DataTree, the crash model (what survives, what may be lost, state
// writes as a prefix, lost trims, write-back) and injected failures.

#include "sim/memory_storage.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "sim/sim_network.h"
#include "storage/store.h"
#include "test_util.h"
#include "tree/data_tree.h"
#include "txn/txn.pb.h"

namespace synod::sim {
namespace {

using testing::TempDir;

using Log = std::vector<std::pair<Zxid, std::string>>;

// Entries from..to (inclusive), each with data "d<zxid>".
std::vector<LogEntry> Entries(Zxid from, Zxid to) {
  std::vector<LogEntry> out;
  for (Zxid z = from; z <= to; ++z) out.push_back({z, absl::StrCat("d", z)});
  return out;
}

// The log above `after`, as ReadLog gives it.
Log Read(const Storage& s, Zxid after = 0) {
  Log out;
  absl::Status status = s.ReadLog(after, [&](Zxid z, std::string_view d) {
    out.emplace_back(z, std::string(d));
    return true;
  });
  REQUIRE(status.ok());
  return out;
}

// The zxids of Entries(from, to).
std::vector<Zxid> Zxids(const Log& log) {
  std::vector<Zxid> out;
  for (const auto& e : log) out.push_back(e.first);
  return out;
}
std::vector<Zxid> Range(Zxid from, Zxid to) {
  std::vector<Zxid> out;
  for (Zxid z = from; z <= to; ++z) out.push_back(z);
  return out;
}

// Everything LoadState reports, in its order.
struct Loaded {
  std::vector<std::pair<std::string, std::string>> nodes;
  std::vector<std::pair<int64_t, std::string>> sessions;
  bool operator==(const Loaded& o) const {
    return nodes == o.nodes && sessions == o.sessions;
  }
};

Loaded Load(const Storage& s) {
  Loaded out;
  absl::Status status = s.LoadState(
      [&](std::string_view path, std::string_view record) {
        out.nodes.emplace_back(std::string(path), std::string(record));
        return absl::OkStatus();
      },
      [&](int64_t id, std::string_view record) {
        out.sessions.emplace_back(id, std::string(record));
        return absl::OkStatus();
      });
  REQUIRE(status.ok());
  return out;
}

std::vector<std::string> Paths(const Loaded& loaded) {
  std::vector<std::string> out;
  for (const auto& n : loaded.nodes) out.push_back(n.first);
  return out;
}

// The metadata `name`, or its status if it has none.
std::string Meta(const Storage& s, std::string_view name) {
  absl::StatusOr<std::string> value = s.GetMeta(name);
  return value.ok() ? *value : value.status().ToString();
}

// Writes one state batch putting node `path` as "r<applied>", at `applied`.
void WriteNode(MemoryStorage* s, const std::string& path, Zxid applied) {
  StateBatch batch;
  batch.PutNode(path, absl::StrCat("r", applied));
  REQUIRE(s->WriteState(&batch, applied).ok());
}

// ---- Contracts
// ---------------------------------------------------------------

TEST_CASE("MemoryStorage refuses log appends out of order and writes nothing",
          "[sim]") {
  MemoryStorage s;
  CHECK(s.AppendLog(Entries(0, 0), true).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(s.AppendLog({{-4, "x"}}, true).code() ==
        absl::StatusCode::kInvalidArgument);
  REQUIRE(s.AppendLog(Entries(1, 3), true).ok());
  // At or below the last, and not increasing within the batch; the valid
  // entries of a refused batch are not written either.
  CHECK(s.AppendLog(Entries(3, 4), true).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(s.AppendLog({{5, "a"}, {5, "b"}}, true).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(s.AppendLog({{6, "a"}, {4, "b"}}, false).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Zxids(Read(s)) == Range(1, 3));
  CHECK(s.last_logged_zxid() == 3);
  // An empty append is fine; gaps are the caller's business.
  CHECK(s.AppendLog({}, true).ok());
  REQUIRE(s.AppendLog({{4, "x"}, {9, "y"}}, false).ok());
  CHECK(Read(s) == Log{{1, "d1"}, {2, "d2"}, {3, "d3"}, {4, "x"}, {9, "y"}});
}

TEST_CASE("MemoryStorage ReadLog reads above a zxid and stops when told",
          "[sim]") {
  MemoryStorage s;
  REQUIRE(s.AppendLog(Entries(1, 10), true).ok());
  CHECK(Zxids(Read(s, 7)) == Range(8, 10));
  CHECK(Read(s, 10).empty());
  std::vector<Zxid> seen;
  REQUIRE(s.ReadLog(2, [&](Zxid z, std::string_view) {
             seen.push_back(z);
             return z < 5;
           }).ok());
  CHECK(seen == Range(3, 5));
  // The callback may use the storage (no lock is held).
  REQUIRE(s.ReadLog(0, [&](Zxid, std::string_view) {
             return s.last_logged_zxid() == 10 && s.applied_zxid() == 0;
           }).ok());
}

TEST_CASE("MemoryStorage TruncateLogAfter cuts the tail", "[sim]") {
  MemoryStorage s;
  REQUIRE(s.AppendLog(Entries(1, 10), true).ok());
  REQUIRE(s.TruncateLogAfter(12).ok());
  CHECK(s.last_logged_zxid() == 10);
  REQUIRE(s.TruncateLogAfter(6).ok());
  CHECK(Zxids(Read(s)) == Range(1, 6));
  // Appends continue above the cut.
  REQUIRE(s.AppendLog(Entries(7, 7), true).ok());
  CHECK(s.last_logged_zxid() == 7);
  // Below the first entry (trimmed ones included) nothing stays.
  REQUIRE(s.TrimLogThrough(3).ok());
  REQUIRE(s.TruncateLogAfter(2).ok());
  CHECK(Read(s).empty());
  CHECK(s.first_logged_zxid() == 0);
  CHECK(s.last_logged_zxid() == 0);
  REQUIRE(s.AppendLog(Entries(2, 3), true).ok());
  CHECK(Zxids(Read(s)) == Range(2, 3));
}

TEST_CASE("MemoryStorage TrimLogThrough removes the head", "[sim]") {
  MemoryStorage s;
  REQUIRE(s.TrimLogThrough(5).ok());  // empty: nothing to do
  REQUIRE(s.AppendLog(Entries(1, 10), true).ok());
  REQUIRE(s.TrimLogThrough(4).ok());
  CHECK(s.first_logged_zxid() == 5);
  CHECK(Zxids(Read(s)) == Range(5, 10));
  CHECK(Zxids(Read(s, 2)) == Range(5, 10));
  REQUIRE(s.TrimLogThrough(3).ok());  // below the first: nothing
  CHECK(s.first_logged_zxid() == 5);
  // Through the last: empty, and appends start afresh below the old entries.
  REQUIRE(s.TrimLogThrough(10).ok());
  CHECK(Read(s).empty());
  CHECK(s.last_logged_zxid() == 0);
  REQUIRE(s.AppendLog(Entries(2, 3), true).ok());
  CHECK(Read(s) == Log{{2, "d2"}, {3, "d3"}});
}

TEST_CASE("MemoryStorage WriteState applies a batch's puts and deletes",
          "[sim]") {
  MemoryStorage s;
  CHECK(s.WriteState(nullptr, 1).code() == absl::StatusCode::kInvalidArgument);
  StateBatch batch;
  batch.PutNode("/", "root");
  batch.PutNode("/a", "a1");
  batch.PutNode("/b", "b1");
  batch.PutSession(7, "s7");
  batch.PutSession(8, "s8");
  batch.SetNodeCount(3);
  REQUIRE(s.WriteState(&batch, 5).ok());
  CHECK(batch.empty());
  CHECK(s.applied_zxid() == 5);
  CHECK(s.node_count_hint() == 3);

  // Later changes of one key win, in the order added.
  batch.PutNode("/a", "a2");
  batch.DeleteNode("/b");
  batch.PutNode("/c", "c1");
  batch.DeleteNode("/c");
  batch.DeleteSession(7);
  batch.PutSession(8, "s8'");
  batch.DeleteNode("/never");
  REQUIRE(s.WriteState(&batch, 9).ok());
  CHECK(s.applied_zxid() == 9);
  CHECK(s.node_count_hint() == 2);
  Loaded want;
  want.nodes = {{"/", "root"}, {"/a", "a2"}};
  want.sessions = {{8, "s8'"}};
  CHECK(Load(s) == want);
}

TEST_CASE("MemoryStorage ReplaceState replaces the records and empties the log",
          "[sim]") {
  MemoryStorage s;
  REQUIRE(s.AppendLog(Entries(1, 20), true).ok());
  REQUIRE(s.TrimLogThrough(5).ok());
  REQUIRE(s.SetAcceptedEpoch(3).ok());
  REQUIRE(s.PutMeta("keep", "me", true).ok());
  WriteNode(&s, "/old", 10);
  StateBatch old_sessions;
  old_sessions.PutSession(4, "s4");
  REQUIRE(s.WriteState(&old_sessions, 11).ok());
  CHECK(s.ReplaceState(nullptr, 1).code() ==
        absl::StatusCode::kInvalidArgument);

  StateBatch snapshot;
  snapshot.PutNode("/", "root");
  snapshot.PutNode("/new", "n");
  snapshot.PutSession(9, "s9");
  REQUIRE(s.ReplaceState(&snapshot, 40).ok());
  CHECK(snapshot.empty());
  CHECK(s.applied_zxid() == 40);
  Loaded want;
  want.nodes = {{"/", "root"}, {"/new", "n"}};
  want.sessions = {{9, "s9"}};
  CHECK(Load(s) == want);
  CHECK(Read(s).empty());
  CHECK(s.first_logged_zxid() == 0);
  CHECK(s.last_logged_zxid() == 0);
  // Epochs and metadata stay; the log continues above the snapshot.
  CHECK(s.accepted_epoch() == 3);
  CHECK(Meta(s, "keep") == "me");
  REQUIRE(s.AppendLog(Entries(41, 42), true).ok());
  CHECK(Zxids(Read(s)) == Range(41, 42));
}

TEST_CASE("MemoryStorage metadata and epochs", "[sim]") {
  MemoryStorage s;
  CHECK(s.GetMeta("x").status().code() == absl::StatusCode::kNotFound);
  REQUIRE(s.PutMeta("x", "1", false).ok());
  REQUIRE(s.PutMeta("y", "", true).ok());
  CHECK(Meta(s, "x") == "1");
  CHECK(Meta(s, "y") == "");
  REQUIRE(s.PutMeta("x", "2", true).ok());
  CHECK(Meta(s, "x") == "2");
  // The Store's own records are refused, as the Store does.
  CHECK(s.PutMeta("accepted_epoch", "9", true).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(s.GetMeta("accepted_epoch").status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(s.accepted_epoch() == 0);
  REQUIRE(s.SetAcceptedEpoch(4).ok());
  REQUIRE(s.SetCurrentEpoch(3).ok());
  CHECK(s.accepted_epoch() == 4);
  CHECK(s.current_epoch() == 3);
  CHECK(!s.log_damage().has_value());
}

TEST_CASE("MemoryStorage takes the log and the state from two threads",
          "[sim]") {
  MemoryStorage s;
  constexpr Zxid kCount = 2000;
  absl::Status writer_status;  // Catch2 assertions are not thread-safe
  std::thread writer([&] {
    for (Zxid z = 1; z <= kCount && writer_status.ok(); ++z) {
      writer_status = s.AppendLog(Entries(z, z), z % 2 == 0);
      if (writer_status.ok() && z % 100 == 0) {
        writer_status = s.TrimLogThrough(z - 50);
      }
    }
  });
  int gaps = 0;
  for (Zxid z = 1; z <= kCount / 10; ++z) {
    WriteNode(&s, absl::StrCat("/n", z), z);
    REQUIRE(s.PutMeta("m", absl::StrCat(z), z % 3 == 0).ok());
    const Log log = Read(s);
    if (!log.empty() &&
        Zxids(log) != Range(log.front().first, log.back().first)) {
      ++gaps;
    }
  }
  writer.join();
  REQUIRE(writer_status.ok());
  CHECK(gaps == 0);
  CHECK(Zxids(Read(s)) == Range(kCount - 49, kCount));
  CHECK(s.applied_zxid() == kCount / 10);
  CHECK(Meta(s, "m") == absl::StrCat(kCount / 10));
}

// ---- The same answers as a Store
// ---------------------------------------------

// Random operations applied to both a Store and a MemoryStorage.
class Twin {
 public:
  Twin(Storage* a, Storage* b, uint64_t seed) : a_(a), b_(b), rng_(seed) {}

  // Applies one random operation to both; describes it in *what.
  void Step(std::string* what) {
    const Zxid last = static_cast<MemoryStorage*>(b_)->last_logged_zxid();
    switch (rng_.Uniform(10)) {
      case 0:
      case 1:
      case 2: {
        const Zxid from = rng_.Chance(0.15) ? rng_.Range(0, last) : last + 1;
        const Zxid to = from + rng_.Range(0, 2);
        const bool sync = rng_.Chance(0.5);
        *what = absl::StrCat("AppendLog ", from, "..", to, " sync=", sync);
        Both([&](Storage* s) { return s->AppendLog(Entries(from, to), sync); });
        break;
      }
      case 3: {
        const Zxid z = rng_.Range(0, last + 1);
        *what = absl::StrCat("TruncateLogAfter ", z);
        Both([&](Storage* s) { return s->TruncateLogAfter(z); });
        break;
      }
      case 4:
      case 5: {
        const Zxid z = rng_.Range(0, last + 1);
        *what = absl::StrCat("TrimLogThrough ", z);
        Both([&](Storage* s) { return s->TrimLogThrough(z); });
        break;
      }
      case 6:
      case 7: {
        const Zxid applied = rng_.Range(0, 100);
        const bool replace = rng_.Chance(0.2);
        std::vector<std::function<void(StateBatch*)>> changes;
        const int n = static_cast<int>(rng_.Range(1, 4));
        static const char* const kPaths[] = {"/", "/a", "/a/b", "/a-b", "/b"};
        static const int64_t kIds[] = {1, 2, -1, int64_t{1} << 40};
        for (int i = 0; i < n; ++i) {
          const std::string path = kPaths[rng_.Uniform(5)];
          const int64_t id = kIds[rng_.Uniform(4)];
          const std::string record = absl::StrCat("v", rng_.Uniform(1000));
          switch (rng_.Uniform(4)) {
            case 0:
              changes.push_back(
                  [=](StateBatch* b) { b->PutNode(path, record); });
              break;
            case 1:
              changes.push_back([=](StateBatch* b) { b->DeleteNode(path); });
              break;
            case 2:
              changes.push_back(
                  [=](StateBatch* b) { b->PutSession(id, record); });
              break;
            default:
              changes.push_back([=](StateBatch* b) { b->DeleteSession(id); });
              break;
          }
        }
        *what = absl::StrCat(replace ? "ReplaceState " : "WriteState ", n,
                             " changes at ", applied);
        Both([&](Storage* s) {
          StateBatch batch;
          for (const auto& c : changes) c(&batch);
          return replace ? s->ReplaceState(&batch, applied)
                         : s->WriteState(&batch, applied);
        });
        break;
      }
      case 8: {
        const std::string name = rng_.Chance(0.5) ? "x" : "y";
        const std::string value = absl::StrCat(rng_.Uniform(100));
        const bool sync = rng_.Chance(0.5);
        *what = absl::StrCat("PutMeta ", name, "=", value);
        Both([&](Storage* s) { return s->PutMeta(name, value, sync); });
        break;
      }
      default: {
        const int64_t epoch = rng_.Range(0, 9);
        const bool accepted = rng_.Chance(0.5);
        *what = absl::StrCat(
            accepted ? "SetAcceptedEpoch " : "SetCurrentEpoch ", epoch);
        Both([&](Storage* s) {
          return accepted ? s->SetAcceptedEpoch(epoch)
                          : s->SetCurrentEpoch(epoch);
        });
        break;
      }
    }
  }

  // Checks that both answer every reader alike.
  void Compare() {
    const Zxid last = static_cast<Store*>(a_)->last_logged_zxid();
    CHECK(static_cast<MemoryStorage*>(b_)->last_logged_zxid() == last);
    CHECK(static_cast<MemoryStorage*>(b_)->first_logged_zxid() ==
          static_cast<Store*>(a_)->first_logged_zxid());
    CHECK(Read(*b_) == Read(*a_));
    const Zxid after = rng_.Range(0, last);
    CHECK(Read(*b_, after) == Read(*a_, after));
    CHECK(b_->applied_zxid() == a_->applied_zxid());
    CHECK(Load(*b_) == Load(*a_));
    CHECK(b_->accepted_epoch() == a_->accepted_epoch());
    CHECK(b_->current_epoch() == a_->current_epoch());
    for (const char* name : {"x", "y"}) {
      absl::StatusOr<std::string> ma = a_->GetMeta(name),
                                  mb = b_->GetMeta(name);
      CHECK(mb.status().code() == ma.status().code());
      if (ma.ok() && mb.ok()) CHECK(*mb == *ma);
    }
  }

 private:
  void Both(const std::function<absl::Status(Storage*)>& op) {
    const absl::Status sa = op(a_);
    const absl::Status sb = op(b_);
    INFO("store: " << sa.ToString() << "; memory: " << sb.ToString());
    CHECK(sb.code() == sa.code());
  }

  Storage* const a_;
  Storage* const b_;
  Rng rng_;
};

TEST_CASE("MemoryStorage answers as a Store does over random histories",
          "[sim]") {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    TempDir tmp;
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(tmp.path());
    REQUIRE(store.ok());
    MemoryStorage memory;
    Twin twin(store->get(), &memory, seed);
    for (int step = 0; step < 80; ++step) {
      std::string what;
      twin.Step(&what);
      INFO("seed " << seed << " step " << step << ": " << what);
      twin.Compare();
    }
  }
}

// ---- LoadState's order
// -------------------------------------------------------

txn::Txn Header(Zxid zxid) {
  txn::Txn t;
  t.set_zxid(zxid);
  t.set_time_ms(1000 + zxid);
  return t;
}

void MustApply(DataTree* tree, const txn::Txn& t) {
  ApplyOutput out;
  absl::Status s = tree->Apply(t, &out, nullptr);
  INFO(s.ToString());
  REQUIRE(s.ok());
}

void Create(DataTree* tree, Zxid zxid, const std::string& path,
            int64_t owner = 0) {
  txn::Txn t = Header(zxid);
  t.set_session_id(owner);
  txn::CreateTxn* c = t.mutable_create();
  c->set_path(path);
  c->set_data("data of " + path);
  AclToProto(OpenAcl(), c->mutable_acl());
  c->set_mode(static_cast<int32_t>(owner != 0 ? CreateMode::kEphemeral
                                              : CreateMode::kPersistent));
  c->set_parent_cversion(static_cast<int32_t>(zxid));
  c->set_ephemeral_owner(owner);
  MustApply(tree, t);
}

void OpenSession(DataTree* tree, Zxid zxid, int32_t timeout_ms) {
  txn::Txn t = Header(zxid);
  t.mutable_create_session()->set_timeout_ms(timeout_ms);
  MustApply(tree, t);
}

TEST_CASE(
    "MemoryStorage LoadState gives parents first, in the Store's order, "
    "and a DataTree loads it",
    "[sim]") {
  DataTree source;
  OpenSession(&source, 1, 5000);
  OpenSession(&source, 2, 7000);
  Zxid z = 3;
  for (const char* path : {"/a", "/ab", "/a-b", "/a/b", "/a/b/c", "/a/z",
                           "/a/\xc3\xa9", "/a/b/c/d"}) {
    Create(&source, z++, path);
  }
  Create(&source, z++, "/a/b/e", /*owner=*/2);
  source.SetLastZxid(z - 1);

  // Written children first, as a batch may hold them.
  std::vector<std::string> paths;
  source.ForEachNode(
      [&](const std::string& path, const Znode&) { paths.push_back(path); });
  StateBatch batch;
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) {
    batch.PutNode(*it, source.EncodeNode(*it));
  }
  for (int64_t id : {2, 1}) batch.PutSession(id, source.EncodeSession(id));
  batch.SetNodeCount(source.node_count());
  MemoryStorage s;
  REQUIRE(s.WriteState(&batch, z - 1).ok());

  // Byte order of the paths: '-' < '/' < letters < UTF-8 bytes.
  const std::vector<std::string> want = {
      "/",      "/a",   "/a-b",        "/a/b", "/a/b/c", "/a/b/c/d",
      "/a/b/e", "/a/z", "/a/\xc3\xa9", "/ab",  "/synod"};
  CHECK(Paths(Load(s)) == want);
  CHECK(s.node_count_hint() == source.node_count());

  // Loaded as the Coordinator loads a store.
  DataTree tree;
  tree.Reserve(s.node_count_hint());
  DataTree::LoadCursor cursor;
  REQUIRE(s.LoadState(
               [&](std::string_view path, std::string_view record) {
                 return tree.LoadNode(path, record, &cursor);
               },
               [&](int64_t id, std::string_view record) {
                 return tree.LoadSession(id, record);
               })
              .ok());
  tree.SetLastZxid(s.applied_zxid());
  CHECK(tree.node_count() == source.node_count());
  for (const std::string& path : paths) {
    INFO(path);
    REQUIRE(tree.Find(path) != nullptr);
    CHECK(tree.EncodeNode(path) == source.EncodeNode(path));
    CHECK(tree.Find(path)->children == source.Find(path)->children);
  }
  CHECK(tree.sessions() == source.sessions());
  CHECK(tree.EphemeralsOf(2) == std::vector<std::string>{"/a/b/e"});
  CHECK(tree.last_zxid() == source.last_zxid());
}

TEST_CASE(
    "MemoryStorage LoadState reports as many records as a Store, in "
    "the same order",
    "[sim]") {
  StateBatch for_memory, for_store;
  for (StateBatch* b : {&for_memory, &for_store}) {
    for (const char* path : {"/b", "/a/b", "/a-b", "/a", "/", "/a/\xff",
                             "/a/\x7f", "/a/b/c", "/A"}) {
      b->PutNode(path, std::string("rec") + path);
    }
    for (int64_t id : {int64_t{1} << 56 | 3, int64_t{7}, int64_t{256},
                       int64_t{-5}, int64_t{0}}) {
      b->PutSession(id, absl::StrCat("sess", id));
    }
  }
  TempDir tmp;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(tmp.path());
  REQUIRE(store.ok());
  REQUIRE((*store)->WriteState(&for_store, 1).ok());
  MemoryStorage s;
  REQUIRE(s.WriteState(&for_memory, 1).ok());
  const Loaded want = Load(**store);
  REQUIRE(want.nodes.size() == 9);
  REQUIRE(want.sessions.size() == 5);
  CHECK(Load(s) == want);
}

TEST_CASE("MemoryStorage LoadState stops at the first callback error",
          "[sim]") {
  MemoryStorage s;
  StateBatch batch;
  batch.PutNode("/", "r");
  batch.PutNode("/a", "a");
  batch.PutSession(1, "s");
  REQUIRE(s.WriteState(&batch, 1).ok());
  int nodes = 0, sessions = 0;
  absl::Status status = s.LoadState(
      [&](std::string_view, std::string_view) {
        ++nodes;
        return absl::DataLossError("bad");
      },
      [&](int64_t, std::string_view) {
        ++sessions;
        return absl::OkStatus();
      });
  CHECK(status.code() == absl::StatusCode::kDataLoss);
  CHECK(nodes == 1);
  CHECK(sessions == 0);
}

// ---- The crash model
// ---------------------------------------------------------

constexpr uint64_t kSeeds = 200;

TEST_CASE("MemoryStorage keeps every synced write through any crash", "[sim]") {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    INFO("seed " << seed);
    MemoryStorage s;
    REQUIRE(s.SetAcceptedEpoch(3).ok());
    REQUIRE(s.SetCurrentEpoch(2).ok());
    REQUIRE(s.PutMeta("synced", "1", true).ok());
    REQUIRE(s.AppendLog(Entries(1, 8), false).ok());
    REQUIRE(s.AppendLog(Entries(9, 10), true).ok());  // syncs 1..8 too
    REQUIRE(s.TruncateLogAfter(9).ok());
    // Unsynced writes after them, which the crash may take.
    REQUIRE(s.AppendLog(Entries(10, 14), false).ok());
    REQUIRE(s.PutMeta("unsynced", "2", false).ok());
    WriteNode(&s, "/x", 5);
    REQUIRE(s.TrimLogThrough(4).ok());
    Rng rng(seed);
    s.Crash(&rng);
    CHECK(s.accepted_epoch() == 3);
    CHECK(s.current_epoch() == 2);
    CHECK(Meta(s, "synced") == "1");
    const Log log = Read(s);
    REQUIRE(!log.empty());
    CHECK(log.front().first <= 5);
    CHECK(log.back().first >= 9);
    CHECK(Zxids(log) == Range(log.front().first, log.back().first));
  }
}

TEST_CASE("MemoryStorage loses unsynced writes on some crashes, not all",
          "[sim]") {
  std::set<Zxid> lasts;
  int meta_kept = 0, meta_lost = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    INFO("seed " << seed);
    MemoryStorage s;
    REQUIRE(s.AppendLog(Entries(1, 3), true).ok());
    REQUIRE(s.AppendLog(Entries(4, 5), false).ok());
    REQUIRE(s.AppendLog(Entries(6, 8), false).ok());
    REQUIRE(s.PutMeta("m", "v", false).ok());
    Rng rng(seed);
    s.Crash(&rng);
    const Log log = Read(s);
    // A prefix of the unsynced entries, kept whole.
    REQUIRE(log.size() >= 3);
    CHECK(Zxids(log) == Range(1, log.back().first));
    for (const auto& [zxid, data] : log) CHECK(data == absl::StrCat("d", zxid));
    lasts.insert(log.back().first);
    (s.GetMeta("m").ok() ? meta_kept : meta_lost)++;
  }
  // Every cut happens for some seed: none of the unsynced entries, part of a
  // batch, all of them.
  CHECK(lasts == std::set<Zxid>{3, 4, 5, 6, 7, 8});
  CHECK(meta_kept > 0);
  CHECK(meta_lost > 0);
}

TEST_CASE("MemoryStorage keeps state writes only as a prefix of their sequence",
          "[sim]") {
  constexpr Zxid kWrites = 6;
  std::set<Zxid> applied_seen;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    INFO("seed " << seed);
    MemoryStorage s;
    for (Zxid i = 1; i <= kWrites; ++i) {
      StateBatch batch;
      batch.PutNode(absl::StrCat("/n", i), "r");
      if (i > 1) batch.PutNode(absl::StrCat("/n", i - 1), "updated");
      batch.PutSession(static_cast<int64_t>(i), "s");
      if (i > 2) batch.DeleteSession(static_cast<int64_t>(i - 2));
      REQUIRE(s.WriteState(&batch, i).ok());
    }
    Rng rng(seed);
    s.Crash(&rng);
    // What survives is exactly the first `a` writes.
    const Zxid a = s.applied_zxid();
    applied_seen.insert(a);
    Loaded want;
    for (Zxid i = 1; i <= a; ++i) {
      want.nodes.emplace_back(absl::StrCat("/n", i), i < a ? "updated" : "r");
    }
    for (Zxid i = std::max<Zxid>(1, a - 1); i <= a; ++i) {
      want.sessions.emplace_back(i, "s");
    }
    CHECK(Load(s) == want);
    CHECK(s.node_count_hint() == a);
  }
  CHECK(applied_seen == std::set<Zxid>{0, 1, 2, 3, 4, 5, 6});
}

TEST_CASE("MemoryStorage: a synced write makes the earlier ones durable",
          "[sim]") {
  using Sync = std::function<void(MemoryStorage*)>;
  const std::vector<std::pair<const char*, Sync>> syncs = {
      {"SetAcceptedEpoch",
       [](MemoryStorage* s) { REQUIRE(s->SetAcceptedEpoch(1).ok()); }},
      {"SetCurrentEpoch",
       [](MemoryStorage* s) { REQUIRE(s->SetCurrentEpoch(1).ok()); }},
      {"PutMeta synced",
       [](MemoryStorage* s) { REQUIRE(s->PutMeta("other", "x", true).ok()); }},
  };
  for (const auto& [name, sync] : syncs) {
    INFO(name);
    MemoryStorage s;
    REQUIRE(s.AppendLog(Entries(1, 10), true).ok());
    WriteNode(&s, "/a", 2);
    REQUIRE(s.PutMeta("m", "v", false).ok());
    REQUIRE(s.TrimLogThrough(3).ok());
    WriteNode(&s, "/b", 4);
    sync(&s);
    s.CrashLosingAllUnsynced();
    CHECK(s.applied_zxid() == 4);
    CHECK(Paths(Load(s)) == std::vector<std::string>{"/a", "/b"});
    CHECK(Meta(s, "m") == "v");
    CHECK(s.first_logged_zxid() == 4);
  }
  // Without one, the worst crash loses them all.
  {
    MemoryStorage s;
    REQUIRE(s.AppendLog(Entries(1, 10), true).ok());
    WriteNode(&s, "/a", 2);
    REQUIRE(s.PutMeta("m", "v", false).ok());
    s.CrashLosingAllUnsynced();
    CHECK(s.applied_zxid() == 0);
    CHECK(Load(s).nodes.empty());
    CHECK(!s.GetMeta("m").ok());
    CHECK(s.first_logged_zxid() == 1);
  }
  // A trim makes the state before it durable (never a gap between the
  // state and the log), though the trim itself may be lost.
  MemoryStorage s;
  REQUIRE(s.AppendLog(Entries(1, 10), true).ok());
  WriteNode(&s, "/a", 2);
  REQUIRE(s.PutMeta("m", "v", false).ok());
  REQUIRE(s.TrimLogThrough(2).ok());
  s.CrashLosingAllUnsynced();
  CHECK(s.applied_zxid() == 2);
  CHECK(Paths(Load(s)) == std::vector<std::string>{"/a"});
  CHECK(Meta(s, "m") == "v");
  CHECK(s.first_logged_zxid() == 1);
}

TEST_CASE("MemoryStorage: a lost trim brings entries back, contiguous",
          "[sim]") {
  std::set<Zxid> firsts;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    INFO("seed " << seed);
    MemoryStorage s;
    REQUIRE(s.AppendLog(Entries(1, 10), true).ok());
    REQUIRE(s.TrimLogThrough(4).ok());
    REQUIRE(s.TrimLogThrough(7).ok());
    Rng rng(seed);
    s.Crash(&rng);
    const Log log = Read(s);
    REQUIRE(!log.empty());
    CHECK(Zxids(log) == Range(log.front().first, 10));
    CHECK(s.first_logged_zxid() == log.front().first);
    firsts.insert(log.front().first);
  }
  // The second trim makes the first durable: both kept (8), or the second
  // lost and some of what it hid back (5..8).
  CHECK(firsts == std::set<Zxid>{5, 6, 7, 8});

  MemoryStorage s;
  REQUIRE(s.AppendLog(Entries(1, 10), true).ok());
  REQUIRE(s.TrimLogThrough(10).ok());
  s.CrashLosingAllUnsynced();
  CHECK(Zxids(Read(s)) == Range(1, 10));
}

TEST_CASE("MemoryStorage: entries of an emptied log never come back", "[sim]") {
  for (uint64_t seed = 0; seed <= kSeeds; ++seed) {
    INFO("seed " << seed);
    Rng rng(seed);
    // Trimmed empty, then appended below the trim point (which is reset,
    // so it cannot hide the new entries) or above it.
    for (Zxid from : {3, 20}) {
      MemoryStorage s;
      REQUIRE(s.AppendLog(Entries(1, 10), true).ok());
      REQUIRE(s.TrimLogThrough(10).ok());
      REQUIRE(s.AppendLog(Entries(from, from + 1), true).ok());
      if (seed == 0) {
        s.CrashLosingAllUnsynced();
      } else {
        s.Crash(&rng);
      }
      CHECK(Zxids(Read(s)) == Range(from, from + 1));
    }
    // Truncated empty, then appended.
    MemoryStorage s;
    REQUIRE(s.AppendLog(Entries(1, 10), true).ok());
    REQUIRE(s.TrimLogThrough(5).ok());
    REQUIRE(s.TruncateLogAfter(2).ok());
    REQUIRE(s.AppendLog(Entries(2, 4), true).ok());
    if (seed == 0) {
      s.CrashLosingAllUnsynced();
    } else {
      s.Crash(&rng);
    }
    CHECK(Zxids(Read(s)) == Range(2, 4));
  }
}

TEST_CASE("MemoryStorage: TruncateLogAfter and ReplaceState are synced",
          "[sim]") {
  MemoryStorage s;
  REQUIRE(s.AppendLog(Entries(1, 6), false).ok());
  REQUIRE(s.TruncateLogAfter(4).ok());
  s.CrashLosingAllUnsynced();
  CHECK(Zxids(Read(s)) == Range(1, 4));

  WriteNode(&s, "/lost", 3);
  REQUIRE(s.AppendLog(Entries(5, 6), false).ok());
  StateBatch snapshot;
  snapshot.PutNode("/", "root");
  REQUIRE(s.ReplaceState(&snapshot, 30).ok());
  s.CrashLosingAllUnsynced();
  CHECK(s.applied_zxid() == 30);
  CHECK(Paths(Load(s)) == std::vector<std::string>{"/"});
  CHECK(Read(s).empty());
}

TEST_CASE("MemoryStorage: what a crash leaves survives the next one", "[sim]") {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    INFO("seed " << seed);
    MemoryStorage s;
    REQUIRE(s.AppendLog(Entries(1, 6), false).ok());
    REQUIRE(s.TrimLogThrough(2).ok());
    WriteNode(&s, "/a", 1);
    WriteNode(&s, "/b", 2);
    REQUIRE(s.PutMeta("m", "v", false).ok());
    Rng rng(seed);
    s.Crash(&rng);
    const Log log = Read(s);
    const Loaded loaded = Load(s);
    const Zxid applied = s.applied_zxid();
    const bool meta = s.GetMeta("m").ok();
    s.CrashLosingAllUnsynced();
    CHECK(Read(s) == log);
    CHECK(Load(s) == loaded);
    CHECK(s.applied_zxid() == applied);
    CHECK(s.GetMeta("m").ok() == meta);
  }
}

TEST_CASE("MemoryStorage crashes the same way for the same seed", "[sim]") {
  auto run = [](uint64_t seed) {
    MemoryStorage s;
    REQUIRE(s.AppendLog(Entries(1, 20), false).ok());
    for (Zxid i = 1; i <= 10; ++i) WriteNode(&s, absl::StrCat("/n", i), i);
    REQUIRE(s.TrimLogThrough(8).ok());
    Rng rng(seed);
    s.Crash(&rng);
    return std::make_pair(Read(s), s.applied_zxid());
  };
  std::set<std::pair<Log, Zxid>> outcomes;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    const auto first = run(seed);
    CHECK(run(seed) == first);
    outcomes.insert(first);
  }
  CHECK(outcomes.size() > 10);
}

TEST_CASE("MemoryStorage writes back journal writes past its bound", "[sim]") {
  MemoryStorage s(/*max_unsynced_writes=*/2);
  REQUIRE(s.AppendLog(Entries(1, 10), true).ok());
  REQUIRE(s.TrimLogThrough(3).ok());
  for (Zxid i = 1; i <= 5; ++i) WriteNode(&s, absl::StrCat("/n", i), i);
  s.CrashLosingAllUnsynced();
  // The trim and three state writes were written back; two were lost.
  CHECK(s.applied_zxid() == 3);
  CHECK(Load(s).nodes.size() == 3);
  CHECK(s.first_logged_zxid() == 4);
}

// ---- Injected failures
// -------------------------------------------------------

TEST_CASE("MemoryStorage FailNextWrites fails writes without changing anything",
          "[sim]") {
  MemoryStorage s;
  REQUIRE(s.AppendLog(Entries(1, 3), true).ok());
  s.FailNextWrites(3);
  // Refusals and no-ops do not use up a failure.
  CHECK(s.AppendLog(Entries(2, 2), true).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(s.AppendLog({}, true).ok());
  CHECK(s.TrimLogThrough(0).ok());
  CHECK(s.AppendLog(Entries(4, 5), true).code() ==
        absl::StatusCode::kUnavailable);
  CHECK(s.last_logged_zxid() == 3);
  StateBatch batch;
  batch.PutNode("/a", "a");
  CHECK(s.WriteState(&batch, 3).code() == absl::StatusCode::kInternal);
  CHECK(!batch.empty());
  CHECK(s.applied_zxid() == 0);
  CHECK(s.SetCurrentEpoch(2).code() == absl::StatusCode::kInternal);
  CHECK(s.current_epoch() == 0);
  // The failures are used up: the same writes succeed.
  REQUIRE(s.AppendLog(Entries(4, 5), true).ok());
  REQUIRE(s.WriteState(&batch, 3).ok());
  CHECK(Paths(Load(s)) == std::vector<std::string>{"/a"});
  REQUIRE(s.SetCurrentEpoch(2).ok());
  CHECK(Zxids(Read(s)) == Range(1, 5));

  s.FailNextWrites(1);
  CHECK(s.TrimLogThrough(2).code() == absl::StatusCode::kInternal);
  CHECK(s.first_logged_zxid() == 1);
  REQUIRE(s.TrimLogThrough(2).ok());
  CHECK(s.first_logged_zxid() == 3);
}

}  // namespace
}  // namespace synod::sim
