// LogFile: the txn log's segment files (format in log_file.h).

#include "storage/log_file.h"

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

constexpr char kMagicV1[] = "synodlg1";
constexpr char kMagicV2[] = "synodlg2";
constexpr size_t kMagicBytes = 8;
// synodlg2: magic, prev_last, crc, zero, then two watermark slots.
constexpr size_t kSlotBytes = 16;
constexpr size_t kSlotOffset = 24;
constexpr size_t kHeaderV2Bytes = kSlotOffset + 2 * kSlotBytes;  // 56
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

// Without LogFileOptions::max_epoch, a record found by scanning must be at
// most this many epochs above the previous one.
constexpr int64_t kScanEpochJump = 1024;

// Returns the offset of the first valid record with a plausible zxid (above
// `prev`, of an epoch at most `max_epoch`, or kScanEpochJump above prev's
// when that is 0) at or after `from`, scanning byte by byte (a corrupted
// length must not hide the records behind it), or npos.
size_t FindValidAfter(const std::string& bytes, size_t from, Zxid prev,
                      int64_t max_epoch) {
  const int64_t epoch_bound =
      max_epoch > 0 ? max_epoch : EpochOf(prev) + kScanEpochJump;
  for (size_t off = from; off + kRecordHeaderBytes <= bytes.size(); ++off) {
    const char* p = bytes.data() + off;
    uint32_t length;
    uint64_t zxid;
    std::memcpy(&length, p + 4, 4);  // little-endian hosts only (as coding.h)
    std::memcpy(&zxid, p + 8, 8);
    if (length > bytes.size() - off - kRecordHeaderBytes) continue;
    // A plausible zxid first (cheap), so that junk rarely costs a checksum.
    const Zxid z = static_cast<Zxid>(zxid);
    if (z <= prev || EpochOf(z) > epoch_bound) continue;
    Parsed r = ParseRecord(bytes, off);
    if (r.kind == Parsed::kValid) return off;
  }
  return std::string::npos;
}

// The offset of the last non-zero byte at or after `from`, plus one (`from`
// if there is none).
size_t NonZeroEnd(const std::string& bytes, size_t from) {
  size_t end = bytes.size();
  while (end > from && bytes[end - 1] == 0) --end;
  return end;
}

std::string EncodeSlot(Zxid watermark) {
  std::string slot;
  PutFixed64(&slot, static_cast<uint64_t>(watermark));
  PutFixed32(&slot, Crc32c(slot.data(), 8, 0x5107u));
  PutFixed32(&slot, 0);
  return slot;
}

// Returns the watermark in a slot, 0 if it is torn (then *valid = false).
Zxid DecodeSlot(const char* p, bool* valid = nullptr) {
  uint64_t v;
  uint32_t crc;
  Decoder d(std::string_view(p, kSlotBytes));
  d.Fixed64(&v);
  d.Fixed32(&crc);
  const bool ok = Crc32c(p, 8, 0x5107u) == crc;
  if (valid != nullptr) *valid = ok;
  return ok ? static_cast<Zxid>(v) : 0;
}

std::string EncodeHeaderV2(Zxid prev_last, Zxid watermark) {
  std::string h(kMagicV2, kMagicBytes);
  PutFixed64(&h, static_cast<uint64_t>(prev_last));
  PutFixed32(&h, Crc32c(h.data(), h.size()));
  PutFixed32(&h, 0);
  h += EncodeSlot(watermark);
  h += EncodeSlot(watermark);  // both valid: at most one is ever torn
  return h;
}

// Everything but fatal errors becomes Unavailable: nothing was changed.
absl::Status Transient(const absl::Status& s) {
  return absl::UnavailableError(absl::StrCat(
      "txn log append not done (nothing of it is in the log; retry later): ",
      s.message()));
}

}  // namespace

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
  std::unique_ptr<EnvFile> file;
  int version = 2;
  uint64_t end = 0;        // the end of the last record
  uint64_t allocated = 0;  // the file's size, preallocated zeros included
  Zxid prev_last = 0;      // v2: the log's last zxid at creation
  Zxid watermark = 0;      // v2: the highest valid slot
  int next_slot = 0;       // v2: the slot the next watermark goes to
  std::vector<Zxid> zxids;
  std::vector<uint64_t> offsets;

  Zxid first() const { return zxids.empty() ? 0 : zxids.front(); }
  Zxid last() const { return zxids.empty() ? 0 : zxids.back(); }
};

