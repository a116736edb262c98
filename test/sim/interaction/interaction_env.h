// InteractionEnv: zab peers driven one step at a time by a script
// (test/sim/testdata/*.txt), in the style of etcd-io/raft's rafttest.
//
// Each peer is a real zab::Core behind the real host contract,
// server::ReadyHost, with:
//  - an in-memory disk: the durable log, acceptedEpoch/currentEpoch, the
//    recovering mark and a snapshot of the applied state (test/sim's
//    EncodeApplied format). A write the host hands to the disk (log
//    entries, a barrier) becomes durable only when the script says so
//    (`persist`, `stabilize`); a crash loses every write not yet durable;
//  - an applied state machine: the committed entries, in order;
//  - one FIFO queue of messages in flight for the whole ensemble, which
//    keeps every link's order; the script delivers, drops or duplicates
//    them.
// Nothing happens that the script did not ask for (no clock, no
// randomness), so the output of a script is the same on every run and IS
// the assertion. Commands and their output are listed in
// docs/interaction-tests.md.

#ifndef SYNOD_TEST_SIM_INTERACTION_INTERACTION_ENV_H_
#define SYNOD_TEST_SIM_INTERACTION_INTERACTION_ENV_H_

#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "server/ready_host.h"
#include "sim/interaction/datadriven.h"
#include "zab/core.h"
#include "zab/message.h"

namespace synod::sim::interaction {

class InteractionEnv {
 public:
  InteractionEnv();
  ~InteractionEnv();
  InteractionEnv(const InteractionEnv&) = delete;
  InteractionEnv& operator=(const InteractionEnv&) = delete;

  // Runs one command and appends its output to `*out` ("ok" when it has
  // nothing to say). Returns false, with `*error`, for a command the env
  // cannot run (unknown, missing or bad arguments): a mistake in the
  // script, not an outcome to compare.
  bool Handle(const CommandLine& command, std::string* out, std::string* error);

 private:
  class Snapshots;

  // An input that waits while its peer's host is blocked on a barrier.
  struct Deferred {
    bool tick = true;  // else a proposal of `data`
    std::string data;
  };

  struct Peer {
    zab::PeerId id = 0;
    bool voter = true;
    zab::CoreConfig config;
    // The disk: what survives a crash.
    zab::DurableState disk;
    std::string snapshot;  // the applied state through disk.base_zxid
    // Writes handed to the disk, not yet durable.
    std::vector<zab::Entry> log_queue;
    bool barrier_queued = false;  // HostWork::persist_barrier seen
    // Volatile: lost on a crash.
    std::unique_ptr<zab::Core> core;  // null while down
    std::unique_ptr<server::ReadyHost> host;
    std::vector<zab::Entry> applied;
    std::deque<Deferred> deferred;
    std::string role;  // as last printed
    std::unique_ptr<zab::SnapshotSource> source;
  };

  // A message in flight.
  struct InFlight {
    zab::Message message;
    uint64_t seq = 0;  // unique, increasing in queue order of sending
  };

  // Commands.
  bool AddPeers(const CommandLine& c, std::string* error);
  bool TickCmd(const CommandLine& c, bool all, std::string* error);
  bool DeliverCmd(const CommandLine& c, std::string* error);
  bool DropCmd(const CommandLine& c, bool duplicate, std::string* error);
  bool PersistCmd(const CommandLine& c, std::string* error);
  bool StabilizeCmd(const CommandLine& c, std::string* error);
  // n rounds of: tick every peer that is up, then stabilize.
  bool RunCmd(const CommandLine& c, std::string* error);
  bool CrashCmd(const CommandLine& c, std::string* error);
  bool RestartCmd(const CommandLine& c, std::string* error);
  bool ProposeCmd(const CommandLine& c, std::string* error);
  bool CompactCmd(const CommandLine& c, std::string* error);
  bool PartitionCmd(const CommandLine& c, std::string* error);
  bool CutCmd(const CommandLine& c, std::string* error);
  void HealCmd();
  bool StatusCmd(const CommandLine& c, std::string* error);
  bool LogCmd(const CommandLine& c, std::string* error);
  bool AppliedCmd(const CommandLine& c, std::string* error);

