// ZooKeeper's four-letter words: a new connection to the ZooKeeper port
// that sends one of ZooKeeper's four-letter commands ("ruok", "srvr", ...)
// in place of its first frame's length gets a text answer, and the
// connection closes (as `echo srvr | nc host port` expects). The words
// served are ZooKeeper 3.8's ruok, isro, srvr, stat, mntr, conf, cons and
// wchs, in ZooKeeper's formats; which run is Options::zk_4lw_whitelist, as
// ZooKeeper's 4lw.commands.whitelist. A word ZooKeeper knows that is not
// served or not allowed gets ZooKeeper's "not in the whitelist" answer.
//
// Pure: the answers are rendered from a ServerReport the server gathers.

#ifndef SYNOD_ZKSERVER_FOUR_LETTER_WORDS_H_
#define SYNOD_ZKSERVER_FOUR_LETTER_WORDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "synod/coordinator.h"

namespace synod::zkserver {

// The words served.
enum class Word : uint8_t {
  kRuok,
  kIsro,
  kSrvr,
  kStat,
  kMntr,
  kConf,
  kCons,
  kWchs,
};
inline constexpr int kWordCount = 8;

// If the first four bytes a connection sent are a word ZooKeeper 3.8 knows
// (served here or not), that word; nullopt otherwise (a frame's length).
std::optional<std::string_view> KnownWord(std::string_view first_four);

// The served word named `name`, if it is one.
std::optional<Word> ServedWord(std::string_view name);

// Which words run. srvr always does: ZooKeeper always allows it too (its
// zkServer.sh status needs it).
class WordWhitelist {
 public:
  // Only srvr: ZooKeeper's default.
  WordWhitelist();
  // A comma-separated list of served words (spaces around them ignored),
  // or "*" for every one. InvalidArgument names a word not served here.
  static absl::StatusOr<WordWhitelist> Parse(std::string_view list);

  bool Allows(Word w) const { return (bits_ >> static_cast<int>(w)) & 1u; }

 private:
  uint32_t bits_;
};

// One client connection, as cons and stat list it.
struct ConnectionReport {
  std::string remote;         // "ip:port"
  int64_t session = 0;        // 0 before its handshake completed
  int32_t timeout_ms = 0;
  int64_t queued = 0;         // requests read and not yet answered
  int64_t received = 0;       // frames read
  int64_t sent = 0;           // frames sent
  int64_t established_ms = 0;  // Unix ms its session began here; 0: not yet
  // ZooKeeper's name of its last request (LastOpName: static storage).
  std::string_view last_op = "NA";
  int32_t last_cxid = -1;
  int64_t last_zxid = -1;
  int64_t last_response_ms = 0;  // Unix ms of its last reply
};

// What the answers are made of.
struct ServerReport {
  Health health;                  // the peer's
  std::string client_address;     // the ZooKeeper port's "host:port"
  std::string data_dir;
  int64_t tick_ms = 0;
  int32_t max_connections = 0;
  int32_t min_session_timeout_ms = 0;
  int32_t max_session_timeout_ms = 0;
  int64_t uptime_ms = 0;           // since the ZooKeeper port opened
  int64_t packets_received = 0;    // by every connection, closed ones too
  int64_t packets_sent = 0;
  int64_t open_file_descriptors = -1;  // -1: unknown
  int64_t max_file_descriptors = -1;
  std::vector<ConnectionReport> connections;
};

// ZooKeeper's short name of a request's opcode, as cons shows it ("GETD",
// "CREA", ...; "NA" for none).
std::string_view LastOpName(int32_t type);

// Whether the peer serves requests now: it leads, follows or observes
// (it is not looking for a leader). The answers that need a serving peer
// say it does not otherwise, as ZooKeeper's do.
bool Serving(const Health& h);

// The answer to `word` (a KnownWord) under `allowed`; `report` is read only
// by the words that need it.
std::string AnswerWord(std::string_view word, const WordWhitelist& allowed,
                       const ServerReport& report);

}  // namespace synod::zkserver

#endif  // SYNOD_ZKSERVER_FOUR_LETTER_WORDS_H_
