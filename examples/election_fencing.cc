// Leader election with fencing: every process of the ensemble runs this;
// one leads at a time and writes to a shared journal, each write carrying
// the fencing token of its leadership. The journal stands for any resource
// that keeps the greatest token it has seen and refuses older ones, so a
// leader that was paused or cut off, and writes before it learns it was
// deposed, is refused rather than obeyed.
//
//   election_fencing --listen HOST:PORT --seeds A,B,C --data-dir DIR \
//       --id NAME --journal FILE [--session-timeout 4s]
//
// Prints "leading TOKEN" and "following" as leadership comes and goes, and
// each write's fate; the journal holds "ACCEPT|REJECT TOKEN NAME SEQ".

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/time/clock.h"
#include "example_peer.h"
#include "synod/recipes.h"

namespace {

// The fencing-aware resource: appends ACCEPT if `token` is not older than
// every token accepted before, REJECT otherwise. Returns true if accepted.
bool WriteFenced(const std::string& journal, int64_t token,
                 const std::string& id, int64_t seq) {
  const int fd = open(journal.c_str(), O_RDWR | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return false;
  flock(fd, LOCK_EX);
  int64_t greatest = 0;
  {
    std::ifstream in(journal);
    std::string verdict;
    int64_t seen;
    std::string rest;
    while (in >> verdict >> seen && std::getline(in, rest)) {
      if (verdict == "ACCEPT" && seen > greatest) greatest = seen;
    }
  }
  const bool accept = token >= greatest;
  std::ostringstream line;
  line << (accept ? "ACCEPT " : "REJECT ") << token << " " << id << " " << seq
       << "\n";
  const std::string text = line.str();
  const bool written =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  flock(fd, LOCK_UN);
  close(fd);
  return accept && written;
}

}  // namespace

int main(int argc, char** argv) {
  const auto flags = example::ParseFlags(argc, argv);
  const std::string id = example::Flag(flags, "id");
  const std::string journal = example::Flag(flags, "journal");
  example::StopOnSignals();
  auto coordinator = example::JoinEnsemble(flags);

  synod::recipes::LeaderElection election(
      *coordinator, "/examples/election", id, [](bool leading) {
        if (!leading) std::printf("following\n");
        std::fflush(stdout);
      });
  example::Check(election.Start(), "join the election");
  std::printf("joined as %s\n", id.c_str());
  std::fflush(stdout);

  int64_t seq = 0;
  int64_t announced = 0;
  while (!example::stopping) {
    absl::StatusOr<int64_t> token = election.FencingToken();
    if (token.ok()) {
      if (*token != announced) {
        std::printf("leading %lld\n", static_cast<long long>(*token));
        announced = *token;
      }
      const bool accepted = WriteFenced(journal, *token, id, ++seq);
      std::printf("%s %lld\n", accepted ? "accepted" : "refused",
                  static_cast<long long>(*token));
      std::fflush(stdout);
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::printf("stopping\n");
  return 0;
}
