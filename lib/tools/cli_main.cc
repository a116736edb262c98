// synod-cli: runs one command against a peer, or, without a command, a shell
// reading commands from stdin (one session for the shell's lifetime).
//
//   synod-cli --peer 127.0.0.1:7001 create /config hello
//   synod-cli --peer 127.0.0.1:7001 get /config
//   synod-cli --peer 127.0.0.1:7001          # shell

#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "synod/types.h"
#include "tools/cli_client.h"
#include "tools/flags.h"
#include "util/strings.h"

namespace {

const char kUsage[] =
    "usage: synod-cli --peer HOST:PORT [options] [command [args...]]\n"
    "  --peer HOST:PORT         the peer to talk to (required)\n"
    "  --connect-timeout DUR    how long the peer has to answer (default 5s)\n"
    "  --session-timeout DUR    the session's timeout (default: the peer's)\n"
    "  --tls-cert FILE          with --tls-key and --tls-ca: mutual TLS (PEM\n"
    "  --tls-key FILE           certificate, its key, and the CA the peer's\n"
    "  --tls-ca FILE            certificate must chain to)\n"
    "Without a command, reads commands from stdin.\n";

// Prints `message` and the usage (with the commands, for a bad command) to
// stderr; the exit status of a usage error.
int UsageError(const std::string& message, bool commands = false) {
  std::cerr << "synod-cli: " << message << "\n" << kUsage;
  if (commands) std::cerr << synod::tools::kCliCommandsHelp;
  return 2;
}

// "error: NoNode no node /a", as every failure is reported.
void PrintError(const absl::Status& status) {
  std::cerr << "error: " << synod::ErrorName(synod::ErrorOf(status)) << " "
            << status.message() << std::endl;
}

// The interactive shell: errors are printed and the shell goes on.
int RunShell(synod::tools::CliClient* client) {
  const bool tty = isatty(STDIN_FILENO) != 0;
  if (absl::Status s = client->Connect(); !s.ok()) {
    PrintError(s);
    return 1;
  }
  std::string line;
  while (true) {
    if (tty) client->Print("synod> ");
    if (!std::getline(std::cin, line)) break;
    absl::StatusOr<std::vector<std::string>> words =
        synod::tools::SplitCommandLine(line);
    if (!words.ok()) {
      std::cerr << "error: " << words.status().message() << std::endl;
      continue;
    }
    if (words->empty()) continue;
    absl::StatusOr<synod::tools::CliCommand> command =
        synod::tools::ParseCommand(*words);
    if (!command.ok()) {
      std::cerr << "error: " << command.status().message() << std::endl;
      continue;
    }
    if (command->kind == synod::tools::CliCommand::Kind::kQuit) break;
    if (absl::Status s = client->Run(*command); !s.ok()) PrintError(s);
  }
  if (tty) client->Print("\n");
  client->Close();
  return 0;
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
      std::cout << kUsage << synod::tools::kCliCommandsHelp;
      return 0;
    }
  }

  synod::tools::CliClient::Options options;
  auto it = flags->values.find("peer");
  if (it == flags->values.end()) return UsageError("--peer is required");
  absl::StatusOr<std::string> peer = synod::tools::ParseAddress(it->second);
  if (!peer.ok()) return UsageError(std::string(peer.status().message()));
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
    synod::tools::CliClient client(*peer, options, &std::cout);
    return RunShell(&client);
  }

  absl::StatusOr<synod::tools::CliCommand> command =
      synod::tools::ParseCommand(flags->positional);
  if (!command.ok()) {
    return UsageError(std::string(command.status().message()), true);
  }
  synod::tools::CliClient client(*peer, options, &std::cout);
  absl::Status status = client.Run(*command);
  client.Close();  // the session ends here: its ephemerals go with it
  if (!status.ok()) {
    PrintError(status);
    return 1;
  }
  return 0;
}
