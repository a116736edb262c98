// The Client service (transport/client.proto) over Coordinator::Impl: one
// session per Session stream, its requests run in order, its watch events
// pushed on the stream.
//
// Threads of one stream:
//  - the handler (a gRPC thread) reads requests; it submits writes and
//    syncs (they complete on the Coordinator's loop thread, in order) and
//    answers reads, auth and refusals itself, each only once the stream's
//    earlier writes have completed, so replies leave in request order and
//    a read sees the stream's own earlier writes;
//  - the writer drains the stream's queue of replies and watch events onto
//    the network, so that neither the loop thread (write completions) nor
//    the dispatcher (watchers) ever blocks on a slow client.
// Completions and watchers may run after the stream ended: they hold the
// stream's state by shared_ptr and drop what they push once it is closed.
//
// The stream's watches are registered with its session id as their owner:
// REMOVE_WATCHES takes away only the stream's own, and when the stream ends
// they are all dropped (none would ever be delivered again).

#include "transport/client_service.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "acl/acl.h"
#include "coordinator_impl.h"
#include "grpcpp/grpcpp.h"
#include "transport/client.grpc.pb.h"
#include "tree/data_tree.h"
#include "tree/path.h"
#include "util/errors.h"
#include "util/mutex.h"
#include "util/strings.h"

namespace synod::transport {
namespace {

using Stream = grpc::ServerReaderWriter<ClientReply, ClientRequest>;

// How much longer than a session timeout opening or closing a session may
// take before the handler gives up on it.
constexpr absl::Duration kMargin = absl::Seconds(5);
// While shutting down, how long a stream's handler waits for the close of
// its session (the Coordinator may be stopping, or have no leader).
constexpr absl::Duration kShutdownCloseWait = absl::Seconds(1);
// How often a handler waiting on the Coordinator checks for cancellation.
constexpr absl::Duration kPoll = absl::Milliseconds(50);
// Most replies and events queued for one stream: a client that reads
// nothing while its watches fire loses its stream rather than the peer's
// memory.
constexpr size_t kMaxQueued = size_t{1} << 16;
// The range of session timeouts a client may ask for (Options' range;
// the floor rises to 20 ticks, see Open).
constexpr int64_t kMinSessionMs = 100;
constexpr int64_t kMaxSessionMs = 10 * 60 * 1000;

// The identity of the service's own requests (opening and closing
// sessions): the system's.
std::shared_ptr<const AuthInfo> SystemAuth() {
  static const std::shared_ptr<const AuthInfo> auth = [] {
    auto a = std::make_shared<AuthInfo>();
    a->super = true;
    return a;
  }();
  return auth;
}

// One write's outcome, waited for by a handler with a deadline; the
// completion may come after the handler gave up (`abandoned`).
struct OutcomeSlot {
  Mutex mu;
  bool done ABSL_GUARDED_BY(mu) = false;
  bool abandoned ABSL_GUARDED_BY(mu) = false;
  WriteOutcome outcome ABSL_GUARDED_BY(mu);
};

// What one Session stream's handler, writer, completions and watchers
// share.
struct StreamState {
  explicit StreamState(grpc::ServerContext* c) : context(c) {}

  // Queues `reply` for the writer; dropped once the stream is closed. A
  // client that lets kMaxQueued pile up has its stream cancelled. Never
  // blocks (called on the loop and dispatcher threads).
  void Push(ClientReply&& reply) {
    MutexLock lock(&mu);
    PushLocked(std::move(reply));
  }
  void PushLocked(ClientReply&& reply) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (closed || broken) return;
    if (out.size() >= kMaxQueued) {
      broken = true;
      out.clear();
      context->TryCancel();
      return;
    }
    out.push_back(std::move(reply));
  }

