#include "core/job_array.h"

#include <algorithm>
#include <charconv>

namespace shoal {
namespace {

bool ToInt(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 0;
}

}  // namespace

Result<ArraySpec> ParseArraySpec(std::string_view text, uint32_t max_array_size) {
  const Status bad = InvalidArgument("Invalid job array specification");
  ArraySpec spec;
  std::string_view ranges = text;
  if (auto pct = text.find('%'); pct != std::string_view::npos) {
    int64_t n = 0;
    if (!ToInt(text.substr(pct + 1), n) || n <= 0 || n > UINT32_MAX) return bad;
    spec.max_running = static_cast<uint32_t>(n);
    ranges = text.substr(0, pct);
  }
  if (ranges.empty()) return bad;
  size_t start = 0;
  while (start <= ranges.size()) {
    size_t comma = ranges.find(',', start);
    if (comma == std::string_view::npos) comma = ranges.size();
    std::string_view part = ranges.substr(start, comma - start);
    int64_t step = 1;
    if (auto colon = part.find(':'); colon != std::string_view::npos) {
      if (!ToInt(part.substr(colon + 1), step) || step <= 0) return bad;
      part = part.substr(0, colon);
    }
    int64_t lo = 0, hi = 0;
    if (auto dash = part.find('-'); dash != std::string_view::npos) {
      if (!ToInt(part.substr(0, dash), lo) || !ToInt(part.substr(dash + 1), hi) || hi < lo) {
        return bad;
      }
    } else {
      if (!ToInt(part, lo)) return bad;
      hi = lo;
    }
    if (hi >= static_cast<int64_t>(max_array_size)) {
      return InvalidArgument("Invalid job array specification (task id " + std::to_string(hi) +
                             " not below MaxArraySize=" + std::to_string(max_array_size) + ")");
    }
    // Step without passing hi: lo + step may overflow for a huge step.
    for (int64_t i = lo;; i += step) {
      spec.task_ids.push_back(i);
      if (hi - i < step) break;
    }
    start = comma + 1;
  }
  std::sort(spec.task_ids.begin(), spec.task_ids.end());
  spec.task_ids.erase(std::unique(spec.task_ids.begin(), spec.task_ids.end()), spec.task_ids.end());
  if (spec.task_ids.empty()) return bad;
  return spec;
}

std::string FormatTaskIds(const std::vector<int64_t>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(ids[i]);
    if (j > i) out += "-" + std::to_string(ids[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace shoal
