// Test helpers for the metrics endpoint: a plain HTTP/1.0 GET over a
// socket, and a sample's value read out of Prometheus text.

#ifndef SYNOD_TEST_UTIL_HTTP_GET_H_
#define SYNOD_TEST_UTIL_HTTP_GET_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace synod::testing {

// A reply: its status code (0: none) and body.
struct HttpReply {
  int code = 0;
  std::string body;
};

// GETs `path` from `address` ("127.0.0.1:port") with HTTP/1.0.
inline HttpReply Get(const std::string& address, const std::string& path) {
  HttpReply reply;
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return reply;
  }
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr);
  std::string raw;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request =
        absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: x\r\n\r\n");
    if (write(fd, request.data(), request.size()) ==
        static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) {
        raw.append(buf, static_cast<size_t>(n));
      }
    }
  }
  close(fd);
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return reply;
  std::vector<std::string> status = absl::StrSplit(raw.substr(0, 12), ' ');
  if (status.size() < 2 || !absl::SimpleAtoi(status[1], &reply.code)) {
    return reply;
  }
  reply.body = raw.substr(head_end + 4);
  return reply;
}

// The value of the sample line beginning with `series` followed by a space.
inline double Sample(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      double v = -1;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
    }
  }
  return -1;
}

}  // namespace synod::testing

#endif  // SYNOD_TEST_UTIL_HTTP_GET_H_
