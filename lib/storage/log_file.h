// File: the txn log as append-only segment files (private to lib/storage).
//
// A LogFile owns the directory <data_dir>/log. Each segment is a file named
// after the zxid of its first record, "<16 lowercase hex digits>.log":
//
//   segment := header record* zeros*
//   header  := "synodlg2"                          (8 bytes)
//              prev_last  u64 LE: the log's last zxid when it was created
//              crc32c     u32 LE over the 16 bytes above
//              zero       u32
//              slot[2]    16 bytes each: watermark u64 LE, its crc32c u32
//                         LE, zero u32 (records start at offset 56)
//   record  := crc32c  u32 LE  over length, zxid and data
//              length  u32 LE  bytes of data
//              zxid    u64 LE  > the previous record's (across segments)
//              data    `length` bytes
//
// Segments written before (header "synodlg1", 8 bytes, records from offset
// 8, no slots) are still read; new segments are always "synodlg2".
//
// The watermark: before each batch of records is written, the last zxid
// made durable by an earlier fdatasync is written into one of the two
// slots (alternately), so one fdatasync covers both. Records must reach
// every segment's watermark at Open. The zeros after the last record are
// preallocated space (written ahead of the appends so that fdatasync does
// not also journal a size change). An all-zero record header ends a
// segment's records.
//
// Open validates every record. The only damage it repairs on its own is a
// torn tail: in the last segment, a record that runs past the end of the
// file or fails its checksum, with no valid record anywhere after it (the
// rest of the file is scanned byte by byte, so a corrupted length cannot
// hide valid records), and at or above the watermark: the rest of a write
// whose fdatasync never returned, never acknowledged. It is cut, with a
// warning. Anything else is damage, DataLoss naming the file and offset
// (see docs/storage.md): a bad record with a valid one after it, records
// that stop short of a watermark, a gap in the zxids of one epoch, a
// missing segment (prev_last, or the recorded newest segment), zxids not
// increasing, a file name that does not match its first record, an
// unexpected file. With LogFileOptions::allow_damage, the log is cut at the
// damage instead and damage() says what was lost.
//
// Errors from Append: Unavailable means nothing of the append is in the log
// and the log takes appends again (a transient error: a failed open or
// write, cut back). Any other error is fatal: a sync failed, or what is in
// the file is unknown; every later mutation fails with it.
//
// Not thread-safe: Store serializes every call with its log mutex.

#ifndef SYNOD_STORAGE_LOG_FILE_H_
#define SYNOD_STORAGE_LOG_FILE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "storage/env.h"
#include "storage/store.h"
#include "synod/types.h"

namespace synod {

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
  // Where the files are. Null: Env::Posix().
  Env* env = nullptr;
  // The highest epoch a record may have: the peer's acceptedEpoch, which is
  // durable before any record of its epoch is written. A record found by
  // scanning past damage counts only if its zxid is above the previous
  // record's and its epoch at most this (junk rarely passes, so it rarely
  // costs a checksum). 0: unknown; then at most kScanEpochJump epochs above
  // the previous record's.
  int64_t max_epoch = 0;
  // The first zxid of the newest segment as last recorded by record_head
  // (0: none). Open reports damage if that segment is missing or lost its
  // header.
  Zxid head = 0;
  // Records durably the first zxid of the newest segment (0: there is
  // none): called once a new segment's header is durable, before its first
  // append, and before the newest segment is deleted. Null: not recorded.
  std::function<absl::Status(Zxid)> record_head;
  // Open cuts the log at damage instead of failing (see damage()).
  bool allow_damage = false;
  // Receives a message for each repair Open makes (warning level).
  std::function<void(const std::string&)> warn;
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

  // What Open cut because of damage (only with allow_damage), if anything.
  const std::optional<LogDamage>& damage() const { return damage_; }

  ~LogFile();
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  // Returns the zxid of the first record in the files, 0 if there is none.
  Zxid first_zxid() const;
  // Returns the zxid of the last record in the files, 0 if there is none.
  Zxid last_zxid() const;
  // Returns the zxid of the first record above `zxid`, 0 if there is none.
  Zxid FirstAbove(Zxid zxid) const;
  // Returns the last zxid known durable (synced) in the files.
  Zxid durable_zxid() const { return durable_; }
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
  absl::Status RecordHead(Zxid head);
  absl::Status WriteSlot(Segment* seg, Zxid watermark);
  absl::Status CutBack(Segment* seg, const absl::Status& cause);
  absl::Status Fatal(const absl::Status& cause);
  absl::Status RecoverFrom(std::vector<std::pair<Zxid, std::string>> files);

  const std::string dir_;
  const LogFileOptions options_;
  Env* const env_;
  std::vector<std::unique_ptr<Segment>> segments_;
  Zxid durable_ = 0;     // the last zxid made durable by a sync
  std::string buf_;      // Append's encoding buffer, reused
  std::optional<LogDamage> damage_;
  absl::Status failed_;  // set once a mutation fails fatally
};

}  // namespace synod

#endif  // SYNOD_STORAGE_LOG_FILE_H_