LogFile::LogFile(std::string dir, const LogFileOptions& options)
    : dir_(std::move(dir)),
      options_(options),
      env_(options.env != nullptr ? options.env : Env::Posix()) {}

LogFile::~LogFile() = default;

absl::StatusOr<std::unique_ptr<LogFile>> LogFile::Open(
    const std::string& dir, const LogFileOptions& options) {
  std::unique_ptr<LogFile> log(new LogFile(dir, options));
  SYNOD_ASSIGN_OR_RETURN(std::vector<std::string> names,
                         log->env_->ListDir(dir));
  std::vector<std::pair<Zxid, std::string>> files;
  for (const std::string& name : names) {
    const std::string path = (fs::path(dir) / name).string();
    Zxid first;
    absl::StatusOr<PathType> type = log->env_->Stat(path);
    if (!ParseSegmentName(name, &first) || !type.ok() ||
        *type != PathType::kFile) {
      return absl::DataLossError(
          absl::StrCat("unexpected file in synod txn log directory: ", path));
    }
    files.emplace_back(first, path);
  }
  std::sort(files.begin(), files.end());
  SYNOD_RETURN_IF_ERROR(log->RecoverFrom(std::move(files)));
  return log;
}

// Validates every segment, then repairs: a torn tail always, damage only
// with allow_damage (else DataLoss, with nothing written).
absl::Status LogFile::RecoverFrom(
    std::vector<std::pair<Zxid, std::string>> files) {
  // The first damage found: segment index, offset, description.
  struct Damage {
    size_t seg;
    uint64_t off;
    std::string what;
  };
  std::optional<Damage> damage;
  std::optional<std::pair<size_t, uint64_t>> torn;  // segment, offset
  std::string torn_what;
  std::string drop_path;  // the newest file, never durably written
  Zxid watermark = 0;
  std::string watermark_path;
  Zxid prev = 0;
  std::vector<std::unique_ptr<Segment>> segs;
  const bool head_listed =
      options_.head == 0 ||
      std::any_of(files.begin(), files.end(),
                  [&](const auto& f) { return f.first == options_.head; });

  for (size_t i = 0; i < files.size() && !damage; ++i) {
    const auto& [name_zxid, path] = files[i];
    const bool last = i + 1 == files.size();
    auto seg = std::make_unique<Segment>();
    seg->path = path;
    seg->name_zxid = name_zxid;
    SYNOD_ASSIGN_OR_RETURN(seg->file,
                           env_->OpenFile(path, OpenMode::kExisting));
    std::string bytes;
    {
      SYNOD_ASSIGN_OR_RETURN(uint64_t size, seg->file->Size());
      bytes.assign(static_cast<size_t>(size), '\0');
      size_t read = 0;
      SYNOD_RETURN_IF_ERROR(seg->file->Read(0, bytes.size(), bytes.data(), &read));
      bytes.resize(read);
    }
    seg->allocated = bytes.size();
    size_t data_start = kMagicBytes;
    bool header_ok = false;
    if (bytes.size() >= kMagicBytes &&
        std::memcmp(bytes.data(), kMagicV1, kMagicBytes) == 0) {
      seg->version = 1;
      header_ok = true;
    } else if (bytes.size() >= kHeaderV2Bytes &&
               std::memcmp(bytes.data(), kMagicV2, kMagicBytes) == 0) {
      uint32_t crc;
      uint64_t prev_last;
      Decoder d(std::string_view(bytes.data() + kMagicBytes, 12));
      d.Fixed64(&prev_last);
      d.Fixed32(&crc);
      if (Crc32c(bytes.data(), 16) == crc) {
        header_ok = true;
        seg->version = 2;
        seg->prev_last = static_cast<Zxid>(prev_last);
        bool v0, v1;
        const Zxid w0 = DecodeSlot(bytes.data() + kSlotOffset, &v0);
        const Zxid w1 =
            DecodeSlot(bytes.data() + kSlotOffset + kSlotBytes, &v1);
        seg->watermark = std::max(w0, w1);
        seg->next_slot = w0 <= w1 ? 0 : 1;
        data_start = kHeaderV2Bytes;
        if (!v0 && !v1) {
          // Slots are written one at a time, so a crash tears one at most.
          damage = Damage{i, kSlotOffset, "both watermark slots are corrupted"};
          segs.push_back(std::move(seg));
          break;
        }
      }
    }
    if (!header_ok) {
      // A segment's header is made durable before anything is appended to
      // it, so a crash can leave the newest without a complete header only
      // if nothing was ever acknowledged in it (it was not yet recorded as
      // the head), and then the rest of the file is zeros.
      const size_t n = std::min(bytes.size(), kMagicBytes);
      const bool torn_header =
          (std::memcmp(bytes.data(), kMagicV2, n) == 0 ||
           AllZero(bytes.data(), n)) &&
          NonZeroEnd(bytes, n) <= std::min(bytes.size(), kHeaderV2Bytes);
      if (last && torn_header && name_zxid != options_.head) {
        drop_path = path;
        break;
      }
      damage = Damage{i, 0, "not a synod log segment (bad header)"};
      segs.push_back(std::move(seg));
      break;
    }
    if (seg->version == 2 && !segs.empty() &&
        seg->prev_last != segs.back()->last()) {
      damage = Damage{
          i, 0,
          absl::StrCat("a segment is missing before it: it was created after "
                       "zxid ", seg->prev_last, ", the previous segment ends at ",
                       segs.back()->last())};
      segs.push_back(std::move(seg));
      break;
    }
    if (seg->watermark > watermark) {
      watermark = seg->watermark;
      watermark_path = path;
    }
    size_t off = data_start;
    while (true) {
      Parsed r = ParseRecord(bytes, off);
      if (r.kind == Parsed::kEnd) break;
      if (r.kind == Parsed::kBad) {
        const size_t valid =
            FindValidAfter(bytes, off + 1, prev, options_.max_epoch);
        if (valid != std::string::npos) {
          damage = Damage{i, off,
                          absl::StrCat(r.why, ", with a valid record at offset ",
                                       valid, " after it")};
        } else if (!last) {
          damage = Damage{i, off, absl::StrCat(r.why, " in a segment that is "
                                                      "not the newest")};
        } else {
          torn.emplace(i, off);
          torn_what = r.why;
        }
        break;
      }
      if (r.zxid <= prev) {
        damage = Damage{i, off, absl::StrCat("zxid ", r.zxid, " not above ", prev)};
        break;
      }
      if (prev > 0 && EpochOf(r.zxid) == EpochOf(prev) && EpochOf(r.zxid) > 0 &&
          r.zxid != prev + 1) {
        damage = Damage{i, off,
                        absl::StrCat("zxid ", r.zxid, " follows ", prev,
                                     ": records of epoch ", EpochOf(prev),
                                     " from ", prev + 1, " are missing")};
        break;
      }
      if (seg->zxids.empty() && r.zxid != name_zxid) {
        damage = Damage{i, off, absl::StrCat("first zxid ", r.zxid,
                                             " does not match the file name")};
        break;
      }
      seg->zxids.push_back(r.zxid);
      seg->offsets.push_back(off);
      prev = r.zxid;
      off += r.size;
    }
    seg->end = off;
    if (damage) {
      segs.push_back(std::move(seg));
      break;
    }
    if (seg->zxids.empty()) {
      if (!last) {
        damage = Damage{i, off, "segment without records"};
        segs.push_back(std::move(seg));
        break;
      }
      // Created, then a crash before its first append was durable.
      drop_path = path;
      torn.reset();
      break;
    }
    segs.push_back(std::move(seg));
  }
  // Past damage, the later segments' watermarks still say how much was
  // durable (for the report).
  for (size_t i = segs.size(); damage && i < files.size(); ++i) {
    absl::StatusOr<std::unique_ptr<EnvFile>> f =
        env_->OpenFile(files[i].second, OpenMode::kReadOnly);
    if (!f.ok()) continue;
    char h[kHeaderV2Bytes];
    size_t read = 0;
    if (!(*f)->Read(0, sizeof(h), h, &read).ok() || read < sizeof(h) ||
        std::memcmp(h, kMagicV2, kMagicBytes) != 0) {
      continue;
    }
    watermark = std::max({watermark, DecodeSlot(h + kSlotOffset),
                          DecodeSlot(h + kSlotOffset + kSlotBytes)});
  }
  // What the log held must reach what was durable.
  if (!damage && !head_listed) {
    damage = Damage{segs.size(), 0,
                    absl::StrCat("the newest segment ", dir_, "/",
                                 SegmentName(options_.head),
                                 " is missing (recorded as created)")};
  }
  if (!damage && prev < watermark) {
    const size_t i = torn ? torn->first : segs.empty() ? 0 : segs.size() - 1;
    const uint64_t off = torn ? torn->second : segs.empty() ? 0 : segs[i]->end;
    damage = Damage{i, off,
                    absl::StrCat("records end at zxid ", prev, " but zxid ",
                                 watermark, " was durable (watermark in ",
                                 watermark_path, ")")};
  }

  if (damage) {
    const std::string where =
        damage->seg < segs.size() ? segs[damage->seg]->path : dir_;
    const std::string message = absl::StrCat(
        "corrupted synod txn log: ", where, " at offset ", damage->off, ": ",
        damage->what);
    if (!options_.allow_damage) return absl::DataLossError(message);
    // Cut at the damage: the segment from the offset on (offsets of
    // damage are record boundaries) and every later file.
    std::vector<std::string> remove;  // newest first
    for (size_t j = files.size(); j > damage->seg + 1; --j) {
      remove.push_back(files[j - 1].second);
    }
    if (!drop_path.empty() &&
        std::find(remove.begin(), remove.end(), drop_path) == remove.end()) {
      remove.insert(remove.begin(), drop_path);
    }
    drop_path.clear();
    torn.reset();
    bool cut = false;
    if (damage->seg < segs.size()) {
      Segment* seg = segs[damage->seg].get();
      const size_t keep =
          std::lower_bound(seg->offsets.begin(), seg->offsets.end(),
                           damage->off) - seg->offsets.begin();
      seg->zxids.resize(keep);
      seg->offsets.resize(keep);
      if (keep == 0) {
        remove.push_back(seg->path);
        segs.resize(damage->seg);
      } else {
        seg->end = damage->off;
        segs.resize(damage->seg + 1);
        cut = true;
      }
    }
    const Zxid kept = segs.empty() ? 0 : segs.back()->last();
    LogDamage report;
    report.kept_through = kept;
    report.durable_at_least = watermark;
    report.what = message;
    // The head first, so a crash midway never leaves it naming a segment
    // that is gone.
    SYNOD_RETURN_IF_ERROR(RecordHead(segs.empty() ? 0 : segs.back()->name_zxid));
    for (const std::string& path : remove) {
      absl::Status s = env_->RemoveFile(path);
      if (!s.ok() && !absl::IsNotFound(s)) return s;
      SYNOD_RETURN_IF_ERROR(env_->SyncDir(dir_));
    }
    if (cut) {
      Segment* seg = segs.back().get();
      SYNOD_RETURN_IF_ERROR(seg->file->Truncate(seg->end));
      SYNOD_RETURN_IF_ERROR(seg->file->SyncAll());
      seg->allocated = seg->end;
    }
    // Watermarks above what is kept would report the same loss again.
    for (auto& seg : segs) {
      if (seg->version == 2 && seg->watermark > kept) {
        SYNOD_RETURN_IF_ERROR(WriteSlot(seg.get(), kept));
        SYNOD_RETURN_IF_ERROR(WriteSlot(seg.get(), kept));
        SYNOD_RETURN_IF_ERROR(seg->file->Sync());
        seg->watermark = kept;
      }
    }
    if (options_.warn) {
      options_.warn(absl::StrCat(message, "; cut the log after zxid ", kept,
                                 " (log damage allowed)"));
    }
    damage_ = std::move(report);
  }

  // Repairs of a torn tail: it was never acknowledged.
  if (!drop_path.empty()) {
    const std::string& path = drop_path;
    if (fs::path(path).filename().string() == SegmentName(options_.head)) {
      SYNOD_RETURN_IF_ERROR(
          RecordHead(segs.empty() ? 0 : segs.back()->name_zxid));
    }
    SYNOD_RETURN_IF_ERROR(env_->RemoveFile(path));
    SYNOD_RETURN_IF_ERROR(env_->SyncDir(dir_));
    if (options_.warn) {
      options_.warn(absl::StrCat("synod txn log: removed ", path,
                                 ": created, but nothing in it was ever "
                                 "durable (a crash right after its creation)"));
    }
  }
  if (torn) {
    Segment* seg = segs.back().get();
    std::string tail(seg->allocated - seg->end, '\0');
    size_t read = 0;
    SYNOD_RETURN_IF_ERROR(seg->file->Read(seg->end, tail.size(), tail.data(), &read));
    tail.resize(read);
    const size_t dirty = NonZeroEnd(tail, 0);
    SYNOD_RETURN_IF_ERROR(seg->file->Truncate(seg->end));
    SYNOD_RETURN_IF_ERROR(seg->file->SyncAll());
    if (options_.warn) {
      options_.warn(absl::StrCat(
          "synod txn log: cut a torn tail of ", seg->path, " at offset ",
          seg->end, ": ", torn_what, "; ", dirty,
          " bytes of an unacknowledged write (after zxid ", seg->last(),
          ") and ", tail.size() - dirty, " bytes of preallocated zeros"));
    }
    seg->allocated = seg->end;
  }
  segments_ = std::move(segs);
  // What Open read may not all be on the disk yet (after a process kill the
  // kernel may still hold it): sync it before any watermark claims it.
  if (!segments_.empty()) {
    SYNOD_RETURN_IF_ERROR(segments_.back()->file->Sync());
  }
  durable_ = last_zxid();
  return absl::OkStatus();
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

absl::Status LogFile::RecordHead(Zxid head) {
  if (!options_.record_head) return absl::OkStatus();
  return options_.record_head(head);
}

absl::Status LogFile::WriteSlot(Segment* seg, Zxid watermark) {
  SYNOD_RETURN_IF_ERROR(seg->file->Write(
      kSlotOffset + kSlotBytes * static_cast<size_t>(seg->next_slot),
      EncodeSlot(watermark)));
  seg->next_slot ^= 1;
  return absl::OkStatus();
}

absl::Status LogFile::Fatal(const absl::Status& cause) {
  failed_ = absl::InternalError(absl::StrCat(
      "synod txn log failed, no further writes (restart to recover): ",
      cause.message()));
  return failed_;
}

absl::Status LogFile::StartSegment(Zxid first) {
  auto seg = std::make_unique<Segment>();
  seg->name_zxid = first;
  seg->path = (fs::path(dir_) / SegmentName(first)).string();
  seg->prev_last = last_zxid();
  absl::StatusOr<std::unique_ptr<EnvFile>> file =
      env_->OpenFile(seg->path, OpenMode::kCreateNew);
  if (!file.ok()) {
    if (absl::IsAlreadyExists(file.status())) return Fatal(file.status());
    return Transient(file.status());  // e.g. EMFILE: nothing created
  }
  seg->file = std::move(*file);
  // The header is durable, and the file's entry too, before the segment is
  // recorded as the head, and that before anything is appended to it.
  absl::Status s = seg->file->Write(0, EncodeHeaderV2(seg->prev_last, durable_));
  bool fatal = false;
  if (s.ok()) {
    s = seg->file->Sync();
    fatal = !s.ok();
  }
  if (s.ok()) {
    s = env_->SyncDir(dir_);
    fatal = !s.ok() && !absl::IsUnavailable(s);
  }
  if (s.ok()) s = RecordHead(first);
  if (!s.ok()) {
    seg->file.reset();
    absl::Status removed = env_->RemoveFile(seg->path);
    if (removed.ok()) removed = env_->SyncDir(dir_);
    if (fatal || !removed.ok()) return Fatal(s);
    return Transient(s);
  }
  seg->watermark = durable_;
  seg->next_slot = 1;
  seg->end = seg->allocated = kHeaderV2Bytes;
  segments_.push_back(std::move(seg));
  return absl::OkStatus();
}

absl::Status LogFile::CutBack(Segment* seg, const absl::Status& cause) {
  // Whatever part of the write reached the file goes; the records before
  // it stay. Without the new segment's records, an empty segment goes too.
  absl::Status s = seg->file->Truncate(seg->end);
  if (!s.ok()) return Fatal(cause);
  seg->allocated = seg->end;
  if (seg->zxids.empty()) {
    const std::string path = seg->path;
    segments_.pop_back();
    s = RecordHead(segments_.empty() ? 0 : segments_.back()->name_zxid);
    if (s.ok()) s = env_->RemoveFile(path);
    if (s.ok()) s = env_->SyncDir(dir_);
    if (!s.ok()) return Fatal(cause);
  }
  return Transient(cause);
}

absl::Status LogFile::Append(absl::Span<const LogEntry> entries, bool sync) {
  if (!failed_.ok()) return failed_;
  if (entries.empty()) return absl::OkStatus();
  size_t bytes = 0;
  for (const LogEntry& e : entries) {
    if (e.data.size() > UINT32_MAX) {
      return absl::InvalidArgumentError("log entry larger than 4 GiB");
    }
    bytes += kRecordHeaderBytes + e.data.size();
  }
  buf_.clear();
  buf_.reserve(bytes);
  for (const LogEntry& e : entries) EncodeRecord(e, &buf_);
  Segment* seg = segments_.empty() ? nullptr : segments_.back().get();
  if (seg == nullptr || seg->end + buf_.size() > options_.segment_bytes) {
    SYNOD_RETURN_IF_ERROR(StartSegment(entries.front().zxid));
    seg = segments_.back().get();
  }
  // The watermark of the previous sync rides along with this write: one
  // fdatasync covers both. A torn slot leaves the other slot's older value.
  absl::Status s;
  if (seg->version == 2 && durable_ > seg->watermark) {
    s = WriteSlot(seg, durable_);
    if (s.ok()) seg->watermark = durable_;
  }
  if (s.ok()) s = seg->file->Write(seg->end, buf_);
  const uint64_t end = seg->end + buf_.size();
  if (s.ok() && options_.prealloc_bytes > 0 && end > seg->allocated) {
    // Zeros ahead of the data, so the next appends overwrite allocated,
    // initialized blocks: their fdatasync writes data only.
    const uint64_t chunk = options_.prealloc_bytes;
    const uint64_t target = (end + chunk - 1) / chunk * chunk;
    if (target > end) {
      const std::string zeros(target - end, '\0');
      s = seg->file->Write(end, zeros);
    }
    if (s.ok()) seg->allocated = std::max(target, end);
  }
  if (!s.ok()) return CutBack(seg, s);
  if (sync) {
    s = seg->file->Sync();
    // Never retried: the kernel may have dropped the pages it covered.
    if (!s.ok()) return Fatal(s);
  }
  uint64_t off = seg->end;
  for (const LogEntry& e : entries) {
    seg->zxids.push_back(e.zxid);
    seg->offsets.push_back(off);
    off += kRecordHeaderBytes + e.data.size();
  }
  seg->end = end;
  if (sync) durable_ = entries.back().zxid;
  return absl::OkStatus();
}

absl::Status LogFile::Sync() {
  if (!failed_.ok()) return failed_;
  if (segments_.empty()) return absl::OkStatus();
  Segment* seg = segments_.back().get();
  absl::Status s = seg->file->Sync();
  if (!s.ok()) return Fatal(s);
  durable_ = last_zxid();
  return absl::OkStatus();
}

absl::Status LogFile::Read(Zxid after, size_t max_bytes,
                           std::vector<LogEntry>* out) const {
  size_t read = 0;
  for (const auto& seg : segments_) {
    if (seg->last() <= after) continue;
    size_t i = std::upper_bound(seg->zxids.begin(), seg->zxids.end(), after) -
               seg->zxids.begin();
    for (; i < seg->zxids.size(); ++i) {
      if (read >= max_bytes && read > 0) return absl::OkStatus();
      const uint64_t off = seg->offsets[i];
      const uint64_t next =
          i + 1 < seg->offsets.size() ? seg->offsets[i + 1] : seg->end;
      std::string bytes(next - off, '\0');
      size_t got = 0;
      SYNOD_RETURN_IF_ERROR(seg->file->Read(off, bytes.size(), bytes.data(), &got));
      if (got != bytes.size()) {
        return CorruptLog(seg->path, off, "file shorter than its index");
      }
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
  seg->file.reset();
  absl::Status s = env_->RemoveFile(seg->path);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  // One directory sync per removal (segments go rarely): removals reach the
  // disk in the order made, so a crash never leaves a hole in the log.
  return env_->SyncDir(dir_);
}

absl::Status LogFile::TruncateAfter(Zxid zxid) {
  if (!failed_.ok()) return failed_;
  // The later segments go for good (RemoveSegment syncs) before this one is
  // cut, or a crash could bring them back behind a hole; the head moves
  // first, so it never names a segment that is gone.
  if (!segments_.empty() && segments_.back()->first() > zxid) {
    Zxid head = 0;
    for (const auto& seg : segments_) {
      if (seg->first() <= zxid) head = seg->name_zxid;
    }
    absl::Status s = RecordHead(head);
    if (!s.ok()) return Fatal(s);
  }
  while (!segments_.empty() && segments_.back()->first() > zxid) {
    absl::Status s = RemoveSegment(segments_.back().get());
    segments_.pop_back();
    if (!s.ok()) return Fatal(s);
  }
  if (segments_.empty() || segments_.back()->last() <= zxid) {
    durable_ = std::min(durable_, last_zxid());
    return absl::OkStatus();
  }
  Segment* seg = segments_.back().get();
  const size_t keep =
      std::upper_bound(seg->zxids.begin(), seg->zxids.end(), zxid) -
      seg->zxids.begin();
  const uint64_t end = seg->offsets[keep];
  const Zxid kept = seg->zxids[keep - 1];  // keep > 0: first() <= zxid
  durable_ = std::min(durable_, kept);
  // Watermarks at or below what stays, durable before the cut: a crash
  // between the two must not find records short of a watermark.
  if (seg->version == 2 && seg->watermark > kept) {
    absl::Status s = WriteSlot(seg, kept);
    if (s.ok()) s = WriteSlot(seg, kept);
    if (s.ok()) s = seg->file->Sync();
    if (!s.ok()) return Fatal(s);
    seg->watermark = kept;
  }
  // Cutting the preallocated zeros too keeps "zeros after the last record".
  absl::Status s = seg->file->Truncate(end);
  if (s.ok()) s = seg->file->SyncAll();
  if (!s.ok()) return Fatal(s);
  seg->zxids.resize(keep);
  seg->offsets.resize(keep);
  seg->end = seg->allocated = end;
  return absl::OkStatus();
}

absl::Status LogFile::DropSegmentsThrough(Zxid zxid) {
  if (!failed_.ok()) return failed_;
  if (!segments_.empty() && segments_.back()->last() <= zxid) return Clear();
  while (!segments_.empty() && segments_.front()->last() <= zxid) {
    absl::Status s = RemoveSegment(segments_.front().get());
    segments_.erase(segments_.begin());
    if (!s.ok()) return Fatal(s);
  }
  return absl::OkStatus();
}

absl::Status LogFile::Clear() {
  if (!failed_.ok()) return failed_;
  if (segments_.empty()) return absl::OkStatus();
  absl::Status s = RecordHead(0);
  if (!s.ok()) return Fatal(s);
  while (!segments_.empty()) {
    s = RemoveSegment(segments_.back().get());
    segments_.pop_back();
    if (!s.ok()) return Fatal(s);
  }
  durable_ = 0;
  return absl::OkStatus();
}

}  // namespace synod
