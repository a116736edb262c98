// File: synod/types.h
//
// The value types of synod's API: znode Stat, creation modes, ACLs, the
// operations of a multi and their results, and the error codes that keep
// every ZooKeeper outcome distinguishable.
//
// Example:
//
//   absl::StatusOr<synod::Node> node = coordinator->Get("/config");
//   if (synod::ErrorOf(node.status()) == synod::Error::kNoNode) { ... }
//   else if (node.ok()) Use(node->data, node->stat.version);

#ifndef SYNOD_TYPES_H_
#define SYNOD_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace synod {

// A zxid orders every committed transaction: the epoch of the leader that
// proposed it in the high 24 bits, a counter within that epoch in the low 40.
// 2^40 transactions per epoch is over 34 years at 1,000,000 writes a second,
// so no re-election is ever forced by the counter running out.
using Zxid = int64_t;
inline constexpr int kZxidCounterBits = 40;
inline constexpr Zxid MakeZxid(int64_t epoch, int64_t counter) {
  return (epoch << kZxidCounterBits) | counter;
}
inline constexpr int64_t EpochOf(Zxid zxid) { return zxid >> kZxidCounterBits; }
inline constexpr int64_t CounterOf(Zxid zxid) {
  return zxid & ((int64_t{1} << kZxidCounterBits) - 1);
}

// The metadata of a znode, field for field ZooKeeper's Stat.
struct Stat {
  Zxid czxid = 0;            // zxid of the transaction that created the node
  Zxid mzxid = 0;            // zxid of the last transaction that set its data
  Zxid pzxid = 0;            // zxid of the last change to its children
  int64_t ctime = 0;         // creation time, ms since the Unix epoch
  int64_t mtime = 0;         // last data change, ms since the Unix epoch
  int32_t version = 0;       // number of data changes
  int32_t cversion = 0;      // child creations and deletions (ZooKeeper 3.8)
  int32_t aversion = 0;      // number of ACL changes
  int64_t ephemeral_owner = 0;  // owning session id if ephemeral, else 0
  int32_t data_length = 0;   // length of the data in bytes
  int32_t num_children = 0;  // number of children

  friend bool operator==(const Stat& a, const Stat& b);
  friend bool operator!=(const Stat& a, const Stat& b) { return !(a == b); }
};

// A znode as returned by Get: its data and its Stat.
struct Node {
  std::string data;
  Stat stat;
};

// How a znode is created. Sequential modes append the number of children
// the parent ever had created (not its cversion, which counts deletions
// too: ZooKeeper's rule) as 10 zero-padded digits to the name. Ephemeral nodes live as long as the
// creating session and have no children. A container is deleted once it has
// had children and has none left. TTL nodes are deleted once they have gone
// unmodified for their TTL and have no children.
enum class CreateMode {
  kPersistent,
  kEphemeral,
  kPersistentSequential,
  kEphemeralSequential,
  kContainer,
  kPersistentWithTtl,
  kPersistentSequentialWithTtl,
};

// Returns true for the modes that append a sequence number to the name.
bool IsSequential(CreateMode mode);
// Returns true for the modes whose nodes belong to the creating session.
bool IsEphemeral(CreateMode mode);
// Returns true for the modes that take a TTL.
bool IsTtl(CreateMode mode);

// Permission bits of an ACL entry, as in ZooKeeper.
namespace perms {
inline constexpr int32_t kRead = 1;
inline constexpr int32_t kWrite = 2;
inline constexpr int32_t kCreate = 4;
inline constexpr int32_t kDelete = 8;
inline constexpr int32_t kAdmin = 16;
inline constexpr int32_t kAll = 31;
}  // namespace perms

