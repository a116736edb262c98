// PeerNetwork: outbound links (a sender thread and a client stream per
// destination) and the inbound PeerLink service (validation, then the
// host's handlers). See peer_network.h.

#include "transport/peer_network.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <deque>
#include <optional>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "acl/sha1.h"
#include "transport/link.grpc.pb.h"
#include "transport/link.pb.h"
#include "transport/link_auth.h"
#include "util/mutex.h"
#include "util/strings.h"
#include "zab/config.h"

namespace synod::transport {
namespace {

// How long one connection attempt may take before gRPC gives up on it (its
// "min connect timeout"): an address that swallows SYNs fails after this.
constexpr int kConnectTimeoutMs = 2000;
// Keepalive pings on idle links, so that a dead peer (a half-open TCP
// connection) ends the link instead of stalling a Write forever.
constexpr int kKeepaliveTimeMs = 1000;
constexpr int kKeepaliveTimeoutMs = 1000;
// The receiving side: it admits pings twice as frequent as the senders'
// (gRPC's default, 5 minutes, would end idle links with "too_many_pings"),
// and pings its idle clients itself, less eagerly (its builder may serve
// other services), so that the stream of a vanished peer ends.
constexpr int kMinRecvPingIntervalMs = kKeepaliveTimeMs / 2;
constexpr int kServerKeepaliveTimeMs = 10000;
constexpr int kServerKeepaliveTimeoutMs = 10000;

// Returns `d` in whole milliseconds, clamped to [1, INT_MAX].
int Millis(absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(d);
  return static_cast<int>(std::clamp<int64_t>(ms, 1, INT_MAX));
}

// a + b and a * b, saturating at SIZE_MAX.
size_t SatAdd(size_t a, size_t b) {
  return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}
size_t SatMul(size_t a, size_t b) {
  return (b != 0 && a > SIZE_MAX / b) ? SIZE_MAX : a * b;
}

// The largest gRPC message a link carries: any PeerMessage within `limits`
// (the bound wire.cc uses before decoding) plus 1 MiB of slack for the frame
// and a hello or touch, clamped to what gRPC's int-typed limits accept.
int MaxFrameBytes(const WireLimits& limits) {
  size_t n = SatAdd(limits.max_bytes, size_t{2} << 20);
  n = SatAdd(n, SatMul(limits.max_entries, 32));
  n = SatAdd(n, SatMul(limits.max_epoch_ends, 11));
  return static_cast<int>(std::min<size_t>(n, INT_MAX));
}


// The initial metadata a receiver sends once it accepts a hello; a sender
// writes no frame before it sees it (a refusal ends the call without it).
constexpr char kAcceptedKey[] = "synod-link-accepted";

// "CODE: message", for logs.
std::string StatusString(const grpc::Status& status) {
  return absl::StrCat(absl::StatusCodeToString(
                          static_cast<absl::StatusCode>(status.error_code())),
                      ": ", AV(status.error_message()));
}

// The handler callback this thread is running, if any (see Shutdown).
thread_local const void* t_in_callback = nullptr;

}  // namespace

std::string EnsembleId(std::vector<std::string> seeds) {
  std::sort(seeds.begin(), seeds.end());
  seeds.erase(std::unique(seeds.begin(), seeds.end()), seeds.end());
  const std::string digest = Sha1(absl::StrJoin(seeds, ","));
  return absl::BytesToHexString(absl::string_view(digest));
}

// ---- The implementation: shared state, the senders, and the service.

class PeerNetwork::Impl : public PeerLink::Service {
 public:
  Impl(PeerNetworkConfig config, PeerNetworkHandler handler);
  ~Impl() override { Shutdown(); }

  void Send(zab::Message m);
  void SendTouch(zab::PeerId to, std::vector<int64_t> sessions,
                 int64_t sent_ms);
  void SendTouchAck(zab::PeerId to, int64_t sent_ms,
                    std::vector<int64_t> untracked);
  std::string AddressOf(zab::PeerId peer) const;
  void SetAddresses(const std::map<zab::PeerId, std::string>& addresses);
  void LearnAddress(zab::PeerId peer, const std::string& address);
  void Shutdown();
  void SetBlocked(zab::PeerId peer, bool blocked);
  Stats stats() const;
  void ConfigureServer(grpc::ServerBuilder* builder) const;

