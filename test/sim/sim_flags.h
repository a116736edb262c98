// Command-line flags of the simulation tools (synod_zab_sim,
// synod_server_sim).

#ifndef SYNOD_TEST_SIM_SIM_FLAGS_H_
#define SYNOD_TEST_SIM_SIM_FLAGS_H_

#include <cstring>
#include <string>

namespace synod::sim {

// Returns true and sets *value if `arg` is "--name=value".
inline bool Flag(const char* arg, const char* name, std::string* value) {
  const size_t n = std::strlen(name);
  if (std::strncmp(arg, "--", 2) != 0 || std::strncmp(arg + 2, name, n) != 0 ||
      arg[2 + n] != '=') {
    return false;
  }
  *value = arg + 3 + n;
  return true;
}

}  // namespace synod::sim

#endif  // SYNOD_TEST_SIM_SIM_FLAGS_H_
