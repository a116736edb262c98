// GroupMember (synod/recipes/group_member.h): a Registrations keeper holds
// the member's node; a ChildrenView tells the listener.

#include "synod/recipes/group_member.h"

#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "recipes/children_view.h"
#include "recipes/registrations.h"
#include "util/mutex.h"

namespace synod::recipes {
namespace {

constexpr absl::Duration kCloseTimeout = absl::Seconds(30);

}  // namespace

struct GroupMember::State {
  State(Coordinator& c, std::string p, std::string i, std::string d,
        Listener l)
      : coordinator(c),
        path(std::move(p)),
        id(std::move(i)),
        node(absl::StrCat(path, "/", id)),
        listener(std::move(l)),
        data(std::move(d)) {}

  Coordinator& coordinator;
  const std::string path;
  const std::string id;
  const std::string node;
  const Listener listener;

  Mutex mu;
  std::string data ABSL_GUARDED_BY(mu);  // for the next Start
  bool started ABSL_GUARDED_BY(mu) = false;
  // Made by Start, dropped by Close (outside mu: they wait for threads).
  std::shared_ptr<internal::Registrations> keeper ABSL_GUARDED_BY(mu);
  std::shared_ptr<internal::ChildrenView> view ABSL_GUARDED_BY(mu);
};

GroupMember::GroupMember(Coordinator& coordinator, std::string path,
                         std::string id, std::string data, Listener listener)
    : state_(std::make_unique<State>(coordinator, std::move(path),
                                     std::move(id), std::move(data),
                                     std::move(listener))) {}

GroupMember::~GroupMember() { Close().IgnoreError(); }

absl::Status GroupMember::Start(absl::Duration timeout) {
  State& s = *state_;
  if (s.id.empty() || s.id.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("a member id is a node name: \"", s.id, "\""));
  }
  std::string data;
  std::shared_ptr<internal::Registrations> keeper;
  {
    MutexLock lock(&s.mu);
    if (s.started) {
      return absl::FailedPreconditionError(
          absl::StrCat("member ", s.id, " of ", s.path, " started already"));
    }
    s.started = true;
    data = s.data;
    keeper = s.keeper =
        std::make_shared<internal::Registrations>(s.coordinator);
  }
  absl::Status added = keeper->Add(s.node, std::move(data), timeout);
  if (!added.ok() &&
      added.code() != absl::StatusCode::kDeadlineExceeded) {
    Close().IgnoreError();  // nothing kept
    return added;
  }
  if (s.listener) {
    auto view = std::make_shared<internal::ChildrenView>(s.coordinator, s.path,
                                                         s.listener);
    {
      MutexLock lock(&s.mu);
      s.view = view;
    }
    view->Start();
  }
  return added;
}

absl::Status GroupMember::SetData(std::string data, absl::Duration timeout) {
  State& s = *state_;
  std::shared_ptr<internal::Registrations> keeper;
  {
    MutexLock lock(&s.mu);
    if (!s.started) {
      return absl::FailedPreconditionError(
          absl::StrCat("member ", s.id, " of ", s.path, " is not started"));
    }
    s.data = data;  // for a Start after Close
    keeper = s.keeper;
  }
  return keeper->SetData(s.node, std::move(data), timeout);
}

absl::StatusOr<GroupMember::Membership> GroupMember::Members() const {
  return internal::ReadChildren(state_->coordinator, state_->path);
}

bool GroupMember::IsRegistered() const {
  std::shared_ptr<internal::Registrations> keeper;
  {
    MutexLock lock(&state_->mu);
    keeper = state_->keeper;
  }
  return keeper != nullptr && keeper->Registered(state_->node);
}

absl::Status GroupMember::Close() {
  State& s = *state_;
  std::shared_ptr<internal::Registrations> keeper;
  std::shared_ptr<internal::ChildrenView> view;
  {
    MutexLock lock(&s.mu);
    if (!s.started) return absl::OkStatus();
    s.started = false;
    keeper = std::move(s.keeper);
    view = std::move(s.view);
  }
  if (view) view->Stop();
  absl::Status removed = keeper->Remove(s.node, kCloseTimeout);
  keeper.reset();  // stops its thread (unless a SetData still holds it)
  return removed;
}

}  // namespace synod::recipes
