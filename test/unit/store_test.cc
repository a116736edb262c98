// Tests for Store: directory handling, epochs and metadata, the txn log (in
// segment files, and its migration out of LevelDB), applied state, and how
// corruption and crashes surface. Each test works in its own temporary
// directory.

#include "storage/store.h"
#include "test_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "leveldb/db.h"
#include "leveldb/write_batch.h"
#include "storage/log_file.h"

namespace synod {
namespace {

using testing::TempDir;

namespace fs = std::filesystem;



std::unique_ptr<Store> MustOpen(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(*store);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  REQUIRE(out.good());
}

std::vector<std::string> DirEntries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<LogEntry> Entries(std::vector<Zxid> zxids) {
  std::vector<LogEntry> out;
  for (Zxid z : zxids) out.push_back({z, "txn" + std::to_string(z)});
  return out;
}

std::map<Zxid, std::string> ReadAll(const Store& store, Zxid after = 0) {
  std::map<Zxid, std::string> out;
  REQUIRE_OK(store.ReadLog(after, [&](Zxid z, std::string_view d) {
    out.emplace(z, std::string(d));
    return true;
  }));
  return out;
}

std::vector<Zxid> Keys(const std::map<Zxid, std::string>& m) {
  std::vector<Zxid> out;
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}

// ---- The data directory

TEST_CASE("Open creates a missing directory and reopens it", "[store]") {
  TempDir tmp;
  const std::string dir = tmp.Sub("a/b/data");
  {
    auto store = MustOpen(dir);
    CHECK(store->accepted_epoch() == 0);
    CHECK(store->current_epoch() == 0);
    CHECK(store->applied_zxid() == 0);
    CHECK(store->first_logged_zxid() == 0);
    CHECK(store->last_logged_zxid() == 0);
  }
  CHECK(ReadFile(dir + "/SYNOD") == "synod-data 1\n");
  CHECK(fs::is_directory(dir + "/db"));
  CHECK(fs::is_directory(dir + "/log"));  // the txn log's segment files
  CHECK(DirEntries(dir) == std::vector<std::string>{"SYNOD", "db", "log"});
  auto store = MustOpen(dir);
  absl::StatusOr<std::string> format = store->GetMeta("format");
  REQUIRE(format.ok());
  CHECK(*format == "synod-store-1");
}

TEST_CASE("Open initializes an existing empty directory", "[store]") {
  TempDir tmp;
  { auto store = MustOpen(tmp.path()); }
  CHECK(ReadFile(tmp.Sub("SYNOD")) == "synod-data 1\n");
  MustOpen(tmp.path());
}

TEST_CASE("Open refuses a foreign directory and writes nothing", "[store]") {
  TempDir tmp;
  WriteFile(tmp.Sub("x"), "precious");
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(tmp.path());
  REQUIRE(store.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(store.status().message()),
             Catch::Contains("not a synod data directory: " + tmp.path()));
  CHECK(DirEntries(tmp.path()) == std::vector<std::string>{"x"});
  CHECK(ReadFile(tmp.Sub("x")) == "precious");
}

TEST_CASE("Open refuses a path that is a file", "[store]") {
  TempDir tmp;
  WriteFile(tmp.Sub("f"), "data");
  CHECK(Store::Open(tmp.Sub("f")).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(ReadFile(tmp.Sub("f")) == "data");
}

TEST_CASE("Open checks the marker", "[store]") {
  TempDir tmp;
  { MustOpen(tmp.path()); }
  SECTION("another version") {
    WriteFile(tmp.Sub("SYNOD"), "synod-data 2\n");
    absl::Status s = Store::Open(tmp.path()).status();
    CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
    CHECK_THAT(std::string(s.message()), Catch::Contains("synod-data 2"));
  }
  SECTION("not a marker") {
    WriteFile(tmp.Sub("SYNOD"), "hello\n");
    CHECK(Store::Open(tmp.path()).status().code() ==
          absl::StatusCode::kFailedPrecondition);
  }
  CHECK(DirEntries(tmp.path()) ==
        std::vector<std::string>{"SYNOD", "db", "log"});
}

TEST_CASE("Open checks the store format", "[store]") {
  TempDir tmp;
  { MustOpen(tmp.path()); }
  {
    leveldb::DB* raw = nullptr;
    REQUIRE(leveldb::DB::Open(leveldb::Options(), tmp.Sub("db"), &raw).ok());
    std::unique_ptr<leveldb::DB> db(raw);
    SECTION("another format") {
      REQUIRE(db->Put({}, "m/format", "synod-store-2").ok());
      db.reset();
      CHECK(Store::Open(tmp.path()).status().code() ==
            absl::StatusCode::kFailedPrecondition);
    }
    SECTION("no format record") {
      REQUIRE(db->Delete({}, "m/format").ok());
      db.reset();
      CHECK(Store::Open(tmp.path()).status().code() ==
            absl::StatusCode::kDataLoss);
    }
  }
}

TEST_CASE("Open reports a marker without a database as data loss",
          "[store]") {
  TempDir tmp;
  WriteFile(tmp.Sub("SYNOD"), "synod-data 1\n");
  CHECK(Store::Open(tmp.path()).status().code() == absl::StatusCode::kDataLoss);
  CHECK(DirEntries(tmp.path()) == std::vector<std::string>{"SYNOD"});
}

TEST_CASE("Open refuses a store that is already open", "[store]") {
  TempDir tmp;
  {
    auto store = MustOpen(tmp.path());
    absl::Status s = Store::Open(tmp.path()).status();
    CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
    CHECK_THAT(std::string(s.message()), Catch::Contains("in use"));
  }
  MustOpen(tmp.path());  // released on close
}

TEST_CASE("Open refuses a store locked by another process", "[store]") {
  TempDir tmp;
  { MustOpen(tmp.path()); }
  const std::string lock_path = tmp.Sub("db/LOCK");
  int ready[2], done[2];
  REQUIRE(pipe(ready) == 0);
  REQUIRE(pipe(done) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {  // child: hold the lock as LevelDB would, until told
    int fd = open(lock_path.c_str(), O_RDWR);
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    char c = (fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0) ? 'y' : 'n';
    if (write(ready[1], &c, 1) != 1) _exit(1);
    if (read(done[0], &c, 1) != 1) _exit(1);
    _exit(0);
  }
  char c = 0;
  REQUIRE(read(ready[0], &c, 1) == 1);
  REQUIRE(c == 'y');
  absl::Status s = Store::Open(tmp.path()).status();
  REQUIRE(write(done[1], "x", 1) == 1);
  int wstatus = 0;
  REQUIRE(waitpid(pid, &wstatus, 0) == pid);
  for (int fd : {ready[0], ready[1], done[0], done[1]}) close(fd);
  CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(s.message()), Catch::Contains("in use"));
  MustOpen(tmp.path());
}

// ---- Epochs and metadata

TEST_CASE("Epochs persist across reopen", "[store]") {
  TempDir tmp;
  {
    auto store = MustOpen(tmp.path());
    REQUIRE_OK(store->SetAcceptedEpoch(7));
    REQUIRE_OK(store->SetCurrentEpoch(6));
    CHECK(store->accepted_epoch() == 7);
    CHECK(store->current_epoch() == 6);
  }
  auto store = MustOpen(tmp.path());
  CHECK(store->accepted_epoch() == 7);
  CHECK(store->current_epoch() == 6);
}

TEST_CASE("Metadata get and put", "[store]") {
  TempDir tmp;
  {
    auto store = MustOpen(tmp.path());
    CHECK(store->GetMeta("last_session").status().code() ==
          absl::StatusCode::kNotFound);
    REQUIRE_OK(store->PutMeta("last_session", std::string("\0\1", 2), false));
    REQUIRE_OK(store->PutMeta("other", "v1", true));
    REQUIRE_OK(store->PutMeta("other", "v2", true));
    CHECK(store->PutMeta("accepted_epoch", "x", true).code() ==
          absl::StatusCode::kInvalidArgument);
    CHECK(store->PutMeta("applied_zxid", "x", true).code() ==
          absl::StatusCode::kInvalidArgument);
  }
  auto store = MustOpen(tmp.path());
  CHECK(*store->GetMeta("last_session") == std::string("\0\1", 2));
  CHECK(*store->GetMeta("other") == "v2");
  CHECK(store->GetMeta("missing").status().code() ==
        absl::StatusCode::kNotFound);
}

// ---- The txn log

TEST_CASE("AppendLog enforces increasing zxids", "[store]") {
  TempDir tmp;
  auto store = MustOpen(tmp.path());
  REQUIRE_OK(store->AppendLog(Entries({1, 2, 5}), true));
  CHECK(store->first_logged_zxid() == 1);
  CHECK(store->last_logged_zxid() == 5);
  const std::vector<std::vector<Zxid>> bad = {
      {7, 6},     // out of order
      {8, 8},     // duplicate within the batch
      {5},        // equal to the last
      {3, 9},     // below the last
      {0},        // not positive
  };
  for (const auto& zxids : bad) {
    CAPTURE(zxids);
    CHECK(store->AppendLog(Entries(zxids), true).code() ==
          absl::StatusCode::kInvalidArgument);
    CHECK(Keys(ReadAll(*store)) == std::vector<Zxid>{1, 2, 5});
    CHECK(store->last_logged_zxid() == 5);
  }
  REQUIRE_OK(store->AppendLog({}, true));
  REQUIRE_OK(store->AppendLog(Entries({6, MakeZxid(2, 1)}), false));
  CHECK(store->last_logged_zxid() == MakeZxid(2, 1));
  CHECK(ReadAll(*store).at(MakeZxid(2, 1)) ==
        "txn" + std::to_string(MakeZxid(2, 1)));
}

TEST_CASE("ReadLog from the middle and early stop", "[store]") {
  TempDir tmp;
  auto store = MustOpen(tmp.path());
  // Zxids whose bytes straddle byte boundaries check numeric key order.
  const std::vector<Zxid> zxids = {1, 2, 255, 256, 257, 65536,
                                   MakeZxid(1, 1), MakeZxid(300, 7)};
  REQUIRE_OK(store->AppendLog(Entries(zxids), true));
  CHECK(Keys(ReadAll(*store)) == zxids);
  CHECK(Keys(ReadAll(*store, 255)) ==
        std::vector<Zxid>(zxids.begin() + 3, zxids.end()));
  CHECK(Keys(ReadAll(*store, 3)) ==
        std::vector<Zxid>(zxids.begin() + 2, zxids.end()));
  CHECK(ReadAll(*store, MakeZxid(300, 7)).empty());

  std::vector<Zxid> seen;
  REQUIRE_OK(store->ReadLog(2, [&](Zxid z, std::string_view data) {
    CHECK(data == "txn" + std::to_string(z));
    seen.push_back(z);
    return seen.size() < 2;
  }));
  CHECK(seen == std::vector<Zxid>{255, 256});
}

TEST_CASE("TruncateLogAfter removes the tail durably", "[store]") {
  TempDir tmp;
  {
    auto store = MustOpen(tmp.path());
    REQUIRE_OK(store->AppendLog(Entries({10, 20, 30, 40}), true));
    REQUIRE_OK(store->TruncateLogAfter(25));
    CHECK(store->last_logged_zxid() == 20);
    CHECK(store->first_logged_zxid() == 10);
    REQUIRE_OK(store->TruncateLogAfter(100));  // nothing above: no-op
    CHECK(Keys(ReadAll(*store)) == std::vector<Zxid>{10, 20});
    // The log may grow again from the truncation point.
    REQUIRE_OK(store->AppendLog(Entries({21}), true));
  }
  {
    auto store = MustOpen(tmp.path());
    CHECK(store->first_logged_zxid() == 10);
    CHECK(store->last_logged_zxid() == 21);
    CHECK(Keys(ReadAll(*store)) == std::vector<Zxid>{10, 20, 21});
    REQUIRE_OK(store->TruncateLogAfter(5));
    CHECK(store->first_logged_zxid() == 0);
    CHECK(store->last_logged_zxid() == 0);
  }
  auto store = MustOpen(tmp.path());
  CHECK(store->last_logged_zxid() == 0);
  CHECK(ReadAll(*store).empty());
}

TEST_CASE("TrimLogThrough removes the head", "[store]") {
  TempDir tmp;
  {
    auto store = MustOpen(tmp.path());
    REQUIRE_OK(store->AppendLog(Entries({10, 20, 30, 40}), true));
    REQUIRE_OK(store->TrimLogThrough(5));
    CHECK(store->first_logged_zxid() == 10);
    REQUIRE_OK(store->TrimLogThrough(25));
    CHECK(store->first_logged_zxid() == 30);
    CHECK(store->last_logged_zxid() == 40);
    CHECK(Keys(ReadAll(*store)) == std::vector<Zxid>{30, 40});
  }
  {
    auto store = MustOpen(tmp.path());
    CHECK(store->first_logged_zxid() == 30);
    CHECK(store->last_logged_zxid() == 40);
    REQUIRE_OK(store->TrimLogThrough(40));
    CHECK(store->first_logged_zxid() == 0);
    CHECK(store->last_logged_zxid() == 0);
  }
  auto store = MustOpen(tmp.path());
  CHECK(store->first_logged_zxid() == 0);
  CHECK(ReadAll(*store).empty());
}

TEST_CASE("TrimLogThrough spans several chunks", "[store]") {
  TempDir tmp;
  auto store = MustOpen(tmp.path());
  std::vector<LogEntry> entries;
  for (Zxid z = 1; z <= 25000; ++z) entries.push_back({z, "t"});
  REQUIRE_OK(store->AppendLog(entries, false));
  REQUIRE_OK(store->TrimLogThrough(24990));
  CHECK(store->first_logged_zxid() == 24991);
  CHECK(store->last_logged_zxid() == 25000);
  CHECK(ReadAll(*store).size() == 10);
  CHECK(ReadAll(*store).begin()->first == 24991);
}

TEST_CASE("The log and the state can be written from two threads",
          "[store]") {
  TempDir tmp;
  auto store = MustOpen(tmp.path());
  constexpr Zxid kLast = 5000;
  absl::Status append_status;  // Catch2 assertions are not thread-safe
  std::thread appender([&] {
    for (Zxid z = 1; z <= kLast && append_status.ok(); z += 10) {
      std::vector<Zxid> zxids;
      for (Zxid i = z; i < z + 10; ++i) zxids.push_back(i);
      append_status = store->AppendLog(Entries(zxids), z % 1000 == 1);
    }
  });
  StateBatch batch;
  Zxid applied = 0;
  absl::Status state_status;
  while (applied < kLast && state_status.ok()) {
    applied = store->last_logged_zxid();
    batch.PutNode("/n", std::to_string(applied));
    state_status = store->WriteState(&batch, applied);
    if (state_status.ok()) state_status = store->TrimLogThrough(applied - 100);
  }
  appender.join();
  REQUIRE_OK(append_status);
  REQUIRE_OK(state_status);
  CHECK(store->applied_zxid() == kLast);
  CHECK(store->last_logged_zxid() == kLast);
  const Zxid first = store->first_logged_zxid();
  CHECK(first >= kLast - 100);
  std::vector<Zxid> expected;
  for (Zxid z = first; z <= kLast; ++z) expected.push_back(z);
  CHECK(Keys(ReadAll(*store)) == expected);
}

TEST_CASE("Synced log entries survive a process crash", "[store]") {
  TempDir tmp;
  { MustOpen(tmp.path()); }
  SECTION("close and reopen") {
    {
      auto store = MustOpen(tmp.path());
      REQUIRE_OK(store->AppendLog(Entries({1, 2, 3}), true));
      REQUIRE_OK(store->AppendLog(Entries({4}), true));
    }
  }
  SECTION("exit without closing") {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // No destructors run: the DB is never closed.
      auto store = Store::Open(tmp.path());
      bool ok = store.ok() &&
                (*store)->AppendLog(Entries({1, 2, 3}), true).ok() &&
                (*store)->AppendLog(Entries({4}), true).ok();
      _exit(ok ? 0 : 1);
    }
    int wstatus = 0;
    REQUIRE(waitpid(pid, &wstatus, 0) == pid);
    REQUIRE(WIFEXITED(wstatus));
    REQUIRE(WEXITSTATUS(wstatus) == 0);
  }
  auto store = MustOpen(tmp.path());
  CHECK(store->first_logged_zxid() == 1);
  CHECK(store->last_logged_zxid() == 4);
  CHECK(Keys(ReadAll(*store)) == std::vector<Zxid>{1, 2, 3, 4});
}

// ---- Applied state

struct Loaded {
  std::vector<std::pair<std::string, std::string>> nodes;
  std::map<int64_t, std::string> sessions;
};

Loaded Load(const Store& store) {
  Loaded out;
  REQUIRE_OK(store.LoadState(
      [&](std::string_view path, std::string_view record) {
        out.nodes.emplace_back(std::string(path), std::string(record));
        return absl::OkStatus();
      },
      [&](int64_t id, std::string_view record) {
        out.sessions.emplace(id, std::string(record));
        return absl::OkStatus();
      }));
  return out;
}

TEST_CASE("WriteState persists records and the applied zxid", "[store]") {
  TempDir tmp;
  {
    auto store = MustOpen(tmp.path());
    StateBatch batch;
    CHECK(batch.empty());
    batch.PutNode("/", "root");
    batch.PutNode("/a", "a1");
    batch.PutNode("/gone", "x");
    batch.PutSession(1, "s1");
    batch.PutSession(2, "s2");
    CHECK_FALSE(batch.empty());
    REQUIRE_OK(store->WriteState(&batch, 10));
    CHECK(batch.empty());
    CHECK(store->applied_zxid() == 10);

    batch.PutNode("/a", "a2");
    batch.DeleteNode("/gone");
    batch.DeleteSession(1);
    REQUIRE_OK(store->WriteState(&batch, 12));
    REQUIRE_OK(store->WriteState(&batch, 13));  // empty batch, new zxid
  }
  auto store = MustOpen(tmp.path());
  CHECK(store->applied_zxid() == 13);
  Loaded loaded = Load(*store);
  using Node = std::pair<std::string, std::string>;
  CHECK(loaded.nodes == std::vector<Node>{{"/", "root"}, {"/a", "a2"}});
  CHECK(loaded.sessions == std::map<int64_t, std::string>{{2, "s2"}});
}

TEST_CASE("Metadata in a state batch is written with the state, atomically",
          "[store]") {
  TempDir tmp;
  {
    auto store = MustOpen(tmp.path());
    StateBatch batch;
    batch.PutNode("/", "root");
    batch.PutMeta("config", "c1");
    REQUIRE_OK(store->WriteState(&batch, 10));
    CHECK(store->GetMeta("config").value() == "c1");
    batch.PutMeta("config", "c2");
    REQUIRE_OK(store->WriteState(&batch, 11));
  }
  {
    auto store = MustOpen(tmp.path());
    CHECK(store->GetMeta("config").value() == "c2");
    // A snapshot brings its own.
    StateBatch batch;
    batch.PutNode("/", "root2");
    batch.PutMeta("config", "c3");
    REQUIRE_OK(store->ReplaceState(&batch, 20));
  }
  auto store = MustOpen(tmp.path());
  CHECK(store->applied_zxid() == 20);
  CHECK(store->GetMeta("config").value() == "c3");
}

TEST_CASE("A moved-from StateBatch is empty and usable", "[store]") {
  TempDir tmp;
  auto store = MustOpen(tmp.path());
  StateBatch a;
  a.PutNode("/x", "1");
  StateBatch b(std::move(a));
  CHECK(a.empty());
  CHECK_FALSE(b.empty());
  a.PutNode("/y", "2");
  StateBatch c;
  c = std::move(b);
  REQUIRE_OK(store->WriteState(&a, 1));
  REQUIRE_OK(store->WriteState(&c, 2));
  Loaded loaded;
  REQUIRE_OK(store->LoadState(
      [&](std::string_view path, std::string_view record) {
        loaded.nodes.emplace_back(std::string(path), std::string(record));
        return absl::OkStatus();
      },
      nullptr));
  using Node = std::pair<std::string, std::string>;
  CHECK(loaded.nodes == std::vector<Node>{{"/x", "1"}, {"/y", "2"}});
}

TEST_CASE("LoadState visits parents before children, then sessions",
          "[store]") {
  TempDir tmp;
  auto store = MustOpen(tmp.path());
  StateBatch batch;
  for (const char* path : {"/b", "/a/b", "/a-b", "/a", "/"}) {
    batch.PutNode(path, std::string("rec") + path);
  }
  const std::vector<int64_t> ids = {int64_t{1} << 56 | 3, 7, 256, -5};
  for (int64_t id : ids) batch.PutSession(id, "sess" + std::to_string(id));
  REQUIRE_OK(store->WriteState(&batch, 1));

  Loaded loaded = Load(*store);
  std::vector<std::string> paths;
  for (const auto& [path, record] : loaded.nodes) {
    CHECK(record == "rec" + path);
    paths.push_back(path);
  }
  REQUIRE(paths.size() == 5);
  auto pos = [&](const std::string& p) {
    return std::find(paths.begin(), paths.end(), p) - paths.begin();
  };
  CHECK(pos("/") < pos("/a"));
  CHECK(pos("/") < pos("/b"));
  CHECK(pos("/") < pos("/a-b"));
  CHECK(pos("/a") < pos("/a/b"));
  REQUIRE(loaded.sessions.size() == ids.size());
  for (int64_t id : ids) {
    CHECK(loaded.sessions[id] == "sess" + std::to_string(id));
  }
}

TEST_CASE("LoadState stops at the first callback error", "[store]") {
  TempDir tmp;
  auto store = MustOpen(tmp.path());
  StateBatch batch;
  batch.PutNode("/", "r");
  batch.PutNode("/a", "a");
  batch.PutNode("/b", "b");
  batch.PutSession(1, "s1");
  batch.PutSession(2, "s2");
  REQUIRE_OK(store->WriteState(&batch, 1));

  int nodes = 0, sessions = 0;
  auto count_session = [&](int64_t, std::string_view) {
    ++sessions;
    return absl::OkStatus();
  };
  absl::Status s = store->LoadState(
      [&](std::string_view path, std::string_view) {
        ++nodes;
        return path == "/a" ? absl::AbortedError("bad node /a")
                            : absl::OkStatus();
      },
      count_session);
  CHECK(s == absl::AbortedError("bad node /a"));
  CHECK(nodes == 2);
  CHECK(sessions == 0);

  nodes = sessions = 0;
  s = store->LoadState(
      [&](std::string_view, std::string_view) {
        ++nodes;
        return absl::OkStatus();
      },
      [&](int64_t, std::string_view) {
        ++sessions;
        return absl::InternalError("bad session");
      });
  CHECK(s == absl::InternalError("bad session"));
  CHECK(nodes == 3);
  CHECK(sessions == 1);
}

// ---- Corruption

// Deterministic data that snappy cannot shrink much, so that the log
// entries fill the tables.
std::string Noise(uint64_t seed, size_t n) {
  std::string out(n, '\0');
  for (char& c : out) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    c = static_cast<char>(seed >> 56);
  }
  return out;
}

void Populate(const std::string& dir) {
  auto store = MustOpen(dir);
  REQUIRE_OK(store->SetAcceptedEpoch(3));
  std::vector<LogEntry> entries;
  for (Zxid z = 1; z <= 2000; ++z) entries.push_back({z, Noise(z, 1000)});
  REQUIRE_OK(store->AppendLog(entries, true));
  StateBatch batch;
  for (int i = 0; i < 200; ++i) {
    batch.PutNode("/n" + std::to_string(i), Noise(i, 100));
  }
  REQUIRE_OK(store->WriteState(&batch, 2000));
}

// Flips bytes in the middle of each non-empty file of `dir` whose name ends
// with one of `suffixes`; returns how many files it changed.
int CorruptMiddle(const std::string& dir, std::vector<std::string> suffixes) {
  int changed = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    bool match = false;
    for (const auto& s : suffixes) {
      match |= name.size() >= s.size() &&
               name.compare(name.size() - s.size(), s.size(), s) == 0;
    }
    if (!match || fs::file_size(e.path()) == 0) continue;
    std::string bytes = ReadFile(e.path().string());
    const size_t mid = bytes.size() / 2;
    for (size_t i = mid; i < std::min(bytes.size(), mid + 64); ++i) {
      bytes[i] ^= 0x5a;
    }
    WriteFile(e.path().string(), bytes);
    ++changed;
  }
  return changed;
}

