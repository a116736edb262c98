// synod-dump: a stopped peer's data directory, read from a private copy.

#include "tools/dump.h"

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "storage/data_dir_lock.h"
#include "storage/store.h"
#include "tools/cli_format.h"
#include "tree/data_tree.h"
#include "util/strings.h"
#include "zab/config.h"
#include "zab/message.h"

namespace synod::tools {
namespace {

namespace fs = std::filesystem;

absl::Status Usage(std::string_view message) {
  return absl::InvalidArgumentError(std::string(message));
}

const char* ModeName(int32_t mode) {
  switch (static_cast<CreateMode>(mode)) {
    case CreateMode::kPersistent: return "persistent";
    case CreateMode::kEphemeral: return "ephemeral";
    case CreateMode::kPersistentSequential: return "persistent_sequential";
    case CreateMode::kEphemeralSequential: return "ephemeral_sequential";
    case CreateMode::kContainer: return "container";
    case CreateMode::kPersistentWithTtl: return "persistent_with_ttl";
    case CreateMode::kPersistentSequentialWithTtl:
      return "persistent_sequential_with_ttl";
  }
  return "unknown";
}


std::string TimeText(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

std::string AclText(const google::protobuf::RepeatedPtrField<txn::AclEntry>& acl) {
  std::vector<std::string> entries;
  for (const txn::AclEntry& a : acl) {
    entries.push_back(
        absl::StrCat(AV(a.scheme()), ":", AV(a.id()), ":", PermsText(a.perms())));
  }
  return absl::StrJoin(entries, ",");
}

std::string AclText(const AclList& acl) {
  std::vector<std::string> entries;
  for (const Acl& a : acl) {
    entries.push_back(absl::StrCat(a.scheme, ":", a.id, ":", PermsText(a.perms)));
  }
  return absl::StrJoin(entries, ",");
}

std::string DataText(std::string_view data, bool show) {
  if (!show) return absl::StrCat(data.size(), "B");
  return absl::StrCat("\"", absl::CHexEscape(AV(data)), "\"");
}

// A private copy of `dir`, removed with this object.
class DirCopy {
 public:
  ~DirCopy() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  // Copies `dir` under its lock (so no peer runs there meanwhile).
  absl::Status Make(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      return absl::NotFoundError(absl::StrCat(dir, " is not a directory"));
    }
    if (!fs::exists(fs::path(dir) / "SYNOD", ec)) {
      return absl::FailedPreconditionError(
          absl::StrCat(dir, " is not a synod data directory (no SYNOD file)"));
    }
    absl::StatusOr<std::unique_ptr<DataDirLock>> lock = DataDirLock::Acquire(dir);
    if (!lock.ok()) return lock.status();
    const fs::path base = fs::temp_directory_path(ec);
    std::string tmpl = (base / "synod-dump-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      return absl::InternalError("cannot make a temporary directory");
    }
    path_ = tmpl;
    fs::copy(dir, path_, fs::copy_options::recursive, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("cannot copy ", dir, ": ", ec.message()));
    }
    return absl::OkStatus();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The tree as of the checkpoint, then (unless applied_only) with the log
// tail above it applied. Counts the tail's records in `tail`.
absl::Status LoadTree(const Store& store, bool applied_only, DataTree* tree,
                      int64_t* tail) {
  tree->Reserve(store.node_count_hint());
  DataTree::LoadCursor cursor;
  absl::Status loaded = store.LoadState(
      [&](std::string_view path, std::string_view record) {
        return tree->LoadNode(path, record, &cursor);
      },
      [&](int64_t id, std::string_view record) {
        return tree->LoadSession(id, record);
      });
  if (!loaded.ok()) return loaded;
  tree->SetLastZxid(store.applied_zxid());
  *tail = 0;
  if (applied_only) return absl::OkStatus();
  absl::Status applied = absl::OkStatus();
  ApplyOutput out;
  absl::Status read = store.ReadLog(
      store.applied_zxid(), [&](Zxid zxid, std::string_view data) {
        ++*tail;
        if (zab::IsConfigData(data)) {
          tree->SetLastZxid(zxid);
          return true;
        }
        txn::Txn txn;
        if (!txn.ParseFromArray(data.data(), static_cast<int>(data.size())) ||
            txn.zxid() != zxid) {
          applied = MakeError(Error::kDataInconsistency,
                              absl::StrCat("undecodable log record ",
                                           zab::ZxidString(zxid)));
          return false;
        }
        applied = tree->Apply(txn, &out, nullptr);
        out.Clear();
        return applied.ok();
      });
  if (!read.ok()) return read;
  return applied;
}

std::string MetaOr(const Store& store, const char* name, std::string absent) {
  absl::StatusOr<std::string> value = store.GetMeta(name);
  return value.ok() && !value->empty() ? *value : absent;
}

absl::Status DumpSummary(const DumpRequest& request, const Store& store,
                         std::ostream* out) {
  int64_t records = 0;
  Zxid first = 0, last = 0;
  absl::Status read = store.ReadLog(0, [&](Zxid zxid, std::string_view) {
    if (records++ == 0) first = zxid;
    last = zxid;
    return true;
  });
  if (!read.ok()) return read;
  DataTree tree;
  int64_t tail = 0;
  if (absl::Status s = LoadTree(store, request.applied_only, &tree, &tail);
      !s.ok()) {
    return s;
  }
  std::string config = "none";
  if (absl::StatusOr<std::string> c = store.GetMeta("config");
      c.ok() && !c->empty()) {
    absl::StatusOr<zab::Config> decoded = zab::DecodeConfig(*c);
    config = decoded.ok() ? zab::DescribeConfig(*decoded) : "undecodable";
  }
  *out << "data directory: " << request.dir << "\n"
       << "ensemble: " << MetaOr(store, "ensemble_id", "none (a peer alone)")
       << "\npeer id: " << MetaOr(store, "peer_id", "none")
       << "\nepochs: accepted " << store.accepted_epoch() << ", current "
       << store.current_epoch()
       << "\ncheckpoint: " << zab::ZxidString(store.applied_zxid())
       << "\nlog: " << records << " records";
  if (records > 0) {
    *out << ", " << zab::ZxidString(first) << " to " << zab::ZxidString(last);
  }
  *out << "; " << tail
       << " above the checkpoint (proposals: the last may not have "
          "committed)\nconfiguration: "
       << config << "\ntree at " << zab::ZxidString(tree.last_zxid())
       << (request.applied_only ? " (the checkpoint)" : "") << ": "
       << tree.node_count() << " nodes, " << tree.data_bytes()
       << " data bytes, " << tree.ephemeral_count() << " ephemerals, "
       << tree.sessions().size() << " sessions, " << tree.quotas().size()
       << " quotas\n";
  return absl::OkStatus();
}

absl::Status DumpLog(const DumpRequest& request, const Store& store,
                     std::ostream* out) {
  int64_t shown = 0;
  absl::Status bad = absl::OkStatus();
  const Zxid after = request.from > 0 ? request.from - 1 : 0;
  absl::Status read = store.ReadLog(after, [&](Zxid zxid, std::string_view data) {
    if (zxid > request.to) return false;
    ++shown;
    if (zab::IsConfigData(data)) {
      absl::StatusOr<zab::Config> config =
          zab::ConfigOfEntry(zab::Entry{zxid, std::string(data)});
      *out << zab::ZxidString(zxid) << " config "
           << (config.ok() ? zab::DescribeConfig(*config) : "undecodable")
           << "\n";
      return true;
    }
    txn::Txn txn;
    if (!txn.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
      *out << zab::ZxidString(zxid) << " undecodable (" << data.size()
           << " bytes)\n";
      bad = MakeError(Error::kDataInconsistency,
                      absl::StrCat("undecodable log record ",
                                   zab::ZxidString(zxid)));
      return true;
    }
    *out << zab::ZxidString(zxid) << " " << TimeText(txn.time_ms())
         << " session " << Hex(txn.session_id()) << " "
         << DescribeTxn(txn, request.data) << "\n";
    return true;
  });
  if (!read.ok()) return read;
  *out << shown << " records\n";
  return bad;
}

absl::Status DumpTree(const DumpRequest& request, const Store& store,
                      std::ostream* out) {
  DataTree tree;
  int64_t tail = 0;
  if (absl::Status s = LoadTree(store, request.applied_only, &tree, &tail);
      !s.ok()) {
    return s;
  }
  if (tree.Find(request.path) == nullptr) {
    return MakeError(Error::kNoNode,
                     absl::StrCat("Node does not exist: ", request.path));
  }
  int64_t nodes = 0;
  tree.ForEachInSubtree(request.path, [&](const std::string& path,
                                          const Znode& node) {
    ++nodes;
    *out << path << "\n";
    std::string stat = FormatStat(ServedStat(node.stat));
    // Indented, as zkSnapShotToolkit prints a node.
    for (size_t at = 0; at < stat.size();) {
      const size_t end = stat.find('\n', at);
      *out << "  " << stat.substr(at, end - at) << "\n";
      at = end + 1;
    }
    *out << "  mode = " << ModeName(static_cast<int32_t>(node.mode));
    if (node.ttl_ms > 0) *out << " ttl " << node.ttl_ms << " ms";
    *out << "\n  acl = " << AclText(*node.acl) << "\n";
    if (request.data) *out << "  data = " << DataText(node.data, true) << "\n";
  });
  *out << nodes << " nodes at " << zab::ZxidString(tree.last_zxid()) << "\n";
  return absl::OkStatus();
}

}  // namespace

const char kDumpUsage[] =
    "usage: synod-dump DIR [summary | log [--from ZXID] [--to ZXID] |\n"
    "                  tree [PATH]] [--data] [--applied-only]\n"
    "Reads a stopped peer's data directory (from a private copy; a running\n"
    "peer's is refused) and prints:\n"
    "  summary   (the default) its identity, epochs, checkpoint, log range,\n"
    "            configuration and the tree's size\n"
    "  log       each log record: zxid, time, session, the txn (--from and\n"
    "            --to bound the zxids: 0x1f00000003, 0x1f:3 or decimal)\n"
    "  tree      each node of the tree (or the subtree at PATH) with its\n"
    "            Stat, mode and ACL\n"
    "  --data           the data itself (escaped), not its size\n"
    "  --applied-only   the tree as of the checkpoint, without the log tail\n"
    "                   above it (which may hold uncommitted proposals)\n";

absl::StatusOr<Zxid> ParseZxid(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon != std::string_view::npos) {
    std::string_view epoch = text.substr(0, colon);
    if (epoch.substr(0, 2) == "0x") epoch.remove_prefix(2);
    uint64_t e = 0, c = 0;
    if (!absl::SimpleHexAtoi(AV(epoch), &e) ||
        !absl::SimpleHexAtoi(AV(text.substr(colon + 1)), &c) ||
        e > 0x7fffff || c >= (uint64_t{1} << 40)) {
      return Usage(absl::StrCat("bad zxid '", AV(text), "'"));
    }
    return static_cast<Zxid>((e << 40) | c);
  }
  int64_t value = 0;
  const bool ok = text.substr(0, 2) == "0x"
                      ? absl::SimpleHexAtoi(AV(text.substr(2)), &value)
                      : absl::SimpleAtoi(AV(text), &value);
  if (!ok || value < 0) return Usage(absl::StrCat("bad zxid '", AV(text), "'"));
  return value;
}

absl::StatusOr<DumpRequest> ParseDumpArgs(const std::vector<std::string>& args) {
  DumpRequest request;
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--data") {
      request.data = true;
    } else if (a == "--applied-only") {
      request.applied_only = true;
    } else if (a == "--from" || a == "--to") {
      if (i + 1 >= args.size()) return Usage(absl::StrCat(a, " needs a zxid"));
      absl::StatusOr<Zxid> z = ParseZxid(args[++i]);
      if (!z.ok()) return z.status();
      (a == "--from" ? request.from : request.to) = *z;
    } else if (a.size() > 1 && a[0] == '-') {
      return Usage(absl::StrCat("unknown flag ", a));
    } else {
      positional.push_back(a);
    }
  }
  if (positional.empty()) return Usage("no data directory given");
  request.dir = positional[0];
  const std::string what = positional.size() > 1 ? positional[1] : "summary";
  size_t max_args = 2;
  if (what == "summary") {
    request.what = DumpRequest::What::kSummary;
  } else if (what == "log") {
    request.what = DumpRequest::What::kLog;
  } else if (what == "tree") {
    request.what = DumpRequest::What::kTree;
    max_args = 3;
    if (positional.size() > 2) request.path = positional[2];
  } else {
    return Usage(absl::StrCat("unknown view '", what,
                              "' (summary, log or tree)"));
  }
  if (positional.size() > max_args) {
    return Usage(absl::StrCat("unexpected argument '", positional[max_args],
                              "'"));
  }
  if (request.from > request.to) return Usage("--from is above --to");
  if (request.what != DumpRequest::What::kLog &&
      (request.from != 0 ||
       request.to != std::numeric_limits<int64_t>::max())) {
    return Usage("--from and --to bound the log view only");
  }
  return request;
}

