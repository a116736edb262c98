// Tests for transport/peer_network over real gRPC on loopback: messages and
// touches flow both ways in order, links come back after a peer restarts,
// peers of another ensemble and malformed streams are refused (and nothing
// they send reaches the host), observers are learned from their hello,
// SetBlocked partitions, an idle link stays up (keepalive pings admitted),
// an overfull queue is dropped whole, and Shutdown is prompt even when a
// destination never answers.

#include "transport/link_auth.h"
#include "transport/peer_network.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "test_util.h"
#include "transport/link.grpc.pb.h"
#include "transport/link.pb.h"
#include "transport/tls.h"
#include "util/test_ca.h"
#include "util/mutex.h"

namespace synod::transport {
namespace {

using zab::Message;
using zab::MessageType;
using zab::PeerId;

using synod::testing::FreePort;  // test_util.h
using synod::testing::Issued;    // util/test_ca.h
using synod::testing::TempDir;
using synod::testing::TestCa;

std::string Loopback(int port) { return "127.0.0.1:" + std::to_string(port); }

// `n` free loopback addresses, sorted (a seed list).
std::vector<std::string> Addresses(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(Loopback(FreePort()));
  std::sort(out.begin(), out.end());
  return out;
}

// Polls `done` every 10 ms until it holds or `timeout` passes; returns its
// last value.
bool Eventually(const std::function<bool()>& done,
                absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return done();
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

// Everything one peer's network hands its host: messages and touches, in
// arrival order, and log records. Thread-safe.
class Inbox {
 public:
  struct Touch {
    PeerId from;
    std::vector<int64_t> sessions;  // an acknowledgement's untracked
    int64_t sent_ms = 0;
    bool ack = false;
  };
  // One arrival: a message, or a touch or its acknowledgement (`is_touch`).
  struct Event {
    bool is_touch = false;
    Message message;
    Touch touch;
  };

  PeerNetworkHandler Handler() {
    PeerNetworkHandler h;
    h.on_message = [this](Message&& m) {
      MutexLock lock(&mu_);
      Event e;
      e.message = std::move(m);
      events_.push_back(std::move(e));
    };
    h.on_touch = [this](PeerId from, std::vector<int64_t>&& sessions,
                        int64_t sent_ms) {
      MutexLock lock(&mu_);
      Event e;
      e.is_touch = true;
      e.touch = Touch{from, std::move(sessions), sent_ms, false};
      events_.push_back(std::move(e));
    };
    h.on_touch_ack = [this](PeerId from, int64_t sent_ms,
                            std::vector<int64_t>&& untracked) {
      MutexLock lock(&mu_);
      Event e;
      e.is_touch = true;
      e.touch = Touch{from, std::move(untracked), sent_ms, true};
      events_.push_back(std::move(e));
    };
    return h;
  }

  std::function<void(LogLevel, std::string_view)> LogSink() {
    // PEER_NETWORK_TEST_LOG=1 echoes the records to stderr, for debugging.
    const bool echo = getenv("PEER_NETWORK_TEST_LOG") != nullptr;
    return [this, echo](LogLevel, std::string_view text) {
      if (echo)
        fprintf(stderr, "%.*s\n", static_cast<int>(text.size()), text.data());
      MutexLock lock(&mu_);
      logs_.emplace_back(text);
    };
  }

  // Waits up to `timeout` for `n` messages of `type` (touches and other
  // types are not counted); returns the messages of `type` so far.
  std::vector<Message> WaitForMessages(
      size_t n, MessageType type, absl::Duration timeout = absl::Seconds(10)) {
    MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return MessagesLocked(type).size() >= n;
    };
    mu_.AwaitWithTimeout(enough, timeout);
    return MessagesLocked(type);
  }

  // Waits up to `timeout` for a log record containing `text`.
  bool WaitForLog(const std::string& text,
                  absl::Duration timeout = absl::Seconds(10)) {
    MutexLock lock(&mu_);
    auto found = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return HasLogLocked(text);
    };
    return mu_.AwaitWithTimeout(found, timeout);
  }

  std::vector<Event> Events() {
    MutexLock lock(&mu_);
    return events_;
  }
  std::vector<std::string> Logs() {
    MutexLock lock(&mu_);
    return logs_;
  }
  size_t LogCount(const std::string& text) {
    MutexLock lock(&mu_);
    return static_cast<size_t>(
        std::count_if(logs_.begin(), logs_.end(), [&](const std::string& l) {
          return l.find(text) != std::string::npos;
        }));
  }

 private:
  std::vector<Message> MessagesLocked(MessageType type)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<Message> out;
    for (const Event& e : events_) {
      if (!e.is_touch && e.message.type == type) out.push_back(e.message);
    }
    return out;
  }
  bool HasLogLocked(const std::string& text)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const std::string& l : logs_) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }

  Mutex mu_;
  std::vector<Event> events_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> logs_ ABSL_GUARDED_BY(mu_);
};

// Test ids, as a runtime gives them: a founder (an address among the
// sorted seeds) is i+1; any other peer an id with the top bit set.
PeerId PeerIdFor(const std::vector<std::string>& sorted_seeds,
                 const std::string& listen) {
  auto it = std::find(sorted_seeds.begin(), sorted_seeds.end(), listen);
  if (it != sorted_seeds.end()) return PeerId(it - sorted_seeds.begin()) + 1;
  return (std::hash<std::string>{}(listen) | (uint64_t{1} << 63));
}
bool IsObserverId(PeerId id) { return (id >> 63) != 0; }

// The founders' addresses: founder i+1 listens on sorted_seeds[i].
std::map<PeerId, std::string> FounderAddresses(
    const std::vector<std::string>& sorted_seeds) {
  std::map<PeerId, std::string> out;
  for (size_t i = 0; i < sorted_seeds.size(); ++i) out[i + 1] = sorted_seeds[i];
  return out;
}