// Opens the store whose LevelDB files are corrupted and requires DataLoss
// from Open or, if Open cannot see the damage, from reading the log or the
// state. (The log used to be in LevelDB and had to fail; it is now in its
// own files, so the damage may be in the state alone.)
void RequireDataLoss(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir);
  if (!store.ok()) {
    INFO(store.status().ToString());
    CHECK(store.status().code() == absl::StatusCode::kDataLoss);
    return;
  }
  absl::Status log_status =
      (*store)->ReadLog(0, [](Zxid z, std::string_view data) {
        CHECK(data == Noise(z, 1000));  // never wrong data
        return true;
      });
  INFO(log_status.ToString());
  CHECK((log_status.ok() || log_status.code() == absl::StatusCode::kDataLoss));
  // The state may be in undamaged blocks; if it loads, it must be right.
  int nodes = 0;
  absl::Status s = (*store)->LoadState(
      [&](std::string_view path, std::string_view record) {
        CHECK(record == Noise(std::stoi(std::string(path.substr(2))), 100));
        ++nodes;
        return absl::OkStatus();
      },
      nullptr);
  INFO(s.ToString());
  CHECK((s.code() == absl::StatusCode::kDataLoss || (s.ok() && nodes == 200)));
  CHECK((log_status.code() == absl::StatusCode::kDataLoss ||
         s.code() == absl::StatusCode::kDataLoss));
}

