// The socket loop of ZooKeeper's protocol: one thread, epoll over the
// listening socket, an eventfd and the connections, all non-blocking and
// level-triggered. Everything but Post and Stop runs on that thread; the
// host's completions and watch events reach it as posted tasks.
//
// Each pass: wait (until the next tick at most), accept, read what each
// readable connection may take, run the posted tasks, tick if due, then
// bring every connection up to date: send what it has, close it if it is
// finished (a finished connection gets until the next tick to send what is
// left), and listen for input only while it wants some.
//
// With Options::tls every connection is TLS (tls_channel.h): its protocol
// begins once the handshake is done, with the client's certificate subject
// as its x509 identity; bytes pass through the channel both ways.

#include "zkserver/zk_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "acl/identity.h"
#include "transport/remote_session.h"
#include "util/errors.h"
#include "util/log.h"
#include "util/mutex.h"
#include "zkserver/four_letter_words.h"
#include "zkserver/tls_channel.h"
#include "zkserver/zk_connection.h"

namespace synod::zkserver {
namespace {

constexpr size_t kReadChunk = 64 << 10;
constexpr int kMaxEvents = 64;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

// Splits "host:port" ("[v6]:port" too).
bool SplitAddress(const std::string& address, std::string* host,
                  std::string* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = address.substr(0, colon);
  *port = address.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  return !host->empty() && !port->empty();
}

// The client's IP and port.
std::pair<std::string, int> PeerAddress(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return {"", 0};
  }
  char buf[INET6_ADDRSTRLEN] = {0};
  int port = 0;
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
    port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
    port = ntohs(in6->sin6_port);
  }
  return {buf, port};
}

// Open file descriptors of this process, and the most it may have (-1
// where unknown).
int64_t OpenFileDescriptors() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int64_t n = 0;
  while (const dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;  // the directory's own descriptor
}

int64_t MaxFileDescriptors() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
  return static_cast<int64_t>(limit.rlim_cur);
}

// Tasks for the loop thread, from any thread; wakes the loop's epoll
// through an eventfd. Writes to the eventfd happen under the lock, so Stop
// (which refuses later tasks) can close it safely.
class LoopPoster final : public Poster {
 public:
  explicit LoopPoster(int event_fd) : event_fd_(event_fd) {}

  void Post(std::function<void()> task) override {
    MutexLock lock(&mu_);
    if (stopped_) return;
    tasks_.push_back(std::move(task));
    if (tasks_.size() == 1) {
      const uint64_t one = 1;
      // Non-blocking; a full counter still wakes the loop.
      [[maybe_unused]] ssize_t n = write(event_fd_, &one, sizeof(one));
    }
  }

  std::vector<std::function<void()>> Take() {
    MutexLock lock(&mu_);
    std::vector<std::function<void()>> out;
    out.swap(tasks_);
    return out;
  }

  // Refuses every later task and drops the queued ones; returns them (to
  // be destroyed by the caller, outside the lock).
  std::vector<std::function<void()>> Stop() {
    MutexLock lock(&mu_);
    stopped_ = true;
    std::vector<std::function<void()>> out;
    out.swap(tasks_);
    return out;
  }

 private:
  Mutex mu_;
  const int event_fd_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

class ZkServer::Impl final : public ConnectionOwner {
 public:
  Impl(transport::ClientHost* host, Options options, WordWhitelist words,
       std::unique_ptr<TlsServerContext> tls)
      : host_(host),
        options_(std::move(options)),
        words_(words),
        tls_(std::move(tls)) {}
  ~Impl() override {
    Stop();
    for (int fd : {listen_fd_, epoll_fd_, event_fd_}) {
      if (fd >= 0) close(fd);
    }
  }

  absl::Status Listen();
  void StartThread() { thread_ = std::thread([this] { Run(); }); }
  void Stop();
  std::string address() const { return address_; }

  void Attach(int64_t id, ZkConnection* conn) override {
    ZkConnection*& serving = serving_[id];
    ZkConnection* old = serving;
    serving = conn;
    if (old != nullptr && old != conn) old->OnClosed();
  }
  bool Detach(int64_t id, ZkConnection* conn) override {
    auto it = serving_.find(id);
    if (it == serving_.end() || it->second != conn) return false;
    serving_.erase(it);
    return true;
  }
  std::string AnswerWord(std::string_view word) override;

 private:
  struct Conn {
    int fd = -1;
    // The protocol; with TLS, made once the handshake is done.
    std::shared_ptr<ZkConnection> zk;
    std::unique_ptr<TlsChannel> tls;  // null: plaintext
    uint32_t events = 0;  // what epoll watches for it
    std::string ip;
    std::string remote;   // "ip:port"
    int64_t accepted_ms = 0;
  };

