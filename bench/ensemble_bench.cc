// synod_ensemble_bench: what a three-peer ensemble on loopback costs.
//
// Three Coordinators in this process, each with its own data directory and
// loopback port, talking over gRPC exactly as separate processes would,
// through the public API only:
//
//   write-leader    creates at the leader, 1 in flight, then --window in
//                   flight (async): latency p50/p99 and throughput
//   write-follower  the same at a follower (each write forwarded)
//   catchup         one follower stopped and its data directory emptied;
//                   --catchup-znodes znodes created; the follower started
//                   fresh: the time until it has applied everything (it
//                   catches up by SNAP: the others keep log_retention
//                   entries)
//   lock            recipes::Lock at a follower: acquire + release by one
//                   thread (uncontended), then 16 threads spread over the
//                   three peers, each with its own Lock, for --lock-seconds:
//                   acquisitions/s and acquire latency p50/p99
//   election        recipes::LeaderElection on all three peers; the
//                   leader's Coordinator is shut down (a clean close: its
//                   session ends at once): the time until another
//                   participant's listener hears it leads. A crash instead
//                   adds the session timeout (the ensemble must expire the
//                   dead leader's session first: docs/recipes.md).
//
// With --tls every peer link is mutual TLS (a CA and a certificate made
// with openssl in the run's directory), so that a run with and a run without
// give the cost of TLS (bench/README.md).
//
// Every result is checked; an unexpected error ends the run with status 1.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "synod/recipes.h"
#include "synod/synod.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  int64_t ops = 20000;
  int64_t window = 256;
  int64_t catchup_znodes = 1000000;
  int64_t value_bytes = 100;
  std::string data_dir = "/tmp";
  bool tls = false;
  int64_t lock_ops = 2000;      // uncontended acquire + release cycles
  int64_t lock_seconds = 5;     // the 16-contender run
  int64_t failovers = 5;        // election failovers measured
};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "synod_ensemble_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const absl::Status& s, const std::string& what) {
  if (!s.ok()) Fail(absl::StrCat(what, ": ", s.ToString()));
}

// A loopback port the kernel picks, free when this returns.
int PickPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    Fail("cannot pick a loopback port");
  }
  close(fd);
  return ntohs(a.sin_port);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const std::string& name) -> std::string {
      const std::string prefix = "--" + name + "=";
      return arg.rfind(prefix, 0) == 0 ? arg.substr(prefix.size()) : "";
    };
    if (arg == "--smoke") {
      f.ops = 200;
      f.window = 32;
      f.catchup_znodes = 2000;
      f.lock_ops = 50;
      f.lock_seconds = 1;
      f.failovers = 1;
    } else if (!value("ops").empty()) {
      f.ops = std::atoll(value("ops").c_str());
    } else if (!value("window").empty()) {
      f.window = std::atoll(value("window").c_str());
    } else if (!value("catchup-znodes").empty()) {
      f.catchup_znodes = std::atoll(value("catchup-znodes").c_str());
    } else if (!value("value-bytes").empty()) {
      f.value_bytes = std::atoll(value("value-bytes").c_str());
    } else if (!value("data-dir").empty()) {
      f.data_dir = value("data-dir");
    } else if (arg == "--tls") {
      f.tls = true;
    } else if (!value("lock-ops").empty()) {
      f.lock_ops = std::atoll(value("lock-ops").c_str());
    } else if (!value("lock-seconds").empty()) {
      f.lock_seconds = std::atoll(value("lock-seconds").c_str());
    } else if (!value("failovers").empty()) {
      f.failovers = std::atoll(value("failovers").c_str());
    } else {
      Fail("usage: synod_ensemble_bench [--smoke] [--ops=N] [--window=N] "
           "[--catchup-znodes=N] [--value-bytes=N] [--data-dir=DIR] [--tls]");
    }
  }
  if (f.ops < 1 || f.window < 1 || f.catchup_znodes < 1 || f.value_bytes < 0 ||
      f.lock_ops < 1 || f.lock_seconds < 1 || f.failovers < 1) {
    Fail("--ops, --window and --catchup-znodes must be positive");
  }
  return f;
}

