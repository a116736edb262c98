// Flag, duration and address parsing for synod-peer and synod-cli.

#include "tools/flags.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "util/strings.h"
#include "zkserver/four_letter_words.h"

namespace synod::tools {
namespace {

bool Contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

absl::Status Invalid(std::string_view message) {
  return absl::InvalidArgumentError(std::string(message));
}

}  // namespace

const char kPeerUsage[] =
    "usage: synod-peer --listen HOST:PORT --data-dir DIR [options]\n"
    "  --listen HOST:PORT       address for peers and clients (required)\n"
    "  --data-dir DIR           durable state directory (required)\n"
    "  --seeds A:P,B:P,...      contact points: when forming an ensemble, its\n"
    "                           founding voters (the same list at each);\n"
    "                           a peer not among them joins as an observer\n"
    "                           (default: --listen, a one-peer ensemble)\n"
    "  --session-timeout DUR    e.g. 4s, 500ms, 1m (default 10s)\n"
    "  --tick DUR               the ensemble's clock period (default 100ms)\n"
    "  --voters N               voters the ensemble keeps, odd (default 3)\n"
    "  --dead-voter-timeout DUR a voter unreachable this long is replaced\n"
    "                           (default 30s)\n"
    "  --zone Z                 this peer's failure domain (voters are\n"
    "                           spread across zones)\n"
    "  --leave-on-shutdown      on SIGTERM/SIGINT, leave the ensemble (its\n"
    "                           seat goes at once; the data directory is\n"
    "                           retired) instead of keeping the seat\n"
    "  --metrics-listen IP:PORT serve GET /metrics (Prometheus text) and\n"
    "                           GET /health (200 serving, 503 not) there\n"
    "  --zk-listen HOST:PORT    serve ZooKeeper's client protocol there\n"
    "                           (zkCli, Curator, kazoo; docs/wire.md)\n"
    "  --zk-4lw-whitelist LIST  the four-letter words it answers: ruok,\n"
    "                           isro, srvr, stat, mntr, conf, cons, wchs\n"
    "                           or * (default srvr)\n"
    "  --restore FILE           seed a new data directory from a backup\n"
    "                           (synod-cli backup); every founding peer\n"
    "                           takes the same file\n"
    "  --log-level LEVEL        debug, info, warning or error (default info)\n"
    "  --tls-cert FILE          with --tls-key and --tls-ca: mutual TLS for\n"
    "                           peers and clients (PEM certificate, its key,\n"
    "                           the CA every other side's certificate must\n"
    "                           chain to)\n"
    "  --tls-reload DUR         how often the TLS files are reread (default\n"
    "                           10s): rotation without a restart\n"
    "  --ensemble-secret-file FILE  a secret every member shares (16 to\n"
    "                           4096 bytes; a final newline is not part of\n"
    "                           it): only peers that prove it link\n";

const std::vector<std::string> kTlsFlagNames = {"tls-cert", "tls-key",
                                                "tls-ca", "tls-reload"};

absl::StatusOr<TlsOptions> ParseTlsFlags(
    const std::map<std::string, std::string>& values) {
  TlsOptions tls;
  int given = 0;
  for (const auto& [name, field] :
       {std::pair<const char*, std::string*>{"tls-cert", &tls.cert_file},
        {"tls-key", &tls.key_file},
        {"tls-ca", &tls.ca_file}}) {
    auto it = values.find(name);
    if (it == values.end()) continue;
    if (it->second.empty()) {
      return Invalid(absl::StrCat("--", name, ": a file name is required"));
    }
    *field = it->second;
    ++given;
  }
  if (given != 0 && given != 3) {
    return Invalid("--tls-cert, --tls-key and --tls-ca go together");
  }
  if (auto it = values.find("tls-reload"); it != values.end()) {
    if (given == 0) return Invalid("--tls-reload needs --tls-cert");
    absl::StatusOr<absl::Duration> d = ParseDurationFlag(it->second);
    if (!d.ok()) {
      return Invalid(absl::StrCat("--tls-reload: ", d.status().message()));
    }
    tls.reload_interval = *d;
  }
  return tls;
}

// Walks `args` once: "--" ends the flags; "--name=value" and "--name value"
// set value flags; "--name" sets a boolean flag; anything else (including a
// lone "-") is positional.
absl::StatusOr<ParsedFlags> ParseFlags(const std::vector<std::string>& args,
                                       const FlagSpec& spec) {
  ParsedFlags out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out.positional.insert(out.positional.end(), args.begin() + i + 1,
                            args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      if (spec.stop_at_positional) {
        out.positional.insert(out.positional.end(), args.begin() + i,
                              args.end());
        break;
      }
      out.positional.push_back(arg);
      continue;
    }
    // "-name" is accepted as "--name".
    std::string_view body(arg);
    body.remove_prefix(body.compare(0, 2, "--") == 0 ? 2 : 1);
    std::string name(body);
    std::optional<std::string> value;
    if (size_t eq = body.find('='); eq != std::string_view::npos) {
      name = std::string(body.substr(0, eq));
      value = std::string(body.substr(eq + 1));
    }
    if (Contains(spec.value_flags, name)) {
      if (!value) {
        if (i + 1 >= args.size()) {
          return Invalid(absl::StrCat("flag --", name, " needs a value"));
        }
        value = args[++i];
      }
      if (!out.values.emplace(name, *value).second) {
        return Invalid(absl::StrCat("flag --", name, " given twice"));
      }
    } else if (Contains(spec.bool_flags, name)) {
      if (value) {
        return Invalid(absl::StrCat("flag --", name, " takes no value"));
      }
      if (!Contains(out.switches, name)) out.switches.push_back(name);
    } else {
      return Invalid(absl::StrCat("unknown flag ", arg));
    }
  }
  return out;
}

