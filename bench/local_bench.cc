// synod_local_bench: what a one-peer, in-process synod Coordinator costs.
//
// Each workload runs on a fresh Coordinator in its own data directory under
// a temporary directory (removed at exit), through the public API only:
//
//   create   sequential creates of new znodes
//   set      sets of a pre-created set of --nodes znodes (round robin)
//   get      local reads of pre-created znodes, from 1 and --threads threads
//   mixed    90% get / 10% set on pre-created znodes
//   multi    Multi of 10 creates
//   restart  loads --restart-znodes znodes (a tree of about sqrt(N) parents
//            with sqrt(N) children each), reports the load rate and resident
//            memory per znode, then times Coordinator::Start on that data
//            directory (median of 3)
//
// Writes are measured at 1 operation in flight (the blocking calls: latency)
// and at 256 in flight (the *Async calls, a window of 256 outstanding: the
// throughput of group commit); latency is per operation, from the call to
// its return or its callback. Reads are timed in batches of 64 calls (the
// clock would otherwise cost as much as the read), so read percentiles are
// of per-read averages over a batch.
//
// Each row also reports the average group commit (transactions per durable
// log write, from Coordinator::GetHealth) and the process's CPU use in cores
// (getrusage over wall time), to tell a CPU-bound phase from a disk-bound one.
//
// Before and after the workloads it measures the machine's fsync latency
// (4 KiB append + fdatasync in the data directory): the physical floor of a
// durable write's latency.
//
// Every operation's result is checked; any unexpected error ends the run
// with a message and exit status 1.

#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "synod/synod.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// ---- Flags -----------------------------------------------------------------

struct Flags {
  std::vector<std::string> workloads = {"create", "set",   "get",
                                        "mixed",  "multi", "restart"};
  int64_t write_ops = 20000;
  int64_t read_ops = 2000000;
  absl::Duration duration = absl::Seconds(30);
  int64_t nodes = 10000;
  int64_t value_bytes = 1024;
  int threads = 2;
  int64_t restart_znodes = 1000000;
  int64_t restart_value_bytes = 100;
  int restarts = 3;
  int window = 256;
  std::string data_dir = "/tmp";
  std::string csv;
  bool smoke = false;
};

constexpr char kUsage[] = R"(usage: synod_local_bench [flags]

  --workloads=LIST       comma-separated subset of
                         create,set,get,mixed,multi,restart (default: all)
  --ops=N                operations per workload phase, reads included
                         (default: 20000 per write phase, 2000000 per read
                         phase)
  --read-ops=N           reads per read phase, overriding --ops
  --duration=D           time cap per workload phase, e.g. 30s, 2m (default
                         30s); a capped phase reports the operations done
  --nodes=N              znodes pre-created for set, get, mixed (default 10000)
  --value-bytes=N        znode data size (default 1024)
  --threads=N            reader threads of the multi-threaded get (default 2)
  --window=N             operations in flight for the async phases (default
                         256)
  --restart-znodes=N     znodes loaded by restart (default 1000000)
  --restart-value-bytes=N  their data size (default 100)
  --data-dir=DIR         parent of the temporary data directory (default /tmp)
  --csv=PATH             also write the rows to PATH as CSV
  --smoke                tiny sizes (CI): 200 writes, 6400 reads, 100 nodes,
                         2000 restart znodes
  --help                 this text
)";

[[noreturn]] void Usage(const std::string& error) {
  std::fprintf(stderr, "synod_local_bench: %s\n\n%s", error.c_str(), kUsage);
  std::exit(2);
}

