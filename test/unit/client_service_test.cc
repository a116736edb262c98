// The Client service end to end over loopback gRPC: a remote session's
// watches are its own (ADD_WATCH, REMOVE_WATCHES), apart from the local
// Coordinator's on the same paths, and go when its stream ends; and the
// peer's resources stay bounded whatever remote clients do (one owner per
// address, capped sessions and connections, idle connections closed, no
// thread per session, bad input answered with BadArguments).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "test_util.h"
#include "transport/client.grpc.pb.h"
#include "util/errors.h"

namespace synod {
namespace {

using synod::testing::EventLog;
using synod::testing::FreePort;

using synod::testing::ListeningPeer;

// One remote session: a raw Session stream, its replies read in order and
// its watch events (id 0) set aside as they come.
class RemoteSession {
 public:
  explicit RemoteSession(const std::string& address)
      : stub_(transport::Client::NewStub(grpc::CreateChannel(
            address, grpc::InsecureChannelCredentials()))) {
    // A bug must fail the test, not hang it.
    context_.set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(60));
    stream_ = stub_->Session(&context_);
    transport::ClientRequest open;
    open.mutable_open();
    const transport::ClientReply opened = Call(std::move(open));
    REQUIRE(opened.error() == 0);
    session_id_ = opened.session_id();
    REQUIRE(session_id_ != 0);
  }

  // Sends `request` (numbered here) and returns its reply; events that come
  // before it are kept.
  transport::ClientReply Call(transport::ClientRequest request) {
    request.set_id(next_id_++);
    if (!stream_->Write(request)) {
      const grpc::Status status = stream_->Finish();
      FAIL("the stream ended: " << status.error_code() << " "
                                << status.error_message());
    }
    transport::ClientReply reply;
    while (true) {
      if (!stream_->Read(&reply)) {
        const grpc::Status status = stream_->Finish();
        FAIL("the stream ended: " << status.error_code() << " "
                                  << status.error_message());
      }
      if (reply.id() == 0) {
        events_.push_back(reply.event());
        continue;
      }
      REQUIRE(reply.id() == request.id());
      return reply;
    }
  }

  transport::ClientReply Read(transport::ReadRequest::Kind kind,
                              const std::string& path, bool watch = false) {
    transport::ClientRequest request;
    request.mutable_read()->set_kind(kind);
    request.mutable_read()->set_path(path);
    request.mutable_read()->set_watch(watch);
    return Call(std::move(request));
  }
  transport::ClientReply AddWatch(const std::string& path, int32_t mode) {
    transport::ClientRequest request;
    request.mutable_read()->set_kind(transport::ReadRequest::ADD_WATCH);
    request.mutable_read()->set_path(path);
    request.mutable_read()->set_watch_mode(mode);
    return Call(std::move(request));
  }
  transport::ClientReply AddWatch(const std::string& path, WatchMode mode) {
    return AddWatch(path, static_cast<int32_t>(mode));
  }
  transport::ClientReply RemoveWatches(const std::string& path, int32_t type) {
    transport::ClientRequest request;
    request.mutable_read()->set_kind(transport::ReadRequest::REMOVE_WATCHES);
    request.mutable_read()->set_path(path);
    request.mutable_read()->set_watcher_type(type);
    return Call(std::move(request));
  }
  transport::ClientReply RemoveWatches(const std::string& path,
                                       WatcherType type) {
    return RemoveWatches(path, static_cast<int32_t>(type));
  }
  transport::ClientReply Create(const std::string& path) {
    transport::ClientRequest request;
    request.mutable_write()->mutable_create()->set_path(path);
    return Call(std::move(request));
  }

  // Waits until at least `n` events have come; returns them all.
  const std::vector<transport::ClientWatchEvent>& WaitEvents(size_t n) {
    transport::ClientReply reply;
    while (events_.size() < n) {
      REQUIRE(stream_->Read(&reply));
      REQUIRE(reply.id() == 0);
      events_.push_back(reply.event());
    }
    return events_;
  }
  const std::vector<transport::ClientWatchEvent>& events() const {
    return events_;
  }

