// Tests for the txn log's recovery and fault handling, on the fault-
// injecting Env: a crash that drops unsynced data, then each kind of
// damage (DataLoss naming the file and offset, or with allow_log_damage a
// cut reported as such), torn tails (cut with a warning, nothing
// acknowledged lost), transient errors (EIO, ENOSPC, EMFILE: the append
// fails, later ones succeed) and a failed fsync (fatal).

#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "storage/env.h"
#include "storage/fault_env.h"
#include "storage/log_file.h"
#include "storage/store.h"
#include "test_util.h"

namespace synod {
namespace {

using testing::TempDir;

namespace fs = std::filesystem;



class SmallSegments {
 public:
  explicit SmallSegments(uint64_t bytes) { SetLogSegmentBytesForTesting(bytes); }
  ~SmallSegments() { SetLogSegmentBytesForTesting(0); }
};

constexpr size_t kData = 100;               // bytes of data per record
constexpr size_t kRecord = 16 + kData;      // bytes per record
constexpr uint64_t kHeader = 56;            // synodlg2 header
constexpr int kPerBatch = 5;

Zxid Z(int64_t counter) { return MakeZxid(1, counter); }

std::string Data(Zxid z) {
  std::string s = std::to_string(z);
  s.resize(kData, 'x');
  return s;
}

std::vector<LogEntry> Batch(int64_t first, int n) {
  std::vector<LogEntry> out;
  for (int64_t c = first; c < first + n; ++c) out.push_back({Z(c), Data(Z(c))});
  return out;
}

// Collects warnings.
struct Warnings {
  std::vector<std::string> lines;
  std::function<void(const std::string&)> sink() {
    return [this](const std::string& m) { lines.push_back(m); };
  }
  bool Contains(const std::string& part) const {
    for (const auto& l : lines) {
      if (l.find(part) != std::string::npos) return true;
    }
    return false;
  }
};

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& dir,
                                                 Env* env, Warnings* w,
                                                 bool allow_damage = false) {
  StoreOptions options;
  options.env = env;
  options.allow_log_damage = allow_damage;
  if (w != nullptr) options.warn = w->sink();
  return Store::Open(dir, options);
}

std::vector<Zxid> LoggedZxids(const Store& store) {
  std::vector<Zxid> out;
  absl::Status s = store.ReadLog(0, [&](Zxid z, std::string_view d) {
    CHECK(d == Data(z));
    out.push_back(z);
    return true;
  });
  INFO(s.ToString());
  CHECK(s.ok());
  return out;
}

std::vector<Zxid> Range(int64_t first, int64_t last) {
  std::vector<Zxid> out;
  for (int64_t c = first; c <= last; ++c) out.push_back(Z(c));
  return out;
}

std::vector<std::string> SegmentPaths(const std::string& dir) {
  return testing::LogSegments(dir);
}

// Records per segment file (header + whole records; they never straddle).
int64_t RecordsIn(const std::string& path, bool count_zeros = false) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string bytes = ss.str();
  int64_t n = 0;
  for (size_t off = kHeader; off + kRecord <= bytes.size(); off += kRecord) {
    if (!count_zeros && bytes.substr(off, 16) == std::string(16, '\0')) break;
    ++n;
  }
  return n;
}

void FlipByte(const std::string& path, uint64_t offset, char mask) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c;
  f.read(&c, 1);
  c ^= mask;
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
  REQUIRE(f.good());
}

// One peer killed right after its acknowledgements, then a power loss:
// `acked` records (synced, in batches of 5) and one unsynced batch of
// `unacked` records that the crash drops (or tears, with tear_at >= 0).
struct Crashed {
  TempDir tmp;
  int64_t acked = 0;
};

