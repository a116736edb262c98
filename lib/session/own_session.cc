#include "session/own_session.h"

#include <utility>

#include "synod/types.h"

namespace synod {
namespace {

using State = OwnSession::State;
using Input = OwnSession::Input;
using Transition = OwnSession::Transition;

Transition Go(State next) { return Transition{next}; }
Transition Report(State next, SessionState event) {
  return Transition{next, /*ignored=*/false, /*report=*/true, event};
}
Transition Ignore(State state) { return Transition{state, /*ignored=*/true}; }

}  // namespace

OwnSession::Transition OwnSession::Next(State state, Input input,
                                        bool serving) {
  // Closed ends every state but itself, reported once.
  if (input == Input::kClosed) {
    return state == State::kClosed ? Ignore(state)
                                   : Report(State::kClosed, SessionState::kClosed);
  }
  switch (state) {
    case State::kNone:
      switch (input) {
        case Input::kCreateStarted: return Go(State::kCreating);
        case Input::kCloseRequested: return Go(State::kClosing);
        default: return Ignore(state);
      }
    case State::kCreating:
      switch (input) {
        case Input::kCreated:
          return serving ? Report(State::kConnected, SessionState::kConnected)
                         : Go(State::kDisconnected);  // still Disconnected
        case Input::kCreateFailed: return Go(State::kNone);
        case Input::kCloseRequested: return Go(State::kClosing);
        default: return Ignore(state);
      }
    case State::kConnected:
      switch (input) {
        case Input::kNotServing:
          return Report(State::kDisconnected, SessionState::kDisconnected);
        case Input::kExpiredByEnsemble:
          return Report(State::kExpired, SessionState::kExpired);
        case Input::kCloseRequested: return Go(State::kClosing);
        default: return Ignore(state);
      }
    case State::kDisconnected:
      switch (input) {
        case Input::kServing:
          return Report(State::kConnected, SessionState::kConnected);
        case Input::kExpiredByEnsemble:
          return Report(State::kExpired, SessionState::kExpired);
        case Input::kCloseRequested: return Go(State::kClosing);
        default: return Ignore(state);
      }
    case State::kExpired:
      switch (input) {
        case Input::kCreateStarted: return Go(State::kRenewing);
        case Input::kCloseRequested: return Go(State::kClosing);
        default: return Ignore(state);
      }
    case State::kRenewing:
      // The user's view is Expired: whichever state the new session starts
      // in is a change, reported.
      switch (input) {
        case Input::kCreated:
          return serving
                     ? Report(State::kConnected, SessionState::kConnected)
                     : Report(State::kDisconnected, SessionState::kDisconnected);
        case Input::kCreateFailed: return Go(State::kExpired);
        case Input::kCloseRequested: return Go(State::kClosing);
        default: return Ignore(state);
      }
    case State::kClosing:   // only Closed (above) leaves it
    case State::kClosed:    // final
      return Ignore(state);
  }
  return Ignore(state);
}

const char* OwnSession::StateName(State state) {
  switch (state) {
    case State::kNone: return "None";
    case State::kCreating: return "Creating";
    case State::kConnected: return "Connected";
    case State::kDisconnected: return "Disconnected";
    case State::kExpired: return "Expired";
    case State::kRenewing: return "Renewing";
    case State::kClosing: return "Closing";
    case State::kClosed: return "Closed";
  }
  return "?";
}

bool OwnSession::Apply(Input input) {
  const Transition t = Next(state_, input, serving_);
  if (t.ignored) return false;
  state_ = t.next;
  if (t.report) events_.push_back(t.event);
  return true;
}

void OwnSession::SetServing(bool serving) {
  serving_ = serving;
  Apply(serving ? Input::kServing : Input::kNotServing);
}

void OwnSession::CreateStarted() { Apply(Input::kCreateStarted); }

void OwnSession::Created(int64_t id) {
  if (id <= 0) return;
  if (state_ == State::kClosing && id_ == 0) {
    id_ = id;  // created while shutting down: only remembered
    return;
  }
  if (Apply(Input::kCreated)) id_ = id;
}

void OwnSession::CreateFailed() { Apply(Input::kCreateFailed); }

void OwnSession::CloseCommitted(int64_t id) {
  if (id_ == 0 || id != id_) return;
  Expire();
}

void OwnSession::SnapshotInstalled(bool contains_session) {
  if (id_ == 0 || contains_session) return;
  Expire();
}

void OwnSession::Expire() {
  if (!Apply(Input::kExpiredByEnsemble)) return;
  id_ = 0;  // gone: nothing may use, touch or close it any more
  ++generation_;
}

bool OwnSession::CloseRequested() {
  const bool connected = state_ == State::kConnected;
  return Apply(Input::kCloseRequested) && connected;
}

void OwnSession::Closed() { Apply(Input::kClosed); }

int64_t OwnSession::TakePreviousToClose() {
  if (!serving_ || state_ == State::kClosing || state_ == State::kClosed) {
    return 0;
  }
  return std::exchange(previous_, 0);
}

std::vector<SessionState> OwnSession::TakeEvents() {
  return std::exchange(events_, {});
}

absl::Status OwnSession::Usable() const {
  if (state_ == State::kClosed) {
    return MakeError(Error::kClosing, "the session is closed");
  }
  return absl::OkStatus();
}

}  // namespace synod