  void Run();
  void Accept();
  // Reads what `c` may take; false if the socket closed or failed.
  bool ReadFrom(Conn& c);
  // Gives `c` bytes read from its socket; false if its TLS failed.
  bool Take(Conn& c, std::string_view bytes);
  // Starts the protocol of a connection: its ZkConnection, with what the
  // connection proves of its client.
  void StartProtocol(Conn& c);
  // Sends what `c` has ready; false if the client is gone.
  bool SendFrom(Conn& c);
  // Whether `c` still has bytes to send.
  static bool HasOutput(const Conn& c);
  // Sends what `c` has, closes it if it is done, and sets what epoll
  // watches for it. `tick`: a finished connection is closed even with
  // output left.
  void Update(Conn& c, bool tick, std::vector<int>* to_close);
  void CloseConn(int fd);

  transport::ClientHost* const host_;
  const Options options_;
  const WordWhitelist words_;
  const std::unique_ptr<TlsServerContext> tls_;  // null: plaintext
  std::string plaintext_;  // Take's, reused
  int64_t started_ms_ = 0;
  // Frames of the connections closed so far (the open ones count theirs).
  int64_t closed_received_ = 0;
  int64_t closed_sent_ = 0;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int event_fd_ = -1;
  std::string address_;
  std::shared_ptr<LoopPoster> poster_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  bool stopped_ = false;  // Stop's own, on the thread that calls it
  // The loop thread's alone.
  absl::flat_hash_map<int, Conn> conns_;
  absl::flat_hash_map<int64_t, ZkConnection*> serving_;
};

absl::Status ZkServer::Impl::Listen() {
  std::string host, port;
  if (!SplitAddress(options_.zk_listen, &host, &port)) {
    return MakeError(Error::kBadArguments,
                     absl::StrCat("zk_listen must be host:port, not '",
                                  options_.zk_listen, "'"));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
      rc != 0) {
    return MakeError(Error::kConnectionLoss,
                     absl::StrCat("cannot resolve ", options_.zk_listen, ": ",
                                  gai_strerror(rc)));
  }
  std::string why = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK |
                                            SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 128) == 0) {
      listen_fd_ = fd;
      break;
    }
    why = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(found);
  if (listen_fd_ < 0) {
    return MakeError(Error::kConnectionLoss,
                     absl::StrCat("cannot listen for ZooKeeper clients on ",
                                  options_.zk_listen, ": ", why));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  const int bound_port =
      bound.ss_family == AF_INET6
          ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
          : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  address_ = absl::StrCat(
      options_.zk_listen.substr(0, options_.zk_listen.rfind(':') + 1),
      bound_port);

  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || event_fd_ < 0) {
    return MakeError(Error::kSystemError, "cannot make the ZooKeeper loop");
  }
  for (int fd : {listen_fd_, event_fd_}) {
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &e);
  }
  poster_ = std::make_shared<LoopPoster>(event_fd_);
  started_ms_ = NowMs();
  return absl::OkStatus();
}

std::string ZkServer::Impl::AnswerWord(std::string_view word) {
  ServerReport r;
  const std::optional<Word> w = ServedWord(word);
  // Only the words that read the report pay for it.
  if (w.has_value() && words_.Allows(*w) && *w != Word::kRuok) {
    r.health = host_->GetHealth();
    r.client_address = address_;
    r.data_dir = options_.data_dir;
    r.tick_ms = absl::ToInt64Milliseconds(options_.tick);
    r.max_connections = options_.max_connections;
    r.min_session_timeout_ms = transport::RemoteSessionTimeoutMs(options_, 1);
    r.max_session_timeout_ms =
        transport::RemoteSessionTimeoutMs(options_, INT64_MAX);
    r.uptime_ms = NowMs() - started_ms_;
    r.packets_received = closed_received_;
    r.packets_sent = closed_sent_;
    r.open_file_descriptors = OpenFileDescriptors();
    r.max_file_descriptors = MaxFileDescriptors();
    for (const auto& [fd, c] : conns_) {
      if (c.zk == nullptr) continue;  // still in its TLS handshake
      ConnectionReport cr = c.zk->Report();
      cr.remote = c.remote;
      r.packets_received += cr.received;
      r.packets_sent += cr.sent;
      r.connections.push_back(std::move(cr));
    }
  }
  return zkserver::AnswerWord(word, words_, r);
}

