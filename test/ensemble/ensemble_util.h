// In-process ensembles for tests: N Coordinators in one process, each with
// its own data directory and a loopback port, over real gRPC.

#ifndef SYNOD_TEST_ENSEMBLE_ENSEMBLE_UTIL_H_
#define SYNOD_TEST_ENSEMBLE_ENSEMBLE_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "synod/synod.h"
#include "test_util.h"

namespace synod::testing {

class LocalEnsemble {
 public:
  // `voters` peers in the seed list and `observers` outside it.
  explicit LocalEnsemble(int voters, int observers = 0,
                         absl::Duration tick = absl::Milliseconds(50));
  ~LocalEnsemble();

  int size() const { return static_cast<int>(peers_.size()); }
  // Starts peer `i` (from its data directory as left by Stop).
  absl::Status Start(int i);
  void StartAll();
  // Shuts peer `i` down cleanly (its session closes).
  void Stop(int i);
  bool running(int i) const { return peers_[i].coordinator != nullptr; }
  Coordinator& at(int i) { return *peers_[i].coordinator; }
  Options& options(int i) { return peers_[i].options; }
  const std::string& address(int i) const { return peers_[i].address; }

  // Waits until every running peer is connected; returns false on timeout.
  bool WaitAllConnected(absl::Duration timeout = absl::Seconds(30));
  // Returns the index of the running peer that leads, or -1.
  int Leader() const;
  // Waits for a leader among the running peers; -1 on timeout.
  int WaitLeader(absl::Duration timeout = absl::Seconds(30));
  // Starts every peer, waits for all to connect and for a leader; returns
  // the leader's index (-1 on timeout).
  int StartAndWaitLeader();
  // Cuts peer `i` off from every other running peer, both ways (the
  // transport's fault injection), or heals it.
  void Isolate(int i, bool cut);

 private:
  struct Peer {
    std::string address;
    Options options;
    std::unique_ptr<Coordinator> coordinator;
  };
  TempDir dir_;
  std::vector<Peer> peers_;
};

}  // namespace synod::testing

#endif  // SYNOD_TEST_ENSEMBLE_ENSEMBLE_UTIL_H_
