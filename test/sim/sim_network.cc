// The deterministic simulated network: a (delivery time, sequence)-ordered
// queue of messages, fault state kept in ordered containers, and a trace.

#include "sim/sim_network.h"

#include <algorithm>

namespace synod::sim {
namespace {

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(uint64_t seed) {
  uint64_t state = seed;
  for (uint64_t& s : s_) s = SplitMix64(&state);
}

uint64_t Rng::Next() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

uint64_t Rng::Uniform(uint64_t n) {
  if (n == 0) return 0;
  // Reject the lowest (2^64 mod n) values so every residue is equally likely.
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    uint64_t x = Next();
    if (x >= threshold) return x % n;
  }
}

int64_t Rng::Range(int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
  // span == 0 means the full 64-bit range.
  uint64_t r = span == 0 ? Next() : Uniform(span);
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + r);
}

bool Rng::Chance(double p) {
  if (p <= 0) return false;
  if (p >= 1) return true;
  // 53 random bits as a double in [0, 1): exact in IEEE 754 everywhere.
  return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p;
}

Network::Network(uint64_t seed, NetworkOptions options)
    : options_(options), rng_(seed) {
  SetDelay(options.min_delay, options.max_delay);
}

void Network::AdvanceTo(Tick t) { now_ = std::max(now_, t); }

std::optional<Tick> Network::NextEventTime() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.begin()->first.first;
}

void Network::Send(zab::Message m) {
  ++stats_.sent;
  if (IsDown(m.from) || IsDown(m.to)) return Drop(m, "down");
  if (const char* reason = BlockReason(m.from, m.to)) return Drop(m, reason);
  if (rng_.Chance(options_.drop_probability)) return Drop(m, "random");
  const bool duplicate = rng_.Chance(options_.duplicate_probability);
  if (duplicate) {
    ++stats_.duplicated;
    Enqueue(m, "send");
    Enqueue(std::move(m), "dup");
  } else {
    Enqueue(std::move(m), "send");
  }
}

void Network::Enqueue(zab::Message m, const char* verb) {
  Tick due = now_ + rng_.Range(options_.min_delay, options_.max_delay);
  Tick& tail = link_tail_[Link(m.from, m.to)];
  if (options_.fifo_per_link) due = std::max(due, tail);
  tail = std::max(tail, due);
  if (options_.trace) Log(verb, m, " due=" + std::to_string(due));
  queue_.emplace(Key(due, seq_++), std::move(m));
}

std::optional<zab::Message> Network::Next(Tick until) {
  if (queue_.empty() || queue_.begin()->first.first > until) {
    return std::nullopt;
  }
  auto node = queue_.extract(queue_.begin());
  AdvanceTo(node.key().first);
  ++stats_.delivered;
  Log("deliver", node.mapped(), "");
  return std::move(node.mapped());
}

size_t Network::PopDue(Tick now, std::vector<zab::Message>* out) {
  AdvanceTo(now);
  size_t n = 0;
  while (std::optional<zab::Message> m = Next(now_)) {
    out->push_back(std::move(*m));
    ++n;
  }
  return n;
}

void Network::SetDelay(Tick min_delay, Tick max_delay) {
  options_.min_delay = std::max<Tick>(0, min_delay);
  options_.max_delay = std::max(options_.min_delay, max_delay);
}

void Network::SetDropProbability(double p) { options_.drop_probability = p; }

void Network::SetDuplicateProbability(double p) {
  options_.duplicate_probability = p;
}

void Network::SetFifo(bool fifo_per_link) {
  options_.fifo_per_link = fifo_per_link;
}

void Network::Partition(const std::vector<std::vector<zab::PeerId>>& groups) {
  partitioned_ = true;
  group_of_.clear();
  std::string line = "partition";
  for (size_t g = 0; g < groups.size(); ++g) {
    line += " {";
    for (size_t i = 0; i < groups[g].size(); ++i) {
      group_of_[groups[g][i]] = g;
      line += (i ? "," : "") + std::to_string(groups[g][i]);
    }
    line += "}";
  }
  Log(line);
  DropInFlight([this](const zab::Message& m) {
    return BlockReason(m.from, m.to);
  });
}

void Network::Isolate(zab::PeerId peer) {
  isolated_.insert(peer);
  Log("isolate " + std::to_string(peer));
  DropInFlight([this](const zab::Message& m) {
    return BlockReason(m.from, m.to);
  });
}

void Network::Cut(zab::PeerId from, zab::PeerId to) {
  cuts_.insert(Link(from, to));
  Log("cut " + std::to_string(from) + "->" + std::to_string(to));
  DropInFlight([this](const zab::Message& m) {
    return BlockReason(m.from, m.to);
  });
}

void Network::Heal() {
  partitioned_ = false;
  group_of_.clear();
  isolated_.clear();
  cuts_.clear();
  Log("heal");
}

bool Network::Blocked(zab::PeerId from, zab::PeerId to) const {
  return BlockReason(from, to) != nullptr;
}

const char* Network::BlockReason(zab::PeerId from, zab::PeerId to) const {
  if (from == to) return nullptr;
  if (isolated_.count(from) || isolated_.count(to)) return "isolated";
  if (cuts_.count(Link(from, to))) return "cut";
  if (partitioned_) {
    auto a = group_of_.find(from);
    auto b = group_of_.find(to);
    if (a == group_of_.end() || b == group_of_.end() ||
        a->second != b->second) {
      return "partition";
    }
  }
  return nullptr;
}

void Network::ResetLink(zab::PeerId a, zab::PeerId b) {
  Log("reset " + std::to_string(a) + "<->" + std::to_string(b));
  DropInFlight([a, b](const zab::Message& m) -> const char* {
    bool on_link = (m.from == a && m.to == b) || (m.from == b && m.to == a);
    return on_link ? "reset" : nullptr;
  });
  link_tail_.erase(Link(a, b));
  link_tail_.erase(Link(b, a));
}

void Network::SetDown(zab::PeerId peer, bool down) {
  if (!down) {
    if (down_.erase(peer)) Log("up " + std::to_string(peer));
    return;
  }
  if (!down_.insert(peer).second) return;
  Log("down " + std::to_string(peer));
  DropInFlight([peer](const zab::Message& m) -> const char* {
    return m.to == peer ? "down" : nullptr;
  });
}

template <typename F>
void Network::DropInFlight(F reason_of) {
  // Walks in delivery order, so the trace lists drops deterministically.
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (const char* reason = reason_of(it->second)) {
      Drop(it->second, reason);
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
}

void Network::Drop(const zab::Message& m, const char* reason) {
  ++stats_.dropped;
  if (options_.trace) Log("drop", m, std::string(" (") + reason + ")");
}

void Network::Note(std::string_view text) {
  Log("note " + std::string(text));
}

void Network::Log(const char* verb, const zab::Message& m,
                  const std::string& suffix) {
  if (!options_.trace) return;
  Log(std::string(verb) + " " + zab::Describe(m) + suffix);
}

void Network::Log(const std::string& line) {
  if (!options_.trace) return;
  trace_.push_back("t=" + std::to_string(now_) + " " + line);
  if (options_.trace_capacity > 0 && trace_.size() > options_.trace_capacity) {
    trace_.pop_front();
  }
}

std::string Network::Trace(size_t max_lines) const {
  size_t start = trace_.size() > max_lines ? trace_.size() - max_lines : 0;
  std::string out;
  for (size_t i = start; i < trace_.size(); ++i) {
    out += trace_[i];
    out += '\n';
  }
  return out;
}

}  // namespace synod::sim
