// RouteLibraryLogs: gRPC's and protobuf's messages reach the host's sink,
// or nowhere, once the host asks.

#include <grpc/grpc.h>
#include <grpc/support/log.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "google/protobuf/stubs/logging.h"
#include "synod/options.h"
#include "util/mutex.h"

namespace synod {
namespace {

struct Captured {
  Mutex mu;
  std::vector<std::pair<LogLevel, std::string>> lines ABSL_GUARDED_BY(mu);
  LogSink Sink() {
    return [this](LogLevel level, std::string_view message) {
      MutexLock lock(&mu);
      lines.emplace_back(level, std::string(message));
    };
  }
  size_t size() {
    MutexLock lock(&mu);
    return lines.size();
  }
};

TEST_CASE("gRPC's and protobuf's messages go to the routed sink",
          "[logs]") {
  grpc_init();  // as any Coordinator with a listen address does
  Captured captured;
  RouteLibraryLogs(captured.Sink());
  gpr_log(GPR_ERROR, "grpc says %d", 42);
  GOOGLE_LOG(WARNING) << "protobuf says 7";
  {
    MutexLock lock(&captured.mu);
    for (const auto& [level, line] : captured.lines) UNSCOPED_INFO(line);
    REQUIRE(captured.lines.size() == 2);
    CHECK(captured.lines[0].first == LogLevel::kError);
    CHECK(captured.lines[0].second.find("grpc: grpc says 42") == 0);
    CHECK(captured.lines[1].first == LogLevel::kWarning);
    CHECK(captured.lines[1].second.find("protobuf: protobuf says 7") == 0);
  }
  // An empty sink drops them.
  RouteLibraryLogs(LogSink());
  gpr_log(GPR_ERROR, "dropped");
  GOOGLE_LOG(ERROR) << "dropped too";
  CHECK(captured.size() == 2);
  grpc_shutdown();
}

}  // namespace
}  // namespace synod
