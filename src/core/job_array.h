// sbatch --array specifications: "0-15", "1,3,5-7", "0-20:4", with an optional "%N" throttle.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shoal {

struct ArraySpec {
  std::vector<int64_t> task_ids;  // ascending, no duplicates
  uint32_t max_running = 0;       // 0: no throttle
};

// Parses a spec; every id must be below `max_array_size` (MaxArraySize). Errors say why
// ("invalid job array specification").
Result<ArraySpec> ParseArraySpec(std::string_view text, uint32_t max_array_size);

// The compact form of ascending ids: {1,2,3,5,7,9} -> "1-3,5-9:2"? No: Slurm prints plain
// ranges, so {1,2,3,5} -> "1-3,5".
std::string FormatTaskIds(const std::vector<int64_t>& ids);

}  // namespace shoal
