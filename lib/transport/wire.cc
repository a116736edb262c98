// zab::Message <-> transport::PeerMessage, and the validation of what a
// peer sends (see wire.h).

#include "transport/wire.h"

#include <climits>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "util/strings.h"
#include "zab/config.h"

namespace synod::transport {
namespace {

// The wire enums are the zab enums shifted by one (0 = unspecified).
PeerMessage::Type TypeToWire(zab::MessageType type) {
  const int value = static_cast<int>(type) + 1;
  return PeerMessage::Type_IsValid(value)
             ? static_cast<PeerMessage::Type>(value)
             : PeerMessage::TYPE_UNSPECIFIED;
}

PeerMessage::State StateToWire(zab::PeerState state) {
  const int value = static_cast<int>(state) + 1;
  return PeerMessage::State_IsValid(value)
             ? static_cast<PeerMessage::State>(value)
             : PeerMessage::STATE_UNSPECIFIED;
}

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("peer message: ", AV(what)));
}

absl::Status CheckNonNegative(int64_t value, std::string_view field) {
  if (value < 0) {
    return Invalid(absl::StrCat(AV(field), " is negative (", value, ")"));
  }
  return absl::OkStatus();
}

// a + b, saturating at SIZE_MAX.
size_t SatAdd(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }
// a * b, saturating at SIZE_MAX.
size_t SatMul(size_t a, size_t b) {
  return (b != 0 && a > SIZE_MAX / b) ? SIZE_MAX : a * b;
}

// An upper bound on the encoded size of any message FromWire would accept
// under `limits` (generous: per-field overheads at their maximum, plus
// slack for the fixed fields, the ensemble id and unknown fields).
size_t MaxEncodedSize(const WireLimits& limits) {
  constexpr size_t kPerEntry = 32;     // tags, lengths, a 10-byte varint
  constexpr size_t kPerEpochEnd = 11;  // unpacked: tag + 10-byte varint
  constexpr size_t kFixed = 64 * 1024;
  size_t n = SatAdd(limits.max_bytes, kFixed);
  n = SatAdd(n, SatMul(limits.max_entries, kPerEntry));
  n = SatAdd(n, SatMul(limits.max_epoch_ends, kPerEpochEnd));
  return n;
}

}  // namespace

void ToWire(const zab::Message& m, std::string_view ensemble_id,
            PeerMessage* out) {
  out->Clear();
  out->set_ensemble_id(std::string(ensemble_id));
  out->set_type(TypeToWire(m.type));
  out->set_from(m.from);
  out->set_to(m.to);
  PeerVote* vote = out->mutable_vote();
  vote->set_leader(m.vote.leader);
  vote->set_zxid(m.vote.zxid);
  vote->set_epoch(m.vote.epoch);
  out->set_round(m.round);
  out->set_state(StateToWire(m.state));
  out->set_epoch(m.epoch);
  out->set_zxid(m.zxid);
  out->set_prev_zxid(m.prev_zxid);
  out->mutable_epoch_ends()->Reserve(static_cast<int>(m.epoch_ends.size()));
  for (Zxid end : m.epoch_ends) out->add_epoch_ends(end);
  out->mutable_entries()->Reserve(static_cast<int>(m.entries.size()));
  for (const zab::Entry& e : m.entries) {
    PeerEntry* pe = out->add_entries();
    pe->set_zxid(e.zxid);
    pe->set_data(e.data);
  }
  out->set_data(m.data);
  out->set_last(m.last);
  out->set_offset(m.offset);
  out->set_request_id(m.request_id);
}

