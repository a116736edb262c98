// TransportCredentials and ValidateTls: OpenSSL reads the files once at
// start, so that a bad file is a clear error instead of handshakes failing
// later; gRPC's file watcher serves them to every connection afterwards.

#include "transport/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "util/errors.h"
#include "util/status_macros.h"

namespace synod::transport {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// The whole file, or an error naming it.
absl::StatusOr<std::string> ReadFile(const char* option,
                                     const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return BadArgumentsError(
        absl::StrCat("Options::tls.", option, " ", path, ": cannot be read"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every certificate of a PEM text, in order.
std::vector<X509Ptr> ReadCertificates(const std::string& pem) {
  std::vector<X509Ptr> out;
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (bio) {
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (cert == nullptr) break;
    out.emplace_back(cert);
  }
  ERR_clear_error();  // the end of the text reads as an error
  return out;
}

// Never asks for a password: an encrypted key is refused.
int NoPassword(char*, int, int, void*) { return -1; }

absl::Status BadFile(const char* option, const std::string& path,
                     const std::string& what) {
  return BadArgumentsError(
      absl::StrCat("Options::tls.", option, " ", path, ": ", what));
}

}  // namespace

absl::Status ValidateTls(const TlsOptions& tls) {
  if (!tls.enabled()) return absl::OkStatus();
  if (tls.cert_file.empty() || tls.key_file.empty() || tls.ca_file.empty()) {
    return BadArgumentsError(
        "Options::tls needs cert_file, key_file and ca_file together");
  }
  if (tls.reload_interval < absl::Seconds(1) ||
      tls.reload_interval > absl::Hours(1)) {
    return BadArgumentsError(
        absl::StrCat("Options::tls.reload_interval must be within 1s..1h, not ",
                     absl::FormatDuration(tls.reload_interval)));
  }
  absl::StatusOr<std::string> cert_pem = ReadFile("cert_file", tls.cert_file);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = ReadFile("key_file", tls.key_file);
  if (!key_pem.ok()) return key_pem.status();
  absl::StatusOr<std::string> ca_pem = ReadFile("ca_file", tls.ca_file);
  if (!ca_pem.ok()) return ca_pem.status();

  std::vector<X509Ptr> chain = ReadCertificates(*cert_pem);
  if (chain.empty()) {
    return BadFile("cert_file", tls.cert_file, "holds no PEM certificate");
  }
  std::vector<X509Ptr> cas = ReadCertificates(*ca_pem);
  if (cas.empty()) {
    return BadFile("ca_file", tls.ca_file, "holds no PEM certificate");
  }
  std::unique_ptr<BIO, BioFree> key_bio(
      BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  std::unique_ptr<EVP_PKEY, KeyFree> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassword, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return BadFile("key_file", tls.key_file,
                   "holds no unencrypted PEM private key");
  }
  X509* leaf = chain.front().get();
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    return BadFile("key_file", tls.key_file,
                   absl::StrCat("is not the key of ", tls.cert_file));
  }
  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0) {
    return BadFile("cert_file", tls.cert_file, "has expired");
  }
  if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0) {
    return BadFile("cert_file", tls.cert_file, "is not valid yet");
  }
  // The certificate chains to the CA (through the intermediates after it).
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  for (const X509Ptr& ca : cas) X509_STORE_add_cert(store.get(), ca.get());
  std::unique_ptr<STACK_OF(X509), StackFree> intermediates(sk_X509_new_null());
  for (size_t i = 1; i < chain.size(); ++i) {
    X509_up_ref(chain[i].get());
    sk_X509_push(intermediates.get(), chain[i].get());
  }
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf,
                                  intermediates.get()) != 1) {
    ERR_clear_error();
    return MakeError(Error::kSystemError, "cannot check a certificate chain");
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    const int error = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return BadFile("cert_file", tls.cert_file,
                   absl::StrCat("is not issued by a CA of ", tls.ca_file, ": ",
                                X509_verify_cert_error_string(error)));
  }
  return absl::OkStatus();
}

std::string CertificateSubjectOf(const grpc::ServerContextBase& context) {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (!auth) return "";
  for (const grpc::string_ref& v :
       auth->FindPropertyValues(GRPC_X509_SUBJECT_PROPERTY_NAME)) {
    return std::string(v.data(), v.size());
  }
  return "";
}

absl::StatusOr<std::string> CertificateSubject(const std::string& cert_file) {
  absl::StatusOr<std::string> pem = ReadFile("cert_file", cert_file);
  if (!pem.ok()) return pem.status();
  std::vector<X509Ptr> chain = ReadCertificates(*pem);
  if (chain.empty()) {
    return BadFile("cert_file", cert_file, "holds no PEM certificate");
  }
  return SubjectName(chain.front().get());
}

