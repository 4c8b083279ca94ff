// SWF traces: every input parses (bad lines skipped and listed) or, with kStop, fails on the
// first bad line; both policies agree on the good lines.
#include "fuzz_check.h"
#include "sim/swf.h"

using namespace shoal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = AsText(data, size);
  auto skip = ParseSwf(text, "fuzz.swf", BadLinePolicy::kSkip);
  FUZZ_CHECK(skip.ok(), "kSkip must not fail");
  auto stop = ParseSwf(text, "fuzz.swf", BadLinePolicy::kStop);
  FUZZ_CHECK(stop.ok() == skip->skipped.empty(), "kStop and kSkip disagree on bad lines");
  if (stop.ok()) {
    FUZZ_CHECK(stop->records.size() == skip->records.size(), "record counts differ");
    for (size_t i = 0; i < stop->records.size(); ++i) {
      FUZZ_CHECK(stop->records[i].f == skip->records[i].f, "records differ");
    }
  }
  return 0;
}
