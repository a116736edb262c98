// synod-cli's shell.

#include "tools/cli_shell.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "synod/types.h"

namespace synod::tools {

CliShell::CliShell(CliClient* client, std::ostream* err)
    : client_(client), err_(err) {}

std::string CliShell::Prompt() const {
  return in_block_ ? "multi> " : "synod> ";
}

void CliShell::PrintError(absl::string_view message) {
  *err_ << message << std::endl;
}

bool CliShell::RunLine(std::string_view line) {
  absl::StatusOr<std::vector<std::string>> words = SplitCommandLine(line);
  if (!words.ok()) {
    PrintError(words.status().message());
    return true;
  }
  if (words->empty()) return true;
  if (in_block_) {
    const std::string& first = (*words)[0];
    if (first == "commit" || first == "abort") {
      CliCommand multi;
      multi.kind = CliCommand::Kind::kMulti;
      multi.ops = std::move(block_);
      block_.clear();
      in_block_ = false;
      if (first == "abort") return true;
      if (multi.ops.empty()) {
        PrintError("an empty multi: nothing was sent");
        return true;
      }
      return RunCommand(multi);
    }
    absl::StatusOr<CliCommand> op = ParseMultiOp(line);
    if (!op.ok()) {
      PrintError(absl::StrCat(op.status().message(),
                              " (the block goes on: commit or abort)"));
      return true;
    }
    block_.push_back(*std::move(op));
    return true;
  }
  absl::StatusOr<CliCommand> command = ParseCommand(*words);
  if (!command.ok()) {
    history_.emplace_back(line);  // as zkCli's: every line is numbered
    PrintError(command.status().message());
    return true;
  }
  if (command->kind == CliCommand::Kind::kRedo) {
    const int64_t index = command->index;
    if (index >= static_cast<int64_t>(history_.size())) {
      history_.emplace_back(line);
      PrintError("Command index out of range");
      return true;
    }
    const std::string again = history_[index];
    absl::StatusOr<std::vector<std::string>> again_words =
        SplitCommandLine(again);
    absl::StatusOr<CliCommand> redone =
        again_words.ok() ? ParseCommand(*again_words)
                         : absl::StatusOr<CliCommand>(again_words.status());
    history_.push_back(again);
    if (!redone.ok()) {
      PrintError(redone.status().message());
      return true;
    }
    if (redone->kind == CliCommand::Kind::kRedo) {
      PrintError("No redoing redos");
      return true;
    }
    return RunCommand(*redone);
  }
  history_.emplace_back(line);
  return RunCommand(*command);
}

bool CliShell::RunCommand(const CliCommand& command) {
  using Kind = CliCommand::Kind;
  switch (command.kind) {
    case Kind::kQuit:
      return false;
    case Kind::kHistory: {
      // zkCli's: the last ten before this one, and this one.
      const size_t last = history_.size() - 1;
      std::string text;
      for (size_t i = last >= 10 ? last - 10 : 0; i <= last; ++i) {
        absl::StrAppend(&text, i, " - ", history_[i], "\n");
      }
      client_->Print(text);
      return true;
    }
    case Kind::kPrintWatches:
      if (command.has_on) {
        client_->SetPrintWatches(command.on);
      } else {
        client_->Print(absl::StrCat("printwatches is ",
                                    client_->print_watches() ? "on" : "off",
                                    "\n"));
      }
      return true;
    case Kind::kMulti:
      if (command.ops.empty()) {
        in_block_ = true;
        return true;
      }
      break;
    default:
      break;
  }
  if (absl::Status s = client_->Run(command); !s.ok()) {
    PrintError(s.message());
  }
  return true;
}

void CliShell::Run(std::istream& in, bool prompt) {
  std::string line;
  while (true) {
    if (prompt) client_->Print(Prompt());
    if (!std::getline(in, line)) break;
    if (!RunLine(line)) break;
  }
  if (prompt) client_->Print("\n");
  client_->Close();
}

}  // namespace synod::tools
