// The client service over a fake ClientHost, served by a GrpcServer on
// loopback port 0: what runs on the host for a remote session (which
// session and identities each request carries, the session's timeout, the
// cap on sessions, the hosted session's life, watch events back on the
// stream), tested without a Coordinator.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "acl/acl.h"
#include "grpcpp/grpcpp.h"
#include "runtime/dispatcher.h"
#include "test_util.h"
#include "transport/client.grpc.pb.h"
#include "transport/client_host.h"
#include "transport/grpc_server.h"
#include "transport/session_secret.h"
#include "util/errors.h"
#include "util/mutex.h"

namespace synod {
namespace {

using transport::ClientReply;
using transport::ClientRequest;
using transport::ReadRequest;

int Code(Error e) { return static_cast<int>(e); }

// A host that records what the service asks of it. Writes complete on a
// thread of its own (as the Coordinator's loop thread), in order: a
// create_session with a new session id, a create with its path; reads are
// answered from `nodes`.
class FakeHost final : public transport::ClientHost {
 public:
  static constexpr int64_t kFirstSession = 0x1000;

  struct Submission {
    int64_t session = 0;
    std::shared_ptr<const AuthInfo> auth;
    txn::Request request;
    Zxid zxid = 0;  // its outcome's
  };
  struct ReadCall {
    int64_t owner = 0;
    std::optional<AuthInfo> auth;  // as given (nullopt: null)
    std::string path;
    bool watched = false;
  };

  explicit FakeHost(std::map<std::string, Node, std::less<>> nodes = {})
      : nodes_(std::move(nodes)) {}
  ~FakeHost() override { loop_.Stop(); }

  void SubmitAs(int64_t session, std::shared_ptr<const AuthInfo> auth,
                txn::Request request, Done done) override {
    WriteOutcome o;
    {
      MutexLock lock(&mu_);
      if (request.has_create_session()) {
        o.zxid = next_session_++;
        sessions_[o.zxid] = {request.create_session().timeout_ms(),
                             request.create_session().password_digest()};
      } else if (request.has_close_session()) {
        o.zxid = ++zxid_;
        sessions_.erase(session);
      } else {
        o.zxid = ++zxid_;
      }
      if (request.has_create()) {
        OpResult r;
        r.type = Op::Type::kCreate;
        r.path = request.create().path();
        r.stat.czxid = o.zxid;
        o.results.push_back(std::move(r));
      }
      submissions_.push_back(
          {session, std::move(auth), std::move(request), o.zxid});
    }
    loop_.Post([done = std::move(done), o = std::move(o)]() mutable {
      done(std::move(o));
    });
  }