  grpc::ServerContext* const context;  // valid while !closed
  Mutex mu;
  std::deque<ClientReply> out ABSL_GUARDED_BY(mu);
  // Set by the handler when it is done: nothing more is queued, and the
  // writer leaves once `out` is drained.
  bool closed ABSL_GUARDED_BY(mu) = false;
  // A Write failed or the queue overflowed: nothing more is written.
  bool broken ABSL_GUARDED_BY(mu) = false;
  // Writes submitted by the handler and completed by the loop.
  uint64_t writes_submitted ABSL_GUARDED_BY(mu) = 0;
  uint64_t writes_completed ABSL_GUARDED_BY(mu) = 0;
};

// A reply to request `id`, not (yet) an error.
ClientReply NewReply(uint64_t id) {
  ClientReply reply;
  reply.set_id(id);
  reply.set_failed_op(-1);
  return reply;
}

void SetError(const absl::Status& status, ClientReply* reply) {
  reply->set_error(static_cast<int32_t>(ErrorOf(status)));
  reply->set_message(std::string(status.message()));
  reply->set_failed_op(FailedOpIndex(status));
}

void StatToProto(const Stat& s, ClientStat* out) {
  out->set_czxid(s.czxid);
  out->set_mzxid(s.mzxid);
  out->set_pzxid(s.pzxid);
  out->set_ctime(s.ctime);
  out->set_mtime(s.mtime);
  out->set_version(s.version);
  out->set_cversion(s.cversion);
  out->set_aversion(s.aversion);
  out->set_ephemeral_owner(s.ephemeral_owner);
  out->set_data_length(s.data_length);
  out->set_num_children(s.num_children);
}

// The reply to a write (or sync) from its outcome. A failed multi reports
// every op as ZooKeeper does: Ok before the failed one, its error, then
// RuntimeInconsistency.
ClientReply WriteReply(uint64_t id, int multi_ops, WriteOutcome&& o) {
  ClientReply reply = NewReply(id);
  reply.set_zxid(o.zxid);
  if (!o.status.ok()) {
    SetError(o.status, &reply);
    const int failed = reply.failed_op();
    if (multi_ops > 0 && failed >= 0) {
      for (int i = 0; i < multi_ops; ++i) {
        ClientOpResult* r = reply.add_results();
        r->set_error(i < failed    ? 0
                     : i == failed ? reply.error()
                                   : static_cast<int32_t>(
                                         Error::kRuntimeInconsistency));
      }
    }
    return reply;
  }
  for (OpResult& result : o.results) {
    ClientOpResult* r = reply.add_results();
    r->set_path(std::move(result.path));
    StatToProto(result.stat, r->mutable_stat());
  }
  if (reply.results_size() == 1) {
    *reply.mutable_stat() = reply.results(0).stat();
  }
  return reply;
}

// Returns OK if a client may submit `request`: the ZooKeeper operations,
// not the session and cleanup requests that only the system makes.
absl::Status CheckClientWrite(const txn::Request& request, bool in_multi) {
  switch (request.body_case()) {
    case txn::Request::kCreate:
    case txn::Request::kDeleteNode:
    case txn::Request::kSetData:
    case txn::Request::kSetAcl:
    case txn::Request::kCheck:
      return absl::OkStatus();
    case txn::Request::kMulti:
      if (in_multi) return BadArgumentsError("a multi may not nest");
      for (const txn::Request& op : request.multi().ops()) {
        if (absl::Status s = CheckClientWrite(op, true); !s.ok()) return s;
      }
      return absl::OkStatus();
    case txn::Request::BODY_NOT_SET:
      return BadArgumentsError("empty write request");
    default:
      return BadArgumentsError(
          "sessions are opened and closed by the stream, not by requests");
  }
}

// The client's IP address from gRPC's peer string ("ipv4:1.2.3.4:5",
// "ipv6:[::1]:5", possibly with the brackets percent-encoded); empty for
// anything else.
std::string PeerIp(const std::string& peer) {
  std::string_view p(peer);
  if (p.compare(0, 5, "ipv4:") == 0) {
    p.remove_prefix(5);
    return std::string(p.substr(0, p.rfind(':')));
  }
  if (p.compare(0, 5, "ipv6:") == 0) {
    p.remove_prefix(5);
    std::string host(p.substr(0, p.rfind(':')));
    for (const char* bracket : {"%5B", "%5b", "[", "%5D", "%5d", "]"}) {
      for (size_t at; (at = host.find(bracket)) != std::string::npos;) {
        host.erase(at, std::string_view(bracket).size());
      }
    }
    return host;
  }
  return "";
}

}  // namespace

class ClientService::Impl final : public Client::Service {
 public:
  explicit Impl(Coordinator::Impl* coordinator) : coordinator_(coordinator) {}

  grpc::Status Session(grpc::ServerContext* context, Stream* stream) override;
  grpc::Status Status(grpc::ServerContext* context,
                      const StatusRequest* request,
                      StatusReply* reply) override;
  void Shutdown();

