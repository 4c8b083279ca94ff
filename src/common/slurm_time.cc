#include "common/slurm_time.h"

#include <charconv>
#include <optional>
#include <vector>

#include "common/strings.h"

namespace shoal {
namespace {

constexpr int64_t kMinute = 60;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kWeek = 7 * kDay;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Adds `count * unit` to `*total`, false on overflow.
bool AddScaled(int64_t* total, int64_t count, int64_t unit) {
  int64_t scaled = 0;
  return !__builtin_mul_overflow(count, unit, &scaled) &&
         !__builtin_add_overflow(*total, scaled, total);
}

std::optional<int64_t> ParseComponent(std::string_view s) {
  auto v = ParseUint(s);
  if (!v || *v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(*v);
}

// --- ParseTimePoint helpers -------------------------------------------------------------

struct Date {
  int year = -1;  // -1: not written, use the current year
  int month = 0;  // 1..12
  int day = 0;
};

struct Clock {
  int hour = 0;
  int minute = 0;
  int second = 0;
};

// Reads min_digits..max_digits digits at s[*pos], advancing *pos.
std::optional<int> ReadNumber(std::string_view s, size_t* pos, size_t min_digits,
                              size_t max_digits) {
  size_t start = *pos;
  int v = 0;
  while (*pos < s.size() && IsDigit(s[*pos]) && *pos - start < max_digits) {
    v = v * 10 + (s[*pos] - '0');
    ++*pos;
  }
  if (*pos - start < min_digits) return std::nullopt;
  return v;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeap(year) ? 29 : kDays[month - 1];
}

bool ValidDate(const Date& d, int current_year) {
  int year = d.year < 0 ? current_year : d.year;
  return d.month >= 1 && d.month <= 12 && d.day >= 1 && d.day <= DaysInMonth(year, d.month);
}

// "H[H]:MM[:SS]" with an optional am/pm suffix; with the suffix the minutes may be left out
// ("4pm"). The whole of `s` must match.
std::optional<Clock> ParseClock(std::string_view s) {
  std::optional<bool> pm;
  if (s.size() > 2 && (s.ends_with("am") || s.ends_with("pm"))) {
    pm = s.ends_with("pm");
    s.remove_suffix(2);
  }
  size_t pos = 0;
  Clock c;
  auto hour = ReadNumber(s, &pos, 1, 2);
  if (!hour) return std::nullopt;
  c.hour = *hour;
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    auto minute = ReadNumber(s, &pos, 2, 2);
    if (!minute) return std::nullopt;
    c.minute = *minute;
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      auto second = ReadNumber(s, &pos, 2, 2);
      if (!second) return std::nullopt;
      c.second = *second;
    }
  } else if (!pm) {
    return std::nullopt;  // a bare number is not a time of day
  }
  if (pos != s.size() || c.minute > 59 || c.second > 59) return std::nullopt;
  if (pm) {
    if (c.hour < 1 || c.hour > 12) return std::nullopt;
    c.hour = c.hour % 12 + (*pm ? 12 : 0);
  } else if (c.hour > 23) {
    return std::nullopt;
  }
  return c;
}

// Dates: "YYYY-MM-DD[Thh:mm[:ss]]", "MM/DD[/YY[YY]][-hh:mm[:ss]]", "MM.DD[.YY][-...]",
// "MMDD[YY][-...]". Returns false when `s` is not a date; sets *clock when a time follows.
bool ParseDate(std::string_view s, Date* date, std::optional<Clock>* clock) {
  size_t pos = 0;
  char time_sep = '-';
  if (s.size() >= 10 && s[4] == '-') {
    auto y = ReadNumber(s, &pos, 4, 4);
    if (!y || pos != 4) return false;
    ++pos;
    auto m = ReadNumber(s, &pos, 2, 2);
    if (!m || pos >= s.size() || s[pos] != '-') return false;
    ++pos;
    auto d = ReadNumber(s, &pos, 2, 2);
    if (!d) return false;
    *date = {*y, *m, *d};
    time_sep = 't';
  } else {
    auto m = ReadNumber(s, &pos, 1, 2);
    if (!m) return false;
    if (pos < s.size() && (s[pos] == '/' || s[pos] == '.')) {
      char sep = s[pos++];
      auto d = ReadNumber(s, &pos, 1, 2);
      if (!d) return false;
      *date = {-1, *m, *d};
      if (pos < s.size() && s[pos] == sep) {
        size_t year_start = ++pos;
        auto y = ReadNumber(s, &pos, 2, 4);
        if (!y || pos - year_start == 3) return false;
        date->year = pos - year_start == 2 ? 2000 + *y : *y;  // "/27" or "/2027"
      }
    } else {
      // Packed MMDD[YY]: re-read the digits as fixed-width fields.
      pos = 0;
      size_t digits = 0;
      while (digits < s.size() && IsDigit(s[digits])) ++digits;
      if (digits != 4 && digits != 6) return false;
      auto mm = ReadNumber(s, &pos, 2, 2);
      auto dd = ReadNumber(s, &pos, 2, 2);
      *date = {-1, *mm, *dd};
      if (digits == 6) date->year = 2000 + *ReadNumber(s, &pos, 2, 2);
    }
  }
  if (pos == s.size()) return true;
  if (s[pos] != time_sep) return false;
  *clock = ParseClock(s.substr(pos + 1));
  return clock->has_value();
}

// now[{+|-}count[unit]] with the word "now" already removed and spaces dropped.
std::optional<int64_t> ParseNowOffset(std::string_view s, int64_t now) {
  if (s.empty()) return now;
  bool minus = s[0] == '-';
  if (s[0] != '+' && !minus) return std::nullopt;
  s.remove_prefix(1);
  size_t digits = 0;
  while (digits < s.size() && IsDigit(s[digits])) ++digits;
  auto count = ParseComponent(s.substr(0, digits));
  if (!count) return std::nullopt;
  std::string_view unit = s.substr(digits);
  int64_t mult = 0;
  if (unit.empty() || unit == "s" || unit == "sec" || unit == "secs" || unit == "second" ||
      unit == "seconds") {
    mult = 1;
  } else if (unit == "min" || unit == "mins" || unit == "minute" || unit == "minutes") {
    mult = kMinute;
  } else if (unit == "h" || unit == "hr" || unit == "hrs" || unit == "hour" || unit == "hours") {
    mult = kHour;
  } else if (unit == "d" || unit == "day" || unit == "days") {
    mult = kDay;
  } else if (unit == "w" || unit == "week" || unit == "weeks") {
    mult = kWeek;
  } else {
    return std::nullopt;
  }
  int64_t result = now;
  if (!AddScaled(&result, minus ? -*count : *count, mult)) return std::nullopt;
  return result;
}

std::optional<int64_t> MakeLocal(int year, int month, int day, const Clock& c) {
  struct tm tm = {};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;  // may overflow the month on purpose ("tomorrow"); mktime normalizes
  tm.tm_hour = c.hour;
  tm.tm_min = c.minute;
  tm.tm_sec = c.second;
  tm.tm_isdst = -1;  // let the zone rules decide, so DST days come out right
  time_t t = mktime(&tm);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
  return static_cast<int64_t>(t);
}

// The clock of the duration formats (seconds >= 0): "D-HH:MM:SS" past a day, else "HH:MM:SS"
// for `elapsed` (sacct) and "H:MM:SS" or "M:SS" otherwise (squeue). Written into a small
// buffer: squeue formats one per job, 100,000 at a time.
std::string DurationClock(int64_t seconds, bool elapsed) {
  char buf[48];
  char* p = buf;
  auto number = [&](int64_t v) { p = std::to_chars(p, buf + sizeof(buf), v).ptr; };
  auto two_digits = [&](int64_t v) {
    *p++ = static_cast<char>('0' + v / 10);
    *p++ = static_cast<char>('0' + v % 10);
  };
  const int64_t days = seconds / kDay;
  const int64_t hours = seconds / kHour % 24;
  if (days > 0 || hours > 0 || elapsed) {
    if (days > 0) {
      number(days);
      *p++ = '-';
      two_digits(hours);
    } else if (elapsed) {
      two_digits(hours);
    } else {
      number(hours);
    }
    *p++ = ':';
    two_digits(seconds / kMinute % 60);
  } else {
    number(seconds / kMinute);
  }
  *p++ = ':';
  two_digits(seconds % 60);
  return std::string(buf, p);
}

}  // namespace

