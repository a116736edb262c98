// File: synod/recipes/service_registry.h
//
// Service discovery (Curator's ServiceDiscovery, simplified): processes
// register instances of named services; others list them, watch them and
// pick one. Built on the public Coordinator API only.
//
//   synod::recipes::ServiceRegistry registry(*coordinator, "/services");
//   registry.Register("search", "host-3:9000", "host-3:9000");
//   ...
//   auto one = registry.Pick("search",
//       synod::recipes::ServiceRegistry::Strategy::kRoundRobin);
//   if (one.ok()) Connect(one->data);
//
// How it works (docs/recipes.md): an instance is the ephemeral node
// `base`/`service`/`instance_id`; its data is the caller's, opaque bytes
// (an address, or an encoded record: the registry never reads it). It is
// kept registered as GroupMember keeps a member: created again after a
// session expiry or a deletion, with its latest data; a create lost with
// the connection is settled, never doubled. An instance disappears when its
// process unregisters it, stops its Coordinator (the session closes), or is
// cut off past its session timeout. Lists and picks read the local replica;
// watches re-arm one-shot watches with every read and compare what they
// read with what they last reported, so no change is missed.
//
// Listeners run on the Coordinator's dispatcher thread, one at a time and
// in order; they must not block. Never call Register, Update, Unregister,
// Unwatch or the destructor from a watcher or callback of the same
// Coordinator. A ServiceRegistry may be used from several threads at once.

#ifndef SYNOD_RECIPES_SERVICE_REGISTRY_H_
#define SYNOD_RECIPES_SERVICE_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "synod/coordinator.h"

namespace synod::recipes {

class ServiceRegistry {
 public:
  // One registered instance of a service.
  struct Instance {
    std::string id;    // unique within its service
    std::string data;  // the registrant's bytes (an address, a record)

    friend bool operator==(const Instance& a, const Instance& b) {
      return a.id == b.id && a.data == b.data;
    }
  };
  // Told a service's instances (sorted by id): once when the watch starts,
  // then after every change (changes that apply together may come as one
  // call; the same set is never told twice in a row).
  using Listener = std::function<void(const std::vector<Instance>&)>;
  // How Pick chooses among a service's instances.
  enum class Strategy {
    kRandom,      // uniformly at random
    kRoundRobin,  // each in turn (by id), per service and ServiceRegistry
  };

  // A registry under the node `base` (created with its parents, as
  // containers, when needed). `coordinator` must outlive it.
  ServiceRegistry(Coordinator& coordinator, std::string base);
  // Unregisters every instance this object registered (deleting their
  // nodes, up to 30 s through a lost connection) and stops its watches.
  ~ServiceRegistry();

  ServiceRegistry(const ServiceRegistry&) = delete;
  ServiceRegistry& operator=(const ServiceRegistry&) = delete;

  // Registers `instance_id` of `service` (node names: non-empty, no '/')
  // with `data`, and keeps it registered until Unregister: OK once its
  // node exists for this session. AlreadyExists if this object registered
  // it already, or another live session holds the id (nothing kept then).
  // DeadlineExceeded if `timeout` passed first: it goes on trying.
  absl::Status Register(const std::string& service,
                        const std::string& instance_id, std::string data,
                        absl::Duration timeout = absl::Seconds(30));

  // Replaces the data of an instance this object registered: OK once its
  // node holds it (kept for later registrations). NotFound if it did not
  // register it; DeadlineExceeded if `timeout` passed first.
  absl::Status Update(const std::string& service,
                      const std::string& instance_id, std::string data,
                      absl::Duration timeout = absl::Seconds(30));

  // Unregisters an instance this object registered: deletes its node
  // (retrying a lost connection within `timeout`). OK if it was not
  // registered here.
  absl::Status Unregister(const std::string& service,
                          const std::string& instance_id,
                          absl::Duration timeout = absl::Seconds(30));

  // Returns the instances of `service`, sorted by id, from the local
  // replica: empty if there are none.
  absl::StatusOr<std::vector<Instance>> Instances(
      const std::string& service) const;

  // Returns the services that have or had instances (sorted), from the
  // local replica. (A service's node is a container: it goes some time
  // after its last instance.)
  absl::StatusOr<std::vector<std::string>> Services() const;

  // Picks one instance of `service` from the local replica. NotFound if it
  // has none.
  absl::StatusOr<Instance> Pick(const std::string& service, Strategy strategy);

  // Watches the instances of `service` (see Listener); returns a handle
  // for Unwatch. InvalidArgument for a bad service name.
  absl::StatusOr<int64_t> Watch(const std::string& service,
                                Listener listener);

  // Stops the watch `handle`: no call starts after it returns, and one
  // under way has finished (unless Unwatch runs in it). Unknown handles
  // are ignored.
  void Unwatch(int64_t handle);

 private:
  struct State;
  const std::unique_ptr<State> state_;
};

}  // namespace synod::recipes

#endif  // SYNOD_RECIPES_SERVICE_REGISTRY_H_
