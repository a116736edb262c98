// LogFile: the txn log's segment files (format in log_file.h).

#include "storage/log_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/coding.h"
#include "util/status_macros.h"

namespace synod {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[] = "synodlg1";
constexpr size_t kMagicBytes = 8;
constexpr size_t kRecordHeaderBytes = 16;  // crc, length, zxid
constexpr char kSuffix[] = ".log";

std::atomic<uint64_t> segment_bytes_for_testing{0};

// ---- CRC32C: hardware instructions where the CPU has them, else a table.

struct Crc32cTable {
  uint32_t t[256];
  Crc32cTable() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
      t[i] = c;
    }
  }
};

uint32_t Crc32cPortable(const char* data, size_t n, uint32_t crc) {
  static const Crc32cTable table;
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) crc = table.t[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(const char* data,
                                                          size_t n,
                                                          uint32_t crc) {
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, data, 8);
    c = __builtin_ia32_crc32di(c, v);
    data += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n > 0) {
    c32 = __builtin_ia32_crc32qi(c32, static_cast<uint8_t>(*data));
    ++data;
    --n;
  }
  return c32;
}
#endif

std::string SegmentName(Zxid first) {
  return absl::StrFormat("%016x%s", static_cast<uint64_t>(first), kSuffix);
}

// Parses a segment file name; false if `name` is not one.
bool ParseSegmentName(const std::string& name, Zxid* first) {
  if (name.size() != 16 + 4 || name.compare(16, 4, kSuffix) != 0) return false;
  uint64_t v = 0;
  for (int i = 0; i < 16; ++i) {
    const char c = name[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *first = static_cast<Zxid>(v);
  return true;
}


absl::Status CorruptLog(const std::string& path, uint64_t offset,
                        const std::string& why) {
  return absl::DataLossError(absl::StrCat("corrupted synod txn log: ", path,
                                          " at offset ", offset, ": ", why));
}

absl::Status PwriteAll(int fd, const char* data, size_t n, uint64_t offset,
                       const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write", path);
    }
    data += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return absl::OkStatus();
}

absl::Status PreadAll(int fd, char* data, size_t n, uint64_t offset,
                      const std::string& path) {
  while (n > 0) {
    ssize_t r = ::pread(fd, data, n, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read", path);
    }
    if (r == 0) return CorruptLog(path, offset, "file shorter than its index");
    data += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return absl::OkStatus();
}


bool AllZero(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

// A record parsed from a segment's bytes.
struct Parsed {
  enum Kind { kValid, kEnd, kBad } kind;
  Zxid zxid = 0;
  size_t size = 0;  // header + data
  std::string why;  // for kBad

  static Parsed End() { return {kEnd, 0, 0, ""}; }
  static Parsed Bad(const char* why, size_t size = 0) {
    return {kBad, 0, size, why};
  }
};

// Parses the record at `off` of `bytes`. kEnd: the end of the file, or an
// all-zero header followed by zeros only (the preallocated tail).
Parsed ParseRecord(const std::string& bytes, size_t off) {
  const size_t left = bytes.size() - off;
  if (left == 0) return Parsed::End();
  if (left < kRecordHeaderBytes) {
    if (AllZero(bytes.data() + off, left)) return Parsed::End();
    return Parsed::Bad("incomplete record header");
  }
  const char* p = bytes.data() + off;
  if (AllZero(p, kRecordHeaderBytes)) {
    if (AllZero(p, left)) return Parsed::End();
    return Parsed::Bad("data after a zero record header");
  }
  uint32_t crc, length;
  uint64_t zxid;
  Decoder d(std::string_view(p, kRecordHeaderBytes));
  d.Fixed32(&crc);
  d.Fixed32(&length);
  d.Fixed64(&zxid);
  if (length > left - kRecordHeaderBytes) {
    return Parsed::Bad("record runs past the end of the file");
  }
  if (Crc32c(p + 4, kRecordHeaderBytes - 4 + length) != crc) {
    return Parsed::Bad("checksum mismatch", kRecordHeaderBytes + length);
  }
  if (static_cast<Zxid>(zxid) <= 0) {
    return Parsed::Bad("record with a non-positive zxid");
  }
  return {Parsed::kValid, static_cast<Zxid>(zxid), kRecordHeaderBytes + length,
          ""};
}

void EncodeRecord(const LogEntry& e, std::string* out) {
  const size_t start = out->size();
  PutFixed32(out, 0);  // the checksum, filled in below
  PutFixed32(out, static_cast<uint32_t>(e.data.size()));
  PutFixed64(out, static_cast<uint64_t>(e.zxid));
  out->append(e.data);
  const uint32_t crc = Crc32c(out->data() + start + 4, out->size() - start - 4);
  for (int i = 0; i < 4; ++i) {
    (*out)[start + i] = static_cast<char>(crc >> (8 * i));
  }
}

}  // namespace

absl::Status ErrnoError(const char* what, const std::string& path) {
  return absl::ErrnoToStatus(errno, absl::StrCat(what, " ", path));
}

absl::Status FsyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open", path);
  absl::Status status =
      ::fsync(fd) == 0 ? absl::OkStatus() : ErrnoError("fsync", path);
  ::close(fd);
  return status;
}

uint32_t Crc32c(const char* data, size_t n, uint32_t crc) {
  crc = ~crc;
#if defined(__x86_64__)
  static const bool hardware = __builtin_cpu_supports("sse4.2");
  crc = hardware ? Crc32cHardware(data, n, crc) : Crc32cPortable(data, n, crc);
#else
  crc = Crc32cPortable(data, n, crc);
#endif
  return ~crc;
}

LogFileOptions DefaultLogFileOptions() {
  LogFileOptions options;
  if (uint64_t b = segment_bytes_for_testing.load()) {
    options.segment_bytes = b;
    options.prealloc_bytes = std::min(options.prealloc_bytes, b);
  }
  return options;
}

void SetLogSegmentBytesForTesting(uint64_t bytes) {
  segment_bytes_for_testing = bytes;
}

// One segment file. `zxids` and `offsets` index its records.
struct LogFile::Segment {
  std::string path;
  Zxid name_zxid = 0;
  int fd = -1;
  uint64_t end = 0;        // the end of the last record
  uint64_t allocated = 0;  // the file's size, preallocated zeros included
  std::vector<Zxid> zxids;
  std::vector<uint64_t> offsets;

  ~Segment() {
    if (fd >= 0) ::close(fd);
  }
  Zxid first() const { return zxids.empty() ? 0 : zxids.front(); }
  Zxid last() const { return zxids.empty() ? 0 : zxids.back(); }
};

LogFile::LogFile(std::string dir, const LogFileOptions& options)
    : dir_(std::move(dir)), options_(options) {}

LogFile::~LogFile() = default;

absl::StatusOr<std::unique_ptr<LogFile>> LogFile::Open(
    const std::string& dir, const LogFileOptions& options) {
  std::unique_ptr<LogFile> log(new LogFile(dir, options));
  std::vector<std::pair<Zxid, std::string>> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    Zxid first;
    std::error_code type_ec;
    if (!ParseSegmentName(name, &first) || !it->is_regular_file(type_ec)) {
      return absl::DataLossError(absl::StrCat(
          "unexpected file in synod txn log directory: ", it->path().string()));
    }
    files.emplace_back(first, it->path().string());
  }
  if (ec) return absl::ErrnoToStatus(ec.value(), "list " + dir);
  std::sort(files.begin(), files.end());

  // Validates everything before changing anything.
  Zxid prev = 0;
  std::optional<std::pair<size_t, uint64_t>> cut;  // torn tail: file, offset
  bool drop_last_file = false;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& [name_zxid, path] = files[i];
    const bool last = i + 1 == files.size();
    auto seg = std::make_unique<Segment>();
    seg->path = path;
    seg->name_zxid = name_zxid;
    seg->fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (seg->fd < 0) return ErrnoError("open", path);
    struct stat st;
    if (::fstat(seg->fd, &st) != 0) return ErrnoError("stat", path);
    std::string bytes(static_cast<size_t>(st.st_size), '\0');
    SYNOD_RETURN_IF_ERROR(PreadAll(seg->fd, bytes.data(), bytes.size(), 0, path));
    seg->allocated = bytes.size();
    if (bytes.size() < kMagicBytes ||
        std::memcmp(bytes.data(), kMagic, kMagicBytes) != 0) {
      // A segment is created with its header just before its first append;
      // a crash in between can leave the last one without a full header.
      const size_t n = std::min(bytes.size(), kMagicBytes);
      const bool torn_header =
          (std::memcmp(bytes.data(), kMagic, n) == 0 || AllZero(bytes.data(), n)) &&
          AllZero(bytes.data() + n, bytes.size() - n);
      if (last && torn_header) {
        drop_last_file = true;
        break;
      }
      return CorruptLog(path, 0, "not a synod log segment");
    }
    size_t off = kMagicBytes;
    while (true) {
      Parsed r = ParseRecord(bytes, off);
      if (r.kind == Parsed::kEnd) break;
      if (r.kind == Parsed::kBad) {
        // Torn only if it is the last thing in the last segment.
        bool valid_after = false;
        if (r.size > 0 && off + r.size < bytes.size()) {
          valid_after = ParseRecord(bytes, off + r.size).kind == Parsed::kValid;
        }
        if (!last || valid_after) return CorruptLog(path, off, r.why);
        cut.emplace(i, off);
        break;
      }
      if (r.zxid <= prev) {
        return CorruptLog(path, off,
                          absl::StrCat("zxid ", r.zxid, " not above ", prev));
      }
      if (seg->zxids.empty() && r.zxid != name_zxid) {
        return CorruptLog(path, off,
                          absl::StrCat("first zxid ", r.zxid,
                                       " does not match the file name"));
      }
      seg->zxids.push_back(r.zxid);
      seg->offsets.push_back(off);
      prev = r.zxid;
      off += r.size;
    }
    seg->end = off;
    if (seg->zxids.empty()) {
      if (!last) return CorruptLog(path, off, "segment without records");
      // Created, then a crash before its first write completed.
      drop_last_file = true;
      cut.reset();
      break;
    }
    log->segments_.push_back(std::move(seg));
  }

  // Repairs: only an unacknowledged torn tail.
  if (drop_last_file) {
    const std::string& path = files.back().second;
    if (::unlink(path.c_str()) != 0) return ErrnoError("remove", path);
    SYNOD_RETURN_IF_ERROR(log->SyncDir());
  }
  if (cut) {
    Segment* seg = log->segments_.back().get();
    if (::ftruncate(seg->fd, static_cast<off_t>(seg->end)) != 0) {
      return ErrnoError("truncate", seg->path);
    }
    if (::fsync(seg->fd) != 0) return ErrnoError("fsync", seg->path);
    seg->allocated = seg->end;
  }
  return log;
}

