// Adding an identity to a session's AuthInfo within Options' limits: the
// one rule the Coordinator's AddAuth and the client service's AuthRequest
// share.

#ifndef SYNOD_ACL_IDENTITY_H_
#define SYNOD_ACL_IDENTITY_H_

#include <vector>

#include "absl/status/status.h"
#include "acl/acl.h"
#include "synod/options.h"
#include "synod/types.h"

namespace synod {

// Adds identity `id` to `info` unless it holds it already; the super digest
// (options.super_digest) makes it super. BadArguments, with `info`
// unchanged, if the identity is longer than options.max_acl_id_bytes or
// `info` already holds options.max_auth_ids identities (so an ACL made of
// them stays within the limits).
absl::Status AddIdentity(const Options& options, AuthId id, AuthInfo* info);

// True if `id` is the super identity of `options` (its super_digest).
bool IsSuperIdentity(const Options& options, const AuthId& id);

// The identities of `info` as ZooKeeper 3.7+'s whoAmI reports them: "ip"
// first, then each identity in the order it was added, a digest by its
// user name, with "super" before the super digest.
std::vector<ClientInfo> DescribeIdentities(const Options& options,
                                           const AuthInfo& info);

}  // namespace synod

#endif  // SYNOD_ACL_IDENTITY_H_
