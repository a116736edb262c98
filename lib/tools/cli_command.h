// synod-cli's command language: zkCli's commands and flags (ZooKeeper 3.8)
// plus synod's own (watch, status, members, reconfig), parsed from words
// into a CliCommand, with the help text of each.

#ifndef SYNOD_TOOLS_CLI_COMMAND_H_
#define SYNOD_TOOLS_CLI_COMMAND_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "synod/types.h"
#include "synod/watch.h"

namespace synod::tools {

// One command, as typed on synod-cli's command line or in its shell.
struct CliCommand {
  enum class Kind {
    kCreate,        // create [-s] [-e] [-c] [-t ttl] path [data] [acl]
    kGet,           // get [-s] [-w] path
    kSet,           // set [-s] [-v version] path data
    kDelete,        // delete [-v version] path
    kDeleteAll,     // deleteall path [-b batch size]
    kLs,            // ls [-s] [-w] [-R] path
    kStat,          // stat [-w] path
    kGetAcl,        // getAcl [-s] path
    kSetAcl,        // setAcl [-s] [-v version] [-R] path acl
    kAddWatch,      // addWatch [-m mode] path
    kRemoveWatches, // removewatches path [-c|-d|-a|-p|-r] [-l]
    kGetEphemerals, // getEphemerals [path]
    kGetAllChildrenNumber,  // getAllChildrenNumber path
    kSync,          // sync path
    kAddAuth,       // addauth scheme auth
    kWhoAmI,        // whoami
    kMulti,         // multi op... (ops: create, set, delete, check)
    kCheck,         // check [-v version] path (only inside multi)
    kBackup,        // backup file
    kWatch,         // watch path
    kStatus,        // status
    kMembers,       // members
    kReconfig,      // reconfig [--add ADDR] [--remove ADDR|ID]
    kSetQuota,      // setquota -n|-b|-N|-B val path
    kListQuota,     // listquota path
    kDelQuota,      // delquota [-n|-b|-N|-B] path
    kConnect,       // connect host:port[,host:port...]
    kClose,         // close
    kPrintWatches,  // printwatches on|off (shell)
    kHistory,       // history (shell)
    kRedo,          // redo cmdno (shell)
    kHelp,          // help [command]
    kQuit,          // quit, exit (shell)
  };
  Kind kind = Kind::kHelp;
  std::string path;
  std::string data;
  bool ephemeral = false;   // create -e
  bool sequential = false;  // create -s
  bool container = false;   // create -c
  int64_t ttl_ms = 0;       // create -t (> 0: a TTL node)
  bool print_stat = false;  // -s of get, ls, set, getAcl, setAcl
  bool watch = false;       // -w of get, ls, stat
  bool recursive = false;   // ls -R, setAcl -R
  int32_t version = -1;     // -v of set, delete, setAcl, check
  bool has_acl = false;     // create's acl argument, setAcl's
  AclList acl;
  WatchMode watch_mode = WatchMode::kPersistentRecursive;  // addWatch -m
  WatcherType watcher_type = WatcherType::kAny;  // removewatches -c -d -a
  bool local = false;                            // removewatches -l
  int32_t batch = 1000;     // deleteall -b
  std::string scheme;       // addauth
  std::string credentials;  // addauth
  std::string add;          // reconfig --add
  std::string remove;       // reconfig --remove
  QuotaLimits quota;        // setquota: -n count, -b bytes, -N, -B hard
  uint32_t quota_fields = 0;  // delquota: quota_fields of -n -b -N -B
  std::vector<CliCommand> ops;   // multi
  std::vector<std::string> peers;  // connect
  int64_t index = -1;       // redo
  bool on = true;           // printwatches
  bool has_on = false;      // printwatches with an argument
  std::string topic;        // help COMMAND
};

// Parses `words` (the command name first). Options may come anywhere after
// the name, as zkCli's; "--" ends them (for data that starts with '-').
// InvalidArgument with a one-line reason and the command's usage for an
// unknown command or option, a missing or extra argument, a bad number,
// mode or ACL, or flags that do not go together (zkCli's rules: -c with -e
// or -s, -t with -e or -c).
absl::StatusOr<CliCommand> ParseCommand(const std::vector<std::string>& words);

// Parses one op of a multi ("create /a x", "check -v 2 /b"): create, set,
// delete or check. InvalidArgument otherwise.
absl::StatusOr<CliCommand> ParseMultiOp(std::string_view line);

// Splits a shell line into words at whitespace; single quotes keep text as
// is, double quotes keep it but for backslash escapes. InvalidArgument for
// an unclosed quote. A line that is empty or starts with '#' has no words.
absl::StatusOr<std::vector<std::string>> SplitCommandLine(
    std::string_view line);

// Parses an ACL as zkCli does: "scheme:id:perms[,scheme:id:perms...]",
// the id running from the first ':' to the last (digest ids hold one),
// perms from "cdrwa". InvalidArgument naming the bad entry.
absl::StatusOr<AclList> ParseAclText(std::string_view text);

// Returns true if `command` needs a session (everything but status,
// members, help and the shell's own commands).
bool NeedsSession(const CliCommand& command);

// True if `command` registers a watch (-w, addWatch, watch).
bool SetsWatch(const CliCommand& command);

// True if `name` is a command's name.
bool IsCommandName(std::string_view name);

// The list of commands, one usage line each (help).
std::string CommandsHelp();

// The usage and description of the command named `name` (help NAME), or
// InvalidArgument for an unknown name.
absl::StatusOr<std::string> CommandHelp(std::string_view name);

}  // namespace synod::tools

#endif  // SYNOD_TOOLS_CLI_COMMAND_H_
