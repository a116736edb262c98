// A backup: one peer's tree at a zxid (tree/snapshot.h's encoding), in a
// file with a checksum. `synod-cli backup` writes one from a live peer;
// Options::restore_from seeds a new peer's data directory from it.
//
// The file: "SYNODBK1", then fixed64 zxid, fixed64 created_ms (the
// writer's clock), fixed64 the snapshot's length, fixed32 the CRC32C of
// those three fields and the snapshot, then the snapshot.

#ifndef SYNOD_STORAGE_BACKUP_FILE_H_
#define SYNOD_STORAGE_BACKUP_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "synod/types.h"

namespace synod {

struct Backup {
  Zxid zxid = 0;           // the tree reflects every txn up to this one
  int64_t created_ms = 0;  // when the peer took it (ms since the epoch)
  std::string snapshot;    // EncodeSnapshot of the tree
};

// The file's bytes.
std::string EncodeBackup(const Backup& backup);

// The backup in `bytes`. DataInconsistency naming what is wrong for a file
// of another kind, a truncated one, or one whose checksum does not match
// (the snapshot itself is checked by whoever loads it: LoadSnapshot).
absl::StatusOr<Backup> DecodeBackup(std::string_view bytes);

// Writes `backup` to `path` durably: a temporary file beside it, synced,
// then renamed over `path`, and the directory synced.
absl::Status WriteBackupFile(const std::string& path, const Backup& backup);

// Reads and decodes the backup at `path` (NotFound if there is none).
absl::StatusOr<Backup> ReadBackupFile(const std::string& path);

}  // namespace synod

#endif  // SYNOD_STORAGE_BACKUP_FILE_H_
