// Tests for Sha1 against FIPS 180-4 vectors and padding-boundary lengths.

#include "acl/sha1.h"

#include <string>

#include <catch2/catch.hpp>

namespace synod {
namespace {

std::string Sha1Hex(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : Sha1(data)) {
    hex += kHex[c >> 4];
    hex += kHex[c & 0xf];
  }
  return hex;
}

TEST_CASE("Sha1 returns 20 raw bytes", "[sha1]") {
  CHECK(Sha1("").size() == 20);
  CHECK(Sha1(std::string(1000, 'x')).size() == 20);
}

TEST_CASE("Sha1 matches the FIPS 180-4 example vectors", "[sha1]") {
  CHECK(Sha1Hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(Sha1Hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(Sha1Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  CHECK(Sha1Hex(std::string(1000000, 'a')) ==
        "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST_CASE("Sha1 pads correctly around block boundaries", "[sha1]") {
  // Expected values from `head -c N /dev/zero | tr '\0' a | sha1sum`.
  CHECK(Sha1Hex(std::string(55, 'a')) ==
        "c1c8bbdc22796e28c0e15163d20899b65621d65a");
  CHECK(Sha1Hex(std::string(56, 'a')) ==
        "c2db330f6083854c99d4b5bfb6e8f29f201be699");
  CHECK(Sha1Hex(std::string(63, 'a')) ==
        "03f09f5b158a7a8cdad920bddc29b81c18a551f5");
  CHECK(Sha1Hex(std::string(64, 'a')) ==
        "0098ba824b5c16427bd7a1122a5a442a25ec644d");
  CHECK(Sha1Hex(std::string(65, 'a')) ==
        "11655326c708d70319be2610e8a57d9a5b959d3b");
  CHECK(Sha1Hex(std::string(119, 'a')) ==
        "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56");
  CHECK(Sha1Hex(std::string(120, 'a')) ==
        "f34c1488385346a55709ba056ddd08280dd4c6d6");
  CHECK(Sha1Hex(std::string(128, 'a')) ==
        "ad5b3fdbcb526778c2839d2f151ea753995e26a0");
}

TEST_CASE("Sha1 hashes arbitrary bytes, including NUL and high bytes",
          "[sha1]") {
  CHECK(Sha1Hex(std::string("\x00\xff\x80", 3)) ==
        "e4bc8a01806054986edd720593bc12f760eca5b9");
  CHECK(Sha1Hex("The quick brown fox jumps over the lazy dog") ==
        "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12");
}

}  // namespace
}  // namespace synod
