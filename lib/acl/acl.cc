// ACL validation, "auth" expansion, permission checks and digest
// authentication, following ZooKeeper's world, auth, digest, ip and x509
// schemes.

#include "acl/acl.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "acl/sha1.h"
#include "synod/types.h"

namespace synod {
namespace {

// An IPv4 (width 32, bytes[0..3]) or IPv6 (width 128) address.
struct IpAddress {
  int width = 0;
  std::array<uint8_t, 16> bytes{};
};

// An address and how many of its leading bits are significant.
struct IpNetwork {
  IpAddress address;
  int bits = 0;
};

// Splits `s` at every `sep`, keeping empty pieces. (Debian's Abseil has its
// own string_view type, so absl::StrSplit does not take std::string_view.)
std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// Parses 1 to `max_digits` decimal digits whose value is at most `max`.
// Leading zeros are accepted ("010" is 10), as Java's parseInt does.
bool ParseDecimal(std::string_view s, size_t max_digits, int max, int* out) {
  if (s.empty() || s.size() > max_digits) return false;
  int value = 0;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    value = value * 10 + (c - '0');
  }
  if (value > max) return false;
  *out = value;
  return true;
}

// Parses dotted-quad "a.b.c.d" into out[0..3].
bool ParseIpv4(std::string_view s, uint8_t* out) {
  std::vector<std::string_view> parts = Split(s, '.');
  if (parts.size() != 4) return false;
  for (size_t i = 0; i < 4; ++i) {
    int octet;
    if (!ParseDecimal(parts[i], 3, 255, &octet)) return false;
    out[i] = static_cast<uint8_t>(octet);
  }
  return true;
}

// Parses a ':'-separated run of 16-bit hex groups ("" is no groups). When
// `allow_ipv4_tail`, the last group may be a dotted quad (two groups).
bool ParseHexGroups(std::string_view s, bool allow_ipv4_tail,
                    std::vector<uint16_t>* groups) {
  if (s.empty()) return true;
  std::vector<std::string_view> parts = Split(s, ':');
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    if (part.find('.') != std::string_view::npos) {
      uint8_t v4[4];
      if (!allow_ipv4_tail || i + 1 != parts.size() || !ParseIpv4(part, v4)) {
        return false;
      }
      groups->push_back(static_cast<uint16_t>(v4[0] << 8 | v4[1]));
      groups->push_back(static_cast<uint16_t>(v4[2] << 8 | v4[3]));
      continue;
    }
    if (part.empty() || part.size() > 4) return false;
    uint16_t value = 0;
    for (char c : part) {
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
      int digit = absl::ascii_isdigit(static_cast<unsigned char>(c))
                      ? c - '0'
                      : absl::ascii_tolower(static_cast<unsigned char>(c)) -
                            'a' + 10;
      value = static_cast<uint16_t>(value << 4 | digit);
    }
    groups->push_back(value);
  }
  return true;
}

// Parses an IPv6 address in full or "::"-compressed form, optionally ending
// in a dotted quad, into out[0..15].
bool ParseIpv6(std::string_view s, uint8_t* out) {
  std::vector<uint16_t> head, tail;
  size_t gap = s.find("::");
  if (gap == std::string_view::npos) {
    if (!ParseHexGroups(s, true, &head) || head.size() != 8) return false;
  } else {
    if (!ParseHexGroups(s.substr(0, gap), false, &head) ||
        !ParseHexGroups(s.substr(gap + 2), true, &tail) ||
        head.size() + tail.size() > 7) {
      return false;
    }
  }
  std::array<uint16_t, 8> groups{};
  std::copy(head.begin(), head.end(), groups.begin());
  std::copy(tail.begin(), tail.end(), groups.end() - tail.size());
  for (size_t i = 0; i < 8; ++i) {
    out[2 * i] = static_cast<uint8_t>(groups[i] >> 8);
    out[2 * i + 1] = static_cast<uint8_t>(groups[i]);
  }
  return true;
}

// Parses a plain IPv4 or IPv6 address (no mask).
std::optional<IpAddress> ParseIpAddress(std::string_view s) {
  IpAddress address;
  if (s.find(':') != std::string_view::npos) {
    address.width = 128;
    if (!ParseIpv6(s, address.bytes.data())) return std::nullopt;
  } else {
    address.width = 32;
    if (!ParseIpv4(s, address.bytes.data())) return std::nullopt;
  }
  return address;
}

// Parses an ip-scheme id: an address, optionally "/bits".
std::optional<IpNetwork> ParseIpNetwork(std::string_view s) {
  size_t slash = s.find('/');
  std::optional<IpAddress> address = ParseIpAddress(s.substr(0, slash));
  if (!address) return std::nullopt;
  IpNetwork network{*address, address->width};
  if (slash != std::string_view::npos &&
      !ParseDecimal(s.substr(slash + 1), 3, address->width, &network.bits)) {
    return std::nullopt;
  }
  return network;
}

bool InNetwork(const IpNetwork& network, const IpAddress& address) {
  if (network.address.width != address.width) return false;
  for (int i = 0; i < network.bits; i += 8) {
    int bits = std::min(8, network.bits - i);
    uint8_t mask = static_cast<uint8_t>(0xff00 >> bits);
    if ((network.address.bytes[i / 8] ^ address.bytes[i / 8]) & mask) {
      return false;
    }
  }
  return true;
}

