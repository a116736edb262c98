// Differential test against a real ZooKeeper 3.8: the same seeded random
// operations (every create mode, ACLs, versions, valid and invalid paths,
// multi, data, exists and child watches, watch removal, setAcl and getAcl;
// zk_differential_ops.h) run one at a time on Debian's ZooKeeper server
// through its C client and on a synod Coordinator, both sessions holding
// the same digest identity; every outcome is compared: the error, the name
// a create gave, the data, the children, the ACL, every Stat field but the
// times, and the watch events each op caused (by watcher, type and path). Zxids differ between the two systems, so they are compared
// through a mapping that must stay one-to-one: the same write must give
// the same zxid wherever it shows (czxid, mzxid, pzxid). At the end of
// each seed the two trees are walked and compared whole.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <array>
#include <atomic>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "integration/event_sink.h"
#include "integration/zk_differential_ops.h"
#include "integration/zk_server.h"
#include "integration/zxid_map.h"
#include "synod/synod.h"
#include "test_util.h"
#include "util/mutex.h"

namespace synod::testing {
namespace {

// The Stat fields both systems define the same way (not the times).
struct StatView {
  int64_t czxid = 0, mzxid = 0, pzxid = 0;
  int32_t version = 0, cversion = 0, aversion = 0;
  int32_t data_length = 0, num_children = 0;
  bool ephemeral = false;
};

StatView FromZk(const ::Stat& s) {
  return {s.czxid,    s.mzxid,      s.pzxid,       s.version,
          s.cversion, s.aversion,   s.dataLength,  s.numChildren,
          s.ephemeralOwner != 0};
}

StatView FromSynod(const synod::Stat& s) {
  return {s.czxid,    s.mzxid,       s.pzxid,        s.version,
          s.cversion, s.aversion,    s.data_length,  s.num_children,
          s.ephemeral_owner != 0};
}

// What one op gave, on either system.
struct Outcome {
  Error error = Error::kOk;
  std::string name;                      // a create's path
  std::optional<std::string> data;       // get
  std::optional<StatView> stat;          // create, set, get, exists, ls
  std::optional<std::vector<std::string>> children;
  std::optional<std::vector<std::string>> acl;  // getAcl: "perms:scheme:id"
  std::vector<Error> op_errors;          // multi: each op's
  std::vector<std::string> op_names;     // multi: each create's path
};

Error FromZkCode(int rc) {
  switch (rc) {
    case ZOK: return Error::kOk;
    case ZNONODE: return Error::kNoNode;
    case ZNODEEXISTS: return Error::kNodeExists;
    case ZBADVERSION: return Error::kBadVersion;
    case ZNOTEMPTY: return Error::kNotEmpty;
    case ZNOCHILDRENFOREPHEMERALS: return Error::kNoChildrenForEphemerals;
    case ZBADARGUMENTS: return Error::kBadArguments;
    case ZINVALIDACL: return Error::kInvalidAcl;
    case ZNOAUTH: return Error::kNoAuth;
    case ZRUNTIMEINCONSISTENCY: return Error::kRuntimeInconsistency;
    case ZUNIMPLEMENTED: return Error::kUnimplemented;
    case ZNOWATCHER: return Error::kNoWatcher;
    default: return Error::kSystemError;
  }
}

// TTL of the TTL modes: far longer than a run (cleanup never due).
constexpr int64_t kTtlMs = 3600 * 1000;

std::string EventText(int watcher, const char* type, const std::string& path) {
  return absl::StrCat("w", watcher, ":", type, ":", path);
}

// The digest identity both sessions add, and another user's.
constexpr char kAliceCredentials[] = "alice:pw";
const std::string& BobDigest() {
  static const std::string* const digest =
      new std::string(DigestId("bob", "pw"));
  return *digest;
}

AclList SynodAcl(AclChoice choice) {
  const int32_t all = perms::kAll;
  switch (choice) {
    case AclChoice::kOpen: return OpenAcl();
    case AclChoice::kReadOnly: return ReadOnlyAcl();
    case AclChoice::kCreatorAll: return CreatorAllAcl();
    case AclChoice::kBobAll: return {Acl{all, "digest", BobDigest()}};
    case AclChoice::kNoDelete:
      return {Acl{all & ~perms::kDelete, "world", "anyone"}};
    case AclChoice::kNoCreate:
      return {Acl{all & ~perms::kCreate, "world", "anyone"}};
    case AclChoice::kReadAdmin:
      return {Acl{perms::kRead | perms::kAdmin, "world", "anyone"}};
    case AclChoice::kInvalid: return {Acl{all, "digest", "bob"}};
  }
  return OpenAcl();
}

// ZooKeeper's form of SynodAcl(choice), kept alive for the test.
ACL_vector* ZkAcl(AclChoice choice) {
  static std::map<AclChoice, std::pair<std::vector<std::array<std::string, 2>>,
                                       std::vector<ACL>>>* const cache =
      new std::map<AclChoice, std::pair<std::vector<std::array<std::string, 2>>,
                                        std::vector<ACL>>>();
  static std::map<AclChoice, ACL_vector>* const vectors =
      new std::map<AclChoice, ACL_vector>();
  auto it = vectors->find(choice);
  if (it != vectors->end()) return &it->second;
  auto& [strings, acls] = (*cache)[choice];
  const AclList synod = SynodAcl(choice);
  strings.reserve(synod.size());
  for (const Acl& a : synod) strings.push_back({a.scheme, a.id});
  for (size_t i = 0; i < synod.size(); ++i) {
    acls.push_back(ACL{synod[i].perms, Id{strings[i][0].data(),
                                          strings[i][1].data()}});
  }
  ACL_vector& v = (*vectors)[choice];
  v.count = static_cast<int32_t>(acls.size());
  v.data = acls.data();
  return &v;
}

std::vector<std::string> AclText(const AclList& acl) {
  std::vector<std::string> out;
  for (const Acl& a : acl) {
    out.push_back(absl::StrCat(a.perms, ":", a.scheme, ":", a.id));
  }
  return out;
}

const char* ZkEventName(int type) {
  if (type == ZOO_CREATED_EVENT) return "NodeCreated";
  if (type == ZOO_DELETED_EVENT) return "NodeDeleted";
  if (type == ZOO_CHANGED_EVENT) return "NodeDataChanged";
  if (type == ZOO_CHILD_EVENT) return "NodeChildrenChanged";
  if (type == ZOO_NOTWATCHING_EVENT) return "NotWatching";
  return "Unknown";
}

// synod's name of a watch event; the three removal events are ZooKeeper's
// C client's one NotWatching.
const char* SynodEventName(EventType type) {
  switch (type) {
    case EventType::kDataWatchRemoved:
    case EventType::kChildWatchRemoved:
    case EventType::kPersistentWatchRemoved:
      return "NotWatching";
    default:
      return EventTypeName(type);
  }
}

WatcherType SynodWatcherType(int zk_type) {
  if (zk_type == ZWATCHTYPE_CHILD) return WatcherType::kChildren;
  if (zk_type == ZWATCHTYPE_DATA) return WatcherType::kData;
  return WatcherType::kAny;
}

// The ZooKeeper side: a C client session, its watchers and their events.
class ZkSide {
 public:
  explicit ZkSide(zhandle_t* zh) : zh_(zh) {}

