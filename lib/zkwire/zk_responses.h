// The replies of ZooKeeper 3.8's client protocol: the frame around a
// reply, the bodies of write results (alone or in a multi), of multi and
// multiRead replies, and of whoAmI. A reader of each is here too, for
// tests and the fuzzers. Pure: no I/O.

#ifndef SYNOD_ZKWIRE_ZK_RESPONSES_H_
#define SYNOD_ZKWIRE_ZK_RESPONSES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "synod/types.h"
#include "zkwire/jute.h"
#include "zkwire/zk_protocol.h"

namespace synod::zkwire {

// Starts a frame at the end of `*out` (its length to be filled in);
// returns where it starts, for EndFrame.
size_t BeginFrame(std::string* out);
// Sets the length of the frame begun at `start` to what follows it.
void EndFrame(size_t start, std::string* out);

// What a request answers with: the body of a successful reply to one
// request, or one op's result in a multi or multiRead. `type` (the
// request's opcode) says which fields are sent:
//   kCreate: path             kCreate2: path, stat
//   kDelete: nothing          kSetData, kSetAcl, kCheck, kExists: stat
//   kGetData: data, stat      kGetChildren: children
//   kGetChildren2: children, stat       kGetAcl: acl, stat
//   kSync: path               kGetEphemerals: children (whole paths)
//   kGetAllChildrenNumber: count        kError (in a multi): err
// A multi holds only kCreate, kCreate2, kDelete, kSetData, kCheck,
// kGetData, kGetChildren and kError results.
struct OpResult {
  OpCode type = OpCode::kError;
  int32_t err = 0;  // a ZkError; kError only
  std::string path;
  Stat stat;
  std::string data;
  std::vector<std::string> children;
  AclList acl;
  int32_t count = 0;
};

// The body of a successful reply carrying `r` alone (not in a multi). A
// standalone check answers with a Stat, as ZooKeeper's SetDataResponse.
void WriteResultBody(const OpResult& r, JuteWriter* out);

// The body of a multi or multiRead reply: each result behind a MultiHeader
// (its type, not done, its error), then the end marker {-1, true, -1}.
void WriteMultiResponse(const std::vector<OpResult>& results,
                        JuteWriter* out);
// Reads a multi or multiRead reply's body. MarshallingError for a
// malformed one or an unknown result type.
absl::Status ReadMultiResponse(JuteReader* in, std::vector<OpResult>* results);

// whoAmI's reply: the session's identities, (scheme, user) each.
void WriteWhoAmIResponse(const std::vector<ClientInfo>& identities,
                         JuteWriter* out);
absl::Status ReadWhoAmIResponse(JuteReader* in,
                                std::vector<ClientInfo>* identities);

}  // namespace synod::zkwire

#endif  // SYNOD_ZKWIRE_ZK_RESPONSES_H_