void WriteAndCrash(Crashed* c, int64_t batches, int unacked,
                   int64_t tear_at = -1) {
  FaultEnv env(1);
  auto store = OpenStore(c->tmp.path(), &env, nullptr);
  REQUIRE_OK(store.status());
  int64_t next = 1;
  for (int64_t b = 0; b < batches; ++b) {
    REQUIRE_OK((*store)->AppendLog(Batch(next, kPerBatch), true));
    next += kPerBatch;
  }
  c->acked = next - 1;
  if (unacked > 0) REQUIRE_OK((*store)->AppendLog(Batch(next, unacked), false));
  store->reset();
  env.Crash(tear_at);
}

TEST_CASE("A crash loses nothing acknowledged and the log reopens",
          "[log_recovery]") {
  SmallSegments small(8 << 10);
  Crashed c;
  WriteAndCrash(&c, 40, kPerBatch);
  Warnings w;
  auto store = OpenStore(c.tmp.path(), nullptr, &w);
  REQUIRE_OK(store.status());
  CHECK(LoggedZxids(**store) == Range(1, c.acked));
  CHECK(w.lines.empty());  // the dropped batch left zeros: nothing to cut
  // And appends go on.
  REQUIRE_OK((*store)->AppendLog(Batch(c.acked + 1, 2), true));
}

TEST_CASE("A torn last write is cut with a warning and nothing acked is lost",
          "[log_recovery]") {
  SmallSegments small(64 << 10);
  Crashed c;
  // One unacknowledged record, cut in half by the crash.
  WriteAndCrash(&c, 20, 1, /*tear_at=*/kRecord / 2);
  const std::string newest = SegmentPaths(c.tmp.path()).back();
  Warnings w;
  auto store = OpenStore(c.tmp.path(), nullptr, &w);
  REQUIRE_OK(store.status());
  CHECK(LoggedZxids(**store) == Range(1, c.acked));
  REQUIRE(w.lines.size() == 1);
  INFO(w.lines[0]);
  CHECK(w.Contains("torn tail of " + newest + " at offset " +
                   std::to_string(kHeader + c.acked * kRecord)));
  CHECK(w.Contains(std::to_string(kRecord / 2) + " bytes of an unacknowledged"));
  // The cut is durable: a second open finds nothing to repair.
  store->reset();
  Warnings again;
  REQUIRE_OK(OpenStore(c.tmp.path(), nullptr, &again).status());
  CHECK(again.lines.empty());
}

TEST_CASE("A torn multi-record write keeps its whole records",
          "[log_recovery]") {
  Crashed c;
  WriteAndCrash(&c, 4, 3, /*tear_at=*/kRecord + 10);
  Warnings w;
  auto store = OpenStore(c.tmp.path(), nullptr, &w);
  REQUIRE_OK(store.status());
  // The first unacknowledged record was whole on disk: it stays (it was
  // never acknowledged, nor is it lost); the torn second one goes.
  CHECK(LoggedZxids(**store) == Range(1, c.acked + 1));
  CHECK(w.Contains("torn tail"));
}

// The damage matrix: each fault after the crash, then Open.
struct Damage {
  const char* name;
  // Applies the fault; returns the file and offset the error must name.
  std::function<std::pair<std::string, uint64_t>(const std::string& dir)> apply;
};

