// File: synod/synod.h
//
// The umbrella header of synod, an embeddable coordination library: include
// this and link synod::synod.

#ifndef SYNOD_SYNOD_H_
#define SYNOD_SYNOD_H_

#include "synod/coordinator.h"
#include "synod/options.h"
#include "synod/types.h"
#include "synod/watch.h"

#endif  // SYNOD_SYNOD_H_
