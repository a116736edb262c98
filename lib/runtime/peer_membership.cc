// PeerRuntime: what the Coordinator's membership calls need from the
// runtime (docs/membership.md).

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/peer_runtime.h"
#include "runtime/status_client.h"
#include "transport/peer_network.h"
#include "util/errors.h"
#include "util/status_macros.h"

namespace synod {

absl::StatusOr<std::vector<EnsembleMember>> PeerRuntime::Members() const {
  if (!ensemble_) {
    return MakeError(Error::kReconfigDisabled,
                     "a peer alone has no members");
  }
  const Health h = GetHealth();
  std::vector<EnsembleMember> out;
  if (h.leader_id == self_id_) {
    out = h.voters;
    out.insert(out.end(), h.observers.begin(), h.observers.end());
    return out;
  }
  if (h.leader_id == 0) {
    return MakeError(Error::kConnectionLoss, "no leader serves");
  }
  const std::string leader = network_->AddressOf(h.leader_id);
  if (leader.empty()) {
    return MakeError(Error::kConnectionLoss,
                     absl::StrCat("the address of leader ", h.leader_id,
                                  " is not known"));
  }
  return AskMembers(leader, absl::Seconds(2), *credentials_);
}

absl::Status PeerRuntime::Reconfig(txn::Request request) {
  if (!ensemble_) {
    return MakeError(Error::kReconfigDisabled,
                     "a peer alone has no members to change");
  }
  const txn::ReconfigRequest& r = request.reconfig();
  if (!request.has_reconfig() || r.add_voter().empty() == r.remove().empty()) {
    return MakeError(Error::kBadArguments,
                     "a membership change names exactly one member");
  }
  zab::Config before;
  {
    MutexLock lock(&published_.config_mu);
    before = published_.config;
  }
  const std::string add = r.add_voter();
  const std::string remove = r.remove();
  absl::Status s = SubmitAndWait(std::move(request)).status;
  if (ErrorOf(s) != Error::kConnectionLoss) return s;
  // The answer was lost with the leader (removing the leader itself ends
  // that way). Two things can tell the outcome, whichever comes first: a
  // committed configuration this peer has applied (a member that removed
  // itself learns it only this way, since it never reconnects; under load
  // the commit can reach it well after its link to the leader broke), or,
  // once a leader serves again, a sync followed by the configuration then
  // in effect. Bounded by twice the session timeout, and at least 5 s.
  auto in_effect = [&](bool need_applied) {
    zab::Config now;
    {
      MutexLock lock(&published_.config_mu);
      now = published_.config;
    }
    if (need_applied && now.version > published_.last_applied.load()) {
      return false;
    }
    return zab::ChangeInEffect(before, now, add, remove);
  };
  const absl::Time deadline =
      absl::Now() + std::max(absl::Seconds(5), 2 * options_.session_timeout);
  while (absl::Now() < deadline) {
    if (in_effect(/*need_applied=*/true)) return absl::OkStatus();
    if (published_.connected.load()) {
      txn::Request sync;
      if (SubmitAndWait(std::move(sync)).status.ok()) {
        return in_effect(/*need_applied=*/false) ? absl::OkStatus() : s;
      }
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return s;
}

absl::Status PeerRuntime::Leave() {
  if (!ensemble_) {
    return MakeError(Error::kReconfigDisabled,
                     "a peer alone has no ensemble to leave");
  }
  // Set before the removal is submitted, so the round that proposes it
  // already has this peer asking for nothing.
  SetJoining(false);
  txn::Request request;
  request.mutable_reconfig()->set_remove(std::to_string(self_id_));
  request.mutable_reconfig()->set_leave(true);
  absl::Status removed = Reconfig(std::move(request));
  if (!removed.ok()) {
    SetJoining(true);
    return removed;
  }
  return StorageError(store_->PutMeta(server::kLeftMeta, "1", /*sync=*/true));
}

void PeerRuntime::SetJoining(bool joining) {
  MutexLock lock(&inbox_mu_);
  joining_ = joining;
}

}  // namespace synod
