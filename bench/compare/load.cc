// The closed-loop driver: see load.h.

#include "load.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace synod::bench {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Latency counts in log-linear buckets: exact below 64 ns, then 32 buckets
// per power of two (about 3% relative error), up to about 2^36 ns (68 s).
class Histogram {
 public:
  static constexpr int kBuckets = 1024;

  void Add(int64_t ns) {
    ++counts_[Index(ns < 0 ? 0 : static_cast<uint64_t>(ns))];
    ++total_;
    max_ = std::max(max_, ns);
  }
  void Merge(const Histogram& other) {
    for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
  }
  int64_t total() const { return total_; }
  int64_t max() const { return max_; }
  // The value below which a fraction `q` of the samples lie (the middle of
  // the bucket that holds the q-th sample).
  double Quantile(double q) const {
    if (total_ == 0) return 0;
    const int64_t rank =
        std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * total_)));
    int64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min<double>(Middle(i), max_);
    }
    return static_cast<double>(max_);
  }

 private:
  static int Index(uint64_t v) {
    if (v < 64) return static_cast<int>(v);
    const int msb = 63 - __builtin_clzll(v);
    const int shift = msb - 5;
    const int i = (shift + 1) * 32 + static_cast<int>((v >> shift) & 31);
    return std::min(i, kBuckets - 1);
  }
  static double Middle(int i) {
    if (i < 64) return i;
    const int shift = i / 32 - 1;
    const double low = static_cast<double>((32 + i % 32)) * (1ull << shift);
    return low + (1ull << shift) / 2.0;
  }

  uint32_t counts_[kBuckets] = {};
  int64_t total_ = 0;
  int64_t max_ = 0;
};

// One chain of operations, one at a time: the next is issued when the
// previous completes, from the completing thread, or in a loop here when
// the backend completed it before returning (no recursion either way).
class Chain : public Completion {
 public:
  virtual ~Chain() = default;

  void Start() { Continue(NowNs()); }

  void Done(absl::Status status) final {
    const int64_t end = NowNs();
    OnDone(std::move(status), end);
    // Written before the exchange that publishes it: the issuing thread may
    // be another one, still inside the backend call.
    inline_end_ = end;
    int expected = kIssuing;
    if (state_.compare_exchange_strong(expected, kInline,
                                       std::memory_order_acq_rel)) {
      return;  // Continue's loop goes on
    }
    Continue(end);
  }

 protected:
  // Issues the next operation (calls the backend with `this`); false when
  // the chain is finished.
  virtual bool IssueNext(int64_t now) = 0;
  // Records the outcome of the operation issued last.
  virtual void OnDone(absl::Status status, int64_t end_ns) = 0;
  // The chain has issued its last operation and seen it complete.
  virtual void Finished() = 0;

 private:
  enum : int { kIssuing, kAsync, kInline };

  void Continue(int64_t now) {
    for (;;) {
      state_.store(kIssuing, std::memory_order_release);
      if (!IssueNext(now)) {
        Finished();
        return;
      }
      int expected = kIssuing;
      if (state_.compare_exchange_strong(expected, kAsync,
                                         std::memory_order_acq_rel)) {
        return;  // Done continues the chain
      }
      now = inline_end_;
    }
  }

  std::atomic<int> state_{kIssuing};
  int64_t inline_end_ = 0;
};

// Waits for a number of chains to finish and keeps the first error.
class Latch {
 public:
  explicit Latch(int count) : count_(count) {}
  void Fail(const absl::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (error_.ok()) error_ = status;
    failed_.store(true, std::memory_order_relaxed);
  }
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  void CountDown() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--count_ == 0) cv_.notify_all();
  }
  absl::Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return count_ == 0; });
    return error_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_;
  absl::Status error_;
  std::atomic<bool> failed_{false};
};

