// Core: discovery, synchronization and broadcast around Election.
//
// Phases, as in the Zab papers and ZooKeeper:
//  - election (zab/election) picks a prospective leader;
//  - discovery: learners send FOLLOWERINFO(acceptedEpoch); once a quorum of
//    voters has, the leader fixes e' = max + 1, persists it as its
//    acceptedEpoch and sends LEADERINFO(e'); learners persist acceptedEpoch
//    = e' and answer ACKEPOCH(currentEpoch, last zxid, epoch ends). A learner
//    ahead of the leader sends it back to election;
//  - synchronization: with a quorum of ACKEPOCH the leader persists
//    currentEpoch = e' and brings each learner to its history by DIFF,
//    TRUNC+DIFF, or (when the learner needs entries the leader compacted
//    away) SNAP+DIFF, then NEWLEADER. A learner persists the history, then
//    currentEpoch, then answers ACKNEWLEADER. With a quorum of those the
//    leader commits its whole history and sends UPTODATE;
//  - broadcast: PROPOSAL, persisted, ACK; a quorum of ACKs commits, in zxid
//    order; COMMIT to followers, INFORM (the entries) to observers.

#include "zab/core.h"

#include "zab/config.h"

#include <algorithm>
#include <cassert>
#include <memory>
#include <utility>

