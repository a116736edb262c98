// Command-line parsing shared by synod-peer and synod-cli: "--name value" /
// "--name=value" flags, durations ("500ms", "4s", "1.5s", "1m"), log levels,
// host:port addresses, and the whole of synod-peer's flag set.

#ifndef SYNOD_TOOLS_FLAGS_H_
#define SYNOD_TOOLS_FLAGS_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "synod/options.h"

namespace synod::tools {

// Flags by name (without the dashes) and the arguments that are not flags.
struct ParsedFlags {
  std::map<std::string, std::string> values;  // value flags
  std::vector<std::string> switches;          // boolean flags seen
  std::vector<std::string> positional;
};

// Which flags a tool knows.
struct FlagSpec {
  std::vector<std::string> value_flags;  // take a value: --name v, --name=v
  std::vector<std::string> bool_flags;   // stand alone: --name
  // Stop at the first positional argument: it and everything after it are
  // positional (synod-cli: the command and its own options). Otherwise
  // flags and positional arguments may interleave. "--" always ends flags.
  bool stop_at_positional = false;
};

// Parses `args` (argv without the program name) by `spec`. InvalidArgument
// naming the culprit for an unknown flag, a value flag without its value,
// a value given to a boolean flag, or a flag given twice.
absl::StatusOr<ParsedFlags> ParseFlags(const std::vector<std::string>& args,
                                       const FlagSpec& spec);

// Parses a duration: a decimal number and a unit, as absl::ParseDuration
// reads them ("500ms", "4s", "1.5s", "1m", "2h", also "1m30s"). A bare
// number, a negative or infinite duration, and garbage are InvalidArgument.
absl::StatusOr<absl::Duration> ParseDurationFlag(std::string_view text);

// Parses "debug", "info", "warning" (or "warn") and "error".
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view text);

// Checks that `text` is "host:port" (an IPv6 host in brackets, a port in
// 1..65535) and returns it unchanged.
absl::StatusOr<std::string> ParseAddress(std::string_view text);

// Parses a comma-separated list of addresses; empty items are refused.
absl::StatusOr<std::vector<std::string>> ParseAddressList(
    std::string_view text);

// The TLS flags synod-peer and synod-cli share: --tls-cert FILE, --tls-key
// FILE, --tls-ca FILE (all three or none), --tls-reload DUR.
extern const std::vector<std::string> kTlsFlagNames;

// Reads the TLS flags of `values` into a TlsOptions (empty: none given).
// InvalidArgument unless all three or none are given. The files are
// checked when the credentials are made (transport::ValidateTls).
absl::StatusOr<TlsOptions> ParseTlsFlags(
    const std::map<std::string, std::string>& values);

// synod-peer's configuration.
struct PeerFlags {
  std::string listen;               // --listen, required
  std::vector<std::string> seeds;   // --seeds; default: {listen}
  std::string data_dir;             // --data-dir, required
  std::optional<absl::Duration> session_timeout;  // --session-timeout
  std::optional<absl::Duration> tick;             // --tick
  std::optional<int32_t> voters;                  // --voters
  std::optional<absl::Duration> dead_voter_timeout;  // --dead-voter-timeout
  std::string zone;                               // --zone
  std::string metrics_listen;                     // --metrics-listen
  std::string zk_listen;                         // --zk-listen
  std::optional<std::string> zk_4lw_whitelist;    // --zk-4lw-whitelist
  std::string restore_from;                       // --restore
  bool leave_on_shutdown = false;                 // --leave-on-shutdown
  TlsOptions tls;                                 // --tls-cert/-key/-ca
  std::string ensemble_secret;  // --ensemble-secret-file's contents
  LogLevel log_level = LogLevel::kInfo;           // --log-level
  bool help = false;                              // --help
};

// Parses synod-peer's arguments (argv without the program name).
// InvalidArgument with a one-line reason for anything wrong or missing.
absl::StatusOr<PeerFlags> ParsePeerFlags(const std::vector<std::string>& args);

// Returns the Options that `flags` describe (log_sink left unset).
Options PeerOptions(const PeerFlags& flags);

// synod-peer's usage text.
extern const char kPeerUsage[];

}  // namespace synod::tools

#endif  // SYNOD_TOOLS_FLAGS_H_
