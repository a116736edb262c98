// MetricsServer: /metrics and /health on civetweb.

#include "runtime/metrics_server.h"

#include <civetweb.h>

#include <mutex>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/metrics_text.h"
#include "util/errors.h"

namespace synod {
namespace {

// Sends the reply: headers, then `body` unless the request was a HEAD.
void Reply(mg_connection* conn, int code, const char* status,
           const char* content_type, const std::string& body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            code, status, content_type, body.size());
  const std::string_view method = mg_get_request_info(conn)->request_method;
  if (method != "HEAD") mg_write(conn, body.data(), body.size());
}

}  // namespace

int MetricsServer::Handle(mg_connection* conn, void* self) {
  const auto* server = static_cast<const MetricsServer*>(self);
  const mg_request_info* info = mg_get_request_info(conn);
  const std::string_view method = info->request_method;
  const std::string_view uri = info->local_uri ? info->local_uri : "";
  if (method != "GET" && method != "HEAD") {
    Reply(conn, 405, "Method Not Allowed", "text/plain", "GET only\n");
    return 405;
  }
  if (uri == "/metrics") {
    Reply(conn, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
          MetricsText(server->health_()));
    return 200;
  }
  if (uri == "/health") {
    const Health h = server->health_();
    if (Serving(h)) {
      Reply(conn, 200, "OK", "text/plain",
            absl::StrCat("serving ", h.role, "\n"));
      return 200;
    }
    Reply(conn, 503, "Service Unavailable", "text/plain",
          absl::StrCat("not serving ", h.role,
                       h.recovering ? " recovering" : "", "\n"));
    return 503;
  }
  Reply(conn, 404, "Not Found", "text/plain", "/metrics or /health\n");
  return 404;
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& listen, std::function<Health()> health) {
  static std::once_flag init;
  std::call_once(init, [] { mg_init_library(0); });
  std::unique_ptr<MetricsServer> server(new MetricsServer(std::move(health)));
  // Two threads, a bounded wait for a request, no files, no keep-alive: a
  // scraper or a probe is all it serves.
  const char* options[] = {"listening_ports", listen.c_str(),
                           "num_threads", "2",
                           "request_timeout_ms", "10000",
                           "enable_keep_alive", "no",
                           nullptr};
  mg_callbacks callbacks{};
  // civetweb logs a failed bind itself; the error below says what failed.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  server->context_ = mg_start(&callbacks, nullptr, options);
  if (server->context_ == nullptr) {
    return BadArgumentsError(absl::StrCat(
        "metrics_listen \"", listen, "\" cannot be served (not IP:port, or "
        "the port is taken)"));
  }
  mg_set_request_handler(server->context_, "/", &MetricsServer::Handle,
                         server.get());
  mg_server_port ports[2];
  const int n = mg_get_server_ports(server->context_, 2, ports);
  const std::string host = listen.substr(0, listen.rfind(':'));
  server->address_ =
      absl::StrCat(host, ":", n > 0 ? ports[0].port : 0);
  return server;
}

MetricsServer::~MetricsServer() {
  if (context_ != nullptr) mg_stop(context_);
}

}  // namespace synod
