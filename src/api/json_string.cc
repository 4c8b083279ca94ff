#include "api/json_string.h"

#include "common/strings.h"

namespace shoal {

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t k = 0;
  while (k < s.size()) {
    // Runs of plain characters are copied at once.
    size_t run = k;
    while (run < s.size()) {
      auto c = static_cast<unsigned char>(s[run]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++run;
    }
    out->append(s.data() + k, run - k);
    k = run;
    if (k >= s.size()) break;
    auto c = static_cast<unsigned char>(s[k]);
    if (c >= 0x80) {
      size_t n = Utf8SequenceLength(s, k);
      if (n == 0) {
        out->append("\xEF\xBF\xBD");  // U+FFFD for a byte that starts no valid sequence
        ++k;
      } else {
        out->append(s.data() + k, n);
        k += n;
      }
      continue;
    }
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
    ++k;
  }
  out->push_back('"');
}

}  // namespace shoal
