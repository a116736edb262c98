// Concurrent clients at every peer of a three-peer ensemble write and read a
// few znodes while the leader is cut off and healed; the recorded history
// must be linearizable (test/util/linearizability.h). Reads are Sync + Get.

#include <catch2/catch.hpp>

#include <atomic>
#include <random>
#include <thread>

#include "ensemble/ensemble_util.h"
#include "util/linearizability.h"

namespace synod::testing {
namespace {

// Maps a synod error onto the model's outcomes (anything else: unknown).
Outcome OutcomeOf(const absl::Status& s) {
  switch (ErrorOf(s)) {
    case Error::kOk: return Outcome::kOk;
    case Error::kNoNode: return Outcome::kNoNode;
    case Error::kNodeExists: return Outcome::kNodeExists;
    case Error::kBadVersion: return Outcome::kBadVersion;
    default: return Outcome::kUnknown;
  }
}

void Worker(Coordinator& c, int client, History* history,
            const std::atomic<bool>* stop) {
  std::mt19937 rng(client * 7919 + 1);
  int counter = 0;
  while (!stop->load()) {
    const std::string path = "/lin/k" + std::to_string(rng() % 3);
    const std::string value = "c" + std::to_string(client) + "-" +
                              std::to_string(counter++);
    const int kind = rng() % 10;
    if (kind < 2) {
      size_t i = history->Invoke(client, path, OpKind::kCreate, value);
      absl::Status s = c.Create(path, value).status();
      history->Complete(i, OutcomeOf(s));
      if (OutcomeOf(s) == Outcome::kUnknown) history->CompleteUnknown(i);
    } else if (kind < 6) {
      const int32_t expected = rng() % 3 == 0 ? static_cast<int32_t>(rng() % 4) : -1;
      size_t i = history->Invoke(client, path, OpKind::kSet, value, expected);
      absl::StatusOr<Stat> st = c.Set(path, value, expected);
      if (st.ok()) {
        history->Complete(i, Outcome::kOk, st->version);
      } else if (OutcomeOf(st.status()) == Outcome::kUnknown) {
        history->CompleteUnknown(i);
      } else {
        history->Complete(i, OutcomeOf(st.status()));
      }
    } else if (kind < 7) {
      size_t i = history->Invoke(client, path, OpKind::kDelete, {}, -1);
      absl::Status s = c.Delete(path, -1);
      if (OutcomeOf(s) == Outcome::kUnknown) {
        history->CompleteUnknown(i);
      } else {
        history->Complete(i, OutcomeOf(s));
      }
    } else {
      size_t i = history->Invoke(client, path, OpKind::kRead);
      absl::Status synced = c.Sync(path);
      if (!synced.ok()) {
        history->CompleteUnknown(i);
        continue;
      }
      absl::StatusOr<Node> n = c.Get(path);
      if (n.ok()) {
        history->CompleteRead(i, true, n->data, n->stat.version);
      } else if (ErrorOf(n.status()) == Error::kNoNode) {
        history->CompleteRead(i, false, "", 0);
      } else {
        history->CompleteUnknown(i);
      }
    }
  }
}

TEST_CASE("Linearizability: concurrent clients through leader loss",
          "[ensemble][linearizability]") {
  LocalEnsemble e(3);
  e.StartAll();
  REQUIRE(e.WaitAllConnected());
  REQUIRE(e.WaitLeader() >= 0);
  REQUIRE(e.at(0).Create("/lin", "").ok());
  for (int i = 0; i < 3; ++i) REQUIRE(e.at(i).Sync("/").ok());

  History history;
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int w = 0; w < 6; ++w) {
    workers.emplace_back(Worker, std::ref(e.at(w % 3)), w, &history, &stop);
  }
  for (int round = 0; round < 2; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    const int leader = e.Leader();
    if (leader < 0) continue;
    e.Isolate(leader, true);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    e.Isolate(leader, false);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  stop = true;
  for (std::thread& t : workers) t.join();

  const std::vector<HistoryOp> ops = history.Ops();
  size_t known = 0;
  for (const HistoryOp& op : ops) known += op.outcome != Outcome::kUnknown;
  INFO("ops: " << ops.size() << ", with a known outcome: " << known);
  REQUIRE(known > 100);  // the ensemble made progress through the faults
  CheckResult r = CheckLinearizable(ops);
  INFO(r.explanation);
  CHECK(r.verdict == CheckResult::kLinearizable);
}

}  // namespace
}  // namespace synod::testing
