// Security with real synod-peer processes on loopback (docs/security.md).
// Mutual TLS:
// certificates made by the test with Debian's openssl; an ensemble of three
// peers serves clients that present a certificate of its CA and refuses
// every other connection (no certificate, another CA, expired, plaintext,
// TLS below 1.2, a server certificate for another name); a peer without
// TLS or with another CA cannot join; certificates and CAs rotate without
// a restart. The ensemble secret: a peer without it, or with another,
// cannot join or read anything.

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "integration/process_util.h"
#include "synod/synod.h"
#include "test_util.h"
#include "util/test_ca.h"
#include "transport/client.grpc.pb.h"

namespace synod::testing {
namespace {

// synod-peer's or synod-cli's TLS flags.
std::vector<std::string> TlsFlags(const Issued& id, const std::string& ca,
                                  const std::string& reload = "") {
  std::vector<std::string> flags = {"--tls-cert", id.cert, "--tls-key", id.key,
                                    "--tls-ca", ca};
  if (!reload.empty()) {
    flags.push_back("--tls-reload");
    flags.push_back(reload);
  }
  return flags;
}
std::string TlsArgs(const Issued& id, const std::string& ca) {
  return absl::StrCat("--tls-cert ", id.cert, " --tls-key ", id.key,
                      " --tls-ca ", ca, " ");
}

// The Status RPC over TLS with exactly these PEM files, with none of the
// checks synod-cli makes of its own files first: what a client holding an
// expired or foreign certificate would send.
grpc::Status RawStatus(const std::string& address, const Issued& id,
                       const std::string& ca) {
  using grpc::experimental::IdentityKeyCertPair;
  std::vector<IdentityKeyCertPair> pairs = {
      IdentityKeyCertPair{ReadAll(id.key), ReadAll(id.cert)}};
  auto provider =
      std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
          ReadAll(ca), pairs);
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  auto stub = transport::Client::NewStub(grpc::CreateChannel(
      address, grpc::experimental::TlsCredentials(options)));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  transport::StatusReply reply;
  return stub->Status(&context, transport::StatusRequest(), &reply);
}

// The subject of the certificate the server at `address` presents now.
std::string ServerSubject(const std::string& address, const Issued& client,
                          const std::string& ca) {
  return Shell(absl::StrCat("openssl s_client -connect ", address, " -cert ",
                            client.cert, " -key ", client.key, " -CAfile ", ca,
                            " </dev/null 2>/dev/null | openssl x509 -noout "
                            "-subject -nameopt RFC2253"))
      .out;
}

// Counts "voter"/"observer" lines of `synod-cli members`.
int CountMembers(const std::string& members, const std::string& role) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(members, '\n')) {
    if (absl::StrContains(line, absl::StrCat(" ", role, " "))) ++n;
  }
  return n;
}

