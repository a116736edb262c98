// The embedded synod backend: see synod_backend.h.

#include "synod_backend.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "synod/synod.h"

namespace synod::bench {
namespace {

// synod's errors as the driver expects them (load.h).
absl::Status Map(const absl::Status& s) {
  if (s.ok()) return s;
  switch (ErrorOf(s)) {
    case Error::kNodeExists:
      return absl::AlreadyExistsError(std::string(s.message()));
    case Error::kNoNode:
      return absl::NotFoundError(std::string(s.message()));
    default:
      return s;
  }
}

class EmbeddedSession final : public Session {
 public:
  explicit EmbeddedSession(Coordinator* c) : c_(c) {}

  void Create(const std::string& path, std::string_view data,
              Completion* done) override {
    c_->CreateAsync(path, data, CreateMode::kPersistent, CreateOptions(),
                    [done](absl::StatusOr<std::string> r) {
                      done->Done(Map(r.status()));
                    });
  }
  void CreateSequential(const std::string& prefix, std::string_view data,
                        Completion* done) override {
    c_->CreateAsync(prefix, data, CreateMode::kPersistentSequential,
                    CreateOptions(), [done](absl::StatusOr<std::string> r) {
                      done->Done(Map(r.status()));
                    });
  }
  void Set(const std::string& path, std::string_view data,
           Completion* done) override {
    c_->SetAsync(path, data, -1, [done](absl::StatusOr<Stat> r) {
      done->Done(Map(r.status()));
    });
  }
  void Get(const std::string& path, size_t expected_bytes,
           Completion* done) override {
    absl::StatusOr<Node> node = c_->Get(path);
    if (!node.ok()) {
      done->Done(Map(node.status()));
    } else if (node->data.size() != expected_bytes) {
      done->Done(absl::DataLossError(absl::StrCat(
          path, ": ", node->data.size(), " bytes, expected ", expected_bytes)));
    } else {
      done->Done(absl::OkStatus());
    }
  }
  void MultiSet(const std::vector<std::string>& paths, std::string_view data,
                Completion* done) override {
    std::vector<Op> ops;
    ops.reserve(paths.size());
    for (const std::string& p : paths) {
      ops.push_back(Op::Set(p, std::string(data)));
    }
    c_->MultiAsync(std::move(ops),
                   [done](absl::StatusOr<std::vector<OpResult>> r) {
                     done->Done(Map(r.status()));
                   });
  }

 private:
  Coordinator* const c_;
};

class EmbeddedBackend final : public Backend {
 public:
  explicit EmbeddedBackend(std::unique_ptr<Coordinator> c)
      : coordinator_(std::move(c)) {}

  absl::StatusOr<Session*> OpenSession() override {
    sessions_.push_back(std::make_unique<EmbeddedSession>(coordinator_.get()));
    return sessions_.back().get();
  }

 private:
  std::unique_ptr<Coordinator> coordinator_;
  std::vector<std::unique_ptr<EmbeddedSession>> sessions_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> MakeEmbeddedBackend(
    const Flags& flags) {
  Options options;
  options.data_dir = FlagOr(flags, "data-dir", "");
  options.listen = FlagOr(flags, "listen", "");
  for (absl::string_view s :
       absl::StrSplit(FlagOr(flags, "seeds", ""), ',', absl::SkipEmpty())) {
    options.seeds.emplace_back(s);
  }
  if (flags.count("session-timeout-ms")) {
    int64_t ms;
    if (!absl::SimpleAtoi(flags.at("session-timeout-ms"), &ms)) {
      return absl::InvalidArgumentError("--session-timeout-ms: not a number");
    }
    options.session_timeout = absl::Milliseconds(ms);
  }
  auto c = Coordinator::Start(options);
  if (!c.ok()) return c.status();
  if (absl::Status s = (*c)->WaitConnected(absl::Seconds(60)); !s.ok()) {
    return s;
  }
  const Health h = (*c)->GetHealth();
  std::fprintf(stderr, "synod_load: embedded peer %llu is the %s\n",
               static_cast<unsigned long long>(h.peer_id), h.role.c_str());
  return std::unique_ptr<Backend>(new EmbeddedBackend(std::move(*c)));
}

}  // namespace synod::bench