  // Half-closes the stream and waits for the peer to end it.
  void End() {
    REQUIRE(stream_->WritesDone());
    transport::ClientReply reply;
    while (stream_->Read(&reply)) {
      if (reply.id() == 0) events_.push_back(reply.event());
    }
    CHECK(stream_->Finish().ok());
  }
  // Goes away without ending the stream.
  void Cancel() {
    context_.TryCancel();
    transport::ClientReply reply;
    while (stream_->Read(&reply)) {
    }
    CHECK(stream_->Finish().error_code() == grpc::StatusCode::CANCELLED);
  }

  int64_t session_id() const { return session_id_; }

  // Sends `requests` (numbered here) before reading any reply; returns the
  // replies' ids in the order they came (events skipped).
  std::vector<uint64_t> Burst(std::vector<transport::ClientRequest> requests) {
    std::vector<uint64_t> ids;
    for (transport::ClientRequest& r : requests) {
      r.set_id(next_id_++);
      REQUIRE(stream_->Write(r));
    }
    transport::ClientReply reply;
    while (ids.size() < requests.size()) {
      REQUIRE(stream_->Read(&reply));
      if (reply.id() != 0) ids.push_back(reply.id());
    }
    return ids;
  }

 private:
  std::unique_ptr<transport::Client::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<transport::ClientRequest,
                                           transport::ClientReply>>
      stream_;
  int64_t session_id_ = 0;
  uint64_t next_id_ = 1;
  std::vector<transport::ClientWatchEvent> events_;
};

int Code(Error e) { return static_cast<int>(e); }
int Type(EventType t) { return static_cast<int>(t); }

// Waits until `peer`'s watch count is `n` (the stream's end is handled
// after the client sees it end); returns the last count seen.
int64_t WaitWatchCount(const ListeningPeer& peer, int64_t n) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  int64_t count = peer.coordinator->GetHealth().watch_count;
  while (count != n && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    count = peer.coordinator->GetHealth().watch_count;
  }
  return count;
}