TEST_CASE("Processes: a mutual-TLS ensemble serves clients of its CA and "
          "refuses every other connection",
          "[process][tls]") {
  TempDir dir;
  TestCa ca(dir.Sub("ca"), "synod-test-ca");
  TestCa other(dir.Sub("other"), "another-ca");
  const Issued peer = ca.Issue("peer", "IP:127.0.0.1");
  const Issued client = ca.Issue("client", "");
  const Issued expired = ca.Issue("expired", "", -1);
  const Issued foreign = other.Issue("client", "IP:127.0.0.1");
  const std::string tls = TlsArgs(client, ca.cert());

  std::vector<std::string> seeds;
  for (int i = 0; i < 3; ++i) {
    seeds.push_back(absl::StrCat("127.0.0.1:", FreePort()));
  }
  std::vector<std::unique_ptr<PeerProcess>> peers;
  for (int i = 0; i < 3; ++i) {
    std::vector<std::string> flags = TlsFlags(peer, ca.cert());
    flags.insert(flags.end(), {"--tick", "50ms"});
    peers.push_back(std::make_unique<PeerProcess>(
        seeds[i], seeds, dir.Sub(absl::StrCat("peer", i)),
        dir.Sub(absl::StrCat("peer", i, ".log")), flags));
    peers.back()->Start("2s");
  }
  auto logs = [&] {
    std::string out;
    for (auto& p : peers) absl::StrAppend(&out, "---- ", p->listen(), "\n", p->Log());
    return out;
  };
  // The ensemble forms over TLS links and serves a client of its CA (the
  // peers' logs, as they are then, if it does not).
  if (!WaitForCli([&] {
        return Cli(seeds[0], tls + "create /a secret").exit_code == 0;
      })) {
    FAIL(logs());
  }
  for (const std::string& s : seeds) {
    INFO(s);
    CHECK(WaitForCli([&] {
      return Cli(s, tls + "get /a").out.find("secret") != std::string::npos;
    }, absl::Seconds(20)));
  }

  // Refused before any synod message is read:
  // - a plaintext client;
  CliResult r = Cli(seeds[0], "get /a");
  CHECK(r.exit_code != 0);
  CHECK(r.out.find("secret") == std::string::npos);
  r = Cli(seeds[0], "create /plain x");
  CHECK(r.exit_code != 0);
  // - a client whose certificate another CA signed (it trusts ours for the
  //   server, so only the server's check can stop it);
  const std::string both = dir.Sub("both-cas.pem");
  std::ofstream(both) << ReadAll(ca.cert()) << ReadAll(other.cert());
  r = Cli(seeds[0], TlsArgs(foreign, both) + "create /foreign x");
  CHECK(r.exit_code != 0);
  CHECK(!RawStatus(seeds[0], foreign, ca.cert()).ok());
  // - a client with an expired certificate of our CA (synod-cli refuses
  //   its own expired file; a raw client sends it anyway);
  r = Cli(seeds[0], TlsArgs(expired, ca.cert()) + "get /a");
  CHECK(r.exit_code != 0);
  CHECK(r.out.find("has expired") != std::string::npos);
  CHECK(!RawStatus(seeds[0], expired, ca.cert()).ok());
  // - TLS 1.1, even from a client with a good certificate (1.2 is taken).
  const std::string s_client = absl::StrCat(
      "openssl s_client -connect ", seeds[0], " -cert ", client.cert, " -key ",
      client.key, " -CAfile ", ca.cert(), " -cipher DEFAULT@SECLEVEL=0 ");
  // (s_client's exit status also reflects how the server closed the
  // connection afterwards; the session line says whether the handshake
  // agreed on a cipher.)
  ShellResult handshake = Shell(s_client + "-tls1_1 </dev/null");
  INFO(handshake.out);
  CHECK(handshake.out.find("Cipher is (NONE)") != std::string::npos);
  handshake = Shell(s_client + "-tls1_2 </dev/null");
  INFO(handshake.out);
  CHECK(handshake.out.find("New, TLSv1.2, Cipher is ") != std::string::npos);
  CHECK(handshake.out.find("Cipher is (NONE)") == std::string::npos);
  // The raw client is no toy: with a good certificate it gets an answer.
  CHECK(RawStatus(seeds[0], client, ca.cert()).ok());
  // Nothing the refused clients sent was applied.
  r = Cli(seeds[0], tls + "ls /");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("plain") == std::string::npos);
  CHECK(r.out.find("foreign") == std::string::npos);

  // A peer without TLS, and a peer with another CA's certificate, cannot
  // join: they cannot even learn which ensemble this is.
  PeerProcess plain(absl::StrCat("127.0.0.1:", FreePort()), {seeds[0]},
                    dir.Sub("plain"), dir.Sub("plain.log"), {"--tick", "50ms"});
  plain.Start("2s");
  const Issued foreign_peer = other.Issue("peer", "IP:127.0.0.1");
  PeerProcess stranger(absl::StrCat("127.0.0.1:", FreePort()), {seeds[0]},
                       dir.Sub("stranger"), dir.Sub("stranger.log"),
                       TlsFlags(foreign_peer, other.cert()));
  stranger.Start("2s");
  std::optional<int> exit = plain.WaitExit(absl::Seconds(60));
  INFO(plain.Log());
  REQUIRE(exit.has_value());
  CHECK(*exit != 0);
  CHECK(plain.Log().find("no seed told this peer") != std::string::npos);
  exit = stranger.WaitExit(absl::Seconds(60));
  INFO(stranger.Log());
  REQUIRE(exit.has_value());
  CHECK(*exit != 0);
  r = Cli(seeds[0], tls + "members");
  CHECK(r.exit_code == 0);
  CHECK(CountMembers(r.out, "voter") == 3);
  CHECK(CountMembers(r.out, "observer") == 0);
  // A peer with a certificate of the CA joins the same way (the control).
  PeerProcess member(absl::StrCat("127.0.0.1:", FreePort()), {seeds[0]},
                     dir.Sub("member"), dir.Sub("member.log"),
                     TlsFlags(peer, ca.cert()));
  member.Start("2s");
  CHECK(WaitForCli([&] {
    return CountMembers(Cli(seeds[0], tls + "members").out, "observer") == 1;
  }));
  CHECK(WaitForCli([&] {
    return Cli(member.listen(), tls + "get /a").out.find("secret") !=
           std::string::npos;
  }));
}

