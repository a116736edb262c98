// SimHistory: the client history of a server simulation, in the terms of
// the linearizability checker (test/util/linearizability.h), and its check.
//
// It follows a fixed set of paths (the ones the simulation's clients write
// and read by name) and records, on those paths:
//   - every client write as it was submitted and as it ended: creates,
//     sets, deletes, and a multi's set (a check plus a set: its set is
//     recorded; the check constrains another path and is left out, which
//     only weakens the check);
//   - reads made right after a sync completed OK at that peer (sync + read
//     is ZooKeeper's linearizable read): the whole followed tree, read at
//     the peer's replica, each path one read op;
//   - the deletions a session's end makes (its ephemerals), as a delete
//     at the moment the close first applied anywhere (a point in time
//     after its commit and before any later write could be acknowledged).
// Outcomes map to the checker's: OK, NoNode, NodeExists and BadVersion as
// they are; ConnectionLoss, Closing or no answer (the peer crashed) are
// unknown; any other failure (NotEmpty, SessionExpired, ...) changed
// nothing (the simulation checks that separately) and is left out.
//
// Times are virtual milliseconds with an event counter inside each, so the
// order of events within a millisecond is kept.

#ifndef SYNOD_TEST_SIM_SIM_HISTORY_H_
#define SYNOD_TEST_SIM_SIM_HISTORY_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "server/write_outcome.h"
#include "tree/data_tree.h"
#include "txn/txn.pb.h"
#include "util/linearizability.h"

namespace synod::sim {

class SimHistory {
 public:
  // Returned by Invoke for a write on no followed path.
  static constexpr size_t kNotFollowed = static_cast<size_t>(-1);

  explicit SimHistory(std::vector<std::string> paths);

  // A time stamp for an event at virtual millisecond `now_ms`: strictly
  // increasing over calls as long as `now_ms` does not go back.
  int64_t Stamp(int64_t now_ms);

  // Records the submission of `request` by `client` (one session) and
  // returns the index to complete it with, or kNotFollowed.
  size_t Invoke(int client, const txn::Request& request, int64_t stamp);

  // Records how write `index` ended (kNotFollowed is ignored).
  void Complete(size_t index, const WriteOutcome& outcome, int64_t stamp);

  // Records a read of every followed path of `tree` by `client`, invoked
  // at `invoke` (when its sync was submitted) and answered at `stamp`.
  void ReadAll(int client, const DataTree& tree, int64_t invoke,
               int64_t stamp);

  // Records the deletions of a close_session txn applied for the first
  // time anywhere at `stamp`.
  void SessionClosed(const txn::Txn& txn, int64_t stamp);

  // Records that an op of `client` invoked at `invoke` went through the
  // log (it completed with a zxid: OK, or refused by the leader) and was
  // answered at `stamp`. The client's writes submitted before it take
  // effect before it or never (a session's requests run in order), which
  // bounds when the unknown ones may take effect.
  void Logged(int client, int64_t invoke, int64_t stamp);

  // Records that the write of `value` (each write's data is unique) applied
  // for the first time anywhere at `stamp`.
  void Applied(const std::string& value, int64_t stamp);

  // Records that none of `client`'s writes can take effect after `stamp`:
  // its session's close applied then for the first time anywhere, or its
  // peer crashed before it had a session (nothing left the peer).
  void SessionEnded(int client, int64_t stamp);

  // Checks the history; writes still unanswered count as unknown.
  testing::CheckResult Check() const;

 private:
  // When unknown-outcome write `op` took effect by, if at all.
  int64_t Deadline(const testing::HistoryOp& op) const;

  bool Followed(const std::string& path) const {
    return paths_.count(path) != 0;
  }

  const std::set<std::string> paths_;
  std::vector<testing::HistoryOp> ops_;
  struct Meta {
    // It failed and changed nothing: left out of the check.
    bool dropped = false;
    // A multi's set: its failure may be another op's.
    bool multi = false;
  };
  std::vector<Meta> meta_;  // one per op
  // When each write's data first applied.
  std::map<std::string, int64_t> applied_;
  // When each client's session ended, if it did.
  std::map<int, int64_t> ended_;
  // Per client: (invoke, answer) of its ops that went through the log, in
  // invocation order.
  std::map<int, std::vector<std::pair<int64_t, int64_t>>> logged_;
  int64_t stamp_ms_ = -1;
  int64_t stamp_seq_ = 0;
  // Client ids for the session-end deletions: one each, never a client's.
  int next_internal_client_ = -1;
};

}  // namespace synod::sim

#endif  // SYNOD_TEST_SIM_SIM_HISTORY_H_