  Outcome Run(const RandomOp& op);
  EventSink& events() { return events_; }
  // A new seed: watcher tags start again at 0 (the old watchers stay).
  void NewSeed() { tags_.clear(); }
  // Returns once the client told its watchers every event it received so
  // far. The C client completes a synchronous call on its I/O thread but
  // tells watchers on its completion thread, so an op's events (which
  // precede its reply) may be told after the op returns; an asynchronous
  // call's completion is told on that thread in arrival order, behind
  // them. False if none came within 10 s.
  bool Settle() { return SettleBegin() && SettleWait(); }
  // Settle in two halves, to settle two clients at once.
  bool SettleBegin() {
    auto* settled = new std::promise<void>();
    settled_ = settled->get_future();
    if (zoo_aexists(zh_, "/", 0, &ZkSide::OnSettled, settled) != ZOK) {
      delete settled;
      return false;
    }
    return true;
  }
  bool SettleWait() {
    return settled_.wait_for(std::chrono::seconds(10)) ==
           std::future_status::ready;
  }

 private:
  static void OnSettled(int, const ::Stat*, const void* data) {
    auto* settled = static_cast<std::promise<void>*>(const_cast<void*>(data));
    settled->set_value();
    delete settled;
  }
  struct Context {
    ZkSide* side;
    int tag;
  };
  static void OnEvent(zhandle_t*, int type, int /*state*/, const char* path,
                      void* context) {
    if (type == ZOO_SESSION_EVENT) return;
    auto* c = static_cast<Context*>(context);
    c->side->events_.Add(EventText(c->tag, ZkEventName(type), path));
  }
  // The context of watcher `tag` (made on first use).
  Context* ContextOf(int tag) {
    auto it = tags_.find(tag);
    if (it != tags_.end()) return it->second;
    contexts_.push_back(Context{this, tag});
    return tags_[tag] = &contexts_.back();
  }

