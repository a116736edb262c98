// The Client service (transport/client.proto) over a ClientHost: one
// session per Session stream (opened, or resumed by id and password), its
// requests run in order, its watch events pushed on the stream. The
// session outlives the stream: when the stream ends without CloseSession,
// the peer stops keeping the session alive and it stays open for its
// timeout, for the client to resume here or on another peer.
//
// Built on gRPC's callback API: no thread belongs to a stream, whatever the
// number of streams. A stream is a SessionStream (a ServerBidiReactor) and
// moves on from events, none of which blocks:
//  - a read completes (a gRPC thread): the request joins the stream's
//    pending queue and the stream is pumped;
//  - pumping takes pending requests in order: a write or sync is submitted
//    to the host (which runs a session's writes in order); anything
//    answered here (reads, auth, refusals) waits until the stream's earlier
//    writes have completed, so replies leave in request order and a read
//    sees the stream's own earlier writes;
//  - a write completes (the host's loop thread) or a watch fires (its
//    event thread): the reply or event is queued and the stream is kicked on
//    the service's worker thread, so that neither the loop nor the
//    dispatcher ever calls into gRPC or submits;
//  - a network write completes (a gRPC thread): the next queued reply goes.
// At most one read and one network write are outstanding per stream. A
// stream stops reading while kMaxInFlight of its requests are unanswered
// (pending, submitted, or replied but not yet sent): HTTP/2 flow control
// then holds the client back. Its outgoing queue is bounded too: a client
// that reads nothing while its watches fire loses its stream (kMaxQueued).
// gRPC calls (StartRead, StartWrite, Finish, TryCancel) are made without
// the stream's lock held: gRPC may run a reaction on the calling thread.
// Completions and watchers may run after the stream finished: they hold
// the stream by shared_ptr and drop what they push.
//
// The stream's watches are registered with its session id as their owner:
// REMOVE_WATCHES takes away only the stream's own, and when the stream ends
// they are all dropped (none would ever be delivered again). One stream at
// a time hosts a session on this peer (Impl::Host): a client that resumes
// its session here before the peer noticed its old stream end takes the
// session over, and the old stream is cancelled without touching it.

#include "transport/client_service.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "acl/acl.h"
#include "acl/identity.h"
#include "grpcpp/grpcpp.h"
#include "runtime/dispatcher.h"
#include "server/write_outcome.h"
#include "storage/log_file.h"
#include "transport/client.grpc.pb.h"
#include "transport/client_host.h"
#include "transport/client_request.h"
#include "transport/remote_session.h"
#include "transport/session_secret.h"
#include "transport/tls.h"
#include "tree/data_tree.h"
#include "tree/path.h"
#include "util/errors.h"
#include "util/log.h"
#include "util/mutex.h"
#include "util/strings.h"

namespace synod::transport {
namespace {

// While shutting down, how long the service waits for the streams to end
// (a CloseSession under way may still complete; the host may be stopping,
// or have no leader).
constexpr absl::Duration kShutdownCloseWait = absl::Seconds(1);
// Most replies and events queued for one stream: a client that reads
// nothing while its watches fire loses its stream rather than the peer's
// memory.
constexpr size_t kMaxQueued = size_t{1} << 16;
// Most requests of one stream read and not yet answered on the network;
// the stream is not read from while it has this many.
constexpr size_t kMaxInFlight = 256;

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

// A watch event as the stream carries it (id 0).
ClientReply EventReply(const WatchEvent& e) {
  ClientReply event = NewReply(0);
  event.mutable_event()->set_type(static_cast<int32_t>(e.type));
  event.mutable_event()->set_state(static_cast<int32_t>(e.state));
  event.mutable_event()->set_path(e.path);
  return event;
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

// Who a call's connection says its caller is: its address, and over TLS
// the subject of the certificate the handshake verified (its x509
// identity, as ZooKeeper's X509AuthenticationProvider names it). A subject
// past the identity limits is not taken, with a warning.
AuthInfo ConnectionAuth(const Options& options,
                        const grpc::ServerContextBase& context) {
  AuthInfo auth;
  auth.ip = PeerIp(context.peer());
  const std::string subject = CertificateSubjectOf(context);
  if (!subject.empty()) {
    if (absl::Status s = AddIdentity(options, AuthId{"x509", subject}, &auth);
        !s.ok()) {
      Log(options, LogLevel::kWarning,
          absl::StrCat("a client's certificate subject is not taken as its "
                       "x509 identity: ",
                       s.message()));
    }
  }
  return auth;
}

}  // namespace

class SessionStream;

class ClientService::Impl final : public Client::CallbackService {
 public:
  Impl(ClientHost* host, const Options& options)
      : host_(host), options_(options) {
    watchdog_ = std::thread([this] { WatchLeader(); });
  }
  ~Impl() override { Shutdown(); }

  grpc::ServerBidiReactor<ClientRequest, ClientReply>* Session(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const StatusRequest* request,
                                   StatusReply* reply) override;
  grpc::ServerWriteReactor<BackupChunk>* Backup(
      grpc::CallbackServerContext* context,
      const BackupRequest* request) override;
  void Shutdown();

