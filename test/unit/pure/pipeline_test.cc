// Tests for server::Pipeline: completion order, lost leadership, and what a
// failure leaves.

#include "server/pipeline.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "util/errors.h"

namespace synod::server {
namespace {

// Records completions as "name:OK@zxid" or "name:<error code>".
class Recorder {
 public:
  Pipeline::Completer completer() {
    return [this](WriteDone& done, WriteOutcome&& o) { done(std::move(o)); };
  }
  WriteDone Done(std::string name) {
    return [this, name](WriteOutcome&& o) {
      log.push_back(o.status.ok()
                        ? name + ":OK@" + std::to_string(o.zxid)
                        : name + ":" + std::to_string(static_cast<int>(
                                           ErrorOf(o.status))));
    };
  }
  std::vector<std::string> log;
};

Pipeline::Item Txn(Zxid zxid, WriteDone done) {
  Pipeline::Item item;
  item.zxid = zxid;
  item.has_txn = true;
  item.txn.set_zxid(zxid);
  item.done = std::move(done);
  return item;
}

Pipeline::Item Error(Zxid after, absl::Status s, WriteDone done) {
  Pipeline::Item item;
  item.zxid = after;
  item.error = std::move(s);
  item.done = std::move(done);
  return item;
}

TEST_CASE("Pipeline completes errors behind the txns prepared before them",
          "[server]") {
  Recorder r;
  Pipeline p(r.completer());
  p.Push(Txn(5, r.Done("t5")));
  p.Push(Error(5, MakeError(Error::kNodeExists, "x"), r.Done("e")));
  p.Push(Txn(6, r.Done("t6")));
  CHECK_FALSE(p.ErrorDue(4));
  p.CompleteThrough(4);
  CHECK(r.log.empty());

  std::optional<Pipeline::Item> t5 = p.TakeCommitted(5, 4);
  REQUIRE(t5.has_value());
  CHECK(t5->zxid == 5);
  // t5 applied: the error behind it is due now.
  CHECK(p.ErrorDue(5));
  p.CompleteThrough(5);
  CHECK(r.log == std::vector<std::string>{
                     "e:" + std::to_string(static_cast<int>(Error::kNodeExists))});
  CHECK(p.TakeCommitted(6, 5).has_value());
  CHECK(p.empty());
}

TEST_CASE("Pipeline fails our txns a different txn overtook", "[server]") {
  Recorder r;
  Pipeline p(r.completer());
  p.Push(Txn(5, r.Done("t5")));
  p.Push(Error(5, absl::OkStatus(), r.Done("sync")));
  p.Push(Txn(6, r.Done("t6")));
  // A new leader's txn at 9 applies: 5 never committed.
  CHECK_FALSE(p.TakeCommitted(9, 4).has_value());
  const std::string lost =
      std::to_string(static_cast<int>(Error::kConnectionLoss));
  CHECK(r.log == std::vector<std::string>{"t5:" + lost});
  // The sync behind it completes once 9 applied (everything committed
  // before it is applied then), still ahead of t6.
  p.CompleteThrough(9);
  CHECK(r.log == std::vector<std::string>{"t5:" + lost, "sync:OK@5"});
  // The next commit shows 6 never committed either.
  CHECK_FALSE(p.TakeCommitted(10, 9).has_value());
  CHECK(r.log == std::vector<std::string>{"t5:" + lost, "sync:OK@5",
                                          "t6:" + lost});
  CHECK(p.empty());
}

TEST_CASE("Pipeline leaves a txn of another peer alone", "[server]") {
  Recorder r;
  Pipeline p(r.completer());
  p.Push(Txn(7, r.Done("t7")));
  // Zxid 6 is not ours: nothing of ours is below it.
  CHECK_FALSE(p.TakeCommitted(6, 5).has_value());
  CHECK(r.log.empty());
  CHECK(p.TakeCommitted(7, 6).has_value());
}

TEST_CASE("Pipeline::FailAbove fails only what is not known committed",
          "[server]") {
  Recorder r;
  Pipeline p(r.completer());
  p.Push(Txn(5, r.Done("t5")));
  p.Push(Txn(6, r.Done("t6")));
  p.Push(Error(6, MakeError(Error::kBadVersion, "x"), r.Done("e")));
  CHECK(p.Uncommitted(5) == 1);
  p.FailAbove(5, [](const Pipeline::Item&) {
    return MakeError(Error::kConnectionLoss, "lost");
  });
  const std::string lost =
      std::to_string(static_cast<int>(Error::kConnectionLoss));
  CHECK(r.log == std::vector<std::string>{"t6:" + lost, "e:" + lost});
  CHECK(p.Uncommitted(0) == 1);  // t5 stays: it committed
  REQUIRE(p.TakeCommitted(5, 4).has_value());
  CHECK(p.empty());
}

TEST_CASE("Pipeline::FailAll completes everything once, in order",
          "[server]") {
  Recorder r;
  Pipeline p(r.completer());
  p.Push(Txn(5, r.Done("a")));
  p.Push(Error(5, MakeError(Error::kNoNode, "x"), r.Done("b")));
  p.FailAll(MakeError(Error::kClosing, "stop"));
  const std::string closing = std::to_string(static_cast<int>(Error::kClosing));
  CHECK(r.log == std::vector<std::string>{"a:" + closing, "b:" + closing});
  CHECK(p.empty());
  p.FailAll(MakeError(Error::kClosing, "stop"));
  CHECK(r.log.size() == 2);
}

}  // namespace
}  // namespace synod::server