TEST_CASE("Processes: a TLS client refuses a server whose certificate names "
          "another host",
          "[process][tls]") {
  TempDir dir;
  TestCa ca(dir.Sub("ca"), "synod-test-ca");
  const Issued client = ca.Issue("client", "");
  const Issued wrong = ca.Issue("elsewhere", "IP:10.255.255.1,DNS:elsewhere.test");
  const Issued right = ca.Issue("here", "IP:127.0.0.1");
  const std::string wrong_at = absl::StrCat("127.0.0.1:", FreePort());
  PeerProcess impostor(wrong_at, {wrong_at}, dir.Sub("w"), dir.Sub("w.log"),
                       TlsFlags(wrong, ca.cert()));
  impostor.Start();
  const std::string right_at = absl::StrCat("127.0.0.1:", FreePort());
  PeerProcess genuine(right_at, {right_at}, dir.Sub("r"), dir.Sub("r.log"),
                      TlsFlags(right, ca.cert()));
  genuine.Start();
  const std::string tls = TlsArgs(client, ca.cert());
  REQUIRE(WaitForCli([&] { return Cli(right_at, tls + "create /x y").exit_code == 0; }));
  // Up and serving TLS with a certificate of the right CA, but for another
  // name: the client does not talk to it.
  REQUIRE(WaitForCli([&] {
    return ServerSubject(wrong_at, client, ca.cert()).find("CN=elsewhere") !=
           std::string::npos;
  }));
  const CliResult r = Cli(wrong_at, tls + "create /x y");
  CHECK(r.exit_code != 0);
}

TEST_CASE("Processes: TLS certificates and CAs rotate without a restart",
          "[process][tls]") {
  TempDir dir;
  TestCa ca(dir.Sub("ca"), "synod-test-ca");
  TestCa next_ca(dir.Sub("next"), "next-ca");
  const Issued first = ca.Issue("first", "IP:127.0.0.1");
  const Issued second = ca.Issue("second", "IP:127.0.0.1");
  const Issued client = ca.Issue("client", "");
  const Issued next_client = next_ca.Issue("next-client", "");
  // The files the peer reads: replaced by rename, as an operator (or a
  // certificate agent) would.
  const Issued live{dir.Sub("live.pem"), dir.Sub("live.key")};
  const std::string live_ca = dir.Sub("live-ca.pem");
  auto install = [&](const std::string& text, const std::string& to) {
    std::ofstream(to + ".new") << text;
    std::filesystem::rename(to + ".new", to);
  };
  install(ReadAll(first.cert), live.cert);
  install(ReadAll(first.key), live.key);
  install(ReadAll(ca.cert()), live_ca);
  const std::string at = absl::StrCat("127.0.0.1:", FreePort());
  PeerProcess p(at, {at}, dir.Sub("d"), dir.Sub("d.log"),
                TlsFlags(live, live_ca, "1s"));
  p.Start();
  INFO(p.Log());
  REQUIRE(WaitForCli([&] {
    return Cli(at, TlsArgs(client, ca.cert()) + "create /x y").exit_code == 0;
  }));
  CHECK(ServerSubject(at, client, ca.cert()).find("CN=first") !=
        std::string::npos);
  // A client of the next CA is not trusted yet.
  const std::string next_bundle = dir.Sub("next-bundle.pem");
  std::ofstream(next_bundle) << ReadAll(ca.cert()) << ReadAll(next_ca.cert());
  CHECK(Cli(at, TlsArgs(next_client, next_bundle) + "get /x").exit_code != 0);
  // New certificate (key first would not match until both are in: the
  // peer keeps the old pair until the new one is whole), and a CA bundle
  // that adds the next CA.
  install(ReadAll(second.key), live.key);
  install(ReadAll(second.cert), live.cert);
  install(ReadAll(ca.cert()) + ReadAll(next_ca.cert()), live_ca);
  CHECK(WaitForCli([&] {
    return ServerSubject(at, client, ca.cert()).find("CN=second") !=
           std::string::npos;
  }, absl::Seconds(30)));
  CHECK(WaitForCli([&] {
    return Cli(at, TlsArgs(next_client, next_bundle) + "get /x").exit_code == 0;
  }, absl::Seconds(30)));
  // Still the same process, and the old clients still work.
  CHECK(p.running());
  CHECK(Cli(at, TlsArgs(client, ca.cert()) + "get /x").exit_code == 0);
}

