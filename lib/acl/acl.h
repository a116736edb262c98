// ACL rules: validation, "auth" expansion, permission checks and
// authentication, with ZooKeeper's schemes world, auth, digest and ip.

#ifndef SYNOD_ACL_ACL_H_
#define SYNOD_ACL_ACL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "synod/types.h"

namespace synod {

// One identity a session holds, e.g. {"digest", "alice:XXXX="}.
struct AuthId {
  std::string scheme;
  std::string id;
  friend bool operator==(const AuthId& a, const AuthId& b) {
    return a.scheme == b.scheme && a.id == b.id;
  }
};

// Everything an ACL check needs to know about a session.
struct AuthInfo {
  std::vector<AuthId> ids;  // identities added with AddAuth, in order
  std::string ip;           // the session's address, e.g. "127.0.0.1"
  bool super = false;       // authenticated as the super digest: passes all
};

// Returns OK if `acl` is acceptable as given to create or setACL before
// "auth" expansion: not empty; each entry's perms within perms::kAll; scheme
// one of world (id "anyone"), auth (any id), digest (id "user:hash", exactly
// one ':' and both parts non-empty), ip (an IPv4 or IPv6 address, optionally
// "/bits" with bits within the family's width), x509 (a certificate
// subject as RFC 2253 prints it, "CN=alice,O=example"; not empty).
// InvalidAcl otherwise.
absl::Status ValidateAcl(const AclList& acl);

// Returns `acl` validated and with every "auth" entry replaced by one entry
// per identity of `auth` of scheme "digest" or "x509" (same perms), duplicates
// removed, order kept. InvalidAcl if the list is invalid or has an "auth"
// entry while `auth` has no such identity.
absl::StatusOr<AclList> ResolveAcl(const AclList& acl, const AuthInfo& auth);

// Returns true if `auth` holds `perm` under `acl`: `auth.super`, or some
// entry has the perm bit and matches (world:anyone always; digest and x509
// when `auth` holds that id; ip when `auth.ip` is within the entry's range).
bool Permits(const AclList& acl, int32_t perm, const AuthInfo& auth);

// Returns the identity that credentials prove: scheme "digest" with
// "user:password" gives {"digest", DigestId(user, password)}. AuthFailed for
// any other scheme (an x509 identity comes from a verified certificate,
// never from a claim) or malformed credentials.
absl::StatusOr<AuthId> Authenticate(std::string_view scheme,
                                    std::string_view credentials);

}  // namespace synod

#endif  // SYNOD_ACL_ACL_H_