  zhandle_t* const zh_;
  std::future<void> settled_;
  EventSink events_;
  std::deque<Context> contexts_;  // never shrinks: the client holds them
  std::map<int, Context*> tags_;
};

Outcome ZkSide::Run(const RandomOp& op) {
  zhandle_t* const zh = zh_;
  Outcome o;
  ::Stat stat{};
  switch (op.kind) {
    case RandomOp::kCreate: {
      char name[1024];
      const bool ttl = op.mode == 5 || op.mode == 6;
      const int rc = zoo_create2_ttl(zh, op.path.c_str(), op.data.data(),
                                     static_cast<int>(op.data.size()),
                                     ZkAcl(op.acl), op.mode,
                                     ttl ? kTtlMs : -1, name, sizeof(name),
                                     &stat);
      o.error = FromZkCode(rc);
      if (rc == ZOK) {
        o.name = name;
        o.stat = FromZk(stat);
      }
      return o;
    }
    case RandomOp::kDelete:
      o.error = FromZkCode(zoo_delete(zh, op.path.c_str(), op.version));
      return o;
    case RandomOp::kSet: {
      const int rc = zoo_set2(zh, op.path.c_str(), op.data.data(),
                              static_cast<int>(op.data.size()), op.version,
                              &stat);
      o.error = FromZkCode(rc);
      if (rc == ZOK) o.stat = FromZk(stat);
      return o;
    }
    case RandomOp::kGet:
    case RandomOp::kGetWatch: {
      std::string buffer(4096, '\0');
      int length = static_cast<int>(buffer.size());
      const int rc =
          op.kind == RandomOp::kGetWatch
              ? zoo_wget(zh, op.path.c_str(), &ZkSide::OnEvent,
                         ContextOf(op.tag), buffer.data(), &length, &stat)
              : zoo_get(zh, op.path.c_str(), 0, buffer.data(), &length, &stat);
      o.error = FromZkCode(rc);
      if (rc == ZOK) {
        o.data = buffer.substr(0, length < 0 ? 0 : static_cast<size_t>(length));
        o.stat = FromZk(stat);
      }
      return o;
    }
    case RandomOp::kExists:
    case RandomOp::kExistsWatch: {
      const int rc = op.kind == RandomOp::kExistsWatch
                         ? zoo_wexists(zh, op.path.c_str(), &ZkSide::OnEvent,
                                       ContextOf(op.tag), &stat)
                         : zoo_exists(zh, op.path.c_str(), 0, &stat);
      // A missing node is an outcome of exists, not an error.
      if (rc == ZOK) o.stat = FromZk(stat);
      o.error = rc == ZNONODE ? Error::kOk : FromZkCode(rc);
      return o;
    }
    case RandomOp::kChildren:
    case RandomOp::kChildrenWatch: {
      String_vector names{};
      const int rc =
          op.kind == RandomOp::kChildrenWatch
              ? zoo_wget_children2(zh, op.path.c_str(), &ZkSide::OnEvent,
                                   ContextOf(op.tag), &names, &stat)
              : zoo_get_children2(zh, op.path.c_str(), 0, &names, &stat);
      o.error = FromZkCode(rc);
      if (rc == ZOK) {
        std::vector<std::string> children(names.data,
                                          names.data + names.count);
        std::sort(children.begin(), children.end());
        o.children = std::move(children);
        o.stat = FromZk(stat);
        deallocate_String_vector(&names);
      }
      return o;
    }
    case RandomOp::kMulti: {
      const size_t n = op.ops.size();
      std::vector<zoo_op_t> ops(n);
      std::vector<zoo_op_result_t> results(n);
      std::vector<std::array<char, 1024>> names(n);
      std::vector<::Stat> stats(n);
      for (size_t i = 0; i < n; ++i) {
        const RandomOp& x = op.ops[i];
        if (x.kind == RandomOp::kCreate) {
          zoo_create_op_init(&ops[i], x.path.c_str(), x.data.data(),
                             static_cast<int>(x.data.size()),
                             &ZOO_OPEN_ACL_UNSAFE, x.mode, names[i].data(),
                             static_cast<int>(names[i].size()));
          if (x.mode == 5 || x.mode == 6) ops[i].create_op.ttl = kTtlMs;
        } else if (x.kind == RandomOp::kDelete) {
          zoo_delete_op_init(&ops[i], x.path.c_str(), x.version);
        } else if (x.check) {
          zoo_check_op_init(&ops[i], x.path.c_str(), x.version);
        } else {
          zoo_set_op_init(&ops[i], x.path.c_str(), x.data.data(),
                          static_cast<int>(x.data.size()), x.version,
                          &stats[i]);
        }
      }
      const int rc = zoo_multi(zh, static_cast<int>(n), ops.data(),
                               results.data());
      o.error = FromZkCode(rc);
      for (size_t i = 0; i < n; ++i) {
        o.op_errors.push_back(FromZkCode(results[i].err));
        const bool created =
            op.ops[i].kind == RandomOp::kCreate && results[i].err == ZOK;
        o.op_names.push_back(created ? names[i].data() : "");
      }
      return o;
    }
    case RandomOp::kRemoveAll:
      o.error = FromZkCode(zoo_remove_all_watches(
          zh, op.path.c_str(), static_cast<ZooWatcherType>(op.watch_type),
          /*local=*/0));
      return o;
    case RandomOp::kRemoveOne:
      o.error = FromZkCode(zoo_remove_watches(
          zh, op.path.c_str(), static_cast<ZooWatcherType>(op.watch_type),
          &ZkSide::OnEvent, ContextOf(op.tag), /*local=*/0));
      return o;
    case RandomOp::kSetAcl:
      o.error = FromZkCode(
          zoo_set_acl(zh, op.path.c_str(), op.version, ZkAcl(op.acl)));
      return o;
    case RandomOp::kGetAcl: {
      ACL_vector acl{};
      const int rc = zoo_get_acl(zh, op.path.c_str(), &acl, &stat);
      o.error = FromZkCode(rc);
      if (rc == ZOK) {
        std::vector<std::string> text;
        for (int i = 0; i < acl.count; ++i) {
          text.push_back(absl::StrCat(acl.data[i].perms, ":",
                                      acl.data[i].id.scheme, ":",
                                      acl.data[i].id.id));
        }
        o.acl = std::move(text);
        o.stat = FromZk(stat);
        deallocate_ACL_vector(&acl);
      }
      return o;
    }
  }
  return o;
}

// The synod side: a Coordinator, its watchers and their events.
//
// Removal events are not compared: ZooKeeper's Java client tells each
// removed watcher (DataWatchRemoved, ChildWatchRemoved), as synod does
// (checked in the unit tests), but the 3.8 C client tells nothing. What
// the removals did shows in the events that follow: a removed watcher is
// never told again.
class SynodSide {
 public:
  explicit SynodSide(Coordinator& c) : c_(c) {}

