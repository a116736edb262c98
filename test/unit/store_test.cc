// Tests for Store: directory handling, epochs and metadata, the txn log,
// applied state, and how corruption and crashes surface. Each test works in
// its own temporary directory.

#include "storage/store.h"

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

namespace synod {
namespace {

namespace fs = std::filesystem;

#define REQUIRE_OK(expr)                 \
  do {                                   \
    absl::Status status_ = (expr);       \
    INFO(status_.ToString());            \
    REQUIRE(status_.ok());               \
  } while (0)

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/synod_store_test.XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

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
  CHECK(DirEntries(dir) == std::vector<std::string>{"SYNOD", "db"});
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
  CHECK(DirEntries(tmp.path()) == std::vector<std::string>{"SYNOD", "db"});
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

// Opens the corrupted store and requires DataLoss from Open or, if Open
// cannot see the damage, from reading the log.
void RequireDataLoss(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir);
  if (!store.ok()) {
    INFO(store.status().ToString());
    CHECK(store.status().code() == absl::StatusCode::kDataLoss);
    return;
  }
  absl::Status s = (*store)->ReadLog(0, [](Zxid z, std::string_view data) {
    CHECK(data == Noise(z, 1000));  // never wrong data
    return true;
  });
  INFO(s.ToString());
  CHECK(s.code() == absl::StatusCode::kDataLoss);
  // The state may be in undamaged blocks; if it loads, it must be right.
  int nodes = 0;
  s = (*store)->LoadState(
      [&](std::string_view path, std::string_view record) {
        CHECK(record == Noise(std::stoi(std::string(path.substr(2))), 100));
        ++nodes;
        return absl::OkStatus();
      },
      nullptr);
  CHECK((s.code() == absl::StatusCode::kDataLoss || (s.ok() && nodes == 200)));
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

}  // namespace
}  // namespace synod