  // PeerLink::Service: one inbound link, from hello to end.
  grpc::Status Link(grpc::ServerContext* context,
                    grpc::ServerReader<LinkFrame>* reader,
                    LinkReply* reply) override;
  // PeerLink::Service: a nonce for the next hello (with a secret).
  grpc::Status Challenge(grpc::ServerContext* context,
                         const ChallengeRequest* request,
                         ChallengeReply* reply) override;

 private:
  class Sender;

  // Milliseconds of a steady clock, for the challenges' lifetime.
  static int64_t SteadyMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  // With a secret: asks the peer at `stub` for a challenge and checks its
  // proof; returns the hello to send, completed with this side's proof.
  // Otherwise returns `hello` unchanged. A failure says why.
  absl::StatusOr<LinkFrame> Authenticate(PeerLink::Stub* stub,
                                         grpc::ClientContext* context,
                                         const LinkFrame& hello) const;

  // Logs through config_.log, if set.
  void Log(LogLevel level, std::string_view message) const {
    if (config_.log) config_.log(level, message);
  }

  std::string AddressOfLocked(zab::PeerId peer) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool IsBlocked(zab::PeerId peer) const;
  // Queues `frame` for `to`, starting its sender if this is the first frame
  // for it; drops it if `to` is unknown or blocked.
  void Enqueue(zab::PeerId to, LinkFrame frame);

  // Inbound links: registration (for Shutdown to cancel them), checks, and
  // the bracket around each handler callback.
  bool RegisterStream(grpc::ServerContext* context);
  void UnregisterStream(grpc::ServerContext* context);
  absl::Status CheckHello(const LinkHello& hello) const;
  grpc::Status Refuse(grpc::ServerContext* context, LinkReply* reply,
                      grpc::StatusCode code, std::string_view from,
                      std::string_view reason);
  bool EnterCallback();
  void ExitCallback();

  const PeerNetworkConfig config_;
  const PeerNetworkHandler handler_;
  const grpc::ChannelArguments channel_args_;
  const std::shared_ptr<const TransportCredentials> credentials_;
  // With an ensemble secret: the proofs, and the nonces issued to
  // diallers (single use, 30 s).
  const std::optional<LinkProof> proof_;
  ChallengeBook challenges_{30000};

  mutable Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  // What the network knows of each peer's address (SetAddresses, hellos),
  // and what the configuration said last (to tell its changes).
  absl::flat_hash_map<zab::PeerId, std::string> addresses_ ABSL_GUARDED_BY(mu_);
  std::map<zab::PeerId, std::string> configured_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<zab::PeerId, std::unique_ptr<Sender>> senders_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<grpc::ServerContext*> streams_ ABSL_GUARDED_BY(mu_);
  // Handler callbacks running now (Shutdown waits for none).
  int active_callbacks_ ABSL_GUARDED_BY(mu_) = 0;

  mutable Mutex blocked_mu_;
  absl::flat_hash_set<zab::PeerId> blocked_ ABSL_GUARDED_BY(blocked_mu_);

  // Set first thing in Shutdown; read without a lock on the hot paths.
  std::atomic<bool> stopping_{false};

  std::atomic<int64_t> frames_sent_{0};
  std::atomic<int64_t> frames_received_{0};
  std::atomic<int64_t> frames_dropped_{0};
  std::atomic<int64_t> links_refused_{0};
  std::atomic<int64_t> connects_{0};
};

// ---- Sender: the outbound link to one peer.

// Owns the queue of frames for one destination and the thread that writes
// them: connect (open a stream, write the hello, wait for the receiver to
// accept it), then write queued frames in order until a write fails or the
// stream breaks, then back off and reconnect.
class PeerNetwork::Impl::Sender {
 public:
  Sender(Impl* net, zab::PeerId peer, std::string address)
      : net_(net),
        peer_(peer),
        address_(std::move(address)),
        thread_([this] { Run(); }) {}

  // The peer listens elsewhere now: the next connection goes there (the
  // current one, if any, ends).
  void SetAddress(std::string address) {
    MutexLock lock(&mu_);
    if (address == address_) return;
    address_ = std::move(address);
    kicked_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }

  ~Sender() {
    Stop();
    thread_.join();
  }

  // Appends `frame` (`bytes` long) to the queue, or drops the whole queue
  // (and `frame`) if it would exceed max_queued_bytes. Returns the number of
  // frames dropped.
  int64_t Push(LinkFrame frame, size_t bytes) {
    MutexLock lock(&mu_);
    if (stopping_) return 1;
    if (queued_bytes_ + bytes > net_->config_.max_queued_bytes) {
      const int64_t dropped = static_cast<int64_t>(queue_.size()) + 1;
      queue_.clear();
      queued_bytes_ = 0;
      return dropped;
    }
    queued_bytes_ += bytes;
    queue_.push_back(Queued{std::move(frame), bytes});
    return 0;
  }

