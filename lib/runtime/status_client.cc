#include "runtime/status_client.h"

#include <chrono>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "transport/client.grpc.pb.h"
#include "util/errors.h"

namespace synod {
namespace {

// One Status RPC to the peer at `address`, within `timeout`.
grpc::Status CallStatus(const std::string& address, absl::Duration timeout,
                        const transport::TransportCredentials& credentials,
                        transport::StatusReply* reply) {
  auto stub = transport::Client::NewStub(
      grpc::CreateChannel(address, credentials.Channel()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(timeout));
  return stub->Status(&context, transport::StatusRequest(), reply);
}

}  // namespace

absl::StatusOr<EnsembleReport> AskSeeds(
    const std::vector<std::string>& seeds, absl::Duration timeout,
    const transport::TransportCredentials& credentials) {
  const absl::Time deadline = absl::Now() + timeout;
  std::map<std::string, std::string> last;  // seed -> its last answer
  absl::Duration pause = absl::Milliseconds(50);
  // Bounded: each round asks every seed once, for at most 2 s each.
  for (int round = 0; round < 10000 && absl::Now() < deadline; ++round) {
    for (const std::string& seed : seeds) {
      const absl::Duration left =
          std::min(absl::Seconds(2), deadline - absl::Now());
      if (left <= absl::ZeroDuration()) break;
      transport::StatusReply reply;
      const grpc::Status status = CallStatus(seed, left, credentials, &reply);
      if (!status.ok()) {
        last[seed] = status.error_message();
        continue;
      }
      if (reply.ensemble_id().empty() || reply.config().empty()) {
        last[seed] = "it is not in an ensemble";
        continue;
      }
      absl::StatusOr<zab::Config> config = zab::DecodeConfig(reply.config());
      if (!config.ok()) {
        last[seed] = absl::StrCat("its configuration is damaged: ",
                                  config.status().message());
        continue;
      }
      return EnsembleReport{reply.ensemble_id(), *std::move(config), seed};
    }
    absl::SleepFor(std::min(pause, deadline - absl::Now()));
    pause = std::min(pause * 2, absl::Seconds(1));
  }
  std::vector<std::string> why;
  for (const auto& [seed, answer] : last) {
    why.push_back(absl::StrCat(seed, ": ", answer));
  }
  return absl::UnavailableError(absl::StrCat(
      "no seed told this peer which ensemble to join within ",
      absl::FormatDuration(timeout), " (", absl::StrJoin(why, "; "), ")"));
}

absl::Status CheckSeedsAgree(const std::vector<std::string>& seeds,
                             const std::string& self,
                             const std::string& ensemble_id,
                             absl::Duration budget,
                             const transport::TransportCredentials& credentials) {
  const absl::Time deadline = absl::Now() + budget;
  for (const std::string& seed : seeds) {
    if (seed == self) continue;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    transport::StatusReply reply;
    if (!CallStatus(seed, std::min(left, absl::Seconds(1)), credentials, &reply).ok()) {
      continue;  // down or unreachable: nothing to learn
    }
    if (!reply.ensemble_id().empty() && reply.ensemble_id() != ensemble_id) {
      return absl::InvalidArgumentError(absl::StrCat(
          "this data directory belongs to ensemble ", ensemble_id,
          ", but seed ", seed, " is in ensemble ", reply.ensemble_id()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<EnsembleMember>> AskMembers(
    const std::string& address, absl::Duration timeout,
    const transport::TransportCredentials& credentials) {
  transport::StatusReply reply;
  const grpc::Status status = CallStatus(address, timeout, credentials, &reply);
  if (!status.ok()) {
    return MakeError(Error::kConnectionLoss,
                     absl::StrCat("cannot reach the leader at ", address, ": ",
                                  status.error_message()));
  }
  std::vector<EnsembleMember> out;
  for (const transport::StatusMember& m : reply.members()) {
    out.push_back(EnsembleMember{m.id(), m.address(), m.state(), m.voter()});
  }
  return out;
}

}  // namespace synod