absl::StatusOr<zab::Message> FromWire(const PeerMessage& in,
                                      std::string_view expected_ensemble_id,
                                      const WireLimits& limits) {
  // Who is speaking, and in what ensemble, first.
  if (in.ensemble_id() != expected_ensemble_id) {
    return Invalid(absl::StrCat("ensemble_id \"", AV(in.ensemble_id()),
                                "\" is not this ensemble's (\"",
                                AV(expected_ensemble_id), "\")"));
  }
  if (in.from() == 0) return Invalid("from is 0 (peer ids are nonzero)");

  // Enums: proto3 keeps unknown values, so check them explicitly.
  const int type = static_cast<int>(in.type());
  if (type == PeerMessage::TYPE_UNSPECIFIED ||
      !PeerMessage::Type_IsValid(type)) {
    return Invalid(absl::StrCat("type ", type, " is unknown"));
  }
  const int state = static_cast<int>(in.state());
  if (state == PeerMessage::STATE_UNSPECIFIED ||
      !PeerMessage::State_IsValid(state)) {
    return Invalid(absl::StrCat("state ", state, " is unknown"));
  }

  // Scalars.
  if (auto s = CheckNonNegative(in.vote().zxid(), "vote.zxid"); !s.ok()) {
    return s;
  }
  if (auto s = CheckNonNegative(in.vote().epoch(), "vote.epoch"); !s.ok()) {
    return s;
  }
  if (auto s = CheckNonNegative(in.round(), "round"); !s.ok()) return s;
  if (auto s = CheckNonNegative(in.epoch(), "epoch"); !s.ok()) return s;
  if (auto s = CheckNonNegative(in.zxid(), "zxid"); !s.ok()) return s;
  if (auto s = CheckNonNegative(in.prev_zxid(), "prev_zxid"); !s.ok()) {
    return s;
  }
  if (in.offset() > limits.max_snapshot_bytes) {
    return Invalid(absl::StrCat("offset ", in.offset(),
                                " exceeds the snapshot limit ",
                                limits.max_snapshot_bytes));
  }

  // epoch_ends: bounded, non-negative, strictly increasing.
  const size_t n_ends = static_cast<size_t>(in.epoch_ends_size());
  if (n_ends > limits.max_epoch_ends) {
    return Invalid(absl::StrCat("epoch_ends has ", n_ends,
                                " values, more than the limit ",
                                limits.max_epoch_ends));
  }
  for (size_t i = 0; i < n_ends; ++i) {
    const int64_t end = in.epoch_ends(static_cast<int>(i));
    if (end < 0) {
      return Invalid(absl::StrCat("epoch_ends[", i, "] is negative (", end,
                                  ")"));
    }
    if (i > 0 && end <= in.epoch_ends(static_cast<int>(i - 1))) {
      return Invalid(absl::StrCat("epoch_ends[", i, "] (", end,
                                  ") does not increase on epoch_ends[", i - 1,
                                  "]"));
    }
  }

  // entries: bounded, positive, strictly increasing zxids; payload bounded.
  const size_t n_entries = static_cast<size_t>(in.entries_size());
  if (n_entries > limits.max_entries) {
    return Invalid(absl::StrCat("entries has ", n_entries,
                                " entries, more than the limit ",
                                limits.max_entries));
  }
  size_t payload = in.data().size();
  if (payload > limits.max_bytes) {
    return Invalid(absl::StrCat("data has ", payload,
                                " bytes, more than the limit ",
                                limits.max_bytes));
  }
  for (size_t i = 0; i < n_entries; ++i) {
    const PeerEntry& e = in.entries(static_cast<int>(i));
    if (e.zxid() <= 0) {
      return Invalid(absl::StrCat("entries[", i, "].zxid is not positive (",
                                  e.zxid(), ")"));
    }
    if (i > 0 && e.zxid() <= in.entries(static_cast<int>(i - 1)).zxid()) {
      return Invalid(absl::StrCat("entries[", i, "].zxid (", e.zxid(),
                                  ") does not increase on entries[", i - 1,
                                  "]"));
    }
    if (zab::IsConfigData(e.data())) {
      // A config entry (zab/config.h) must be one: the core trusts it.
      const absl::Status s =
          zab::ConfigOfEntry(zab::Entry{e.zxid(), e.data()}).status();
      if (!s.ok()) {
        return Invalid(absl::StrCat("entries[", i, "] is a damaged config "
                                    "entry: ", s.message()));
      }
    }
    payload += e.data().size();  // each term <= max_bytes: no overflow
    if (payload > limits.max_bytes) {
      return Invalid(absl::StrCat("data and entries[].data total more than ",
                                  "the limit of ", limits.max_bytes,
                                  " bytes (at entries[", i, "])"));
    }
  }

  zab::Message m;
  m.type = static_cast<zab::MessageType>(type - 1);
  m.from = in.from();
  m.to = in.to();
  m.vote.leader = in.vote().leader();
  m.vote.zxid = in.vote().zxid();
  m.vote.epoch = in.vote().epoch();
  m.round = in.round();
  m.state = static_cast<zab::PeerState>(state - 1);
  m.epoch = in.epoch();
  m.zxid = in.zxid();
  m.prev_zxid = in.prev_zxid();
  m.epoch_ends.assign(in.epoch_ends().begin(), in.epoch_ends().end());
  m.entries.reserve(n_entries);
  for (const PeerEntry& e : in.entries()) {
    m.entries.push_back(zab::Entry{e.zxid(), e.data()});
  }
  m.data = in.data();
  m.last = in.last();
  m.offset = in.offset();
  m.request_id = in.request_id();
  return m;
}

absl::StatusOr<zab::Message> ParseWire(std::string_view bytes,
                                       std::string_view expected_ensemble_id,
                                       const WireLimits& limits) {
  if (bytes.size() > MaxEncodedSize(limits) ||
      bytes.size() > static_cast<size_t>(INT_MAX)) {
    return Invalid(absl::StrCat("undecodable: ", bytes.size(),
                                " bytes is larger than any valid message"));
  }
  PeerMessage in;
  if (!in.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Invalid(absl::StrCat("undecodable: ", bytes.size(),
                                " bytes are not a PeerMessage"));
  }
  return FromWire(in, expected_ensemble_id, limits);
}

}  // namespace synod::transport
