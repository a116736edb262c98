// Tests for the jute codec and the session-framing records of ZooKeeper's
// client protocol (zkwire/): byte-exact encodings, round trips, and the
// refusal of every malformed length, boolean, count and trailing byte.

#include "zkwire/zk_records.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "zkwire/jute.h"
#include "zkwire/zk_protocol.h"

namespace synod::zkwire {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

Error ErrorOfStatus(const absl::Status& s) { return ErrorOf(s); }

TEST_CASE("jute: big-endian integers, booleans, buffers and vectors",
          "[zkwire]") {
  std::string out;
  JuteWriter w(&out);
  w.Int(1);
  w.Long(-2);
  w.Bool(true);
  w.Buffer("ab");
  w.NullBuffer();
  w.StringVector({"x", ""});
  CHECK(out == Bytes({0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                      0xfe, 1, 0, 0, 0, 2, 'a', 'b', 0xff, 0xff, 0xff, 0xff,
                      0, 0, 0, 2, 0, 0, 0, 1, 'x', 0, 0, 0, 0}));

  JuteReader r(out, 100);
  int32_t i = 0;
  int64_t l = 0;
  bool b = false;
  std::string buffer;
  bool is_null = false;
  std::vector<std::string> strings;
  REQUIRE(r.Int(&i, "i").ok());
  REQUIRE(r.Long(&l, "l").ok());
  REQUIRE(r.Bool(&b, "b").ok());
  REQUIRE(r.Buffer(&buffer, "buffer", &is_null).ok());
  CHECK((i == 1 && l == -2 && b && buffer == "ab" && !is_null));
  REQUIRE(r.Buffer(&buffer, "null", &is_null).ok());
  CHECK((buffer.empty() && is_null));
  REQUIRE(r.StringVector(&strings, "strings").ok());
  CHECK(strings == std::vector<std::string>{"x", ""});
  CHECK(r.done());
  CHECK(r.ExpectDone("all").ok());
}

// A reader over `in` (kept alive by the caller) with `max_length`.
JuteReader Over(const std::string& in, int32_t max_length) {
  return JuteReader(std::string_view(in), max_length);
}

TEST_CASE("jute: every malformed input is MarshallingError", "[zkwire]") {
  int32_t i = 0;
  int64_t l = 0;
  bool b = false;
  std::string s;
  std::vector<std::string> v;
  const std::string three = Bytes({0, 0, 1});
  CHECK(ErrorOfStatus(Over(three, 10).Int(&i, "i")) ==
        Error::kMarshallingError);
  const std::string seven = Bytes({0, 0, 0, 0, 0, 0, 0});
  CHECK(ErrorOfStatus(Over(seven, 10).Long(&l, "l")) ==
        Error::kMarshallingError);
  const std::string two = Bytes({2});
  CHECK(ErrorOfStatus(Over(two, 10).Bool(&b, "b")) ==
        Error::kMarshallingError);
  CHECK(!Over("", 10).Bool(&b, "b").ok());
  // Lengths: negative other than -1, above the limit, beyond the input.
  const std::string minus_two = Bytes({0xff, 0xff, 0xff, 0xfe});
  CHECK(!Over(minus_two, 10).Buffer(&s, "s").ok());
  const std::string eleven = Bytes({0, 0, 0, 11}) + std::string(11, 'x');
  CHECK(!Over(eleven, 10).Buffer(&s, "s").ok());
  const std::string short_buffer = Bytes({0, 0, 0, 3, 'a', 'b'});
  CHECK(!Over(short_buffer, 10).Buffer(&s, "s").ok());
  // A count whose elements could not fit: refused before any allocation.
  const std::string nine = Bytes({0, 0, 0, 9, 0, 0, 0, 0});
  CHECK(!Over(nine, 100).StringVector(&v, "v").ok());
  const std::string max = Bytes({0x7f, 0xff, 0xff, 0xff});
  CHECK(!Over(max, 1 << 30).StringVector(&v, "v").ok());
  const std::string negative = Bytes({0xff, 0xff, 0xff, 0xf0});
  CHECK(!Over(negative, 100).StringVector(&v, "v").ok());
  // A null vector is empty.
  const std::string null = Bytes({0xff, 0xff, 0xff, 0xff});
  REQUIRE(Over(null, 100).StringVector(&v, "v").ok());
  CHECK(v.empty());
  // Trailing bytes, and the message names what was read.
  const absl::Status trailing = Over("x", 10).ExpectDone("getData");
  CHECK(ErrorOfStatus(trailing) == Error::kMarshallingError);
  CHECK(trailing.message().find("getData") != absl::string_view::npos);
}

TEST_CASE("zkwire: frames, the connect handshake and the headers",
          "[zkwire]") {
  std::string frame;
  AppendFrame("hello", &frame);
  CHECK(frame == Bytes({0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'}));
  CHECK(*FrameLength(frame, 1, 100) == 5);
  CHECK(!FrameLength(frame, 6, 100).ok());
  CHECK(!FrameLength(frame, 1, 4).ok());
  CHECK(!FrameLength(Bytes({0x80, 0, 0, 0}), 0, 100).ok());

  ConnectRequest c;
  c.protocol_version = 0;
  c.last_zxid_seen = 0x100000005;
  c.timeout_ms = 30000;
  c.session_id = 0x1234;
  c.password = std::string(16, 'p');
  c.read_only = true;
  std::string body;
  EncodeConnectRequest(c, &body);
  // protocol 4, zxid 8, timeout 4, session 8, password 4 + 16, flag 1.
  CHECK(body.size() == 45);
  absl::StatusOr<ConnectRequest> back = DecodeConnectRequest(body, 64);
  REQUIRE(back.ok());
  CHECK((back->last_zxid_seen == c.last_zxid_seen &&
         back->timeout_ms == 30000 && back->session_id == 0x1234 &&
         back->password == c.password && back->read_only));
  // Without the read-only flag (an old client): not read-only.
  back = DecodeConnectRequest(body.substr(0, 44), 64);
  REQUIRE(back.ok());
  CHECK(!back->read_only);
  CHECK(!DecodeConnectRequest(body + "x", 64).ok());
  CHECK(!DecodeConnectRequest(body.substr(0, 43), 64).ok());
  CHECK(!DecodeConnectRequest(body, 8).ok());  // password above the limit

  // The ConnectRequest of ZooKeeper 3.8's Java client (zkCli), as it sent
  // it: a new session with a 30 s timeout.
  const std::string java =
      Bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x75, 0x30, 0, 0, 0,
             0, 0, 0, 0, 0, 0, 0, 0, 16}) +
      std::string(16, '\0') + Bytes({0});
  back = DecodeConnectRequest(java, 64);
  REQUIRE(back.ok());
  CHECK((back->protocol_version == 0 && back->last_zxid_seen == 0 &&
         back->timeout_ms == 30000 && back->session_id == 0 &&
         back->password == std::string(16, '\0') && !back->read_only));
  std::string reencoded;
  EncodeConnectRequest(*back, &reencoded);
  CHECK(reencoded == java);

  ConnectResponse resp;
  resp.timeout_ms = 4000;
  resp.session_id = -7;
  resp.password = "pw";
  std::string resp_body;
  EncodeConnectResponse(resp, &resp_body);
  absl::StatusOr<ConnectResponse> resp_back =
      DecodeConnectResponse(resp_body, 64);
  REQUIRE(resp_back.ok());
  CHECK((resp_back->timeout_ms == 4000 && resp_back->session_id == -7 &&
         resp_back->password == "pw" && !resp_back->read_only));

  std::string headers;
  JuteWriter w(&headers);
  WriteRequestHeader({7, static_cast<int32_t>(OpCode::kGetData)}, &w);
  WriteReplyHeader({7, 0x200000001, static_cast<int32_t>(ZkError::kNoNode)},
                   &w);
  JuteReader r(headers, 64);
  RequestHeader rq;
  ReplyHeader rp;
  REQUIRE(ReadRequestHeader(&r, &rq).ok());
  REQUIRE(ReadReplyHeader(&r, &rp).ok());
  CHECK((rq.xid == 7 && rq.type == 4));
  CHECK((rp.xid == 7 && rp.zxid == 0x200000001 && rp.err == -101));
  CHECK(r.done());
}

TEST_CASE("zkwire: Stat in ZooKeeper's field order, ACLs, notifications",
          "[zkwire]") {
  Stat s;
  s.czxid = 1;
  s.mzxid = 2;
  s.ctime = 3;
  s.mtime = 4;
  s.version = 5;
  s.cversion = 6;
  s.aversion = 7;
  s.ephemeral_owner = 8;
  s.data_length = 9;
  s.num_children = 10;
  s.pzxid = 11;
  std::string out;
  JuteWriter w(&out);
  WriteStat(s, &w);
  // czxid mzxid ctime mtime (8 each), version cversion aversion (4 each),
  // ephemeralOwner (8), dataLength numChildren (4 each), pzxid (8).
  REQUIRE(out.size() == 68);
  CHECK(out.substr(60) == Bytes({0, 0, 0, 0, 0, 0, 0, 11}));
  CHECK(out.substr(44, 8) == Bytes({0, 0, 0, 0, 0, 0, 0, 8}));
  Stat back;
  JuteReader r(out, 10);
  REQUIRE(ReadStat(&r, &back).ok());
  CHECK(back == s);
  CHECK(!ReadStat(&r, &back).ok());

  AclList acl = {Acl{perms::kRead, "world", "anyone"},
                 Acl{perms::kAll, "digest", "bob:x"}};
  std::string acl_bytes;
  JuteWriter aw(&acl_bytes);
  WriteAclList(acl, &aw);
  AclList acl_back;
  JuteReader ar(acl_bytes, 100);
  REQUIRE(ReadAclList(&ar, &acl_back).ok());
  CHECK(acl_back == acl);
  // A count of ACLs the frame cannot hold.
  const std::string three_acls =
      Bytes({0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0});
  JuteReader huge(three_acls, 100);
  CHECK(!ReadAclList(&huge, &acl_back).ok());

  std::string event_bytes;
  JuteWriter ew(&event_bytes);
  WriteWatcherEvent({static_cast<int32_t>(ZkEventType::kNodeDataChanged),
                     kStateSyncConnected, "/a"},
                    &ew);
  CHECK(event_bytes == Bytes({0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 2, '/', 'a'}));
  WatcherEvent e;
  JuteReader er(event_bytes, 10);
  REQUIRE(ReadWatcherEvent(&er, &e).ok());
  CHECK((e.type == 3 && e.state == 3 && e.path == "/a"));
}

TEST_CASE("zkwire: error codes and opcodes are ZooKeeper's", "[zkwire]") {
  CHECK(static_cast<int32_t>(ToZkError(Error::kNoNode)) == -101);
  CHECK(static_cast<int32_t>(ToZkError(Error::kNodeExists)) == -110);
  CHECK(static_cast<int32_t>(ToZkError(Error::kNoWatcher)) == -121);
  CHECK(static_cast<int32_t>(ToZkError(Error::kSessionExpired)) == -112);
  CHECK(static_cast<int32_t>(ToZkError(Error::kQuotaExceeded)) == -125);
  CHECK(ToZkError(Error::kClosing) == ZkError::kConnectionLoss);
  // Every synod error but kClosing comes back from its code.
  for (int e = 0; e <= static_cast<int>(kLastError); ++e) {
    const Error error = static_cast<Error>(e);
    if (error == Error::kClosing) continue;
    INFO(ErrorName(error));
    CHECK(FromZkError(static_cast<int32_t>(ToZkError(error))) == error);
  }
  CHECK(FromZkError(-9999) == Error::kSystemError);
  CHECK(FromZkError(-4) == Error::kConnectionLoss);

  CHECK(IsKnownOpCode(22));
  CHECK(OpCodeName(22) == "multiRead");
  CHECK(OpCodeName(-11) == "closeSession");
  CHECK(!IsKnownOpCode(10));
  CHECK(OpCodeName(10) == "unknown");
  CHECK(ToZkEventType(EventType::kChildrenChanged) ==
        ZkEventType::kNodeChildrenChanged);
  CHECK(ToZkEventType(EventType::kPersistentWatchRemoved) ==
        ZkEventType::kPersistentWatchRemoved);
}

}  // namespace
}  // namespace synod::zkwire
