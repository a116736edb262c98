#include "sim/interaction/datadriven.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace synod::sim::interaction {
namespace {

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

bool IsBlank(const std::string& line) {
  return line.find_first_not_of(" \t\r") == std::string::npos;
}

bool IsComment(const std::string& line) {
  const size_t first = line.find_first_not_of(" \t");
  return first != std::string::npos && line[first] == '#';
}

}  // namespace

bool ParseTestFile(const std::string& text, TestFile* out, std::string* error) {
  *out = TestFile();
  const std::vector<std::string> lines = SplitLines(text);
  std::string preamble;
  size_t i = 0;
  while (i < lines.size()) {
    const std::string& line = lines[i];
    if (IsBlank(line) || IsComment(line)) {
      absl::StrAppend(&preamble, line, "\n");
      ++i;
      continue;
    }
    TestCase c;
    c.preamble = std::move(preamble);
    preamble.clear();
    c.line = static_cast<int>(i) + 1;
    c.command = line;
    ++i;
    if (i >= lines.size() || lines[i] != "----") {
      *error = absl::StrCat("line ", c.line, ": '", c.command,
                            "' is not followed by a '----' line");
      return false;
    }
    ++i;
    while (i < lines.size() && !IsBlank(lines[i])) {
      absl::StrAppend(&c.expected, lines[i], "\n");
      ++i;
    }
    if (c.expected.empty()) {
      *error = absl::StrCat("line ", c.line, ": '", c.command,
                            "' has no expected output (write 'ok' for none)");
      return false;
    }
    if (i < lines.size()) ++i;  // the blank line that ends the output
    out->cases.push_back(std::move(c));
  }
  out->trailer = std::move(preamble);
  return true;
}

std::string FormatTestFile(const TestFile& file) {
  std::string text;
  for (size_t i = 0; i < file.cases.size(); ++i) {
    const TestCase& c = file.cases[i];
    if (i > 0) text += "\n";
    absl::StrAppend(&text, c.preamble, c.command, "\n----\n", c.expected);
  }
  if (!file.trailer.empty()) {
    if (!file.cases.empty()) text += "\n";
    text += file.trailer;
  }
  return text;
}

CommandLine ParseCommandLine(const std::string& line) {
  CommandLine cmd;
  size_t pos = line.find_first_not_of(' ');
  bool first = true;
  while (pos != std::string::npos && pos < line.size()) {
    size_t end = line.find(' ', pos);
    if (end == std::string::npos) end = line.size();
    const std::string word = line.substr(pos, end - pos);
    if (first) {
      cmd.name = word;
      const size_t rest = line.find_first_not_of(' ', end);
      if (rest != std::string::npos) cmd.rest = line.substr(rest);
      first = false;
    } else {
      const size_t eq = word.find('=');
      if (eq == std::string::npos) {
        cmd.args.emplace_back(word, "");
      } else {
        cmd.args.emplace_back(word.substr(0, eq), word.substr(eq + 1));
      }
    }
    pos = line.find_first_not_of(' ', end);
  }
  return cmd;
}

std::string LineDiff(const std::string& want, const std::string& got) {
  if (want == got) return "";
  const std::vector<std::string> a = SplitLines(want);
  const std::vector<std::string> b = SplitLines(got);
  // Longest common subsequence, then walk it (outputs are short).
  std::vector<std::vector<int>> lcs(a.size() + 1,
                                    std::vector<int>(b.size() + 1, 0));
  for (size_t i = a.size(); i-- > 0;) {
    for (size_t j = b.size(); j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1
                               : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::string out;
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      absl::StrAppend(&out, " ", a[i], "\n");
      ++i;
      ++j;
    } else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) {
      absl::StrAppend(&out, "-", a[i], "\n");
      ++i;
    } else {
      absl::StrAppend(&out, "+", b[j], "\n");
      ++j;
    }
  }
  return out;
}

}  // namespace synod::sim::interaction
