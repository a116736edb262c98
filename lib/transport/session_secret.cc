#include "transport/session_secret.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "synod/types.h"

namespace synod::transport {

absl::StatusOr<std::string> NewSessionPassword() {
  std::string password(kSessionPasswordBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(password.data()),
                 static_cast<int>(password.size())) != 1) {
    return MakeError(Error::kSystemError,
                     "the random source gave no session password");
  }
  return password;
}

std::string SessionPasswordDigest(std::string_view password) {
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(password.data()),
         password.size(), reinterpret_cast<unsigned char*>(digest.data()));
  return digest;
}

bool SessionPasswordMatches(std::string_view password,
                            std::string_view digest) {
  if (digest.size() != SHA256_DIGEST_LENGTH) return false;
  const std::string actual = SessionPasswordDigest(password);
  return CRYPTO_memcmp(actual.data(), digest.data(), digest.size()) == 0;
}

}  // namespace synod::transport