// One peer: a PeerNetwork and the gRPC server its service runs on, at
// `listen`, with the seed list `seeds` (its id follows from both).
class TestPeer {
 public:
  TestPeer(std::string listen, std::vector<std::string> seeds,
           absl::Duration min_backoff = absl::Milliseconds(20),
           absl::Duration max_backoff = absl::Milliseconds(500))
      : listen_(std::move(listen)), seeds_(std::move(seeds)) {
    std::sort(seeds_.begin(), seeds_.end());
    id_ = PeerIdFor(seeds_, listen_);
    min_backoff_ = min_backoff;
    max_backoff_ = max_backoff;
    Start();
  }
  // A founder that proves `secret` (empty: none) on its links.
  TestPeer(std::string listen, std::vector<std::string> seeds,
           std::string secret)
      : listen_(std::move(listen)), seeds_(std::move(seeds)),
        secret_(std::move(secret)) {
    std::sort(seeds_.begin(), seeds_.end());
    id_ = PeerIdFor(seeds_, listen_);
    min_backoff_ = absl::Milliseconds(20);
    max_backoff_ = absl::Milliseconds(500);
    Start();
  }
  // A founder whose links and server use `credentials` (mutual TLS).
  TestPeer(std::string listen, std::vector<std::string> seeds,
           std::shared_ptr<const TransportCredentials> credentials)
      : listen_(std::move(listen)), seeds_(std::move(seeds)),
        credentials_(std::move(credentials)) {
    std::sort(seeds_.begin(), seeds_.end());
    id_ = PeerIdFor(seeds_, listen_);
    min_backoff_ = absl::Milliseconds(20);
    max_backoff_ = absl::Milliseconds(500);
    Start();
  }
  // A peer with the id `id`, whatever its address (one that moved).
  TestPeer(std::string listen, std::vector<std::string> seeds, PeerId id)
      : listen_(std::move(listen)), seeds_(std::move(seeds)) {
    std::sort(seeds_.begin(), seeds_.end());
    id_ = id;
    min_backoff_ = absl::Milliseconds(20);
    max_backoff_ = absl::Milliseconds(500);
    Start();
  }
  ~TestPeer() { Stop(); }

  // Builds a fresh network and server on the same address (after Stop).
  void Start() {
    inbox_ = std::make_unique<Inbox>();
    PeerNetworkConfig config;
    config.self = id_;
    config.listen = listen_;
    config.ensemble_id = EnsembleId(seeds_);
    config.addresses = FounderAddresses(seeds_);
    config.min_backoff = min_backoff_;
    config.max_backoff = max_backoff_;
    config.log = inbox_->LogSink();
    config.secret = secret_;
    config.credentials = credentials_;
    net_ = std::make_unique<PeerNetwork>(std::move(config), inbox_->Handler());
    grpc::ServerBuilder builder;
    // Fail loudly if another process took the port (FreePort's race).
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    int port = 0;
    builder.AddListeningPort(listen_,
                             credentials_ ? credentials_->Server()
                                          : grpc::InsecureServerCredentials(),
                             &port);
    net_->ConfigureServer(&builder);
    builder.RegisterService(net_->service());
    server_ = builder.BuildAndStart();
    REQUIRE(server_ != nullptr);
    REQUIRE(Loopback(port) == listen_);
  }

  // Shuts the network down, then the server (the owner's order).
  void Stop() {
    if (net_ == nullptr) return;
    net_->Shutdown();
    server_->Shutdown();
    server_.reset();
    net_.reset();
  }

  PeerId id() const { return id_; }
  const std::string& listen() const { return listen_; }
  PeerNetwork& net() { return *net_; }
  Inbox& inbox() { return *inbox_; }
  grpc::Server* server() { return server_.get(); }

 private:
  std::string listen_;
  std::vector<std::string> seeds_;
  std::string secret_;
  std::shared_ptr<const TransportCredentials> credentials_;
  PeerId id_ = 0;
  absl::Duration min_backoff_;
  absl::Duration max_backoff_;
  std::unique_ptr<Inbox> inbox_;
  std::unique_ptr<PeerNetwork> net_;
  std::unique_ptr<grpc::Server> server_;
};

// A PROPOSAL of entry `zxid` (after zxid - 1) for `to`.
Message Proposal(PeerId to, int64_t zxid) {
  Message m;
  m.type = MessageType::kProposal;
  m.to = to;
  m.epoch = 1;
  m.prev_zxid = zxid - 1;
  m.entries.push_back(zab::Entry{zxid, "entry-" + std::to_string(zxid)});
  return m;
}

// A PING for `to` carrying `zxid`.
Message Ping(PeerId to, int64_t zxid) {
  Message m;
  m.type = MessageType::kPing;
  m.to = to;
  m.zxid = zxid;
  return m;
}

// Checks that `got` are PROPOSALs from `from` to `to` of consecutive zxids
// starting at `first`, field for field as Proposal() built them.
void CheckProposals(const std::vector<Message>& got, PeerId from, PeerId to,
                    int64_t first) {
  for (size_t i = 0; i < got.size(); ++i) {
    const Message& m = got[i];
    const int64_t zxid = first + static_cast<int64_t>(i);
    INFO("message " << i);
    REQUIRE(m.from == from);
    REQUIRE(m.to == to);
    REQUIRE(m.epoch == 1);
    REQUIRE(m.prev_zxid == zxid - 1);
    REQUIRE(m.entries.size() == 1);
    REQUIRE(m.entries[0].zxid == zxid);
    REQUIRE(m.entries[0].data == "entry-" + std::to_string(zxid));
  }
}

TEST_CASE("EnsembleId", "[peer_network]") {
  CHECK(EnsembleId({"b:1", "a:1"}) == EnsembleId({"a:1", "b:1", "a:1"}));
  CHECK(EnsembleId({"a:1", "b:1"}) != EnsembleId({"a:1", "b:2"}));
}