  // For the streams.
  ClientHost* host() const { return host_; }
  const Options& options() const { return options_; }
  // Counts a caller in while it touches the host; false once Shutdown has
  // detached the streams (the host may be going).
  bool Enter();
  void Leave();
  // Registers a new stream (for Shutdown to end it); false once shut down.
  bool Register(const std::shared_ptr<SessionStream>& stream);
  void Unregister(SessionStream* stream);
  // Takes one of Options::max_client_sessions; false if none is left.
  bool ReserveSession();
  void ReleaseSession();
  // `stream` hosts session `id` on this peer from now on: the peer keeps
  // the session alive and filters its watch events by `auth`. A stream
  // that hosted it before (the client resumed the session on a new stream
  // before this peer saw the old one end) loses it, with its watches, and
  // is cancelled.
  void Host(int64_t id, SessionStream* stream,
            std::shared_ptr<const AuthInfo> auth);
  // `stream` no longer hosts session `id`: its watches go and the peer
  // stops keeping it alive (it expires after its timeout unless resumed or
  // closed). Nothing, if another stream took the session over.
  void Unhost(int64_t id, SessionStream* stream);
  // Runs `task` on the worker thread (never the loop or the dispatcher).
  void Post(std::function<void()> task) { worker_.Post(std::move(task)); }

 private:
  // Each tick until Shutdown: while no leader serves this peer, ends the
  // streams whose sessions are open. Their clients resume the sessions at
  // a peer that has one (ZooKeeper's server closes its connections when
  // it loses its leader), rather than read from a replica left behind
  // while the ensemble expires their sessions.
  void WatchLeader();

  ClientHost* const host_;
  const Options options_;
  mutable Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  bool detached_ ABSL_GUARDED_BY(mu_) = false;
  bool worker_stopped_ ABSL_GUARDED_BY(mu_) = false;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
  int sessions_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<SessionStream*, std::weak_ptr<SessionStream>> streams_
      ABSL_GUARDED_BY(mu_);
  // The stream hosting each session (Host).
  absl::flat_hash_map<int64_t, SessionStream*> hosts_ ABSL_GUARDED_BY(mu_);
  // Whether a Backup call holds a snapshot (shared with its writer, which
  // may outlive this).
  const std::shared_ptr<std::atomic<bool>> backup_running_ =
      std::make_shared<std::atomic<bool>>(false);
  std::thread watchdog_;  // WatchLeader; joined by Shutdown
  Dispatcher worker_;
};

// One Session stream: see the file comment.
class SessionStream final
    : public grpc::ServerBidiReactor<ClientRequest, ClientReply>,
      public std::enable_shared_from_this<SessionStream> {
 public:
  SessionStream(ClientService::Impl* service,
                grpc::CallbackServerContext* context)
      : service_(service), context_(context) {}

  // Registers the stream and reads its first request (or refuses it, once
  // the service is shut down). Once, right after construction.
  void Start();
  // Shutdown: ends the stream as if the client had gone.
  void Cancel() { context_->TryCancel(); }
  // Another stream took this one's session over: it ends (cancelled on
  // the worker, while gRPC still holds it), its session untouched.
  void Supersede() {
    MutexLock lock(&mu_);
    if (finish_called_) return;
    cancel_wanted_ = true;
    KickLocked();
  }
  // No leader serves the peer: an open session's stream ends (cancelled
  // on the worker), its session untouched; one still opening waits for a
  // leader. Returns whether it ends.
  bool EndIfOpen() {
    MutexLock lock(&mu_);
    if (finish_called_ || phase_ != Phase::kOpen) return false;
    cancel_wanted_ = true;
    KickLocked();
    return true;
  }

  // Takes the pending requests that can run now, in order, then starts
  // whatever network reads and writes can go, or finishes the stream.
  // Any thread but the loop's and the dispatcher's; one pump at a time per
  // stream (a second caller leaves the work to the first).
  void Pump();

  // Queues a watch event (from the host's event thread) and has the
  // worker carry on.
  void PushEvent(ClientReply&& event);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  enum class Phase { kAwaitOpen, kOpening, kOpen, kClosing, kClosed };
  // gRPC calls decided under mu_, made after it is released.
  struct Actions {
    bool read = false;
    bool write = false;
    bool cancel = false;
    bool finish = false;
  };

  size_t InFlightLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return pending_.size() + writes_outstanding_ + replies_routing_ +
           replies_unsent_;
  }
  // Queues `reply`; false if dropped (the stream is finished or broken).
  bool PushLocked(ClientReply&& reply, bool is_reply)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Actions NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run(const Actions& actions);
  // Has the worker pump the stream, unless a kick is already on its way.
  void KickLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseSlotLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // One step of Pump; false when there is nothing to do now.
  bool Step();
  // A new session's create, or a resumed one's sync; open_outcome_ gets
  // what comes of it.
  void SubmitOpen(const OpenSession& open);
  // The open's outcome: the session hosted and the reply queued, or the
  // error's reply and the stream's end.
  void Opened(WriteOutcome&& outcome);
  void SubmitWrite(uint64_t id, txn::Request request);
  void SubmitClose();
  // A write's (or sync's, or the close's) reply, on the host's loop thread:
  // queued, or handed to the worker to deliver (routed streams).
  // `closes`: the close's, after which the stream ends.
  void WriteDone(ClientReply&& reply, bool closes);
  // Queues `events` (missed watch events it must follow) and then `reply`:
  // at once, or, once the stream has watches, behind every watch event the
  // host queued so far (ClientHost::RunAfterEvents), so that a client hears
  // of a change before a reply whose zxid covers it. `write_done`: the
  // reply is a write's (writes_outstanding_ drops once it is on its way);
  // `closes`: the close's. Never on the host's loop thread.
  void Deliver(std::vector<ClientReply> events, ClientReply&& reply,
               bool write_done, bool closes);
  // Queues `events`, then `reply` (but a close's without a request id),
  // and marks the stream closed after a close.
  void PushAnswerLocked(std::vector<ClientReply> events, ClientReply&& reply,
                        bool closes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Pushes what Deliver routed; `closes` ends the stream after it.
  void PushRouted(std::vector<ClientReply>&& events, ClientReply&& reply,
                  bool closes);
  // The answer to a request answered here (not a write or sync), after
  // the missed watch events it must follow, if any (`events`).
  ClientReply Answer(ClientRequest&& request, std::vector<ClientReply>* events);
  ClientReply Read(uint64_t id, const ReadRequest& read);
  // The watcher of the stream's watches: events go out on the stream.
  Watcher MakeWatcher();

  ClientService::Impl* const service_;
  grpc::CallbackServerContext* const context_;  // valid until OnDone
  std::shared_ptr<SessionStream> self_;  // held from Start until OnDone

  // Touched only by the one running Pump.
  std::shared_ptr<const AuthInfo> auth_;
  int64_t timeout_ms_ = 0;
  std::string password_;         // the session's (the client's to resume)
  int64_t resume_id_ = 0;        // the session the open resumes, or 0

  Mutex mu_;
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kAwaitOpen;
  uint64_t open_id_ ABSL_GUARDED_BY(mu_) = 0;  // the open request's
  uint64_t close_id_ ABSL_GUARDED_BY(mu_) = 0;  // a CloseSession's, or 0
  int64_t session_ ABSL_GUARDED_BY(mu_) = 0;
  bool holds_slot_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<WriteOutcome> open_outcome_ ABSL_GUARDED_BY(mu_);
  // The request a read fills; gRPC's between StartRead and OnReadDone.
  ClientRequest read_buf_;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_ended_ ABSL_GUARDED_BY(mu_) = false;  // half-closed or gone
  bool close_read_ ABSL_GUARDED_BY(mu_) = false;   // a CloseSession was read
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<ClientRequest> pending_ ABSL_GUARDED_BY(mu_);
  size_t writes_outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  // Set at the stream's first watch: replies follow the host's events.
  bool routed_ ABSL_GUARDED_BY(mu_) = false;
  // Replies on their way through the host's event queue (Deliver).
  size_t replies_routing_ ABSL_GUARDED_BY(mu_) = 0;
  // Replies (not events) in out_ or being written.
  size_t replies_unsent_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::pair<ClientReply, bool>> out_ ABSL_GUARDED_BY(mu_);
  // The message being written; gRPC's between StartWrite and OnWriteDone.
  ClientReply current_;
  bool current_is_reply_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  // A network write failed or out_ overflowed: nothing more is written.
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool cancel_wanted_ ABSL_GUARDED_BY(mu_) = false;
  bool pumping_ ABSL_GUARDED_BY(mu_) = false;
  bool pump_again_ ABSL_GUARDED_BY(mu_) = false;
  bool kick_posted_ ABSL_GUARDED_BY(mu_) = false;
  bool detached_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_called_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
};

// ---- SessionStream.

void SessionStream::Start() {
  self_ = shared_from_this();
  if (!service_->Register(self_)) {
    {
      MutexLock lock(&mu_);
      phase_ = Phase::kClosed;
      finish_called_ = true;
    }
    Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "the peer is shutting down"));
    return;
  }
  {
    MutexLock lock(&mu_);
    reading_ = true;
  }
  StartRead(&read_buf_);
}

