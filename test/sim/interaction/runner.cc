#include "sim/interaction/runner.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "sim/interaction/datadriven.h"
#include "sim/interaction/interaction_env.h"

namespace synod::sim::interaction {

ScriptResult RunScript(const std::string& path, const std::string& text) {
  ScriptResult result;
  TestFile file;
  std::string error;
  if (!ParseTestFile(text, &file, &error)) {
    result.report = absl::StrCat(path, ":", error, "\n");
    return result;
  }
  InteractionEnv env;
  bool ok = true;
  for (TestCase& c : file.cases) {
    std::string actual;
    if (!env.Handle(ParseCommandLine(c.command), &actual, &error)) {
      result.report += absl::StrCat(path, ":", c.line, ": ", c.command,
                                    ": error: ", error, "\n");
      return result;
    }
    const std::string diff = LineDiff(c.expected, actual);
    if (!diff.empty()) {
      ok = false;
      absl::StrAppend(&result.report, path, ":", c.line, ": ", c.command,
                      "\n", diff);
    }
    c.expected = std::move(actual);
  }
  result.ok = ok;
  result.actual = FormatTestFile(file);
  return result;
}

ScriptResult RunScriptFile(const std::string& path, bool rewrite) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ScriptResult r;
    r.report = absl::StrCat(path, ": cannot read\n");
    return r;
  }
  std::stringstream text;
  text << in.rdbuf();
  ScriptResult r = RunScript(path, text.str());
  if (rewrite && !r.actual.empty()) {
    if (r.actual != text.str()) {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << r.actual;
      if (!out) {
        r.ok = false;
        r.report += absl::StrCat(path, ": cannot write\n");
        return r;
      }
    }
    r.ok = true;
  }
  return r;
}

std::vector<std::string> ListScripts(const std::string& dir) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".txt") {
      paths.push_back(entry.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace synod::sim::interaction