  // Argument helpers: look up `key`; false (with *error) if malformed or,
  // for the Required forms, missing.
  bool PeerArg(const CommandLine& c, const std::string& key, bool required,
               zab::PeerId* out, std::string* error) const;
  static bool IntArg(const CommandLine& c, const std::string& key,
                     int64_t* out, std::string* error);
  static bool Has(const CommandLine& c, const std::string& key);
  static bool Get(const CommandLine& c, const std::string& key,
                  std::string* out);
  static bool CheckArgs(const CommandLine& c,
                        const std::vector<std::string>& allowed,
                        std::string* error);
  // type=NAME, if given (`*typed`); false (with *error) if NAME is no
  // message type.
  static bool TypeArg(const CommandLine& c, bool* typed,
                      zab::MessageType* type, std::string* error);
  // The queued messages a deliver, drop or duplicate means: from= and to=
  // (absent: any), type= (absent: any), at most n=.
  struct MessageFilter {
    zab::PeerId from = 0;
    zab::PeerId to = 0;
    bool typed = false;
    zab::MessageType type{};
    int64_t n = std::numeric_limits<int64_t>::max();
    bool Matches(const zab::Message& m) const {
      return (from == 0 || m.from == from) && (to == 0 || m.to == to) &&
             (!typed || m.type == type);
    }
  };
  bool FilterArgs(const CommandLine& c, MessageFilter* out,
                  std::string* error) const;

  // The host of one peer.
  // Creates `p`'s core and host from its disk; with `collect`, carries
  // out the core's first work (its election notifications).
  void StartCore(Peer& p, bool collect);
  // Takes the core's Readies and carries out their work until there is
  // none or the host blocks on a barrier that waits for the log.
  void Collect(Peer& p);
  // Carries out `work` (HostWork's field order).
  void Process(Peer& p, server::HostWork* work);
  // Runs the inputs that waited for a barrier, while the host is not
  // blocked.
  void RunDeferred(Peer& p);
  void TickPeer(Peer& p);
  // Ticks `only` (0: every peer that is up) once, as tick k of n.
  void TickRound(zab::PeerId only, int64_t k, int64_t n);
  // Delivers and persists until no message is queued and no write
  // pending (bounded).
  void Stabilize();
  // Proposes each of `data` at `p`, then takes one Ready for them all.
  void ProposeAt(Peer& p, const std::vector<std::string>& data);
  // Makes the log writes and the barrier handed to the disk before the
  // call durable, at most `limit` writes (a log round, a barrier); returns
  // how many.
  int Persist(Peer& p, int limit);
  // Delivers `m` to its recipient and carries out what it causes.
  void Step(const zab::Message& m);
  // Queues `m` unless its recipient is down or cut off from its sender.
  void Send(const zab::Message& m);
  // Whether `m` can travel: no partition or cut stands between its peers.
  bool Reachable(const zab::Message& m) const;
  // Drops queued messages that can no longer travel, printing each.
  void DropUnreachable();
  // Whether a queued message may be delivered now: its recipient is up
  // and not blocked.
  bool Deliverable(const zab::Message& m) const;
  // Prints a role change of `p` since the last one printed.
  void NoteRole(Peer& p);
  std::string RoleOf(const Peer& p) const;

  // Output.
  void Line(const std::string& text);    // a header line
  void Action(const std::string& text);  // an indented line
  std::string BarrierString(const zab::Ready& ready) const;

  Peer* Find(zab::PeerId id);
  bool HasWork() const;

  std::map<zab::PeerId, Peer> peers_;
  std::vector<zab::PeerId> voters_;
  std::vector<zab::PeerId> observers_;
  std::deque<InFlight> queue_;
  uint64_t next_seq_ = 0;
  std::map<zab::PeerId, int> group_;  // partition: empty when healed
  // One-way cuts: (from, to, message type or -1 for every type).
  std::set<std::tuple<zab::PeerId, zab::PeerId, int>> cut_;
  std::string* out_ = nullptr;
  // Stabilize's brief output: only role changes, applies, installs, lost
  // leaders and crashes' consequences.
  bool brief_ = false;
};

}  // namespace synod::sim::interaction

#endif  // SYNOD_TEST_SIM_INTERACTION_INTERACTION_ENV_H_
