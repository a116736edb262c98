// Adding an identity to a session's AuthInfo within Options' limits.

#include "acl/identity.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "acl/acl.h"
#include "util/errors.h"

namespace synod {

bool IsSuperIdentity(const Options& options, const AuthId& id) {
  return !options.super_digest.empty() && id.scheme == "digest" &&
         id.id == options.super_digest;
}

std::vector<ClientInfo> DescribeIdentities(const Options& options,
                                           const AuthInfo& info) {
  std::vector<ClientInfo> out;
  out.push_back(ClientInfo{"ip", info.ip});
  for (const AuthId& id : info.ids) {
    if (IsSuperIdentity(options, id)) out.push_back(ClientInfo{"super", ""});
    // A digest id is "user:hash": ZooKeeper reports the user.
    std::string user = id.scheme == "digest" ? id.id.substr(0, id.id.find(':'))
                                             : id.id;
    out.push_back(ClientInfo{id.scheme, std::move(user)});
  }
  return out;
}

absl::Status AddIdentity(const Options& options, AuthId id, AuthInfo* info) {
  const size_t longest = std::max(id.scheme.size(), id.id.size());
  if (longest > static_cast<size_t>(options.max_acl_id_bytes)) {
    return BadArgumentsError(absl::StrCat("identity of ", longest,
                                          " bytes exceeds the limit of ",
                                          options.max_acl_id_bytes));
  }
  // An identity that "auth" ACL entries expand into must make a valid
  // entry (an empty certificate subject would not).
  if ((id.scheme == "digest" || id.scheme == "x509") &&
      !ValidateAcl({Acl{perms::kAll, id.scheme, id.id}}).ok()) {
    return BadArgumentsError(absl::StrCat("not a valid ", id.scheme,
                                          " identity: \"", id.id, "\""));
  }
  const bool known =
      std::find(info->ids.begin(), info->ids.end(), id) != info->ids.end();
  if (!known && info->ids.size() >= static_cast<size_t>(options.max_auth_ids)) {
    return BadArgumentsError(absl::StrCat("the session holds ",
                                          info->ids.size(),
                                          " identities, the limit"));
  }
  if (IsSuperIdentity(options, id)) info->super = true;
  if (!known) info->ids.push_back(std::move(id));
  return absl::OkStatus();
}

}  // namespace synod
