// Fuzzes ACL validation, "auth" expansion, permission checks and digest
// authentication (lib/acl/acl.h). The input is text, one directive a line:
//
//   A <perms> <scheme> <id>    an ACL entry (perms: a decimal int32)
//   C <scheme> <credentials>   Authenticate(scheme, credentials); on success
//                              the session holds the identity
//   I <scheme> <id>            an identity the session holds, as is
//   P <ip>                     the session's address
//   S                          the session is super
//
// Properties: nothing crashes; errors carry InvalidAcl / AuthFailed; a
// resolved ACL is non-empty, has no "auth" entry and no duplicate, is valid
// and resolves to itself (when the identities are valid digest ids, as
// Authenticate makes them), and grants whatever the given ACL granted;
// super passes everything; adding an identity never takes a permission
// away; an identity Authenticate proves is a valid digest id that its own
// digest entry admits; an ip entry admits its own address.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "acl/acl.h"
#include "fuzz_util.h"
#include "synod/types.h"
#include "util/strings.h"

namespace synod::fuzz {
namespace {

// Bounds that keep one input cheap (ResolveAcl is quadratic in entries).
constexpr size_t kMaxEntries = 256;
constexpr size_t kMaxIds = 64;

// Splits `line` into at most `n` fields at single spaces; the last field
// keeps the rest of the line.
std::vector<std::string_view> Fields(std::string_view line, size_t n) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < n) {
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos) break;
    out.push_back(line.substr(0, sp));
    line.remove_prefix(sp + 1);
  }
  out.push_back(line);
  return out;
}

std::string Describe(const AclList& acl) {
  std::string out;
  for (const Acl& a : acl) {
    absl::StrAppend(&out, a.perms, ":", Printable(a.scheme), ":",
                    Printable(a.id), "; ");
  }
  return out;
}

