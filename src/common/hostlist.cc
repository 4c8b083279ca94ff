#include "common/hostlist.h"

#include <algorithm>
#include <cstdint>
#include <tuple>

#include "common/strings.h"

namespace shoal {
namespace {

// A typo like "n[1-999999999]" must fail fast instead of exhausting memory.
constexpr uint64_t kMaxNames = 1'000'000;
// Enough digits for any real node number while staying far from uint64 overflow.
constexpr size_t kMaxDigits = 18;

struct Range {
  uint64_t lo = 0;
  uint64_t hi = 0;
  size_t width = 0;  // zero-pad width, taken from how the low end was written
};

// One top-level piece ("r[1-2]n[3,5]-ib") is literal text interleaved with bracket groups.
struct Segment {
  std::string literal;
  std::vector<Range> ranges;  // empty for a literal segment
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Pad(uint64_t n, size_t width) {
  std::string digits = std::to_string(n);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return digits;
}

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

Status TooMany(std::string_view expr) {
  return InvalidArgument("hostlist " + Quote(expr) + " expands to more than " +
                         std::to_string(kMaxNames) + " names");
}

// Parses the inside of one bracket group ("1-3,7,01-02").
Result<std::vector<Range>> ParseGroup(std::string_view body, std::string_view piece) {
  if (body.empty()) return InvalidArgument("empty brackets in " + Quote(piece));
  std::vector<Range> ranges;
  for (const std::string& item : Split(body, ',')) {
    auto bad = [&] {
      return InvalidArgument("invalid range " + Quote(item) + " in " + Quote(piece));
    };
    size_t dash = item.find('-');
    std::string_view lo_text = std::string_view(item).substr(0, dash);
    std::string_view hi_text =
        dash == std::string::npos ? lo_text : std::string_view(item).substr(dash + 1);
    if (!AllDigits(lo_text) || !AllDigits(hi_text)) return bad();
    if (lo_text.size() > kMaxDigits || hi_text.size() > kMaxDigits) {
      return InvalidArgument("number too large in " + Quote(piece));
    }
    Range r{*ParseUint(lo_text), *ParseUint(hi_text), lo_text.size()};
    if (r.lo > r.hi) return bad();
    ranges.push_back(r);
  }
  return ranges;
}

// Splits one piece into segments and checks brackets.
Result<std::vector<Segment>> ParsePiece(std::string_view piece) {
  std::vector<Segment> segments;
  std::string literal;
  size_t i = 0;
  while (i < piece.size()) {
    char c = piece[i];
    if (c == ']') return InvalidArgument("unbalanced ']' in " + Quote(piece));
    if (c != '[') {
      literal += c;
      ++i;
      continue;
    }
    size_t close = piece.find_first_of("[]", i + 1);
    if (close == std::string_view::npos) {
      return InvalidArgument("unbalanced '[' in " + Quote(piece));
    }
    if (piece[close] == '[') return InvalidArgument("nested '[' in " + Quote(piece));
    auto ranges = ParseGroup(piece.substr(i + 1, close - i - 1), piece);
    if (!ranges.ok()) return ranges.status();
    if (!literal.empty()) segments.push_back({std::move(literal), {}});
    literal.clear();
    segments.push_back({"", std::move(*ranges)});
    i = close + 1;
  }
  if (!literal.empty()) segments.push_back({std::move(literal), {}});
  return segments;
}

// Number of names a piece expands to, or nullopt past kMaxNames.
std::optional<uint64_t> CountNames(const std::vector<Segment>& segments) {
  uint64_t total = 1;
  for (const Segment& seg : segments) {
    if (seg.ranges.empty()) continue;
    uint64_t group = 0;
    for (const Range& r : seg.ranges) {
      group += r.hi - r.lo + 1;  // each term < 1e18, a few of them cannot wrap before the check
      if (group > kMaxNames) return std::nullopt;
    }
    total *= group;
    if (total > kMaxNames) return std::nullopt;
  }
  return total;
}

void AppendNames(const std::vector<Segment>& segments, std::vector<std::string>& out) {
  // The first group varies slowest, as in Slurm: "r[1-2]n[1-2]" -> r1n1 r1n2 r2n1 r2n2.
  std::vector<std::string> names{""};
  for (const Segment& seg : segments) {
    if (seg.ranges.empty()) {
      for (std::string& n : names) n += seg.literal;
      continue;
    }
    std::vector<std::string> next;
    for (const std::string& prefix : names) {
      for (const Range& r : seg.ranges) {
        for (uint64_t v = r.lo; v <= r.hi; ++v) next.push_back(prefix + Pad(v, r.width));
      }
    }
    names = std::move(next);
  }
  for (std::string& n : names) out.push_back(std::move(n));
}

// A name split as prefix + trailing number, for compression.
struct SplitName {
  std::string prefix;
  bool has_number = false;
  uint64_t number = 0;
  size_t width = 0;
  std::string digits;  // the number as written, padding included

