// The Client service's watches, end to end over loopback gRPC: a remote
// session's watches are its own (ADD_WATCH, REMOVE_WATCHES), apart from the
// local Coordinator's on the same paths, and go when its stream ends.

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "test_util.h"
#include "transport/client.grpc.pb.h"

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
    REQUIRE(stream_->Write(request));
    transport::ClientReply reply;
    while (true) {
      REQUIRE(stream_->Read(&reply));
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

}  // namespace
}  // namespace synod