TEST_CASE("Damage after a crash is DataLoss naming the file and offset",
          "[log_recovery]") {
  SmallSegments small(16 << 10);
  const std::vector<Damage> matrix = {
      {"flipped length of a middle record of the newest segment",
       [](const std::string& dir) {
         const std::string p = SegmentPaths(dir).back();
         const uint64_t off = kHeader + RecordsIn(p) / 2 * kRecord;
         FlipByte(p, off + 7, 0x40);  // a huge length: "past the end"
         return std::make_pair(p, off);
       }},
      {"flipped low bit of a middle record's length",
       [](const std::string& dir) {
         const std::string p = SegmentPaths(dir).back();
         const uint64_t off = kHeader + RecordsIn(p) / 2 * kRecord;
         FlipByte(p, off + 4, 0x01);
         return std::make_pair(p, off);
       }},
      {"flipped checksum byte of a middle record",
       [](const std::string& dir) {
         const std::string p = SegmentPaths(dir).back();
         const uint64_t off = kHeader + RecordsIn(p) / 2 * kRecord;
         FlipByte(p, off + 1, 0x10);
         return std::make_pair(p, off);
       }},
      {"newest segment truncated mid-record in its middle",
       [](const std::string& dir) {
         const std::string p = SegmentPaths(dir).back();
         const uint64_t off = kHeader + RecordsIn(p) / 2 * kRecord;
         fs::resize_file(p, off + 7);
         return std::make_pair(p, off);
       }},
      {"junk over middle records of the newest segment",
       [](const std::string& dir) {
         const std::string p = SegmentPaths(dir).back();
         const uint64_t off = kHeader + RecordsIn(p) / 3 * kRecord;
         std::mt19937_64 rng(42);
         std::string junk(3 * kRecord + 7, '\0');
         for (char& ch : junk) ch = static_cast<char>(rng());
         std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
         f.seekp(static_cast<std::streamoff>(off));
         f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
         return std::make_pair(p, off);
       }},
      {"flipped checksum in an older segment",
       [](const std::string& dir) {
         const std::string p = SegmentPaths(dir).front();
         const uint64_t off = kHeader + 3 * kRecord;
         FlipByte(p, off, 0x01);
         return std::make_pair(p, off);
       }},
  };
  for (const Damage& d : matrix) {
    DYNAMIC_SECTION(d.name) {
      Crashed c;
      WriteAndCrash(&c, 60, kPerBatch);
      REQUIRE(SegmentPaths(c.tmp.path()).size() >= 3);
      auto [path, offset] = d.apply(c.tmp.path());
      Warnings w;
      absl::Status s = OpenStore(c.tmp.path(), nullptr, &w).status();
      INFO(s.ToString());
      CHECK(s.code() == absl::StatusCode::kDataLoss);
      CHECK(s.message().find(path + " at offset " + std::to_string(offset)) !=
            std::string::npos);
      // Nothing was written: the same error again.
      CHECK(OpenStore(c.tmp.path(), nullptr, &w).status() == s);

      // Allowed, the log is cut before the damage and the loss reported.
      auto store = OpenStore(c.tmp.path(), nullptr, &w, /*allow=*/true);
      REQUIRE_OK(store.status());
      REQUIRE((*store)->log_damage().has_value());
      const LogDamage damage = *(*store)->log_damage();
      INFO(damage.what);
      const int64_t kept = CounterOf(damage.kept_through);
      CHECK(kept < c.acked);
      CHECK(LoggedZxids(**store) == Range(1, kept));
      CHECK(damage.durable_at_least >= Z(c.acked - kPerBatch));
      CHECK(w.Contains("cut the log after zxid"));
      // Once cut, the log takes appends again and reopens clean.
      REQUIRE_OK((*store)->AppendLog(Batch(kept + 1, 1), true));
      store->reset();
      Warnings after;
      auto again = OpenStore(c.tmp.path(), nullptr, &after);
      REQUIRE_OK(again.status());
      CHECK(LoggedZxids(**again) == Range(1, kept + 1));
    }
  }
}

