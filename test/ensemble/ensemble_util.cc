// In-process ensembles for tests (see ensemble_util.h).

#include "ensemble/ensemble_util.h"

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "coordinator_internals.h"
#include "transport/peer_network.h"

namespace synod::testing {

LocalEnsemble::LocalEnsemble(int voters, int observers, absl::Duration tick) {
  std::vector<std::string> seeds;
  for (int i = 0; i < voters + observers; ++i) {
    Peer p;
    p.address = absl::StrCat("127.0.0.1:", FreePort());
    if (i < voters) seeds.push_back(p.address);
    peers_.push_back(std::move(p));
  }
  for (int i = 0; i < size(); ++i) {
    Options& o = peers_[i].options;
    o = TestOptions(dir_.Sub(absl::StrCat("peer", i)));
    o.listen = peers_[i].address;
    o.seeds = seeds;
    o.tick = tick;
    o.session_timeout = absl::Seconds(8);
    // SYNOD_TEST_LOG=1 shows the peers' logs (role changes, links).
    if (getenv("SYNOD_TEST_LOG")) {
      const std::string tag = absl::StrCat("[", i, "] ");
      o.log_sink = [tag](LogLevel level, std::string_view m) {
        if (level >= LogLevel::kInfo) fprintf(stderr, "%s%.*s\n", tag.c_str(),
                                              static_cast<int>(m.size()), m.data());
      };
    }
  }
}

LocalEnsemble::~LocalEnsemble() {
  // Followers first: each stop closes a session through the leader.
  const int leader = Leader();
  for (int i = 0; i < size(); ++i) {
    if (i != leader) Stop(i);
  }
  if (leader >= 0) Stop(leader);
}

absl::Status LocalEnsemble::Start(int i) {
  absl::StatusOr<std::unique_ptr<Coordinator>> c =
      Coordinator::Start(peers_[i].options);
  if (!c.ok()) return c.status();
  peers_[i].coordinator = std::move(*c);
  return absl::OkStatus();
}

void LocalEnsemble::StartAll() {
  for (int i = 0; i < size(); ++i) {
    absl::Status s = Start(i);
    if (!s.ok()) {
      fprintf(stderr, "peer %d failed to start: %s\n", i, s.ToString().c_str());
      abort();
    }
  }
}

void LocalEnsemble::Stop(int i) { peers_[i].coordinator.reset(); }

bool LocalEnsemble::WaitAllConnected(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (int i = 0; i < size(); ++i) {
    if (!running(i)) continue;
    absl::Status s = at(i).WaitConnected(deadline - absl::Now());
    if (!s.ok()) {
      fprintf(stderr, "peer %d not connected: %s\n", i, s.ToString().c_str());
      return false;
    }
  }
  return true;
}

int LocalEnsemble::Leader() const {
  for (int i = 0; i < size(); ++i) {
    if (peers_[i].coordinator &&
        peers_[i].coordinator->GetHealth().role == "leader") {
      return i;
    }
  }
  return -1;
}

int LocalEnsemble::WaitLeader(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    const int l = Leader();
    if (l >= 0 && at(l).GetHealth().connected) return l;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

int LocalEnsemble::StartAndWaitLeader() {
  StartAll();
  if (!WaitAllConnected()) return -1;
  return WaitLeader();
}

void LocalEnsemble::Isolate(int i, bool cut) {
  for (int j = 0; j < size(); ++j) {
    if (j == i || !running(j)) continue;
    CoordinatorInternals::runtime(at(i))->network()->SetBlocked(
        at(j).GetHealth().peer_id, cut);
    CoordinatorInternals::runtime(at(j))->network()->SetBlocked(
        at(i).GetHealth().peer_id, cut);
  }
}

}  // namespace synod::testing
