// Runs every interaction script in test/sim/testdata and fails, with a
// diff, where a command's output differs from the expected text.
//
// To accept new output, rewrite the scripts (then read the diff):
//   SYNOD_REWRITE=1 build/relwithdebinfo/test/synod_interaction_tests
// or: build/relwithdebinfo/test/synod_interaction --rewrite [script.txt...]

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "sim/interaction/datadriven.h"
#include "sim/interaction/runner.h"

namespace synod::sim::interaction {
namespace {

bool Rewrite() {
  const char* env = std::getenv("SYNOD_REWRITE");
  return env != nullptr && std::string(env) == "1";
}

TEST_CASE("every interaction script gives its expected output", "[sim]") {
  const std::vector<std::string> scripts = ListScripts(SYNOD_TESTDATA_DIR);
  REQUIRE(!scripts.empty());
  for (const std::string& path : scripts) {
    DYNAMIC_SECTION(std::filesystem::path(path).filename().string()) {
      const ScriptResult r = RunScriptFile(path, Rewrite());
      INFO(r.report);
      CHECK(r.ok);
    }
  }
}

TEST_CASE("the script format round-trips and reports what differs", "[sim]") {
  const std::string text =
      "# a comment\n"
      "add-peers voters=1\n"
      "----\n"
      "line one\n"
      "\n"
      "# another\n"
      "\n"
      "status\n"
      "----\n"
      "ok\n";
  TestFile file;
  std::string error;
  REQUIRE(ParseTestFile(text, &file, &error));
  REQUIRE(file.cases.size() == 2);
  CHECK(file.cases[0].preamble == "# a comment\n");
  CHECK(file.cases[0].line == 2);
  CHECK(file.cases[1].preamble == "# another\n\n");
  CHECK(file.cases[1].expected == "ok\n");
  CHECK(FormatTestFile(file) == text);

  CHECK_FALSE(ParseTestFile("tick peer=1\nok\n", &file, &error));
  CHECK_THAT(error, Catch::Contains("line 1"));
  CHECK_FALSE(ParseTestFile("tick peer=1\n----\n\n", &file, &error));

  const CommandLine c = ParseCommandLine("deliver  from=1 to=2 brief");
  CHECK(c.name == "deliver");
  REQUIRE(c.args.size() == 3);
  CHECK(c.args[1] == std::make_pair(std::string("to"), std::string("2")));
  CHECK(c.args[2] == std::make_pair(std::string("brief"), std::string()));
  CHECK(c.rest == "from=1 to=2 brief");

  CHECK(LineDiff("a\nb\n", "a\nb\n").empty());
  CHECK(LineDiff("a\nb\nc\n", "a\nx\nc\n") == " a\n-b\n+x\n c\n");
}

TEST_CASE("a wrong expectation fails with a diff, a bad command with its line",
          "[sim]") {
  ScriptResult r = RunScript("t.txt",
                             "add-peers voters=1\n----\nnot what it prints\n");
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.report, Catch::Contains("t.txt:1: add-peers voters=1"));
  CHECK_THAT(r.report, Catch::Contains("-not what it prints"));
  CHECK_THAT(r.report, Catch::Contains("+1 started (voter)"));

  r = RunScript("t.txt", "add-peers voters=1\n----\nx\n\nfly peer=1\n----\nok\n");
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.report, Catch::Contains("t.txt:5: fly peer=1: error: unknown command"));
  CHECK(r.actual.empty());

  r = RunScript("t.txt", "add-peers voters=1\n----\nx\n\ntick peer=7\n----\nok\n");
  CHECK_THAT(r.report, Catch::Contains("peer=7 names no peer"));
}

}  // namespace
}  // namespace synod::sim::interaction
