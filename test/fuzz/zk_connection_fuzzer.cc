// Fuzzes one ZooKeeper connection (lib/zkserver/zk_connection.h), the
// protocol's state machine over the codec: the input is what a client
// sends, over a host that completes every write, fires watches on written
// paths and answers reads from a small tree. Input: byte 0's bit 0 puts a
// valid handshake (a new session) first, bit 1 makes every write fail;
// byte 1 says where the rest is cut in two (the halves arrive separately,
// with the host's completions run between); the rest is the client's bytes.
//
// Properties: nothing crashes; a four-letter word is answered with the
// owner's answer and ends the connection; otherwise the output is whole
// frames: a ConnectResponse first, then replies and notifications that
// each begin with a readable reply header; it never exceeds the
// connection's output bound; after the end nothing more is sent.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_util.h"
#include "synod/types.h"
#include "transport/client_host.h"
#include "util/errors.h"
#include "zkserver/zk_connection.h"
#include "zkwire/jute.h"
#include "zkwire/zk_records.h"

namespace synod::fuzz {
namespace {

using transport::ClientHost;

class Queue final : public zkserver::Poster {
 public:
  void Post(std::function<void()> task) override {
    tasks.push_back(std::move(task));
  }
  std::deque<std::function<void()>> tasks;
};

class Owner final : public zkserver::ConnectionOwner {
 public:
  void Attach(int64_t, zkserver::ZkConnection*) override {}
  bool Detach(int64_t, zkserver::ZkConnection*) override { return true; }
  std::string AnswerWord(std::string_view word) override {
    words.emplace_back(word);
    return "answer:" + std::string(word);
  }
  std::vector<std::string> words;
};

// A host over a tiny tree ("/" and "/a"); writes complete when Run says.
class Host final : public ClientHost {
 public:
  explicit Host(bool fail_writes) : fail_writes_(fail_writes) {
    Node a;
    a.data = "x";
    nodes_["/"] = Node{};
    nodes_["/a"] = a;
  }

  void SubmitAs(int64_t, std::shared_ptr<const AuthInfo>, txn::Request request,
                Done done) override {
    writes_.emplace_back(std::move(request), std::move(done));
  }
  absl::StatusOr<Node> GetAs(int64_t, const AuthInfo*, std::string_view path,
                             Watcher watcher) override {
    Watch(path, std::move(watcher));
    auto it = nodes_.find(std::string(path));
    if (it == nodes_.end()) return MakeError(Error::kNoNode, path);
    return it->second;
  }
  absl::StatusOr<std::vector<std::string>> GetChildrenAs(
      int64_t, const AuthInfo*, std::string_view path, Watcher watcher,
      Stat*) override {
    Watch(path, std::move(watcher));
    if (path == "/") return std::vector<std::string>{"a"};
    if (nodes_.count(std::string(path)) == 0) {
      return MakeError(Error::kNoNode, path);
    }
    return std::vector<std::string>{};
  }
  absl::StatusOr<std::optional<Stat>> ExistsAs(int64_t, std::string_view path,
                                               Watcher watcher) override {
    Watch(path, std::move(watcher));
    auto it = nodes_.find(std::string(path));
    if (it == nodes_.end()) return std::optional<Stat>();
    return std::optional<Stat>(it->second.stat);
  }
  absl::StatusOr<AclList> GetAclAs(const AuthInfo&, std::string_view path,
                                   Stat*) override {
    if (nodes_.count(std::string(path)) == 0) {
      return MakeError(Error::kNoNode, path);
    }
    return AclList{};
  }
  absl::StatusOr<std::pair<Zxid, std::string>> SnapshotAs(
      const AuthInfo&) override {
    return MakeError(Error::kUnimplemented, "");
  }
  absl::StatusOr<Quota> GetQuota(std::string_view path) override {
    return MakeError(Error::kNoNode, path);
  }
  absl::StatusOr<std::vector<std::string>> GetEphemeralsAs(
      int64_t, std::string_view) override {
    return std::vector<std::string>{};
  }
  absl::StatusOr<int32_t> GetAllChildrenNumberAs(const AuthInfo&,
                                                 std::string_view) override {
    return 1;
  }
  absl::Status AddWatchAs(int64_t, std::string_view path, WatchMode,
                          Watcher watcher) override {
    Watch(path, std::move(watcher));
    return absl::OkStatus();
  }
  absl::Status RemoveWatchesAs(int64_t, std::string_view path, WatcherType,
                               bool) override {
    return watchers_.erase(std::string(path)) > 0
               ? absl::OkStatus()
               : MakeError(Error::kNoWatcher, path);
  }
  int64_t DropWatchesOf(int64_t) override {
    const int64_t n = static_cast<int64_t>(watchers_.size());
    watchers_.clear();
    return n;
  }
  bool HasWatchesAs(int64_t, std::string_view path, WatcherType) override {
    return watchers_.count(std::string(path)) > 0;
  }
  std::vector<WatchEvent> RestoreWatchesAs(int64_t, const RestoredWatches& w,
                                           Watcher watcher) override {
    std::vector<WatchEvent> missed;
    for (const std::string& path : w.data) {
      if (nodes_.count(path) == 0) {
        missed.push_back({EventType::kDeleted, SessionState::kConnected, path});
      } else {
        Watch(path, watcher);
      }
    }
    return missed;
  }
  std::optional<OpenSession> FindSession(int64_t id) const override {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return std::nullopt;
    return it->second;
  }
  Zxid LastAppliedZxid() const override { return zxid_; }
  bool ServesClients() const override { return true; }
  void RunAfterEvents(std::function<void()> task) override {
    events_.push_back(std::move(task));
  }
  void SetWatchAuth(int64_t, std::shared_ptr<const AuthInfo>) override {}
  void AddHostedSession(int64_t) override {}
  void RemoveHostedSession(int64_t) override {}
  PeerStatus GetPeerStatus() const override { return {}; }
  Health GetHealth() const override { return {}; }
  std::string ListenAddress() const override { return "fuzz:2181"; }

