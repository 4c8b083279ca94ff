// Hostlist expressions: ExpandHostlist must answer every input with names or an error, and
// CompressHostlist's output of those names must expand to the same set (it sorts and drops
// duplicates) and compress to itself again.
#include <cstdlib>
#include <set>
#include <string>

#include "common/hostlist.h"
#include "fuzz_check.h"

using namespace shoal;

namespace {

// A rough upper bound of the names an input expands to: the product of its "a-b" spans. Lists
// near the 1,000,000-name limit take a second each under the sanitizers and exercise no code a
// small one does not, so the target skips them (the limit itself has unit tests).
bool Huge(std::string_view text) {
  double bound = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '-') continue;
    size_t a = i, b = i + 1;
    while (a > 0 && text[a - 1] >= '0' && text[a - 1] <= '9') --a;
    while (b < text.size() && text[b] >= '0' && text[b] <= '9') ++b;
    if (a == i || b == i + 1) continue;
    double lo = std::strtod(std::string(text.substr(a, i - a)).c_str(), nullptr);
    double hi = std::strtod(std::string(text.substr(i + 1, b - i - 1)).c_str(), nullptr);
    if (hi > lo) bound *= hi - lo + 1;
  }
  return bound > 20'000;
}

}  // namespace

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