Zxid LogFile::first_zxid() const {
  return segments_.empty() ? 0 : segments_.front()->first();
}

Zxid LogFile::last_zxid() const {
  return segments_.empty() ? 0 : segments_.back()->last();
}

Zxid LogFile::FirstAbove(Zxid zxid) const {
  for (const auto& seg : segments_) {
    if (seg->last() <= zxid) continue;
    return *std::upper_bound(seg->zxids.begin(), seg->zxids.end(), zxid);
  }
  return 0;
}

absl::Status LogFile::SyncDir() { return FsyncPath(dir_); }

absl::Status LogFile::StartSegment(Zxid first) {
  auto seg = std::make_unique<Segment>();
  seg->name_zxid = first;
  seg->path = (fs::path(dir_) / SegmentName(first)).string();
  seg->fd = ::open(seg->path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
                   0644);
  if (seg->fd < 0) return ErrnoError("create", seg->path);
  // The header reaches the disk with the first append's fdatasync; the
  // directory entry must be durable before that append is acknowledged.
  absl::Status s = PwriteAll(seg->fd, kMagic, kMagicBytes, 0, seg->path);
  if (s.ok()) s = SyncDir();
  if (!s.ok()) {
    ::unlink(seg->path.c_str());
    return s;
  }
  seg->end = seg->allocated = kMagicBytes;
  segments_.push_back(std::move(seg));
  return absl::OkStatus();
}

