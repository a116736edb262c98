// A lock protecting a file: every process of the ensemble runs this and
// appends the next number to a shared file, many times, each time under the
// same synod::recipes::Lock. Reading the last number and appending the next
// is not atomic; the lock alone keeps two processes from reading the same
// last number, so the file counts 1, 2, 3, ... without a repeat, whichever
// process is killed meanwhile.
//
//   lock_file --listen HOST:PORT --seeds A,B,C --data-dir DIR \
//       --file FILE --count N [--hold-first-ms MS] [--session-timeout 4s]
//
// --hold-first-ms makes the first critical section last that long (a slow
// or hung holder: the others wait, and if this process dies the lock
// passes once its session has expired, not before).
// Right before it touches the file, and all along a long hold, the holder
// checks Lock::IsHeld: if this process was paused (or cut off) long enough
// that another may have taken the lock, the check fails first (the
// session lease), and it prints "lost the lock" and starts over instead
// of writing.
// Prints "appended VALUE" for each number it appends and "done N" at the
// end; it then stays up as a peer of the ensemble (the others may still
// need it for a quorum) until SIGTERM.

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/time/clock.h"
#include "example_peer.h"
#include "synod/recipes.h"

namespace {

// The last number in `file` (0 if none).
int64_t LastNumber(const std::string& file) {
  std::ifstream in(file);
  int64_t value = 0;
  for (int64_t next; in >> next;) value = next;
  return value;
}

// Appends "VALUE\n" in one write (a kill leaves all of it or none).
void Append(const std::string& file, int64_t value) {
  const int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  const std::string line = std::to_string(value) + "\n";
  if (fd < 0 || write(fd, line.data(), line.size()) !=
                    static_cast<ssize_t>(line.size())) {
    std::perror("append");
    std::exit(1);
  }
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  const auto flags = example::ParseFlags(argc, argv);
  const std::string file = example::Flag(flags, "file");
  const int count = std::stoi(example::Flag(flags, "count"));
  int64_t hold_ms = std::stoll(example::Flag(flags, "hold-first-ms", "0"));
  example::StopOnSignals();
  auto coordinator = example::JoinEnsemble(flags);

  synod::recipes::Lock lock(*coordinator, "/examples/file-lock");
  int done = 0;
  while (done < count && !example::stopping) {
    absl::Status acquired = lock.Acquire(absl::Seconds(60));
    if (!acquired.ok()) {
      // A lost session or leader: the lock was not held; try again.
      std::printf("acquire: %s\n", acquired.ToString().c_str());
      continue;
    }
    if (hold_ms > 0) {
      std::printf("holding\n");
      std::fflush(stdout);
      const absl::Time until = absl::Now() + absl::Milliseconds(hold_ms);
      while (absl::Now() < until && !example::stopping && lock.IsHeld()) {
        absl::SleepFor(absl::Milliseconds(10));
      }
      hold_ms = 0;
    }
    if (!lock.IsHeld()) {
      // Another may hold it by now: never touch the file.
      std::printf("lost the lock\n");
      std::fflush(stdout);
      lock.Release().IgnoreError();  // its node is gone, or goes with the session
      continue;
    }
    const int64_t next = LastNumber(file) + 1;
    absl::SleepFor(absl::Milliseconds(2));  // widen the window a race needs
    Append(file, next);
    if (absl::Status released = lock.Release(); !released.ok()) {
      // Its node goes with the session; the lock passes then.
      std::printf("release: %s\n", released.ToString().c_str());
    }
    ++done;
    std::printf("appended %lld\n", static_cast<long long>(next));
    std::fflush(stdout);
  }
  std::printf("done %d\n", done);
  std::fflush(stdout);
  while (!example::stopping) absl::SleepFor(absl::Milliseconds(50));
  return 0;
}
