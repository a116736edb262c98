// synod-cli: runs one command against a peer, or, without a command, a shell
// reading commands from stdin (one session for the shell's lifetime). The
// commands and their output are zkCli's (ZooKeeper 3.8), plus synod's own.
//
//   synod-cli --peer 127.0.0.1:7001 create /config hello
//   synod-cli --peer 127.0.0.1:7001,127.0.0.1:7002 get -s /config
//   synod-cli --peer 127.0.0.1:7001          # shell

#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "synod/types.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/cli_client.h"
#include "tools/cli_shell.h"
#include "tools/flags.h"
#include "util/strings.h"

namespace {

const char kUsage[] =
    "usage: synod-cli --peer HOST:PORT[,HOST:PORT...] [options] [command "
    "[args...]]\n"
    "  --peer LIST              the peers to talk to, tried in order; after\n"
    "                           a lost connection the next one (required)\n"
    "  --connect-timeout DUR    how long the peer has to answer (default 5s)\n"
    "  --session-timeout DUR    the session's timeout (default: the peer's)\n"
    "  --tls-cert FILE          with --tls-key and --tls-ca: mutual TLS (PEM\n"
    "  --tls-key FILE           certificate, its key, and the CA the peer's\n"
    "  --tls-ca FILE            certificate must chain to)\n"
    "Without a command, reads commands from stdin (a shell). Exit status:\n"
    "0 done, 1 the command failed, 2 a usage error.\n";

// Prints `message` and the usage (with the commands, for a bad command) to
// stderr; the exit status of a usage error.
int UsageError(const std::string& message, bool commands = false) {
  std::cerr << "synod-cli: " << message << "\n" << kUsage;
  if (commands) std::cerr << synod::tools::CommandsHelp();
  return 2;
}

// A failure as zkCli words it ("Node does not exist: /a").
void PrintError(const absl::Status& status) {
  std::cerr << status.message() << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  synod::tools::FlagSpec spec;
  spec.value_flags = {"peer", "connect-timeout", "session-timeout"};
  spec.value_flags.insert(spec.value_flags.end(),
                          synod::tools::kTlsFlagNames.begin(),
                          synod::tools::kTlsFlagNames.end());
  spec.bool_flags = {"help"};
  spec.stop_at_positional = true;
  absl::StatusOr<synod::tools::ParsedFlags> flags =
      synod::tools::ParseFlags(args, spec);
  if (!flags.ok()) return UsageError(std::string(flags.status().message()));
  for (const std::string& name : flags->switches) {
    if (name == "help") {
      std::cout << kUsage << synod::tools::CommandsHelp();
      return 0;
    }
  }

  synod::tools::CliClient::Options options;
  auto it = flags->values.find("peer");
  if (it == flags->values.end()) return UsageError("--peer is required");
  std::vector<std::string> peers;
  for (absl::string_view item : absl::StrSplit(it->second, ',')) {
    absl::StatusOr<std::string> peer =
        synod::tools::ParseAddress(std::string(item));
    if (!peer.ok()) return UsageError(std::string(peer.status().message()));
    peers.push_back(*std::move(peer));
  }
  if (it = flags->values.find("connect-timeout"); it != flags->values.end()) {
    absl::StatusOr<absl::Duration> d =
        synod::tools::ParseDurationFlag(it->second);
    if (!d.ok()) {
      return UsageError("--connect-timeout: " +
                        std::string(d.status().message()));
    }
    options.connect_timeout = *d;
  }
  if (it = flags->values.find("session-timeout"); it != flags->values.end()) {
    absl::StatusOr<absl::Duration> d =
        synod::tools::ParseDurationFlag(it->second);
    if (!d.ok()) {
      return UsageError("--session-timeout: " +
                        std::string(d.status().message()));
    }
    options.session_timeout = *d;
  }
  absl::StatusOr<synod::TlsOptions> tls =
      synod::tools::ParseTlsFlags(flags->values);
  if (!tls.ok()) return UsageError(std::string(tls.status().message()));
  absl::StatusOr<std::shared_ptr<const synod::transport::TransportCredentials>>
      credentials = synod::transport::TransportCredentials::Make(*tls);
  if (!credentials.ok()) {
    // A bad file: said before anything is sent.
    std::cerr << "synod-cli: " << credentials.status().message() << std::endl;
    return 2;
  }
  options.credentials = *std::move(credentials);

  if (flags->positional.empty()) {
    options.async_events = true;
    synod::tools::CliClient client(peers, options, &std::cout);
    const bool tty = isatty(STDIN_FILENO) != 0;
    if (absl::Status s = client.Connect(); !s.ok()) {
      PrintError(s);
      return 1;
    }
    synod::tools::CliShell shell(&client, &std::cerr);
    shell.Run(std::cin, tty);
    return 0;
  }

  absl::StatusOr<synod::tools::CliCommand> command =
      synod::tools::ParseCommand(flags->positional);
  if (!command.ok()) {
    if (synod::tools::IsCommandName(flags->positional[0])) {
      // The message carries the command's usage.
      std::cerr << "synod-cli: " << command.status().message() << std::endl;
      return 2;
    }
    return UsageError(std::string(command.status().message()), true);
  }
  switch (command->kind) {
    case synod::tools::CliCommand::Kind::kHistory:
    case synod::tools::CliCommand::Kind::kRedo:
    case synod::tools::CliCommand::Kind::kPrintWatches:
    case synod::tools::CliCommand::Kind::kQuit:
      return UsageError(absl::StrCat(flags->positional[0],
                                     " is the shell's (run synod-cli with no "
                                     "command)"));
    case synod::tools::CliCommand::Kind::kMulti:
      if (command->ops.empty()) {
        return UsageError("multi needs its ops: multi 'create /a' 'delete /b'");
      }
      break;
    default:
      break;
  }
  synod::tools::CliClient client(peers, options, &std::cout);
  absl::Status status = client.Run(*command);
  client.Close();  // the session ends here: its ephemerals go with it
  if (!status.ok()) {
    PrintError(status);
    return 1;
  }
  return 0;
}