 private:
  // Counts a handler in (and its stream, to cancel at Shutdown); false once
  // shut down.
  bool Enter(grpc::ServerContext* context);
  void Leave(grpc::ServerContext* context);
  bool shutting_down() const {
    MutexLock lock(&mu_);
    return shut_down_;
  }

  // Submits the creation of a session and waits for it (while the client
  // is still there). Returns the session id.
  absl::StatusOr<int64_t> Open(grpc::ServerContext* context,
                               const transport::OpenSession& open,
                               int64_t* timeout_ms);
  // Submits the close of `session` and waits a bounded time for it.
  void CloseSession(int64_t session, int64_t timeout_ms);
  // Waits for `slot` until `timeout` passes or, if `context` is given, the
  // client goes away. Returns true if the outcome came.
  bool WaitOutcome(OutcomeSlot* slot, grpc::ServerContext* context,
                   absl::Duration timeout);

  // The session's requests after the open, until the stream ends.
  void Serve(grpc::ServerContext* context, Stream* stream,
             const std::shared_ptr<StreamState>& state, int64_t session);
  // Waits until every write the stream submitted has completed; false if
  // the client went away first.
  static bool WaitForWrites(grpc::ServerContext* context, StreamState* state);
  // Submits a write or sync of `session` as `auth`; the reply is queued
  // when it completes.
  void SubmitWrite(const std::shared_ptr<StreamState>& state, int64_t session,
                   std::shared_ptr<const AuthInfo> auth, uint64_t id,
                   txn::Request request);
  // Answers a read or a change to the watches of `session` at once (from
  // this peer's replica).
  ClientReply Read(const std::shared_ptr<StreamState>& state, int64_t session,
                   const AuthInfo& auth, uint64_t id, const ReadRequest& read);

  // Writes queued replies until the stream is closed and drained, or a
  // Write fails.
  static void WriterLoop(StreamState* state, Stream* stream);

  Coordinator::Impl* const coordinator_;
  mutable Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_set<grpc::ServerContext*> streams_ ABSL_GUARDED_BY(mu_);
};

bool ClientService::Impl::Enter(grpc::ServerContext* context) {
  MutexLock lock(&mu_);
  if (shut_down_) return false;
  ++active_;
  if (context != nullptr) streams_.insert(context);
  return true;
}

void ClientService::Impl::Leave(grpc::ServerContext* context) {
  MutexLock lock(&mu_);
  if (context != nullptr) streams_.erase(context);
  --active_;
}

void ClientService::Impl::Shutdown() {
  MutexLock lock(&mu_);
  shut_down_ = true;
  // Handlers blocked in Read or Write return; those waiting on the
  // Coordinator notice within kPoll.
  for (grpc::ServerContext* context : streams_) context->TryCancel();
  mu_.Await(
      [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return active_ == 0; });
}

bool ClientService::Impl::WaitOutcome(OutcomeSlot* slot,
                                      grpc::ServerContext* context,
                                      absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  MutexLock lock(&slot->mu);
  while (!slot->mu.AwaitWithTimeout(
      [slot]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(slot->mu) { return slot->done; },
      std::min(kPoll, deadline - absl::Now()))) {
    if (absl::Now() >= deadline) break;
    if (context != nullptr && context->IsCancelled()) break;
  }
  if (!slot->done) slot->abandoned = true;
  return slot->done;
}

