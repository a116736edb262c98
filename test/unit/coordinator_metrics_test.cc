// Options::metrics_listen: /metrics in Prometheus text format (checked by
// Debian's promtool and against GetHealth()), /health (200 serving), the
// latency histograms fed by real writes, and bad addresses refused.

#include <catch2/catch.hpp>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "synod/synod.h"
#include "test_util.h"
#include "util/http_get.h"

namespace synod {
namespace {

using testing::Get;
using testing::HttpReply;
using testing::Sample;
using testing::TempDir;
using testing::TestOptions;

TEST_CASE("metrics_listen serves /metrics that promtool accepts and that "
          "equal GetHealth, and /health",
          "[coordinator][metrics]") {
  TempDir dir;
  Options o = TestOptions(dir.path());
  o.metrics_listen = "127.0.0.1:0";
  auto started = Coordinator::Start(o);
  REQUIRE(started.ok());
  Coordinator& c = **started;
  const std::string address = c.GetHealth().metrics_listen;
  REQUIRE(absl::StartsWith(address, "127.0.0.1:"));
  CHECK(!absl::EndsWith(address, ":0"));

  for (int i = 0; i < 20; ++i) {
    REQUIRE(c.Create(absl::StrCat("/m", i), std::string(10, 'x')).ok());
  }
  REQUIRE(c.Set("/m0", "").ok());
  const Health h = c.GetHealth();
  CHECK(h.write_latency.count >= 21);
  CHECK(h.fsync_latency.count >= 1);
  CHECK(h.data_bytes == 19 * 10);

  const HttpReply metrics = Get(address, "/metrics");
  REQUIRE(metrics.code == 200);
  const std::string& text = metrics.body;
  // What GetHealth says, in the text (nothing wrote in between).
  CHECK(Sample(text, "synod_znodes") == static_cast<double>(h.znode_count));
  CHECK(Sample(text, "synod_data_bytes") == 190);
  CHECK(Sample(text, "synod_role{role=\"leader\"}") == 1);
  CHECK(Sample(text, "synod_role{role=\"looking\"}") == 0);
  CHECK(Sample(text, "synod_serving") == 1);
  CHECK(Sample(text, "synod_write_latency_seconds_count") ==
        static_cast<double>(h.write_latency.count));
  CHECK(Sample(text, "synod_write_latency_seconds_bucket{le=\"+Inf\"}") ==
        static_cast<double>(h.write_latency.count));
  CHECK(Sample(text, "synod_fsync_latency_seconds_count") >= 1);
  CHECK(Sample(text, "synod_writes_total") >= 21);
  CHECK(absl::StrContains(text, "# TYPE synod_write_latency_seconds histogram"));

  // Debian's promtool lints it.
  const std::string file = dir.Sub("metrics.txt");
  std::ofstream(file) << text;
  const std::string command =
      absl::StrCat("promtool check metrics < ", file, " > ",
                   dir.Sub("promtool.out"), " 2>&1");
  const int rc = std::system(command.c_str());
  std::ifstream out(dir.Sub("promtool.out"));
  const std::string said((std::istreambuf_iterator<char>(out)),
                         std::istreambuf_iterator<char>());
  INFO("promtool: " << said);
  CHECK(rc == 0);

  // Every metric the example dashboard queries is served.
  std::ifstream dashboard_file(SYNOD_DOCS_DIR "/grafana-dashboard.json");
  const std::string dashboard((std::istreambuf_iterator<char>(dashboard_file)),
                              std::istreambuf_iterator<char>());
  REQUIRE(!dashboard.empty());
  int queried = 0;
  for (size_t at = dashboard.find("synod_"); at != std::string::npos;
       at = dashboard.find("synod_", at + 1)) {
    size_t end = at;
    while (end < dashboard.size() &&
           (std::isalnum(static_cast<unsigned char>(dashboard[end])) ||
            dashboard[end] == '_')) {
      ++end;
    }
    const std::string name = dashboard.substr(at, end - at);
    ++queried;
    // Only an ensemble's leader has lag series (health_endpoint_test).
    if (name == "synod_learner_lag_txns") continue;
    INFO("dashboard queries " << name);
    CHECK(absl::StrContains(text, absl::StrCat("\n", name)));
    at = end;
  }
  CHECK(queried >= 15);

  const HttpReply health = Get(address, "/health");
  CHECK(health.code == 200);
  CHECK(health.body == "serving leader\n");
  CHECK(Get(address, "/nothing").code == 404);
}

TEST_CASE("metrics_listen refuses what it cannot serve", "[coordinator][metrics]") {
  TempDir dir;
  for (const char* bad : {"nowhere", "127.0.0.1:99999", "127.0.0.1:-1"}) {
    Options o = TestOptions(dir.path());
    o.metrics_listen = bad;
    auto started = Coordinator::Start(o);
    CHECK(ErrorOf(started.status()) == Error::kBadArguments);
  }
  // A port in use: the Coordinator does not start, and says why.
  Options first = TestOptions(dir.Sub("a"));
  first.metrics_listen = "127.0.0.1:0";
  auto a = Coordinator::Start(first);
  REQUIRE(a.ok());
  Options second = TestOptions(dir.Sub("b"));
  second.metrics_listen = (*a)->GetHealth().metrics_listen;
  auto b = Coordinator::Start(second);
  CHECK(ErrorOf(b.status()) == Error::kBadArguments);
  CHECK(absl::StrContains(b.status().message(), "metrics_listen"));
}

}  // namespace
}  // namespace synod
