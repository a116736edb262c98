// Tests for transport/wire: every zab message type survives ToWire/FromWire
// (and serialization through ParseWire) field for field, each validation
// rule rejects what it should and names the field, and random or mutated
// bytes never crash ParseWire nor yield a message that fails validation.

#include "transport/wire.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "zab/config.h"

namespace synod::transport {
namespace {

constexpr char kEnsemble[] = "ens-1";

// Compares every field of two messages.
void CheckSame(const zab::Message& a, const zab::Message& b) {
  CHECK(a.type == b.type);
  CHECK(a.from == b.from);
  CHECK(a.to == b.to);
  CHECK(a.vote.leader == b.vote.leader);
  CHECK(a.vote.zxid == b.vote.zxid);
  CHECK(a.vote.epoch == b.vote.epoch);
  CHECK(a.round == b.round);
  CHECK(a.state == b.state);
  CHECK(a.epoch == b.epoch);
  CHECK(a.zxid == b.zxid);
  CHECK(a.prev_zxid == b.prev_zxid);
  CHECK(a.epoch_ends == b.epoch_ends);
  CHECK(a.entries == b.entries);
  CHECK(a.data == b.data);
  CHECK(a.last == b.last);
  CHECK(a.offset == b.offset);
  CHECK(a.request_id == b.request_id);
}

constexpr zab::MessageType kAllTypes[] = {
    zab::MessageType::kNotification, zab::MessageType::kFollowerInfo,
    zab::MessageType::kLeaderInfo,   zab::MessageType::kAckEpoch,
    zab::MessageType::kDiff,         zab::MessageType::kTrunc,
    zab::MessageType::kSnap,         zab::MessageType::kSnapChunk,
    zab::MessageType::kNewLeader,    zab::MessageType::kAckNewLeader,
    zab::MessageType::kUpToDate,     zab::MessageType::kProposal,
    zab::MessageType::kAck,          zab::MessageType::kCommit,
    zab::MessageType::kInform,       zab::MessageType::kPing,
    zab::MessageType::kRequest,
};

// A message of `type` with every field that type uses set (message.h).
zab::Message Sample(zab::MessageType type) {
  using T = zab::MessageType;
  zab::Message m;
  m.type = type;
  m.from = 2;
  m.to = 0xFFFFFFFFFFFFFFF1u;  // ids use all 64 bits
  const Zxid z = MakeZxid(3, 0x1f);
  switch (type) {
    case T::kNotification:
      m.vote = {7, z, 3};
      m.round = 12;
      m.state = zab::PeerState::kObserving;
      break;
    case T::kFollowerInfo:
    case T::kLeaderInfo:
      m.epoch = 4;
      break;
    case T::kAckEpoch:
      m.epoch = 3;
      m.zxid = z;
      m.epoch_ends = {0, MakeZxid(1, 9), MakeZxid(2, 1), z};
      break;
    case T::kDiff:
    case T::kTrunc:
      m.zxid = z;
      // Binary data travels as it is (a leading zero byte would mark a
      // config entry, which must decode).
      m.entries = {{z + 1, "a"}, {z + 2, std::string("b\0\xff", 3)},
                   {MakeZxid(4, 1), ""}};
      break;
    case T::kSnap:
      m.zxid = z;
      break;
    case T::kSnapChunk:
      m.zxid = z;
      m.data = std::string(1000, '\x7f');
      m.offset = 4096;
      m.last = true;
      break;
    case T::kNewLeader:
      m.epoch = 4;
      m.zxid = z;
      break;
    case T::kAckNewLeader:
    case T::kUpToDate:
      m.zxid = z;
      break;
    case T::kProposal:
      m.prev_zxid = z;
      m.entries = {{z + 1, "payload"}};
      break;
    case T::kAck:
    case T::kCommit:
    case T::kPing:
      m.zxid = z;
      break;
    case T::kInform:
      m.prev_zxid = z;
      m.zxid = z + 2;
      m.entries = {{z + 1, "x"}, {z + 2, "y"}};
      break;
    case T::kRequest:
      m.entries = {{7, "request bytes"}, {8, "more"}};
      m.request_id = 8;
      break;
  }
  return m;
}

// A message with every field set, valid under the default limits.
zab::Message Full() {
  zab::Message m = Sample(zab::MessageType::kInform);
  m.vote = {9, MakeZxid(2, 2), 2};
  m.round = 5;
  m.state = zab::PeerState::kLeading;
  m.epoch = 3;
  m.epoch_ends = {MakeZxid(1, 1), MakeZxid(2, 5)};
  m.data = "d";
  m.last = true;
  m.offset = 17;
  m.request_id = 99;
  return m;
}

PeerMessage Encode(const zab::Message& m) {
  PeerMessage pm;
  ToWire(m, kEnsemble, &pm);
  return pm;
}

// Requires FromWire to reject `pm` with InvalidArgument naming `field`.
void RequireRejected(const PeerMessage& pm, const std::string& field,
                     const WireLimits& limits = WireLimits()) {
  absl::StatusOr<zab::Message> got = FromWire(pm, kEnsemble, limits);
  REQUIRE_FALSE(got.ok());
  CHECK(got.status().code() == absl::StatusCode::kInvalidArgument);
  INFO(std::string(got.status().message()));
  CHECK(std::string(got.status().message()).find(field) != std::string::npos);
}

TEST_CASE("wire: every message type round-trips field for field", "[wire]") {
  for (zab::MessageType type : kAllTypes) {
    const zab::Message m = Sample(type);
    INFO(zab::MessageTypeName(type));
    const PeerMessage pm = Encode(m);
    CHECK(pm.ensemble_id() == kEnsemble);

    absl::StatusOr<zab::Message> direct = FromWire(pm, kEnsemble, {});
    REQUIRE(direct.ok());
    CheckSame(*direct, m);

    absl::StatusOr<zab::Message> parsed =
        ParseWire(pm.SerializeAsString(), kEnsemble, {});
    REQUIRE(parsed.ok());
    CheckSame(*parsed, m);
  }
}

TEST_CASE("wire: every peer state round-trips", "[wire]") {
  for (zab::PeerState state :
       {zab::PeerState::kLooking, zab::PeerState::kFollowing,
        zab::PeerState::kLeading, zab::PeerState::kObserving}) {
    zab::Message m = Sample(zab::MessageType::kNotification);
    m.state = state;
    absl::StatusOr<zab::Message> got = FromWire(Encode(m), kEnsemble, {});
    REQUIRE(got.ok());
    CHECK(got->state == state);
  }
}

TEST_CASE("wire: every field is carried, whatever the type", "[wire]") {
  const zab::Message m = Full();
  absl::StatusOr<zab::Message> got =
      ParseWire(Encode(m).SerializeAsString(), kEnsemble, {});
  REQUIRE(got.ok());
  CheckSame(*got, m);
}

TEST_CASE("wire: the default message round-trips except for its sender",
          "[wire]") {
  zab::Message m;  // all zero: only `from` is invalid
  m.from = 1;
  absl::StatusOr<zab::Message> got = FromWire(Encode(m), kEnsemble, {});
  REQUIRE(got.ok());
  CheckSame(*got, m);
}

TEST_CASE("wire: rejects an unknown or missing type", "[wire]") {
  PeerMessage pm = Encode(Full());
  pm.set_type(static_cast<PeerMessage::Type>(99));
  RequireRejected(pm, "type");
  pm.set_type(PeerMessage::TYPE_UNSPECIFIED);
  RequireRejected(pm, "type");
  pm.set_type(static_cast<PeerMessage::Type>(-1));
  RequireRejected(pm, "type");
}

TEST_CASE("wire: rejects an unknown or missing state", "[wire]") {
  PeerMessage pm = Encode(Full());
  pm.set_state(static_cast<PeerMessage::State>(5));
  RequireRejected(pm, "state");
  pm.set_state(PeerMessage::STATE_UNSPECIFIED);
  RequireRejected(pm, "state");
}

TEST_CASE("wire: rejects another ensemble's peer", "[wire]") {
  PeerMessage pm = Encode(Full());
  pm.set_ensemble_id("ens-2");
  RequireRejected(pm, "ensemble_id");
  pm.clear_ensemble_id();
  RequireRejected(pm, "ensemble_id");
  // The message itself is fine for its own ensemble.
  CHECK(FromWire(pm, "", {}).ok());
}

TEST_CASE("wire: rejects a zero sender", "[wire]") {
  PeerMessage pm = Encode(Full());
  pm.set_from(0);
  RequireRejected(pm, "from");
}

TEST_CASE("wire: rejects negative zxids, epochs and rounds", "[wire]") {
  SECTION("vote.zxid") {
    PeerMessage pm = Encode(Full());
    pm.mutable_vote()->set_zxid(-1);
    RequireRejected(pm, "vote.zxid");
  }
  SECTION("vote.epoch") {
    PeerMessage pm = Encode(Full());
    pm.mutable_vote()->set_epoch(INT64_MIN);
    RequireRejected(pm, "vote.epoch");
  }
  SECTION("round") {
    PeerMessage pm = Encode(Full());
    pm.set_round(-3);
    RequireRejected(pm, "round");
  }
  SECTION("epoch") {
    PeerMessage pm = Encode(Full());
    pm.set_epoch(-1);
    RequireRejected(pm, "epoch");
  }
  SECTION("zxid") {
    PeerMessage pm = Encode(Full());
    pm.set_zxid(-1);
    RequireRejected(pm, "zxid");
  }
  SECTION("prev_zxid") {
    PeerMessage pm = Encode(Full());
    pm.set_prev_zxid(-1);
    RequireRejected(pm, "prev_zxid");
  }
  SECTION("epoch_ends") {
    PeerMessage pm = Encode(Full());
    pm.clear_epoch_ends();
    pm.add_epoch_ends(-5);
    RequireRejected(pm, "epoch_ends[0]");
  }
}

TEST_CASE("wire: rejects entries whose zxids are not positive", "[wire]") {
  PeerMessage pm = Encode(Full());
  pm.mutable_entries(0)->set_zxid(0);
  RequireRejected(pm, "entries[0].zxid");
  pm.mutable_entries(0)->set_zxid(-7);
  RequireRejected(pm, "entries[0].zxid");
}

TEST_CASE("wire: rejects entries whose zxids do not strictly increase",
          "[wire]") {
  PeerMessage pm = Encode(Full());
  REQUIRE(pm.entries_size() == 2);
  pm.mutable_entries(1)->set_zxid(pm.entries(0).zxid());  // equal
  RequireRejected(pm, "entries[1].zxid");
  pm.mutable_entries(1)->set_zxid(pm.entries(0).zxid() - 1);  // decreasing
  RequireRejected(pm, "entries[1].zxid");
}

TEST_CASE("wire: carries a config entry, and rejects a damaged one",
          "[wire]") {
  zab::Message m = Full();
  REQUIRE(m.entries.size() == 2);
  zab::Config c = zab::FoundingConfig({1, 2, 3}, {});
  c.version = m.entries[1].zxid;
  m.entries[1].data = zab::ConfigEntryData(c);
  const PeerMessage good = Encode(m);
  absl::StatusOr<zab::Message> back = FromWire(good, kEnsemble, WireLimits());
  REQUIRE(back.ok());
  CHECK(back->entries[1].data == m.entries[1].data);
  PeerMessage bad = good;
  bad.mutable_entries(1)->mutable_data()->pop_back();  // truncated
  RequireRejected(bad, "entries[1] is a damaged config entry");
  bad = good;
  bad.mutable_entries(1)->set_zxid(good.entries(1).zxid() + 1);  // version
  RequireRejected(bad, "entries[1] is a damaged config entry");
}

TEST_CASE("wire: rejects epoch_ends that do not strictly increase",
          "[wire]") {
  PeerMessage pm = Encode(Full());
  pm.clear_epoch_ends();
  for (int64_t end : {1, 5, 5}) pm.add_epoch_ends(end);
  RequireRejected(pm, "epoch_ends[2]");
  pm.set_epoch_ends(2, 4);
  RequireRejected(pm, "epoch_ends[2]");
  pm.set_epoch_ends(2, 6);
  CHECK(FromWire(pm, kEnsemble, {}).ok());
}

TEST_CASE("wire: rejects more entries than the limit", "[wire]") {
  WireLimits limits;
  limits.max_entries = 3;
  zab::Message m = Sample(zab::MessageType::kDiff);
  REQUIRE(m.entries.size() == 3);
  CHECK(FromWire(Encode(m), kEnsemble, limits).ok());  // at the limit
  m.entries.push_back({m.entries.back().zxid + 1, "z"});
  RequireRejected(Encode(m), "entries", limits);
  CHECK_FALSE(ParseWire(Encode(m).SerializeAsString(), kEnsemble, limits).ok());
}

TEST_CASE("wire: rejects more epoch_ends than the limit", "[wire]") {
  WireLimits limits;
  limits.max_epoch_ends = 4;
  zab::Message m = Sample(zab::MessageType::kAckEpoch);
  REQUIRE(m.epoch_ends.size() == 4);
  CHECK(FromWire(Encode(m), kEnsemble, limits).ok());  // at the limit
  m.epoch_ends.push_back(m.epoch_ends.back() + 1);
  RequireRejected(Encode(m), "epoch_ends", limits);
}

TEST_CASE("wire: rejects payloads beyond max_bytes", "[wire]") {
  WireLimits limits;
  limits.max_bytes = 10;
  SECTION("data alone") {
    zab::Message m = Sample(zab::MessageType::kRequest);
    m.entries.clear();
    m.data = std::string(10, 'x');
    CHECK(FromWire(Encode(m), kEnsemble, limits).ok());  // at the limit
    m.data += 'x';
    RequireRejected(Encode(m), "data", limits);
  }
  SECTION("entries' data, summed") {
    zab::Message m = Sample(zab::MessageType::kDiff);
    m.entries = {{1, std::string(6, 'a')}, {2, std::string(4, 'b')}};
    CHECK(FromWire(Encode(m), kEnsemble, limits).ok());  // at the limit
    m.entries.push_back({3, "c"});
    RequireRejected(Encode(m), "entries[2]", limits);
  }
  SECTION("data and entries together") {
    zab::Message m = Full();
    m.offset = 0;
    m.data = std::string(6, 'd');
    m.entries = {{1, std::string(5, 'e')}};
    RequireRejected(Encode(m), "entries[0]", limits);
  }
}

TEST_CASE("wire: rejects an offset beyond max_snapshot_bytes", "[wire]") {
  WireLimits limits;
  limits.max_bytes = 10;  // one message's limit does not bound a snapshot
  limits.max_snapshot_bytes = 100;
  zab::Message m = Sample(zab::MessageType::kSnapChunk);
  m.data = "chunk";
  m.offset = 100;
  CHECK(FromWire(Encode(m), kEnsemble, limits).ok());  // at the limit
  m.offset = 101;
  RequireRejected(Encode(m), "offset", limits);
  m.offset = UINT64_MAX;
  RequireRejected(Encode(m), "offset", limits);
}

TEST_CASE("wire: ParseWire rejects undecodable bytes", "[wire]") {
  for (const std::string& bytes :
       {std::string("\xff\xff\xff\xff", 4),   // bad tag / varint
        std::string("\x0a\x10" "ab", 4),      // length beyond the end
        std::string("\x07", 1)}) {            // wire type 7 does not exist
    absl::StatusOr<zab::Message> got = ParseWire(bytes, kEnsemble, {});
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(got.status().message()).find("undecodable") !=
          std::string::npos);
  }
  // Empty bytes decode (an all-default message) but fail validation.
  CHECK_FALSE(ParseWire("", kEnsemble, {}).ok());
}

TEST_CASE("wire: ParseWire rejects input larger than any valid message",
          "[wire]") {
  WireLimits limits;
  limits.max_bytes = 16;
  limits.max_entries = 1;
  limits.max_epoch_ends = 1;
  const std::string huge(1 << 20, '\0');
  absl::StatusOr<zab::Message> got = ParseWire(huge, kEnsemble, limits);
  REQUIRE_FALSE(got.ok());
  CHECK(std::string(got.status().message()).find("undecodable") !=
        std::string::npos);
}

// Whatever ParseWire accepts must survive another trip unchanged.
void CheckAcceptedIsValid(const absl::StatusOr<zab::Message>& got) {
  if (!got.ok()) {
    CHECK(got.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  absl::StatusOr<zab::Message> again =
      ParseWire(Encode(*got).SerializeAsString(), kEnsemble, {});
  REQUIRE(again.ok());
  CheckSame(*again, *got);
}

TEST_CASE("wire: random bytes never crash ParseWire", "[wire]") {
  std::mt19937_64 rng(20261123);
  int accepted = 0;
  for (int i = 0; i < 1000; ++i) {
    std::string bytes(rng() % 257, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    absl::StatusOr<zab::Message> got = ParseWire(bytes, kEnsemble, {});
    accepted += got.ok();
    CheckAcceptedIsValid(got);
  }
  // Random bytes essentially never name the right ensemble.
  CHECK(accepted == 0);
}

TEST_CASE("wire: mutated valid messages never crash ParseWire", "[wire]") {
  std::mt19937_64 rng(7);
  std::vector<std::string> seeds;
  for (zab::MessageType type : kAllTypes) {
    seeds.push_back(Encode(Sample(type)).SerializeAsString());
  }
  seeds.push_back(Encode(Full()).SerializeAsString());
  int accepted = 0;
  for (int i = 0; i < 1000; ++i) {
    std::string bytes = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !bytes.empty(); ++e) {
      switch (rng() % 3) {
        case 0:  // flip a byte
          bytes[rng() % bytes.size()] = static_cast<char>(rng());
          break;
        case 1:  // truncate
          bytes.resize(rng() % bytes.size());
          break;
        case 2:  // insert a byte
          bytes.insert(bytes.begin() + static_cast<long>(rng() % bytes.size()),
                       static_cast<char>(rng()));
          break;
      }
    }
    absl::StatusOr<zab::Message> got = ParseWire(bytes, kEnsemble, {});
    accepted += got.ok();
    CheckAcceptedIsValid(got);
  }
  // Some mutations leave a valid message (e.g. a changed payload byte).
  CHECK(accepted > 0);
}

}  // namespace
}  // namespace synod::transport
