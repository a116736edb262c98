#include "zkwire/zk_records.h"

#include "absl/strings/str_cat.h"
#include "util/status_macros.h"

namespace synod::zkwire {

absl::StatusOr<int32_t> FrameLength(std::string_view in, int32_t min_bytes,
                                    int32_t max_bytes) {
  JuteReader reader(in.substr(0, kFrameHeaderBytes), 0);
  int32_t length = 0;
  SYNOD_RETURN_IF_ERROR(reader.Int(&length, "frame length"));
  if (length < min_bytes || length > max_bytes) {
    return MalformedError("frame", absl::StrCat("length ", length,
                                                " outside [", min_bytes, ", ",
                                                max_bytes, "]"));
  }
  return length;
}

void AppendFrame(std::string_view body, std::string* out) {
  JuteWriter(out).Buffer(body);
}

absl::StatusOr<ConnectRequest> DecodeConnectRequest(std::string_view body,
                                                    int32_t max_length) {
  JuteReader in(body, max_length);
  ConnectRequest r;
  SYNOD_RETURN_IF_ERROR(in.Int(&r.protocol_version, "connect request"));
  SYNOD_RETURN_IF_ERROR(in.Long(&r.last_zxid_seen, "connect request"));
  SYNOD_RETURN_IF_ERROR(in.Int(&r.timeout_ms, "connect request"));
  SYNOD_RETURN_IF_ERROR(in.Long(&r.session_id, "connect request"));
  SYNOD_RETURN_IF_ERROR(in.Buffer(&r.password, "connect request password"));
  // 3.4+ clients add the read-only flag; older ones end here.
  if (!in.done()) {
    SYNOD_RETURN_IF_ERROR(in.Bool(&r.read_only, "connect request read-only"));
  }
  SYNOD_RETURN_IF_ERROR(in.ExpectDone("connect request"));
  return r;
}

void EncodeConnectRequest(const ConnectRequest& r, std::string* out) {
  JuteWriter w(out);
  w.Int(r.protocol_version);
  w.Long(r.last_zxid_seen);
  w.Int(r.timeout_ms);
  w.Long(r.session_id);
  w.Buffer(r.password);
  w.Bool(r.read_only);
}

void EncodeConnectResponse(const ConnectResponse& r, std::string* out) {
  JuteWriter w(out);
  w.Int(r.protocol_version);
  w.Int(r.timeout_ms);
  w.Long(r.session_id);
  w.Buffer(r.password);
  w.Bool(r.read_only);
}

absl::StatusOr<ConnectResponse> DecodeConnectResponse(std::string_view body,
                                                      int32_t max_length) {
  JuteReader in(body, max_length);
  ConnectResponse r;
  SYNOD_RETURN_IF_ERROR(in.Int(&r.protocol_version, "connect response"));
  SYNOD_RETURN_IF_ERROR(in.Int(&r.timeout_ms, "connect response"));
  SYNOD_RETURN_IF_ERROR(in.Long(&r.session_id, "connect response"));
  SYNOD_RETURN_IF_ERROR(in.Buffer(&r.password, "connect response password"));
  if (!in.done()) {
    SYNOD_RETURN_IF_ERROR(in.Bool(&r.read_only, "connect response read-only"));
  }
  SYNOD_RETURN_IF_ERROR(in.ExpectDone("connect response"));
  return r;
}

absl::Status ReadRequestHeader(JuteReader* in, RequestHeader* h) {
  SYNOD_RETURN_IF_ERROR(in->Int(&h->xid, "request header"));
  return in->Int(&h->type, "request header");
}

void WriteRequestHeader(const RequestHeader& h, JuteWriter* out) {
  out->Int(h.xid);
  out->Int(h.type);
}

void WriteReplyHeader(const ReplyHeader& h, JuteWriter* out) {
  out->Int(h.xid);
  out->Long(h.zxid);
  out->Int(h.err);
}

absl::Status ReadReplyHeader(JuteReader* in, ReplyHeader* h) {
  SYNOD_RETURN_IF_ERROR(in->Int(&h->xid, "reply header"));
  SYNOD_RETURN_IF_ERROR(in->Long(&h->zxid, "reply header"));
  return in->Int(&h->err, "reply header");
}

void WriteStat(const Stat& s, JuteWriter* out) {
  out->Long(s.czxid);
  out->Long(s.mzxid);
  out->Long(s.ctime);
  out->Long(s.mtime);
  out->Int(s.version);
  out->Int(s.cversion);
  out->Int(s.aversion);
  out->Long(s.ephemeral_owner);
  out->Int(s.data_length);
  out->Int(s.num_children);
  out->Long(s.pzxid);
}

absl::Status ReadStat(JuteReader* in, Stat* s) {
  SYNOD_RETURN_IF_ERROR(in->Long(&s->czxid, "stat"));
  SYNOD_RETURN_IF_ERROR(in->Long(&s->mzxid, "stat"));
  SYNOD_RETURN_IF_ERROR(in->Long(&s->ctime, "stat"));
  SYNOD_RETURN_IF_ERROR(in->Long(&s->mtime, "stat"));
  SYNOD_RETURN_IF_ERROR(in->Int(&s->version, "stat"));
  SYNOD_RETURN_IF_ERROR(in->Int(&s->cversion, "stat"));
  SYNOD_RETURN_IF_ERROR(in->Int(&s->aversion, "stat"));
  SYNOD_RETURN_IF_ERROR(in->Long(&s->ephemeral_owner, "stat"));
  SYNOD_RETURN_IF_ERROR(in->Int(&s->data_length, "stat"));
  SYNOD_RETURN_IF_ERROR(in->Int(&s->num_children, "stat"));
  return in->Long(&s->pzxid, "stat");
}

void WriteAclList(const AclList& acl, JuteWriter* out) {
  out->Int(static_cast<int32_t>(acl.size()));
  for (const Acl& a : acl) {
    out->Int(a.perms);
    out->String(a.scheme);
    out->String(a.id);
  }
}

absl::Status ReadAclList(JuteReader* in, AclList* acl) {
  int32_t n = 0;
  // Each ACL is at least its perms and two string lengths.
  SYNOD_RETURN_IF_ERROR(in->Count(&n, 12, "acl list"));
  acl->clear();
  acl->reserve(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    Acl a;
    SYNOD_RETURN_IF_ERROR(in->Int(&a.perms, "acl"));
    SYNOD_RETURN_IF_ERROR(in->String(&a.scheme, "acl scheme"));
    SYNOD_RETURN_IF_ERROR(in->String(&a.id, "acl id"));
    acl->push_back(std::move(a));
  }
  return absl::OkStatus();
}

void WriteWatcherEvent(const WatcherEvent& e, JuteWriter* out) {
  out->Int(e.type);
  out->Int(e.state);
  out->String(e.path);
}

absl::Status ReadWatcherEvent(JuteReader* in, WatcherEvent* e) {
  SYNOD_RETURN_IF_ERROR(in->Int(&e->type, "watcher event"));
  SYNOD_RETURN_IF_ERROR(in->Int(&e->state, "watcher event"));
  return in->String(&e->path, "watcher event path");
}

}  // namespace synod::zkwire