constexpr int32_t kPerms[] = {perms::kRead, perms::kWrite, perms::kCreate,
                              perms::kDelete, perms::kAdmin};

}  // namespace
}  // namespace synod::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace synod;
  using namespace synod::fuzz;
  if (size > 64 * 1024) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  AclList acl;
  AuthInfo auth;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty()) continue;
    const std::string_view args =
        line.size() > 2 ? line.substr(2) : std::string_view();
    switch (line[0]) {
      case 'A': {
        if (acl.size() >= kMaxEntries) break;
        std::vector<std::string_view> f = Fields(args, 3);
        Acl entry;
        if (!absl::SimpleAtoi(AV(f[0]), &entry.perms)) entry.perms = perms::kAll;
        if (f.size() > 1) entry.scheme = std::string(f[1]);
        if (f.size() > 2) entry.id = std::string(f[2]);
        acl.push_back(std::move(entry));
        break;
      }
      case 'C': {
        if (auth.ids.size() >= kMaxIds) break;
        std::vector<std::string_view> f = Fields(args, 2);
        const std::string_view scheme = f[0];
        const std::string_view credentials =
            f.size() > 1 ? f[1] : std::string_view();
        absl::StatusOr<AuthId> id = Authenticate(scheme, credentials);
        if (!id.ok()) {
          SYNOD_FUZZ_CHECK(ErrorOf(id.status()) == Error::kAuthFailed,
                           id.status().ToString());
          break;
        }
        // The proven identity is a digest id its own entry admits.
        SYNOD_FUZZ_CHECK(id->scheme == "digest", id->scheme);
        const AclList own = {Acl{perms::kAll, "digest", id->id}};
        SYNOD_FUZZ_CHECK(ValidateAcl(own).ok(), Printable(id->id));
        AuthInfo holder;
        holder.ids.push_back(*id);
        SYNOD_FUZZ_CHECK(Permits(own, perms::kRead, holder), Printable(id->id));
        auth.ids.push_back(*std::move(id));
        break;
      }
      case 'I': {
        if (auth.ids.size() >= kMaxIds) break;
        std::vector<std::string_view> f = Fields(args, 2);
        auth.ids.push_back(AuthId{std::string(f[0]),
                                  f.size() > 1 ? std::string(f[1]) : ""});
        break;
      }
      case 'P':
        auth.ip = std::string(args);
        break;
      case 'S':
        auth.super = true;
        break;
      default:
        break;
    }
  }

  const absl::Status valid = ValidateAcl(acl);
  if (!valid.ok()) {
    SYNOD_FUZZ_CHECK(ErrorOf(valid) == Error::kInvalidAcl, valid.ToString());
  }
  absl::StatusOr<AclList> resolved = ResolveAcl(acl, auth);
  if (!valid.ok()) {
    SYNOD_FUZZ_CHECK(!resolved.ok(), Describe(acl));
  }
  if (!resolved.ok()) {
    SYNOD_FUZZ_CHECK(ErrorOf(resolved.status()) == Error::kInvalidAcl,
                     resolved.status().ToString());
  } else {
    SYNOD_FUZZ_CHECK(!resolved->empty(), Describe(acl));
    // Identities that Authenticate proved are valid digest ids, and
    // AddIdentity takes only valid digest and x509 ids; "auth" expands
    // into them, so the result is valid. (A raw "I" identity need not be:
    // ResolveAcl trusts the session's identities.)
    bool ids_valid = true;
    for (const AuthId& id : auth.ids) {
      if ((id.scheme == "digest" || id.scheme == "x509") &&
          !ValidateAcl({Acl{perms::kAll, id.scheme, id.id}}).ok()) {
        ids_valid = false;
      }
    }
    SYNOD_FUZZ_CHECK(!ids_valid || ValidateAcl(*resolved).ok(),
                     Describe(*resolved));
    SYNOD_FUZZ_CHECK(resolved->size() <= acl.size() * (auth.ids.size() + 1),
                     Describe(*resolved));
    for (size_t i = 0; i < resolved->size(); ++i) {
      SYNOD_FUZZ_CHECK((*resolved)[i].scheme != "auth", Describe(*resolved));
      for (size_t j = 0; j < i; ++j) {
        SYNOD_FUZZ_CHECK(!((*resolved)[i] == (*resolved)[j]),
                         Describe(*resolved));
      }
    }
    // Resolving again changes nothing.
    absl::StatusOr<AclList> again = ResolveAcl(*resolved, auth);
    SYNOD_FUZZ_CHECK(!ids_valid || (again.ok() && *again == *resolved),
                     Describe(*resolved));
  }

  AuthInfo super = auth;
  super.super = true;
  AuthInfo more = auth;
  more.super = false;
  AuthInfo plain = more;
  more.ids.push_back(AuthId{"digest", DigestId("fuzz", "fuzz")});
  for (int32_t perm : kPerms) {
    SYNOD_FUZZ_CHECK(Permits(acl, perm, super), Describe(acl));
    if (Permits(acl, perm, plain)) {
      SYNOD_FUZZ_CHECK(Permits(acl, perm, more), Describe(acl));
    }
    if (resolved.ok()) {
      SYNOD_FUZZ_CHECK(Permits(*resolved, perm, super), Describe(acl));
      if (Permits(acl, perm, plain)) {
        // "auth" entries admit nobody before expansion: what the given ACL
        // grants, the resolved one grants too.
        SYNOD_FUZZ_CHECK(Permits(*resolved, perm, plain), Describe(acl));
      }
    }
  }
  // A valid ip entry admits its own address.
  for (const Acl& entry : acl) {
    if (entry.scheme != "ip" || !ValidateAcl({entry}).ok()) continue;
    AuthInfo at;
    at.ip = entry.id.substr(0, entry.id.find('/'));
    SYNOD_FUZZ_CHECK(entry.perms == 0 || Permits({entry}, entry.perms, at),
                     Describe({entry}));
  }
  return 0;
}
