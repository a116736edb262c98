// Configurations and their changes (config.h).

#include "zab/config.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace synod::zab {

namespace {

// The encoding: "ZC1" (magic and format version), the version as 8 bytes,
// then the voters and the observers, each as a count byte followed by that
// many members (id as 8 bytes, address length byte, address). Integers are
// little-endian.
constexpr std::string_view kMagic = "ZC1";

void PutU64(uint64_t v, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  bool U8(uint8_t* v) {
    if (bytes_.empty()) return false;
    *v = static_cast<uint8_t>(bytes_[0]);
    bytes_.remove_prefix(1);
    return true;
  }
  bool U64(uint64_t* v) {
    if (bytes_.size() < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) {
      *v |= uint64_t{static_cast<uint8_t>(bytes_[i])} << (8 * i);
    }
    bytes_.remove_prefix(8);
    return true;
  }
  bool Bytes(size_t n, std::string* out) {
    if (bytes_.size() < n) return false;
    out->assign(bytes_.data(), n);
    bytes_.remove_prefix(n);
    return true;
  }
  bool Members(std::vector<Member>* out) {
    uint8_t n;
    if (!U8(&n)) return false;
    out->resize(n);
    for (Member& m : *out) {
      uint8_t len;
      if (!U64(&m.id) || !U8(&len) || !Bytes(len, &m.address)) return false;
    }
    return true;
  }
  bool done() const { return bytes_.empty(); }

 private:
  std::string_view bytes_;
};

void PutMembers(const std::vector<Member>& members, std::string* out) {
  out->push_back(static_cast<char>(members.size()));
  for (const Member& m : members) {
    PutU64(m.id, out);
    out->push_back(static_cast<char>(m.address.size()));
    out->append(m.address);
  }
}

const Member* FindIn(const std::vector<Member>& members, PeerId id) {
  auto it = std::lower_bound(
      members.begin(), members.end(), id,
      [](const Member& m, PeerId target) { return m.id < target; });
  return it != members.end() && it->id == id ? &*it : nullptr;
}

void Insert(std::vector<Member>* members, Member m) {
  auto it = std::lower_bound(
      members->begin(), members->end(), m.id,
      [](const Member& a, PeerId target) { return a.id < target; });
  members->insert(it, std::move(m));
}

// Removes and returns the member with `id` (which must be there).
Member Take(std::vector<Member>* members, PeerId id) {
  auto it = std::find_if(members->begin(), members->end(),
                         [id](const Member& m) { return m.id == id; });
  Member m = std::move(*it);
  members->erase(it);
  return m;
}

// `needed`: a change that names an address must name one.
absl::Status CheckAddress(const std::string& address, bool needed) {
  if (needed && address.empty()) {
    return absl::InvalidArgumentError("a member's address is empty");
  }
  if (address.size() > kMaxAddressBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a member's address is longer than ", kMaxAddressBytes,
                     " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

const Member* Config::Find(PeerId id) const {
  if (const Member* m = FindIn(voters, id)) return m;
  return FindIn(observers, id);
}

bool Config::IsVoter(PeerId id) const { return FindIn(voters, id) != nullptr; }

bool Config::IsObserver(PeerId id) const {
  return FindIn(observers, id) != nullptr;
}

std::vector<PeerId> Config::VoterIds() const {
  std::vector<PeerId> ids;
  ids.reserve(voters.size());
  for (const Member& m : voters) ids.push_back(m.id);
  return ids;
}

Config FoundingConfig(std::vector<PeerId> voters,
                      std::vector<PeerId> observers) {
  std::sort(voters.begin(), voters.end());
  voters.erase(std::unique(voters.begin(), voters.end()), voters.end());
  std::sort(observers.begin(), observers.end());
  observers.erase(std::unique(observers.begin(), observers.end()),
                  observers.end());
  Config f;
  for (PeerId id : voters) f.voters.push_back(Member{id, ""});
  for (PeerId id : observers) {
    if (!std::binary_search(voters.begin(), voters.end(), id)) {
      f.observers.push_back(Member{id, ""});
    }
  }
  return f;
}

absl::Status ValidateConfig(const Config& config) {
  if (config.voters.empty()) {
    return absl::InvalidArgumentError("a configuration needs a voter");
  }
  if (config.voters.size() + config.observers.size() > kMaxMembers) {
    return absl::InvalidArgumentError(
        absl::StrCat("a configuration has at most ", kMaxMembers, " members"));
  }
  std::vector<PeerId> all;
  for (const auto* list : {&config.voters, &config.observers}) {
    for (size_t i = 0; i < list->size(); ++i) {
      const Member& m = (*list)[i];
      if (m.id == 0) return absl::InvalidArgumentError("member id 0");
      if (i > 0 && (*list)[i - 1].id >= m.id) {
        return absl::InvalidArgumentError(
            "members are not sorted by id, or an id repeats");
      }
      if (absl::Status s = CheckAddress(m.address, /*needed=*/false);
          !s.ok()) {
        return s;
      }
      all.push_back(m.id);
    }
  }
  std::sort(all.begin(), all.end());
  if (std::adjacent_find(all.begin(), all.end()) != all.end()) {
    return absl::InvalidArgumentError("an id is both a voter and an observer");
  }
  return absl::OkStatus();
}

const char* ChangeKindName(ConfigChange::Kind kind) {
  switch (kind) {
    case ConfigChange::Kind::kAddObserver:
      return "add-observer";
    case ConfigChange::Kind::kRemoveObserver:
      return "remove-observer";
    case ConfigChange::Kind::kPromote:
      return "promote";
    case ConfigChange::Kind::kDemote:
      return "demote";
    case ConfigChange::Kind::kRemoveVoter:
      return "remove-voter";
    case ConfigChange::Kind::kSetAddress:
      return "set-address";
  }
  return "?";
}

absl::StatusOr<Config> ApplyChange(const Config& config,
                                   const ConfigChange& change) {
  using Kind = ConfigChange::Kind;
  const PeerId id = change.id;
  const std::string what =
      absl::StrCat(ChangeKindName(change.kind), " of peer ", id);
  if (id == 0) return absl::InvalidArgumentError(what + ": id 0");
  const bool voter = config.IsVoter(id);
  const bool observer = config.IsObserver(id);
  Config next = config;
  switch (change.kind) {
    case Kind::kAddObserver:
      if (voter || observer) {
        return absl::InvalidArgumentError(what + ": already a member");
      }
      if (absl::Status s = CheckAddress(change.address, /*needed=*/true);
          !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": ", s.message()));
      }
      if (config.voters.size() + config.observers.size() >= kMaxMembers) {
        return absl::InvalidArgumentError(what + ": the configuration is full");
      }
      Insert(&next.observers, Member{id, change.address});
      break;
    case Kind::kRemoveObserver:
      if (!observer) return absl::InvalidArgumentError(what + ": not an observer");
      Take(&next.observers, id);
      break;
    case Kind::kPromote:
      if (!observer) return absl::InvalidArgumentError(what + ": not an observer");
      Insert(&next.voters, Take(&next.observers, id));
      break;
    case Kind::kDemote:
    case Kind::kRemoveVoter: {
      if (!voter) return absl::InvalidArgumentError(what + ": not a voter");
      if (config.voters.size() == 1) {
        return absl::InvalidArgumentError(what + ": it is the last voter");
      }
      Member m = Take(&next.voters, id);
      if (change.kind == Kind::kDemote) Insert(&next.observers, std::move(m));
      break;
    }
    case Kind::kSetAddress: {
      if (!voter && !observer) {
        return absl::InvalidArgumentError(what + ": not a member");
      }
      if (absl::Status s = CheckAddress(change.address, /*needed=*/true);
          !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": ", s.message()));
      }
      auto& list = voter ? next.voters : next.observers;
      for (Member& m : list) {
        if (m.id == id) m.address = change.address;
      }
      break;
    }
  }
  return next;
}