absl::Status LogFile::Append(absl::Span<const LogEntry> entries, bool sync) {
  if (!failed_.ok()) return failed_;
  if (entries.empty()) return absl::OkStatus();
  std::string buf;
  size_t bytes = 0;
  for (const LogEntry& e : entries) bytes += kRecordHeaderBytes + e.data.size();
  buf.reserve(bytes);
  for (const LogEntry& e : entries) {
    if (e.data.size() > UINT32_MAX) {
      return absl::InvalidArgumentError("log entry larger than 4 GiB");
    }
    EncodeRecord(e, &buf);
  }
  Segment* seg = segments_.empty() ? nullptr : segments_.back().get();
  if (seg == nullptr || seg->end + buf.size() > options_.segment_bytes) {
    SYNOD_RETURN_IF_ERROR(StartSegment(entries.front().zxid));
    seg = segments_.back().get();
  }
  absl::Status s = PwriteAll(seg->fd, buf.data(), buf.size(), seg->end, seg->path);
  const uint64_t end = seg->end + buf.size();
  if (s.ok() && options_.prealloc_bytes > 0 && end > seg->allocated) {
    // Zeros ahead of the data, so the next appends overwrite allocated,
    // initialized blocks: their fdatasync writes data only.
    const uint64_t chunk = options_.prealloc_bytes;
    const uint64_t target = (end + chunk - 1) / chunk * chunk;
    if (target > end) {
      const std::string zeros(target - end, '\0');
      s = PwriteAll(seg->fd, zeros.data(), zeros.size(), end, seg->path);
    }
    if (s.ok()) seg->allocated = std::max(target, end);
  }
  if (s.ok() && sync && ::fdatasync(seg->fd) != 0) {
    s = ErrnoError("fdatasync", seg->path);
  }
  if (!s.ok()) {
    // What reached the file is unknown (and after a failed fdatasync, so is
    // what reached the disk): refuse everything from now on.
    failed_ = s;
    if (seg->zxids.empty()) {  // never leave an empty segment in the index
      ::unlink(seg->path.c_str());
      segments_.pop_back();
    }
    return s;
  }
  uint64_t off = seg->end;
  for (const LogEntry& e : entries) {
    seg->zxids.push_back(e.zxid);
    seg->offsets.push_back(off);
    off += kRecordHeaderBytes + e.data.size();
  }
  seg->end = end;
  return absl::OkStatus();
}

