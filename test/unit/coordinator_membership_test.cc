// The Coordinator's membership calls in one process (docs/membership.md):
// what a peer alone and a one-peer ensemble answer, and the refusals of
// changes that do not fit. Ensembles of processes: test/integration.

#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "synod/coordinator.h"
#include "test_util.h"

namespace synod {
namespace {

using testing::FreePort;
using testing::TempDir;
using testing::TestOptions;

bool Mentions(const absl::Status& s, const std::string& text) {
  return std::string(s.message()).find(text) != std::string::npos;
}

TEST_CASE("membership calls alone are ReconfigDisabled",
          "[coordinator][membership]") {
  TempDir dir;
  auto c = Coordinator::Start(TestOptions(dir.path()));
  REQUIRE(c.ok());
  CHECK(ErrorOf((*c)->Members().status()) == Error::kReconfigDisabled);
  CHECK(ErrorOf((*c)->AddVoter("127.0.0.1:1")) == Error::kReconfigDisabled);
  CHECK(ErrorOf((*c)->RemoveMember("1")) == Error::kReconfigDisabled);
  CHECK(ErrorOf((*c)->Leave()) == Error::kReconfigDisabled);
}

TEST_CASE("a one-peer ensemble reports itself and refuses changes that do "
          "not fit",
          "[coordinator][membership]") {
  TempDir dir;
  Options o = TestOptions(dir.path());
  o.listen = absl::StrCat("127.0.0.1:", FreePort());
  o.seeds = {o.listen};
  auto started = Coordinator::Start(o);
  REQUIRE(started.ok());
  Coordinator& c = **started;
  REQUIRE(c.WaitConnected(absl::Seconds(10)).ok());
  absl::StatusOr<std::vector<EnsembleMember>> members = c.Members();
  REQUIRE(members.ok());
  REQUIRE(members->size() == 1);
  CHECK((*members)[0].address == o.listen);
  CHECK((*members)[0].voter);
  CHECK((*members)[0].state == "leading");
  const Health h = c.GetHealth();
  CHECK(h.voters.size() == 1);
  CHECK(h.voters[0].state == "leading");

  absl::Status s = c.AddVoter("127.0.0.1:1");
  CHECK(ErrorOf(s) == Error::kBadArguments);
  CHECK(Mentions(s, "no member listens on 127.0.0.1:1"));
  s = c.AddVoter(o.listen);
  CHECK(ErrorOf(s) == Error::kBadArguments);
  CHECK(Mentions(s, "a voter already"));
  s = c.RemoveMember("nobody:1");
  CHECK(ErrorOf(s) == Error::kBadArguments);
  CHECK(Mentions(s, "no member is nobody:1"));
  // The last voter cannot go, by address or by id.
  s = c.RemoveMember(o.listen);
  CHECK(ErrorOf(s) == Error::kBadArguments);
  s = c.Leave();
  CHECK(ErrorOf(s) == Error::kBadArguments);
  // Nothing changed, and writes go on.
  CHECK(c.GetHealth().config_version == 0);
  CHECK(c.Create("/after", "x").ok());
}

}  // namespace
}  // namespace synod
