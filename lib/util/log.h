// Logging through the host's sink (Options::log_sink), never straight to a
// stream: synod is a guest in the application's process.

#ifndef SYNOD_UTIL_LOG_H_
#define SYNOD_UTIL_LOG_H_

#include <string_view>

#include "synod/options.h"

namespace synod {

// Sends `message` to `options.log_sink`, or to StderrLogSink() if unset.
void Log(const Options& options, LogLevel level, std::string_view message);

}  // namespace synod

#endif  // SYNOD_UTIL_LOG_H_
