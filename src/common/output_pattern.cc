#include "common/output_pattern.h"

#include <algorithm>

namespace shoal {
namespace {

// Slurm caps the pad width the same way, so "%99j" cannot make a huge name.
constexpr size_t kMaxWidth = 10;

std::string Pad(std::string digits, size_t width) {
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return digits;
}

}  // namespace

std::string ExpandOutputPattern(std::string_view pattern, const OutputPatternFields& fields,
                                std::string_view work_dir) {
  std::string out;
  size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] != '%') {
      out += pattern[i++];
      continue;
    }
    size_t start = i++;
    size_t width = 0;
    while (i < pattern.size() && pattern[i] >= '0' && pattern[i] <= '9') {
      width = std::min(kMaxWidth, width * 10 + static_cast<size_t>(pattern[i] - '0'));
      ++i;
    }
    if (i == pattern.size()) {  // dangling '%' or "%4": keep as written
      out.append(pattern.substr(start));
      break;
    }
    char spec = pattern[i++];
    // The width only pads numbers; Slurm ignores it for text fields like %N.
    switch (spec) {
      case '%':
        out += '%';
        break;
      case 'j':
        out += Pad(std::to_string(fields.job_id), width);
        break;
      case 'A':
        out += Pad(std::to_string(fields.array_job_id != 0 ? fields.array_job_id : fields.job_id),
                   width);
        break;
      case 'a':
        out += Pad(std::to_string(fields.array_task_id < 0 ? 0 : fields.array_task_id), width);
        break;
      case 'x':
        out += fields.job_name;
        break;
      case 'u':
        out += fields.user;
        break;
      case 'N':
        out += fields.node_name;
        break;
      default:
        out.append(pattern.substr(start, i - start));
        break;
    }
  }
  if (out.empty() || out.front() == '/' || work_dir.empty()) return out;
  std::string path(work_dir);
  if (path.back() != '/') path += '/';
  return path + out;
}

}  // namespace shoal
