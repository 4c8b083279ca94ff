// `shoal chaos`: faults injected into a running local cluster (`shoal up`) to watch, teach and
// test how it recovers: a node that crashes, an agent that freezes, a node cut off from the
// controller, a controller that dies and comes back, or a soak of random faults.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace shoal {

int ChaosMain(int argc, char** argv);

// "45", "45s", "3m", "2h" as seconds; 0 and anything else is InvalidArgument naming `what`.
Result<int64_t> ParseChaosSeconds(std::string_view text, std::string_view what);
// "20-60" or "30" (both ends the same), each as ParseChaosSeconds reads it; min <= max.
Result<std::pair<int64_t, int64_t>> ParseChaosRange(std::string_view text, std::string_view what);

}  // namespace shoal
