// transport::ValidateTls and TransportCredentials: every bad TLS file is a
// clear error naming the file, found when a Coordinator starts (which then
// changes nothing) or synod-cli reads its flags.

#include "transport/tls.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "synod/coordinator.h"
#include "synod/types.h"
#include "test_util.h"
#include "tools/flags.h"
#include "util/test_ca.h"

namespace synod::testing {
namespace {

TEST_CASE("TLS files: a good set is taken, every bad one named", "[tls]") {
  TempDir dir;
  TestCa ca(dir.Sub("ca"), "unit-ca");
  TestCa other(dir.Sub("other"), "other-ca");
  const Issued good = ca.Issue("peer", "IP:127.0.0.1");
  const Issued expired = ca.Issue("old", "", -1);
  const Issued foreign = other.Issue("peer", "IP:127.0.0.1");
  TlsOptions tls{good.cert, good.key, ca.cert()};
  REQUIRE(transport::ValidateTls(tls).ok());
  absl::StatusOr<std::shared_ptr<const transport::TransportCredentials>> made =
      transport::TransportCredentials::Make(tls);
  REQUIRE(made.ok());
  CHECK((*made)->tls());
  CHECK(!transport::TransportCredentials::Plaintext()->tls());
  // None at all: plaintext.
  made = transport::TransportCredentials::Make(TlsOptions{});
  REQUIRE(made.ok());
  CHECK(!(*made)->tls());

  const std::string text = dir.Sub("text.pem");
  std::ofstream(text) << "not a certificate\n";
  const std::string encrypted = dir.Sub("encrypted.key");
  REQUIRE(Shell("openssl pkey -in " + good.key + " -aes256 -passout pass:x -out " +
                encrypted)
              .exit_code == 0);
  struct Case {
    TlsOptions tls;
    std::string says;
  };
  const Case cases[] = {
      {{good.cert, "", ca.cert()}, "together"},
      {{"", "", ca.cert()}, "together"},
      {{dir.Sub("missing.pem"), good.key, ca.cert()}, "missing.pem: cannot be read"},
      {{text, good.key, ca.cert()}, "holds no PEM certificate"},
      {{good.cert, text, ca.cert()}, "holds no unencrypted PEM private key"},
      {{good.cert, encrypted, ca.cert()}, "holds no unencrypted PEM private key"},
      {{good.cert, good.key, text}, "ca_file " + text + ": holds no PEM"},
      {{good.cert, foreign.key, ca.cert()}, "is not the key of " + good.cert},
      {{expired.cert, expired.key, ca.cert()}, "has expired"},
      {{foreign.cert, foreign.key, ca.cert()}, "is not issued by a CA of"},
  };
  for (const Case& c : cases) {
    INFO(c.says);
    const absl::Status s = transport::ValidateTls(c.tls);
    CHECK(ErrorOf(s) == Error::kBadArguments);
    CHECK(std::string(s.message()).find(c.says) != std::string::npos);
    CHECK(!transport::TransportCredentials::Make(c.tls).ok());
  }
  TlsOptions slow = tls;
  slow.reload_interval = absl::Hours(2);
  CHECK(ErrorOf(transport::ValidateTls(slow)) == Error::kBadArguments);
  slow.reload_interval = absl::Milliseconds(10);
  CHECK(ErrorOf(transport::ValidateTls(slow)) == Error::kBadArguments);

  // A Coordinator with a bad file does not start, and leaves no trace.
  Options options;
  options.data_dir = dir.Sub("data");
  options.listen = "127.0.0.1:0";
  options.tls = TlsOptions{good.cert, foreign.key, ca.cert()};
  absl::StatusOr<std::unique_ptr<Coordinator>> c = Coordinator::Start(options);
  REQUIRE(!c.ok());
  CHECK(ErrorOf(c.status()) == Error::kBadArguments);
  CHECK(std::string(c.status().message()).find("is not the key of") !=
        std::string::npos);
  CHECK(!std::filesystem::exists(options.data_dir));
  // With good files it starts, and says it serves TLS.
  options.tls = tls;
  c = Coordinator::Start(options);
  REQUIRE(c.ok());
}

TEST_CASE("Loopback addresses, for the warning about listening beyond "
          "them unauthenticated",
          "[tls]") {
  for (const char* a : {"127.0.0.1:7001", "127.1.2.3:1", "[::1]:7001",
                        "localhost:7001", "[::ffff:127.0.0.1]:9"}) {
    INFO(a);
    CHECK(transport::IsLoopbackAddress(a));
  }
  for (const char* a : {"10.0.0.7:7001", "0.0.0.0:7001", "[::]:7001",
                        "db1.example:7001", "128.0.0.1:1", "[::ffff:10.0.0.1]:9",
                        "localhost.example:1"}) {
    INFO(a);
    CHECK(!transport::IsLoopbackAddress(a));
  }
}

TEST_CASE("The ensemble secret file flag", "[tls][tools]") {
  TempDir dir;
  const std::string file = dir.Sub("secret");
  std::ofstream(file) << "0123456789abcdef-secret\n";
  auto parse = [](std::vector<std::string> args) {
    return tools::ParsePeerFlags(args);
  };
  absl::StatusOr<tools::PeerFlags> f = parse(
      {"--listen", "127.0.0.1:7001", "--data-dir", "/tmp/x",
       "--ensemble-secret-file", file});
  REQUIRE(f.ok());
  CHECK(f->ensemble_secret == "0123456789abcdef-secret");  // no newline
  CHECK(tools::PeerOptions(*f).ensemble_secret == f->ensemble_secret);
  std::ofstream(file) << "too short\n";
  f = parse({"--listen", "127.0.0.1:7001", "--data-dir", "/tmp/x",
             "--ensemble-secret-file", file});
  REQUIRE(!f.ok());
  CHECK(std::string(f.status().message()).find("16 to 4096 bytes") !=
        std::string::npos);
  f = parse({"--listen", "127.0.0.1:7001", "--data-dir", "/tmp/x",
             "--ensemble-secret-file", dir.Sub("missing")});
  REQUIRE(!f.ok());
  CHECK(std::string(f.status().message()).find("cannot be read") !=
        std::string::npos);
  // Options: the same bounds, checked at start.
  Options options;
  options.data_dir = dir.Sub("data");
  options.ensemble_secret = "short";
  absl::StatusOr<std::unique_ptr<Coordinator>> c = Coordinator::Start(options);
  REQUIRE(!c.ok());
  CHECK(ErrorOf(c.status()) == Error::kBadArguments);
  CHECK(!std::filesystem::exists(options.data_dir));
}

TEST_CASE("TLS flags: all three files or none", "[tls][tools]") {
  std::map<std::string, std::string> v = {{"tls-cert", "c"}, {"tls-key", "k"}};
  CHECK(!tools::ParseTlsFlags(v).ok());
  v["tls-ca"] = "a";
  absl::StatusOr<TlsOptions> tls = tools::ParseTlsFlags(v);
  REQUIRE(tls.ok());
  CHECK(tls->cert_file == "c");
  CHECK(tls->key_file == "k");
  CHECK(tls->ca_file == "a");
  CHECK(tls->reload_interval == absl::Seconds(10));
  v["tls-reload"] = "2s";
  tls = tools::ParseTlsFlags(v);
  REQUIRE(tls.ok());
  CHECK(tls->reload_interval == absl::Seconds(2));
  v["tls-reload"] = "soon";
  CHECK(!tools::ParseTlsFlags(v).ok());
  CHECK(!tools::ParseTlsFlags({{"tls-reload", "2s"}}).ok());
  CHECK(!tools::ParseTlsFlags({{"tls-cert", ""}, {"tls-key", "k"}, {"tls-ca", "a"}}).ok());
  tls = tools::ParseTlsFlags({});
  REQUIRE(tls.ok());
  CHECK(!tls->enabled());
}

}  // namespace
}  // namespace synod::testing
