// Helpers for tests that drive synod-cli's client (tools/cli_client.h):
// a command parsed from words (the test fails if it does not parse), and
// a command run with what it printed.

#ifndef SYNOD_TEST_UTIL_CLI_COMMANDS_H_
#define SYNOD_TEST_UTIL_CLI_COMMANDS_H_

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/cli_client.h"
#include "tools/cli_command.h"

namespace synod::testing {

// `words` parsed as a command; REQUIREs that they parse.
inline tools::CliCommand Cmd(const std::vector<std::string>& words) {
  absl::StatusOr<tools::CliCommand> c = tools::ParseCommand(words);
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  return *c;
}

// Runs `words` on `client`, whose output goes to `out`; returns what it
// printed, or its error.
inline absl::StatusOr<std::string> RunCmd(tools::CliClient* client,
                                          std::ostringstream* out,
                                          const std::vector<std::string>& words) {
  out->str("");
  absl::Status s = client->Run(Cmd(words));
  if (!s.ok()) return s;
  return out->str();
}

}  // namespace synod::testing

#endif  // SYNOD_TEST_UTIL_CLI_COMMANDS_H_
