#include "api/json_table.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cstring>
#include <thread>

#include "common/strings.h"

namespace shoal {

bool JsonCell::AsDouble(double* out) const {
  switch (kind) {
    case kInt: *out = static_cast<double>(i); return true;
    case kUint: *out = static_cast<double>(u); return true;
    case kDouble: *out = d; return true;
    default: return false;
  }
}

namespace {

// The bytes a string's text holds as they are: ASCII but the quote, the backslash and the
// control characters.
constexpr auto kPlainAscii = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
  return plain;
}();

// A recursive-descent reader of exactly the table's shape; any JSON whitespace is allowed.
class TableReader {
 public:
  TableReader(std::string_view text, std::string_view what, JsonTableSink* sink)
      : s_(text), what_(what), sink_(sink) {}
  // Makes this reader one run of ReadJsonTableInRuns: its rows begin at byte `from` (0: where
  // the table's do) and end between two rows at or past byte `until` (npos: where the table's
  // do), when such a place is there.
  void SetRun(size_t from, size_t until) {
    rows_from_ = from;
    rows_until_ = until;
  }
  bool ended_at_split() const { return ended_at_split_; }

  Status Read() {
    bool seen_columns = false;
    if (!Expect('{')) return status_;
    if (Peek() == '}') return InvalidArgument(std::string(what_) + " holds no columns");
    for (;;) {
      std::string key;
      if (!ParseString(&key) || !Expect(':')) return status_;
      if (key == "columns") {
        if (!ParseColumns()) return status_;
        seen_columns = true;
      } else if (key == "rows") {
        if (!seen_columns) {
          return InvalidArgument(std::string(what_) + " lists rows before its columns");
        }
        if (!ParseRows()) return status_;
        sink_->EndRows();
        if (ended_at_split_) return Status::Ok();  // the next run reads on from there
      } else {
        SkipWs();
        const size_t begin = p_;
        if (!SkipValue()) return status_;
        Status s = sink_->Member(key, s_.substr(begin, p_ - begin));
        if (!s.ok()) return s;
      }
      char c = Next();
      if (c == '}') break;
      if (c != ',') {
        Malformed("',' or '}'");
        return status_;
      }
    }
    SkipWs();
    if (p_ != s_.size()) {
      Malformed("the end of the document");
      return status_;
    }
    if (!seen_columns) return InvalidArgument(std::string(what_) + " holds no columns");
    return Status::Ok();
  }

 private:
  bool ParseColumns() {
    if (!Expect('[')) return false;
    if (Peek() == ']') {
      Next();
    } else {
      for (;;) {
        if (!ParseString(&columns_.emplace_back())) return false;
        char c = Next();
        if (c == ']') break;
        if (c != ',') return Malformed("',' or ']'");
      }
    }
    Status s = sink_->Columns(columns_);
    if (!s.ok() && status_.ok()) status_ = s;
    return s.ok();
  }

  bool ParseRows() {
    if (!Expect('[')) return false;
    if (rows_from_ != 0) {
      // A later run: the run before it checks that a row begins here.
      if (rows_from_ < p_) return Fail("no row where its run begins");
      p_ = rows_from_;
    } else if (Peek() == ']') {
      return Next(), true;
    }
    for (;;) {
      if (!Expect('[')) return false;
      sink_->BeginRow();
      for (size_t k = 0; k < columns_.size(); ++k) {
        if (k > 0 && !Expect(',')) return false;
        JsonCell cell;
        if (!ParseCell(&cell, k)) return false;
        if (!sink_->Cell(k, cell)) return Fail("a bad value for '" + columns_[k] + "'");
      }
      if (Next() != ']') return Fail("a row of the wrong width");
      char c = Next();
      if (c == ']') return true;
      if (c != ',') return Malformed("',' or ']'");
      if (rows_until_ != std::string_view::npos && p_ <= rows_until_) {
        SkipWs();
        if (p_ >= rows_until_) {  // the split lies between this row and the next
          ended_at_split_ = true;
          return true;
        }
      }
    }
  }