Result<int64_t> ParseTimeLimit(std::string_view text) {
  auto bad = [&] { return InvalidArgument("invalid time limit '" + std::string(text) + "'"); };
  if (text.empty()) return bad();
  // Slurm also takes "-1" as "no limit"; every other negative is rejected below.
  if (EqualsIgnoreCase(text, "UNLIMITED") || EqualsIgnoreCase(text, "INFINITE") || text == "-1") {
    return kUnlimited;
  }
  std::optional<int64_t> days;
  std::string_view rest = text;
  if (size_t dash = text.find('-'); dash != std::string_view::npos) {
    days = ParseComponent(text.substr(0, dash));
    if (!days) return bad();
    rest = text.substr(dash + 1);
  }
  std::vector<int64_t> parts;
  for (const std::string& p : Split(rest, ':')) {
    auto v = ParseComponent(p);
    if (!v) return bad();
    parts.push_back(*v);
  }
  if (parts.size() > 3) return bad();
  // Which unit each field has depends on whether days were given: "1:30" is M:S but
  // "1-1:30" is D-H:M.
  static constexpr int64_t kNoDays[3][3] = {{kMinute}, {kMinute, 1}, {kHour, kMinute, 1}};
  static constexpr int64_t kWithDays[3][3] = {{kHour}, {kHour, kMinute}, {kHour, kMinute, 1}};
  const int64_t* units = days ? kWithDays[parts.size() - 1] : kNoDays[parts.size() - 1];
  int64_t total = 0;
  if (days && !AddScaled(&total, *days, kDay)) return bad();
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!AddScaled(&total, parts[i], units[i])) return bad();
  }
  // Slurm: "A time limit of zero requests that no time limit be imposed."
  return total == 0 ? kUnlimited : total;
}

