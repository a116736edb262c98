// The Coordinator over a damaged or failing disk (the storage seam's
// FaultEnv): a damaged log refuses Start with DataInconsistency; transient
// errors (ENOSPC, EMFILE) delay the writes they touch, which then commit,
// and writes resume; a failed fsync stops writes, and a write whose
// outcome is unknown is reported as ConnectionLoss, never as failed.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "coordinator_internals.h"
#include "storage/fault_env.h"
#include "storage/log_file.h"
#include "test_util.h"

namespace synod {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::TestOptions;

class SmallSegments {
 public:
  explicit SmallSegments(uint64_t bytes) { SetLogSegmentBytesForTesting(bytes); }
  ~SmallSegments() { SetLogSegmentBytesForTesting(0); }
};

std::string Name(int i) { return "/n" + std::to_string(i); }

bool Has(Coordinator& c, const std::string& path) {
  auto stat = c.Exists(path);
  REQUIRE(stat.ok());
  return stat->has_value();
}


// A process that creates `n` nodes and exits right after their
// acknowledgements, without any shutdown (no destructor runs).
void WriteAndDie(const std::string& dir, int n) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto c = Coordinator::Start(TestOptions(dir));
    bool ok = c.ok();
    for (int i = 0; ok && i < n; ++i) {
      ok = (*c)->Create(Name(i), std::string(200, 'd')).ok();
    }
    _exit(ok ? 0 : 1);
  }
  int wstatus = 0;
  REQUIRE(waitpid(pid, &wstatus, 0) == pid);
  REQUIRE(WIFEXITED(wstatus));
  REQUIRE(WEXITSTATUS(wstatus) == 0);
}

TEST_CASE("A damaged log refuses Start with DataInconsistency",
          "[storage_fault]") {
  SmallSegments small(32 << 10);
  TempDir dir;
  WriteAndDie(dir.path(), 600);
  const std::vector<std::string> segs = testing::LogSegments(dir.path());
  REQUIRE(segs.size() >= 3);
  SECTION("newest segment deleted") { fs::remove(segs.back()); }
  SECTION("newest segment truncated in its middle") {
    fs::resize_file(segs.back(), fs::file_size(segs.back()) / 3 + 5);
  }
  SECTION("a middle segment deleted") { fs::remove(segs[1]); }
  auto c = Coordinator::Start(TestOptions(dir.path()));
  INFO(c.status().ToString());
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == absl::StatusCode::kDataLoss);
  CHECK(ErrorOf(c.status()) == Error::kDataInconsistency);
  CHECK(c.status().message().find("corrupted synod txn log") !=
        std::string::npos);
}

TEST_CASE("A torn tail after a crash is cut with a warning and Start succeeds",
          "[storage_fault]") {
  TempDir dir;
  WriteAndDie(dir.path(), 50);
  // Garbage where an unacknowledged write was torn: after the last record.
  {
    auto c = Coordinator::Start(TestOptions(dir.path()));
    REQUIRE(c.ok());
  }
  const std::string newest = testing::LogSegments(dir.path()).back();
  // The log writer's last append ends where the zeros start.
  std::string bytes;
  REQUIRE(ReadWholeFile(Env::Posix(), newest, &bytes).ok());
  size_t end = 56;  // after the synodlg2 header, walk the records
  while (end + 16 <= bytes.size() &&
         bytes.compare(end, 16, std::string(16, '\0')) != 0) {
    uint32_t length = 0;
    std::memcpy(&length, bytes.data() + end + 4, 4);
    end += 16 + length;
  }
  {
    std::fstream f(newest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(end));
    f.write("\x11\x22\x33\x44\x05\x00\x00\x00\x07", 9);
  }
  std::vector<std::string> warnings;
  Options o = TestOptions(dir.path());
  o.log_sink = [&warnings](LogLevel level, std::string_view m) {
    if (level >= LogLevel::kWarning) warnings.emplace_back(m);
  };
  auto c = Coordinator::Start(o);
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  for (int i = 0; i < 50; ++i) CHECK(Has(**c, Name(i)));
  bool cut = false;
  for (const auto& w : warnings) {
    cut |= w.find("torn tail of " + newest + " at offset " +
                  std::to_string(end)) != std::string::npos;
  }
  CHECK(cut);
}

TEST_CASE("Transient storage errors delay writes, which then commit",
          "[storage_fault]") {
  SmallSegments small(16 << 10);
  TempDir dir;
  FaultEnv env(11);
  {
    auto c = CoordinatorInternals::StartWithEnv(TestOptions(dir.path()), &env);
    INFO(c.status().ToString());
    REQUIRE(c.ok());
    REQUIRE((*c)->Create("/before", "x").ok());
    SECTION("ENOSPC on log writes") { env.FailWrites(4, ENOSPC, "/log/"); }
    SECTION("EIO on log writes") { env.FailWrites(4, EIO, "/log/"); }
    SECTION("EMFILE on opening log segments") {
      env.FailOpens(4, EMFILE, "/log/");
    }
    // Enough writes to roll over segments several times.
    for (int i = 0; i < 300; ++i) {
      absl::StatusOr<std::string> p = (*c)->Create(Name(i), std::string(200, 'd'));
      INFO(i << " " << p.status().ToString());
      REQUIRE(p.ok());
    }
    CHECK(env.injected() == 4);
  }
  env.Crash();  // whatever was acknowledged was synced
  auto c = CoordinatorInternals::StartWithEnv(TestOptions(dir.path()), &env);
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  CHECK(Has(**c, "/before"));
  for (int i = 0; i < 300; ++i) CHECK(Has(**c, Name(i)));
}

TEST_CASE("A failed fsync stops writes with an unknown outcome, not failed",
          "[storage_fault]") {
  TempDir dir;
  FaultEnv env(12);
  {
    auto c = CoordinatorInternals::StartWithEnv(TestOptions(dir.path()), &env);
    REQUIRE(c.ok());
    REQUIRE((*c)->Create("/before", "x").ok());
    env.FailSyncs(1, EIO, "/log/");
    absl::StatusOr<std::string> p = (*c)->Create("/maybe", "x");
    INFO(p.status().ToString());
    REQUIRE_FALSE(p.ok());
    // The record was written, its sync failed: it may or may not be on
    // disk, so the outcome is unknown.
    CHECK(ErrorOf(p.status()) == Error::kConnectionLoss);
    // The cause is gone, but nothing commits until a restart recovers.
    env.ClearFaults();
    absl::StatusOr<std::string> q = (*c)->Create("/after", "x");
    CHECK_FALSE(q.ok());
    CHECK(ErrorOf(q.status()) == Error::kConnectionLoss);
  }
  // Without a power loss the record reached the file: after a restart the
  // write is there, which is why it could not be reported as failed.
  auto c = CoordinatorInternals::StartWithEnv(TestOptions(dir.path()), &env);
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  CHECK(Has(**c, "/before"));
  CHECK(Has(**c, "/maybe"));
  CHECK_FALSE(Has(**c, "/after"));
}

}  // namespace
}  // namespace synod
