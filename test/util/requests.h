// Builders of txn::Requests for the tests of the preparer and the tree.

#ifndef SYNOD_TEST_UTIL_REQUESTS_H_
#define SYNOD_TEST_UTIL_REQUESTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "synod/types.h"
#include "tree/data_tree.h"
#include "txn/txn.pb.h"

namespace synod::testing {

inline txn::Request CreateReq(const std::string& path,
                              const std::string& data = "",
                              CreateMode mode = CreateMode::kPersistent,
                              const AclList& acl = {}, int64_t ttl_ms = 0) {
  txn::Request r;
  txn::CreateRequest* c = r.mutable_create();
  c->set_path(path);
  c->set_data(data);
  AclToProto(acl, c->mutable_acl());
  c->set_mode(static_cast<int32_t>(mode));
  c->set_ttl_ms(ttl_ms);
  return r;
}

inline txn::Request DeleteReq(const std::string& path, int32_t version = -1) {
  txn::Request r;
  r.mutable_delete_node()->set_path(path);
  r.mutable_delete_node()->set_version(version);
  return r;
}

inline txn::Request SetReq(const std::string& path, const std::string& data,
                           int32_t version = -1) {
  txn::Request r;
  r.mutable_set_data()->set_path(path);
  r.mutable_set_data()->set_data(data);
  r.mutable_set_data()->set_version(version);
  return r;
}

inline txn::Request MultiReq(const std::vector<txn::Request>& ops) {
  txn::Request r;
  txn::MultiRequest* m = r.mutable_multi();
  for (const txn::Request& op : ops) *m->add_ops() = op;
  return r;
}

}  // namespace synod::testing

#endif  // SYNOD_TEST_UTIL_REQUESTS_H_
