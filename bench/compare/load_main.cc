// The load generators' shared command line: see load_main.h.

#include "load_main.h"

#include <time.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <cstdio>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "util/status_macros.h"

namespace synod::bench {
namespace {

const std::vector<std::string>& CommonFlags() {
  static const auto* flags = new std::vector<std::string>{
      "system",   "workloads", "in-flight",    "sessions",
      "seconds",  "warmup",    "value-bytes",  "keys",
      "multi-ops", "csv",      "populate",     "populate-value-bytes",
      "probe",    "probe-timeout", "since-ns", "probe-value-bytes"};
  return *flags;
}

absl::StatusOr<Flags> ParseArgs(int argc, char** argv,
                                const std::vector<std::string>& backend) {
  std::set<std::string> known(CommonFlags().begin(), CommonFlags().end());
  known.insert(backend.begin(), backend.end());
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected '", arg, "'"));
    }
    arg = arg.substr(2);
    const size_t eq = arg.find('=');
    std::string name = arg.substr(0, eq);
    std::string value = eq == std::string::npos ? "true" : arg.substr(eq + 1);
    if (!known.count(name)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    flags[name] = value;
  }
  return flags;
}

absl::StatusOr<double> NumberFlag(const Flags& flags, const std::string& name,
                                  double fallback, double min) {
  auto it = flags.find(name);
  if (it == flags.end()) return fallback;
  double v;
  if (!absl::SimpleAtod(it->second, &v) || v < min) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--%s=%s: expected a number >= %g", name, it->second, min));
  }
  return v;
}

absl::StatusOr<std::vector<int>> IntList(const Flags& flags,
                                         const std::string& name,
                                         const std::string& fallback) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(FlagOr(flags, name, fallback), ',')) {
    int v;
    if (!absl::SimpleAtoi(part, &v) || v < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, ": expected positive integers"));
    }
    out.push_back(v);
  }
  return out;
}

int64_t RealtimeNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Blocks until one operation completes.
class Waiter final : public Completion {
 public:
  void Done(absl::Status status) override {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = std::move(status);
    done_ = true;
    cv_.notify_all();
  }
  absl::Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
    return status_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  absl::Status status_;
};

