// Writes the seed corpora of the fuzz targets, made with synod's own
// encoders where there is one:
//
//   synod_fuzz_make_corpus test/fuzz
//
// writes test/fuzz/corpus/<target>/<seed>.
// Deterministic: the same build writes the same bytes.

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base_tree.h"
#include "storage/log_file.h"
#include "transport/link.pb.h"
#include "transport/wire.h"
#include "tree/data_tree.h"
#include "tree/snapshot.h"
#include "txn/txn.pb.h"
#include "util/coding.h"
#include "zab/config.h"
#include "zab/message.h"
#include "zkwire/jute.h"
#include "zkwire/zk_records.h"
#include "zkwire/zk_requests.h"
#include "zkwire/zk_responses.h"

namespace synod::fuzz {
namespace {

namespace fs = std::filesystem;

fs::path g_root;

void Put(const std::string& dir, const std::string& name,
         const std::string& bytes) {
  const fs::path path = g_root / dir / name;
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
}
void Seed(const std::string& target, const std::string& name,
          const std::string& bytes) {
  Put("corpus/" + target, name, bytes);
}

std::string Bin(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

// ---- path

void PathSeeds() {
  const std::vector<std::pair<std::string, std::string>> seeds = {
      {"root", "/"},
      {"one", "/a"},
      {"two", "/a/b"},
      {"system", "/synod"},
      {"below_system", "/synod/x"},
      {"trailing_slash", "/a/"},
      {"empty_component", "//a"},
      {"dot", "/a/./b"},
      {"dotdot", "/a/../b"},
      {"nul", std::string("/a\0b", 4)},
      {"utf8", "/\xc3\xa9t\xc3\xa9/\xe2\x82\xac"},
      {"surrogate", "/\xed\xa0\x80"},
      {"noncharacter", "/\xef\xbf\xbf"},
      {"c1_control", "/\xc2\x80"},
      {"overlong", "/\xc0\xaf"},
      {"truncated_utf8", "/\xe2\x82"},
      {"relative", "a"},
      {"empty", ""},
      {"sequential_prefix", "/lock-"},
      {"del", "/a\x7f"},
      {"long", "/" + std::string(300, 'x') + "/" + std::string(300, 'y')},
  };
  for (const auto& [name, path] : seeds) Seed("path", name, path);
}

// ---- acl

void AclSeeds() {
  const std::vector<std::pair<std::string, std::string>> seeds = {
      {"world", "A 31 world anyone\n"},
      {"digest", "A 1 digest alice:abc\nC digest alice:secret\n"},
      {"auth_two_ids", "A 31 auth \nC digest alice:secret\nC digest bob:pw\n"},
      {"auth_no_id", "A 31 auth \n"},
      {"ip4_net", "A 3 ip 10.0.0.0/8\nP 10.1.2.3\n"},
      {"ip6_loopback", "A 31 ip ::1\nP ::1\n"},
      {"ip6_net", "A 31 ip 2001:db8::/32\nP 2001:db8::1\n"},
      {"ip6_v4_tail", "A 31 ip ::ffff:1.2.3.4/128\nP ::ffff:1.2.3.4\n"},
      {"bad_perms", "A 32 world anyone\n"},
      {"negative_perms", "A -1 world anyone\n"},
      {"unknown_scheme", "A 31 nope x\n"},
      {"digest_two_colons", "A 31 digest a:b:c\n"},
      {"super", "S\nA 0 world anyone\n"},
      {"bad_credentials", "C sasl x\nC digest :pw\nC digest nocolon\n"},
      {"raw_identity", "I digest alice:XYZ\nA 31 digest alice:XYZ\n"},
      {"mixed", "A 1 world anyone\nA 2 auth x\nA 4 ip 127.0.0.1\n"
                "A 8 digest u:h\nC digest u:p\nP 127.0.0.1\n"},
      {"empty", ""},
  };
  for (const auto& [name, text] : seeds) Seed("acl", name, text);
}

// ---- node records and snapshots, from trees built by applying txns

// The base tree with more kinds of node: data, many-entry ACLs.
void RicherTree(DataTree* tree) {
  Zxid zxid = BuildBaseTree(tree);
  txn::Txn t;
  t.set_zxid(zxid);
  t.set_time_ms(kBaseTimeMs + 1);
  txn::CreateTxn* c = t.mutable_create();
  c->set_path("/a/acl");
  c->set_data(std::string("\0\1\2binary", 9));
  AclToProto({Acl{perms::kRead, "world", "anyone"},
              Acl{perms::kAll, "ip", "10.0.0.0/8"},
              Acl{perms::kAll, "digest", DigestId("bob", "pw")}},
             c->mutable_acl());
  c->set_mode(static_cast<int32_t>(CreateMode::kPersistentSequential));
  c->set_parent_cversion(2);
  ApplyOutput out;
  if (!tree->Apply(t, &out, nullptr).ok()) std::exit(1);
}

void RecordSeeds() {
  DataTree tree;
  RicherTree(&tree);
  int i = 0;
  tree.ForEachNode([&](const std::string& path, const Znode&) {
    // Each record under each of the three paths the target can load.
    const std::string record = tree.EncodeNode(path);
    for (char kind : {'\0', '\1', '\2'}) {
      Seed("node_record", absl::StrCat("node", i, "_kind", int{kind}),
           std::string(1, kind) + record);
    }
    ++i;
  });
  std::string id;
  for (int b = 0; b < 8; ++b) id.push_back(static_cast<char>(kSession >> (8 * b)));
  Seed("node_record", "session", "\3" + id + tree.EncodeSession(kSession));
  const std::string a = tree.EncodeNode("/a/acl");
  Seed("node_record", "truncated", "\0" + a.substr(0, a.size() / 2));
  std::string v2 = a;
  v2[0] = 2;  // unknown record version
  Seed("node_record", "version2", std::string(1, '\0') + v2);
  Seed("node_record", "session_too_big",
       "\3" + id + Bin({0xff, 0xff, 0xff, 0xff, 0x0f}));
}

void SnapshotSeeds() {
  DataTree empty;
  Seed("snapshot", "empty_tree", EncodeSnapshot(empty));
  DataTree tree;
  RicherTree(&tree);
  const std::string full = EncodeSnapshot(tree);
  Seed("snapshot", "base_tree", full);
  Seed("snapshot", "truncated", full.substr(0, full.size() - 7));
  Seed("snapshot", "magic_only", "SNP1");
  Seed("snapshot", "bad_magic", "SNP2" + full.substr(4));
  // The root, then a node whose parent never came, then a session.
  std::string orphan = "SNP1";
  PutVarint(&orphan, 5);
  orphan.push_back('n');
  PutBytes(&orphan, "/");
  PutBytes(&orphan, tree.EncodeNode("/"));
  orphan.push_back('n');
  PutBytes(&orphan, "/x/y");
  PutBytes(&orphan, tree.EncodeNode("/a"));
  Seed("snapshot", "orphan", orphan);
  std::string session = "SNP1";
  PutVarint(&session, 5);
  session.push_back('n');
  PutBytes(&session, "/");
  PutBytes(&session, tree.EncodeNode("/"));
  session.push_back('s');
  PutBytes(&session, "-17");
  PutBytes(&session, tree.EncodeSession(kSession));
  Seed("snapshot", "root_and_session", session);

  // Found by fuzzing, fixed: LoadSnapshot took any key as a path; "//"
  // made "" a child of the root, and walking the tree (EncodeSnapshot,
  // ForEachNode) then looped forever.
  std::string empty_name = "SNP1";
  PutVarint(&empty_name, 5);
  empty_name.push_back('n');
  PutBytes(&empty_name, "/");
  PutBytes(&empty_name, tree.EncodeNode("/"));
  empty_name.push_back('n');
  PutBytes(&empty_name, "//");
  PutBytes(&empty_name, tree.EncodeNode("/a"));
  Seed("snapshot", "key_double_slash", empty_name);
  // ... and "//x" was loaded as a node no walk reaches: the root listed a
  // child "x" that was not there, and the next snapshot lost the node.
  std::string unreachable = "SNP1";
  PutVarint(&unreachable, 5);
  unreachable.push_back('n');
  PutBytes(&unreachable, "/");
  PutBytes(&unreachable, tree.EncodeNode("/"));
  unreachable.push_back('n');
  PutBytes(&unreachable, "//x");
  PutBytes(&unreachable, tree.EncodeNode("/a"));
  Seed("snapshot", "key_empty_component", unreachable);
}

// ---- txns and requests against the base tree

std::string Serialize(const google::protobuf::Message& m) {
  return m.SerializeAsString();
}

void TxnSeeds() {
  DataTree tree;
  const Zxid next = BuildBaseTree(&tree);
  auto txn = [&](Zxid zxid) {
    txn::Txn t;
    t.set_zxid(zxid);
    t.set_time_ms(kBaseTimeMs + 10);
    t.set_session_id(kSession);
    return t;
  };
  {
    txn::Txn t = txn(next);
    txn::CreateTxn* c = t.mutable_create();
    c->set_path("/a/new");
    c->set_data("data");
    AclToProto(OpenAcl(), c->mutable_acl());
    c->set_parent_cversion(2);
    Seed("txn_apply", "create", Serialize(t));
    c->set_path("/missing/child");
    Seed("txn_apply", "create_no_parent", Serialize(t));
    c->set_path("/a/eph");
    c->set_mode(static_cast<int32_t>(CreateMode::kEphemeral));
    c->set_ephemeral_owner(kSession);
    Seed("txn_apply", "create_ephemeral", Serialize(t));
    t.set_zxid(1);
    Seed("txn_apply", "zxid_too_low", Serialize(t));
  }
  {
    txn::Txn t = txn(next);
    t.mutable_delete_node()->set_path("/a/b");
    Seed("txn_apply", "delete", Serialize(t));
    t.mutable_delete_node()->set_path("/a");
    Seed("txn_apply", "delete_not_empty", Serialize(t));
  }
  {
    txn::Txn t = txn(next);
    t.mutable_set_data()->set_path("/a");
    t.mutable_set_data()->set_data("new");
    t.mutable_set_data()->set_version(1);
    Seed("txn_apply", "set_data", Serialize(t));
  }
  {
    txn::Txn t = txn(next);
    t.mutable_set_acl()->set_path("/a");
    AclToProto({Acl{perms::kRead, "ip", "10.0.0.0/8"}},
               t.mutable_set_acl()->mutable_acl());
    t.mutable_set_acl()->set_aversion(1);
    Seed("txn_apply", "set_acl", Serialize(t));
  }
  {
    txn::Txn t = txn(next);
    t.mutable_check()->set_path("/a");
    Seed("txn_apply", "check", Serialize(t));
  }
  {
    txn::Txn t = txn(next);
    txn::MultiTxn* m = t.mutable_multi();
    txn::CreateTxn* c = m->add_ops()->mutable_create();
    c->set_path("/a/m");
    AclToProto(OpenAcl(), c->mutable_acl());
    c->set_parent_cversion(2);
    m->add_ops()->mutable_set_data()->set_path("/a/m");
    m->add_ops()->mutable_delete_node()->set_path("/a/b");
    Seed("txn_apply", "multi", Serialize(t));
  }
  {
    txn::Txn t = txn(next);
    t.mutable_create_session()->set_timeout_ms(10000);
    Seed("txn_apply", "create_session", Serialize(t));
  }
  {
    txn::Txn t = txn(next);
    t.mutable_close_session()->add_ephemerals("/e");
    Seed("txn_apply", "close_session", Serialize(t));
  }
  {
    txn::Txn t = txn(next);
    t.mutable_error()->set_error(101);
    t.mutable_error()->set_message("no node");
    Seed("txn_apply", "error", Serialize(t));
    t.mutable_sync();
    Seed("txn_apply", "sync", Serialize(t));
  }
  // Found by fuzzing, fixed: Apply stored what no record can hold. A
  // create whose mode is out of range gave a record LoadNode refuses (the
  // peer could not restart); a create of "//" made "" a child of the root,
  // and walking the tree then looped forever.
  {
    txn::Txn t = txn(next);
    txn::CreateTxn* c = t.mutable_create();
    c->set_path("/a/m");
    AclToProto(OpenAcl(), c->mutable_acl());
    c->set_mode(96);
    c->set_parent_cversion(2);
    Seed("txn_apply", "create_mode_out_of_range", Serialize(t));
    c->set_path("//");
    c->set_mode(0);
    Seed("txn_apply", "create_double_slash", Serialize(t));
  }
}

txn::Request Create(const std::string& path, CreateMode mode,
                    const AclList& acl = {}, int64_t ttl_ms = 0) {
  txn::Request r;
  txn::CreateRequest* c = r.mutable_create();
  c->set_path(path);
  c->set_data("x");
  AclToProto(acl, c->mutable_acl());
  c->set_mode(static_cast<int32_t>(mode));
  c->set_ttl_ms(ttl_ms);
  return r;
}

void PreparerSeeds() {
  auto script = [](const std::string& name,
                   const std::vector<txn::Request>& requests) {
    txn::MultiRequest m;
    for (const txn::Request& r : requests) *m.add_ops() = r;
    Seed("preparer", name, Serialize(m));
  };
  txn::Request set;
  set.mutable_set_data()->set_path("/a/b");
  set.mutable_set_data()->set_data("new");
  set.mutable_set_data()->set_version(0);
  txn::Request del;
  del.mutable_delete_node()->set_path("/a/b");
  del.mutable_delete_node()->set_version(-1);
  txn::Request set_acl;
  set_acl.mutable_set_acl()->set_path("/a");
  AclToProto(CreatorAllAcl(), set_acl.mutable_set_acl()->mutable_acl());
  set_acl.mutable_set_acl()->set_aversion(-1);
  txn::Request check;
  check.mutable_check()->set_path("/d");
  check.mutable_check()->set_version(0);
  txn::Request close;
  close.mutable_close_session();
  txn::Request open;
  open.mutable_create_session()->set_timeout_ms(5000);
  txn::Request cleanup;
  cleanup.mutable_cleanup()->set_path("/t");
  txn::Request delete_cx;
  delete_cx.mutable_delete_node()->set_path("/c/x");
  txn::Request cleanup_c;
  cleanup_c.mutable_cleanup()->set_path("/c");
  txn::Request multi;
  *multi.mutable_multi()->add_ops() = Create("/a/m", CreateMode::kPersistent);
  *multi.mutable_multi()->add_ops() = set;
  *multi.mutable_multi()->add_ops() = del;
  txn::Request bad_multi = multi;
  *bad_multi.mutable_multi()->add_ops() = close;

  script("create", {Create("/a/x", CreateMode::kPersistent)});
  script("create_sequential",
         {Create("/a/s-", CreateMode::kPersistentSequential),
          Create("/a/s-", CreateMode::kEphemeralSequential)});
  script("create_ephemeral", {Create("/e2", CreateMode::kEphemeral)});
  script("create_container", {Create("/c2", CreateMode::kContainer),
                              Create("/c2/k", CreateMode::kPersistent)});
  script("create_ttl",
         {Create("/t2", CreateMode::kPersistentWithTtl, {}, 60000)});
  script("create_auth_acl",
         {Create("/a/mine", CreateMode::kPersistent, CreatorAllAcl())});
  script("create_ip_acl",
         {Create("/a/ip", CreateMode::kPersistent,
                 {Acl{perms::kAll, "ip", "10.0.0.0/8"},
                  Acl{perms::kRead, "world", "anyone"}})});
  script("create_under_digest", {Create("/d/k", CreateMode::kPersistent)});
  script("create_reserved", {Create("/synod/k", CreateMode::kPersistent)});
  script("create_under_ephemeral", {Create("/e/k", CreateMode::kPersistent)});
  script("set_then_delete", {set, del});
  script("set_acl_then_set", {set_acl, set});
  script("check", {check});
  script("multi", {multi});
  script("multi_with_close", {bad_multi});
  script("close_session", {close, set});
  script("create_session", {open});
  script("cleanup_ttl", {cleanup});
  script("cleanup_container", {delete_cx, cleanup_c});
  script("pipelined", {Create("/a/p", CreateMode::kPersistent), multi,
                       Create("/a/p/q", CreateMode::kEphemeral), close});

  // Quotas: set one, meet it, change it, drop it (docs/quotas.md).
  txn::Request set_quota;
  set_quota.mutable_set_quota()->set_path("/a");
  set_quota.mutable_set_quota()->set_count(-1);
  set_quota.mutable_set_quota()->set_bytes(8);
  set_quota.mutable_set_quota()->set_count_hard(3);
  set_quota.mutable_set_quota()->set_bytes_hard(-1);
  txn::Request delete_quota;
  delete_quota.mutable_delete_quota()->set_path("/a");
  delete_quota.mutable_delete_quota()->set_fields(4);
  txn::Request drop_quota = delete_quota;
  drop_quota.mutable_delete_quota()->set_fields(15);
  script("quota", {set_quota, Create("/a/q1", CreateMode::kPersistent),
                   Create("/a/q2", CreateMode::kEphemeral), delete_quota,
                   Create("/a/q3", CreateMode::kPersistent), close,
                   drop_quota});

  // Found before the limits (issue 11, item 1): an ACL of 4,097 distinct
  // entries was accepted, and its record did not decode. Now refused.
  AclList big;
  for (int i = 0; i < 4097; ++i) {
    big.push_back(Acl{perms::kRead, "digest", absl::StrCat("u", i, ":h")});
  }
  txn::MultiRequest m;
  *m.add_ops() = Create("/a/big", CreateMode::kPersistent, big);
  Seed("preparer", "acl_4097_entries", Serialize(m));
}

// ---- log segments, written by LogFile itself

std::vector<std::string> WriteLog(const std::vector<LogEntry>& entries,
                                  const LogFileOptions& options) {
  const fs::path dir = fs::temp_directory_path() /
                       absl::StrCat("synod-make-corpus-", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    auto log = LogFile::Open(dir.string(), options);
    if (!log.ok()) std::exit(1);
    for (const LogEntry& e : entries) {  // one append each: segments roll
      if (!(*log)->Append({e}, false).ok()) std::exit(1);
    }
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<std::string> out;
  for (const fs::path& f : files) {
    std::ifstream in(f, std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
  }
  fs::remove_all(dir);
  return out;
}

void LogSeeds() {
  const Zxid z1 = MakeZxid(1, 1);
  std::vector<LogEntry> three = {
      {z1, "first"}, {z1 + 1, "second"}, {MakeZxid(2, 1), std::string(40, 'x')}};
  LogFileOptions plain;
  plain.prealloc_bytes = 0;
  const std::string seg = WriteLog(three, plain).at(0);
  // Flags: 4 = name each file after its first record.
  const std::string named(1, '\x04');
  Seed("log_recovery", "three_records", named + seg);
  Seed("log_recovery", "torn_tail", named + seg.substr(0, seg.size() - 5));
  Seed("log_recovery", "torn_header", named + seg.substr(0, seg.size() - 50));
  std::string bad_middle = seg;
  bad_middle[8 + 16 + 2] ^= 1;  // the first record's data
  Seed("log_recovery", "bad_first_record", named + bad_middle);
  // A finding, fixed (issue 11, item 2): a length that runs past the end
  // must not hide the intact records behind it.
  std::string bad_length = seg;
  bad_length[8 + 4] = 100;  // the first record's length
  Seed("log_recovery", "bad_length_hides_records", named + bad_length);
  // A bad checksum on the last record only: a torn tail, cut.
  std::string bad_last = seg;
  bad_last[seg.size() - 1] ^= 1;
  Seed("log_recovery", "bad_last_record", named + bad_last);
  Seed("log_recovery", "header_only", named + seg.substr(0, 8));
  Seed("log_recovery", "partial_magic", named + seg.substr(0, 5));
  Seed("log_recovery", "empty_file", named);

  LogFileOptions prealloc;
  prealloc.prealloc_bytes = 128;
  Seed("log_recovery", "preallocated", named + WriteLog(three, prealloc).at(0));

  // Two segments: flags 4|2, then where the first ends.
  LogFileOptions small;
  small.segment_bytes = 48;
  small.prealloc_bytes = 0;
  const std::vector<std::string> two = WriteLog(three, small);
  if (two.size() >= 2) {
    const uint16_t cut = static_cast<uint16_t>(two[0].size());
    std::string s(1, '\x06');
    s.push_back(static_cast<char>(cut & 0xff));
    s.push_back(static_cast<char>(cut >> 8));
    Seed("log_recovery", "two_segments", s + two[0] + two[1]);
    Seed("log_recovery", "two_segments_torn",
         s + two[0] + two[1].substr(0, two[1].size() - 3));
    // Flags 6 without the first's last record: a gap before the second.
    Seed("log_recovery", "second_only", named + two[1]);
  }
  // Flags 1|4|8: checksums and header filled in, records as raw bytes.
  std::string raw(1, '\x0d');
  for (const LogEntry& e : three) {
    std::string r(4, '\0');
    PutFixed32(&r, static_cast<uint32_t>(e.data.size()));
    PutFixed64(&r, static_cast<uint64_t>(e.zxid));
    r += e.data;
    raw += r;
  }
  Seed("log_recovery", "raw_records_fixed", raw);
  // Named explicitly (no flag 4): a name that does not match.
  std::string misnamed(1, '\0');
  misnamed += std::string(8, '\x07');
  Seed("log_recovery", "misnamed", misnamed + seg);
}

// ---- peer frames

void WireSeeds() {
  auto seed = [](const std::string& name, const zab::Message& m) {
    transport::PeerMessage wire;
    transport::ToWire(m, "E", &wire);
    Seed("peer_wire", name, Serialize(wire));
    transport::LinkFrame frame;
    *frame.mutable_message() = wire;
    Seed("peer_wire", "frame_" + name, Serialize(frame));
  };
  zab::Message vote;
  vote.type = zab::MessageType::kNotification;
  vote.from = 1;
  vote.to = 2;
  vote.vote = zab::Vote{1, MakeZxid(1, 5), 1};
  vote.round = 3;
  seed("notification", vote);
  zab::Message ack_epoch;
  ack_epoch.type = zab::MessageType::kAckEpoch;
  ack_epoch.from = 2;
  ack_epoch.to = 1;
  ack_epoch.state = zab::PeerState::kFollowing;
  ack_epoch.epoch = 2;
  ack_epoch.zxid = MakeZxid(2, 4);
  ack_epoch.epoch_ends = {MakeZxid(1, 9), MakeZxid(2, 4)};
  seed("ack_epoch", ack_epoch);
  zab::Message diff;
  diff.type = zab::MessageType::kDiff;
  diff.from = 1;
  diff.to = 3;
  diff.state = zab::PeerState::kLeading;
  diff.zxid = MakeZxid(2, 1);
  diff.entries = {{MakeZxid(2, 2), "a"}, {MakeZxid(2, 3), "bb"}};
  seed("diff", diff);
  zab::Message chunk;
  chunk.type = zab::MessageType::kSnapChunk;
  chunk.from = 1;
  chunk.to = 2;
  chunk.state = zab::PeerState::kLeading;
  chunk.zxid = MakeZxid(2, 3);
  chunk.data = "SNP1";
  chunk.offset = 4096;
  chunk.last = true;
  seed("snap_chunk", chunk);
  zab::Message request;
  request.type = zab::MessageType::kRequest;
  request.from = 3;
  request.to = 1;
  request.state = zab::PeerState::kFollowing;
  request.entries = {{1, "req"}};
  request.request_id = 1;
  seed("request", request);

  zab::Message info;
  info.type = zab::MessageType::kFollowerInfo;
  info.from = 9;
  info.to = 1;
  info.state = zab::PeerState::kFollowing;
  zab::LearnerInfo about;
  about.address = "127.0.0.1:2009";
  about.zone = "rack-a";
  about.joining = true;
  about.needs_snapshot = true;
  info.data = zab::EncodeLearnerInfo(about);
  seed("followerinfo_joining", info);

  transport::LinkFrame hello;
  hello.mutable_hello()->set_ensemble_id("E");
  hello.mutable_hello()->set_from(2);
  hello.mutable_hello()->set_listen("127.0.0.1:2002");
  Seed("peer_wire", "hello_voter", Serialize(hello));
  hello.mutable_hello()->set_listen("10.0.0.9:2009");
  hello.mutable_hello()->set_from(uint64_t{1} << 63 | 12345);
  Seed("peer_wire", "hello_observer", Serialize(hello));
  transport::LinkFrame touch;
  touch.mutable_touch()->add_sessions(kSession);
  touch.mutable_touch()->add_sessions(-1);
  Seed("peer_wire", "touch", Serialize(touch));
}

// ---- CLI lines

void CliSeeds() {
  const std::vector<std::pair<std::string, std::string>> seeds = {
      {"create", "create /a data"},
      {"create_flags", "create -e -s /a/lock- 'x y'"},
      {"set_quoted", "set /a \"q\\\"uote\\\\\" -v 3"},
      {"delete", "delete /a -v 1"},
      {"ls_get_stat", "ls /\nget /a\nstat /a"},
      {"watch_sync", "watch /a\nsync /"},
      {"status_help_quit", "status\nhelp\nquit\nexit"},
      {"addauth", "addauth digest alice:secret"},
      {"comment", "  # a comment\n\t"},
      {"unclosed_single", "create '/a"},
      {"unclosed_double", "create \"/a"},
      {"backslash", "set /a a\\ b\\"},
      {"dashdash", "set /a -- -data"},
      {"cli_flags", "--peer 127.0.0.1:2181 --connect-timeout 5s ls /"},
      {"peer_flags",
       "--listen 127.0.0.1:2001 --data-dir /tmp/x --seeds "
       "127.0.0.1:2001,[::1]:2002 --tick 50ms --session-timeout 4s "
       "--log-level warn"},
      {"peer_flags_eq", "--listen=[::1]:80 --data-dir=/d --help"},
      {"durations", "1m30s 500ms 0s -1s inf 1.5h 10"},
      {"addresses", "host:0 host:65536 :80 [::1 a:b:80 ,a:1, a:1,,b:2"},
      {"crlf", "ls /\r\nget /a\r\n"},
  };
  for (const auto& [name, text] : seeds) Seed("cli_line", name, text);
}


// ---- ZooKeeper protocol frames

void ZkFrameSeeds() {
  using zkwire::OpCode;
  using zkwire::Request;
  using zkwire::RequestKind;
  auto put = [](const std::string& name, const Request& r) {
    std::string body;
    zkwire::EncodeRequest(r, &body);
    Seed("zk_frame", name, body);
  };
  auto header = [](OpCode op, RequestKind kind) {
    Request r;
    r.header.xid = 1;
    r.header.type = static_cast<int32_t>(op);
    r.kind = kind;
    return r;
  };
  Request create = header(OpCode::kCreate2, RequestKind::kWrite);
  txn::CreateRequest* c = create.write.mutable_create();
  c->set_path("/a");
  c->set_data("data");
  txn::AclEntry* acl = c->add_acl();
  acl->set_perms(31);
  acl->set_scheme("world");
  acl->set_id("anyone");
  c->set_mode(3);
  put("create2", create);
  Request ttl = header(OpCode::kCreateTtl, RequestKind::kWrite);
  *ttl.write.mutable_create() = *c;
  ttl.write.mutable_create()->set_mode(5);
  ttl.write.mutable_create()->set_ttl_ms(1000);
  put("create_ttl", ttl);
  Request multi = header(OpCode::kMulti, RequestKind::kWrite);
  *multi.write.mutable_multi()->add_ops()->mutable_create() = *c;
  txn::Request* del = multi.write.mutable_multi()->add_ops();
  del->mutable_delete_node()->set_path("/b");
  del->mutable_delete_node()->set_version(-1);
  txn::Request* set = multi.write.mutable_multi()->add_ops();
  set->mutable_set_data()->set_path("/c");
  set->mutable_set_data()->set_data("x");
  txn::Request* check = multi.write.mutable_multi()->add_ops();
  check->mutable_check()->set_path("/d");
  check->mutable_check()->set_version(2);
  put("multi", multi);
  Request set_acl = header(OpCode::kSetAcl, RequestKind::kWrite);
  set_acl.write.mutable_set_acl()->set_path("/a");
  *set_acl.write.mutable_set_acl()->add_acl() = *acl;
  put("set_acl", set_acl);
  Request get = header(OpCode::kGetChildren2, RequestKind::kRead);
  get.read = {OpCode::kGetChildren2, "/a", true};
  put("get_children2", get);
  Request multi_read = header(OpCode::kMultiRead, RequestKind::kMultiRead);
  multi_read.reads = {{OpCode::kGetData, "/a", false},
                      {OpCode::kGetChildren, "/", false}};
  put("multi_read", multi_read);
  Request watches = header(OpCode::kSetWatches2, RequestKind::kSetWatches);
  watches.header.xid = zkwire::kSetWatchesXid;
  watches.set_watches.relative_zxid = 42;
  watches.set_watches.data = {"/a"};
  watches.set_watches.exist = {"/b"};
  watches.set_watches.child = {"/"};
  watches.set_watches.persistent = {"/p"};
  watches.set_watches.persistent_recursive = {"/r"};
  put("set_watches2", watches);
  Request auth = header(OpCode::kAuth, RequestKind::kAuth);
  auth.header.xid = zkwire::kAuthXid;
  auth.scheme = "digest";
  auth.credentials = "user:password";
  put("auth", auth);
  Request remove = header(OpCode::kRemoveWatches, RequestKind::kRemoveWatches);
  remove.path = "/a";
  remove.watcher_type = WatcherType::kAny;
  put("remove_watches", remove);
  Request ping = header(OpCode::kPing, RequestKind::kPing);
  ping.header.xid = zkwire::kPingXid;
  put("ping", ping);

  zkwire::ConnectRequest connect;
  connect.timeout_ms = 30000;
  connect.session_id = 0x100000001;
  connect.password.assign(16, 'p');
  std::string connect_body;
  zkwire::EncodeConnectRequest(connect, &connect_body);
  Seed("zk_frame", "connect", connect_body);

  std::vector<zkwire::OpResult> results(3);
  results[0].type = OpCode::kCreate2;
  results[0].path = "/a";
  results[1].type = OpCode::kGetData;
  results[1].data = "d";
  results[2].type = OpCode::kError;
  results[2].err = -101;
  std::string multi_reply;
  zkwire::JuteWriter w(&multi_reply);
  zkwire::WriteMultiResponse(results, &w);
  Seed("zk_frame", "multi_response", multi_reply);
}

// ---- one ZooKeeper connection (byte 0: 1 opens a session first, 2 fails
// writes; byte 1: where the rest is cut)

void ZkConnectionSeeds() {
  using zkwire::OpCode;
  using zkwire::Request;
  using zkwire::RequestKind;
  auto frame = [](const Request& r) {
    std::string body;
    zkwire::EncodeRequest(r, &body);
    std::string out;
    zkwire::AppendFrame(body, &out);
    return out;
  };
  auto header = [](OpCode op, RequestKind kind, int32_t xid) {
    Request r;
    r.header.xid = xid;
    r.header.type = static_cast<int32_t>(op);
    r.kind = kind;
    return r;
  };
  Request get = header(OpCode::kGetData, RequestKind::kRead, 1);
  get.read = {OpCode::kGetData, "/a", true};
  Request set = header(OpCode::kSetData, RequestKind::kWrite, 2);
  set.write.mutable_set_data()->set_path("/a");
  set.write.mutable_set_data()->set_data("y");
  set.write.mutable_set_data()->set_version(-1);
  Request ls = header(OpCode::kGetChildren2, RequestKind::kRead, 3);
  ls.read = {OpCode::kGetChildren2, "/", true};
  Request ping = header(OpCode::kPing, RequestKind::kPing, zkwire::kPingXid);
  Request create = header(OpCode::kCreate, RequestKind::kWrite, 4);
  create.write.mutable_create()->set_path("/b");
  create.result_types = {OpCode::kCreate};
  Request close = header(OpCode::kCloseSession, RequestKind::kCloseSession, 5);
  const std::string requests = frame(get) + frame(set) + frame(ls) +
                               frame(ping) + frame(create) + frame(close);
  Seed("zk_connection", "session", Bin({1, 37}) + requests);
  Seed("zk_connection", "session_writes_fail", Bin({3, 90}) + requests);
  Seed("zk_connection", "word", Bin({0, 2}) + "ruok");
  Seed("zk_connection", "word_unknown", Bin({0, 0}) + "dump");
  zkwire::ConnectRequest resume;
  resume.timeout_ms = 10000;
  resume.session_id = 0x100000001;
  resume.password.assign(16, 'p');
  std::string resume_body;
  zkwire::EncodeConnectRequest(resume, &resume_body);
  std::string resume_frame;
  zkwire::AppendFrame(resume_body, &resume_frame);
  Seed("zk_connection", "resume_unknown", Bin({0, 5}) + resume_frame);
  Seed("zk_connection", "bad_frame", Bin({1, 3}) + Bin({0, 0, 0, 4, 0, 0}));
}

}  // namespace
}  // namespace synod::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s TEST_FUZZ_DIR\n", argv[0]);
    return 2;
  }
  using namespace synod::fuzz;
  g_root = argv[1];
  PathSeeds();
  AclSeeds();
  RecordSeeds();
  SnapshotSeeds();
  TxnSeeds();
  PreparerSeeds();
  LogSeeds();
  WireSeeds();
  CliSeeds();
  ZkFrameSeeds();
  ZkConnectionSeeds();
  std::printf("wrote the seed corpora under %s/corpus\n", argv[1]);
  return 0;
}
