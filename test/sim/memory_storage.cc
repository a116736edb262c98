// MemoryStorage: the Store's contracts over maps, with a journal of unsynced
// writes and the log's synced point for the crash model (memory_storage.h).

#include "sim/memory_storage.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"

namespace synod::sim {
namespace {

// The metadata names the Store keeps for itself (PutMeta refuses them).
bool Reserved(std::string_view name) {
  for (std::string_view r : {"format", "accepted_epoch", "current_epoch",
                             "applied_zxid", "log_files", "log_trim"}) {
    if (name == r) return true;
  }
  return false;
}

absl::Status Injected(const char* what) {
  return absl::InternalError(
      absl::StrCat("memory storage: injected failure of ", what));
}

// ReadLog copies about this much under the lock between callbacks.
constexpr size_t kReadChunkBytes = 1 << 20;

}  // namespace

MemoryStorage::MemoryStorage(size_t max_unsynced_writes)
    : max_unsynced_writes_(std::max<size_t>(max_unsynced_writes, 1)) {}

MemoryStorage::~MemoryStorage() = default;

// ---- Batches and the journal

absl::Status MemoryStorage::Decode(const StateBatch& batch,
                                   std::vector<Change>* changes) {
  class Collector : public StateBatchVisitor {
   public:
    explicit Collector(std::vector<Change>* out) : out_(out) {}
    void PutNode(std::string_view path, std::string_view record) override {
      out_->push_back(
          {Change::Kind::kPutNode, std::string(path), 0, std::string(record)});
    }
    void DeleteNode(std::string_view path) override {
      out_->push_back({Change::Kind::kDeleteNode, std::string(path), 0, {}});
    }
    void PutSession(int64_t id, std::string_view record) override {
      out_->push_back({Change::Kind::kPutSession, {}, id, std::string(record)});
    }
    void DeleteSession(int64_t id) override {
      out_->push_back({Change::Kind::kDeleteSession, {}, id, {}});
    }
    void PutMeta(std::string_view name, std::string_view value) override {
      out_->push_back(
          {Change::Kind::kPutMeta, std::string(name), 0, std::string(value)});
    }

   private:
    std::vector<Change>* const out_;
  };
  Collector collector(changes);
  return batch.Visit(&collector);
}

void MemoryStorage::ApplyChanges(std::vector<Change> changes, Records* to) {
  for (Change& c : changes) {
    const uint64_t key = static_cast<uint64_t>(c.id);
    switch (c.kind) {
      case Change::Kind::kPutNode:
        to->nodes.insert_or_assign(std::move(c.path), std::move(c.record));
        break;
      case Change::Kind::kDeleteNode:
        to->nodes.erase(c.path);
        break;
      case Change::Kind::kPutSession:
        to->sessions.insert_or_assign(key, std::move(c.record));
        break;
      case Change::Kind::kDeleteSession:
        to->sessions.erase(key);
        break;
      case Change::Kind::kPutMeta:
        to->meta.insert_or_assign(std::move(c.path), std::move(c.record));
        break;
    }
  }
}

void MemoryStorage::ApplyWrite(Write write, Records* to) {
  switch (write.kind) {
    case Write::Kind::kState:
      ApplyChanges(std::move(write.changes), to);
      to->applied = write.zxid;
      break;
    case Write::Kind::kMeta:
      to->meta.insert_or_assign(std::move(write.name), std::move(write.value));
      break;
    case Write::Kind::kTrim:
      to->trim = write.zxid;
      break;
  }
}

bool MemoryStorage::Fail() {
  if (failures_ <= 0) return false;
  --failures_;
  return true;
}

void MemoryStorage::Journal(Write write) {
  journal_.push_back(std::move(write));
  if (journal_.size() > max_unsynced_writes_) {
    WriteBack(journal_.size() - max_unsynced_writes_);
  }
}

void MemoryStorage::WriteBack(size_t n) {
  for (; n > 0 && !journal_.empty(); --n) {
    ApplyWrite(std::move(journal_.front()), &durable_);
    journal_.pop_front();
  }
  // A durable trim point hides its entries for good. (Trim points only grow
  // between two emptyings of the log, and an append to an emptied log at or
  // below one first makes it durable and resets it: what this deletes is
  // hidden in current_ too.)
  log_.erase(log_.begin(), log_.upper_bound(durable_.trim));
}

void MemoryStorage::ClearLog() {
  log_.clear();
  log_synced_ = 0;
}

std::map<Zxid, std::string>::const_iterator MemoryStorage::FirstVisible()
    const {
  return log_.upper_bound(current_.trim);
}

Zxid MemoryStorage::LastVisible() const {
  if (FirstVisible() == log_.end()) return 0;
  return log_.rbegin()->first;
}

// ---- Storage

std::optional<LogDamage> MemoryStorage::log_damage() const {
  return std::nullopt;
}

int64_t MemoryStorage::accepted_epoch() const {
  MutexLock lock(&mu_);
  return current_.accepted_epoch;
}

int64_t MemoryStorage::current_epoch() const {
  MutexLock lock(&mu_);
  return current_.current_epoch;
}

absl::Status MemoryStorage::SetAcceptedEpoch(int64_t epoch) {
  MutexLock lock(&mu_);
  if (Fail()) return Injected("SetAcceptedEpoch");
  WriteBack(journal_.size());
  current_.accepted_epoch = durable_.accepted_epoch = epoch;
  return absl::OkStatus();
}

absl::Status MemoryStorage::SetCurrentEpoch(int64_t epoch) {
  MutexLock lock(&mu_);
  if (Fail()) return Injected("SetCurrentEpoch");
  WriteBack(journal_.size());
  current_.current_epoch = durable_.current_epoch = epoch;
  return absl::OkStatus();
}

absl::StatusOr<std::string> MemoryStorage::GetMeta(
    std::string_view name) const {
  MutexLock lock(&mu_);
  auto it = current_.meta.find(name);
  if (it == current_.meta.end()) {
    return absl::NotFoundError(
        absl::StrCat("no metadata m/", std::string(name)));
  }
  return it->second;
}

absl::Status MemoryStorage::PutMeta(std::string_view name,
                                    std::string_view value, bool sync) {
  if (Reserved(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("reserved metadata m/", std::string(name)));
  }
  MutexLock lock(&mu_);
  if (Fail()) return Injected("PutMeta");
  current_.meta.insert_or_assign(std::string(name), std::string(value));
  Write write{Write::Kind::kMeta, {}, 0, std::string(name), std::string(value)};
  if (sync) {
    WriteBack(journal_.size());
    ApplyWrite(std::move(write), &durable_);
  } else {
    Journal(std::move(write));
  }
  return absl::OkStatus();
}

absl::Status MemoryStorage::AppendLog(absl::Span<const LogEntry> entries,
                                      bool sync) {
  if (entries.empty()) return absl::OkStatus();
  MutexLock lock(&mu_);
  const bool empty = FirstVisible() == log_.end();
  Zxid prev = LastVisible();
  for (const LogEntry& entry : entries) {
    if (entry.zxid <= prev) {
      return absl::InvalidArgumentError(absl::StrCat(
          "log zxid ", entry.zxid, " not above ", prev, "; nothing written"));
    }
    prev = entry.zxid;
  }
  if (Fail()) {
    return absl::UnavailableError(
        "memory storage: injected failure of AppendLog; nothing written");
  }
  if (empty) {
    // As the Store: an empty log starts afresh (what a trim hid goes), and
    // a trim point that could hide the new entries after a crash is reset,
    // synced (which makes the journal durable).
    ClearLog();
    if (entries.front().zxid <= disk_trim_max_) {
      WriteBack(journal_.size());
      current_.trim = durable_.trim = 0;
      disk_trim_max_ = 0;
    }
  }
  for (const LogEntry& entry : entries) log_.emplace(entry.zxid, entry.data);
  if (sync) log_synced_ = prev;
  return absl::OkStatus();
}

absl::Status MemoryStorage::ReadLog(
    Zxid after, const std::function<bool(Zxid, std::string_view)>& fn) const {
  // Copies a chunk under the lock, then calls `fn` without it. Reads the
  // log as it ends when the call starts: entries appended meanwhile (and
  // trims of them) belong to a later read.
  std::vector<LogEntry> chunk;
  Zxid end = 0;
  {
    MutexLock lock(&mu_);
    end = LastVisible();
  }
  while (after < end) {
    chunk.clear();
    {
      MutexLock lock(&mu_);
      size_t bytes = 0;
      for (auto it = log_.upper_bound(std::max(after, current_.trim));
           it != log_.end() && it->first <= end && bytes < kReadChunkBytes;
           ++it) {
        chunk.push_back(LogEntry{it->first, it->second});
        bytes += it->second.size() + 1;
      }
    }
    if (chunk.empty()) return absl::OkStatus();
    for (const LogEntry& e : chunk) {
      if (!fn(e.zxid, e.data)) return absl::OkStatus();
    }
    after = chunk.back().zxid;
  }
  return absl::OkStatus();
}

absl::Status MemoryStorage::TruncateLogAfter(Zxid zxid) {
  MutexLock lock(&mu_);
  zxid = std::max<Zxid>(zxid, 0);
  const auto first = FirstVisible();
  if (first == log_.end() || zxid >= log_.rbegin()->first) {
    return absl::OkStatus();
  }
  if (Fail()) return Injected("TruncateLogAfter");
  if (zxid < first->first) {
    ClearLog();  // trimmed entries go too, so an empty log is empty
    return absl::OkStatus();
  }
  log_.erase(log_.upper_bound(zxid), log_.end());
  // Synced: everything left is durable.
  log_synced_ = log_.rbegin()->first;
  return absl::OkStatus();
}

absl::Status MemoryStorage::TrimLogThrough(Zxid zxid) {
  MutexLock lock(&mu_);
  const auto first = FirstVisible();
  if (first == log_.end() || first->first > zxid) return absl::OkStatus();
  if (Fail()) return Injected("TrimLogThrough");
  // As the Store: every earlier write (the state covering these entries)
  // is made durable first.
  WriteBack(journal_.size());
  current_.trim = zxid;
  disk_trim_max_ = std::max(disk_trim_max_, zxid);
  Journal(Write{Write::Kind::kTrim, {}, zxid, {}, {}});
  return absl::OkStatus();
}

absl::Status MemoryStorage::WriteState(StateBatch* batch, Zxid applied) {
  if (batch == nullptr) return absl::InvalidArgumentError("null StateBatch");
  std::vector<Change> changes;
  absl::Status s = Decode(*batch, &changes);
  if (!s.ok()) return s;
  MutexLock lock(&mu_);
  if (Fail()) return Injected("WriteState");
  Write write{Write::Kind::kState, changes, applied, {}, {}};
  ApplyChanges(std::move(changes), &current_);
  current_.applied = applied;
  Journal(std::move(write));
  batch->Clear();
  return absl::OkStatus();
}

absl::Status MemoryStorage::ReplaceState(StateBatch* batch, Zxid applied) {
  if (batch == nullptr) return absl::InvalidArgumentError("null StateBatch");
  std::vector<Change> changes;
  absl::Status s = Decode(*batch, &changes);
  if (!s.ok()) return s;
  MutexLock lock(&mu_);
  if (Fail()) return Injected("ReplaceState");
  // One synced write: the journal before it becomes durable, then every
  // record and log entry is replaced.
  WriteBack(journal_.size());
  current_.nodes.clear();
  current_.sessions.clear();
  ApplyChanges(std::move(changes), &current_);
  current_.applied = applied;
  current_.trim = 0;
  durable_ = current_;
  ClearLog();
  disk_trim_max_ = 0;
  batch->Clear();
  return absl::OkStatus();
}

Zxid MemoryStorage::applied_zxid() const {
  MutexLock lock(&mu_);
  return current_.applied;
}

int64_t MemoryStorage::node_count_hint() const {
  MutexLock lock(&mu_);
  return static_cast<int64_t>(current_.nodes.size());
}

absl::Status MemoryStorage::LoadState(
    const std::function<absl::Status(std::string_view, std::string_view)>&
        on_node,
    const std::function<absl::Status(int64_t, std::string_view)>& on_session)
    const {
  // One consistent view, read without the lock held.
  decltype(Records::nodes) nodes;
  decltype(Records::sessions) sessions;
  {
    MutexLock lock(&mu_);
    nodes = current_.nodes;
    sessions = current_.sessions;
  }
  // Byte order puts every parent first: its path is a prefix of its
  // children's paths.
  for (const auto& [path, record] : nodes) {
    if (on_node) {
      absl::Status s = on_node(path, record);
      if (!s.ok()) return s;
    }
  }
  for (const auto& [id, record] : sessions) {
    if (on_session) {
      absl::Status s = on_session(static_cast<int64_t>(id), record);
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

Zxid MemoryStorage::last_logged_zxid() const {
  MutexLock lock(&mu_);
  return LastVisible();
}

Zxid MemoryStorage::first_logged_zxid() const {
  MutexLock lock(&mu_);
  const auto first = FirstVisible();
  return first == log_.end() ? 0 : first->first;
}

// ---- Faults

void MemoryStorage::FailNextWrites(int n) {
  MutexLock lock(&mu_);
  failures_ = std::max(n, 0);
}

void MemoryStorage::Crash(Rng* rng) {
  MutexLock lock(&mu_);
  CrashWith(rng);
}

void MemoryStorage::CrashLosingAllUnsynced() {
  MutexLock lock(&mu_);
  CrashWith(nullptr);
}

void MemoryStorage::CrashWith(Rng* rng) {
  // Each choice keeps some of `n` things: random, or the fewest.
  auto keep = [rng](size_t n) -> size_t {
    return rng != nullptr ? rng->Uniform(n + 1) : 0;
  };
  const Zxid hidden_through = current_.trim;
  // The journal: a prefix survives. (WriteBack deletes the entries below
  // the trim point that survives.)
  WriteBack(keep(journal_.size()));
  journal_.clear();
  // The log's unsynced tail: a prefix of its entries survives.
  auto cut = log_.upper_bound(log_synced_);
  std::advance(cut, keep(static_cast<size_t>(std::distance(cut, log_.end()))));
  log_.erase(cut, log_.end());
  // The entries a lost trim point hid: a suffix of them comes back (all, at
  // most), the rest were in segments deleted for good.
  const auto back_begin = log_.upper_bound(durable_.trim);
  const auto back_end = log_.upper_bound(hidden_through);
  const size_t hidden =
      static_cast<size_t>(std::distance(back_begin, back_end));
  const size_t gone = rng != nullptr ? keep(hidden) : 0;
  log_.erase(back_begin, std::next(back_begin, static_cast<long>(gone)));
  // What is left is on disk.
  current_ = durable_;
  log_synced_ = log_.empty() ? 0 : log_.rbegin()->first;
  disk_trim_max_ = durable_.trim;
  failures_ = 0;
}

}  // namespace synod::sim