  // Drops every queued frame; returns how many.
  int64_t Clear() {
    MutexLock lock(&mu_);
    const int64_t dropped = static_cast<int64_t>(queue_.size());
    queue_.clear();
    queued_bytes_ = 0;
    return dropped;
  }

  // The peer just opened a link to us, so it is up: if the thread is
  // backing off after a failed connection, it retries now, at once.
  void Kick() {
    MutexLock lock(&mu_);
    kicked_ = true;
  }

  // Makes the thread exit promptly: wakes it if it waits, cancels the call
  // it may be blocked in (connecting, writing or finishing).
  void Stop() {
    MutexLock lock(&mu_);
    stopping_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }

 private:
  struct Queued {
    LinkFrame frame;
    size_t bytes;
  };

  // The thread: connects, pumps, backs off, until stopped.
  void Run() {
    const PeerNetworkConfig& config = net_->config_;
    std::string address;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<PeerLink::Stub> stub;
    LinkFrame hello;
    hello.mutable_hello()->set_ensemble_id(config.ensemble_id);
    hello.mutable_hello()->set_from(config.self);
    hello.mutable_hello()->set_listen(config.listen);

    absl::Duration backoff = config.min_backoff;
    while (WaitForWork()) {
      {
        MutexLock lock(&mu_);
        if (address_ != address || channel == nullptr) {
          // A new channel resolves the (new) name afresh.
          address = address_;
          channel = grpc::CreateCustomChannel(
              address, net_->credentials_->Channel(), net_->channel_args_);
          stub = PeerLink::NewStub(channel);
        }
      }
      const bool wrote = RunStream(stub.get(), channel.get(), hello, address);
      if (wrote) backoff = config.min_backoff;
      {
        MutexLock lock(&mu_);
        auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopping_ || kicked_;
        };
        mu_.AwaitWithTimeout(woken, backoff);
        if (stopping_) return;
        if (kicked_) {
          // The peer is back: reconnect now, and let the channel too.
          kicked_ = false;
          backoff = config.min_backoff;
          grpc::experimental::ChannelResetConnectionBackoff(channel.get());
          continue;
        }
      }
      backoff = std::min(backoff * 2, config.max_backoff);
    }
  }

