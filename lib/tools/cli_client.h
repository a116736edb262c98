// synod-cli's client, apart from main so that tests can drive it: CliClient
// holds one Session stream (one session) to a peer's Client service, over
// a list of peers it fails over between, and runs parsed commands
// (tools/cli_command.h) on it, writing what they print to an ostream in
// zkCli's shapes (tools/cli_format.h).

#ifndef SYNOD_TOOLS_CLI_CLIENT_H_
#define SYNOD_TOOLS_CLI_CLIENT_H_

#include <cstdint>
#include <deque>
#include <map>
#include <utility>
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
#include "tools/cli_command.h"
#include "tools/remote_watches.h"
#include "transport/client.grpc.pb.h"
#include "transport/tls.h"
#include "util/mutex.h"

namespace synod::tools {

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
    // Shell: watch events are printed as they arrive and commands that set
    // a watch return at once. Otherwise such a command waits for the first
    // event and prints it.
    bool async_events = false;
    // The connection's credentials (plaintext or mutual TLS). Null:
    // plaintext.
    std::shared_ptr<const transport::TransportCredentials> credentials;
  };

  // Nothing is connected until the first command that needs it (or
  // Connect). `peers` are tried in order (at least one). After a lost
  // connection the next command resumes the session (its ephemerals kept)
  // on the next peer that takes it, within the session's timeout, and
  // sends the identities addauth added again; a command under way when
  // the connection broke fails with ConnectionLoss. `out` receives
  // everything the commands print; it must outlive the client.
  CliClient(std::vector<std::string> peers, Options options,
            std::ostream* out);
  CliClient(std::string peer, Options options, std::ostream* out)
      : CliClient(std::vector<std::string>{std::move(peer)}, options, out) {}
  // Closes the session (Close).
  ~CliClient();

  CliClient(const CliClient&) = delete;
  CliClient& operator=(const CliClient&) = delete;

  // Opens the session stream on the first peer, from the current one on,
  // that accepts it: a new session, or the one whose stream was lost,
  // resumed. ConnectionLoss if none can be reached within connect_timeout
  // or opens the session within open_timeout; a peer's error if it
  // refuses; SessionExpired if the session to resume is gone (the next
  // call opens a new one). OK if already open.
  absl::Status Connect();

  // Closes the session and makes `peers` the list (connect).
  void SetPeers(std::vector<std::string> peers);

  // Whether watch events are printed as they arrive (printwatches).
  void SetPrintWatches(bool on);
  bool print_watches() const;

  // The peer the session is on, or the next one tried.
  std::string current_peer() const;

  // Runs `command`, printing its output to `out`. Returns the command's
  // error, carrying the synod::Error the peer reported (ErrorOf) with
  // zkCli's message (ZkError). Commands that need a session connect first.
  // kHelp prints the help; kClose ends the session; kConnect changes the
  // peers; the shell's own (history, redo, printwatches, quit) do nothing
  // here.
  absl::Status Run(const CliCommand& command);

  // Ends the stream: the peer closes the session, deleting its ephemerals.
  // Waits (a bounded time) for the peer to finish. Idempotent.
  void Close();

  // Writes `text` to `out` and flushes it, never interleaved with what
  // the reader thread prints (shell events). For main's prompt.
  void Print(std::string_view text);

  // The session's id, 0 before Connect.
  int64_t session_id() const;
  // Whether the stream to the current peer is up (false once the peer
  // ended it, before the next command resumes the session).
  bool connected() const;

  // Watch events received so far, and a wait for at least `n` of them.
  int64_t events_received() const;
  bool AwaitEvents(int64_t n, absl::Duration timeout);

  // The session's watches as this client knows them (set again on the
  // next peer when the session resumes there), for tests.
  RemoteWatches watches() const;

 private:
  // Options::credentials, or plaintext.
  const transport::TransportCredentials& Credentials() const;
  // Creates the channel and stub for the current peer, once.
  void EnsureChannel();
  // Opens (or resumes) the session on the current peer.
  absl::Status ConnectCurrent();
  // A resumed session's identities and `watches`, set again on the new
  // stream.
  absl::Status RestoreSession(std::vector<transport::SetWatchesRequest> watches);
  // A read of `kind` on `path` (the fields the caller set in `read`).
  absl::StatusOr<transport::ClientReply> Read(transport::ReadRequest read);
  // Sends a request and returns its reply, or its error in zkCli's words
  // for `path`.
  absl::StatusOr<transport::ClientReply> Send(transport::ClientRequest request,
                                              std::string_view path);
  // The paths of the subtree at `path`, breadth first, itself first
  // (leaving child watches on each if `watch`).
  absl::StatusOr<std::vector<std::string>> ListSubtree(const std::string& path,
                                                       bool watch);
  // Without async events: waits for the next event and prints it.
  absl::Status AwaitAndPrintEvent();
  // Sends `request` (numbered here) and waits for its reply.
  absl::StatusOr<transport::ClientReply> Call(transport::ClientRequest request,
                                              absl::Duration timeout);
  // The reader thread: replies to their calls, events to the queue or out.
  void ReadLoop();
  // Tears down the stream after a failed Connect, a lost connection, or at
  // Close (the session is the caller's to forget).
  void EndStream(bool cancel);

  absl::Status RunStatus();
  // backup: the Backup RPC with the identities addauth added.
  absl::Status RunBackup(const CliCommand& command);
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
  absl::Status RunCommand(const CliCommand& command);
  absl::Status RunCreate(const CliCommand& command);
  absl::Status RunLs(const CliCommand& command);
  absl::Status RunDeleteAll(const CliCommand& command);
  absl::Status RunSetAcl(const CliCommand& command);
  absl::Status RunMulti(const CliCommand& command);

  const Options options_;
  std::ostream* const out_;
  Mutex out_mu_;
  // The calling thread's alone (commands run one at a time).
  std::vector<std::string> peers_;
  size_t current_ = 0;  // index into peers_
  std::string channel_peer_;  // the peer channel_ goes to

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
  // A write on the stream failed: it is lost, even before the reader
  // thread has seen it end.
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  // The session (open, or to resume once its stream is lost), 0 for none.
  int64_t session_id_ ABSL_GUARDED_BY(mu_) = 0;
  // What resumes it (the calling thread's alone).
  std::string session_password_;
  int64_t events_received_ ABSL_GUARDED_BY(mu_) = 0;
  bool print_watches_ ABSL_GUARDED_BY(mu_) = true;
  // The identities addauth added (the calling thread's alone), for backup.
  std::vector<std::pair<std::string, std::string>> auth_;
  std::deque<transport::ClientWatchEvent> events_ ABSL_GUARDED_BY(mu_);
  // The session's watches (the reader thread keeps them as replies and
  // events come), and the reads in flight that set or remove some.
  RemoteWatches watches_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, transport::ReadRequest> watch_calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace synod::tools

#endif  // SYNOD_TOOLS_CLI_CLIENT_H_
