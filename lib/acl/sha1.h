// SHA-1 (FIPS 180-4), for ZooKeeper-compatible digest ids only.

#ifndef SYNOD_ACL_SHA1_H_
#define SYNOD_ACL_SHA1_H_

#include <string>
#include <string_view>

namespace synod {

// Returns the 20-byte SHA-1 digest of `data`.
std::string Sha1(std::string_view data);

}  // namespace synod

#endif  // SYNOD_ACL_SHA1_H_