TEST_CASE("Corrupted tables surface as data loss", "[store]") {
  TempDir tmp;
  Populate(tmp.path());
  { MustOpen(tmp.path()); }  // reopening moves the log into a table
  REQUIRE(CorruptMiddle(tmp.Sub("db"), {".ldb", ".log"}) >= 1);
  RequireDataLoss(tmp.path());
}

TEST_CASE("A corrupted write-ahead log surfaces as data loss", "[store]") {
  TempDir tmp;
  Populate(tmp.path());  // still only in the .log file
  REQUIRE(CorruptMiddle(tmp.Sub("db"), {".log"}) == 1);
  RequireDataLoss(tmp.path());
}

TEST_CASE("A truncated MANIFEST surfaces as data loss", "[store]") {
  TempDir tmp;
  Populate(tmp.path());
  { MustOpen(tmp.path()); }
  int truncated = 0;
  for (const auto& e : fs::directory_iterator(tmp.Sub("db"))) {
    if (e.path().filename().string().rfind("MANIFEST-", 0) != 0) continue;
    fs::resize_file(e.path(), fs::file_size(e.path()) / 2);
    ++truncated;
  }
  REQUIRE(truncated == 1);
  RequireDataLoss(tmp.path());
}

// ---- The log's segment files

// Makes stores opened in its scope roll their log over at `bytes`.
class SmallSegments {
 public:
  explicit SmallSegments(uint64_t bytes) { SetLogSegmentBytesForTesting(bytes); }
  ~SmallSegments() { SetLogSegmentBytesForTesting(0); }
};

