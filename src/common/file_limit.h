// The daemons that hold one connection per node (the controller, `shoal sim agents`) need more
// descriptors than the usual soft limit of 1,024.
#pragma once

#include <sys/resource.h>

namespace shoal {

// Raises this process's soft RLIMIT_NOFILE to its hard limit; best effort.
inline void RaiseFileLimit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

}  // namespace shoal