// One ACL entry: `perms` granted to the identity `id` under `scheme`.
// Schemes: "world" (id "anyone"), "auth" (every digest and x509 identity
// the creating session holds), "digest" (id "user:base64(sha1(user:
// password))"), "ip" (id "a.b.c.d" or "a.b.c.d/bits", IPv6 likewise),
// "x509" (id a TLS certificate's subject as RFC 2253 prints it,
// "CN=alice,O=example": the identity of a session whose connection
// presented that certificate, or of a Coordinator whose Options::tls names
// it).
struct Acl {
  int32_t perms = perms::kAll;
  std::string scheme;
  std::string id;

  friend bool operator==(const Acl& a, const Acl& b) {
    return a.perms == b.perms && a.scheme == b.scheme && a.id == b.id;
  }
};
using AclList = std::vector<Acl>;

// Returns world:anyone with all permissions: what a node gets when no ACL is
// given.
AclList OpenAcl();
// Returns auth:: with all permissions: the creator's identities only.
AclList CreatorAllAcl();
// Returns world:anyone with read permission only.
AclList ReadOnlyAcl();

// Returns the digest-scheme id for `user` and `password`:
// "user:" + base64(sha1("user:password")), as ZooKeeper computes it.
std::string DigestId(std::string_view user, std::string_view password);

// Limits on a subtree, as ZooKeeper's quotas (setquota): the number of
// znodes in it (the subtree's root included) and the bytes of their data.
// -1 means no limit. Going past a soft limit is allowed, logged and
// counted (Health::quota_soft_exceeded); a write that would go past a hard
// limit fails with Error::kQuotaExceeded and changes nothing.
struct QuotaLimits {
  int64_t count = -1;       // soft, > 0
  int64_t bytes = -1;       // soft, >= 0
  int64_t count_hard = -1;  // hard, > 0
  int64_t bytes_hard = -1;  // hard, >= 0

  friend bool operator==(const QuotaLimits& a, const QuotaLimits& b) {
    return a.count == b.count && a.bytes == b.bytes &&
           a.count_hard == b.count_hard && a.bytes_hard == b.bytes_hard;
  }
};

// The fields of a quota, for Coordinator::DeleteQuota.
namespace quota_fields {
inline constexpr uint32_t kCount = 1;
inline constexpr uint32_t kBytes = 2;
inline constexpr uint32_t kCountHard = 4;
inline constexpr uint32_t kBytesHard = 8;
inline constexpr uint32_t kAll = 15;
}  // namespace quota_fields

// A subtree's quota, with what the subtree holds now (its root included,
// once created): `count` znodes, `bytes` of data.
struct Quota {
  QuotaLimits limits;
  int64_t count = 0;
  int64_t bytes = 0;
};

// Every outcome a caller can tell apart. Retrieve it from any status that
// synod returns with ErrorOf().
enum class Error {
  kOk = 0,
  kSystemError,             // internal failure (kInternal)
  kRuntimeInconsistency,    // a multi op not run because another failed
  kDataInconsistency,       // on-disk data is corrupt (kDataLoss)
  kConnectionLoss,          // not ready, no quorum, leader lost (kUnavailable)
  kMarshallingError,        // a message could not be decoded
  kUnimplemented,
  kOperationTimeout,        // the outcome is unknown (kDeadlineExceeded)
  kBadArguments,            // bad path, size, mode or TTL (kInvalidArgument)
  kNoNode,                  // kNotFound
  kNoAuth,                  // kPermissionDenied
  kBadVersion,              // kAborted
  kNoChildrenForEphemerals, // kFailedPrecondition
  kNodeExists,              // kAlreadyExists
  kNotEmpty,                // kFailedPrecondition
  kSessionExpired,          // kFailedPrecondition
  kInvalidAcl,              // kInvalidArgument
  kAuthFailed,              // kUnauthenticated
  kSessionMoved,
  kNotReadOnly,
  kNoWatcher,               // RemoveWatches found none (kNotFound)
  kReconfigDisabled,
  kClosing,                 // the Coordinator is shutting down (kCancelled)
  // Membership changes (docs/membership.md), as ZooKeeper's reconfig:
  kNewConfigNoQuorum,       // the live peers could not commit the change
                            // (kFailedPrecondition)
  kReconfigInProgress,      // another change is still pending
                            // (kFailedPrecondition)
  kQuotaExceeded,           // a hard quota would be exceeded
                            // (kResourceExhausted)
};

