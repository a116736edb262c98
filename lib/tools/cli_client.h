// synod-cli's logic, apart from main so that tests can drive it: parsing a
// command line into a CliCommand, and CliClient, which holds one Session
// stream (one session) to a peer's Client service and runs commands on it,
// writing what they print to an ostream.

#ifndef SYNOD_TOOLS_CLI_CLIENT_H_
#define SYNOD_TOOLS_CLI_CLIENT_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "synod/types.h"
#include "transport/client.grpc.pb.h"
#include "transport/tls.h"
#include "util/mutex.h"

namespace synod::tools {

// One command, as typed on synod-cli's command line or in its shell.
struct CliCommand {
  enum class Kind {
    kCreate,   // create [-e] [-s] path [data]
    kGet,      // get path
    kSet,      // set path data [-v N]
    kDelete,   // delete path [-v N]
    kLs,       // ls path
    kStat,     // stat path
    kWatch,    // watch path
    kStatus,   // status
    kSync,     // sync path
    kAddAuth,  // addauth scheme credentials
    kMembers,  // members
    kReconfig, // reconfig [--add ADDR] [--remove ADDR|ID]
    kSetQuota,   // setquota -n|-b|-N|-B val path
    kListQuota,  // listquota path
    kDelQuota,   // delquota [-n|-b|-N|-B] path
    kHelp,     // help (shell)
    kQuit,     // quit, exit (shell)
  };
  Kind kind = Kind::kHelp;
  std::string path;
  std::string data;
  bool ephemeral = false;   // create -e
  bool sequential = false;  // create -s
  int32_t version = -1;     // set/delete -v
  std::string scheme;       // addauth
  std::string credentials;  // addauth
  std::string add;          // reconfig --add
  std::string remove;       // reconfig --remove
  QuotaLimits quota;        // setquota: -n count, -b bytes, -N, -B hard
  uint32_t quota_fields = 0;  // delquota: quota_fields of -n -b -N -B
};

// The commands and their arguments, one per line.
extern const char kCliCommandsHelp[];

// Parses `words` (the command name first). Options (-e, -s, -v N) may come
// anywhere after the name; "--" ends them (for data that starts with '-').
// InvalidArgument with a one-line reason for an unknown command or option,
// a missing or extra argument, or a bad version number.
absl::StatusOr<CliCommand> ParseCommand(const std::vector<std::string>& words);

// Splits a shell line into words at whitespace; single quotes keep text as
// is, double quotes keep it but for backslash escapes. InvalidArgument for
// an unclosed quote. A line that is empty or starts with '#' has no words.
absl::StatusOr<std::vector<std::string>> SplitCommandLine(
    std::string_view line);

// Returns true if `command` needs a session (everything but status, help
// and quit).
bool NeedsSession(const CliCommand& command);

class CliClient {
 public:
  struct Options {
    // How long the peer has to accept the connection.
    absl::Duration connect_timeout = absl::Seconds(5);
    // How long the peer has to open the session once connected (in an
    // ensemble the session waits for a serving leader).
    absl::Duration open_timeout = absl::Seconds(15);
    // How long one request may take before the client gives up on it.
    absl::Duration request_timeout = absl::Seconds(60);
    // The session's timeout; zero: the peer's default.
    absl::Duration session_timeout = absl::ZeroDuration();
    // Shell: watch events are printed as they arrive and `watch` returns at
    // once. Otherwise `watch` waits for its event and prints it.
    bool async_events = false;
    // The connection's credentials (plaintext or mutual TLS). Null:
    // plaintext.
    std::shared_ptr<const transport::TransportCredentials> credentials;
  };

  // Nothing is connected until the first command that needs it (or
  // Connect). `out` receives everything the commands print; it must
  // outlive the client.
  CliClient(std::string address, Options options, std::ostream* out);
  // Closes the session (Close).
  ~CliClient();

  CliClient(const CliClient&) = delete;
  CliClient& operator=(const CliClient&) = delete;

  // Opens the session stream. ConnectionLoss if the peer cannot be reached
  // within connect_timeout or does not open the session within
  // open_timeout; the peer's error if it refuses. OK if already open.
  absl::Status Connect();

  // Runs `command`, printing its output to `out`. Returns the command's
  // error, carrying the synod::Error the peer reported (ErrorOf). Commands
  // that need a session connect first. kHelp prints the help; kQuit does
  // nothing.
  absl::Status Run(const CliCommand& command);

  // Ends the stream: the peer closes the session, deleting its ephemerals.
  // Waits (a bounded time) for the peer to finish. Idempotent.
  void Close();

  // Writes `text` to `out` and flushes it, never interleaved with what
  // the reader thread prints (shell events). For main's prompt.
  void Print(std::string_view text);

  // The session's id, 0 before Connect.
  int64_t session_id() const;

  // Watch events received so far, and a wait for at least `n` of them.
  int64_t events_received() const;
  bool AwaitEvents(int64_t n, absl::Duration timeout);

 private:
  // Options::credentials, or plaintext.
  const transport::TransportCredentials& Credentials() const;
  // Creates the channel and stub once.
  void EnsureChannel();
  // Sends `request` (numbered here) and waits for its reply.
  absl::StatusOr<transport::ClientReply> Call(transport::ClientRequest request,
                                              absl::Duration timeout);
  // The reader thread: replies to their calls, events to the queue or out.
  void ReadLoop();
  // Tears down the stream after a failed Connect (or at Close).
  void EndStream(bool cancel);
  // ConnectionLoss (once) if the stream ended under us, else OK.
  absl::Status ReportLostStream();

  absl::Status RunStatus();
  // members: one line per member, as the leader sees them (asked of the
  // leader when the peer named is not it).
  absl::Status RunMembers();
  // reconfig: --add first (a voter more), then --remove, each committed
  // before the next.
  absl::Status RunReconfig(const CliCommand& command);
  // After a reconfig request ended with ConnectionLoss (`lost`): waits for a
  // serving leader and returns OK if the change is in its configuration,
  // else `lost`.
  absl::Status CheckReconfigOutcome(const transport::StatusReply& before,
                                    const std::string& add_voter,
                                    const std::string& remove,
                                    absl::Status lost);
  absl::Status RunWatch(const CliCommand& command);

  const std::string address_;
  const Options options_;
  std::ostream* const out_;
  Mutex out_mu_;

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<transport::Client::Stub> stub_;

  // The stream. Writes happen on the calling thread (one command at a
  // time), reads on reader_.
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<transport::ClientRequest,
                                           transport::ClientReply>>
      stream_;
  std::thread reader_;

  mutable Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, transport::ClientReply> replies_ ABSL_GUARDED_BY(mu_);
  bool stream_ended_ ABSL_GUARDED_BY(mu_) = false;
  bool writes_done_ ABSL_GUARDED_BY(mu_) = false;
  int64_t session_id_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t events_received_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<transport::ClientWatchEvent> events_ ABSL_GUARDED_BY(mu_);
};

// Formats a watch event as the CLI prints it: "NodeDataChanged /path".
std::string FormatEvent(const transport::ClientWatchEvent& event);

}  // namespace synod::tools

#endif  // SYNOD_TOOLS_CLI_CLIENT_H_
