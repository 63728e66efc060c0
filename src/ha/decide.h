// Decide: the pure decision core. One observation in, one decision out.
//
// No I/O and no clock: every input, including "now", is in the Observation, so each rule can
// be stepped through in simulated time. Thread-safe (stateless).
#pragma once

#include "ha/decision.h"
#include "ha/observation.h"

namespace baton {

Decision Decide(const Observation& observation);

}  // namespace baton
