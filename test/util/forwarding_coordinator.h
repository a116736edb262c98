// ForwardingCoordinator: a Coordinator that passes every call to another,
// for tests that put a fault between a recipe and the real Coordinator
// (override the calls to change).

#ifndef SYNOD_TEST_UTIL_FORWARDING_COORDINATOR_H_
#define SYNOD_TEST_UTIL_FORWARDING_COORDINATOR_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "synod/coordinator.h"

namespace synod::testing {

class ForwardingCoordinator : public Coordinator {
 public:
  explicit ForwardingCoordinator(Coordinator& to) : to_(to) {}

  using Coordinator::Create;
  using Coordinator::GetChildren;

  absl::StatusOr<std::string> Create(std::string_view path,
                                     std::string_view data, CreateMode mode,
                                     const CreateOptions& o) override {
    return to_.Create(path, data, mode, o);
  }
  absl::StatusOr<OpResult> CreateWithStat(std::string_view path,
                                          std::string_view data,
                                          CreateMode mode,
                                          const CreateOptions& o) override {
    return to_.CreateWithStat(path, data, mode, o);
  }
  absl::StatusOr<Stat> Set(std::string_view path, std::string_view data,
                           int32_t version) override {
    return to_.Set(path, data, version);
  }
  absl::Status Delete(std::string_view path, int32_t version) override {
    return to_.Delete(path, version);
  }
  absl::StatusOr<std::vector<OpResult>> Multi(std::vector<Op> ops) override {
    return to_.Multi(std::move(ops));
  }
  absl::StatusOr<Stat> SetAcl(std::string_view path, const AclList& acl,
                              int32_t aversion) override {
    return to_.SetAcl(path, acl, aversion);
  }
  absl::Status Sync(std::string_view path) override { return to_.Sync(path); }
  absl::StatusOr<Node> Get(std::string_view path, Watcher watcher) override {
    return to_.Get(path, std::move(watcher));
  }
  absl::StatusOr<std::optional<Stat>> Exists(std::string_view path,
                                             Watcher watcher) override {
    return to_.Exists(path, std::move(watcher));
  }
  absl::StatusOr<std::vector<std::string>> GetChildren(std::string_view path,
                                                       Watcher watcher,
                                                       Stat* stat) override {
    return to_.GetChildren(path, std::move(watcher), stat);
  }
  absl::StatusOr<AclList> GetAcl(std::string_view path, Stat* stat) override {
    return to_.GetAcl(path, stat);
  }
  absl::Status AddWatch(std::string_view path, WatchMode mode,
                        Watcher watcher) override {
    return to_.AddWatch(path, mode, std::move(watcher));
  }
  absl::Status RemoveWatches(std::string_view path, WatcherType type,
                             bool local) override {
    return to_.RemoveWatches(path, type, local);
  }
  absl::Status RemoveWatch(std::string_view path, const WatchHandle& watcher,
                           WatcherType type, bool local) override {
    return to_.RemoveWatch(path, watcher, type, local);
  }
  absl::StatusOr<std::vector<ReadResult>> MultiRead(
      const std::vector<ReadOp>& ops) override {
    return to_.MultiRead(ops);
  }
  std::vector<ClientInfo> WhoAmI() const override { return to_.WhoAmI(); }
  absl::Status AddAuth(std::string_view scheme,
                       std::string_view credentials) override {
    return to_.AddAuth(scheme, credentials);
  }
  absl::Status SetQuota(std::string_view path,
                        const QuotaLimits& limits) override {
    return to_.SetQuota(path, limits);
  }
  absl::StatusOr<std::vector<std::string>> GetEphemerals(
      std::string_view prefix) override {
    return to_.GetEphemerals(prefix);
  }
  absl::StatusOr<int32_t> GetAllChildrenNumber(std::string_view path) override {
    return to_.GetAllChildrenNumber(path);
  }
  absl::StatusOr<Quota> GetQuota(std::string_view path) override {
    return to_.GetQuota(path);
  }
  absl::Status DeleteQuota(std::string_view path, uint32_t fields) override {
    return to_.DeleteQuota(path, fields);
  }
  void CreateAsync(std::string_view path, std::string_view data,
                   CreateMode mode, const CreateOptions& o,
                   Callback<std::string> done) override {
    to_.CreateAsync(path, data, mode, o, std::move(done));
  }
  void SetAsync(std::string_view path, std::string_view data, int32_t version,
                Callback<Stat> done) override {
    to_.SetAsync(path, data, version, std::move(done));
  }
  void DeleteAsync(std::string_view path, int32_t version,
                   StatusCallback done) override {
    to_.DeleteAsync(path, version, std::move(done));
  }
  void MultiAsync(std::vector<Op> ops,
                  Callback<std::vector<OpResult>> done) override {
    to_.MultiAsync(std::move(ops), std::move(done));
  }
  void SetAclAsync(std::string_view path, const AclList& acl, int32_t aversion,
                   Callback<Stat> done) override {
    to_.SetAclAsync(path, acl, aversion, std::move(done));
  }
  void SyncAsync(std::string_view path, StatusCallback done) override {
    to_.SyncAsync(path, std::move(done));
  }
  void GetAsync(std::string_view path, Watcher watcher,
                Callback<Node> done) override {
    to_.GetAsync(path, std::move(watcher), std::move(done));
  }
  void ExistsAsync(std::string_view path, Watcher watcher,
                   Callback<std::optional<Stat>> done) override {
    to_.ExistsAsync(path, std::move(watcher), std::move(done));
  }
  void GetChildrenAsync(std::string_view path, Watcher watcher,
                        Callback<std::vector<std::string>> done) override {
    to_.GetChildrenAsync(path, std::move(watcher), std::move(done));
  }
  int64_t AddSessionListener(Watcher listener) override {
    return to_.AddSessionListener(std::move(listener));
  }
  void RemoveSessionListener(int64_t handle) override {
    to_.RemoveSessionListener(handle);
  }
  int64_t session_id() const override { return to_.session_id(); }
  bool SessionLeaseValid() const override { return to_.SessionLeaseValid(); }
  absl::Status WaitConnected(absl::Duration timeout) override {
    return to_.WaitConnected(timeout);
  }
  Health GetHealth() const override { return to_.GetHealth(); }
  absl::StatusOr<std::vector<EnsembleMember>> Members() override {
    return to_.Members();
  }
  absl::Status AddVoter(std::string_view address) override {
    return to_.AddVoter(address);
  }
  absl::Status RemoveMember(std::string_view who) override {
    return to_.RemoveMember(who);
  }
  absl::Status Leave() override { return to_.Leave(); }

 protected:
  Coordinator& to_;
};

}  // namespace synod::testing

#endif  // SYNOD_TEST_UTIL_FORWARDING_COORDINATOR_H_
