#include "common/units.h"

#include "common/strings.h"

namespace shoal {

Result<uint64_t> ParseMemoryMB(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("invalid memory size '" + std::string(text) + "': " + std::string(why));
  };
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) {
    return bad(text.empty() || text[0] != '-' ? "expected a number with optional K, M, G or T"
                                              : "must not be negative");
  }
  std::string_view suffix = text.substr(digits);
  if (!suffix.empty() && suffix[0] == '.') {
    return bad("fractions are not supported, use a smaller unit (e.g. 1536M for 1.5G)");
  }
  auto number = ParseUint(text.substr(0, digits));
  if (!number) return bad("too large");
  // Slurm only looks at the first letter, so "2GB" works there; allow just the 'B'.
  if (suffix.size() == 2 && (suffix[1] == 'b' || suffix[1] == 'B')) suffix.remove_suffix(1);
  if (suffix.size() > 1) return bad("unknown unit suffix");
  char unit = suffix.empty() ? 'M' : ToUpper(suffix)[0];
  uint64_t mb = 0;
  switch (unit) {
    case 'K':
      // Round up so a non-zero request never becomes 0 ("all memory").
      return *number / 1024 + (*number % 1024 != 0 ? 1 : 0);
    case 'M':
      return *number;
    case 'G':
      if (__builtin_mul_overflow(*number, uint64_t{1024}, &mb)) return bad("too large");
      return mb;
    case 'T':
      if (__builtin_mul_overflow(*number, uint64_t{1024} * 1024, &mb)) return bad("too large");
      return mb;
    default:
      return bad("unknown unit suffix");
  }
}

std::string FormatMemoryMB(uint64_t mb) {
  // Like Slurm's exact unit conversion: climb units only while no precision is lost. Not past
  // T: --mem (Slurm's and ParseMemoryMB) reads no larger unit, so "1024T", not "1P".
  static constexpr char kUnits[] = {'M', 'G', 'T'};
  if (mb == 0) return "0";
  size_t unit = 0;
  while (mb % 1024 == 0 && unit + 1 < sizeof(kUnits)) {
    mb /= 1024;
    ++unit;
  }
  return std::to_string(mb) + kUnits[unit];
}

}  // namespace shoal
