// File: the txn log as append-only segment files (private to lib/storage).
//
// A LogFile owns the directory <data_dir>/log. Each segment is a file named
// after the zxid of its first record, "<16 lowercase hex digits>.log":
//
//   segment := header record* zeros*
//   header  := "synodlg1"                       (8 bytes)
//   record  := crc32c  u32 LE  over length, zxid and data
//              length  u32 LE  bytes of data
//              zxid    u64 LE  > the previous record's (across segments)
//              data    `length` bytes
//
// The zeros after the last record are preallocated space (written as zeros
// ahead of the appends so that fdatasync does not also journal a size
// change). An all-zero record header ends a segment's records.
//
// Open validates every record. The only damage it repairs is a torn tail:
// in the last segment, a record that runs past the end of the file or fails
// its checksum, when no valid record follows it, is the rest of a write that
// never completed (so was never acknowledged as durable); the file is cut
// before it. Anything else (a bad record elsewhere, a valid record after a
// bad one, zxids not increasing, a file name that does not match its first
// record, an unexpected file) is DataLoss naming the file and offset.
//
// Not thread-safe: Store serializes every call with its log mutex.

#ifndef SYNOD_STORAGE_LOG_FILE_H_
#define SYNOD_STORAGE_LOG_FILE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "storage/store.h"
#include "synod/types.h"

namespace synod {

// Returns an error for the failed system call `what` on `path`, from errno.
absl::Status ErrnoError(const char* what, const std::string& path);

// Opens `path` (a file or a directory) and fsyncs it.
absl::Status FsyncPath(const std::string& path);

// Returns the CRC32C (Castagnoli) of `n` bytes at `data`, continuing `crc`
// (0 to start).
uint32_t Crc32c(const char* data, size_t n, uint32_t crc = 0);

// Sizes of the segment files.
struct LogFileOptions {
  // A new segment starts once an append would take the current one past
  // this many bytes (one append never spans two segments, so a segment may
  // exceed it by one append). Default: 64 MiB.
  uint64_t segment_bytes = uint64_t{64} << 20;
  // Zeros are written ahead of the appends in chunks of this many bytes;
  // 0 disables preallocation. Default: 1 MiB.
  uint64_t prealloc_bytes = uint64_t{1} << 20;
};

// Returns the options Store::Open uses: the defaults, with the segment size
// replaced by SetLogSegmentBytesForTesting's value if one is set.
LogFileOptions DefaultLogFileOptions();

// For tests only: makes stores opened afterwards roll segments over at
// `bytes` (and preallocate at most that much); 0 restores the default.
void SetLogSegmentBytesForTesting(uint64_t bytes);

// The segments of one log directory, with an in-memory index of every
// record's zxid and offset (16 bytes per record).
class LogFile {
 public:
  // Opens the log in `dir` (which must exist), validating every record and
  // cutting off a torn tail (see the file comment). DataLoss on any other
  // damage, with nothing written.
  static absl::StatusOr<std::unique_ptr<LogFile>> Open(
      const std::string& dir, const LogFileOptions& options);

  ~LogFile();
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  // Returns the zxid of the first record in the files, 0 if there is none.
  Zxid first_zxid() const;
  // Returns the zxid of the last record in the files, 0 if there is none.
  Zxid last_zxid() const;
  // Returns the zxid of the first record above `zxid`, 0 if there is none.
  Zxid FirstAbove(Zxid zxid) const;
  // Returns how many segment files there are.
  size_t segment_count() const { return segments_.size(); }

  // Appends `entries` with one write to the last segment (starting a new
  // segment first if the write would overflow it); with `sync`, fdatasyncs
  // before returning. After a failure every later mutation fails too (the
  // file's tail is unknown).
  // REQUIRES: zxids strictly increasing, the first above last_zxid().
  absl::Status Append(absl::Span<const LogEntry> entries, bool sync);

  // Makes every appended record durable (fdatasync of the last segment).
  absl::Status Sync();

  // Appends to `out` the records with zxid > `after`, in order, stopping
  // once about `max_bytes` of data are read (always at least one record if
  // there is one). DataLoss if a record no longer matches its checksum.
  absl::Status Read(Zxid after, size_t max_bytes,
                    std::vector<LogEntry>* out) const;

  // Removes every record with zxid > `zxid`: deletes the segments entirely
  // above it (syncing the directory) and then cuts the one that holds it
  // (syncing the file), so a crash leaves a prefix of the log.
  absl::Status TruncateAfter(Zxid zxid);

  // Deletes, from the front, every segment whose records are all <= `zxid`,
  // then syncs the directory if it deleted any.
  absl::Status DropSegmentsThrough(Zxid zxid);

  // Deletes every segment and syncs the directory.
  absl::Status Clear();

 private:
  struct Segment;
  LogFile(std::string dir, const LogFileOptions& options);
  absl::Status StartSegment(Zxid first);
  absl::Status RemoveSegment(Segment* segment);
  absl::Status SyncDir();

  const std::string dir_;
  const LogFileOptions options_;
  std::vector<std::unique_ptr<Segment>> segments_;
  absl::Status failed_;  // set once an append fails
};

}  // namespace synod

#endif  // SYNOD_STORAGE_LOG_FILE_H_
