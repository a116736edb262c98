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
#include "tree/quota.h"
#include "util/strings.h"
#include "zab/config.h"

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

std::string Hex(int64_t value) {
  return absl::StrCat("0x", absl::Hex(static_cast<uint64_t>(value)));
}

std::string TimeText(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

// The Stat as `get` and `stat` print it, one field a line.
std::string FormatStat(const ClientStat& s) {
  return absl::StrCat(
      "czxid: ", Hex(s.czxid()), "\nmzxid: ", Hex(s.mzxid()),
      "\npzxid: ", Hex(s.pzxid()), "\nctime: ", TimeText(s.ctime()),
      "\nmtime: ", TimeText(s.mtime()), "\nversion: ", s.version(),
      "\ncversion: ", s.cversion(), "\naversion: ", s.aversion(),
      "\nephemeral_owner: ", Hex(s.ephemeral_owner()),
      "\ndata_length: ", s.data_length(), "\nnum_children: ", s.num_children(),
      "\n");
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

// How many positional arguments each command takes, and which options.
struct Syntax {
  const char* name;
  CliCommand::Kind kind;
  size_t min_args;
  size_t max_args;
  const char* options;  // option letters
  const char* usage;
};

constexpr Syntax kSyntax[] = {
    {"create", CliCommand::Kind::kCreate, 1, 2, "es",
     "create [-e] [-s] path [data]"},
    {"get", CliCommand::Kind::kGet, 1, 1, "", "get path"},
    {"set", CliCommand::Kind::kSet, 2, 2, "v", "set path data [-v version]"},
    {"delete", CliCommand::Kind::kDelete, 1, 1, "v",
     "delete path [-v version]"},
    {"ls", CliCommand::Kind::kLs, 1, 1, "", "ls path"},
    {"stat", CliCommand::Kind::kStat, 1, 1, "", "stat path"},
    {"watch", CliCommand::Kind::kWatch, 1, 1, "", "watch path"},
    {"status", CliCommand::Kind::kStatus, 0, 0, "", "status"},
    {"sync", CliCommand::Kind::kSync, 1, 1, "", "sync path"},
    {"addauth", CliCommand::Kind::kAddAuth, 2, 2, "",
     "addauth scheme credentials"},
    {"members", CliCommand::Kind::kMembers, 0, 0, "", "members"},
    {"setquota", CliCommand::Kind::kSetQuota, 1, 1, "nbNB",
     "setquota -n|-b|-N|-B val path"},
    {"listquota", CliCommand::Kind::kListQuota, 1, 1, "", "listquota path"},
    {"delquota", CliCommand::Kind::kDelQuota, 1, 1, "nbNB",
     "delquota [-n|-b|-N|-B] path"},
    {"reconfig", CliCommand::Kind::kReconfig, 0, 0, "",
     "reconfig [--add ADDR] [--remove ADDR|ID]"},
    {"help", CliCommand::Kind::kHelp, 0, 0, "", "help"},
    {"quit", CliCommand::Kind::kQuit, 0, 0, "", "quit"},
    {"exit", CliCommand::Kind::kQuit, 0, 0, "", "exit"},
};

// True for "-5", "-12": a negative number is an argument, not an option.
bool IsNumber(std::string_view word) {
  int64_t unused;
  return absl::SimpleAtoi(AV(word), &unused);
}

}  // namespace

const char kCliCommandsHelp[] =
    "commands:\n"
    "  create [-e] [-s] path [data]  create a node (-e ephemeral,\n"
    "                                -s sequential)\n"
    "  get path                      print the data, then the stat\n"
    "  set path data [-v version]    replace the data\n"
    "  delete path [-v version]      delete a node\n"
    "  ls path                       list the children\n"
    "  stat path                     print the stat\n"
    "  watch path                    wait for the next change of the node\n"
    "  sync path                     catch the peer up with the leader\n"
    "  status                        the peer's role and view\n"
    "  addauth scheme credentials    add an identity (digest user:password)\n"
    "  members                       one line per member: ID ADDRESS\n"
    "                                voter|observer STATE\n"
    "  reconfig [--add ADDR] [--remove ADDR|ID]\n"
    "                                make the observer at ADDR a voter;\n"
    "                                remove a member\n"
    "  setquota -n|-b|-N|-B val path limit the subtree at path: -n nodes,\n"
    "                                -b bytes (soft: logged), -N, -B (hard:\n"
    "                                writes past them fail)\n"
    "  listquota path                print the quota and the subtree's size\n"
    "  delquota [-n|-b|-N|-B] path   remove those limits (none: the quota)\n"
    "  help                          this text\n"
    "  quit                          leave the shell\n"
    "Use -- before data that starts with '-'.\n";

// Looks the command up, sorts its words into options and positional
// arguments, and checks both against the command's syntax.
absl::StatusOr<CliCommand> ParseCommand(const std::vector<std::string>& words) {
  if (words.empty()) return Usage("no command");
  const Syntax* syntax = nullptr;
  for (const Syntax& s : kSyntax) {
    if (words[0] == s.name) syntax = &s;
  }
  if (syntax == nullptr) {
    return Usage(absl::StrCat("unknown command '", words[0], "'"));
  }
  const std::string_view options(syntax->options);
  const auto usage = [syntax](std::string_view why) {
    return Usage(absl::StrCat(AV(why), "; usage: ", syntax->usage));
  };
  CliCommand command;
  command.kind = syntax->kind;
  if (command.kind == CliCommand::Kind::kReconfig) {
    // Long options, each with its value.
    for (size_t i = 1; i < words.size(); i += 2) {
      const std::string& flag = words[i];
      std::string* value = flag == "--add"      ? &command.add
                           : flag == "--remove" ? &command.remove
                                                : nullptr;
      if (value == nullptr) {
        return usage(absl::StrCat("unknown option ", flag));
      }
      if (i + 1 >= words.size() || words[i + 1].empty()) {
        return usage(absl::StrCat(flag, " needs a value"));
      }
      if (!value->empty()) return usage(absl::StrCat(flag, " given twice"));
      *value = words[i + 1];
    }
    if (command.add.empty() && command.remove.empty()) {
      return usage("nothing to change");
    }
    return command;
  }
  std::vector<std::string> args;
  bool options_ended = false;
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (options_ended || word.size() < 2 || word[0] != '-' || IsNumber(word)) {
      args.push_back(word);
      continue;
    }
    if (word == "--") {
      options_ended = true;
      continue;
    }
    const char letter = word.size() == 2 ? word[1] : '\0';
    if (letter == '\0' || options.find(letter) == std::string_view::npos) {
      return usage(absl::StrCat("unknown option ", word));
    }
    if (letter == 'e') {
      command.ephemeral = true;
    } else if (letter == 's') {
      command.sequential = true;
    } else if (command.kind == CliCommand::Kind::kDelQuota) {
      command.quota_fields |= letter == 'n'   ? quota_fields::kCount
                              : letter == 'b' ? quota_fields::kBytes
                              : letter == 'N' ? quota_fields::kCountHard
                                              : quota_fields::kBytesHard;
    } else if (command.kind == CliCommand::Kind::kSetQuota) {
      if (i + 1 >= words.size()) {
        return usage(absl::StrCat(word, " needs a value"));
      }
      int64_t value = 0;
      if (!absl::SimpleAtoi(AV(words[i + 1]), &value)) {
        return usage(absl::StrCat("bad value '", words[i + 1], "' for ", word));
      }
      int64_t* field = letter == 'n'   ? &command.quota.count
                       : letter == 'b' ? &command.quota.bytes
                       : letter == 'N' ? &command.quota.count_hard
                                       : &command.quota.bytes_hard;
      *field = value;
      ++i;
    } else if (letter == 'v') {
      if (i + 1 >= words.size()) return usage("-v needs a version");
      int32_t version = 0;
      if (!absl::SimpleAtoi(AV(words[i + 1]), &version) || version < -1) {
        return usage(absl::StrCat("bad version '", words[i + 1], "'"));
      }
      command.version = version;
      ++i;
    }
  }
  if (command.kind == CliCommand::Kind::kSetQuota &&
      command.quota == QuotaLimits{}) {
    return usage("no limit given");
  }
  if (args.size() < syntax->min_args) return usage("missing arguments");
  if (args.size() > syntax->max_args) {
    return usage(absl::StrCat("unexpected argument '", args[syntax->max_args],
                              "'"));
  }
  switch (command.kind) {
    case CliCommand::Kind::kAddAuth:
      command.scheme = args[0];
      command.credentials = args[1];
      break;
    default:
      if (!args.empty()) command.path = args[0];
      if (args.size() > 1) command.data = args[1];
      break;
  }
  return command;
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

bool NeedsSession(const CliCommand& command) {
  switch (command.kind) {
    case CliCommand::Kind::kStatus:
    case CliCommand::Kind::kMembers:
    case CliCommand::Kind::kHelp:
    case CliCommand::Kind::kQuit:
      return false;
    default:
      return true;
  }
}

std::string FormatEvent(const transport::ClientWatchEvent& event) {
  const int type = event.type();
  const char* name =
      type >= 0 && type <= static_cast<int>(EventType::kPersistentWatchRemoved)
          ? EventTypeName(static_cast<EventType>(type))
          : "UnknownEvent";
  return absl::StrCat(name, " ", event.path());
}

// ---- CliClient -------------------------------------------------------------

CliClient::CliClient(std::string address, Options options, std::ostream* out)
    : address_(std::move(address)), options_(options), out_(out) {}

CliClient::~CliClient() { Close(); }

const transport::TransportCredentials& CliClient::Credentials() const {
  return options_.credentials ? *options_.credentials
                              : *transport::TransportCredentials::Plaintext();
}

void CliClient::EnsureChannel() {
  if (channel_) return;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(128 << 20);
  args.SetMaxSendMessageSize(128 << 20);
  channel_ = grpc::CreateCustomChannel(address_, Credentials().Channel(), args);
  stub_ = transport::Client::NewStub(channel_);
}

void CliClient::Print(std::string_view text) {
  MutexLock lock(&out_mu_);
  out_->write(text.data(), static_cast<std::streamsize>(text.size()));
  out_->flush();
}

// Opens the stream in two steps with their own deadlines, so that "nobody
// listens there" and "the ensemble has no leader" read differently. The
// stream itself has no deadline: it lives as long as the session.
absl::Status CliClient::Connect() {
  {
    MutexLock lock(&mu_);
    if (stream_ && !stream_ended_) return absl::OkStatus();
  }
  if (stream_) EndStream(/*cancel=*/true);  // lost: a new session
  EnsureChannel();
  const auto connect_deadline =
      std::chrono::system_clock::now() +
      absl::ToChronoMilliseconds(options_.connect_timeout);
  if (!channel_->WaitForConnected(connect_deadline)) {
    return ConnectionLoss(absl::StrCat(
        "cannot reach peer ", address_, " within ",
        absl::FormatDuration(options_.connect_timeout)));
  }
  context_ = std::make_unique<grpc::ClientContext>();
  stream_ = stub_->Session(context_.get());
  {
    MutexLock lock(&mu_);
    stream_ended_ = false;
    writes_done_ = false;
    session_id_ = 0;
    replies_.clear();
    events_.clear();
  }
  reader_ = std::thread([this] { ReadLoop(); });

  ClientRequest open;
  open.mutable_open()->set_timeout_ms(
      absl::ToInt64Milliseconds(options_.session_timeout));
  absl::StatusOr<ClientReply> reply =
      Call(std::move(open), options_.open_timeout);
  absl::Status status = reply.ok() ? ReplyStatus(*reply) : reply.status();
  if (status.ok() && reply->session_id() == 0) {
    status = MakeError(Error::kSystemError, "the peer opened no session");
  }
  if (!status.ok()) {
    if (ErrorOf(status) == Error::kOperationTimeout) {
      status = ConnectionLoss(absl::StrCat(
          "peer ", address_, " did not open a session within ",
          absl::FormatDuration(options_.open_timeout)));
    }
    EndStream(/*cancel=*/true);
    return status;
  }
  MutexLock lock(&mu_);
  session_id_ = reply->session_id();
  return absl::OkStatus();
}

// Numbers and sends `request` from the calling thread (the stream's only
// writer) and waits for the reader thread to file the reply.
absl::StatusOr<ClientReply> CliClient::Call(ClientRequest request,
                                            absl::Duration timeout) {
  uint64_t id;
  {
    MutexLock lock(&mu_);
    if (!stream_ || stream_ended_ || writes_done_) {
      return ConnectionLoss("the connection to the peer was lost");
    }
    id = next_id_++;
  }
  request.set_id(id);
  if (!stream_->Write(request)) {
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
      if (options_.async_events) {
        Print(FormatEvent(reply.event()) + "\n");
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
    replies_[reply.id()] = std::move(reply);
    reply = ClientReply();
  }
  MutexLock lock(&mu_);
  stream_ended_ = true;
}

// Ends the stream: cancelled at once, or half-closed so that the peer
// closes the session first (bounded: cancelled if it takes too long).
void CliClient::EndStream(bool cancel) {
  if (!stream_) return;
  if (!cancel) {
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
  session_id_ = 0;
}

void CliClient::Close() { EndStream(/*cancel=*/false); }

// A session is not silently replaced: the command that finds the stream
// lost fails (its ephemerals are gone), and the next one reconnects.
absl::Status CliClient::ReportLostStream() {
  int64_t lost_session = 0;
  {
    MutexLock lock(&mu_);
    if (!stream_ || !stream_ended_ || writes_done_) return absl::OkStatus();
    lost_session = session_id_;
  }
  EndStream(/*cancel=*/true);
  return ConnectionLoss(absl::StrCat(
      "the connection to peer ", address_, " was lost; session ",
      Hex(lost_session), " ended (the next command opens a new session)"));
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

// The Status RPC: needs no session, so it works against a peer that has no
// leader (that is when one wants it).
absl::Status CliClient::RunStatus() {
  EnsureChannel();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(options_.connect_timeout));
  transport::StatusRequest request;
  transport::StatusReply reply;
  const grpc::Status status = stub_->Status(&context, request, &reply);
  if (!status.ok()) {
    return ConnectionLoss(absl::StrCat("cannot reach peer ", address_, ": ",
                                       AV(status.error_message())));
  }
  Print(absl::StrCat(
      "role: ", AV(reply.role()), "\nepoch: ", reply.epoch(),
      "\nlast_zxid: ", Hex(reply.last_zxid()), "\npeer_id: ", reply.peer_id(),
      "\nleader: ", reply.leader().empty() ? "none" : AV(reply.leader()),
      "\npeers: ", absl::StrJoin(reply.peers(), ","),
      "\nznodes: ", reply.znode_count(), "\nsessions: ", reply.session_count(),
      "\n"));
  return absl::OkStatus();
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

absl::Status CliClient::RunMembers() {
  absl::StatusOr<transport::StatusReply> reply =
      AskStatus(address_, options_.connect_timeout, Credentials());
  if (!reply.ok()) return reply.status();
  if (reply->members().empty()) {
    return MakeError(Error::kReconfigDisabled,
                     absl::StrCat("peer ", address_, " is not in an ensemble"));
  }
  // The states are the leader's to tell.
  if (reply->leader_id() != reply->peer_id()) {
    if (reply->leader().empty()) {
      return ConnectionLoss(
          absl::StrCat("peer ", address_, " knows no serving leader"));
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
        AskStatus(address_, options_.connect_timeout, Credentials());
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
    if (!s.ok()) return s;
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
        AskStatus(address_, options_.connect_timeout, Credentials());
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

// Registers a data watch with exists (so it also catches a creation); in
// the shell the event is printed when it comes, otherwise this waits for it.
absl::Status CliClient::RunWatch(const CliCommand& command) {
  ClientRequest request;
  request.mutable_read()->set_kind(ReadRequest::EXISTS);
  request.mutable_read()->set_path(command.path);
  request.mutable_read()->set_watch(true);
  absl::StatusOr<ClientReply> reply =
      Call(std::move(request), options_.request_timeout);
  if (!reply.ok()) return reply.status();
  if (absl::Status s = ReplyStatus(*reply); !s.ok()) return s;
  if (options_.async_events) return absl::OkStatus();
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

// Builds the request for `command`, sends it, and prints the reply.
absl::Status CliClient::Run(const CliCommand& command) {
  using Kind = CliCommand::Kind;
  switch (command.kind) {
    case Kind::kHelp:
      Print(kCliCommandsHelp);
      return absl::OkStatus();
    case Kind::kQuit:
      return absl::OkStatus();
    case Kind::kStatus:
      return RunStatus();
    case Kind::kMembers:
      return RunMembers();
    default:
      break;
  }
  if (absl::Status s = ReportLostStream(); !s.ok()) return s;
  if (absl::Status s = Connect(); !s.ok()) return s;
  if (command.kind == Kind::kWatch) return RunWatch(command);
  if (command.kind == Kind::kReconfig) return RunReconfig(command);

  ClientRequest request;
  switch (command.kind) {
    case Kind::kCreate: {
      txn::CreateRequest* c = request.mutable_write()->mutable_create();
      c->set_path(command.path);
      c->set_data(command.data);
      CreateMode mode = CreateMode::kPersistent;
      if (command.ephemeral) {
        mode = command.sequential ? CreateMode::kEphemeralSequential
                                  : CreateMode::kEphemeral;
      } else if (command.sequential) {
        mode = CreateMode::kPersistentSequential;
      }
      c->set_mode(static_cast<int32_t>(mode));
      txn::AclEntry* open = c->add_acl();  // world:anyone, all
      open->set_perms(perms::kAll);
      open->set_scheme("world");
      open->set_id("anyone");
      break;
    }
    case Kind::kSet: {
      txn::SetDataRequest* s = request.mutable_write()->mutable_set_data();
      s->set_path(command.path);
      s->set_data(command.data);
      s->set_version(command.version);
      break;
    }
    case Kind::kDelete: {
      txn::DeleteRequest* d = request.mutable_write()->mutable_delete_node();
      d->set_path(command.path);
      d->set_version(command.version);
      break;
    }
    case Kind::kGet:
    case Kind::kLs:
    case Kind::kStat: {
      ReadRequest* r = request.mutable_read();
      r->set_kind(command.kind == Kind::kGet   ? ReadRequest::GET
                  : command.kind == Kind::kLs ? ReadRequest::CHILDREN
                                              : ReadRequest::EXISTS);
      r->set_path(command.path);
      break;
    }
    case Kind::kSync:
      request.mutable_sync()->set_path(command.path);
      break;
    case Kind::kSetQuota: {
      txn::SetQuotaRequest* q = request.mutable_write()->mutable_set_quota();
      q->set_path(command.path);
      q->set_count(command.quota.count);
      q->set_bytes(command.quota.bytes);
      q->set_count_hard(command.quota.count_hard);
      q->set_bytes_hard(command.quota.bytes_hard);
      break;
    }
    case Kind::kListQuota:
      request.mutable_read()->set_kind(ReadRequest::GET_QUOTA);
      request.mutable_read()->set_path(command.path);
      break;
    case Kind::kDelQuota:
      request.mutable_write()->mutable_delete_quota()->set_path(command.path);
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

  absl::StatusOr<ClientReply> reply =
      Call(std::move(request), options_.request_timeout);
  if (!reply.ok()) return reply.status();
  if (absl::Status s = ReplyStatus(*reply); !s.ok()) return s;
  switch (command.kind) {
    case Kind::kCreate:
      Print(absl::StrCat(reply->results_size() > 0 ? reply->results(0).path()
                                                   : command.path,
                         "\n"));
      break;
    case Kind::kGet:
      Print(absl::StrCat(AV(reply->data()), "\n", FormatStat(reply->stat())));
      break;
    case Kind::kLs: {
      std::string text;
      for (const std::string& child : reply->children()) {
        absl::StrAppend(&text, child, "\n");
      }
      Print(text);
      break;
    }
    case Kind::kListQuota: {
      // zkCli's listquota lines.
      const transport::ClientQuota& q = reply->quota();
      Print(absl::StrCat(
          "Output quota for ", command.path, " ",
          EncodeQuotaLimits(QuotaLimits{q.count_limit(), q.bytes_limit(),
                                        q.count_hard_limit(),
                                        q.bytes_hard_limit()}),
          "\nOutput stat for ", command.path, " ",
          EncodeQuotaUsage(q.count(), q.bytes()), "\n"));
      break;
    }
    case Kind::kStat:
      if (!reply->exists()) {
        return MakeError(Error::kNoNode,
                         absl::StrCat("no node ", command.path));
      }
      Print(FormatStat(reply->stat()));
      break;
    default:
      break;  // set, delete, sync, addauth: silent on success
  }
  return absl::OkStatus();
}

}  // namespace synod::tools