bool SessionStream::PushLocked(ClientReply&& reply, bool is_reply) {
  if (finish_called_ || broken_) return false;
  if (out_.size() >= kMaxQueued) {
    broken_ = true;
    cancel_wanted_ = true;
    out_.clear();
    replies_unsent_ = writing_ && current_is_reply_ ? 1 : 0;
    return false;
  }
  out_.emplace_back(std::move(reply), is_reply);
  if (is_reply) ++replies_unsent_;
  return true;
}

SessionStream::Actions SessionStream::NextLocked() {
  Actions a;
  if (finish_called_) return a;
  if (cancel_wanted_) {
    cancel_wanted_ = false;
    a.cancel = true;
  }
  if (!writing_ && !broken_ && !out_.empty()) {
    current_ = std::move(out_.front().first);
    current_is_reply_ = out_.front().second;
    out_.pop_front();
    writing_ = true;
    a.write = true;
  }
  if (!reading_ && !reads_ended_ && !close_read_ && !cancelled_ && !broken_ &&
      phase_ == Phase::kOpen && InFlightLocked() < kMaxInFlight) {
    reading_ = true;
    a.read = true;
  }
  if (phase_ == Phase::kClosed && !reading_ && !writing_ &&
      (out_.empty() || broken_)) {
    finish_called_ = true;
    a.finish = true;
  }
  return a;
}

void SessionStream::Run(const Actions& a) {
  if (a.cancel) context_->TryCancel();
  if (a.write) StartWrite(&current_);
  if (a.read) StartRead(&read_buf_);
  if (a.finish) {
    grpc::Status status;
    {
      MutexLock lock(&mu_);
      status = finish_status_;
    }
    service_->Unregister(this);
    Finish(std::move(status));
  }
}

void SessionStream::KickLocked() {
  if (kick_posted_ || finish_called_) return;
  kick_posted_ = true;
  service_->Post([self = shared_from_this()] {
    {
      MutexLock lock(&self->mu_);
      self->kick_posted_ = false;
    }
    self->Pump();
  });
}

void SessionStream::ReleaseSlotLocked() {
  if (!holds_slot_) return;
  holds_slot_ = false;
  service_->ReleaseSession();
}

void SessionStream::PushEvent(ClientReply&& event) {
  MutexLock lock(&mu_);
  if (finish_called_) return;
  PushLocked(std::move(event), /*is_reply=*/false);
  KickLocked();
}

