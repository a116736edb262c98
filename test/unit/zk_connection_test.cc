// ZooKeeper's protocol on one connection (zkserver/zk_connection.h), over
// a fake host whose writes complete when the test says, with the loop's
// posted tasks and the host's event thread run by hand: deterministic, no
// socket. The client's side is synod's own codec (zkwire/), which
// ZooKeeper's record classes read byte for byte (zk_jute_check_test.cc).

#include "zkserver/zk_connection.h"

#include <catch2/catch.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "transport/session_secret.h"
#include "util/errors.h"
#include "zkwire/jute.h"
#include "zkwire/zk_protocol.h"
#include "zkwire/zk_records.h"
#include "zkwire/zk_requests.h"
#include "zkwire/zk_responses.h"

namespace synod::zkserver {
namespace {

using zkwire::OpCode;
using zkwire::RequestKind;
using zkwire::ZkError;

constexpr int64_t kSession = 0x100000001;

// The loop's queue, run by hand.
class ManualPoster final : public Poster {
 public:
  void Post(std::function<void()> task) override {
    tasks_.push_back(std::move(task));
  }
  void RunAll() {
    while (!tasks_.empty()) {
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      task();
    }
  }

 private:
  std::deque<std::function<void()>> tasks_;
};

class FakeOwner final : public ConnectionOwner {
 public:
  void Attach(int64_t id, ZkConnection* conn) override {
    ZkConnection* old = serving.count(id) ? serving[id] : nullptr;
    serving[id] = conn;
    if (old != nullptr && old != conn) old->OnClosed();
  }
  bool Detach(int64_t id, ZkConnection* conn) override {
    auto it = serving.find(id);
    if (it == serving.end() || it->second != conn) return false;
    serving.erase(it);
    return true;
  }
  std::string AnswerWord(std::string_view word) override {
    words.emplace_back(word);
    return "answer:" + std::string(word);
  }
  std::map<int64_t, ZkConnection*> serving;
  std::vector<std::string> words;
};

// A host whose writes wait for Complete, whose event thread is a queue run
// by DrainEvents, and whose tree is `nodes`.
class FakeHost final : public transport::ClientHost {
 public:
  struct Submission {
    int64_t session = 0;
    txn::Request request;
    Done done;
  };

  void SubmitAs(int64_t session, std::shared_ptr<const AuthInfo>,
                txn::Request request, Done done) override {
    submissions.push_back({session, std::move(request), std::move(done)});
  }
  // Completes the oldest submission with `o`.
  txn::Request Complete(WriteOutcome o) {
    REQUIRE_FALSE(submissions.empty());
    Submission s = std::move(submissions.front());
    submissions.pop_front();
    s.done(std::move(o));
    return s.request;
  }

  absl::StatusOr<Node> GetAs(int64_t owner, const AuthInfo*,
                             std::string_view path, Watcher watcher) override {
    auto it = nodes.find(std::string(path));
    if (it == nodes.end()) return MakeError(Error::kNoNode, path);
    if (watcher) watchers.push_back({owner, std::string(path), watcher});
    return it->second;
  }
  absl::StatusOr<std::vector<std::string>> GetChildrenAs(
      int64_t, const AuthInfo*, std::string_view path, Watcher,
      Stat* stat) override {
    if (nodes.find(std::string(path)) == nodes.end()) {
      return MakeError(Error::kNoNode, path);
    }
    if (stat) *stat = nodes[std::string(path)].stat;
    return std::vector<std::string>{"kid"};
  }
  absl::StatusOr<std::optional<Stat>> ExistsAs(int64_t owner,
                                               std::string_view path,
                                               Watcher watcher) override {
    if (watcher) watchers.push_back({owner, std::string(path), watcher});
    auto it = nodes.find(std::string(path));
    if (it == nodes.end()) return std::optional<Stat>();
    return std::optional<Stat>(it->second.stat);
  }
  absl::StatusOr<AclList> GetAclAs(const AuthInfo&, std::string_view,
                                   Stat*) override {
    return AclList{};
  }
  absl::StatusOr<std::pair<Zxid, std::string>> SnapshotAs(
      const AuthInfo&) override {
    return MakeError(Error::kUnimplemented, "");
  }
  absl::StatusOr<Quota> GetQuota(std::string_view) override {
    return MakeError(Error::kNoNode, "");
  }
  absl::StatusOr<std::vector<std::string>> GetEphemeralsAs(
      int64_t, std::string_view) override {
    return std::vector<std::string>{};
  }
  absl::StatusOr<int32_t> GetAllChildrenNumberAs(const AuthInfo&,
                                                 std::string_view) override {
    return 0;
  }
  absl::Status AddWatchAs(int64_t owner, std::string_view path, WatchMode,
                          Watcher watcher) override {
    watchers.push_back({owner, std::string(path), watcher});
    return absl::OkStatus();
  }
  absl::Status RemoveWatchesAs(int64_t, std::string_view path, WatcherType,
                               bool) override {
    return MakeError(Error::kNoWatcher, path);
  }
  int64_t DropWatchesOf(int64_t owner) override {
    dropped.push_back(owner);
    return 0;
  }
  void SetWatchAuth(int64_t, std::shared_ptr<const AuthInfo>) override {}
  bool HasWatchesAs(int64_t, std::string_view, WatcherType) override {
    return false;
  }
  std::vector<WatchEvent> RestoreWatchesAs(int64_t, const RestoredWatches& w,
                                           Watcher) override {
    restored = w;
    return missed;
  }
  std::optional<OpenSession> FindSession(int64_t id) const override {
    auto it = sessions.find(id);
    if (it == sessions.end()) return std::nullopt;
    return it->second;
  }
  Zxid LastAppliedZxid() const override { return applied; }
  bool ServesClients() const override { return serves_clients; }
  void RunAfterEvents(std::function<void()> task) override {
    events.push_back(std::move(task));
  }
  void AddHostedSession(int64_t id) override { hosted.push_back(id); }
  void RemoveHostedSession(int64_t id) override { unhosted.push_back(id); }
  PeerStatus GetPeerStatus() const override { return {}; }
  Health GetHealth() const override { return {}; }
  std::string ListenAddress() const override { return "fake:2181"; }

