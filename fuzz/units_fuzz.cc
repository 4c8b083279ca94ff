// Memory sizes: ParseMemoryMB answers every input with a size or an error, and every size
// FormatMemoryMB prints (for a parsed value or any 64-bit number) reads back unchanged.
#include <cstring>
#include <string>

#include "common/units.h"
#include "fuzz_check.h"

using namespace shoal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto mb = ParseMemoryMB(AsText(data, size));
  if (mb.ok()) {
    const std::string text = FormatMemoryMB(*mb);
    auto back = ParseMemoryMB(text);
    FUZZ_CHECK(back.ok() && *back == *mb, "printed size does not read back: " + text);
  }
  if (size >= sizeof(uint64_t)) {
    uint64_t any = 0;
    std::memcpy(&any, data, sizeof(any));
    const std::string text = FormatMemoryMB(any);
    auto back = ParseMemoryMB(text);
    FUZZ_CHECK(back.ok() && *back == any, "printed size does not read back: " + text);
  }
  return 0;
}