void SessionStream::OnReadDone(bool ok) {
  {
    MutexLock lock(&mu_);
    reading_ = false;
    if (ok) {
      // Nothing after a CloseSession runs, so nothing more is read: a read
      // left waiting on the client would keep the stream from finishing
      // once the close's reply is out.
      if (read_buf_.has_close()) close_read_ = true;
      pending_.push_back(std::move(read_buf_));
    } else {
      reads_ended_ = true;
    }
  }
  Pump();
}

void SessionStream::OnWriteDone(bool ok) {
  Actions a;
  {
    MutexLock lock(&mu_);
    writing_ = false;
    if (current_is_reply_ && replies_unsent_ > 0) --replies_unsent_;
    if (!ok) {
      broken_ = true;
      out_.clear();
      replies_unsent_ = 0;
    }
    a = NextLocked();
  }
  Run(a);
}

void SessionStream::OnCancel() {
  {
    MutexLock lock(&mu_);
    cancelled_ = true;
  }
  Pump();
}

void SessionStream::OnDone() {
  std::shared_ptr<SessionStream> self;
  {
    // First (as every reaction does): what Start wrote is seen through mu_.
    MutexLock lock(&mu_);
    ReleaseSlotLocked();
    self = std::move(self_);
  }
  service_->Unregister(this);
  // `self` may be the last reference: this goes when it does.
}

void SessionStream::Pump() {
  {
    MutexLock lock(&mu_);
    if (finish_called_) return;
    if (pumping_) {
      pump_again_ = true;
      return;
    }
    pumping_ = true;
  }
  while (true) {
    bool entered = service_->Enter();
    if (!entered) {
      // Shut down: nothing more reaches the host; the stream ends
      // at once, without waiting for what it had submitted.
      MutexLock lock(&mu_);
      detached_ = true;
      phase_ = Phase::kClosed;
      pending_.clear();
      broken_ = true;
      out_.clear();
      ReleaseSlotLocked();
    }
    while (entered && Step()) {
    }
    if (entered) service_->Leave();
    Actions a;
    {
      MutexLock lock(&mu_);
      if (pump_again_) {
        pump_again_ = false;
        continue;
      }
      pumping_ = false;
      a = NextLocked();
    }
    Run(a);
    return;
  }
}

bool SessionStream::Step() {
  ClientHost* const host = service_->host();
  ClientRequest request;
  enum { kNone, kOpen, kOpened, kSubmit, kAnswer, kClose, kLeave } what =
      kNone;
  std::optional<WriteOutcome> opened;
  int64_t session = 0;
  {
    MutexLock lock(&mu_);
    if (cancelled_ || broken_) pending_.clear();
    switch (phase_) {
      case Phase::kAwaitOpen:
        if (!pending_.empty()) {
          request = std::move(pending_.front());
          pending_.pop_front();
          if (!request.has_open()) {
            ClientReply reply = NewReply(request.id());
            SetError(BadArgumentsError("the first request must open the session"),
                     &reply);
            PushLocked(std::move(reply), true);
            finish_status_ = grpc::Status(
                grpc::StatusCode::INVALID_ARGUMENT,
                "the first request must open the session");
            phase_ = Phase::kClosed;
            return true;
          }
          if (!service_->ReserveSession()) {
            ClientReply reply = NewReply(request.id());
            SetError(MakeError(Error::kConnectionLoss,
                               absl::StrCat("too many sessions at ",
                                            host->ListenAddress())),
                     &reply);
            PushLocked(std::move(reply), true);
            phase_ = Phase::kClosed;
            return true;
          }
          holds_slot_ = true;
          open_id_ = request.id();
          phase_ = Phase::kOpening;
          what = kOpen;
        } else if (reads_ended_ || cancelled_) {
          phase_ = Phase::kClosed;  // gone before opening
          return true;
        }
        break;
      case Phase::kOpening:
        if (open_outcome_.has_value()) {
          opened = std::move(open_outcome_);
          open_outcome_.reset();
          what = kOpened;
        }
        break;
      case Phase::kOpen:
        if (!pending_.empty() && pending_.front().has_close()) {
          // After the requests before it (the host runs the session's
          // writes in order); whatever follows it is not run.
          close_id_ = pending_.front().id();
          pending_.clear();
          phase_ = Phase::kClosing;
          ReleaseSlotLocked();
          what = kClose;
        } else if (!pending_.empty()) {
          ClientRequest& front = pending_.front();
          const bool submitted =
              (front.has_write() &&
               CheckClientWrite(front.write()).ok()) ||
              (front.has_sync() && ValidatePath(front.sync().path()).ok());
          if (submitted) {
            request = std::move(front);
            pending_.pop_front();
            ++writes_outstanding_;
            what = kSubmit;
          } else if (writes_outstanding_ == 0) {
            request = std::move(front);
            pending_.pop_front();
            what = kAnswer;
          }
        } else if ((reads_ended_ || cancelled_ || broken_) &&
                   writes_outstanding_ == 0) {
          // The stream ended (the client half-closed, went away, or
          // Shutdown cancelled it) and its writes' replies went: the
          // session stays open for its timeout, for the client to resume.
          phase_ = Phase::kClosed;
          ReleaseSlotLocked();
          what = kLeave;
        }
        session = session_;
        break;
      case Phase::kClosing:
      case Phase::kClosed:
        break;
    }
  }
  switch (what) {
    case kNone:
      return false;
    case kOpen:
      SubmitOpen(request.open());
      return true;
    case kOpened:
      Opened(std::move(*opened));
      return true;
    case kSubmit: {
      const uint64_t id = request.id();
      if (request.has_write()) {
        SubmitWrite(id, std::move(*request.mutable_write()));
      } else {
        SubmitWrite(id, txn::Request());  // a sync
      }
      return true;
    }
    case kAnswer: {
      std::vector<ClientReply> events;
      ClientReply reply = Answer(std::move(request), &events);
      // Every event of a txn up to it is queued already, so Deliver routes
      // the reply behind them.
      reply.set_zxid(host->LastAppliedZxid());
      Deliver(std::move(events), std::move(reply), /*write_done=*/false,
              /*closes=*/false);
      return true;
    }
    case kClose:
      // Its watches first, silently (nothing registers more: only the pump
      // did), so that the close's own events (its ephemerals) are not sent
      // to it either. The close completes after the stream's earlier
      // writes, whose replies still go out.
      service_->Unhost(session, this);
      SubmitClose();
      return true;
    case kLeave:
      service_->Unhost(session, this);
      return true;
  }
  return false;
}

