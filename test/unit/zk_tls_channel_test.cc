// zkserver::TlsChannel and TlsServerContext, the ZooKeeper port's TLS,
// without a socket: a client made with OpenSSL in the test exchanges bytes
// with a channel through memory. A client of the CA gets through with its
// certificate subject; every other (no certificate, another CA's, TLS
// 1.1, bytes that are no TLS) is refused with a reason; plaintext crosses
// both ways, big writes sealed in bounded steps; the files are read again
// every reload interval, a broken set told once and the last good one kept.

#include "zkserver/tls_channel.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "test_util.h"
#include "util/test_ca.h"

namespace synod::testing {
namespace {

using zkserver::TlsChannel;
using zkserver::TlsServerContext;

// A TLS client over memory: what it writes is taken from Out(), what it
// receives is given to In().
class MemoryClient {
 public:
  // Presents `cert`/`key` (none if empty) and trusts `ca`; `max_version`
  // caps the protocol (0: no cap).
  MemoryClient(const std::string& ca, const Issued& id, int max_version = 0)
      : ctx_(SSL_CTX_new(TLS_client_method())) {
    REQUIRE(ctx_ != nullptr);
    REQUIRE(SSL_CTX_load_verify_locations(ctx_, ca.c_str(), nullptr) == 1);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (max_version != 0) {
      // Old protocols need the lowest security level to be offered at all.
      SSL_CTX_set_security_level(ctx_, 0);
      SSL_CTX_set_min_proto_version(ctx_, 0);
      SSL_CTX_set_max_proto_version(ctx_, max_version);
      SSL_CTX_set_cipher_list(ctx_, "DEFAULT@SECLEVEL=0");
    }
    if (!id.cert.empty()) {
      REQUIRE(SSL_CTX_use_certificate_chain_file(ctx_, id.cert.c_str()) == 1);
      REQUIRE(SSL_CTX_use_PrivateKey_file(ctx_, id.key.c_str(),
                                          SSL_FILETYPE_PEM) == 1);
    }
    ssl_ = SSL_new(ctx_);
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in_, -1);
    BIO_set_mem_eof_return(out_, -1);
    SSL_set_bio(ssl_, in_, out_);
    SSL_set_connect_state(ssl_);
  }
  ~MemoryClient() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }

  // True once the server's close_notify arrived.
  bool closed() const {
    return (SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN) != 0;
  }
  // Sends close_notify.
  void Close() { SSL_shutdown(ssl_); }
  // Advances the handshake; true once it is done.
  bool Handshake() { return SSL_do_handshake(ssl_) == 1; }
  void Write(const std::string& data) {
    REQUIRE(SSL_write(ssl_, data.data(), static_cast<int>(data.size())) ==
            static_cast<int>(data.size()));
  }
  // Every plaintext byte received so far.
  std::string Read() {
    std::string out;
    char buf[4096];
    int n;
    while ((n = SSL_read(ssl_, buf, sizeof(buf))) > 0) out.append(buf, n);
    ERR_clear_error();
    return out;
  }
  std::string Out() {
    std::string out;
    char buf[4096];
    int n;
    while ((n = BIO_read(out_, buf, sizeof(buf))) > 0) out.append(buf, n);
    return out;
  }
  void In(const std::string& bytes) {
    if (!bytes.empty()) BIO_write(in_, bytes.data(), static_cast<int>(bytes.size()));
  }

 private:
  SSL_CTX* ctx_;
  SSL* ssl_;
  BIO* in_;
  BIO* out_;
};

// Runs the handshake between `client` and `server` to its end (at most a
// few rounds); returns the server's error, if it failed; `*plaintext`
// gathers what the server decrypted.
absl::Status Connect(MemoryClient& client, TlsChannel& server,
                     std::string* plaintext) {
  for (int round = 0; round < 8; ++round) {
    const bool client_done = client.Handshake();
    const std::string bytes = client.Out();
    absl::Status s = server.Receive(bytes, plaintext);
    client.In(server.wire());
    server.wire().clear();
    if (!s.ok()) return s;
    if (client_done && server.established() && bytes.empty()) break;
  }
  return absl::OkStatus();
}