  // Fires the watchers registered on `path` on the event thread (queued).
  void Fire(const std::string& path, EventType type) {
    for (const auto& w : watchers) {
      if (w.path != path) continue;
      events.push_back(
          [w, type] { w.watcher(WatchEvent{type, SessionState::kConnected, w.path}); });
    }
  }
  void DrainEvents() {
    while (!events.empty()) {
      auto task = std::move(events.front());
      events.pop_front();
      task();
    }
  }

  struct Registered {
    int64_t owner;
    std::string path;
    Watcher watcher;
  };
  std::map<std::string, Node> nodes;
  std::map<int64_t, OpenSession> sessions;
  std::deque<Submission> submissions;
  std::vector<Registered> watchers;
  std::deque<std::function<void()>> events;
  std::vector<int64_t> hosted, unhosted, dropped;
  bool serves_clients = true;
  Zxid applied = 77;
  RestoredWatches restored;
  std::vector<WatchEvent> missed;
};

std::string Frame(const std::string& body) {
  std::string out;
  zkwire::AppendFrame(body, &out);
  return out;
}

std::string ConnectFrame(int64_t session, const std::string& password,
                         int32_t timeout_ms = 30000) {
  zkwire::ConnectRequest c;
  c.timeout_ms = timeout_ms;
  c.session_id = session;
  c.password = password;
  std::string body;
  zkwire::EncodeConnectRequest(c, &body);
  return Frame(body);
}

std::string RequestFrame(const zkwire::Request& r) {
  std::string body;
  zkwire::EncodeRequest(r, &body);
  return Frame(body);
}

zkwire::Request Req(OpCode op, RequestKind kind, int32_t xid) {
  zkwire::Request r;
  r.header.xid = xid;
  r.header.type = static_cast<int32_t>(op);
  r.kind = kind;
  return r;
}

zkwire::Request GetData(int32_t xid, const std::string& path, bool watch) {
  zkwire::Request r = Req(OpCode::kGetData, RequestKind::kRead, xid);
  r.read = {OpCode::kGetData, path, watch};
  return r;
}

zkwire::Request SetData(int32_t xid, const std::string& path) {
  zkwire::Request r = Req(OpCode::kSetData, RequestKind::kWrite, xid);
  r.write.mutable_set_data()->set_path(path);
  r.write.mutable_set_data()->set_data("v");
  r.write.mutable_set_data()->set_version(-1);
  return r;
}

// One frame the connection sent: a reply (or notification) header and the
// rest of its body.
struct Sent {
  zkwire::ReplyHeader header;
  std::string body;
};

// Takes every whole frame from `out` (after the ConnectResponse, which
// TakeConnect takes).
std::vector<Sent> TakeReplies(std::string* out) {
  std::vector<Sent> sent;
  while (out->size() >= zkwire::kFrameHeaderBytes) {
    absl::StatusOr<int32_t> n = zkwire::FrameLength(*out, 0, 1 << 24);
    REQUIRE(n.ok());
    REQUIRE(out->size() >= zkwire::kFrameHeaderBytes + *n);
    const std::string body = out->substr(zkwire::kFrameHeaderBytes, *n);
    out->erase(0, zkwire::kFrameHeaderBytes + *n);
    zkwire::JuteReader in(body, 1 << 24);
    Sent s;
    REQUIRE(zkwire::ReadReplyHeader(&in, &s.header).ok());
    s.body = body.substr(16);
    sent.push_back(std::move(s));
  }
  REQUIRE(out->empty());
  return sent;
}

zkwire::ConnectResponse TakeConnect(std::string* out) {
  absl::StatusOr<int32_t> n = zkwire::FrameLength(*out, 0, 1 << 24);
  REQUIRE(n.ok());
  absl::StatusOr<zkwire::ConnectResponse> r = zkwire::DecodeConnectResponse(
      out->substr(zkwire::kFrameHeaderBytes, *n), 1 << 20);
  REQUIRE(r.ok());
  out->erase(0, zkwire::kFrameHeaderBytes + *n);
  return *r;
}

std::vector<int32_t> Xids(const std::vector<Sent>& sent) {
  std::vector<int32_t> xids;
  for (const Sent& s : sent) xids.push_back(s.header.xid);
  return xids;
}

struct Fixture {
  Fixture() {
    Options o;
    o.tick = absl::Milliseconds(100);
    options = o;
    conn = std::make_shared<ZkConnection>(&host, &options, poster, &owner,
                                          AuthInfo{}, 0);
  }
  void Send(const std::string& bytes, int64_t now_ms = 0) {
    conn->OnInput(bytes, now_ms);
    poster->RunAll();
  }
  // Opens a new session kSession; returns its password.
  std::string Open() {
    Send(ConnectFrame(0, std::string(16, '\0')));
    REQUIRE(host.submissions.size() == 1);
    txn::Request create = host.submissions.front().request;
    WriteOutcome o;
    o.zxid = kSession;
    host.Complete(std::move(o));
    poster->RunAll();
    const zkwire::ConnectResponse r = TakeConnect(&conn->output());
    REQUIRE(r.session_id == kSession);
    host.sessions[kSession] = {r.timeout_ms,
                               create.create_session().password_digest()};
    return r.password;
  }
  WriteOutcome Ok(Zxid zxid) {
    WriteOutcome o;
    o.zxid = zxid;
    return o;
  }
  void Finish(WriteOutcome o) {
    host.Complete(std::move(o));
    poster->RunAll();
    host.DrainEvents();
    poster->RunAll();
  }