void SessionStream::Opened(WriteOutcome&& o) {
  ClientHost* const host = service_->host();
  if (o.status.ok() && resume_id_ != 0) {
    // Synced with the leader: the replica holds the session if it is open.
    const std::optional<ClientHost::OpenSession> open =
        host->FindSession(resume_id_);
    if (!open.has_value() ||
        !SessionPasswordMatches(password_, open->password_digest)) {
      o.status = MakeError(
          Error::kSessionExpired,
          absl::StrCat("session 0x", absl::Hex(resume_id_),
                       " is not open (expired or closed), or the password "
                       "is not its own"));
    } else {
      o.zxid = resume_id_;
      timeout_ms_ = open->timeout_ms;  // the one it was opened with
    }
  }
  bool orphan = false;
  {
    MutexLock lock(&mu_);
    if (o.status.ok() && resume_id_ == 0 && (cancelled_ || broken_)) {
      // The client went before it could learn the new session's password:
      // nobody can resume it, so it is closed at once rather than left
      // to expire (a client that only half-closed still reads the reply).
      orphan = true;
      session_ = o.zxid;
      phase_ = Phase::kClosing;
      ReleaseSlotLocked();
    }
  }
  if (orphan) {
    SubmitClose();  // no CloseSession asked (close_id_ 0): no reply
    return;
  }
  if (o.status.ok()) service_->Host(o.zxid, this, auth_);
  MutexLock lock(&mu_);
  ClientReply reply = NewReply(open_id_);
  if (!o.status.ok()) {
    SetError(o.status, &reply);
    PushLocked(std::move(reply), true);
    ReleaseSlotLocked();
    phase_ = Phase::kClosed;
    return;
  }
  session_ = o.zxid;
  phase_ = Phase::kOpen;
  reply.set_session_id(session_);
  reply.set_zxid(host->LastAppliedZxid());
  reply.set_session_password(password_);
  reply.set_session_timeout_ms(timeout_ms_);
  PushLocked(std::move(reply), true);
}

void SessionStream::SubmitOpen(const OpenSession& open) {
  const Options& options = service_->options();
  auth_ = std::make_shared<const AuthInfo>(ConnectionAuth(options, *context_));
  auto done = [self = shared_from_this()](WriteOutcome&& o) {
    MutexLock lock(&self->mu_);
    self->open_outcome_ = std::move(o);
    self->KickLocked();
  };
  // A write parks while no leader serves, for up to the peer's session
  // timeout; then it fails with ConnectionLoss.
  if (open.session_id() != 0) {
    // A resume: a sync first, so that the replica holds the session's
    // create (and everything else the client saw) if the leader does.
    resume_id_ = open.session_id();
    password_ = open.password();
    service_->host()->SubmitAs(0, SystemAuth(), txn::Request(),
                               std::move(done));
    return;
  }
  timeout_ms_ = RemoteSessionTimeoutMs(options, open.timeout_ms());
  absl::StatusOr<std::string> password = NewSessionPassword();
  if (!password.ok()) {
    WriteOutcome failed;
    failed.status = MakeError(Error::kSystemError,
                              std::string(password.status().message()));
    done(std::move(failed));
    return;
  }
  password_ = *std::move(password);
  txn::Request create;
  create.mutable_create_session()->set_timeout_ms(
      static_cast<int32_t>(timeout_ms_));
  create.mutable_create_session()->set_password_digest(
      SessionPasswordDigest(password_));
  service_->host()->SubmitAs(0, SystemAuth(), std::move(create),
                             std::move(done));
}

void SessionStream::SubmitWrite(uint64_t id, txn::Request request) {
  const int multi_ops = request.has_multi() ? request.multi().ops_size() : 0;
  int64_t session;
  {
    MutexLock lock(&mu_);
    session = session_;
  }
  // Runs on the loop thread: builds the reply and queues it, nothing more.
  service_->host()->SubmitAs(
      session, auth_, std::move(request),
      [self = shared_from_this(), id, multi_ops](WriteOutcome&& o) {
        self->WriteDone(WriteReply(id, multi_ops, std::move(o)),
                        /*closes=*/false);
      });
}

void SessionStream::SubmitClose() {
  int64_t session;
  {
    MutexLock lock(&mu_);
    session = session_;
  }
  txn::Request close;
  close.mutable_close_session();
  service_->host()->SubmitAs(
      session, SystemAuth(), std::move(close),
      [self = shared_from_this()](WriteOutcome&& o) {
        uint64_t id;
        {
          MutexLock lock(&self->mu_);
          id = self->close_id_;
        }
        ClientReply reply = NewReply(id);  // id 0: no CloseSession asked
        reply.set_zxid(o.zxid);
        if (!o.status.ok()) SetError(o.status, &reply);
        self->WriteDone(std::move(reply), /*closes=*/true);
      });
}

