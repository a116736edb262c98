// bench_floor: the physical floor under the side-by-side benchmark's
// figures, measured on this machine in the same run.
//
//   fsync     a 1 KiB append to a file in --dir followed by fdatasync, the
//             least a durable write can cost on this disk (--fsyncs times)
//   loopback  a 1-byte TCP round trip over 127.0.0.1 with TCP_NODELAY, the
//             least a message to another process and back can cost
//             (--round-trips times)
//   handoff   a round trip between two threads through a mutex and a
//             condition variable (each wakes the other once), what two
//             hops of work between threads cost at the least: a write
//             crosses threads several times in each peer (--handoffs times)
//
// Prints "name,p50_us,p99_us" CSV lines (with a header) to stdout.

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench_floor: %s: %s\n", what.c_str(),
               std::strerror(errno));
  std::exit(1);
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::vector<double> Fsyncs(const std::string& dir, int n) {
  const std::string path = dir + "/bench_floor.fsync";
  const int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (fd < 0) Die("open " + path);
  std::string block(1024, 'x');
  std::vector<double> us;
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    if (write(fd, block.data(), block.size()) !=
            static_cast<ssize_t>(block.size()) ||
        fdatasync(fd) != 0) {
      Die("write+fdatasync " + path);
    }
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0)
                     .count());
  }
  close(fd);
  unlink(path.c_str());
  return us;
}

std::vector<double> RoundTrips(int n) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&a), len) ||
      listen(listener, 1) ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len)) {
    Die("loopback listen");
  }
  std::thread echo([listener] {
    const int fd = accept(listener, nullptr, nullptr);
    if (fd < 0) return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char c;
    while (read(fd, &c, 1) == 1) {
      if (write(fd, &c, 1) != 1) break;
    }
    close(fd);
  });
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&a), len)) {
    Die("loopback connect");
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::vector<double> us;
  char c = 'p';
  for (int i = 0; i < n + 100; ++i) {
    const auto t0 = Clock::now();
    if (write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1) Die("loopback ping");
    if (i >= 100) {  // the first hundred warm up
      us.push_back(
          std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
  }
  close(fd);
  echo.join();
  close(listener);
  return us;
}

// Round trips between this thread and another: each hands the turn to the
// other and waits for it back. The first hundred warm up.
std::vector<double> Handoffs(int n) {
  std::mutex mu;
  std::condition_variable cv;
  bool other_turn = false;
  const int total = n + 100;
  std::thread other([&] {
    for (int i = 0; i < total; ++i) {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return other_turn; });
      other_turn = false;
      cv.notify_all();
    }
  });
  std::vector<double> us;
  for (int i = 0; i < total; ++i) {
    const auto t0 = Clock::now();
    std::unique_lock<std::mutex> lock(mu);
    other_turn = true;
    cv.notify_all();
    cv.wait(lock, [&] { return !other_turn; });
    if (i >= 100) {
      us.push_back(
          std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
  }
  other.join();
  return us;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = ".";
  int fsyncs = 200, trips = 10000, handoffs = 5000;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--dir=", 0) == 0) {
      dir = arg.substr(6);
    } else if (arg.rfind("--fsyncs=", 0) == 0) {
      fsyncs = std::max(1, std::atoi(arg.c_str() + 9));
    } else if (arg.rfind("--round-trips=", 0) == 0) {
      trips = std::max(1, std::atoi(arg.c_str() + 14));
    } else if (arg.rfind("--handoffs=", 0) == 0) {
      handoffs = std::max(1, std::atoi(arg.c_str() + 11));
    } else {
      std::fprintf(stderr,
                   "usage: bench_floor [--dir=DIR] [--fsyncs=N] "
                   "[--round-trips=N] [--handoffs=N]\n");
      return 2;
    }
  }
  const auto f = Fsyncs(dir, fsyncs);
  const auto r = RoundTrips(trips);
  const auto h = Handoffs(handoffs);
  std::printf("name,p50_us,p99_us\n");
  std::printf("fsync,%.1f,%.1f\n", Percentile(f, 0.5), Percentile(f, 0.99));
  std::printf("loopback_rtt,%.1f,%.1f\n", Percentile(r, 0.5),
              Percentile(r, 0.99));
  std::printf("thread_handoff_rtt,%.1f,%.1f\n", Percentile(h, 0.5),
              Percentile(h, 0.99));
  return 0;
}
