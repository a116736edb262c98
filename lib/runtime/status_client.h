// What one peer asks another through the client service's Status RPC
// (with the peer's own credentials: plaintext or mutual TLS):
//  - joining: a new peer (its data directory holds no ensemble) whose
//    address is not among the seeds asks them who the ensemble is and what
//    its configuration is, then starts as a member-to-be; the leader admits
//    it as an observer and synchronizes it by SNAP (docs/membership.md);
//  - the members as the leader sees them (Coordinator::Members on a peer
//    that does not lead).

#ifndef SYNOD_RUNTIME_STATUS_CLIENT_H_
#define SYNOD_RUNTIME_STATUS_CLIENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "synod/coordinator.h"
#include "transport/tls.h"
#include "zab/config.h"

namespace synod {

// What a member reports of its ensemble.
struct EnsembleReport {
  std::string ensemble_id;
  zab::Config config;
  std::string reported_by;  // the seed that answered
};

// Asks each of `seeds` in turn (the Status RPC of the client service),
// round after round, until one answers with a usable report or `timeout`
// passes. A seed that answers with no ensemble (or a damaged
// configuration) is passed over. Unavailable naming every seed's last
// answer when none did.
absl::StatusOr<EnsembleReport> AskSeeds(
    const std::vector<std::string>& seeds, absl::Duration timeout,
    const transport::TransportCredentials& credentials);

// Asks each of `seeds` but `self` once, within `budget` in all, which
// ensemble it is in. InvalidArgument naming both if one answers with an
// ensemble other than `ensemble_id` (this data directory belongs to another
// ensemble than the seeds); OK otherwise, unreachable seeds included.
absl::Status CheckSeedsAgree(const std::vector<std::string>& seeds,
                             const std::string& self,
                             const std::string& ensemble_id,
                             absl::Duration budget,
                             const transport::TransportCredentials& credentials);

// Asks the peer at `address` for the members as it sees them (voters
// first). ConnectionLoss if it cannot be reached within `timeout`.
absl::StatusOr<std::vector<EnsembleMember>> AskMembers(
    const std::string& address, absl::Duration timeout,
    const transport::TransportCredentials& credentials);

}  // namespace synod

#endif  // SYNOD_RUNTIME_STATUS_CLIENT_H_
