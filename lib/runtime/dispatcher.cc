// Dispatcher: a single consumer that swaps out the whole queue each round,
// so posting never waits for user code.

#include "runtime/dispatcher.h"

#include <utility>

namespace synod {

Dispatcher::Dispatcher() : thread_([this] { Run(); }) {}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Dispatcher::Post(Task task) {
  MutexLock lock(&mu_);
  queue_.push_back(std::move(task));
}

void Dispatcher::PostAll(std::vector<Task>* tasks) {
  if (tasks->empty()) return;
  MutexLock lock(&mu_);
  for (Task& t : *tasks) queue_.push_back(std::move(t));
  tasks->clear();
}

int64_t Dispatcher::tasks_run() const {
  MutexLock lock(&mu_);
  return tasks_run_;
}

int64_t Dispatcher::queued() const {
  MutexLock lock(&mu_);
  return static_cast<int64_t>(queue_.size());
}

bool Dispatcher::OnDispatcherThread() const {
  return std::this_thread::get_id() == thread_.get_id();
}

void Dispatcher::Run() {
  std::vector<Task> batch;
  while (true) {
    {
      MutexLock lock(&mu_);
      tasks_run_ += static_cast<int64_t>(batch.size());
      batch.clear();
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_;
      };
      mu_.Await(ready);
      if (queue_.empty()) return;  // stopping, and everything has run
      batch.swap(queue_);
    }
    for (Task& task : batch) task();
  }
}

}  // namespace synod