int64_t ParseCount(const std::string& name, const std::string& value) {
  std::string digits;
  for (char ch : value) {
    if (ch != ',' && ch != '_') digits.push_back(ch);
  }
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(digits.c_str(), &end, 10);
  if (digits.empty() || *end != '\0' || errno != 0 || v < 0) {
    Usage(absl::StrCat("--", name, " needs a non-negative integer, not \"",
                       value, "\""));
  }
  return v;
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  bool ops_set = false, read_ops_set = false, nodes_set = false,
       restart_set = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (arg.rfind("--", 0) != 0) Usage("unexpected argument " + arg);
    std::string name = arg.substr(2), value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "smoke") {
      if (has_value) Usage("--smoke takes no value");
      f.smoke = true;
      continue;
    }
    static const char* const kValued[] = {
        "workloads", "ops", "read-ops", "duration", "nodes", "value-bytes",
        "threads", "window", "restart-znodes", "restart-value-bytes",
        "data-dir", "csv"};
    if (std::find(std::begin(kValued), std::end(kValued), name) ==
        std::end(kValued)) {
      Usage("unknown flag --" + name);
    }
    if (!has_value) {
      if (i + 1 >= argc) Usage("--" + name + " needs a value");
      value = argv[++i];
    }
    if (name == "workloads") {
      f.workloads.clear();
      for (const auto& w : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        std::string s(w.data(), w.size());
        if (s != "create" && s != "set" && s != "get" && s != "mixed" &&
            s != "multi" && s != "restart") {
          Usage("unknown workload \"" + s + "\"");
        }
        f.workloads.push_back(s);
      }
      if (f.workloads.empty()) Usage("--workloads is empty");
    } else if (name == "ops") {
      f.write_ops = ParseCount(name, value);
      ops_set = true;
    } else if (name == "read-ops") {
      f.read_ops = ParseCount(name, value);
      read_ops_set = true;
    } else if (name == "duration") {
      absl::Duration d;
      if (absl::ParseDuration(value, &d) && d > absl::ZeroDuration()) {
        f.duration = d;
      } else {
        f.duration = absl::Seconds(ParseCount(name, value));
        if (f.duration <= absl::ZeroDuration()) Usage("--duration must be > 0");
      }
    } else if (name == "nodes") {
      f.nodes = ParseCount(name, value);
      nodes_set = true;
    } else if (name == "value-bytes") {
      f.value_bytes = ParseCount(name, value);
    } else if (name == "threads") {
      f.threads = static_cast<int>(ParseCount(name, value));
    } else if (name == "window") {
      f.window = static_cast<int>(ParseCount(name, value));
    } else if (name == "restart-znodes") {
      f.restart_znodes = ParseCount(name, value);
      restart_set = true;
    } else if (name == "restart-value-bytes") {
      f.restart_value_bytes = ParseCount(name, value);
    } else if (name == "data-dir") {
      f.data_dir = value;
    } else if (name == "csv") {
      f.csv = value;
    }
  }
  if (ops_set && !read_ops_set) f.read_ops = f.write_ops;
  if (f.smoke) {
    if (!ops_set) f.write_ops = 200;
    if (!ops_set && !read_ops_set) f.read_ops = 6400;
    if (!nodes_set) f.nodes = 100;
    if (!restart_set) f.restart_znodes = 2000;
  }
  if (f.write_ops < 1 || f.read_ops < 1) Usage("--ops must be at least 1");
  if (f.nodes < 1) Usage("--nodes must be at least 1");
  if (f.threads < 1) Usage("--threads must be at least 1");
  if (f.window < 1) Usage("--window must be at least 1");
  if (f.restart_znodes < 1) Usage("--restart-znodes must be at least 1");
  return f;
}

// ---- Failure ---------------------------------------------------------------

std::string g_temp_root;  // removed at exit, also on failure

void RemoveTempRoot() {
  if (g_temp_root.empty()) return;
  std::error_code ec;
  fs::remove_all(g_temp_root, ec);
  g_temp_root.clear();
}

// Ends the run: an unexpected result means the numbers would be wrong.
[[noreturn]] void Fatal(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "synod_local_bench: FAILED: %s\n", message.c_str());
  RemoveTempRoot();
  std::_Exit(1);  // without running destructors: threads may still be busy
}

std::string Describe(const absl::Status& s) {
  return absl::StrCat(s.ToString(), " [",
                      std::string(synod::ErrorName(synod::ErrorOf(s))), "]");
}

void Check(const absl::Status& s, const std::string& what) {
  if (!s.ok()) Fatal(absl::StrCat(what, ": ", Describe(s)));
}

// ---- Measurement helpers ---------------------------------------------------

int64_t Nanos(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// CPU time of the whole process (every thread, synod's included), seconds.
double CpuSeconds() {
  struct rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// Nearest-rank percentile of sorted `v`, q in [0, 1].
double Percentile(const std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return static_cast<double>(v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)]);
}

// Resident memory of this process, from /proc/self/status, after handing
// free heap back to the system (so memory freed by earlier workloads does
// not hide what the next allocations take).
int64_t RssBytes() {
  ::malloc_trim(0);
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::strtoll(line.c_str() + 6, nullptr, 10) * 1024;
    }
  }
  return -1;
}

// Incompressible data, so LevelDB's compression flatters nothing.
std::string MakeValue(int64_t bytes, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string v(static_cast<size_t>(bytes), '\0');
  for (char& ch : v) ch = static_cast<char>(rng());
  return v;
}

// ---- Results ---------------------------------------------------------------

struct Row {
  std::string workload;
  int in_flight = 1;
  int threads = 1;
  int64_t ops = 0;
  double seconds = 0;
  // Per op, ns (for reads: per-read averages of batches).
  std::vector<int64_t> lat_ns;
  bool read = false;     // reads: p50/p99 in ns only
  double txns_per_sync = 0;  // writes: average group-commit size
  bool sub = false;          // a breakdown of the row above (indented)
  double cpu = 0;            // process CPU time / wall time, in cores
  bool no_rate = false;      // ops/s means nothing (restart-start)
  std::string note;
};