absl::StatusOr<int64_t> ClientService::Impl::Open(
    grpc::ServerContext* context, const transport::OpenSession& open,
    int64_t* timeout_ms) {
  const int64_t peer_default =
      absl::ToInt64Milliseconds(coordinator_->options().session_timeout);
  // At least 20 ticks: a session must outlive a failover (as the
  // Coordinator's own must, see Options::session_timeout).
  const int64_t min_ms = std::max<int64_t>(
      kMinSessionMs, 20 * absl::ToInt64Milliseconds(coordinator_->options().tick));
  *timeout_ms = std::clamp<int64_t>(
      open.timeout_ms() > 0 ? open.timeout_ms() : peer_default, min_ms,
      kMaxSessionMs);
  txn::Request create;
  create.mutable_create_session()->set_timeout_ms(
      static_cast<int32_t>(*timeout_ms));
  auto slot = std::make_shared<OutcomeSlot>();
  Coordinator::Impl* coordinator = coordinator_;
  coordinator_->SubmitAs(
      0, SystemAuth(), std::move(create),
      [slot, coordinator](WriteOutcome&& o) {
        MutexLock lock(&slot->mu);
        if (slot->abandoned) {
          // Nobody hosts it: close it (from the dispatcher: the loop
          // thread must not submit), or it would wait out its timeout.
          if (o.status.ok()) {
            const int64_t id = o.zxid;
            coordinator->Post([coordinator, id] {
              txn::Request close;
              close.mutable_close_session();
              coordinator->SubmitAs(id, SystemAuth(), std::move(close),
                                    [](WriteOutcome&&) {});
            });
          }
          return;
        }
        slot->outcome = std::move(o);
        slot->done = true;
      });
  // A write parks while no leader serves, for up to the peer's session
  // timeout; then it fails with ConnectionLoss.
  const absl::Duration wait =
      absl::Milliseconds(std::max(peer_default, *timeout_ms)) + kMargin;
  if (!WaitOutcome(slot.get(), context, wait)) {
    if (context->IsCancelled()) {
      return MakeError(Error::kClosing, "the stream was cancelled");
    }
    return MakeError(Error::kConnectionLoss,
                     absl::StrCat("the session was not opened within ",
                                  absl::FormatDuration(wait)));
  }
  MutexLock lock(&slot->mu);
  if (!slot->outcome.status.ok()) return slot->outcome.status;
  return slot->outcome.zxid;
}

void ClientService::Impl::CloseSession(int64_t session, int64_t timeout_ms) {
  txn::Request close;
  close.mutable_close_session();
  auto slot = std::make_shared<OutcomeSlot>();
  coordinator_->SubmitAs(session, SystemAuth(), std::move(close),
                         [slot](WriteOutcome&& o) {
                           MutexLock lock(&slot->mu);
                           slot->outcome = std::move(o);
                           slot->done = true;
                         });
  const absl::Duration wait = shutting_down()
                                  ? kShutdownCloseWait
                                  : absl::Milliseconds(timeout_ms) + kMargin;
  // Not abandoned on cancellation: the client is gone, the close is ours.
  WaitOutcome(slot.get(), nullptr, wait);
}

grpc::Status ClientService::Impl::Session(grpc::ServerContext* context,
                                          Stream* stream) {
  if (!Enter(context)) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "the peer is shutting down");
  }
  struct Leaving {
    Impl* service;
    grpc::ServerContext* context;
    ~Leaving() { service->Leave(context); }
  } leaving{this, context};

  ClientRequest first;
  if (!stream->Read(&first)) return grpc::Status::OK;  // gone before opening
  if (!first.has_open()) {
    ClientReply reply = NewReply(first.id());
    SetError(BadArgumentsError("the first request must open the session"),
             &reply);
    stream->Write(reply);
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the first request must open the session");
  }
  int64_t timeout_ms = 0;
  absl::StatusOr<int64_t> session =
      Open(context, first.open(), &timeout_ms);
  if (!session.ok()) {
    ClientReply reply = NewReply(first.id());
    SetError(session.status(), &reply);
    stream->Write(reply);
    return grpc::Status::OK;
  }
  coordinator_->AddHostedSession(*session);

  auto state = std::make_shared<StreamState>(context);
  ClientReply opened = NewReply(first.id());
  opened.set_session_id(*session);
  opened.set_zxid(*session);
  state->Push(std::move(opened));
  std::thread writer([state, stream] { WriterLoop(state.get(), stream); });

  Serve(context, stream, state, *session);

  // The stream ended (the client half-closed, went away, or Shutdown
  // cancelled it): the session goes with it. Its watches first, silently
  // (nothing registers more: only this handler did), so that the close's
  // own events (its ephemerals) are not sent to it either. The close
  // completes after the stream's earlier writes, whose replies still go out.
  coordinator_->DropWatchesOf(*session);
  coordinator_->RemoveHostedSession(*session);
  CloseSession(*session, timeout_ms);
  {
    MutexLock lock(&state->mu);
    state->closed = true;  // the writer drains what is queued, then leaves
  }
  writer.join();
  return grpc::Status::OK;
}