// The last value of Error (for decoders that must bound one).
inline constexpr Error kLastError = Error::kQuotaExceeded;

// Returns the synod::Error that `status` carries. Statuses not made by synod
// map by their absl code; an OK status yields Error::kOk.
Error ErrorOf(const absl::Status& status);

// Returns ZooKeeper's name of `error`, e.g. "NoNode", "BadVersion".
std::string_view ErrorName(Error error);

// Returns a status with the absl code that fits `error`, carrying `error`.
absl::Status MakeError(Error error, std::string_view message);

// Returns, for the status of a failed Multi, the index of the op that failed;
// -1 for any other status.
int FailedOpIndex(const absl::Status& status);

// One operation of a Multi. Build with the factories.
struct Op {
  enum class Type { kCreate, kDelete, kSet, kCheck };

  // Creates `path` with `data` in `mode`; `acl` empty means OpenAcl().
  static Op Create(std::string path, std::string data,
                   CreateMode mode = CreateMode::kPersistent,
                   AclList acl = {}, int64_t ttl_ms = 0);
  // Deletes `path` if its version matches (-1: any).
  static Op Delete(std::string path, int32_t version = -1);
  // Sets the data of `path` if its version matches (-1: any).
  static Op Set(std::string path, std::string data, int32_t version = -1);
  // Fails the multi unless `path` exists with `version` (-1: any).
  static Op Check(std::string path, int32_t version = -1);

  Type type = Type::kCheck;
  std::string path;
  std::string data;
  CreateMode mode = CreateMode::kPersistent;
  AclList acl;
  int64_t ttl_ms = 0;
  int32_t version = -1;
};

// The result of one op of a successful Multi: the created path for kCreate,
// the new Stat for kCreate and kSet.
struct OpResult {
  Op::Type type = Op::Type::kCheck;
  std::string path;
  Stat stat;
};

// One read of Coordinator::MultiRead (ZooKeeper 3.6+'s multiRead, with
// exists as well). Build with the factories.
struct ReadOp {
  enum class Type { kGetData, kGetChildren, kExists };

  // The data and Stat of `path` (as Get).
  static ReadOp GetData(std::string path) {
    return ReadOp{Type::kGetData, std::move(path)};
  }
  // The children of `path`, sorted, and its Stat (as GetChildren).
  static ReadOp GetChildren(std::string path) {
    return ReadOp{Type::kGetChildren, std::move(path)};
  }
  // Whether `path` exists, and its Stat if it does (as Exists).
  static ReadOp Exists(std::string path) {
    return ReadOp{Type::kExists, std::move(path)};
  }

  Type type = Type::kGetData;
  std::string path;
};

// The outcome of one ReadOp. `error` is kOk or why this op failed
// (BadArguments, NoNode, NoAuth: as the single read would); the other
// fields are set on success only: `data` for kGetData, `children` for
// kGetChildren, `exists` for kExists, `stat` for all three (for kExists,
// when the node exists).
struct ReadResult {
  Error error = Error::kOk;
  std::string data;
  std::vector<std::string> children;
  bool exists = false;
  Stat stat;
};

// One identity of a session, as ZooKeeper 3.7+'s whoAmI reports it:
// `scheme` ("ip", "digest", "x509", "super") and `user` (the address for
// ip, the user name for digest, the subject for x509, empty for super).
struct ClientInfo {
  std::string scheme;
  std::string user;

  friend bool operator==(const ClientInfo& a, const ClientInfo& b) {
    return a.scheme == b.scheme && a.user == b.user;
  }
};

}  // namespace synod

#endif  // SYNOD_TYPES_H_
