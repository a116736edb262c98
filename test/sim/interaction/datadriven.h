// The file format of test/sim/testdata/*.txt, after cockroachdb/datadriven
// as etcd-io/raft uses it: a script of commands, each followed by the
// output it must produce.
//
//   # What this script shows (comment lines start with '#').
//   add-peers voters=3
//   ----
//   <expected output: one or more lines, none of them empty>
//
//   tick peer=1 n=2
//   ----
//   ok
//
// A blank line (or the end of the file) ends a command's output. Comments
// and blank lines between commands are kept verbatim when a file is
// rewritten with the actual output.

#ifndef SYNOD_TEST_SIM_INTERACTION_DATADRIVEN_H_
#define SYNOD_TEST_SIM_INTERACTION_DATADRIVEN_H_

#include <string>
#include <utility>
#include <vector>

namespace synod::sim::interaction {

// One command of a script and the output it is expected to produce.
struct TestCase {
  std::string preamble;  // comment and blank lines before it, verbatim
  int line = 0;          // 1-based line of the command in its file
  std::string command;   // the command line, without its newline
  std::string expected;  // the output lines, each ending in '\n'
};

// A parsed script.
struct TestFile {
  std::vector<TestCase> cases;
  std::string trailer;  // comment and blank lines after the last case
};

// Parses `text`. Returns false, with a message naming the line in
// *error, if a command lacks its "----" line or its output.
bool ParseTestFile(const std::string& text, TestFile* out, std::string* error);

// Returns the text of `file`: each case's preamble, command, "----" and
// expected output, cases separated by one blank line. Parsing the result
// gives `file` back.
std::string FormatTestFile(const TestFile& file);

// A command line split into its name and arguments: "deliver from=1 to=2"
// gives name "deliver" and args {("from","1"), ("to","2")}; a bare word is
// an argument with an empty value. `rest` is everything after the name.
struct CommandLine {
  std::string name;
  std::vector<std::pair<std::string, std::string>> args;
  std::string rest;
};

// Splits `line` at spaces into a CommandLine.
CommandLine ParseCommandLine(const std::string& line);

// Returns a line diff of `want` against `got` ("-" lines only in `want`,
// "+" lines only in `got`, " " lines in both), or "" if they are equal.
std::string LineDiff(const std::string& want, const std::string& got);

}  // namespace synod::sim::interaction

#endif  // SYNOD_TEST_SIM_INTERACTION_DATADRIVEN_H_
