// The embedded Coordinator (embedded_coordinator.h): turns API calls into
// requests for the peer's runtime and outcomes into the API's results.

#include "embedded_coordinator.h"

#include <utility>

#include "runtime/peer_runtime.h"
#include "tree/data_tree.h"
#include "tree/path.h"
#include "util/errors.h"
#include "util/status_macros.h"

namespace synod {
namespace {

txn::Request CreateRequest(std::string_view path, std::string_view data,
                           CreateMode mode, const CreateOptions& o) {
  txn::Request r;
  txn::CreateRequest* c = r.mutable_create();
  c->set_path(std::string(path));
  c->set_data(std::string(data));
  c->set_mode(static_cast<int32_t>(mode));
  c->set_ttl_ms(o.ttl_ms);
  AclToProto(o.acl, c->mutable_acl());
  return r;
}

txn::Request SetRequest(std::string_view path, std::string_view data,
                        int32_t version) {
  txn::Request r;
  txn::SetDataRequest* s = r.mutable_set_data();
  s->set_path(std::string(path));
  s->set_data(std::string(data));
  s->set_version(version);
  return r;
}

txn::Request DeleteRequest(std::string_view path, int32_t version) {
  txn::Request r;
  r.mutable_delete_node()->set_path(std::string(path));
  r.mutable_delete_node()->set_version(version);
  return r;
}

txn::Request SetAclRequest(std::string_view path, const AclList& acl,
                           int32_t aversion) {
  txn::Request r;
  r.mutable_set_acl()->set_path(std::string(path));
  AclToProto(acl, r.mutable_set_acl()->mutable_acl());
  r.mutable_set_acl()->set_aversion(aversion);
  return r;
}

txn::Request SetQuotaRequest(std::string_view path,
                             const QuotaLimits& limits) {
  txn::Request r;
  txn::SetQuotaRequest* q = r.mutable_set_quota();
  q->set_path(std::string(path));
  q->set_count(limits.count);
  q->set_bytes(limits.bytes);
  q->set_count_hard(limits.count_hard);
  q->set_bytes_hard(limits.bytes_hard);
  return r;
}

txn::Request DeleteQuotaRequest(std::string_view path, uint32_t fields) {
  txn::Request r;
  r.mutable_delete_quota()->set_path(std::string(path));
  r.mutable_delete_quota()->set_fields(fields);
  return r;
}

txn::Request MultiRequest(std::vector<Op> ops) {
  txn::Request r;
  txn::MultiRequest* m = r.mutable_multi();
  for (Op& op : ops) {
    switch (op.type) {
      case Op::Type::kCreate:
        *m->add_ops() =
            CreateRequest(op.path, op.data, op.mode,
                          CreateOptions{std::move(op.acl), op.ttl_ms});
        break;
      case Op::Type::kDelete:
        *m->add_ops() = DeleteRequest(op.path, op.version);
        break;
      case Op::Type::kSet:
        *m->add_ops() = SetRequest(op.path, op.data, op.version);
        break;
      case Op::Type::kCheck: {
        txn::Request* c = m->add_ops();
        c->mutable_check()->set_path(std::move(op.path));
        c->mutable_check()->set_version(op.version);
        break;
      }
      default:
        // An op of no known type: an empty request, which the Preparer
        // refuses with BadArguments and this op's index.
        m->add_ops();
        break;
    }
  }
  return r;
}

// Result extractors: what each call returns from a write's outcome.
absl::StatusOr<OpResult> FirstResult(WriteOutcome&& o) {
  if (!o.status.ok()) return std::move(o.status);
  if (o.results.empty()) return MakeError(Error::kSystemError, "no result");
  return std::move(o.results[0]);
}
absl::StatusOr<std::string> CreatedPath(WriteOutcome&& o) {
  SYNOD_ASSIGN_OR_RETURN(OpResult r, FirstResult(std::move(o)));
  return std::move(r.path);
}
absl::StatusOr<Stat> ResultStat(WriteOutcome&& o) {
  SYNOD_ASSIGN_OR_RETURN(OpResult r, FirstResult(std::move(o)));
  return r.stat;
}
absl::Status OutcomeStatus(WriteOutcome&& o) { return std::move(o.status); }
absl::StatusOr<std::vector<OpResult>> MultiResults(WriteOutcome&& o) {
  if (!o.status.ok()) return std::move(o.status);
  return std::move(o.results);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Coordinator>> Coordinator::Start(
    Options options) {
  auto runtime = std::make_unique<PeerRuntime>(std::move(options));
  SYNOD_RETURN_IF_ERROR(runtime->Init());
  return std::unique_ptr<Coordinator>(
      new EmbeddedCoordinator(std::move(runtime)));
}

Coordinator::~Coordinator() = default;

EmbeddedCoordinator::EmbeddedCoordinator(std::unique_ptr<PeerRuntime> runtime)
    : runtime_(std::move(runtime)) {}

// The runtime's destructor closes the session and stops the threads.
EmbeddedCoordinator::~EmbeddedCoordinator() = default;

// ---- Writes ----------------------------------------------------------------

absl::StatusOr<std::string> EmbeddedCoordinator::Create(
    std::string_view path, std::string_view data, CreateMode mode,
    const CreateOptions& create_options) {
  return CreatedPath(
      runtime_->SubmitAndWait(CreateRequest(path, data, mode, create_options)));
}

absl::StatusOr<OpResult> EmbeddedCoordinator::CreateWithStat(
    std::string_view path, std::string_view data, CreateMode mode,
    const CreateOptions& create_options) {
  return FirstResult(
      runtime_->SubmitAndWait(CreateRequest(path, data, mode, create_options)));
}

absl::StatusOr<Stat> EmbeddedCoordinator::Set(std::string_view path,
                                              std::string_view data,
                                              int32_t version) {
  return ResultStat(runtime_->SubmitAndWait(SetRequest(path, data, version)));
}

absl::Status EmbeddedCoordinator::Delete(std::string_view path,
                                         int32_t version) {
  return OutcomeStatus(runtime_->SubmitAndWait(DeleteRequest(path, version)));
}

absl::StatusOr<std::vector<OpResult>> EmbeddedCoordinator::Multi(
    std::vector<Op> ops) {
  return MultiResults(runtime_->SubmitAndWait(MultiRequest(std::move(ops))));
}

absl::StatusOr<Stat> EmbeddedCoordinator::SetAcl(std::string_view path,
                                                 const AclList& acl,
                                                 int32_t aversion) {
  return ResultStat(
      runtime_->SubmitAndWait(SetAclRequest(path, acl, aversion)));
}

absl::Status EmbeddedCoordinator::SetQuota(std::string_view path,
                                           const QuotaLimits& limits) {
  return OutcomeStatus(runtime_->SubmitAndWait(SetQuotaRequest(path, limits)));
}

absl::StatusOr<Quota> EmbeddedCoordinator::GetQuota(std::string_view path) {
  return runtime_->GetQuota(path);
}

absl::Status EmbeddedCoordinator::DeleteQuota(std::string_view path,
                                              uint32_t fields) {
  return OutcomeStatus(
      runtime_->SubmitAndWait(DeleteQuotaRequest(path, fields)));
}

absl::Status EmbeddedCoordinator::Sync(std::string_view path) {
  SYNOD_RETURN_IF_ERROR(ValidatePath(path));
  return OutcomeStatus(runtime_->SubmitAndWait(txn::Request()));
}

// ---- Reads ----------------------------------------------------------------

absl::StatusOr<Node> EmbeddedCoordinator::Get(std::string_view path,
                                              Watcher watcher) {
  return runtime_->Get(path, std::move(watcher));
}

absl::StatusOr<std::optional<Stat>> EmbeddedCoordinator::Exists(
    std::string_view path, Watcher watcher) {
  return runtime_->Exists(path, std::move(watcher));
}

absl::StatusOr<std::vector<std::string>> EmbeddedCoordinator::GetChildren(
    std::string_view path, Watcher watcher, Stat* stat) {
  return runtime_->GetChildren(path, std::move(watcher), stat);
}

absl::StatusOr<std::vector<std::string>> EmbeddedCoordinator::GetEphemerals(
    std::string_view prefix) {
  return runtime_->GetEphemerals(prefix);
}

absl::StatusOr<int32_t> EmbeddedCoordinator::GetAllChildrenNumber(
    std::string_view path) {
  return runtime_->GetAllChildrenNumber(path);
}

absl::StatusOr<AclList> EmbeddedCoordinator::GetAcl(std::string_view path,
                                                    Stat* stat) {
  return runtime_->GetAcl(path, stat);
}

absl::Status EmbeddedCoordinator::AddWatch(std::string_view path,
                                           WatchMode mode, Watcher watcher) {
  return runtime_->AddWatch(path, mode, std::move(watcher));
}

absl::Status EmbeddedCoordinator::RemoveWatches(std::string_view path,
                                                WatcherType type, bool local) {
  return runtime_->RemoveWatches(path, type, /*handle=*/0, local);
}

absl::Status EmbeddedCoordinator::RemoveWatch(std::string_view path,
                                              const WatchHandle& watcher,
                                              WatcherType type, bool local) {
  return runtime_->RemoveWatches(path, type, watcher.id(), local);
}

absl::StatusOr<std::vector<ReadResult>> EmbeddedCoordinator::MultiRead(
    const std::vector<ReadOp>& ops) {
  return runtime_->MultiRead(ops);
}

std::vector<ClientInfo> EmbeddedCoordinator::WhoAmI() const {
  return runtime_->WhoAmI();
}

absl::Status EmbeddedCoordinator::AddAuth(std::string_view scheme,
                                          std::string_view credentials) {
  return runtime_->AddAuth(scheme, credentials);
}

// ---- Non-blocking forms
// --------------------------------------------------------
//
// The loop completes a write on its own thread; the user's callback is handed
// to the dispatcher from there, right behind the write's watch events.

namespace {

template <typename T, typename Extract>
PeerRuntime::Done ToDispatcher(PeerRuntime* impl, Callback<T> done,
                               Extract extract) {
  return [impl, done = std::move(done), extract](WriteOutcome&& o) mutable {
    if (!done) return;
    impl->Post([done = std::move(done), r = extract(std::move(o))]() mutable {
      done(std::move(r));
    });
  };
}

PeerRuntime::Done ToDispatcher(PeerRuntime* impl, StatusCallback done) {
  return [impl, done = std::move(done)](WriteOutcome&& o) mutable {
    if (!done) return;
    impl->Post([done = std::move(done), s = std::move(o.status)]() mutable {
      done(std::move(s));
    });
  };
}

// Runs a local read now and delivers its result through the dispatcher, so
// it is ordered with the events and completions queued before it.
template <typename T>
void PostRead(PeerRuntime* impl, absl::StatusOr<T> result, Callback<T> done) {
  if (!done) return;
  impl->Post([done = std::move(done), r = std::move(result)]() mutable {
    done(std::move(r));
  });
}

}  // namespace

void EmbeddedCoordinator::CreateAsync(std::string_view path,
                                      std::string_view data, CreateMode mode,
                                      const CreateOptions& create_options,
                                      Callback<std::string> done) {
  runtime_->Submit(CreateRequest(path, data, mode, create_options),
                   ToDispatcher(runtime_.get(), std::move(done), CreatedPath));
}

void EmbeddedCoordinator::SetAsync(std::string_view path, std::string_view data,
                                   int32_t version, Callback<Stat> done) {
  runtime_->Submit(SetRequest(path, data, version),
                   ToDispatcher(runtime_.get(), std::move(done), ResultStat));
}

void EmbeddedCoordinator::DeleteAsync(std::string_view path, int32_t version,
                                      StatusCallback done) {
  runtime_->Submit(DeleteRequest(path, version),
                   ToDispatcher(runtime_.get(), std::move(done)));
}

void EmbeddedCoordinator::MultiAsync(std::vector<Op> ops,
                                     Callback<std::vector<OpResult>> done) {
  runtime_->Submit(MultiRequest(std::move(ops)),
                   ToDispatcher(runtime_.get(), std::move(done), MultiResults));
}

void EmbeddedCoordinator::SetAclAsync(std::string_view path, const AclList& acl,
                                      int32_t aversion, Callback<Stat> done) {
  runtime_->Submit(SetAclRequest(path, acl, aversion),
                   ToDispatcher(runtime_.get(), std::move(done), ResultStat));
}

void EmbeddedCoordinator::SyncAsync(std::string_view path,
                                    StatusCallback done) {
  absl::Status valid = ValidatePath(path);
  if (!valid.ok()) {
    if (done) runtime_->Post([done = std::move(done), valid] { done(valid); });
    return;
  }
  runtime_->Submit(txn::Request(),
                   ToDispatcher(runtime_.get(), std::move(done)));
}

void EmbeddedCoordinator::GetAsync(std::string_view path, Watcher watcher,
                                   Callback<Node> done) {
  PostRead(runtime_.get(), runtime_->Get(path, std::move(watcher)),
           std::move(done));
}

void EmbeddedCoordinator::ExistsAsync(std::string_view path, Watcher watcher,
                                      Callback<std::optional<Stat>> done) {
  PostRead(runtime_.get(), runtime_->Exists(path, std::move(watcher)),
           std::move(done));
}

void EmbeddedCoordinator::GetChildrenAsync(
    std::string_view path, Watcher watcher,
    Callback<std::vector<std::string>> done) {
  PostRead(runtime_.get(),
           runtime_->GetChildren(path, std::move(watcher), nullptr),
           std::move(done));
}

int64_t EmbeddedCoordinator::AddSessionListener(Watcher listener) {
  return runtime_->AddSessionListener(std::move(listener));
}

void EmbeddedCoordinator::RemoveSessionListener(int64_t handle) {
  runtime_->RemoveSessionListener(handle);
}

int64_t EmbeddedCoordinator::session_id() const {
  return runtime_->session_id();
}

bool EmbeddedCoordinator::SessionLeaseValid() const {
  return runtime_->SessionLeaseValid();
}

absl::Status EmbeddedCoordinator::WaitConnected(absl::Duration timeout) {
  return runtime_->WaitConnected(timeout);
}

Health EmbeddedCoordinator::GetHealth() const { return runtime_->GetHealth(); }

absl::StatusOr<std::vector<EnsembleMember>> EmbeddedCoordinator::Members() {
  return runtime_->Members();
}

absl::Status EmbeddedCoordinator::AddVoter(std::string_view address) {
  txn::Request request;
  request.mutable_reconfig()->set_add_voter(std::string(address));
  return runtime_->Reconfig(std::move(request));
}

absl::Status EmbeddedCoordinator::RemoveMember(std::string_view who) {
  txn::Request request;
  request.mutable_reconfig()->set_remove(std::string(who));
  return runtime_->Reconfig(std::move(request));
}

absl::Status EmbeddedCoordinator::Leave() {
  return runtime_->Leave();
}

}  // namespace synod