TEST_CASE("A damaged log that ends below the applied state is dropped whole",
          "[log_recovery]") {
  // The applied state is at Z(40); the log lost everything after Z(12).
  // With damage allowed, what the log kept is all in the state, and the
  // next records (a leader's DIFF after Z(40)) must follow the state: the
  // log is dropped, so they are contiguous and reopen clean.
  TempDir tmp;
  {
    auto store = OpenStore(tmp.path(), nullptr, nullptr);
    REQUIRE_OK(store.status());
    for (int64_t first = 1; first <= 40; first += 5) {
      REQUIRE_OK((*store)->AppendLog(Batch(first, 5), true));
    }
    StateBatch state;
    REQUIRE_OK((*store)->WriteState(&state, Z(40)));
  }
  fs::resize_file(SegmentPaths(tmp.path()).back(), kHeader + 12 * kRecord + 5);
  Warnings w;
  CHECK(OpenStore(tmp.path(), nullptr, &w).status().code() ==
        absl::StatusCode::kDataLoss);
  {
    auto store = OpenStore(tmp.path(), nullptr, &w, /*allow=*/true);
    REQUIRE_OK(store.status());
    REQUIRE((*store)->log_damage().has_value());
    CHECK((*store)->applied_zxid() == Z(40));
    CHECK(LoggedZxids(**store).empty());
    REQUIRE_OK((*store)->AppendLog(Batch(41, 3), true));
  }
  Warnings after;
  auto again = OpenStore(tmp.path(), nullptr, &after);
  REQUIRE_OK(again.status());
  CHECK_FALSE((*again)->log_damage().has_value());
  CHECK(LoggedZxids(**again) == Range(41, 43));
  CHECK(after.lines.empty());
}

TEST_CASE("A record of a far later epoch behind a bad one is damage, not a "
          "torn tail",
          "[log_recovery]") {
  // Many elections without a write can put thousands of epochs between two
  // records; the scan past damage bounds epochs by the acceptedEpoch, so
  // it still finds such a record.
  TempDir tmp;
  const Zxid far = MakeZxid(5000, 1);
  {
    auto store = OpenStore(tmp.path(), nullptr, nullptr);
    REQUIRE_OK(store.status());
    REQUIRE_OK((*store)->AppendLog(Batch(1, 5), true));
    REQUIRE_OK((*store)->SetAcceptedEpoch(5000));
    // One acknowledged write past the watermark (which lags a batch).
    REQUIRE_OK((*store)->AppendLog(
        {LogEntry{Z(6), Data(Z(6))}, LogEntry{far, Data(far)}}, true));
  }
  const std::string p = SegmentPaths(tmp.path()).back();
  const uint64_t off = kHeader + 5 * kRecord;  // Z(6)'s record
  FlipByte(p, off + 7, 0x40);  // record 3's length runs past the end
  Warnings w;
  absl::Status s = OpenStore(tmp.path(), nullptr, &w).status();
  INFO(s.ToString());
  CHECK(s.code() == absl::StatusCode::kDataLoss);
  CHECK(s.message().find(p + " at offset " + std::to_string(off)) !=
        std::string::npos);
}

TEST_CASE("A deleted newest segment is DataLoss", "[log_recovery]") {
  SmallSegments small(16 << 10);
  Crashed c;
  WriteAndCrash(&c, 60, 0);
  const std::vector<std::string> segs = SegmentPaths(c.tmp.path());
  REQUIRE(segs.size() >= 3);
  fs::remove(segs.back());
  absl::Status s = OpenStore(c.tmp.path(), nullptr, nullptr).status();
  INFO(s.ToString());
  CHECK(s.code() == absl::StatusCode::kDataLoss);
  CHECK(s.message().find(fs::path(segs.back()).filename().string() +
                         " is missing") != std::string::npos);
  // Allowed: the log is what is left, and the loss is reported.
  auto store = OpenStore(c.tmp.path(), nullptr, nullptr, true);
  REQUIRE_OK(store.status());
  REQUIRE((*store)->log_damage().has_value());
  const int64_t kept = CounterOf((*store)->log_damage()->kept_through);
  CHECK(LoggedZxids(**store) == Range(1, kept));
  CHECK(kept < c.acked);
}