TEST_CASE("Two peers exchange messages and touches in order",
          "[peer_network]") {
  const std::vector<std::string> seeds = Addresses(2);
  TestPeer a(seeds[0], seeds);
  TestPeer b(seeds[1], seeds);
  REQUIRE(a.id() == 1);
  REQUIRE(b.id() == 2);

  constexpr int kCount = 200;
  for (int i = 1; i <= kCount; ++i) {
    a.net().Send(Proposal(b.id(), i));
    b.net().Send(Proposal(a.id(), 1000 + i));
    if (i == kCount / 2) a.net().SendTouch(b.id(), {7, -1, 1LL << 40}, 1234);
    if (i == kCount / 4) a.net().SendTouchAck(b.id(), 99, {5});
  }
  const std::vector<Message> at_b =
      b.inbox().WaitForMessages(kCount, MessageType::kProposal);
  const std::vector<Message> at_a =
      a.inbox().WaitForMessages(kCount, MessageType::kProposal);
  REQUIRE(at_b.size() == kCount);
  REQUIRE(at_a.size() == kCount);
  CheckProposals(at_b, a.id(), b.id(), 1);
  CheckProposals(at_a, b.id(), a.id(), 1001);

  // The acknowledgement arrived via on_touch_ack and the touch via
  // on_touch, each with its time, in order with the messages.
  const std::vector<Inbox::Event> events = b.inbox().Events();
  REQUIRE(events.size() == kCount + 2);
  REQUIRE(events[kCount / 4].is_touch);
  CHECK(events[kCount / 4].touch.ack);
  CHECK(events[kCount / 4].touch.from == a.id());
  CHECK(events[kCount / 4].touch.sent_ms == 99);
  CHECK(events[kCount / 4].touch.sessions == std::vector<int64_t>{5});
  CHECK(events[kCount / 4 - 1].message.entries[0].zxid == kCount / 4);
  REQUIRE(events[kCount / 2 + 1].is_touch);
  CHECK_FALSE(events[kCount / 2 + 1].touch.ack);
  CHECK(events[kCount / 2 + 1].touch.from == a.id());
  CHECK(events[kCount / 2 + 1].touch.sessions ==
        std::vector<int64_t>{7, -1, 1LL << 40});
  CHECK(events[kCount / 2 + 1].touch.sent_ms == 1234);
  CHECK(events[kCount / 2].message.entries[0].zxid == kCount / 2);

  CHECK(Eventually([&] { return a.net().stats().frames_sent == kCount + 2; }));
  CHECK(b.net().stats().frames_received == kCount + 2);
  CHECK(a.net().stats().frames_dropped == 0);
  CHECK(a.net().stats().connects == 1);
  CHECK(a.net().AddressOf(b.id()) == b.listen());
  CHECK(a.net().AddressOf(42).empty());
}

TEST_CASE("An idle link stays up", "[peer_network]") {
  // The senders ping idle links every second; a server configured by
  // ConfigureServer admits that (gRPC's default policy would end the
  // connection with "too_many_pings" after a few seconds).
  const std::vector<std::string> seeds = Addresses(2);
  TestPeer a(seeds[0], seeds);
  TestPeer b(seeds[1], seeds);
  a.net().Send(Ping(b.id(), 1));
  REQUIRE(b.inbox().WaitForMessages(1, MessageType::kPing).size() == 1);
  absl::SleepFor(absl::Seconds(8));
  a.net().Send(Ping(b.id(), 2));
  REQUIRE(b.inbox().WaitForMessages(2, MessageType::kPing).size() == 2);
  CHECK(a.net().stats().connects == 1);
  CHECK(a.inbox().LogCount("is down") == 0);
}

TEST_CASE("A link comes back after the peer restarts", "[peer_network]") {
  const std::vector<std::string> seeds = Addresses(2);
  TestPeer a(seeds[0], seeds);
  TestPeer b(seeds[1], seeds);

  a.net().Send(Proposal(b.id(), 1));
  REQUIRE(b.inbox().WaitForMessages(1, MessageType::kProposal).size() == 1);
  REQUIRE(a.net().stats().connects == 1);

  b.Stop();
  // A notices the broken link on its next frame (a write that fails, or a
  // channel no longer ready); frames handed to the dead stream may be lost,
  // so probe with PINGs until A reports the link down.
  int64_t probe = 0;
  REQUIRE(Eventually([&] {
    a.net().Send(Ping(b.id(), ++probe));
    return a.inbox().WaitForLog("is down", absl::Milliseconds(20));
  }));

  // Queued while B is down: must all arrive, in order, once it is back.
  for (int i = 2; i <= 50; ++i) a.net().Send(Proposal(b.id(), i));
  b.Start();
  std::vector<Message> got =
      b.inbox().WaitForMessages(49, MessageType::kProposal);
  REQUIRE(got.size() == 49);
  CheckProposals(got, a.id(), b.id(), 2);

  // And later ones too.
  for (int i = 51; i <= 60; ++i) a.net().Send(Proposal(b.id(), i));
  got = b.inbox().WaitForMessages(59, MessageType::kProposal);
  REQUIRE(got.size() == 59);
  CheckProposals(got, a.id(), b.id(), 2);
  CHECK(a.net().stats().connects >= 2);
}

