// PeerRuntime: what the Coordinator's membership calls need from the
// runtime (docs/membership.md).

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
  // that way). A committed configuration this peer has applied may tell at
  // once: a member that removed itself learns it only this way, since it
  // never reconnects. Otherwise, once a leader serves again and this peer
  // has applied what it committed, the configuration tells.
  for (int i = 0; i < 200; ++i) {  // up to 2 s
    zab::Config applied;
    {
      MutexLock lock(&published_.config_mu);
      applied = published_.config;
    }
    if (applied.version <= published_.last_applied.load() &&
        zab::ChangeInEffect(before, applied, add, remove)) {
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  if (!WaitConnected(options_.session_timeout).ok()) return s;
  txn::Request sync;
  if (!SubmitAndWait(std::move(sync)).status.ok()) return s;
  zab::Config after;
  {
    MutexLock lock(&published_.config_mu);
    after = published_.config;
  }
  return zab::ChangeInEffect(before, after, add, remove) ? absl::OkStatus() : s;
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