TEST_CASE("The only segment deleted is DataLoss", "[log_recovery]") {
  Crashed c;
  WriteAndCrash(&c, 3, 0);
  const std::vector<std::string> segs = SegmentPaths(c.tmp.path());
  REQUIRE(segs.size() == 1);
  fs::remove(segs.back());
  absl::Status s = OpenStore(c.tmp.path(), nullptr, nullptr).status();
  INFO(s.ToString());
  CHECK(s.code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("A deleted middle segment is DataLoss", "[log_recovery]") {
  SmallSegments small(16 << 10);
  Crashed c;
  WriteAndCrash(&c, 60, 0);
  const std::vector<std::string> segs = SegmentPaths(c.tmp.path());
  REQUIRE(segs.size() >= 3);
  fs::remove(segs[1]);
  absl::Status s = OpenStore(c.tmp.path(), nullptr, nullptr).status();
  INFO(s.ToString());
  CHECK(s.code() == absl::StatusCode::kDataLoss);
  CHECK(s.message().find(segs[2] + " at offset 0: a segment is missing") !=
        std::string::npos);
  auto store = OpenStore(c.tmp.path(), nullptr, nullptr, true);
  REQUIRE_OK(store.status());
  CHECK(LoggedZxids(**store) == Range(1, RecordsIn(segs[0])));
}

TEST_CASE("Zeros over acknowledged records are DataLoss", "[log_recovery]") {
  Crashed c;
  WriteAndCrash(&c, 10, 0);
  const std::string p = SegmentPaths(c.tmp.path()).back();
  // The last three batches read back as zeros (blocks never written).
  const uint64_t off = kHeader + (c.acked - 3 * kPerBatch) * kRecord;
  {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(off));
    const std::string zeros(3 * kPerBatch * kRecord, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  absl::Status s = OpenStore(c.tmp.path(), nullptr, nullptr).status();
  INFO(s.ToString());
  CHECK(s.code() == absl::StatusCode::kDataLoss);
  CHECK(s.message().find(p + " at offset " + std::to_string(off)) !=
        std::string::npos);
}

TEST_CASE("Both watermark slots corrupted is DataLoss", "[log_recovery]") {
  Crashed c;
  WriteAndCrash(&c, 10, 0);
  const std::string p = SegmentPaths(c.tmp.path()).back();
  FlipByte(p, 24, 0x01);
  // One torn slot is what a crash can leave: the other one still counts.
  REQUIRE_OK(OpenStore(c.tmp.path(), nullptr, nullptr).status());
  FlipByte(p, 40, 0x01);
  absl::Status s = OpenStore(c.tmp.path(), nullptr, nullptr).status();
  INFO(s.ToString());
  CHECK(s.code() == absl::StatusCode::kDataLoss);
  CHECK(s.message().find(p + " at offset 24") != std::string::npos);
}

TEST_CASE("A gap in one epoch's zxids is DataLoss", "[log_recovery]") {
  TempDir tmp;
  {
    auto store = OpenStore(tmp.path(), nullptr, nullptr);
    REQUIRE_OK(store.status());
    REQUIRE_OK((*store)->AppendLog(Batch(1, 3), true));
    // Accepted by AppendLog (zxids increase); recovery finds the hole.
    REQUIRE_OK((*store)->AppendLog(Batch(5, 2), true));
  }
  absl::Status s = OpenStore(tmp.path(), nullptr, nullptr).status();
  INFO(s.ToString());
  CHECK(s.code() == absl::StatusCode::kDataLoss);
  CHECK(s.message().find("are missing") != std::string::npos);
}

TEST_CASE("A bit flipped on read is DataLoss, not a torn tail",
          "[log_recovery]") {
  Crashed c;
  WriteAndCrash(&c, 10, 0);
  const std::string p = SegmentPaths(c.tmp.path()).back();
  FaultEnv env(2);
  env.FlipBitOnRead(p, kHeader + 20 * kRecord + 5, 3);
  absl::Status s = OpenStore(c.tmp.path(), &env, nullptr).status();
  INFO(s.ToString());
  CHECK(s.code() == absl::StatusCode::kDataLoss);
  env.ClearFaults();
  REQUIRE_OK(OpenStore(c.tmp.path(), &env, nullptr).status());
}

TEST_CASE("Segments of the previous format are still read",
          "[log_recovery]") {
  TempDir tmp;
  REQUIRE_OK(OpenStore(tmp.path(), nullptr, nullptr).status());
  // A synodlg1 segment as older builds wrote it: 8-byte header, records.
  std::string bytes = "synodlg1";
  for (int64_t c = 1; c <= 3; ++c) {
    std::string rec;
    const std::string data = Data(Z(c));
    auto put32 = [&rec](uint32_t v) {
      for (int i = 0; i < 4; ++i) rec.push_back(static_cast<char>(v >> (8 * i)));
    };
    put32(0);
    put32(static_cast<uint32_t>(data.size()));
    const uint64_t z = static_cast<uint64_t>(Z(c));
    for (int i = 0; i < 8; ++i) rec.push_back(static_cast<char>(z >> (8 * i)));
    rec += data;
    const uint32_t crc = Crc32c(rec.data() + 4, rec.size() - 4);
    for (int i = 0; i < 4; ++i) rec[i] = static_cast<char>(crc >> (8 * i));
    bytes += rec;
  }
  {
    std::ofstream out(tmp.path() + "/log/0000010000000001.log",
                      std::ios::binary);
    out << bytes;
  }
  auto store = OpenStore(tmp.path(), nullptr, nullptr);
  REQUIRE_OK(store.status());
  CHECK(LoggedZxids(**store) == Range(1, 3));
  REQUIRE_OK((*store)->AppendLog(Batch(4, 2), true));
  store->reset();
  auto again = OpenStore(tmp.path(), nullptr, nullptr);
  REQUIRE_OK(again.status());
  CHECK(LoggedZxids(**again) == Range(1, 5));
}

// ---- Transient errors and failed syncs

TEST_CASE("A transient write error fails only that append", "[log_recovery]") {
  const int err = GENERATE(EIO, ENOSPC);
  TempDir tmp;
  FaultEnv env(3);
  auto store = OpenStore(tmp.path(), &env, nullptr);
  REQUIRE_OK(store.status());
  REQUIRE_OK((*store)->AppendLog(Batch(1, 5), true));
  env.FailWrites(2, err, "/log/");
  absl::Status s = (*store)->AppendLog(Batch(6, 5), true);
  INFO(s.ToString());
  CHECK(s.code() == absl::StatusCode::kUnavailable);
  CHECK((*store)->last_logged_zxid() == Z(5));
  CHECK((*store)->AppendLog(Batch(6, 5), true).code() ==
        absl::StatusCode::kUnavailable);
  // The cause is gone: the same entries go in.
  REQUIRE_OK((*store)->AppendLog(Batch(6, 5), true));
  REQUIRE_OK((*store)->AppendLog(Batch(11, 1), true));
  CHECK(LoggedZxids(**store) == Range(1, 11));
  store->reset();
  env.Crash();
  auto again = OpenStore(tmp.path(), &env, nullptr);
  REQUIRE_OK(again.status());
  CHECK(LoggedZxids(**again) == Range(1, 11));
}

TEST_CASE("EMFILE on a new segment fails only that append", "[log_recovery]") {
  SmallSegments small(4 << 10);
  TempDir tmp;
  FaultEnv env(4);
  auto store = OpenStore(tmp.path(), &env, nullptr);
  REQUIRE_OK(store.status());
  int64_t next = 1;
  // Fill the first segment.
  while (SegmentPaths(tmp.path()).size() < 2) {
    REQUIRE_OK((*store)->AppendLog(Batch(next, 5), true));
    next += 5;
  }
  const size_t segments = SegmentPaths(tmp.path()).size();
  env.FailOpens(1, EMFILE, "/log/");
  absl::Status s;
  int64_t tries = 0;
  // Appends until one needs a new segment and cannot open it.
  while (s.ok() && tries++ < 100) {
    s = (*store)->AppendLog(Batch(next, 5), true);
    if (s.ok()) next += 5;
  }
  INFO(s.ToString());
  CHECK(s.code() == absl::StatusCode::kUnavailable);
  CHECK(SegmentPaths(tmp.path()).size() >= segments);
  REQUIRE_OK((*store)->AppendLog(Batch(next, 5), true));
  next += 5;
  store->reset();
  env.Crash();
  auto again = OpenStore(tmp.path(), &env, nullptr);
  REQUIRE_OK(again.status());
  CHECK(LoggedZxids(**again) == Range(1, next - 1));
}

TEST_CASE("A failed fdatasync is fatal and never retried", "[log_recovery]") {
  TempDir tmp;
  FaultEnv env(6);
  auto store = OpenStore(tmp.path(), &env, nullptr);
  REQUIRE_OK(store.status());
  REQUIRE_OK((*store)->AppendLog(Batch(1, 5), true));
  env.FailSyncs(1, EIO, "/log/");
  absl::Status s = (*store)->AppendLog(Batch(6, 5), true);
  INFO(s.ToString());
  CHECK(s.code() != absl::StatusCode::kUnavailable);
  CHECK_FALSE(s.ok());
  // The cause is gone, but the store refuses: what the failed sync covered
  // may be lost, and a retried sync would claim otherwise.
  env.ClearFaults();
  CHECK_FALSE((*store)->AppendLog(Batch(6, 5), true).ok());
  CHECK_FALSE((*store)->AppendLog(Batch(11, 1), true).ok());
  CHECK_FALSE((*store)->TruncateLogAfter(Z(3)).ok());
  // A power loss now loses the unsynced batch; recovery finds the prefix.
  store->reset();
  env.Crash();
  auto again = OpenStore(tmp.path(), &env, nullptr);
  REQUIRE_OK(again.status());
  CHECK(LoggedZxids(**again) == Range(1, 5));
}

TEST_CASE("I/O errors reach LevelDB's files", "[log_recovery]") {
  TempDir tmp;
  FaultEnv env(7);
  REQUIRE_OK(OpenStore(tmp.path(), &env, nullptr).status());
  env.FailOpens(-1, EMFILE, "/db/");
  absl::Status s = OpenStore(tmp.path(), &env, nullptr).status();
  INFO(s.ToString());
  CHECK_FALSE(s.ok());
  CHECK(env.injected() > 0);
  env.ClearFaults();
  auto store = OpenStore(tmp.path(), &env, nullptr);
  REQUIRE_OK(store.status());
  env.FailSyncs(1, EIO, "/db/");
  CHECK_FALSE((*store)->SetAcceptedEpoch(3).ok());
}

TEST_CASE("FaultEnv drops unsynced data and unsynced directory entries",
          "[log_recovery]") {
  TempDir tmp;
  FaultEnv env(8);
  const std::string a = tmp.path() + "/a", b = tmp.path() + "/b";
  {
    auto f = env.OpenFile(a, OpenMode::kCreateNew);
    REQUIRE_OK(f.status());
    REQUIRE_OK((*f)->Write(0, "hello"));
    REQUIRE_OK((*f)->Sync());
    REQUIRE_OK(env.SyncDir(tmp.path()));
    REQUIRE_OK((*f)->Write(5, " world"));
    REQUIRE_OK((*f)->Write(0, "J"));
    auto g = env.OpenFile(b, OpenMode::kCreateNew);
    REQUIRE_OK(g.status());
    REQUIRE_OK((*g)->Write(0, "x"));
    REQUIRE_OK((*g)->Sync());  // synced, but its entry is not
  }
  env.Crash();
  std::string content;
  REQUIRE_OK(ReadWholeFile(&env, a, &content));
  CHECK(content == "hello");
  CHECK(*env.Stat(b) == PathType::kMissing);
}

}  // namespace
}  // namespace synod