std::vector<Row> g_rows;

void PrintHeader() {
  std::printf("%-14s %5s %3s %9s %11s %4s %9s %9s %9s %9s %8s %4s\n",
              "workload", "infl", "thr", "ops", "ops/s", "unit", "p50", "p99",
              "p99.9", "max", "txn/sync", "cpu");
}

void PrintRow(const Row& r) {
  const std::string name = (r.sub ? "  " : "") + r.workload;
  std::vector<int64_t> v = r.lat_ns;
  std::sort(v.begin(), v.end());
  double rate = r.seconds > 0 ? static_cast<double>(r.ops) / r.seconds : 0;
  char rate_s[32] = "-";
  if (!r.no_rate) std::snprintf(rate_s, sizeof rate_s, "%.0f", rate);
  if (r.read) {
    std::printf("%-14s %5d %3d %9" PRId64 " %11s %4s %9.0f %9.0f %9s %9s %8s",
                name.c_str(), r.in_flight, r.threads, r.ops, rate_s, "ns",
                Percentile(v, 0.50), Percentile(v, 0.99), "-", "-", "-");
  } else {
    char syncs[32] = "-";
    if (r.txns_per_sync > 0) {
      std::snprintf(syncs, sizeof syncs, "%.1f", r.txns_per_sync);
    }
    std::printf("%-14s %5d %3d %9" PRId64 " %11s %4s %9.1f %9.1f %9.1f %9.1f %8s",
                name.c_str(), r.in_flight, r.threads, r.ops, rate_s, "us",
                Percentile(v, 0.50) / 1e3, Percentile(v, 0.99) / 1e3,
                Percentile(v, 0.999) / 1e3, Percentile(v, 1.0) / 1e3, syncs);
  }
  if (r.sub) {
    std::printf(" %4s", "");
  } else {
    std::printf(" %4.2f", r.cpu);
  }
  if (!r.note.empty()) std::printf("  %s", r.note.c_str());
  std::printf("\n");
  std::fflush(stdout);
}

void Report(Row row) {
  PrintRow(row);
  g_rows.push_back(std::move(row));
}

void WriteCsv(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) Fatal(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  std::fprintf(f, "workload,in_flight,threads,ops,ops_per_sec,p50_us,p99_us,"
                  "p999_us,max_us\n");
  for (const Row& r : g_rows) {
    std::vector<int64_t> v = r.lat_ns;
    std::sort(v.begin(), v.end());
    double rate = r.seconds > 0 ? static_cast<double>(r.ops) / r.seconds : 0;
    std::string rate_s = r.no_rate ? "" : absl::StrFormat("%.1f", rate);
    std::fprintf(f, "%s,%d,%d,%" PRId64 ",%s,%.4f,%.4f,", r.workload.c_str(),
                 r.in_flight, r.threads, r.ops, rate_s.c_str(),
                 Percentile(v, 0.5) / 1e3, Percentile(v, 0.99) / 1e3);
    if (r.read) {
      std::fprintf(f, ",\n");  // batch averages: no meaningful tail
    } else {
      std::fprintf(f, "%.4f,%.4f\n", Percentile(v, 0.999) / 1e3,
                   Percentile(v, 1.0) / 1e3);
    }
  }
  if (std::fclose(f) != 0) Fatal(absl::StrCat("cannot write ", path));
}

// ---- The physical floor ----------------------------------------------------

// Times 4 KiB appends each followed by fdatasync, in `dir`. Run before and
// after the workloads: on a shared machine the disk's latency drifts.
void MeasureFsync(const std::string& dir, int samples, const char* when) {
  std::string path = dir + "/fsync-probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Fatal(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  std::string block = MakeValue(4096, 7);
  std::vector<int64_t> lat;
  for (int i = 0; i < samples; ++i) {
    auto t0 = Clock::now();
    if (::write(fd, block.data(), block.size()) !=
        static_cast<ssize_t>(block.size())) {
      Fatal(absl::StrCat("write ", path, ": ", std::strerror(errno)));
    }
    if (::fdatasync(fd) != 0) {
      Fatal(absl::StrCat("fdatasync ", path, ": ", std::strerror(errno)));
    }
    lat.push_back(Nanos(Clock::now() - t0));
  }
  ::close(fd);
  ::unlink(path.c_str());
  std::sort(lat.begin(), lat.end());
  std::printf("fsync floor (%s): 4 KiB append + fdatasync in %s: median "
              "%.1f us, p99 %.1f us (%d samples)\n",
              when, dir.c_str(), Percentile(lat, 0.5) / 1e3,
              Percentile(lat, 0.99) / 1e3, samples);
}

