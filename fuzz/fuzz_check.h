// What the fuzz targets share: a property check that stops the run like a sanitizer report, so
// libFuzzer saves the input.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond, what)                                                   \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, \
                   std::string_view(what).data());                               \
      std::abort();                                                              \
    }                                                                            \
  } while (0)

namespace shoal {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Whether an input's "a-b" ranges span more than 2,000 values in all (their product, a rough
// bound of the names a hostlist expands to). Lists near the 1,000,000-name limit take a second
// each under the sanitizers and exercise no code a small one does not, so targets skip them (the
// limit itself has unit tests).
inline bool Huge(std::string_view text) {
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
  return bound > 2'000;
}

}  // namespace shoal
