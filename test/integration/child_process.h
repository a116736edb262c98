// A child process running a program of ours, its output to a log file,
// and small helpers for tests that run processes (no dependency beyond
// the test utilities).

#ifndef SYNOD_TEST_INTEGRATION_CHILD_PROCESS_H_
#define SYNOD_TEST_INTEGRATION_CHILD_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace synod::testing {

// The contents of the file at `path` ("" if it cannot be read).
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// One child process running a program of ours, its output to a log file.
class ChildProcess {
 public:
  explicit ChildProcess(std::string log_path) : log_path_(std::move(log_path)) {}
  ~ChildProcess() { Kill(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Runs `args` (args[0] is the binary's path).
  void Start(std::vector<std::string> args) {
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  // SIGSTOP / SIGCONT: a process that stops answering without closing a
  // connection, then comes back.
  void Pause() {
    if (pid_ > 0) kill(pid_, SIGSTOP);
  }
  void Resume() {
    if (pid_ > 0) kill(pid_, SIGCONT);
  }
  // SIGKILL: no clean shutdown, nothing flushed.
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // SIGTERM: a clean shutdown; returns the exit status.
  int Stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  // Waits up to `timeout` for the process to exit by itself; returns its
  // exit status, or nullopt if it is still running (then it is killed).
  std::optional<int> WaitExit(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (pid_ > 0) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      if (absl::Now() >= deadline) {
        Kill();
        return std::nullopt;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
  }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // What it printed so far.
  std::string Log() const { return ReadFile(log_path_); }

 private:
  const std::string log_path_;
  pid_t pid_ = -1;
};

}  // namespace synod::testing

#endif  // SYNOD_TEST_INTEGRATION_CHILD_PROCESS_H_
