// synod-dump's logic, apart from its main so that tests can drive it:
// reading a stopped peer's data directory and printing a summary, its txn
// log in a readable form (a zxid range of it), or its tree (a subtree) with
// every node's Stat, as ZooKeeper's zkTxnLogToolkit and zkSnapShotToolkit
// do for theirs.

#ifndef SYNOD_TOOLS_DUMP_H_
#define SYNOD_TOOLS_DUMP_H_

#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "synod/types.h"
#include "txn/txn.pb.h"

namespace synod::tools {

struct DumpRequest {
  enum class What { kSummary, kLog, kTree };
  std::string dir;
  What what = What::kSummary;
  Zxid from = 0;                                   // log: first zxid shown
  Zxid to = std::numeric_limits<int64_t>::max();   // log: last zxid shown
  std::string path = "/";                          // tree: the subtree
  bool data = false;          // log, tree: show the data, not its size
  // The tree as of the last checkpoint, without the log tail above it
  // (which may hold proposals that never committed).
  bool applied_only = false;
};

// synod-dump's usage text.
extern const char kDumpUsage[];

// Parses synod-dump's arguments (argv without the program name):
//   DIR [summary | log [--from ZXID] [--to ZXID] | tree [PATH]]
//       [--data] [--applied-only]
// A zxid is hex (0x1f00000003), decimal, or EPOCH:COUNTER in hex as the
// logs print it (0x1f:3). InvalidArgument naming the culprit.
absl::StatusOr<DumpRequest> ParseDumpArgs(const std::vector<std::string>& args);

// Parses a zxid as ParseDumpArgs takes one.
absl::StatusOr<Zxid> ParseZxid(std::string_view text);

// Dumps `request.dir` to `out`. The directory is read from a private copy
// taken under the data directory's lock, so that nothing in it changes
// (opening a store may repair it) and a running peer's directory is
// refused (FailedPrecondition "in use"). FailedPrecondition for a
// directory that is not a synod data directory; DataLoss for a corrupt
// one; notes about repairs the copy needed go to `notes`.
absl::Status Dump(const DumpRequest& request, std::ostream* out,
                  std::ostream* notes);

// One txn as a line of the log dump (without the zxid and time), e.g.
// "create /a mode=persistent data=5B acl=world:anyone:cdrwa".
std::string DescribeTxn(const txn::Txn& txn, bool data);

}  // namespace synod::tools

#endif  // SYNOD_TOOLS_DUMP_H_