// The segment files of the store in `dir`, in log order.
std::vector<std::string> Segments(const std::string& dir) {
  return DirEntries(dir + "/log");
}

// Appends zxids first..last, `per_call` entries per call, with 200-byte
// payloads (several records per 4 KiB segment).
void AppendRange(Store* store, Zxid first, Zxid last, int per_call = 3) {
  for (Zxid z = first; z <= last; z += per_call) {
    std::vector<LogEntry> entries;
    for (Zxid i = z; i < z + per_call && i <= last; ++i) {
      entries.push_back({i, Noise(i, 200)});
    }
    REQUIRE_OK(store->AppendLog(entries, true));
  }
}

void RequireRange(const Store& store, Zxid first, Zxid last) {
  CHECK(store.first_logged_zxid() == first);
  CHECK(store.last_logged_zxid() == last);
  std::map<Zxid, std::string> all = ReadAll(store);
  std::vector<Zxid> expected;
  for (Zxid z = first; first != 0 && z <= last; ++z) expected.push_back(z);
  CHECK(Keys(all) == expected);
  for (const auto& [z, data] : all) CHECK(data == Noise(z, 200));
}

TEST_CASE("The log rolls over to new segments and reads across them",
          "[store]") {
  SmallSegments small(4096);
  TempDir tmp;
  {
    auto store = MustOpen(tmp.path());
    AppendRange(store.get(), 1, 100);
    RequireRange(*store, 1, 100);
    CHECK(Keys(ReadAll(*store, 57)).front() == 58);
    CHECK(Keys(ReadAll(*store, 57)).size() == 43);
  }
  std::vector<std::string> files = Segments(tmp.path());
  CHECK(files.size() >= 5);
  CHECK(files.front() == "0000000000000001.log");
  auto store = MustOpen(tmp.path());
  RequireRange(*store, 1, 100);
  AppendRange(store.get(), 101, 120);
  RequireRange(*store, 1, 120);
}

