// ConfigIndex: the configurations of one peer's history (docs/membership.md,
// rule M1). It holds the configuration as of the history's base (what the
// applied state or a snapshot carries) and the ones the log's config entries
// set, and follows the log as it grows, is truncated, compacted or replaced.
// A peer's configuration is always the last of them; the quorum rule it
// counts with follows from that and from its commit point (rule M2). Pure:
// the core keeps one beside its log.

#ifndef SYNOD_ZAB_CONFIG_INDEX_H_
#define SYNOD_ZAB_CONFIG_INDEX_H_

#include <vector>

#include "absl/status/status.h"
#include "zab/config.h"
#include "zab/message.h"
#include "zab/quorum.h"

namespace synod::zab {

class ConfigIndex {
 public:
  // `base` is the configuration as of the history's base (valid; its
  // version at most the base zxid).
  explicit ConfigIndex(Config base);

  // Notes an entry appended to the log (above every entry noted before).
  // Entries that are not config entries change nothing. A config entry that
  // does not decode, whose version is not its zxid, or whose voters differ
  // from the current configuration's by more than one (rule M3) is refused
  // with InvalidArgument and not noted: the caller must not log it.
  absl::Status Append(const Entry& entry);

  // Notes that the log's entries above `zxid` were dropped (TRUNC): the
  // configurations they set are forgotten (rule M7).
  void TruncateAfter(Zxid zxid);

  // Notes that the log's entries through `zxid` were compacted into the
  // base: the last configuration they set becomes the base.
  void Compact(Zxid zxid);

  // Notes that the whole history was replaced (SNAP): `base` is the
  // configuration as of the snapshot.
  void Reset(Config base);

  // The peer's configuration: the last one its history sets.
  const Config& current() const;
  // The configuration before current(), or nullptr if current() is the
  // base (whose predecessor the history no longer holds).
  const Config* previous() const;
  // True if current() is above the commit point `committed` (a pending
  // change).
  bool pending(Zxid committed) const { return current().version > committed; }
  // Returns the quorums to count at commit point `committed`: a majority
  // of current()'s voters and, while it is pending, of previous()'s too.
  QuorumRule Rule(Zxid committed) const;

  // The configuration as of `zxid` (at least the base's zxid): the last one
  // set at or below it.
  const Config& AsOf(Zxid zxid) const;

  // The configurations the log's entries set, oldest first.
  const std::vector<Config>& logged() const { return logged_; }
  const Config& base() const { return base_; }

 private:
  Config base_;
  std::vector<Config> logged_;
};

}  // namespace synod::zab

#endif  // SYNOD_ZAB_CONFIG_INDEX_H_
