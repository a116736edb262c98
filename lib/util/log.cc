// The default log sink and the Log() helper.

#include "util/log.h"

#include <cstdio>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace synod {
namespace {

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarning: return "WARNING";
    case LogLevel::kError: return "ERROR";
  }
  return "?";
}

}  // namespace

LogSink StderrLogSink(LogLevel min_level) {
  return [min_level](LogLevel level, std::string_view message) {
    if (level < min_level) return;
    std::string line = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ ", absl::Now(),
                                        absl::UTCTimeZone());
    line.append("synod ").append(LevelName(level)).append(": ");
    line.append(message).push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stderr);
  };
}

void Log(const Options& options, LogLevel level, std::string_view message) {
  if (options.log_sink) {
    options.log_sink(level, message);
  } else if (level >= LogLevel::kWarning) {
    StderrLogSink()(level, message);
  }
}

}  // namespace synod
