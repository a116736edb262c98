// server::Checkpointer: when a checkpoint is due, which records it takes,
// and how far the log is trimmed.

#include "server/checkpointer.h"

#include <catch2/catch.hpp>

#include <string>

namespace synod::server {
namespace {

CheckpointPolicy Policy(int64_t retention) {
  CheckpointPolicy p;
  p.log_retention = retention;
  p.max_records = 4;
  p.max_txns = 10;
  p.idle_gap_ms = 1000;
  return p;
}

void Change(Checkpointer* c, std::initializer_list<std::string> paths,
            std::initializer_list<int64_t> ids, int64_t txns) {
  StrSet nodes(paths.begin(), paths.end());
  absl::flat_hash_set<int64_t> sessions(ids.begin(), ids.end());
  c->Changed(&nodes, &sessions, txns);
  CHECK(nodes.empty());
  CHECK(sessions.empty());
}

TEST_CASE("Checkpointer: nothing is due while the store is at the applied zxid",
          "[checkpointer]") {
  Checkpointer c(Policy(100), 5, 0);
  CHECK_FALSE(c.Behind(5));
  CHECK_FALSE(c.Due(5, /*idle=*/true, 1'000'000));
  CHECK(c.Behind(6));
}

TEST_CASE("Checkpointer: due when idle past the gap, or when records or txns pile up",
          "[checkpointer]") {
  Checkpointer c(Policy(100), 0, /*now_ms=*/10'000);
  Change(&c, {"/a"}, {}, 1);
  // Idle, but the last checkpoint is recent.
  CHECK_FALSE(c.Due(1, true, 10'500));
  CHECK(c.Due(1, true, 11'000));
  // Busy: the gap does not matter.
  CHECK_FALSE(c.Due(1, false, 50'000));

  // Records: a record changed twice counts once.
  Change(&c, {"/a", "/b"}, {7}, 1);
  CHECK(c.unsaved_records() == 3);
  CHECK_FALSE(c.Due(2, false, 10'000));
  Change(&c, {"/c"}, {}, 1);
  CHECK(c.Due(3, false, 10'000));

  // Txns: max_txns (10), or log_retention when smaller.
  Checkpointer t(Policy(100), 0, 0);
  Change(&t, {"/x"}, {}, 9);
  CHECK_FALSE(t.Due(9, false, 0));
  Change(&t, {"/x"}, {}, 1);
  CHECK(t.Due(10, false, 0));
  Checkpointer small(Policy(3), 0, 0);
  Change(&small, {"/x"}, {}, 3);
  CHECK(small.Due(3, false, 0));
}

TEST_CASE("Checkpointer: a checkpoint takes every unsaved record once and starts over",
          "[checkpointer]") {
  Checkpointer c(Policy(100), 0, 0);
  Change(&c, {"/a", "/b"}, {3}, 2);
  Change(&c, {"/b", "/c"}, {3, 4}, 2);
  StrSet nodes = {"/stale"};
  absl::flat_hash_set<int64_t> sessions = {99};
  c.Take(4, 5'000, &nodes, &sessions);
  CHECK(nodes == StrSet{"/a", "/b", "/c"});
  CHECK(sessions == absl::flat_hash_set<int64_t>{3, 4});
  CHECK(c.checkpoint_zxid() == 4);
  CHECK(c.unsaved_records() == 0);
  CHECK(c.unsaved_txns() == 0);
  CHECK_FALSE(c.Behind(4));
  // The idle gap counts from this checkpoint.
  Change(&c, {"/d"}, {}, 1);
  CHECK_FALSE(c.Due(5, true, 5'999));
  CHECK(c.Due(5, true, 6'000));
}

TEST_CASE("Checkpointer: the log keeps log_retention entries and all above the checkpoint",
          "[checkpointer]") {
  Checkpointer c(Policy(3), 0, 0);
  for (Zxid z = 1; z <= 10; ++z) c.Logged(z);
  // Nothing is below the checkpoint (0) yet.
  CHECK(c.TakeTrim() == 0);
  StrSet nodes;
  absl::flat_hash_set<int64_t> sessions;
  c.Take(5, 0, &nodes, &sessions);
  // Entries 1..5 are covered; keep the newest 3 overall, and 6..10 anyway.
  CHECK(c.TakeTrim() == 5);
  CHECK(c.logged() == 5);
  c.Take(9, 0, &nodes, &sessions);
  CHECK(c.TakeTrim() == 7);  // 8, 9, 10 stay
  CHECK(c.logged() == 3);
  CHECK(c.TakeTrim() == 0);  // forgotten once trimmed
}

TEST_CASE("Checkpointer: truncation and an installed snapshot forget what left the log",
          "[checkpointer]") {
  Checkpointer c(Policy(1), 0, 0);
  for (Zxid z = 1; z <= 6; ++z) c.Logged(z);
  c.Truncated(4);
  CHECK(c.logged() == 4);
  c.Logged(7);
  StrSet nodes;
  absl::flat_hash_set<int64_t> sessions;
  c.Take(7, 0, &nodes, &sessions);
  CHECK(c.TakeTrim() == 4);  // keeps 7 only

  Change(&c, {"/a"}, {1}, 3);
  c.SnapshotStored(20);
  CHECK(c.checkpoint_zxid() == 20);
  CHECK(c.unsaved_records() == 0);
  CHECK(c.unsaved_txns() == 0);
  CHECK(c.logged() == 0);
  CHECK_FALSE(c.Behind(20));
}

}  // namespace
}  // namespace synod::server