  FakeHost host;
  FakeOwner owner;
  Options options;
  std::shared_ptr<ManualPoster> poster = std::make_shared<ManualPoster>();
  std::shared_ptr<ZkConnection> conn;
};

TEST_CASE("zk connection: a new session has a password the ensemble keeps "
          "only the digest of",
          "[zkserver]") {
  Fixture f;
  f.Send(ConnectFrame(0, std::string(16, '\0'), 30000));
  REQUIRE(f.host.submissions.size() == 1);
  const txn::Request& create = f.host.submissions.front().request;
  REQUIRE(create.has_create_session());
  CHECK(create.create_session().timeout_ms() == 30000);
  const std::string digest = create.create_session().password_digest();
  CHECK(digest.size() == 32);
  CHECK(f.conn->output().empty());  // nothing until the session exists

  f.Finish(f.Ok(kSession));
  const zkwire::ConnectResponse r = TakeConnect(&f.conn->output());
  CHECK(r.session_id == kSession);
  CHECK(r.timeout_ms == 30000);
  CHECK(r.password.size() == transport::kSessionPasswordBytes);
  CHECK(transport::SessionPasswordMatches(r.password, digest));
  CHECK(f.host.hosted == std::vector<int64_t>{kSession});
  CHECK(f.owner.serving.at(kSession) == f.conn.get());
  CHECK(f.conn->session() == kSession);
  CHECK_FALSE(f.conn->finished());

  // Timeouts outside the range are brought into it (20 ticks, 10 minutes).
  Fixture g;
  g.Send(ConnectFrame(0, "", 5));
  CHECK(g.host.submissions.front().request.create_session().timeout_ms() ==
        2000);
  Fixture h;
  h.Send(ConnectFrame(0, "", 1 << 30));
  CHECK(h.host.submissions.front().request.create_session().timeout_ms() ==
        600000);
}

TEST_CASE("zk connection: a session resumes with its password after a sync, "
          "and is told expired otherwise",
          "[zkserver]") {
  Fixture first;
  const std::string password = first.Open();

  for (const bool right : {true, false}) {
    INFO((right ? "the right password" : "a wrong password"));
    Fixture f;
    f.host.sessions = first.host.sessions;
    std::string given = password;
    if (!right) given[0] ^= 1;
    f.Send(ConnectFrame(kSession, given, 4000));
    REQUIRE(f.host.submissions.size() == 1);
    // A sync first, of no session.
    CHECK(f.host.submissions.front().session == 0);
    CHECK(f.host.submissions.front().request.body_case() ==
          txn::Request::BODY_NOT_SET);
    f.Finish(f.Ok(80));
    const zkwire::ConnectResponse r = TakeConnect(&f.conn->output());
    if (right) {
      CHECK(r.session_id == kSession);
      CHECK(r.timeout_ms == 30000);  // the session's own, not the asked
      CHECK(r.password == password);
      CHECK(f.host.hosted == std::vector<int64_t>{kSession});
      CHECK_FALSE(f.conn->finished());
    } else {
      CHECK(r.session_id == 0);
      CHECK(r.timeout_ms == 0);
      CHECK(f.host.hosted.empty());
      CHECK(f.conn->finished());
    }
  }
  // A session the replica does not hold (expired) is refused the same way.
  Fixture gone;
  gone.Send(ConnectFrame(kSession, password));
  gone.Finish(gone.Ok(80));
  CHECK(TakeConnect(&gone.conn->output()).timeout_ms == 0);
  CHECK(gone.conn->finished());
}

TEST_CASE("zk connection: requests answer in order, a read after the "
          "session's write and pings at once",
          "[zkserver]") {
  Fixture f;
  f.Open();
  f.host.nodes["/a"] = Node{"data", Stat{}};
  zkwire::Request ping = Req(OpCode::kPing, RequestKind::kPing, zkwire::kPingXid);
  f.Send(RequestFrame(SetData(1, "/a")) + RequestFrame(GetData(2, "/a", false)) +
         RequestFrame(ping));
  // The read waits for the write; the ping does not.
  std::vector<Sent> sent = TakeReplies(&f.conn->output());
  CHECK(Xids(sent) == std::vector<int32_t>{zkwire::kPingXid});
  REQUIRE(f.host.submissions.size() == 1);
  CHECK(f.host.submissions.front().session == kSession);
  CHECK(f.host.submissions.front().request.has_set_data());

  WriteOutcome o = f.Ok(90);
  OpResult r;
  r.type = Op::Type::kSet;
  r.stat.version = 3;
  o.results.push_back(r);
  f.Finish(std::move(o));
  sent = TakeReplies(&f.conn->output());
  REQUIRE(Xids(sent) == std::vector<int32_t>{1, 2});
  CHECK(sent[0].header.zxid == 90);
  CHECK(sent[0].header.err == 0);
  zkwire::JuteReader set_body(sent[0].body, 1 << 20);
  Stat stat;
  REQUIRE(zkwire::ReadStat(&set_body, &stat).ok());
  CHECK(stat.version == 3);
  zkwire::JuteReader get_body(sent[1].body, 1 << 20);
  std::string data;
  REQUIRE(get_body.Buffer(&data, "data").ok());
  CHECK(data == "data");
  CHECK(sent[1].header.zxid == 77);  // the replica's last applied

  // A failed read answers its error alone.
  f.Send(RequestFrame(GetData(3, "/missing", false)));
  sent = TakeReplies(&f.conn->output());
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].header.err == static_cast<int32_t>(ZkError::kNoNode));
  CHECK(sent[0].body.empty());
}

