// Proof of the ensemble secret on peer links (Options::ensemble_secret,
// docs/security.md): a challenge and response with HMAC-SHA256, so that
// the secret never crosses the wire.
//
//   dialler                                   receiver
//   Challenge{client nonce}            ->
//                                      <-     {server nonce,
//                                              HMAC(secret, server | ensemble |
//                                                   client nonce | server nonce)}
//   checks the receiver's proof; then
//   Link: hello{..., server nonce,
//               HMAC(secret, client | ensemble | from | listen |
//                    server nonce | client nonce)}  ->
//                                              checks the proof, and that it
//                                              issued that nonce (once, within
//                                              its lifetime); accepts
//
// Both sides prove the secret, each over a nonce the other chose: a
// recorded exchange cannot be replayed, and a process without the secret
// learns nothing it could use. Without TLS only the opening of a link is
// authenticated, not the traffic after it (docs/security.md).

#ifndef SYNOD_TRANSPORT_LINK_AUTH_H_
#define SYNOD_TRANSPORT_LINK_AUTH_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "util/mutex.h"

namespace synod::transport {

// Bytes of a nonce.
constexpr size_t kLinkNonceBytes = 32;

// The proofs, for one ensemble's secret. Immutable; thread-safe.
class LinkProof {
 public:
  LinkProof(std::string secret, std::string ensemble_id)
      : secret_(std::move(secret)), ensemble_id_(std::move(ensemble_id)) {}

  // A fresh random nonce (kLinkNonceBytes from the system's CSPRNG).
  static std::string NewNonce();

  // The receiver's proof, over both nonces.
  std::string Receiver(const std::string& client_nonce,
                       const std::string& server_nonce) const;
  // The dialler's proof, over who it says it is and both nonces.
  std::string Dialler(uint64_t from, const std::string& listen,
                      const std::string& server_nonce,
                      const std::string& client_nonce) const;

  // Compares a proof received with the one expected, in constant time.
  static bool Equal(const std::string& a, const std::string& b);

 private:
  std::string Mac(const std::string& message) const;

  const std::string secret_;
  const std::string ensemble_id_;
};

// The nonces a receiver issued and not yet consumed. Each is accepted once,
// within `lifetime_ms` of its issue; at most `capacity` are kept (the
// oldest go first). Thread-safe.
class ChallengeBook {
 public:
  ChallengeBook(size_t capacity, int64_t lifetime_ms)
      : capacity_(capacity), lifetime_ms_(lifetime_ms) {}

  // Records `nonce` as issued at `now_ms`.
  void Issue(const std::string& nonce, int64_t now_ms);
  // True if `nonce` was issued, not consumed, and is not older than the
  // lifetime at `now_ms`; it is consumed either way.
  bool Consume(const std::string& nonce, int64_t now_ms);

 private:
  const size_t capacity_;
  const int64_t lifetime_ms_;
  Mutex mu_;
  std::map<std::string, int64_t> issued_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> order_ ABSL_GUARDED_BY(mu_);  // oldest first
};

}  // namespace synod::transport

#endif  // SYNOD_TRANSPORT_LINK_AUTH_H_
