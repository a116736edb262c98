// The closed-loop load driver shared by the side-by-side benchmark's load
// generators (synod embedded, synod through the client service, ZooKeeper
// through its C client). A backend supplies sessions that issue one
// operation each call; the driver keeps `in_flight` operations outstanding
// over `sessions` sessions for a fixed time, times every operation, and
// reports ops/s and latency percentiles. Every operation's outcome is
// checked: a run that reports figures measured only successes.

#ifndef SYNOD_BENCH_COMPARE_LOAD_H_
#define SYNOD_BENCH_COMPARE_LOAD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace synod::bench {

// Told once of the outcome of one operation, from any thread, possibly
// before the call that issued it returns (a synchronous backend).
class Completion {
 public:
  virtual void Done(absl::Status status) = 0;

 protected:
  ~Completion() = default;
};

// One session of a backend. Calls for one session come from one thread at a
// time but not always the same thread (the driver issues the next operation
// from the completion of the previous one).
class Session {
 public:
  virtual ~Session() = default;

  // Creates a persistent znode `path` with `data`. The status maps the
  // system's errors: NodeExists is AlreadyExists, NoNode is NotFound.
  virtual void Create(const std::string& path, std::string_view data,
                      Completion* done) = 0;
  // Creates a persistent sequential znode `prefix`NNNNNNNNNN with `data`.
  virtual void CreateSequential(const std::string& prefix,
                                std::string_view data, Completion* done) = 0;
  // Sets the data of `path` (any version).
  virtual void Set(const std::string& path, std::string_view data,
                   Completion* done) = 0;
  // Reads `path`; an error unless its data is `expected_bytes` long.
  virtual void Get(const std::string& path, size_t expected_bytes,
                   Completion* done) = 0;
  // One atomic multi that sets the data of every path in `paths`.
  virtual void MultiSet(const std::vector<std::string>& paths,
                        std::string_view data, Completion* done) = 0;
};

// A system under test.
class Backend {
 public:
  virtual ~Backend() = default;
  // Opens one more session. Sessions live until the backend is destroyed.
  virtual absl::StatusOr<Session*> OpenSession() = 0;
};

enum class Workload { kCreate, kSet, kGet, kMixed, kMulti };

// "create", "set", "get", "mixed", "multi".
const char* WorkloadName(Workload w);
absl::StatusOr<Workload> ParseWorkload(std::string_view name);
// Comma-separated workload names; "all" is every workload.
absl::StatusOr<std::vector<Workload>> ParseWorkloads(std::string_view list);

struct RunSpec {
  Workload workload = Workload::kCreate;
  int in_flight = 1;    // operations outstanding in all
  int sessions = 1;     // spread over this many sessions (round robin)
  double warmup_seconds = 1.0;   // run but not counted
  double seconds = 5.0;          // counted
  int value_bytes = 1024;
  int keys = 10000;     // znodes set/get/mixed/multi work on
  int multi_ops = 10;   // ops per multi
};

struct RunResult {
  std::string workload;  // WorkloadName
  int in_flight = 0;
  int sessions = 0;
  int64_t ops = 0;       // completed within the counted window
  double ops_per_sec = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

// The znode paths the driver uses: /bench, /bench/c (create's parent),
// /bench/k (the keys' parent) and the keys /bench/k/0000000 ... .
std::string KeyPath(int index);
inline constexpr char kCreatePrefix[] = "/bench/c/n-";

// Creates /bench, /bench/c, /bench/k and `keys` keys of `value_bytes`
// through `session` (256 creates in flight); existing nodes are kept.
absl::Status Prepare(Session& session, int keys, int value_bytes);

// The big tree of the restart and catch-up measurements: `count` znodes of
// `value_bytes` under /big, as about sqrt(count) parents /big/p0000 with
// children c0000...; returns the path of the last one created.
absl::StatusOr<std::string> Populate(Session& session, int64_t count,
                                     int value_bytes);

// Runs one workload on `sessions` (at least spec.sessions of them; the
// first spec.sessions are used). Fails with the first operation error.
absl::StatusOr<RunResult> Run(const RunSpec& spec,
                              const std::vector<Session*>& sessions);

// The CSV header and one row: system,workload,in_flight,sessions,ops,
// ops_per_sec,p50_us,p99_us,p999_us,max_us.
std::string CsvHeader();
std::string CsvRow(std::string_view system, const RunResult& r);

// Random incompressible bytes (the same for a given size and seed).
std::string RandomValue(int bytes, uint64_t seed = 1);

}  // namespace synod::bench

#endif  // SYNOD_BENCH_COMPARE_LOAD_H_
