// synod's locks: thin wrappers over pthread-based primitives (std::mutex,
// std::condition_variable, and a writer-preferring pthread rwlock), with
// Clang's thread-safety annotations and an absl-style Await.
//
// Why not absl::Mutex: Debian's libabsl is not built with ThreadSanitizer, so
// TSan cannot see absl::Mutex's synchronization and reports false races on
// everything it protects. The pthread primitives underneath these wrappers are
// intercepted by TSan, so the suite runs clean under it and real races still
// show. Everything here is header-only; ABSL_GUARDED_BY and friends (from
// absl/base/thread_annotations.h, header-only too) keep working.

#ifndef SYNOD_UTIL_MUTEX_H_
#define SYNOD_UTIL_MUTEX_H_

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <shared_mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace synod {

// An exclusive, non-recursive lock with absl::Mutex's condition waits:
// Await(ready) blocks until `ready()` holds, and every waiter's condition is
// re-checked whenever the mutex is released (by Unlock, or by another waiter
// starting to wait), so the code that makes a condition true just changes the
// guarded state under the lock; it never signals explicitly.
//
// Unlike absl::Mutex, a condition is only ever evaluated by the thread that
// waits on it (absl may evaluate it in the releasing thread), so it may read
// that thread's own unguarded state; and there is no reader mode (use
// SharedMutex).
class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  // Blocks until this thread holds the mutex exclusively.
  // REQUIRES: this thread does not hold it already.
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }

  // Releases the mutex, and wakes the threads waiting in Await so that they
  // re-check their conditions (only if there are any: an unlock with no
  // waiter costs a plain std::mutex::unlock plus a load). The wake-up is
  // issued before the release, so once Unlock has released the mutex it
  // touches nothing of it: a thread that then acquires the mutex may destroy
  // it, as with absl::Mutex.
  // REQUIRES: this thread holds the mutex.
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    if (waiters_ > 0) cv_.notify_all();
    mu_.unlock();
  }

  // Does nothing at run time; tells the thread-safety analysis that the
  // caller holds the mutex (for code it cannot follow, such as callbacks).
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

  // Returns once `ready()` is true, holding the mutex throughout except while
  // blocked. `ready` is evaluated only with the mutex held: first on entry
  // (returning at once if true, without releasing the mutex), then each time
  // another thread releases the mutex. Before blocking the first time, it
  // wakes the other waiters, since this thread may have changed their state.
  // REQUIRES: this thread holds the mutex; `ready` does not throw and does
  // not take this mutex.
  void Await(const std::function<bool()>& ready)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    if (ready()) return;
    std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
    BeginWait();
    do {
      cv_.wait(lock);
    } while (!ready());
    --waiters_;
    lock.release();  // the caller keeps holding mu_
  }

  // As Await, but gives up once `timeout` has passed (measured on the steady
  // clock; absl::InfiniteDuration() waits forever). Returns `ready()` as last
  // evaluated with the mutex held: true if the condition holds on return,
  // false if the time ran out first. Either way the mutex is held on return.
  // REQUIRES: as Await.
  bool AwaitWithTimeout(const std::function<bool()>& ready,
                        absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    if (ready()) return true;
    // Beyond a century is forever (and would overflow the clock arithmetic).
    if (timeout >= absl::Hours(24 * 365 * 100)) {
      Await(ready);
      return true;
    }
    if (timeout <= absl::ZeroDuration()) return false;
    const auto deadline = std::chrono::steady_clock::now() +
                          absl::ToChronoNanoseconds(timeout);
    std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
    BeginWait();
    bool result;
    while (true) {
      const bool timed_out =
          cv_.wait_until(lock, deadline) == std::cv_status::timeout;
      result = ready();
      if (result || timed_out) break;
    }
    --waiters_;
    lock.release();  // the caller keeps holding mu_
    return result;
  }

 private:
  // About to block in a wait, which releases mu_: counts this thread as a
  // waiter and wakes the others so they re-check (this thread may have made
  // their conditions true before waiting).
  void BeginWait() ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    if (waiters_ > 0) cv_.notify_all();
    ++waiters_;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  // Threads blocked in Await/AwaitWithTimeout; read and written with mu_
  // held.
  int waiters_ = 0;
};

