// Backups and restores: the backup file (storage/backup_file.h) and what
// it refuses; `synod-cli backup` from a live peer, needing READ on every
// node; Options::restore_from seeding a new data directory (the tree
// without sessions and their ephemerals, at the backup's zxid, writes
// continuing above it), a restart with the same file, and the refusals;
// one backup at a time per peer.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "storage/backup_file.h"
#include "test_util.h"
#include "tools/cli_client.h"
#include "tools/cli_command.h"
#include "transport/client.grpc.pb.h"
#include "util/cli_commands.h"

namespace synod {
namespace {

using synod::testing::ListeningPeer;
using synod::testing::MustStart;
using synod::testing::TempDir;
using synod::testing::TestOptions;
using tools::CliClient;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

absl::Status RunCli(CliClient* client, const std::vector<std::string>& words) {
  return client->Run(synod::testing::Cmd(words));
}

TEST_CASE("backup files: round trip and every kind of damage refused",
          "[backup]") {
  Backup b;
  b.zxid = MakeZxid(3, 17);
  b.created_ms = 1796594641000;
  b.snapshot = std::string("SNP1\x05 some bytes", 16);
  const std::string bytes = EncodeBackup(b);
  absl::StatusOr<Backup> back = DecodeBackup(bytes);
  REQUIRE(back.ok());
  CHECK(back->zxid == b.zxid);
  CHECK(back->created_ms == b.created_ms);
  CHECK(back->snapshot == b.snapshot);

  for (size_t i = 8; i < bytes.size(); ++i) {  // any byte after the magic
    std::string damaged = bytes;
    damaged[i] ^= 0x20;
    INFO("byte " << i);
    absl::StatusOr<Backup> d = DecodeBackup(damaged);
    REQUIRE(!d.ok());
    CHECK(ErrorOf(d.status()) == Error::kDataInconsistency);
  }
  CHECK(!DecodeBackup(bytes.substr(0, bytes.size() - 1)).ok());
  CHECK(!DecodeBackup(bytes + "x").ok());
  CHECK(!DecodeBackup("").ok());
  CHECK(!DecodeBackup("SYNODBK2" + bytes.substr(8)).ok());

  TempDir dir;
  const std::string path = dir.Sub("b.bk");
  REQUIRE(WriteBackupFile(path, b).ok());
  CHECK(!std::filesystem::exists(path + ".tmp"));
  back = ReadBackupFile(path);
  REQUIRE(back.ok());
  CHECK(back->snapshot == b.snapshot);
  CHECK(ReadBackupFile(dir.Sub("none")).status().code() ==
        absl::StatusCode::kNotFound);
}

TEST_CASE("a backup from a live peer restores into a new one",
          "[backup][tools]") {
  TempDir files;
  const std::string file = files.Sub("tree.bk");
  std::vector<std::pair<std::string, Node>> expected;
  Zxid backup_zxid = 0;
  {
    ListeningPeer source;
    Coordinator& c = *source.coordinator;
    REQUIRE(c.Create("/app", "config").ok());
    REQUIRE(c.Create("/app/a", "1").ok());
    REQUIRE(c.Set("/app/a", "2").ok());
    REQUIRE(c.Create("/app/gone", "").ok());
    REQUIRE(c.Delete("/app/gone").ok());
    REQUIRE(c.Create("/app/ttl", "t", CreateMode::kPersistentWithTtl,
                     CreateOptions{{}, 3600000}).ok());
    REQUIRE(c.SetQuota("/app", QuotaLimits{100, -1, -1, -1}).ok());
    REQUIRE(c.Create("/locked", "s", CreateMode::kPersistent,
                     CreateOptions{{Acl{perms::kAll, "digest",
                                        DigestId("alice", "pw")}}})
                .ok());
    // The Coordinator's own ephemeral, and a remote session's.
    REQUIRE(c.Create("/app/eph", "", CreateMode::kEphemeral).ok());
    std::ostringstream out;
    CliClient client(source.address, CliClient::Options(), &out);
    REQUIRE(RunCli(&client, {"create", "-e", "/app/eph2"}).ok());

    // Without READ on /locked: refused, nothing written.
    absl::Status refused = RunCli(&client, {"backup", file});
    CHECK(ErrorOf(refused) == Error::kNoAuth);
    CHECK(Contains(std::string(refused.message()), "/locked"));
    CHECK(!std::filesystem::exists(file));

    REQUIRE(RunCli(&client, {"addauth", "digest", "alice:pw"}).ok());
    out.str("");
    REQUIRE(RunCli(&client, {"backup", file}).ok());
    CHECK(out.str().rfind("Wrote " + file + ": the tree at 0x", 0) == 0);
    backup_zxid = ReadBackupFile(file)->zxid;
    CHECK(backup_zxid == c.GetHealth().last_zxid);
    for (const std::string& path :
         {"/app", "/app/a", "/app/ttl", "/locked", "/synod/quota/app"}) {
      if (path == "/locked") continue;  // the Coordinator may not read it
      expected.emplace_back(path, *c.Get(path));
    }
  }

  TempDir dir;
  Options o = TestOptions(dir.path());
  o.restore_from = file;
  {
    auto restored = MustStart(o);
    for (const auto& [path, node] : expected) {
      INFO(path);
      absl::StatusOr<Node> got = restored->Get(path);
      REQUIRE(got.ok());
      CHECK(got->data == node.data);
      CHECK(got->stat.czxid == node.stat.czxid);
      CHECK(got->stat.mzxid == node.stat.mzxid);
      CHECK(got->stat.pzxid == node.stat.pzxid);
      CHECK(got->stat.ctime == node.stat.ctime);
      CHECK(got->stat.version == node.stat.version);
      CHECK(got->stat.aversion == node.stat.aversion);
      if (path != "/app") CHECK(got->stat == node.stat);
    }
    // /app lost its two ephemerals: they count as deletions in its
    // cversion, as a closed session's do.
    const Stat app = restored->Get("/app")->stat;
    CHECK(app.num_children == 2);
    CHECK(app.cversion == expected[0].second.stat.cversion + 2);
    CHECK(ErrorOf(restored->Get("/locked").status()) == Error::kNoAuth);
    REQUIRE(restored->AddAuth("digest", "alice:pw").ok());
    CHECK(restored->Get("/locked")->data == "s");
    // Sessions and their ephemerals stay behind.
    CHECK(!restored->Exists("/app/eph")->has_value());
    CHECK(!restored->Exists("/app/eph2")->has_value());
    CHECK(restored->GetChildren("/app")->size() == 2);
    CHECK(restored->GetQuota("/app")->limits.count == 100);
    // New writes go on above the backup's zxid, in a later epoch.
    absl::StatusOr<std::string> created = restored->Create("/app/new", "n");
    REQUIRE(created.ok());
    const Stat stat = **restored->Exists("/app/new");
    CHECK(stat.czxid > backup_zxid);
    CHECK(EpochOf(stat.czxid) > EpochOf(backup_zxid));
  }
  // A restart with the same file: seeded already, it goes on.
  {
    auto again = MustStart(o);
    CHECK(again->Exists("/app/new")->has_value());
    CHECK(again->Get("/app/a")->data == "2");
  }
  // Another backup into a directory that holds data: refused.
  Backup other = *ReadBackupFile(file);
  other.zxid += 1;
  const std::string other_file = files.Sub("other.bk");
  REQUIRE(WriteBackupFile(other_file, other).ok());
  o.restore_from = other_file;
  absl::StatusOr<std::unique_ptr<Coordinator>> refused = Coordinator::Start(o);
  REQUIRE(!refused.ok());
  CHECK(refused.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(Contains(std::string(refused.status().message()), "holds data already"));
}

TEST_CASE("a peer sends one backup at a time", "[backup][tools]") {
  TempDir files;
  ListeningPeer source;
  Coordinator& c = *source.coordinator;
  // A snapshot of about 8 MiB: far more than a stream's flow-control
  // window (BDP probing off below), so the peer's writer waits for a
  // reader that holds back.
  const std::string data(1000 * 1000, 'x');
  for (int i = 0; i < 8; ++i) {
    REQUIRE(c.Create(absl::StrCat("/big", i), data).ok());
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  std::unique_ptr<transport::Client::Stub> stub =
      transport::Client::NewStub(grpc::CreateCustomChannel(
          source.address, grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext first_context;
  std::unique_ptr<grpc::ClientReader<transport::BackupChunk>> first =
      stub->Backup(&first_context, transport::BackupRequest());
  transport::BackupChunk chunk;
  REQUIRE(first->Read(&chunk));
  const int64_t total = chunk.total_bytes();
  int64_t received = static_cast<int64_t>(chunk.data().size());
  CHECK(received < total);

  // Another meanwhile is refused, and writes nothing.
  std::ostringstream out;
  CliClient client(source.address, CliClient::Options(), &out);
  const std::string file = files.Sub("second.bk");
  const absl::Status second = RunCli(&client, {"backup", file});
  CHECK(!second.ok());
  CHECK(Contains(std::string(second.message()), "already under way"));
  CHECK(!std::filesystem::exists(file));

  // The first arrives whole.
  while (first->Read(&chunk)) {
    received += static_cast<int64_t>(chunk.data().size());
  }
  CHECK(first->Finish().ok());
  CHECK(received == total);
  // Once its call has ended, the next is taken.
  CHECK(synod::testing::WaitFor(
      [&] { return RunCli(&client, {"backup", file}).ok(); },
      absl::Seconds(20), absl::Milliseconds(50)));
  CHECK(ReadBackupFile(file).ok());
}

TEST_CASE("a damaged or missing backup starts nothing", "[backup]") {
  TempDir files;
  const std::string file = files.Sub("bad.bk");
  Backup b;
  b.zxid = MakeZxid(1, 5);
  b.snapshot = "not a snapshot";
  REQUIRE(WriteBackupFile(file, b).ok());
  for (const std::string& from : {file, files.Sub("missing.bk")}) {
    INFO(from);
    TempDir dir;
    Options o = TestOptions(dir.path());
    o.restore_from = from;
    absl::StatusOr<std::unique_ptr<Coordinator>> c = Coordinator::Start(o);
    REQUIRE(!c.ok());
    CHECK(Contains(std::string(c.status().message()), "restore"));
    // The directory was left as it was before the restore: a later start
    // without one begins from nothing.
    Options plain = TestOptions(dir.path());
    auto fresh = MustStart(plain);
    CHECK(fresh->GetChildren("/")->size() == 1);  // /synod
  }
  // Damage to the file itself (a flipped byte).
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[bytes.size() - 2] ^= 1;
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  TempDir dir;
  Options o = TestOptions(dir.path());
  o.restore_from = file;
  absl::StatusOr<std::unique_ptr<Coordinator>> c = Coordinator::Start(o);
  REQUIRE(!c.ok());
  CHECK(ErrorOf(c.status()) == Error::kDataInconsistency);
  CHECK(Contains(std::string(c.status().message()), "checksum"));
}

}  // namespace
}  // namespace synod
