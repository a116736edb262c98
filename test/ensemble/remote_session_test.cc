// Remote sessions over synod's client service outlive their streams: the
// CLI's client resumes its session on another peer when its own stops,
// its ephemeral and identities kept, and closes it when it is done; a
// session whose client vanished stays open until its timeout, then the
// ensemble expires it. Its watches are set again on the next peer.

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "synod/coordinator.h"
#include "ensemble/ensemble_util.h"
#include "grpcpp/grpcpp.h"
#include "tools/cli_client.h"
#include "transport/client.grpc.pb.h"
#include "util/cli_commands.h"
#include "util/errors.h"

namespace synod::testing {
namespace {

constexpr auto Run = RunCmd;

// The ensemble's peers for a client to fail over between, `first` first.
std::vector<std::string> PeersFrom(LocalEnsemble& e, int first) {
  std::vector<std::string> peers;
  for (int i = 0; i < e.size(); ++i) {
    peers.push_back(e.address((first + i) % e.size()));
  }
  return peers;
}

// A client that gives up on an unreachable peer soon, with a session that
// outlasts a failover.
tools::CliClient::Options FailoverOptions() {
  tools::CliClient::Options options;
  options.connect_timeout = absl::Seconds(2);
  options.session_timeout = absl::Seconds(20);
  return options;
}

TEST_CASE("Remote sessions: the CLI's session fails over to another peer "
          "with its ephemeral and identities, and closes when it is done",
          "[ensemble][client_service]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  REQUIRE(e.WaitAllConnected());
  // The client starts at a follower, whose stop leaves a leader serving.
  const int first = (leader + 1) % 3;
  const std::vector<std::string> peers = PeersFrom(e, first);
  std::ostringstream out;
  tools::CliClient::Options options = FailoverOptions();
  tools::CliClient client(peers, options, &out);
  REQUIRE(Run(&client, &out, {"addauth", "digest", "alice:pw"}).ok());
  REQUIRE(Run(&client, &out, {"create", "-e", "/eph", "x"}).ok());
  const int64_t session = client.session_id();
  REQUIRE(session != 0);
  REQUIRE(client.current_peer() == e.address(first));

  e.Stop(first);
  // The next command resumes the session at the next peer: same session,
  // its ephemeral still its own, alice still who it is. (One sent before
  // the client saw its stream end fails with ConnectionLoss; the one
  // after it resumes.)
  absl::StatusOr<std::string> who = Run(&client, &out, {"whoami"});
  if (!who.ok() && ErrorOf(who.status()) == Error::kConnectionLoss) {
    who = Run(&client, &out, {"whoami"});
  }
  INFO(who.status().ToString());
  REQUIRE(who.ok());
  CHECK(who->find("digest") != std::string::npos);
  CHECK(who->find("alice") != std::string::npos);
  CHECK(client.session_id() == session);
  CHECK(client.current_peer() != e.address(first));
  REQUIRE(e.at(leader).Sync("/").ok());
  absl::StatusOr<std::optional<Stat>> eph = e.at(leader).Exists("/eph");
  REQUIRE(eph.ok());
  REQUIRE(eph->has_value());
  CHECK((*eph)->ephemeral_owner == session);
  // It writes as before.
  REQUIRE(Run(&client, &out, {"create", "-e", "/eph2", "y"}).ok());

  // Closed when the client is done: its ephemerals go at once.
  client.Close();
  CHECK(client.session_id() == 0);
  REQUIRE(e.at(leader).Sync("/").ok());
  CHECK(!e.at(leader).Exists("/eph")->has_value());
  CHECK(!e.at(leader).Exists("/eph2")->has_value());
}

TEST_CASE("Remote sessions: a CLI whose peer loses its leader resumes its "
          "session at a peer that has one",
          "[ensemble][client_service]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  REQUIRE(e.WaitAllConnected());
  const int first = (leader + 1) % 3;
  const std::vector<std::string> peers = PeersFrom(e, first);
  std::ostringstream out;
  tools::CliClient::Options options = FailoverOptions();
  tools::CliClient client(peers, options, &out);
  REQUIRE(Run(&client, &out, {"create", "-e", "/mine", "x"}).ok());
  const int64_t session = client.session_id();
  REQUIRE(session != 0);

  // Its peer is cut off from the others: once it knows it has no leader
  // it fails the writes it holds and then ends the client's stream (a
  // command in between fails with ConnectionLoss too), and a command after
  // that resumes the session elsewhere. Left there, the client would read
  // a replica that no longer moves while the ensemble expired its session.
  e.Isolate(first, true);
  absl::StatusOr<std::string> created =
      Run(&client, &out, {"create", "/after", "y"});
  for (int attempt = 0; attempt < 4 && !created.ok() &&
                        ErrorOf(created.status()) == Error::kConnectionLoss;
       ++attempt) {
    created = Run(&client, &out, {"create", "/after", "y"});
  }
  INFO(created.status().ToString());
  REQUIRE(created.ok());
  CHECK(client.session_id() == session);
  CHECK(client.current_peer() != e.address(first));
  absl::StatusOr<std::optional<Stat>> mine = e.at(leader).Exists("/mine");
  REQUIRE(mine.ok());
  REQUIRE(mine->has_value());
  CHECK((*mine)->ephemeral_owner == session);
  client.Close();
}

// How often `text` occurs in `in`.
int Count(const std::string& in, const std::string& text) {
  int n = 0;
  for (size_t at = in.find(text); at != std::string::npos;
       at = in.find(text, at + 1)) {
    ++n;
  }
  return n;
}

TEST_CASE("Remote sessions: the CLI's watches are set again on the next "
          "peer, the events missed meanwhile delivered once, the rest "
          "firing later",
          "[ensemble][client_service]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  REQUIRE(e.WaitAllConnected());
  const int first = (leader + 1) % 3;
  const std::vector<std::string> peers = PeersFrom(e, first);
  std::ostringstream out;
  tools::CliClient::Options options = FailoverOptions();
  options.async_events = true;  // as the shell: printed as they come
  tools::CliClient client(peers, options, &out);
  // Everything printed stays in `out` (RunCmd would clear it).
  auto run = [&client](const std::vector<std::string>& words) {
    return client.Run(Cmd(words));
  };
  for (const char* path : {"/w", "/kids", "/quiet", "/tree"}) {
    REQUIRE(run({"create", path, "a"}).ok());
  }
  REQUIRE(run({"get", "-w", "/w"}).ok());
  REQUIRE(run({"ls", "-w", "/kids"}).ok());
  REQUIRE(run({"stat", "-w", "/quiet"}).ok());
  // A missing node's stat fails, its watch set all the same.
  CHECK(ErrorOf(run({"stat", "-w", "/later"})) == Error::kNoNode);
  REQUIRE(run({"addWatch", "-m", "PERSISTENT_RECURSIVE", "/tree"}).ok());
  using Kind = tools::RemoteWatches::Kind;
  tools::RemoteWatches held = client.watches();
  CHECK(held.Holds(Kind::kData, "/w"));
  CHECK(held.Holds(Kind::kChild, "/kids"));
  CHECK(held.Holds(Kind::kData, "/quiet"));
  CHECK(held.Holds(Kind::kExist, "/later"));
  CHECK(held.Holds(Kind::kPersistentRecursive, "/tree"));
  CHECK(held.zxid() > 0);
  CHECK(client.events_received() == 0);

  // Its peer stops; while the client is away, /w changes, /kids gets a
  // child and /tree a descendant.
  e.Stop(first);
  Coordinator& writer = e.at(leader);
  REQUIRE(writer.Set("/w", "b").ok());
  REQUIRE(writer.Create("/kids/k", "").ok());
  REQUIRE(writer.Create("/tree/t", "").ok());

  // The next command resumes the session at the next peer, which sends
  // the one-shot watches' missed events (a persistent watch misses its
  // events, as in ZooKeeper: it is set again from now on).
  absl::Status got = run({"get", "/quiet"});
  if (ErrorOf(got) == Error::kConnectionLoss) got = run({"get", "/quiet"});
  INFO(got.ToString());
  REQUIRE(got.ok());
  CHECK(client.current_peer() != e.address(first));
  REQUIRE(client.AwaitEvents(2, absl::Seconds(10)));
  held = client.watches();
  CHECK_FALSE(held.Holds(Kind::kData, "/w"));
  CHECK_FALSE(held.Holds(Kind::kChild, "/kids"));
  CHECK(held.Holds(Kind::kData, "/quiet"));

  // The watches without a missed event were set again there: they fire.
  REQUIRE(writer.Set("/quiet", "b").ok());
  REQUIRE(writer.Create("/later", "").ok());
  REQUIRE(writer.Set("/tree/t", "b").ok());
  REQUIRE(client.AwaitEvents(5, absl::Seconds(10)));
  // Nothing more: each event came once.
  REQUIRE(writer.Set("/w", "c").ok());
  REQUIRE(run({"sync", "/"}).ok());
  REQUIRE(run({"get", "/w"}).ok());
  CHECK(client.events_received() == 5);
  client.Close();  // its reader thread, which prints events, is done
  const std::string printed = out.str();
  INFO(printed);
  CHECK(Count(printed, "type:NodeDataChanged path:/w\n") == 1);
  CHECK(Count(printed, "type:NodeChildrenChanged path:/kids\n") == 1);
  CHECK(Count(printed, "type:NodeDataChanged path:/quiet\n") == 1);
  CHECK(Count(printed, "type:NodeCreated path:/later\n") == 1);
  CHECK(Count(printed, "type:NodeDataChanged path:/tree/t\n") == 1);
  CHECK(Count(printed, "path:/tree/t") == 1);  // its creation was missed
}

TEST_CASE("Remote sessions: a session whose client vanished keeps its "
          "ephemeral until its timeout, then expires",
          "[ensemble][client_service]") {
  LocalEnsemble e(3);
  const int leader = e.StartAndWaitLeader();
  REQUIRE(leader >= 0);
  auto stub = transport::Client::NewStub(grpc::CreateChannel(
      e.address(leader), grpc::InsecureChannelCredentials()));
  int64_t session = 0;
  absl::Time vanished;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    auto stream = stub->Session(&context);
    transport::ClientRequest open;
    open.set_id(1);
    open.mutable_open()->set_timeout_ms(2000);
    transport::ClientReply reply;
    REQUIRE(stream->Write(open));
    REQUIRE(stream->Read(&reply));
    REQUIRE(reply.error() == 0);
    session = reply.session_id();
    CHECK(reply.session_timeout_ms() == 2000);
    transport::ClientRequest create;
    create.set_id(2);
    create.mutable_write()->mutable_create()->set_path("/brief");
    create.mutable_write()->mutable_create()->set_mode(
        static_cast<int32_t>(CreateMode::kEphemeral));
    REQUIRE(stream->Write(create));
    REQUIRE(stream->Read(&reply));
    REQUIRE(reply.error() == 0);
    context.TryCancel();  // gone without a CloseSession
    while (stream->Read(&reply)) {
    }
    stream->Finish();
    vanished = absl::Now();
  }
  // Still there, its own, while the session's timeout runs.
  absl::StatusOr<std::optional<Stat>> brief = e.at(leader).Exists("/brief");
  REQUIRE(brief.ok());
  REQUIRE(brief->has_value());
  CHECK((*brief)->ephemeral_owner == session);
  // Then the ensemble expires it.
  REQUIRE(WaitFor([&] { return !e.at(leader).Exists("/brief")->has_value(); },
                  absl::Seconds(30)));
  CHECK(absl::Now() - vanished >= absl::Milliseconds(1500));
}

}  // namespace
}  // namespace synod::testing
