// Tests for lib/session/own_session: the Coordinator's own session state
// machine. The whole transition table against a spec written out here,
// the host's scenarios through the public methods with the events each
// reports, and a seeded walk checking that the events are exactly the
// changes of the user's view.

#include "session/own_session.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <random>
#include <tuple>
#include <vector>

#include "synod/types.h"

namespace synod {
namespace {

using State = OwnSession::State;
using Input = OwnSession::Input;
using Events = std::vector<SessionState>;

constexpr State kAllStates[] = {
    State::kNone,    State::kCreating, State::kConnected, State::kDisconnected,
    State::kExpired, State::kRenewing, State::kClosing,   State::kClosed};
constexpr Input kAllInputs[] = {
    Input::kServing,       Input::kNotServing,        Input::kCreateStarted,
    Input::kCreated,       Input::kCreateFailed,      Input::kExpiredByEnsemble,
    Input::kCloseRequested, Input::kClosed};

// One row of the spec: in `from`, `input` (when `serving` matches, if
// given) leads to `to`, reporting `event` if given.
struct Row {
  State from;
  Input input;
  std::optional<bool> serving;
  State to;
  std::optional<SessionState> event;
};

// Every transition that is not ignored. Anything absent must be ignored.
const std::vector<Row>& Spec() {
  static const std::vector<Row> rows = {
      {State::kNone, Input::kCreateStarted, {}, State::kCreating, {}},
      {State::kNone, Input::kCloseRequested, {}, State::kClosing, {}},
      {State::kNone, Input::kClosed, {}, State::kClosed, SessionState::kClosed},

      {State::kCreating, Input::kCreated, true, State::kConnected,
       SessionState::kConnected},
      {State::kCreating, Input::kCreated, false, State::kDisconnected, {}},
      {State::kCreating, Input::kCreateFailed, {}, State::kNone, {}},
      {State::kCreating, Input::kCloseRequested, {}, State::kClosing, {}},
      {State::kCreating, Input::kClosed, {}, State::kClosed,
       SessionState::kClosed},

      {State::kConnected, Input::kNotServing, {}, State::kDisconnected,
       SessionState::kDisconnected},
      {State::kConnected, Input::kExpiredByEnsemble, {}, State::kExpired,
       SessionState::kExpired},
      {State::kConnected, Input::kCloseRequested, {}, State::kClosing, {}},
      {State::kConnected, Input::kClosed, {}, State::kClosed,
       SessionState::kClosed},

      {State::kDisconnected, Input::kServing, {}, State::kConnected,
       SessionState::kConnected},
      {State::kDisconnected, Input::kExpiredByEnsemble, {}, State::kExpired,
       SessionState::kExpired},
      {State::kDisconnected, Input::kCloseRequested, {}, State::kClosing, {}},
      {State::kDisconnected, Input::kClosed, {}, State::kClosed,
       SessionState::kClosed},

      {State::kExpired, Input::kCreateStarted, {}, State::kRenewing, {}},
      {State::kExpired, Input::kCloseRequested, {}, State::kClosing, {}},
      {State::kExpired, Input::kClosed, {}, State::kClosed,
       SessionState::kClosed},

      {State::kRenewing, Input::kCreated, true, State::kConnected,
       SessionState::kConnected},
      {State::kRenewing, Input::kCreated, false, State::kDisconnected,
       SessionState::kDisconnected},
      {State::kRenewing, Input::kCreateFailed, {}, State::kExpired, {}},
      {State::kRenewing, Input::kCloseRequested, {}, State::kClosing, {}},
      {State::kRenewing, Input::kClosed, {}, State::kClosed,
       SessionState::kClosed},
      {State::kClosing, Input::kClosed, {}, State::kClosed,
       SessionState::kClosed},
  };
  return rows;
}

TEST_CASE("The transition table is exactly the spec", "[session]") {
  int applied = 0;
  for (State from : kAllStates) {
    for (Input input : kAllInputs) {
      for (bool serving : {false, true}) {
        INFO(OwnSession::StateName(from) << " input " << static_cast<int>(input)
                                         << " serving " << serving);
        const OwnSession::Transition t = OwnSession::Next(from, input, serving);
        const Row* row = nullptr;
        for (const Row& r : Spec()) {
          if (r.from == from && r.input == input &&
              (!r.serving || *r.serving == serving)) {
            row = &r;
          }
        }
        if (row == nullptr) {
          CHECK(t.ignored);
          CHECK(t.next == from);
          CHECK(!t.report);
          continue;
        }
        ++applied;
        CHECK(!t.ignored);
        CHECK(t.next == row->to);
        CHECK(t.report == row->event.has_value());
        if (row->event) CHECK(t.event == *row->event);
      }
    }
  }
  CHECK(applied == 46);  // 25 rows, 21 of them for either serving value
}

// A session created and connected (serving) with id 42.
OwnSession Connected() {
  OwnSession s;
  s.SetServing(true);
  s.CreateStarted();
  s.Created(42);
  REQUIRE(s.state() == State::kConnected);
  REQUIRE(s.TakeEvents() == Events{SessionState::kConnected});
  return s;
}

TEST_CASE("A session is created once a leader serves", "[session]") {
  OwnSession s;
  CHECK(s.state() == State::kNone);
  CHECK(s.id() == 0);
  CHECK(!s.connected());
  CHECK(s.Usable().ok());  // requests wait for the session
  CHECK(!s.ShouldCreate());  // no leader
  s.SetServing(true);
  CHECK(s.ShouldCreate());
  CHECK(s.TakeEvents().empty());  // the user still sees Disconnected
  s.CreateStarted();
  CHECK(s.state() == State::kCreating);
  CHECK(!s.ShouldCreate());  // one at a time
  s.SetServing(false);
  s.SetServing(true);
  CHECK(s.TakeEvents().empty());
  CHECK(!s.ShouldCreate());
  s.Created(42);
  CHECK(s.state() == State::kConnected);
  CHECK(s.id() == 42);
  CHECK(s.connected());
  CHECK(!s.ShouldCreate());
  CHECK(s.TakeEvents() == Events{SessionState::kConnected});
  CHECK(s.TakeEvents().empty());  // each event once
}

TEST_CASE("A failed create is retried once serving", "[session]") {
  OwnSession s;
  s.SetServing(true);
  s.CreateStarted();
  s.SetServing(false);
  s.CreateFailed();
  CHECK(s.state() == State::kNone);
  CHECK(s.id() == 0);
  CHECK(!s.ShouldCreate());  // waits for a leader
  s.SetServing(true);
  CHECK(s.ShouldCreate());
  CHECK(s.TakeEvents().empty());
}

TEST_CASE("A session created while no leader serves connects later",
          "[session]") {
  OwnSession s;
  s.SetServing(true);
  s.CreateStarted();
  s.SetServing(false);
  s.Created(7);
  CHECK(s.state() == State::kDisconnected);
  CHECK(s.id() == 7);
  CHECK(!s.connected());
  CHECK(s.TakeEvents().empty());  // Disconnected already: no change
  s.SetServing(true);
  CHECK(s.connected());
  CHECK(s.TakeEvents() == Events{SessionState::kConnected});
}

TEST_CASE("Bad or out-of-order create outcomes are ignored", "[session]") {
  OwnSession s;
  s.SetServing(true);
  s.Created(5);  // no create started
  CHECK(s.state() == State::kNone);
  CHECK(s.id() == 0);
  s.CreateFailed();
  CHECK(s.state() == State::kNone);
  s.CreateStarted();
  s.Created(0);  // not a session id
  s.Created(-3);
  CHECK(s.state() == State::kCreating);
  CHECK(s.id() == 0);
  s.Created(5);
  s.Created(6);  // a second outcome: the first stays
  s.CreateStarted();
  s.CreateFailed();
  CHECK(s.state() == State::kConnected);
  CHECK(s.id() == 5);
  CHECK(s.TakeEvents() == Events{SessionState::kConnected});
}

TEST_CASE("Leader changes disconnect and reconnect, each change once",
          "[session]") {
  OwnSession s = Connected();
  s.SetServing(true);  // repeats change nothing
  CHECK(s.TakeEvents().empty());
  s.SetServing(false);
  CHECK(s.state() == State::kDisconnected);
  CHECK(!s.connected());
  CHECK(s.Usable().ok());  // may still be resumed
  s.SetServing(false);
  s.SetServing(true);
  s.SetServing(false);
  s.SetServing(true);
  CHECK(s.TakeEvents() == Events{SessionState::kDisconnected,
                                 SessionState::kConnected,
                                 SessionState::kDisconnected,
                                 SessionState::kConnected});
  CHECK(s.id() == 42);
}

TEST_CASE("A close of our session we did not ask for expires it",
          "[session]") {
  const bool while_serving = GENERATE(true, false);
  OwnSession s = Connected();
  s.SetServing(while_serving);
  s.TakeEvents();
  s.CloseCommitted(41);  // someone else's session
  CHECK(s.state() == (while_serving ? State::kConnected : State::kDisconnected));
  s.CloseCommitted(42);
  CHECK(s.state() == State::kExpired);
  CHECK(s.TakeEvents() == Events{SessionState::kExpired});
  CHECK(!s.connected());
  CHECK(s.id() == 0);  // gone: not touched, closed or used again
  CHECK(s.generation() == 1);
  CHECK(s.Usable().ok());  // requests wait for the new session
  s.CloseCommitted(42);  // the same close seen again
  s.SnapshotInstalled(false);
  CHECK(s.TakeEvents().empty());
  CHECK(s.generation() == 1);
  // A new session once a leader serves.
  s.SetServing(false);
  CHECK(!s.ShouldCreate());
  s.SetServing(true);
  CHECK(s.TakeEvents().empty());  // still Expired to the user
  REQUIRE(s.ShouldCreate());
  s.CreateStarted();
  CHECK(s.state() == State::kRenewing);
  CHECK(!s.ShouldCreate());
  s.CreateFailed();  // retried
  CHECK(s.state() == State::kExpired);
  CHECK(s.TakeEvents().empty());
  REQUIRE(s.ShouldCreate());
  s.CreateStarted();
  s.Created(77);
  CHECK(s.state() == State::kConnected);
  CHECK(s.id() == 77);
  CHECK(s.TakeEvents() == Events{SessionState::kConnected});
  // The new session can expire too: another generation.
  s.CloseCommitted(42);  // the old id means nothing now
  CHECK(s.state() == State::kConnected);
  s.CloseCommitted(77);
  CHECK(s.generation() == 2);
  CHECK(s.TakeEvents() == Events{SessionState::kExpired});
  CHECK(!s.CloseRequested());  // nothing left to close
  CHECK(s.state() == State::kClosing);
  CHECK(!s.ShouldCreate());  // shutting down: no new session
  s.Closed();
  CHECK(s.TakeEvents() == Events{SessionState::kClosed});
  CHECK(ErrorOf(s.Usable()) == Error::kClosing);
}

TEST_CASE("A session renewed while no leader serves is reported "
          "Disconnected, then Connected",
          "[session]") {
  OwnSession s = Connected();
  s.CloseCommitted(42);
  CHECK(s.TakeEvents() == Events{SessionState::kExpired});
  s.CreateStarted();
  s.SetServing(false);  // the leader went while the create was on its way
  s.Created(90);
  CHECK(s.state() == State::kDisconnected);
  CHECK(s.TakeEvents() == Events{SessionState::kDisconnected});
  s.SetServing(true);
  CHECK(s.TakeEvents() == Events{SessionState::kConnected});
  // Shutdown while renewing: the new id is only remembered.
  s.CloseCommitted(90);
  s.TakeEvents();
  s.CreateStarted();
  CHECK(!s.CloseRequested());
  s.Created(95);
  CHECK(s.state() == State::kClosing);
  CHECK(s.id() == 95);
  CHECK(s.TakeEvents().empty());
}

TEST_CASE("A snapshot without our session expires it", "[session]") {
  OwnSession s = Connected();
  s.SnapshotInstalled(true);
  CHECK(s.state() == State::kConnected);
  CHECK(s.TakeEvents().empty());
  s.SnapshotInstalled(false);
  CHECK(s.state() == State::kExpired);
  CHECK(s.TakeEvents() == Events{SessionState::kExpired});
}

TEST_CASE("Closes and snapshots before our session exists change nothing",
          "[session]") {
  OwnSession s;
  s.SetServing(true);
  s.SnapshotInstalled(false);  // no id yet: nothing to miss
  s.CloseCommitted(0);
  CHECK(s.state() == State::kNone);
  s.CreateStarted();
  s.SnapshotInstalled(false);
  s.CloseCommitted(0);
  s.CloseCommitted(17);
  CHECK(s.state() == State::kCreating);
  CHECK(s.TakeEvents().empty());
}

TEST_CASE("Closing a connected session asks for close_session", "[session]") {
  OwnSession s = Connected();
  CHECK(s.CloseRequested());
  CHECK(s.state() == State::kClosing);
  CHECK(!s.connected());
  CHECK(s.Usable().ok());  // the close itself must go through
  CHECK(!s.CloseRequested());  // once
  // Our own close commits; the leader goes: the user hears neither.
  s.CloseCommitted(42);
  s.SnapshotInstalled(false);
  s.SetServing(false);
  s.SetServing(true);
  CHECK(!s.ShouldCreate());
  CHECK(s.TakeEvents().empty());
  CHECK(s.state() == State::kClosing);
  s.Closed();
  CHECK(s.state() == State::kClosed);
  CHECK(s.TakeEvents() == Events{SessionState::kClosed});
  // Final: nothing changes it, nothing more is reported.
  s.Closed();
  s.SetServing(false);
  CHECK(!s.CloseRequested());
  s.CreateStarted();
  CHECK(s.state() == State::kClosed);
  CHECK(s.TakeEvents().empty());
  CHECK(ErrorOf(s.Usable()) == Error::kClosing);
}

TEST_CASE("Closing without a serving leader leaves the session to expire",
          "[session]") {
  OwnSession s = Connected();
  s.SetServing(false);
  s.TakeEvents();
  CHECK(!s.CloseRequested());
  CHECK(s.state() == State::kClosing);
  s.CloseCommitted(42);  // expired meanwhile: not reported after close
  CHECK(s.TakeEvents().empty());
  s.Closed();
  CHECK(s.TakeEvents() == Events{SessionState::kClosed});
}

TEST_CASE("Closing before the session exists", "[session]") {
  SECTION("none yet") {
    OwnSession s;
    s.SetServing(true);
    CHECK(!s.CloseRequested());
    CHECK(s.state() == State::kClosing);
    CHECK(!s.ShouldCreate());
    s.Closed();
    CHECK(s.TakeEvents() == Events{SessionState::kClosed});
  }
  SECTION("being created: a late outcome is only remembered") {
    OwnSession s;
    s.SetServing(true);
    s.CreateStarted();
    CHECK(!s.CloseRequested());
    s.Created(9);
    CHECK(s.id() == 9);  // the host may record it for the next run
    CHECK(s.state() == State::kClosing);
    CHECK(!s.connected());
    s.Created(10);
    CHECK(s.id() == 9);
    CHECK(s.TakeEvents().empty());
    s.Closed();
    CHECK(s.TakeEvents() == Events{SessionState::kClosed});
  }
  SECTION("never started") {
    OwnSession s;
    s.Closed();
    CHECK(s.state() == State::kClosed);
    CHECK(s.TakeEvents() == Events{SessionState::kClosed});
  }
}

TEST_CASE("The previous run's session is closed once, when serving",
          "[session]") {
  OwnSession s;
  s.SetPreviousSession(3);
  CHECK(s.TakePreviousToClose() == 0);  // no leader yet
  s.SetServing(true);
  CHECK(s.TakePreviousToClose() == 3);
  CHECK(s.TakePreviousToClose() == 0);  // once
  s.SetPreviousSession(-1);
  CHECK(s.TakePreviousToClose() == 0);

  OwnSession closing;
  closing.SetPreviousSession(8);
  closing.SetServing(true);
  closing.CloseRequested();
  CHECK(closing.TakePreviousToClose() == 0);  // not during shutdown
}

TEST_CASE("Alone: serving from the start, connected once created",
          "[session]") {
  OwnSession s;
  s.SetServing(true);
  REQUIRE(s.ShouldCreate());
  s.CreateStarted();
  s.Created(1);
  CHECK(s.TakeEvents() == Events{SessionState::kConnected});
  CHECK(s.CloseRequested());
  s.CloseCommitted(1);
  s.Closed();
  CHECK(s.TakeEvents() == Events{SessionState::kClosed});
}

// What the user's session watcher should believe given the events so far.
SessionState ViewAfter(const Events& events) {
  return events.empty() ? SessionState::kDisconnected : events.back();
}

TEST_CASE("Random inputs: the events are exactly the view's changes",
          "[session]") {
  const uint64_t seed = GENERATE(range(uint64_t{1}, uint64_t{51}));
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) {
    return std::uniform_int_distribution<int>(0, n - 1)(rng);
  };
  OwnSession s;
  Events all;
  int64_t next_id = 100;
  for (int step = 0; step < 400; ++step) {
    const State before = s.state();
    const SessionState view_before = ViewAfter(all);
    switch (pick(step < 350 ? 9 : 10)) {  // shutdown mostly near the end
      case 0: case 1: s.SetServing(pick(2) == 0); break;
      case 2: if (s.ShouldCreate()) s.CreateStarted(); break;
      case 3: s.Created(next_id++); break;
      case 4: s.CreateFailed(); break;
      case 5: s.CloseCommitted(pick(2) == 0 ? s.id() : next_id + 7); break;
      case 6: s.SnapshotInstalled(pick(2) == 0); break;
      case 7: s.SetServing(!s.serving()); break;
      case 8: if (pick(40) == 0) s.CloseRequested(); break;
      default: s.Closed(); break;
    }
    const Events got = s.TakeEvents();
    INFO("seed " << seed << " step " << step << " from "
                 << OwnSession::StateName(before) << " to "
                 << OwnSession::StateName(s.state()));
    REQUIRE(got.size() <= 1);  // one input, at most one change
    if (!got.empty()) REQUIRE(got[0] != view_before);  // a change
    all.insert(all.end(), got.begin(), got.end());
    const SessionState view = ViewAfter(all);
    // The view follows the state, except while closing (the view then
    // stays as it was when the close was requested).
    switch (s.state()) {
      case State::kNone:
      case State::kCreating:
      case State::kDisconnected:
        REQUIRE(view == SessionState::kDisconnected);
        break;
      case State::kConnected:
        REQUIRE(view == SessionState::kConnected);
        REQUIRE(s.serving());
        break;
      case State::kExpired:
      case State::kRenewing:
        REQUIRE(view == SessionState::kExpired);
        break;
      case State::kClosing: REQUIRE(got.empty()); break;
      case State::kClosed: REQUIRE(view == SessionState::kClosed); break;
    }
    REQUIRE(s.connected() == (s.state() == State::kConnected));
    if (s.state() == State::kNone || s.state() == State::kCreating ||
        s.state() == State::kExpired || s.state() == State::kRenewing) {
      REQUIRE(s.id() == 0);
    } else if (s.state() != State::kClosing && s.state() != State::kClosed) {
      REQUIRE(s.id() != 0);
    }
  }
  // Each expiry started one generation.
  CHECK(std::count(all.begin(), all.end(), SessionState::kExpired) ==
        s.generation());
  // Nothing follows Closed; after Expired comes the new session's
  // Connected or Disconnected, or Closed.
  for (size_t i = 0; i + 1 < all.size(); ++i) {
    CHECK(all[i] != SessionState::kClosed);
    if (all[i] == SessionState::kExpired) {
      CHECK(all[i + 1] != SessionState::kExpired);
    }
  }
}

}  // namespace
}  // namespace synod