  Outcome Run(const RandomOp& op);
  EventSink& events() { return told_->events; }
  // Removal events told (dispatcher thread; read once drained).
  int removals_told() const { return told_->removals.load(); }
  void NewSeed() { handles_.clear(); }

 private:
  // What the watchers were told. Shared with them: the Coordinator may
  // still tell them (its shutdown deletes ephemerals) after this is gone.
  struct Told {
    EventSink events;
    std::atomic<int> removals{0};
  };

  // The watcher of `tag` (made on first use).
  const WatchHandle& HandleOf(int tag) {
    auto it = handles_.find(tag);
    if (it != handles_.end()) return it->second;
    return handles_
        .emplace(tag, WatchHandle([told = told_, tag](const WatchEvent& e) {
                   const char* name = SynodEventName(e.type);
                   if (std::string_view(name) == "NotWatching") {
                     ++told->removals;
                     return;
                   }
                   told->events.Add(EventText(tag, name, e.path));
                 }))
        .first->second;
  }

  Coordinator& c_;
  const std::shared_ptr<Told> told_ = std::make_shared<Told>();
  std::map<int, WatchHandle> handles_;
};

Outcome SynodSide::Run(const RandomOp& op) {
  Coordinator& c = c_;
  Outcome o;
  switch (op.kind) {
    case RandomOp::kCreate: {
      CreateOptions options;
      if (op.mode == 5 || op.mode == 6) options.ttl_ms = kTtlMs;
      options.acl = SynodAcl(op.acl);
      absl::StatusOr<OpResult> r = c.CreateWithStat(
          op.path, op.data, static_cast<CreateMode>(op.mode), options);
      o.error = ErrorOf(r.status());
      if (r.ok()) {
        o.name = r->path;
        o.stat = FromSynod(r->stat);
      }
      return o;
    }
    case RandomOp::kDelete:
      o.error = ErrorOf(c.Delete(op.path, op.version));
      return o;
    case RandomOp::kSet: {
      absl::StatusOr<synod::Stat> r = c.Set(op.path, op.data, op.version);
      o.error = ErrorOf(r.status());
      if (r.ok()) o.stat = FromSynod(*r);
      return o;
    }
    case RandomOp::kGet:
    case RandomOp::kGetWatch: {
      absl::StatusOr<Node> r =
          op.kind == RandomOp::kGetWatch ? c.Get(op.path, HandleOf(op.tag))
                                         : c.Get(op.path);
      o.error = ErrorOf(r.status());
      if (r.ok()) {
        o.data = r->data;
        o.stat = FromSynod(r->stat);
      }
      return o;
    }
    case RandomOp::kExists:
    case RandomOp::kExistsWatch: {
      absl::StatusOr<std::optional<synod::Stat>> r =
          op.kind == RandomOp::kExistsWatch
              ? c.Exists(op.path, HandleOf(op.tag))
              : c.Exists(op.path);
      o.error = ErrorOf(r.status());
      if (r.ok() && r->has_value()) o.stat = FromSynod(**r);
      return o;
    }
    case RandomOp::kChildren:
    case RandomOp::kChildrenWatch: {
      synod::Stat stat;
      absl::StatusOr<std::vector<std::string>> r = c.GetChildren(
          op.path,
          op.kind == RandomOp::kChildrenWatch ? Watcher(HandleOf(op.tag))
                                              : Watcher(),
          &stat);
      o.error = ErrorOf(r.status());
      if (r.ok()) {
        o.children = *r;
        o.stat = FromSynod(stat);
      }
      return o;
    }
    case RandomOp::kMulti: {
      std::vector<Op> ops;
      for (const RandomOp& x : op.ops) {
        if (x.kind == RandomOp::kCreate) {
          ops.push_back(Op::Create(x.path, x.data,
                                   static_cast<CreateMode>(x.mode), {},
                                   x.mode == 5 || x.mode == 6 ? kTtlMs : 0));
        } else if (x.kind == RandomOp::kDelete) {
          ops.push_back(Op::Delete(x.path, x.version));
        } else if (x.check) {
          ops.push_back(Op::Check(x.path, x.version));
        } else {
          ops.push_back(Op::Set(x.path, x.data, x.version));
        }
      }
      absl::StatusOr<std::vector<OpResult>> r = c.Multi(std::move(ops));
      o.error = ErrorOf(r.status());
      const int failed = FailedOpIndex(r.status());
      for (size_t i = 0; i < op.ops.size(); ++i) {
        const int at = static_cast<int>(i);
        o.op_errors.push_back(r.ok() || at < failed ? Error::kOk
                              : at == failed       ? o.error
                                              : Error::kRuntimeInconsistency);
        const bool created = r.ok() && op.ops[i].kind == RandomOp::kCreate;
        o.op_names.push_back(created ? (*r)[i].path : "");
      }
      return o;
    }
    case RandomOp::kRemoveAll:
      o.error = ErrorOf(
          c.RemoveWatches(op.path, SynodWatcherType(op.watch_type)));
      return o;
    case RandomOp::kRemoveOne:
      o.error = ErrorOf(c.RemoveWatch(op.path, HandleOf(op.tag),
                                      SynodWatcherType(op.watch_type)));
      return o;
    case RandomOp::kSetAcl:
      o.error = ErrorOf(c.SetAcl(op.path, SynodAcl(op.acl), op.version).status());
      return o;
    case RandomOp::kGetAcl: {
      synod::Stat stat;
      absl::StatusOr<AclList> r = c.GetAcl(op.path, &stat);
      o.error = ErrorOf(r.status());
      if (r.ok()) {
        o.acl = AclText(*r);
        o.stat = FromSynod(stat);
      }
      return o;
    }
  }
  return o;
}

std::string Show(const StatView& s) {
  return absl::StrCat("{czxid ", s.czxid, " mzxid ", s.mzxid, " pzxid ",
                      s.pzxid, " v", s.version, " cv", s.cversion, " av",
                      s.aversion, " len ", s.data_length, " kids ",
                      s.num_children, s.ephemeral ? " ephemeral" : "", "}");
}

// "" if `zk` and `ours` agree; else what differs.
std::string Compare(const Outcome& zk, const Outcome& ours, ZxidMap* zxids) {
  if (zk.error != ours.error) {
    return absl::StrCat("error ", std::string(ErrorName(zk.error)), " vs ",
                        std::string(ErrorName(ours.error)));
  }
  if (zk.op_errors != ours.op_errors) {
    std::vector<std::string> a, b;
    for (Error e : zk.op_errors) a.emplace_back(ErrorName(e));
    for (Error e : ours.op_errors) b.emplace_back(ErrorName(e));
    return absl::StrCat("op errors ", absl::StrJoin(a, ","), " vs ",
                        absl::StrJoin(b, ","));
  }
  if (zk.name != ours.name || zk.op_names != ours.op_names) {
    return absl::StrCat("names ", zk.name, absl::StrJoin(zk.op_names, ","),
                        " vs ", ours.name, absl::StrJoin(ours.op_names, ","));
  }
  if (zk.data != ours.data) return "data";
  if (zk.acl != ours.acl) {
    return absl::StrCat(
        "acl ", absl::StrJoin(zk.acl.value_or(std::vector<std::string>{}), ","),
        " vs ", absl::StrJoin(ours.acl.value_or(std::vector<std::string>{}), ","));
  }
  if (zk.children != ours.children) {
    return absl::StrCat(
        "children ", absl::StrJoin(zk.children.value_or(std::vector<std::string>{}), ","),
        " vs ", absl::StrJoin(ours.children.value_or(std::vector<std::string>{}), ","));
  }
  if (zk.stat.has_value() != ours.stat.has_value()) return "stat presence";
  if (!zk.stat) return "";
  const StatView& a = *zk.stat;
  const StatView& b = *ours.stat;
  const bool same = a.version == b.version && a.cversion == b.cversion &&
                    a.aversion == b.aversion &&
                    a.data_length == b.data_length &&
                    a.num_children == b.num_children &&
                    a.ephemeral == b.ephemeral;
  if (!same || !zxids->Match(a.czxid, b.czxid) ||
      !zxids->Match(a.mzxid, b.mzxid) || !zxids->Match(a.pzxid, b.pzxid)) {
    return absl::StrCat("stat ", Show(a), " vs ", Show(b));
  }
  return "";
}

// Every node under `root` on both systems: data, children and Stat.
// The watch events an op made on both systems, in a canonical order (one
// write's events reach its watchers in an order neither system promises);
// "" if they agree, else both lists. `settle` makes ours final (a
// Coordinator's dispatcher drained); a C client tells an op's events on
// its own thread before the op returns (they precede its reply), but
// ZooKeeper's side is still waited for (bounded) until it has as many.
// Adds the number of events to `*told`.
template <typename Ours>
std::string CompareEvents(ZkSide& zk, Ours& ours,
                          const std::function<void()>& settle, int* told) {
  settle();
  std::vector<std::string> b = ours.events().Take();
  *told += static_cast<int>(b.size());
  WaitFor([&] { return zk.events().size() >= b.size(); }, absl::Seconds(2),
          absl::Milliseconds(1));
  std::vector<std::string> a = zk.events().Take();
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  if (a == b) return "";
  return absl::StrCat("events [", absl::StrJoin(a, " "), "] vs [",
                      absl::StrJoin(b, " "), "]");
}

// Every node under `root` on both systems: data, children, ACL and Stat.
template <typename Ours>
std::vector<std::string> CompareTrees(ZkSide& zk, Ours& ours,
                                      const std::string& root,
                                      ZxidMap* zxids) {
  std::vector<std::string> mismatches;
  std::vector<std::string> pending = {root};
  while (!pending.empty()) {
    const std::string path = pending.back();
    pending.pop_back();
    RandomOp get;
    get.kind = RandomOp::kGet;
    get.path = path;
    RandomOp ls = get;
    ls.kind = RandomOp::kChildren;
    RandomOp acl = get;
    acl.kind = RandomOp::kGetAcl;
    for (const RandomOp& op : {get, ls, acl}) {
      const Outcome a = zk.Run(op);
      const Outcome b = ours.Run(op);
      const std::string diff = Compare(a, b, zxids);
      if (!diff.empty()) {
        mismatches.push_back(absl::StrCat("tree ", Describe(op), ": ", diff));
      }
      if (op.kind == RandomOp::kChildren && a.children) {
        for (const std::string& child : *a.children) {
          pending.push_back(path + "/" + child);
        }
      }
    }
  }
  return mismatches;
}

// What a differential run found.
struct RunResult {
  std::vector<std::string> mismatches;
  int compared = 0;
  int events = 0;
  int c_client_quirks = 0;
  // How many ops succeeded, by kind: the runs must do real work, not
  // compare errors alone.
  std::map<int, int> succeeded;
};

// Runs `ops` seeded random ops for each of `seeds` seeds on ZooKeeper and
// on `ours` (a Coordinator, or synod's ZooKeeper port through the C
// client), comparing each outcome, the events, and each seed's tree.
template <typename Ours>
RunResult RunSeeds(ZkSide& zk, Ours& ours, int seeds, int ops,
                   const std::function<void()>& settle) {
  RunResult r;
  ZxidMap zxids;
  for (uint64_t seed = 1; seed <= static_cast<uint64_t>(seeds); ++seed) {
    const std::string root = absl::StrCat("/seed", seed);
    zk.NewSeed();
    ours.NewSeed();
    RandomOp make_root;
    make_root.kind = RandomOp::kCreate;
    make_root.path = root;
    const std::string made =
        Compare(zk.Run(make_root), ours.Run(make_root), &zxids);
    if (!made.empty()) {
      r.mismatches.push_back(absl::StrCat("seed ", seed, " root: ", made));
      return r;
    }
    OpSource source(seed, root);
    std::set<std::string> removed_one;  // paths of a successful kRemoveOne
    for (int i = 0; i < ops && r.mismatches.size() < 20; ++i) {
      const RandomOp op = source.Next();
      const Outcome theirs = zk.Run(op);
      Outcome mine = ours.Run(op);
      // A quirk of ZooKeeper's C client: once one watcher was removed from
      // a path, its removal of all watches there answers Ok although it
      // holds none (its server, asked only to check on the first removal,
      // still holds a watch). Its Java client, like synod, answers
      // NoWatcher. Counted, and allowed only there.
      if (op.kind == RandomOp::kRemoveOne && theirs.error == Error::kOk) {
        removed_one.insert(op.path);
      }
      if (op.kind == RandomOp::kRemoveAll && theirs.error == Error::kOk &&
          mine.error == Error::kNoWatcher && removed_one.count(op.path) > 0) {
        ++r.c_client_quirks;
        mine.error = Error::kOk;
      }
      std::string diff = Compare(theirs, mine, &zxids);
      // SYNOD_DIFF_TRACE=<path> prints every op on that path (to debug a
      // mismatch).
      if (const char* trace = std::getenv("SYNOD_DIFF_TRACE");
          trace != nullptr && op.path == trace) {
        std::fprintf(stderr, "seed %d op %d %s: %s\n", static_cast<int>(seed),
                     i, Describe(op).c_str(),
                     std::string(ErrorName(theirs.error)).c_str());
      }
      if (diff.empty()) diff = CompareEvents(zk, ours, settle, &r.events);
      ++r.compared;
      if (theirs.error == Error::kOk) ++r.succeeded[op.kind];
      if (!diff.empty()) {
        r.mismatches.push_back(
            absl::StrCat("seed ", seed, " op ", i, " ", Describe(op), ": ", diff));
      }
    }
    for (std::string& m : CompareTrees(zk, ours, root, &zxids)) {
      r.mismatches.push_back(absl::StrCat("seed ", seed, " ", m));
    }
  }
  return r;
}

// Connects `session` and gives it alice's identity. The C client's
// add_auth is asynchronous; the exists behind it is answered after it.
void BecomeAlice(ZkSession& session) {
  REQUIRE(session.WaitConnected());
  REQUIRE(zoo_add_auth(session.handle(), "digest", kAliceCredentials,
                       sizeof(kAliceCredentials) - 1, nullptr,
                       nullptr) == ZOK);
  REQUIRE(zoo_exists(session.handle(), "/", 0, nullptr) == ZOK);
}

// A synod peer alone in `dir`, serving, its container and TTL cleanup put
// off as on the ZooKeeper server; `zk_listen` as Options::zk_listen.
std::unique_ptr<Coordinator> StartAlone(const std::string& dir,
                                        const std::string& zk_listen = "") {
  Options options;
  options.data_dir = dir;
  options.cleanup_interval = absl::Hours(1);
  options.zk_listen = zk_listen;
  absl::StatusOr<std::unique_ptr<Coordinator>> started =
      Coordinator::Start(options);
  REQUIRE(started.ok());
  REQUIRE((*started)->WaitConnected(absl::Seconds(30)).ok());
  return *std::move(started);
}

// `min_successes`: how many times each kind of op must have succeeded.
void CheckRun(const RunResult& r, int seeds, int ops, int min_successes) {
  INFO(absl::StrJoin(r.mismatches, "\n"));
  CHECK(r.mismatches.empty());
  CHECK(r.compared >= seeds * ops);
  CHECK(r.events >= seeds * 50);
  for (int kind = 0; kind < RandomOp::kKinds; ++kind) {
    INFO("op kind " << kind << " succeeded " << r.succeeded.at(kind) << " times");
    CHECK(r.succeeded.count(kind) == 1);
    CHECK(r.succeeded.at(kind) >= min_successes);
  }
}

TEST_CASE("Differential: synod gives ZooKeeper 3.8's outcome, name, Stat, "
          "ACL and watch events for every op of seeded random runs",
          "[integration][differential]") {
  ZkServer zookeeper;
  REQUIRE(zookeeper.Start());
  ZkSession session(zookeeper.address());
  BecomeAlice(session);

  TempDir dir;
  std::unique_ptr<Coordinator> started = StartAlone(dir.Sub("synod"));
  Coordinator& c = *started;
  REQUIRE(c.AddAuth("digest", kAliceCredentials).ok());

  ZkSide zk(session.handle());
  SynodSide ours(c);
  constexpr int kSeeds = 8;
  constexpr int kOps = 2500;
  const RunResult r =
      RunSeeds(zk, ours, kSeeds, kOps, [&] { DrainDispatcher(c); });
  WARN("compared " << r.compared << " ops; " << r.events << " watch events, "
                   << ours.removals_told() << " removals told, "
                   << r.c_client_quirks << " C client removal quirks");
  CheckRun(r, kSeeds, kOps, kSeeds * 3);
  CHECK(ours.removals_told() >= kSeeds * 5);
}

// The same runs with ZooKeeper's C client on both sides: on ZooKeeper, and
// on synod's ZooKeeper port (Options::zk_listen), so every request and
// reply crosses synod's codec and ZkConnection.
TEST_CASE("Differential through the ZooKeeper protocol: synod's ZooKeeper "
          "port gives ZooKeeper 3.8's outcome, name, Stat, ACL and watch "
          "events for every op of seeded random runs",
          "[integration][differential][zkserver]") {
  ZkServer zookeeper;
  REQUIRE(zookeeper.Start());
  ZkSession theirs(zookeeper.address());
  BecomeAlice(theirs);

  TempDir dir;
  std::unique_ptr<Coordinator> c = StartAlone(dir.Sub("synod"), "127.0.0.1:0");
  ZkSession mine(c->GetHealth().zk_listen);
  BecomeAlice(mine);

  ZkSide zk(theirs.handle());
  ZkSide ours(mine.handle());
  constexpr int kSeeds = 2;
  constexpr int kOps = 2500;
  const RunResult r = RunSeeds(zk, ours, kSeeds, kOps, [&] {
    REQUIRE(zk.SettleBegin());
    REQUIRE(ours.SettleBegin());
    REQUIRE(zk.SettleWait());
    REQUIRE(ours.SettleWait());
  });
  WARN("compared " << r.compared << " ops; " << r.events << " watch events, "
                   << r.c_client_quirks << " C client removal quirks");
  CheckRun(r, kSeeds, kOps, kSeeds);
}

}  // namespace
}  // namespace synod::testing
