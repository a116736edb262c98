// Pairs the zxids of two systems that ran the same writes (the
// differential tests against ZooKeeper): the numbering differs, but the
// same write must give the same zxid wherever it shows (czxid, mzxid,
// pzxid), so the pairing must stay one-to-one.

#ifndef SYNOD_TEST_INTEGRATION_ZXID_MAP_H_
#define SYNOD_TEST_INTEGRATION_ZXID_MAP_H_

#include <cstdint>
#include <map>

namespace synod::testing {

class ZxidMap {
 public:
  // Pairs `theirs` with `ours`; false if either is already paired with
  // another.
  bool Match(int64_t theirs, int64_t ours) {
    auto a = theirs_to_ours_.emplace(theirs, ours);
    auto b = ours_to_theirs_.emplace(ours, theirs);
    return a.first->second == ours && b.first->second == theirs;
  }

 private:
  std::map<int64_t, int64_t> theirs_to_ours_, ours_to_theirs_;
};

}  // namespace synod::testing

#endif  // SYNOD_TEST_INTEGRATION_ZXID_MAP_H_
