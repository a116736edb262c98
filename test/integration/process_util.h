// Helpers for tests that run synod-peer processes on loopback and drive
// them with synod-cli and its client (test/integration/*_process_test.cc).

#ifndef SYNOD_TEST_INTEGRATION_PROCESS_UTIL_H_
#define SYNOD_TEST_INTEGRATION_PROCESS_UTIL_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "integration/child_process.h"
#include "test_util.h"
#include "tools/cli_client.h"
#include "util/mutex.h"

namespace synod::testing {

// WaitFor for checks that run synod-cli: polled every 100 ms, for up to
// `timeout` (a minute unless said).
inline bool WaitForCli(const std::function<bool()>& done,
                       absl::Duration timeout = absl::Seconds(60)) {
  return WaitFor(done, timeout, absl::Milliseconds(100));
}

// One synod-peer process.
class PeerProcess : public ChildProcess {
 public:
  // `flags`: more synod-peer flags, each a separate word.
  PeerProcess(std::string listen, std::vector<std::string> seeds,
              std::string data_dir, std::string log_path,
              std::vector<std::string> flags = {})
      : ChildProcess(std::move(log_path)), listen_(std::move(listen)),
        seeds_(std::move(seeds)), data_dir_(std::move(data_dir)),
        flags_(std::move(flags)) {}

  void Start(const std::string& session_timeout = "4s") {
    std::vector<std::string> args = {
        SYNOD_PEER_BINARY,   "--listen",   listen_,
        "--seeds",           absl::StrJoin(seeds_, ","),
        "--data-dir",        data_dir_,    "--session-timeout",
        session_timeout,     "--log-level", "info"};
    args.insert(args.end(), flags_.begin(), flags_.end());
    ChildProcess::Start(std::move(args));
  }
  const std::string& listen() const { return listen_; }

 private:
  const std::string listen_;
  const std::vector<std::string> seeds_;
  const std::string data_dir_;
  const std::vector<std::string> flags_;
};

// What synod-cli printed (stdout and stderr) and its exit status.
using CliResult = ShellResult;

// Runs synod-cli with `args` against `peer`.
inline CliResult Cli(const std::string& peer, const std::string& args) {
  return Shell(absl::StrCat(SYNOD_CLI_BINARY, " --peer ", peer, " ", args));
}

// The role `status` reports for `peer`, or "" if it does not answer.
inline std::string RoleOf(const std::string& peer) {
  CliResult r = Cli(peer, "status");
  if (r.exit_code != 0) return "";
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    if (absl::ConsumePrefix(&line, "role: ")) return std::string(line);
  }
  return "";
}

// The role of `peer` once it serves: "" while it has no serving leader
// (looking, or still synchronizing with its leader), or is unreachable.
inline std::string ServingRoleOf(const std::string& peer) {
  CliResult r = Cli(peer, "status");
  if (r.exit_code != 0) return "";
  std::string role;
  bool serving = false;
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    if (absl::ConsumePrefix(&line, "role: ")) role = std::string(line);
    if (absl::ConsumePrefix(&line, "leader: ")) serving = line != "none";
  }
  return serving ? role : "";
}

class ProcessEnsemble {
 public:
  explicit ProcessEnsemble(int n) {
    std::vector<std::string> seeds;
    for (int i = 0; i < n; ++i) {
      seeds.push_back(absl::StrCat("127.0.0.1:", FreePort()));
    }
    for (int i = 0; i < n; ++i) {
      peers_.push_back(std::make_unique<PeerProcess>(
          seeds[i], seeds, dir_.Sub(absl::StrCat("peer", i)),
          dir_.Sub(absl::StrCat("peer", i, ".log"))));
    }
  }
  ~ProcessEnsemble() {
    for (auto& p : peers_) p->Kill();
  }
  PeerProcess& at(int i) { return *peers_[i]; }
  int size() const { return static_cast<int>(peers_.size()); }
  void StartAll(const std::string& session_timeout = "4s") {
    for (auto& p : peers_) p->Start(session_timeout);
  }
  // Waits until the running peers report one leader and the rest
  // following it, each serving (synchronized with the leader); returns the
  // leader's index or -1.
  int WaitLeader(absl::Duration timeout = absl::Seconds(60)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      int leader = -1, following = 0, running = 0;
      for (int i = 0; i < size(); ++i) {
        if (!at(i).running()) continue;
        ++running;
        const std::string role = ServingRoleOf(at(i).listen());
        if (role == "leader") leader = i;
        if (role == "follower") ++following;
      }
      if (leader >= 0 && following == running - 1) return leader;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return -1;
  }
  std::string Logs() {
    std::string out;
    for (int i = 0; i < size(); ++i) {
      absl::StrAppend(&out, "---- peer ", i, " (", at(i).listen(), ")\n",
                      at(i).Log());
    }
    return out;
  }

 private:
  TempDir dir_;
  std::vector<std::unique_ptr<PeerProcess>> peers_;
};

// The children of `path` at `peer` after a sync there.
inline std::set<std::string> ChildrenAt(const std::string& peer, const std::string& path) {
  std::ostringstream listing;
  tools::CliClient client(peer, tools::CliClient::Options(), &listing);
  tools::CliCommand sync;
  sync.kind = tools::CliCommand::Kind::kSync;
  sync.path = path;
  tools::CliCommand ls;
  ls.kind = tools::CliCommand::Kind::kLs;
  ls.path = path;
  if (!client.Run(sync).ok()) return {"<sync failed>"};
  listing.str("");
  if (!client.Run(ls).ok()) return {"<ls failed>"};
  // zkCli's shape: "[a, b]".
  std::string text = listing.str();
  if (text.size() < 3 || text.front() != '[' || text.substr(text.size() - 2) != "]\n") {
    return {"<ls printed " + text + ">"};
  }
  text = text.substr(1, text.size() - 3);
  std::set<std::string> names;
  for (absl::string_view name : absl::StrSplit(text, ", ")) {
    if (!name.empty()) names.insert(std::string(name));
  }
  return names;
}