void SessionStream::WriteDone(ClientReply&& reply, bool closes) {
  MutexLock lock(&mu_);
  if (routed_ && !finish_called_) {
    // The worker may call the host; this thread may not.
    auto shared = std::make_shared<ClientReply>(std::move(reply));
    service_->Post([self = shared_from_this(), shared, closes] {
      self->Deliver({}, std::move(*shared), /*write_done=*/!closes, closes);
    });
    return;
  }
  if (!closes) --writes_outstanding_;
  if (finish_called_) return;
  PushAnswerLocked({}, std::move(reply), closes);
  KickLocked();  // a close finishes once the replies are out
}

void SessionStream::PushAnswerLocked(std::vector<ClientReply> events,
                                     ClientReply&& reply, bool closes) {
  for (ClientReply& event : events) PushLocked(std::move(event), false);
  // A close nobody asked for (an orphan session's) has no reply.
  if (!closes || reply.id() != 0) PushLocked(std::move(reply), true);
  if (closes) phase_ = Phase::kClosed;
}

void SessionStream::Deliver(std::vector<ClientReply> events,
                            ClientReply&& reply, bool write_done,
                            bool closes) {
  {
    MutexLock lock(&mu_);
    if (!routed_ || finish_called_) {
      if (write_done) --writes_outstanding_;
      PushAnswerLocked(std::move(events), std::move(reply), closes);
      if (write_done || closes) KickLocked();
      return;
    }
    ++replies_routing_;
  }
  auto routed = std::make_shared<std::pair<std::vector<ClientReply>,
                                           ClientReply>>(std::move(events),
                                                         std::move(reply));
  service_->host()->RunAfterEvents([self = shared_from_this(), routed,
                                    closes] {
    self->PushRouted(std::move(routed->first), std::move(routed->second),
                     closes);
  });
  if (write_done) {
    // After the hand-over: what is answered next is routed behind it.
    MutexLock lock(&mu_);
    --writes_outstanding_;
    KickLocked();
  }
}

void SessionStream::PushRouted(std::vector<ClientReply>&& events,
                               ClientReply&& reply, bool closes) {
  MutexLock lock(&mu_);
  --replies_routing_;
  if (finish_called_) return;
  PushAnswerLocked(std::move(events), std::move(reply), closes);
  KickLocked();
}

ClientReply SessionStream::Answer(ClientRequest&& request,
                                  std::vector<ClientReply>* events) {
  const uint64_t id = request.id();
  ClientReply reply = NewReply(id);
  if (absl::Status s = CheckClientRequest(request); !s.ok()) {
    SetError(s, &reply);
    return reply;
  }
  switch (request.body_case()) {
    case ClientRequest::kRead:
      return Read(id, request.read());
    case ClientRequest::kSetWatches: {
      const SetWatchesRequest& set = request.set_watches();
      ClientHost::RestoredWatches watches;
      watches.relative_zxid = set.relative_zxid();
      watches.data.assign(set.data().begin(), set.data().end());
      watches.exist.assign(set.exist().begin(), set.exist().end());
      watches.child.assign(set.child().begin(), set.child().end());
      watches.persistent.assign(set.persistent().begin(),
                                set.persistent().end());
      watches.persistent_recursive.assign(set.persistent_recursive().begin(),
                                          set.persistent_recursive().end());
      int64_t session;
      {
        MutexLock lock(&mu_);
        routed_ = true;
        session = session_;
      }
      for (const WatchEvent& e : service_->host()->RestoreWatchesAs(
               session, watches, MakeWatcher())) {
        events->push_back(EventReply(e));
      }
      break;
    }
    case ClientRequest::kAuth: {
      absl::StatusOr<AuthId> identity =
          Authenticate(request.auth().scheme(), request.auth().credentials());
      if (!identity.ok()) {
        SetError(identity.status(), &reply);
        break;
      }
      // A new AuthInfo: writes in flight keep the one they were given.
      auto next = std::make_shared<AuthInfo>(*auth_);
      absl::Status added = AddIdentity(service_->options(),
                                       *std::move(identity), next.get());
      if (!added.ok()) {
        SetError(added, &reply);
        break;
      }
      auth_ = std::move(next);
      int64_t session;
      {
        MutexLock lock(&mu_);
        session = session_;
      }
      if (session != 0) service_->host()->SetWatchAuth(session, auth_);
      break;
    }
    default:
      SetError(BadArgumentsError("a request of unknown or no kind"), &reply);
      break;
  }
  return reply;
}