TEST_CASE("zk connection: multi results typed as ZooKeeper's, a failed "
          "multi's error per op",
          "[zkserver]") {
  Fixture f;
  f.Open();
  zkwire::Request multi = Req(OpCode::kMulti, RequestKind::kWrite, 4);
  txn::Request* c = multi.write.mutable_multi()->add_ops();
  c->mutable_create()->set_path("/s-");
  c->mutable_create()->set_mode(static_cast<int32_t>(CreateMode::kPersistentSequential));
  *multi.write.mutable_multi()->add_ops() = SetData(0, "/a").write;
  f.Send(RequestFrame(multi) + RequestFrame(multi));

  WriteOutcome ok = f.Ok(100);
  OpResult created;
  created.type = Op::Type::kCreate;
  created.path = "/s-0000000007";
  OpResult set;
  set.type = Op::Type::kSet;
  set.stat.version = 5;
  ok.results = {created, set};
  f.Finish(std::move(ok));
  WriteOutcome failed;
  failed.status = WithFailedOpIndex(MakeError(Error::kBadVersion, "/a"), 1);
  f.Finish(std::move(failed));

  std::vector<Sent> sent = TakeReplies(&f.conn->output());
  REQUIRE(Xids(sent) == std::vector<int32_t>{4, 4});
  std::vector<zkwire::OpResult> results;
  zkwire::JuteReader first(sent[0].body, 1 << 20);
  REQUIRE(zkwire::ReadMultiResponse(&first, &results).ok());
  REQUIRE(results.size() == 2);
  CHECK(results[0].type == OpCode::kCreate);
  CHECK(results[0].path == "/s-0000000007");
  CHECK(results[1].type == OpCode::kSetData);
  CHECK(results[1].stat.version == 5);
  // A failed multi succeeds as a reply; its results say which op failed.
  CHECK(sent[1].header.err == 0);
  zkwire::JuteReader second(sent[1].body, 1 << 20);
  REQUIRE(zkwire::ReadMultiResponse(&second, &results).ok());
  REQUIRE(results.size() == 2);
  CHECK(results[0].type == OpCode::kError);
  CHECK(results[0].err == 0);
  CHECK(results[1].err == static_cast<int32_t>(ZkError::kBadVersion));
}

