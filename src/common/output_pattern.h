// Expansion of sbatch's -o/-e filename patterns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace shoal {

struct OutputPatternFields {
  uint64_t job_id = 0;         // %j
  std::string job_name;        // %x
  std::string user;            // %u
  uint64_t array_job_id = 0;   // %A (job_id when not an array)
  int64_t array_task_id = -1;  // %a (-1: not an array; Slurm prints 4294967294, we print 0)
  std::string node_name;       // %N: first node of the allocation
};

// Replaces %j %x %u %A %a %N %%, with an optional zero-pad width (%4j -> "0042"; it only pads
// numbers and is capped at 10, as in Slurm). %A falls back to job_id when array_job_id is 0.
// Unknown %-sequences are kept as written. A relative result is made absolute against
// `work_dir` (joined with '/'); with an empty work_dir it stays relative.
std::string ExpandOutputPattern(std::string_view pattern, const OutputPatternFields& fields,
                                std::string_view work_dir);

}  // namespace shoal