TEST_CASE("Processes: only peers that hold the ensemble secret join",
          "[process][security]") {
  TempDir dir;
  const std::string secret_file = dir.Sub("secret");
  std::ofstream(secret_file) << "the secret every member of this ensemble has\n";
  const std::string wrong_file = dir.Sub("wrong");
  std::ofstream(wrong_file) << "a secret of some other ensemble entirely\n";
  const std::vector<std::string> secret = {"--ensemble-secret-file",
                                           secret_file, "--tick", "50ms"};
  std::vector<std::string> seeds;
  for (int i = 0; i < 3; ++i) {
    seeds.push_back(absl::StrCat("127.0.0.1:", FreePort()));
  }
  std::vector<std::unique_ptr<PeerProcess>> peers;
  for (int i = 0; i < 3; ++i) {
    peers.push_back(std::make_unique<PeerProcess>(
        seeds[i], seeds, dir.Sub(absl::StrCat("peer", i)),
        dir.Sub(absl::StrCat("peer", i, ".log")), secret));
    peers.back()->Start("2s");
  }
  REQUIRE(WaitForCli([&] { return Cli(seeds[0], "create /a secret").exit_code == 0; }));
  // Without the secret, and with another: they learn which ensemble this
  // is (any client may ask), but no member links with them, so they are
  // never admitted and never receive the tree.
  PeerProcess none(absl::StrCat("127.0.0.1:", FreePort()), {seeds[0]},
                   dir.Sub("none"), dir.Sub("none.log"), {"--tick", "50ms"});
  none.Start("2s");
  PeerProcess wrong(absl::StrCat("127.0.0.1:", FreePort()), {seeds[0]},
                    dir.Sub("wrong-d"), dir.Sub("wrong.log"),
                    {"--ensemble-secret-file", wrong_file, "--tick", "50ms"});
  wrong.Start("2s");
  INFO(none.Log() << wrong.Log());
  CHECK(WaitForCli([&] {
    return none.Log().find("does not prove the ensemble secret") !=
           std::string::npos;
  }));
  CHECK(WaitForCli([&] {
    return wrong.Log().find("does not prove the ensemble secret") !=
           std::string::npos;
  }));
  // A member with the secret joins meanwhile (the control), and the two
  // others are still out.
  PeerProcess member(absl::StrCat("127.0.0.1:", FreePort()), {seeds[0]},
                     dir.Sub("member"), dir.Sub("member.log"), secret);
  member.Start("2s");
  CHECK(WaitForCli([&] {
    return CountMembers(Cli(seeds[0], "members").out, "observer") == 1;
  }));
  CHECK(WaitForCli([&] {
    return Cli(member.listen(), "get /a").out.find("secret") !=
           std::string::npos;
  }));
  const CliResult members = Cli(seeds[0], "members");
  CHECK(members.out.find(none.listen()) == std::string::npos);
  CHECK(members.out.find(wrong.listen()) == std::string::npos);
  CHECK(CountMembers(members.out, "voter") == 3);
  for (PeerProcess* p : {&none, &wrong}) {
    INFO(p->listen());
    CHECK(p->running());
    // Nothing of the tree reached it.
    const CliResult r =
        Cli(p->listen(), "--connect-timeout 2s get /a");
    CHECK(r.out.find("secret") == std::string::npos);
  }
  // The members refused them, and said so.
  bool refused = false;
  for (auto& p : peers) {
    refused = refused || p->Log().find("does not prove the ensemble secret") !=
                             std::string::npos;
  }
  CHECK(refused);
}