TEST_CASE("zk connection: a watched change is told before a reply that "
          "follows it",
          "[zkserver]") {
  Fixture f;
  f.Open();
  f.host.nodes["/w"] = Node{"x", Stat{}};
  f.Send(RequestFrame(GetData(1, "/w", true)));
  f.host.DrainEvents();
  f.poster->RunAll();
  CHECK(Xids(TakeReplies(&f.conn->output())) == std::vector<int32_t>{1});
  REQUIRE(f.host.watchers.size() == 1);
  CHECK(f.host.watchers[0].owner == kSession);

  // Another session changed /w: its event is queued on the host's event
  // thread when this client reads /w again; the reply comes after it.
  f.host.Fire("/w", EventType::kDataChanged);
  f.Send(RequestFrame(GetData(2, "/w", false)));
  CHECK(f.conn->output().empty());
  f.host.DrainEvents();
  f.poster->RunAll();
  std::vector<Sent> sent = TakeReplies(&f.conn->output());
  REQUIRE(Xids(sent) == std::vector<int32_t>{zkwire::kNotificationXid, 2});
  zkwire::JuteReader event_body(sent[0].body, 1 << 20);
  zkwire::WatcherEvent event;
  REQUIRE(zkwire::ReadWatcherEvent(&event_body, &event).ok());
  CHECK(event.type == static_cast<int32_t>(zkwire::ZkEventType::kNodeDataChanged));
  CHECK(event.state == zkwire::kStateSyncConnected);
  CHECK(event.path == "/w");
  CHECK(sent[1].header.zxid == 77);

  // A ping's reply goes out at once, ahead of a routed reply: it carries
  // the zxid of the last reply sent, not a later one whose events the
  // client has not had yet (it would give that one to setWatches after a
  // lost connection, and miss them).
  f.host.applied = 90;
  f.host.Fire("/w", EventType::kDataChanged);
  f.Send(RequestFrame(GetData(3, "/w", false)));
  f.Send(RequestFrame(Req(OpCode::kPing, RequestKind::kPing, zkwire::kPingXid)));
  sent = TakeReplies(&f.conn->output());
  REQUIRE(Xids(sent) == std::vector<int32_t>{zkwire::kPingXid});
  CHECK(sent[0].header.zxid == 77);
  f.host.DrainEvents();
  f.poster->RunAll();
  sent = TakeReplies(&f.conn->output());
  REQUIRE(Xids(sent) == std::vector<int32_t>{zkwire::kNotificationXid, 3});
  CHECK(sent[1].header.zxid == 90);
  f.Send(RequestFrame(Req(OpCode::kPing, RequestKind::kPing, zkwire::kPingXid)));
  sent = TakeReplies(&f.conn->output());
  REQUIRE(Xids(sent) == std::vector<int32_t>{zkwire::kPingXid});
  CHECK(sent[0].header.zxid == 90);

  // Removal events are the client's own to make: none is sent.
  f.host.Fire("/w", EventType::kDataWatchRemoved);
  f.host.DrainEvents();
  f.poster->RunAll();
  CHECK(f.conn->output().empty());
}