  // Waits until a frame is queued (there is no link without traffic to
  // carry). Returns false if stopping.
  bool WaitForWork() {
    MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || !queue_.empty();
    };
    mu_.Await(ready);
    return !stopping_;
  }

  // One stream: opens it, writes the hello, waits for the receiver to
  // accept it, then writes frames until something fails. Returns true if it
  // carried at least one frame.
  bool RunStream(PeerLink::Stub* stub, grpc::Channel* channel,
                 const LinkFrame& hello, const std::string& address) {
    grpc::ClientContext context;
    // Fail fast when the peer is unreachable (the sender retries with its
    // own backoff) rather than queueing the call inside gRPC.
    context.set_wait_for_ready(false);
    // With a secret, both sides prove it before the link opens (a call Stop
    // can cancel too).
    grpc::ClientContext challenge;
    challenge.set_wait_for_ready(false);
    challenge.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(5));
    {
      MutexLock lock(&mu_);
      if (stopping_) return false;
      context_ = &challenge;
    }
    absl::StatusOr<LinkFrame> opening =
        net_->Authenticate(stub, &challenge, hello);
    {
      MutexLock lock(&mu_);
      context_ = opening.ok() ? &context : nullptr;
      if (stopping_) {
        context_ = nullptr;
        return false;
      }
    }
    if (!opening.ok()) {
      // Unreachable peers say so at debug level; a peer that cannot prove
      // the secret, or has none, is a misconfiguration or an impostor.
      net_->Log(absl::IsUnavailable(opening.status()) ||
                        absl::IsDeadlineExceeded(opening.status())
                    ? LogLevel::kDebug
                    : LogLevel::kWarning,
                absl::StrCat("peer link to ", peer_, " (", AV(address),
                             ") failed to connect: ",
                             opening.status().message()));
      return false;
    }
    LinkReply reply;
    // Blocks while the channel connects (up to kConnectTimeoutMs per
    // attempt, or until Stop cancels the call).
    std::unique_ptr<grpc::ClientWriter<LinkFrame>> writer =
        stub->Link(&context, &reply);
    bool up = writer->Write(*opening);
    if (up) {
      // The receiver sends its initial metadata once it has accepted the
      // hello; a refusal ends the call instead.
      writer->WaitForInitialMetadata();
      up = context.GetServerInitialMetadata().count(kAcceptedKey) > 0;
    }
    bool wrote = false;
    bool broken = false;
    if (up) {
      net_->connects_.fetch_add(1, std::memory_order_relaxed);
      net_->Log(LogLevel::kInfo, absl::StrCat("peer link to ", peer_, " (",
                                              AV(address), ") is up"));
      Queued next;
      bool more = false;
      while (Pop(channel, &next, &more)) {
        // More frames right behind: let gRPC coalesce them into fewer
        // transport writes (the last one of a burst flushes).
        grpc::WriteOptions options;
        if (more) options.set_buffer_hint();
        if (!writer->Write(next.frame, options)) {
          broken = true;
          break;
        }
        wrote = true;
        net_->frames_sent_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    // A write failed, or the hello was refused or never went out: the call
    // has ended, Finish collects its status (the refusal's reason).
    // Otherwise the connection was lost while idle, or Stop cancelled the
    // call: cancel it (again), so that Finish does not wait for the
    // receiver.
    const bool lost = up && !broken;
    if (lost) context.TryCancel();
    const grpc::Status status = writer->Finish();
    bool stopping;
    {
      MutexLock lock(&mu_);
      context_ = nullptr;
      stopping = stopping_;
    }
    if (!stopping) {
      const std::string why =
          lost ? std::string("the connection was lost") : StatusString(status);
      // A refusal for another ensemble is a misconfiguration: said loudly.
      const bool mismatch =
          status.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
          status.error_code() == grpc::StatusCode::PERMISSION_DENIED;
      net_->Log(
          up ? LogLevel::kInfo
             : mismatch ? LogLevel::kWarning : LogLevel::kDebug,
          absl::StrCat("peer link to ", peer_, " (", AV(address), ") ",
                       up ? "is down: " : "failed to connect: ", AV(why)));
    }
    return wrote;
  }

  // Takes the next frame into `out` once one is queued, and says in `more`
  // whether others wait behind it. Returns false if stopping, or if the
  // channel is no longer ready (the link broke while idle: reconnect first,
  // keeping the frame queued).
  bool Pop(grpc::Channel* channel, Queued* out, bool* more) {
    while (true) {
      if (!WaitForWork()) return false;
      if (channel->GetState(false) != GRPC_CHANNEL_READY) return false;
      MutexLock lock(&mu_);
      if (stopping_) return false;
      if (queue_.empty()) continue;  // dropped meanwhile
      *out = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= out->bytes;
      *more = !queue_.empty();
      return true;
    }
  }

  Impl* const net_;
  const zab::PeerId peer_;

  Mutex mu_;
  std::string address_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool kicked_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // The call in progress, for Stop to cancel.
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;

  std::thread thread_;  // last: starts once the rest is initialized
};

// ---- Impl.

namespace {

// The channel settings of every outbound link (see kConnectTimeoutMs and
// kKeepalive*).
grpc::ChannelArguments MakeChannelArgs(const PeerNetworkConfig& config) {
  grpc::ChannelArguments args;
  const int max_frame = MaxFrameBytes(config.limits);
  args.SetMaxSendMessageSize(max_frame);
  args.SetMaxReceiveMessageSize(max_frame);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Keep pinging a link that carries no data (the default stops after 2).
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              Millis(config.min_backoff));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, kConnectTimeoutMs);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, Millis(config.max_backoff));
  // Each link its own connection: links to one address from two
  // PeerNetworks in a process (tests) must not share backoff state.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return args;
}

}  // namespace

PeerNetwork::Impl::Impl(PeerNetworkConfig config, PeerNetworkHandler handler)
    : config_(std::move(config)),
      handler_(std::move(handler)),
      channel_args_(MakeChannelArgs(config_)),
      credentials_(config_.credentials ? config_.credentials
                                       : TransportCredentials::Plaintext()),
      proof_(config_.secret.empty()
                 ? std::nullopt
                 : std::optional<LinkProof>(std::in_place, config_.secret,
                                            config_.ensemble_id)) {
  MutexLock lock(&mu_);
  for (const auto& [id, address] : config_.addresses) {
    if (!address.empty()) addresses_[id] = address;
  }
  configured_ = config_.addresses;
}

void PeerNetwork::Impl::Send(zab::Message m) {
  m.from = config_.self;
  const zab::PeerId to = m.to;
  LinkFrame frame;
  ToWire(m, config_.ensemble_id, frame.mutable_message());
  Enqueue(to, std::move(frame));
}