// The load average, for judging how busy a shared machine was.
std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

// ---- Coordinators ----------------------------------------------------------

std::unique_ptr<synod::Coordinator> StartAt(const std::string& dir) {
  synod::Options options;
  options.data_dir = dir;
  auto c = synod::Coordinator::Start(options);
  Check(c.status(), "Coordinator::Start(" + dir + ")");
  return std::move(*c);
}

// A fresh data directory for one workload.
std::string WorkloadDir(const std::string& name) {
  return g_temp_root + "/" + name;
}

void RemoveDir(const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// Fails unless every write so far succeeded and none is pending.
void CheckHealth(synod::Coordinator* c, const std::string& workload) {
  synod::Health h = c->GetHealth();
  if (h.write_errors != 0 || h.pending_writes != 0) {
    Fatal(absl::StrCat(workload, ": health reports ", h.write_errors,
                       " write errors and ", h.pending_writes,
                       " pending writes"));
  }
}

// Measures group commit over a phase: transactions per durable log write.
class SyncCounter {
 public:
  explicit SyncCounter(synod::Coordinator* c) : c_(c) {
    synod::Health h = c->GetHealth();
    syncs_ = h.log_syncs;
    txns_ = h.txns_logged;
  }
  double TxnsPerSync() const {
    synod::Health h = c_->GetHealth();
    int64_t syncs = h.log_syncs - syncs_;
    return syncs > 0 ? static_cast<double>(h.txns_logged - txns_) / syncs : 0;
  }

 private:
  synod::Coordinator* c_;
  int64_t syncs_ = 0, txns_ = 0;
};

// ---- Runners ---------------------------------------------------------------

// Now + `cap`, without overflow for long or infinite caps.
Clock::time_point Deadline(absl::Duration cap) {
  if (cap >= absl::Hours(24 * 365)) return Clock::time_point::max();
  return Clock::now() + absl::ToChronoNanoseconds(cap);
}

// Runs op(i) for i in [0, ops), one at a time, until done or `cap` passes.
// op returns the operation's status; anything but OK is fatal.
Row RunBlocking(const std::string& name, int64_t ops, absl::Duration cap,
                const std::function<absl::Status(int64_t)>& op) {
  Row row;
  row.workload = name;
  row.lat_ns.reserve(static_cast<size_t>(ops));
  const Clock::time_point deadline = Deadline(cap);
  const double cpu0 = CpuSeconds();
  const auto start = Clock::now();
  int64_t i = 0;
  for (; i < ops; ++i) {
    auto t0 = Clock::now();
    if (t0 >= deadline) break;
    absl::Status s = op(i);
    row.lat_ns.push_back(Nanos(Clock::now() - t0));
    if (!s.ok()) Fatal(absl::StrCat(name, " op ", i, ": ", Describe(s)));
  }
  row.seconds = Seconds(Clock::now() - start);
  row.cpu = (CpuSeconds() - cpu0) / row.seconds;
  row.ops = i;
  if (i < ops) row.note = absl::StrCat("(capped at ", absl::FormatDuration(cap), ")");
  return row;
}

// Keeps at most `limit` asynchronous operations outstanding and records
// each one's latency, from submission to callback.
class Window {
 public:
  Window(int limit, std::vector<int64_t>* lat) : limit_(limit), lat_(lat) {}

  // Waits for a free slot. Returns false once an operation has failed.
  bool Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return outstanding_ < limit_ || !error_.empty(); });
    if (!error_.empty()) return false;
    ++outstanding_;
    return true;
  }

  // Completes operation `i`, submitted at `t0`. Runs on the dispatcher.
  void Release(int64_t i, Clock::time_point t0, const absl::Status& s) {
    int64_t ns = Nanos(Clock::now() - t0);
    std::lock_guard<std::mutex> lock(mu_);
    (*lat_)[static_cast<size_t>(i)] = ns;
    if (!s.ok() && error_.empty()) {
      error_ = absl::StrCat("op ", i, ": ", Describe(s));
    }
    --outstanding_;
    cv_.notify_all();
  }

  // Waits until nothing is outstanding; returns the first error, if any.
  std::string Drain() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return outstanding_ == 0; });
    return error_;
  }

 private:
  const int limit_;
  std::vector<int64_t>* const lat_;
  std::mutex mu_;
  std::condition_variable cv_;
  int outstanding_ = 0;
  std::string error_;
};

// Completion handle given to an asynchronous operation: call exactly once.
struct Done {
  Window* window;
  int64_t index;
  Clock::time_point t0;
  void operator()(const absl::Status& s) const { window->Release(index, t0, s); }
};