TEST_CASE("zk connection: setWatches sends the missed events, then its reply",
          "[zkserver]") {
  Fixture f;
  f.Open();
  f.host.missed = {WatchEvent{EventType::kDeleted, SessionState::kConnected, "/gone"}};
  zkwire::Request set = Req(OpCode::kSetWatches2, RequestKind::kSetWatches,
                            zkwire::kSetWatchesXid);
  set.set_watches.relative_zxid = 55;
  set.set_watches.data = {"/gone"};
  set.set_watches.persistent_recursive = {"/r"};
  f.Send(RequestFrame(set));
  f.host.DrainEvents();
  f.poster->RunAll();
  CHECK(f.host.restored.relative_zxid == 55);
  CHECK(f.host.restored.data == std::vector<std::string>{"/gone"});
  CHECK(f.host.restored.persistent_recursive == std::vector<std::string>{"/r"});
  std::vector<Sent> sent = TakeReplies(&f.conn->output());
  CHECK(Xids(sent) == std::vector<int32_t>{zkwire::kNotificationXid,
                                           zkwire::kSetWatchesXid});
}

TEST_CASE("zk connection: closeSession closes it after the earlier writes",
          "[zkserver]") {
  Fixture f;
  f.Open();
  f.Send(RequestFrame(SetData(1, "/a")) +
         RequestFrame(Req(OpCode::kCloseSession, RequestKind::kCloseSession, 2)));
  REQUIRE(f.host.submissions.size() == 1);  // the close waits
  f.Finish(f.Ok(90));
  REQUIRE(f.host.submissions.size() == 1);
  CHECK(f.host.submissions.front().request.has_close_session());
  CHECK(f.host.submissions.front().session == kSession);
  CHECK(f.host.dropped == std::vector<int64_t>{kSession});
  CHECK(f.host.unhosted == std::vector<int64_t>{kSession});
  CHECK_FALSE(f.conn->finished());
  f.Finish(f.Ok(91));
  CHECK(Xids(TakeReplies(&f.conn->output())) == std::vector<int32_t>{1, 2});
  CHECK(f.conn->finished());
}

TEST_CASE("zk connection: a connection that goes leaves its session open",
          "[zkserver]") {
  Fixture f;
  f.Open();
  f.Send(RequestFrame(SetData(1, "/a")));
  f.conn->OnClosed();
  CHECK(f.host.unhosted == std::vector<int64_t>{kSession});
  CHECK(f.host.dropped == std::vector<int64_t>{kSession});
  CHECK(f.owner.serving.empty());
  // What completes later is dropped; no close was submitted.
  f.Finish(f.Ok(90));
  CHECK(f.conn->output().empty());
  CHECK(f.host.submissions.empty());

  // A second connection resuming the session closes the first.
  Fixture g;
  const std::string password = g.Open();
  auto second = std::make_shared<ZkConnection>(&g.host, &g.options, g.poster,
                                               &g.owner, AuthInfo{}, 0);
  second->OnInput(ConnectFrame(kSession, password), 0);
  g.Finish(g.Ok(80));
  CHECK(TakeConnect(&second->output()).session_id == kSession);
  CHECK(g.conn->finished());
  CHECK(g.owner.serving.at(kSession) == second.get());
  // The first one was no longer the session's: it did not stop hosting it.
  CHECK(g.host.unhosted.empty());
}

TEST_CASE("zk connection: bad frames, failed auth, silence and an expired "
          "session end the connection",
          "[zkserver]") {
  SECTION("a malformed request") {
    Fixture f;
    f.Open();
    f.Send(Frame(std::string("\0\0\0\1\0\0\0\4\0\0", 10)));  // a short getData
    CHECK(f.conn->finished());
    CHECK_FALSE(f.conn->wants_input());
  }
  SECTION("a frame longer than the peer takes") {
    Fixture f;
    f.Open();
    std::string huge;
    zkwire::JuteWriter(&huge).Int(1 << 30);
    f.Send(huge);
    CHECK(f.conn->finished());
  }
  SECTION("a malformed handshake") {
    Fixture f;
    f.Send(Frame("junk"));
    CHECK(f.conn->finished());
    CHECK(f.host.submissions.empty());
  }
  SECTION("an auth that fails") {
    Fixture f;
    f.Open();
    zkwire::Request auth = Req(OpCode::kAuth, RequestKind::kAuth, zkwire::kAuthXid);
    auth.scheme = "digest";
    auth.credentials = "no-colon";
    f.Send(RequestFrame(auth));
    f.host.DrainEvents();
    f.poster->RunAll();
    std::vector<Sent> sent = TakeReplies(&f.conn->output());
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].header.err == static_cast<int32_t>(ZkError::kAuthFailed));
    CHECK(f.conn->finished());
  }
  SECTION("silence past the session's timeout") {
    Fixture f;
    f.Open();
    f.conn->OnTick(30000);
    CHECK_FALSE(f.conn->finished());
    f.conn->OnTick(30001);
    CHECK(f.conn->finished());
  }
  SECTION("the ensemble closed the session") {
    Fixture f;
    f.Open();
    f.host.sessions.clear();
    f.conn->OnTick(10);
    CHECK(f.conn->finished());
  }
  SECTION("requests synod does not run are answered, the connection lives") {
    Fixture f;
    f.Open();
    f.Send(RequestFrame(Req(OpCode::kReconfig, RequestKind::kRefused, 9)));
    std::vector<Sent> sent = TakeReplies(&f.conn->output());
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].header.err ==
          static_cast<int32_t>(ZkError::kReconfigDisabled));
    CHECK_FALSE(f.conn->finished());
  }
}

