#include "server/ready_host.h"

#include <utility>

namespace synod::server {
namespace {

void MoveAll(std::vector<zab::Entry>* from, std::vector<zab::Entry>* to) {
  if (to->empty()) {
    to->swap(*from);
  } else {
    for (zab::Entry& e : *from) to->push_back(std::move(e));
  }
  from->clear();
}

}  // namespace

bool IsBarrier(const zab::Ready& ready) {
  return ready.snapshot || ready.truncate_after || ready.accepted_epoch ||
         ready.current_epoch || ready.recovered;
}

bool ReadyHost::TakeNext(HostWork* work) {
  if (barrier_ || !core_->HasReady()) return false;
  zab::Ready rd = core_->TakeReady();
  if (observer_) observer_(rd);
  if (IsBarrier(rd)) {
    barrier_ = std::move(rd);
    barrier_written_ = false;
    MaybeWriteBarrier(work);
    return true;
  }
  if (!rd.entries.empty()) {
    Awaiting a;
    a.last = rd.entries.back().zxid;
    // A leader's PROPOSALs go now, while its own log write runs (one sync
    // less per write), unless an earlier message to the same peer waits.
    for (zab::Message& m : rd.messages) {
      if (send_everything_early_ ||
          (zab::MaySendBeforeDurable(m) && !held_to_.count(m.to))) {
        work->send.push_back(std::move(m));
      } else {
        Hold(&a, std::move(m));
      }
    }
    MoveAll(&rd.entries, &work->append);
    awaiting_.push_back(std::move(a));
  } else {
    // Nothing to persist: its messages keep their order behind any that
    // wait for durability.
    if (!awaiting_.empty()) {
      for (zab::Message& m : rd.messages) Hold(&awaiting_.back(), std::move(m));
    } else {
      for (zab::Message& m : rd.messages) work->send.push_back(std::move(m));
    }
    rd.messages.clear();
    core_->Advance(rd);
  }
  MoveAll(&rd.committed, &work->commit);
  for (std::string& r : rd.requests) work->requests.push_back(std::move(r));
  work->lost_leader = work->lost_leader || rd.lost_leader;
  return true;
}

void ReadyHost::OnDurable(Zxid zxid, HostWork* work) {
  if (zxid > durable_) durable_ = zxid;
  while (!awaiting_.empty() && awaiting_.front().last <= durable_) {
    Awaiting a = std::move(awaiting_.front());
    awaiting_.pop_front();
    for (zab::Message& m : a.messages) {
      auto it = held_to_.find(m.to);
      if (--it->second == 0) held_to_.erase(it);
      work->send.push_back(std::move(m));
    }
    zab::Ready done;
    done.entries.push_back(zab::Entry{a.last, std::string()});
    core_->Advance(done);
  }
  MaybeWriteBarrier(work);
}

void ReadyHost::MaybeWriteBarrier(HostWork* work) {
  if (!barrier_ || barrier_written_ || !awaiting_.empty()) return;
  barrier_written_ = true;
  barrier_last_ = barrier_->entries.empty() ? 0 : barrier_->entries.back().zxid;
  work->persist_barrier = true;
}

void ReadyHost::OnBarrierDone(HostWork* work) {
  zab::Ready rd = std::move(*barrier_);
  barrier_.reset();
  barrier_written_ = false;
  // What Advance reads: the last entry, the epochs, the recovery's end.
  zab::Ready advance;
  // Entries that replace truncated ones are durable only once written
  // again (durability is tracked by zxid).
  if (rd.snapshot && rd.snapshot->zxid < durable_) durable_ = rd.snapshot->zxid;
  if (rd.truncate_after && *rd.truncate_after < durable_) {
    durable_ = *rd.truncate_after;
  }
  if (barrier_last_ != 0) {
    advance.entries.push_back(zab::Entry{barrier_last_, std::string()});
    if (barrier_last_ > durable_) durable_ = barrier_last_;
  }
  advance.accepted_epoch = rd.accepted_epoch;
  advance.current_epoch = rd.current_epoch;
  advance.recovered = rd.recovered;
  for (zab::Message& m : rd.messages) work->send.push_back(std::move(m));
  if (rd.snapshot) work->install = std::move(rd.snapshot);
  MoveAll(&rd.committed, &work->commit);
  for (std::string& r : rd.requests) work->requests.push_back(std::move(r));
  work->lost_leader = work->lost_leader || rd.lost_leader;
  core_->Advance(advance);
}

void ReadyHost::Hold(Awaiting* a, zab::Message&& m) {
  ++held_to_[m.to];
  a->messages.push_back(std::move(m));
}

}  // namespace synod::server
