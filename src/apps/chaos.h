// `shoal chaos`: faults injected into a running local cluster (`shoal up`) to watch, teach and
// test how it recovers: a node that crashes, an agent that freezes, a node cut off from the
// controller, a controller that dies and comes back, or a soak of random faults.
#pragma once

namespace shoal {

int ChaosMain(int argc, char** argv);

}  // namespace shoal
