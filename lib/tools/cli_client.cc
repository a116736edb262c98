// synod-cli's commands over one Session stream of the Client service.

#include "tools/cli_client.h"

#include <chrono>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "synod/types.h"
#include "synod/watch.h"
#include "storage/backup_file.h"
#include "storage/log_file.h"
#include "tools/cli_format.h"
#include "tree/snapshot.h"
#include "tree/data_tree.h"
#include "tree/quota.h"
#include "util/strings.h"
#include "zab/config.h"
#include "zab/message.h"

namespace synod::tools {
namespace {

using transport::ClientReply;
using transport::ClientRequest;
using transport::ClientStat;
using transport::ReadRequest;

absl::Status Usage(std::string_view message) {
  return absl::InvalidArgumentError(std::string(message));
}

absl::Status ConnectionLoss(std::string_view message) {
  return MakeError(Error::kConnectionLoss, message);
}


// The status a reply carries: OK, or the peer's synod::Error and message.
absl::Status ReplyStatus(const ClientReply& reply) {
  if (reply.error() == 0) return absl::OkStatus();
  int code = reply.error();
  if (code < 0 || code > static_cast<int>(kLastError)) {
    code = static_cast<int>(Error::kSystemError);
  }
  return MakeError(static_cast<Error>(code), reply.message());
}

// create's request: the mode its flags make, its TTL, its ACL (default
// world:anyone with every permission, as zkCli's).
void BuildCreate(const CliCommand& command, txn::CreateRequest* c) {
  c->set_path(command.path);
  c->set_data(command.data);
  CreateMode mode = CreateMode::kPersistent;
  if (command.container) {
    mode = CreateMode::kContainer;
  } else if (command.ephemeral) {
    mode = command.sequential ? CreateMode::kEphemeralSequential
                              : CreateMode::kEphemeral;
  } else if (command.ttl_ms > 0) {
    mode = command.sequential ? CreateMode::kPersistentSequentialWithTtl
                              : CreateMode::kPersistentWithTtl;
    c->set_ttl_ms(command.ttl_ms);
  } else if (command.sequential) {
    mode = CreateMode::kPersistentSequential;
  }
  c->set_mode(static_cast<int32_t>(mode));
  if (command.has_acl) {
    AclToProto(command.acl, c->mutable_acl());
    return;
  }
  txn::AclEntry* open = c->add_acl();
  open->set_perms(perms::kAll);
  open->set_scheme("world");
  open->set_id("anyone");
}

// What a reply tells of the session's watches: the zxid it carries, and,
// for a read that set or removed watches (its request in `calls`, then
// forgotten), that they are set or gone once it succeeded.
void KeepWatches(const ClientReply& reply,
                 std::map<uint64_t, ReadRequest>* calls,
                 RemoteWatches* watches) {
  watches->Saw(reply.zxid());
  auto it = calls->find(reply.id());
  if (it == calls->end()) return;
  const ReadRequest read = std::move(it->second);
  calls->erase(it);
  if (reply.error() != 0) return;
  using Kind = RemoteWatches::Kind;
  switch (read.kind()) {
    case ReadRequest::GET:
      watches->Set(Kind::kData, read.path());
      break;
    case ReadRequest::EXISTS:
      watches->Set(reply.exists() ? Kind::kData : Kind::kExist, read.path());
      break;
    case ReadRequest::CHILDREN:
      watches->Set(Kind::kChild, read.path());
      break;
    case ReadRequest::ADD_WATCH:
      watches->Set(read.watch_mode() ==
                           static_cast<int32_t>(WatchMode::kPersistentRecursive)
                       ? Kind::kPersistentRecursive
                       : Kind::kPersistent,
                   read.path());
      break;
    case ReadRequest::REMOVE_WATCHES:
      watches->Removed(static_cast<WatcherType>(read.watcher_type()),
                       read.path());
      break;
    default:
      break;
  }
}

std::string ChildPath(std::string_view parent, std::string_view child) {
  return parent == "/" ? absl::StrCat("/", AV(child))
                       : absl::StrCat(AV(parent), "/", AV(child));
}

}  // namespace

// ---- CliClient -------------------------------------------------------------

CliClient::CliClient(std::vector<std::string> peers, Options options,
                     std::ostream* out)
    : options_(options), out_(out), peers_(std::move(peers)) {}

CliClient::~CliClient() { Close(); }

const transport::TransportCredentials& CliClient::Credentials() const {
  return options_.credentials ? *options_.credentials
                              : *transport::TransportCredentials::Plaintext();
}

std::string CliClient::current_peer() const {
  return peers_.empty() ? std::string() : peers_[current_ % peers_.size()];
}

void CliClient::EnsureChannel() {
  const std::string peer = current_peer();
  if (channel_ && channel_peer_ == peer) return;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(128 << 20);
  args.SetMaxSendMessageSize(128 << 20);
  channel_ = grpc::CreateCustomChannel(peer, Credentials().Channel(), args);
  stub_ = transport::Client::NewStub(channel_);
  channel_peer_ = peer;
}

void CliClient::SetPeers(std::vector<std::string> peers) {
  Close();
  peers_ = std::move(peers);
  current_ = 0;
}

void CliClient::SetPrintWatches(bool on) {
  MutexLock lock(&mu_);
  print_watches_ = on;
}

bool CliClient::print_watches() const {
  MutexLock lock(&mu_);
  return print_watches_;
}

void CliClient::Print(std::string_view text) {
  MutexLock lock(&out_mu_);
  out_->write(text.data(), static_cast<std::streamsize>(text.size()));
  out_->flush();
}

// Tries each peer once, from the current one on (after a lost stream,
// from the next one).
absl::Status CliClient::Connect() {
  {
    MutexLock lock(&mu_);
    if (stream_ && !stream_ended_ && !write_failed_) return absl::OkStatus();
  }
  if (stream_) {
    EndStream(/*cancel=*/true);  // lost: its session is resumed
    if (!peers_.empty()) current_ = (current_ + 1) % peers_.size();
  }
  if (peers_.empty()) return ConnectionLoss("no peer to connect to");
  absl::Status status;
  for (size_t tried = 0; tried < peers_.size(); ++tried) {
    status = ConnectCurrent();
    // A refusal (bad credentials, a full peer, a session gone) would be
    // the next peer's too; only an unreachable or leaderless peer is
    // passed over.
    if (status.ok() || ErrorOf(status) != Error::kConnectionLoss) break;
    current_ = (current_ + 1) % peers_.size();
  }
  if (ErrorOf(status) == Error::kSessionExpired) {
    // Its ephemerals and watches are gone; the next command opens a new
    // session.
    MutexLock lock(&mu_);
    session_id_ = 0;
    session_password_.clear();
    watches_.Clear();
  }
  return status;
}

// Opens the stream in two steps with their own deadlines, so that "nobody
// listens there" and "the ensemble has no leader" read differently. The
// stream itself has no deadline: it lives as long as the session.
absl::Status CliClient::ConnectCurrent() {
  EnsureChannel();
  const std::string address = current_peer();
  const auto connect_deadline =
      std::chrono::system_clock::now() +
      absl::ToChronoMilliseconds(options_.connect_timeout);
  if (!channel_->WaitForConnected(connect_deadline)) {
    return ConnectionLoss(absl::StrCat(
        "cannot reach peer ", address, " within ",
        absl::FormatDuration(options_.connect_timeout)));
  }
  context_ = std::make_unique<grpc::ClientContext>();
  stream_ = stub_->Session(context_.get());
  int64_t resume = 0;
  // The watches to set again, and the last zxid seen on the streams
  // before: this stream's replies carry zxids of events it has not had.
  std::vector<transport::SetWatchesRequest> watches;
  {
    MutexLock lock(&mu_);
    stream_ended_ = false;
    writes_done_ = false;
    write_failed_ = false;
    resume = session_id_;
    if (resume != 0) watches = watches_.ToRequests();
    replies_.clear();
    watch_calls_.clear();
    events_.clear();
  }
  reader_ = std::thread([this] { ReadLoop(); });

  ClientRequest open;
  open.mutable_open()->set_timeout_ms(
      absl::ToInt64Milliseconds(options_.session_timeout));
  if (resume != 0) {
    open.mutable_open()->set_session_id(resume);
    open.mutable_open()->set_password(session_password_);
  }
  absl::StatusOr<ClientReply> reply =
      Call(std::move(open), options_.open_timeout);
  absl::Status status = reply.ok() ? ReplyStatus(*reply) : reply.status();
  if (status.ok() && reply->session_id() == 0) {
    status = MakeError(Error::kSystemError, "the peer opened no session");
  }
  if (status.ok() && resume != 0 && reply->session_id() != resume) {
    status = MakeError(Error::kSystemError,
                       "the peer resumed another session than asked");
  }
  if (status.ok() && resume != 0) status = RestoreSession(std::move(watches));
  if (!status.ok()) {
    if (ErrorOf(status) == Error::kOperationTimeout) {
      status = ConnectionLoss(absl::StrCat(
          "peer ", address, " did not open a session within ",
          absl::FormatDuration(options_.open_timeout)));
    }
    EndStream(/*cancel=*/true);
    return status;
  }
  if (resume == 0) session_password_ = reply->session_password();
  MutexLock lock(&mu_);
  session_id_ = reply->session_id();
  return absl::OkStatus();
}

// The identities addauth added belong to the session's connection, and
// its watches to its stream: a resumed session gets them again, its
// watches (`watches`, in requests of bounded size) with the last zxid this
// client saw, so that the peer sends the events it missed in between
// (before its reply, as they happened).
absl::Status CliClient::RestoreSession(
    std::vector<transport::SetWatchesRequest> watches) {
  for (const auto& [scheme, credentials] : auth_) {
    ClientRequest auth;
    auth.mutable_auth()->set_scheme(scheme);
    auth.mutable_auth()->set_credentials(credentials);
    absl::StatusOr<ClientReply> added =
        Call(std::move(auth), options_.open_timeout);
    absl::Status s = added.ok() ? ReplyStatus(*added) : added.status();
    if (!s.ok()) return s;
  }
  for (transport::SetWatchesRequest& part : watches) {
    ClientRequest set;
    *set.mutable_set_watches() = std::move(part);
    absl::StatusOr<ClientReply> reply =
        Call(std::move(set), options_.open_timeout);
    absl::Status s = reply.ok() ? ReplyStatus(*reply) : reply.status();
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// Numbers and sends `request` from the calling thread (the stream's only
// writer) and waits for the reader thread to file the reply.
absl::StatusOr<ClientReply> CliClient::Call(ClientRequest request,
                                            absl::Duration timeout) {
  uint64_t id;
  {
    MutexLock lock(&mu_);
    if (!stream_ || stream_ended_ || writes_done_ || write_failed_) {
      return ConnectionLoss("the connection to the peer was lost");
    }
    id = next_id_++;
    if (request.has_read() &&
        (request.read().watch() ||
         request.read().kind() == ReadRequest::ADD_WATCH ||
         request.read().kind() == ReadRequest::REMOVE_WATCHES)) {
      watch_calls_[id] = request.read();
    }
  }
  request.set_id(id);
  if (!stream_->Write(request)) {
    // The next command connects again at once, not on the same lost
    // stream until the reader thread has seen it end.
    MutexLock lock(&mu_);
    write_failed_ = true;
    return ConnectionLoss("the connection to the peer was lost");
  }
  MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(
      [this, id]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return replies_.count(id) > 0 || stream_ended_;
      },
      timeout);
  auto it = replies_.find(id);
  if (it == replies_.end()) {
    if (stream_ended_) {
      return ConnectionLoss("the connection to the peer was lost");
    }
    return MakeError(Error::kOperationTimeout,
                     absl::StrCat("no reply from the peer within ",
                                  absl::FormatDuration(timeout)));
  }
  ClientReply reply = std::move(it->second);
  replies_.erase(it);
  return reply;
}

// Files each reply under its id and each watch event in the queue (or
// prints it, in the shell) until the stream ends.
void CliClient::ReadLoop() {
  ClientReply reply;
  while (stream_->Read(&reply)) {
    if (reply.id() == 0) {
      if (!reply.has_event()) continue;
      {
        MutexLock lock(&mu_);
        watches_.Fired(static_cast<EventType>(reply.event().type()),
                       reply.event().path());
      }
      if (options_.async_events) {
        bool print;
        {
          MutexLock lock(&mu_);
          print = print_watches_;
        }
        if (print) Print(FormatEvent(reply.event()) + "\n");
        MutexLock lock(&mu_);
        ++events_received_;
      } else {
        MutexLock lock(&mu_);
        ++events_received_;
        events_.push_back(reply.event());
      }
      continue;
    }
    MutexLock lock(&mu_);
    KeepWatches(reply, &watch_calls_, &watches_);
    replies_[reply.id()] = std::move(reply);
    reply = ClientReply();
  }
  MutexLock lock(&mu_);
  stream_ended_ = true;
}

// Ends the stream: cancelled at once, or half-closed, once the peer has
// closed the session (bounded: cancelled if it takes too long).
void CliClient::EndStream(bool cancel) {
  if (!stream_) return;
  if (!cancel) {
    bool open = false;
    {
      MutexLock lock(&mu_);
      open = !stream_ended_ && !writes_done_ && session_id_ != 0;
    }
    if (open) {
      // The session ends with the client; a stream that just ends would
      // leave it (and its ephemerals) until its timeout. Its outcome is
      // the peer's to know.
      ClientRequest close;
      close.mutable_close();
      Call(std::move(close), options_.open_timeout).IgnoreError();
    }
    {
      MutexLock lock(&mu_);
      writes_done_ = true;
    }
    stream_->WritesDone();
    MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(
            [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
              return stream_ended_;
            },
            options_.open_timeout)) {
      context_->TryCancel();
    }
  } else {
    context_->TryCancel();
  }
  if (reader_.joinable()) reader_.join();
  stream_->Finish().ok();  // the outcome is known already
  stream_.reset();
  context_.reset();
  MutexLock lock(&mu_);
  stream_ended_ = true;
}

// Closes the session if its stream is up; a session whose stream was lost
// is left to its timeout. Either way the client forgets it.
void CliClient::Close() {
  EndStream(/*cancel=*/false);
  MutexLock lock(&mu_);
  session_id_ = 0;
  session_password_.clear();
  watches_.Clear();
}

bool CliClient::connected() const {
  MutexLock lock(&mu_);
  return !stream_ended_;
}

RemoteWatches CliClient::watches() const {
  MutexLock lock(&mu_);
  return watches_;
}

int64_t CliClient::session_id() const {
  MutexLock lock(&mu_);
  return session_id_;
}

int64_t CliClient::events_received() const {
  MutexLock lock(&mu_);
  return events_received_;
}

bool CliClient::AwaitEvents(int64_t n, absl::Duration timeout) {
  MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(
      [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return events_received_ >= n;
      },
      timeout);
}

namespace {

// The Status RPC of the peer at `address`.
absl::StatusOr<transport::StatusReply> AskStatus(
    const std::string& address, absl::Duration timeout,
    const transport::TransportCredentials& credentials) {
  auto stub = transport::Client::NewStub(
      grpc::CreateChannel(address, credentials.Channel()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(timeout));
  transport::StatusReply reply;
  const grpc::Status status =
      stub->Status(&context, transport::StatusRequest(), &reply);
  if (!status.ok()) {
    return ConnectionLoss(absl::StrCat("cannot reach peer ", address, ": ",
                                       AV(status.error_message())));
  }
  return reply;
}

}  // namespace

// The Status RPC: needs no session, so it works against a peer that has no
// leader (that is when one wants it). The first peer that answers tells.
absl::Status CliClient::RunStatus() {
  absl::StatusOr<transport::StatusReply> reply =
      ConnectionLoss("no peer to ask");
  for (size_t tried = 0; tried < peers_.size(); ++tried) {
    reply = AskStatus(peers_[(current_ + tried) % peers_.size()],
                      options_.connect_timeout, Credentials());
    if (reply.ok()) break;
  }
  if (!reply.ok()) return reply.status();
  Print(absl::StrCat(
      "role: ", AV(reply->role()), "\nepoch: ", reply->epoch(),
      "\nlast_zxid: ", Hex(reply->last_zxid()), "\npeer_id: ",
      reply->peer_id(), "\nleader: ",
      reply->leader().empty() ? "none" : AV(reply->leader()),
      "\npeers: ", absl::StrJoin(reply->peers(), ","),
      "\nznodes: ", reply->znode_count(), "\nsessions: ",
      reply->session_count(), "\n"));
  return absl::OkStatus();
}

// Assembles the snapshot, checks it whole (length, checksum, and that it
// loads), and only then writes the file.
absl::Status CliClient::RunBackup(const CliCommand& command) {
  const std::string address = current_peer();
  EnsureChannel();
  grpc::ClientContext context;
  transport::BackupRequest request;
  for (const auto& [scheme, credentials] : auth_) {
    transport::AuthRequest* a = request.add_auth();
    a->set_scheme(scheme);
    a->set_credentials(credentials);
  }
  std::unique_ptr<grpc::ClientReader<transport::BackupChunk>> reader =
      stub_->Backup(&context, request);
  transport::BackupChunk chunk;
  Backup backup;
  int64_t total = -1;
  uint32_t crc = 0;
  while (reader->Read(&chunk)) {
    if (total < 0) {
      backup.zxid = chunk.zxid();
      backup.created_ms = chunk.created_ms();
      total = chunk.total_bytes();
      crc = chunk.crc32c();
      if (total < 0 || total > (int64_t{1} << 40)) break;
      backup.snapshot.reserve(static_cast<size_t>(total));
    }
    backup.snapshot.append(chunk.data());
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) {
    const Error error =
        status.error_code() == grpc::StatusCode::PERMISSION_DENIED
            ? Error::kNoAuth
        : status.error_code() == grpc::StatusCode::UNAUTHENTICATED
            ? Error::kAuthFailed
            : Error::kConnectionLoss;
    return MakeError(error, absl::StrCat("backup from ", address, ": ",
                                         AV(status.error_message())));
  }
  if (total < 0 || static_cast<int64_t>(backup.snapshot.size()) != total ||
      Crc32c(backup.snapshot.data(), backup.snapshot.size()) != crc) {
    return MakeError(Error::kConnectionLoss,
                     absl::StrCat("backup from ", address,
                                  ": the snapshot arrived damaged or cut"));
  }
  DataTree tree;
  if (absl::Status s = LoadSnapshot(
          backup.snapshot, &tree, [](std::string_view, std::string_view) {},
          [](int64_t, std::string_view) {});
      !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteBackupFile(command.path, backup); !s.ok()) {
    return s;
  }
  Print(absl::StrCat("Wrote ", command.path, ": the tree at ",
                     zab::ZxidString(backup.zxid), ", ", tree.node_count(),
                     " nodes, ", backup.snapshot.size(), " bytes\n"));
  return absl::OkStatus();
}

absl::Status CliClient::RunMembers() {
  const std::string address = current_peer();
  absl::StatusOr<transport::StatusReply> reply =
      AskStatus(address, options_.connect_timeout, Credentials());
  if (!reply.ok()) return reply.status();
  if (reply->members().empty()) {
    return MakeError(Error::kReconfigDisabled,
                     absl::StrCat("peer ", address, " is not in an ensemble"));
  }
  // The states are the leader's to tell.
  if (reply->leader_id() != reply->peer_id()) {
    if (reply->leader().empty()) {
      return ConnectionLoss(
          absl::StrCat("peer ", address, " knows no serving leader"));
    }
    reply = AskStatus(reply->leader(), options_.connect_timeout, Credentials());
    if (!reply.ok()) return reply.status();
  }
  std::string text;
  for (const transport::StatusMember& m : reply->members()) {
    absl::StrAppend(&text, m.id(), " ", AV(m.address()), " ",
                    m.voter() ? "voter" : "observer", " ",
                    m.state().empty() ? "unknown" : m.state(), "\n");
  }
  Print(text);
  return absl::OkStatus();
}

absl::Status CliClient::RunReconfig(const CliCommand& command) {
  for (const auto& [add, who] :
       {std::make_pair(true, command.add), std::make_pair(false, command.remove)}) {
    if (who.empty()) continue;
    // The configuration before, to tell an unknown outcome (below).
    absl::StatusOr<transport::StatusReply> before =
        AskStatus(current_peer(), options_.connect_timeout, Credentials());
    ClientRequest request;
    txn::ReconfigRequest* r = request.mutable_write()->mutable_reconfig();
    if (add) {
      r->set_add_voter(who);
    } else {
      r->set_remove(who);
    }
    absl::StatusOr<ClientReply> reply =
        Call(std::move(request), options_.request_timeout);
    absl::Status s = reply.ok() ? ReplyStatus(*reply) : reply.status();
    if (ErrorOf(s) == Error::kConnectionLoss && before.ok()) {
      // Lost with the leader (removing the leader itself ends that way):
      // ask the next leader whether the change took effect.
      s = CheckReconfigOutcome(*before, add ? who : "", add ? "" : who, s);
    }
    if (!s.ok()) return ZkError(s, "");
  }
  return absl::OkStatus();
}

absl::Status CliClient::CheckReconfigOutcome(
    const transport::StatusReply& before, const std::string& add_voter,
    const std::string& remove, absl::Status lost) {
  absl::StatusOr<zab::Config> was = zab::DecodeConfig(before.config());
  if (!was.ok()) return lost;
  const absl::Time deadline = absl::Now() + options_.request_timeout;
  while (absl::Now() < deadline) {
    absl::StatusOr<transport::StatusReply> now =
        AskStatus(current_peer(), options_.connect_timeout, Credentials());
    if (now.ok() && now->leader_id() != 0 && !now->leader().empty()) {
      absl::StatusOr<transport::StatusReply> leader =
          AskStatus(now->leader(), options_.connect_timeout, Credentials());
      if (leader.ok() && leader->role() == "leader") {
        absl::StatusOr<zab::Config> is = zab::DecodeConfig(leader->config());
        if (!is.ok()) return lost;
        return zab::ChangeInEffect(*was, *is, add_voter, remove) ? absl::OkStatus()
                                                                 : lost;
      }
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return lost;
}

absl::Status CliClient::AwaitAndPrintEvent() {
  transport::ClientWatchEvent event;
  {
    MutexLock lock(&mu_);
    mu_.Await([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !events_.empty() || stream_ended_;
    });
    if (events_.empty()) {
      return ConnectionLoss("the connection to the peer was lost");
    }
    event = std::move(events_.front());
    events_.pop_front();
  }
  Print(FormatEvent(event) + "\n");
  return absl::OkStatus();
}

absl::StatusOr<ClientReply> CliClient::Send(ClientRequest request,
                                            std::string_view path) {
  absl::StatusOr<ClientReply> reply =
      Call(std::move(request), options_.request_timeout);
  if (!reply.ok()) return reply.status();
  if (absl::Status s = ReplyStatus(*reply); !s.ok()) return ZkError(s, path);
  return reply;
}

absl::StatusOr<ClientReply> CliClient::Read(ReadRequest read) {
  const std::string path = read.path();
  ClientRequest request;
  *request.mutable_read() = std::move(read);
  return Send(std::move(request), path);
}

absl::StatusOr<std::vector<std::string>> CliClient::ListSubtree(
    const std::string& path, bool watch) {
  std::vector<std::string> paths = {path};
  for (size_t i = 0; i < paths.size(); ++i) {
    ReadRequest read;
    read.set_kind(ReadRequest::CHILDREN);
    read.set_path(paths[i]);
    read.set_watch(watch);
    absl::StatusOr<ClientReply> reply = Read(std::move(read));
    if (!reply.ok()) {
      // A node deleted while we walk is simply not there.
      if (i > 0 && ErrorOf(reply.status()) == Error::kNoNode) continue;
      return reply.status();
    }
    for (const std::string& child : reply->children()) {
      paths.push_back(ChildPath(paths[i], child));
    }
  }
  return paths;
}

absl::Status CliClient::RunCreate(const CliCommand& command) {
  ClientRequest request;
  BuildCreate(command, request.mutable_write()->mutable_create());
  absl::StatusOr<ClientReply> reply = Send(std::move(request), command.path);
  if (!reply.ok()) return reply.status();
  Print(absl::StrCat("Created ",
                     reply->results_size() > 0 ? reply->results(0).path()
                                               : command.path,
                     "\n"));
  return absl::OkStatus();
}

absl::Status CliClient::RunLs(const CliCommand& command) {
  if (command.recursive) {
    absl::StatusOr<std::vector<std::string>> paths =
        ListSubtree(command.path, command.watch);
    if (!paths.ok()) return paths.status();
    std::string text;
    for (const std::string& p : *paths) absl::StrAppend(&text, p, "\n");
    Print(text);
    return absl::OkStatus();
  }
  ReadRequest read;
  read.set_kind(ReadRequest::CHILDREN);
  read.set_path(command.path);
  read.set_watch(command.watch);
  absl::StatusOr<ClientReply> reply = Read(std::move(read));
  if (!reply.ok()) return reply.status();
  std::string text = FormatList(reply->children()) + "\n";
  if (command.print_stat) text += FormatStat(reply->stat());
  Print(text);
  return absl::OkStatus();
}

// As zkCli's: the subtree listed breadth first, deleted deepest first in
// multis of `batch` ops. A batch that fails stops the deletion (the nodes
// of earlier batches are gone).
absl::Status CliClient::RunDeleteAll(const CliCommand& command) {
  absl::StatusOr<std::vector<std::string>> paths =
      ListSubtree(command.path, /*watch=*/false);
  if (!paths.ok()) return paths.status();
  size_t end = paths->size();
  while (end > 0) {
    const size_t begin =
        end > static_cast<size_t>(command.batch) ? end - command.batch : 0;
    ClientRequest request;
    txn::MultiRequest* multi = request.mutable_write()->mutable_multi();
    for (size_t i = end; i > begin; --i) {
      txn::DeleteRequest* d = multi->add_ops()->mutable_delete_node();
      d->set_path((*paths)[i - 1]);
      d->set_version(-1);
    }
    absl::StatusOr<ClientReply> reply =
        Call(std::move(request), options_.request_timeout);
    if (!reply.ok()) return reply.status();
    if (absl::Status s = ReplyStatus(*reply); !s.ok()) {
      const int op = reply->failed_op();
      const std::string& failed =
          op >= 0 && static_cast<size_t>(op) < end - begin
              ? (*paths)[end - 1 - op]
              : command.path;
      return MakeError(ErrorOf(s),
                       absl::StrCat("Failed to delete some node(s) in the "
                                    "subtree! ",
                                    ZkError(s, failed).message()));
    }
    end = begin;
  }
  return absl::OkStatus();
}

// -R: the node and then its subtree, breadth first, each set on its own
// (as zkCli's); the first failure is reported once all were tried.
absl::Status CliClient::RunSetAcl(const CliCommand& command) {
  std::vector<std::string> paths = {command.path};
  if (command.recursive) {
    absl::StatusOr<std::vector<std::string>> all =
        ListSubtree(command.path, /*watch=*/false);
    if (!all.ok()) return all.status();
    paths = *std::move(all);
  }
  absl::Status first;
  for (const std::string& path : paths) {
    ClientRequest request;
    txn::SetAclRequest* a = request.mutable_write()->mutable_set_acl();
    a->set_path(path);
    AclToProto(command.acl, a->mutable_acl());
    a->set_aversion(command.version);
    absl::StatusOr<ClientReply> reply = Send(std::move(request), path);
    if (!reply.ok()) {
      if (!command.recursive) return reply.status();
      if (first.ok()) first = reply.status();
      continue;
    }
    if (command.print_stat && !command.recursive) {
      Print(FormatStat(reply->results_size() > 0 ? reply->results(0).stat()
                                                 : reply->stat()));
    }
  }
  return first;
}

namespace {

std::string OpPath(const txn::Request& op) {
  switch (op.body_case()) {
    case txn::Request::kCreate: return op.create().path();
    case txn::Request::kSetData: return op.set_data().path();
    case txn::Request::kDeleteNode: return op.delete_node().path();
    case txn::Request::kCheck: return op.check().path();
    default: return "";
  }
}

}  // namespace

absl::Status CliClient::RunMulti(const CliCommand& command) {
  if (command.ops.empty()) return Usage("multi with no ops");
  ClientRequest request;
  txn::MultiRequest* multi = request.mutable_write()->mutable_multi();
  for (const CliCommand& op : command.ops) {
    txn::Request* out = multi->add_ops();
    switch (op.kind) {
      case CliCommand::Kind::kCreate:
        BuildCreate(op, out->mutable_create());
        break;
      case CliCommand::Kind::kSet:
        out->mutable_set_data()->set_path(op.path);
        out->mutable_set_data()->set_data(op.data);
        out->mutable_set_data()->set_version(op.version);
        break;
      case CliCommand::Kind::kDelete:
        out->mutable_delete_node()->set_path(op.path);
        out->mutable_delete_node()->set_version(op.version);
        break;
      case CliCommand::Kind::kCheck:
        out->mutable_check()->set_path(op.path);
        out->mutable_check()->set_version(op.version);
        break;
      default:
        return Usage("multi takes create, set, delete and check");
    }
  }
  const std::vector<txn::Request> ops(multi->ops().begin(), multi->ops().end());
  absl::StatusOr<ClientReply> reply =
      Call(std::move(request), options_.request_timeout);
  if (!reply.ok()) return reply.status();
  if (absl::Status s = ReplyStatus(*reply); !s.ok()) {
    const int op = reply->failed_op();
    if (op < 0 || static_cast<size_t>(op) >= ops.size()) {
      return ZkError(s, "");  // the multi as a whole (too many ops)
    }
    return MakeError(ErrorOf(s),
                     absl::StrCat("multi failed at op ", op + 1, ": ",
                                  ZkError(s, OpPath(ops[op])).message()));
  }
  std::string text;
  for (size_t i = 0; i < ops.size(); ++i) {
    const transport::ClientOpResult* result =
        i < static_cast<size_t>(reply->results_size()) ? &reply->results(i)
                                                       : nullptr;
    switch (ops[i].body_case()) {
      case txn::Request::kCreate:
        absl::StrAppend(&text, "Created ",
                        result ? result->path() : OpPath(ops[i]), "\n");
        break;
      case txn::Request::kSetData:
        absl::StrAppend(&text, "Set ", OpPath(ops[i]), " dataVersion = ",
                        result ? result->stat().version() : -1, "\n");
        break;
      case txn::Request::kDeleteNode:
        absl::StrAppend(&text, "Deleted ", OpPath(ops[i]), "\n");
        break;
      default:
        absl::StrAppend(&text, "Checked ", OpPath(ops[i]), "\n");
        break;
    }
  }
  Print(text);
  return absl::OkStatus();
}

absl::Status CliClient::Run(const CliCommand& command) {
  using Kind = CliCommand::Kind;
  switch (command.kind) {
    case Kind::kHelp: {
      if (command.topic.empty()) {
        Print(CommandsHelp());
        return absl::OkStatus();
      }
      absl::StatusOr<std::string> help = CommandHelp(command.topic);
      if (!help.ok()) return help.status();
      Print(*help);
      return absl::OkStatus();
    }
    case Kind::kQuit:
    case Kind::kHistory:
    case Kind::kRedo:
    case Kind::kPrintWatches:
      return absl::OkStatus();
    case Kind::kStatus:
      return RunStatus();
    case Kind::kMembers:
      return RunMembers();
    case Kind::kBackup:
      return RunBackup(command);
    case Kind::kClose:
      Close();
      return absl::OkStatus();
    case Kind::kConnect:
      SetPeers(command.peers);
      return Connect();
    case Kind::kRemoveWatches:
      if (command.local) {
        // While the connection is lost, -l removes the watches here (as
        // ZooKeeper's client does): they are not set again on resuming.
        MutexLock lock(&mu_);
        if (session_id_ != 0 && (!stream_ || stream_ended_)) {
          if (!watches_.Holds(command.watcher_type, command.path)) {
            return ZkError(MakeError(Error::kNoWatcher, "no watcher"),
                           command.path);
          }
          watches_.Removed(command.watcher_type, command.path);
          return absl::OkStatus();
        }
      }
      break;
    default:
      break;
  }
  if (absl::Status s = Connect(); !s.ok()) return s;
  absl::Status status = RunCommand(command);
  if (status.ok() && SetsWatch(command) && !options_.async_events) {
    return AwaitAndPrintEvent();
  }
  return status;
}

// The commands that need the session: builds each request, sends it, and
// prints the reply.
absl::Status CliClient::RunCommand(const CliCommand& command) {
  using Kind = CliCommand::Kind;
  const std::string& path = command.path;
  ReadRequest read;
  read.set_path(path);
  read.set_watch(command.watch);
  switch (command.kind) {
    case Kind::kCreate:
      return RunCreate(command);
    case Kind::kLs:
      return RunLs(command);
    case Kind::kDeleteAll:
      return RunDeleteAll(command);
    case Kind::kSetAcl:
      return RunSetAcl(command);
    case Kind::kMulti:
      return RunMulti(command);
    case Kind::kReconfig:
      return RunReconfig(command);
    case Kind::kCheck:
      return Usage("check runs only inside multi");
    case Kind::kGet: {
      read.set_kind(ReadRequest::GET);
      absl::StatusOr<ClientReply> reply = Read(std::move(read));
      if (!reply.ok()) return reply.status();
      std::string text = absl::StrCat(AV(reply->data()), "\n");
      if (command.print_stat) text += FormatStat(reply->stat());
      Print(text);
      return absl::OkStatus();
    }
    case Kind::kStat:
    case Kind::kWatch: {
      // watch: exists, so that it also catches a creation.
      read.set_kind(ReadRequest::EXISTS);
      read.set_watch(command.watch || command.kind == Kind::kWatch);
      absl::StatusOr<ClientReply> reply = Read(std::move(read));
      if (!reply.ok()) return reply.status();
      if (command.kind == Kind::kWatch) return absl::OkStatus();
      if (!reply->exists()) {
        return ZkError(MakeError(Error::kNoNode, "no node"), path);
      }
      Print(FormatStat(reply->stat()));
      return absl::OkStatus();
    }
    case Kind::kGetAcl: {
      read.set_kind(ReadRequest::GET_ACL);
      absl::StatusOr<ClientReply> reply = Read(std::move(read));
      if (!reply.ok()) return reply.status();
      std::string text = FormatAcl(reply->acl());
      if (command.print_stat) text += FormatStat(reply->stat());
      Print(text);
      return absl::OkStatus();
    }
    case Kind::kGetEphemerals: {
      read.set_kind(ReadRequest::GET_EPHEMERALS);
      absl::StatusOr<ClientReply> reply = Read(std::move(read));
      if (!reply.ok()) return reply.status();
      Print(FormatList(reply->children()) + "\n");
      return absl::OkStatus();
    }
    case Kind::kGetAllChildrenNumber: {
      read.set_kind(ReadRequest::ALL_CHILDREN_NUMBER);
      absl::StatusOr<ClientReply> reply = Read(std::move(read));
      if (!reply.ok()) return reply.status();
      Print(absl::StrCat(reply->count(), "\n"));
      return absl::OkStatus();
    }
    case Kind::kWhoAmI: {
      read.set_kind(ReadRequest::WHO_AM_I);
      absl::StatusOr<ClientReply> reply = Read(std::move(read));
      if (!reply.ok()) return reply.status();
      std::string text = "Auth scheme: User\n";
      for (const transport::ClientIdentity& id : reply->identities()) {
        absl::StrAppend(&text, AV(id.scheme()), ": ", AV(id.user()), "\n");
      }
      Print(text);
      return absl::OkStatus();
    }
    case Kind::kAddWatch: {
      read.set_kind(ReadRequest::ADD_WATCH);
      read.set_watch_mode(static_cast<int32_t>(command.watch_mode));
      return Read(std::move(read)).status();
    }
    case Kind::kRemoveWatches: {
      read.set_kind(ReadRequest::REMOVE_WATCHES);
      read.set_watcher_type(static_cast<int32_t>(command.watcher_type));
      read.set_local(command.local);
      return Read(std::move(read)).status();
    }
    case Kind::kListQuota: {
      read.set_kind(ReadRequest::GET_QUOTA);
      absl::StatusOr<ClientReply> reply = Read(std::move(read));
      if (!reply.ok()) return reply.status();
      // zkCli's listquota lines.
      const transport::ClientQuota& q = reply->quota();
      Print(absl::StrCat(
          "Output quota for ", path, " ",
          EncodeQuotaLimits(QuotaLimits{q.count_limit(), q.bytes_limit(),
                                        q.count_hard_limit(),
                                        q.bytes_hard_limit()}),
          "\nOutput stat for ", path, " ",
          EncodeQuotaUsage(q.count(), q.bytes()), "\n"));
      return absl::OkStatus();
    }
    default:
      break;
  }

  ClientRequest request;
  switch (command.kind) {
    case Kind::kSet: {
      txn::SetDataRequest* s = request.mutable_write()->mutable_set_data();
      s->set_path(path);
      s->set_data(command.data);
      s->set_version(command.version);
      break;
    }
    case Kind::kDelete: {
      txn::DeleteRequest* d = request.mutable_write()->mutable_delete_node();
      d->set_path(path);
      d->set_version(command.version);
      break;
    }
    case Kind::kSync:
      request.mutable_sync()->set_path(path);
      break;
    case Kind::kSetQuota: {
      txn::SetQuotaRequest* q = request.mutable_write()->mutable_set_quota();
      q->set_path(path);
      q->set_count(command.quota.count);
      q->set_bytes(command.quota.bytes);
      q->set_count_hard(command.quota.count_hard);
      q->set_bytes_hard(command.quota.bytes_hard);
      break;
    }
    case Kind::kDelQuota:
      request.mutable_write()->mutable_delete_quota()->set_path(path);
      request.mutable_write()->mutable_delete_quota()->set_fields(
          command.quota_fields != 0 ? command.quota_fields
                                    : quota_fields::kAll);
      break;
    case Kind::kAddAuth:
      request.mutable_auth()->set_scheme(command.scheme);
      request.mutable_auth()->set_credentials(command.credentials);
      break;
    default:
      return Usage("unsupported command");
  }
  absl::StatusOr<ClientReply> reply = Send(std::move(request), path);
  if (!reply.ok()) return reply.status();
  if (command.kind == Kind::kAddAuth) {
    auth_.emplace_back(command.scheme, command.credentials);
  }
  switch (command.kind) {
    case Kind::kSet: {
      const ClientStat& stat = reply->results_size() > 0
                                   ? reply->results(0).stat()
                                   : reply->stat();
      Print(command.print_stat
                ? FormatStat(stat)
                : absl::StrCat("dataVersion = ", stat.version(), "\n"));
      break;
    }
    case Kind::kSync:
      Print("Sync is OK\n");
      break;
    default:
      break;  // delete, addauth, quotas: silent on success
  }
  return absl::OkStatus();
}

}  // namespace synod::tools