void ZkServer::Impl::Run() {
  const int64_t tick_ms =
      std::max<int64_t>(1, absl::ToInt64Milliseconds(options_.tick));
  int64_t next_tick = NowMs() + tick_ms;
  epoll_event events[kMaxEvents];
  std::vector<int> to_close;
  while (!stop_.load()) {
    const int64_t wait = std::max<int64_t>(0, next_tick - NowMs());
    const int n = epoll_wait(epoll_fd_, events, kMaxEvents,
                             static_cast<int>(wait));
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listen_fd_) {
        Accept();
      } else if (fd == event_fd_) {
        uint64_t count = 0;
        [[maybe_unused]] ssize_t r = read(event_fd_, &count, sizeof(count));
      } else if (auto it = conns_.find(fd); it != conns_.end()) {
        if ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
            !ReadFrom(it->second)) {
          to_close.push_back(fd);
        }
      }
    }
    for (std::function<void()>& task : poster_->Take()) task();
    const int64_t now = NowMs();
    const bool tick = now >= next_tick;
    if (tick) {
      next_tick = now + tick_ms;
      for (auto& [fd, c] : conns_) {
        if (c.zk != nullptr) {
          c.zk->OnTick(now);
        } else if (now - c.accepted_ms > ZkConnection::kHandshakeTimeoutMs) {
          to_close.push_back(fd);  // a TLS handshake never finished
        }
      }
      if (tls_ != nullptr) {
        if (absl::Status s = tls_->MaybeReload(now); !s.ok()) {
          Log(options_, LogLevel::kWarning,
              absl::StrCat("ZooKeeper port: the TLS files did not load again, "
                           "the ones loaded before stay in use: ",
                           s.message()));
        }
      }
    }
    for (auto& [fd, c] : conns_) Update(c, tick, &to_close);
    for (int fd : to_close) CloseConn(fd);
    to_close.clear();
  }
  // Stopping: every connection closes; its session stays open for its
  // timeout on the ensemble.
  std::vector<int> all;
  for (const auto& [fd, c] : conns_) all.push_back(fd);
  for (int fd : all) CloseConn(fd);
}

void ZkServer::Impl::Accept() {
  while (true) {
    const int fd = accept4(listen_fd_, nullptr, nullptr,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a connection gone before accepted
    if (conns_.size() >= static_cast<size_t>(options_.max_connections)) {
      close(fd);
      continue;
    }
    const int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    auto [ip, port] = PeerAddress(fd);
    Conn c;
    c.remote = absl::StrCat(ip, ":", port);
    c.ip = std::move(ip);
    c.fd = fd;
    c.accepted_ms = NowMs();
    if (tls_ != nullptr) {
      c.tls = tls_->NewChannel();
      if (c.tls == nullptr) {
        close(fd);
        continue;
      }
    } else {
      StartProtocol(c);
    }
    c.events = EPOLLIN;
    epoll_event e{};
    e.events = c.events;
    e.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &e);
    conns_.emplace(fd, std::move(c));
  }
}

void ZkServer::Impl::StartProtocol(Conn& c) {
  AuthInfo auth;
  auth.ip = c.ip;
  if (c.tls != nullptr) {
    // The subject of a certificate the handshake verified: the client's
    // x509 identity, as over the client service (an empty subject names
    // nobody).
    std::string subject = c.tls->PeerSubject();
    if (!subject.empty()) {
      if (absl::Status s =
              AddIdentity(options_, AuthId{"x509", std::move(subject)}, &auth);
          !s.ok()) {
        Log(options_, LogLevel::kWarning,
            absl::StrCat("ZooKeeper port: the certificate subject of ",
                         c.remote, " is not taken as its x509 identity: ",
                         s.message()));
      }
    }
  }
  c.zk = std::make_shared<ZkConnection>(host_, &options_, poster_, this,
                                        std::move(auth), NowMs());
}

bool ZkServer::Impl::Take(Conn& c, std::string_view bytes) {
  if (c.tls == nullptr) {
    c.zk->OnInput(bytes, NowMs());
    return true;
  }
  plaintext_.clear();
  if (absl::Status s = c.tls->Receive(bytes, &plaintext_); !s.ok()) {
    Log(options_, LogLevel::kInfo,
        absl::StrCat("ZooKeeper port: ", c.remote, ": ", s.message()));
    // The alert that says why, if it fits the socket now; then it closes.
    std::string& wire = c.tls->wire();
    if (!wire.empty()) {
      [[maybe_unused]] ssize_t n =
          send(c.fd, wire.data(), wire.size(), MSG_NOSIGNAL);
    }
    return false;
  }
  if (c.zk == nullptr && c.tls->established()) StartProtocol(c);
  if (!plaintext_.empty()) c.zk->OnInput(plaintext_, NowMs());
  return true;
}

