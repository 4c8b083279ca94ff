// Slurm's time and duration formats, for parsing options and printing columns.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "common/status.h"

namespace shoal {

// A time limit meaning "no limit".
inline constexpr int64_t kUnlimited = -1;

// Parses a time limit as sbatch -t / --time accepts it, returning seconds:
// "M", "M:S", "H:M:S", "D-H", "D-H:M", "D-H:M:S"; "UNLIMITED" / "INFINITE" (any case) and "-1"
// -> kUnlimited. A total of 0 ("0") means unlimited too in Slurm (returns kUnlimited). Fields
// are not range-checked ("0:90:00" is 90 minutes), as in Slurm. Rejects other negatives, junk,
// empty, overflow: InvalidArgument "invalid time limit '<text>'".
Result<int64_t> ParseTimeLimit(std::string_view text);

// squeue's TIME / TIME_LIMIT style: "0:00", "5:07", "1:02:03", "2-01:02:03"; a negative value
// prints "INVALID" as squeue does. FormatTimeLimit prints kUnlimited as "UNLIMITED" and otherwise
// as FormatDuration.
std::string FormatDuration(int64_t seconds);
std::string FormatTimeLimit(int64_t seconds);

// sacct's Elapsed / Timelimit style: always at least "HH:MM:SS", "D-HH:MM:SS" past a day.
// kUnlimited prints "UNLIMITED" (the Timelimit column), any other negative "INVALID".
std::string FormatElapsed(int64_t seconds);

// Local-time timestamp as Slurm prints it: "2026-11-25T17:00:00"; 0 prints as `zero_text`
// ("Unknown" in sacct/scontrol, "N/A" in squeue).
std::string FormatTimestamp(int64_t epoch, std::string_view zero_text = "Unknown");

// Parses a point in time as sbatch --begin and sacct -S/-E accept it, relative to `now`
// (epoch seconds, local time zone via localtime_r/mktime), case-insensitive:
//   "YYYY-MM-DD[THH:MM[:SS]]", "MM/DD[/YY]", "MM.DD[.YY]", "MMDD[YY]" (each optionally
//   followed by "-HH:MM[:SS]"; no year = this year), at 00:00:00 when no time is given;
//   "HH:MM[:SS]" and "H[:MM[:SS]]{AM|PM}": the next such time (today, or tomorrow if past);
//   "now[{+|-}N[units]]", units seconds (default) | minutes | hours | days | weeks (singular,
//   plural and s/sec/min/h/hr/d/w forms too; spaces allowed);
//   "today", "tomorrow" (00:00 that day), "midnight" (the next one), "noon", "elevenses" (11:00),
//   "fika" (15:00), "teatime" (16:00).
// A date and a time may be combined with a space ("tomorrow noon", "16:00 12/25/26").
// Returns epoch seconds; errors are InvalidArgument "invalid time specification '<text>'".
Result<int64_t> ParseTimePoint(std::string_view text, int64_t now);

}  // namespace shoal