TEST_CASE("Processes: x509 identities in ACLs, for remote clients and the "
          "Coordinator's own session",
          "[process][security]") {
  TempDir dir;
  TestCa ca(dir.Sub("ca"), "synod-test-ca");
  const Issued node = ca.Issue("node-a", "IP:127.0.0.1");
  const Issued alice = ca.Issue("alice", "");
  const Issued bob = ca.Issue("bob", "");
  // The subjects as openssl prints them (RFC 2253), which is how ZooKeeper
  // names an x509 identity.
  auto subject = [](const Issued& id) {
    std::string s = Shell(absl::StrCat("openssl x509 -in ", id.cert,
                                       " -noout -subject -nameopt RFC2253"))
                        .out;
    s = s.substr(s.find('=') + 1);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  };
  REQUIRE(subject(alice) == "CN=alice");
  const std::string at = absl::StrCat("127.0.0.1:", FreePort());
  Options options;
  options.data_dir = dir.Sub("data");
  options.listen = at;
  options.seeds = {at};
  options.tls = TlsOptions{node.cert, node.key, ca.cert()};
  absl::StatusOr<std::unique_ptr<Coordinator>> started =
      Coordinator::Start(options);
  REQUIRE(started.ok());
  Coordinator& c = **started;
  // The Coordinator's own session is x509:CN=node-a: "auth" resolves to it.
  REQUIRE(c.Create("/mine", "own", CreateMode::kPersistent,
                   {CreatorAllAcl(), 0})
              .ok());
  const AclList own = {Acl{perms::kAll, "x509", subject(node)}};
  CHECK(*c.GetAcl("/mine") == own);
  CHECK(c.Get("/mine")->data == "own");
  // A node for alice alone.
  REQUIRE(c.Create("/alice", "hers", CreateMode::kPersistent,
                   {{Acl{perms::kAll, "x509", subject(alice)}}, 0})
              .ok());
  CHECK(ErrorOf(c.Get("/alice").status()) == Error::kNoAuth);
  // No one can claim an x509 identity by word.
  CHECK(ErrorOf(c.AddAuth("x509", "CN=alice")) == Error::kAuthFailed);
  // Remote clients are who their certificates say.
  CliResult r = Cli(at, TlsArgs(alice, ca.cert()) + "get /alice");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("hers") != std::string::npos);
  r = Cli(at, TlsArgs(alice, ca.cert()) + "set /alice again");
  CHECK(r.exit_code == 0);
  r = Cli(at, TlsArgs(bob, ca.cert()) + "get /alice");
  CHECK(r.exit_code != 0);
  CHECK(r.out.find("Insufficient permission : /alice") != std::string::npos);
  r = Cli(at, TlsArgs(bob, ca.cert()) + "set /alice bobs");
  CHECK(r.out.find("Insufficient permission : /alice") != std::string::npos);
  r = Cli(at, TlsArgs(alice, ca.cert()) + "get /mine");
  CHECK(r.out.find("Insufficient permission : /mine") != std::string::npos);
  r = Cli(at, TlsArgs(bob, ca.cert()) + "addauth x509 CN=alice");
  CHECK(r.exit_code != 0);
  CHECK(c.Get("/alice").status().ok() == false);
  REQUIRE(c.Exists("/alice")->has_value());
  CHECK(c.Exists("/alice")->value().version == 1);  // alice's set, only
}

}  // namespace
}  // namespace synod::testing
