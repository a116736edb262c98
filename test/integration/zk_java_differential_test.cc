// Differential test against a real ZooKeeper 3.8 through its Java client:
// the calls of ZooKeeper 3.6+ that the C client lacks (persistent and
// persistent-recursive watches, getEphemerals, getAllChildrenNumber,
// multiRead, whoAmI), mixed with creates in every mode, deletes, sets,
// one-shot watches, watch removal (one watcher's or all; the removal
// events the Java client tells, unlike the C client) and session restarts
// (zk_java_ops.h). A small Java program (java/ZkJavaDriver.java, compiled
// by the build) runs the seeded ops on Debian's ZooKeeper server; the test
// runs the same ops on a synod Coordinator and compares, op by op, every
// field the program wrote: the error, a create's name, data, children,
// Stats (zxids through a one-to-one mapping), the ephemerals, the counts,
// the identities, each multiRead result, and the watch events by watcher,
// type and path.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "integration/event_sink.h"
#include "integration/zk_java_ops.h"
#include "integration/zk_server.h"
#include "integration/zxid_map.h"
#include "synod/synod.h"
#include "test_util.h"

namespace synod::testing {
namespace {

// One op's outcome: the driver's fields by key.
using Fields = std::map<std::string, std::string>;

// The fields of one line of the driver's output.
Fields ParseFields(const std::string& line) {
  Fields fields;
  for (absl::string_view part : absl::StrSplit(line, '\t')) {
    const size_t eq = part.find('=');
    fields[std::string(part.substr(0, eq))] =
        eq == absl::string_view::npos ? "" : std::string(part.substr(eq + 1));
  }
  return fields;
}

// The forms the driver writes.
std::string CodeName(Error error) {
  return absl::AsciiStrToUpper(std::string(ErrorName(error)));
}
std::string StatText(const synod::Stat& s) {
  return absl::StrJoin(
      std::vector<int64_t>{s.czxid, s.mzxid, s.pzxid, s.version, s.cversion,
                           s.aversion, s.data_length, s.num_children,
                           s.ephemeral_owner != 0 ? 1 : 0},
      ",");
}
std::string HexText(std::string_view data) {
  std::string out;
  for (unsigned char c : data) {
    static const char kDigits[] = "0123456789abcdef";
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}
std::string Sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return absl::StrJoin(names, ",");
}

// The Java client's name of a watch event (its EventType).
const char* JavaEventName(EventType type) {
  switch (type) {
    case EventType::kDataWatchRemoved: return "DataWatchRemoved";
    case EventType::kChildWatchRemoved: return "ChildWatchRemoved";
    case EventType::kPersistentWatchRemoved: return "PersistentWatchRemoved";
    default: return EventTypeName(type);
  }
}

WatcherType SynodWatcherType(int java_type) {
  if (java_type == 1) return WatcherType::kChildren;
  if (java_type == 2) return WatcherType::kData;
  return WatcherType::kAny;
}

constexpr int64_t kTtlMs = 3600 * 1000;
constexpr char kCredentials[] = "alice:pw";

// The synod side: a Coordinator (started again by a restart), its
// watchers and what they were told.
class SynodSide {
 public:
  explicit SynodSide(Options options) : options_(std::move(options)) {}

  // Starts (or starts again) the Coordinator; false if it did not connect.
  bool Start() {
    c_.reset();
    absl::StatusOr<std::unique_ptr<Coordinator>> started =
        Coordinator::Start(options_);
    if (!started.ok()) return false;
    c_ = std::move(*started);
    return c_->WaitConnected(absl::Seconds(30)).ok() &&
           c_->AddAuth("digest", kCredentials).ok();
  }

  // Runs `op`; returns its fields as the driver writes them.
  Fields Run(const JavaOp& op) {
    Fields f;
    f["err"] = CodeName(Call(op, &f));
    if (f["err"] != "OK") {
      const std::string err = f["err"];
      f = {{"err", err}};
    }
    DrainDispatcher(*c_);
    std::vector<std::string> told = told_->Take();
    if (!told.empty()) {
      std::sort(told.begin(), told.end());
      f["events"] = absl::StrJoin(told, " ");
    }
    return f;
  }

