// Fuzzes what a peer receives from another (lib/transport/wire.h): the
// input is read both as a serialized PeerMessage (ParseWire) and as a
// serialized LinkFrame, the unit of a peer link (a hello, a message or a
// session touch), under the default WireLimits and under small ones.
//
// Properties: nothing crashes; refusals are InvalidArgument; an accepted
// message has what wire.h promises (nonzero sender, known enums, no
// negative zxid/epoch/round, strictly increasing positive entry zxids and
// epoch ends, payload within the limits) and ToWire gives it back field
// for field; a hello's listen bytes and every accepted message's data,
// read as what a learner tells its leader (zab::LearnerInfo), decode only
// within its bounds and encode back to the same bytes.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fuzz_util.h"
#include "transport/link.pb.h"
#include "transport/peer.pb.h"
#include "transport/peer_network.h"
#include "transport/wire.h"
#include "zab/config.h"
#include "zab/message.h"

namespace synod::fuzz {
namespace {

constexpr std::string_view kEnsemble = "E";

transport::WireLimits SmallLimits() {
  transport::WireLimits limits;
  limits.max_entries = 4;
  limits.max_epoch_ends = 4;
  limits.max_bytes = 256;
  limits.max_snapshot_bytes = 1 << 20;
  return limits;
}

bool Same(const zab::Message& a, const zab::Message& b) {
  return a.type == b.type && a.from == b.from && a.to == b.to &&
         a.vote == b.vote && a.round == b.round && a.state == b.state &&
         a.epoch == b.epoch && a.zxid == b.zxid && a.prev_zxid == b.prev_zxid &&
         a.epoch_ends == b.epoch_ends && a.entries == b.entries &&
         a.data == b.data && a.last == b.last && a.offset == b.offset &&
         a.request_id == b.request_id;
}

// Checks an accepted message against wire.h's promises and its round trip.
void CheckAccepted(const zab::Message& m, std::string_view ensemble,
                   const transport::WireLimits& limits) {
  const std::string what = zab::Describe(m);
  SYNOD_FUZZ_CHECK(m.from != 0, what);
  SYNOD_FUZZ_CHECK(m.vote.zxid >= 0 && m.vote.epoch >= 0 && m.round >= 0 &&
                       m.epoch >= 0 && m.zxid >= 0 && m.prev_zxid >= 0,
                   what);
  SYNOD_FUZZ_CHECK(m.offset <= limits.max_snapshot_bytes, what);
  SYNOD_FUZZ_CHECK(m.entries.size() <= limits.max_entries &&
                       m.epoch_ends.size() <= limits.max_epoch_ends,
                   what);
  size_t payload = m.data.size();
  for (size_t i = 0; i < m.entries.size(); ++i) {
    SYNOD_FUZZ_CHECK(m.entries[i].zxid > 0, what);
    if (i > 0) SYNOD_FUZZ_CHECK(m.entries[i].zxid > m.entries[i - 1].zxid, what);
    payload += m.entries[i].data.size();
  }
  SYNOD_FUZZ_CHECK(payload <= limits.max_bytes, what);
  for (size_t i = 0; i < m.epoch_ends.size(); ++i) {
    SYNOD_FUZZ_CHECK(m.epoch_ends[i] >= 0, what);
    if (i > 0) SYNOD_FUZZ_CHECK(m.epoch_ends[i] > m.epoch_ends[i - 1], what);
  }
  transport::PeerMessage wire;
  transport::ToWire(m, ensemble, &wire);
  const std::string bytes = wire.SerializeAsString();
  absl::StatusOr<zab::Message> back =
      transport::ParseWire(bytes, ensemble, limits);
  SYNOD_FUZZ_CHECK(back.ok(), absl::StrCat(what, ": ", back.status().ToString()));
  SYNOD_FUZZ_CHECK(Same(m, *back), absl::StrCat(what, " came back as ",
                                                zab::Describe(*back)));
}

void CheckRefusal(const absl::Status& s) {
  SYNOD_FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument, s.ToString());
}

// What a learner tells its leader (FOLLOWERINFO's data): strict decoding,
// bounded fields, and an encoding that gives the same bytes back.
void CheckLearnerInfo(std::string_view bytes) {
  absl::StatusOr<zab::LearnerInfo> info = zab::DecodeLearnerInfo(bytes);
  if (!info.ok()) {
    CheckRefusal(info.status());
    return;
  }
  SYNOD_FUZZ_CHECK(info->address.size() <= zab::kMaxAddressBytes &&
                       info->zone.size() <= zab::kMaxZoneBytes,
                   Printable(bytes));
  SYNOD_FUZZ_CHECK(zab::EncodeLearnerInfo(*info) == bytes, Printable(bytes));
}

void CheckMessage(const transport::PeerMessage& in,
                  const transport::WireLimits& limits) {
  // As sent by this ensemble, and as sent by whatever ensemble it names (so
  // the fuzzer need not guess the id to reach the other checks).
  for (std::string_view ensemble :
       {kEnsemble, std::string_view(in.ensemble_id())}) {
    absl::StatusOr<zab::Message> m = transport::FromWire(in, ensemble, limits);
    if (m.ok()) {
      CheckAccepted(*m, ensemble, limits);
      CheckLearnerInfo(m->data);
    } else {
      CheckRefusal(m.status());
    }
  }
}

void CheckHello(const transport::LinkHello& hello) {
  CheckLearnerInfo(hello.listen());
}

}  // namespace
}  // namespace synod::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace synod;
  using namespace synod::fuzz;
  if (size > kMaxInputBytes) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const transport::WireLimits limits[] = {transport::WireLimits(),
                                          SmallLimits()};

  for (const transport::WireLimits& l : limits) {
    absl::StatusOr<zab::Message> m = transport::ParseWire(bytes, kEnsemble, l);
    if (m.ok()) {
      CheckAccepted(*m, kEnsemble, l);
    } else {
      CheckRefusal(m.status());
    }
  }
  transport::PeerMessage message;
  if (message.ParseFromArray(data, static_cast<int>(size))) {
    for (const transport::WireLimits& l : limits) CheckMessage(message, l);
  }

  transport::LinkFrame frame;
  if (!frame.ParseFromArray(data, static_cast<int>(size))) return 0;
  switch (frame.body_case()) {
    case transport::LinkFrame::kHello:
      CheckHello(frame.hello());
      break;
    case transport::LinkFrame::kMessage:
      for (const transport::WireLimits& l : limits) {
        CheckMessage(frame.message(), l);
      }
      break;
    case transport::LinkFrame::kTouch:
    case transport::LinkFrame::kTouchAck:  // plain numbers, nothing to check
    case transport::LinkFrame::BODY_NOT_SET:
      break;
  }
  return 0;
}
