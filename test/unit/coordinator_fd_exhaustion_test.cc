// Real descriptor exhaustion (RLIMIT_NOFILE), not the FaultEnv's EMFILE:
// on the old main it failed storage for good ("storage failed, no write can
// commit", until a restart) and some writes reported failed were in the
// tree after the restart. Now the writes it touches wait, every write
// commits once descriptors are free again, and none reported failed
// applies.

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "storage/log_file.h"
#include "test_util.h"
#include "util/mutex.h"

namespace synod {
namespace {

using testing::TempDir;
using testing::TestOptions;
using testing::WaitFor;

int OpenDescriptors() {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)e;
    ++n;
  }
  return n;
}

// Takes every descriptor the process may still open, under a soft limit a
// few above what it holds now; gives them back (and the limit) when done.
class Exhaustion {
 public:
  Exhaustion() {
    REQUIRE(getrlimit(RLIMIT_NOFILE, &saved_) == 0);
    rlimit low = saved_;
    low.rlim_cur = static_cast<rlim_t>(OpenDescriptors() + 16);
    REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
    for (int i = 0; i < 4096; ++i) {
      const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      held_.push_back(fd);
    }
    REQUIRE(::open("/dev/null", O_RDONLY | O_CLOEXEC) < 0);  // exhausted
  }
  void Release() {
    for (int fd : held_) ::close(fd);
    held_.clear();
    setrlimit(RLIMIT_NOFILE, &saved_);
  }
  ~Exhaustion() { Release(); }

 private:
  rlimit saved_{};
  std::vector<int> held_;
};

// Submits `n` asynchronous creates of /w<i>, each reporting to `done`.
// UBSan's check of a virtual call's target type opens a pipe to probe the
// object's memory; with every descriptor taken it fails and reports the
// object as invalid. The calls made while descriptors are exhausted are
// therefore exempt from that one check.
__attribute__((no_sanitize("vptr"))) void SubmitCreates(
    Coordinator* c, int n,
    const std::function<void(int, absl::StatusOr<std::string>)>& done) {
  for (int i = 0; i < n; ++i) {
    c->CreateAsync("/w" + std::to_string(i), std::string(500, 'w'),
                   CreateMode::kPersistent, CreateOptions{},
                   [done, i](absl::StatusOr<std::string> r) {
                     done(i, std::move(r));
                   });
  }
}

TEST_CASE("descriptor exhaustion delays writes, which all commit once "
          "descriptors are free, and none reported failed applies",
          "[storage_fault]") {
  TempDir dir;
  // Small segments: the log needs a new file every few writes.
  SetLogSegmentBytesForTesting(8 << 10);
  const Options options = TestOptions(dir.path());
  constexpr int kWrites = 300;
  Mutex mu;
  std::vector<int> acked, failed, unknown;
  std::atomic<int> done{0};
  {
    auto c = Coordinator::Start(options);
    REQUIRE(c.ok());
    REQUIRE((*c)->Create("/before", std::string(500, 'b')).ok());
    Exhaustion exhaustion;
    SubmitCreates(c->get(), kWrites,
                  [&](int i, absl::StatusOr<std::string> r) {
                    MutexLock lock(&mu);
                    if (r.ok()) {
                      acked.push_back(i);
                    } else if (ErrorOf(r.status()) == Error::kConnectionLoss) {
                      unknown.push_back(i);
                    } else {
                      failed.push_back(i);
                    }
                    done.fetch_add(1);
                  });
    // Some writes wait on the log while nothing can be opened.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    // Writes wait (a new segment cannot be opened): the exhaustion bit.
    CHECK(done.load() < kWrites);
    exhaustion.Release();
    REQUIRE(WaitFor([&] { return done.load() == kWrites; },
                    absl::Seconds(60)));
    // And the peer writes on: storage did not fail for good.
    CHECK((*c)->Create("/after", "a").ok());
  }
  SetLogSegmentBytesForTesting(0);
  {
    MutexLock lock(&mu);
    INFO("acked " << acked.size() << ", failed " << failed.size()
                  << ", unknown " << unknown.size());
    CHECK(acked.size() == kWrites);  // delayed, not failed
    CHECK(failed.empty());
  }
  auto c = Coordinator::Start(options);
  REQUIRE(c.ok());
  MutexLock lock(&mu);
  for (int i : acked) CHECK((*c)->Exists("/w" + std::to_string(i))->has_value());
  for (int i : failed) CHECK(!(*c)->Exists("/w" + std::to_string(i))->has_value());
  CHECK((*c)->Exists("/after")->has_value());
}

}  // namespace
}  // namespace synod
