// libFuzzer target: a remote client's request as the client service gets
// it off the wire. Bytes are parsed as a ClientRequest (transport/
// client.proto) and judged by CheckClientRequest, the service's checks that
// need no tree. Whatever the bytes: no crash, the verdict is OK or
// BadArguments, OK only for the kinds the service runs, and the reply the
// service would send (the error's message included, which may echo the
// client's bytes) serializes and parses back.
//
// Seeds: corpus/client_request/ (requests as synod-cli encodes them).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "synod/types.h"
#include "transport/client.pb.h"
#include "transport/client_request.h"
#include "tree/path.h"

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  synod::transport::ClientRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  const absl::Status verdict = synod::transport::CheckClientRequest(request);
  if (verdict.ok()) {
    switch (request.body_case()) {
      case synod::transport::ClientRequest::kWrite:
        Require(synod::transport::CheckClientWrite(request.write()).ok());
        break;
      case synod::transport::ClientRequest::kRead:
      case synod::transport::ClientRequest::kSync:
      case synod::transport::ClientRequest::kAuth:
      case synod::transport::ClientRequest::kClose:
        break;
      case synod::transport::ClientRequest::kSetWatches: {
        // Taken only if every path is one a watch may be set on.
        const auto& set = request.set_watches();
        for (const auto* paths : {&set.data(), &set.exist(), &set.child(),
                                  &set.persistent(),
                                  &set.persistent_recursive()}) {
          for (const std::string& path : *paths) {
            Require(synod::ValidatePath(path).ok());
          }
        }
        break;
      }
      default:  // an open, or nothing the service knows
        std::abort();
    }
  } else {
    Require(synod::ErrorOf(verdict) == synod::Error::kBadArguments);
  }
  synod::transport::ClientReply reply;
  reply.set_id(request.id());
  reply.set_error(static_cast<int32_t>(synod::ErrorOf(verdict)));
  reply.set_message(std::string(verdict.message()));
  std::string wire;
  Require(reply.SerializeToString(&wire));
  synod::transport::ClientReply back;
  Require(back.ParseFromString(wire));
  Require(back.message() == reply.message());
  return 0;
}
