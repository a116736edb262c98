// RouteLibraryLogs: gRPC's and protobuf's log handlers, pointed at a sink.

#include <grpc/support/log.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/logging.h"
#include "synod/options.h"
#include "util/mutex.h"

namespace synod {
namespace {

// The sink both handlers write to. Replaced whole, read under the mutex and
// called without it (a sink may be slow).
struct RoutedSink {
  Mutex mu;
  std::shared_ptr<const LogSink> sink ABSL_GUARDED_BY(mu);
};

RoutedSink& Routed() {
  static RoutedSink* routed = new RoutedSink();  // never destroyed: handlers
                                                 // may run during exit
  return *routed;
}

void Emit(LogLevel level, std::string_view message) {
  std::shared_ptr<const LogSink> sink;
  {
    MutexLock lock(&Routed().mu);
    sink = Routed().sink;
  }
  if (sink && *sink) (*sink)(level, message);
}

void FromGrpc(gpr_log_func_args* args) {
  LogLevel level = LogLevel::kError;
  if (args->severity == GPR_LOG_SEVERITY_DEBUG) level = LogLevel::kDebug;
  if (args->severity == GPR_LOG_SEVERITY_INFO) level = LogLevel::kInfo;
  Emit(level, absl::StrCat("grpc: ", args->message, " (", args->file, ":",
                           args->line, ")"));
}

void FromProtobuf(google::protobuf::LogLevel severity, const char* file,
                  int line, const std::string& message) {
  LogLevel level = LogLevel::kError;
  if (severity == google::protobuf::LOGLEVEL_INFO) level = LogLevel::kInfo;
  if (severity == google::protobuf::LOGLEVEL_WARNING) level = LogLevel::kWarning;
  Emit(level, absl::StrCat("protobuf: ", message, " (", file, ":", line, ")"));
}

}  // namespace

void RouteLibraryLogs(LogSink sink) {
  {
    MutexLock lock(&Routed().mu);
    Routed().sink = std::make_shared<const LogSink>(std::move(sink));
  }
  gpr_set_log_function(&FromGrpc);
  google::protobuf::SetLogHandler(&FromProtobuf);
}

}  // namespace synod