TEST_CASE("zk connection: a four-letter word in place of the handshake is "
          "answered, and the connection ends",
          "[zkserver][4lw]") {
  Fixture f;
  f.Send("ru");
  CHECK(f.owner.words.empty());
  CHECK_FALSE(f.conn->finished());
  f.Send("ok");
  CHECK(f.owner.words == std::vector<std::string>{"ruok"});
  CHECK(f.conn->output() == "answer:ruok");
  CHECK(f.conn->finished());
  CHECK(f.host.submissions.empty());
  // Once a session is open, the same bytes are a frame's length (too
  // long): the connection ends unanswered.
  Fixture g;
  g.Open();
  g.Send("ruok");
  CHECK(g.owner.words.empty());
  CHECK(g.conn->finished());
}

TEST_CASE("zk connection: while no leader serves the peer, sessions end "
          "and handshakes go unanswered, four-letter words are answered",
          "[zkserver]") {
  SECTION("an open session's connection ends at the next tick") {
    Fixture f;
    f.Open();
    f.conn->OnTick(10);
    CHECK_FALSE(f.conn->finished());
    f.host.serves_clients = false;
    f.conn->OnTick(20);
    CHECK(f.conn->finished());
    // The session stays open on the ensemble: no close was submitted.
    CHECK(f.host.submissions.empty());
    f.conn->OnClosed();
    CHECK(f.host.unhosted == std::vector<int64_t>{kSession});
  }
  SECTION("a session being created ends too") {
    Fixture f;
    f.Send(ConnectFrame(0, std::string(16, '\0')));
    REQUIRE(f.host.submissions.size() == 1);
    f.host.serves_clients = false;
    f.conn->OnTick(10);
    CHECK(f.conn->finished());
  }
  SECTION("a handshake is closed unanswered, nothing submitted") {
    Fixture f;
    f.host.serves_clients = false;
    f.Send(ConnectFrame(0, std::string(16, '\0')));
    CHECK(f.conn->finished());
    CHECK(f.conn->output().empty());
    CHECK(f.host.submissions.empty());
    // A resume, too.
    Fixture g;
    g.host.serves_clients = false;
    g.Send(ConnectFrame(kSession, std::string(16, 'p')));
    CHECK(g.conn->finished());
    CHECK(g.host.submissions.empty());
  }
  SECTION("a four-letter word is answered, a waiting connection lives") {
    Fixture f;
    f.host.serves_clients = false;
    f.conn->OnTick(10);
    CHECK_FALSE(f.conn->finished());
    f.Send("srvr");
    CHECK(f.owner.words == std::vector<std::string>{"srvr"});
    CHECK(f.conn->output() == "answer:srvr");
  }
  SECTION("once a leader serves again, a new connection opens a session") {
    Fixture f;
    f.host.serves_clients = false;
    f.Send(ConnectFrame(0, std::string(16, '\0')));
    CHECK(f.conn->finished());
    f.host.serves_clients = true;
    f.conn = std::make_shared<ZkConnection>(&f.host, &f.options, f.poster,
                                            &f.owner, AuthInfo{}, 0);
    f.Open();  // answered with the session
    f.conn->OnTick(10);
    CHECK_FALSE(f.conn->finished());
  }
}

TEST_CASE("zk connection: one that sends no handshake is closed after "
          "ZooKeeper's sessionless timeout",
          "[zkserver]") {
  Fixture f;
  f.conn->OnTick(ZkConnection::kHandshakeTimeoutMs);
  CHECK_FALSE(f.conn->finished());
  f.conn->OnTick(ZkConnection::kHandshakeTimeoutMs + 1);
  CHECK(f.conn->finished());
  // A session being created is not cut short by it.
  Fixture g;
  g.Send(ConnectFrame(0, std::string(16, '\0')));
  g.conn->OnTick(ZkConnection::kHandshakeTimeoutMs + 1);
  CHECK_FALSE(g.conn->finished());
}

