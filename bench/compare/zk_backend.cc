// The ZooKeeper backend: see zk_backend.h.
//
// Every operation allocates a small call record that travels to the C
// client as the completion's `data` and is freed by the completion (or at
// once when the call fails synchronously, in which case the client has not
// registered the completion and never runs it). The client serializes the
// path and data into its send buffer before zoo_a* returns, so only what
// the completion writes to (a multi's result array) has to live in the
// record.

#include "zk_backend.h"

#include <zookeeper/zookeeper.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace synod::bench {
namespace {

// How long OpenSession waits for a handle to reach ZOO_CONNECTED_STATE.
constexpr std::chrono::seconds kConnectWait(30);

// Returns OK for ZOK, else the absl status closest to `rc` (the mapping of
// STYLE.md), its message naming `call`, `what` and zerror(rc).
absl::Status ZkStatus(int rc, const char* call, const std::string& what) {
  if (rc == ZOK) return absl::OkStatus();
  std::string message =
      absl::StrFormat("%s %s: %s (%d)", call, what, zerror(rc), rc);
  switch (rc) {
    case ZNONODE:
      return absl::NotFoundError(message);
    case ZNODEEXISTS:
      return absl::AlreadyExistsError(message);
    case ZBADVERSION:
      return absl::AbortedError(message);
    case ZNOTEMPTY:
    case ZNOCHILDRENFOREPHEMERALS:
    case ZSESSIONEXPIRED:
    case ZINVALIDSTATE:  // the handle's session expired or its auth failed
      return absl::FailedPreconditionError(message);
    case ZNOAUTH:
      return absl::PermissionDeniedError(message);
    case ZAUTHFAILED:
      return absl::UnauthenticatedError(message);
    case ZOPERATIONTIMEOUT:
      return absl::DeadlineExceededError(message);
    case ZBADARGUMENTS:
    case ZINVALIDACL:
      return absl::InvalidArgumentError(message);
    case ZCLOSING:
      return absl::CancelledError(message);
    case ZCONNECTIONLOSS:
    case ZSESSIONMOVED:
    case ZNOTREADONLY:
    case ZTHROTTLEDOP:
    case ZNEWCONFIGNOQUORUM:
    case ZRECONFIGINPROGRESS:
    case ZSSLCONNECTIONERROR:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

// Returns `data`'s length as the C client's int, or InvalidArgument.
absl::StatusOr<int> DataLength(std::string_view data) {
  if (data.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("value of %d bytes is too large", data.size()));
  }
  return static_cast<int>(data.size());
}

// Forwards the C client's log lines (ERROR and above, see
// MakeZooKeeperBackend) to stderr, each distinct text (timestamp and thread
// aside) at most once per kLogRepeat: a handle whose server is down logs
// "connection refused" six times a second until it reconnects.
constexpr std::chrono::seconds kLogRepeat(10);
void LogToStderr(const char* message) {
  struct Log {
    std::mutex mu;
    // When each text was last printed, and how often skipped since.
    std::map<std::string, std::pair<std::chrono::steady_clock::time_point,
                                    int>, std::less<>>
        seen;
  };
  static Log* const log = new Log;  // never destroyed: used by exiting threads
  std::string_view line(message);
  size_t at = line.find("ZOO_");
  std::string_view text = at == std::string_view::npos ? line : line.substr(at);
  auto now = std::chrono::steady_clock::now();
  int skipped = 0;
  {
    std::lock_guard<std::mutex> lock(log->mu);
    auto it = log->seen.find(text);
    if (it != log->seen.end() && now - it->second.first < kLogRepeat) {
      ++it->second.second;
      return;
    }
    if (it == log->seen.end()) {
      if (log->seen.size() >= 256) log->seen.clear();
      it = log->seen.emplace(std::string(text), std::make_pair(now, 0)).first;
    }
    skipped = it->second.second;
    it->second = {now, 0};
  }
  if (skipped > 0) {
    std::fprintf(stderr, "%s [%d more since last shown]\n", message,
                 skipped);
  } else {
    std::fprintf(stderr, "%s\n", message);
  }
}

// The state of one outstanding single-znode operation. Owned by the C
// client between a successful zoo_a* call and its completion.
struct Call {
  Completion* done;
  const char* call;     // the zoo_a* function, for messages
  std::string path;     // for messages
  size_t expected = 0;  // Get: the expected data length
};

// The state of one outstanding zoo_amulti: the client writes each
// sub-operation's outcome into `results` until the completion runs.
struct MultiCall {
  Completion* done;
  std::vector<std::string> paths;  // for messages
  std::vector<zoo_op_t> ops;
  std::vector<zoo_op_result_t> results;
};

// Takes back the record passed to the C client as `data`.
template <typename T>
std::unique_ptr<T> Reclaim(const void* data) {
  return std::unique_ptr<T>(static_cast<T*>(const_cast<void*>(data)));
}

// Frees `call` and tells its Completion `status` (in that order, so the
// Completion may issue the next operation or end the run).
template <typename T>
void Finish(std::unique_ptr<T> call, absl::Status status) {
  Completion* done = call->done;
  call.reset();
  done->Done(std::move(status));
}

// Completes a zoo_acreate (the created path is not needed).
void OnCreated(int rc, const char* /*value*/, const void* data) {
  std::unique_ptr<Call> call = Reclaim<Call>(data);
  absl::Status status = ZkStatus(rc, call->call, call->path);
  Finish(std::move(call), std::move(status));
}

// Completes a zoo_aset.
void OnSet(int rc, const struct Stat* /*stat*/, const void* data) {
  std::unique_ptr<Call> call = Reclaim<Call>(data);
  absl::Status status = ZkStatus(rc, call->call, call->path);
  Finish(std::move(call), std::move(status));
}

// Completes a zoo_aget, checking the data's length (-1, no data, counts as
// empty).
void OnGot(int rc, const char* /*value*/, int value_len,
           const struct Stat* /*stat*/, const void* data) {
  std::unique_ptr<Call> call = Reclaim<Call>(data);
  absl::Status status = ZkStatus(rc, call->call, call->path);
  size_t got = value_len < 0 ? 0 : static_cast<size_t>(value_len);
  if (status.ok() && got != call->expected) {
    status = absl::InternalError(
        absl::StrFormat("zoo_aget %s: %d bytes of data, expected %d",
                        call->path, got, call->expected));
  }
  Finish(std::move(call), std::move(status));
}

// Completes a zoo_amulti. `rc` is the multi's first real error; the
// message names the sub-operation that failed.
void OnMulti(int rc, const void* data) {
  std::unique_ptr<MultiCall> call = Reclaim<MultiCall>(data);
  absl::Status status;
  for (size_t i = 0; i < call->results.size(); ++i) {
    int err = call->results[i].err;
    if (err != ZOK && err != ZRUNTIMEINCONSISTENCY &&
        (rc == ZOK || err == rc)) {
      status = ZkStatus(
          err, "zoo_amulti",
          absl::StrFormat("(op %d of %d) %s", i + 1, call->results.size(),
                          call->paths[i]));
      break;
    }
  }
  if (status.ok() && rc != ZOK) {
    status = ZkStatus(
        rc, "zoo_amulti",
        absl::StrFormat("of %d sets", call->results.size()));
  }
  Finish(std::move(call), std::move(status));
}

// One zhandle_t. Operations may be issued from any thread, one at a time.
class ZkSession final : public Session {
 public:
  // Creates a handle to `servers` and waits up to kConnectWait for it to
  // connect. Returns Unavailable (or InvalidArgument for a connection
  // string the client refuses) if it does not.
  static absl::StatusOr<std::unique_ptr<ZkSession>> Connect(
      const std::string& servers, int session_timeout_ms);

  // Closes the handle (zookeeper_close): outstanding operations complete
  // with ZCLOSING, on this thread or the completion thread, before it
  // returns.
  ~ZkSession() override {
    if (zh_ != nullptr) zookeeper_close(zh_);
  }

  ZkSession(const ZkSession&) = delete;
  ZkSession& operator=(const ZkSession&) = delete;

  void Create(const std::string& path, std::string_view data,
              Completion* done) override {
    Issue(path, data, done, "zoo_acreate", ZOO_PERSISTENT);
  }

  // ZOO_PERSISTENT_SEQUENTIAL has the value of the deprecated ZOO_SEQUENCE
  // flag (a persistent node with a sequence number).
  void CreateSequential(const std::string& prefix, std::string_view data,
                        Completion* done) override {
    Issue(prefix, data, done, "zoo_acreate", ZOO_PERSISTENT_SEQUENTIAL);
  }

  void Set(const std::string& path, std::string_view data,
           Completion* done) override {
    absl::StatusOr<int> len = DataLength(data);
    if (!len.ok()) {
      done->Done(len.status());
      return;
    }
    auto* call = new Call{done, "zoo_aset", path};
    int rc = zoo_aset(zh_, path.c_str(), data.data(), *len, /*version=*/-1,
                      &OnSet, call);
    if (rc != ZOK) FailNow(std::unique_ptr<Call>(call), rc);
  }

  void Get(const std::string& path, size_t expected_bytes,
           Completion* done) override {
    auto* call = new Call{done, "zoo_aget", path, expected_bytes};
    int rc = zoo_aget(zh_, path.c_str(), /*watch=*/0, &OnGot, call);
    if (rc != ZOK) FailNow(std::unique_ptr<Call>(call), rc);
  }

  void MultiSet(const std::vector<std::string>& paths, std::string_view data,
                Completion* done) override {
    absl::StatusOr<int> len = DataLength(data);
    if (!len.ok()) {
      done->Done(len.status());
      return;
    }
    auto call = std::make_unique<MultiCall>();
    call->done = done;
    call->paths = paths;
    call->ops.resize(paths.size());
    call->results.resize(paths.size());
    for (size_t i = 0; i < paths.size(); ++i) {
      zoo_set_op_init(&call->ops[i], call->paths[i].c_str(), data.data(),
                      *len, /*version=*/-1, /*stat=*/nullptr);
    }
    MultiCall* raw = call.release();
    int rc = zoo_amulti(zh_, static_cast<int>(raw->ops.size()),
                        raw->ops.data(), raw->results.data(), &OnMulti, raw);
    if (rc != ZOK) {
      std::unique_ptr<MultiCall> owned(raw);
      absl::Status status = ZkStatus(
          rc, "zoo_amulti", absl::StrFormat("of %d sets", paths.size()));
      Finish(std::move(owned), std::move(status));
    }
  }

 private:
  ZkSession() = default;

  // The global watcher: records session state changes for Connect.
  static void OnWatch(zhandle_t* /*zh*/, int type, int state,
                      const char* /*path*/, void* context) {
    if (type != ZOO_SESSION_EVENT) return;
    auto* self = static_cast<ZkSession*>(context);
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->state_ = state;
    }
    self->state_changed_.notify_all();
  }

  // Issues a zoo_acreate of `path` with `mode` and the open ACL.
  void Issue(const std::string& path, std::string_view data, Completion* done,
             const char* name, int mode) {
    absl::StatusOr<int> len = DataLength(data);
    if (!len.ok()) {
      done->Done(len.status());
      return;
    }
    auto* call = new Call{done, name, path};
    int rc = zoo_acreate(zh_, path.c_str(), data.data(), *len,
                         &ZOO_OPEN_ACL_UNSAFE, mode, &OnCreated, call);
    if (rc != ZOK) FailNow(std::unique_ptr<Call>(call), rc);
  }

  // Completes `call` with the synchronous failure `rc` of its zoo_a* call
  // (the client registered no completion for it).
  static void FailNow(std::unique_ptr<Call> call, int rc) {
    absl::Status status = ZkStatus(rc, call->call, call->path);
    Finish(std::move(call), std::move(status));
  }

  zhandle_t* zh_ = nullptr;
  std::mutex mu_;
  std::condition_variable state_changed_;
  int state_ = 0;  // the last session state the watcher saw; guarded by mu_
};

absl::StatusOr<std::unique_ptr<ZkSession>> ZkSession::Connect(
    const std::string& servers, int session_timeout_ms) {
  std::unique_ptr<ZkSession> session(new ZkSession());
  errno = 0;
  session->zh_ = zookeeper_init2(servers.c_str(), &ZkSession::OnWatch,
                                 session_timeout_ms, /*clientid=*/nullptr,
                                 session.get(), /*flags=*/0, &LogToStderr);
  if (session->zh_ == nullptr) {
    int err = errno;
    std::string message = absl::StrFormat("zookeeper_init(%s): %s", servers,
                                          std::strerror(err));
    if (err == EINVAL) return absl::InvalidArgumentError(message);
    return absl::UnavailableError(message);
  }
  std::unique_lock<std::mutex> lock(session->mu_);
  bool settled = session->state_changed_.wait_for(lock, kConnectWait, [&] {
    return session->state_ == ZOO_CONNECTED_STATE ||
           session->state_ == ZOO_EXPIRED_SESSION_STATE ||
           session->state_ == ZOO_AUTH_FAILED_STATE;
  });
  int state = session->state_;
  lock.unlock();
  if (!settled) {
    return absl::UnavailableError(absl::StrFormat(
        "no ZooKeeper session with %s within %d s (last state %d)", servers,
        kConnectWait.count(), state));
  }
  if (state != ZOO_CONNECTED_STATE) {
    return absl::UnavailableError(absl::StrFormat(
        "ZooKeeper session with %s failed: %s", servers,
        state == ZOO_AUTH_FAILED_STATE ? "authentication failed"
                                       : "session expired"));
  }
  return session;
}

// Sessions to one ensemble; they live until the backend is destroyed.
class ZkBackend final : public Backend {
 public:
  ZkBackend(std::string servers, int session_timeout_ms)
      : servers_(std::move(servers)), session_timeout_ms_(session_timeout_ms) {}

