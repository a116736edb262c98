// The vocabulary of the zab core: peer ids, votes, log entries and the
// messages peers exchange. Plain values: the core builds and consumes them,
// the transport (gRPC) and the simulation carry them, nothing here does I/O.

#ifndef SYNOD_ZAB_MESSAGE_H_
#define SYNOD_ZAB_MESSAGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "synod/types.h"

namespace synod::zab {

// A peer's id in the ensemble: unique, nonzero, stable across restarts.
using PeerId = uint64_t;

// One entry of the replicated log: a txn's zxid and its encoding, opaque to
// the core.
struct Entry {
  Zxid zxid = 0;
  std::string data;
  friend bool operator==(const Entry& a, const Entry& b) {
    return a.zxid == b.zxid && a.data == b.data;
  }
};

// What a peer is doing.
enum class PeerState : uint8_t { kLooking, kFollowing, kLeading, kObserving };

// Returns "looking", "following", "leading" or "observing".
const char* PeerStateName(PeerState state);

// A candidate for leadership, ordered as ZooKeeper orders votes: by the
// candidate's current epoch, then its last logged zxid, then its id.
struct Vote {
  PeerId leader = 0;
  Zxid zxid = 0;      // the candidate's last logged zxid
  int64_t epoch = 0;  // the candidate's current epoch
  friend bool operator==(const Vote& a, const Vote& b) {
    return a.leader == b.leader && a.zxid == b.zxid && a.epoch == b.epoch;
  }
  friend bool operator!=(const Vote& a, const Vote& b) { return !(a == b); }
};

// Returns true if `a` is a better candidate than `b`: higher epoch, or same
// epoch and higher zxid, or both the same and higher id.
inline bool Better(const Vote& a, const Vote& b) {
  if (a.epoch != b.epoch) return a.epoch > b.epoch;
  if (a.zxid != b.zxid) return a.zxid > b.zxid;
  return a.leader > b.leader;
}

enum class MessageType : uint8_t {
  // Election: `vote`, `round` (the sender's election round), `state`,
  // `zxid` = the version of the sender's configuration; in a decided
  // peer's reply, `data` = the address its leader listens on, if known
  // (hosts learn it: a new member may know no other way to the leader).
  kNotification,
  // Discovery: follower -> leader, `epoch` = its acceptedEpoch, `state` =
  // kObserving if it is recovering a damaged log (it must not count), else
  // kFollowing (the leader's configuration decides its role), `zxid` = the
  // version of its configuration if it knows that committed, else 0.
  kFollowerInfo,
  // Discovery: leader -> follower, `epoch` = the new epoch, `state` = the
  // role the leader gives it (kFollowing or kObserving).
  kLeaderInfo,
  // Discovery: follower -> leader, `epoch` = its currentEpoch, `zxid` = its
  // last logged zxid, `epoch_ends` = the last zxid of each epoch in its log.
  kAckEpoch,
  // Synchronization: leader -> follower. kDiff: `entries` continue the
  // follower's log after `zxid`. kTrunc: drop entries after `zxid`, then
  // `entries` continue. kSnap: the leader's applied state as of `zxid`
  // replaces the follower's state and log; it follows in kSnapChunk
  // messages (`zxid` again, `data` starting at byte `offset` of the state,
  // `last` on the final one), then a kDiff after `zxid`.
  kDiff,
  kTrunc,
  kSnap,
  kSnapChunk,
  // Synchronization: leader -> follower, `epoch` = the new epoch, `zxid` =
  // the last zxid of the history sent; follower -> leader kAckNewLeader
  // once that history is durable and currentEpoch is set.
  kNewLeader,
  kAckNewLeader,
  // Leader -> follower: the quorum has the history; start serving.
  kUpToDate,
  // Broadcast: kProposal (`entries`, one entry, after `prev_zxid`), kAck
  // (`zxid`), kCommit (`zxid`), kInform to observers (`entries` after
  // `prev_zxid`, committed through `zxid`).
  kProposal,
  kAck,
  kCommit,
  kInform,
  // Liveness: leader -> learner kPing (`zxid` = the last zxid sent to that
  // learner: the last proposed to a synchronized follower, the last
  // committed to others), learner -> leader kPing back (`zxid` = its last
  // logged zxid; from a follower, a cumulative ack).
  kPing,
  // Requests forwarded to the leader: one per entry, the entry's zxid being
  // the learner's request id for it (increasing); `request_id` is the last.
  kRequest,
};

// Returns the message type's name, e.g. "PROPOSAL".
const char* MessageTypeName(MessageType type);

// One message between two peers. Only the fields its type names are set.
struct Message {
  MessageType type = MessageType::kNotification;
  PeerId from = 0;
  PeerId to = 0;

  Vote vote;
  int64_t round = 0;
  PeerState state = PeerState::kLooking;

  int64_t epoch = 0;
  Zxid zxid = 0;
  // kProposal, kInform: the zxid of the entry before the first one carried,
  // so a learner can tell a gap (a lost message) from a continuation.
  Zxid prev_zxid = 0;
  std::vector<Zxid> epoch_ends;
  std::vector<Entry> entries;
  std::string data;
  bool last = false;
  uint64_t offset = 0;  // kSnapChunk: where `data` starts in the snapshot
  uint64_t request_id = 0;
};

// Returns true if a host may send `m` before the persistence its Ready asks
// for is durable: a leader's PROPOSAL (as ZooKeeper's leader sends it while
// logging it). Safe because a leader counts its own acknowledgement only
// once its entry is durable (Core::Advance), so nothing commits on an entry
// the leader might lose; a follower that logged it merely holds an
// uncommitted entry, which the next leader keeps or truncates.
inline bool MaySendBeforeDurable(const Message& m) {
  return m.type == MessageType::kProposal;
}

// Returns a one-line readable form, for traces: "2->1 PROPOSAL zxid=0x1:5".
std::string Describe(const Message& m);

// Returns the zxid as "epoch:counter" in hex, e.g. "0x3:1f".
std::string ZxidString(Zxid zxid);

}  // namespace synod::zab

#endif  // SYNOD_ZAB_MESSAGE_H_