// Writes /load/<prefix><n> through `peer` until stopped, recording what was
// acknowledged and when the first write sent after the kill was.
class WriteLoad {
 public:
  // Names its nodes /load/<prefix><n>.
  explicit WriteLoad(std::string peer, std::string prefix = "w")
      : peer_(std::move(peer)), prefix_(std::move(prefix)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~WriteLoad() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  void MarkKill() {
    synod::MutexLock lock(&mu_);
    kill_time_ = absl::Now();
    first_after_kill_ = absl::InfiniteFuture();
  }
  std::set<std::string> acked() {
    synod::MutexLock lock(&mu_);
    return acked_;
  }
  int64_t acked_after_kill() {
    synod::MutexLock lock(&mu_);
    return acked_after_kill_;
  }
  absl::Duration failover() {
    synod::MutexLock lock(&mu_);
    return first_after_kill_ - kill_time_;
  }

 private:
  void Run() {
    std::ostringstream out;
    tools::CliClient::Options options;
    options.request_timeout = absl::Seconds(20);
    tools::CliClient client(peer_, options, &out);
    for (int n = 0; !stop_; ++n) {
      tools::CliCommand create;
      create.kind = tools::CliCommand::Kind::kCreate;
      create.path = absl::StrCat("/load/", prefix_, n);
      create.data = "v";
      const absl::Time invoked = absl::Now();
      if (client.Run(create).ok()) {
        synod::MutexLock lock(&mu_);
        acked_.insert(absl::StrCat(prefix_, n));
        // Writes sent after the kill: the ones that show writes resumed.
        if (kill_time_ != absl::InfinitePast() && invoked >= kill_time_) {
          ++acked_after_kill_;
          if (first_after_kill_ == absl::InfiniteFuture()) {
            first_after_kill_ = absl::Now();
          }
        }
      }
    }
  }

  const std::string peer_;
  const std::string prefix_;
  std::atomic<bool> stop_{false};
  synod::Mutex mu_;
  std::set<std::string> acked_ ABSL_GUARDED_BY(mu_);
  absl::Time kill_time_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time first_after_kill_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  int64_t acked_after_kill_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

inline bool Contains(const std::set<std::string>& all, const std::set<std::string>& part) {
  for (const std::string& s : part) {
    if (!all.count(s)) return false;
  }
  return true;
}

// Three processes of one program that embeds a Coordinator (an example, or
// a test's worker), each a peer of their ensemble. The program takes
// example_peer.h's flags: --listen, --seeds, --data-dir, --session-timeout
// (3 s unless given).
class EmbeddedEnsemble {
 public:
  explicit EmbeddedEnsemble(std::string binary,
                            std::string session_timeout = "3s")
      : binary_(std::move(binary)),
        session_timeout_(std::move(session_timeout)) {
    for (int i = 0; i < 3; ++i) {
      listen_.push_back(absl::StrCat("127.0.0.1:", FreePort()));
      processes_.push_back(std::make_unique<ChildProcess>(
          dir_.Sub(absl::StrCat("p", i, ".out"))));
    }
  }
  // Starts process `i` with the program's own `flags`.
  void Start(int i, std::vector<std::string> flags) {
    std::vector<std::string> args = {
        binary_,
        "--listen", listen_[i],
        "--seeds", absl::StrJoin(listen_, ","),
        "--data-dir", dir_.Sub(absl::StrCat("p", i)),
        "--session-timeout", session_timeout_};
    args.insert(args.end(), flags.begin(), flags.end());
    processes_[i]->Start(std::move(args));
  }
  // The end of each process's output, for the log of a failed test (the
  // processes are stopped first).
  ~EmbeddedEnsemble() {
    for (auto& p : processes_) p->Kill();
    for (int i = 0; i < 3; ++i) {
      const std::string out = at(i).Log();
      size_t from = out.size();
      for (int lines = 0; lines < 12 && from > 0; ++lines) {
        from = out.rfind('\n', from - 1);
        if (from == std::string::npos) {
          from = 0;
          break;
        }
      }
      std::printf("---- process %d (its last lines)\n%s\n", i,
                  out.substr(from).c_str());
    }
  }
  // Stops the running processes one by one with SIGTERM and returns how
  // many of those exited with a status other than 0 -- but the last one
  // left is killed: alone it is a peer without a quorum, and a write it
  // finishes on its way out (a lock's release, a deregistration) would
  // wait out its recipe's write timeout. Each stopped earlier still had
  // a quorum with the last.
  int StopAll() {
    std::vector<ChildProcess*> running;
    for (auto& p : processes_) {
      if (p->running()) running.push_back(p.get());
    }
    int failed = 0;
    for (size_t i = 0; i + 1 < running.size(); ++i) {
      if (running[i]->Stop() != 0) ++failed;
    }
    if (!running.empty()) running.back()->Kill();
    return failed;
  }
  ChildProcess& at(int i) { return *processes_[i]; }
  const std::string& listen(int i) const { return listen_[i]; }
  std::string Sub(const std::string& name) const { return dir_.Sub(name); }

 private:
  TempDir dir_;
  const std::string binary_;
  const std::string session_timeout_;
  std::vector<std::string> listen_;
  std::vector<std::unique_ptr<ChildProcess>> processes_;
};

}  // namespace synod::testing

#endif  // SYNOD_TEST_INTEGRATION_PROCESS_UTIL_H_
