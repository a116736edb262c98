// synod-cli's interactive shell: lines read one at a time, zkCli's history
// and redo, printwatches, and multi blocks (multi, then one op a line, then
// commit or abort).

#ifndef SYNOD_TOOLS_CLI_SHELL_H_
#define SYNOD_TOOLS_CLI_SHELL_H_

#include <istream>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "tools/cli_client.h"
#include "tools/cli_command.h"

namespace synod::tools {

class CliShell {
 public:
  // Runs commands on `client`; errors go to `err`. Both must outlive the
  // shell.
  CliShell(CliClient* client, std::ostream* err);

  // Runs one line as typed. Returns false once the shell should end (quit,
  // exit). An error is printed and the shell goes on.
  bool RunLine(std::string_view line);

  // Reads lines from `in` until its end or quit, printing a prompt before
  // each when `prompt`; then closes the session.
  void Run(std::istream& in, bool prompt);

  // The prompt for the next line: "synod> ", or "multi> " inside a block.
  std::string Prompt() const;

 private:
  // Runs a parsed command (the shell's own here, the rest on the client).
  bool RunCommand(const CliCommand& command);
  void PrintError(absl::string_view message);

  CliClient* const client_;
  std::ostream* const err_;
  std::vector<std::string> history_;  // every line, numbered from 0
  bool in_block_ = false;             // between multi and commit/abort
  std::vector<CliCommand> block_;
};

}  // namespace synod::tools

#endif  // SYNOD_TOOLS_CLI_SHELL_H_
