// Ensembles of synod-peer processes on loopback, driven with synod-cli and
// the CLI's client: kill -9 of the leader under a write load loses no
// acknowledged write and writes resume; a whole ensemble restarts from
// disk; a five-peer ensemble survives two losses; the ephemeral of a killed
// peer's session vanishes after the session timeout and watchers see it;
// the CLI's session, kill -9 of its peer notwithstanding, resumes at
// another with its ephemeral.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "grpcpp/grpcpp.h"
#include "integration/process_util.h"
#include "test_util.h"
#include "tools/cli_client.h"
#include "transport/client.grpc.pb.h"
#include "util/errors.h"

namespace synod::testing {
namespace {

// Runs synod-cli's `create -e path data` on `client`.
absl::Status CreateEphemeral(tools::CliClient& client, const std::string& path,
                             const std::string& data) {
  tools::CliCommand create;
  create.kind = tools::CliCommand::Kind::kCreate;
  create.path = path;
  create.data = data;
  create.ephemeral = true;
  return client.Run(create);
}

TEST_CASE("Processes: kill -9 of the leader under load loses no acknowledged "
          "write, and writes resume, a restart from disk keeps everything",
          "[processes]") {
  ProcessEnsemble e(3);
  e.StartAll();
  const int leader = e.WaitLeader();
  INFO(e.Logs());
  REQUIRE(leader >= 0);
  const int writer_peer = (leader + 1) % 3;
  REQUIRE(Cli(e.at(writer_peer).listen(), "create /load x").exit_code == 0);

  WriteLoad load(e.at(writer_peer).listen());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  load.MarkKill();
  e.at(leader).Kill();
  // Writes resume once the survivors elect a leader.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (load.acked_after_kill() < 20 && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  load.Stop();
  REQUIRE(load.acked_after_kill() >= 20);
  WARN("failover (leader kill to the next acknowledged write): "
       << absl::FormatDuration(load.failover()));
  const std::set<std::string> acked = load.acked();
  for (int i = 0; i < 3; ++i) {
    if (i == leader) continue;
    const std::set<std::string> have = ChildrenAt(e.at(i).listen(), "/load");
    CHECK(Contains(have, acked));
  }

  // Everyone down (the killed one stays dead), then all back from disk.
  for (int i = 0; i < 3; ++i) {
    if (e.at(i).running()) CHECK(e.at(i).Stop() == 0);
  }
  e.StartAll();
  REQUIRE(e.WaitLeader() >= 0);
  for (int i = 0; i < 3; ++i) {
    CHECK(Contains(ChildrenAt(e.at(i).listen(), "/load"), acked));
  }
}

TEST_CASE("Processes: a five-peer ensemble keeps writing with two peers gone",
          "[processes]") {
  ProcessEnsemble e(5);
  e.StartAll();
  const int leader = e.WaitLeader();
  INFO(e.Logs());
  REQUIRE(leader >= 0);
  const int other = (leader + 1) % 5;
  e.at(leader).Kill();
  e.at(other).Kill();
  const int next = e.WaitLeader();
  REQUIRE(next >= 0);
  const int writer = (next + 1) % 5 == leader || (next + 1) % 5 == other
                         ? (next + 3) % 5
                         : (next + 1) % 5;
  REQUIRE(e.at(writer).running());
  CliResult r = Cli(e.at(writer).listen(), "create /five yes");
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  r = Cli(e.at(next).listen(), "get /five");
  CHECK(r.exit_code == 0);
  CHECK(r.out.substr(0, 4) == "yes\n");
  // A missing node is an error with ZooKeeper's name and a non-zero exit.
  r = Cli(e.at(writer).listen(), "get /missing");
  CHECK(r.exit_code != 0);
  CHECK(r.out.find("Node does not exist: ") != std::string::npos);
}

TEST_CASE("Processes: a killed peer's sessions expire after their timeout, "
          "their ephemerals go and watchers elsewhere fire",
          "[processes]") {
  ProcessEnsemble e(3);
  e.StartAll("2s");
  const int leader = e.WaitLeader();
  INFO(e.Logs());
  REQUIRE(leader >= 0);
  const int doomed = (leader + 1) % 3;
  const int watcher_peer = (leader + 2) % 3;

  // A client session at the doomed peer owns an ephemeral.
  std::ostringstream owner_out;
  tools::CliClient owner(e.at(doomed).listen(), tools::CliClient::Options(),
                         &owner_out);
  REQUIRE(CreateEphemeral(owner, "/member", "here").ok());

  std::ostringstream watch_out;
  tools::CliClient::Options async;
  async.async_events = true;
  tools::CliClient watcher(e.at(watcher_peer).listen(), async, &watch_out);
  tools::CliCommand sync;
  sync.kind = tools::CliCommand::Kind::kSync;
  sync.path = "/";
  REQUIRE(watcher.Run(sync).ok());
  tools::CliCommand watch;
  watch.kind = tools::CliCommand::Kind::kWatch;
  watch.path = "/member";
  REQUIRE(watcher.Run(watch).ok());

  const absl::Time killed = absl::Now();
  e.at(doomed).Kill();
  REQUIRE(watcher.AwaitEvents(1, absl::Seconds(30)));
  CHECK(absl::Now() - killed >= absl::Milliseconds(1900));
  CHECK(watch_out.str().find("/member") != std::string::npos);
  CliResult r = Cli(e.at(leader).listen(), "stat /member");
  CHECK(r.exit_code != 0);
  CHECK(r.out.find("Node does not exist: ") != std::string::npos);
}


TEST_CASE("Processes: synod-cli's session survives a kill -9 of its peer, "
          "resumed at another with its ephemeral, past its timeout",
          "[processes]") {
  ProcessEnsemble e(3);
  e.StartAll("2s");
  const int leader = e.WaitLeader();
  INFO(e.Logs());
  REQUIRE(leader >= 0);
  const int doomed = (leader + 1) % 3;
  const int other = (leader + 2) % 3;
  // The shell's client, its peers in order: the doomed one first.
  std::ostringstream out;
  tools::CliClient::Options options;
  options.connect_timeout = absl::Seconds(2);
  tools::CliClient client(std::vector<std::string>{e.at(doomed).listen(),
                                                   e.at(other).listen(),
                                                   e.at(leader).listen()},
                          options, &out);
  REQUIRE(CreateEphemeral(client, "/member", "here").ok());
  const int64_t session = client.session_id();
  REQUIRE(client.current_peer() == e.at(doomed).listen());

  const absl::Time killed = absl::Now();
  e.at(doomed).Kill();
  // The next command resumes the session at the next peer. (One sent
  // before the client saw its connection go fails with ConnectionLoss,
  // as a ZooKeeper client's; so may one on a peer that lost its leader for
  // a moment under load, which ends its clients' streams.)
  tools::CliCommand get;
  get.kind = tools::CliCommand::Kind::kGet;
  get.path = "/member";
  out.str("");
  absl::Status got = client.Run(get);
  for (int retry = 0; retry < 3 && ErrorOf(got) == Error::kConnectionLoss;
       ++retry) {
    out.str("");
    got = client.Run(get);
  }
  INFO(got.ToString());
  REQUIRE(got.ok());
  const absl::Duration resumed = absl::Now() - killed;
  std::printf("synod-cli: session resumed %s after its peer's kill\n",
              absl::FormatDuration(resumed).c_str());
  CHECK(out.str() == "here\n");
  CHECK(client.session_id() == session);
  CHECK(client.current_peer() == e.at(other).listen());
  // Well past its 2 s timeout, the ephemeral is still the session's.
  absl::SleepFor(absl::Seconds(4));
  CliResult r = Cli(e.at(leader).listen(), "stat /member");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find(absl::StrCat("ephemeralOwner = 0x", absl::Hex(session))) !=
        std::string::npos);
  // Closed by its client: gone at once.
  client.Close();
  r = Cli(e.at(leader).listen(), "stat /member");
  CHECK(r.out.find("Node does not exist: ") != std::string::npos);
}

TEST_CASE("Processes: a second synod-peer on a busy address exits, naming it",
          "[processes]") {
  ProcessEnsemble e(1);
  e.StartAll();
  REQUIRE(e.WaitLeader() == 0);
  TempDir dir;
  PeerProcess second(e.at(0).listen(), {e.at(0).listen()}, dir.Sub("data"),
                     dir.Sub("second.log"));
  second.Start();
  const std::optional<int> exit_code = second.WaitExit(absl::Seconds(60));
  INFO(second.Log());
  REQUIRE(exit_code.has_value());
  CHECK(*exit_code != 0);
  CHECK(second.Log().find("address " + e.at(0).listen() + " is in use") !=
        std::string::npos);
  // The first one still serves.
  CHECK(RoleOf(e.at(0).listen()) == "leader");
}


// Not run by default (a measurement, not a check): the threads and
// descriptors of a synod-peer process serving 1,000 remote sessions, each
// on a connection of its own.
//   synod_process_tests "[.measure]"
TEST_CASE("Processes: threads and descriptors of a peer with 1,000 remote "
          "sessions",
          "[.measure]") {
  ProcessEnsemble e(1);
  e.StartAll("30s");
  REQUIRE(e.WaitLeader() == 0);
  const std::string address = e.at(0).listen();
  const auto count = [](const std::string& dir) {
    int n = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator(dir)) {
      ++n;
    }
    return n;
  };
  const std::string proc = absl::StrCat("/proc/", e.at(0).pid());
  const int threads_before = count(proc + "/task");
  const int fds_before = count(proc + "/fd");
  struct Remote {
    std::unique_ptr<transport::Client::Stub> stub;
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReaderWriter<transport::ClientRequest,
                                             transport::ClientReply>>
        stream;
  };
  std::vector<std::unique_ptr<Remote>> remotes;
  int opened = 0;
  for (int i = 0; i < 1000; ++i) {
    grpc::ChannelArguments own;  // a connection per session
    own.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto r = std::make_unique<Remote>();
    r->stub = transport::Client::NewStub(grpc::CreateCustomChannel(
        address, grpc::InsecureChannelCredentials(), own));
    r->stream = r->stub->Session(&r->context);
    transport::ClientRequest open;
    open.set_id(1);
    open.mutable_open();
    transport::ClientReply reply;
    if (r->stream->Write(open) && r->stream->Read(&reply) &&
        reply.error() == 0) {
      ++opened;
    }
    remotes.push_back(std::move(r));
  }
  const int threads = count(proc + "/task");
  const int fds = count(proc + "/fd");
  WARN("synod-peer: " << opened << " sessions open; threads " << threads_before
                      << " -> " << threads << ", descriptors " << fds_before
                      << " -> " << fds);
  CHECK(opened == 1000);
  for (auto& r : remotes) r->context.TryCancel();
}

}  // namespace
}  // namespace synod::testing