TEST_CASE("TruncateLogAfter cuts across segment boundaries", "[store]") {
  SmallSegments small(4096);
  TempDir tmp;
  {
    auto store = MustOpen(tmp.path());
    AppendRange(store.get(), 1, 100);
    const size_t before = Segments(tmp.path()).size();
    REQUIRE_OK(store->TruncateLogAfter(30));
    RequireRange(*store, 1, 30);
    CHECK(Segments(tmp.path()).size() < before);
    AppendRange(store.get(), 31, 40);  // grows again from the cut
    RequireRange(*store, 1, 40);
  }
  {
    auto store = MustOpen(tmp.path());
    RequireRange(*store, 1, 40);
    REQUIRE_OK(store->TruncateLogAfter(0));
    RequireRange(*store, 0, 0);
  }
  auto store = MustOpen(tmp.path());
  RequireRange(*store, 0, 0);
  CHECK(Segments(tmp.path()).empty());
}

TEST_CASE("TrimLogThrough survives a restart inside a segment", "[store]") {
  SmallSegments small(4096);
  TempDir tmp;
  {
    auto store = MustOpen(tmp.path());
    AppendRange(store.get(), 1, 100);
    REQUIRE_OK(store->TrimLogThrough(47));
    RequireRange(*store, 48, 100);
    // Whole segments below the trim point are gone; the one holding 47 stays.
    CHECK(Segments(tmp.path()).front() != "0000000000000001.log");
  }
  {
    auto store = MustOpen(tmp.path());
    RequireRange(*store, 48, 100);
    CHECK(Keys(ReadAll(*store, 10)).front() == 48);
    // Trim everything, then append below the old trim point: an empty log
    // takes any zxid, and it must not be hidden after a restart.
    REQUIRE_OK(store->TrimLogThrough(100));
    RequireRange(*store, 0, 0);
  }
  {
    auto store = MustOpen(tmp.path());
    RequireRange(*store, 0, 0);
    AppendRange(store.get(), 5, 9);
  }
  auto store = MustOpen(tmp.path());
  RequireRange(*store, 5, 9);
}