TEST_CASE("client service: a remote session's watches are its own",
          "[client_service][watch]") {
  EventLog local_events;  // outlives the peer's dispatcher
  ListeningPeer peer;
  Coordinator& local = *peer.coordinator;
  const int64_t base = peer.coordinator->GetHealth().watch_count;
  REQUIRE(local.Create("/w", "").ok());
  REQUIRE(local.Create("/p", "").ok());
  REQUIRE(local.AddWatch("/w", WatchMode::kPersistentRecursive,
                         local_events.Recorder("local"))
              .ok());

  RemoteSession remote(peer.address);
  // A persistent-recursive watch on /w, a persistent one on /p, and two
  // one-shot ones (a data watch on /w, an exists watch on a missing node).
  CHECK(remote.AddWatch("/w", WatchMode::kPersistentRecursive).error() == 0);
  CHECK(remote.AddWatch("/p", WatchMode::kPersistent).error() == 0);
  CHECK(remote.Read(transport::ReadRequest::GET, "/w", true).error() == 0);
  transport::ClientReply exists =
      remote.Read(transport::ReadRequest::EXISTS, "/missing", true);
  CHECK(exists.error() == 0);
  CHECK(!exists.exists());
  CHECK(peer.coordinator->GetHealth().watch_count == base + 5);

  // Changes below /w, made locally and by the remote client itself, reach
  // the remote session's recursive watch (no ChildrenChanged: recursive).
  REQUIRE(local.Create("/w/x", "").ok());
  REQUIRE(local.Create("/w/x/y", "").ok());
  CHECK(remote.Create("/w/z").error() == 0);
  REQUIRE(local.Set("/p", "1").ok());
  const auto& events = remote.WaitEvents(4);
  REQUIRE(events.size() == 4);
  CHECK(events[0].type() == Type(EventType::kCreated));
  CHECK(events[0].path() == "/w/x");
  CHECK(events[1].type() == Type(EventType::kCreated));
  CHECK(events[1].path() == "/w/x/y");
  CHECK(events[2].type() == Type(EventType::kCreated));
  CHECK(events[2].path() == "/w/z");
  CHECK(events[3].type() == Type(EventType::kDataChanged));
  CHECK(events[3].path() == "/p");
  CHECK(local_events.WaitFor(3).size() == 3);
  CHECK(peer.coordinator->GetHealth().watch_count == base + 5);  // nothing one-shot fired

  // The local Coordinator's RemoveWatches cannot take the remote's one-shot
  // data watch on /w (it has none of its own there)...
  absl::Status local_remove = local.RemoveWatches("/w", WatcherType::kData);
  CHECK(ErrorOf(local_remove) == Error::kNoWatcher);
  CHECK(peer.coordinator->GetHealth().watch_count == base + 5);

  // ...and the remote's RemoveWatches takes only the remote's recursive
  // watch, which is told so on the stream.
  transport::ClientReply removed =
      remote.RemoveWatches("/w", WatcherType::kPersistentRecursive);
  CHECK(removed.error() == 0);
  CHECK(peer.coordinator->GetHealth().watch_count == base + 4);
  REQUIRE(remote.WaitEvents(5).size() == 5);
  CHECK(remote.events()[4].type() ==
        Type(EventType::kPersistentWatchRemoved));
  CHECK(remote.events()[4].path() == "/w");
  // Again: the remote has none left there (the local one does not count).
  removed = remote.RemoveWatches("/w", WatcherType::kPersistentRecursive);
  CHECK(removed.error() == Code(Error::kNoWatcher));

  // The local watch still fires; the remote session hears nothing of it.
  REQUIRE(local.Create("/w/after", "").ok());
  auto seen = local_events.WaitFor(4);
  REQUIRE(seen.size() == 4);
  CHECK(seen[3].event.type == EventType::kCreated);
  CHECK(seen[3].event.path == "/w/after");
  testing::DrainDispatcher(local);  // the remote's events, had there been any
  CHECK(remote.Read(transport::ReadRequest::GET, "/").error() == 0);
  CHECK(remote.events().size() == 5);

  // Bad requests.
  CHECK(remote.AddWatch("/w", 7).error() == Code(Error::kBadArguments));
  CHECK(remote.AddWatch("bad", WatchMode::kPersistent).error() ==
        Code(Error::kBadArguments));
  CHECK(remote.RemoveWatches("/w", 17).error() == Code(Error::kBadArguments));
  CHECK(remote.RemoveWatches("/w", -1).error() == Code(Error::kBadArguments));
  CHECK(remote.RemoveWatches("/w/", WatcherType::kAny).error() ==
        Code(Error::kBadArguments));
  CHECK(remote.RemoveWatches("/nowhere", WatcherType::kAny).error() ==
        Code(Error::kNoWatcher));
  CHECK(peer.coordinator->GetHealth().watch_count == base + 4);

  // The stream ends: its watches (persistent on /p, data on /w, exists on
  // /missing) go with it, silently; the local one stays.
  remote.End();
  CHECK(WaitWatchCount(peer, base + 1) == base + 1);
  CHECK(remote.events().size() == 5);
  REQUIRE(local.Set("/p", "2").ok());
  REQUIRE(local.Create("/missing", "").ok());
  REQUIRE(local.Create("/w/last", "").ok());
  seen = local_events.WaitFor(5);
  REQUIRE(seen.size() == 5);
  CHECK(seen[4].event.path == "/w/last");
  CHECK(local.RemoveWatches("/w", WatcherType::kPersistentRecursive).ok());
  CHECK(peer.coordinator->GetHealth().watch_count == base);
  seen = local_events.WaitFor(6);
  REQUIRE(seen.size() == 6);
  CHECK(seen[5].event.type == EventType::kPersistentWatchRemoved);
}