ClientReply SessionStream::Read(uint64_t id, const ReadRequest& read) {
  ClientHost* const host = service_->host();
  const AuthInfo& auth = *auth_;
  int64_t session;
  {
    MutexLock lock(&mu_);
    session = session_;
  }
  ClientReply reply = NewReply(id);
  Watcher watcher;
  if (read.watch() || read.kind() == ReadRequest::ADD_WATCH) {
    watcher = MakeWatcher();
    MutexLock lock(&mu_);
    routed_ = true;
  }
  const std::string& path = read.path();
  switch (read.kind()) {
    case ReadRequest::GET: {
      absl::StatusOr<Node> node =
          host->GetAs(session, &auth, path, std::move(watcher));
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
          host->ExistsAs(session, path, std::move(watcher));
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
          host->GetChildrenAs(session, &auth, path, std::move(watcher),
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
      absl::StatusOr<AclList> acl = host->GetAclAs(auth, path, &stat);
      if (!acl.ok()) {
        SetError(acl.status(), &reply);
        break;
      }
      reply.set_exists(true);
      AclToProto(*acl, reply.mutable_acl());
      StatToProto(stat, reply.mutable_stat());
      break;
    }
    case ReadRequest::GET_QUOTA: {
      absl::StatusOr<Quota> quota = host->GetQuota(path);
      if (!quota.ok()) {
        SetError(quota.status(), &reply);
        break;
      }
      ClientQuota* q = reply.mutable_quota();
      q->set_count_limit(quota->limits.count);
      q->set_bytes_limit(quota->limits.bytes);
      q->set_count_hard_limit(quota->limits.count_hard);
      q->set_bytes_hard_limit(quota->limits.bytes_hard);
      q->set_count(quota->count);
      q->set_bytes(quota->bytes);
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
      absl::Status s = host->AddWatchAs(
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
      absl::Status s = host->RemoveWatchesAs(
          session, path, static_cast<WatcherType>(type), read.local());
      if (!s.ok()) SetError(s, &reply);
      break;
    }
    case ReadRequest::GET_EPHEMERALS: {
      absl::StatusOr<std::vector<std::string>> paths =
          host->GetEphemeralsAs(session, path);
      if (!paths.ok()) {
        SetError(paths.status(), &reply);
        break;
      }
      for (std::string& p : *paths) reply.add_children(std::move(p));
      break;
    }
    case ReadRequest::ALL_CHILDREN_NUMBER: {
      absl::StatusOr<int32_t> count = host->GetAllChildrenNumberAs(auth, path);
      if (!count.ok()) {
        SetError(count.status(), &reply);
        break;
      }
      reply.set_count(*count);
      break;
    }
    case ReadRequest::WHO_AM_I:
      for (ClientInfo& info : DescribeIdentities(service_->options(), auth)) {
        ClientIdentity* out = reply.add_identities();
        out->set_scheme(std::move(info.scheme));
        out->set_user(std::move(info.user));
      }
      break;
    default:
      SetError(BadArgumentsError("unknown read kind"), &reply);
      break;
  }
  return reply;
}

Watcher SessionStream::MakeWatcher() {
  // May fire after the stream ended: it drops the event then.
  return [self = shared_from_this()](const WatchEvent& e) {
    self->PushEvent(EventReply(e));
  };
}

// ---- ClientService::Impl.

grpc::ServerBidiReactor<ClientRequest, ClientReply>*
ClientService::Impl::Session(grpc::CallbackServerContext* context) {
  auto stream = std::make_shared<SessionStream>(this, context);
  stream->Start();  // holds itself until OnDone
  return stream.get();
}

// Sends a snapshot taken already, a chunk at a time; deletes itself when
// the call is done, and then clears `running` (the peer's one backup at a
// time).
class BackupWriter final : public grpc::ServerWriteReactor<BackupChunk> {
 public:
  // Fails the call with `error`.
  explicit BackupWriter(const grpc::Status& error) {
    Finish(error);
  }
  BackupWriter(Zxid zxid, std::string snapshot,
               std::shared_ptr<std::atomic<bool>> running)
      : snapshot_(std::move(snapshot)), running_(std::move(running)) {
    BackupChunk first;
    first.set_zxid(zxid);
    first.set_total_bytes(static_cast<int64_t>(snapshot_.size()));
    first.set_crc32c(Crc32c(snapshot_.data(), snapshot_.size()));
    first.set_created_ms(absl::ToUnixMillis(absl::Now()));
    WriteNext(std::move(first));
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went"));
      return;
    }
    if (sent_ >= snapshot_.size()) {
      Finish(grpc::Status::OK);
      return;
    }
    WriteNext(BackupChunk());
  }
  void OnDone() override {
    if (running_ != nullptr) running_->store(false);
    delete this;
  }

 private:
  static constexpr size_t kChunkBytes = size_t{1} << 20;
  void WriteNext(BackupChunk chunk) {
    const size_t n = std::min(kChunkBytes, snapshot_.size() - sent_);
    chunk.set_data(snapshot_.substr(sent_, n));
    sent_ += n;
    chunk_ = std::move(chunk);
    StartWrite(&chunk_);
  }

  const std::string snapshot_;
  const std::shared_ptr<std::atomic<bool>> running_;
  size_t sent_ = 0;
  BackupChunk chunk_;
};

// Takes the snapshot on the calling thread (about a second per million
// nodes, under the tree's reader lock: a rare operator's call). One at a
// time: the snapshot is held in memory until it is sent, so another call
// meanwhile is refused with RESOURCE_EXHAUSTED instead of taking another.
grpc::ServerWriteReactor<BackupChunk>* ClientService::Impl::Backup(
    grpc::CallbackServerContext* context, const BackupRequest* request) {
  AuthInfo auth = ConnectionAuth(options_, *context);
  absl::Status added = absl::OkStatus();
  for (const AuthRequest& a : request->auth()) {
    if (!added.ok()) break;
    absl::StatusOr<AuthId> id = Authenticate(a.scheme(), a.credentials());
    added = id.ok() ? AddIdentity(options_, *std::move(id), &auth) : id.status();
  }
  if (!added.ok()) {
    return new BackupWriter(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                         std::string(added.message())));
  }
  if (backup_running_->exchange(true)) {
    return new BackupWriter(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        "a backup of this peer is already under way; try again when it ends"));
  }
  if (!Enter()) {
    backup_running_->store(false);
    return new BackupWriter(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                         "the peer is shutting down"));
  }
  absl::StatusOr<std::pair<Zxid, std::string>> snapshot =
      host_->SnapshotAs(auth);
  Leave();
  if (!snapshot.ok()) {
    backup_running_->store(false);
    return new BackupWriter(
        grpc::Status(ErrorOf(snapshot.status()) == Error::kNoAuth
                         ? grpc::StatusCode::PERMISSION_DENIED
                         : grpc::StatusCode::UNAVAILABLE,
                     std::string(snapshot.status().message())));
  }
  return new BackupWriter(snapshot->first, std::move(snapshot->second),
                          backup_running_);
}

