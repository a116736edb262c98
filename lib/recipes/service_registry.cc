// ServiceRegistry (synod/recipes/service_registry.h): a Registrations
// keeper holds this process's instances; ChildrenViews watch services.

#include "synod/recipes/service_registry.h"

#include <map>
#include <memory>
#include <random>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "recipes/children_view.h"
#include "recipes/registrations.h"
#include "util/mutex.h"

namespace synod::recipes {
namespace {

bool ValidName(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos;
}

std::vector<ServiceRegistry::Instance> ToInstances(
    const internal::ChildrenView::Children& children) {
  std::vector<ServiceRegistry::Instance> out;
  out.reserve(children.size());
  for (const auto& [id, data] : children) {
    out.push_back(ServiceRegistry::Instance{id, data});
  }
  return out;
}

}  // namespace

struct ServiceRegistry::State {
  State(Coordinator& c, std::string b)
      : coordinator(c),
        base(std::move(b)),
        random(std::random_device{}()) {}

  std::string ServicePath(const std::string& service) const {
    return absl::StrCat(base, "/", service);
  }
  // The node of `instance_id` of `service`; InvalidArgument unless both
  // are node names.
  absl::StatusOr<std::string> InstancePath(
      const std::string& service, const std::string& instance_id) const {
    if (ValidName(service) && ValidName(instance_id)) {
      return absl::StrCat(ServicePath(service), "/", instance_id);
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "service and instance ids are node names: \"", service, "\", \"",
        instance_id, "\""));
  }

  Coordinator& coordinator;
  const std::string base;
  internal::Registrations registrations{coordinator};

  Mutex mu;
  std::mt19937_64 random ABSL_GUARDED_BY(mu);
  std::map<std::string, uint64_t> turns ABSL_GUARDED_BY(mu);  // round robin
  std::map<int64_t, std::shared_ptr<internal::ChildrenView>> watches
      ABSL_GUARDED_BY(mu);
  int64_t next_watch ABSL_GUARDED_BY(mu) = 1;
};

ServiceRegistry::ServiceRegistry(Coordinator& coordinator, std::string base)
    : state_(std::make_unique<State>(coordinator, std::move(base))) {}

ServiceRegistry::~ServiceRegistry() {
  std::map<int64_t, std::shared_ptr<internal::ChildrenView>> watches;
  {
    MutexLock lock(&state_->mu);
    watches.swap(state_->watches);
  }
  for (auto& [handle, view] : watches) view->Stop();
  // The Registrations member then deletes every instance node.
}

absl::Status ServiceRegistry::Register(const std::string& service,
                                       const std::string& instance_id,
                                       std::string data,
                                       absl::Duration timeout) {
  State& s = *state_;
  absl::StatusOr<std::string> path = s.InstancePath(service, instance_id);
  if (!path.ok()) return path.status();
  return s.registrations.Add(*path, std::move(data), timeout);
}

absl::Status ServiceRegistry::Update(const std::string& service,
                                     const std::string& instance_id,
                                     std::string data,
                                     absl::Duration timeout) {
  State& s = *state_;
  absl::StatusOr<std::string> path = s.InstancePath(service, instance_id);
  if (!path.ok()) return path.status();
  return s.registrations.SetData(*path, std::move(data), timeout);
}

absl::Status ServiceRegistry::Unregister(const std::string& service,
                                         const std::string& instance_id,
                                         absl::Duration timeout) {
  State& s = *state_;
  absl::StatusOr<std::string> path = s.InstancePath(service, instance_id);
  if (!path.ok()) return path.status();
  return s.registrations.Remove(*path, timeout);
}

absl::StatusOr<std::vector<ServiceRegistry::Instance>>
ServiceRegistry::Instances(const std::string& service) const {
  const State& s = *state_;
  if (!ValidName(service)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a service name is a node name: \"", service, "\""));
  }
  absl::StatusOr<internal::ChildrenView::Children> children =
      internal::ReadChildren(s.coordinator, s.ServicePath(service));
  if (!children.ok()) return children.status();
  return ToInstances(*children);
}

absl::StatusOr<std::vector<std::string>> ServiceRegistry::Services() const {
  absl::StatusOr<std::vector<std::string>> names =
      state_->coordinator.GetChildren(state_->base);
  if (!names.ok() && ErrorOf(names.status()) == Error::kNoNode) {
    return std::vector<std::string>();
  }
  return names;
}

absl::StatusOr<ServiceRegistry::Instance> ServiceRegistry::Pick(
    const std::string& service, Strategy strategy) {
  State& s = *state_;
  absl::StatusOr<std::vector<Instance>> instances = Instances(service);
  if (!instances.ok()) return instances.status();
  if (instances->empty()) {
    return MakeError(Error::kNoNode,
                     absl::StrCat("no instance of ", service, " is registered"));
  }
  size_t index;
  {
    MutexLock lock(&s.mu);
    if (strategy == Strategy::kRoundRobin) {
      index = s.turns[service]++ % instances->size();
    } else {
      index = std::uniform_int_distribution<size_t>(
          0, instances->size() - 1)(s.random);
    }
  }
  return std::move((*instances)[index]);
}

absl::StatusOr<int64_t> ServiceRegistry::Watch(const std::string& service,
                                               Listener listener) {
  State& s = *state_;
  if (!ValidName(service)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a service name is a node name: \"", service, "\""));
  }
  auto view = std::make_shared<internal::ChildrenView>(
      s.coordinator, s.ServicePath(service),
      [listener = std::move(listener)](
          const internal::ChildrenView::Children& children) {
        if (listener) listener(ToInstances(children));
      });
  int64_t handle;
  {
    MutexLock lock(&s.mu);
    handle = s.next_watch++;
    s.watches.emplace(handle, view);
  }
  view->Start();
  return handle;
}

void ServiceRegistry::Unwatch(int64_t handle) {
  std::shared_ptr<internal::ChildrenView> view;
  {
    MutexLock lock(&state_->mu);
    auto it = state_->watches.find(handle);
    if (it == state_->watches.end()) return;
    view = std::move(it->second);
    state_->watches.erase(it);
  }
  view->Stop();
}

}  // namespace synod::recipes
