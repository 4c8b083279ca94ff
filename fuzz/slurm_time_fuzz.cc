// Slurm time formats: time limits (sbatch -t) and points in time (--begin, sacct -S) answer
// every input with a value or an error; a parsed limit prints and reads back unchanged; the
// formatters take any 64-bit value.
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "common/slurm_time.h"
#include "fuzz_check.h"

using namespace shoal;

namespace {
// 2026-03-14T15:09:26 UTC: a fixed "now" keeps runs reproducible.
constexpr int64_t kNow = 1773500966;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("TZ", "UTC", 1);
  tzset();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = AsText(data, size);
  auto limit = ParseTimeLimit(text);
  if (limit.ok()) {
    FUZZ_CHECK(*limit == kUnlimited || *limit > 0, "a time limit of zero or below");
    const std::string printed = FormatTimeLimit(*limit);
    auto back = ParseTimeLimit(printed);
    FUZZ_CHECK(back.ok() && *back == *limit, "printed limit does not read back: " + printed);
    FormatElapsed(*limit);
  }
  auto when = ParseTimePoint(text, kNow);
  if (when.ok()) FormatTimestamp(*when);
  if (size >= sizeof(int64_t)) {
    int64_t any = 0;
    std::memcpy(&any, data, sizeof(any));
    FormatDuration(any);
    FormatTimeLimit(any);
    FormatElapsed(any);
    FormatTimestamp(any);
  }
  return 0;
}