// Submits op(i, done) for i in [0, ops) with at most `limit` outstanding,
// until done or `cap` passes, then waits for all of them.
Row RunAsync(const std::string& name, int64_t ops, int limit,
             absl::Duration cap,
             const std::function<void(int64_t, Done)>& op) {
  Row row;
  row.workload = name;
  row.in_flight = limit;
  row.lat_ns.assign(static_cast<size_t>(ops), 0);
  Window window(limit, &row.lat_ns);
  const Clock::time_point deadline = Deadline(cap);
  const double cpu0 = CpuSeconds();
  const auto start = Clock::now();
  int64_t i = 0;
  for (; i < ops; ++i) {
    if (!window.Acquire()) break;
    auto t0 = Clock::now();
    if (t0 >= deadline) {
      window.Release(i, t0, absl::OkStatus());  // not submitted
      break;
    }
    op(i, Done{&window, i, t0});
  }
  std::string error = window.Drain();
  row.seconds = Seconds(Clock::now() - start);
  row.cpu = (CpuSeconds() - cpu0) / row.seconds;
  if (!error.empty()) Fatal(absl::StrCat(name, " ", error));
  row.ops = i;
  row.lat_ns.resize(static_cast<size_t>(i));
  if (i < ops) row.note = absl::StrCat("(capped at ", absl::FormatDuration(cap), ")");
  return row;
}

// Completes `done` with the status of a StatusOr, or with an error if the
// value fails `ok`.
template <typename T, typename Pred>
std::function<void(absl::StatusOr<T>)> Expect(Done done, Pred ok,
                                              const char* what) {
  return [done, ok, what](absl::StatusOr<T> r) {
    if (r.ok() && !ok(*r)) {
      done(absl::InternalError(absl::StrCat("unexpected result of ", what)));
    } else {
      done(r.status());
    }
  };
}

// Creates `paths` with `value`, `window` at a time; fatal on any error.
void Preload(synod::Coordinator* c, const std::vector<std::string>& paths,
             const std::string& value, int window, const std::string& what) {
  Row r = RunAsync(what, static_cast<int64_t>(paths.size()), window,
                   absl::InfiniteDuration(), [&](int64_t i, Done done) {
                     c->CreateAsync(paths[i], value,
                                    synod::CreateMode::kPersistent, {},
                                    Expect<std::string>(
                                        done, [](const std::string&) { return true; },
                                        "create"));
                   });
  (void)r;
}

std::vector<std::string> NodePaths(const std::string& parent, int64_t n) {
  std::vector<std::string> paths;
  paths.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) paths.push_back(absl::StrCat(parent, "/n-", i));
  return paths;
}

// ---- Workloads ---------------------------------------------------------------

void RunCreate(const Flags& f) {
  const std::string dir = WorkloadDir("create");
  auto c = StartAt(dir);
  const std::string value = MakeValue(f.value_bytes, 1);
  Check(c->Create("/c", "").status(), "create /c");
  {
    SyncCounter sc(c.get());
    Row r = RunBlocking("create", f.write_ops, f.duration, [&](int64_t i) {
      std::string path = absl::StrCat("/c/s-", i);
      absl::StatusOr<std::string> got = c->Create(path, value);
      if (got.ok() && *got != path) {
        return absl::InternalError("Create returned " + *got);
      }
      return got.status();
    });
    r.txns_per_sync = sc.TxnsPerSync();
    Report(std::move(r));
  }
  {
    SyncCounter sc(c.get());
    Row r = RunAsync("create", f.write_ops, f.window, f.duration,
                     [&](int64_t i, Done done) {
                       auto path = std::make_shared<std::string>(
                           absl::StrCat("/c/a-", i));
                       c->CreateAsync(
                           *path, value, synod::CreateMode::kPersistent, {},
                           Expect<std::string>(
                               done,
                               [path](const std::string& got) { return got == *path; },
                               "CreateAsync"));
                     });
    r.txns_per_sync = sc.TxnsPerSync();
    Report(std::move(r));
  }
  CheckHealth(c.get(), "create");
  c.reset();
  RemoveDir(dir);
}

void RunSet(const Flags& f) {
  const std::string dir = WorkloadDir("set");
  auto c = StartAt(dir);
  const std::string value = MakeValue(f.value_bytes, 2);
  Check(c->Create("/s", "").status(), "create /s");
  const std::vector<std::string> paths = NodePaths("/s", f.nodes);
  Preload(c.get(), paths, value, f.window, "set preload");
  const size_t n = paths.size();
  {
    SyncCounter sc(c.get());
    Row r = RunBlocking("set", f.write_ops, f.duration, [&](int64_t i) {
      return c->Set(paths[static_cast<size_t>(i) % n], value).status();
    });
    r.txns_per_sync = sc.TxnsPerSync();
    Report(std::move(r));
  }
  {
    SyncCounter sc(c.get());
    const int32_t size = static_cast<int32_t>(value.size());
    Row r = RunAsync("set", f.write_ops, f.window, f.duration,
                     [&](int64_t i, Done done) {
                       c->SetAsync(paths[static_cast<size_t>(i) % n], value, -1,
                                   Expect<synod::Stat>(
                                       done,
                                       [size](const synod::Stat& st) {
                                         return st.data_length == size;
                                       },
                                       "SetAsync"));
                     });
    r.txns_per_sync = sc.TxnsPerSync();
    Report(std::move(r));
  }
  CheckHealth(c.get(), "set");
  c.reset();
  RemoveDir(dir);
}