TEST_CASE("A truncate below the trim point leaves an empty log", "[store]") {
  TempDir tmp;
  {
    auto store = MustOpen(tmp.path());
    AppendRange(store.get(), 1, 10);
    REQUIRE_OK(store->TrimLogThrough(5));
    REQUIRE_OK(store->TruncateLogAfter(3));
    RequireRange(*store, 0, 0);
    AppendRange(store.get(), 4, 6);  // zxids the trim point once covered
    RequireRange(*store, 4, 6);
  }
  auto store = MustOpen(tmp.path());
  RequireRange(*store, 4, 6);
}

TEST_CASE("A torn tail of the last segment is dropped on open", "[store]") {
  SmallSegments small(4096);
  TempDir tmp;
  {
    auto store = MustOpen(tmp.path());
    AppendRange(store.get(), 1, 40);
  }
  const std::string last = tmp.Sub("log/" + Segments(tmp.path()).back());
  Zxid expect_last = 40;
  SECTION("cut inside the last record") {
    // Preallocated zeros follow the records: cut them, then the record.
    std::string bytes = ReadFile(last);
    size_t end = bytes.size();
    while (end > 0 && bytes[end - 1] == 0) --end;
    fs::resize_file(last, end - 5);
    expect_last = 39;
  }
  SECTION("a partial record header") {
    std::string bytes = ReadFile(last);
    size_t end = bytes.size();
    while (end > 0 && bytes[end - 1] == 0) --end;
    bytes.resize(end);
    WriteFile(last, bytes + std::string("\x17\x00\x00", 3));
  }
  SECTION("a record with a bad checksum at the end") {
    std::string bytes = ReadFile(last);
    size_t end = bytes.size();
    while (end > 0 && bytes[end - 1] == 0) --end;
    bytes[end - 3] ^= 0x40;
    WriteFile(last, bytes);
    expect_last = 39;
  }
  SECTION("garbage after the records") {
    std::string bytes = ReadFile(last);
    size_t end = bytes.size();
    while (end > 0 && bytes[end - 1] == 0) --end;
    bytes.resize(end);
    WriteFile(last, bytes + Noise(7, 100));
  }
  {
    auto store = MustOpen(tmp.path());
    RequireRange(*store, 1, expect_last);
    AppendRange(store.get(), expect_last + 1, expect_last + 5);
  }
  auto store = MustOpen(tmp.path());
  RequireRange(*store, 1, expect_last + 5);
}

