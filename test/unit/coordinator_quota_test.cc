// Quotas through the Coordinator: SetQuota, GetQuota and DeleteQuota, a
// hard limit refusing writes (pipelined ones too) with QuotaExceeded, a
// soft one logged and counted, and quotas kept across a restart.

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "test_util.h"

namespace synod {
namespace {

using testing::TempDir;
using testing::TestOptions;


QuotaLimits HardCount(int64_t n) {
  QuotaLimits l;
  l.count_hard = n;
  return l;
}

TEST_CASE("Coordinator quotas: set, read, enforce, drop", "[quota]") {
  TempDir dir;
  auto c = testing::MustStart(TestOptions(dir.path()));
  REQUIRE(c->Create("/q", "abc").ok());
  REQUIRE(c->Create("/q/1", "de").ok());
  CHECK(ErrorOf(c->GetQuota("/q").status()) == Error::kNoNode);
  REQUIRE(c->SetQuota("/q", HardCount(3)).ok());

  auto quota = c->GetQuota("/q");
  REQUIRE(quota.ok());
  CHECK(quota->limits.count_hard == 3);
  CHECK(quota->limits.count == -1);
  CHECK(quota->count == 2);
  CHECK(quota->bytes == 5);
  // Kept as a node in ZooKeeper's form, readable by anyone.
  auto holder = c->Get("/synod/quota/q");
  REQUIRE(holder.ok());
  CHECK(holder->data == "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=3");

  REQUIRE(c->Create("/q/2", "").ok());
  absl::Status over = c->Create("/q/3", "").status();
  CHECK(ErrorOf(over) == Error::kQuotaExceeded);
  CHECK(ErrorName(ErrorOf(over)) == "QuotaExceeded");
  CHECK(over.code() == absl::StatusCode::kResourceExhausted);
  CHECK(!c->Exists("/q/3").value().has_value());
  CHECK(c->GetHealth().quota_hard_exceeded == 1);
  // Nothing changed: the parent's child version neither.
  CHECK(c->Exists("/q").value()->cversion == 2);

  SECTION("a multi that would pass the limit fails whole") {
    REQUIRE(c->Delete("/q/2").ok());
    auto multi = c->Multi({Op::Create("/q/a", ""), Op::Create("/q/b", "")});
    CHECK(ErrorOf(multi.status()) == Error::kQuotaExceeded);
    CHECK(FailedOpIndex(multi.status()) == 1);
    CHECK(!c->Exists("/q/a").value().has_value());
  }
  SECTION("the bytes limit holds sets too") {
    QuotaLimits bytes;
    bytes.bytes_hard = 8;
    REQUIRE(c->SetQuota("/q", bytes).ok());
    CHECK(c->GetQuota("/q")->limits.count_hard == 3);  // kept
    CHECK(ErrorOf(c->Set("/q/1", "defghi").status()) == Error::kQuotaExceeded);
    REQUIRE(c->Set("/q/1", "defgh").ok());
    CHECK(c->GetQuota("/q")->bytes == 8);
  }
  SECTION("deleting the hard limit frees the subtree") {
    REQUIRE(c->DeleteQuota("/q", quota_fields::kCountHard).ok());
    REQUIRE(c->Create("/q/3", "").ok());
    REQUIRE(c->DeleteQuota("/q").ok());
    CHECK(ErrorOf(c->GetQuota("/q").status()) == Error::kNoNode);
    CHECK(!c->Exists("/synod/quota/q").value().has_value());
    CHECK(ErrorOf(c->DeleteQuota("/q")) == Error::kNoNode);
  }
  SECTION("bad requests are refused") {
    CHECK(ErrorOf(c->SetQuota("/", HardCount(1))) == Error::kBadArguments);
    CHECK(ErrorOf(c->SetQuota("/synod/x", HardCount(1))) ==
          Error::kBadArguments);
    CHECK(ErrorOf(c->SetQuota("/q", QuotaLimits{})) == Error::kBadArguments);
    CHECK(ErrorOf(c->SetQuota("/q", HardCount(0))) == Error::kBadArguments);
    CHECK(ErrorOf(c->SetQuota("/q/1", HardCount(9))) == Error::kBadArguments);
    CHECK(ErrorOf(c->SetQuota("/nope", HardCount(9))) == Error::kNoNode);
    CHECK(ErrorOf(c->GetQuota("bad").status()) == Error::kBadArguments);
    CHECK(ErrorOf(c->Set("/synod/quota/q", "count=9,bytes=9").status()) ==
          Error::kBadArguments);
    CHECK(c->GetQuota("/q")->limits == HardCount(3));
  }
}

TEST_CASE(
    "Coordinator quotas: writes in flight together meet the limit "
    "exactly",
    "[quota]") {
  TempDir dir;
  auto c = testing::MustStart(TestOptions(dir.path()));
  REQUIRE(c->Create("/burst", "").ok());
  REQUIRE(c->SetQuota("/burst", HardCount(10)).ok());
  constexpr int kWrites = 200;
  std::atomic<int> created{0}, refused{0}, other{0};
  absl::BlockingCounter done(kWrites);
  for (int i = 0; i < kWrites; ++i) {
    c->CreateAsync(absl::StrCat("/burst/n", i), "x", CreateMode::kPersistent,
                   CreateOptions{}, [&](absl::StatusOr<std::string> r) {
                     if (r.ok()) {
                       created++;
                     } else if (ErrorOf(r.status()) == Error::kQuotaExceeded) {
                       refused++;
                     } else {
                       other++;
                     }
                     done.DecrementCount();
                   });
  }
  done.Wait();
  CHECK(created == 9);
  CHECK(refused == kWrites - 9);
  CHECK(other == 0);
  CHECK(c->GetChildren("/burst").value().size() == 9);
  CHECK(c->GetQuota("/burst")->count == 10);
  CHECK(c->GetQuota("/burst")->bytes == 9);
}

TEST_CASE("Coordinator quotas: a soft limit is logged and counted", "[quota]") {
  TempDir dir;
  Options o = TestOptions(dir.path());
  std::mutex mu;
  std::vector<std::string> warnings;
  o.log_sink = [&](LogLevel level, std::string_view m) {
    std::lock_guard<std::mutex> lock(mu);
    if (level >= LogLevel::kWarning) warnings.emplace_back(m);
  };
  auto c = testing::MustStart(o);
  REQUIRE(c->Create("/soft", "").ok());
  QuotaLimits soft;
  soft.count = 2;
  REQUIRE(c->SetQuota("/soft", soft).ok());
  for (int i = 0; i < 4; ++i) {
    REQUIRE(c->Create(absl::StrCat("/soft/", i), "").ok());
  }
  CHECK(c->GetHealth().quota_soft_exceeded == 3);
  CHECK(c->GetHealth().quota_hard_exceeded == 0);
  CHECK(c->GetQuota("/soft")->count == 5);
  std::lock_guard<std::mutex> lock(mu);
  bool logged = false;
  for (const std::string& w : warnings) {
    logged |=
        w.find("quota exceeded: /soft [count would be 3, soft limit 2]") !=
        std::string::npos;
  }
  CHECK(logged);
}

TEST_CASE("Coordinator quotas survive a restart, counts rebuilt", "[quota]") {
  TempDir dir;
  const Options o = TestOptions(dir.path());
  {
    auto c = testing::MustStart(o);
    REQUIRE(c->Create("/r", "12").ok());
    REQUIRE(c->Create("/r/a", "345").ok());
    QuotaLimits l;
    l.count_hard = 3;
    l.bytes = 100;
    REQUIRE(c->SetQuota("/r", l).ok());
    REQUIRE(c->Create("/r/b", "").ok());
  }
  auto c = testing::MustStart(o);
  auto quota = c->GetQuota("/r");
  REQUIRE(quota.ok());
  CHECK(quota->limits.count_hard == 3);
  CHECK(quota->limits.bytes == 100);
  CHECK(quota->count == 3);
  CHECK(quota->bytes == 5);
  CHECK(ErrorOf(c->Create("/r/c", "").status()) == Error::kQuotaExceeded);
  REQUIRE(c->Delete("/r/b").ok());
  REQUIRE(c->Create("/r/c", "").ok());
}

}  // namespace
}  // namespace synod
