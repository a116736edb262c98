// TlsChannel over a pair of memory BIOs: Receive writes the client's bytes
// into the one OpenSSL reads and drives the handshake, then SSL_read;
// whatever OpenSSL writes (handshake messages, session tickets, records,
// alerts) is drained into wire_ after every call.

#include "zkserver/tls_channel.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "transport/tls.h"
#include "util/errors.h"

namespace synod::zkserver {
namespace {

constexpr size_t kReadChunk = 16 << 10;  // a TLS record's most plaintext

// OpenSSL's reasons queued on this thread, oldest first; clears the queue.
std::string TakeOpenSslErrors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out;
}

}  // namespace

TlsChannel::TlsChannel(SSL* ssl)
    : ssl_(ssl), in_(BIO_new(BIO_s_mem())), out_(BIO_new(BIO_s_mem())) {
  // An empty memory BIO reads as "try again", not as the end.
  BIO_set_mem_eof_return(in_, -1);
  BIO_set_mem_eof_return(out_, -1);
  SSL_set_bio(ssl_, in_, out_);
  SSL_set_accept_state(ssl_);
}

TlsChannel::~TlsChannel() { SSL_free(ssl_); }

absl::Status TlsChannel::Failure(int rc, std::string_view during) {
  const int error = SSL_get_error(ssl_, rc);
  std::string why = TakeOpenSslErrors();
  if (error == SSL_ERROR_ZERO_RETURN) {
    why = "the client closed the connection";
  } else if (why.empty()) {
    why = absl::StrCat("OpenSSL error ", error);
  }
  if (!established_ && SSL_get_verify_result(ssl_) != X509_V_OK) {
    absl::StrAppend(&why, " (client certificate: ",
                    X509_verify_cert_error_string(
                        SSL_get_verify_result(ssl_)),
                    ")");
  }
  Drain();  // an alert for the client, if OpenSSL made one
  return MakeError(Error::kConnectionLoss,
                   absl::StrCat("TLS ", std::string(during), ": ", why));
}

absl::Status TlsChannel::Receive(std::string_view bytes,
                                 std::string* plaintext) {
  ERR_clear_error();
  if (!bytes.empty() &&
      BIO_write(in_, bytes.data(), static_cast<int>(bytes.size())) !=
          static_cast<int>(bytes.size())) {
    return MakeError(Error::kSystemError, "TLS: cannot buffer input");
  }
  if (!established_) {
    const int rc = SSL_do_handshake(ssl_);
    if (rc != 1) {
      if (SSL_get_error(ssl_, rc) == SSL_ERROR_WANT_READ) {
        Drain();
        return absl::OkStatus();
      }
      return Failure(rc, "handshake");
    }
    established_ = true;
  }
  while (true) {
    const size_t at = plaintext->size();
    plaintext->resize(at + kReadChunk);
    const int rc = SSL_read(ssl_, plaintext->data() + at, kReadChunk);
    plaintext->resize(at + static_cast<size_t>(rc > 0 ? rc : 0));
    if (rc > 0) continue;
    if (SSL_get_error(ssl_, rc) == SSL_ERROR_WANT_READ) break;
    return Failure(rc, "read");
  }
  Drain();
  return absl::OkStatus();
}

absl::Status TlsChannel::Seal(std::string* plaintext) {
  if (!established_) {
    return MakeError(Error::kSystemError, "TLS: sealing before the handshake");
  }
  if (plaintext->empty()) return absl::OkStatus();
  ERR_clear_error();
  const size_t n = std::min(plaintext->size(), kMaxSealBytes);
  // A memory BIO takes everything: the write is whole or failed.
  const int rc = SSL_write(ssl_, plaintext->data(), static_cast<int>(n));
  if (rc <= 0) return Failure(rc, "write");
  plaintext->erase(0, static_cast<size_t>(rc));
  Drain();
  return absl::OkStatus();
}

void TlsChannel::Close() {
  if (!established_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
  Drain();
}

std::string TlsChannel::PeerSubject() const {
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (cert == nullptr) return "";
  std::string subject = transport::SubjectName(cert);
  X509_free(cert);
  return subject;
}

void TlsChannel::Drain() {
  char* data = nullptr;
  const long n = BIO_get_mem_data(out_, &data);
  if (n <= 0) return;
  wire_.append(data, static_cast<size_t>(n));
  (void)BIO_reset(out_);
}

TlsServerContext::TlsServerContext(TlsOptions tls, std::shared_ptr<SSL_CTX> ctx,
                                   int64_t now_ms)
    : tls_(std::move(tls)), ctx_(std::move(ctx)), read_ms_(now_ms) {}

absl::StatusOr<std::unique_ptr<TlsServerContext>> TlsServerContext::Make(
    const TlsOptions& tls, int64_t now_ms) {
  absl::StatusOr<std::shared_ptr<SSL_CTX>> ctx =
      transport::MakeServerSslContext(tls);
  if (!ctx.ok()) return ctx.status();
  return std::unique_ptr<TlsServerContext>(
      new TlsServerContext(tls, std::move(*ctx), now_ms));
}

std::unique_ptr<TlsChannel> TlsServerContext::NewChannel() {
  SSL* ssl = SSL_new(ctx_.get());
  if (ssl == nullptr) {
    ERR_clear_error();
    return nullptr;
  }
  return std::unique_ptr<TlsChannel>(new TlsChannel(ssl));
}

absl::Status TlsServerContext::MaybeReload(int64_t now_ms) {
  if (now_ms - read_ms_ < absl::ToInt64Milliseconds(tls_.reload_interval)) {
    return absl::OkStatus();
  }
  read_ms_ = now_ms;
  absl::StatusOr<std::shared_ptr<SSL_CTX>> ctx =
      transport::MakeServerSslContext(tls_);
  if (ctx.ok()) {
    ctx_ = std::move(*ctx);
    last_error_.clear();
    return absl::OkStatus();
  }
  const std::string error(ctx.status().message());
  if (error == last_error_) return absl::OkStatus();
  last_error_ = error;
  return ctx.status();
}

}  // namespace synod::zkserver