bool ZkServer::Impl::ReadFrom(Conn& c) {
  char buf[kReadChunk];
  // A connection in its TLS handshake always reads.
  while (c.zk == nullptr || c.zk->wants_input()) {
    const ssize_t n = read(c.fd, buf, sizeof(buf));
    if (n > 0) {
      if (!Take(c, std::string_view(buf, static_cast<size_t>(n)))) {
        return false;
      }
      if (static_cast<size_t>(n) < sizeof(buf)) return true;
      continue;
    }
    if (n == 0) return false;  // the client closed
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
  return true;
}

bool ZkServer::Impl::HasOutput(const Conn& c) {
  return (c.tls != nullptr && !c.tls->wire().empty()) ||
         (c.zk != nullptr && !c.zk->output().empty());
}

bool ZkServer::Impl::SendFrom(Conn& c) {
  while (true) {
    // Plaintext: the protocol's output. TLS: its records, sealed from the
    // protocol's output a bounded step at a time, so that output the
    // client does not read stays the protocol's to count.
    std::string* out = c.tls != nullptr ? &c.tls->wire()
                                        : (c.zk != nullptr ? &c.zk->output()
                                                           : nullptr);
    if (c.tls != nullptr && out->empty() && c.zk != nullptr &&
        !c.zk->output().empty()) {
      if (absl::Status s = c.tls->Seal(&c.zk->output()); !s.ok()) {
        Log(options_, LogLevel::kInfo,
            absl::StrCat("ZooKeeper port: ", c.remote, ": ", s.message()));
        return false;
      }
    }
    if (out == nullptr || out->empty()) return true;
    const ssize_t n = send(c.fd, out->data(), out->size(), MSG_NOSIGNAL);
    if (n > 0) {
      out->erase(0, static_cast<size_t>(n));
      continue;
    }
    // Blocked (the socket is full), or the client is gone.
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
  }
}

void ZkServer::Impl::Update(Conn& c, bool tick, std::vector<int>* to_close) {
  if (!SendFrom(c)) {
    to_close->push_back(c.fd);
    return;
  }
  const bool output = HasOutput(c);
  if (c.zk != nullptr && c.zk->finished() && (!output || tick)) {
    to_close->push_back(c.fd);
    return;
  }
  const bool input = c.zk == nullptr || c.zk->wants_input();
  const uint32_t want = (input ? EPOLLIN : 0u) |
                        (output ? static_cast<uint32_t>(EPOLLOUT) : 0u);
  if (want != c.events) {
    c.events = want;
    epoll_event e{};
    e.events = want;
    e.data.fd = c.fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &e);
  }
}

void ZkServer::Impl::CloseConn(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  if (TlsChannel* tls = it->second.tls.get();
      tls != nullptr && tls->established()) {
    // close_notify, if the socket takes it now.
    tls->Close();
    std::string& wire = tls->wire();
    [[maybe_unused]] ssize_t n =
        send(fd, wire.data(), wire.size(), MSG_NOSIGNAL);
  }
  std::shared_ptr<ZkConnection> zk = std::move(it->second.zk);
  conns_.erase(it);
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  if (zk == nullptr) return;  // closed in its TLS handshake
  const ConnectionReport done = zk->Report();
  closed_received_ += done.received;
  closed_sent_ += done.sent;
  zk->OnClosed();
}

void ZkServer::Impl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stop_.store(true);
  if (event_fd_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(event_fd_, &one, sizeof(one));
  }
  if (thread_.joinable()) thread_.join();
  if (poster_ != nullptr) poster_->Stop();
}

absl::StatusOr<std::unique_ptr<ZkServer>> ZkServer::Start(
    transport::ClientHost* host, const Options& options) {
  absl::StatusOr<WordWhitelist> words =
      WordWhitelist::Parse(options.zk_4lw_whitelist);
  if (!words.ok()) {
    return MakeError(Error::kBadArguments,
                     absl::StrCat("Options::zk_4lw_whitelist: ",
                                  words.status().message()));
  }
  std::unique_ptr<TlsServerContext> tls;
  if (options.tls.enabled()) {
    absl::StatusOr<std::unique_ptr<TlsServerContext>> made =
        TlsServerContext::Make(options.tls, NowMs());
    if (!made.ok()) return made.status();
    tls = std::move(*made);
  }
  auto impl = std::make_unique<Impl>(host, options, *words, std::move(tls));
  if (absl::Status s = impl->Listen(); !s.ok()) return s;
  impl->StartThread();
  return std::unique_ptr<ZkServer>(new ZkServer(std::move(impl)));
}

ZkServer::ZkServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ZkServer::~ZkServer() { Stop(); }

std::string ZkServer::address() const { return impl_->address(); }

void ZkServer::Stop() { impl_->Stop(); }

}  // namespace synod::zkserver
