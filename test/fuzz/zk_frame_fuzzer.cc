// Fuzzes the decoders of ZooKeeper's client protocol (lib/zkwire/): the
// input is one frame body, read as a request (DecodeRequest), as a connect
// request (DecodeConnectRequest) and as a multi reply (ReadMultiResponse),
// and its first four bytes as a frame length.
//
// Properties: nothing crashes; every refusal is MarshallingError; a
// refused-but-answered request carries one of the errors synod answers
// with; a decoded request or connect request re-encodes to bytes that
// decode to the same thing and re-encode to the same bytes; a decoded multi
// reply writes back to bytes that read to the same results.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "synod/types.h"
#include "zkwire/jute.h"
#include "zkwire/zk_protocol.h"
#include "zkwire/zk_records.h"
#include "zkwire/zk_requests.h"
#include "zkwire/zk_responses.h"

namespace synod::fuzz {
namespace {

constexpr int32_t kMaxLength = static_cast<int32_t>(kMaxInputBytes);

void CheckRefusal(const absl::Status& s) {
  SYNOD_FUZZ_CHECK(ErrorOf(s) == Error::kMarshallingError,
                   std::string(s.message()));
}

void FuzzRequest(std::string_view body) {
  absl::StatusOr<zkwire::Request> r = zkwire::DecodeRequest(body, kMaxLength);
  if (!r.ok()) {
    CheckRefusal(r.status());
    return;
  }
  if (r->kind == zkwire::RequestKind::kRefused) {
    SYNOD_FUZZ_CHECK(r->error == zkwire::ZkError::kUnimplemented ||
                         r->error == zkwire::ZkError::kReconfigDisabled ||
                         r->error == zkwire::ZkError::kBadArguments,
                     Printable(body));
    return;
  }
  std::string once;
  zkwire::EncodeRequest(*r, &once);
  absl::StatusOr<zkwire::Request> again =
      zkwire::DecodeRequest(once, kMaxLength);
  SYNOD_FUZZ_CHECK(again.ok(), Printable(once));
  SYNOD_FUZZ_CHECK(again->kind == r->kind, Printable(once));
  SYNOD_FUZZ_CHECK(again->header.xid == r->header.xid &&
                       again->header.type == r->header.type,
                   Printable(once));
  SYNOD_FUZZ_CHECK(again->write.SerializeAsString() ==
                       r->write.SerializeAsString(),
                   Printable(once));
  SYNOD_FUZZ_CHECK(again->result_types == r->result_types, Printable(once));
  std::string twice;
  zkwire::EncodeRequest(*again, &twice);
  SYNOD_FUZZ_CHECK(twice == once, Printable(once));
}

void FuzzConnect(std::string_view body) {
  absl::StatusOr<zkwire::ConnectRequest> c =
      zkwire::DecodeConnectRequest(body, kMaxLength);
  if (!c.ok()) {
    CheckRefusal(c.status());
    return;
  }
  std::string once;
  zkwire::EncodeConnectRequest(*c, &once);
  absl::StatusOr<zkwire::ConnectRequest> again =
      zkwire::DecodeConnectRequest(once, kMaxLength);
  SYNOD_FUZZ_CHECK(again.ok(), Printable(once));
  SYNOD_FUZZ_CHECK(again->session_id == c->session_id &&
                       again->timeout_ms == c->timeout_ms &&
                       again->last_zxid_seen == c->last_zxid_seen &&
                       again->protocol_version == c->protocol_version &&
                       again->password == c->password &&
                       again->read_only == c->read_only,
                   Printable(once));
}

void FuzzMultiResponse(std::string_view body) {
  zkwire::JuteReader in(body, kMaxLength);
  std::vector<zkwire::OpResult> results;
  absl::Status s = zkwire::ReadMultiResponse(&in, &results);
  if (!s.ok()) {
    CheckRefusal(s);
    return;
  }
  std::string once;
  zkwire::JuteWriter w(&once);
  zkwire::WriteMultiResponse(results, &w);
  zkwire::JuteReader back(once, kMaxLength);
  std::vector<zkwire::OpResult> again;
  SYNOD_FUZZ_CHECK(zkwire::ReadMultiResponse(&back, &again).ok() && back.done(),
                   Printable(once));
  SYNOD_FUZZ_CHECK(again.size() == results.size(), Printable(once));
  for (size_t i = 0; i < results.size(); ++i) {
    SYNOD_FUZZ_CHECK(again[i].type == results[i].type &&
                         again[i].path == results[i].path &&
                         again[i].stat == results[i].stat &&
                         again[i].data == results[i].data &&
                         again[i].children == results[i].children &&
                         again[i].err == results[i].err,
                     Printable(once));
  }
}

}  // namespace
}  // namespace synod::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace synod::fuzz;
  if (size > kMaxInputBytes) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  if (size >= synod::zkwire::kFrameHeaderBytes) {
    absl::StatusOr<int32_t> length =
        synod::zkwire::FrameLength(body, 0, kMaxLength);
    if (!length.ok()) CheckRefusal(length.status());
  }
  FuzzRequest(body);
  FuzzConnect(body);
  FuzzMultiResponse(body);
  return 0;
}
