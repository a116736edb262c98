#include "transport/remote_session.h"

#include <algorithm>

#include "absl/time/time.h"

namespace synod::transport {
namespace {

constexpr int64_t kMinSessionMs = 100;
constexpr int64_t kMaxSessionMs = 10 * 60 * 1000;

}  // namespace

std::shared_ptr<const AuthInfo> SystemAuth() {
  static const std::shared_ptr<const AuthInfo> auth = [] {
    auto a = std::make_shared<AuthInfo>();
    a->super = true;
    return a;
  }();
  return auth;
}

int32_t RemoteSessionTimeoutMs(const Options& options, int64_t asked_ms) {
  const int64_t min_ms = std::max<int64_t>(
      kMinSessionMs, 20 * absl::ToInt64Milliseconds(options.tick));
  const int64_t ms = asked_ms > 0
                         ? asked_ms
                         : absl::ToInt64Milliseconds(options.session_timeout);
  return static_cast<int32_t>(std::clamp<int64_t>(ms, min_ms, kMaxSessionMs));
}

}  // namespace synod::transport
