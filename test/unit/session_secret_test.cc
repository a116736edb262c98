// Tests for a remote session's password (transport/session_secret.h): new
// passwords are random, the digest is SHA-256, and only the password whose
// digest the ensemble keeps matches it.

#include "transport/session_secret.h"

#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "absl/strings/escaping.h"

namespace synod::transport {
namespace {

TEST_CASE("session passwords are random and only their own digest matches",
          "[transport][sessions]") {
  std::set<std::string> seen;
  for (int i = 0; i < 64; ++i) {
    absl::StatusOr<std::string> p = NewSessionPassword();
    REQUIRE(p.ok());
    CHECK(p->size() == kSessionPasswordBytes);
    seen.insert(*p);
  }
  CHECK(seen.size() == 64);

  // SHA-256's test vector.
  CHECK(absl::BytesToHexString(SessionPasswordDigest("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  const std::string password = *NewSessionPassword();
  const std::string digest = SessionPasswordDigest(password);
  CHECK(SessionPasswordMatches(password, digest));
  std::string other = password;
  other[kSessionPasswordBytes - 1] ^= 1;
  CHECK_FALSE(SessionPasswordMatches(other, digest));
  CHECK_FALSE(SessionPasswordMatches("", digest));
  // A session without a digest resumes with no password, even an empty one.
  CHECK_FALSE(SessionPasswordMatches("", ""));
  CHECK_FALSE(SessionPasswordMatches(password, ""));
  CHECK_FALSE(SessionPasswordMatches(password, digest.substr(1)));
}

}  // namespace
}  // namespace synod::transport