void PeerNetwork::Impl::SendTouch(zab::PeerId to,
                                  std::vector<int64_t> sessions,
                                  int64_t sent_ms) {
  LinkFrame frame;
  SessionTouch* touch = frame.mutable_touch();
  touch->mutable_sessions()->Reserve(static_cast<int>(sessions.size()));
  for (int64_t s : sessions) touch->add_sessions(s);
  touch->set_sent_ms(sent_ms);
  Enqueue(to, std::move(frame));
}

void PeerNetwork::Impl::SendTouchAck(zab::PeerId to, int64_t sent_ms,
                                     std::vector<int64_t> untracked) {
  LinkFrame frame;
  TouchAck* ack = frame.mutable_touch_ack();
  ack->set_sent_ms(sent_ms);
  for (int64_t s : untracked) ack->add_untracked(s);
  Enqueue(to, std::move(frame));
}

void PeerNetwork::Impl::Enqueue(zab::PeerId to, LinkFrame frame) {
  if (to == config_.self || IsBlocked(to)) {
    frames_dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const size_t bytes = frame.ByteSizeLong();
  Sender* sender = nullptr;
  {
    MutexLock lock(&mu_);
    if (!shut_down_) {
      auto it = senders_.find(to);
      if (it != senders_.end()) {
        sender = it->second.get();
      } else {
        std::string address = AddressOfLocked(to);
        if (!address.empty()) {
          auto s = std::make_unique<Sender>(this, to, std::move(address));
          sender = s.get();
          senders_.emplace(to, std::move(s));
        }
      }
    }
    // Senders live until Shutdown, which takes mu_ to reach them: push
    // under mu_ so that one cannot be destroyed meanwhile.
    const int64_t dropped =
        sender != nullptr ? sender->Push(std::move(frame), bytes) : 1;
    if (dropped > 0) {
      frames_dropped_.fetch_add(dropped, std::memory_order_relaxed);
    }
  }
}

std::string PeerNetwork::Impl::AddressOf(zab::PeerId peer) const {
  MutexLock lock(&mu_);
  return AddressOfLocked(peer);
}

std::string PeerNetwork::Impl::AddressOfLocked(zab::PeerId peer) const {
  if (peer == config_.self) return config_.listen;
  auto it = addresses_.find(peer);
  return it != addresses_.end() ? it->second : std::string();
}

void PeerNetwork::Impl::LearnAddress(zab::PeerId peer,
                                     const std::string& address) {
  if (peer == 0 || peer == config_.self || address.empty() ||
      address.size() > zab::kMaxAddressBytes) {
    return;
  }
  MutexLock lock(&mu_);
  addresses_.try_emplace(peer, address);
}

void PeerNetwork::Impl::SetAddresses(
    const std::map<zab::PeerId, std::string>& addresses) {
  MutexLock lock(&mu_);
  for (const auto& [id, address] : addresses) {
    auto old = configured_.find(id);
    if (address.empty() ||
        (old != configured_.end() && old->second == address)) {
      continue;  // no news: what a hello taught since stands
    }
    addresses_[id] = address;
    if (auto s = senders_.find(id); s != senders_.end()) {
      s->second->SetAddress(address);
    }
  }
  configured_ = addresses;
}

void PeerNetwork::Impl::Shutdown() {
  stopping_.store(true);
  absl::flat_hash_map<zab::PeerId, std::unique_ptr<Sender>> senders;
  {
    MutexLock lock(&mu_);
    shut_down_ = true;
    senders.swap(senders_);
    // End every inbound stream: their handlers are blocked in Read.
    for (grpc::ServerContext* context : streams_) context->TryCancel();
    // Wait for the handler callbacks in progress (but not for the one this
    // thread may be running, if a handler shuts the network down).
    const int own = t_in_callback == this ? 1 : 0;
    auto drained = [this, own]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return active_callbacks_ <= own;
    };
    mu_.Await(drained);
  }
  // Stop every sender before joining any, so they stop in parallel.
  for (auto& [peer, sender] : senders) sender->Stop();
  senders.clear();  // joins
}

void PeerNetwork::Impl::SetBlocked(zab::PeerId peer, bool blocked) {
  {
    MutexLock lock(&blocked_mu_);
    if (blocked) {
      blocked_.insert(peer);
    } else {
      blocked_.erase(peer);
    }
  }
  if (!blocked) return;
  // What was queued for the peer is dropped too.
  MutexLock lock(&mu_);
  auto it = senders_.find(peer);
  if (it != senders_.end()) {
    frames_dropped_.fetch_add(it->second->Clear(), std::memory_order_relaxed);
  }
}

