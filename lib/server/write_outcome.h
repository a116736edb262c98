// WriteOutcome: how a write (or a sync) ended, as the host reports it to
// whoever submitted it (the Coordinator's own calls, the client service).

#ifndef SYNOD_SERVER_WRITE_OUTCOME_H_
#define SYNOD_SERVER_WRITE_OUTCOME_H_

#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "synod/types.h"

namespace synod {

// The outcome of a write as the loop reports it: `status` OK with the
// txn's `zxid` and one result per op (a create_session's zxid is the new
// session's id), or the error (a failed multi's carries the failed op's
// index, see WithFailedOpIndex).
struct WriteOutcome {
  absl::Status status;
  Zxid zxid = 0;
  std::vector<OpResult> results;
};

// Receives a write's outcome; called exactly once per submitted write.
using WriteDone = std::function<void(WriteOutcome&&)>;

}  // namespace synod

#endif  // SYNOD_SERVER_WRITE_OUTCOME_H_