class Ensemble {
 public:
  Ensemble(const std::string& parent, bool tls) {
    root_ = parent + "/synod-ensemble-bench-" + std::to_string(getpid());
    for (int i = 0; i < 3; ++i) {
      seeds_.push_back(absl::StrCat("127.0.0.1:", PickPort()));
    }
    if (tls) MakeCertificates();
  }
  // A CA and one certificate for 127.0.0.1 (P-256), as docs/security.md
  // makes them.
  void MakeCertificates() {
    const std::string d = root_ + "/tls";
    std::filesystem::create_directories(d);
    const std::string script = absl::StrCat(
        "cd ", d, " && openssl req -x509 -newkey ec -pkeyopt "
        "ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem "
        "-days 1 -subj /CN=bench-ca && openssl req -newkey ec -pkeyopt "
        "ec_paramgen_curve:prime256v1 -nodes -keyout peer.key -out peer.csr "
        "-subj /CN=peer && printf 'subjectAltName=IP:127.0.0.1\\n' > "
        "peer.ext && openssl x509 -req -in peer.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -out peer.pem -days 1 -extfile peer.ext");
    if (std::system(("(" + script + ") >/dev/null 2>&1").c_str()) != 0) {
      Fail("cannot make the TLS certificates (is openssl installed?)");
    }
    tls_ = synod::TlsOptions{d + "/peer.pem", d + "/peer.key", d + "/ca.pem"};
  }
  ~Ensemble() {
    for (auto& c : peers_) c.reset();
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  synod::Options OptionsFor(int i, const std::string& dir) {
    synod::Options o;
    o.data_dir = dir;
    o.listen = seeds_[i];
    o.seeds = seeds_;
    o.tls = tls_;
    o.log_sink = synod::StderrLogSink(getenv("SYNOD_BENCH_LOG") ? synod::LogLevel::kInfo : synod::LogLevel::kError);
    return o;
  }
  void Start(int i, const std::string& dir_name) {
    auto c = synod::Coordinator::Start(OptionsFor(i, root_ + "/" + dir_name));
    Check(c.status(), "start");
    peers_[i] = std::move(*c);
  }
  void StartAll() {
    for (int i = 0; i < 3; ++i) Start(i, absl::StrCat("peer", i));
    for (int i = 0; i < 3; ++i) {
      Check(peers_[i]->WaitConnected(absl::Seconds(60)), "connect");
    }
  }
  int Leader() {
    for (int i = 0; i < 3; ++i) {
      if (peers_[i] && peers_[i]->GetHealth().role == "leader") return i;
    }
    return -1;
  }
  synod::Coordinator& at(int i) { return *peers_[i]; }
  void Stop(int i) { peers_[i].reset(); }

 private:
  std::string root_;
  std::vector<std::string> seeds_;
  synod::TlsOptions tls_;
  std::unique_ptr<synod::Coordinator> peers_[3];
};

struct Stats {
  double ops_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
};

Stats Summarize(std::vector<double>* us, double seconds) {
  std::sort(us->begin(), us->end());
  Stats s;
  s.ops_per_s = us->size() / seconds;
  s.p50_us = (*us)[us->size() / 2];
  s.p99_us = (*us)[std::min(us->size() - 1, us->size() * 99 / 100)];
  return s;
}

// Creates `n` znodes under `prefix` at `c` with `window` in flight.
Stats Creates(synod::Coordinator& c, const std::string& prefix, int64_t n,
              int64_t window, const std::string& value) {
  std::vector<double> us(n);
  std::mutex mu;
  std::condition_variable cv;
  int64_t in_flight = 0, done = 0;
  std::string error;
  const auto start = Clock::now();
  for (int64_t i = 0; i < n; ++i) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight < window; });
      if (!error.empty()) Fail(error);
      ++in_flight;
    }
    const auto t0 = Clock::now();
    c.CreateAsync(absl::StrCat(prefix, i), value, synod::CreateMode::kPersistent,
                  synod::CreateOptions(),
                  [&, i, t0](absl::StatusOr<std::string> r) {
                    const double d =
                        std::chrono::duration<double, std::micro>(Clock::now() - t0)
                            .count();
                    std::lock_guard<std::mutex> lock(mu);
                    if (!r.ok() && error.empty()) error = r.status().ToString();
                    us[i] = d;
                    --in_flight;
                    ++done;
                    cv.notify_all();
                  });
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done == n; });
  if (!error.empty()) Fail(error);
  const double seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  return Summarize(&us, seconds);
}

void Row(const std::string& name, int64_t window, const Stats& s) {
  std::printf("%-16s %6lld %12.0f %10.0f %10.0f\n", name.c_str(),
              static_cast<long long>(window), s.ops_per_s, s.p50_us, s.p99_us);
}

// One thread acquires and releases a Lock at `c` `n` times: the latency of
// each acquire + release pair.
Stats LockUncontended(synod::Coordinator& c, int64_t n) {
  synod::recipes::Lock lock(c, "/bench/lock-alone");
  std::vector<double> us;
  const auto start = Clock::now();
  for (int64_t i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    Check(lock.Acquire(absl::Seconds(30)), "acquire");
    Check(lock.Release(), "release");
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0)
                     .count());
  }
  return Summarize(&us, std::chrono::duration<double>(Clock::now() - start)
                            .count());
}

