// MetricsServer: serves a Coordinator's metrics and health over HTTP
// (Options::metrics_listen): GET /metrics gives the Prometheus text
// exposition (metrics_text.h), GET /health gives 200 "serving" when the
// peer serves and 503 "not serving" otherwise, each with the role. The
// HTTP server is civetweb's (Debian's libcivetweb): a small, well-kept
// embeddable server with its own bounded threads, request timeouts and
// hostile-input handling, which we would not write better ourselves.

#ifndef SYNOD_RUNTIME_METRICS_SERVER_H_
#define SYNOD_RUNTIME_METRICS_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "synod/coordinator.h"

struct mg_connection;
struct mg_context;

namespace synod {

class MetricsServer {
 public:
  // Starts serving on `listen` ("IPv4:port" or "[IPv6]:port"; port 0 picks
  // a free one). `health` is called on each request, from the server's
  // threads, and must stay callable until the MetricsServer is destroyed.
  // InvalidArgument if `listen` cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& listen, std::function<Health()> health);

  // Stops serving; returns once no request is in flight.
  ~MetricsServer();

  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The address served, with the port bound ("127.0.0.1:9141").
  const std::string& address() const { return address_; }

 private:
  explicit MetricsServer(std::function<Health()> health)
      : health_(std::move(health)) {}
  static int Handle(::mg_connection* conn, void* self);

  const std::function<Health()> health_;
  mg_context* context_ = nullptr;
  std::string address_;
};

}  // namespace synod

#endif  // SYNOD_RUNTIME_METRICS_SERVER_H_