constexpr int kReadBatch = 64;

// One reader thread: `batches` batches of kReadBatch random Gets, each
// batch's per-read average appended to `lat`.
void ReadLoop(synod::Coordinator* c, const std::vector<std::string>& paths,
              size_t value_size, int64_t batches, uint64_t seed,
              std::vector<int64_t>* lat, std::string* error) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  const uint64_t n = paths.size();
  lat->reserve(static_cast<size_t>(batches));
  for (int64_t b = 0; b < batches; ++b) {
    auto t0 = Clock::now();
    for (int k = 0; k < kReadBatch; ++k) {
      x ^= x << 13;  // xorshift64
      x ^= x >> 7;
      x ^= x << 17;
      const std::string& path = paths[x % n];
      absl::StatusOr<synod::Node> node = c->Get(path);
      if (!node.ok() || node->data.size() != value_size) {
        *error = absl::StrCat(
            "Get ", path, ": ",
            node.ok() ? absl::StrCat("data of ", node->data.size(), " bytes")
                      : Describe(node.status()));
        return;
      }
    }
    lat->push_back(Nanos(Clock::now() - t0) / kReadBatch);
  }
}

// Reads from `threads` threads, read_ops in all.
Row RunReads(synod::Coordinator* c, const std::vector<std::string>& paths,
             size_t value_size, int64_t read_ops, int threads) {
  const int64_t batches =
      std::max<int64_t>(1, read_ops / kReadBatch / threads);
  std::vector<std::vector<int64_t>> lat(static_cast<size_t>(threads));
  std::vector<std::string> errors(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  const double cpu0 = CpuSeconds();
  const auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back(ReadLoop, c, std::cref(paths), value_size, batches,
                      static_cast<uint64_t>(t + 1), &lat[t], &errors[t]);
  }
  for (std::thread& th : pool) th.join();
  Row row;
  row.seconds = Seconds(Clock::now() - start);
  row.cpu = (CpuSeconds() - cpu0) / row.seconds;
  for (int t = 0; t < threads; ++t) {
    if (!errors[t].empty()) Fatal("get: " + errors[t]);
    row.lat_ns.insert(row.lat_ns.end(), lat[t].begin(), lat[t].end());
  }
  row.workload = "get";
  row.threads = threads;
  row.ops = batches * kReadBatch * threads;
  row.read = true;
  row.note = absl::StrCat("(timed in batches of ", kReadBatch, ")");
  return row;
}

void RunGet(const Flags& f) {
  const std::string dir = WorkloadDir("get");
  auto c = StartAt(dir);
  const std::string value = MakeValue(f.value_bytes, 3);
  Check(c->Create("/g", "").status(), "create /g");
  const std::vector<std::string> paths = NodePaths("/g", f.nodes);
  Preload(c.get(), paths, value, f.window, "get preload");
  // Warm up caches and the allocator.
  RunReads(c.get(), paths, value.size(), std::min<int64_t>(f.read_ops, 100000), 1);
  Report(RunReads(c.get(), paths, value.size(), f.read_ops, 1));
  if (f.threads != 1) {
    Report(RunReads(c.get(), paths, value.size(), f.read_ops, f.threads));
  }
  c.reset();
  RemoveDir(dir);
}

// Splits a mixed row's latencies by kind into two extra rows.
void ReportMixed(Row all, const std::vector<bool>& is_set) {
  Row gets, sets;
  gets.workload = "mixed:get";
  sets.workload = "mixed:set";
  for (Row* r : {&gets, &sets}) {
    r->in_flight = all.in_flight;
    r->seconds = all.seconds;  // ops/s: this kind's share of the mix
    r->sub = true;
  }
  for (size_t i = 0; i < all.lat_ns.size(); ++i) {
    (is_set[i] ? sets : gets).lat_ns.push_back(all.lat_ns[i]);
  }
  gets.ops = static_cast<int64_t>(gets.lat_ns.size());
  sets.ops = static_cast<int64_t>(sets.lat_ns.size());
  Report(std::move(all));
  Report(std::move(gets));
  Report(std::move(sets));
}

