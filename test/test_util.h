// Helpers shared by synod's tests: temporary directories and a recorder of
// watch events that waits with a deadline instead of sleeping.

#ifndef SYNOD_TEST_TEST_UTIL_H_
#define SYNOD_TEST_TEST_UTIL_H_

#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "synod/synod.h"
#include "util/mutex.h"

// Requires the absl::Status `expr` to be OK, showing it otherwise (Catch2).
#define REQUIRE_OK(expr)           \
  do {                             \
    absl::Status status_ = (expr); \
    INFO(status_.ToString());      \
    REQUIRE(status_.ok());         \
  } while (0)

namespace synod::testing {

// What a shell command printed (stdout and stderr) and its exit status.
struct ShellResult {
  int exit_code = -1;
  std::string out;
};

// Runs a shell command; returns its exit status and output (stderr too).
inline ShellResult Shell(const std::string& command) {
  ShellResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Polls `done` every `poll` until it holds or `timeout` passes; returns
// whether it holds.
inline bool WaitFor(const std::function<bool()>& done,
                    absl::Duration timeout = absl::Seconds(30),
                    absl::Duration poll = absl::Milliseconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(poll));
  }
  return done();
}

// The txn log's segment files in `data_dir`, oldest first.
inline std::vector<std::string> LogSegments(const std::string& data_dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(data_dir + "/log")) {
    if (e.path().extension() == ".log") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A fresh directory under the system's temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "synod-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  // A path inside the directory that does not exist yet.
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Returns a loopback port for a peer whose address must be known before it
// starts (ensembles: every peer's address is in the seed list), claimed
// for this process until it exits: below the kernel's ephemeral range
// (32768 and up by default), so no socket bound to port 0 and no outgoing
// connection can take it meanwhile, and locked across processes (a lock
// file per port under /tmp, held open until exit), so two tests running at
// once never get the same port. Services that need no fixed address bind
// port 0 instead (ListeningPeer). Returns 0 if none is free.
inline int FreePort() {
  static std::mutex mu;
  static uint64_t next = 0;
  std::lock_guard<std::mutex> lock(mu);
  if (next == 0) next = static_cast<uint64_t>(getpid()) * 7919;
  constexpr int kFirst = 20000;
  constexpr int kCount = 12000;  // 20000..31999
  for (int attempt = 0; attempt < kCount; ++attempt) {
    const int port = kFirst + static_cast<int>(next++ % kCount);
    const std::string claim =
        "/tmp/synod-test-port-" + std::to_string(port) + ".lock";
    const int lock_fd = open(claim.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0666);
    if (lock_fd < 0) continue;
    if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      close(lock_fd);  // another test holds it
      continue;
    }
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool free =
        fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    if (fd >= 0) close(fd);
    if (!free) {
      close(lock_fd);
      continue;
    }
    return port;  // lock_fd stays open: the claim lasts until exit
  }
  return 0;
}

// A TCP connection to "IP:PORT" `address` (IPv4): its descriptor, or -1
// if it cannot connect.
inline int ConnectTcp(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(
      std::atoi(address.substr(colon + 1).c_str())));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    return -1;
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Connects to `address` (ConnectTcp), sends `bytes`, and returns
// everything the other side sends until it closes, or until `timeout`
// passes without a byte (what came until then). "" if it cannot connect.
// For ZooKeeper's four-letter words.
inline std::string Converse(const std::string& address,
                            const std::string& bytes,
                            absl::Duration timeout = absl::Seconds(5)) {
  const int fd = ConnectTcp(address);
  if (fd < 0) return "";
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(absl::ToInt64Seconds(timeout));
  tv.tv_usec = static_cast<suseconds_t>(
      absl::ToInt64Microseconds(timeout) % 1000000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  std::string answer;
  if (send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(bytes.size())) {
    char buf[4096];
    for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) {
      answer.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return answer;
}

// Options for a one-peer Coordinator in `dir` that logs nothing.
inline Options TestOptions(const std::string& dir) {
  Options o;
  o.data_dir = dir;
  o.log_sink = [](LogLevel, std::string_view) {};
  o.cleanup_interval = absl::Milliseconds(20);
  return o;
}

// Starts a Coordinator with `o`; aborts the test binary, printing why, if
// it cannot start (for tests whose subject is not starting).
inline std::unique_ptr<Coordinator> MustStart(const Options& o) {
  auto c = Coordinator::Start(o);
  if (!c.ok()) {
    fprintf(stderr, "cannot start a Coordinator: %s\n",
            c.status().ToString().c_str());
    abort();
  }
  return std::move(*c);
}

// A one-peer ensemble that listens (seeds = {listen}) on a loopback port
// the system picks (port 0), for tests of the services it serves. Aborts if
// it cannot start.
struct ListeningPeer {
  ListeningPeer() : ListeningPeer([](Options*) {}) {}
  // With `tweak` applied to the options.
  explicit ListeningPeer(const std::function<void(Options*)>& tweak) {
    Options o = TestOptions(dir.path());
    o.listen = "127.0.0.1:0";
    o.seeds = {o.listen};
    tweak(&o);
    auto c = Coordinator::Start(o);
    if (!c.ok()) {
      fprintf(stderr, "ListeningPeer: %s\n", c.status().ToString().c_str());
      abort();
    }
    coordinator = std::move(*c);
    address = coordinator->GetHealth().listen;
  }
  TempDir dir;
  std::string address;
  std::unique_ptr<Coordinator> coordinator;
};

// Collects watch events; thread-safe.
class EventLog {
 public:
  // Returns a watcher that records into this log with `tag`.
  Watcher Recorder(std::string tag = "") {
    return [this, tag](const WatchEvent& e) {
      synod::MutexLock lock(&mu_);
      events_.push_back(Entry{tag, e});
    };
  }
  struct Entry {
    std::string tag;
    WatchEvent event;
  };
  // Waits until at least `n` events arrived or `timeout` passed; returns
  // all events so far.
  std::vector<Entry> WaitFor(size_t n, absl::Duration timeout = absl::Seconds(10)) {
    synod::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return events_.size() >= n;
    };
    mu_.AwaitWithTimeout(enough, timeout);
    return events_;
  }
  std::vector<Entry> Snapshot() {
    synod::MutexLock lock(&mu_);
    return events_;
  }

 private:
  synod::Mutex mu_;
  std::vector<Entry> events_ ABSL_GUARDED_BY(mu_);
};

// Blocks until everything queued on `c`'s dispatcher before the call has run.
inline void DrainDispatcher(Coordinator& c) {
  synod::Mutex mu;
  bool done = false;
  c.GetAsync("/", nullptr, [&](absl::StatusOr<Node>) {
    synod::MutexLock lock(&mu);
    done = true;
  });
  synod::MutexLock lock(&mu);
  mu.Await([&done] { return done; });
}

}  // namespace synod::testing

#endif  // SYNOD_TEST_TEST_UTIL_H_
