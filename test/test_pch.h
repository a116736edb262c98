// The headers most test-case files include, precompiled once per test
// executable (synod_test_executable in test/CMakeLists.txt) and so
// included first in each of its files. Only what nearly every file needs
// belongs here: a file still includes what it uses.

#ifndef SYNOD_TEST_TEST_PCH_H_
#define SYNOD_TEST_TEST_PCH_H_

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "synod/synod.h"
#include "test_util.h"

#endif  // SYNOD_TEST_TEST_PCH_H_