void RunMixed(const Flags& f) {
  const std::string dir = WorkloadDir("mixed");
  auto c = StartAt(dir);
  const std::string value = MakeValue(f.value_bytes, 4);
  Check(c->Create("/x", "").status(), "create /x");
  const std::vector<std::string> paths = NodePaths("/x", f.nodes);
  Preload(c.get(), paths, value, f.window, "mixed preload");
  std::mt19937_64 rng(42);
  std::vector<bool> is_set(static_cast<size_t>(f.write_ops));
  std::vector<size_t> target(static_cast<size_t>(f.write_ops));
  for (size_t i = 0; i < is_set.size(); ++i) {
    is_set[i] = rng() % 10 == 0;
    target[i] = rng() % paths.size();
  }
  const size_t size = value.size();
  {
    SyncCounter sc(c.get());
    Row r = RunBlocking("mixed", f.write_ops, f.duration, [&](int64_t i) {
      const std::string& path = paths[target[i]];
      if (is_set[i]) return c->Set(path, value).status();
      absl::StatusOr<synod::Node> node = c->Get(path);
      if (node.ok() && node->data.size() != size) {
        return absl::InternalError("Get returned wrong data size");
      }
      return node.status();
    });
    r.txns_per_sync = sc.TxnsPerSync();
    ReportMixed(std::move(r), is_set);
  }
  {
    SyncCounter sc(c.get());
    Row r = RunAsync("mixed", f.write_ops, f.window, f.duration,
                     [&](int64_t i, Done done) {
                       const std::string& path = paths[target[i]];
                       if (is_set[i]) {
                         c->SetAsync(path, value, -1,
                                     Expect<synod::Stat>(
                                         done, [](const synod::Stat&) { return true; },
                                         "SetAsync"));
                       } else {
                         c->GetAsync(path, nullptr,
                                     Expect<synod::Node>(
                                         done,
                                         [size](const synod::Node& n) {
                                           return n.data.size() == size;
                                         },
                                         "GetAsync"));
                       }
                     });
    r.txns_per_sync = sc.TxnsPerSync();
    ReportMixed(std::move(r), is_set);
  }
  CheckHealth(c.get(), "mixed");
  c.reset();
  RemoveDir(dir);
}

constexpr int kMultiOps = 10;

std::vector<synod::Op> MultiCreates(const std::string& prefix, int64_t i,
                                    const std::string& value) {
  std::vector<synod::Op> ops;
  ops.reserve(kMultiOps);
  for (int k = 0; k < kMultiOps; ++k) {
    ops.push_back(synod::Op::Create(absl::StrCat(prefix, i, "-", k), value));
  }
  return ops;
}

void RunMulti(const Flags& f) {
  const std::string dir = WorkloadDir("multi");
  auto c = StartAt(dir);
  const std::string value = MakeValue(f.value_bytes, 5);
  Check(c->Create("/m", "").status(), "create /m");
  const std::string note = absl::StrCat("(", kMultiOps, " creates per op)");
  {
    SyncCounter sc(c.get());
    Row r = RunBlocking("multi", f.write_ops, f.duration, [&](int64_t i) {
      auto results = c->Multi(MultiCreates("/m/s-", i, value));
      if (results.ok() && results->size() != kMultiOps) {
        return absl::InternalError("Multi returned the wrong number of results");
      }
      return results.status();
    });
    r.txns_per_sync = sc.TxnsPerSync();
    if (r.note.empty()) r.note = note;
    Report(std::move(r));
  }
  {
    SyncCounter sc(c.get());
    Row r = RunAsync("multi", f.write_ops, f.window, f.duration,
                     [&](int64_t i, Done done) {
                       c->MultiAsync(
                           MultiCreates("/m/a-", i, value),
                           Expect<std::vector<synod::OpResult>>(
                               done,
                               [](const std::vector<synod::OpResult>& v) {
                                 return v.size() == kMultiOps;
                               },
                               "MultiAsync"));
                     });
    r.txns_per_sync = sc.TxnsPerSync();
    if (r.note.empty()) r.note = note;
    Report(std::move(r));
  }
  CheckHealth(c.get(), "multi");
  c.reset();
  RemoveDir(dir);
}