TEST_CASE("An empty last segment (crash after creating it) is dropped",
          "[store]") {
  TempDir tmp;
  {
    auto store = MustOpen(tmp.path());
    AppendRange(store.get(), 1, 5);
  }
  WriteFile(tmp.Sub("log/00000000000000ff.log"), "synod");
  {
    auto store = MustOpen(tmp.path());
    RequireRange(*store, 1, 5);
  }
  CHECK(Segments(tmp.path()) ==
        std::vector<std::string>{"0000000000000001.log"});
}

// Returns the contents of every file under `dir`, by path.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out[e.path().string()] = ReadFile(e.path().string());
  }
  return out;
}

TEST_CASE("A corrupted log record surfaces as data loss", "[store]") {
  SmallSegments small(4096);
  TempDir tmp;
  {
    auto store = MustOpen(tmp.path());
    AppendRange(store.get(), 1, 60);
  }
  std::vector<std::string> files = Segments(tmp.path());
  REQUIRE(files.size() >= 3);
  std::string victim;
  SECTION("in an earlier segment") { victim = files[1]; }
  SECTION("in the middle of the last segment") { victim = files.back(); }
  const std::string path = tmp.Sub("log/" + victim);
  std::string bytes = ReadFile(path);
  bytes[56 + 16 + 5] ^= 0x01;  // the first record's data (after the header)
  WriteFile(path, bytes);
  // LevelDB rolls its own files over on every open; the log is untouched.
  const std::map<std::string, std::string> before = Snapshot(tmp.Sub("log"));
  absl::Status s = Store::Open(tmp.path()).status();
  INFO(s.ToString());
  CHECK(s.code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(s.message()), Catch::Contains(victim));
  CHECK_THAT(std::string(s.message()), Catch::Contains("offset 56"));
  CHECK(Snapshot(tmp.Sub("log")) == before);
}

TEST_CASE("Out-of-order or misnamed segments surface as data loss",
          "[store]") {
  SmallSegments small(4096);
  TempDir tmp;
  {
    auto store = MustOpen(tmp.path());
    AppendRange(store.get(), 1, 60);
  }
  std::vector<std::string> files = Segments(tmp.path());
  SECTION("a misnamed segment") {
    fs::rename(tmp.Sub("log/" + files[1]), tmp.Sub("log/00000000000000fe.log"));
  }
  SECTION("a stray file") {
    WriteFile(tmp.Sub("log/notes.txt"), "x");
  }
  CHECK(Store::Open(tmp.path()).status().code() == absl::StatusCode::kDataLoss);
}

// Rewrites the store in `dir` the way the code before the log files left
// it: the log in l/<zxid BE64> keys, no m/log_files, no log directory.
// `keep_files` keeps the log directory (a migration that crashed midway).
void MakeLegacyLog(const std::string& dir, Zxid first, Zxid last,
                   bool keep_files = false) {
  if (!keep_files) fs::remove_all(dir + "/log");
  leveldb::DB* raw = nullptr;
  REQUIRE(leveldb::DB::Open(leveldb::Options(), dir + "/db", &raw).ok());
  std::unique_ptr<leveldb::DB> db(raw);
  leveldb::WriteBatch batch;
  batch.Delete("m/log_files");
  for (Zxid z = first; z <= last; ++z) {
    std::string key = "l/";
    for (int shift = 56; shift >= 0; shift -= 8) {
      key.push_back(static_cast<char>(static_cast<uint64_t>(z) >> shift));
    }
    batch.Put(key, Noise(z, 200));
  }
  leveldb::WriteOptions sync;
  sync.sync = true;
  REQUIRE(db->Write(sync, &batch).ok());
}

// Counts the l/ keys left in the LevelDB of `dir`.
int LegacyKeys(const std::string& dir) {
  leveldb::DB* raw = nullptr;
  REQUIRE(leveldb::DB::Open(leveldb::Options(), dir + "/db", &raw).ok());
  std::unique_ptr<leveldb::DB> db(raw);
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator({}));
  int n = 0;
  for (it->Seek("l/"); it->Valid() && it->key().starts_with("l/"); it->Next()) {
    ++n;
  }
  return n;
}

