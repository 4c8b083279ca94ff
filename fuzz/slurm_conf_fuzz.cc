// slurm.conf text: the reader and the controller config built from it answer every input with
// a config or an error naming file:line; an accepted config yields scheduler options and
// partitions.
#include "common/slurm_conf.h"
#include "controller/config.h"
#include "fuzz_check.h"

using namespace shoal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = AsText(data, size);
  if (Huge(text)) return -1;  // NodeName lists near the limit: slow, and no new code
  auto lines = ParseSlurmConf(text, "fuzz.conf");
  if (!lines.ok()) {
    FUZZ_CHECK(lines.status().message().starts_with("fuzz.conf:"), "error without file:line");
  }
  auto config = ParseControllerConfig(text, "fuzz.conf");
  if (!config.ok()) {
    FUZZ_CHECK(config.status().message().starts_with("fuzz.conf:"), "error without file:line");
    return 0;
  }
  FUZZ_CHECK(lines.ok(), "config accepted text the reader refused");
  SchedulerOptionsFor(*config);
  auto parts = EffectivePartitions(*config);
  FUZZ_CHECK(!parts.empty(), "no partition in force");
  return 0;
}
