// synod-dump (tools/dump.h): its arguments, the txn descriptions, and the
// three views of a real data directory written by a Coordinator, read
// without changing it; a running peer's directory and others are refused.

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"
#include "tools/dump.h"

namespace synod {
namespace {

using synod::testing::MustStart;
using synod::testing::TempDir;
using synod::testing::TestOptions;
using tools::DumpRequest;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Every file under `dir` with its size and last write time.
std::map<std::string, std::pair<uintmax_t, int64_t>> Files(
    const std::string& dir) {
  std::map<std::string, std::pair<uintmax_t, int64_t>> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    out[e.path().string()] = {
        e.file_size(), static_cast<int64_t>(
                           e.last_write_time().time_since_epoch().count())};
  }
  return out;
}

std::string Run(const DumpRequest& request, absl::Status* status) {
  std::ostringstream out, notes;
  *status = tools::Dump(request, &out, &notes);
  return out.str();
}

TEST_CASE("synod-dump arguments and zxids", "[tools][dump]") {
  auto r = tools::ParseDumpArgs({"/d"});
  REQUIRE(r.ok());
  CHECK(r->dir == "/d");
  CHECK(r->what == DumpRequest::What::kSummary);
  r = tools::ParseDumpArgs({"/d", "log", "--from", "0x3:1", "--to", "0x3000000000a"});
  REQUIRE(r.ok());
  CHECK(r->what == DumpRequest::What::kLog);
  CHECK(r->from == MakeZxid(3, 1));
  CHECK(r->to == MakeZxid(3, 10));
  r = tools::ParseDumpArgs({"--data", "/d", "tree", "/a/b", "--applied-only"});
  REQUIRE(r.ok());
  CHECK((r->what == DumpRequest::What::kTree && r->path == "/a/b" &&
         r->data && r->applied_only));
  CHECK(*tools::ParseZxid("17") == 17);
  CHECK(*tools::ParseZxid("1f:0") == MakeZxid(0x1f, 0));
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{
           {},
           {"/d", "frob"},
           {"/d", "log", "--from"},
           {"/d", "log", "--from", "x"},
           {"/d", "log", "--from", "5", "--to", "4"},
           {"/d", "tree", "--from", "1"},
           {"/d", "summary", "extra"},
           {"/d", "tree", "/a", "/b"},
           {"/d", "--bogus"},
           {"/d", "log", "--to", "1:10000000000"}}) {
    INFO(bad.size());
    auto p = tools::ParseDumpArgs(bad);
    REQUIRE(!p.ok());
    CHECK(p.status().code() == absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("synod-dump describes each kind of txn", "[tools][dump]") {
  txn::Txn t;
  txn::CreateTxn* c = t.mutable_create();
  c->set_path("/a");
  c->set_data("hello");
  c->set_mode(static_cast<int32_t>(CreateMode::kEphemeral));
  c->set_ephemeral_owner(0x10000000002);
  txn::AclEntry* acl = c->add_acl();
  acl->set_scheme("world");
  acl->set_id("anyone");
  acl->set_perms(perms::kRead);
  CHECK(tools::DescribeTxn(t, false) ==
        "create /a mode=ephemeral data=5B acl=world:anyone:r "
        "owner=0x10000000002");
  CHECK(Contains(tools::DescribeTxn(t, true), "data=\"hello\""));
  txn::Txn m;
  m.mutable_multi()->add_ops()->mutable_delete_node()->set_path("/x");
  m.mutable_multi()->add_ops()->mutable_check()->set_path("/y");
  CHECK(tools::DescribeTxn(m, false) == "multi [delete /x; check /y]");
  txn::Txn e;
  e.mutable_error()->set_error(static_cast<int32_t>(Error::kNodeExists));
  e.mutable_error()->set_failed_op(-1);
  CHECK(tools::DescribeTxn(e, false) == "error NodeExists failed_op=-1");
  txn::Txn s;
  s.mutable_close_session()->add_ephemerals("/e1");
  s.mutable_close_session()->add_ephemerals("/e2");
  CHECK(tools::DescribeTxn(s, false) == "closeSession ephemerals=[/e1, /e2]");
}

TEST_CASE("synod-dump reads a stopped peer's directory and changes nothing",
          "[tools][dump]") {
  TempDir dir;
  {
    auto c = MustStart(TestOptions(dir.path()));
    REQUIRE(c->Create("/app", "config").ok());
    REQUIRE(c->Create("/app/a", "1").ok());
    REQUIRE(c->Set("/app/a", "2").ok());
    REQUIRE(c->Create("/app/e", "", CreateMode::kEphemeral).ok());
    REQUIRE(c->Delete("/app/a").ok());
    REQUIRE(c->Create("/app/b", std::string("\x01z", 2)).ok());

    // While it runs: refused, nothing copied.
    DumpRequest request;
    request.dir = dir.path();
    absl::Status status;
    Run(request, &status);
    CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
    CHECK(Contains(std::string(status.message()), "in use"));
  }
  const auto before = Files(dir.path());

  DumpRequest request;
  request.dir = dir.path();
  absl::Status status;
  std::string out = Run(request, &status);
  REQUIRE(status.ok());
  INFO(out);
  CHECK(Contains(out, "data directory: " + dir.path() + "\n"));
  CHECK(Contains(out, "ensemble: none (a peer alone)\n"));
  // The session closed at shutdown: its ephemeral is gone.
  CHECK(Contains(out, " 0 ephemerals, 0 sessions, 0 quotas\n"));

  request.what = DumpRequest::What::kLog;
  out = Run(request, &status);
  REQUIRE(status.ok());
  CHECK(Contains(out, " create /app mode=persistent data=6B acl=world:anyone:cdrwa\n"));
  CHECK(Contains(out, " setData /app/a version=1 data=1B\n"));
  CHECK(Contains(out, " create /app/e mode=ephemeral data=0B"));
  CHECK(Contains(out, " delete /app/a\n"));
  CHECK(Contains(out, " closeSession ephemerals=[/app/e]\n"));

  request.what = DumpRequest::What::kTree;
  request.path = "/app";
  request.data = true;
  out = Run(request, &status);
  REQUIRE(status.ok());
  CHECK(out.rfind("/app\n  cZxid = 0x", 0) == 0);
  CHECK(Contains(out, "\n  numChildren = 1\n  mode = persistent\n"
                      "  acl = world:anyone:cdrwa\n  data = \"config\"\n/app/b\n"));
  CHECK(Contains(out, "  data = \"\\x01z\"\n"));
  CHECK(Contains(out, "\n2 nodes at 0x"));
  // cversion as ZooKeeper serves it: three creations, two deletions.
  CHECK(Contains(out, "\n  cversion = 5\n"));

  request.path = "/missing";
  Run(request, &status);
  CHECK(ErrorOf(status) == Error::kNoNode);

  CHECK(Files(dir.path()) == before);
}

TEST_CASE("synod-dump refuses what is not a data directory", "[tools][dump]") {
  TempDir dir;
  DumpRequest request;
  request.dir = dir.Sub("missing");
  absl::Status status;
  Run(request, &status);
  CHECK(status.code() == absl::StatusCode::kNotFound);
  CHECK(!std::filesystem::exists(request.dir));  // not created either
  request.dir = dir.path();
  Run(request, &status);
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(Contains(std::string(status.message()), "not a synod data directory"));
}

}  // namespace
}  // namespace synod