// 16 threads over the three peers, each with its own Lock on one path,
// acquire and release for `seconds`: acquisitions/s, acquire latency.
Stats LockContended(Ensemble& e, int64_t seconds) {
  constexpr int kThreads = 16;
  std::mutex mu;
  std::vector<double> us;
  std::atomic<int> inside{0};
  std::atomic<bool> overlap{false};
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      synod::recipes::Lock lock(e.at(t % 3), "/bench/lock-16");
      std::vector<double> mine;
      while (Clock::now() < end) {
        const auto t0 = Clock::now();
        Check(lock.Acquire(absl::Seconds(60)), "acquire");
        mine.push_back(
            std::chrono::duration<double, std::micro>(Clock::now() - t0)
                .count());
        if (inside.fetch_add(1) != 0) overlap = true;
        inside.fetch_sub(1);
        Check(lock.Release(), "release");
      }
      std::lock_guard<std::mutex> lock_us(mu);
      us.insert(us.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  if (overlap) Fail("two lock holders overlapped");
  return Summarize(&us, std::chrono::duration<double>(Clock::now() - start)
                            .count());
}

// Elects among the three peers, shuts the leader's Coordinator down and
// times until another participant leads; then restarts that peer. Returns
// each failover's time in ms.
std::vector<double> ElectionFailovers(Ensemble& e, int64_t rounds) {
  std::vector<double> ms;
  for (int64_t r = 0; r < rounds; ++r) {
    std::mutex mu;
    std::condition_variable cv;
    int leading = -1;
    Clock::time_point won;
    std::unique_ptr<synod::recipes::LeaderElection> elections[3];
    for (int i = 0; i < 3; ++i) {
      elections[i] = std::make_unique<synod::recipes::LeaderElection>(
          e.at(i), "/bench/election", absl::StrCat("p", i),
          [&, i](bool now_leading) {
            if (!now_leading) return;
            std::lock_guard<std::mutex> lock(mu);
            leading = i;
            won = Clock::now();
            cv.notify_all();
          });
      Check(elections[i]->Start(), "join the election");
    }
    int first;
    {
      std::unique_lock<std::mutex> lock(mu);
      if (!cv.wait_for(lock, std::chrono::seconds(60),
                       [&] { return leading >= 0; })) {
        Fail("nobody was elected");
      }
      first = leading;
      leading = -1;
    }
    const auto stop = Clock::now();
    elections[first].reset();  // (its own listener hears the loss)
    e.Stop(first);
    {
      std::unique_lock<std::mutex> lock(mu);
      if (!cv.wait_for(lock, std::chrono::seconds(60),
                       [&] { return leading >= 0; })) {
        Fail("no new leader after the leader stopped");
      }
      ms.push_back(
          std::chrono::duration<double, std::milli>(won - stop).count());
    }
    for (auto& election : elections) election.reset();
    e.Start(first, absl::StrCat("peer", first));
    Check(e.at(first).WaitConnected(absl::Seconds(60)), "reconnect");
  }
  std::sort(ms.begin(), ms.end());
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  const Flags f = ParseFlags(argc, argv);
  const std::string value(static_cast<size_t>(f.value_bytes), 'v');
  Ensemble e(f.data_dir, f.tls);
  e.StartAll();
  const int leader = e.Leader();
  if (leader < 0) Fail("no leader");
  const int follower = (leader + 1) % 3;
  const int fresh = (leader + 2) % 3;
  Check(e.at(leader).Create("/l", "").status(), "create /l");
  Check(e.at(leader).Create("/f", "").status(), "create /f");

  std::printf("three peers on loopback, %lld-byte values%s\n",
              static_cast<long long>(f.value_bytes),
              f.tls ? ", mutual TLS" : "");
  std::printf("%-16s %6s %12s %10s %10s\n", "workload", "window", "ops/s",
              "p50 us", "p99 us");
  Row("write-leader", 1, Creates(e.at(leader), "/l/a", f.ops / 10 + 1, 1, value));
  Row("write-leader", f.window,
      Creates(e.at(leader), "/l/b", f.ops, f.window, value));
  Row("write-follower", 1,
      Creates(e.at(follower), "/f/a", f.ops / 10 + 1, 1, value));
  Row("write-follower", f.window,
      Creates(e.at(follower), "/f/b", f.ops, f.window, value));

  // A fresh follower catching up.
  e.Stop(fresh);
  Check(e.at(leader).Create("/c", "").status(), "create /c");
  Creates(e.at(leader), "/c/n", f.catchup_znodes, f.window, value);
  const synod::Zxid target = e.at(leader).GetHealth().last_zxid;
  const auto start = Clock::now();
  e.Start(fresh, "fresh");
  while (e.at(fresh).GetHealth().last_zxid < target) {
    if (Clock::now() - start > std::chrono::minutes(10)) Fail("catch-up timed out");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  const synod::Health h = e.at(fresh).GetHealth();
  std::printf("catchup: a fresh follower applied %lld znodes in %.2f s "
              "(snapshots installed: %lld)\n",
              static_cast<long long>(h.znode_count), seconds,
              static_cast<long long>(h.snapshots_installed));

  // Recipes, through the public API like any user's code.
  Row("lock-alone", 1, LockUncontended(e.at(follower), f.lock_ops));
  Row("lock-16", 16, LockContended(e, f.lock_seconds));
  const std::vector<double> failovers = ElectionFailovers(e, f.failovers);
  std::printf("election failover (the leader resigns and shuts down): median %.1f ms, max "
              "%.1f ms over %zu\n",
              failovers[failovers.size() / 2], failovers.back(),
              failovers.size());
  return 0;
}
