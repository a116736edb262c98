// File: synod/recipes/group_member.h
//
// Group membership (Curator's GroupMember over a PersistentNode): this
// process is a member of a group while it lives, and sees the others.
// Built on the public Coordinator API only.
//
//   synod::recipes::GroupMember member(
//       *coordinator, "/groups/workers", "worker-7", "host-3:8080",
//       [](const synod::recipes::GroupMember::Membership& members) {
//         // the new membership, on the dispatcher thread
//       });
//   if (!member.Start().ok()) ...;
//   auto members = member.Members();   // id -> data, from the local replica
//
// How it works (docs/recipes.md): the member is the ephemeral node
// `path`/`id` holding `data`. A keeper thread keeps it there: when the node
// goes (its session expired, someone deleted it) the member registers
// again as soon as its Coordinator's session allows, with its latest data;
// a create whose outcome was lost with the connection is settled (Sync,
// then the node's owner tells) and adopted, never doubled. A node with our
// id left by a session of ours that expired is waited out (the ensemble
// deletes it), one of another live session is reported by Start. The
// listener is driven by watches on the group's children and their data,
// re-armed with every read.
//
// Listeners run on the Coordinator's dispatcher thread, one at a time and
// in order; they must not block. Never call Start, SetData or Close from a
// watcher or callback of the same Coordinator. A GroupMember may be used
// from several threads at once.

#ifndef SYNOD_RECIPES_GROUP_MEMBER_H_
#define SYNOD_RECIPES_GROUP_MEMBER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "synod/coordinator.h"

namespace synod::recipes {

class GroupMember {
 public:
  // The members of a group: id -> data (opaque bytes).
  using Membership = std::map<std::string, std::string>;
  // Told the membership: once when the member starts, then after every
  // change (changes that apply together may come as one call; the same
  // membership is never told twice in a row).
  using Listener = std::function<void(const Membership&)>;

  // Member `id` (a node name: non-empty, no '/') of the group at `path`
  // (created with its parents, as containers, when needed), holding
  // `data`. `coordinator` must outlive it.
  GroupMember(Coordinator& coordinator, std::string path, std::string id,
              std::string data, Listener listener = nullptr);
  // Closes (see Close).
  ~GroupMember();

  GroupMember(const GroupMember&) = delete;
  GroupMember& operator=(const GroupMember&) = delete;

  // Joins the group and keeps this member registered until Close: OK once
  // its node exists for this session. AlreadyExists if a node of another
  // live session holds the id (a process still running, or a previous run
  // of this one whose session has not ended yet); then nothing is kept.
  // DeadlineExceeded if `timeout` passed first: it goes on trying and
  // joins as soon as it can. InvalidArgument for a bad id;
  // FailedPrecondition if started already.
  absl::Status Start(absl::Duration timeout = absl::Seconds(30));

  // Replaces this member's data: OK once its node holds it. Kept for every
  // later registration. DeadlineExceeded if `timeout` passed first (the
  // data is written as soon as it can be); FailedPrecondition if not
  // started.
  absl::Status SetData(std::string data,
                       absl::Duration timeout = absl::Seconds(30));

  // Returns the group's members (id -> data) from the local replica; empty
  // if the group does not exist.
  absl::StatusOr<Membership> Members() const;

  // True while this member's node exists in the local replica, owned by
  // this Coordinator's current session: false from a session expiry until
  // it is registered again.
  bool IsRegistered() const;

  // Leaves the group: stops the listener (a call under way finishes
  // first, unless Close runs in it) and deletes this member's node,
  // retrying a lost connection for up to 30 s (after that it goes with
  // the session). OK if not started. Start may be called again after.
  absl::Status Close();

 private:
  struct State;
  const std::unique_ptr<State> state_;
};

}  // namespace synod::recipes

#endif  // SYNOD_RECIPES_GROUP_MEMBER_H_
