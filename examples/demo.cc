// synod demo: a configuration watch and an ephemeral membership list on a
// one-peer ensemble (synod's embedded default).
//
//   synod_demo DATA_DIR
//
// 1. Publishes /config/app and watches it: every change is printed by the
//    watcher, which re-arms itself (watches are one-shot, as in ZooKeeper).
// 2. Three workers join /members as ephemeral sequential nodes; a child watch
//    prints the membership each time it changes.
// 3. The Coordinator restarts on the same data directory: the configuration
//    is still there, the members (ephemerals of the old session) are gone.

#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "synod/synod.h"

namespace {

void Check(const absl::Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s (%s)\n", what, status.ToString().c_str(),
                 std::string(synod::ErrorName(synod::ErrorOf(status))).c_str());
    std::exit(1);
  }
}

// Watches /config/app and prints each new value; re-arms on every event.
void WatchConfig(synod::Coordinator* c) {
  auto node = c->Get("/config/app", [c](const synod::WatchEvent& e) {
    if (e.type == synod::EventType::kDataChanged) WatchConfig(c);
  });
  if (node.ok()) {
    std::printf("  config is now \"%s\" (version %d)\n", node->data.c_str(),
                node->stat.version);
  }
}

// Watches /members and prints the membership; re-arms on every change.
void WatchMembers(synod::Coordinator* c) {
  auto kids = c->GetChildren("/members", [c](const synod::WatchEvent& e) {
    if (e.type == synod::EventType::kChildrenChanged) WatchMembers(c);
  });
  if (kids.ok()) {
    std::printf("  members: [%s]\n", absl::StrJoin(*kids, ", ").c_str());
  }
}

// Waits until everything the dispatcher has queued so far has run, so the
// demo's output follows the order of its steps.
void Settle(synod::Coordinator* c) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  c->SyncAsync("/", [&](absl::Status) {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&done] { return done; });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: synod_demo DATA_DIR\n");
    return 2;
  }
  synod::Options options;
  options.data_dir = argv[1];

  {
    auto started = synod::Coordinator::Start(options);
    Check(started.status(), "start");
    synod::Coordinator* c = started->get();
    synod::Health h = c->GetHealth();
    std::printf("synod: one-peer ensemble up (role %s, epoch %lld, session 0x%llx)\n",
                h.role.c_str(), static_cast<long long>(h.epoch),
                static_cast<unsigned long long>(c->session_id()));

    std::printf("\n1. configuration watch\n");
    Check(c->Create("/config", "").status(), "create /config");
    Check(c->Create("/config/app", "timeout=5s").status(), "create /config/app");
    WatchConfig(c);
    Check(c->Set("/config/app", "timeout=10s").status(), "set");
    Settle(c);
    Check(c->Set("/config/app", "timeout=30s").status(), "set");
    Settle(c);
    auto stale = c->Set("/config/app", "lost update", /*version=*/0);
    std::printf("  a stale conditional update fails: %s\n",
                std::string(synod::ErrorName(synod::ErrorOf(stale.status()))).c_str());

    std::printf("\n2. ephemeral membership\n");
    Check(c->Create("/members", "", synod::CreateMode::kContainer).status(),
          "create /members");
    WatchMembers(c);
    std::vector<std::string> members;
    for (const char* worker : {"worker-a", "worker-b", "worker-c"}) {
      auto path = c->Create("/members/m-", worker,
                            synod::CreateMode::kEphemeralSequential);
      Check(path.status(), "join");
      members.push_back(*path);
      Settle(c);
    }
    std::printf("  %s leaves\n", members[1].c_str());
    Check(c->Delete(members[1]), "leave");
    Settle(c);
    std::printf("\n3. restart on the same data directory\n");
  }

  auto restarted = synod::Coordinator::Start(options);
  Check(restarted.status(), "restart");
  synod::Coordinator* c = restarted->get();
  auto config = c->Get("/config/app");
  Check(config.status(), "get after restart");
  std::printf("  config survived: \"%s\" (version %d)\n", config->data.c_str(),
              config->stat.version);
  auto members = c->Exists("/members");
  Check(members.status(), "exists");
  std::printf("  the old session's members are gone%s\n",
              members->has_value() ? "" : " (and the emptied container with them)");
  std::printf("\nsynod demo: done\n");
  return 0;
}
