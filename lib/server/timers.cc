// Server: timers, roles and sessions. Ticks drive the core; the leader
// keeps session deadlines (touched by learners for the sessions they host)
// and expires the silent ones, and deletes due containers and TTL nodes;
// every peer creates its own session once a leader serves and notices its
// expiry; parked and forwarded writes fail after the session timeout.

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/server.h"
#include "util/log.h"
#include "zab/autopilot.h"

namespace synod::server {

std::vector<int64_t> Server::AliveSessions() const {
  std::vector<int64_t> alive;
  if (config_.mutation != Mutation::kForgetHostedSessions) {
    alive.assign(hosted_.begin(), hosted_.end());
  }
  if (own_.id() != 0 && own_.Usable().ok()) alive.push_back(own_.id());
  return alive;
}

void Server::OwnSessionWork(int64_t now) {
  if (!own_.serving() || stopping_) return;
  if (own_.ShouldCreate()) {
    own_.CreateStarted();
    own_create_sent_ms_ = now;
    NoteOwnSession();
    Pending p;
    p.request.mutable_create_session()->set_timeout_ms(static_cast<int32_t>(
        absl::ToInt64Milliseconds(options_.session_timeout)));
    p.auth = system_auth_;
    p.done = [this](WriteOutcome&& o) { OnSessionCreated(std::move(o)); };
    published_->pending_writes.fetch_add(1, std::memory_order_relaxed);
    router_.Park(std::move(p), now);
  }
  if (const int64_t previous = own_.TakePreviousToClose(); previous != 0) {
    // Our session of an earlier run is certainly dead: close it now
    // rather than after its timeout.
    bool exists;
    {
      ReaderLock lock(&replica_->mu);
      exists = replica_->tree.sessions().contains(previous);
    }
    if (exists) {
      sessions_.Remove(previous);
      Pending p;
      p.request.mutable_close_session();
      p.session = previous;
      p.auth = system_auth_;
      router_.Park(std::move(p), now);
    }
  }
}

void Server::AloneTimers(int64_t now) {
  OwnSessionWork(now);
  if (now < next_cleanup_) return;
  next_cleanup_ = now + absl::ToInt64Milliseconds(options_.cleanup_interval);
  core_->Tick();
  if (now >= cleanups_from_) PrepareCleanups();
  // Our session and the remote clients' are alive as long as we are.
  OnTouch(AliveSessions(), now);
  ExpireSessions(now);
}

void Server::EnsembleTimers(int64_t now, bool stopping) {
  // Nothing may tick or propose while a barrier is pending.
  if (CoreBlocked()) return;
  // Only a leader whose tree holds its whole committed history decides
  // cleanups and expiries.
  const bool caught_up =
      leading_ && published_->last_applied.load() >= committed_;
  if (now >= next_cleanup_) {
    next_cleanup_ = now + absl::ToInt64Milliseconds(options_.cleanup_interval);
    if (caught_up && !stopping && now >= cleanups_from_) PrepareCleanups();
  }
  if (now < next_tick_) return;
  next_tick_ = now + absl::ToInt64Milliseconds(options_.tick);
  core_->Tick();
  const zab::CoreStatus st = core_->status();
  PublishMemberStates();

  // The sessions this peer keeps alive: ours and the hosted ones.
  std::vector<int64_t> alive = AliveSessions();
  if (config_.mutation == Mutation::kExpireOnFollower && !leading_ &&
      st.serving && !stopping) {
    // The bug: a learner expires what it did not hear from, and asks the
    // leader to close it.
    for (int64_t id : alive) sessions_.Touch(id, now);
    for (int64_t id : sessions_.TakeExpired(now)) {
      Pending p;
      p.request.mutable_close_session();
      p.session = id;
      p.auth = system_auth_;
      router_.Park(std::move(p), now);
    }
  }
  if (leading_) {
    OnTouch(alive, now);
    if (caught_up && !stopping) {
      ExpireSessions(now);
      RunAutopilot();
    }
  } else if (st.state != zab::PeerState::kLooking && st.leader != 0 &&
             st.leader != self() && !alive.empty()) {
    // Also while synchronizing: the session is with the ensemble, not
    // with this peer's state.
    outbox_->SendTouch(st.leader, std::move(alive), now);
  }
  if (stopping) return;

  if (st.serving) OwnSessionWork(now);

  // Writes parked (no leader) or forwarded (no answer) for longer than the
  // session timeout fail; their outcome is unknown.
  router_.Expire(now, absl::ToInt64Milliseconds(options_.session_timeout));
}

void Server::RunAutopilot() {
  const zab::Config& config = core_->configuration();
  if (config.version > core_->status().committed_zxid) return;  // pending
  zab::AutopilotPolicy policy;
  // Never fewer than the founding voters (the seeds): an ensemble formed
  // of five stays five.
  policy.target_voters = std::max(static_cast<size_t>(options_.voters),
                                  config_.core.voters.size());
  policy.dead_voter_ticks =
      std::max<int64_t>(20, options_.dead_voter_timeout / options_.tick);
  // Joining peers are admitted, and moved members re-addressed, first.
  std::optional<zab::ConfigChange> change;
  if (std::vector<zab::ConfigChange> asks = core_->Admissions();
      !asks.empty()) {
    change = std::move(asks.front());
  } else if (clock_->SteadyMs() >= autopilot_paused_until_ms_) {
    change = zab::NextAutopilotChange(config, self(), core_->MemberStates(),
                                      policy);
  }
  if (!change) return;
  const absl::Status s = ChangeConfig(*change);
  std::string what = absl::StrCat("autopilot: ", zab::ChangeKindName(change->kind),
                                  " peer ", change->id);
  if (!change->address.empty()) absl::StrAppend(&what, " at ", change->address);
  if (s.ok()) {
    Log(options_, LogLevel::kInfo, what);
    last_autopilot_refusal_.clear();
    return;
  }
  // A refusal repeats each tick until something changes: said once.
  absl::StrAppend(&what, ": ", s.message());
  if (what != last_autopilot_refusal_) {
    Log(options_, LogLevel::kWarning, what);
    last_autopilot_refusal_ = std::move(what);
  }
}

void Server::PrepareCleanups() {
  std::vector<std::string> candidates;
  {
    ReaderLock lock(&replica_->mu);
    candidates = replica_->tree.CleanupCandidates(clock_->WallMs());
  }
  for (std::string& path : candidates) {
    Pending p;
    p.request.mutable_cleanup()->set_path(std::move(path));
    p.auth = system_auth_;
    Prepare(&p);
    if (!pipeline_.back().has_txn) pipeline_.DropBack();  // no longer due
  }
}

void Server::ExpireSessions(int64_t now) {
  for (int64_t id : sessions_.TakeExpired(now)) {
    Pending p;
    p.request.mutable_close_session();
    p.session = id;
    p.auth = system_auth_;
    Prepare(&p);
  }
}

void Server::OnTouch(const std::vector<int64_t>& sessions, int64_t now) {
  if (!leading_) return;
  for (int64_t id : sessions) sessions_.Touch(id, now);
}

void Server::PublishMemberStates() {
  std::vector<zab::MemberState> states = core_->MemberStates();
  if (states.empty() && !member_states_published_) return;
  MutexLock lock(&published_->config_mu);
  published_->member_states = std::move(states);
  member_states_published_ = !published_->member_states.empty();
}

void Server::NoteCoreState() {
  if (!ensemble_) return;  // alone: leading since Establish
  const zab::CoreStatus st = core_->status();
  const bool leading = st.state == zab::PeerState::kLeading && st.serving;
  const uint64_t leader = st.serving ? st.leader : 0;
  if (st.state != published_->role.load() ||
      leader != published_->leader_id.load()) {
    if (st.state != zab::PeerState::kLooking &&
        published_->role.load() == zab::PeerState::kLooking) {
      published_->elections.fetch_add(1, std::memory_order_relaxed);
    }
    if (st.state == zab::PeerState::kLooking) {
      Log(options_, LogLevel::kInfo,
          absl::StrCat("peer ", self(), ": looking for a leader"));
    } else if (st.serving) {
      Log(options_, LogLevel::kInfo,
          absl::StrCat("peer ", self(), ": ",
                       leading ? "leading" : zab::PeerStateName(st.state),
                       leading ? "" : absl::StrCat(" leader ", st.leader),
                       " in epoch ", st.current_epoch));
    }
  }
  published_->role = st.state;
  published_->epoch = st.current_epoch;
  published_->snapshots_sent.store(st.snapshots_sent, std::memory_order_relaxed);
  published_->leader_id = leader;
  if (const zab::Config& config = core_->configuration();
      !config_published_ || config.version != published_config_version_) {
    MutexLock lock(&published_->config_mu);
    published_->config = config;
    config_published_ = true;
    published_config_version_ = config.version;
  }
  if (leading && (!leading_ || serving_epoch_ != st.current_epoch)) {
    // A new leadership: validation starts over from the established
    // history, and every session gets a full timeout to reach us.
    preparer_->Reset();
    cleanups_from_ = clock_->SteadyMs() +
                     absl::ToInt64Milliseconds(options_.cleanup_interval);
    last_assigned_ = st.last_zxid;
    serving_epoch_ = st.current_epoch;
    ReaderLock lock(&replica_->mu);
    sessions_.StartLeading(replica_->tree.sessions(), clock_->SteadyMs());
  }
  if (config_.mutation == Mutation::kExpireOnFollower && !leading &&
      st.serving && (leading_ || serving_epoch_ != st.current_epoch)) {
    serving_epoch_ = st.current_epoch;  // the bug: learners track too
    ReaderLock lock(&replica_->mu);
    sessions_.StartLeading(replica_->tree.sessions(), clock_->SteadyMs());
  } else if (!leading && config_.mutation != Mutation::kExpireOnFollower) {
    sessions_.StopLeading();
  }
  leading_ = leading;
  if (st.serving && !core_serving_) serve_from_ = committed_;
  core_serving_ = st.serving;
  // A session whose lease lapsed is in doubt: Disconnected until a leader
  // confirms it again (or it turns out expired).
  const int64_t now = clock_->SteadyMs();
  NoteOwnLease(now);
  own_.SetServing(st.serving &&
                  published_->last_applied.load() >= serve_from_ &&
                  (own_lease_.session() == 0 || own_lease_.Valid(now)));
  NoteOwnSession();
}

void Server::OnTouches(Inputs* in, int64_t now) {
  // A serving leader that has applied its whole committed history (so a
  // close of any session it tracks is applied, and untracked) refreshes
  // the sessions named and acknowledges each touch.
  const bool caught_up =
      leading_ && published_->last_applied.load() >= committed_;
  for (TouchIn& t : in->touches) {
    if (!leading_) break;
    std::vector<int64_t> untracked;
    for (int64_t id : t.sessions) {
      if (sessions_.Tracks(id)) {
        sessions_.Touch(id, now);
      } else if (config_.mutation != Mutation::kLeaseAcksUntracked) {
        untracked.push_back(id);
      }
    }
    if (caught_up) {
      outbox_->SendTouchAck(t.from, t.sent_ms, std::move(untracked));
    }
  }
  if (leading_) return;
  for (const TouchAckIn& a : in->touch_acks) {
    const int64_t own = own_lease_.session();
    if (own != 0 && std::find(a.untracked.begin(), a.untracked.end(), own) ==
                        a.untracked.end()) {
      own_lease_.Acknowledged(a.sent_ms);
    }
  }
}

void Server::NoteOwnLease(int64_t now) {
  const int64_t id = own_.id();
  const OwnSession::State state = own_.state();
  if (id == 0 || (state != OwnSession::State::kConnected &&
                  state != OwnSession::State::kDisconnected)) {
    own_lease_.Ended();
  } else if (own_lease_.session() != id) {
    own_lease_.Started(id, own_create_sent_ms_, now);
  }
  if (leading_ && published_->last_applied.load() >= committed_ &&
      sessions_.Tracks(id)) {
    own_lease_.Leading(now);
  }
  published_->session_lease_until_ms = own_lease_.until();
}

void Server::NoteSessionChange(const txn::Txn& txn) {
  if (txn.has_create_session()) {
    // Tracked on the leader only (ignored elsewhere).
    sessions_.Add(txn.zxid(), txn.create_session().timeout_ms(),
                  clock_->SteadyMs());
  } else if (txn.has_close_session()) {
    sessions_.Remove(txn.session_id());
    if (txn.session_id() == own_.id()) {
      const bool was_expired = own_.state() == OwnSession::State::kExpired;
      own_.CloseCommitted(txn.session_id());
      if (!was_expired && own_.state() == OwnSession::State::kExpired) {
        Log(options_, LogLevel::kWarning,
            absl::StrCat("peer ", self(), ": the ensemble expired session ",
                         txn.session_id()));
      }
      NoteOwnSession();
    }
  }
}

void Server::OnSessionCreated(WriteOutcome&& outcome) {
  if (!outcome.status.ok()) {
    Log(options_, LogLevel::kInfo,
        absl::StrCat("creating the session failed (retrying): ",
                     outcome.status.ToString()));
    own_.CreateFailed();
    NoteOwnSession();
    return;
  }
  own_.Created(outcome.zxid);
  absl::Status s = storage_->PutMeta(
      kSelfSessionMeta, std::to_string(outcome.zxid), /*sync=*/false);
  if (!s.ok()) {
    Log(options_, LogLevel::kWarning,
        absl::StrCat("recording the session id failed: ", s.ToString()));
  }
  NoteOwnSession();
}

void Server::NoteOwnSession() {
  NoteOwnLease(clock_->SteadyMs());
  published_->session_id = own_.id();
  published_->connected = own_.connected();
  published_->session_generation = own_.generation();
  std::vector<SessionState> events = own_.TakeEvents();
  if (events.empty() || !options_.session_watcher) return;
  std::vector<std::function<void()>> tasks;
  for (SessionState state : events) {
    tasks.push_back([watcher = options_.session_watcher, state] {
      watcher(WatchEvent{EventType::kSession, state, ""});
    });
  }
  outbox_->Post(&tasks);
}

}  // namespace synod::server
