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

// Whether an input's bracket groups ("[1-3,7]") multiply to more than 2,000 values: a rough
// bound of the names a hostlist expands to. Lists near the 1,000,000-name limit take seconds
// each under the sanitizers and exercise no code a small one does not, so targets skip them (the
// limit itself has unit tests).
inline bool Huge(std::string_view text) {
  double bound = 1;
  size_t open = text.find('[');
  while (open != std::string_view::npos) {
    size_t close = text.find(']', open);
    std::string_view group = text.substr(
        open + 1, close == std::string_view::npos ? std::string_view::npos : close - open - 1);
    double size = 0;
    size_t start = 0;
    for (;;) {
      size_t comma = group.find(',', start);
      std::string item(
          group.substr(start, comma == std::string_view::npos ? comma : comma - start));
      size_t dash = item.find('-');
      double span = 1;
      if (dash != std::string::npos) {
        double lo = std::strtod(item.substr(0, dash).c_str(), nullptr);
        double hi = std::strtod(item.substr(dash + 1).c_str(), nullptr);
        if (hi > lo) span = hi - lo + 1;
      }
      size += span;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    bound *= size;
    if (bound > 2'000) return true;
    open = text.find('[', open + 1);
  }
  return false;
}

}  // namespace shoal
