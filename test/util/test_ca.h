// A certificate authority made with Debian's openssl, for tests of TLS
// (test/integration/security_process_test.cc, test/unit/tls_test.cc).

#ifndef SYNOD_TEST_UTIL_TEST_CA_H_
#define SYNOD_TEST_UTIL_TEST_CA_H_

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "test_util.h"

namespace synod::testing {

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A certificate and its key, PEM files.
struct Issued {
  std::string cert;
  std::string key;
};

// A certificate authority made with openssl in `dir`: P-256 keys, as a test
// ensemble's operator would make one (docs/security.md).
class TestCa {
 public:
  TestCa(std::string dir, const std::string& name) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    cert_ = dir_ + "/ca.pem";
    key_ = dir_ + "/ca.key";
    const ShellResult r = Shell(absl::StrCat(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
        "-nodes -keyout ", key_, " -out ", cert_, " -days 2 -subj /CN=", name));
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
  }
  const std::string& cert() const { return cert_; }

  // A certificate for subject CN=`cn` with subject alternative names `san`
  // ("IP:127.0.0.1"; empty: none), valid for `days` (negative: expired).
  Issued Issue(const std::string& cn, const std::string& san, int days = 2) {
    const std::string base = absl::StrCat(dir_, "/", cn, "-", ++serial_);
    Issued out{base + ".pem", base + ".key"};
    ShellResult r = Shell(absl::StrCat(
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout ", out.key, " -out ", base, ".csr -subj /CN=", cn));
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    std::string ext;
    if (!san.empty()) {
      std::ofstream(base + ".ext") << "subjectAltName=" << san << "\n";
      ext = absl::StrCat(" -extfile ", base, ".ext");
    }
    r = Shell(absl::StrCat("openssl x509 -req -in ", base, ".csr -CA ", cert_,
                           " -CAkey ", key_, " -CAcreateserial -out ", out.cert,
                           " -days ", days, ext));
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    return out;
  }

 private:
  const std::string dir_;
  std::string cert_;
  std::string key_;
  int serial_ = 0;
};

}  // namespace synod::testing

#endif  // SYNOD_TEST_UTIL_TEST_CA_H_
