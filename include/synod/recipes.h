// File: synod/recipes.h
//
// The recipes: coordination patterns built on the public Coordinator API
// only, so they work with any Coordinator (docs/recipes.md). Include this
// for all of them, or one header of synod/recipes/ for one.

#ifndef SYNOD_RECIPES_H_
#define SYNOD_RECIPES_H_

#include "synod/recipes/barrier.h"
#include "synod/recipes/counter.h"
#include "synod/recipes/double_barrier.h"
#include "synod/recipes/group_member.h"
#include "synod/recipes/leader_election.h"
#include "synod/recipes/lock.h"
#include "synod/recipes/node_cache.h"
#include "synod/recipes/queue.h"
#include "synod/recipes/read_write_lock.h"
#include "synod/recipes/semaphore.h"
#include "synod/recipes/service_registry.h"
#include "synod/recipes/tree_cache.h"

#endif  // SYNOD_RECIPES_H_