  // Completes the writes and runs the event thread's queue; false if
  // there was nothing to do.
  bool Run() {
    bool any = !writes_.empty() || !events_.empty();
    while (!writes_.empty()) {
      auto [request, done] = std::move(writes_.front());
      writes_.pop_front();
      WriteOutcome o;
      o.zxid = ++zxid_;
      if (request.has_create_session()) {
        sessions_[o.zxid] = {request.create_session().timeout_ms(),
                             request.create_session().password_digest()};
      } else if (request.has_close_session()) {
        sessions_.clear();
      } else if (fail_writes_ && request.body_case() != txn::Request::BODY_NOT_SET) {
        o.status = MakeError(Error::kConnectionLoss, "no leader");
      } else {
        o.results.resize(request.has_multi() ? request.multi().ops_size() : 1);
        Fire(request);
      }
      done(std::move(o));
    }
    while (!events_.empty()) {
      auto task = std::move(events_.front());
      events_.pop_front();
      task();
    }
    return any;
  }

 private:
  void Watch(std::string_view path, Watcher watcher) {
    if (watcher) watchers_[std::string(path)] = std::move(watcher);
  }
  // Fires the watches on every path the write names (as a data change).
  void Fire(const txn::Request& request) {
    std::vector<std::string> paths;
    if (request.has_create()) paths.push_back(request.create().path());
    if (request.has_delete_node()) paths.push_back(request.delete_node().path());
    if (request.has_set_data()) paths.push_back(request.set_data().path());
    for (const std::string& path : paths) {
      auto it = watchers_.find(path);
      if (it == watchers_.end()) continue;
      Watcher w = std::move(it->second);
      watchers_.erase(it);
      events_.push_back([w, path] {
        w(WatchEvent{EventType::kDataChanged, SessionState::kConnected, path});
      });
    }
  }

