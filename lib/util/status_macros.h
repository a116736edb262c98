// Status propagation helpers (Debian's Abseil has no ABSL_RETURN_IF_ERROR).

#ifndef SYNOD_UTIL_STATUS_MACROS_H_
#define SYNOD_UTIL_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the current function with `expr`'s status unless it is OK.
#define SYNOD_RETURN_IF_ERROR(expr)                         \
  do {                                                      \
    ::absl::Status synod_status_ = (expr);                  \
    if (!synod_status_.ok()) return synod_status_;          \
  } while (0)

#define SYNOD_CONCAT_INNER_(a, b) a##b
#define SYNOD_CONCAT_(a, b) SYNOD_CONCAT_INNER_(a, b)

// Evaluates `rexpr` (a StatusOr); returns its status on error, otherwise
// moves its value into `lhs` (which may be a declaration).
#define SYNOD_ASSIGN_OR_RETURN(lhs, rexpr) \
  SYNOD_ASSIGN_OR_RETURN_IMPL_(SYNOD_CONCAT_(synod_statusor_, __LINE__), lhs, rexpr)
#define SYNOD_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                 \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

#endif  // SYNOD_UTIL_STATUS_MACROS_H_
