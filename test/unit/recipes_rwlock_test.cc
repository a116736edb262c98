// recipes::ReadWriteLock against a one-peer Coordinator: readers overlap
// (across objects and across threads of one object), a writer excludes
// readers and writers, a queued writer keeps out the readers queued after
// it, the write holder downgrades to read (and a writer queued before its
// read stays out), a read holder is refused the write lock at once, and a
// plain Lock counts as a writer.

#include "synod/recipes/read_write_lock.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "synod/recipes/lock.h"
#include "test_util.h"
#include "util/recipe_test_util.h"

namespace synod {
namespace {

using testing::AwaitQueued;
using testing::OnePeer;
using testing::Queued;
using testing::Threads;

using recipes::Lock;
using recipes::ReadWriteLock;
using testing::TempDir;
using testing::TestOptions;

// What worker threads did, in order, for the test thread to check.
struct Journal {
  std::mutex mu;
  std::vector<std::string> entries;
  void Add(std::string what) {
    std::lock_guard<std::mutex> lock(mu);
    entries.push_back(std::move(what));
  }
  std::vector<std::string> Get() {
    std::lock_guard<std::mutex> lock(mu);
    return entries;
  }
};

TEST_CASE("RWLock: readers overlap, across objects and threads of one "
          "object",
          "[recipes][rwlock]") {
  OnePeer peer;
  Coordinator* c = peer.c.get();
  ReadWriteLock shared(*c, "/rw/overlap");
  constexpr int kReaders = 6;  // 3 share `shared`, 3 have their own
  std::atomic<int> inside{0}, most{0}, arrived{0}, failures{0};
  Threads threads;
  for (int i = 0; i < kReaders; ++i) {
    threads.Run([&, i] {
      std::unique_ptr<ReadWriteLock> own;
      if (i % 2 == 1) own = std::make_unique<ReadWriteLock>(*c, "/rw/overlap");
      Lock& read = own ? own->ReadLock() : shared.ReadLock();
      if (!read.Acquire(absl::Seconds(20)).ok()) {
        failures++;
        return;
      }
      const int now = inside.fetch_add(1) + 1;
      int seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {
      }
      // Hold until every reader has come in (or give up after a while).
      arrived++;
      testing::WaitFor([&] { return arrived.load() == kReaders; },
                       absl::Seconds(20));
      if (!read.IsHeldByThisThread()) failures++;
      inside.fetch_sub(1);
      if (!read.Release().ok()) failures++;
    });
  }
  threads.JoinAll();
  CHECK(failures == 0);
  CHECK(most == kReaders);
  CHECK(Queued(*c, "/rw/overlap") == 0);
}

TEST_CASE("RWLock: a writer excludes readers and writers",
          "[recipes][rwlock]") {
  OnePeer peer;
  Coordinator* c = peer.c.get();
  constexpr int kWriters = 3;
  constexpr int kReaders = 4;
  constexpr int kRounds = 15;
  std::atomic<int> writers_in{0}, readers_in{0}, violations{0}, failures{0};
  std::atomic<int> writes{0}, reads{0};
  ReadWriteLock shared(*c, "/rw/x");  // the readers' threads share one
  Threads threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.Run([&] {
      ReadWriteLock rw(*c, "/rw/x");
      for (int i = 0; i < kRounds; ++i) {
        if (!rw.WriteLock().Acquire(absl::Seconds(30)).ok()) {
          failures++;
          return;
        }
        if (writers_in.fetch_add(1) != 0) violations++;
        if (readers_in.load() != 0) violations++;
        absl::SleepFor(absl::Milliseconds(1));
        if (readers_in.load() != 0) violations++;
        writers_in.fetch_sub(1);
        writes++;
        if (!rw.WriteLock().Release().ok()) failures++;
      }
    });
  }
  for (int t = 0; t < kReaders; ++t) {
    threads.Run([&] {
      for (int i = 0; i < kRounds; ++i) {
        if (!shared.ReadLock().Acquire(absl::Seconds(30)).ok()) {
          failures++;
          return;
        }
        readers_in.fetch_add(1);
        if (writers_in.load() != 0) violations++;
        absl::SleepFor(absl::Milliseconds(1));
        if (writers_in.load() != 0) violations++;
        readers_in.fetch_sub(1);
        reads++;
        if (!shared.ReadLock().Release().ok()) failures++;
      }
    });
  }
  threads.JoinAll();
  CHECK(failures == 0);
  CHECK(violations == 0);
  CHECK(writes == kWriters * kRounds);
  CHECK(reads == kReaders * kRounds);
  CHECK(Queued(*c, "/rw/x") == 0);
}

TEST_CASE("RWLock: a queued writer keeps out the readers queued after it",
          "[recipes][rwlock]") {
  OnePeer peer;
  Coordinator* c = peer.c.get();
  ReadWriteLock first(*c, "/rw/fifo");
  REQUIRE(first.ReadLock().Acquire(absl::Seconds(10)).ok());
  Journal journal;
  std::atomic<bool> release_writer{false};
  std::atomic<int> failures{0};
  Threads threads;
  threads.Run([&] {
    ReadWriteLock rw(*c, "/rw/fifo");
    if (!rw.WriteLock().Acquire(absl::Seconds(30)).ok()) {
      failures++;
      return;
    }
    journal.Add("writer in");
    testing::WaitFor([&] { return release_writer.load(); }, absl::Seconds(30));
    journal.Add("writer out");
    if (!rw.WriteLock().Release().ok()) failures++;
  });
  REQUIRE(AwaitQueued(*c, "/rw/fifo", 2));
  threads.Run([&] {
    ReadWriteLock rw(*c, "/rw/fifo");
    if (!rw.ReadLock().Acquire(absl::Seconds(30)).ok()) {
      failures++;
      return;
    }
    journal.Add("reader in");
    if (!rw.ReadLock().Release().ok()) failures++;
  });
  REQUIRE(AwaitQueued(*c, "/rw/fifo", 3));
  // The later reader would overlap the first reader, but the writer queued
  // between them.
  absl::SleepFor(absl::Milliseconds(300));
  CHECK(journal.Get().empty());
  REQUIRE(first.ReadLock().Release().ok());
  REQUIRE(testing::WaitFor([&] { return !journal.Get().empty(); },
                           absl::Seconds(10)));
  absl::SleepFor(absl::Milliseconds(200));
  CHECK(journal.Get() == std::vector<std::string>{"writer in"});
  release_writer = true;
  threads.JoinAll();
  CHECK(failures == 0);
  CHECK(journal.Get() ==
        std::vector<std::string>{"writer in", "writer out", "reader in"});
}

TEST_CASE("RWLock: the write holder downgrades to read, and a writer "
          "queued before its read stays out",
          "[recipes][rwlock]") {
  OnePeer peer;
  Coordinator* c = peer.c.get();
  Journal journal;
  std::atomic<int> failures{0};
  std::atomic<bool> in{false};
  std::atomic<bool> done{false};
  Threads threads;

  // A writer queues behind the write holder; the holder takes the read
  // lock (at once: it holds the write lock) and releases the write lock.
  // The writer is now first in the queue, but the downgraded read holds.
  ReadWriteLock a(*c, "/rw/down");
  REQUIRE(a.WriteLock().Acquire(absl::Seconds(10)).ok());
  threads.Run([&] {
    ReadWriteLock b(*c, "/rw/down");
    if (!b.WriteLock().Acquire(absl::Seconds(30)).ok()) {
      failures++;
      return;
    }
    journal.Add("writer in");
    if (!b.WriteLock().Release().ok()) failures++;
  });
  REQUIRE(AwaitQueued(*c, "/rw/down", 2));
  REQUIRE(a.ReadLock().Acquire(absl::Seconds(10)).ok());
  CHECK(a.ReadLock().IsHeld());
  REQUIRE(a.WriteLock().Release().ok());
  CHECK(!a.WriteLock().IsHeld());
  CHECK(a.ReadLock().IsHeld());
  absl::SleepFor(absl::Milliseconds(300));
  CHECK(journal.Get().empty());
  // Downgraded, it still may not upgrade.
  CHECK(a.WriteLock().Acquire(absl::Seconds(5)).code() ==
        absl::StatusCode::kFailedPrecondition);
  journal.Add("reader out");
  REQUIRE(a.ReadLock().Release().ok());
  threads.JoinAll();
  CHECK(failures == 0);
  CHECK(journal.Get() ==
        std::vector<std::string>{"reader out", "writer in"});

  // A reader queued behind the write holder gets in as the holder
  // downgrades: the two reads overlap.
  REQUIRE(a.WriteLock().Acquire(absl::Seconds(10)).ok());
  threads.Run([&] {
    ReadWriteLock r(*c, "/rw/down");
    if (!r.ReadLock().Acquire(absl::Seconds(30)).ok()) {
      failures++;
      return;
    }
    in = true;
    testing::WaitFor([&] { return done.load(); }, absl::Seconds(30));
    if (!r.ReadLock().Release().ok()) failures++;
  });
  REQUIRE(AwaitQueued(*c, "/rw/down", 2));
  absl::SleepFor(absl::Milliseconds(200));
  CHECK(!in);  // the write lock keeps it out
  REQUIRE(a.ReadLock().Acquire(absl::Seconds(10)).ok());
  REQUIRE(a.WriteLock().Release().ok());
  CHECK(testing::WaitFor([&] { return in.load(); }, absl::Seconds(10)));
  CHECK(a.ReadLock().IsHeld());
  done = true;
  threads.JoinAll();
  REQUIRE(a.ReadLock().Release().ok());
  CHECK(failures == 0);
  CHECK(Queued(*c, "/rw/down") == 0);
}

TEST_CASE("RWLock: re-entrant sides, a read holder refused the write lock "
          "at once, a plain Lock counts as a writer",
          "[recipes][rwlock]") {
  OnePeer peer;
  Coordinator* c = peer.c.get();
  ReadWriteLock rw(*c, "/rw/re");
  Lock& read = rw.ReadLock();
  Lock& write = rw.WriteLock();
  CHECK(read.Release().code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(read.Acquire(absl::Seconds(10)).ok());
  REQUIRE(read.Acquire(absl::Seconds(10)).ok());
  const std::string node = read.node();
  CHECK(node.find("read-") != std::string::npos);
  // It would wait for itself: refused, and nothing queued.
  CHECK(write.Acquire(absl::Seconds(5)).code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(Queued(*c, "/rw/re") == 1);
  CHECK(!write.IsHeldByThisThread());
  REQUIRE(read.Release().ok());
  CHECK(read.IsHeld());
  CHECK(read.node() == node);
  REQUIRE(read.Release().ok());
  CHECK(!read.IsHeld());

  // Another thread of the same object may take the write lock while this
  // one reads: it waits for the read to end.
  REQUIRE(read.Acquire(absl::Seconds(10)).ok());
  std::atomic<bool> wrote{false};
  absl::Status other;
  Threads threads;
  threads.Run([&] {
    other = write.Acquire(absl::Seconds(30));
    wrote = true;
    if (other.ok()) other = write.Release();
  });
  REQUIRE(AwaitQueued(*c, "/rw/re", 2));
  absl::SleepFor(absl::Milliseconds(200));
  CHECK(!wrote);
  REQUIRE(read.Release().ok());
  threads.JoinAll();
  CHECK(other.ok());

  REQUIRE(write.Acquire(absl::Seconds(10)).ok());
  REQUIRE(write.Acquire(absl::Seconds(10)).ok());
  CHECK(write.node().find("write-") != std::string::npos);
  REQUIRE(write.Release().ok());
  CHECK(write.IsHeld());
  REQUIRE(write.Release().ok());
  CHECK(!write.IsHeld());

  // A plain Lock over the path is a writer to the readers.
  Lock plain(*c, "/rw/re");
  REQUIRE(plain.Acquire(absl::Seconds(10)).ok());
  CHECK(read.Acquire(absl::Milliseconds(200)).code() ==
        absl::StatusCode::kDeadlineExceeded);
  CHECK(Queued(*c, "/rw/re") == 1);  // the timed-out read left nothing
  REQUIRE(plain.Release().ok());
  REQUIRE(read.Acquire(absl::Seconds(10)).ok());
  REQUIRE(read.Release().ok());
}

}  // namespace
}  // namespace synod