bool IsValidDigestId(std::string_view id) {
  size_t colon = id.find(':');
  return colon != std::string_view::npos && colon > 0 &&
         colon + 1 < id.size() &&
         id.find(':', colon + 1) == std::string_view::npos;
}

absl::Status InvalidEntry(size_t index, const Acl& entry,
                          const char* why) {
  return MakeError(Error::kInvalidAcl,
                   absl::StrCat("ACL entry ", index, " (", entry.scheme, ":",
                                entry.id, ", perms ", entry.perms, "): ", why));
}

absl::Status ValidateEntry(size_t index, const Acl& entry) {
  if (entry.perms < 0 || entry.perms > perms::kAll) {
    return InvalidEntry(index, entry, "perms must be within 0..31");
  }
  if (entry.scheme == "world") {
    if (entry.id != "anyone") {
      return InvalidEntry(index, entry, "world scheme only has id \"anyone\"");
    }
  } else if (entry.scheme == "digest") {
    if (!IsValidDigestId(entry.id)) {
      return InvalidEntry(index, entry,
                          "digest id must be \"user:hash\" with exactly one "
                          "':' and both parts non-empty");
    }
  } else if (entry.scheme == "ip") {
    if (!ParseIpNetwork(entry.id)) {
      return InvalidEntry(index, entry,
                          "ip id must be an IPv4 or IPv6 address, optionally "
                          "\"/bits\" within the address width");
    }
  } else if (entry.scheme == "x509") {
    if (entry.id.empty()) {
      return InvalidEntry(index, entry,
                          "x509 id must be a certificate subject, e.g. "
                          "\"CN=alice,O=example\"");
    }
  } else if (entry.scheme != "auth") {
    return InvalidEntry(
        index, entry,
        "unknown scheme (expected world, auth, digest, ip or x509)");
  }
  return absl::OkStatus();
}

bool Matches(const Acl& entry, const AuthInfo& auth) {
  if (entry.scheme == "world") return entry.id == "anyone";
  if (entry.scheme == "digest" || entry.scheme == "x509") {
    return std::find(auth.ids.begin(), auth.ids.end(),
                     AuthId{entry.scheme, entry.id}) != auth.ids.end();
  }
  if (entry.scheme == "ip") {
    std::optional<IpNetwork> network = ParseIpNetwork(entry.id);
    std::optional<IpAddress> address = ParseIpAddress(auth.ip);
    return network && address && InNetwork(*network, *address);
  }
  return false;
}

}  // namespace

std::string DigestId(std::string_view user, std::string_view password) {
  std::string id(user);
  id += ':';
  std::string hash = Sha1(std::string(id).append(password));
  return id.append(absl::Base64Escape(hash));
}

absl::Status ValidateAcl(const AclList& acl) {
  if (acl.empty()) return MakeError(Error::kInvalidAcl, "ACL is empty");
  for (size_t i = 0; i < acl.size(); ++i) {
    absl::Status status = ValidateEntry(i, acl[i]);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<AclList> ResolveAcl(const AclList& acl, const AuthInfo& auth) {
  absl::Status status = ValidateAcl(acl);
  if (!status.ok()) return status;
  AclList resolved;
  auto add = [&resolved](Acl entry) {
    if (std::find(resolved.begin(), resolved.end(), entry) == resolved.end()) {
      resolved.push_back(std::move(entry));
    }
  };
  for (size_t i = 0; i < acl.size(); ++i) {
    const Acl& entry = acl[i];
    if (entry.scheme != "auth") {
      add(entry);
      continue;
    }
    bool expanded = false;
    // Authenticated identities only (as ZooKeeper's providers that say
    // isAuthenticated): digests and certificate subjects, not addresses.
    for (const AuthId& id : auth.ids) {
      if (id.scheme != "digest" && id.scheme != "x509") continue;
      add(Acl{entry.perms, id.scheme, id.id});
      expanded = true;
    }
    if (!expanded) {
      return InvalidEntry(i, entry,
                          "auth entry needs a digest or x509 identity on the "
                          "session, and it has none");
    }
  }
  return resolved;
}

bool Permits(const AclList& acl, int32_t perm, const AuthInfo& auth) {
  if (auth.super) return true;
  for (const Acl& entry : acl) {
    if ((entry.perms & perm) != 0 && Matches(entry, auth)) return true;
  }
  return false;
}

absl::StatusOr<AuthId> Authenticate(std::string_view scheme,
                                    std::string_view credentials) {
  if (scheme != "digest") {
    return MakeError(Error::kAuthFailed,
                     std::string("unsupported auth scheme \"")
                         .append(scheme)
                         .append("\" (only digest can be added)"));
  }
  size_t colon = credentials.find(':');
  if (colon == std::string_view::npos) {
    return MakeError(Error::kAuthFailed,
                     "digest credentials must be \"user:password\" (no ':')");
  }
  if (colon == 0) {
    return MakeError(Error::kAuthFailed,
                     "digest credentials have an empty user name");
  }
  return AuthId{"digest", DigestId(credentials.substr(0, colon),
                                   credentials.substr(colon + 1))};
}

}  // namespace synod
