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

void ChallengeBook::Issue(const std::string& nonce, int64_t now_ms) {
  MutexLock lock(&mu_);
  // order_ holds every nonce of issued_ (and consumed ones not yet at its
  // front), so bounding it bounds both.
  while (order_.size() >= capacity_ && !order_.empty()) {
    issued_.erase(order_.front());
    order_.pop_front();
  }
  if (issued_.emplace(nonce, now_ms).second) order_.push_back(nonce);
}

bool ChallengeBook::Consume(const std::string& nonce, int64_t now_ms) {
  MutexLock lock(&mu_);
  auto it = issued_.find(nonce);
  if (it == issued_.end()) return false;
  const bool fresh = now_ms - it->second <= lifetime_ms_;
  issued_.erase(it);
  // order_ keeps the entry until it reaches the front (Issue drops it then).
  return fresh;
}

}  // namespace synod::transport