bool PeerNetwork::Impl::IsBlocked(zab::PeerId peer) const {
  MutexLock lock(&blocked_mu_);
  return blocked_.contains(peer);
}

void PeerNetwork::Impl::ConfigureServer(grpc::ServerBuilder* builder) const {
  const int max_frame = MaxFrameBytes(config_.limits);
  // (The limit applies to every service on the server.)
  builder->SetMaxReceiveMessageSize(max_frame);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder->AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      kMinRecvPingIntervalMs);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                              kServerKeepaliveTimeMs);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                              kServerKeepaliveTimeoutMs);
}

PeerNetwork::Stats PeerNetwork::Impl::stats() const {
  Stats s;
  s.frames_sent = frames_sent_.load(std::memory_order_relaxed);
  s.frames_received = frames_received_.load(std::memory_order_relaxed);
  s.frames_dropped = frames_dropped_.load(std::memory_order_relaxed);
  s.links_refused = links_refused_.load(std::memory_order_relaxed);
  s.connects = connects_.load(std::memory_order_relaxed);
  return s;
}

// ---- Impl: the service.

bool PeerNetwork::Impl::RegisterStream(grpc::ServerContext* context) {
  MutexLock lock(&mu_);
  if (shut_down_) return false;
  streams_.insert(context);
  return true;
}

void PeerNetwork::Impl::UnregisterStream(grpc::ServerContext* context) {
  MutexLock lock(&mu_);
  streams_.erase(context);
}

bool PeerNetwork::Impl::EnterCallback() {
  MutexLock lock(&mu_);
  if (shut_down_) return false;
  ++active_callbacks_;
  t_in_callback = this;
  return true;
}

void PeerNetwork::Impl::ExitCallback() {
  MutexLock lock(&mu_);
  --active_callbacks_;
  t_in_callback = nullptr;
}

// Returns OK if `hello` opens a link this peer accepts: same ensemble, a
// sender that is neither nobody nor us, and an address to answer it at.
absl::Status PeerNetwork::Impl::CheckHello(const LinkHello& hello) const {
  if (hello.ensemble_id() != config_.ensemble_id) {
    return absl::FailedPreconditionError(absl::StrCat(
        "ensemble mismatch: peer ", AV(hello.listen()),
        " belongs to ensemble ", AV(hello.ensemble_id()),
        ", this peer to ensemble ", AV(config_.ensemble_id)));
  }
  const zab::PeerId from = hello.from();
  if (from == 0) return absl::InvalidArgumentError("hello: from is 0");
  if (from == config_.self) {
    return absl::InvalidArgumentError(
        absl::StrCat("hello: from is this peer's own id (", from, ")"));
  }
  if (hello.listen().empty() || hello.listen().size() > zab::kMaxAddressBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "hello: peer ", from, " gives no usable listen address"));
  }
  return absl::OkStatus();
}

// Ends an inbound link for breaking a rule: counts and logs it, and puts
// the reason in both the reply and the status.
grpc::Status PeerNetwork::Impl::Refuse(grpc::ServerContext* context,
                                       LinkReply* reply, grpc::StatusCode code,
                                       std::string_view from,
                                       std::string_view reason) {
  links_refused_.fetch_add(1, std::memory_order_relaxed);
  Log(LogLevel::kWarning,
      absl::StrCat("refused peer link from ", AV(from), " (",
                   AV(context->peer()), "): ", AV(reason)));
  reply->set_error(std::string(reason));
  return grpc::Status(code, std::string(reason));
}

grpc::Status PeerNetwork::Impl::Challenge(grpc::ServerContext* context,
                                          const ChallengeRequest* request,
                                          ChallengeReply* reply) {
  if (!proof_) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "this peer has no ensemble secret");
  }
  if (request->nonce().size() != kLinkNonceBytes) {
    links_refused_.fetch_add(1, std::memory_order_relaxed);
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "a challenge request carries a 32-byte nonce");
  }
  const std::string nonce = challenges_.Issue(SteadyMs());
  reply->set_nonce(nonce);
  reply->set_proof(proof_->Receiver(request->nonce(), nonce));
  return grpc::Status::OK;
}

