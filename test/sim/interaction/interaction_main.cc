// synod_interaction: runs interaction scripts (test/sim/testdata/*.txt) and
// prints a diff for every command whose output differs from the expected
// text; with --rewrite, writes the actual output into the scripts instead.
//
//   synod_interaction [--rewrite] [script.txt ...]
//
// Without script names it runs every script in the source tree's
// test/sim/testdata. Exit status 0 when every script matched (or was
// rewritten), 1 otherwise.

#include <cstdio>
#include <string>
#include <vector>

#include "sim/interaction/runner.h"

int main(int argc, char** argv) {
  bool rewrite = false;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--rewrite") {
      rewrite = true;
    } else if (arg == "--help" || arg == "-h" || (!arg.empty() && arg[0] == '-')) {
      std::fprintf(arg == "--help" || arg == "-h" ? stdout : stderr,
                   "usage: %s [--rewrite] [script.txt ...]\n", argv[0]);
      return arg == "--help" || arg == "-h" ? 0 : 2;
    } else {
      paths.push_back(arg);
    }
  }
  if (paths.empty()) paths = synod::sim::interaction::ListScripts(SYNOD_TESTDATA_DIR);
  int failed = 0;
  for (const std::string& path : paths) {
    const auto r = synod::sim::interaction::RunScriptFile(path, rewrite);
    if (!r.ok) {
      ++failed;
      std::fputs(r.report.c_str(), stdout);
    }
  }
  std::printf("%zu scripts, %d %s\n", paths.size(), failed,
              rewrite ? "could not be rewritten" : "failed");
  return failed == 0 ? 0 : 1;
}