absl::StatusOr<absl::Duration> ParseDurationFlag(std::string_view text) {
  absl::Duration d;
  const absl::string_view trimmed = absl::StripAsciiWhitespace(AV(text));
  // absl accepts "0" and "inf" without a unit; a tool wants a real span.
  if (trimmed.empty() || !absl::ParseDuration(trimmed, &d) ||
      trimmed == "inf" || trimmed == "-inf" ||
      absl::ascii_isdigit(static_cast<unsigned char>(trimmed.back()))) {
    return Invalid(absl::StrCat(
        "bad duration '", AV(text),
        "' (want a number and a unit: e.g. 500ms, 4s, 1.5s, 1m)"));
  }
  if (d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) {
    return Invalid(
        absl::StrCat("bad duration '", AV(text), "' (must be positive)"));
  }
  return d;
}

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view text) {
  const std::string level = absl::AsciiStrToLower(AV(text));
  if (level == "debug") return LogLevel::kDebug;
  if (level == "info") return LogLevel::kInfo;
  if (level == "warning" || level == "warn") return LogLevel::kWarning;
  if (level == "error") return LogLevel::kError;
  return Invalid(absl::StrCat("bad log level '", AV(text),
                              "' (want debug, info, warning or error)"));
}

// Accepts "host:port" and "[v6]:port"; the host is not resolved here.
absl::StatusOr<std::string> ParseAddress(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return Invalid(absl::StrCat("bad address '", AV(text),
                                "' (want HOST:PORT): ", AV(why)));
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  const std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (host.empty()) return bad("no host");
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad("unclosed '['");
  } else if (host.find(':') != std::string_view::npos) {
    return bad("an IPv6 host goes in brackets");
  }
  int value = 0;
  if (port.empty() || !absl::SimpleAtoi(AV(port), &value) ||
      !absl::ascii_isdigit(static_cast<unsigned char>(port.front())) ||
      value < 1 || value > 65535) {
    return bad("the port must be a number in 1..65535");
  }
  return std::string(text);
}