void ClientService::Impl::Serve(grpc::ServerContext* context, Stream* stream,
                                const std::shared_ptr<StreamState>& state,
                                int64_t session) {
  auto auth = std::make_shared<AuthInfo>();
  auth->ip = PeerIp(context->peer());
  std::shared_ptr<const AuthInfo> current = std::move(auth);

  ClientRequest request;
  while (stream->Read(&request)) {
    const uint64_t id = request.id();
    // Writes and syncs are queued behind the stream's earlier writes by
    // the Coordinator; everything answered here waits for them instead.
    if (request.has_write()) {
      if (absl::Status s = CheckClientWrite(request.write(), false); !s.ok()) {
        if (!WaitForWrites(context, state.get())) return;
        ClientReply reply = NewReply(id);
        SetError(s, &reply);
        state->Push(std::move(reply));
        continue;
      }
      SubmitWrite(state, session, current, id,
                  std::move(*request.mutable_write()));
      continue;
    }
    if (request.has_sync()) {
      absl::Status valid = ValidatePath(request.sync().path());
      if (valid.ok()) {
        SubmitWrite(state, session, current, id, txn::Request());
        continue;
      }
      if (!WaitForWrites(context, state.get())) return;
      ClientReply reply = NewReply(id);
      SetError(valid, &reply);
      state->Push(std::move(reply));
      continue;
    }
    if (!WaitForWrites(context, state.get())) return;
    ClientReply reply = NewReply(id);
    switch (request.body_case()) {
      case ClientRequest::kRead:
        reply = Read(state, session, *current, id, request.read());
        break;
      case ClientRequest::kAuth: {
        absl::StatusOr<AuthId> identity = Authenticate(
            request.auth().scheme(), request.auth().credentials());
        if (!identity.ok()) {
          SetError(identity.status(), &reply);
          break;
        }
        // A new AuthInfo: writes in flight keep the one they were given.
        auto next = std::make_shared<AuthInfo>(*current);
        absl::Status added = AddIdentity(coordinator_->options(),
                                         *std::move(identity), next.get());
        if (!added.ok()) {
          SetError(added, &reply);
          break;
        }
        current = std::move(next);
        break;
      }
      case ClientRequest::kOpen:
        SetError(BadArgumentsError("the session is already open"), &reply);
        break;
      default:
        SetError(BadArgumentsError("empty request"), &reply);
        break;
    }
    state->Push(std::move(reply));
  }
}

bool ClientService::Impl::WaitForWrites(grpc::ServerContext* context,
                                        StreamState* state) {
  MutexLock lock(&state->mu);
  const auto caught_up = [state]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state->mu) {
    return state->writes_completed == state->writes_submitted;
  };
  while (!state->mu.AwaitWithTimeout(caught_up, kPoll)) {
    if (context->IsCancelled()) return false;
  }
  return true;
}

void ClientService::Impl::SubmitWrite(const std::shared_ptr<StreamState>& state,
                                      int64_t session,
                                      std::shared_ptr<const AuthInfo> auth,
                                      uint64_t id, txn::Request request) {
  const int multi_ops =
      request.has_multi() ? request.multi().ops_size() : 0;
  {
    MutexLock lock(&state->mu);
    ++state->writes_submitted;
  }
  // Runs on the loop thread: builds the reply and queues it, nothing more.
  coordinator_->SubmitAs(
      session, std::move(auth), std::move(request),
      [state, id, multi_ops](WriteOutcome&& o) {
        ClientReply reply = WriteReply(id, multi_ops, std::move(o));
        MutexLock lock(&state->mu);
        ++state->writes_completed;
        state->PushLocked(std::move(reply));
      });
}

