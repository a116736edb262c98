// LinkProof and ChallengeBook (transport/link_auth.h): the proofs bind
// the secret, the ensemble, the dialler and both nonces; a challenge is
// good once, within its lifetime, and the book stays bounded.

#include "transport/link_auth.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>

namespace synod::transport {
namespace {

TEST_CASE("Link proofs bind the secret, the ensemble, the dialler and both "
          "nonces",
          "[link_auth][security]") {
  const LinkProof p("a secret of some length", "ensemble-1");
  const std::string n1 = LinkProof::NewNonce();
  const std::string n2 = LinkProof::NewNonce();
  CHECK(n1.size() == kLinkNonceBytes);
  CHECK(n1 != n2);
  // Deterministic for the same inputs.
  CHECK(p.Receiver(n1, n2) == p.Receiver(n1, n2));
  CHECK(p.Dialler(7, "h:1", n1, n2) == p.Dialler(7, "h:1", n1, n2));
  CHECK(LinkProof::Equal(p.Receiver(n1, n2), p.Receiver(n1, n2)));
  // Every input changes the proof.
  const std::set<std::string> all = {
      p.Receiver(n1, n2),
      p.Receiver(n2, n1),
      LinkProof("another secret of length", "ensemble-1").Receiver(n1, n2),
      LinkProof("a secret of some length", "ensemble-2").Receiver(n1, n2),
      p.Dialler(7, "h:1", n1, n2),
      p.Dialler(8, "h:1", n1, n2),
      p.Dialler(7, "h:2", n1, n2),
      p.Dialler(7, "h:1", n2, n1),
      // Field boundaries matter: "h:1" + "7" is not "h:17" + "".
      p.Dialler(17, "h:1", n1, n2),
      p.Dialler(1, "7h:1", n1, n2),
  };
  CHECK(all.size() == 10);
  // A receiver's proof is never a dialler's.
  CHECK(p.Receiver(n1, n2) != p.Dialler(0, "", n1, n2));
  CHECK(!LinkProof::Equal("", ""));
  CHECK(!LinkProof::Equal(p.Receiver(n1, n2), p.Receiver(n1, n2).substr(1)));
}

TEST_CASE("A challenge is good once, within its lifetime, and only this "
          "book's",
          "[link_auth][security]") {
  ChallengeBook book(1000);
  const std::string a = book.Issue(100);
  const std::string b = book.Issue(100);
  CHECK(a.size() == kLinkNonceBytes);
  CHECK(a != b);
  CHECK(book.Valid(a, 100));
  CHECK(book.Valid(a, 1100));
  CHECK(!book.Valid(a, 1101));  // stale
  CHECK(!book.Valid(a, 99));    // from the future
  CHECK(book.Use(a, 500));
  CHECK(!book.Use(a, 600));  // a replay
  CHECK(book.Use(b, 600));
  // Forged, truncated, or another book's.
  std::string forged = a;
  forged[3] ^= 1;
  CHECK(!book.Valid(forged, 500));
  std::string later = a;
  later[15] ^= 1;  // the issue time, without the MAC to match
  CHECK(!book.Valid(later, 500));
  CHECK(!book.Valid(a.substr(0, 31), 500));
  CHECK(!book.Valid(std::string(kLinkNonceBytes, '\0'), 500));
  ChallengeBook other(1000);
  CHECK(!other.Valid(other.Issue(100).substr(0, 16) + a.substr(16), 500));
  CHECK(!other.Valid(a, 500));
}

TEST_CASE("A flood of challenges keeps no state and pushes out none",
          "[link_auth][security]") {
  ChallengeBook book(30000, /*max_used=*/4);
  const std::string mine = book.Issue(0);
  // A flood of requests from anyone: issuing remembers nothing.
  std::set<std::string> seen;
  for (int i = 0; i < 200000; ++i) {
    const std::string n = book.Issue(10);
    if (i < 1000) seen.insert(n);
  }
  CHECK(seen.size() == 1000);
  CHECK(book.Valid(mine, 20));
  CHECK(book.Use(mine, 20));
  // Only used nonces are kept, until they expire: a bounded number.
  for (int i = 0; i < 3; ++i) CHECK(book.Use(book.Issue(30), 30));
  const std::string fifth = book.Issue(40);
  CHECK(!book.Use(fifth, 40));  // four unexpired are remembered
  const std::string later = book.Issue(30100);
  CHECK(book.Use(later, 30100));  // the first four have expired
  CHECK(!book.Use(later, 30100));
}

}  // namespace
}  // namespace synod::transport
