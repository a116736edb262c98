// Fuzzes the recovery of the txn log's segment files (LogFile::Open,
// lib/storage/log_file.h). Each input becomes one or two segment files in a
// fresh directory (removed after each run). The first byte steers:
//
//   bit 0: fill in the checksum of every record that fits (so the fuzzer
//          gets past them; damage then comes from lengths, zxids, zeros)
//   bit 1: two segments; 2 bytes then give where the first one ends
//   bit 2: name each file after its first record's zxid (else 8 bytes of
//          name follow for each file)
//   bit 3: start each file with the segment header "synodlg1"
//
// then the files' bytes. Properties: Open never crashes; an Open that
// succeeds gives records with strictly increasing positive zxids that Read
// returns in full, matching first_zxid/last_zxid; it keeps every record
// before the first bad one in each file; what it cuts off as a torn tail
// holds no intact record that could continue the log (zxid above the last
// record kept; a bad record followed by a valid one is damage, to be
// reported, never cut silently: issue 11, item 2); and opening the
// recovered log again gives the same records.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "fuzz_util.h"
#include "storage/log_file.h"
#include "util/coding.h"
#include "util/strings.h"

namespace synod::fuzz {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "synodlg1";
constexpr size_t kHeader = 16;

uint32_t Load32(const std::string& b, size_t off) {
  uint32_t v = 0;
  Decoder(std::string_view(b).substr(off, 4)).Fixed32(&v);
  return v;
}
uint64_t Load64(const std::string& b, size_t off) {
  uint64_t v = 0;
  Decoder(std::string_view(b).substr(off, 8)).Fixed64(&v);
  return v;
}

// Rewrites the checksum of every record that fits in `file`.
void FixChecksums(std::string* file) {
  size_t off = kMagic.size();
  while (off + kHeader <= file->size()) {
    const uint32_t length = Load32(*file, off + 4);
    if (length > file->size() - off - kHeader) return;
    const uint32_t crc = Crc32c(file->data() + off + 4, kHeader - 4 + length);
    for (int i = 0; i < 4; ++i) (*file)[off + i] = static_cast<char>(crc >> (8 * i));
    off += kHeader + length;
  }
}

// Returns true if `file` holds an intact record at `off`: a non-zero
// header, the data within the file, the checksum matching, a positive zxid.
bool IntactAt(const std::string& file, size_t off, Zxid* zxid, size_t* size) {
  if (off + kHeader > file.size()) return false;
  const uint32_t crc = Load32(file, off);
  const uint32_t length = Load32(file, off + 4);
  *zxid = static_cast<Zxid>(Load64(file, off + 8));
  if (crc == 0 && length == 0 && *zxid == 0) return false;
  if (length > file.size() - off - kHeader) return false;
  if (Crc32c(file.data() + off + 4, kHeader - 4 + length) != crc) return false;
  *size = kHeader + length;
  return *zxid > 0;
}

// The records of `file` before the first one that is not intact (or the
// end, or the zero header that ends them): their zxids, and where they end.
struct Prefix {
  std::vector<Zxid> zxids;
  size_t end = 0;
};
Prefix IntactPrefix(const std::string& file) {
  Prefix out;
  if (file.compare(0, kMagic.size(), kMagic) != 0) return out;
  size_t off = kMagic.size();
  Zxid zxid;
  size_t size;
  while (IntactAt(file, off, &zxid, &size)) {
    out.zxids.push_back(zxid);
    off += size;
  }
  out.end = off;
  return out;
}

constexpr std::string_view kDirPrefix = "synod-fuzz-log-";

// Removes the directories of runs whose process is gone (a crash aborts
// before the run's own TempDir is removed).
void RemoveStaleDirs(const fs::path& base) {
  std::error_code ec;
  for (fs::directory_iterator it(base, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.compare(0, kDirPrefix.size(), kDirPrefix) != 0) continue;
    const long pid = std::strtol(name.c_str() + kDirPrefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      std::error_code rm;
      fs::remove_all(it->path(), rm);
    }
  }
}

// A fresh directory for one run, removed when the run ends.
class TempDir {
 public:
  TempDir() {
    std::error_code ec;
    fs::path base = "/dev/shm";  // tmpfs: fsync costs nothing
    if (!fs::is_directory(base, ec) || ::access(base.c_str(), W_OK) != 0) {
      base = fs::temp_directory_path();
    }
    static const bool swept = (RemoveStaleDirs(base), true);
    (void)swept;
    path_ = (base / absl::StrCat(AV(kDirPrefix), ::getpid())).string();
    fs::remove_all(path_, ec);
    fs::create_directories(path_, ec);
    if (ec) Fail("cannot create a temporary directory", path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) Fail("cannot write", path);
}

// Opens the log in `dir` and reads all of it; checks what the comment at
// the top promises of any Open that succeeds. Returns false if Open fails.
bool OpenAndRead(const std::string& dir, std::vector<LogEntry>* entries) {
  // Any epoch may follow (as in a store whose acceptedEpoch is the
  // largest): every intact record behind damage must then be found.
  LogFileOptions options;
  options.max_epoch = std::numeric_limits<int64_t>::max();
  absl::StatusOr<std::unique_ptr<LogFile>> log = LogFile::Open(dir, options);
  if (!log.ok()) return false;
  absl::Status s = (*log)->Read(0, SIZE_MAX, entries);
  SYNOD_FUZZ_CHECK(s.ok(), absl::StrCat("Read after a good Open: ", s.ToString()));
  for (size_t i = 0; i < entries->size(); ++i) {
    SYNOD_FUZZ_CHECK((*entries)[i].zxid > 0, "non-positive zxid");
    if (i > 0) {
      SYNOD_FUZZ_CHECK((*entries)[i].zxid > (*entries)[i - 1].zxid,
                       absl::StrCat("zxid ", (*entries)[i].zxid,
                                    " after ", (*entries)[i - 1].zxid));
    }
  }
  const Zxid first = entries->empty() ? 0 : entries->front().zxid;
  const Zxid last = entries->empty() ? 0 : entries->back().zxid;
  SYNOD_FUZZ_CHECK((*log)->first_zxid() == first && (*log)->last_zxid() == last,
                   absl::StrCat("first/last ", (*log)->first_zxid(), "/",
                                (*log)->last_zxid(), ", read ", first, "/", last));
  return true;
}

}  // namespace
}  // namespace synod::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace synod;
  using namespace synod::fuzz;
  if (size > kMaxInputBytes) return 0;
  Input in(data, size);
  const uint8_t flags = in.Byte();
  const bool fix_checksums = flags & 1;
  const bool two = flags & 2;
  const bool names_from_records = flags & 4;
  const bool add_magic = flags & 8;
  const size_t split = two ? static_cast<size_t>(in.Int(2)) : 0;
  Zxid names[2] = {0, 0};
  if (!names_from_records) {
    names[0] = static_cast<Zxid>(in.Int(8));
    if (two) names[1] = static_cast<Zxid>(in.Int(8));
  }
  const std::string_view rest = in.Rest();
  std::vector<std::string> files;
  if (two) {
    const size_t cut = std::min(split, rest.size());
    files.emplace_back(rest.substr(0, cut));
    files.emplace_back(rest.substr(cut));
  } else {
    files.emplace_back(rest);
  }
  for (size_t i = 0; i < files.size(); ++i) {
    std::string& f = files[i];
    if (add_magic) f.insert(0, kMagic);
    if (fix_checksums) FixChecksums(&f);
    if (names_from_records) {
      names[i] = f.size() >= kMagic.size() + kHeader
                     ? static_cast<Zxid>(Load64(f, kMagic.size() + 8))
                     : static_cast<Zxid>(i + 1);
    }
  }
  if (two && names[1] == names[0]) ++names[1];

  TempDir dir;
  // Files in name order, as Open reads them.
  std::vector<std::pair<uint64_t, size_t>> order;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto name = static_cast<uint64_t>(names[i]);
    order.emplace_back(name, i);
    WriteFile(absl::StrFormat("%s/%016x.log", dir.path(), name), files[i]);
  }
  std::sort(order.begin(), order.end());

  std::vector<LogEntry> entries;
  if (!OpenAndRead(dir.path(), &entries)) return 0;

  // No record before the first damage of a file is dropped.
  std::vector<Zxid> got;
  for (const LogEntry& e : entries) got.push_back(e.zxid);
  Prefix last;
  for (const auto& [name, index] : order) {
    last = IntactPrefix(files[index]);
    for (Zxid z : last.zxids) {
      SYNOD_FUZZ_CHECK(std::binary_search(got.begin(), got.end(), z),
                       absl::StrCat("intact record ", z, " of file ", index,
                                    " was dropped"));
    }
  }
  // What a good Open cut off the last file (a torn tail) holds no intact
  // record: a bad record followed by a valid one is damage (DataLoss), not
  // a torn write (log_file.h, docs/storage.md), whatever its length says.
  const std::string& tail_file = files[order.back().second];
  const Zxid kept_through = entries.empty() ? 0 : entries.back().zxid;
  if (tail_file.compare(0, kMagic.size(), kMagic) == 0) {
    for (size_t off = std::max(last.end, kMagic.size()) + 1;
         off + kHeader <= tail_file.size(); ++off) {
      Zxid zxid;
      size_t record_size;
      // Only a record that could continue the log counts: one whose zxid
      // is not above the last record kept cannot be a later write.
      SYNOD_FUZZ_CHECK(!IntactAt(tail_file, off, &zxid, &record_size) ||
                           zxid <= kept_through,
                       absl::StrCat("Open succeeded but dropped the intact "
                                    "record ", zxid, " at offset ", off,
                                    " behind a bad one at ", last.end));
    }
  }

  // Recovery is done: a second Open finds a clean log with the same records.
  std::vector<LogEntry> again;
  SYNOD_FUZZ_CHECK(OpenAndRead(dir.path(), &again),
                   "the recovered log does not open again");
  SYNOD_FUZZ_CHECK(again.size() == entries.size(), "records differ on reopen");
  for (size_t i = 0; i < again.size(); ++i) {
    SYNOD_FUZZ_CHECK(again[i].zxid == entries[i].zxid &&
                         again[i].data == entries[i].data,
                     absl::StrCat("record ", i, " differs on reopen"));
  }
  return 0;
}
