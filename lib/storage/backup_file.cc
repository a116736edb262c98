// Backup files: a snapshot with a header and a checksum.

#include "storage/backup_file.h"

#include <cstring>
#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "storage/env.h"
#include "storage/log_file.h"
#include "util/coding.h"
#include "util/strings.h"

namespace synod {
namespace {

constexpr char kMagic[] = "SYNODBK1";
constexpr size_t kMagicSize = 8;
constexpr size_t kFieldsSize = 24;  // zxid, created_ms, length
constexpr size_t kHeaderSize = kMagicSize + kFieldsSize + 4;

uint64_t Fixed64At(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint32_t Fixed32At(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

absl::Status Bad(std::string_view why) {
  return MakeError(Error::kDataInconsistency,
                   absl::StrCat("not a usable backup: ", AV(why)));
}

}  // namespace

std::string EncodeBackup(const Backup& backup) {
  std::string out(kMagic, kMagicSize);
  PutFixed64(&out, static_cast<uint64_t>(backup.zxid));
  PutFixed64(&out, static_cast<uint64_t>(backup.created_ms));
  PutFixed64(&out, backup.snapshot.size());
  const uint32_t crc =
      Crc32c(backup.snapshot.data(), backup.snapshot.size(),
             Crc32c(out.data() + kMagicSize, kFieldsSize));
  PutFixed32(&out, crc);
  out.append(backup.snapshot);
  return out;
}

absl::StatusOr<Backup> DecodeBackup(std::string_view bytes) {
  if (bytes.size() < kHeaderSize ||
      std::memcmp(bytes.data(), kMagic, kMagicSize) != 0) {
    return Bad("it does not begin as a synod backup does");
  }
  const char* fields = bytes.data() + kMagicSize;
  Backup backup;
  backup.zxid = static_cast<Zxid>(Fixed64At(fields));
  backup.created_ms = static_cast<int64_t>(Fixed64At(fields + 8));
  const uint64_t length = Fixed64At(fields + 16);
  const uint32_t crc = Fixed32At(fields + kFieldsSize);
  if (length != bytes.size() - kHeaderSize) {
    return Bad(absl::StrCat("it holds ", bytes.size() - kHeaderSize,
                            " bytes of snapshot where its header says ",
                            length, " (truncated?)"));
  }
  const std::string_view snapshot = bytes.substr(kHeaderSize);
  if (Crc32c(snapshot.data(), snapshot.size(),
             Crc32c(fields, kFieldsSize)) != crc) {
    return Bad("its checksum does not match (damaged)");
  }
  if (backup.zxid < 0) return Bad("its zxid is negative");
  backup.snapshot = std::string(snapshot);
  return backup;
}

absl::Status WriteBackupFile(const std::string& path, const Backup& backup) {
  Env* env = Env::Posix();
  const std::string tmp = path + ".tmp";
  absl::StatusOr<std::unique_ptr<EnvFile>> file =
      env->OpenFile(tmp, OpenMode::kTruncate);
  if (!file.ok()) return file.status();
  absl::Status s = (*file)->Write(0, EncodeBackup(backup));
  if (s.ok()) s = (*file)->Sync();
  file->reset();
  if (s.ok()) s = env->Rename(tmp, path);
  if (!s.ok()) {
    env->RemoveFile(tmp).IgnoreError();
    return s;
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  return env->SyncDir(dir.empty() ? "." : dir);
}

absl::StatusOr<Backup> ReadBackupFile(const std::string& path) {
  std::string bytes;
  if (absl::Status s = ReadWholeFile(Env::Posix(), path, &bytes); !s.ok()) {
    return s;
  }
  return DecodeBackup(bytes);
}

}  // namespace synod