absl::Status LogFile::Sync() {
  if (!failed_.ok()) return failed_;
  if (segments_.empty()) return absl::OkStatus();
  Segment* seg = segments_.back().get();
  if (::fdatasync(seg->fd) != 0) return failed_ = ErrnoError("fdatasync", seg->path);
  return absl::OkStatus();
}

absl::Status LogFile::Read(Zxid after, size_t max_bytes,
                           std::vector<LogEntry>* out) const {
  size_t read = 0;
  for (const auto& seg : segments_) {
    if (seg->last() <= after) continue;
    size_t i = std::upper_bound(seg->zxids.begin(), seg->zxids.end(), after) -
               seg->zxids.begin();
    std::string header(kRecordHeaderBytes, '\0');
    for (; i < seg->zxids.size(); ++i) {
      if (read >= max_bytes && read > 0) return absl::OkStatus();
      const uint64_t off = seg->offsets[i];
      const uint64_t next =
          i + 1 < seg->offsets.size() ? seg->offsets[i + 1] : seg->end;
      std::string bytes(next - off, '\0');
      SYNOD_RETURN_IF_ERROR(
          PreadAll(seg->fd, bytes.data(), bytes.size(), off, seg->path));
      Parsed r = ParseRecord(bytes, 0);
      if (r.kind != Parsed::kValid || r.size != bytes.size() ||
          r.zxid != seg->zxids[i]) {
        return CorruptLog(seg->path, off,
                          r.kind == Parsed::kBad ? r.why : "record changed");
      }
      out->push_back(LogEntry{r.zxid, bytes.substr(kRecordHeaderBytes)});
      read += bytes.size();
    }
  }
  return absl::OkStatus();
}

absl::Status LogFile::RemoveSegment(Segment* seg) {
  if (::unlink(seg->path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError("remove", seg->path);
  }
  // One directory sync per removal (segments go rarely): removals reach the
  // disk in the order made, so a crash never leaves a hole in the log.
  return SyncDir();
}

absl::Status LogFile::TruncateAfter(Zxid zxid) {
  if (!failed_.ok()) return failed_;
  // The later segments go for good (RemoveSegment syncs) before this one is
  // cut, or a crash could bring them back behind a hole.
  while (!segments_.empty() && segments_.back()->first() > zxid) {
    absl::Status s = RemoveSegment(segments_.back().get());
    segments_.pop_back();
    if (!s.ok()) return failed_ = s;
  }
  if (segments_.empty() || segments_.back()->last() <= zxid) {
    return absl::OkStatus();
  }
  Segment* seg = segments_.back().get();
  const size_t keep =
      std::upper_bound(seg->zxids.begin(), seg->zxids.end(), zxid) -
      seg->zxids.begin();
  const uint64_t end = seg->offsets[keep];
  // Cutting the preallocated zeros too keeps "zeros after the last record".
  if (::ftruncate(seg->fd, static_cast<off_t>(end)) != 0) {
    return failed_ = ErrnoError("truncate", seg->path);
  }
  if (::fsync(seg->fd) != 0) return failed_ = ErrnoError("fsync", seg->path);
  seg->zxids.resize(keep);
  seg->offsets.resize(keep);
  seg->end = seg->allocated = end;
  return absl::OkStatus();
}

absl::Status LogFile::DropSegmentsThrough(Zxid zxid) {
  if (!failed_.ok()) return failed_;
  while (!segments_.empty() && segments_.front()->last() <= zxid) {
    absl::Status s = RemoveSegment(segments_.front().get());
    segments_.erase(segments_.begin());
    if (!s.ok()) return failed_ = s;
  }
  return absl::OkStatus();
}

absl::Status LogFile::Clear() {
  if (!failed_.ok()) return failed_;
  while (!segments_.empty()) {
    absl::Status s = RemoveSegment(segments_.back().get());
    segments_.pop_back();
    if (!s.ok()) return failed_ = s;
  }
  return absl::OkStatus();
}

}  // namespace synod
