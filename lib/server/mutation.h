// Deliberate host bugs, for showing that the whole-server simulation's
// checks catch each broken rule of the host (test/sim/server_sim.h). Never
// set outside tests.

#ifndef SYNOD_SERVER_MUTATION_H_
#define SYNOD_SERVER_MUTATION_H_

namespace synod::server {

enum class Mutation {
  kNone,
  // Entries count as durable (their acks go, the core advances) as soon as
  // they are handed to the log writer, before the write ends.
  kAckBeforeDurable,
  // Learners apply proposals as they log them, before they are committed.
  kApplyBeforeCommit,
  // Every message goes at once, not only PROPOSALs (the early-send rule
  // without its condition): an ACK may leave before its entries are
  // durable.
  kSendEverythingEarly,
  // Every peer, not only the leader, tracks session deadlines and expires
  // the sessions it did not hear from.
  kExpireOnFollower,
  // Losing the leader leaves forwarded and proposed writes waiting instead
  // of failing them.
  kKeepWritesOnLostLeader,
  // The peer keeps only its own session alive: the remote sessions it
  // hosts go untouched.
  kForgetHostedSessions,
  // A leader acknowledges touches of sessions it does not track (closed
  // or being expired) as if it did.
  kLeaseAcksUntracked,
};

// The mutation's name, as --mutation takes it.
const char* MutationName(Mutation mutation);

}  // namespace synod::server

#endif  // SYNOD_SERVER_MUTATION_H_