TEST_CASE("A peer of another ensemble is refused", "[peer_network]") {
  const std::vector<std::string> seeds = Addresses(2);
  TestPeer a(seeds[0], seeds);
  // C lists A and itself, not B.
  const std::string c_listen = Loopback(FreePort());
  std::vector<std::string> c_seeds = {seeds[0], c_listen};
  std::sort(c_seeds.begin(), c_seeds.end());
  TestPeer c(c_listen, c_seeds);
  const PeerId a_in_c = PeerIdFor(c_seeds, seeds[0]);

  c.net().Send(Proposal(a_in_c, 1));
  REQUIRE(Eventually([&] { return a.net().stats().links_refused >= 1; }));
  REQUIRE(a.inbox().WaitForLog("ensemble mismatch"));
  bool named_both = false;
  for (const std::string& l : a.inbox().Logs()) {
    if (l.find("ensemble mismatch") == std::string::npos) continue;
    INFO(l);
    CHECK(l.find("peer " + c_listen) != std::string::npos);
    CHECK(l.find("belongs to ensemble " + EnsembleId(c_seeds)) !=
          std::string::npos);
    CHECK(l.find("this peer to ensemble " + EnsembleId(seeds)) !=
          std::string::npos);
    named_both = true;
  }
  CHECK(named_both);
  // The refused sender hears the reason too.
  CHECK(c.inbox().WaitForLog("ensemble mismatch"));

  // More retries are refused the same way; nothing reaches A's host.
  REQUIRE(Eventually([&] { return a.net().stats().links_refused >= 2; }));
  CHECK(a.inbox().Events().empty());
  CHECK(a.net().stats().frames_received == 0);
  CHECK(c.net().stats().connects == 0);
}

TEST_CASE("Only peers that prove the same ensemble secret link",
          "[peer_network][security]") {
  const std::vector<std::string> seeds = Addresses(4);
  const std::string secret = "sixteen or more bytes of secret";
  TestPeer a(seeds[0], seeds, secret);
  TestPeer b(seeds[1], seeds, secret);
  TestPeer c(seeds[2], seeds, std::string("another secret, just as long"));
  TestPeer d(seeds[3], seeds, std::string());  // none
  // The same secret: messages flow both ways.
  for (int i = 1; i <= 3; ++i) a.net().Send(Proposal(b.id(), i));
  b.net().Send(Proposal(a.id(), 1));
  const std::vector<Message> at_b =
      b.inbox().WaitForMessages(3, MessageType::kProposal);
  REQUIRE(at_b.size() == 3);
  CheckProposals(at_b, a.id(), b.id(), 1);
  REQUIRE(a.inbox().WaitForMessages(1, MessageType::kProposal).size() == 1);
  // Another secret, or none: nothing goes either way, and each side says why.
  for (TestPeer* p : {&c, &d}) {
    a.net().Send(Proposal(p->id(), 1));
    p->net().Send(Proposal(a.id(), 2));
  }
  REQUIRE(a.inbox().WaitForLog("does not prove the ensemble secret"));
  REQUIRE(a.inbox().WaitForLog("has no ensemble secret"));
  REQUIRE(c.inbox().WaitForLog("does not prove the ensemble secret"));
  // (d dials without a proof: a refuses it, and d hears why.)
  REQUIRE(d.inbox().WaitForLog("does not prove the ensemble secret"));
  // Retries fail the same way; give them time to.
  REQUIRE(Eventually([&] { return a.net().stats().links_refused >= 2; }));
  CHECK(c.inbox().Events().empty());
  CHECK(d.inbox().Events().empty());
  CHECK(c.net().stats().connects == 0);
  CHECK(d.net().stats().connects == 0);
  CHECK(a.inbox().Events().size() == 1);  // b's, only
  CHECK(a.net().stats().frames_received == 1);
}

// A raw client of A's PeerLink service, to send what PeerNetwork never
// would.
// Voter 2's opening of a link (voter 2 is not running: a raw client
// speaks for it), claiming `listen`.
LinkFrame HelloFrom2(const std::string& ensemble, const std::string& listen) {
  LinkFrame f;
  f.mutable_hello()->set_ensemble_id(ensemble);
  f.mutable_hello()->set_from(2);
  f.mutable_hello()->set_listen(listen);
  return f;
}

// A valid PROPOSAL of `zxid` from voter 2 to `to`.
LinkFrame ProposalFrom2(zab::PeerId to, const std::string& ensemble,
                        int64_t zxid) {
  Message m = Proposal(to, zxid);
  m.from = 2;
  LinkFrame f;
  ToWire(m, ensemble, f.mutable_message());
  return f;
}

class RawLink {
 public:
  explicit RawLink(const std::string& address,
                   std::shared_ptr<grpc::ChannelCredentials> credentials =
                       grpc::InsecureChannelCredentials())
      : stub_(PeerLink::NewStub(grpc::CreateChannel(address, credentials))) {
    writer_ = stub_->Link(&context_, &reply_);
  }
  // Writes each frame (ignoring failures: the server may have ended the
  // stream already), half-closes, and returns the final status.
  grpc::Status Run(const std::vector<LinkFrame>& frames) {
    for (const LinkFrame& f : frames) {
      if (!writer_->Write(f)) break;
    }
    writer_->WritesDone();
    return writer_->Finish();
  }
  const LinkReply& reply() const { return reply_; }

 private:
  std::unique_ptr<PeerLink::Stub> stub_;
  grpc::ClientContext context_;
  LinkReply reply_;
  std::unique_ptr<grpc::ClientWriter<LinkFrame>> writer_;
};

