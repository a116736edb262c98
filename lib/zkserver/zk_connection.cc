#include "zkserver/zk_connection.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "acl/acl.h"
#include "acl/identity.h"
#include "transport/remote_session.h"
#include "transport/session_secret.h"
#include "tree/path.h"
#include "util/errors.h"
#include "util/limits.h"
#include "zkwire/jute.h"
#include "zkwire/zk_protocol.h"

namespace synod::zkserver {
namespace {

using zkwire::OpCode;
using zkwire::RequestKind;
using zkwire::ZkError;

using transport::SystemAuth;

ZkError ZkErrorOf(const absl::Status& s) {
  return zkwire::ToZkError(ErrorOf(s));
}

ZkError ErrorOrOk(const absl::Status& s) {
  return s.ok() ? ZkError::kOk : ZkErrorOf(s);
}

// Appends a reply frame to `*out`: its header, then `body` if the reply
// succeeded and has one.
void AppendReply(int32_t xid, int64_t zxid, ZkError err,
                 const zkwire::OpResult* body, std::string* out) {
  const size_t start = zkwire::BeginFrame(out);
  zkwire::JuteWriter w(out);
  zkwire::WriteReplyHeader({xid, zxid, static_cast<int32_t>(err)}, &w);
  if (err == ZkError::kOk && body != nullptr) zkwire::WriteResultBody(*body, &w);
  zkwire::EndFrame(start, out);
}

void AppendMultiReply(int32_t xid, int64_t zxid,
                      const std::vector<zkwire::OpResult>& results,
                      std::string* out) {
  const size_t start = zkwire::BeginFrame(out);
  zkwire::JuteWriter w(out);
  zkwire::WriteReplyHeader({xid, zxid, 0}, &w);
  zkwire::WriteMultiResponse(results, &w);
  zkwire::EndFrame(start, out);
}

void AppendWhoAmIReply(int32_t xid, int64_t zxid,
                       const std::vector<ClientInfo>& ids, std::string* out) {
  const size_t start = zkwire::BeginFrame(out);
  zkwire::JuteWriter w(out);
  zkwire::WriteReplyHeader({xid, zxid, 0}, &w);
  zkwire::WriteWhoAmIResponse(ids, &w);
  zkwire::EndFrame(start, out);
}

// A watch notification: xid -1, zxid -1, then the event.
void AppendEvent(const WatchEvent& e, std::string* out) {
  const size_t start = zkwire::BeginFrame(out);
  zkwire::JuteWriter w(out);
  zkwire::WriteReplyHeader({zkwire::kNotificationXid, -1, 0}, &w);
  zkwire::WriteWatcherEvent(
      {static_cast<int32_t>(zkwire::ToZkEventType(e.type)),
       zkwire::kStateSyncConnected, e.path},
      &w);
  zkwire::EndFrame(start, out);
}

int32_t MaxFrameBytes(const Options& options) {
  // A frame is a request and its headers; 64 KiB of room above the
  // largest request the peer takes.
  const int64_t max = LimitsFrom(options).max_request_bytes + (64 << 10);
  return static_cast<int32_t>(std::min<int64_t>(max, INT32_MAX));
}

// The result of one write op in the reply, from what the host returned.
zkwire::OpResult ResultOf(OpCode type, const OpResult& r) {
  zkwire::OpResult out;
  out.type = type;
  out.path = r.path;
  out.stat = r.stat;
  return out;
}

}  // namespace

ZkConnection::ZkConnection(transport::ClientHost* host,
                           const Options* options,
                           std::shared_ptr<Poster> poster,
                           ConnectionOwner* owner, AuthInfo auth,
                           int64_t now_ms)
    : host_(host),
      options_(options),
      poster_(std::move(poster)),
      owner_(owner),
      max_frame_bytes_(MaxFrameBytes(*options)),
      auth_(std::make_shared<const AuthInfo>(std::move(auth))),
      last_heard_ms_(now_ms),
      opened_ms_(now_ms),
      now_ms_(now_ms) {}

ZkConnection::~ZkConnection() = default;

bool ZkConnection::wants_input() const {
  return !finished_ && phase_ != Phase::kClosing &&
         phase_ != Phase::kClosed &&
         pending_.size() + writes_outstanding_ < kMaxInFlight &&
         out_.size() < kMaxOutputBytes / 2;
}

void ZkConnection::OnInput(std::string_view bytes, int64_t now_ms) {
  if (finished_ || phase_ == Phase::kClosed) return;
  last_heard_ms_ = now_ms;
  now_ms_ = now_ms;
  in_.append(bytes.data(), bytes.size());
  RunFrames();
}

ConnectionReport ZkConnection::Report() const {
  ConnectionReport r;
  r.session = session_;
  r.timeout_ms = timeout_ms_;
  r.queued = static_cast<int64_t>(pending_.size() + writes_outstanding_);
  r.received = received_;
  r.sent = sent_;
  r.established_ms = established_ms_;
  r.last_op = LastOpName(last_type_);
  r.last_cxid = last_cxid_;
  r.last_zxid = last_zxid_;
  r.last_response_ms = last_response_ms_;
  return r;
}

void ZkConnection::Send(std::string_view frame) {
  out_.append(frame.data(), frame.size());
  ++sent_;
  last_response_ms_ = now_ms_;
  CheckOutput();
}

void ZkConnection::RunFrames() {
  if (phase_ == Phase::kAwaitConnect && in_.size() >= 4) {
    // A four-letter word in place of the first frame's length: answered,
    // and the connection ends.
    if (std::optional<std::string_view> word =
            KnownWord(std::string_view(in_).substr(0, 4))) {
      in_.clear();
      out_ = owner_->AnswerWord(*word);
      Finish();
      return;
    }
  }
  while (!finished_ && in_.size() >= zkwire::kFrameHeaderBytes) {
    absl::StatusOr<int32_t> length =
        zkwire::FrameLength(in_, 0, max_frame_bytes_);
    if (!length.ok()) {
      Finish();
      return;
    }
    const size_t whole = zkwire::kFrameHeaderBytes + static_cast<size_t>(*length);
    if (in_.size() < whole) return;
    const std::string_view body =
        std::string_view(in_).substr(zkwire::kFrameHeaderBytes, *length);
    if (phase_ == Phase::kAwaitConnect) {
      absl::StatusOr<zkwire::ConnectRequest> connect =
          zkwire::DecodeConnectRequest(body, max_frame_bytes_);
      in_.erase(0, whole);
      if (!connect.ok()) {
        Finish();
        return;
      }
      ++received_;
      last_type_ = static_cast<int32_t>(OpCode::kCreateSession);
      OnConnect(*connect);
      continue;
    }
    absl::StatusOr<zkwire::Request> request =
        zkwire::DecodeRequest(body, max_frame_bytes_);
    in_.erase(0, whole);
    if (!request.ok()) {
      Finish();
      return;
    }
    ++received_;
    last_type_ = request->header.type;
    if (request->header.xid >= 0) last_cxid_ = request->header.xid;
    if (request->kind == RequestKind::kPing && phase_ == Phase::kOpen) {
      // At once, whatever waits: a ping only proves the connection.
      Reply(request->header.xid, PingZxid(), ZkError::kOk, nullptr,
            /*in_order=*/false);
      continue;
    }
    pending_.push_back(*std::move(request));
  }
  Pump();
}

void ZkConnection::OnConnect(const zkwire::ConnectRequest& request) {
  if (!host_->ServesClients()) {
    // As ZooKeeper's server while it is not running (no quorum, or an
    // election): the connection closes unanswered, and the client tries
    // another peer.
    Finish();
    return;
  }
  phase_ = Phase::kConnecting;
  const int32_t timeout_ms =
      transport::RemoteSessionTimeoutMs(*options_, request.timeout_ms);
  std::weak_ptr<ZkConnection> weak = weak_from_this();
  std::shared_ptr<Poster> poster = poster_;
  if (request.session_id == 0) {
    absl::StatusOr<std::string> password = transport::NewSessionPassword();
    if (!password.ok()) {
      Finish();
      return;
    }
    txn::Request create;
    create.mutable_create_session()->set_timeout_ms(timeout_ms);
    create.mutable_create_session()->set_password_digest(
        transport::SessionPasswordDigest(*password));
    // Should the leader be lost before it completes, the next tick ends
    // the connection (the client tries another peer); the create, parked
    // meanwhile, fails after the peer's session timeout or applies, and a
    // session so opened expires unused.
    host_->SubmitAs(
        0, SystemAuth(), std::move(create),
        [weak, poster, timeout_ms, password = *password](WriteOutcome&& o) {
          auto outcome = std::make_shared<WriteOutcome>(std::move(o));
          poster->Post([weak, outcome, timeout_ms, password] {
            if (auto c = weak.lock()) {
              c->OnSessionCreated(std::move(*outcome), timeout_ms, password);
            }
          });
        });
    return;
  }
  // Resume: a sync first, so that the replica holds the session's create
  // (and everything else the client saw) if the leader does.
  host_->SubmitAs(0, SystemAuth(), txn::Request(),
                  [weak, poster, request](WriteOutcome&& o) {
                    auto outcome =
                        std::make_shared<WriteOutcome>(std::move(o));
                    poster->Post([weak, outcome, request] {
                      if (auto c = weak.lock()) {
                        c->OnResumeSynced(std::move(*outcome), request);
                      }
                    });
                  });
}

void ZkConnection::OnSessionCreated(WriteOutcome&& o, int32_t timeout_ms,
                                    const std::string& password) {
  if (phase_ != Phase::kConnecting) {
    // The connection went before the session existed: close it at once
    // rather than leave it to expire.
    if (o.status.ok()) {
      txn::Request close;
      close.mutable_close_session();
      host_->SubmitAs(o.zxid, SystemAuth(), std::move(close),
                      [](WriteOutcome&&) {});
    }
    return;
  }
  if (!o.status.ok()) {
    Finish();  // no leader: the client tries another peer
    return;
  }
  Accept(o.zxid, timeout_ms, password);
}

void ZkConnection::OnResumeSynced(WriteOutcome&& o,
                                  const zkwire::ConnectRequest& request) {
  if (phase_ != Phase::kConnecting) return;
  if (!o.status.ok()) {
    Finish();  // no leader to sync with: the client tries another peer
    return;
  }
  const std::optional<transport::ClientHost::OpenSession> session =
      host_->FindSession(request.session_id);
  if (!session.has_value() ||
      !transport::SessionPasswordMatches(request.password,
                                         session->password_digest)) {
    RefuseSession();
    return;
  }
  // The session keeps the timeout it was created with: the leader expires
  // it by that one.
  const int32_t timeout_ms = session->timeout_ms;
  Accept(request.session_id, timeout_ms, request.password);
}

void ZkConnection::Accept(int64_t id, int32_t timeout_ms,
                          const std::string& password) {
  session_ = id;
  timeout_ms_ = timeout_ms;
  established_ms_ = now_ms_;
  last_zxid_ = host_->LastAppliedZxid();
  phase_ = Phase::kOpen;
  owner_->Attach(id, this);
  host_->AddHostedSession(id);
  host_->SetWatchAuth(id, auth_);
  zkwire::ConnectResponse response;
  response.timeout_ms = timeout_ms;
  response.session_id = id;
  response.password = password;
  std::string frame;
  const size_t start = zkwire::BeginFrame(&frame);
  zkwire::EncodeConnectResponse(response, &frame);
  zkwire::EndFrame(start, &frame);
  Send(frame);
  Pump();
}

void ZkConnection::RefuseSession() {
  // ZooKeeper's answer for an expired or unknown session: timeout 0, id 0,
  // a zero password; the client reports Expired.
  zkwire::ConnectResponse response;
  response.password.assign(transport::kSessionPasswordBytes, '\0');
  std::string frame;
  const size_t start = zkwire::BeginFrame(&frame);
  zkwire::EncodeConnectResponse(response, &frame);
  zkwire::EndFrame(start, &frame);
  Send(frame);
  phase_ = Phase::kClosed;
  Finish();
}

void ZkConnection::Pump() {
  while (phase_ == Phase::kOpen && !finished_ && !pending_.empty()) {
    zkwire::Request& front = pending_.front();
    switch (front.kind) {
      case RequestKind::kPing:  // one sent during the handshake
        Reply(front.header.xid, PingZxid(), ZkError::kOk, nullptr,
              /*in_order=*/false);
        pending_.pop_front();
        break;
      case RequestKind::kWrite:
      case RequestKind::kSync: {
        zkwire::Request request = std::move(front);
        pending_.pop_front();
        Submit(std::move(request));
        break;
      }
      case RequestKind::kCloseSession: {
        if (writes_outstanding_ > 0) return;
        const int32_t xid = front.header.xid;
        pending_.clear();  // nothing after a close runs
        SubmitClose(xid);
        return;
      }
      default: {
        if (writes_outstanding_ > 0) return;
        zkwire::Request request = std::move(front);
        pending_.pop_front();
        Answer(std::move(request));
        break;
      }
    }
  }
}

void ZkConnection::Submit(zkwire::Request&& request) {
  ++writes_outstanding_;
  const bool sync = request.kind == RequestKind::kSync;
  txn::Request write = sync ? txn::Request() : std::move(request.write);
  request.write.Clear();
  std::weak_ptr<ZkConnection> weak = weak_from_this();
  auto shared = std::make_shared<zkwire::Request>(std::move(request));
  host_->SubmitAs(
      session_, auth_, std::move(write),
      [weak, poster = poster_, shared](WriteOutcome&& o) {
        auto outcome = std::make_shared<WriteOutcome>(std::move(o));
        poster->Post([weak, shared, outcome] {
          if (auto c = weak.lock()) {
            c->OnWriteDone(*shared, std::move(*outcome));
          }
        });
      });
}

void ZkConnection::OnWriteDone(const zkwire::Request& request,
                               WriteOutcome&& o) {
  if (phase_ == Phase::kClosed) return;
  const int32_t xid = request.header.xid;
  const int64_t zxid = o.zxid != 0 ? o.zxid : host_->LastAppliedZxid();
  last_zxid_ = zxid;
  std::string frame;
  if (request.kind == RequestKind::kSync) {
    zkwire::OpResult body;
    body.type = OpCode::kSync;
    body.path = request.path;
    AppendReply(xid, zxid, ErrorOrOk(o.status), o.status.ok() ? &body : nullptr,
                &frame);
  } else if (request.header.type == static_cast<int32_t>(OpCode::kMulti)) {
    const int failed = o.status.ok() ? -1 : FailedOpIndex(o.status);
    std::vector<zkwire::OpResult> results;
    if (o.status.ok()) {
      for (size_t i = 0; i < request.result_types.size() && i < o.results.size();
           ++i) {
        results.push_back(ResultOf(request.result_types[i], o.results[i]));
      }
      AppendMultiReply(xid, zxid, results, &frame);
    } else if (failed >= 0) {
      // ZooKeeper's failed multi: OK before the failed op, its error, then
      // RuntimeInconsistency; the reply itself succeeds.
      for (size_t i = 0; i < request.result_types.size(); ++i) {
        zkwire::OpResult r;
        r.type = OpCode::kError;
        r.err = static_cast<int32_t>(
            static_cast<int>(i) < failed    ? ZkError::kOk
            : static_cast<int>(i) == failed ? ZkErrorOf(o.status)
                                            : ZkError::kRuntimeInconsistency);
        results.push_back(r);
      }
      AppendMultiReply(xid, zxid, results, &frame);
    } else {
      AppendReply(xid, zxid, ZkErrorOf(o.status), nullptr, &frame);
    }
  } else if (!o.status.ok()) {
    AppendReply(xid, zxid, ZkErrorOf(o.status), nullptr, &frame);
  } else {
    zkwire::OpResult body;
    if (!request.result_types.empty() && !o.results.empty()) {
      body = ResultOf(request.result_types[0], o.results[0]);
    } else if (!request.result_types.empty()) {
      body.type = request.result_types[0];
    }
    AppendReply(xid, zxid, ZkError::kOk, &body, &frame);
  }
  Emit(std::move(frame), zxid, /*write_done=*/true);
}

void ZkConnection::SubmitClose(int32_t xid) {
  phase_ = Phase::kClosing;
  // Its watches first, silently, so that the close's own events (its
  // ephemerals) are not sent to it; then it is no longer hosted here.
  host_->DropWatchesOf(session_);
  if (owner_->Detach(session_, this)) host_->RemoveHostedSession(session_);
  txn::Request close;
  close.mutable_close_session();
  std::weak_ptr<ZkConnection> weak = weak_from_this();
  host_->SubmitAs(
      session_, SystemAuth(), std::move(close),
      [weak, poster = poster_, xid](WriteOutcome&& o) {
        auto outcome = std::make_shared<WriteOutcome>(std::move(o));
        poster->Post([weak, outcome, xid] {
          auto c = weak.lock();
          if (c == nullptr || c->phase_ != Phase::kClosing) return;
          const int64_t zxid =
              outcome->zxid != 0 ? outcome->zxid : c->host_->LastAppliedZxid();
          c->Reply(xid, zxid, ErrorOrOk(outcome->status), nullptr,
                   /*in_order=*/true, /*then_finish=*/true);
        });
      });
}

void ZkConnection::Answer(zkwire::Request&& request) {
  const int32_t xid = request.header.xid;
  switch (request.kind) {
    case RequestKind::kRead:
      Read(request);
      return;
    case RequestKind::kMultiRead:
      MultiRead(request);
      return;
    case RequestKind::kAuth:
      Auth(request);
      return;
    case RequestKind::kSetWatches:
      SetWatches(request);
      return;
    case RequestKind::kAddWatch: {
      has_watches_ = true;
      absl::Status s = host_->AddWatchAs(session_, request.path,
                                         request.watch_mode, MakeWatcher());
      Reply(xid, host_->LastAppliedZxid(), ErrorOrOk(s));
      return;
    }
    case RequestKind::kRemoveWatches: {
      absl::Status s = host_->RemoveWatchesAs(session_, request.path,
                                              request.watcher_type,
                                              /*local=*/false);
      Reply(xid, host_->LastAppliedZxid(), ErrorOrOk(s));
      return;
    }
    case RequestKind::kCheckWatches: {
      absl::Status s = ValidatePath(request.path);
      if (s.ok() &&
          !host_->HasWatchesAs(session_, request.path, request.watcher_type)) {
        s = MakeError(Error::kNoWatcher, request.path);
      }
      Reply(xid, host_->LastAppliedZxid(), ErrorOrOk(s));
      return;
    }
    case RequestKind::kWhoAmI: {
      std::string frame;
      const int64_t zxid = host_->LastAppliedZxid();
      AppendWhoAmIReply(xid, zxid, DescribeIdentities(*options_, *auth_),
                        &frame);
      Emit(std::move(frame), zxid, /*write_done=*/false);
      return;
    }
    case RequestKind::kRefused:
      Reply(xid, host_->LastAppliedZxid(), request.error);
      return;
    default:
      return;  // pings, writes, syncs and closes never get here
  }
}

void ZkConnection::Read(const zkwire::Request& request) {
  const zkwire::ReadOp& read = request.read;
  const int32_t xid = request.header.xid;
  const bool watch = read.watch && (read.op == OpCode::kGetData ||
                                    read.op == OpCode::kExists ||
                                    read.op == OpCode::kGetChildren ||
                                    read.op == OpCode::kGetChildren2);
  if (watch) has_watches_ = true;
  Watcher watcher = watch ? MakeWatcher() : Watcher();
  zkwire::OpResult body;
  body.type = read.op;
  absl::Status status;
  switch (read.op) {
    case OpCode::kGetData: {
      absl::StatusOr<Node> node =
          host_->GetAs(session_, auth_.get(), read.path, std::move(watcher));
      if (node.ok()) {
        body.data = std::move(node->data);
        body.stat = node->stat;
      }
      status = node.status();
      break;
    }
    case OpCode::kExists: {
      absl::StatusOr<std::optional<Stat>> stat =
          host_->ExistsAs(session_, read.path, std::move(watcher));
      if (stat.ok() && stat->has_value()) {
        body.stat = **stat;
      } else if (stat.ok()) {
        status = MakeError(Error::kNoNode, read.path);  // the watch stays
      } else {
        status = stat.status();
      }
      break;
    }
    case OpCode::kGetChildren:
    case OpCode::kGetChildren2: {
      absl::StatusOr<std::vector<std::string>> children = host_->GetChildrenAs(
          session_, auth_.get(), read.path, std::move(watcher), &body.stat);
      if (children.ok()) body.children = *std::move(children);
      status = children.status();
      break;
    }
    case OpCode::kGetAcl: {
      absl::StatusOr<AclList> acl =
          host_->GetAclAs(*auth_, read.path, &body.stat);
      if (acl.ok()) body.acl = *std::move(acl);
      status = acl.status();
      break;
    }
    case OpCode::kGetEphemerals: {
      absl::StatusOr<std::vector<std::string>> paths =
          host_->GetEphemeralsAs(session_, read.path);
      if (paths.ok()) body.children = *std::move(paths);
      status = paths.status();
      break;
    }
    case OpCode::kGetAllChildrenNumber: {
      absl::StatusOr<int32_t> count =
          host_->GetAllChildrenNumberAs(*auth_, read.path);
      if (count.ok()) body.count = *count;
      status = count.status();
      break;
    }
    default:
      status = MakeError(Error::kUnimplemented, "not a read");
      break;
  }
  Reply(xid, host_->LastAppliedZxid(), ErrorOrOk(status),
        status.ok() ? &body : nullptr);
}

void ZkConnection::MultiRead(const zkwire::Request& request) {
  std::vector<zkwire::OpResult> results;
  results.reserve(request.reads.size());
  for (const zkwire::ReadOp& read : request.reads) {
    zkwire::OpResult r;
    r.type = read.op;
    absl::Status status;
    if (read.op == OpCode::kGetData) {
      absl::StatusOr<Node> node =
          host_->GetAs(session_, auth_.get(), read.path, Watcher());
      if (node.ok()) {
        r.data = std::move(node->data);
        r.stat = node->stat;
      }
      status = node.status();
    } else {
      absl::StatusOr<std::vector<std::string>> children = host_->GetChildrenAs(
          session_, auth_.get(), read.path, Watcher(), nullptr);
      if (children.ok()) r.children = *std::move(children);
      status = children.status();
    }
    if (!status.ok()) {
      r = zkwire::OpResult();
      r.type = OpCode::kError;
      r.err = static_cast<int32_t>(ZkErrorOf(status));
    }
    results.push_back(std::move(r));
  }
  std::string frame;
  const int64_t zxid = host_->LastAppliedZxid();
  AppendMultiReply(request.header.xid, zxid, results, &frame);
  Emit(std::move(frame), zxid, /*write_done=*/false);
}

void ZkConnection::Auth(const zkwire::Request& request) {
  absl::StatusOr<AuthId> identity =
      Authenticate(request.scheme, request.credentials);
  absl::Status added = identity.status();
  auto next = std::make_shared<AuthInfo>(*auth_);
  if (identity.ok()) {
    added = AddIdentity(*options_, *std::move(identity), next.get());
  }
  if (!added.ok()) {
    // As ZooKeeper: AuthFailed, and the connection ends.
    Reply(request.header.xid, host_->LastAppliedZxid(), ZkError::kAuthFailed,
          nullptr, /*in_order=*/true, /*then_finish=*/true);
    return;
  }
  // A new AuthInfo: writes in flight keep the one they were given.
  auth_ = std::move(next);
  host_->SetWatchAuth(session_, auth_);
  Reply(request.header.xid, host_->LastAppliedZxid(), ZkError::kOk);
}

void ZkConnection::SetWatches(const zkwire::Request& request) {
  const zkwire::SetWatches& s = request.set_watches;
  transport::ClientHost::RestoredWatches w;
  w.relative_zxid = s.relative_zxid;
  w.data = s.data;
  w.exist = s.exist;
  w.child = s.child;
  w.persistent = s.persistent;
  w.persistent_recursive = s.persistent_recursive;
  has_watches_ = true;
  // The events the client missed go before the reply, as ZooKeeper sends
  // them.
  for (const WatchEvent& e : host_->RestoreWatchesAs(session_, w, MakeWatcher())) {
    std::string frame;
    AppendEvent(e, &frame);
    Emit(std::move(frame), /*zxid=*/0, /*write_done=*/false);
  }
  Reply(request.header.xid, host_->LastAppliedZxid(), ZkError::kOk);
}

Watcher ZkConnection::MakeWatcher() {
  // Runs on the host's event thread; may run after the connection went.
  return [weak = weak_from_this(), poster = poster_](const WatchEvent& e) {
    if (e.type == EventType::kDataWatchRemoved ||
        e.type == EventType::kChildWatchRemoved ||
        e.type == EventType::kPersistentWatchRemoved ||
        e.type == EventType::kSession) {
      return;
    }
    poster->Post([weak, e] {
      if (auto c = weak.lock()) c->SendEvent(e);
    });
  };
}

void ZkConnection::SendEvent(const WatchEvent& e) {
  if (phase_ != Phase::kOpen && phase_ != Phase::kClosing) return;
  std::string frame;
  AppendEvent(e, &frame);
  // An event goes out at once: replies routed behind the host's events
  // (Emit) come after it.
  Send(frame);
}

void ZkConnection::Reply(int32_t xid, int64_t zxid, ZkError err,
                         const zkwire::OpResult* body, bool in_order,
                         bool then_finish) {
  last_zxid_ = zxid;
  std::string frame;
  AppendReply(xid, zxid, err, body, &frame);
  if (!in_order) {
    Send(frame);
    if (then_finish) Finish();
    return;
  }
  Emit(std::move(frame), zxid, /*write_done=*/false, then_finish);
}

int64_t ZkConnection::PingZxid() const {
  // A ping's reply goes out at once, maybe ahead of events still routed:
  // a client that took a later zxid from it could miss their events when
  // it resumes elsewhere (setWatches' relative zxid).
  return has_watches_ || replies_routing_ > 0 ? sent_zxid_
                                              : host_->LastAppliedZxid();
}

void ZkConnection::Emit(std::string frame, int64_t zxid, bool write_done,
                        bool then_finish) {
  if (!has_watches_ && replies_routing_ == 0) {
    if (write_done) --writes_outstanding_;
    sent_zxid_ = std::max(sent_zxid_, zxid);
    Send(frame);
    if (then_finish) Finish();
    if (write_done) Pump();
    return;
  }
  // Behind every watch event the host queued so far: a client watching a
  // node hears of its change before it sees the change's result.
  ++replies_routing_;
  std::weak_ptr<ZkConnection> weak = weak_from_this();
  auto shared = std::make_shared<std::string>(std::move(frame));
  host_->RunAfterEvents([weak, poster = poster_, shared, zxid, write_done,
                         then_finish] {
    poster->Post([weak, shared, zxid, write_done, then_finish] {
      auto c = weak.lock();
      if (c == nullptr) return;
      --c->replies_routing_;
      if (write_done) --c->writes_outstanding_;
      if (c->phase_ == Phase::kClosed && !then_finish) return;
      c->sent_zxid_ = std::max(c->sent_zxid_, zxid);
      c->Send(*shared);
      if (then_finish) c->Finish();
      c->Pump();
    });
  });
}

void ZkConnection::CheckOutput() {
  if (out_.size() > kMaxOutputBytes) {
    // The client reads nothing while its replies and events pile up.
    out_.clear();
    Finish();
  }
}

void ZkConnection::OnTick(int64_t now_ms) {
  now_ms_ = now_ms;
  if (!finished_ && phase_ == Phase::kAwaitConnect &&
      now_ms - opened_ms_ > kHandshakeTimeoutMs) {
    Finish();  // a connection that never began a session
    return;
  }
  if (finished_ || phase_ == Phase::kAwaitConnect) return;
  if (!host_->ServesClients()) {
    // The peer lost its leader: its replica may fall behind, and the
    // ensemble times out the session while the client, still answered,
    // would not look elsewhere. ZooKeeper's server closes every
    // connection then; the session stays open for its timeout.
    Finish();
    return;
  }
  if (phase_ != Phase::kOpen) return;
  if (now_ms - last_heard_ms_ > timeout_ms_) {
    Finish();  // nothing heard for a whole timeout: the client is gone
    return;
  }
  if (!host_->FindSession(session_).has_value()) {
    // The ensemble closed the session (expired it): the client hears so
    // when it reconnects.
    Finish();
  }
}

void ZkConnection::OnClosed() {
  if (phase_ == Phase::kClosed) return;
  const Phase was = phase_;
  phase_ = Phase::kClosed;
  finished_ = true;
  pending_.clear();
  if (was == Phase::kOpen) {
    // Its watches go with the connection (a resuming client sets them
    // again); the session stays open for its timeout.
    host_->DropWatchesOf(session_);
    if (owner_->Detach(session_, this)) host_->RemoveHostedSession(session_);
  }
}

}  // namespace synod::zkserver
