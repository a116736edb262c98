// Names and readable forms of zab messages, for traces.

#include "zab/message.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace synod::zab {

const char* PeerStateName(PeerState state) {
  switch (state) {
    case PeerState::kLooking: return "looking";
    case PeerState::kFollowing: return "following";
    case PeerState::kLeading: return "leading";
    case PeerState::kObserving: return "observing";
  }
  return "?";
}

const char* MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kNotification: return "NOTIFICATION";
    case MessageType::kFollowerInfo: return "FOLLOWERINFO";
    case MessageType::kLeaderInfo: return "LEADERINFO";
    case MessageType::kAckEpoch: return "ACKEPOCH";
    case MessageType::kDiff: return "DIFF";
    case MessageType::kTrunc: return "TRUNC";
    case MessageType::kSnap: return "SNAP";
    case MessageType::kSnapChunk: return "SNAPCHUNK";
    case MessageType::kNewLeader: return "NEWLEADER";
    case MessageType::kAckNewLeader: return "ACKNEWLEADER";
    case MessageType::kUpToDate: return "UPTODATE";
    case MessageType::kProposal: return "PROPOSAL";
    case MessageType::kAck: return "ACK";
    case MessageType::kCommit: return "COMMIT";
    case MessageType::kInform: return "INFORM";
    case MessageType::kPing: return "PING";
    case MessageType::kRequest: return "REQUEST";
  }
  return "?";
}

std::string ZxidString(Zxid zxid) {
  return absl::StrFormat("0x%x:%x", EpochOf(zxid), CounterOf(zxid));
}

std::string Describe(const Message& m) {
  std::string out = absl::StrCat(m.from, "->", m.to, " ", MessageTypeName(m.type));
  switch (m.type) {
    case MessageType::kNotification:
      absl::StrAppend(&out, " vote=(", m.vote.leader, ",", ZxidString(m.vote.zxid),
                      ",e", m.vote.epoch, ") round=", m.round, " ",
                      PeerStateName(m.state));
      break;
    case MessageType::kFollowerInfo:
    case MessageType::kLeaderInfo:
      absl::StrAppend(&out, " epoch=", m.epoch);
      break;
    case MessageType::kAckEpoch:
      absl::StrAppend(&out, " epoch=", m.epoch, " last=", ZxidString(m.zxid));
      break;
    case MessageType::kNewLeader:
      absl::StrAppend(&out, " epoch=", m.epoch, " zxid=", ZxidString(m.zxid));
      break;
    case MessageType::kSnapChunk:
      absl::StrAppend(&out, " zxid=", ZxidString(m.zxid), " offset=", m.offset,
                      " bytes=", m.data.size(), m.last ? " last" : "");
      break;
    case MessageType::kRequest:
      absl::StrAppend(&out, " last_id=", m.request_id,
                      " requests=", m.entries.size());
      break;
    default:
      absl::StrAppend(&out, " zxid=", ZxidString(m.zxid));
      break;
  }
  if (!m.entries.empty()) {
    absl::StrAppend(&out, " entries=", ZxidString(m.entries.front().zxid), "..",
                    ZxidString(m.entries.back().zxid), "(", m.entries.size(), ")");
  }
  return out;
}

}  // namespace synod::zab
