// Server: membership changes asked for by requests (txn::ReconfigRequest):
// resolved against the configuration of the leader's history into one
// zab::ConfigChange and proposed (docs/membership.md).

#include <string>

#include "absl/strings/str_cat.h"
#include "server/server.h"
#include "util/errors.h"
#include "util/log.h"

namespace synod::server {

absl::Status Server::ProposeReconfig(const txn::ReconfigRequest& request) {
  if (!ensemble_) {
    return MakeError(Error::kReconfigDisabled,
                     "a peer alone has no members to change");
  }
  const zab::Config& config = core_->configuration();
  zab::ConfigChange change;
  if (!request.add_voter().empty() && request.remove().empty()) {
    const zab::Member* m = zab::FindMember(config, request.add_voter());
    if (m == nullptr) {
      return MakeError(
          Error::kBadArguments,
          absl::StrCat("no member listens on ", request.add_voter(),
                       ": start a peer there with the ensemble's members as "
                       "its seeds; it joins as an observer"));
    }
    if (config.IsVoter(m->id)) {
      return MakeError(Error::kBadArguments,
                       absl::StrCat("peer ", m->id, " (", m->address,
                                    ") is a voter already"));
    }
    change = zab::ConfigChange{zab::ConfigChange::Kind::kPromote, m->id, ""};
  } else if (request.add_voter().empty() && !request.remove().empty()) {
    const zab::Member* m = zab::FindMember(config, request.remove());
    if (m == nullptr) {
      return MakeError(Error::kBadArguments,
                       absl::StrCat("no member is ", request.remove()));
    }
    change = zab::ConfigChange{config.IsVoter(m->id)
                                   ? zab::ConfigChange::Kind::kRemoveVoter
                                   : zab::ConfigChange::Kind::kRemoveObserver,
                               m->id, ""};
  } else {
    return MakeError(
        Error::kBadArguments,
        "a membership change names exactly one of add_voter and remove");
  }
  const absl::Status s = ChangeConfig(change);
  if (s.ok()) {
    // An operator's change is not undone by the autopilot at once; a
    // member leaving on purpose wants its seat filled.
    if (!request.leave()) {
      autopilot_paused_until_ms_ = clock_->SteadyMs() +
                                   absl::ToInt64Milliseconds(options_.dead_voter_timeout);
    }
    Log(options_, LogLevel::kInfo,
        absl::StrCat("reconfig: ", zab::ChangeKindName(change.kind), " peer ",
                     change.id));
    return s;
  }
  // The core's refusals, as ZooKeeper's reconfig reports them.
  const std::string why(s.message());
  if (absl::IsFailedPrecondition(s)) {
    const bool pending = why.find("pending") != std::string::npos;
    return MakeError(pending ? Error::kReconfigInProgress
                             : Error::kNewConfigNoQuorum,
                     why);
  }
  if (absl::IsUnavailable(s)) return MakeError(Error::kConnectionLoss, why);
  return MakeError(Error::kBadArguments, why);
}

}  // namespace synod::server