  // Closes every handle, newest first.
  ~ZkBackend() override {
    while (!sessions_.empty()) sessions_.pop_back();
  }

  absl::StatusOr<Session*> OpenSession() override {
    absl::StatusOr<std::unique_ptr<ZkSession>> session =
        ZkSession::Connect(servers_, session_timeout_ms_);
    if (!session.ok()) return session.status();
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.push_back(*std::move(session));
    return sessions_.back().get();
  }

 private:
  const std::string servers_;
  const int session_timeout_ms_;
  std::mutex mu_;
  std::vector<std::unique_ptr<ZkSession>> sessions_;  // guarded by mu_
};

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> MakeZooKeeperBackend(
    const Flags& flags) {
  std::string servers = FlagOr(flags, "servers", "");
  if (servers.empty() || servers == "true") {
    return absl::InvalidArgumentError(
        "--servers=host:port[,host:port...] is required");
  }
  std::string timeout = FlagOr(flags, "zk-session-timeout-ms", "10000");
  int timeout_ms = 0;
  if (!absl::SimpleAtoi(absl::string_view(timeout), &timeout_ms) ||
      timeout_ms <= 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--zk-session-timeout-ms=%s: not a positive number", timeout));
  }
  // The client logs connection attempts and state changes at INFO; keep
  // only its errors (to stderr through LogToStderr).
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  return std::unique_ptr<Backend>(
      std::make_unique<ZkBackend>(std::move(servers), timeout_ms));
}

}  // namespace synod::bench
