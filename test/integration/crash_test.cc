// Kills a writing process with SIGKILL, restarts on its data directory, and
// checks that every acknowledged write survived and that the dead session's
// ephemeral is gone.

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <string>

#include "test_util.h"

#ifndef SYNOD_CRASH_WRITER
#error "SYNOD_CRASH_WRITER must name the crash_writer binary"
#endif

namespace synod {
namespace {

// Starts crash_writer, reads acknowledgments until `acks` arrived (at least
// `min_after_ready` after "ready"), kills it with SIGKILL. Returns the
// acknowledged paths.
std::set<std::string> RunAndKill(const std::string& dir,
                                 const std::string& prefix, size_t acks) {
  int out[2];
  REQUIRE(pipe(out) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execl(SYNOD_CRASH_WRITER, SYNOD_CRASH_WRITER, dir.c_str(), prefix.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  FILE* in = fdopen(out[0], "r");
  std::set<std::string> acked;
  bool ready = false;
  char line[4096];
  while (acked.size() < acks && fgets(line, sizeof line, in)) {
    std::string s(line);
    if (s.empty() || s.back() != '\n') break;
    s.pop_back();
    if (s == "ready") ready = true;
    if (s.rfind("ack ", 0) == 0) acked.insert(s.substr(4));
  }
  kill(pid, SIGKILL);
  // Acks already written to the pipe before the kill count too.
  while (fgets(line, sizeof line, in)) {
    std::string s(line);
    if (s.empty() || s.back() != '\n') break;
    s.pop_back();
    if (s.rfind("ack ", 0) == 0) acked.insert(s.substr(4));
  }
  fclose(in);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(ready);
  CHECK(WIFSIGNALED(status));
  return acked;
}

TEST_CASE("SIGKILL during writes loses no acknowledged write", "[crash]") {
  testing::TempDir dir;
  const std::string data_dir = dir.Sub("data");
  std::set<std::string> all_acked;
  for (int round = 0; round < 3; ++round) {
    const std::string prefix = "r" + std::to_string(round);
    std::set<std::string> acked = RunAndKill(data_dir, prefix, 2000);
    REQUIRE(acked.size() >= 2000);
    all_acked.insert(acked.begin(), acked.end());

    auto c = Coordinator::Start(testing::TestOptions(data_dir));
    REQUIRE(c.ok());
    for (const std::string& path : all_acked) {
      INFO(path);
      REQUIRE((*c)->Exists(path)->has_value());
    }
    // The killed process's session was this data dir's own: it is closed
    // at restart, so its ephemeral is gone at once.
    for (int r = 0; r <= round; ++r) {
      CHECK(!(*c)->Exists("/eph-r" + std::to_string(r))->has_value());
    }
    // Sequence numbers are dense: no txn was skipped or applied twice.
    auto kids = (*c)->GetChildren("/" + prefix);
    REQUIRE(kids.ok());
    REQUIRE(kids->size() >= acked.size());
    for (size_t i = 0; i < kids->size(); ++i) {
      char want[32];
      snprintf(want, sizeof want, "n-%010zu", i);
      REQUIRE((*kids)[i] == want);
    }
  }
}

}  // namespace
}  // namespace synod