ClientReply ClientService::Impl::Read(const std::shared_ptr<StreamState>& state,
                                      int64_t session, const AuthInfo& auth,
                                      uint64_t id, const ReadRequest& read) {
  ClientReply reply = NewReply(id);
  Watcher watcher;
  if (read.watch() || read.kind() == ReadRequest::ADD_WATCH) {
    // May fire long after the stream ended: holds the state, not the stream.
    watcher = [state](const WatchEvent& e) {
      ClientReply event = NewReply(0);
      event.mutable_event()->set_type(static_cast<int32_t>(e.type));
      event.mutable_event()->set_state(static_cast<int32_t>(e.state));
      event.mutable_event()->set_path(e.path);
      state->Push(std::move(event));
    };
  }
  const std::string& path = read.path();
  switch (read.kind()) {
    case ReadRequest::GET: {
      absl::StatusOr<Node> node =
          coordinator_->GetAs(session, &auth, path, std::move(watcher));
      if (!node.ok()) {
        SetError(node.status(), &reply);
        break;
      }
      reply.set_exists(true);
      reply.set_data(std::move(node->data));
      StatToProto(node->stat, reply.mutable_stat());
      break;
    }
    case ReadRequest::EXISTS: {
      absl::StatusOr<std::optional<Stat>> stat =
          coordinator_->ExistsAs(session, path, std::move(watcher));
      if (!stat.ok()) {
        SetError(stat.status(), &reply);
        break;
      }
      reply.set_exists(stat->has_value());
      if (stat->has_value()) StatToProto(**stat, reply.mutable_stat());
      break;
    }
    case ReadRequest::CHILDREN: {
      Stat stat;
      absl::StatusOr<std::vector<std::string>> children =
          coordinator_->GetChildrenAs(session, &auth, path, std::move(watcher),
                                      &stat);
      if (!children.ok()) {
        SetError(children.status(), &reply);
        break;
      }
      reply.set_exists(true);
      for (std::string& child : *children) {
        reply.add_children(std::move(child));
      }
      StatToProto(stat, reply.mutable_stat());
      break;
    }
    case ReadRequest::GET_ACL: {
      Stat stat;
      absl::StatusOr<AclList> acl = coordinator_->GetAclAs(auth, path, &stat);
      if (!acl.ok()) {
        SetError(acl.status(), &reply);
        break;
      }
      reply.set_exists(true);
      AclToProto(*acl, reply.mutable_acl());
      StatToProto(stat, reply.mutable_stat());
      break;
    }
    case ReadRequest::ADD_WATCH: {
      const int32_t mode = read.watch_mode();
      if (mode != static_cast<int32_t>(WatchMode::kPersistent) &&
          mode != static_cast<int32_t>(WatchMode::kPersistentRecursive)) {
        SetError(BadArgumentsError(absl::StrCat("unknown watch mode ", mode)),
                 &reply);
        break;
      }
      absl::Status s = coordinator_->AddWatchAs(
          session, path, static_cast<WatchMode>(mode), std::move(watcher));
      if (!s.ok()) SetError(s, &reply);
      break;
    }
    case ReadRequest::REMOVE_WATCHES: {
      const int32_t type = read.watcher_type();
      if (type < static_cast<int32_t>(WatcherType::kChildren) ||
          type > static_cast<int32_t>(WatcherType::kAny)) {
        SetError(
            BadArgumentsError(absl::StrCat("unknown watcher type ", type)),
            &reply);
        break;
      }
      // The removed watchers are this stream's: their *WatchRemoved events
      // reach it through them, from the dispatcher.
      absl::Status s = coordinator_->RemoveWatchesAs(
          session, path, static_cast<WatcherType>(type));
      if (!s.ok()) SetError(s, &reply);
      break;
    }
    default:
      SetError(BadArgumentsError("unknown read kind"), &reply);
      break;
  }
  return reply;
}

void ClientService::Impl::WriterLoop(StreamState* state, Stream* stream) {
  while (true) {
    ClientReply reply;
    {
      MutexLock lock(&state->mu);
      state->mu.Await([state]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state->mu) {
        return !state->out.empty() || state->closed || state->broken;
      });
      if (state->broken || state->out.empty()) return;
      reply = std::move(state->out.front());
      state->out.pop_front();
    }
    if (!stream->Write(reply)) {
      MutexLock lock(&state->mu);
      state->broken = true;
      state->out.clear();
      return;
    }
  }
}

grpc::Status ClientService::Impl::Status(grpc::ServerContext* context,
                                         const StatusRequest* request,
                                         StatusReply* reply) {
  if (!Enter(nullptr)) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "the peer is shutting down");
  }
  const Coordinator::Impl::PeerStatus s = coordinator_->GetPeerStatus();
  const Health h = coordinator_->GetHealth();
  reply->set_role(s.role);
  reply->set_epoch(s.epoch);
  reply->set_last_zxid(s.last_zxid);
  reply->set_peer_id(s.peer_id);
  reply->set_leader_id(s.leader_id);
  for (const std::string& peer : s.peers) reply->add_peers(peer);
  reply->set_znode_count(h.znode_count);
  reply->set_session_count(h.session_count);
  reply->set_leader(s.leader);
  Leave(nullptr);
  return grpc::Status::OK;
}

// ---- ClientService: forwards to Impl.

ClientService::ClientService(Coordinator::Impl* impl)
    : impl_(std::make_unique<Impl>(impl)) {}

ClientService::~ClientService() { impl_->Shutdown(); }

grpc::Service* ClientService::service() { return impl_.get(); }

void ClientService::Shutdown() { impl_->Shutdown(); }

}  // namespace synod::transport