absl::StatusOr<LinkFrame> PeerNetwork::Impl::Authenticate(
    PeerLink::Stub* stub, grpc::ClientContext* context,
    const LinkFrame& hello) const {
  if (!proof_) return hello;
  ChallengeRequest request;
  request.set_nonce(LinkProof::NewNonce());
  ChallengeReply reply;
  const grpc::Status status = stub->Challenge(context, request, &reply);
  if (!status.ok()) {
    if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      return absl::PermissionDeniedError(
          "the peer has no ensemble secret and this one has");
    }
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        StatusString(status));
  }
  if (reply.nonce().size() != kLinkNonceBytes ||
      !LinkProof::Equal(reply.proof(),
                        proof_->Receiver(request.nonce(), reply.nonce()))) {
    return absl::PermissionDeniedError(
        "the peer does not prove the ensemble secret");
  }
  LinkFrame out = hello;
  LinkHello* h = out.mutable_hello();
  h->set_challenge(reply.nonce());
  h->set_nonce(request.nonce());
  h->set_proof(proof_->Dialler(h->from(), h->listen(), reply.nonce(),
                               request.nonce()));
  return out;
}

grpc::Status PeerNetwork::Impl::Link(grpc::ServerContext* context,
                                     grpc::ServerReader<LinkFrame>* reader,
                                     LinkReply* reply) {
  const grpc::Status cancelled(grpc::StatusCode::CANCELLED,
                               "the peer network is shut down");
  if (!RegisterStream(context)) return cancelled;
  struct Unregister {
    Impl* net;
    grpc::ServerContext* context;
    ~Unregister() { net->UnregisterStream(context); }
  } unregister{this, context};

  LinkFrame frame;
  if (!reader->Read(&frame)) return grpc::Status::OK;  // gone before hello
  if (stopping_.load()) return cancelled;
  if (!frame.has_hello()) {
    return Refuse(context, reply, grpc::StatusCode::INVALID_ARGUMENT,
                  "an unknown peer", "the first frame is not a hello");
  }
  const LinkHello hello = std::move(*frame.mutable_hello());
  if (absl::Status s = CheckHello(hello); !s.ok()) {
    return Refuse(context, reply,
                  s.code() == absl::StatusCode::kFailedPrecondition
                      ? grpc::StatusCode::FAILED_PRECONDITION
                      : grpc::StatusCode::INVALID_ARGUMENT,
                  hello.listen(), std::string(s.message()));
  }
  if (credentials_->tls() && !CertificateNamesHost(*context, hello.listen())) {
    // The address a peer claims is where the others will send its
    // traffic: a member's certificate must name that host, as a dialler
    // requires of the server it reaches there.
    return Refuse(context, reply, grpc::StatusCode::PERMISSION_DENIED,
                  hello.listen(),
                  "its certificate does not name the host of the address it "
                  "claims");
  }
  if (proof_) {
    // The nonce must be one this peer issued, the proof over it the
    // secret's, and the nonce not used before (a recorded hello replayed).
    const int64_t now_ms = SteadyMs();
    const bool issued = challenges_.Valid(hello.challenge(), now_ms);
    if (!issued || hello.nonce().size() != kLinkNonceBytes ||
        !LinkProof::Equal(hello.proof(),
                          proof_->Dialler(hello.from(), hello.listen(),
                                          hello.challenge(), hello.nonce()))) {
      return Refuse(context, reply, grpc::StatusCode::PERMISSION_DENIED,
                    hello.listen(),
                    issued ? "it does not prove the ensemble secret"
                           : "it does not prove the ensemble secret (no "
                             "challenge of this peer's, or a stale one)");
    }
    if (!challenges_.Use(hello.challenge(), now_ms)) {
      return Refuse(context, reply, grpc::StatusCode::PERMISSION_DENIED,
                    hello.listen(),
                    "its challenge was used before (a replayed hello)");
    }
  } else if (!hello.proof().empty()) {
    return Refuse(context, reply, grpc::StatusCode::PERMISSION_DENIED,
                  hello.listen(),
                  "it has an ensemble secret and this peer has none");
  }
  const zab::PeerId from = hello.from();
  const std::string listen = hello.listen();
  {
    MutexLock lock(&mu_);
    // It listens there now (it may have moved, or be new).
    addresses_[from] = listen;
    // A peer that dials us is up: our link to it need not wait out its
    // reconnect backoff (a restarted peer rejoins without that delay).
    if (auto it = senders_.find(from); it != senders_.end()) {
      it->second->SetAddress(listen);
      it->second->Kick();
    }
  }
  // Accept: the sender waits for this before writing frames.
  context->AddInitialMetadata(kAcceptedKey, "1");
  reader->SendInitialMetadata();
  const std::string who = absl::StrCat(from, " (", AV(listen), ")");
  Log(LogLevel::kDebug, absl::StrCat("peer link from ", AV(who), " is up"));

  while (reader->Read(&frame)) {
    if (stopping_.load()) return cancelled;
    if (IsBlocked(from)) {
      frames_dropped_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    switch (frame.body_case()) {
      case LinkFrame::kMessage: {
        absl::StatusOr<zab::Message> m =
            FromWire(frame.message(), config_.ensemble_id, config_.limits);
        if (!m.ok()) {
          return Refuse(context, reply, grpc::StatusCode::INVALID_ARGUMENT, who,
                        std::string(m.status().message()));
        }
        if (m->from != from) {
          return Refuse(
              context, reply, grpc::StatusCode::INVALID_ARGUMENT, who,
              absl::StrCat("message from ", m->from, " on the link of ", from));
        }
        if (m->to != config_.self) {
          return Refuse(
              context, reply, grpc::StatusCode::INVALID_ARGUMENT, who,
              absl::StrCat("message to ", m->to, " sent to ", config_.self));
        }
        if (!EnterCallback()) return cancelled;
        frames_received_.fetch_add(1, std::memory_order_relaxed);
        if (handler_.on_message) handler_.on_message(*std::move(m));
        ExitCallback();
        break;
      }
      case LinkFrame::kTouch: {
        std::vector<int64_t> sessions(frame.touch().sessions().begin(),
                                      frame.touch().sessions().end());
        if (!EnterCallback()) return cancelled;
        frames_received_.fetch_add(1, std::memory_order_relaxed);
        if (handler_.on_touch) {
          handler_.on_touch(from, std::move(sessions), frame.touch().sent_ms());
        }
        ExitCallback();
        break;
      }
      case LinkFrame::kTouchAck: {
        if (!EnterCallback()) return cancelled;
        frames_received_.fetch_add(1, std::memory_order_relaxed);
        if (handler_.on_touch_ack) {
          std::vector<int64_t> untracked(
              frame.touch_ack().untracked().begin(),
              frame.touch_ack().untracked().end());
          handler_.on_touch_ack(from, frame.touch_ack().sent_ms(),
                                std::move(untracked));
        }
        ExitCallback();
        break;
      }
      case LinkFrame::kHello:
        return Refuse(context, reply, grpc::StatusCode::INVALID_ARGUMENT, who,
                      "a second hello");
      case LinkFrame::BODY_NOT_SET:
        return Refuse(context, reply, grpc::StatusCode::INVALID_ARGUMENT, who,
                      "an empty frame");
    }
  }
  if (stopping_.load()) return cancelled;
  Log(LogLevel::kDebug, absl::StrCat("peer link from ", AV(who), " ended"));
  return grpc::Status::OK;
}

// ---- PeerNetwork: forwards to Impl.

PeerNetwork::PeerNetwork(PeerNetworkConfig config, PeerNetworkHandler handler)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(handler))) {}

