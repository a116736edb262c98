// recipes::DoubleBarrier against one-peer Coordinators: N threads, each
// its own participant, over several rounds: nobody passes Enter before all
// N entered, nobody passes Leave before all N left; a participant that
// times out leaves nothing behind, and one whose timeout races the opening
// is let in; a create lost with the connection is settled; an id in use is
// refused.

#include "synod/recipes/double_barrier.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "test_util.h"
#include "util/recipe_test_util.h"
#include "util/forwarding_coordinator.h"

namespace synod {
namespace {

using recipes::DoubleBarrier;

using testing::OnePeer;

size_t Children(Coordinator& c, const std::string& path) {
  auto kids = c.GetChildren(path);
  return kids.ok() ? kids->size() : 0;
}

// Runs `kThreads` participants for `kRounds` rounds, each on coordinators[i
// % size]; the witnesses are counted on the participants' threads and
// checked here, on the test's thread, after the join.
void RunRounds(const std::vector<Coordinator*>& coordinators) {
  constexpr int kThreads = 5;
  constexpr int kRounds = 3;
  std::atomic<int> arrived[kRounds] = {};
  std::atomic<int> leaving[kRounds] = {};
  std::atomic<int> early_entries{0}, early_exits{0}, failures{0};
  std::atomic<int> passes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      DoubleBarrier barrier(*coordinators[t % coordinators.size()],
                            "/barriers/rounds", kThreads,
                            absl::StrCat("p", t));
      for (int r = 0; r < kRounds; ++r) {
        // Staggered: the last one comes well after the first.
        absl::SleepFor(absl::Milliseconds(20 * t));
        arrived[r]++;
        if (!barrier.Enter(absl::Seconds(30)).ok()) {
          failures++;
          return;
        }
        // Everybody called Enter before anybody passes it.
        if (arrived[r] != kThreads) early_entries++;
        absl::SleepFor(absl::Milliseconds(20 * (kThreads - t)));
        leaving[r]++;
        if (!barrier.Leave(absl::Seconds(30)).ok()) {
          failures++;
          return;
        }
        // Everybody called Leave before anybody passes it.
        if (leaving[r] != kThreads) early_exits++;
        passes++;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(early_entries == 0);
  CHECK(early_exits == 0);
  CHECK(passes == kThreads * kRounds);
  CHECK(Children(*coordinators[0], "/barriers/rounds") == 0);
}

TEST_CASE("DoubleBarrier: nobody enters before all entered and nobody "
          "leaves before all left",
          "[recipes][double_barrier]") {
  OnePeer peer;
  RunRounds({peer.c.get()});
}

TEST_CASE("DoubleBarrier: participants on several Coordinator objects",
          "[recipes][double_barrier]") {
  // Two handles on one peer (each participant still has its own object).
  OnePeer peer;
  testing::ForwardingCoordinator other(*peer.c);
  RunRounds({peer.c.get(), &other});
}

TEST_CASE("DoubleBarrier: a participant that times out leaves nothing",
          "[recipes][double_barrier]") {
  OnePeer peer;
  Coordinator& c = *peer.c;
  DoubleBarrier a(c, "/db", 3, "a");
  DoubleBarrier b(c, "/db", 3, "b");
  CHECK(a.Leave(absl::Seconds(1)).code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(a.Enter(absl::Milliseconds(200)).code() ==
        absl::StatusCode::kDeadlineExceeded);
  CHECK(!a.entered());
  CHECK(Children(c, "/db") == 0);  // a's node is gone

  // b waits; a times out again meanwhile: b still needs two more.
  absl::Status b_entered;
  std::thread tb([&] { b_entered = b.Enter(absl::Seconds(30)); });
  REQUIRE(testing::WaitFor([&] { return Children(c, "/db") == 1; },
                           absl::Seconds(10)));
  CHECK(a.Enter(absl::Milliseconds(200)).code() ==
        absl::StatusCode::kDeadlineExceeded);
  CHECK(Children(c, "/db") == 1);  // only b waits
  // A third participant alone would not open it: a must come back.
  DoubleBarrier cc(c, "/db", 3, "c");
  absl::Status c_entered;
  std::thread tc([&] { c_entered = cc.Enter(absl::Seconds(30)); });
  REQUIRE(testing::WaitFor([&] { return Children(c, "/db") == 2; },
                           absl::Seconds(10)));
  absl::SleepFor(absl::Milliseconds(100));
  CHECK(!b.entered());
  CHECK(!cc.entered());
  REQUIRE(a.Enter(absl::Seconds(30)).ok());
  tb.join();
  tc.join();
  CHECK(b_entered.ok());
  CHECK(c_entered.ok());
  // Leaving: a alone cannot leave before b and c did.
  CHECK(a.Leave(absl::Milliseconds(200)).code() ==
        absl::StatusCode::kDeadlineExceeded);
  CHECK(b.Leave(absl::Milliseconds(200)).code() ==
        absl::StatusCode::kDeadlineExceeded);
  REQUIRE(cc.Leave(absl::Seconds(10)).ok());  // the last one out
  CHECK(Children(c, "/db") == 0);
}

// Runs `before_delete` just before a participant's own node is deleted
// with version 0 (a participant giving up).
class BeforeGiveUp : public testing::ForwardingCoordinator {
 public:
  BeforeGiveUp(Coordinator& to, std::function<void()> before)
      : ForwardingCoordinator(to), before_(std::move(before)) {}
  absl::Status Delete(std::string_view path, int32_t version) override {
    if (version == 0 && !done_.exchange(true)) before_();
    return to_.Delete(path, version);
  }

 private:
  std::function<void()> before_;
  std::atomic<bool> done_{false};
};

TEST_CASE("DoubleBarrier: a timeout that races the opening enters",
          "[recipes][double_barrier]") {
  OnePeer peer;
  Coordinator& c = *peer.c;
  // Two participants; b arrives (and opens the barrier for both) at the
  // very moment a gives up.
  absl::Status b_entered;
  std::thread tb;
  DoubleBarrier b(c, "/race", 2, "b");
  BeforeGiveUp faulty(c, [&] {
    tb = std::thread([&] { b_entered = b.Enter(absl::Seconds(30)); });
    // b's opening marks a's node before a's delete goes out.
    testing::WaitFor(
        [&] {
          auto n = c.Get("/race/a");
          return n.ok() && !n->data.empty();
        },
        absl::Seconds(10));
  });
  DoubleBarrier a(faulty, "/race", 2, "a");
  CHECK(a.Enter(absl::Milliseconds(100)).ok());  // counted: in, not out
  CHECK(a.entered());
  tb.join();
  CHECK(b_entered.ok());
  std::thread lb([&] { b_entered = b.Leave(absl::Seconds(30)); });
  CHECK(a.Leave(absl::Seconds(30)).ok());
  lb.join();
  CHECK(b_entered.ok());
}

// Applies the first ephemeral create, then reports it lost with the
// connection. With `session_ends`, the session also ends meanwhile (the
// node goes with it) and a new one begins, as when a peer's isolation
// outlasts the session.
class LosesFirstCreate : public testing::ForwardingCoordinator {
 public:
  explicit LosesFirstCreate(Coordinator& to, bool session_ends = false)
      : ForwardingCoordinator(to), session_ends_(session_ends) {}
  using ForwardingCoordinator::Create;
  absl::StatusOr<std::string> Create(std::string_view path,
                                     std::string_view data, CreateMode mode,
                                     const CreateOptions& o) override {
    if (mode == CreateMode::kEphemeral) {
      ephemeral_creates++;
      if (lost_) creates_after_loss++;
    }
    absl::StatusOr<std::string> r = to_.Create(path, data, mode, o);
    if (mode == CreateMode::kEphemeral && r.ok() && !lost_.exchange(true)) {
      if (session_ends_) to_.Delete(*r).IgnoreError();
      return MakeError(Error::kConnectionLoss, "lost with the leader");
    }
    return r;
  }
  int64_t session_id() const override {
    return to_.session_id() + (session_ends_ && lost_ ? 1000 : 0);
  }
  std::atomic<int> ephemeral_creates{0};
  std::atomic<int> creates_after_loss{0};

 private:
  const bool session_ends_;
  std::atomic<bool> lost_{false};
};

TEST_CASE("DoubleBarrier: a create lost with the connection is settled, "
          "and an id in use is refused",
          "[recipes][double_barrier]") {
  OnePeer peer;
  Coordinator& c = *peer.c;
  LosesFirstCreate faulty(c);
  DoubleBarrier a(faulty, "/lost", 2, "a");
  DoubleBarrier b(c, "/lost", 2, "b");
  absl::Status a_entered;
  std::thread ta([&] { a_entered = a.Enter(absl::Seconds(30)); });
  REQUIRE(testing::WaitFor([&] { return Children(c, "/lost") == 1; },
                           absl::Seconds(10)));
  REQUIRE(b.Enter(absl::Seconds(30)).ok());
  ta.join();
  CHECK(a_entered.ok());
  // One create found the parent missing, the next applied: the settle
  // found that one instead of creating a third time.
  CHECK(faulty.ephemeral_creates == 2);
  CHECK(Children(c, "/lost") == 2);

  // A node of another session (here: no session, persistent) holds "x".
  REQUIRE(c.Create("/lost/x", "", CreateMode::kPersistent).ok());
  DoubleBarrier x(c, "/lost", 2, "x");
  CHECK(x.Enter(absl::Seconds(1)).code() == absl::StatusCode::kAlreadyExists);
  DoubleBarrier bad(c, "/lost", 2, "a/b");
  CHECK(bad.Enter(absl::Seconds(1)).code() ==
        absl::StatusCode::kInvalidArgument);
  REQUIRE(c.Delete("/lost/x").ok());
  std::thread lb([&] { b.Leave(absl::Seconds(30)).IgnoreError(); });
  CHECK(a.Leave(absl::Seconds(30)).ok());
  lb.join();
}

TEST_CASE("DoubleBarrier: a lost create whose session ended meanwhile is "
          "SessionExpired and not joined again under the new session",
          "[recipes][double_barrier]") {
  OnePeer peer;
  Coordinator& c = *peer.c;
  LosesFirstCreate faulty(c, /*session_ends=*/true);
  DoubleBarrier a(faulty, "/expired", 2, "a");
  const absl::Status entered = a.Enter(absl::Seconds(5));
  CHECK(ErrorOf(entered) == Error::kSessionExpired);
  CHECK(!a.entered());
  // No create after the lost one: no second join that would wait for a
  // partner.
  CHECK(faulty.creates_after_loss == 0);
  CHECK(!c.Exists("/expired/a")->has_value());
}

}  // namespace
}  // namespace synod