struct Files {
  Files()
      : ca(dir.Sub("ca"), "zk-unit-ca"),
        other(dir.Sub("other"), "other-ca"),
        server(ca.Issue("server", "IP:127.0.0.1")),
        alice(ca.Issue("alice", "")),
        stranger(other.Issue("alice", "")) {}
  TlsOptions tls() const { return TlsOptions{server.cert, server.key, ca.cert()}; }

  TempDir dir;
  TestCa ca;
  TestCa other;
  Issued server;
  Issued alice;
  Issued stranger;
};

TEST_CASE("ZooKeeper port TLS: a client of the CA gets through with its "
          "subject, and bytes cross both ways",
          "[zkserver][tls]") {
  Files f;
  absl::StatusOr<std::unique_ptr<TlsServerContext>> ctx =
      TlsServerContext::Make(f.tls(), 0);
  REQUIRE(ctx.ok());
  std::unique_ptr<TlsChannel> server = (*ctx)->NewChannel();
  REQUIRE(server != nullptr);
  MemoryClient client(f.ca.cert(), f.alice);
  std::string plaintext;
  REQUIRE(Connect(client, *server, &plaintext).ok());
  REQUIRE(server->established());
  CHECK(server->PeerSubject() == "CN=alice");
  CHECK(plaintext.empty());

  // The client's bytes arrive as sent, in any split of the records.
  client.Write("hello, ");
  client.Write("server");
  const std::string records = client.Out();
  for (size_t i = 0; i < records.size(); ++i) {
    REQUIRE(server->Receive(records.substr(i, 1), &plaintext).ok());
  }
  CHECK(plaintext == "hello, server");

  // A big answer is sealed a bounded step at a time, all of it in order.
  std::string answer;
  for (int i = 0; answer.size() < 3 * TlsChannel::kMaxSealBytes + 17; ++i) {
    answer += std::to_string(i) + ",";
  }
  std::string pending = answer;
  int steps = 0;
  std::string got;
  while (!pending.empty()) {
    const size_t before = pending.size();
    REQUIRE(server->Seal(&pending).ok());
    CHECK(before - pending.size() <= TlsChannel::kMaxSealBytes);
    CHECK(before > pending.size());
    ++steps;
    client.In(server->wire());
    server->wire().clear();
    got += client.Read();
  }
  CHECK(steps == 4);
  CHECK(got == answer);

  // The server's close reaches the client as TLS's close_notify.
  server->Close();
  client.In(server->wire());
  server->wire().clear();
  CHECK(client.Read().empty());
  CHECK(client.closed());
  // The client's close ends the channel, with a reason.
  client.Close();
  const absl::Status closed = server->Receive(client.Out(), &plaintext);
  CHECK(!closed.ok());
  CHECK(absl::StrContains(closed.message(), "closed the connection"));
}

TEST_CASE("ZooKeeper port TLS: every client without a certificate of the "
          "CA is refused in the handshake, with a reason",
          "[zkserver][tls]") {
  Files f;
  absl::StatusOr<std::unique_ptr<TlsServerContext>> ctx =
      TlsServerContext::Make(f.tls(), 0);
  REQUIRE(ctx.ok());
  std::string plaintext;

  SECTION("no certificate") {
    std::unique_ptr<TlsChannel> server = (*ctx)->NewChannel();
    MemoryClient client(f.ca.cert(), Issued{});
    const absl::Status s = Connect(client, *server, &plaintext);
    INFO(s.message());
    CHECK(!s.ok());
    CHECK(absl::StrContains(s.message(), "certificate"));
    CHECK(!server->established());
  }
  SECTION("another CA's certificate") {
    std::unique_ptr<TlsChannel> server = (*ctx)->NewChannel();
    MemoryClient client(f.ca.cert(), f.stranger);
    const absl::Status s = Connect(client, *server, &plaintext);
    INFO(s.message());
    CHECK(!s.ok());
    CHECK(absl::StrContains(s.message(), "certificate"));
    CHECK(!server->established());
  }
  SECTION("TLS 1.1") {
    std::unique_ptr<TlsChannel> server = (*ctx)->NewChannel();
    MemoryClient client(f.ca.cert(), f.alice, TLS1_1_VERSION);
    const absl::Status s = Connect(client, *server, &plaintext);
    INFO(s.message());
    CHECK(!s.ok());
    CHECK(!server->established());
  }
  SECTION("a ZooKeeper frame in the clear") {
    std::unique_ptr<TlsChannel> server = (*ctx)->NewChannel();
    const std::string frame("\0\0\0\x2c\0\0\0\0", 8);
    const absl::Status s = server->Receive(frame, &plaintext);
    INFO(s.message());
    CHECK(!s.ok());
    CHECK(!server->established());
  }
  SECTION("a four-letter word in the clear") {
    // Four bytes are less than a record's header: the channel waits (the
    // server's handshake timeout ends it); the newline `echo` adds makes
    // it a record header OpenSSL refuses.
    std::unique_ptr<TlsChannel> server = (*ctx)->NewChannel();
    CHECK(server->Receive("ruok", &plaintext).ok());
    CHECK(!server->Receive("\n", &plaintext).ok());
    CHECK(!server->established());
  }
  CHECK(plaintext.empty());
  // Sealing before the handshake is refused.
  std::unique_ptr<TlsChannel> fresh = (*ctx)->NewChannel();
  std::string data = "x";
  CHECK(!fresh->Seal(&data).ok());
  CHECK(data == "x");
}

