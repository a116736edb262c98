#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "util/tsan_suppressions.h"  // gRPC's callback API under TSan