TEST_CASE("zk connection: its report counts frames and tells its last "
          "request",
          "[zkserver][4lw]") {
  Fixture f;
  CHECK(f.conn->Report().session == 0);
  CHECK(f.conn->Report().last_op == "NA");
  f.Open();
  f.host.nodes["/a"] = Node{};
  f.Send(RequestFrame(GetData(5, "/a", false)), 1234);
  f.host.DrainEvents();
  f.poster->RunAll();
  REQUIRE(TakeReplies(&f.conn->output()).size() == 1);
  const ConnectionReport r = f.conn->Report();
  CHECK(r.session == kSession);
  CHECK(r.timeout_ms == 30000);
  CHECK(r.received == 2);  // the handshake and the getData
  CHECK(r.sent == 2);
  CHECK(r.last_op == "GETD");
  CHECK(r.last_cxid == 5);
  CHECK(r.last_zxid == 77);
  CHECK(r.last_response_ms == 1234);
  CHECK(r.queued == 0);
}

TEST_CASE("zk connection: watch requests, whoAmI, multiRead and "
          "getEphemerals",
          "[zkserver]") {
  Fixture f;
  f.Open();
  f.host.nodes["/a"] = Node{};
  f.host.nodes["/a"].data = "x";

  zkwire::Request add = Req(OpCode::kAddWatch, RequestKind::kAddWatch, 1);
  add.path = "/a";
  add.watch_mode = WatchMode::kPersistentRecursive;
  zkwire::Request remove =
      Req(OpCode::kRemoveWatches, RequestKind::kRemoveWatches, 2);
  remove.path = "/b";
  zkwire::Request check =
      Req(OpCode::kCheckWatches, RequestKind::kCheckWatches, 3);
  check.path = "/a";
  zkwire::Request bad_check =
      Req(OpCode::kCheckWatches, RequestKind::kCheckWatches, 4);
  bad_check.path = "no-slash";
  zkwire::Request who = Req(OpCode::kWhoAmI, RequestKind::kWhoAmI, 5);
  zkwire::Request multi = Req(OpCode::kMultiRead, RequestKind::kMultiRead, 6);
  multi.reads = {{OpCode::kGetData, "/a", false},
                 {OpCode::kGetChildren, "/missing", false}};
  zkwire::Request eph = Req(OpCode::kGetEphemerals, RequestKind::kRead, 7);
  eph.read = {OpCode::kGetEphemerals, "/", false};
  std::string bytes;
  for (const auto* r : {&add, &remove, &check, &bad_check, &who, &multi, &eph}) {
    bytes += RequestFrame(*r);
  }
  f.Send(bytes);
  f.host.DrainEvents();
  f.poster->RunAll();
  std::vector<Sent> sent = TakeReplies(&f.conn->output());
  REQUIRE(Xids(sent) == std::vector<int32_t>{1, 2, 3, 4, 5, 6, 7});
  CHECK(sent[0].header.err == 0);
  REQUIRE(f.host.watchers.size() == 1);
  CHECK(f.host.watchers[0].owner == kSession);
  CHECK(f.host.watchers[0].path == "/a");
  CHECK(sent[1].header.err == static_cast<int32_t>(ZkError::kNoWatcher));
  CHECK(sent[2].header.err == static_cast<int32_t>(ZkError::kNoWatcher));
  CHECK(sent[3].header.err == static_cast<int32_t>(ZkError::kBadArguments));
  CHECK(sent[4].header.err == 0);
  std::vector<ClientInfo> ids;
  zkwire::JuteReader who_in(sent[4].body, 1 << 20);
  CHECK(zkwire::ReadWhoAmIResponse(&who_in, &ids).ok());
  CHECK(sent[5].header.err == 0);
  std::vector<zkwire::OpResult> results;
  zkwire::JuteReader multi_in(sent[5].body, 1 << 20);
  REQUIRE(zkwire::ReadMultiResponse(&multi_in, &results).ok());
  REQUIRE(results.size() == 2);
  CHECK(results[0].type == OpCode::kGetData);
  CHECK(results[0].data == "x");
  CHECK(results[1].type == OpCode::kError);
  CHECK(results[1].err == static_cast<int32_t>(ZkError::kNoNode));
  CHECK(sent[6].header.err == 0);
  CHECK_FALSE(f.conn->finished());
}

}  // namespace
}  // namespace synod::zkserver