std::string SubjectName(const X509* cert) {
  std::unique_ptr<BIO, BioFree> out(BIO_new(BIO_s_mem()));
  if (!out || X509_NAME_print_ex(out.get(), X509_get_subject_name(cert), 0,
                                 XN_FLAG_RFC2253) < 0) {
    ERR_clear_error();
    return "";
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

absl::StatusOr<std::shared_ptr<SSL_CTX>> MakeServerSslContext(
    const TlsOptions& tls) {
  SYNOD_ASSIGN_OR_RETURN(const std::string cert_pem,
                         ReadFile("cert_file", tls.cert_file));
  SYNOD_ASSIGN_OR_RETURN(const std::string key_pem,
                         ReadFile("key_file", tls.key_file));
  SYNOD_ASSIGN_OR_RETURN(const std::string ca_pem,
                         ReadFile("ca_file", tls.ca_file));
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (ctx == nullptr) {
    ERR_clear_error();
    return MakeError(Error::kSystemError, "cannot make a TLS context");
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
  // Idle connections keep no record buffers.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);

  std::vector<X509Ptr> chain = ReadCertificates(cert_pem);
  if (chain.empty() || SSL_CTX_use_certificate(ctx.get(), chain[0].get()) != 1) {
    ERR_clear_error();
    return BadFile("cert_file", tls.cert_file, "holds no usable PEM certificate");
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx.get(), chain[i].get()) != 1) {
      ERR_clear_error();
      return BadFile("cert_file", tls.cert_file,
                     "holds an intermediate certificate OpenSSL refuses");
    }
  }
  std::unique_ptr<BIO, BioFree> key_bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  std::unique_ptr<EVP_PKEY, KeyFree> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassword, nullptr));
  if (key == nullptr || SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return BadFile("key_file", tls.key_file,
                   absl::StrCat("is not the unencrypted PEM key of ",
                                tls.cert_file));
  }
  std::vector<X509Ptr> cas = ReadCertificates(ca_pem);
  if (cas.empty()) {
    return BadFile("ca_file", tls.ca_file, "holds no PEM certificate");
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
  for (const X509Ptr& ca : cas) {
    // The CA's name goes in the certificate request too, for clients that
    // pick among several certificates by it.
    if (X509_STORE_add_cert(store, ca.get()) != 1 ||
        SSL_CTX_add_client_CA(ctx.get(), ca.get()) != 1) {
      ERR_clear_error();
      return BadFile("ca_file", tls.ca_file,
                     "holds a certificate OpenSSL refuses as a CA");
    }
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     nullptr);
  return ctx;
}

namespace {

// The host of "host:port" ("[v6]:port" too), without brackets.
std::string HostOf(const std::string& address) {
  const size_t colon = address.rfind(':');
  std::string host =
      address.substr(0, colon == std::string::npos ? address.size() : colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

}  // namespace

bool CertificateNamesHost(const grpc::ServerContextBase& context,
                          const std::string& address) {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (!auth) return false;
  const std::string host = HostOf(address);
  if (host.empty()) return false;
  for (const grpc::string_ref& pem :
       auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME)) {
    std::vector<X509Ptr> certs =
        ReadCertificates(std::string(pem.data(), pem.size()));
    if (certs.empty()) continue;
    X509* cert = certs.front().get();
    // An IP address is matched as one (X509_check_ip_asc), anything else
    // as a DNS name: 1 is a match, 0 none, negative an error.
    int match = X509_check_ip_asc(cert, host.c_str(), 0);
    if (match == -2) {  // not an IP address
      match = X509_check_host(cert, host.data(), host.size(),
                              X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, nullptr);
    }
    ERR_clear_error();
    return match == 1;
  }
  return false;
}

bool IsLoopbackAddress(const std::string& address) {
  std::string host = HostOf(address);
  if (host.rfind("::ffff:", 0) == 0) host = host.substr(7);  // IPv4-mapped
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::shared_ptr<const TransportCredentials> TransportCredentials::Plaintext() {
  static const auto* plaintext = new std::shared_ptr<const TransportCredentials>(
      new TransportCredentials());
  return *plaintext;
}

absl::StatusOr<std::shared_ptr<const TransportCredentials>>
TransportCredentials::Make(const TlsOptions& tls) {
  if (!tls.enabled()) return Plaintext();
  SYNOD_RETURN_IF_ERROR(ValidateTls(tls));
  std::shared_ptr<TransportCredentials> c(new TransportCredentials());
  const int64_t seconds = absl::ToInt64Seconds(tls.reload_interval);
  c->provider_ =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          tls.key_file, tls.cert_file, tls.ca_file,
          static_cast<unsigned int>(std::max<int64_t>(seconds, 1)));
  return std::shared_ptr<const TransportCredentials>(std::move(c));
}

std::shared_ptr<grpc::ChannelCredentials> TransportCredentials::Channel()
    const {
  if (!provider_) return grpc::InsecureChannelCredentials();
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider_);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  options.set_certificate_verifier(
      std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
  return grpc::experimental::TlsCredentials(options);
}

std::shared_ptr<grpc::ServerCredentials> TransportCredentials::Server() const {
  if (!provider_) return grpc::InsecureServerCredentials();
  grpc::experimental::TlsServerCredentialsOptions options(provider_);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace synod::transport