TEST_CASE("A forged or replayed opening of a link is refused",
          "[peer_network][security]") {
  const std::vector<std::string> seeds = Addresses(3);
  const std::string secret = "sixteen or more bytes of secret";
  TestPeer a(seeds[0], seeds, secret);
  const std::string ensemble = EnsembleId(seeds);
  const LinkProof knows(secret, ensemble);
  auto stub = PeerLink::NewStub(
      grpc::CreateChannel(seeds[0], grpc::InsecureChannelCredentials()));
  // A challenge, and A's proof that it holds the secret.
  auto challenge = [&](const std::string& nonce, ChallengeReply* reply) {
    ChallengeRequest request;
    request.set_nonce(nonce);
    grpc::ClientContext context;
    return stub->Challenge(&context, request, reply);
  };
  ChallengeReply reply;
  CHECK(challenge("short", &reply).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  // A hello from voter 2 (not running: this client speaks for it), and a
  // PROPOSAL after it.
  auto hello = [&](const std::string& server_nonce,
                   const std::string& client_nonce, const std::string& proof) {
    LinkFrame f = HelloFrom2(ensemble, seeds[1]);
    f.mutable_hello()->set_challenge(server_nonce);
    f.mutable_hello()->set_nonce(client_nonce);
    f.mutable_hello()->set_proof(proof);
    return f;
  };
  auto proposal = [&](int64_t zxid) {
    return ProposalFrom2(a.id(), ensemble, zxid);
  };
  const std::string n1 = LinkProof::NewNonce();
  REQUIRE(challenge(n1, &reply).ok());
  CHECK(LinkProof::Equal(reply.proof(), knows.Receiver(n1, reply.nonce())));
  const std::string s1 = reply.nonce();
  // No proof, a wrong one, a nonce A never issued: refused.
  for (const LinkFrame& h :
       {hello("", "", ""), hello(s1, n1, std::string(32, 'x')),
        hello(LinkProof::NewNonce(), n1,
              knows.Dialler(2, seeds[1], LinkProof::NewNonce(), n1))}) {
    RawLink raw(seeds[0]);
    const grpc::Status st = raw.Run({h, proposal(1)});
    CHECK(st.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  }
  CHECK(a.inbox().Events().empty());
  // A wrong proof spends nothing (whoever sees a challenge on the wire
  // cannot burn a peer's): the right proof over s1 still opens the link,
  // once.
  {
    RawLink raw(seeds[0]);
    CHECK(raw.Run({hello(s1, n1, knows.Dialler(2, seeds[1], s1, n1)),
                   proposal(2)})
              .ok());
  }
  REQUIRE(a.inbox().WaitForMessages(1, MessageType::kProposal).size() == 1);
  {
    RawLink raw(seeds[0]);
    CHECK(raw.Run({hello(s1, n1, knows.Dialler(2, seeds[1], s1, n1)),
                   proposal(5)})
              .error_code() == grpc::StatusCode::PERMISSION_DENIED);
  }
  // A fresh challenge and the right proof: the link opens, its frame
  // arrives. The same opening again (a replay) is refused.
  const std::string n2 = LinkProof::NewNonce();
  REQUIRE(challenge(n2, &reply).ok());
  const LinkFrame good =
      hello(reply.nonce(), n2, knows.Dialler(2, seeds[1], reply.nonce(), n2));
  {
    RawLink raw(seeds[0]);
    CHECK(raw.Run({good, proposal(3)}).ok());
  }
  REQUIRE(a.inbox().WaitForMessages(2, MessageType::kProposal).size() == 2);
  {
    RawLink raw(seeds[0]);
    CHECK(raw.Run({good, proposal(4)}).error_code() ==
          grpc::StatusCode::PERMISSION_DENIED);
  }
  const std::vector<Message> got =
      a.inbox().WaitForMessages(3, MessageType::kProposal,
                                absl::Milliseconds(300));
  REQUIRE(got.size() == 2);
  REQUIRE(got[0].entries.size() == 1);
  REQUIRE(got[1].entries.size() == 1);
  CHECK(got[0].entries[0].zxid == 2);
  CHECK(got[1].entries[0].zxid == 3);
}

TEST_CASE("With TLS, a peer's certificate must name the host it claims",
          "[peer_network][security][tls]") {
  TempDir dir;
  TestCa ca(dir.Sub("ca"), "synod-test-ca");
  auto credentials = [&](const Issued& issued) {
    auto c = TransportCredentials::Make(
        TlsOptions{issued.cert, issued.key, ca.cert()});
    INFO(c.status().ToString());
    REQUIRE(c.ok());
    return *c;
  };
  const std::vector<std::string> seeds = Addresses(3);
  TestPeer a(seeds[0], seeds, credentials(ca.Issue("a", "IP:127.0.0.1")));
  const std::string ensemble = EnsembleId(seeds);
  // Voter 2's opening (it is not running: these clients speak for it),
  // claiming its address on 127.0.0.1, then a PROPOSAL.
  const LinkFrame hello = HelloFrom2(ensemble, seeds[1]);
  auto proposal = [&](int64_t zxid) {
    return ProposalFrom2(a.id(), ensemble, zxid);
  };
  // A certificate of the CA that names other hosts: refused, nothing
  // delivered, and the peer says why.
  {
    RawLink raw(seeds[0],
                credentials(ca.Issue("rogue", "DNS:elsewhere.test,IP:10.9.9.9"))
                    ->Channel());
    const grpc::Status st = raw.Run({hello, proposal(1)});
    CHECK(st.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(st.error_message() ==
          "its certificate does not name the host of the address it claims");
  }
  CHECK(a.inbox().WaitForLog("certificate does not name the host"));
  // One that names 127.0.0.1: taken.
  {
    RawLink raw(seeds[0], credentials(ca.Issue("two", "IP:127.0.0.1"))
                              ->Channel());
    CHECK(raw.Run({hello, proposal(2)}).ok());
  }
  const std::vector<Message> got =
      a.inbox().WaitForMessages(1, MessageType::kProposal);
  REQUIRE(got.size() == 1);
  CHECK(got[0].entries[0].zxid == 2);
  // A DNS name is matched as a name, wildcards as TLS's hostname check.
  LinkFrame named = hello;
  named.mutable_hello()->set_listen("peer2.example.test:7000");
  {
    RawLink raw(seeds[0], credentials(ca.Issue("w", "DNS:*.example.test"))
                              ->Channel());
    CHECK(raw.Run({named, proposal(3)}).ok());
  }
  {
    RawLink raw(seeds[0], credentials(ca.Issue("x", "DNS:other.test"))
                              ->Channel());
    CHECK(raw.Run({named, proposal(4)}).error_code() ==
          grpc::StatusCode::PERMISSION_DENIED);
  }
}

TEST_CASE("Malformed streams are refused and deliver nothing",
          "[peer_network]") {
  const std::vector<std::string> seeds = Addresses(3);
  TestPeer a(seeds[0], seeds);
  const std::string ensemble = EnsembleId(seeds);

  // A hello from voter 2 (which is not running: this client speaks for it).
  const LinkFrame hello = HelloFrom2(ensemble, seeds[1]);

  // A valid PROPOSAL from 2 to A.
  auto message = [&](int64_t zxid) {
    return ProposalFrom2(a.id(), ensemble, zxid);
  };

  struct Case {
    std::string name;
    std::vector<LinkFrame> frames;
    grpc::StatusCode code;
    std::string reason;  // a part of the status message
  };
  std::vector<Case> cases;
  {
    LinkFrame bad = message(1);
    bad.mutable_message()->set_type(static_cast<PeerMessage::Type>(99));
    cases.push_back({"unknown message type",
                     {hello, bad},
                     grpc::StatusCode::INVALID_ARGUMENT,
                     "type 99 is unknown"});
  }
  {
    LinkFrame other = message(1);
    other.mutable_message()->set_from(3);
    cases.push_back({"from differs from the hello",
                     {hello, other},
                     grpc::StatusCode::INVALID_ARGUMENT,
                     "message from 3 on the link of 2"});
  }
  {
    LinkFrame misrouted = message(1);
    misrouted.mutable_message()->set_to(3);
    cases.push_back({"to is not this peer",
                     {hello, misrouted},
                     grpc::StatusCode::INVALID_ARGUMENT,
                     "message to 3"});
  }
  {
    LinkFrame touch;
    touch.mutable_touch()->add_sessions(1);
    cases.push_back({"first frame is not a hello",
                     {touch, message(1)},
                     grpc::StatusCode::INVALID_ARGUMENT,
                     "not a hello"});
  }
  {
    LinkFrame nowhere = hello;
    nowhere.mutable_hello()->set_listen("");
    cases.push_back({"hello with no listen address",
                     {nowhere, message(1)},
                     grpc::StatusCode::INVALID_ARGUMENT,
                     "no usable listen address"});
  }
  {
    LinkFrame self = hello;
    self.mutable_hello()->set_from(a.id());
    self.mutable_hello()->set_listen(a.listen());
    cases.push_back({"hello from this peer's id",
                     {self, message(1)},
                     grpc::StatusCode::INVALID_ARGUMENT,
                     "own id"});
  }
  {
    LinkFrame zero = hello;
    zero.mutable_hello()->set_from(0);
    cases.push_back({"hello from 0",
                     {zero, message(1)},
                     grpc::StatusCode::INVALID_ARGUMENT,
                     "from is 0"});
  }
  {
    LinkFrame sprawling = hello;
    sprawling.mutable_hello()->set_listen(std::string(300, 'h') + ":1");
    cases.push_back({"hello with an overlong listen address",
                     {sprawling, message(1)},
                     grpc::StatusCode::INVALID_ARGUMENT,
                     "no usable listen address"});
  }
  {
    LinkFrame stranger = hello;
    stranger.mutable_hello()->set_ensemble_id("another");
    cases.push_back({"another ensemble",
                     {stranger, message(1)},
                     grpc::StatusCode::FAILED_PRECONDITION,
                     "ensemble mismatch"});
  }
  cases.push_back({"a second hello",
                   {hello, hello},
                   grpc::StatusCode::INVALID_ARGUMENT,
                   "a second hello"});
  cases.push_back({"an empty frame",
                   {hello, LinkFrame()},
                   grpc::StatusCode::INVALID_ARGUMENT,
                   "an empty frame"});

  int64_t refused = 0;
  for (const Case& c : cases) {
    INFO(c.name);
    RawLink link(a.listen());
    const grpc::Status status = link.Run(c.frames);
    INFO(status.error_message());
    CHECK(status.error_code() == c.code);
    CHECK(status.error_message().find(c.reason) != std::string::npos);
    ++refused;
    CHECK(a.net().stats().links_refused == refused);
    CHECK(a.inbox().Events().empty());
  }
  CHECK(a.inbox().LogCount("refused peer link") == cases.size());

  // Control: the same client, well-behaved, is heard and ends cleanly.
  RawLink good(a.listen());
  const grpc::Status status = good.Run({hello, message(1), message(2)});
  CHECK(status.ok());
  CHECK(good.reply().error().empty());
  const std::vector<Message> got =
      a.inbox().WaitForMessages(2, MessageType::kProposal);
  REQUIRE(got.size() == 2);
  CheckProposals(got, 2, a.id(), 1);
  CHECK(a.net().stats().links_refused == refused);
}

TEST_CASE("A queue past max_queued_bytes is dropped whole", "[peer_network]") {
  // No server: the destination (a closed port) never accepts a link, so
  // every frame for it stays queued.
  const std::vector<std::string> seeds = Addresses(2);
  PeerNetworkConfig config;
  config.self = 1;
  config.listen = seeds[0];
  config.ensemble_id = EnsembleId(seeds);
  config.addresses = FounderAddresses(seeds);
  config.max_queued_bytes = 10 << 10;
  config.log = [](LogLevel, std::string_view) {};
  PeerNetwork net(std::move(config), PeerNetworkHandler());
  auto big = [](int64_t zxid) {
    Message m = Proposal(2, zxid);
    m.entries[0].data.assign(4 << 10, 'x');
    return m;
  };
  net.Send(big(1));
  net.Send(big(2));
  CHECK(net.stats().frames_dropped == 0);
  net.Send(big(3));  // 12 KiB: over the bound, all three go
  CHECK(net.stats().frames_dropped == 3);
  net.Send(big(4));  // queued afresh
  net.Send(big(5));
  CHECK(net.stats().frames_dropped == 3);
  net.Send(Ping(3, 1));  // no such peer
  CHECK(net.stats().frames_dropped == 4);
  net.Shutdown();
  net.Send(big(6));  // after Shutdown: dropped
  CHECK(net.stats().frames_dropped == 5);
  CHECK(net.stats().frames_sent == 0);
}

TEST_CASE("A member that moved is reached at its new address",
          "[peer_network]") {
  const std::vector<std::string> seeds = Addresses(2);
  TestPeer a(seeds[0], seeds);
  std::vector<Message> got;
  {
    TestPeer b(seeds[1], seeds);
    a.net().Send(Ping(2, 1));
    got = b.inbox().WaitForMessages(1, MessageType::kPing);
    REQUIRE(got.size() == 1);
  }
  // Peer 2 moves; the configuration says so (SetAddresses): A's link goes
  // to the new address, and the old one hears nothing more.
  const std::string moved = Loopback(FreePort());
  {
    TestPeer b(moved, seeds, PeerId{2});
    a.net().SetAddresses({{1, seeds[0]}, {2, moved}});
    CHECK(a.net().AddressOf(2) == moved);
    a.net().Send(Ping(2, 2));
    got = b.inbox().WaitForMessages(1, MessageType::kPing);
    REQUIRE(got.size() == 1);
    CHECK(got[0].zxid == 2);
    // The same configuration again changes nothing.
    a.net().SetAddresses({{1, seeds[0]}, {2, moved}});
    CHECK(a.net().AddressOf(2) == moved);
  }
  // It moves again and dials A first: its hello teaches the new address
  // before any configuration does, and a stale configuration (unchanged
  // since) does not undo it.
  const std::string again = Loopback(FreePort());
  TestPeer b(again, seeds, PeerId{2});
  b.net().Send(Ping(1, 7));
  REQUIRE(a.inbox().WaitForMessages(1, MessageType::kPing).size() >= 1);
  CHECK(a.net().AddressOf(2) == again);
  a.net().SetAddresses({{1, seeds[0]}, {2, moved}});
  CHECK(a.net().AddressOf(2) == again);
  a.net().Send(Ping(2, 3));
  got = b.inbox().WaitForMessages(1, MessageType::kPing);
  REQUIRE(got.size() == 1);
  CHECK(got[0].zxid == 3);
}

TEST_CASE("A learned address fills a gap, never overrides",
          "[peer_network]") {
  const std::vector<std::string> seeds = Addresses(2);
  TestPeer a(seeds[0], seeds);
  a.net().LearnAddress(5, "127.0.0.1:5");
  CHECK(a.net().AddressOf(5) == "127.0.0.1:5");
  a.net().LearnAddress(5, "127.0.0.1:6");  // known already
  CHECK(a.net().AddressOf(5) == "127.0.0.1:5");
  a.net().LearnAddress(2, "127.0.0.1:7");  // the configuration's word stands
  CHECK(a.net().AddressOf(2) == seeds[1]);
  a.net().LearnAddress(6, std::string(300, 'h'));  // too long: ignored
  CHECK(a.net().AddressOf(6).empty());
}

TEST_CASE("A voter learns an observer's address from its hello",
          "[peer_network]") {
  const std::vector<std::string> seeds = Addresses(2);
  TestPeer a(seeds[0], seeds);
  TestPeer obs(Loopback(FreePort()), seeds);
  REQUIRE(IsObserverId(obs.id()));
  CHECK(a.net().AddressOf(obs.id()).empty());

  // Unknown to A so far: dropped.
  const int64_t dropped = a.net().stats().frames_dropped;
  a.net().Send(Ping(obs.id(), 1));
  CHECK(a.net().stats().frames_dropped == dropped + 1);

  obs.net().Send(Ping(a.id(), 5));
  std::vector<Message> at_a = a.inbox().WaitForMessages(1, MessageType::kPing);
  REQUIRE(at_a.size() == 1);
  CHECK(at_a[0].from == obs.id());
  CHECK(at_a[0].zxid == 5);
  CHECK(a.net().AddressOf(obs.id()) == obs.listen());

  a.net().Send(Ping(obs.id(), 6));
  std::vector<Message> at_obs =
      obs.inbox().WaitForMessages(1, MessageType::kPing);
  REQUIRE(at_obs.size() == 1);
  CHECK(at_obs[0].from == a.id());
  CHECK(at_obs[0].zxid == 6);
}

TEST_CASE("SetBlocked drops frames both ways until unblocked",
          "[peer_network]") {
  const std::vector<std::string> seeds = Addresses(2);
  TestPeer a(seeds[0], seeds);
  TestPeer b(seeds[1], seeds);
  a.net().Send(Ping(b.id(), 1));
  b.net().Send(Ping(a.id(), 1));
  REQUIRE(a.inbox().WaitForMessages(1, MessageType::kPing).size() == 1);
  REQUIRE(b.inbox().WaitForMessages(1, MessageType::kPing).size() == 1);

  a.net().SetBlocked(b.id(), true);
  const int64_t dropped = a.net().stats().frames_dropped;
  for (int i = 2; i <= 6; ++i) {
    a.net().Send(Ping(b.id(), i));
    b.net().Send(Ping(a.id(), i));
  }
  a.net().SendTouch(b.id(), {1}, 1);
  b.net().SendTouch(a.id(), {1}, 1);
  // A dropped its 6 outbound frames at once, and ignores B's 6 on arrival.
  REQUIRE(Eventually(
      [&] { return a.net().stats().frames_dropped >= dropped + 12; }));
  CHECK(a.net().stats().frames_dropped == dropped + 12);

  a.net().SetBlocked(b.id(), false);
  a.net().Send(Ping(b.id(), 100));
  b.net().Send(Ping(a.id(), 100));
  // Each side sees the marker right after the warm-up message: nothing sent
  // while blocked got through.
  for (TestPeer* p : {&a, &b}) {
    const std::vector<Message> got =
        p->inbox().WaitForMessages(2, MessageType::kPing);
    REQUIRE(got.size() == 2);
    CHECK(got[0].zxid == 1);
    CHECK(got[1].zxid == 100);
    CHECK(p->inbox().Events().size() == 2);
  }
}

// A socket that listens on a loopback port but never accepts: the kernel
// completes TCP handshakes, nothing ever answers.
class Sinkhole {
 public:
  Sinkhole() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(listen(fd_, 16) == 0);
    socklen_t len = sizeof(addr);
    REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    address_ = Loopback(ntohs(addr.sin_port));
  }
  ~Sinkhole() { close(fd_); }
  const std::string& address() const { return address_; }

 private:
  int fd_ = -1;
  std::string address_;
};

// Returns how long `f` took.
absl::Duration Timed(const std::function<void()>& f) {
  const absl::Time start = absl::Now();
  f();
  return absl::Now() - start;
}

TEST_CASE("Shutdown is prompt while a destination is unreachable",
          "[peer_network]") {
  SECTION("a peer that never answers (sender stuck connecting or writing)") {
    Sinkhole sink;
    std::vector<std::string> seeds = {Loopback(FreePort()), sink.address()};
    std::sort(seeds.begin(), seeds.end());
    const std::string self = seeds[0] == sink.address() ? seeds[1] : seeds[0];
    TestPeer a(self, seeds);
    const PeerId to = PeerIdFor(seeds, sink.address());
    // Enough to fill any window, should the link get that far.
    for (int i = 1; i <= 64; ++i) {
      Message m = Proposal(to, i);
      m.entries[0].data.assign(64 << 10, 'x');
      a.net().Send(std::move(m));
    }
    // Let the sender block inside gRPC, connecting (gRPC waits for the
    // server's SETTINGS frame). There is no event to wait for: it never
    // gets an answer.
    absl::SleepFor(absl::Milliseconds(300));
    const absl::Duration took = Timed([&] { a.net().Shutdown(); });
    WARN("Shutdown took " << absl::FormatDuration(took));
    CHECK(took < absl::Seconds(5));
    CHECK(a.net().stats().frames_sent == 0);
  }
  SECTION("a peer that accepts the link but never reads (stuck in Write)") {
    // The destination: a PeerLink server that accepts the hello (with
    // peer_network.cc's handshake metadata) and then never reads.
    class Stall : public PeerLink::Service {
     public:
      grpc::Status Link(grpc::ServerContext* context,
                        grpc::ServerReader<LinkFrame>* reader,
                        LinkReply*) override {
        context->AddInitialMetadata("synod-link-accepted", "1");
        reader->SendInitialMetadata();
        MutexLock lock(&mu_);
        auto released = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return released_;
        };
        mu_.Await(released);
        return grpc::Status::OK;
      }
      void Release() {
        MutexLock lock(&mu_);
        released_ = true;
      }

     private:
      Mutex mu_;
      bool released_ ABSL_GUARDED_BY(mu_) = false;
    } stall;
    grpc::ServerBuilder builder;
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&stall);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    REQUIRE(server != nullptr);

    std::vector<std::string> seeds = {Loopback(FreePort()), Loopback(port)};
    std::sort(seeds.begin(), seeds.end());
    const std::string self = seeds[0] == Loopback(port) ? seeds[1] : seeds[0];
    {
      TestPeer a(self, seeds);
      const PeerId to = PeerIdFor(seeds, Loopback(port));
      constexpr int kCount = 256;  // 16 MiB: far more than any window
      for (int i = 1; i <= kCount; ++i) {
        Message m = Proposal(to, i);
        m.entries[0].data.assign(64 << 10, 'x');
        a.net().Send(std::move(m));
      }
      // Writes go through until the flow control windows fill; then the
      // sender blocks in Write.
      REQUIRE(Eventually([&] { return a.net().stats().frames_sent > 0; }));
      int64_t sent = -1;
      REQUIRE(Eventually([&] {
        const int64_t now = a.net().stats().frames_sent;
        const bool still = now == sent;
        sent = now;
        absl::SleepFor(absl::Milliseconds(100));
        return still;
      }));
      CHECK(sent < kCount);
      const absl::Duration took = Timed([&] { a.net().Shutdown(); });
      WARN("Shutdown took " << absl::FormatDuration(took) << " after " << sent
                            << " frames");
      CHECK(took < absl::Seconds(5));
    }
    stall.Release();
    server->Shutdown();
  }
  SECTION("a closed port, with the sender in a long backoff") {
    std::vector<std::string> seeds = Addresses(2);
    TestPeer a(seeds[0], seeds, /*min_backoff=*/absl::Seconds(60),
               /*max_backoff=*/absl::Seconds(60));
    a.net().Send(Ping(2, 1));
    REQUIRE(a.inbox().WaitForLog("failed to connect"));
    const absl::Duration took = Timed([&] { a.net().Shutdown(); });
    WARN("Shutdown took " << absl::FormatDuration(took));
    CHECK(took < absl::Seconds(5));
  }
  SECTION("the server's Shutdown while a live peer keeps its link open") {
    std::vector<std::string> seeds = Addresses(2);
    TestPeer a(seeds[0], seeds);
    TestPeer b(seeds[1], seeds);
    a.net().Send(Ping(b.id(), 1));
    REQUIRE(b.inbox().WaitForMessages(1, MessageType::kPing).size() == 1);
    // A's stream into B's server stays open; B's network must end it, or
    // grpc::Server::Shutdown would wait for it indefinitely.
    const absl::Duration took = Timed([&] { b.Stop(); });
    WARN("Stop took " << absl::FormatDuration(took));
    CHECK(took < absl::Seconds(5));
  }
  SECTION("no handler runs after Shutdown returns") {
    std::vector<std::string> seeds = Addresses(2);
    TestPeer a(seeds[0], seeds);
    TestPeer b(seeds[1], seeds);
    std::atomic<bool> sending{true};
    std::thread flood([&] {
      for (int64_t i = 1; sending.load(); ++i) {
        a.net().Send(Ping(b.id(), i));
        if (i % 64 == 0)
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
    REQUIRE(b.inbox().WaitForMessages(100, MessageType::kPing).size() >= 100);
    b.net().Shutdown();
    const size_t after = b.inbox().Events().size();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(b.inbox().Events().size() == after);
    sending.store(false);
    flood.join();
  }
}

}  // namespace
}  // namespace synod::transport