absl::Status Probe(const Flags& flags, const BackendFactory& factory) {
  const std::string path = FlagOr(flags, "probe", "");
  SYNOD_ASSIGN_OR_RETURN(double timeout,
                     NumberFlag(flags, "probe-timeout", 120, 0));
  SYNOD_ASSIGN_OR_RETURN(double bytes,
                     NumberFlag(flags, "probe-value-bytes", 100, 0));
  SYNOD_ASSIGN_OR_RETURN(double since, NumberFlag(flags, "since-ns", 0, 0));
  const int64_t start = since > 0 ? static_cast<int64_t>(since) : RealtimeNs();
  const int64_t give_up = RealtimeNs() + static_cast<int64_t>(timeout * 1e9);
  absl::Status last = absl::UnavailableError("never tried");
  while (RealtimeNs() < give_up) {
    auto backend = factory(flags);
    if (backend.ok()) {
      auto session = (*backend)->OpenSession();
      if (session.ok()) {
        Waiter w;
        (*session)->Get(path, static_cast<size_t>(bytes), &w);
        last = w.Wait();
        if (last.ok()) {
          std::printf("probe_seconds=%.3f\n", (RealtimeNs() - start) / 1e9);
          return absl::OkStatus();
        }
      } else {
        last = session.status();
      }
    } else {
      last = backend.status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("probe of ", path, " timed out; last: ", last.ToString()));
}

absl::Status Runs(const Flags& flags, const BackendFactory& factory) {
  const std::string system = FlagOr(flags, "system", "unnamed");
  auto workloads = ParseWorkloads(FlagOr(flags, "workloads", "all"));
  if (!workloads.ok()) return workloads.status();
  auto in_flight = IntList(flags, "in-flight", "1,256");
  if (!in_flight.ok()) return in_flight.status();
  RunSpec base;
  SYNOD_ASSIGN_OR_RETURN(double sessions, NumberFlag(flags, "sessions", 4, 1));
  SYNOD_ASSIGN_OR_RETURN(base.seconds, NumberFlag(flags, "seconds", 5, 0.01));
  SYNOD_ASSIGN_OR_RETURN(base.warmup_seconds, NumberFlag(flags, "warmup", 1, 0));
  SYNOD_ASSIGN_OR_RETURN(double value_bytes,
                     NumberFlag(flags, "value-bytes", 1024, 0));
  SYNOD_ASSIGN_OR_RETURN(double keys, NumberFlag(flags, "keys", 10000, 1));
  SYNOD_ASSIGN_OR_RETURN(double multi_ops, NumberFlag(flags, "multi-ops", 10, 1));
  base.value_bytes = static_cast<int>(value_bytes);
  base.keys = static_cast<int>(keys);
  base.multi_ops = static_cast<int>(multi_ops);

  auto backend = factory(flags);
  if (!backend.ok()) return backend.status();
  std::vector<Session*> opened;
  const int max_sessions = static_cast<int>(sessions);
  for (int i = 0; i < max_sessions; ++i) {
    auto s = (*backend)->OpenSession();
    if (!s.ok()) return s.status();
    opened.push_back(*s);
  }
  if (absl::Status s = Prepare(*opened[0], base.keys, base.value_bytes);
      !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("preparing the keys: ",
                                               s.message()));
  }

  std::ofstream csv;
  if (flags.count("csv")) {
    const std::string path = flags.at("csv");
    std::ifstream existing(path);
    const bool fresh = !existing.good() || existing.peek() == EOF;
    csv.open(path, std::ios::app);
    if (!csv) return absl::InvalidArgumentError("cannot write --csv " + path);
    if (fresh) csv << CsvHeader() << "\n";
  }
  std::printf("%-16s %-8s %9s %8s %12s %10s %10s %10s\n", "system", "workload",
              "in_flight", "sessions", "ops/s", "p50_us", "p99_us",
              "p99.9_us");
  for (Workload w : *workloads) {
    for (int n : *in_flight) {
      RunSpec spec = base;
      spec.workload = w;
      spec.in_flight = n;
      spec.sessions = n == 1 ? 1 : std::min(n, max_sessions);
      auto r = Run(spec, opened);
      if (!r.ok()) return r.status();
      std::printf("%-16s %-8s %9d %8d %12.0f %10.1f %10.1f %10.1f\n",
                  system.c_str(), r->workload.c_str(), r->in_flight,
                  r->sessions, r->ops_per_sec, r->p50_us, r->p99_us,
                  r->p999_us);
      std::fflush(stdout);
      if (csv.is_open()) csv << CsvRow(system, *r) << "\n" << std::flush;
    }
  }
  return absl::OkStatus();
}

absl::Status PopulateMode(const Flags& flags, const BackendFactory& factory) {
  SYNOD_ASSIGN_OR_RETURN(double count, NumberFlag(flags, "populate", 0, 1));
  SYNOD_ASSIGN_OR_RETURN(double bytes,
                     NumberFlag(flags, "populate-value-bytes", 100, 0));
  auto backend = factory(flags);
  if (!backend.ok()) return backend.status();
  auto session = (*backend)->OpenSession();
  if (!session.ok()) return session.status();
  const auto start = std::chrono::steady_clock::now();
  auto last = Populate(**session, static_cast<int64_t>(count),
                       static_cast<int>(bytes));
  if (!last.ok()) return last.status();
  const double secs = std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  std::printf("last=%s\npopulate_seconds=%.2f\n", last->c_str(), secs);
  return absl::OkStatus();
}

}  // namespace

std::string FlagOr(const Flags& flags, const std::string& name,
                   const std::string& fallback) {
  auto it = flags.find(name);
  return it == flags.end() ? fallback : it->second;
}

int LoadMain(int argc, char** argv, const std::vector<std::string>& backend_flags,
             const BackendFactory& factory) {
  const char* program = argc > 0 ? argv[0] : "load";
  auto flags = ParseArgs(argc, argv, backend_flags);
  absl::Status s;
  if (!flags.ok()) {
    s = flags.status();
  } else if (flags->count("probe")) {
    s = Probe(*flags, factory);
  } else if (flags->count("populate")) {
    s = PopulateMode(*flags, factory);
  } else {
    s = Runs(*flags, factory);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", program, s.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace synod::bench
