// Runs the interaction scripts of test/sim/testdata against
// InteractionEnv and compares (or rewrites) their expected output.

#ifndef SYNOD_TEST_SIM_INTERACTION_RUNNER_H_
#define SYNOD_TEST_SIM_INTERACTION_RUNNER_H_

#include <string>
#include <vector>

namespace synod::sim::interaction {

// What running one script gave.
struct ScriptResult {
  // True if every command ran and printed exactly its expected output.
  bool ok = false;
  // Why not: a malformed script or command ("path:line: ..."), or for each
  // command whose output differs, its line, the command and a line diff
  // ("-" expected, "+" actual).
  std::string report;
  // The script with every expected output replaced by the actual one; ""
  // if the script could not be run to its end (nothing to rewrite).
  std::string actual;
};

// Runs the script `text` (named `path` in reports) in a fresh
// InteractionEnv.
ScriptResult RunScript(const std::string& path, const std::string& text);

// Reads, runs and, if `rewrite`, writes back (when it changed) the script
// at `path`. A rewritten script counts as ok.
ScriptResult RunScriptFile(const std::string& path, bool rewrite);

// Returns the paths of the *.txt files in `dir`, sorted.
std::vector<std::string> ListScripts(const std::string& dir);

}  // namespace synod::sim::interaction

#endif  // SYNOD_TEST_SIM_INTERACTION_RUNNER_H_