namespace synod::zab {
namespace {

// The election's settings: the founding members until the first view.
ElectionConfig ElectionSettings(const CoreConfig& c) {
  ElectionConfig e;
  e.self = c.self;
  e.voters = c.voters;
  e.observers = c.observers;
  e.finalize_ticks = c.finalize_ticks;
  e.resend_ticks = c.resend_ticks;
  e.max_resend_ticks = c.max_resend_ticks;
  return e;
}

}  // namespace

Core::Core(CoreConfig config, DurableState durable)
    : config_(std::move(config)),
      configs_(durable.base_config ? *std::move(durable.base_config)
                                   : FoundingConfig(config_.voters,
                                                    config_.observers)),
      rule_(configs_.Rule(durable.base_zxid)),
      election_(ElectionSettings(config_)),
      recovering_(durable.recovering &&
                  config_.mutation != Mutation::kIgnoreRecovering),
      needs_snapshot_(durable.needs_snapshot),
      left_(durable.left),
      accepted_epoch_(durable.accepted_epoch),
      current_epoch_(durable.current_epoch),
      base_zxid_(durable.base_zxid),
      log_(std::make_move_iterator(durable.log.begin()),
           std::make_move_iterator(durable.log.end())) {
  durable_zxid_ = last_zxid();
  committed_ = base_zxid_;
  for (const Entry& e : log_) NoteConfig(e);
  RefreshRule();
  BecomeLooking();
  ready_.lost_leader = false;  // nothing was in flight before creation
}

// ---- Plumbing ----------------------------------------------------------

void Core::Send(Message m) {
  m.from = config_.self;
  ready_.messages.push_back(std::move(m));
}

Message* Core::LastMessageTo(PeerId to) {
  for (auto it = ready_.messages.rbegin(); it != ready_.messages.rend(); ++it) {
    if (it->to == to) return &*it;
  }
  return nullptr;
}

Message* Core::BatchTo(PeerId to, MessageType type, size_t bytes) {
  Message* last = LastMessageTo(to);
  if (last == nullptr || last->type != type ||
      last->entries.size() >=
          static_cast<size_t>(std::max(1, config_.max_diff_entries))) {
    return nullptr;
  }
  size_t total = bytes;
  for (const Entry& e : last->entries) total += e.data.size();
  return total <= config_.max_batch_bytes ? last : nullptr;
}

bool Core::Append(Entry entry) {
  if (IsConfigData(entry.data)) {
    if (!configs_.Append(entry).ok()) return false;
    RefreshRule();
  }
  ready_.entries.push_back(entry);
  log_.push_back(std::move(entry));
  return true;
}

bool Core::AppendFromLeader(const std::vector<Entry>& entries) {
  for (const Entry& e : entries) {
    if (!Append(e)) {
      BecomeLooking();
      return false;
    }
  }
  return true;
}

void Core::RefreshRule() {
  if (config_.mutation == Mutation::kConfigAtCommit) {
    rule_ = QuorumRule(Quorum(configs_.AsOf(committed_).VoterIds()));
    return;
  }
  rule_ = configs_.Rule(std::max(committed_, config_commit_heard_));
}

void Core::NoteConfig(const Entry& entry) {
  // The durable log holds only entries Append took, so this cannot fail.
  if (IsConfigData(entry.data)) configs_.Append(entry).IgnoreError();
}

size_t Core::IndexAfter(Zxid zxid) const {
  return static_cast<size_t>(
      std::upper_bound(log_.begin(), log_.end(), zxid,
                       [](Zxid z, const Entry& e) { return z < e.zxid; }) -
      log_.begin());
}

void Core::TruncateAfter(Zxid zxid) {
  log_.resize(IndexAfter(zxid));
  auto& pending = ready_.entries;
  pending.erase(std::remove_if(pending.begin(), pending.end(),
                               [zxid](const Entry& e) { return e.zxid > zxid; }),
                pending.end());
  ready_.truncate_after = ready_.truncate_after
                              ? std::min(*ready_.truncate_after, zxid)
                              : zxid;
  durable_zxid_ = std::min(durable_zxid_, zxid);
  if (config_.mutation != Mutation::kKeepTruncatedConfig) {
    configs_.TruncateAfter(zxid);
  }
  RefreshRule();
}

std::vector<Zxid> Core::EpochEnds() const {
  std::vector<Zxid> ends;
  // The history held as applied state ends at base_zxid_; it ends its
  // epoch unless the log continues that epoch.
  if (base_zxid_ != 0 &&
      (log_.empty() || EpochOf(log_.front().zxid) != EpochOf(base_zxid_))) {
    ends.push_back(base_zxid_);
  }
  for (size_t i = 0; i < log_.size(); ++i) {
    if (i + 1 == log_.size() ||
        EpochOf(log_[i + 1].zxid) != EpochOf(log_[i].zxid)) {
      ends.push_back(log_[i].zxid);
    }
  }
  return ends;
}

void Core::CommitThrough(Zxid zxid) {
  zxid = std::min(zxid, last_zxid());
  if (zxid <= committed_) return;
  for (size_t i = IndexAfter(committed_); i < log_.size() && log_[i].zxid <= zxid;
       ++i) {
    ready_.committed.push_back(log_[i]);
  }
  const bool was_pending = configs_.pending(committed_);
  committed_ = zxid;
  if (was_pending && !configs_.pending(committed_)) {
    RefreshRule();
    // A leader whose removal committed steps down once its COMMIT is out.
    if (state_ == PeerState::kLeading &&
        !configs_.current().IsVoter(config_.self)) {
      step_down_pending_ = true;
    }
  }
}

void Core::FollowMembership() {
  if (step_down_pending_) {
    step_down_pending_ = false;
    BecomeLooking();  // the commit was announced just before
    return;
  }
  // A serving learner whose configuration made it a voter, or no longer
  // one, registers again in its new role; the leader's configuration
  // decides what it is (rule M8).
  if ((state_ != PeerState::kFollowing && state_ != PeerState::kObserving) ||
      !serving_) {
    return;
  }
  const PeerState role = Voting() ? PeerState::kFollowing
                                  : PeerState::kObserving;
  if (role == state_) return;
  state_ = role;
  Rejoin();
}

bool Core::HasReady() const {
  return ready_.snapshot || ready_.truncate_after || !ready_.entries.empty() ||
         ready_.accepted_epoch || ready_.current_epoch ||
         !ready_.messages.empty() || !ready_.committed.empty() ||
         !ready_.requests.empty() || ready_.lost_leader || ready_.recovered ||
         commit_unannounced_;
}

Ready Core::TakeReady() {
  AnnounceCommit();
  FollowMembership();
  Ready out = std::move(ready_);
  ready_ = Ready();
  return out;
}

void Core::Advance(const Ready& ready) {
  if (ready.recovered && recovered_pending_) FinishRecovery();
  if (state_ != PeerState::kLeading) return;
  if (!ready.entries.empty()) {
    durable_zxid_ = std::max(durable_zxid_, ready.entries.back().zxid);
  }
  if (ready.current_epoch && *ready.current_epoch == new_epoch_) {
    epoch_durable_ = true;
    MaybeEstablish();
  }
  AdvanceCommit();
}

void Core::Compact(Zxid zxid) {
  const size_t n = IndexAfter(std::min(zxid, committed_));
  if (n == 0) return;
  base_zxid_ = log_[n - 1].zxid;
  log_.erase(log_.begin(), log_.begin() + static_cast<long>(n));
  configs_.Compact(base_zxid_);
}

Zxid Core::next_zxid() const {
  if (state_ != PeerState::kLeading || !serving_ ||
      !configs_.current().IsVoter(config_.self)) {
    return 0;
  }
  return MakeZxid(new_epoch_, next_counter_);
}

CoreStatus Core::status() const {
  CoreStatus s;
  s.state = state_;
  s.leader = leader_;
  s.serving = serving_;
  s.accepted_epoch = accepted_epoch_;
  s.current_epoch = current_epoch_;
  s.last_zxid = last_zxid();
  s.committed_zxid = committed_;
  s.recovering = recovering_;
  s.snapshots_sent = snapshots_sent_;
  return s;
}

// ---- Roles ---------------------------------------------------------------

void Core::BecomeLooking() {
  if (state_ != PeerState::kLooking || leader_ != 0) ready_.lost_leader = true;
  commit_unannounced_ = false;
  state_ = PeerState::kLooking;
  leader_ = 0;
  serving_ = false;
  learners_.clear();
  epoch_chosen_ = false;
  epoch_durable_ = false;
  got_new_leader_ = false;
  ResetSnap();
  snap_installed_ = false;
  new_epoch_ = 0;
  ticks_in_phase_ = 0;
  silent_ticks_ = 0;
  step_down_pending_ = false;
  config_commit_heard_ = 0;
  unhealthy_ticks_.clear();
  RefreshRule();
  election_.SetView(ElectionViewNow());
  election_.Start(last_zxid(), current_epoch_);
  election_.TakeMessages(&ready_.messages);
  if (election_.decided()) OnElected(election_.result());
}

void Core::OnElected(const ElectionResult& result) {
  elected_ = result;
  if (result.leader == config_.self) {
    StartLeading();
  } else {
    StartLearning(result.leader);
  }
}

void Core::StartLeading() {
  state_ = PeerState::kLeading;
  leader_ = config_.self;
  own_vote_ = Vote{config_.self, last_zxid(), current_epoch_};
  durable_zxid_ = last_zxid();
  ping_countdown_ = 0;
  MaybeChooseEpoch();  // a one-voter ensemble needs nobody
}

void Core::StartLearning(PeerId leader) {
  state_ = Voting() ? PeerState::kFollowing : PeerState::kObserving;
  leader_ = leader;
  SendFollowerInfo();
}

void Core::SendFollowerInfo() {
  Message info;
  info.type = MessageType::kFollowerInfo;
  info.to = leader_;
  info.epoch = accepted_epoch_;
  // Whether it may count; its role is the leader's to decide (rule M8).
  info.state = recovering_ ? PeerState::kObserving : PeerState::kFollowing;
  // The configuration it knows committed, if it knows its last one is.
  info.zxid = configs_.pending(committed_) ? 0 : configs_.current().version;
  LearnerInfo about;
  about.address = config_.address;
  about.zone = config_.zone;
  // Every peer that has not left asks: a member's history may name it in a
  // change the leader's does not hold (an admission a new leader cut), and
  // a peer removed while it was unreachable comes back this way.
  about.joining = !left_;
  about.needs_snapshot = needs_snapshot_;
  info.data = EncodeLearnerInfo(about);
  Send(std::move(info));
}

void Core::Step(const Message& m) {
  if (m.to != config_.self || m.from == config_.self) return;
  if (m.type == MessageType::kNotification) {
    if (state_ == PeerState::kLooking) {
      election_.Receive(m);
      election_.TakeMessages(&ready_.messages);
      if (election_.decided()) OnElected(election_.result());
    } else if (m.state == PeerState::kLooking && m.from == leader_ &&
               state_ != PeerState::kLeading && serving_ &&
               m.vote.epoch >= current_epoch_) {
      // Our own leader is looking, and not from before it led us: its
      // proposal already knows the epoch it established, so it sent this
      // after losing that leadership (a restart, most likely). Answering
      // "following you" would let it take our stale word that it still
      // leads, only to wait out a whole discovery for us; look instead.
      BecomeLooking();
      if (state_ == PeerState::kLooking) {
        election_.Receive(m);
        election_.TakeMessages(&ready_.messages);
        if (election_.decided()) OnElected(election_.result());
      }
    } else if (m.state == PeerState::kLooking) {
      // Tell a looking peer whom this peer follows, with the epoch it is in
      // now (ZOOKEEPER-1732: a stale epoch would keep that peer looking).
      ElectionResult now = elected_;
      now.vote = Vote{leader_, last_zxid(), current_epoch_};
      Message reply = Election::Reply(config_.self, m.from, state_, now,
                                      configs_.current().version);
      // And where that leader listens: a new member may know only the
      // seeds it joined through, and must reach the leader to register.
      if (const Member* l = configs_.current().Find(leader_)) {
        reply.data = l->address;
      }
      ready_.messages.push_back(std::move(reply));
    }
    return;
  }
  if (state_ == PeerState::kLeading) {
    LeaderStep(m);
  } else if (state_ != PeerState::kLooking && m.from == leader_) {
    silent_ticks_ = 0;
    LearnerStep(m);
  }
}

void Core::Tick() {
  switch (state_) {
    case PeerState::kLooking:
      election_.Tick();
      election_.TakeMessages(&ready_.messages);
      if (election_.decided()) OnElected(election_.result());
      break;
    case PeerState::kLeading:
      LeaderTick();
      break;
    case PeerState::kFollowing:
    case PeerState::kObserving:
      LearnerTick();
      break;
  }
}

absl::Status Core::Propose(std::string data) {
  if (IsConfigData(data)) {
    // Reserved for config entries (zab/config.h), which only the core
    // writes.
    return absl::InvalidArgumentError(
        "proposal data must not begin with a zero byte");
  }
  if (!serving_) {
    return absl::UnavailableError("no serving leader to take the proposal");
  }
  if (state_ == PeerState::kLeading) {
    if (!configs_.current().IsVoter(config_.self)) {
      // Its own removal is logged: it takes nothing new (rule M6).
      return absl::UnavailableError("the leader is leaving the voters");
    }
    AppendProposal(std::move(data));
    return absl::OkStatus();
  }
  // Forwarded one after another, requests travel to the leader in one
  // REQUEST, each as an entry numbered with its request id.
  const uint64_t id = next_request_id_++;
  const size_t bytes = data.size();
  Entry request{static_cast<Zxid>(id), std::move(data)};
  if (Message* last = BatchTo(leader_, MessageType::kRequest, bytes)) {
    last->request_id = id;
    last->entries.push_back(std::move(request));
    return absl::OkStatus();
  }
  Message r;
  r.type = MessageType::kRequest;
  r.to = leader_;
  r.request_id = id;
  r.entries.push_back(std::move(request));
  Send(std::move(r));
  return absl::OkStatus();
}

absl::Status Core::ProposeConfig(const ConfigChange& change) {
  if (state_ != PeerState::kLeading || !serving_) {
    return absl::UnavailableError("only the serving leader changes the "
                                  "configuration");
  }
  if (configs_.pending(committed_) &&
      config_.mutation != Mutation::kConcurrentConfigChanges) {
    return absl::FailedPreconditionError(
        "a configuration change is still pending (one at a time)");
  }
  if (!configs_.current().IsVoter(config_.self)) {
    return absl::UnavailableError("the leader is leaving the voters");
  }
  absl::StatusOr<Config> next = ApplyChange(configs_.current(), change);
  if (!next.ok()) return next.status();
  if (change.kind == ConfigChange::Kind::kPromote) {
    // Only a learner that finished its sync and hears from us (rule M5).
    if (!Healthy(change.id)) {
      return absl::FailedPreconditionError(
          "only a synchronized, live learner can become a voter");
    }
  }
  // Those we hear from and that can ack must already be a quorum under the
  // rule the change brings (both configurations), or it could not commit.
  std::vector<PeerId> live = {config_.self};
  for (const auto& [id, l] : learners_) {
    if (Healthy(id)) live.push_back(id);
  }
  const QuorumRule after(Quorum(next->VoterIds()),
                         Quorum(configs_.current().VoterIds()));
  if (!after.IsQuorum(live)) {
    return absl::FailedPreconditionError(
        "the live peers are not a quorum of the changed configuration");
  }
  next->version = MakeZxid(new_epoch_, next_counter_);
  const Zxid prev = last_zxid();
  AppendProposal(ConfigEntryData(*next));
  if (change.kind == ConfigChange::Kind::kPromote) {
    // Staging: the promoted observer gets the change as a PROPOSAL, which
    // tells it that it follows from now on. It registers again as a
    // follower, and its sync acks the change, which needs its ack if a
    // voter is down (else the change could commit only through an
    // election).
    Learner& l = learners_.at(change.id);
    if (l.role == PeerState::kObserving) {
      Message p;
      p.type = MessageType::kProposal;
      p.to = change.id;
      p.zxid = log_.back().zxid;
      p.prev_zxid = prev;
      p.entries.push_back(log_.back());
      Send(std::move(p));
    }
  }
  if (change.kind == ConfigChange::Kind::kAddObserver ||
      change.kind == ConfigChange::Kind::kRemoveObserver ||
      change.kind == ConfigChange::Kind::kRemoveVoter) {
    // A member now: it asks for nothing more. Or removed: what it asked
    // before is spent, and only a new registration asking to join (not
    // one from a peer leaving on purpose) brings it back.
    if (auto it = learners_.find(change.id); it != learners_.end()) {
      it->second.info.joining = false;
    }
  }
  return absl::OkStatus();
}

void Core::AppendProposal(std::string data) {
  const Zxid zxid = MakeZxid(new_epoch_, next_counter_++);
  const Zxid prev = last_zxid();
  // The core writes the leader's entries itself: a config entry is always
  // one ProposeConfig checked.
  const bool logged = Append(Entry{zxid, std::move(data)});
  assert(logged);
  (void)logged;
  for (const auto& [id, l] : learners_) {
    if (l.synced && l.role == PeerState::kFollowing) {
      // Entries proposed one after another in one Ready travel in one
      // PROPOSAL (so they are acked, and committed, together), as long as
      // nothing else was sent to this follower in between.
      Message* last =
          BatchTo(id, MessageType::kProposal, log_.back().data.size());
      if (last != nullptr && last->zxid == prev) {
        last->zxid = zxid;
        last->entries.push_back(log_.back());
        continue;
      }
      Message p;
      p.type = MessageType::kProposal;
      p.to = id;
      p.zxid = zxid;
      p.prev_zxid = prev;
      p.entries.push_back(log_.back());
      Send(std::move(p));
    }
  }
}

// ---- Leader --------------------------------------------------------------

void Core::LeaderStep(const Message& m) {
  if (m.type == MessageType::kFollowerInfo &&
      m.zxid == configs_.current().version && rule_.dual()) {
    // The learner knows this leader's pending configuration committed: it
    // counts alone from now on. (Or a voter that change removed, knowing
    // it, would hold up a leader that still counts the one before.)
    config_commit_heard_ = m.zxid;
    RefreshRule();
  }
  const bool voter = rule_.Contains(m.from);
  if (m.type == MessageType::kFollowerInfo) {
    // A learner that says nothing usable about itself is taken as a member
    // with nothing to ask.
    LearnerInfo info;
    if (absl::StatusOr<LearnerInfo> d = DecodeLearnerInfo(m.data); d.ok()) {
      info = *std::move(d);
    }
    // Members register; a peer outside the configuration only if it asks
    // to be admitted (and gives an address to admit it at).
    if (!voter && !configs_.current().IsObserver(m.from) &&
        !(info.joining && !info.address.empty())) {
      learners_.erase(m.from);  // a removed member, if it was one
      return;
    }
    // A (re)connecting learner starts over. A voter may ask to observe (it
    // is recovering a damaged log): it then counts toward no quorum.
    const bool follows = voter && m.state != PeerState::kObserving;
    if (follows && epoch_chosen_ && m.epoch > new_epoch_ &&
        config_.mutation != Mutation::kFollowOldEpochLeader) {
      // A voter has promised a later epoch and cannot follow this one: an
      // election above its epoch lets it back in.
      BecomeLooking();
      return;
    }
    Learner& l = learners_[m.from];
    l = Learner{};
    l.role = follows ? PeerState::kFollowing : PeerState::kObserving;
    l.recovering = m.state == PeerState::kObserving;
    l.accepted_epoch = m.epoch;
    l.info = std::move(info);
    // A member's registration asks to join too (its history may hold an
    // admission this leader's does not), but this leader's configuration
    // names it: nothing to ask. Else a removal committing later would find
    // a stale request and admit it back (a peer leaving on purpose, too).
    if (configs_.current().Find(m.from) != nullptr) l.info.joining = false;
    if (epoch_chosen_) {
      SendLeaderInfo(m.from);
    } else {
      MaybeChooseEpoch();
    }
    return;
  }
  auto it = learners_.find(m.from);
  if (it == learners_.end()) return;
  Learner& l = it->second;
  if (!voter && !configs_.current().IsObserver(m.from) && !l.info.joining) {
    return;  // no longer a member
  }
  l.silent_ticks = 0;
  switch (m.type) {
    case MessageType::kAckEpoch: {
      if (!epoch_chosen_ || l.acked_epoch) return;
      // A counted learner with a later history than this leader's means
      // the election chose badly: go back to it (as ZooKeeper does). Two
      // histories that end at the same zxid are the same history, whatever
      // epoch each last acknowledged. A learner that does not count (an
      // observer, or a peer recovering a damaged log) is not waited for,
      // and what it holds that this leader lacks never committed: a
      // counted learner would hold it too.
      if (!serving_ && Counts(l) && m.zxid != own_vote_.zxid &&
          (m.epoch > own_vote_.epoch ||
           (m.epoch == own_vote_.epoch && m.zxid > own_vote_.zxid))) {
        BecomeLooking();
        return;
      }
      l.acked_epoch = true;
      l.current_epoch = m.epoch;
      l.last_zxid = m.zxid;
      l.epoch_ends = m.epoch_ends;
      MaybeSync();
      return;
    }
    case MessageType::kAckNewLeader:
      if (!l.synced || m.epoch != new_epoch_ || l.acked_new_leader) return;
      l.acked_new_leader = true;
      l.acked = std::max(l.acked, m.zxid);
      if (serving_) {
        // Entries committed while it synchronized reach an observer here;
        // a follower has them as proposals.
        if (l.role == PeerState::kObserving) Inform(m.from, l);
        Message up;
        up.type = MessageType::kUpToDate;
        up.to = m.from;
        up.zxid = committed_;
        Send(std::move(up));
      } else {
        MaybeEstablish();
      }
      AdvanceCommit();
      return;
    case MessageType::kPing:
      // A follower's answer to a PING carries its last logged zxid, durable
      // like everything it sends: a cumulative ACK. So a lost ACK is made
      // good at the next ping even when no proposal follows (a leader
      // whose pending change removes it proposes nothing more).
    case MessageType::kAck:
      if (!l.acked_new_leader || l.role != PeerState::kFollowing) return;
      if (EpochOf(m.zxid) != new_epoch_ && m.zxid > l.acked) return;
      l.acked = std::max(l.acked, std::min(m.zxid, last_zxid()));
      AdvanceCommit();
      return;
    case MessageType::kRequest:
      // One submission, one proposal: a duplicated request (ids increase
      // per learner; a re-registering learner's old copies arrive before
      // its FOLLOWERINFO on the ordered link) is dropped.
      for (const Entry& e : m.entries) {
        const uint64_t id = static_cast<uint64_t>(e.zxid);
        if (id <= l.last_request) continue;
        l.last_request = id;
        // A leader leaving the voters takes nothing new (rule M6): the
        // learner's request fails as its leader steps down.
        if (serving_ && configs_.current().IsVoter(config_.self)) {
          ready_.requests.push_back(e.data);
        }
      }
      return;
    default:
      return;
  }
}

void Core::MaybeChooseEpoch() {
  if (epoch_chosen_) return;
  std::vector<PeerId> connected = {config_.self};
  int64_t max_epoch = accepted_epoch_;
  for (const auto& [id, l] : learners_) {
    if (l.accepted_epoch < 0 || !Counts(l)) continue;
    connected.push_back(id);
    max_epoch = std::max(max_epoch, l.accepted_epoch);
  }
  if (!rule_.IsQuorum(connected)) return;
  epoch_chosen_ = true;
  new_epoch_ = max_epoch + 1;
  next_counter_ = 1;
  accepted_epoch_ = new_epoch_;
  if (config_.mutation != Mutation::kForgetAcceptedEpoch) {
    ready_.accepted_epoch = new_epoch_;
  }
  for (const auto& [id, l] : learners_) SendLeaderInfo(id);
  MaybeSync();
}

void Core::SendLeaderInfo(PeerId to) {
  Message info;
  info.type = MessageType::kLeaderInfo;
  info.to = to;
  info.epoch = new_epoch_;
  info.state = learners_.at(to).role;  // the role it has here (rule M8)
  Send(std::move(info));
}

void Core::MaybeSync() {
  if (!epoch_chosen_) return;
  if (current_epoch_ != new_epoch_) {
    std::vector<PeerId> acked = {config_.self};
    for (const auto& [id, l] : learners_) {
      if (l.acked_epoch && Counts(l)) acked.push_back(id);
    }
    if (!rule_.IsQuorum(acked)) return;
    // The leader's own history is already durable; its new epoch becomes
    // durable with the Ready that carries the first NEWLEADER.
    current_epoch_ = new_epoch_;
    ready_.current_epoch = new_epoch_;
  }
  for (auto& [id, l] : learners_) {
    if (l.acked_epoch && !l.synced) SyncLearner(id);
  }
}

void Core::SyncLearner(PeerId to) {
  Learner& l = learners_.at(to);
  // The point up to which the learner's log is known to equal ours: within
  // one epoch, logs are prefixes of each other (one leader proposed them in
  // order), and peers that both hold entries of an epoch agree on all that
  // came before it. So look for the learner's latest epoch that we hold.
  Zxid common = 0;
  for (auto e = l.epoch_ends.rbegin(); e != l.epoch_ends.rend(); ++e) {
    Zxid ours = 0;
    for (auto it = log_.rbegin(); it != log_.rend(); ++it) {
      if (EpochOf(it->zxid) == EpochOf(*e)) {
        ours = it->zxid;
        break;
      }
      if (EpochOf(it->zxid) < EpochOf(*e)) break;
    }
    // Our last entry of that epoch may be the last one compacted away.
    if (ours == 0 && base_zxid_ != 0 && EpochOf(base_zxid_) == EpochOf(*e)) {
      ours = base_zxid_;
    }
    if (ours != 0) {
      common = std::min(*e, ours);
      break;
    }
  }
  if (common < base_zxid_ || l.info.needs_snapshot) {
    // The learner needs entries we no longer hold, or holds no history of
    // ours to continue (a new member): SNAP, which replaces its
    // whole state and log (no TRUNC needed). Without a usable snapshot it
    // stays unsynchronized: never DIFF across a hole.
    if (!SendSnap(to)) return;
  } else {
    // Entries the learner holds beyond `common` are not in our history:
    // they were never committed, and must go (TRUNC), never be kept.
    bool trunc = common < l.last_zxid;
    if (trunc && config_.mutation == Mutation::kSkipTrunc) {
      // The bug: continue after the learner's own last entry, keeping its
      // extra entries, and send it only what follows them.
      common = l.last_zxid;
      trunc = false;
    }
    SendDiff(to, common, trunc);
  }
  l.informed = last_zxid();
  Message nl;
  nl.type = MessageType::kNewLeader;
  nl.to = to;
  nl.epoch = new_epoch_;
  nl.zxid = last_zxid();
  Send(std::move(nl));
  l.synced = true;  // from now on it receives proposals, after NEWLEADER
}

bool Core::SendSnap(PeerId to) {
  if (config_.snapshot_source == nullptr) return false;
  auto [zxid, data] = config_.snapshot_source->Snapshot();
  // The host breaks its contract if the state does not reach our base or
  // goes past our log: refuse rather than leave a hole.
  if (zxid < base_zxid_ || zxid > last_zxid()) return false;
  Message snap;
  snap.type = MessageType::kSnap;
  snap.to = to;
  snap.zxid = zxid;
  // The configuration travels with the state (rule M7).
  snap.data = EncodeConfig(configs_.AsOf(zxid));
  Send(std::move(snap));
  const size_t chunk = std::max<size_t>(1, config_.snapshot_chunk_bytes);
  size_t offset = 0;
  do {
    Message c;
    c.type = MessageType::kSnapChunk;
    c.to = to;
    c.zxid = zxid;
    c.offset = offset;
    c.data = data.substr(offset, chunk);
    offset += c.data.size();
    c.last = offset >= data.size();
    Send(std::move(c));
  } while (offset < data.size());
  SendDiff(to, zxid, /*trunc=*/false);
  ++snapshots_sent_;
  return true;
}

void Core::SendDiff(PeerId to, Zxid from, bool trunc) {
  size_t i = IndexAfter(from);
  bool first = true;
  do {
    Message m;
    m.type = (first && trunc) ? MessageType::kTrunc : MessageType::kDiff;
    m.to = to;
    m.zxid = from;
    // At most max_diff_entries entries and, past the first, max_batch_bytes
    // of payload: a peer's frame limit must hold every message.
    const size_t most =
        std::min(log_.size(), i + static_cast<size_t>(std::max(1, config_.max_diff_entries)));
    size_t end = i;
    size_t bytes = 0;
    while (end < most &&
           (end == i || bytes + log_[end].data.size() <= config_.max_batch_bytes)) {
      bytes += log_[end].data.size();
      ++end;
    }
    m.entries.assign(log_.begin() + static_cast<long>(i),
                     log_.begin() + static_cast<long>(end));
    if (!m.entries.empty()) from = m.entries.back().zxid;
    i = end;
    first = false;
    Send(std::move(m));
  } while (i < log_.size());
}

void Core::MaybeEstablish() {
  if (serving_ || !epoch_durable_) return;
  std::vector<PeerId> acked = {config_.self};
  for (const auto& [id, l] : learners_) {
    if (l.acked_new_leader && Counts(l)) acked.push_back(id);
  }
  if (!rule_.IsQuorum(acked)) return;
  // A quorum holds this history in the new epoch: all of it is committed.
  serving_ = true;
  CommitThrough(last_zxid());
  for (const auto& [id, l] : learners_) {
    if (!l.acked_new_leader) continue;
    Message up;
    up.type = MessageType::kUpToDate;
    up.to = id;
    up.zxid = committed_;
    Send(std::move(up));
  }
}

void Core::AdvanceCommit() {
  if (!serving_) return;
  // Followers' acks are cumulative (they log in order), so the highest
  // zxid a quorum acked is, per voter set the rule counts, the
  // majority-th largest of its voters' acks (ours: what is durable).
  auto ack = [this](PeerId id) -> Zxid {
    if (id == config_.self) return durable_zxid_;
    auto it = learners_.find(id);
    if (it == learners_.end()) return 0;
    const Learner& l = it->second;
    return l.role == PeerState::kFollowing && l.acked_new_leader ? l.acked : 0;
  };
  // Committing a pending config entry ends the rule's second majority,
  // which may let the commit point move on: hence twice at most.
  for (int round = 0; round < 2; ++round) {
    Zxid commit = rule_.CommitPoint(ack);
    if (config_.mutation == Mutation::kCommitWithoutQuorum) {
      commit = durable_zxid_;
      for (const auto& [id, l] : learners_) commit = std::max(commit, ack(id));
    }
    if (commit <= committed_) return;
    CommitThrough(commit);
    commit_unannounced_ = true;
  }
}

void Core::AnnounceCommit() {
  if (!commit_unannounced_) return;
  commit_unannounced_ = false;
  if (state_ != PeerState::kLeading || !serving_) return;
  for (auto& [id, l] : learners_) {
    if (!l.acked_new_leader) continue;
    if (l.role == PeerState::kObserving) {
      Inform(id, l);
      continue;
    }
    Message m;
    m.type = MessageType::kCommit;
    m.to = id;
    m.zxid = committed_;
    Send(std::move(m));
  }
}

void Core::Inform(PeerId to, Learner& l) {
  Message m;
  m.type = MessageType::kInform;
  m.to = to;
  m.zxid = committed_;
  // If we compacted entries it lacks (it synchronized before, and acked
  // after), it sees a gap after `prev_zxid` and rejoins, to be SNAPped.
  const Zxid prev = std::max(l.informed, base_zxid_);
  m.prev_zxid = prev;
  if (committed_ > prev) {
    m.entries.assign(log_.begin() + static_cast<long>(IndexAfter(prev)),
                     log_.begin() + static_cast<long>(IndexAfter(committed_)));
  }
  l.informed = std::max(l.informed, committed_);
  Send(std::move(m));
}

void Core::LeaderTick() {
  for (auto it = learners_.begin(); it != learners_.end();) {
    if (++it->second.silent_ticks > config_.follower_timeout) {
      it = learners_.erase(it);
    } else {
      ++it;
    }
  }
  if (!serving_) {
    if (++ticks_in_phase_ > config_.sync_timeout) BecomeLooking();
    return;
  }
  std::vector<PeerId> with_us = {config_.self};
  for (const auto& [id, l] : learners_) {
    if (l.acked_new_leader && Counts(l)) with_us.push_back(id);
  }
  if (!rule_.IsQuorum(with_us)) {
    BecomeLooking();  // cannot commit anything: let a quorum elect again
    return;
  }
  for (const std::vector<Member>* list :
       {&configs_.current().voters, &configs_.current().observers}) {
    for (const Member& m : *list) {
      if (m.id == config_.self) continue;
      int64_t& ticks = unhealthy_ticks_[m.id];
      ticks = Healthy(m.id) ? 0 : ticks + 1;
    }
  }
  if (--ping_countdown_ <= 0) {
    ping_countdown_ = config_.ping_ticks;
    for (const auto& [id, l] : learners_) {
      Message p;
      p.type = MessageType::kPing;
      p.to = id;
      // What this learner has been sent: every proposal if it follows,
      // what committed if it observes. A learner that lacks it lost a
      // message, even if nothing follows to show the gap.
      p.zxid = l.synced && l.role == PeerState::kFollowing ? last_zxid()
                                                           : committed_;
      Send(std::move(p));
    }
  }
}

// ---- Learner ---------------------------------------------------------------

void Core::LearnerStep(const Message& m) {
  switch (m.type) {
    case MessageType::kLeaderInfo: {
      // A recovering peer promises nothing (it never acks), so it may
      // learn from a leader of an epoch below one it once accepted.
      if (m.epoch < accepted_epoch_ && !recovering_ &&
          config_.mutation != Mutation::kFollowOldEpochLeader) {
        BecomeLooking();  // a leader of an epoch we have moved past
        return;
      }
      if (m.epoch > accepted_epoch_) {
        accepted_epoch_ = m.epoch;
        if (config_.mutation != Mutation::kForgetAcceptedEpoch) {
          ready_.accepted_epoch = m.epoch;
        }
      }
      new_epoch_ = m.epoch;
      // The leader's configuration decides the role (rule M8); ours may be
      // behind until the sync brings it up to the leader's.
      state_ = m.state == PeerState::kFollowing && !recovering_
                   ? PeerState::kFollowing
                   : PeerState::kObserving;
      ResetSnap();
      snap_installed_ = false;
      Message ack;
      ack.type = MessageType::kAckEpoch;
      ack.to = leader_;
      ack.epoch = current_epoch_;
      ack.zxid = last_zxid();
      ack.epoch_ends = EpochEnds();
      Send(std::move(ack));
      return;
    }
    case MessageType::kSnap:
    case MessageType::kSnapChunk:
      OnSnap(m);
      return;
    case MessageType::kTrunc:
    case MessageType::kDiff: {
      if (new_epoch_ == 0 || got_new_leader_) return;
      if (snap_receiving_) {
        BecomeLooking();  // the snapshot stream was cut short
        return;
      }
      if (needs_snapshot_) {
        // A new member holds no history to continue: its SNAP was lost.
        Rejoin();
        return;
      }
      if (m.type == MessageType::kTrunc) {
        if (m.zxid < committed_ || m.zxid < base_zxid_) {
          BecomeLooking();  // would drop a committed entry: refuse
          return;
        }
        TruncateAfter(m.zxid);
      }
      if (last_zxid() != m.zxid) {
        BecomeLooking();  // the DIFF does not continue our log
        return;
      }
      AppendFromLeader(m.entries);
      return;
    }
    case MessageType::kNewLeader: {
      if (m.epoch != new_epoch_ || got_new_leader_ || last_zxid() != m.zxid) {
        if (m.epoch == new_epoch_ && !got_new_leader_) BecomeLooking();
        return;
      }
      // The history goes to disk before the epoch that vouches for it (the
      // host persists entries first), and both before the ack is sent.
      current_epoch_ = m.epoch;
      ready_.current_epoch = m.epoch;
      got_new_leader_ = true;
      Message ack;
      ack.type = MessageType::kAckNewLeader;
      ack.to = leader_;
      ack.epoch = m.epoch;
      ack.zxid = m.zxid;
      Send(std::move(ack));
      return;
    }
    case MessageType::kUpToDate:
      if (!got_new_leader_) return;
      serving_ = true;
      CommitThrough(m.zxid);
      if (recovering_ && !recovered_pending_) {
        // A leader elected without us has given us its whole history.
        recovered_pending_ = true;
        ready_.recovered = true;
      }
      return;
    case MessageType::kProposal: {
      if (!got_new_leader_) return;
      if (state_ != PeerState::kFollowing) {
        // An observer the leader promoted (ProposeConfig's staging): it
        // registers again, as the follower it now is.
        state_ = PeerState::kFollowing;
        Rejoin();
        return;
      }
      if (m.entries.empty() || m.entries.back().zxid <= last_zxid()) return;
      if (m.prev_zxid != last_zxid()) {
        Rejoin();  // a proposal was lost: an ack now would cover a hole
        return;
      }
      if (!AppendFromLeader(m.entries)) return;
      // Acks are cumulative: one that nothing followed yet covers these too.
      Message* last = LastMessageTo(leader_);
      if (last != nullptr && last->type == MessageType::kAck) {
        last->zxid = last_zxid();
        return;
      }
      Message ack;
      ack.type = MessageType::kAck;
      ack.to = leader_;
      ack.zxid = last_zxid();
      Send(std::move(ack));
      return;
    }
    case MessageType::kCommit:
      if (got_new_leader_) CommitThrough(m.zxid);
      return;
    case MessageType::kInform:
      if (!got_new_leader_ || state_ != PeerState::kObserving) return;
      if (!m.entries.empty() && m.entries.back().zxid > last_zxid()) {
        if (m.prev_zxid != last_zxid()) {
          Rejoin();  // an INFORM was lost
          return;
        }
        if (!AppendFromLeader(m.entries)) return;
      }
      if (m.zxid > last_zxid()) {
        // The leader committed entries it could not send us (it compacted
        // them): we rejoin at once, to be SNAPped, rather than serve a
        // stale tree until a PING shows the gap.
        Rejoin();
        return;
      }
      CommitThrough(m.zxid);
      return;
    case MessageType::kPing: {
      // What the leader names was sent to us before this ping on the same
      // ordered link; if we lack it, messages were lost.
      if (got_new_leader_ && m.zxid > last_zxid()) {
        Rejoin();
        return;
      }
      Message pong;
      pong.type = MessageType::kPing;
      pong.to = leader_;
      pong.zxid = last_zxid();
      Send(std::move(pong));
      return;
    }
    default:
      return;
  }
}

void Core::ResetSnap() {
  snap_receiving_ = false;
  snap_zxid_ = 0;
  snap_data_.clear();
}

void Core::OnSnap(const Message& m) {
  // Only while synchronizing, between LEADERINFO and NEWLEADER, and once.
  if (new_epoch_ == 0 || got_new_leader_ || snap_installed_) return;
  if (m.type == MessageType::kSnap) {
    if (snap_receiving_ && m.zxid == snap_zxid_ && snap_data_.empty()) {
      return;  // a duplicate
    }
    absl::StatusOr<Config> config = DecodeConfig(m.data);
    if (!config.ok()) return;  // a SNAP without its configuration: drop
    ResetSnap();
    snap_receiving_ = true;
    snap_zxid_ = m.zxid;
    snap_config_ = *std::move(config);
    return;
  }
  if (!snap_receiving_ || m.zxid != snap_zxid_) return;  // no kSnap: drop
  if (m.offset < snap_data_.size()) return;  // a duplicate
  if (m.offset > snap_data_.size()) {
    ResetSnap();
    Rejoin();  // a chunk was lost: start the sync over
    return;
  }
  snap_data_ += m.data;
  if (!m.last) return;
  if (snap_zxid_ < committed_) {
    BecomeLooking();  // would drop entries we know committed: refuse
    return;
  }
  // The snapshot replaces the applied state and the whole log; what was
  // queued to persist or apply before it is covered by it or superseded.
  ready_.snapshot = Snapshot{snap_zxid_, std::move(snap_data_), snap_config_};
  ready_.truncate_after.reset();
  ready_.entries.clear();
  ready_.committed.clear();
  log_.clear();
  base_zxid_ = snap_zxid_;
  committed_ = snap_zxid_;
  durable_zxid_ = snap_zxid_;
  configs_.Reset(std::move(snap_config_));
  RefreshRule();
  snap_installed_ = true;
  needs_snapshot_ = false;
  ResetSnap();
}

void Core::FinishRecovery() {
  recovering_ = false;
  recovered_pending_ = false;
  if (state_ == PeerState::kLooking) {
    BecomeLooking();  // elect again, in its role
  } else if (state_ == PeerState::kObserving && rule_.Contains(config_.self)) {
    state_ = PeerState::kFollowing;
    Rejoin();  // the same leader, now as a follower
  }
}

bool Core::Healthy(PeerId id) const {
  auto it = learners_.find(id);
  return it != learners_.end() && it->second.acked_new_leader &&
         !it->second.recovering &&
         it->second.silent_ticks <= config_.ping_ticks * 2;
}

std::vector<MemberState> Core::MemberStates() const {
  std::vector<MemberState> out;
  if (state_ != PeerState::kLeading || !serving_) return out;
  const Config& config = configs_.current();
  for (const std::vector<Member>* list : {&config.voters, &config.observers}) {
    for (const Member& m : *list) {
      if (m.id == config_.self) continue;
      MemberState s;
      s.id = m.id;
      s.voter = list == &config.voters;
      s.healthy = Healthy(m.id);
      auto it = unhealthy_ticks_.find(m.id);
      s.unreachable_ticks = it == unhealthy_ticks_.end() ? 0 : it->second;
      if (auto l = learners_.find(m.id); l != learners_.end()) {
        s.zone = l->second.info.zone;
        s.registered = l->second.silent_ticks <= config_.follower_timeout;
        if (s.registered && l->second.synced) {
          const Zxid held = l->second.role == PeerState::kObserving
                                ? l->second.informed
                                : l->second.acked;
          s.lag_txns = static_cast<int64_t>(log_.size() - IndexAfter(held));
        }
      }
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::vector<ConfigChange> Core::Admissions() const {
  std::vector<ConfigChange> out;
  if (state_ != PeerState::kLeading || !serving_) return out;
  const Config& config = configs_.current();
  for (const auto& [id, l] : learners_) {
    if (l.info.address.empty()) continue;
    const Member* m = config.Find(id);
    if (m == nullptr && l.info.joining) {
      out.push_back(ConfigChange{ConfigChange::Kind::kAddObserver, id,
                                 l.info.address});
    } else if (m != nullptr && m->address != l.info.address) {
      out.push_back(ConfigChange{ConfigChange::Kind::kSetAddress, id,
                                 l.info.address});
    }
  }
  return out;
}

ElectionView Core::ElectionViewNow() const {
  ElectionView view;
  view.rule = rule_;
  view.config_version = configs_.current().version;
  // A peer outside its configuration (joining) backs: a candidate whose
  // pending change made it a voter may need its vote, and counts it only
  // under a rule that also takes a majority of the configuration before.
  view.role = recovering_                     ? ElectionRole::kListener
              : rule_.Contains(config_.self) ? ElectionRole::kCandidate
                                             : ElectionRole::kBacker;
  // Everyone either configuration of a pending change names.
  auto add = [&view](const Config& c) {
    for (const Member& m : c.voters) view.contacts.push_back(m.id);
    for (const Member& m : c.observers) view.contacts.push_back(m.id);
  };
  add(configs_.current());
  if (rule_.dual() && configs_.previous() != nullptr) add(*configs_.previous());
  std::sort(view.contacts.begin(), view.contacts.end());
  view.contacts.erase(std::unique(view.contacts.begin(), view.contacts.end()),
                      view.contacts.end());
  return view;
}

void Core::Rejoin() {
  ready_.lost_leader = serving_ || got_new_leader_;
  serving_ = false;
  got_new_leader_ = false;
  ResetSnap();
  snap_installed_ = false;
  new_epoch_ = 0;
  ticks_in_phase_ = 0;
  SendFollowerInfo();
}

void Core::LearnerTick() {
  // Until its LEADERINFO, a leader is silent by design (it waits for a
  // quorum to register), and as long as it may wait: sync_timeout.
  if (++silent_ticks_ > config_.leader_timeout && new_epoch_ != 0) {
    BecomeLooking();
    return;
  }
  if (!serving_ && ++ticks_in_phase_ > config_.sync_timeout) {
    BecomeLooking();
    return;
  }
  // Not heard from the leader yet: it may have decided after our
  // FOLLOWERINFO arrived (and dropped it while still looking), so say it
  // again until it answers.
  if (new_epoch_ == 0 && silent_ticks_ % config_.ping_ticks == 0) {
    SendFollowerInfo();
  }
}

}  // namespace synod::zab