  // Ties on the value order by width, so "n1" sorts before "n01".
  auto Key() const { return std::tie(prefix, has_number, number, width, digits); }
};

SplitName SplitTrailingNumber(const std::string& name) {
  size_t start = name.size();
  while (start > 0 && name[start - 1] >= '0' && name[start - 1] <= '9') --start;
  SplitName s;
  size_t len = name.size() - start;
  if (len == 0 || len > kMaxDigits) {
    s.prefix = name;
    return s;
  }
  s.prefix = name.substr(0, start);
  s.has_number = true;
  s.width = len;
  s.digits = name.substr(start);
  s.number = *ParseUint(s.digits);
  return s;
}

}  // namespace

Result<std::vector<std::string>> ExpandHostlist(std::string_view expr) {
  std::vector<std::vector<Segment>> pieces;
  uint64_t total = 0;
  // Top-level separators are ',' and whitespace (Slurm accepts both); commas inside
  // brackets belong to the range list.
  size_t start = 0;
  bool in_bracket = false;
  for (size_t i = 0; i <= expr.size(); ++i) {
    bool end = i == expr.size();
    if (!end) {
      if (expr[i] == '[') in_bracket = true;
      if (expr[i] == ']') in_bracket = false;
      if (in_bracket || (expr[i] != ',' && !IsSpace(expr[i]))) continue;
    }
    std::string_view piece = expr.substr(start, i - start);
    start = i + 1;
    if (piece.empty()) continue;
    auto segments = ParsePiece(piece);
    if (!segments.ok()) return segments.status();
    auto count = CountNames(*segments);
    if (!count || *count > kMaxNames - total) return TooMany(expr);
    total += *count;
    pieces.push_back(std::move(*segments));
  }
  std::vector<std::string> names;
  names.reserve(total);
  for (const auto& segments : pieces) AppendNames(segments, names);
  return names;
}

std::string CompressHostlist(const std::vector<std::string>& names) {
  std::vector<SplitName> split;
  split.reserve(names.size());
  for (const std::string& n : names) split.push_back(SplitTrailingNumber(n));
  std::sort(split.begin(), split.end(),
            [](const SplitName& a, const SplitName& b) { return a.Key() < b.Key(); });
  split.erase(
      std::unique(split.begin(), split.end(),
                  [](const SplitName& a, const SplitName& b) { return a.Key() == b.Key(); }),
      split.end());

  std::vector<std::string> groups;
  size_t i = 0;
  while (i < split.size()) {
    if (!split[i].has_number) {
      groups.push_back(split[i].prefix);
      ++i;
      continue;
    }
    const std::string& prefix = split[i].prefix;
    std::vector<std::string> ranges;
    size_t count = 0;
    while (i < split.size() && split[i].has_number && split[i].prefix == prefix) {
      // A run continues while the next value is one more and prints the same at the run's
      // width: "9,10" merge (no padding), "09,10" merge (width 2), "1,02" do not.
      const SplitName& first = split[i];
      size_t width = first.digits.size();
      uint64_t last = first.number;
      ++i;
      while (i < split.size() && split[i].has_number && split[i].prefix == prefix &&
             split[i].number == last + 1 && Pad(split[i].number, width) == split[i].digits) {
        last = split[i].number;
        ++i;
        ++count;
      }
      ++count;
      std::string text = first.digits;
      if (last != first.number) text += "-" + Pad(last, width);
      ranges.push_back(std::move(text));
    }
    if (count == 1) {
      groups.push_back(prefix + ranges.front());
    } else {
      groups.push_back(prefix + "[" + Join(ranges, ",") + "]");
    }
  }
  return Join(groups, ",");
}

}  // namespace shoal
