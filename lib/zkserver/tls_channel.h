// TLS for the ZooKeeper port (Options::tls): TlsChannel is one
// connection's TLS, server side, over memory buffers: it takes the bytes
// the socket delivered and gives back the bytes to send, so it has no
// socket of its own (the server moves the bytes; no SIGPIPE from OpenSSL's
// own writes) and is tested without one. TlsServerContext makes the
// channels, from the peer's certificate files, read again every
// TlsOptions::reload_interval.
//
// As on synod's other ports the TLS is mutual: a client must present a
// certificate that chains to the CA, and its subject becomes the
// connection's x509 identity (ZooKeeper's X509AuthenticationProvider).

#ifndef SYNOD_ZKSERVER_TLS_CHANNEL_H_
#define SYNOD_ZKSERVER_TLS_CHANNEL_H_

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "synod/options.h"

namespace synod::zkserver {

class TlsChannel {
 public:
  // Most plaintext bytes taken by one Seal: records are sealed in bounded
  // steps, so that what waits unsent stays the connection's to count.
  static constexpr size_t kMaxSealBytes = size_t{256} << 10;

  ~TlsChannel();
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  // Takes bytes the client sent: advances the handshake, and once it is
  // done appends the plaintext they carry to `*plaintext`. An error (a
  // failed handshake, a bad record, the client's close) ends the
  // connection: its message says why; wire() may hold an alert to send
  // before closing.
  absl::Status Receive(std::string_view bytes, std::string* plaintext);

  // Seals the first bytes of `*plaintext` (kMaxSealBytes at most) into
  // records in wire(), and erases them. Only once established().
  absl::Status Seal(std::string* plaintext);

  // Ends the TLS session: appends close_notify to wire(), for a client
  // that reads to the end to tell a closed connection from a cut one.
  void Close();

  // The bytes to send the client (handshake messages, records, alerts).
  // The server sends a prefix and erases it.
  std::string& wire() { return wire_; }

  // True once the handshake is done: the client presented a certificate
  // of the CA.
  bool established() const { return established_; }

  // The subject (RFC 2253) of the certificate the client presented, once
  // established().
  std::string PeerSubject() const;

 private:
  friend class TlsServerContext;
  explicit TlsChannel(SSL* ssl);

  // Moves what OpenSSL wrote into wire_.
  void Drain();
  // The error of a failed OpenSSL call whose result was `rc`.
  absl::Status Failure(int rc, std::string_view during);

  SSL* const ssl_;
  BIO* const in_;   // the client's bytes, for OpenSSL to read (owned by ssl_)
  BIO* const out_;  // what OpenSSL writes (owned by ssl_)
  bool established_ = false;
  std::string wire_;
};

class TlsServerContext {
 public:
  // From `tls`'s files as they are now (transport::MakeServerSslContext's
  // errors if they do not load).
  static absl::StatusOr<std::unique_ptr<TlsServerContext>> Make(
      const TlsOptions& tls, int64_t now_ms);

  // A channel for a new connection, with the files last loaded.
  std::unique_ptr<TlsChannel> NewChannel();

  // Reads the files again once reload_interval has passed since they were
  // last read: files that load take effect for later connections; files
  // that do not leave the current ones in use, and their error is returned
  // (once per distinct error, so a lasting mistake is told once).
  absl::Status MaybeReload(int64_t now_ms);

 private:
  TlsServerContext(TlsOptions tls, std::shared_ptr<SSL_CTX> ctx,
                   int64_t now_ms);

  const TlsOptions tls_;
  std::shared_ptr<SSL_CTX> ctx_;
  int64_t read_ms_;
  std::string last_error_;
};

}  // namespace synod::zkserver

#endif  // SYNOD_ZKSERVER_TLS_CHANNEL_H_
