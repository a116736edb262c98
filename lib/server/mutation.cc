#include "server/mutation.h"

namespace synod::server {

const char* MutationName(Mutation mutation) {
  switch (mutation) {
    case Mutation::kNone:
      return "none";
    case Mutation::kAckBeforeDurable:
      return "ack-before-durable";
    case Mutation::kApplyBeforeCommit:
      return "apply-before-commit";
    case Mutation::kSendEverythingEarly:
      return "send-everything-early";
    case Mutation::kExpireOnFollower:
      return "expire-on-follower";
    case Mutation::kKeepWritesOnLostLeader:
      return "keep-writes-on-lost-leader";
    case Mutation::kForgetHostedSessions:
      return "forget-hosted-sessions";
    case Mutation::kLeaseAcksUntracked:
      return "lease-acks-untracked";
  }
  return "?";
}

}  // namespace synod::server