// A pool of random bytes values are cut from at random offsets, so no two
// values in a storage block are alike (nothing compresses).
class ValuePool {
 public:
  ValuePool(int value_bytes) : bytes_(value_bytes) {
    pool_ = RandomValue(kPoolBytes + value_bytes, 7);
  }
  std::string_view Pick(uint64_t random) const {
    return std::string_view(pool_).substr(random % kPoolBytes, bytes_);
  }

 private:
  static constexpr int kPoolBytes = 1 << 20;
  int bytes_;
  std::string pool_;
};

// ---- The measured run.

struct Shared {
  RunSpec spec;
  std::vector<std::string> keys;
  std::vector<std::vector<std::string>> groups;  // multi: disjoint key sets
  ValuePool values;
  int64_t warm_end = 0;
  // The end of the counted window. It moves later only while no operation
  // has been counted, to the end of the first one that completes: on a
  // loaded machine a window shorter than one operation still measures
  // something, and says how long it really was.
  std::atomic<int64_t> deadline{0};
  std::atomic<int64_t> counted{0};
  // No operation starts after this, counted or not.
  int64_t hard_deadline = 0;
  Latch latch;

  Shared(const RunSpec& s, int chains)
      : spec(s), values(s.value_bytes), latch(chains) {}
};

class RunChain final : public Chain {
 public:
  RunChain(Shared* shared, Session* session, uint64_t seed)
      : shared_(shared), session_(session), rng_(seed) {}

  const Histogram& histogram() const { return histogram_; }

 private:
  bool IssueNext(int64_t now) override {
    if (shared_->latch.failed() || now >= shared_->hard_deadline) return false;
    if (now >= shared_->deadline.load() && shared_->counted.load() > 0) {
      return false;
    }
    start_ = now;
    const RunSpec& spec = shared_->spec;
    const uint64_t r = rng_();
    const std::string& key = shared_->keys[r % shared_->keys.size()];
    const std::string_view value = shared_->values.Pick(r >> 20);
    switch (spec.workload) {
      case Workload::kCreate:
        session_->CreateSequential(kCreatePrefix, value, this);
        break;
      case Workload::kSet:
        session_->Set(key, value, this);
        break;
      case Workload::kGet:
        session_->Get(key, spec.value_bytes, this);
        break;
      case Workload::kMixed:
        if ((r >> 40) % 10 == 0) {
          session_->Set(key, value, this);
        } else {
          session_->Get(key, spec.value_bytes, this);
        }
        break;
      case Workload::kMulti:
        session_->MultiSet(shared_->groups[r % shared_->groups.size()], value,
                           this);
        break;
    }
    return true;
  }

  void OnDone(absl::Status status, int64_t end) override {
    if (!status.ok()) {
      shared_->latch.Fail(absl::Status(
          status.code(), absl::StrCat(WorkloadName(shared_->spec.workload),
                                      ": ", status.message())));
      return;
    }
    if (start_ < shared_->warm_end) return;
    int64_t deadline = shared_->deadline.load();
    if (end > deadline) {
      if (shared_->counted.load() > 0) return;  // after a window with ops
      while (end > deadline &&
             !shared_->deadline.compare_exchange_weak(deadline, end)) {
      }
    }
    histogram_.Add(end - start_);
    shared_->counted.fetch_add(1);
  }

  void Finished() override { shared_->latch.CountDown(); }

  Shared* const shared_;
  Session* const session_;
  std::mt19937_64 rng_;
  int64_t start_ = 0;
  Histogram histogram_;
};

// ---- Pipelined setup: `count` operations, `window` at a time.

class SetupChain final : public Chain {
 public:
  using Issue = std::function<void(int64_t index, Completion* done)>;
  SetupChain(std::atomic<int64_t>* next, int64_t count, const Issue* issue,
             bool tolerate_exists, Latch* latch)
      : next_(next),
        count_(count),
        issue_(issue),
        tolerate_exists_(tolerate_exists),
        latch_(latch) {}