  const bool fail_writes_;
  Zxid zxid_ = 0x100000000;
  std::map<std::string, Node> nodes_;
  std::map<std::string, Watcher> watchers_;
  std::map<int64_t, OpenSession> sessions_;
  std::deque<std::pair<txn::Request, Done>> writes_;
  std::deque<std::function<void()>> events_;
};

std::string Handshake() {
  zkwire::ConnectRequest c;
  c.timeout_ms = 30000;
  c.password.assign(16, '\0');
  std::string body;
  zkwire::EncodeConnectRequest(c, &body);
  std::string frame;
  zkwire::AppendFrame(body, &frame);
  return frame;
}

// Runs the host and the loop until both are quiet (bounded).
void Settle(Host* host, Queue* loop) {
  for (int round = 0; round < 64; ++round) {
    bool any = host->Run();
    while (!loop->tasks.empty()) {
      auto task = std::move(loop->tasks.front());
      loop->tasks.pop_front();
      task();
      any = true;
    }
    if (!any) return;
  }
}

void CheckOutput(const std::string& out, const std::string& input) {
  SYNOD_FUZZ_CHECK(out.size() <= zkserver::ZkConnection::kMaxOutputBytes,
                   Printable(input));
  size_t at = 0;
  bool first = true;
  while (at < out.size()) {
    SYNOD_FUZZ_CHECK(out.size() - at >= zkwire::kFrameHeaderBytes,
                     Printable(input));
    absl::StatusOr<int32_t> n =
        zkwire::FrameLength(std::string_view(out).substr(at), 0, INT32_MAX);
    SYNOD_FUZZ_CHECK(n.ok(), Printable(input));
    const size_t whole = zkwire::kFrameHeaderBytes + static_cast<size_t>(*n);
    SYNOD_FUZZ_CHECK(at + whole <= out.size(), Printable(input));
    const std::string_view body = std::string_view(out).substr(
        at + zkwire::kFrameHeaderBytes, static_cast<size_t>(*n));
    if (first) {
      SYNOD_FUZZ_CHECK(zkwire::DecodeConnectResponse(body, 1 << 20).ok(),
                       Printable(input));
      first = false;
    } else {
      zkwire::JuteReader in(body, 1 << 20);
      zkwire::ReplyHeader h;
      SYNOD_FUZZ_CHECK(zkwire::ReadReplyHeader(&in, &h).ok(), Printable(input));
    }
    at += whole;
  }
}

}  // namespace
}  // namespace synod::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace synod;
  using namespace synod::fuzz;
  if (size < 2 || size > kMaxInputBytes) return 0;
  const bool open_first = data[0] & 1;
  const bool fail_writes = data[0] & 2;
  std::string input(reinterpret_cast<const char*>(data) + 2, size - 2);
  const size_t cut = input.empty() ? 0 : data[1] % (input.size() + 1);
  if (open_first) input.insert(0, Handshake());

  Host host(fail_writes);
  Owner owner;
  auto loop = std::make_shared<Queue>();
  Options options;
  auto conn = std::make_shared<zkserver::ZkConnection>(
      &host, &options, loop, &owner, AuthInfo{}, 0);
  const size_t first_part = (open_first ? Handshake().size() : 0) + cut;
  conn->OnInput(std::string_view(input).substr(0, first_part), 1);
  Settle(&host, loop.get());
  conn->OnInput(std::string_view(input).substr(first_part), 2);
  Settle(&host, loop.get());
  conn->OnTick(3);
  Settle(&host, loop.get());

  const std::string out = conn->output();
  if (!owner.words.empty()) {
    SYNOD_FUZZ_CHECK(owner.words.size() == 1, Printable(input));
    SYNOD_FUZZ_CHECK(out == "answer:" + owner.words[0], Printable(input));
    SYNOD_FUZZ_CHECK(conn->finished(), Printable(input));
  } else {
    CheckOutput(out, input);
  }
  // After the end, nothing more goes out.
  if (conn->finished()) {
    conn->OnInput(input, 4);
    Settle(&host, loop.get());
    SYNOD_FUZZ_CHECK(conn->output() == out, Printable(input));
  }
  conn->OnClosed();
  Settle(&host, loop.get());
  return 0;
}
