// Slurm hostlist expressions: "node[1-3,7],gpu[01-02]" <-> {"node1","node2","node3","node7",
// "gpu01","gpu02"}. Zero padding in a range is kept ("gpu[01-02]").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shoal {

// Expands a hostlist expression into names, in the order written. Also accepts plain
// comma-separated names (whitespace separates too, as in Slurm; empty pieces are skipped).
// Errors are InvalidArgument and name the bad piece ("unbalanced '[' in 'n[1-2'",
// "invalid range '3-1' in 'n[3-1]'"); more than 1,000,000 names in all is an error too.
// Ranges like "[1-3]" and multiple bracket groups ("r[1-2]n[1-2]", first group varies slowest)
// are supported.
Result<std::vector<std::string>> ExpandHostlist(std::string_view expr);

// Compresses names into the shortest usual hostlist form, as Slurm prints it
// (SLURM_JOB_NODELIST, squeue NODELIST): names sharing a prefix and numeric suffix width merge
// into "prefix[a-b,c]"; names are sorted by prefix then number; duplicates dropped.
// {"node1","node2","node4"} -> "node[1-2,4]"; {"node1"} -> "node1"; {} -> "".
// Unpadded numbers of different lengths merge ("n[9-11]"); padded ones only with the same
// width ("n[09-11]", but "n[1,02]"). Names without a numeric suffix are listed as they are.
std::string CompressHostlist(const std::vector<std::string>& names);

}  // namespace shoal
