// EmbeddedCoordinator: the Coordinator that Coordinator::Start returns, for
// a process that is itself a peer. A thin facade: it turns API calls into
// requests for its PeerRuntime (runtime/peer_runtime.h) and outcomes into
// the API's results; every guarantee is the interface's
// (synod/coordinator.h). Not installed.

#ifndef SYNOD_EMBEDDED_COORDINATOR_H_
#define SYNOD_EMBEDDED_COORDINATOR_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "synod/coordinator.h"

namespace synod {

class PeerRuntime;

class EmbeddedCoordinator final : public Coordinator {
 public:
  // `runtime` is started (PeerRuntime::Init succeeded).
  explicit EmbeddedCoordinator(std::unique_ptr<PeerRuntime> runtime);
  ~EmbeddedCoordinator() override;

  using Coordinator::Create;
  using Coordinator::GetChildren;

  absl::StatusOr<std::string> Create(
      std::string_view path, std::string_view data, CreateMode mode,
      const CreateOptions& create_options) override;
  absl::StatusOr<OpResult> CreateWithStat(
      std::string_view path, std::string_view data, CreateMode mode,
      const CreateOptions& create_options) override;
  absl::StatusOr<Stat> Set(std::string_view path, std::string_view data,
                           int32_t version) override;
  absl::Status Delete(std::string_view path, int32_t version) override;
  absl::StatusOr<std::vector<OpResult>> Multi(std::vector<Op> ops) override;
  absl::StatusOr<Stat> SetAcl(std::string_view path, const AclList& acl,
                              int32_t aversion) override;
  absl::Status Sync(std::string_view path) override;

  absl::StatusOr<Node> Get(std::string_view path, Watcher watcher) override;
  absl::StatusOr<std::optional<Stat>> Exists(std::string_view path,
                                             Watcher watcher) override;
  absl::StatusOr<std::vector<std::string>> GetChildren(std::string_view path,
                                                       Watcher watcher,
                                                       Stat* stat) override;
  absl::StatusOr<AclList> GetAcl(std::string_view path, Stat* stat) override;
  absl::Status AddWatch(std::string_view path, WatchMode mode,
                        Watcher watcher) override;
  absl::Status RemoveWatches(std::string_view path, WatcherType type,
                             bool local) override;
  absl::Status RemoveWatch(std::string_view path, const WatchHandle& watcher,
                           WatcherType type, bool local) override;
  absl::StatusOr<std::vector<ReadResult>> MultiRead(
      const std::vector<ReadOp>& ops) override;
  std::vector<ClientInfo> WhoAmI() const override;
  absl::Status AddAuth(std::string_view scheme,
                       std::string_view credentials) override;
  absl::Status SetQuota(std::string_view path,
                        const QuotaLimits& limits) override;
  absl::StatusOr<Quota> GetQuota(std::string_view path) override;
  absl::StatusOr<std::vector<std::string>> GetEphemerals(
      std::string_view prefix) override;
  absl::StatusOr<int32_t> GetAllChildrenNumber(std::string_view path) override;
  absl::Status DeleteQuota(std::string_view path, uint32_t fields) override;

  void CreateAsync(std::string_view path, std::string_view data,
                   CreateMode mode, const CreateOptions& create_options,
                   Callback<std::string> done) override;
  void SetAsync(std::string_view path, std::string_view data, int32_t version,
                Callback<Stat> done) override;
  void DeleteAsync(std::string_view path, int32_t version,
                   StatusCallback done) override;
  void MultiAsync(std::vector<Op> ops,
                  Callback<std::vector<OpResult>> done) override;
  void SetAclAsync(std::string_view path, const AclList& acl, int32_t aversion,
                   Callback<Stat> done) override;
  void SyncAsync(std::string_view path, StatusCallback done) override;
  void GetAsync(std::string_view path, Watcher watcher,
                Callback<Node> done) override;
  void ExistsAsync(std::string_view path, Watcher watcher,
                   Callback<std::optional<Stat>> done) override;
  void GetChildrenAsync(std::string_view path, Watcher watcher,
                        Callback<std::vector<std::string>> done) override;

  int64_t AddSessionListener(Watcher listener) override;
  void RemoveSessionListener(int64_t handle) override;

  int64_t session_id() const override;
  bool SessionLeaseValid() const override;
  absl::Status WaitConnected(absl::Duration timeout) override;
  Health GetHealth() const override;
  absl::StatusOr<std::vector<EnsembleMember>> Members() override;
  absl::Status AddVoter(std::string_view address) override;
  absl::Status RemoveMember(std::string_view who) override;
  absl::Status Leave() override;

  // synod's own tests and tools (CoordinatorInternals).
  PeerRuntime* runtime() { return runtime_.get(); }

 private:
  const std::unique_ptr<PeerRuntime> runtime_;
};

}  // namespace synod

#endif  // SYNOD_EMBEDDED_COORDINATOR_H_
