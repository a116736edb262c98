// The ensemble's configuration as the zab core sees it: who votes, who only
// replicates, and where each member listens. A configuration is part of the
// replicated history (docs/membership.md): it changes only through a config
// entry in the log, by one ConfigChange at a time, and each change moves at
// most one voter.

#ifndef SYNOD_ZAB_CONFIG_H_
#define SYNOD_ZAB_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "zab/message.h"

namespace synod::zab {

// One member: its id (never reused by another data directory) and the
// address it listens on ("host:port"; a host name is resolved when
// connecting).
struct Member {
  PeerId id = 0;
  std::string address;
  friend bool operator==(const Member& a, const Member& b) {
    return a.id == b.id && a.address == b.address;
  }
};

// Bounds a configuration must keep (a decoder must never trust a length).
inline constexpr size_t kMaxMembers = 255;
inline constexpr size_t kMaxAddressBytes = 255;

// A configuration: the voters and the observers, each sorted by id, no id
// in both. `version` is the zxid of the entry that set it (0: the founding
// configuration, which no entry set).
struct Config {
  Zxid version = 0;
  std::vector<Member> voters;
  std::vector<Member> observers;

  // Returns the member with `id`, voter or observer, or nullptr.
  const Member* Find(PeerId id) const;
  bool IsVoter(PeerId id) const;
  bool IsObserver(PeerId id) const;
  // The voters' ids, sorted.
  std::vector<PeerId> VoterIds() const;

  friend bool operator==(const Config& a, const Config& b) {
    return a.version == b.version && a.voters == b.voters &&
           a.observers == b.observers;
  }
};

// The founding configuration: `voters` and `observers` by id (an id in both
// is a voter; repeats count once), naming no address (the seed list reaches
// them), version 0.
Config FoundingConfig(std::vector<PeerId> voters,
                      std::vector<PeerId> observers);

// Returns OK if `config` is well formed: at least one voter; ids non-zero,
// sorted within each list and unique across both; addresses at most
// kMaxAddressBytes; at most kMaxMembers members. Otherwise InvalidArgument
// naming the first problem. An empty address means the host reaches that
// member by other means (the founding configuration's members, reached
// through the seed list); a change that adds or moves a member must name
// one.
absl::Status ValidateConfig(const Config& config);

// One change to a configuration. Every kind moves at most one voter.
struct ConfigChange {
  enum class Kind {
    kAddObserver,     // a new member, as an observer (id and address)
    kRemoveObserver,  // an observer leaves
    kPromote,         // an observer becomes a voter
    kDemote,          // a voter becomes an observer
    kRemoveVoter,     // a voter leaves
    kSetAddress,      // a member moved (id and its new address)
  };
  Kind kind = Kind::kAddObserver;
  PeerId id = 0;
  std::string address;  // kAddObserver and kSetAddress only
};

// Returns a readable name for a change kind ("promote", ...).
const char* ChangeKindName(ConfigChange::Kind kind);

// Returns `config` with `change` applied, its version unchanged (the entry
// that carries it sets it). InvalidArgument if the change does not fit the
// configuration (an unknown id, an id already a member, a voter-only change
// on an observer or the reverse, removing the last voter, a bad address);
// `config` itself must be valid.
absl::StatusOr<Config> ApplyChange(const Config& config,
                                   const ConfigChange& change);

// Returns the member `who` names: its decimal id, or the address it
// listens on; nullptr if none.
const Member* FindMember(const Config& config, std::string_view who);

// Whether a membership request ("add_voter": an address to promote;
// "remove": an address or id), whose outcome is unknown (the answer was
// lost with the leader), is in effect in `after`, the configuration a
// serving leader has since; `before` is the one it was asked under. False
// when it cannot be told (an observer removed may be back already).
bool ChangeInEffect(const Config& before, const Config& after,
                    std::string_view add_voter, std::string_view remove);

// Returns the number of ids that are voters in exactly one of `a` and `b`.
size_t VoterDistance(const Config& a, const Config& b);

// A compact, versioned binary encoding, for config entries and snapshots.
std::string EncodeConfig(const Config& config);
// Decodes what EncodeConfig wrote. Strict: any trailing byte, bad length or
// invalid configuration (ValidateConfig) is an error, never a crash.
absl::StatusOr<Config> DecodeConfig(std::string_view bytes);

// Returns e.g. "v0x1:5 voters {1@a:1, 2@b:1} observers {}".
std::string DescribeConfig(const Config& config);

// What a learner tells the leader about itself when it registers
// (FOLLOWERINFO's data): where it listens, its failure domain, and whether
// it asks to be admitted. The leader admits a joining learner as an
// observer (Core::Admissions) and moves a member whose address changed.
struct LearnerInfo {
  std::string address;  // "host:port" ("" : none given)
  std::string zone;     // failure domain ("" : none)
  // It has not left the ensemble on purpose: if the leader's configuration
  // does not name it, it asks to be admitted as an observer.
  bool joining = false;
  // Holds no history of this ensemble (a new member): its configuration is
  // what a member reported, not one of its own history, so the leader
  // synchronizes it by SNAP, which carries the configuration (rule M7).
  bool needs_snapshot = false;
  friend bool operator==(const LearnerInfo& a, const LearnerInfo& b) {
    return a.address == b.address && a.zone == b.zone &&
           a.joining == b.joining && a.needs_snapshot == b.needs_snapshot;
  }
};

// Bound on a zone label.
inline constexpr size_t kMaxZoneBytes = 64;

// A compact, versioned binary encoding of a LearnerInfo.
std::string EncodeLearnerInfo(const LearnerInfo& info);
// Decodes what EncodeLearnerInfo wrote. Strict: a trailing byte, a bad
// length, an address over kMaxAddressBytes or a zone over kMaxZoneBytes is
// InvalidArgument, never a crash.
absl::StatusOr<LearnerInfo> DecodeLearnerInfo(std::string_view bytes);

// Config entries. An entry whose data begins with a zero byte is a config
// entry: that byte, then EncodeConfig of the configuration it sets, whose
// version is the entry's zxid. A host's data never begins with a zero byte
// (a serialized protobuf message cannot: there is no field number 0), and
// Core::Propose refuses data that does.
inline bool IsConfigData(std::string_view data) {
  return !data.empty() && data[0] == '\0';
}

// The data of the config entry that sets `config` (its version must be the
// entry's zxid).
std::string ConfigEntryData(const Config& config);

// The configuration a config entry sets. InvalidArgument if `entry` is not
// a config entry, does not decode, or its version is not its zxid.
absl::StatusOr<Config> ConfigOfEntry(const Entry& entry);

}  // namespace synod::zab

#endif  // SYNOD_ZAB_CONFIG_H_