  absl::StatusOr<Node> GetAs(int64_t owner, const AuthInfo* auth,
                             std::string_view path, Watcher watcher) override {
    MutexLock lock(&mu_);
    ReadCall call;
    call.owner = owner;
    if (auth) call.auth = *auth;
    call.path = std::string(path);
    call.watched = static_cast<bool>(watcher);
    reads_.push_back(std::move(call));
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return NoNodeError(path);
    if (watcher) watchers_.push_back({owner, std::string(path), watcher});
    return it->second;
  }
  absl::StatusOr<std::vector<std::string>> GetChildrenAs(
      int64_t, const AuthInfo*, std::string_view, Watcher, Stat*) override {
    return absl::UnimplementedError("not in the fake");
  }
  absl::StatusOr<std::optional<Stat>> ExistsAs(int64_t, std::string_view,
                                               Watcher) override {
    return absl::UnimplementedError("not in the fake");
  }
  absl::StatusOr<AclList> GetAclAs(const AuthInfo&, std::string_view,
                                   Stat*) override {
    return absl::UnimplementedError("not in the fake");
  }
  absl::StatusOr<Quota> GetQuota(std::string_view) override {
    return absl::UnimplementedError("not in the fake");
  }
  absl::Status AddWatchAs(int64_t, std::string_view, WatchMode,
                          Watcher) override {
    return absl::UnimplementedError("not in the fake");
  }
  absl::StatusOr<std::pair<Zxid, std::string>> SnapshotAs(
      const AuthInfo&) override {
    return absl::UnimplementedError("not in the fake");
  }
  absl::StatusOr<std::vector<std::string>> GetEphemeralsAs(
      int64_t, std::string_view) override {
    return absl::UnimplementedError("not in the fake");
  }
  absl::StatusOr<int32_t> GetAllChildrenNumberAs(const AuthInfo&,
                                                 std::string_view) override {
    return absl::UnimplementedError("not in the fake");
  }
  absl::Status RemoveWatchesAs(int64_t, std::string_view, WatcherType,
                               bool) override {
    return absl::UnimplementedError("not in the fake");
  }
  int64_t DropWatchesOf(int64_t owner) override {
    MutexLock lock(&mu_);
    dropped_.push_back(owner);
    int64_t n = 0;
    for (auto it = watchers_.begin(); it != watchers_.end();) {
      if (it->owner == owner) {
        it = watchers_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

  void SetWatchAuth(int64_t, std::shared_ptr<const AuthInfo>) override {}
  void AddHostedSession(int64_t id) override {
    MutexLock lock(&mu_);
    hosted_.insert(id);
  }
  void RemoveHostedSession(int64_t id) override {
    MutexLock lock(&mu_);
    hosted_.erase(id);
  }

  PeerStatus GetPeerStatus() const override {
    PeerStatus s;
    s.role = "follower";
    s.epoch = 7;
    s.last_zxid = 42;
    s.peer_id = 2;
    s.leader_id = 1;
    s.leader = "10.0.0.1:2181";
    s.peers = {"10.0.0.1:2181", "10.0.0.2:2181"};
    return s;
  }
  Health GetHealth() const override {
    Health h;
    h.znode_count = 11;
    h.session_count = 3;
    return h;
  }
  std::string ListenAddress() const override { return "fake-host:2181"; }
  // A ZooKeeper protocol's call, which the client service never makes.
  bool HasWatchesAs(int64_t, std::string_view, WatcherType) override {
    return false;
  }
  // Records what it is given, registers its data watches and returns the
  // events set by SetMissed.
  std::vector<WatchEvent> RestoreWatchesAs(int64_t owner,
                                           const RestoredWatches& w,
                                           Watcher watcher) override {
    MutexLock lock(&mu_);
    restored_.push_back({owner, w});
    for (const std::string& path : w.data) {
      watchers_.push_back({owner, path, watcher});
    }
    return missed_;
  }
  void SetMissed(std::vector<WatchEvent> missed) {
    MutexLock lock(&mu_);
    missed_ = std::move(missed);
  }
  std::vector<std::pair<int64_t, RestoredWatches>> restored() const {
    MutexLock lock(&mu_);
    return restored_;
  }
  std::optional<OpenSession> FindSession(int64_t id) const override {
    MutexLock lock(&mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return std::nullopt;
    return it->second;
  }
  Zxid LastAppliedZxid() const override { return 42; }
  bool ServesClients() const override { return serves_.load(); }
  void SetServes(bool serves) { serves_.store(serves); }
  // On the host's thread, as the Coordinator's dispatcher: after the
  // events queued before it.
  void RunAfterEvents(std::function<void()> task) override {
    loop_.Post(std::move(task));
  }
  // Holds the host's thread (its events and RunAfterEvents' tasks wait)
  // until Release.
  void Hold() {
    auto held = std::make_shared<absl::Notification>();
    {
      MutexLock lock(&mu_);
      held_ = held;
    }
    loop_.Post([held] { held->WaitForNotification(); });
  }
  void Release() {
    MutexLock lock(&mu_);
    if (held_) held_->Notify();
    held_.reset();
  }

  // Fires the data watches registered on `path` (one-shot), on the host's
  // thread as the Coordinator's dispatcher would.
  void FireDataChanged(const std::string& path) {
    MutexLock lock(&mu_);
    for (auto it = watchers_.begin(); it != watchers_.end();) {
      if (it->path == path) {
        Watcher w = std::move(it->watcher);
        loop_.Post([w, path] {
          w(WatchEvent{EventType::kDataChanged, SessionState::kConnected,
                       path});
        });
        it = watchers_.erase(it);
      } else {
        ++it;
      }
    }
  }

  std::vector<Submission> submissions() const {
    MutexLock lock(&mu_);
    return submissions_;
  }
  std::vector<ReadCall> reads() const {
    MutexLock lock(&mu_);
    return reads_;
  }
  std::set<int64_t> hosted() const {
    MutexLock lock(&mu_);
    return hosted_;
  }
  std::vector<int64_t> dropped() const {
    MutexLock lock(&mu_);
    return dropped_;
  }
  size_t watch_count() const {
    MutexLock lock(&mu_);
    return watchers_.size();
  }

 private:
  struct Registered {
    int64_t owner = 0;
    std::string path;
    Watcher watcher;
  };

  mutable Mutex mu_;
  const std::map<std::string, Node, std::less<>> nodes_;
  int64_t next_session_ ABSL_GUARDED_BY(mu_) = kFirstSession;
  Zxid zxid_ ABSL_GUARDED_BY(mu_) = 100;
  std::vector<Submission> submissions_ ABSL_GUARDED_BY(mu_);
  std::vector<ReadCall> reads_ ABSL_GUARDED_BY(mu_);
  std::vector<Registered> watchers_ ABSL_GUARDED_BY(mu_);
  std::set<int64_t> hosted_ ABSL_GUARDED_BY(mu_);
  // The open sessions (created, not closed).
  std::map<int64_t, OpenSession> sessions_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> dropped_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<int64_t, RestoredWatches>> restored_
      ABSL_GUARDED_BY(mu_);
  std::vector<WatchEvent> missed_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<absl::Notification> held_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> serves_{true};
  Dispatcher loop_;  // last: stopped first, while the rest is alive
};

// Options for a service on loopback port 0.
Options ServiceOptions() {
  Options o;
  o.listen = "127.0.0.1:0";
  o.tick = absl::Milliseconds(100);
  o.session_timeout = absl::Seconds(10);
  return o;
}

// A GrpcServer serving `host` (which must outlive it) on a port of its
// choosing.
struct Served {
  Served(transport::ClientHost* host, const Options& options)
      : server(options, host, nullptr) {
    const absl::Status started = server.Start();
    INFO(started.ToString());
    REQUIRE(started.ok());
    REQUIRE(server.port() != 0);
    address = "127.0.0.1:" + std::to_string(server.port());
  }
  transport::GrpcServer server;
  std::string address;
};

// One Session stream, its replies read in order, its watch events (id 0)
// set aside.
class Stream {
 public:
  explicit Stream(const std::string& address)
      : stub_(transport::Client::NewStub(grpc::CreateChannel(
            address, grpc::InsecureChannelCredentials()))) {
    // A bug must fail the test, not hang it.
    context_.set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(60));
    stream_ = stub_->Session(&context_);
  }

  // Sends `request` (numbered here) and returns its reply.
  ClientReply Call(ClientRequest request) {
    const uint64_t id = Send(std::move(request));
    ClientReply reply = NextReply();
    REQUIRE(reply.id() == id);
    return reply;
  }
  // Sends `request` (numbered here) without waiting; returns its id.
  uint64_t Send(ClientRequest request) {
    request.set_id(next_id_++);
    REQUIRE(stream_->Write(request));
    return request.id();
  }
  // The next reply, its watch events set aside.
  ClientReply NextReply() {
    ClientReply reply;
    while (true) {
      REQUIRE(stream_->Read(&reply));
      if (reply.id() != 0) return reply;
      events_.push_back(reply.event());
    }
  }
  ClientReply Open(int64_t timeout_ms = 0) {
    ClientRequest r;
    r.mutable_open()->set_timeout_ms(timeout_ms);
    return Call(std::move(r));
  }
  ClientReply Resume(int64_t session, const std::string& password) {
    ClientRequest r;
    r.mutable_open()->set_session_id(session);
    r.mutable_open()->set_password(password);
    return Call(std::move(r));
  }
  ClientReply Close() {
    ClientRequest r;
    r.mutable_close();
    return Call(std::move(r));
  }
  ClientReply Auth(const std::string& credentials) {
    ClientRequest r;
    r.mutable_auth()->set_scheme("digest");
    r.mutable_auth()->set_credentials(credentials);
    return Call(std::move(r));
  }
  ClientReply Create(const std::string& path) {
    ClientRequest r;
    r.mutable_write()->mutable_create()->set_path(path);
    return Call(std::move(r));
  }
  ClientReply Get(const std::string& path, bool watch = false) {
    ClientRequest r;
    r.mutable_read()->set_kind(ReadRequest::GET);
    r.mutable_read()->set_path(path);
    r.mutable_read()->set_watch(watch);
    return Call(std::move(r));
  }
  ClientReply SetWatches(transport::SetWatchesRequest set) {
    ClientRequest r;
    *r.mutable_set_watches() = std::move(set);
    return Call(std::move(r));
  }
  // The watch events that came before the replies read so far, taken.
  std::vector<transport::ClientWatchEvent> TakeEvents() {
    return std::exchange(events_, {});
  }
  // Waits for the next watch event.
  transport::ClientWatchEvent NextEvent() {
    if (events_.empty()) {
      ClientReply reply;
      REQUIRE(stream_->Read(&reply));
      REQUIRE(reply.id() == 0);
      return reply.event();
    }
    transport::ClientWatchEvent e = events_.front();
    events_.erase(events_.begin());
    return e;
  }
  // Waits until the service ends the stream (without half-closing it);
  // returns how it ended.
  grpc::Status AwaitEnd() {
    ClientReply reply;
    while (stream_->Read(&reply)) {
    }
    return stream_->Finish();
  }
  // Half-closes the stream and waits until the service ends it; returns
  // how it ended.
  grpc::Status End() {
    stream_->WritesDone();  // false if the service ended the stream first
    ClientReply reply;
    while (stream_->Read(&reply)) {
    }
    return stream_->Finish();
  }

 private:
  std::unique_ptr<transport::Client::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<
      grpc::ClientReaderWriter<ClientRequest, ClientReply>>
      stream_;
  uint64_t next_id_ = 1;
  std::vector<transport::ClientWatchEvent> events_;
};

TEST_CASE("client service, fake host: a stream's session is created with a "
          "password, outlives its stream, resumes with the password, and "
          "ends by CloseSession",
          "[client_service][fake_host]") {
  FakeHost host;
  Served served(&host, ServiceOptions());
  Stream stream(served.address);
  const ClientReply opened = stream.Open(5000);
  REQUIRE(opened.error() == 0);
  const int64_t session = opened.session_id();
  CHECK(session == FakeHost::kFirstSession);
  const std::string password = opened.session_password();
  CHECK(password.size() == transport::kSessionPasswordBytes);
  CHECK(opened.session_timeout_ms() == 5000);

  // Created by a system request of no session, with the timeout asked for
  // and the password's digest (the password itself never reaches it).
  std::vector<FakeHost::Submission> subs = host.submissions();
  REQUIRE(subs.size() == 1);
  CHECK(subs[0].session == 0);
  REQUIRE(subs[0].request.has_create_session());
  CHECK(subs[0].request.create_session().timeout_ms() == 5000);
  CHECK(subs[0].request.create_session().password_digest() ==
        transport::SessionPasswordDigest(password));
  CHECK(subs[0].auth->super);
  // Kept alive by the host while the stream lives.
  CHECK(host.hosted() == std::set<int64_t>{session});
  CHECK(host.dropped().empty());

  CHECK(stream.End().ok());
  // Ended: no longer hosted, its watches dropped, but not closed: it
  // stays open for its timeout. (The service lets the session go once the
  // stream is done on its side, which may come just after the client has
  // seen it end.)
  CHECK(testing::WaitFor(
      [&] { return host.hosted().empty() && !host.dropped().empty(); },
      absl::Seconds(10)));
  CHECK(host.dropped() == std::vector<int64_t>{session});
  CHECK(host.submissions().size() == 1);

  // Another password (or none) does not resume it.
  for (const std::string& wrong : {std::string(16, 'x'), std::string()}) {
    Stream intruder(served.address);
    const ClientReply refused = intruder.Resume(session, wrong);
    CHECK(refused.error() == Code(Error::kSessionExpired));
    CHECK(refused.session_id() == 0);
    CHECK(refused.session_password().empty());
    CHECK(intruder.AwaitEnd().ok());
  }
  CHECK(host.hosted().empty());

  // Its password does, after a sync, with the timeout it was opened with.
  Stream again(served.address);
  const ClientReply resumed = again.Resume(session, password);
  REQUIRE(resumed.error() == 0);
  CHECK(resumed.session_id() == session);
  CHECK(resumed.session_timeout_ms() == 5000);
  subs = host.submissions();
  REQUIRE(subs.size() == 4);  // the two refused resumes' syncs, this one's
  CHECK(subs[3].request.body_case() == txn::Request::BODY_NOT_SET);
  CHECK(host.hosted() == std::set<int64_t>{session});
  REQUIRE(again.Create("/a").error() == 0);
  CHECK(host.submissions().back().session == session);

  // CloseSession: closed as the system, after the stream's writes; its
  // reply, then the stream's end.
  const ClientReply closed = again.Close();
  CHECK(closed.error() == 0);
  CHECK(again.AwaitEnd().ok());
  subs = host.submissions();
  REQUIRE(subs.size() == 6);
  CHECK(subs[5].session == session);
  CHECK(subs[5].request.has_close_session());
  CHECK(subs[5].auth->super);
  CHECK(host.hosted().empty());
  // Closed, it resumes no more.
  Stream late(served.address);
  CHECK(late.Resume(session, password).error() ==
        Code(Error::kSessionExpired));
  CHECK(late.AwaitEnd().ok());
}

TEST_CASE("client service, fake host: a session resumed on a new stream "
          "while its old stream lives is the new stream's",
          "[client_service][fake_host]") {
  FakeHost host({{"/r", Node{}}});
  Served served(&host, ServiceOptions());
  Stream old_stream(served.address);
  const ClientReply opened = old_stream.Open();
  REQUIRE(opened.error() == 0);
  const int64_t session = opened.session_id();
  REQUIRE(old_stream.Get("/r", /*watch=*/true).error() == 0);
  REQUIRE(host.watch_count() == 1);

  // The client lost the old stream without this peer noticing, and
  // resumes here: the new stream takes the session over, the old one's
  // watch goes and the old stream is ended.
  Stream fresh(served.address);
  REQUIRE(fresh.Resume(session, opened.session_password()).error() == 0);
  CHECK(old_stream.AwaitEnd().error_code() == grpc::StatusCode::CANCELLED);
  CHECK(host.watch_count() == 0);
  // The old stream's end left the session hosted: it is the new one's.
  CHECK(host.hosted() == std::set<int64_t>{session});
  REQUIRE(fresh.Get("/r", /*watch=*/true).error() == 0);
  CHECK(host.watch_count() == 1);
  CHECK(fresh.End().ok());
  CHECK(host.hosted().empty());
  CHECK(host.watch_count() == 0);
}

TEST_CASE("client service, fake host: a session's timeout is the peer's "
          "default or clamped to its range",
          "[client_service][fake_host]") {
  FakeHost host;
  Served served(&host, ServiceOptions());
  // 0: the peer's default (10 s); 1 ms: at least 20 ticks (2 s); an hour:
  // at most 10 minutes.
  for (const int64_t asked : {int64_t{0}, int64_t{1}, int64_t{3600 * 1000}}) {
    Stream stream(served.address);
    REQUIRE(stream.Open(asked).error() == 0);
    CHECK(stream.End().ok());
  }
  const std::vector<FakeHost::Submission> subs = host.submissions();
  std::vector<int32_t> timeouts;
  for (const FakeHost::Submission& s : subs) {
    if (s.request.has_create_session()) {
      timeouts.push_back(s.request.create_session().timeout_ms());
    }
  }
  CHECK(timeouts == std::vector<int32_t>{10000, 2000, 600000});
}

TEST_CASE("client service, fake host: a write runs as the stream's session "
          "with the stream's identities",
          "[client_service][fake_host]") {
  FakeHost host;
  Options options = ServiceOptions();
  options.max_auth_ids = 1;
  Served served(&host, options);
  Stream stream(served.address);
  const int64_t session = stream.Open().session_id();
  REQUIRE(session == FakeHost::kFirstSession);
  REQUIRE(stream.Auth("alice:secret").error() == 0);
  // A second identity is past max_auth_ids: refused, the first kept.
  CHECK(stream.Auth("bob:secret").error() == Code(Error::kBadArguments));

  const ClientReply created = stream.Create("/a");
  REQUIRE(created.error() == 0);
  REQUIRE(created.results_size() == 1);
  CHECK(created.results(0).path() == "/a");
  CHECK(created.zxid() == created.stat().czxid());

  const std::vector<FakeHost::Submission> subs = host.submissions();
  REQUIRE(subs.size() == 2);  // the session's creation, then the write
  const FakeHost::Submission& write = subs[1];
  CHECK(write.session == session);
  REQUIRE(write.request.has_create());
  CHECK(write.request.create().path() == "/a");
  absl::StatusOr<AuthId> alice = Authenticate("digest", "alice:secret");
  REQUIRE(alice.ok());
  REQUIRE(write.auth != nullptr);
  CHECK(write.auth->ids == std::vector<AuthId>{*alice});
  CHECK(write.auth->ip == "127.0.0.1");
  CHECK(!write.auth->super);
  CHECK(stream.End().ok());
}

TEST_CASE("client service, fake host: the super digest makes a stream super",
          "[client_service][fake_host]") {
  FakeHost host;
  Options options = ServiceOptions();
  absl::StatusOr<AuthId> root = Authenticate("digest", "root:pw");
  REQUIRE(root.ok());
  options.super_digest = root->id;
  Served served(&host, options);
  Stream stream(served.address);
  REQUIRE(stream.Open().error() == 0);
  REQUIRE(stream.Auth("root:pw").error() == 0);
  REQUIRE(stream.Create("/s").error() == 0);
  const std::vector<FakeHost::Submission> subs = host.submissions();
  REQUIRE(subs.size() == 2);
  CHECK(subs[1].auth->super);
  CHECK(stream.End().ok());
}

TEST_CASE("client service, fake host: a read runs as the stream's session "
          "with its identities, and its watch fires on the stream",
          "[client_service][fake_host]") {
  Node node;
  node.data = "hello";
  node.stat.version = 3;
  node.stat.mzxid = 77;
  FakeHost host({{"/r", node}});
  Served served(&host, ServiceOptions());
  Stream stream(served.address);
  const int64_t session = stream.Open().session_id();
  REQUIRE(stream.Auth("alice:secret").error() == 0);

  const ClientReply got = stream.Get("/r", /*watch=*/true);
  REQUIRE(got.error() == 0);
  CHECK(got.exists());
  CHECK(got.data() == "hello");
  CHECK(got.stat().version() == 3);
  CHECK(got.stat().mzxid() == 77);
  // The host's answer, passed through: NoNode.
  const ClientReply missing = stream.Get("/missing");
  CHECK(missing.error() == Code(Error::kNoNode));
  CHECK(!missing.exists());

  const std::vector<FakeHost::ReadCall> reads = host.reads();
  REQUIRE(reads.size() == 2);
  CHECK(reads[0].owner == session);
  CHECK(reads[0].path == "/r");
  CHECK(reads[0].watched);
  REQUIRE(reads[0].auth.has_value());
  absl::StatusOr<AuthId> alice = Authenticate("digest", "alice:secret");
  REQUIRE(alice.ok());
  CHECK(reads[0].auth->ids == std::vector<AuthId>{*alice});
  CHECK(reads[0].auth->ip == "127.0.0.1");
  CHECK(!reads[1].watched);

  // The watch's event comes back on the stream.
  REQUIRE(host.watch_count() == 1);
  host.FireDataChanged("/r");
  const transport::ClientWatchEvent e = stream.NextEvent();
  CHECK(e.type() == static_cast<int32_t>(EventType::kDataChanged));
  CHECK(e.path() == "/r");
  CHECK(stream.End().ok());
}

TEST_CASE("client service, fake host: a stream's watches are dropped when "
          "it ends",
          "[client_service][fake_host]") {
  FakeHost host({{"/r", Node{}}});
  Served served(&host, ServiceOptions());
  Stream stream(served.address);
  const int64_t session = stream.Open().session_id();
  REQUIRE(stream.Get("/r", /*watch=*/true).error() == 0);
  REQUIRE(host.watch_count() == 1);
  CHECK(stream.End().ok());
  // Dropped once the stream is done on the service's side too, which may
  // come just after the client has seen it end.
  CHECK(testing::WaitFor([&] { return !host.dropped().empty(); },
                         absl::Seconds(10)));
  CHECK(host.dropped() == std::vector<int64_t>{session});
  CHECK(host.watch_count() == 0);
}

TEST_CASE("client service, fake host: once a stream has a watch, a reply "
          "follows the watch events queued before it, and carries the "
          "replica's zxid",
          "[client_service][fake_host]") {
  FakeHost host({{"/r", Node{}}});
  Served served(&host, ServiceOptions());
  Stream stream(served.address);
  const ClientReply opened = stream.Open();
  REQUIRE(opened.error() == 0);
  CHECK(opened.zxid() == 42);
  REQUIRE(stream.Get("/r", /*watch=*/true).error() == 0);
  // The change's event waits on the host's thread when the next read is
  // answered: the read's reply (whose zxid covers the change) comes after
  // it, as a client that resumes elsewhere with that zxid would need.
  host.Hold();
  host.FireDataChanged("/r");
  ClientRequest get;
  get.mutable_read()->set_kind(ReadRequest::GET);
  get.mutable_read()->set_path("/r");
  auto released = std::async(std::launch::async, [&host] {
    absl::SleepFor(absl::Milliseconds(200));
    host.Release();
  });
  const ClientReply reply = stream.Call(std::move(get));
  released.get();
  CHECK(reply.error() == 0);
  CHECK(reply.zxid() == 42);
  const std::vector<transport::ClientWatchEvent> before = stream.TakeEvents();
  REQUIRE(before.size() == 1);
  CHECK(before[0].type() == static_cast<int32_t>(EventType::kDataChanged));
  CHECK(before[0].path() == "/r");
  // A write's reply carries its own zxid.
  const ClientReply created = stream.Create("/x");
  REQUIRE(created.error() == 0);
  CHECK(created.zxid() == host.submissions().back().zxid);
  CHECK(stream.End().ok());
}

TEST_CASE("client service, fake host: a CloseSession sent behind requests "
          "still waiting ends the stream once its reply is out",
          "[client_service][fake_host]") {
  FakeHost host({{"/r", Node{}}});
  Served served(&host, ServiceOptions());
  Stream stream(served.address);
  REQUIRE(stream.Open().error() == 0);
  // The create's completion waits on the host's thread, so the read
  // behind it waits in the stream, and the close behind both: the service
  // reads the close while it still has requests to run.
  host.Hold();
  ClientRequest create;
  create.mutable_write()->mutable_create()->set_path("/a");
  ClientRequest get;
  get.mutable_read()->set_kind(ReadRequest::GET);
  get.mutable_read()->set_path("/r");
  ClientRequest close;
  close.mutable_close();
  const uint64_t create_id = stream.Send(std::move(create));
  const uint64_t get_id = stream.Send(std::move(get));
  const uint64_t close_id = stream.Send(std::move(close));
  absl::SleepFor(absl::Milliseconds(200));  // for the service to read all
  host.Release();
  const ClientReply created = stream.NextReply();
  CHECK(created.id() == create_id);
  CHECK(created.error() == 0);
  const ClientReply got = stream.NextReply();
  CHECK(got.id() == get_id);
  CHECK(got.error() == 0);
  const ClientReply closed = stream.NextReply();
  CHECK(closed.id() == close_id);
  CHECK(closed.error() == 0);
  // Ended by the service, with no read of the client's left waiting
  // (before, one was, and the stream ran into its deadline).
  CHECK(stream.AwaitEnd().ok());
  CHECK(host.submissions().back().request.has_close_session());
}

TEST_CASE("client service, fake host: a resumed session's watches are set "
          "again from the zxid its client saw, the events it missed before "
          "the reply, and a bad path sets none",
          "[client_service][fake_host]") {
  FakeHost host({{"/r", Node{}}});
  Served served(&host, ServiceOptions());
  Stream first(served.address);
  const ClientReply opened = first.Open();
  REQUIRE(opened.error() == 0);
  const int64_t session = opened.session_id();
  CHECK(first.End().ok());

  Stream stream(served.address);
  REQUIRE(stream.Resume(session, opened.session_password()).error() == 0);
  // A bad path: BadArguments, and nothing is set.
  transport::SetWatchesRequest bad;
  bad.add_data("/r");
  bad.add_child("no-slash");
  CHECK(stream.SetWatches(bad).error() == Code(Error::kBadArguments));
  CHECK(host.restored().empty());

  host.SetMissed({WatchEvent{EventType::kCreated, SessionState::kConnected,
                             "/born"}});
  transport::SetWatchesRequest set;
  set.set_relative_zxid(40);
  set.add_data("/r");
  set.add_exist("/born");
  set.add_child("/c");
  set.add_persistent("/p");
  set.add_persistent_recursive("/q");
  const ClientReply reply = stream.SetWatches(set);
  REQUIRE(reply.error() == 0);
  CHECK(reply.zxid() == 42);
  const std::vector<transport::ClientWatchEvent> missed = stream.TakeEvents();
  REQUIRE(missed.size() == 1);
  CHECK(missed[0].type() == static_cast<int32_t>(EventType::kCreated));
  CHECK(missed[0].path() == "/born");
  const auto restored = host.restored();
  REQUIRE(restored.size() == 1);
  CHECK(restored[0].first == session);
  const transport::ClientHost::RestoredWatches& w = restored[0].second;
  CHECK(w.relative_zxid == 40);
  CHECK(w.data == std::vector<std::string>{"/r"});
  CHECK(w.exist == std::vector<std::string>{"/born"});
  CHECK(w.child == std::vector<std::string>{"/c"});
  CHECK(w.persistent == std::vector<std::string>{"/p"});
  CHECK(w.persistent_recursive == std::vector<std::string>{"/q"});
  // The watch set again fires on this stream.
  host.FireDataChanged("/r");
  const transport::ClientWatchEvent e = stream.NextEvent();
  CHECK(e.type() == static_cast<int32_t>(EventType::kDataChanged));
  CHECK(e.path() == "/r");
  CHECK(stream.End().ok());
}

TEST_CASE("client service, fake host: while no leader serves the peer, an "
          "open session's stream ends and the session stays to resume",
          "[client_service][fake_host]") {
  FakeHost host({{"/r", Node{}}});
  Served served(&host, ServiceOptions());
  Stream stream(served.address);
  const ClientReply opened = stream.Open();
  REQUIRE(opened.error() == 0);
  const int64_t session = opened.session_id();
  REQUIRE(stream.Get("/r", /*watch=*/true).error() == 0);

  // The peer loses its leader: within a tick or two the stream ends (the
  // client is told to go elsewhere), its watches dropped, its session
  // neither closed nor hosted here any more.
  host.SetServes(false);
  CHECK(stream.AwaitEnd().error_code() == grpc::StatusCode::CANCELLED);
  CHECK(testing::WaitFor([&] { return host.hosted().empty(); },
                         absl::Seconds(10)));
  CHECK(host.dropped() == std::vector<int64_t>{session});
  for (const FakeHost::Submission& sub : host.submissions()) {
    CHECK_FALSE(sub.request.has_close_session());
  }

  // With a leader again, the client resumes it.
  host.SetServes(true);
  Stream again(served.address);
  REQUIRE(again.Resume(session, opened.session_password()).error() == 0);
  REQUIRE(again.Get("/r").error() == 0);
  CHECK(again.End().ok());
}

TEST_CASE("client service, fake host: sessions past max_client_sessions are "
          "refused until one ends",
          "[client_service][fake_host]") {
  FakeHost host;
  Options options = ServiceOptions();
  options.max_client_sessions = 1;
  Served served(&host, options);
  Stream first(served.address);
  REQUIRE(first.Open().error() == 0);

  Stream second(served.address);
  const ClientReply refused = second.Open();
  CHECK(refused.error() == Code(Error::kConnectionLoss));
  CHECK_THAT(refused.message(),
             Catch::Contains("too many sessions at fake-host:2181"));
  CHECK(second.End().ok());
  // Refused before the host saw anything of it.
  CHECK(host.submissions().size() == 1);
  CHECK(host.hosted().size() == 1);

  // Once the first stream has ended, its slot is free.
  CHECK(first.End().ok());
  Stream third(served.address);
  const ClientReply opened = third.Open();
  CHECK(opened.error() == 0);
  CHECK(host.hosted() == std::set<int64_t>{opened.session_id()});
  CHECK(third.End().ok());
}

TEST_CASE("client service, fake host: Status answers with the host's view",
          "[client_service][fake_host]") {
  FakeHost host;
  Served served(&host, ServiceOptions());
  auto stub = transport::Client::NewStub(grpc::CreateChannel(
      served.address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  transport::StatusReply reply;
  REQUIRE(stub->Status(&context, transport::StatusRequest(), &reply).ok());
  CHECK(reply.role() == "follower");
  CHECK(reply.epoch() == 7);
  CHECK(reply.last_zxid() == 42);
  CHECK(reply.peer_id() == 2);
  CHECK(reply.leader_id() == 1);
  CHECK(reply.leader() == "10.0.0.1:2181");
  CHECK(reply.peers_size() == 2);
  CHECK(reply.znode_count() == 11);
  CHECK(reply.session_count() == 3);
}

TEST_CASE("grpc server: a busy address is refused, naming it",
          "[client_service][fake_host]") {
  FakeHost host;
  Served first(&host, ServiceOptions());
  Options options = ServiceOptions();
  options.listen = first.address;
  transport::GrpcServer second(options, &host, nullptr);
  const absl::Status s = second.Start();
  REQUIRE(!s.ok());
  CHECK(ErrorOf(s) == Error::kBadArguments);
  CHECK(s.message() == "cannot listen on " + first.address + ": address " +
                           first.address + " is in use");
  CHECK(second.port() == 0);
  // The first serves on.
  Stream stream(first.address);
  CHECK(stream.Open().error() == 0);
  CHECK(stream.End().ok());
}

}  // namespace
}  // namespace synod
