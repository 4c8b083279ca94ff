// Hostlist expressions: ExpandHostlist must answer every input with names or an error, and
// CompressHostlist's output of those names must expand to the same set (it sorts and drops
// duplicates) and compress to itself again.
#include <set>
#include <string>

#include "common/hostlist.h"
#include "fuzz_check.h"

using namespace shoal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = AsText(data, size);
  if (Huge(text)) return -1;  // not added to the corpus
  auto names = ExpandHostlist(text);
  if (!names.ok()) {
    FUZZ_CHECK(!names.status().message().empty(), "an error without a message");
    return 0;
  }
  const std::string compressed = CompressHostlist(*names);
  auto again = ExpandHostlist(compressed);
  FUZZ_CHECK(again.ok(), "compressed hostlist does not expand: " + compressed);
  const std::set<std::string> want(names->begin(), names->end());
  const std::set<std::string> got(again->begin(), again->end());
  FUZZ_CHECK(want == got, "compress/expand changed the names: " + compressed);
  FUZZ_CHECK(got.size() == again->size(), "compressed hostlist repeats a name: " + compressed);
  FUZZ_CHECK(CompressHostlist(*again) == compressed, "compression is not stable: " + compressed);
  return 0;
}