TEST_CASE("Open moves a log kept in LevelDB into the log files", "[store]") {
  SmallSegments small(4096);
  TempDir tmp;
  {
    auto store = MustOpen(tmp.path());
    REQUIRE_OK(store->SetCurrentEpoch(2));
    StateBatch batch;
    batch.PutNode("/", "root");
    REQUIRE_OK(store->WriteState(&batch, 10));
  }
  SECTION("a complete old store") { MakeLegacyLog(tmp.path(), 5, 50); }
  SECTION("a migration that crashed after copying part of the log") {
    {
      auto store = MustOpen(tmp.path());
      AppendRange(store.get(), 5, 20);
    }
    MakeLegacyLog(tmp.path(), 5, 50, /*keep_files=*/true);
  }
  {
    auto store = MustOpen(tmp.path());
    RequireRange(*store, 5, 50);
    CHECK(store->current_epoch() == 2);
    CHECK(store->applied_zxid() == 10);
    AppendRange(store.get(), 51, 55);
  }
  CHECK(LegacyKeys(tmp.path()) == 0);
  CHECK(Segments(tmp.path()).size() > 1);
  auto store = MustOpen(tmp.path());
  RequireRange(*store, 5, 55);
  CHECK(*store->GetMeta("format") == "synod-store-1");
}

TEST_CASE("Open migrates an old store with an empty log", "[store]") {
  TempDir tmp;
  { MustOpen(tmp.path()); }
  MakeLegacyLog(tmp.path(), 1, 0);
  {
    auto store = MustOpen(tmp.path());
    RequireRange(*store, 0, 0);
    AppendRange(store.get(), 1, 3);
  }
  auto store = MustOpen(tmp.path());
  RequireRange(*store, 1, 3);
}

TEST_CASE("A store with its log directory missing is data loss", "[store]") {
  TempDir tmp;
  {
    auto store = MustOpen(tmp.path());
    AppendRange(store.get(), 1, 3);
  }
  fs::remove_all(tmp.Sub("log"));
  CHECK(Store::Open(tmp.path()).status().code() == absl::StatusCode::kDataLoss);
  CHECK_FALSE(fs::exists(tmp.Sub("log")));
}

TEST_CASE("ReplaceState drops the log with the state, crash-safely",
          "[store]") {
  SmallSegments small(4096);
  TempDir tmp;
  std::map<std::string, std::string> old_files;
  {
    auto store = MustOpen(tmp.path());
    StateBatch batch;
    batch.PutNode("/", "old root");
    batch.PutNode("/old", "x");
    batch.PutSession(1, "s1");
    REQUIRE_OK(store->WriteState(&batch, 40));
    AppendRange(store.get(), 1, 60);
    for (const std::string& f : Segments(tmp.path())) {
      old_files[f] = ReadFile(tmp.Sub("log/" + f));
    }
    batch.PutNode("/", "new root");
    batch.PutNode("/new", "y");
    REQUIRE_OK(store->ReplaceState(&batch, 30));
    RequireRange(*store, 0, 0);
    CHECK(Segments(tmp.path()).empty());
  }
  SECTION("clean") {}
  SECTION("a crash before the log files were deleted") {
    // What the disk holds if the process died right after the synced state
    // batch: the old segments are still there.
    for (const auto& [name, bytes] : old_files) {
      WriteFile(tmp.Sub("log/" + name), bytes);
    }
  }
  {
    auto store = MustOpen(tmp.path());
    CHECK(store->applied_zxid() == 30);
    Loaded loaded = Load(*store);
    using Node = std::pair<std::string, std::string>;
    CHECK(loaded.nodes == std::vector<Node>{{"/", "new root"}, {"/new", "y"}});
    CHECK(loaded.sessions.empty());
    RequireRange(*store, 0, 0);
    // The leader's history may continue at any zxid above the snapshot,
    // even one the discarded log held.
    AppendRange(store.get(), 31, 35);
  }
  auto store = MustOpen(tmp.path());
  RequireRange(*store, 31, 35);
}

}  // namespace
}  // namespace synod

namespace synod {
namespace {

// Records what a StateBatch tells its visitor, one line per call.
class RecordingVisitor : public StateBatchVisitor {
 public:
  void PutNode(std::string_view path, std::string_view record) override {
    calls.push_back("put node " + std::string(path) + "=" + std::string(record));
  }
  void DeleteNode(std::string_view path) override {
    calls.push_back("delete node " + std::string(path));
  }
  void PutSession(int64_t id, std::string_view record) override {
    calls.push_back("put session " + std::to_string(id) + "=" +
                    std::string(record));
  }
  void DeleteSession(int64_t id) override {
    calls.push_back("delete session " + std::to_string(id));
  }
  void PutMeta(std::string_view name, std::string_view value) override {
    calls.push_back("put meta " + std::string(name) + "=" + std::string(value));
  }
  std::vector<std::string> calls;
};

TEST_CASE("StateBatch::Visit replays the batch's calls in order", "[store]") {
  StateBatch batch;
  batch.PutNode("/a", "ra");
  batch.SetNodeCount(7);  // a hint, not a change: not told
  batch.PutSession(-2, "rs");
  batch.DeleteNode("/b/c");
  batch.PutSession(int64_t{1} << 40, "big");
  batch.DeleteSession(5);
  batch.PutMeta("config", std::string("\0v\1", 3));
  RecordingVisitor v;
  REQUIRE(batch.Visit(&v).ok());
  CHECK(v.calls == std::vector<std::string>{
                       "put node /a=ra", "put session -2=rs",
                       "delete node /b/c",
                       "put session " + std::to_string(int64_t{1} << 40) + "=big",
                       "delete session 5",
                       "put meta config=" + std::string("\0v\1", 3)});
  batch.Clear();
  RecordingVisitor empty;
  REQUIRE(batch.Visit(&empty).ok());
  CHECK(empty.calls.empty());
}

}  // namespace
}  // namespace synod