  bool ParseCell(JsonCell* cell, size_t column) {
    char c = Peek();
    if (c == '"') {
      if (!ParseString(&scratch_)) return false;
      cell->kind = JsonCell::kString;
      cell->text = &scratch_;
      return true;
    }
    if (c == '[' || c == '{') {
      if (c == '[' && ParseStringArray(&nested_)) {
        cell->kind = JsonCell::kNested;
        cell->nested = &nested_;
        return true;
      }
      if (!status_.ok()) return false;
      size_t begin = p_;
      if (!SkipValue()) return false;
      std::string_view text = s_.substr(begin, p_ - begin);
      nested_ = Json::parse(text, nullptr, false);
      if (nested_.is_discarded()) return Malformed("a JSON value");
      cell->kind = JsonCell::kNested;
      cell->nested = &nested_;
      return true;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(cell, column);
    const std::string_view rest = s_.substr(p_);
    if (c == 't' && rest.starts_with("true")) {
      p_ += 4;
      cell->kind = JsonCell::kBool;
      cell->b = true;
    } else if (c == 'f' && rest.starts_with("false")) {
      p_ += 5;
      cell->kind = JsonCell::kBool;
      cell->b = false;
    } else if (c == 'n' && rest.starts_with("null")) {
      p_ += 4;
      cell->kind = JsonCell::kNull;
    } else {
      return Malformed("a value");
    }
    return true;
  }

  bool ParseNumber(JsonCell* cell, size_t column) {
    const char* begin = s_.data() + p_;
    const char* end = s_.data() + s_.size();
    // A fraction or an exponent makes it a double; integers stay exact.
    const char* digits = begin + (*begin == '-' ? 1 : 0);
    const char* scan = digits;
    uint64_t v = 0;  // the digits' value, when there are few enough of them (below)
    while (scan < end && *scan >= '0' && *scan <= '9')
      v = v * 10 + static_cast<uint64_t>(*scan++ - '0');
    std::from_chars_result r;
    if (scan < end && (*scan == '.' || *scan == 'e' || *scan == 'E')) {
      cell->kind = JsonCell::kDouble;
      // Rows mostly repeat a column's number (sprio's factors): the same text as the last one
      // read in this column has the same value.
      const char* token_end = scan;
      while (token_end < end && (std::isdigit(static_cast<unsigned char>(*token_end)) ||
                                 *token_end == '.' || *token_end == 'e' || *token_end == 'E' ||
                                 *token_end == '+' || *token_end == '-')) {
        ++token_end;
      }
      const std::string_view token(begin, static_cast<size_t>(token_end - begin));
      if (column >= last_double_.size()) last_double_.resize(column + 1);
      auto& [last_text, last_value] = last_double_[column];
      if (!last_text.empty() && token == last_text) {
        cell->d = last_value;
        p_ = token_end - s_.data();
        return true;
      }
      r = std::from_chars(begin, end, cell->d);
      if (r.ec == std::errc() && r.ptr == token_end) {
        last_text = token;
        last_value = cell->d;
      }
    } else if (scan > digits && scan - digits <= 18) {
      // Up to 18 digits cannot overflow either type: summed as scanned, the common case of a
      // table of ids, counts and times.
      if (*begin == '-') {
        cell->kind = JsonCell::kInt;
        cell->i = -static_cast<int64_t>(v);
      } else {
        cell->kind = JsonCell::kUint;
        cell->u = v;
      }
      p_ = scan - s_.data();
      return true;
    } else if (*begin == '-') {
      cell->kind = JsonCell::kInt;
      r = std::from_chars(begin, end, cell->i);
    } else {
      cell->kind = JsonCell::kUint;
      r = std::from_chars(begin, end, cell->u);
    }
    if (r.ec == std::errc::invalid_argument) return Malformed("a number");
    if (r.ec != std::errc()) return Fail("a number out of range");
    p_ = r.ptr - s_.data();
    return true;
  }

  // An array of strings only (a node's features, a job's node list: one in every row) without
  // a DOM parse, which cost sinfo more than the rest of a row. False with the position kept for
  // anything else (the caller parses it in full), or with status_ set when a string is bad.
  bool ParseStringArray(Json* out) {
    const size_t begin = p_;
    Next();  // '['
    // Filled in place: the array (and its strings' buffers) of the row before is reused, as
    // most rows' lists are short or empty.
    if (!out->is_array()) *out = Json::array();
    Json::array_t& list = out->get_ref<Json::array_t&>();
    size_t used = 0;
    if (Peek() == ']') {
      Next();
      list.clear();
      return true;
    }
    while (Peek() == '"') {
      if (!ParseString(&scratch_)) return false;
      if (used < list.size() && list[used].is_string()) {
        list[used].get_ref<std::string&>() = scratch_;
      } else if (used < list.size()) {
        list[used] = scratch_;
      } else {
        list.emplace_back(scratch_);
      }
      ++used;
      const char c = Next();
      if (c == ']') {
        list.resize(used);
        return true;
      }
      if (c != ',') break;
    }
    p_ = begin;
    return false;
  }

  // A JSON string into `out`, escapes decoded (\uXXXX, surrogate pairs included).
  bool ParseString(std::string* out) {
    if (!Expect('"')) return false;
    out->clear();
    for (;;) {
      size_t run = p_;
      while (run < s_.size()) {
        auto c = static_cast<unsigned char>(s_[run]);
        if (kPlainAscii[c]) {
          ++run;
          continue;
        }
        if (c == '"' || c == '\\' || c < 0x20) break;
        // JSON text is UTF-8 (nlohmann refuses anything else); a stray byte would come back
        // from the writers as U+FFFD, a different value.
        size_t n = Utf8SequenceLength(s_, run);
        if (n == 0) {
          p_ = run;
          return Malformed("UTF-8 text in a string");
        }
        run += n;
      }
      out->append(s_.data() + p_, run - p_);
      p_ = run;
      if (p_ >= s_.size()) return Malformed("the end of a string");
      char c = s_[p_++];
      if (c == '"') return true;
      if (c != '\\') return Malformed("an escaped control character");
      if (p_ >= s_.size()) return Malformed("an escape");
      switch (char e = s_[p_++]) {
        case '"': case '\\': case '/': out->push_back(e); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!ParseHex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low;
            if (!s_.substr(p_).starts_with("\\u")) return Malformed("a low surrogate");
            p_ += 2;
            if (!ParseHex4(&low) || low < 0xDC00 || low > 0xDFFF) {
              return Malformed("a low surrogate");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Malformed("a high surrogate first");
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return Malformed("a valid escape");
      }
    }
  }

  bool ParseHex4(uint32_t* cp) {
    if (p_ + 4 > s_.size()) return Malformed("four hex digits");
    auto r = std::from_chars(s_.data() + p_, s_.data() + p_ + 4, *cp, 16);
    if (r.ptr != s_.data() + p_ + 4) return Malformed("four hex digits");
    p_ += 4;
    return true;
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // Steps over one value of any kind, checking only that brackets and strings are balanced.
  bool SkipValue() {
    SkipWs();
    int depth = 0;
    do {
      if (p_ >= s_.size()) return Malformed("the end of a value");
      char c = s_[p_];
      if (c == '"') {
        if (!ParseString(&skipped_)) return false;
        continue;
      }
      if (c == '[' || c == '{') {
        ++depth;
      } else if (c == ']' || c == '}') {
        if (--depth < 0) return Malformed("a value");
      } else if (depth == 0 && (c == ',' || c == ':')) {
        break;  // the end of a scalar
      }
      ++p_;
    } while (depth > 0);
    return true;
  }

  void SkipWs() {
    while (p_ < s_.size() && IsWs(s_[p_])) ++p_;
  }
  // Peek, Next and Expect run a few times for every cell: the common case, no whitespace
  // before the character, takes a compare or two.
  char Peek() {
    if (p_ < s_.size() && !IsWs(s_[p_])) return s_[p_];
    SkipWs();
    return p_ < s_.size() ? s_[p_] : '\0';
  }
  char Next() {
    char c = Peek();
    if (p_ < s_.size()) ++p_;
    return c;
  }
  bool Expect(char c) {
    if (p_ < s_.size() && s_[p_] == c) {
      ++p_;
      return true;
    }
    return ExpectPastWhitespace(c);
  }
  [[gnu::noinline]] bool ExpectPastWhitespace(char c) {
    if (Next() == c) return true;
    return Malformed(std::string("'") + c + "'");
  }
  static bool IsWs(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

  bool Fail(const std::string& what) {
    if (status_.ok()) status_ = InvalidArgument(std::string(what_) + " holds " + what);
    return false;
  }
  bool Malformed(const std::string& expected) {
    if (status_.ok()) {
      status_ = Internal("malformed " + std::string(what_) + ": expected " + expected +
                         " at byte " + std::to_string(p_));
    }
    return false;
  }

  std::string_view s_;
  std::string_view what_;
  JsonTableSink* sink_;
  size_t rows_from_ = 0;
  size_t rows_until_ = std::string_view::npos;
  bool ended_at_split_ = false;
  size_t p_ = 0;
  Status status_;
  std::vector<std::string> columns_;
  std::string scratch_;
  std::string skipped_;
  Json nested_;
  // Per column: the text of the last double read and its value (ParseNumber).
  std::vector<std::pair<std::string_view, double>> last_double_;
};

}  // namespace

Status ReadJsonTable(std::string_view text, std::string_view what, JsonTableSink* sink) {
  return TableReader(text, what, sink).Read();
}

Result<size_t> ReadJsonTableInRuns(std::string_view text, std::string_view what,
                                   const std::vector<JsonTableSink*>& sinks) {
  // Each run after the first begins just past the first line end in its share of the text.
  std::vector<size_t> begins = {0};
  for (size_t k = 1; k < sinks.size(); ++k) {
    const size_t line_end =
        text.find('\n', std::max(text.size() / sinks.size() * k, begins.back()));
    if (line_end == std::string_view::npos) break;
    begins.push_back(line_end + 1);
  }
  const size_t runs = begins.size();
  // Each reader on its own thread's stack, and each outcome on cache lines of its own: the
  // threads write their state constantly, and a line they shared would bounce between cores.
  struct alignas(64) Outcome {
    Status status;
    bool ended_at_split = false;
  };
  std::vector<Outcome> outcomes(runs);
  auto read_run = [&](size_t k) {
    TableReader reader(text, what, sinks[k]);
    reader.SetRun(begins[k], k + 1 < runs ? begins[k + 1] : std::string_view::npos);
    outcomes[k].status = reader.Read();
    outcomes[k].ended_at_split = reader.ended_at_split();
  };
  std::vector<std::thread> threads;
  for (size_t k = 1; k < runs; ++k) threads.emplace_back(read_run, k);
  read_run(0);
  for (std::thread& t : threads) t.join();
  for (size_t k = 0; k < runs; ++k) {
    if (!outcomes[k].status.ok()) return outcomes[k].status;
    if (!outcomes[k].ended_at_split) return k + 1;  // it read on to the end
  }
  return runs;
}

}  // namespace shoal
