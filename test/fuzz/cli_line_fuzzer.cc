// Fuzzes synod-cli's line handling (lib/tools/cli_client.h) and the tools'
// flag parsing (lib/tools/flags.h): the input is shell text; each line is
// split into words (SplitCommandLine) and the words are parsed as a shell
// command (ParseCommand), as synod-cli's and synod-peer's arguments
// (ParseFlags, ParsePeerFlags), and one by one as a duration, an address
// and an address list.
//
// Properties: nothing crashes; refusals are InvalidArgument; the words of a
// line, each quoted back, split into the same words; what the flag parsers
// accept keeps their promises (a duration is finite and positive, an
// address comes back unchanged, an address list holds one valid address per
// item, a flag value belongs to a known flag).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "fuzz_util.h"
#include "tools/cli_client.h"
#include "tools/flags.h"

namespace synod::fuzz {
namespace {

// Quotes `word` so that SplitCommandLine gives it back: single quotes,
// with each ' written as '\''.
std::string Quote(std::string_view word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out += "'";
  return out;
}

std::string Show(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) absl::StrAppend(&out, "[", Printable(w), "] ");
  return out;
}

void CheckRefusal(const absl::Status& s) {
  SYNOD_FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument, s.ToString());
}

void CheckWords(const std::vector<std::string>& words) {
  if (!words.empty()) {
    absl::StatusOr<tools::CliCommand> command = tools::ParseCommand(words);
    if (command.ok()) {
      (void)tools::NeedsSession(*command);
    } else {
      CheckRefusal(command.status());
    }
  }

  tools::FlagSpec spec;  // synod-cli's
  spec.value_flags = {"peer", "connect-timeout", "session-timeout"};
  spec.bool_flags = {"help"};
  for (bool stop : {true, false}) {
    spec.stop_at_positional = stop;
    absl::StatusOr<tools::ParsedFlags> flags = tools::ParseFlags(words, spec);
    if (!flags.ok()) {
      CheckRefusal(flags.status());
      continue;
    }
    for (const auto& [name, value] : flags->values) {
      SYNOD_FUZZ_CHECK(std::count(spec.value_flags.begin(),
                                  spec.value_flags.end(), name) == 1,
                       Printable(name));
    }
    for (const std::string& name : flags->switches) {
      SYNOD_FUZZ_CHECK(name == "help", Printable(name));
    }
  }
  absl::StatusOr<tools::PeerFlags> peer = tools::ParsePeerFlags(words);
  if (peer.ok()) {
    (void)tools::PeerOptions(*peer);
  } else {
    CheckRefusal(peer.status());
  }

  for (const std::string& word : words) {
    absl::StatusOr<absl::Duration> d = tools::ParseDurationFlag(word);
    if (d.ok()) {
      SYNOD_FUZZ_CHECK(*d > absl::ZeroDuration() && *d != absl::InfiniteDuration(),
                       Printable(word));
    } else {
      CheckRefusal(d.status());
    }
    absl::StatusOr<std::string> address = tools::ParseAddress(word);
    if (address.ok()) {
      SYNOD_FUZZ_CHECK(*address == word, Printable(word));
    } else {
      CheckRefusal(address.status());
    }
    absl::StatusOr<std::vector<std::string>> list =
        tools::ParseAddressList(word);
    if (list.ok()) {
      // One address per item (items are trimmed of blanks).
      SYNOD_FUZZ_CHECK(list->size() == static_cast<size_t>(std::count(
                                           word.begin(), word.end(), ',')) + 1,
                       Printable(word));
      for (const std::string& item : *list) {
        SYNOD_FUZZ_CHECK(tools::ParseAddress(item).ok(), Printable(item));
      }
    } else {
      CheckRefusal(list.status());
    }
    (void)tools::ParseLogLevel(word);
  }
}

}  // namespace
}  // namespace synod::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace synod;
  using namespace synod::fuzz;
  if (size > 64 * 1024) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  while (true) {
    // As synod-cli's shell reads them: std::getline splits at '\n'.
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    absl::StatusOr<std::vector<std::string>> words =
        tools::SplitCommandLine(line);
    if (words.ok()) {
      std::vector<std::string> quoted;
      for (const std::string& w : *words) quoted.push_back(Quote(w));
      const std::string again = absl::StrJoin(quoted, " ");
      absl::StatusOr<std::vector<std::string>> back =
          tools::SplitCommandLine(again);
      SYNOD_FUZZ_CHECK(back.ok() && *back == *words,
                       absl::StrCat(Show(*words), "from ", Printable(line)));
      CheckWords(*words);
    } else {
      CheckRefusal(words.status());
    }
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return 0;
}
