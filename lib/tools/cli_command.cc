// synod-cli's command language: a table of the commands, their arguments
// and flags, and the parser that checks words against it.

#include "tools/cli_command.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tree/quota.h"
#include "txn/preparer.h"
#include "util/strings.h"

namespace synod::tools {
namespace {

using Kind = CliCommand::Kind;

absl::Status Usage(std::string_view message) {
  return absl::InvalidArgumentError(std::string(message));
}

// One command's syntax: its positional arguments, its flags (letters that
// stand alone) and its valued flags (letters followed by a value).
struct Syntax {
  const char* name;
  Kind kind;
  size_t min_args;
  size_t max_args;
  const char* flags;
  const char* valued;
  const char* usage;
  const char* help;  // what it does, after the usage line of `help NAME`
};

constexpr Syntax kSyntax[] = {
    {"addWatch", Kind::kAddWatch, 1, 1, "", "m", "addWatch [-m mode] path",
     "Adds a watch that stays until removed. -m PERSISTENT watches the node\n"
     "(data changes, creation, deletion, its children changing);\n"
     "PERSISTENT_RECURSIVE (the default) the node and every node below it.\n"
     "Events are printed as they arrive (in the shell; once otherwise)."},
    {"backup", Kind::kBackup, 1, 1, "", "", "backup file",
     "Writes the peer's whole tree, as of one zxid, to file (durably), for\n"
     "synod-peer --restore. The session's identities (addauth) must READ\n"
     "every node."},
    {"addauth", Kind::kAddAuth, 2, 2, "", "", "addauth scheme auth",
     "Adds an identity to the session: addauth digest user:password."},
    {"close", Kind::kClose, 0, 0, "", "", "close",
     "Closes the session (its ephemeral nodes go); the next command opens\n"
     "a new one."},
    {"connect", Kind::kConnect, 1, 1, "", "", "connect host:port[,host:port...]",
     "Closes the session and opens one on the peers given (tried in order)."},
    {"create", Kind::kCreate, 1, 3, "sec", "t",
     "create [-s] [-e] [-c] [-t ttl] path [data] [acl]",
     "Creates a node and prints \"Created PATH\" (the name it got).\n"
     "-s sequential, -e ephemeral (gone with the session), -c container\n"
     "(deleted once its last child is), -t TTL in ms (deleted once it has\n"
     "gone unmodified and childless that long). acl is scheme:id:perms,...\n"
     "(default world:anyone:cdrwa)."},
    {"delete", Kind::kDelete, 1, 1, "", "v", "delete [-v version] path",
     "Deletes a node without children; with -v only at that data version."},
    {"deleteall", Kind::kDeleteAll, 1, 1, "", "b",
     "deleteall path [-b batch size]",
     "Deletes a node and everything below it, deepest first, in multis of\n"
     "the batch size (default 1000)."},
    {"delquota", Kind::kDelQuota, 1, 1, "nbNB", "", "delquota [-n|-b|-N|-B] path",
     "Removes those limits of the quota on path (none given: the quota)."},
    {"get", Kind::kGet, 1, 1, "sw", "", "get [-s] [-w] path",
     "Prints the node's data; -s then its Stat; -w leaves a data watch."},
    {"getAcl", Kind::kGetAcl, 1, 1, "s", "", "getAcl [-s] path",
     "Prints the node's ACL, two lines an entry ('scheme,'id / : perms);\n"
     "-s then its Stat."},
    {"getAllChildrenNumber", Kind::kGetAllChildrenNumber, 1, 1, "", "",
     "getAllChildrenNumber path",
     "Prints the number of nodes below path, at any depth."},
    {"getEphemerals", Kind::kGetEphemerals, 0, 1, "", "",
     "getEphemerals [path]",
     "Prints the session's ephemeral nodes whose paths begin with path\n"
     "(default /), as [/a, /b]."},
    {"help", Kind::kHelp, 0, 1, "", "", "help [command]",
     "Lists the commands, or tells what one does."},
    {"history", Kind::kHistory, 0, 0, "", "", "history",
     "Prints the shell's last commands, numbered (for redo)."},
    {"listquota", Kind::kListQuota, 1, 1, "", "", "listquota path",
     "Prints the quota on path and the subtree's size."},
    {"ls", Kind::kLs, 1, 1, "swR", "", "ls [-s] [-w] [-R] path",
     "Prints the children as [a, b]; -s then the node's Stat; -w leaves a\n"
     "child watch; -R prints every path below, breadth first, one a line."},
    {"members", Kind::kMembers, 0, 0, "", "", "members",
     "One line per member of the ensemble: ID ADDRESS voter|observer STATE."},
    {"multi", Kind::kMulti, 0, SIZE_MAX, "", "", "multi op...",
     "Runs ops all or nothing, each a quoted command: create, set, delete,\n"
     "or check [-v version] path. In the shell, multi alone starts a block:\n"
     "one op a line, then commit (or abort). Prints one line per op."},
    {"printwatches", Kind::kPrintWatches, 0, 1, "", "", "printwatches on|off",
     "Turns the shell's printing of watch events on or off."},
    {"quit", Kind::kQuit, 0, 0, "", "", "quit", "Leaves the shell."},
    {"exit", Kind::kQuit, 0, 0, "", "", "exit", "Leaves the shell."},
    {"reconfig", Kind::kReconfig, 0, 0, "", "",
     "reconfig [--add ADDR] [--remove ADDR|ID]",
     "Makes the observer at ADDR a voter; removes a member."},
    {"redo", Kind::kRedo, 1, 1, "", "", "redo cmdno",
     "Runs again the shell's command number cmdno (see history)."},
    {"removewatches", Kind::kRemoveWatches, 1, 1, "cdaprl", "",
     "removewatches path [-c|-d|-a|-p|-r] [-l]",
     "Removes the session's watches on path: -c child, -d data, -p\n"
     "persistent, -r persistent recursive, -a (the default) all. -l removes\n"
     "them even while the peer has no leader."},
    {"set", Kind::kSet, 2, 2, "s", "v", "set [-s] [-v version] path data",
     "Replaces the node's data (with -v only at that version) and prints\n"
     "its new version as dataVersion = N; -s prints the whole Stat."},
    {"setAcl", Kind::kSetAcl, 2, 2, "sR", "v",
     "setAcl [-s] [-v version] [-R] path acl",
     "Replaces the node's ACL (scheme:id:perms,...); -v only at that ACL\n"
     "version; -R on every node below too; -s prints the Stat."},
    {"setquota", Kind::kSetQuota, 1, 1, "", "nbNB",
     "setquota -n|-b|-N|-B val path",
     "Limits the subtree at path: -n nodes, -b bytes (soft: logged), -N,\n"
     "-B (hard: writes past them fail)."},
    {"stat", Kind::kStat, 1, 1, "w", "", "stat [-w] path",
     "Prints the node's Stat; -w leaves a data watch."},
    {"status", Kind::kStatus, 0, 0, "", "", "status",
     "The peer's role and view of the ensemble (needs no session)."},
    {"sync", Kind::kSync, 1, 1, "", "", "sync path",
     "Waits until the peer has every write the leader committed before."},
    {"watch", Kind::kWatch, 1, 1, "", "", "watch path",
     "Waits for the next change of the node (or its creation) and prints\n"
     "it (in the shell: leaves the watch and goes on)."},
    {"whoami", Kind::kWhoAmI, 0, 0, "", "", "whoami",
     "Prints the session's identities, one scheme: user a line."},
    {"check", Kind::kCheck, 1, 1, "", "v", "check [-v version] path",
     "Inside multi: fails it unless the node exists (at that version)."},
};

const Syntax* FindSyntax(std::string_view name) {
  for (const Syntax& s : kSyntax) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

// True for "-5", "-12": a negative number is an argument, not an option.
bool IsNumber(std::string_view word) {
  int64_t unused;
  return absl::SimpleAtoi(AV(word), &unused);
}

bool Has(std::string_view letters, char c) {
  return letters.find(c) != std::string_view::npos;
}

// Sets the flag `letter` (one of the command's standalone flags).
void SetFlag(char letter, CliCommand* c) {
  switch (c->kind) {
    case Kind::kCreate:
      if (letter == 's') c->sequential = true;
      if (letter == 'e') c->ephemeral = true;
      if (letter == 'c') c->container = true;
      return;
    case Kind::kDelQuota:
      c->quota_fields |= letter == 'n'   ? quota_fields::kCount
                         : letter == 'b' ? quota_fields::kBytes
                         : letter == 'N' ? quota_fields::kCountHard
                                         : quota_fields::kBytesHard;
      return;
    case Kind::kRemoveWatches:
      if (letter == 'l') {
        c->local = true;
      } else {
        c->watcher_type = letter == 'c'   ? WatcherType::kChildren
                          : letter == 'd' ? WatcherType::kData
                          : letter == 'p' ? WatcherType::kPersistent
                          : letter == 'r' ? WatcherType::kPersistentRecursive
                                          : WatcherType::kAny;
      }
      return;
    default:
      if (letter == 's') c->print_stat = true;
      if (letter == 'w') c->watch = true;
      if (letter == 'R') c->recursive = true;
      return;
  }
}

// Sets the valued flag `letter` to `value`; InvalidArgument (the reason)
// for a bad value.
absl::Status SetValue(char letter, const std::string& value, CliCommand* c) {
  const std::string flag = absl::StrCat("-", std::string(1, letter));
  if (c->kind == Kind::kSetQuota) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(AV(value), &n)) {
      return Usage(absl::StrCat("bad value '", value, "' for ", flag));
    }
    int64_t* field = letter == 'n'   ? &c->quota.count
                     : letter == 'b' ? &c->quota.bytes
                     : letter == 'N' ? &c->quota.count_hard
                                     : &c->quota.bytes_hard;
    *field = n;
    return absl::OkStatus();
  }
  switch (letter) {
    case 'v':
      if (!absl::SimpleAtoi(AV(value), &c->version) || c->version < -1) {
        return Usage(absl::StrCat("bad version '", value, "'"));
      }
      return absl::OkStatus();
    case 't':
      if (!absl::SimpleAtoi(AV(value), &c->ttl_ms)) {
        return Usage("-t argument must be a long value");
      }
      if (c->ttl_ms <= 0 || c->ttl_ms > kMaxTtlMs) {
        return Usage(absl::StrCat(
            "ttl must be positive and cannot be larger than: ", kMaxTtlMs));
      }
      return absl::OkStatus();
    case 'm':
      if (value == "PERSISTENT") {
        c->watch_mode = WatchMode::kPersistent;
      } else if (value == "PERSISTENT_RECURSIVE") {
        c->watch_mode = WatchMode::kPersistentRecursive;
      } else {
        return Usage(absl::StrCat(
            "mode must be PERSISTENT or PERSISTENT_RECURSIVE, not '", value,
            "'"));
      }
      return absl::OkStatus();
    case 'b':
      if (!absl::SimpleAtoi(AV(value), &c->batch) || c->batch <= 0) {
        return Usage(absl::StrCat("bad batch size '", value, "'"));
      }
      return absl::OkStatus();
    default:
      return Usage(absl::StrCat("unknown option ", flag));
  }
}

// reconfig's long options, each with its value.
absl::Status ParseReconfig(const std::vector<std::string>& words,
                           CliCommand* command) {
  for (size_t i = 1; i < words.size(); i += 2) {
    const std::string& flag = words[i];
    std::string* value = flag == "--add"      ? &command->add
                         : flag == "--remove" ? &command->remove
                                              : nullptr;
    if (value == nullptr) return Usage(absl::StrCat("unknown option ", flag));
    if (i + 1 >= words.size() || words[i + 1].empty()) {
      return Usage(absl::StrCat(flag, " needs a value"));
    }
    if (!value->empty()) return Usage(absl::StrCat(flag, " given twice"));
    *value = words[i + 1];
  }
  if (command->add.empty() && command->remove.empty()) {
    return Usage("nothing to change");
  }
  return absl::OkStatus();
}

// Fills the command from its positional arguments.
absl::Status TakeArgs(std::vector<std::string> args, CliCommand* c) {
  switch (c->kind) {
    case Kind::kAddAuth:
      c->scheme = std::move(args[0]);
      c->credentials = std::move(args[1]);
      return absl::OkStatus();
    case Kind::kSetAcl:
    case Kind::kCreate: {
      const size_t acl_at = c->kind == Kind::kCreate ? 2 : 1;
      if (args.size() > acl_at) {
        absl::StatusOr<AclList> acl = ParseAclText(args[acl_at]);
        if (!acl.ok()) return acl.status();
        c->acl = *std::move(acl);
        c->has_acl = true;
      }
      c->path = std::move(args[0]);
      if (c->kind == Kind::kCreate && args.size() > 1) {
        c->data = std::move(args[1]);
      }
      return absl::OkStatus();
    }
    case Kind::kMulti:
      for (const std::string& op : args) {
        absl::StatusOr<CliCommand> parsed = ParseMultiOp(op);
        if (!parsed.ok()) return parsed.status();
        c->ops.push_back(*std::move(parsed));
      }
      return absl::OkStatus();
    case Kind::kConnect:
      for (absl::string_view peer : absl::StrSplit(AV(args[0]), ',')) {
        if (peer.empty()) return Usage("an empty peer address");
        c->peers.emplace_back(peer);
      }
      return absl::OkStatus();
    case Kind::kRedo:
      if (!absl::SimpleAtoi(AV(args[0]), &c->index) || c->index < 0) {
        return Usage(absl::StrCat("bad command number '", args[0], "'"));
      }
      return absl::OkStatus();
    case Kind::kPrintWatches:
      if (args.empty()) return absl::OkStatus();
      if (args[0] != "on" && args[0] != "off") {
        return Usage(absl::StrCat("on or off, not '", args[0], "'"));
      }
      c->has_on = true;
      c->on = args[0] == "on";
      return absl::OkStatus();
    case Kind::kHelp:
      if (!args.empty()) c->topic = std::move(args[0]);
      return absl::OkStatus();
    case Kind::kGetEphemerals:
      c->path = args.empty() ? "/" : std::move(args[0]);
      return absl::OkStatus();
    default:
      if (!args.empty()) c->path = std::move(args[0]);
      if (args.size() > 1) c->data = std::move(args[1]);
      return absl::OkStatus();
  }
}

// zkCli's rules for create's flags.
absl::Status CheckCreateFlags(const CliCommand& c) {
  if (c.container && (c.ephemeral || c.sequential)) {
    return Usage(
        "-c cannot be combined with -s or -e. Containers cannot be "
        "ephemeral or sequential.");
  }
  if (c.ttl_ms > 0 && c.ephemeral) {
    return Usage("TTLs cannot be used with Ephemeral znodes");
  }
  if (c.ttl_ms > 0 && c.container) {
    return Usage("TTLs cannot be used with Container znodes");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CliCommand> ParseCommand(const std::vector<std::string>& words) {
  if (words.empty()) return Usage("no command");
  const Syntax* syntax = FindSyntax(words[0]);
  if (syntax == nullptr || syntax->kind == Kind::kCheck) {
    return Usage(absl::StrCat("unknown command '", words[0], "'"));
  }
  const auto usage = [syntax](const absl::Status& why) {
    return Usage(absl::StrCat(why.message(), "; usage: ", syntax->usage));
  };
  CliCommand command;
  command.kind = syntax->kind;
  if (command.kind == Kind::kReconfig) {
    if (absl::Status s = ParseReconfig(words, &command); !s.ok()) {
      return usage(s);
    }
    return command;
  }
  std::vector<std::string> args;
  bool options_ended = false;
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (options_ended || word.size() < 2 || word[0] != '-' || IsNumber(word) ||
        command.kind == Kind::kMulti) {
      args.push_back(word);
      continue;
    }
    if (word == "--") {
      options_ended = true;
      continue;
    }
    const char letter = word.size() == 2 ? word[1] : '\0';
    if (letter != '\0' && Has(syntax->flags, letter)) {
      SetFlag(letter, &command);
    } else if (letter != '\0' && Has(syntax->valued, letter)) {
      if (i + 1 >= words.size()) {
        return usage(Usage(absl::StrCat(word, " needs a value")));
      }
      if (absl::Status s = SetValue(letter, words[++i], &command); !s.ok()) {
        return usage(s);
      }
    } else {
      return usage(Usage(absl::StrCat("unknown option ", word)));
    }
  }
  if (command.kind == Kind::kSetQuota && command.quota == QuotaLimits{}) {
    return usage(Usage("no limit given"));
  }
  if (args.size() < syntax->min_args) return usage(Usage("missing arguments"));
  if (args.size() > syntax->max_args) {
    return usage(Usage(
        absl::StrCat("unexpected argument '", args[syntax->max_args], "'")));
  }
  if (command.kind == Kind::kMulti && args.empty() && words.size() > 1) {
    return usage(Usage("no ops"));
  }
  if (absl::Status s = TakeArgs(std::move(args), &command); !s.ok()) {
    return usage(s);
  }
  if (command.kind == Kind::kCreate) {
    if (absl::Status s = CheckCreateFlags(command); !s.ok()) return usage(s);
  }
  return command;
}

absl::StatusOr<CliCommand> ParseMultiOp(std::string_view line) {
  absl::StatusOr<std::vector<std::string>> words = SplitCommandLine(line);
  if (!words.ok()) return words.status();
  if (words->empty()) return Usage("an empty op in multi");
  const std::string name = (*words)[0];
  if (name != "create" && name != "set" && name != "delete" &&
      name != "check") {
    return Usage(absl::StrCat(
        "multi takes create, set, delete and check, not '", name, "'"));
  }
  if (name != "check") {
    absl::StatusOr<CliCommand> op = ParseCommand(*words);
    if (op.ok() && op->print_stat) {
      return Usage("-s has no place in a multi's set");
    }
    return op;
  }
  // check: parsed as delete is (-v version, one path), then retagged.
  (*words)[0] = "delete";
  absl::StatusOr<CliCommand> op = ParseCommand(*words);
  if (!op.ok()) {
    return Usage(absl::StrCat(
        "bad check: ", op.status().message().substr(
                           0, op.status().message().find(';')),
        "; usage: check [-v version] path"));
  }
  op->kind = Kind::kCheck;
  return op;
}

// A small shell lexer: whitespace separates words; '...' is literal;
// "..." allows \" and \\ (and keeps other backslashes); outside quotes a
// backslash escapes the next character.
absl::StatusOr<std::vector<std::string>> SplitCommandLine(
    std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  if (i < line.size() && line[i] == '#') return words;
  for (; i < line.size(); ++i) {
    const char c = line[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'') {
      const size_t end = line.find('\'', i + 1);
      if (end == std::string_view::npos) return Usage("unclosed quote (')");
      word.append(line.substr(i + 1, end - i - 1));
      in_word = true;
      i = end;
    } else if (c == '"') {
      in_word = true;
      for (++i;; ++i) {
        if (i >= line.size()) return Usage("unclosed quote (\")");
        if (line[i] == '"') break;
        if (line[i] == '\\' && i + 1 < line.size() &&
            (line[i + 1] == '"' || line[i + 1] == '\\')) {
          ++i;
        }
        word.push_back(line[i]);
      }
    } else if (c == '\\' && i + 1 < line.size()) {
      word.push_back(line[++i]);
      in_word = true;
    } else {
      word.push_back(c);
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

absl::StatusOr<AclList> ParseAclText(std::string_view text) {
  AclList acl;
  for (absl::string_view entry : absl::StrSplit(AV(text), ',')) {
    const size_t first = entry.find(':');
    const size_t last = entry.rfind(':');
    if (first == std::string_view::npos || first == last) {
      return Usage(absl::StrCat(entry,
                                " does not have the form scheme:id:perm"));
    }
    Acl a;
    a.perms = 0;
    a.scheme = std::string(entry.substr(0, first));
    a.id = std::string(entry.substr(first + 1, last - first - 1));
    for (const char p : entry.substr(last + 1)) {
      const int32_t bit = p == 'r'   ? perms::kRead
                          : p == 'w' ? perms::kWrite
                          : p == 'c' ? perms::kCreate
                          : p == 'd' ? perms::kDelete
                          : p == 'a' ? perms::kAdmin
                                     : 0;
      if (bit == 0) {
        return Usage(absl::StrCat("Unknown perm type: ", std::string(1, p),
                                  " in ", entry));
      }
      a.perms |= bit;
    }
    acl.push_back(std::move(a));
  }
  return acl;
}

bool NeedsSession(const CliCommand& command) {
  switch (command.kind) {
    case Kind::kStatus:
    case Kind::kMembers:
    case Kind::kHelp:
    case Kind::kQuit:
    case Kind::kHistory:
    case Kind::kRedo:
    case Kind::kPrintWatches:
    case Kind::kConnect:
    case Kind::kClose:
    case Kind::kBackup:
      return false;
    default:
      return true;
  }
}

bool SetsWatch(const CliCommand& command) {
  return command.watch || command.kind == Kind::kAddWatch ||
         command.kind == Kind::kWatch;
}

bool IsCommandName(std::string_view name) {
  const Syntax* s = FindSyntax(name);
  return s != nullptr && s->kind != Kind::kCheck;
}

std::string CommandsHelp() {
  std::string text = "commands:\n";
  for (const Syntax& s : kSyntax) {
    if (s.kind == Kind::kCheck || std::string_view(s.name) == "exit") continue;
    absl::StrAppend(&text, "  ", s.usage, "\n");
  }
  absl::StrAppend(&text,
                  "help COMMAND tells what one does. Options may come "
                  "anywhere;\nuse -- before data that starts with '-'.\n");
  return text;
}

absl::StatusOr<std::string> CommandHelp(std::string_view name) {
  const Syntax* s = FindSyntax(name);
  if (s == nullptr) return Usage(absl::StrCat("no command '", AV(name), "'"));
  return absl::StrCat("usage: ", s->usage, "\n", s->help, "\n");
}

}  // namespace synod::tools