std::string FormatDuration(int64_t seconds) {
  if (seconds < 0) return "INVALID";  // what squeue prints for a negative duration
  return DurationClock(seconds, false);
}

std::string FormatTimeLimit(int64_t seconds) {
  return seconds == kUnlimited ? "UNLIMITED" : FormatDuration(seconds);
}

std::string FormatElapsed(int64_t seconds) {
  if (seconds == kUnlimited) return "UNLIMITED";  // sacct's Timelimit column
  if (seconds < 0) return "INVALID";
  return DurationClock(seconds, true);
}

std::string FormatTimestamp(int64_t epoch, std::string_view zero_text) {
  if (epoch == 0) return std::string(zero_text);
  time_t t = static_cast<time_t>(epoch);
  struct tm tm;
  if (localtime_r(&t, &tm) == nullptr) return std::string(zero_text);
  char buf[64];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

Result<int64_t> ParseTimePoint(std::string_view text, int64_t now) {
  auto bad = [&] {
    return InvalidArgument("invalid time specification '" + std::string(text) + "'");
  };
  std::string lower = ToLower(Trim(text));
  if (lower.empty()) return bad();

  if (lower.starts_with("now")) {
    std::string rest;
    for (char c : std::string_view(lower).substr(3)) {
      if (c != ' ' && c != '\t') rest += c;
    }
    auto t = ParseNowOffset(rest, now);
    if (!t) return bad();
    return *t;
  }

  // Tokens separated by spaces: at most one date and one time of day, in either order
  // ("16:00 12/25/26", "tomorrow noon"). A lone "am"/"pm" belongs to the time before it.
  std::vector<std::string> tokens;
  for (const std::string& t : Split(lower, ' ')) {
    if (t.empty()) continue;
    if ((t == "am" || t == "pm") && !tokens.empty()) {
      tokens.back() += t;
    } else {
      tokens.push_back(t);
    }
  }

  time_t now_t = static_cast<time_t>(now);
  struct tm now_tm;
  if (localtime_r(&now_t, &now_tm) == nullptr) return bad();
  Date today{now_tm.tm_year + 1900, now_tm.tm_mon + 1, now_tm.tm_mday};

  std::optional<Date> date;
  std::optional<Clock> clock;
  for (const std::string& tok : tokens) {
    std::optional<Date> tok_date;
    std::optional<Clock> tok_clock;
    if (tok == "today") {
      tok_date = today;
    } else if (tok == "tomorrow") {
      tok_date = today;
      tok_date->day += 1;  // normalized by mktime
    } else if (tok == "midnight") {
      tok_clock = Clock{0, 0, 0};
    } else if (tok == "noon") {
      tok_clock = Clock{12, 0, 0};
    } else if (tok == "elevenses") {
      tok_clock = Clock{11, 0, 0};
    } else if (tok == "fika") {
      tok_clock = Clock{15, 0, 0};
    } else if (tok == "teatime") {
      tok_clock = Clock{16, 0, 0};
    } else if (Date d; ParseDate(tok, &d, &tok_clock)) {
      if (!ValidDate(d, today.year)) return bad();
      tok_date = d;
    } else {
      tok_clock = ParseClock(tok);
      if (!tok_clock) return bad();
    }
    if ((tok_date && date) || (tok_clock && clock)) return bad();
    if (tok_date) date = tok_date;
    if (tok_clock) clock = tok_clock;
  }

  std::optional<int64_t> t;
  if (date) {
    int year = date->year < 0 ? today.year : date->year;
    t = MakeLocal(year, date->month, date->day, clock.value_or(Clock{}));
  } else {
    // A bare time of day means its next occurrence.
    t = MakeLocal(today.year, today.month, today.day, *clock);
    if (t && *t < now) t = MakeLocal(today.year, today.month, today.day + 1, *clock);
  }
  if (!t) return bad();
  return *t;
}

}  // namespace shoal
