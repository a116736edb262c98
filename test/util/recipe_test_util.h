// What the recipe tests share: a one-peer Coordinator of their own,
// threads that are joined even when a REQUIRE ends the test early, the
// length of a recipe's queue, and a thread-safe record of what a listener
// heard (listeners run on the dispatcher; Catch's checks stay on the
// test's thread).

#ifndef SYNOD_TEST_UTIL_RECIPE_TEST_UTIL_H_
#define SYNOD_TEST_UTIL_RECIPE_TEST_UTIL_H_

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "synod/coordinator.h"
#include "test_util.h"

namespace synod::testing {

// A one-peer Coordinator in a directory of its own.
struct OnePeer {
  TempDir dir;
  std::unique_ptr<Coordinator> c = MustStart(TestOptions(dir.path()));
};

// Threads joined when the test ends, also when a failed REQUIRE ends it
// early (a joinable std::thread's destructor would end the process); every
// wait in them is bounded, so the join is too.
struct Threads {
  std::vector<std::thread> all;
  template <typename F>
  void Run(F f) {
    all.emplace_back(std::move(f));
  }
  void JoinAll() {
    for (std::thread& t : all) {
      if (t.joinable()) t.join();
    }
  }
  ~Threads() { JoinAll(); }
};

// How many children `path` has (0 if it does not exist).
inline size_t Queued(Coordinator& c, const std::string& path) {
  auto children = c.GetChildren(path);
  return children.ok() ? children->size() : 0;
}

// Waits up to 10 s until `path` has `n` children.
inline bool AwaitQueued(Coordinator& c, const std::string& path, size_t n) {
  return WaitFor([&] { return Queued(c, path) == n; }, absl::Seconds(10));
}

// The subtree at `root` as `c`'s replica holds it, by path.
inline std::map<std::string, Node> Walk(Coordinator& c,
                                        const std::string& root) {
  std::map<std::string, Node> out;
  std::vector<std::string> stack{root};
  while (!stack.empty()) {
    const std::string path = stack.back();
    stack.pop_back();
    auto node = c.Get(path);
    if (!node.ok()) continue;
    out.emplace(path, *node);
    auto children = c.GetChildren(path);
    if (!children.ok()) continue;
    for (const std::string& child : *children) {
      stack.push_back(path == "/" ? "/" + child : path + "/" + child);
    }
  }
  return out;
}

// True if `a` and `b` hold the same paths with the same data and Stats.
inline bool SameView(const std::map<std::string, Node>& a,
                     const std::map<std::string, Node>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [path, node] : a) {
    auto it = b.find(path);
    if (it == b.end() || it->second.data != node.data ||
        it->second.stat != node.stat) {
      return false;
    }
  }
  return true;
}

// What a listener was called with, in order, from any thread.
template <typename T>
class Heard {
 public:
  // A listener that records its argument.
  auto Listener() {
    return [this](const T& value) {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back(value);
    };
  }
  std::vector<T> Get() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_.size();
  }

 private:
  std::mutex mu_;
  std::vector<T> calls_;
};

}  // namespace synod::testing

#endif  // SYNOD_TEST_UTIL_RECIPE_TEST_UTIL_H_
