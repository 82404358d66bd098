// How an aggregate route's answers become one (pure: no I/O, unit-tested alone).
//
//   group (default)  {"user": {...}, "invoices": [...]}   each answer under its name
//   merge            {...user's members, ...invoices'}    objects' members in one object;
//                                                         a key in several: the backend
//                                                         listed last wins; an answer
//                                                         that is not an object goes
//                                                         under its name
//   array            [{...}, [...]]                       in the order listed; a failed
//                                                         backend's place is null
//
// With group and merge, the names of the backends that failed are listed under the
// route's partial_field ("_partial"); their own keys are left out.
#pragma once

#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "aggregate/plan.h"
#include "config/config.h"

namespace portico::aggregate {

struct Outcome {
  bool done = false;  // answered, failed or given up on
  bool ok = false;
  boost::json::value value;  // ok: the answer as shaped by its backend's settings
  std::string error;         // failed: why, for the log
};

// A backend's answer through its target, select, drop and rename (in that order).
boost::json::value shape(const CallPlan& call, boost::json::value answer);

// The route's answer from every backend's outcome (aligned with aggregate.backends).
boost::json::value combine(const config::Aggregate& aggregate,
                           const std::vector<Outcome>& outcomes);

}  // namespace portico::aggregate