void RunRestart(const Flags& f) {
  const std::string dir = WorkloadDir("restart");
  const int64_t n = f.restart_znodes;
  const int64_t parents = std::max<int64_t>(
      1, static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n)))));
  const std::string value = MakeValue(f.restart_value_bytes, 6);
  // Parents first: writes apply in call order, so a child may be submitted
  // before its parent's create has completed.
  auto path_of = [parents](int64_t i) {
    if (i < parents) return absl::StrCat("/p", i);
    const int64_t k = i - parents;
    return absl::StrCat("/p", k % parents, "/c", k);
  };
  const int64_t total = parents + n;

  auto c = StartAt(dir);
  const int64_t rss_before = RssBytes();
  SyncCounter sc(c.get());
  Row load = RunAsync("restart-load", total, f.window, absl::InfiniteDuration(),
                      [&](int64_t i, Done done) {
                        c->CreateAsync(path_of(i), value,
                                       synod::CreateMode::kPersistent, {},
                                       Expect<std::string>(
                                           done, [](const std::string&) { return true; },
                                           "CreateAsync"));
                      });
  load.txns_per_sync = sc.TxnsPerSync();
  load.note = absl::StrCat("(", n, " znodes of ", f.restart_value_bytes,
                           " B under ", parents, " parents)");
  const int64_t rss_after = RssBytes();
  CheckHealth(c.get(), "restart load");
  const int64_t expected = c->GetHealth().znode_count;
  if (expected < total) {
    Fatal(absl::StrCat("restart: only ", expected, " znodes after loading ", total));
  }
  Report(std::move(load));

  auto t_close = Clock::now();
  c.reset();
  const double close_s = Seconds(Clock::now() - t_close);

  Row start;
  start.workload = "restart-start";
  start.in_flight = 1;
  std::vector<double> starts;
  double start_cpu = 0;
  for (int k = 0; k < f.restarts; ++k) {
    const double cpu0 = CpuSeconds();
    auto t0 = Clock::now();
    auto r = StartAt(dir);
    const int64_t ns = Nanos(Clock::now() - t0);
    start_cpu += CpuSeconds() - cpu0;
    start.lat_ns.push_back(ns);
    starts.push_back(static_cast<double>(ns) / 1e9);
    const int64_t count = r->GetHealth().znode_count;
    if (count != expected) {
      Fatal(absl::StrCat("restart ", k, ": ", count, " znodes, expected ",
                         expected));
    }
    r.reset();
  }
  start.ops = f.restarts;
  for (double s : starts) start.seconds += s;
  start.cpu = start_cpu / start.seconds;
  start.no_rate = true;
  std::sort(starts.begin(), starts.end());
  start.note = absl::StrCat("(Start of ", expected, " znodes; latency = one Start)");
  Report(std::move(start));
  std::printf("restart: Start %.2f s median of %d (", starts[starts.size() / 2],
              f.restarts);
  for (size_t k = 0; k < starts.size(); ++k) {
    std::printf("%s%.2f", k ? ", " : "", starts[k]);
  }
  std::printf(" s); close after load %.2f s; RSS %.1f MiB before load, "
              "%.1f MiB after: ",
              close_s, rss_before / 1048576.0, rss_after / 1048576.0);
  if (total >= 100000) {
    std::printf("~%.0f bytes/znode\n", static_cast<double>(rss_after - rss_before) /
                                           static_cast<double>(total));
  } else {
    std::printf("too few znodes for bytes/znode\n");
  }
  RemoveDir(dir);
}

}  // namespace

int main(int argc, char** argv) {
  const Flags f = ParseFlags(argc, argv);

  std::string tmpl = f.data_dir + "/synod-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    Fatal(absl::StrCat("mkdtemp in ", f.data_dir, ": ", std::strerror(errno)));
  }
  g_temp_root = tmpl;

  std::printf("synod_local_bench: one-peer Coordinator, data in %s; "
              "values %" PRId64 " B; %" PRId64 " ops per write phase, %" PRId64
              " reads per read phase, cap %s per phase%s\n",
              g_temp_root.c_str(), f.value_bytes, f.write_ops, f.read_ops,
              absl::FormatDuration(f.duration).c_str(), f.smoke ? " (smoke)" : "");
  std::printf("machine: %u cores, load average %s\n",
              std::thread::hardware_concurrency(), LoadAverage().c_str());
  MeasureFsync(g_temp_root, 200, "before");
  std::printf("\n");
  PrintHeader();

  for (const std::string& w : f.workloads) {
    if (w == "create") RunCreate(f);
    else if (w == "set") RunSet(f);
    else if (w == "get") RunGet(f);
    else if (w == "mixed") RunMixed(f);
    else if (w == "multi") RunMulti(f);
    else if (w == "restart") RunRestart(f);
  }

  std::printf("\n");
  MeasureFsync(g_temp_root, 200, "after");
  std::printf("load average at the end: %s\n", LoadAverage().c_str());
  std::printf("\nwrites: latency in us per op (1 in flight: blocking calls; "
              "%d in flight: *Async calls, submit to callback). reads: ns per "
              "read, averaged over batches of %d. txn/sync: transactions per "
              "durable log write (group commit). cpu: process CPU time / wall "
              "time (cores busy, all threads).\n",
              f.window, kReadBatch);
  if (!f.csv.empty()) WriteCsv(f.csv);
  RemoveTempRoot();
  return 0;
}
