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
#include <set>
#include <string>
#include <utility>

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

// The challenges a receiver issues. A nonce carries its issue time and a
// MAC under a key of this book's own (random, never sent), so issuing keeps
// no state: a flood of challenge requests from anyone costs nothing to keep
// and pushes out no one's challenge. A nonce is good once, within
// `lifetime_ms` of its issue; the book remembers it as used only once a
// link proved the secret over it (Use), until it expires, so what it keeps
// is bounded by the rate of authenticated links (and by `max_used`).
// Thread-safe.
class ChallengeBook {
 public:
  explicit ChallengeBook(int64_t lifetime_ms, size_t max_used = 65536);

  // Returns a fresh nonce (kLinkNonceBytes), issued at `now_ms`.
  std::string Issue(int64_t now_ms) const;
  // True if this book issued `nonce` no longer than the lifetime before
  // `now_ms` (used or not).
  bool Valid(const std::string& nonce, int64_t now_ms) const;
  // Marks the valid `nonce` used; false if it was used before (a replay),
  // or if `max_used` unexpired nonces are remembered already.
  bool Use(const std::string& nonce, int64_t now_ms);

 private:
  std::string Tag(const std::string& body) const;

  const int64_t lifetime_ms_;
  const size_t max_used_;
  const std::string key_;
  Mutex mu_;
  std::set<std::string> used_ ABSL_GUARDED_BY(mu_);
  // (issue time, nonce) of each used nonce, in the order used.
  std::deque<std::pair<int64_t, std::string>> used_order_ ABSL_GUARDED_BY(mu_);
};

}  // namespace synod::transport

#endif  // SYNOD_TRANSPORT_LINK_AUTH_H_
