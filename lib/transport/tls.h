// Transport security: the gRPC credentials every channel and server of a
// peer or client uses, plaintext or mutual TLS from Options::tls
// (docs/security.md).

#ifndef SYNOD_TRANSPORT_TLS_H_
#define SYNOD_TRANSPORT_TLS_H_

#include <memory>
#include <string>

#include <openssl/ssl.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/server_context.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "synod/options.h"

namespace synod::transport {

// Checks `tls` as a peer or client would use it: all three files or none;
// the certificate and CA files hold PEM certificates, the key file a PEM
// private key that matches the certificate, and the certificate is valid
// now (not expired, not yet to come) and issued by a CA of `ca_file`.
// Returns BadArguments naming the file and what is wrong with it.
absl::Status ValidateTls(const TlsOptions& tls);

// The subject of the certificate the client of `context` presented and
// the server verified (RFC 2253, as gRPC reports it), or "" on a plaintext
// connection.
std::string CertificateSubjectOf(const grpc::ServerContextBase& context);

// The subject of the first certificate in `cert_file`, as
// CertificateSubjectOf reports it for a client presenting that certificate.
absl::StatusOr<std::string> CertificateSubject(const std::string& cert_file);

// The subject of `cert` as CertificateSubjectOf prints one (RFC 2253), so
// that a client's x509 identity is the same over every port.
std::string SubjectName(const X509* cert);

// An OpenSSL server context made from `tls`'s files as they are now, for a
// server gRPC does not run (the ZooKeeper port): this side presents its
// certificate (with the intermediates after it); a client must present
// one that chains to a CA of the CA file, or the handshake fails; TLS 1.2
// at least, no renegotiation. BadArguments naming the file if one does not
// load or the key is not the certificate's.
absl::StatusOr<std::shared_ptr<SSL_CTX>> MakeServerSslContext(
    const TlsOptions& tls);

// True if the certificate the client of `context` presented names the host
// of `address` ("host:port"; an IP address or a DNS name, wildcards as in
// TLS's hostname check) among its subject alternative names, the check a
// dialler makes of a server. False on a plaintext connection.
bool CertificateNamesHost(const grpc::ServerContextBase& context,
                          const std::string& address);

// True if `address` ("host:port") can only be reached from this machine:
// a 127.0.0.0/8 host (IPv4-mapped too), ::1, or "localhost".
bool IsLoopbackAddress(const std::string& address);

// The credentials of one process's side of every connection: plaintext, or
// mutual TLS whose certificate, key and CA are read again every
// TlsOptions::reload_interval (one watcher shared by every channel and the
// server). Thread-safe and immutable once made.
class TransportCredentials {
 public:
  // Plaintext: grpc's insecure credentials.
  static std::shared_ptr<const TransportCredentials> Plaintext();

  // Mutual TLS from `tls` (ValidateTls first), or plaintext if `tls` names
  // no file.
  static absl::StatusOr<std::shared_ptr<const TransportCredentials>> Make(
      const TlsOptions& tls);

  // True for TLS.
  bool tls() const { return provider_ != nullptr; }

  // For a channel to a peer or server: with TLS, the server's certificate
  // must chain to the CA and name the host dialled; this side presents its
  // own certificate.
  std::shared_ptr<grpc::ChannelCredentials> Channel() const;

  // For this peer's server: with TLS, a client must present a certificate
  // that chains to the CA, or the handshake fails.
  std::shared_ptr<grpc::ServerCredentials> Server() const;

 private:
  TransportCredentials() = default;

  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider_;
};

}  // namespace synod::transport

#endif  // SYNOD_TRANSPORT_TLS_H_