PeerNetwork::~PeerNetwork() { impl_->Shutdown(); }

grpc::Service* PeerNetwork::service() { return impl_.get(); }

void PeerNetwork::ConfigureServer(grpc::ServerBuilder* builder) const {
  impl_->ConfigureServer(builder);
}

void PeerNetwork::Send(zab::Message m) { impl_->Send(std::move(m)); }

void PeerNetwork::SendTouch(zab::PeerId to, std::vector<int64_t> sessions,
                            int64_t sent_ms) {
  impl_->SendTouch(to, std::move(sessions), sent_ms);
}

void PeerNetwork::SendTouchAck(zab::PeerId to, int64_t sent_ms,
                               std::vector<int64_t> untracked) {
  impl_->SendTouchAck(to, sent_ms, std::move(untracked));
}

std::string PeerNetwork::AddressOf(zab::PeerId peer) const {
  return impl_->AddressOf(peer);
}

void PeerNetwork::SetAddresses(
    const std::map<zab::PeerId, std::string>& addresses) {
  impl_->SetAddresses(addresses);
}

void PeerNetwork::LearnAddress(zab::PeerId peer, const std::string& address) {
  impl_->LearnAddress(peer, address);
}

void PeerNetwork::Shutdown() { impl_->Shutdown(); }

void PeerNetwork::SetBlocked(zab::PeerId peer, bool blocked) {
  impl_->SetBlocked(peer, blocked);
}

PeerNetwork::Stats PeerNetwork::stats() const { return impl_->stats(); }

}  // namespace synod::transport