// A reader/writer lock: any number of readers, or one writer. Neither mode is
// recursive, and a reader cannot upgrade.
//
// Writers are not starved: once a writer waits, new readers wait behind it
// (as with absl::Mutex). glibc's std::shared_mutex prefers readers instead:
// with a few threads reading in a loop, the loop thread's exclusive hold of
// the tree lock waited for seconds. So on glibc this is a pthread rwlock of
// kind PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP (a pthread primitive,
// which ThreadSanitizer intercepts like std::shared_mutex's); elsewhere it is
// std::shared_mutex, which libc++ already makes writer-preferring. Either
// way, a thread that takes a reader hold it already has may deadlock once a
// writer waits (as with absl::Mutex).
class ABSL_LOCKABLE SharedMutex {
 public:
#if defined(__GLIBC__)
  SharedMutex() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr,
                                  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    Check(pthread_rwlock_init(&mu_, &attr));
    pthread_rwlockattr_destroy(&attr);
  }
  ~SharedMutex() { pthread_rwlock_destroy(&mu_); }
#else
  SharedMutex() = default;
#endif
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  // Blocks until this thread holds the lock exclusively (no other writer, no
  // reader). REQUIRES: this thread holds it in neither mode.
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
#if defined(__GLIBC__)
    Check(pthread_rwlock_wrlock(&mu_));
#else
    mu_.lock();
#endif
  }
  // Releases the exclusive hold. REQUIRES: this thread holds it exclusively.
  void Unlock() ABSL_UNLOCK_FUNCTION() {
#if defined(__GLIBC__)
    pthread_rwlock_unlock(&mu_);
#else
    mu_.unlock();
#endif
  }

  // Blocks until this thread holds the lock shared (no writer holds it or
  // waits for it). REQUIRES: this thread holds it in neither mode.
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() {
#if defined(__GLIBC__)
    Check(pthread_rwlock_rdlock(&mu_));
#else
    mu_.lock_shared();
#endif
  }
  // Releases a shared hold. REQUIRES: this thread holds it shared.
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() {
#if defined(__GLIBC__)
    pthread_rwlock_unlock(&mu_);
#else
    mu_.unlock_shared();
#endif
  }

  // Do nothing at run time; tell the thread-safety analysis that the caller
  // holds the lock exclusively / at least shared.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}
  void AssertReaderHeld() const ABSL_ASSERT_SHARED_LOCK() {}

 private:
#if defined(__GLIBC__)
  // The pthread calls fail only on misuse (EDEADLK: a writer relocking) or
  // resource exhaustion; like std::shared_mutex's, that is not recoverable.
  static void Check(int rc) {
    if (rc != 0) std::abort();
  }

  pthread_rwlock_t mu_;
#else
  std::shared_mutex mu_;
#endif
};

// Holds `mu` exclusively for its own lifetime (absl::MutexLock).
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// Holds `mu` exclusively for its own lifetime (absl::WriterMutexLock).
class ABSL_SCOPED_LOCKABLE WriterLock {
 public:
  explicit WriterLock(SharedMutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu)
      : mu_(mu) {
    mu_->Lock();
  }
  ~WriterLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex* const mu_;
};

// Holds `mu` shared for its own lifetime (absl::ReaderMutexLock).
class ABSL_SCOPED_LOCKABLE ReaderLock {
 public:
  explicit ReaderLock(SharedMutex* mu) ABSL_SHARED_LOCK_FUNCTION(mu)
      : mu_(mu) {
    mu_->ReaderLock();
  }
  ~ReaderLock() ABSL_UNLOCK_FUNCTION() { mu_->ReaderUnlock(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex* const mu_;
};

}  // namespace synod

#endif  // SYNOD_UTIL_MUTEX_H_
