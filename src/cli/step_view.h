// squeue -s: the running steps in Slurm's default step columns
// (STEPID NAME PARTITION USER TIME NODELIST, "%.15i %.8j %.9P %.8u %.9M %N").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model.h"

namespace shoal {

std::string RenderStepList(const std::vector<Step>& steps, bool header, int64_t now);

}  // namespace shoal