std::string DescribeTxn(const txn::Txn& txn, bool data) {
  switch (txn.body_case()) {
    case txn::Txn::kCreate: {
      const txn::CreateTxn& c = txn.create();
      std::string text = absl::StrCat("create ", AV(c.path()), " mode=",
                                      ModeName(c.mode()));
      if (c.ttl_ms() > 0) absl::StrAppend(&text, " ttl=", c.ttl_ms(), "ms");
      absl::StrAppend(&text, " data=", DataText(c.data(), data),
                      " acl=", AclText(c.acl()));
      if (c.ephemeral_owner() != 0) {
        absl::StrAppend(&text, " owner=", Hex(c.ephemeral_owner()));
      }
      return text;
    }
    case txn::Txn::kDeleteNode:
      return absl::StrCat("delete ", AV(txn.delete_node().path()));
    case txn::Txn::kSetData:
      return absl::StrCat("setData ", AV(txn.set_data().path()), " version=",
                          txn.set_data().version(), " data=",
                          DataText(txn.set_data().data(), data));
    case txn::Txn::kSetAcl:
      return absl::StrCat("setAcl ", AV(txn.set_acl().path()), " aversion=",
                          txn.set_acl().aversion(),
                          " acl=", AclText(txn.set_acl().acl()));
    case txn::Txn::kCheck:
      return absl::StrCat("check ", AV(txn.check().path()));
    case txn::Txn::kMulti: {
      std::vector<std::string> ops;
      for (const txn::Txn& op : txn.multi().ops()) {
        ops.push_back(DescribeTxn(op, data));
      }
      return absl::StrCat("multi [", absl::StrJoin(ops, "; "), "]");
    }
    case txn::Txn::kCreateSession:
      return absl::StrCat("createSession timeout=",
                          txn.create_session().timeout_ms(), "ms");
    case txn::Txn::kCloseSession: {
      std::vector<std::string> paths;
      for (const std::string& p : txn.close_session().ephemerals()) {
        paths.push_back(p);
      }
      return absl::StrCat("closeSession ephemerals=[",
                          absl::StrJoin(paths, ", "), "]");
    }
    case txn::Txn::kError: {
      const int code = txn.error().error();
      const bool known = code >= 0 && code <= static_cast<int>(kLastError);
      return absl::StrCat(
          "error ",
          known ? AV(ErrorName(static_cast<Error>(code)))
                : AV(std::to_string(code)),
          " failed_op=", txn.error().failed_op());
    }
    case txn::Txn::kSync:
      return "sync";
    default:
      return "unknown";
  }
}

absl::Status Dump(const DumpRequest& request, std::ostream* out,
                  std::ostream* notes) {
  DirCopy copy;
  if (absl::Status s = copy.Make(request.dir); !s.ok()) return s;
  StoreOptions options;
  options.warn = [notes](const std::string& message) {
    *notes << "note: opening the copy repaired: " << message << "\n";
  };
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(copy.path(), options);
  if (!store.ok()) return store.status();
  switch (request.what) {
    case DumpRequest::What::kSummary:
      return DumpSummary(request, **store, out);
    case DumpRequest::What::kLog:
      return DumpLog(request, **store, out);
    case DumpRequest::What::kTree:
      return DumpTree(request, **store, out);
  }
  return absl::OkStatus();
}

}  // namespace synod::tools