grpc::ServerUnaryReactor* ClientService::Impl::Status(
    grpc::CallbackServerContext* context, const StatusRequest* /*request*/,
    StatusReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!Enter()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 "the peer is shutting down"));
    return reactor;
  }
  const ClientHost::PeerStatus s = host_->GetPeerStatus();
  const Health h = host_->GetHealth();
  Leave();
  reply->set_role(s.role);
  reply->set_epoch(s.epoch);
  reply->set_last_zxid(s.last_zxid);
  reply->set_peer_id(s.peer_id);
  reply->set_leader_id(s.leader_id);
  for (const std::string& peer : s.peers) reply->add_peers(peer);
  reply->set_znode_count(h.znode_count);
  reply->set_session_count(h.session_count);
  reply->set_leader(s.leader);
  reply->set_ensemble_id(s.ensemble_id);
  reply->set_config(s.config);
  reply->set_config_version(s.config_version);
  for (const auto* list : {&s.voters, &s.observers}) {
    for (const EnsembleMember& m : *list) {
      StatusMember* out = reply->add_members();
      out->set_id(m.id);
      out->set_address(m.address);
      out->set_voter(list == &s.voters);
      out->set_state(m.state);
    }
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

bool ClientService::Impl::Enter() {
  MutexLock lock(&mu_);
  if (detached_) return false;
  ++active_;
  return true;
}

void ClientService::Impl::Leave() {
  MutexLock lock(&mu_);
  --active_;
}

bool ClientService::Impl::Register(
    const std::shared_ptr<SessionStream>& stream) {
  MutexLock lock(&mu_);
  if (shut_down_) return false;
  streams_.emplace(stream.get(), stream);
  return true;
}

void ClientService::Impl::Unregister(SessionStream* stream) {
  MutexLock lock(&mu_);
  streams_.erase(stream);
}

bool ClientService::Impl::ReserveSession() {
  MutexLock lock(&mu_);
  if (sessions_ >= options_.max_client_sessions) return false;
  ++sessions_;
  return true;
}

void ClientService::Impl::ReleaseSession() {
  MutexLock lock(&mu_);
  --sessions_;
}

void ClientService::Impl::Host(int64_t id, SessionStream* stream,
                               std::shared_ptr<const AuthInfo> auth) {
  std::shared_ptr<SessionStream> old;
  {
    // The host's calls are made under the registry's lock, so that a
    // stream losing the session cannot un-host it after its new stream
    // hosted it.
    MutexLock lock(&mu_);
    SessionStream*& at = hosts_[id];
    if (at == nullptr) {
      host_->AddHostedSession(id);
    } else if (at != stream) {
      host_->DropWatchesOf(id);  // the old stream's
      if (auto it = streams_.find(at); it != streams_.end()) {
        old = it->second.lock();
      }
    }
    at = stream;
    host_->SetWatchAuth(id, std::move(auth));
  }
  if (old != nullptr) old->Supersede();
}

void ClientService::Impl::Unhost(int64_t id, SessionStream* stream) {
  MutexLock lock(&mu_);
  auto it = hosts_.find(id);
  if (it == hosts_.end() || it->second != stream) return;  // taken over
  hosts_.erase(it);
  host_->DropWatchesOf(id);
  host_->RemoveHostedSession(id);
}

void ClientService::Impl::WatchLeader() {
  const absl::Duration tick = std::max(options_.tick, absl::Milliseconds(10));
  while (true) {
    std::vector<std::shared_ptr<SessionStream>> live;
    {
      MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(
          [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return shut_down_; },
          tick);
      if (shut_down_) return;
      if (host_->ServesClients()) continue;
      for (auto& [stream, weak] : streams_) {
        if (auto s = weak.lock()) live.push_back(std::move(s));
      }
    }
    int ended = 0;
    for (const auto& stream : live) ended += stream->EndIfOpen() ? 1 : 0;
    live.clear();  // the last reference may go here, outside mu_
    if (ended > 0) {
      Log(options_, LogLevel::kInfo,
          absl::StrCat(host_->ListenAddress(), " has no leader: ended ",
                       ended, " client session stream(s) for their clients "
                       "to resume elsewhere"));
    }
  }
}

void ClientService::Impl::Shutdown() {
  std::vector<std::shared_ptr<SessionStream>> live;
  {
    MutexLock lock(&mu_);
    if (worker_stopped_) return;
    shut_down_ = true;
    for (auto& [stream, weak] : streams_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  if (watchdog_.joinable()) watchdog_.join();
  // Each stream ends as if its client had gone: its session stays open
  // for its timeout, for the client to resume at another peer.
  for (const auto& stream : live) stream->Cancel();
  live.clear();
  {
    MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(
        [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return streams_.empty(); },
        kShutdownCloseWait);
    // From here no stream touches the host; the ones left end
    // without waiting for their closes.
    detached_ = true;
    mu_.Await(
        [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return active_ == 0; });
    for (auto& [stream, weak] : streams_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (const auto& stream : live) stream->Pump();
  live.clear();
  worker_.Stop();  // runs the kicks queued so far: they touch nothing more
  MutexLock lock(&mu_);
  worker_stopped_ = true;
}

// ---- ClientService: forwards to Impl.

ClientService::ClientService(ClientHost* host, const Options& options)
    : impl_(std::make_unique<Impl>(host, options)) {}

ClientService::~ClientService() { impl_->Shutdown(); }

grpc::Service* ClientService::service() { return impl_.get(); }

void ClientService::Shutdown() { impl_->Shutdown(); }

}  // namespace synod::transport