size_t VoterDistance(const Config& a, const Config& b) {
  size_t n = 0;
  for (const Member& m : a.voters) n += b.IsVoter(m.id) ? 0 : 1;
  for (const Member& m : b.voters) n += a.IsVoter(m.id) ? 0 : 1;
  return n;
}

std::string EncodeConfig(const Config& config) {
  std::string out(kMagic);
  PutU64(static_cast<uint64_t>(config.version), &out);
  PutMembers(config.voters, &out);
  PutMembers(config.observers, &out);
  return out;
}

absl::StatusOr<Config> DecodeConfig(std::string_view bytes) {
  if (bytes.substr(0, kMagic.size()) != kMagic) {
    return absl::InvalidArgumentError("not an encoded configuration");
  }
  Reader r(bytes.substr(kMagic.size()));
  Config c;
  uint64_t version;
  if (!r.U64(&version) || !r.Members(&c.voters) ||
      !r.Members(&c.observers) || !r.done()) {
    return absl::InvalidArgumentError("a truncated or overlong configuration");
  }
  c.version = static_cast<Zxid>(version);
  if (absl::Status s = ValidateConfig(c); !s.ok()) return s;
  return c;
}

// The learner info encoding: "ZL1", a flags byte (bit 0 joining, bit 1
// needs_snapshot), then the address and the zone, each a length byte and
// its bytes.
constexpr std::string_view kLearnerMagic = "ZL1";