 private:
  bool IssueNext(int64_t) override {
    if (latch_->failed()) return false;
    const int64_t i = next_->fetch_add(1, std::memory_order_relaxed);
    if (i >= count_) return false;
    (*issue_)(i, this);
    return true;
  }
  void OnDone(absl::Status status, int64_t) override {
    if (status.ok() || (tolerate_exists_ && absl::IsAlreadyExists(status))) {
      return;
    }
    latch_->Fail(status);
  }
  void Finished() override { latch_->CountDown(); }

  std::atomic<int64_t>* const next_;
  const int64_t count_;
  const SetupChain::Issue* const issue_;
  const bool tolerate_exists_;
  Latch* const latch_;
};

absl::Status Pipelined(int64_t count, int window, bool tolerate_exists,
                       const SetupChain::Issue& issue) {
  std::atomic<int64_t> next{0};
  Latch latch(window);
  std::vector<std::unique_ptr<SetupChain>> chains;
  for (int i = 0; i < window; ++i) {
    chains.push_back(std::make_unique<SetupChain>(&next, count, &issue,
                                                  tolerate_exists, &latch));
  }
  for (auto& c : chains) c->Start();
  return latch.Wait();
}

}  // namespace

const char* WorkloadName(Workload w) {
  switch (w) {
    case Workload::kCreate: return "create";
    case Workload::kSet: return "set";
    case Workload::kGet: return "get";
    case Workload::kMixed: return "mixed";
    case Workload::kMulti: return "multi";
  }
  return "?";
}

absl::StatusOr<Workload> ParseWorkload(std::string_view name) {
  for (Workload w : {Workload::kCreate, Workload::kSet, Workload::kGet,
                     Workload::kMixed, Workload::kMulti}) {
    if (name == WorkloadName(w)) return w;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown workload '", std::string(name),
      "' (create, set, get, mixed, multi or all)"));
}

absl::StatusOr<std::vector<Workload>> ParseWorkloads(std::string_view list) {
  if (list == "all") {
    return std::vector<Workload>{Workload::kCreate, Workload::kSet,
                                 Workload::kGet, Workload::kMixed,
                                 Workload::kMulti};
  }
  std::vector<Workload> out;
  for (absl::string_view part :
       absl::StrSplit(absl::string_view(list.data(), list.size()), ',')) {
    auto w = ParseWorkload(std::string_view(part.data(), part.size()));
    if (!w.ok()) return w.status();
    out.push_back(*w);
  }
  if (out.empty()) return absl::InvalidArgumentError("no workloads given");
  return out;
}

std::string KeyPath(int index) {
  return absl::StrFormat("/bench/k/%07d", index);
}

std::string RandomValue(int bytes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(bytes, '\0');
  for (int i = 0; i < bytes; i += 8) {
    const uint64_t r = rng();
    std::memcpy(&out[i], &r, std::min(8, bytes - i));
  }
  return out;
}

absl::Status Prepare(Session& session, int keys, int value_bytes) {
  const std::string value = RandomValue(value_bytes, 3);
  const std::vector<std::string> parents = {"/bench", "/bench/c", "/bench/k"};
  absl::Status s = Pipelined(3, 1, true, [&](int64_t i, Completion* done) {
    session.Create(parents[i], "", done);
  });
  if (!s.ok()) return s;
  std::vector<std::string> paths;
  for (int i = 0; i < keys; ++i) paths.push_back(KeyPath(i));
  return Pipelined(keys, 256, true, [&](int64_t i, Completion* done) {
    session.Create(paths[i], value, done);
  });
}

absl::StatusOr<std::string> Populate(Session& session, int64_t count,
                                     int value_bytes) {
  if (count <= 0) return absl::InvalidArgumentError("--populate must be > 0");
  const int64_t per = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(std::sqrt(double(count)))));
  const int64_t parents = (count + per - 1) / per;
  auto parent = [](int64_t p) { return absl::StrFormat("/big/p%06d", p); };
  auto child = [&](int64_t i) {
    return absl::StrFormat("%s/c%06d", parent(i / per), i % per);
  };
  absl::Status s = Pipelined(1, 1, true, [&](int64_t, Completion* done) {
    session.Create("/big", "", done);
  });
  if (!s.ok()) return s;
  s = Pipelined(parents, 256, true, [&](int64_t i, Completion* done) {
    session.Create(parent(i), "", done);
  });
  if (!s.ok()) return s;
  ValuePool values(value_bytes);
  // Paths are built per call; the strings must outlive the call only.
  s = Pipelined(count, 256, false, [&](int64_t i, Completion* done) {
    session.Create(child(i), values.Pick(uint64_t(i) * 2654435761u), done);
  });
  if (!s.ok()) return s;
  return child(count - 1);
}