TEST_CASE("ZooKeeper port TLS: the files are read again each reload "
          "interval, a broken set told once and the last good one kept",
          "[zkserver][tls]") {
  Files f;
  // The files the peer names: copies, so that the test can replace them.
  const std::string cert = f.dir.Sub("server.pem");
  const std::string key = f.dir.Sub("server.key");
  const std::string ca = f.dir.Sub("ca.pem");
  namespace fs = std::filesystem;
  const auto put = [](const std::string& from, const std::string& to) {
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  };
  put(f.server.cert, cert);
  put(f.server.key, key);
  put(f.ca.cert(), ca);
  TlsOptions tls{cert, key, ca};
  tls.reload_interval = absl::Seconds(10);
  absl::StatusOr<std::unique_ptr<TlsServerContext>> ctx =
      TlsServerContext::Make(tls, 0);
  REQUIRE(ctx.ok());
  const auto admits = [&](const Issued& id, const std::string& trust) {
    std::unique_ptr<TlsChannel> server = (*ctx)->NewChannel();
    MemoryClient client(trust, id);
    std::string plaintext;
    return Connect(client, *server, &plaintext).ok() && server->established();
  };
  REQUIRE(admits(f.alice, f.ca.cert()));
  REQUIRE(!admits(f.stranger, f.ca.cert()));

  // The other CA, with a server certificate of its own.
  const Issued other_server = f.other.Issue("server", "IP:127.0.0.1");
  put(other_server.cert, cert);
  put(other_server.key, key);
  put(f.other.cert(), ca);
  // Not yet: the interval has not passed.
  REQUIRE((*ctx)->MaybeReload(9999).ok());
  CHECK(admits(f.alice, f.ca.cert()));
  CHECK(!admits(f.stranger, f.other.cert()));
  // Now the new files rule new connections.
  REQUIRE((*ctx)->MaybeReload(10000).ok());
  CHECK(admits(f.stranger, f.other.cert()));
  CHECK(!admits(f.alice, f.ca.cert()));

  // A key that is not the certificate's (a rotation half done): the
  // error is told once, and the last good files stay in use.
  put(f.server.key, key);
  const absl::Status broken = (*ctx)->MaybeReload(20000);
  INFO(broken.message());
  CHECK(!broken.ok());
  CHECK(absl::StrContains(broken.message(), key));
  CHECK((*ctx)->MaybeReload(30000).ok());  // the same error, not told again
  CHECK(admits(f.stranger, f.other.cert()));
  // The rotation completes.
  put(other_server.key, key);
  CHECK((*ctx)->MaybeReload(40000).ok());
  CHECK(admits(f.stranger, f.other.cert()));
  // A missing file is an error too.
  fs::remove(ca);
  const absl::Status missing = (*ctx)->MaybeReload(50000);
  CHECK(!missing.ok());
  CHECK(absl::StrContains(missing.message(), "cannot be read"));
  CHECK(admits(f.stranger, f.other.cert()));
}

}  // namespace
}  // namespace synod::testing
