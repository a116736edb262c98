// ConnectionLimit over gRPC's socket mutator (see connection_limit.h).

#include "transport/connection_limit.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "grpc/support/sync.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/server_builder_option.h"
#include "util/mutex.h"

// gRPC's socket mutator, as src/core/lib/iomgr/socket_mutator.h declares it
// in gRPC 1.51 (a private header Debian does not install; the layout has
// been stable since mutate_fd_2 came in 1.36). grpc_types.h declares the
// struct's name only.
typedef enum {
  GRPC_FD_CLIENT_CONNECTION_USAGE,
  GRPC_FD_SERVER_LISTENER_USAGE,
  GRPC_FD_SERVER_CONNECTION_USAGE,
} grpc_fd_usage;
typedef struct {
  int fd;
  grpc_fd_usage usage;
} grpc_mutate_socket_info;
struct grpc_socket_mutator_vtable {
  bool (*mutate_fd)(int fd, grpc_socket_mutator* mutator);
  int (*compare)(grpc_socket_mutator* a, grpc_socket_mutator* b);
  void (*destroy)(grpc_socket_mutator* mutator);
  bool (*mutate_fd_2)(const grpc_mutate_socket_info* info,
                      grpc_socket_mutator* mutator);
};
struct grpc_socket_mutator {
  const grpc_socket_mutator_vtable* vtable;
  gpr_refcount refcount;
};

namespace synod::transport {
namespace {

// The numeric form of the address of `sa`, or "".
std::string NumericHost(const sockaddr* sa, socklen_t len) {
  char host[NI_MAXHOST];
  if (getnameinfo(sa, len, host, sizeof(host), nullptr, 0, NI_NUMERICHOST) !=
      0) {
    return "";
  }
  std::string h(host);
  // An IPv4 peer on a dual-stack socket: "::ffff:1.2.3.4".
  if (h.rfind("::ffff:", 0) == 0 && h.find('.') != std::string::npos) {
    h.erase(0, 7);
  }
  return h;
}

// The host part of "host:port", "[v6]:port" or a bare host.
std::string HostOf(std::string_view address) {
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    return std::string(address.substr(1, close == std::string_view::npos
                                             ? std::string_view::npos
                                             : close - 1));
  }
  const size_t colon = address.rfind(':');
  if (colon != std::string_view::npos &&
      address.find(':') == colon) {  // one colon: host:port
    return std::string(address.substr(0, colon));
  }
  return std::string(address);
}

}  // namespace

class ConnectionLimit::State {
 public:
  State(int max_connections, int reserve,
        const std::vector<std::string>& trusted_hosts)
      : max_(max_connections), client_max_(max_connections - reserve) {
    for (const std::string& address : trusted_hosts) {
      addrinfo hints{};
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* found = nullptr;
      if (getaddrinfo(HostOf(address).c_str(), nullptr, &hints, &found) != 0) {
        continue;
      }
      for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        const std::string h = NumericHost(a->ai_addr, a->ai_addrlen);
        if (!h.empty()) trusted_.insert(h);
      }
      freeaddrinfo(found);
    }
  }

  // Called by gRPC on each accepted connection, on its accepting thread.
  // Returns false never (see the header); shuts `fd` down past the cap.
  void Admit(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) return;
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    const bool trusted =
        getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0 &&
        trusted_.contains(
            NumericHost(reinterpret_cast<sockaddr*>(&peer), len));
    MutexLock lock(&mu_);
    // The descriptor number is free again: whatever it held closed.
    if (auto it = open_.find(fd); it != open_.end()) {
      if (!it->second.trusted) --clients_;
      open_.erase(it);
    }
    if (!HasRoomLocked(trusted)) {
      PruneLocked();
      if (!HasRoomLocked(trusted)) {
        refused_.fetch_add(1, std::memory_order_relaxed);
        shutdown(fd, SHUT_RDWR);
        return;
      }
    }
    open_[fd] = Entry{st.st_ino, trusted};
    if (!trusted) ++clients_;
  }

  int open_connections() {
    MutexLock lock(&mu_);
    PruneLocked();
    return static_cast<int>(open_.size());
  }
  int64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    ino_t inode;
    bool trusted;
  };

  bool HasRoomLocked(bool trusted) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (static_cast<int>(open_.size()) >= max_) return false;
    return trusted || clients_ < client_max_;
  }
  // Forgets the connections gRPC has closed since: their descriptor is
  // closed or now holds another file.
  void PruneLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (auto it = open_.begin(); it != open_.end();) {
      struct stat st;
      if (fstat(it->first, &st) != 0 || st.st_ino != it->second.inode ||
          !S_ISSOCK(st.st_mode)) {
        if (!it->second.trusted) --clients_;
        open_.erase(it++);
      } else {
        ++it;
      }
    }
  }

  const int max_;
  const int client_max_;
  absl::flat_hash_set<std::string> trusted_;  // const after construction
  Mutex mu_;
  absl::flat_hash_map<int, Entry> open_ ABSL_GUARDED_BY(mu_);
  int clients_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int64_t> refused_{0};
};

namespace {

// The mutator gRPC holds (reference-counted by gRPC through `base`).
struct LimitMutator {
  grpc_socket_mutator base;  // first: gRPC sees a pointer to it
  std::shared_ptr<ConnectionLimit::State> state;
};

bool MutateFd(int, grpc_socket_mutator*) { return true; }
bool MutateFd2(const grpc_mutate_socket_info* info,
               grpc_socket_mutator* mutator) {
  if (info->usage == GRPC_FD_SERVER_CONNECTION_USAGE) {
    reinterpret_cast<LimitMutator*>(mutator)->state->Admit(info->fd);
  }
  return true;
}
int Compare(grpc_socket_mutator* a, grpc_socket_mutator* b) {
  return a < b ? -1 : a > b ? 1 : 0;
}
void Destroy(grpc_socket_mutator* mutator) {
  delete reinterpret_cast<LimitMutator*>(mutator);
}
const grpc_socket_mutator_vtable kVtable = {MutateFd, Compare, Destroy,
                                            MutateFd2};

// Puts the mutator in the server's channel arguments.
class MutatorOption : public grpc::ServerBuilderOption {
 public:
  explicit MutatorOption(std::shared_ptr<ConnectionLimit::State> state)
      : state_(std::move(state)) {}
  void UpdateArguments(grpc::ChannelArguments* args) override {
    auto* mutator = new LimitMutator;
    mutator->base.vtable = &kVtable;
    gpr_ref_init(&mutator->base.refcount, 1);
    mutator->state = state_;
    args->SetSocketMutator(&mutator->base);  // takes the reference
  }
  void UpdatePlugins(
      std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*) override {}

 private:
  std::shared_ptr<ConnectionLimit::State> state_;
};

}  // namespace

ConnectionLimit::ConnectionLimit(int max_connections, int reserve,
                                 const std::vector<std::string>& trusted_hosts)
    : state_(std::make_shared<State>(max_connections, reserve,
                                     trusted_hosts)) {}

ConnectionLimit::~ConnectionLimit() = default;

void ConnectionLimit::ConfigureServer(grpc::ServerBuilder* builder) {
  builder->SetOption(std::make_unique<MutatorOption>(state_));
}

int ConnectionLimit::open_connections() const {
  return state_->open_connections();
}

int64_t ConnectionLimit::refused() const { return state_->refused(); }

}  // namespace synod::transport