TEST_CASE("client service: a stream that goes away drops its watches",
          "[client_service][watch]") {
  ListeningPeer peer;
  const int64_t base = peer.coordinator->GetHealth().watch_count;
  {
    RemoteSession remote(peer.address);
    CHECK(remote.AddWatch("/", WatchMode::kPersistentRecursive).error() == 0);
    CHECK(remote.AddWatch("/a", WatchMode::kPersistent).error() == 0);
    CHECK(remote.Read(transport::ReadRequest::CHILDREN, "/", true).error() ==
          0);
    CHECK(peer.coordinator->GetHealth().watch_count == base + 3);
    remote.Cancel();  // no WritesDone: the client vanished
    CHECK(WaitWatchCount(peer, base) == base);
  }
  // The peer carries on; a new session starts with none.
  RemoteSession again(peer.address);
  CHECK(again.RemoveWatches("/", WatcherType::kAny).error() ==
        Code(Error::kNoWatcher));
  CHECK(peer.coordinator->Create("/a", "").ok());
  CHECK(again.Read(transport::ReadRequest::GET, "/a").error() == 0);
  CHECK(again.events().empty());
  again.End();
}


// Opens a session stream at `address`, returns the reply to its open, and
// ends the stream.
transport::ClientReply TryOpen(const std::string& address) {
  auto stub = transport::Client::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  auto stream = stub->Session(&context);
  transport::ClientRequest open;
  open.set_id(1);
  open.mutable_open();
  transport::ClientReply reply;
  reply.set_error(-1);
  if (stream->Write(open) && !stream->Read(&reply)) reply.set_error(-2);
  stream->WritesDone();
  transport::ClientReply rest;
  while (stream->Read(&rest)) {
  }
  stream->Finish();
  return reply;
}

int ThreadCount() {
  int n = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator("/proc/self/task")) {
    ++n;
  }
  return n;
}

int PortOf(const std::string& address) {
  return std::stoi(address.substr(address.rfind(':') + 1));
}