absl::StatusOr<RunResult> Run(const RunSpec& spec,
                              const std::vector<Session*>& sessions) {
  if (spec.in_flight < 1 || spec.sessions < 1 ||
      spec.sessions > static_cast<int>(sessions.size()) ||
      spec.sessions > spec.in_flight) {
    return absl::InvalidArgumentError("bad in-flight or session count");
  }
  Shared shared(spec, spec.in_flight);
  for (int i = 0; i < spec.keys; ++i) shared.keys.push_back(KeyPath(i));
  const int per_group = std::max(1, spec.multi_ops);
  for (int g = 0; g + per_group <= spec.keys; g += per_group) {
    shared.groups.emplace_back(shared.keys.begin() + g,
                               shared.keys.begin() + g + per_group);
  }
  if (shared.groups.empty()) {
    return absl::InvalidArgumentError("fewer keys than ops per multi");
  }
  std::vector<std::unique_ptr<RunChain>> chains;
  for (int i = 0; i < spec.in_flight; ++i) {
    chains.push_back(std::make_unique<RunChain>(
        &shared, sessions[i % spec.sessions], 1000003u * (i + 1)));
  }
  const int64_t start = NowNs();
  shared.warm_end = start + static_cast<int64_t>(spec.warmup_seconds * 1e9);
  shared.deadline = shared.warm_end + static_cast<int64_t>(spec.seconds * 1e9);
  shared.hard_deadline = shared.deadline + int64_t{120} * 1000 * 1000 * 1000;
  // One starting thread per session, so a session whose operations complete
  // synchronously (local reads) loops on its own thread.
  std::vector<std::thread> starters;
  for (int s = 0; s < spec.sessions; ++s) {
    starters.emplace_back([&chains, &spec, s] {
      for (size_t i = s; i < chains.size(); i += spec.sessions) {
        chains[i]->Start();
      }
    });
  }
  for (auto& t : starters) t.join();
  if (absl::Status s = shared.latch.Wait(); !s.ok()) return s;

  Histogram all;
  for (const auto& c : chains) all.Merge(c->histogram());
  RunResult r;
  r.workload = WorkloadName(spec.workload);
  r.in_flight = spec.in_flight;
  r.sessions = spec.sessions;
  r.ops = all.total();
  const double window_s = (shared.deadline.load() - shared.warm_end) / 1e9;
  r.ops_per_sec = all.total() / window_s;
  r.p50_us = all.Quantile(0.50) / 1e3;
  r.p99_us = all.Quantile(0.99) / 1e3;
  r.p999_us = all.Quantile(0.999) / 1e3;
  r.max_us = all.max() / 1e3;
  if (r.ops == 0) {
    return absl::DeadlineExceededError(absl::StrCat(
        r.workload, ": no operation completed in the counted window nor in "
                    "the 120 s after it"));
  }
  return r;
}

std::string CsvHeader() {
  return "system,workload,in_flight,sessions,ops,ops_per_sec,p50_us,p99_us,"
         "p999_us,max_us";
}

std::string CsvRow(std::string_view system, const RunResult& r) {
  return absl::StrFormat("%s,%s,%d,%d,%d,%.1f,%.3f,%.3f,%.3f,%.3f",
                         std::string(system), r.workload, r.in_flight,
                         r.sessions, r.ops, r.ops_per_sec, r.p50_us, r.p99_us,
                         r.p999_us, r.max_us);
}

}  // namespace synod::bench
