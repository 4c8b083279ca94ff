#include "cli/format_spec.h"

#include <cstring>

#include "common/strings.h"

namespace shoal {

std::vector<FieldSpec> ParsePercentFormat(std::string_view format, std::string_view valid_codes,
                                          const std::function<void(char)>& on_invalid) {
  std::vector<FieldSpec> fields;
  std::string literal;
  size_t i = 0;
  while (i < format.size()) {
    if (format[i] != '%') {
      literal.push_back(format[i++]);
      continue;
    }
    size_t start = i++;
    FieldSpec f;
    if (i < format.size() && format[i] == '.') {
      f.right = true;
      ++i;
    }
    int width = 0;
    while (i < format.size() && format[i] >= '0' && format[i] <= '9') {
      width = width * 10 + (format[i] - '0');
      if (width > 100000) width = 100000;  // keep absurd widths from exhausting memory
      ++i;
    }
    if (i >= format.size()) {
      literal.append(format.substr(start));
      break;
    }
    char c = format[i];
    if (valid_codes.find(c) == std::string_view::npos) {
      if (on_invalid) on_invalid(c);
      // Keep what was read as text, then continue after the offending character so that it
      // may itself start a new specification.
      literal.append(format.substr(start, i - start));
      continue;
    }
    ++i;
    f.code = c;
    f.width = width;
    f.prefix = std::move(literal);
    literal.clear();
    fields.push_back(std::move(f));
  }
  if (!literal.empty()) {
    FieldSpec tail;
    tail.prefix = std::move(literal);
    fields.push_back(std::move(tail));
  }
  return fields;
}

std::vector<FieldSpec> ParseNamedFormat(std::string_view format, int default_width) {
  std::vector<FieldSpec> fields;
  for (const std::string& item : Split(format, ',')) {
    std::string_view text = Trim(item);
    if (text.empty()) continue;
    FieldSpec f;
    f.width = default_width;
    size_t colon = text.find(':');
    f.name = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      std::string_view w = text.substr(colon + 1);
      if (!w.empty() && w[0] == '.') {
        f.right = true;
        w.remove_prefix(1);
      }
      size_t end = w.find(':');  // a further ":suffix" is accepted and ignored
      if (auto n = ParseUint(w.substr(0, end)); n && *n <= 100000) f.width = static_cast<int>(*n);
    }
    fields.push_back(std::move(f));
  }
  return fields;
}

void AppendFitted(std::string_view value, int width, bool right, bool cut, std::string* out) {
  if (width <= 0) {
    out->append(value);
    return;
  }
  size_t w = static_cast<size_t>(width);
  if (value.size() >= w) {
    out->append(cut ? value.substr(0, w) : value);
    return;
  }
  // The padding, then the value over it: one append, not two.
  const size_t at = out->size();
  out->append(w, ' ');
  memcpy(out->data() + at + (right ? w - value.size() : 0), value.data(), value.size());
}

std::string FitField(std::string_view value, int width, bool right, bool cut) {
  std::string out;
  AppendFitted(value, width, right, cut, &out);
  return out;
}

std::string RenderLine(const std::vector<FieldSpec>& fields,
                       const std::function<std::string(const FieldSpec&)>& value, bool header) {
  std::string line;
  AppendLine(fields, value, header, &line);
  return line;
}

}  // namespace shoal