// A TCP connection to 127.0.0.1:`port` from `source` (an address of the
// loopback network); -1 if it could not be made.
int RawConnect(int port, const char* source = "127.0.0.1") {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  inet_pton(AF_INET, source, &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// True if the other end closed (or reset) connection `fd`. Consumes what
// it sent (a gRPC server sends its HTTP/2 settings first).
bool ClosedByPeer(int fd) {
  char buf[4096];
  while (true) {
    const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) continue;
    return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
  }
}

// Waits (bounded) until at least `n` of `fds` are closed by the peer;
// returns how many are.
int WaitClosed(const std::vector<int>& fds, int n) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  int closed = 0;
  while (true) {
    closed = 0;
    for (int fd : fds) closed += ClosedByPeer(fd) ? 1 : 0;
    if (closed >= n || absl::Now() >= deadline) return closed;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Opens sessions at `address` until one opens (the peer may still be
// closing connections); returns its reply.
transport::ClientReply OpenEventually(const std::string& address) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  transport::ClientReply reply = TryOpen(address);
  while (reply.error() != 0 && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    reply = TryOpen(address);
  }
  return reply;
}

TEST_CASE("client service: a busy address fails Start, naming it",
          "[client_service][limits]") {
  ListeningPeer first;
  testing::TempDir dir;
  Options o = testing::TestOptions(dir.path());
  o.listen = first.address;
  o.seeds = {first.address};
  absl::StatusOr<std::unique_ptr<Coordinator>> second = Coordinator::Start(o);
  REQUIRE(!second.ok());
  CHECK(ErrorOf(second.status()) == Error::kBadArguments);
  CHECK_THAT(std::string(second.status().message()),
             Catch::Contains("address " + first.address + " is in use"));
  CHECK(first.coordinator->Create("/still", "").ok());

  // A port another process holds as gRPC does (SO_REUSEPORT).
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  REQUIRE(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(listen(fd, 16) == 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string held = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  testing::TempDir dir2;
  Options o2 = testing::TestOptions(dir2.path());
  o2.listen = held;
  o2.seeds = {held};
  absl::StatusOr<std::unique_ptr<Coordinator>> third = Coordinator::Start(o2);
  close(fd);
  REQUIRE(!third.ok());
  CHECK_THAT(std::string(third.status().message()),
             Catch::Contains("address " + held + " is in use"));
}

TEST_CASE("client service: sessions past max_client_sessions are refused",
          "[client_service][limits]") {
  ListeningPeer peer([](Options* o) { o->max_client_sessions = 2; });
  RemoteSession a(peer.address);
  RemoteSession b(peer.address);
  const transport::ClientReply refused = TryOpen(peer.address);
  CHECK(refused.error() == Code(Error::kConnectionLoss));
  CHECK_THAT(refused.message(),
             Catch::Contains("too many sessions at " + peer.address));
  // The others are unaffected.
  CHECK(a.Create("/a").error() == 0);
  CHECK(b.Create("/b").error() == 0);
  // One ends: its slot is free again (once its close went through).
  a.End();
  CHECK(OpenEventually(peer.address).error() == 0);
  CHECK(b.Read(transport::ReadRequest::GET, "/a").error() == 0);
  b.End();
}

TEST_CASE("client service: remote sessions take no thread each",
          "[client_service][limits]") {
  ListeningPeer peer;
  {
    RemoteSession warm(peer.address);  // gRPC's pools start
    CHECK(warm.Create("/warm").error() == 0);
    warm.End();
  }
  const int before = ThreadCount();
  std::vector<std::unique_ptr<RemoteSession>> sessions;
  for (int i = 0; i < 300; ++i) {
    sessions.push_back(std::make_unique<RemoteSession>(peer.address));
    REQUIRE(sessions.back()->Read(transport::ReadRequest::GET, "/").error() ==
            0);
  }
  const int after = ThreadCount();
  INFO("threads before " << before << ", with 300 sessions " << after);
  CHECK(after - before < 16);
  CHECK(sessions[0]->Create("/w").error() == 0);
  for (auto& s : sessions) s->End();
}

TEST_CASE("client service: a stream's requests in flight are bounded, "
          "replies in order",
          "[client_service][limits]") {
  ListeningPeer peer;
  RemoteSession remote(peer.address);
  // More than a stream may have in flight, writes and reads mixed: the peer
  // stops reading until it has answered, and nothing is lost or reordered.
  std::vector<transport::ClientRequest> burst;
  for (int i = 0; i < 1500; ++i) {
    transport::ClientRequest r;
    if (i % 3 == 0) {
      r.mutable_write()->mutable_create()->set_path("/n" + std::to_string(i));
    } else {
      r.mutable_read()->set_kind(transport::ReadRequest::EXISTS);
      r.mutable_read()->set_path("/n" + std::to_string(i - i % 3));
    }
    burst.push_back(std::move(r));
  }
  const std::vector<uint64_t> ids = remote.Burst(std::move(burst));
  REQUIRE(ids.size() == 1500);
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  CHECK(remote.Read(transport::ReadRequest::GET, "/n1497").error() == 0);
  remote.End();
}

TEST_CASE("client service: connections past max_connections are closed, "
          "the peer writes on and recovers",
          "[client_service][limits]") {
  ListeningPeer peer([](Options* o) { o->max_connections = 16; });
  const int port = PortOf(peer.address);
  // Clients from another address of the loopback network may take the
  // slots not reserved for the ensemble's hosts (here 127.0.0.1): 8 of 16.
  std::vector<int> clients;
  for (int i = 0; i < 40; ++i) {
    const int fd = RawConnect(port, "127.0.0.2");
    if (fd >= 0) clients.push_back(fd);
  }
  REQUIRE(clients.size() == 40);
  CHECK(WaitClosed(clients, 32) >= 32);
  // A connection from a peer's host still gets in: a session opens.
  RemoteSession from_peer_host(peer.address);
  CHECK(from_peer_host.Create("/in").error() == 0);
  // Then everything from the peer's host past the cap is closed too.
  std::vector<int> more;
  for (int i = 0; i < 40; ++i) {
    const int fd = RawConnect(port);
    if (fd >= 0) more.push_back(fd);
  }
  REQUIRE(more.size() == 40);
  CHECK(WaitClosed(more, 40 - 16 + 8 + 1) >= 40 - 16 + 8 + 1);
  // Writes still commit (no descriptor ran out).
  CHECK(peer.coordinator->Create("/during", "").ok());
  CHECK(from_peer_host.Create("/during2").error() == 0);
  // The connections go: new sessions work again.
  for (int fd : clients) close(fd);
  for (int fd : more) close(fd);
  const transport::ClientReply opened = OpenEventually(peer.address);
  CHECK(opened.error() == 0);
  RemoteSession after(peer.address);
  CHECK(after.Create("/after").error() == 0);
  CHECK(peer.coordinator->Create("/after-local", "").ok());
  after.End();
  from_peer_host.End();
}

TEST_CASE("client service: idle connections are closed after "
          "connection_idle_timeout",
          "[client_service][limits]") {
  ListeningPeer peer(
      [](Options* o) { o->connection_idle_timeout = absl::Seconds(1); });
  RemoteSession busy(peer.address);  // has a stream: not idle
  const int raw = RawConnect(PortOf(peer.address));  // never says a word
  REQUIRE(raw >= 0);
  // A connection of its own (not busy's, which gRPC would share).
  grpc::ChannelArguments own;
  own.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(
      peer.address, grpc::InsecureChannelCredentials(), own);
  REQUIRE(channel->WaitForConnected(std::chrono::system_clock::now() +
                                    std::chrono::seconds(30)));
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while ((!ClosedByPeer(raw) ||
          channel->GetState(false) == GRPC_CHANNEL_READY) &&
         absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(ClosedByPeer(raw));
  CHECK(channel->GetState(false) != GRPC_CHANNEL_READY);
  close(raw);
  CHECK(busy.Create("/busy").error() == 0);
  busy.End();
}

TEST_CASE("client service: bad input gets BadArguments, the session lives on",
          "[client_service][limits]") {
  ListeningPeer peer;
  RemoteSession remote(peer.address);
  const int bad = Code(Error::kBadArguments);
  CHECK(remote.Create(std::string("/bad\xff", 5)).error() == bad);
  CHECK(remote.Create(std::string("/bad\xc0\xaf", 6)).error() == bad);
  CHECK(remote.Read(transport::ReadRequest::GET, std::string("/x\xff", 3))
            .error() == bad);
  transport::ClientRequest sync;
  sync.mutable_sync()->set_path(std::string("/\xfe", 2));
  CHECK(remote.Call(std::move(sync)).error() == bad);
  // A request of a kind this peer does not know.
  transport::ClientRequest unknown;
  unknown.GetReflection()->MutableUnknownFields(&unknown)->AddVarint(15, 1);
  CHECK(remote.Call(std::move(unknown)).error() == bad);
  // A read of an unknown kind.
  transport::ClientRequest odd_read;
  odd_read.mutable_read()->set_kind(
      static_cast<transport::ReadRequest::Kind>(42));
  odd_read.mutable_read()->set_path("/");
  CHECK(remote.Call(std::move(odd_read)).error() == bad);
  // A multi holding an op of an unknown type: nothing of it applies.
  transport::ClientRequest multi;
  txn::MultiRequest* ops = multi.mutable_write()->mutable_multi();
  ops->add_ops()->mutable_create()->set_path("/m1");
  txn::Request* odd = ops->add_ops();
  odd->GetReflection()->MutableUnknownFields(odd)->AddLengthDelimited(99, "x");
  CHECK(remote.Call(std::move(multi)).error() == bad);
  // A second open.
  transport::ClientRequest open;
  open.mutable_open();
  CHECK(remote.Call(std::move(open)).error() == bad);
  // The session lives on.
  CHECK(remote.Create("/ok").error() == 0);
  CHECK(peer.coordinator->Exists("/ok", nullptr)->has_value());
  CHECK(!peer.coordinator->Exists("/m1", nullptr)->has_value());
  remote.End();
}

}  // namespace
}  // namespace synod
