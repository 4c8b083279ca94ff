// `shoal up`, `shoal down`, `shoal status`: a whole cluster (one controller, N agents) as real
// processes on this host, found later through its state directory.
#pragma once

namespace shoal {

int UpMain(int argc, char** argv);
int DownMain(int argc, char** argv);
int StatusMain(int argc, char** argv);

}  // namespace shoal