absl::StatusOr<std::vector<std::string>> ParseAddressList(
    std::string_view text) {
  std::vector<std::string> out;
  for (absl::string_view item : absl::StrSplit(AV(text), ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (item.empty()) {
      return Invalid(absl::StrCat("bad address list '", AV(text),
                                  "': an empty item"));
    }
    absl::StatusOr<std::string> address =
        ParseAddress(std::string_view(item.data(), item.size()));
    if (!address.ok()) return address.status();
    out.push_back(*std::move(address));
  }
  return out;
}

// Parses the flags, then each value; --listen and --data-dir are required
// unless --help is asked for.
absl::StatusOr<PeerFlags> ParsePeerFlags(const std::vector<std::string>& args) {
  FlagSpec spec;
  spec.value_flags = {"listen",          "seeds", "data-dir",
                      "session-timeout", "tick",  "log-level",
                      "voters",          "dead-voter-timeout",
                      "zone", "ensemble-secret-file", "metrics-listen", "zk-listen",
                      "zk-4lw-whitelist",
                      "restore"};
  spec.value_flags.insert(spec.value_flags.end(), kTlsFlagNames.begin(),
                          kTlsFlagNames.end());
  spec.bool_flags = {"help", "leave-on-shutdown"};
  absl::StatusOr<ParsedFlags> parsed = ParseFlags(args, spec);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->positional.empty()) {
    return Invalid(
        absl::StrCat("unexpected argument '", parsed->positional[0], "'"));
  }
  PeerFlags flags;
  flags.help = Contains(parsed->switches, "help");
  if (flags.help) return flags;
  const auto& v = parsed->values;
  auto it = v.find("listen");
  if (it == v.end()) return Invalid("--listen is required");
  absl::StatusOr<std::string> listen = ParseAddress(it->second);
  if (!listen.ok()) return listen.status();
  flags.listen = *std::move(listen);
  it = v.find("data-dir");
  if (it == v.end() || it->second.empty()) {
    return Invalid("--data-dir is required");
  }
  flags.data_dir = it->second;
  if (it = v.find("seeds"); it != v.end()) {
    absl::StatusOr<std::vector<std::string>> seeds =
        ParseAddressList(it->second);
    if (!seeds.ok()) return seeds.status();
    flags.seeds = *std::move(seeds);
  } else {
    flags.seeds = {flags.listen};
  }
  if (it = v.find("session-timeout"); it != v.end()) {
    absl::StatusOr<absl::Duration> d = ParseDurationFlag(it->second);
    if (!d.ok()) {
      return Invalid(absl::StrCat("--session-timeout: ", d.status().message()));
    }
    flags.session_timeout = *d;
  }
  if (it = v.find("tick"); it != v.end()) {
    absl::StatusOr<absl::Duration> d = ParseDurationFlag(it->second);
    if (!d.ok()) return Invalid(absl::StrCat("--tick: ", d.status().message()));
    flags.tick = *d;
  }
  if (it = v.find("voters"); it != v.end()) {
    int32_t n = 0;
    if (!absl::SimpleAtoi(it->second, &n) || n < 1 || n > 9 || n % 2 == 0) {
      return Invalid(absl::StrCat("--voters: an odd number from 1 to 9, not '",
                                  it->second, "'"));
    }
    flags.voters = n;
  }
  if (it = v.find("dead-voter-timeout"); it != v.end()) {
    absl::StatusOr<absl::Duration> d = ParseDurationFlag(it->second);
    if (!d.ok()) {
      return Invalid(
          absl::StrCat("--dead-voter-timeout: ", d.status().message()));
    }
    flags.dead_voter_timeout = *d;
  }
  if (it = v.find("zone"); it != v.end()) {
    if (it->second.size() > 64) return Invalid("--zone: at most 64 bytes");
    flags.zone = it->second;
  }
  if (it = v.find("zk-listen"); it != v.end()) {
    absl::StatusOr<std::string> address = ParseAddress(it->second);
    if (!address.ok()) {
      return Invalid(absl::StrCat("--zk-listen: ", address.status().message()));
    }
    flags.zk_listen = *std::move(address);
  }
  if (it = v.find("zk-4lw-whitelist"); it != v.end()) {
    if (absl::StatusOr<zkserver::WordWhitelist> words =
            zkserver::WordWhitelist::Parse(it->second);
        !words.ok()) {
      return Invalid(
          absl::StrCat("--zk-4lw-whitelist: ", words.status().message()));
    }
    flags.zk_4lw_whitelist = it->second;
  }
  if (it = v.find("metrics-listen"); it != v.end()) {
    absl::StatusOr<std::string> address = ParseAddress(it->second);
    if (!address.ok()) {
      return Invalid(
          absl::StrCat("--metrics-listen: ", address.status().message()));
    }
    flags.metrics_listen = *std::move(address);
  }
  if (it = v.find("restore"); it != v.end()) {
    if (it->second.empty()) return Invalid("--restore: an empty file name");
    flags.restore_from = it->second;
  }
  flags.leave_on_shutdown = Contains(parsed->switches, "leave-on-shutdown");
  absl::StatusOr<TlsOptions> tls = ParseTlsFlags(v);
  if (!tls.ok()) return tls.status();
  flags.tls = *std::move(tls);
  if (it = v.find("ensemble-secret-file"); it != v.end()) {
    std::ifstream in(it->second, std::ios::binary);
    if (!in) {
      return Invalid(absl::StrCat("--ensemble-secret-file ", it->second,
                                  ": cannot be read"));
    }
    std::ostringstream text;
    text << in.rdbuf();
    std::string secret = text.str();
    if (!secret.empty() && secret.back() == '\n') secret.pop_back();
    if (!secret.empty() && secret.back() == '\r') secret.pop_back();
    if (secret.size() < 16 || secret.size() > 4096) {
      return Invalid(absl::StrCat("--ensemble-secret-file ", it->second,
                                  ": must hold 16 to 4096 bytes, not ",
                                  secret.size()));
    }
    flags.ensemble_secret = std::move(secret);
  }
  if (it = v.find("log-level"); it != v.end()) {
    absl::StatusOr<LogLevel> level = ParseLogLevel(it->second);
    if (!level.ok()) return level.status();
    flags.log_level = *level;
  }
  return flags;
}

Options PeerOptions(const PeerFlags& flags) {
  Options options;
  options.data_dir = flags.data_dir;
  options.listen = flags.listen;
  options.seeds = flags.seeds;
  if (flags.session_timeout) options.session_timeout = *flags.session_timeout;
  if (flags.tick) options.tick = *flags.tick;
  if (flags.voters) options.voters = *flags.voters;
  if (flags.dead_voter_timeout) {
    options.dead_voter_timeout = *flags.dead_voter_timeout;
  }
  options.zone = flags.zone;
  options.metrics_listen = flags.metrics_listen;
  options.zk_listen = flags.zk_listen;
  if (flags.zk_4lw_whitelist) options.zk_4lw_whitelist = *flags.zk_4lw_whitelist;
  options.restore_from = flags.restore_from;
  options.tls = flags.tls;
  options.ensemble_secret = flags.ensemble_secret;
  return options;
}

}  // namespace synod::tools
