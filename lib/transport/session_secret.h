// The password of a remote session. A client that loses its connection
// resumes its session on any peer by presenting the session's id and
// password (ZooKeeper's ConnectRequest carries both). The password is 16
// random bytes, made by the peer that opens the session and sent to the
// client alone; the ensemble keeps only its SHA-256 digest, in the session's
// record (txn CreateSession), so neither the log, snapshots nor backups
// hold anything that resumes a session.

#ifndef SYNOD_TRANSPORT_SESSION_SECRET_H_
#define SYNOD_TRANSPORT_SESSION_SECRET_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace synod::transport {

// The length of a session's password (ZooKeeper's clients expect 16).
inline constexpr size_t kSessionPasswordBytes = 16;

// Returns a new password from the system's cryptographic random source;
// Internal error if it fails.
absl::StatusOr<std::string> NewSessionPassword();

// Returns the digest the ensemble keeps of `password`.
std::string SessionPasswordDigest(std::string_view password);

// Returns whether `password` is the one whose digest is `digest`, in time
// independent of where they differ. False for an empty digest (a session
// without a password, as the Coordinator's own, resumes with none).
bool SessionPasswordMatches(std::string_view password,
                            std::string_view digest);

}  // namespace synod::transport

#endif  // SYNOD_TRANSPORT_SESSION_SECRET_H_