std::string EncodeLearnerInfo(const LearnerInfo& info) {
  std::string out(kLearnerMagic);
  out.push_back(static_cast<char>((info.joining ? 1 : 0) |
                                  (info.needs_snapshot ? 2 : 0)));
  for (const std::string* s : {&info.address, &info.zone}) {
    out.push_back(static_cast<char>(std::min<size_t>(s->size(), 255)));
    out.append(s->data(), std::min<size_t>(s->size(), 255));
  }
  return out;
}

absl::StatusOr<LearnerInfo> DecodeLearnerInfo(std::string_view bytes) {
  if (bytes.substr(0, kLearnerMagic.size()) != kLearnerMagic) {
    return absl::InvalidArgumentError("not an encoded learner info");
  }
  Reader r(bytes.substr(kLearnerMagic.size()));
  LearnerInfo info;
  uint8_t flags, address_len, zone_len;
  if (!r.U8(&flags) || (flags & ~3) != 0 || !r.U8(&address_len) ||
      !r.Bytes(address_len, &info.address) || !r.U8(&zone_len) ||
      !r.Bytes(zone_len, &info.zone) || !r.done()) {
    return absl::InvalidArgumentError("a malformed learner info");
  }
  if (info.address.size() > kMaxAddressBytes ||
      info.zone.size() > kMaxZoneBytes) {
    return absl::InvalidArgumentError("a learner info field is too long");
  }
  info.joining = (flags & 1) != 0;
  info.needs_snapshot = (flags & 2) != 0;
  return info;
}

std::string ConfigEntryData(const Config& config) {
  std::string data(1, '\0');
  data += EncodeConfig(config);
  return data;
}

absl::StatusOr<Config> ConfigOfEntry(const Entry& entry) {
  if (!IsConfigData(entry.data)) {
    return absl::InvalidArgumentError("not a config entry");
  }
  absl::StatusOr<Config> config =
      DecodeConfig(std::string_view(entry.data).substr(1));
  if (!config.ok()) return config.status();
  if (config->version != entry.zxid) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a config entry at ", ZxidString(entry.zxid), " claims version ",
        ZxidString(config->version)));
  }
  return config;
}

const Member* FindMember(const Config& config, std::string_view who) {
  uint64_t id = 0;
  if (absl::SimpleAtoi(absl::string_view(who.data(), who.size()), &id)) {
    if (const Member* m = config.Find(id)) return m;
  }
  for (const std::vector<Member>* list : {&config.voters, &config.observers}) {
    for (const Member& m : *list) {
      if (m.address == who) return &m;
    }
  }
  return nullptr;
}

bool ChangeInEffect(const Config& before, const Config& after,
                    std::string_view add_voter, std::string_view remove) {
  if (!add_voter.empty()) {
    const Member* m = FindMember(after, add_voter);
    return m != nullptr && after.IsVoter(m->id);
  }
  const Member* m = FindMember(before, remove);
  if (m == nullptr) return false;
  // A removed voter that still runs may be back as an observer already.
  if (before.IsVoter(m->id)) return !after.IsVoter(m->id);
  return false;
}

std::string DescribeConfig(const Config& config) {
  auto list = [](const std::vector<Member>& members) {
    std::string s = "{";
    for (size_t i = 0; i < members.size(); ++i) {
      absl::StrAppend(&s, i ? ", " : "", members[i].id, "@",
                      members[i].address);
    }
    return s + "}";
  };
  return absl::StrCat("v", ZxidString(config.version), " voters ",
                      list(config.voters), " observers ",
                      list(config.observers));
}

}  // namespace synod::zab
