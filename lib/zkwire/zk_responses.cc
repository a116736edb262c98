#include "zkwire/zk_responses.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "util/status_macros.h"
#include "zkwire/zk_records.h"

namespace synod::zkwire {

size_t BeginFrame(std::string* out) {
  const size_t start = out->size();
  out->append(kFrameHeaderBytes, '\0');
  return start;
}

void EndFrame(size_t start, std::string* out) {
  const auto length =
      static_cast<uint32_t>(out->size() - start - kFrameHeaderBytes);
  for (size_t i = 0; i < kFrameHeaderBytes; ++i) {
    (*out)[start + i] =
        static_cast<char>((length >> (8 * (kFrameHeaderBytes - 1 - i))) & 0xff);
  }
}

void WriteResultBody(const OpResult& r, JuteWriter* out) {
  switch (r.type) {
    case OpCode::kCreate:
      out->String(r.path);
      return;
    case OpCode::kCreate2:
      out->String(r.path);
      WriteStat(r.stat, out);
      return;
    case OpCode::kSetData:
    case OpCode::kSetAcl:
    case OpCode::kCheck:
    case OpCode::kExists:
      WriteStat(r.stat, out);
      return;
    case OpCode::kGetChildren2:
      out->StringVector(r.children);
      WriteStat(r.stat, out);
      return;
    case OpCode::kGetAcl:
      WriteAclList(r.acl, out);
      WriteStat(r.stat, out);
      return;
    case OpCode::kSync:
      out->String(r.path);
      return;
    case OpCode::kGetEphemerals:
      out->StringVector(r.children);
      return;
    case OpCode::kGetAllChildrenNumber:
      out->Int(r.count);
      return;
    case OpCode::kGetData:
      out->Buffer(r.data);
      WriteStat(r.stat, out);
      return;
    case OpCode::kGetChildren:
      out->StringVector(r.children);
      return;
    case OpCode::kError:
      out->Int(r.err);
      return;
    default:  // kDelete, and requests answered with a header alone
      return;
  }
}

void WriteMultiResponse(const std::vector<OpResult>& results,
                        JuteWriter* out) {
  for (const OpResult& r : results) {
    out->Int(static_cast<int32_t>(r.type));
    out->Bool(false);
    out->Int(r.type == OpCode::kError ? r.err : 0);
    // In a multi, a check's result has no body (CheckResult).
    if (r.type != OpCode::kCheck) WriteResultBody(r, out);
  }
  out->Int(-1);
  out->Bool(true);
  out->Int(-1);
}

absl::Status ReadMultiResponse(JuteReader* in,
                               std::vector<OpResult>* results) {
  results->clear();
  while (true) {
    int32_t type = 0;
    bool done = false;
    int32_t err = 0;
    SYNOD_RETURN_IF_ERROR(in->Int(&type, "multi response header"));
    SYNOD_RETURN_IF_ERROR(in->Bool(&done, "multi response header"));
    SYNOD_RETURN_IF_ERROR(in->Int(&err, "multi response header"));
    if (done) return absl::OkStatus();
    OpResult r;
    r.type = static_cast<OpCode>(type);
    switch (r.type) {
      case OpCode::kCreate:
        SYNOD_RETURN_IF_ERROR(in->String(&r.path, "multi create path"));
        break;
      case OpCode::kCreate2:
        SYNOD_RETURN_IF_ERROR(in->String(&r.path, "multi create path"));
        SYNOD_RETURN_IF_ERROR(ReadStat(in, &r.stat));
        break;
      case OpCode::kDelete:
      case OpCode::kCheck:
        break;
      case OpCode::kSetData:
        SYNOD_RETURN_IF_ERROR(ReadStat(in, &r.stat));
        break;
      case OpCode::kGetData:
        SYNOD_RETURN_IF_ERROR(in->Buffer(&r.data, "multi getData data"));
        SYNOD_RETURN_IF_ERROR(ReadStat(in, &r.stat));
        break;
      case OpCode::kGetChildren:
        SYNOD_RETURN_IF_ERROR(
            in->StringVector(&r.children, "multi getChildren children"));
        break;
      case OpCode::kError:
        SYNOD_RETURN_IF_ERROR(in->Int(&r.err, "multi error"));
        break;
      default:
        return MalformedError("multi response",
                              absl::StrCat("result type ", type));
    }
    results->push_back(std::move(r));
  }
}

void WriteWhoAmIResponse(const std::vector<ClientInfo>& identities,
                         JuteWriter* out) {
  out->Int(static_cast<int32_t>(identities.size()));
  for (const ClientInfo& id : identities) {
    out->String(id.scheme);
    out->String(id.user);
  }
}

absl::Status ReadWhoAmIResponse(JuteReader* in,
                                std::vector<ClientInfo>* identities) {
  int32_t n = 0;
  SYNOD_RETURN_IF_ERROR(in->Count(&n, 8, "whoAmI response"));
  identities->clear();
  identities->reserve(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    ClientInfo id;
    SYNOD_RETURN_IF_ERROR(in->String(&id.scheme, "whoAmI scheme"));
    SYNOD_RETURN_IF_ERROR(in->String(&id.user, "whoAmI user"));
    identities->push_back(std::move(id));
  }
  return absl::OkStatus();
}

}  // namespace synod::zkwire