 private:
  // Watcher `tag` (made on first use, kept across restarts as the driver
  // keeps its Watcher objects).
  const WatchHandle& HandleOf(int tag) {
    auto it = handles_.find(tag);
    if (it != handles_.end()) return it->second;
    return handles_
        .emplace(tag, WatchHandle([told = told_, tag](const WatchEvent& e) {
                   if (e.type == EventType::kSession) return;
                   told->Add(absl::StrCat("w", tag, ":", JavaEventName(e.type),
                                          ":", e.path));
                 }))
        .first->second;
  }

  Error Call(const JavaOp& op, Fields* f);
  Error MultiRead(const JavaOp& op, Fields* f);

  const Options options_;
  std::unique_ptr<Coordinator> c_;
  // What the watchers were told. Shared with them: a Coordinator may
  // still tell them after a restart dropped it.
  const std::shared_ptr<EventSink> told_ = std::make_shared<EventSink>();
  std::map<int, WatchHandle> handles_;
};

Error SynodSide::Call(const JavaOp& op, Fields* f) {
  Coordinator& c = *c_;
  switch (op.kind) {
    case JavaOp::kCreate: {
      CreateOptions options;
      if (op.mode == 5 || op.mode == 6) options.ttl_ms = kTtlMs;
      absl::StatusOr<OpResult> r = c.CreateWithStat(
          op.path, op.data, static_cast<CreateMode>(op.mode), options);
      if (!r.ok()) return ErrorOf(r.status());
      (*f)["name"] = r->path;
      (*f)["stat"] = StatText(r->stat);
      return Error::kOk;
    }
    case JavaOp::kDelete:
      return ErrorOf(c.Delete(op.path, op.version));
    case JavaOp::kSet: {
      absl::StatusOr<synod::Stat> r = c.Set(op.path, op.data, op.version);
      if (!r.ok()) return ErrorOf(r.status());
      (*f)["stat"] = StatText(*r);
      return Error::kOk;
    }
    case JavaOp::kGetWatch: {
      absl::StatusOr<Node> r = c.Get(op.path, HandleOf(op.tag));
      if (!r.ok()) return ErrorOf(r.status());
      (*f)["data"] = HexText(r->data);
      (*f)["stat"] = StatText(r->stat);
      return Error::kOk;
    }
    case JavaOp::kExistsWatch: {
      absl::StatusOr<std::optional<synod::Stat>> r =
          c.Exists(op.path, HandleOf(op.tag));
      if (!r.ok()) return ErrorOf(r.status());
      if (r->has_value()) (*f)["stat"] = StatText(**r);
      return Error::kOk;
    }
    case JavaOp::kChildrenWatch: {
      synod::Stat stat;
      absl::StatusOr<std::vector<std::string>> r =
          c.GetChildren(op.path, Watcher(HandleOf(op.tag)), &stat);
      if (!r.ok()) return ErrorOf(r.status());
      (*f)["kids"] = Sorted(*r);
      (*f)["stat"] = StatText(stat);
      return Error::kOk;
    }
    case JavaOp::kAddWatch:
      return ErrorOf(c.AddWatch(op.path,
                                op.mode == 0 ? WatchMode::kPersistent
                                             : WatchMode::kPersistentRecursive,
                                Watcher(HandleOf(op.tag))));
    case JavaOp::kRemoveOne:
      return ErrorOf(
          c.RemoveWatch(op.path, HandleOf(op.tag), SynodWatcherType(op.type)));
    case JavaOp::kRemoveAll:
      return ErrorOf(c.RemoveWatches(op.path, SynodWatcherType(op.type)));
    case JavaOp::kEphemerals: {
      absl::StatusOr<std::vector<std::string>> r = c.GetEphemerals(op.path);
      if (!r.ok()) return ErrorOf(r.status());
      (*f)["list"] = Sorted(*r);
      return Error::kOk;
    }
    case JavaOp::kCount: {
      absl::StatusOr<int32_t> r = c.GetAllChildrenNumber(op.path);
      if (!r.ok()) return ErrorOf(r.status());
      (*f)["count"] = absl::StrCat(*r);
      return Error::kOk;
    }
    case JavaOp::kMultiRead:
      return MultiRead(op, f);
    case JavaOp::kWhoAmI: {
      std::vector<std::string> who;
      for (const ClientInfo& i : c.WhoAmI()) {
        who.push_back(absl::StrCat(i.scheme, ":", i.user));
      }
      (*f)["who"] = absl::StrJoin(who, ",");
      return Error::kOk;
    }
    case JavaOp::kRestart:
      return Start() ? Error::kOk : Error::kConnectionLoss;
  }
  return Error::kUnimplemented;
}

Error SynodSide::MultiRead(const JavaOp& op, Fields* f) {
  std::vector<ReadOp> reads;
  for (const auto& [children, path] : op.reads) {
    reads.push_back(children ? ReadOp::GetChildren(path)
                             : ReadOp::GetData(path));
  }
  absl::StatusOr<std::vector<ReadResult>> r = c_->MultiRead(reads);
  if (!r.ok()) return ErrorOf(r.status());
  for (size_t i = 0; i < r->size(); ++i) {
    const ReadResult& result = (*r)[i];
    const std::string p = absl::StrCat("r", i, ".");
    (*f)[p + "err"] = CodeName(result.error);
    if (result.error != Error::kOk) continue;
    if (op.reads[i].first) {
      (*f)[p + "kids"] = Sorted(result.children);
    } else {
      (*f)[p + "data"] = HexText(result.data);
      (*f)[p + "stat"] = StatText(result.stat);
    }
  }
  return Error::kOk;
}

// "" if `theirs` and `ours` agree; else what differs. Stats agree when
// all but their zxids are equal and the zxids pair one-to-one.
std::string CompareFields(const Fields& theirs, const Fields& ours,
                          ZxidMap* zxids) {
  std::vector<std::string> diffs;
  std::map<std::string, std::pair<std::string, std::string>> all;
  for (const auto& [key, value] : theirs) all[key].first = value;
  for (const auto& [key, value] : ours) all[key].second = value;
  for (const auto& [key, values] : all) {
    const auto& [a, b] = values;
    bool same = theirs.count(key) == ours.count(key) && a == b;
    if (!same && theirs.count(key) > 0 && ours.count(key) > 0 &&
        absl::EndsWith(key, "stat")) {
      const std::vector<std::string> x = absl::StrSplit(a, ',');
      const std::vector<std::string> y = absl::StrSplit(b, ',');
      int64_t zx[3], zy[3];
      same = x.size() == 9 && y.size() == 9 &&
             std::equal(x.begin() + 3, x.end(), y.begin() + 3);
      for (int i = 0; same && i < 3; ++i) {
        same = absl::SimpleAtoi(x[i], &zx[i]) &&
               absl::SimpleAtoi(y[i], &zy[i]) && zxids->Match(zx[i], zy[i]);
      }
    }
    if (!same) {
      diffs.push_back(absl::StrCat(key, ": ",
                                   theirs.count(key) ? a : "(none)", " vs ",
                                   ours.count(key) ? b : "(none)"));
    }
  }
  return absl::StrJoin(diffs, "; ");
}

std::string Describe(const JavaOp& op) {
  std::string line = OpLine(op);
  std::replace(line.begin(), line.end(), '\t', ' ');
  return line;
}

TEST_CASE("Java differential: synod gives ZooKeeper 3.8's outcomes and "
          "watch events for persistent watches and the 3.6+ calls",
          "[integration][differential]") {
  ZkServer zookeeper;
  REQUIRE(zookeeper.Start());

  // The ops of every seed, each seed under its own root.
  constexpr int kSeeds = 6;
  constexpr int kOps = 1500;
  std::vector<JavaOp> ops;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    const std::string root = absl::StrCat("/j", seed);
    JavaOp make_root;
    make_root.kind = JavaOp::kCreate;
    make_root.path = root;
    ops.push_back(make_root);
    JavaOpSource source(seed, root);
    for (int i = 0; i < kOps; ++i) ops.push_back(source.Next());
  }
  TempDir dir;
  const std::string ops_file = dir.Sub("ops.txt");
  const std::string out_file = dir.Sub("out.txt");
  {
    std::ofstream out(ops_file);
    for (const JavaOp& op : ops) out << OpLine(op) << "\n";
  }
  const ShellResult driver = zookeeper.JavaClient(
      SYNOD_JAVA_DRIVER_DIR,
      absl::StrCat("ZkJavaDriver ", zookeeper.address(), " ", kCredentials,
                   " ", ops_file, " ", out_file));
  INFO(driver.out);
  REQUIRE(driver.exit_code == 0);
  std::vector<std::string> lines;
  {
    std::ifstream in(out_file);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  REQUIRE(lines.size() == ops.size());

  Options options;
  options.data_dir = dir.Sub("synod");
  // Container and TTL cleanup put off, as on the ZooKeeper server.
  options.cleanup_interval = absl::Hours(1);
  SynodSide ours(options);
  REQUIRE(ours.Start());

  ZxidMap zxids;
  std::vector<std::string> mismatches;
  std::map<int, int> succeeded;  // by kind: the runs must do real work
  int events = 0;
  for (size_t i = 0; i < ops.size() && mismatches.size() < 20; ++i) {
    const Fields theirs = ParseFields(lines[i]);
    const Fields mine = ours.Run(ops[i]);
    const std::string diff = CompareFields(theirs, mine, &zxids);
    // SYNOD_JAVA_DIFF_TRACE=<tag> prints every op of watcher <tag> or
    // telling it, =<path> every op on that path, with both outcomes (to
    // debug a mismatch).
    if (const char* trace = std::getenv("SYNOD_JAVA_DIFF_TRACE")) {
      const std::string w = absl::StrCat("w", trace, ":");
      if (absl::StrCat(ops[i].tag) == trace || ops[i].path == trace ||
          ops[i].kind == JavaOp::kRestart ||
          lines[i].find(w) != std::string::npos ||
          (mine.count("events") && mine.at("events").find(w) != std::string::npos)) {
        std::fprintf(stderr, "op %d %s\n  zk:    %s\n  synod: %s\n",
                     static_cast<int>(i), Describe(ops[i]).c_str(),
                     lines[i].c_str(),
                     absl::StrJoin(mine, "\t", absl::PairFormatter("=")).c_str());
      }
    }
    if (!diff.empty()) {
      mismatches.push_back(
          absl::StrCat("op ", i, " ", Describe(ops[i]), ": ", diff));
    }
    if (theirs.count("err") && theirs.at("err") == "OK") {
      ++succeeded[ops[i].kind];
    }
    if (theirs.count("events")) {
      events += static_cast<int>(
          std::count(theirs.at("events").begin(), theirs.at("events").end(),
                     ' ') + 1);
    }
  }
  INFO(absl::StrJoin(mismatches, "\n"));
  CHECK(mismatches.empty());
  WARN("compared " << ops.size() << " ops; " << events << " watch events");
  CHECK(events >= kSeeds * 100);
  for (int kind = 0; kind < JavaOp::kKinds; ++kind) {
    INFO("op kind " << KindName(static_cast<JavaOp::Kind>(kind))
                    << " succeeded " << succeeded[kind] << " times");
    CHECK(succeeded[kind] >= kSeeds * 3);
  }
}

}  // namespace
}  // namespace synod::testing
