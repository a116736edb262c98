// LinkProof and ChallengeBook (transport/link_auth.h).

#include "transport/link_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>

namespace synod::transport {
namespace {

// `field`, preceded by its length: no two different field lists encode
// alike.
void AppendField(std::string* out, const std::string& field) {
  const uint32_t n = static_cast<uint32_t>(field.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((n >> shift) & 0xff));
  }
  out->append(field);
}

}  // namespace

std::string LinkProof::NewNonce() {
  std::string nonce(kLinkNonceBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()),
                 static_cast<int>(nonce.size())) != 1) {
    std::abort();  // no randomness: no authentication can be trusted
  }
  return nonce;
}

std::string LinkProof::Mac(const std::string& message) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
           reinterpret_cast<const unsigned char*>(message.data()),
           message.size(), out, &n) == nullptr) {
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(out), n);
}

std::string LinkProof::Receiver(const std::string& client_nonce,
                                const std::string& server_nonce) const {
  std::string m;
  AppendField(&m, "synod link receiver");
  AppendField(&m, ensemble_id_);
  AppendField(&m, client_nonce);
  AppendField(&m, server_nonce);
  return Mac(m);
}

std::string LinkProof::Dialler(uint64_t from, const std::string& listen,
                               const std::string& server_nonce,
                               const std::string& client_nonce) const {
  std::string m;
  AppendField(&m, "synod link dialler");
  AppendField(&m, ensemble_id_);
  AppendField(&m, std::to_string(from));
  AppendField(&m, listen);
  AppendField(&m, server_nonce);
  AppendField(&m, client_nonce);
  return Mac(m);
}

bool LinkProof::Equal(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {

// A nonce: 8 random bytes, the issue time (8 bytes, big-endian), then the
// first 16 bytes of the book's MAC over those 16.
constexpr size_t kNonceBodyBytes = 16;
constexpr size_t kNonceTagBytes = kLinkNonceBytes - kNonceBodyBytes;

int64_t IssueTime(const std::string& nonce) {
  uint64_t t = 0;
  for (size_t i = 8; i < kNonceBodyBytes; ++i) {
    t = (t << 8) | static_cast<unsigned char>(nonce[i]);
  }
  return static_cast<int64_t>(t);
}

}  // namespace

ChallengeBook::ChallengeBook(int64_t lifetime_ms, size_t max_used)
    : lifetime_ms_(lifetime_ms),
      max_used_(max_used),
      key_(LinkProof::NewNonce()) {}

std::string ChallengeBook::Tag(const std::string& body) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(),
           out, &n) == nullptr) {
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(out), kNonceTagBytes);
}

std::string ChallengeBook::Issue(int64_t now_ms) const {
  std::string body = LinkProof::NewNonce().substr(0, 8);
  const uint64_t t = static_cast<uint64_t>(now_ms);
  for (int shift = 56; shift >= 0; shift -= 8) {
    body.push_back(static_cast<char>((t >> shift) & 0xff));
  }
  return body + Tag(body);
}

bool ChallengeBook::Valid(const std::string& nonce, int64_t now_ms) const {
  if (nonce.size() != kLinkNonceBytes) return false;
  const std::string body = nonce.substr(0, kNonceBodyBytes);
  if (!LinkProof::Equal(nonce.substr(kNonceBodyBytes), Tag(body))) {
    return false;
  }
  const int64_t issued = IssueTime(nonce);
  return issued <= now_ms && now_ms - issued <= lifetime_ms_;
}

bool ChallengeBook::Use(const std::string& nonce, int64_t now_ms) {
  MutexLock lock(&mu_);
  // What has expired can no longer be Valid: forget it.
  while (!used_order_.empty() &&
         now_ms - used_order_.front().first > lifetime_ms_) {
    used_.erase(used_order_.front().second);
    used_order_.pop_front();
  }
  if (used_.size() >= max_used_) return false;
  if (!used_.insert(nonce).second) return false;
  used_order_.emplace_back(IssueTime(nonce), nonce);
  return true;
}

}  // namespace synod::transport
