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

TEST_CASE("A challenge is good once, within its lifetime",
          "[link_auth][security]") {
  ChallengeBook book(3, 1000);
  book.Issue("a", 0);
  book.Issue("b", 0);
  CHECK(book.Consume("a", 500));
  CHECK(!book.Consume("a", 500));  // used
  CHECK(!book.Consume("never", 500));
  CHECK(!book.Consume("b", 1001));  // stale
  CHECK(!book.Consume("b", 500));   // and gone
  // Bounded: the oldest go first.
  for (const char* n : {"c", "d", "e", "f"}) book.Issue(n, 2000);
  CHECK(!book.Consume("c", 2000));
  CHECK(book.Consume("d", 2000));
  CHECK(book.Consume("f", 2000));
  // Many issues and consumptions keep it bounded and working.
  for (int i = 0; i < 10000; ++i) {
    const std::string n = std::to_string(i);
    book.Issue(n, 3000);
    REQUIRE(book.Consume(n, 3000));
  }
}

}  // namespace
}  // namespace synod::transport
