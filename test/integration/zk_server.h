// A real ZooKeeper 3.8 server for differential tests: Debian's `zookeeper`
// package run standalone on loopback in a temporary directory, and a thin
// synchronous session on it through the C client (libzookeeper-mt).

#ifndef SYNOD_TEST_INTEGRATION_ZK_SERVER_H_
#define SYNOD_TEST_INTEGRATION_ZK_SERVER_H_

#include <unistd.h>
#include <zookeeper/zookeeper.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "integration/child_process.h"
#include "test_util.h"

namespace synod::testing {

// One standalone ZooKeeper server. Containers and TTL nodes are enabled,
// and their cleanup put off for an hour, so that a differential run
// compares ops, not cleanup timing (synod's is put off the same way).
class ZkServer {
 public:
  // `words`: the four-letter words it answers (4lw.commands.whitelist).
  explicit ZkServer(std::string words = "ruok")
      : words_(std::move(words)),
        port_(FreePort()),
        process_(dir_.Sub("server.out")) {}
  ~ZkServer() { process_.Kill(); }

  // Starts the server; returns once it answers `ruok`, or false after 60 s.
  bool Start() {
    const std::string conf = dir_.Sub("conf");
    const std::string data = dir_.Sub("data");
    std::filesystem::create_directories(conf);
    std::filesystem::create_directories(data);
    std::ofstream(conf + "/zoo.cfg")
        << "tickTime=2000\n"
        << "dataDir=" << data << "\n"
        << "clientPort=" << port_ << "\n"
        << "clientPortAddress=127.0.0.1\n"
        << "admin.enableServer=false\n"
        << "4lw.commands.whitelist=" << words_ << "\n";
    std::ofstream(conf + "/log4j.properties")
        << "log4j.rootLogger=WARN, FILE\n"
        << "log4j.appender.FILE=org.apache.log4j.FileAppender\n"
        << "log4j.appender.FILE.File=" << dir_.Sub("zookeeper.log") << "\n"
        << "log4j.appender.FILE.layout=org.apache.log4j.PatternLayout\n"
        << "log4j.appender.FILE.layout.ConversionPattern=%d %-5p %m%n\n";
    const std::string classpath = Classpath();
    process_.Start({"/usr/bin/java", "-Xmx256m",
                    "-Dzookeeper.extendedTypesEnabled=true",
                    "-Dznode.container.checkIntervalMs=3600000",
                    "-cp", classpath,
                    "org.apache.zookeeper.server.ZooKeeperServerMain",
                    conf + "/zoo.cfg"});
    return WaitFor([&] { return FourLetter("ruok") == "imok"; },
                   absl::Seconds(60), absl::Milliseconds(100));
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  std::string Log() const { return ReadFile(dir_.Sub("zookeeper.log")); }

  // Runs ZooKeeper's own zkCli (ZooKeeperMain) with one command, `args`
  // (shell words), on a new session against this server; its log goes to
  // the server's log file. Start must have succeeded.
  ShellResult ZkCli(const std::string& args) const {
    return JavaClient("", absl::StrCat("org.apache.zookeeper.ZooKeeperMain",
                                       " -server ", address(), " ", args));
  }

  // Runs a Java program on ZooKeeper's client: `main_and_args` (shell
  // words) with `classpath` (a directory or jar, or "") before
  // ZooKeeper's; its log goes to the server's log file.
  ShellResult JavaClient(const std::string& classpath,
                         const std::string& main_and_args) const {
    return Shell(absl::StrCat(
        "/usr/bin/java -Xmx128m -cp ",
        classpath.empty() ? "" : classpath + ":", Classpath(), " ",
        main_and_args, " </dev/null"));
  }

 private:
  // The server's jar, its logging, and the configuration directory (whose
  // log4j.properties sends the log to a file).
  std::string Classpath() const {
    std::string classpath = dir_.Sub("conf") + ":/usr/share/java/zookeeper.jar";
    for (const char* jar : {"/usr/share/java/slf4j-log4j12.jar",
                            "/usr/share/java/log4j-1.2.jar"}) {
      if (std::filesystem::exists(jar)) absl::StrAppend(&classpath, ":", jar);
    }
    return classpath;
  }

  // Sends a four-letter word; returns the answer ("" if none within 2 s: a
  // server still starting may take the connection and not answer).
  std::string FourLetter(const std::string& word) const {
    return Converse(address(), word, absl::Seconds(2));
  }

  const std::string words_;
  TempDir dir_;
  const int port_;
  ChildProcess process_;
};

// One session on a ZooKeeper server through the C client's synchronous
// calls.
class ZkSession {
 public:
  explicit ZkSession(const std::string& address) {
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zh_ = zookeeper_init(address.c_str(), nullptr, 30000, nullptr, nullptr, 0);
  }
  ~ZkSession() {
    if (zh_ != nullptr) zookeeper_close(zh_);
  }
  ZkSession(const ZkSession&) = delete;
  ZkSession& operator=(const ZkSession&) = delete;

  // Waits up to 30 s for the session to connect.
  bool WaitConnected() {
    return zh_ != nullptr &&
           WaitFor([&] { return zoo_state(zh_) == ZOO_CONNECTED_STATE; },
                   absl::Seconds(30), absl::Milliseconds(20));
  }
  zhandle_t* handle() { return zh_; }
  int64_t session_id() const { return zoo_client_id(zh_)->client_id; }

 private:
  zhandle_t* zh_ = nullptr;
};

}  // namespace synod::testing

#endif  // SYNOD_TEST_INTEGRATION_ZK_SERVER_H_
