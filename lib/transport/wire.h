// The wire encoding of zab::Message between peers (transport/peer.proto),
// and its validation. Everything a peer receives goes through FromWire or
// ParseWire: a message they accept has known enum values, the expected
// ensemble id, a nonzero sender, no negative zxid/epoch/round, strictly
// increasing positive entry zxids, strictly increasing epoch ends, and
// repeated fields and payloads within WireLimits. The zab core may then
// trust those properties; per-type protocol checks stay in the core.

#ifndef SYNOD_TRANSPORT_WIRE_H_
#define SYNOD_TRANSPORT_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "transport/peer.pb.h"
#include "util/limits.h"
#include "zab/message.h"

namespace synod::transport {

// Bounds on what one peer message may carry.
struct WireLimits {
  // Most entries in one message (DIFF/TRUNC/INFORM batches are bounded by
  // the core's max_diff_entries, far below this).
  size_t max_entries = 65536;
  // Most epoch ends in one ACKEPOCH (one per epoch in the sender's log).
  size_t max_epoch_ends = 65536;
  // Most payload bytes in one message: `data` plus every entry's data. A
  // batch takes no more entries past the core's max_batch_bytes (1 MiB),
  // but one entry may be as large as any accepted request makes it.
  size_t max_bytes = static_cast<size_t>(kEntryBytesCeiling) + (size_t{1} << 20);
  // Largest `offset` a SNAPCHUNK may name: a snapshot streams in many
  // messages, so it may be far larger than one message (1 TiB).
  uint64_t max_snapshot_bytes = uint64_t{1} << 40;
};

// Fills `out` (cleared first) with `m` and `ensemble_id`. Every field of
// `m` is carried, whatever its type, so FromWire(ToWire(m)) reproduces `m`
// field for field whenever `m` is itself valid.
void ToWire(const zab::Message& m, std::string_view ensemble_id,
            PeerMessage* out);

// Returns the zab::Message `in` carries, or InvalidArgument naming the
// offending field if `in` breaks any rule in this file's comment or comes
// from an ensemble other than `expected_ensemble_id`. Never crashes on any
// input.
absl::StatusOr<zab::Message> FromWire(const PeerMessage& in,
                                      std::string_view expected_ensemble_id,
                                      const WireLimits& limits);

// Decodes `bytes` as a PeerMessage and validates it as FromWire does.
// Returns InvalidArgument "undecodable ..." if `bytes` is not a
// PeerMessage, or is larger than any message within `limits` could be
// (checked before decoding, so oversized input costs no allocation).
absl::StatusOr<zab::Message> ParseWire(std::string_view bytes,
                                       std::string_view expected_ensemble_id,
                                       const WireLimits& limits);

}  // namespace synod::transport

#endif  // SYNOD_TRANSPORT_WIRE_H_
