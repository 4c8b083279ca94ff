// Memory sizes as Slurm options write them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace shoal {

// Parses "--mem" style sizes into MiB: a number with optional suffix K, M, G, T (case
// insensitive, default M). "0" is allowed (means "all memory of the node" in Slurm).
// Kilobytes round up to a whole MiB. A 'B' after the suffix is allowed ("2GB"). Rejects
// negatives, fractions ("1.5G", as Slurm does), junk, overflow with InvalidArgument.
Result<uint64_t> ParseMemoryMB(std::string_view text);

// Prints MiB the way scontrol does (largest unit up to T that loses nothing): "1500M", "4G", "1T"
// for 1048576; 0 prints as "0". ParseMemoryMB reads every result back.
std::string FormatMemoryMB(uint64_t mb);

}  // namespace shoal
