#include "api/job_table.h"

#include <sys/mman.h>

#include <charconv>
#include <cstring>
#include <tuple>
#include <limits>
#include <type_traits>

#include "api/json_model.h"

namespace shoal {
namespace {

// One decoded cell: scalars are read straight from the text; arrays and objects (nodes,
// gpu_indices, dependency ...) are rare enough to be built as a small DOM.
struct Cell {
  enum Kind { kNull, kBool, kInt, kUint, kString, kNested } kind = kNull;
  bool b = false;
  int64_t i = 0;
  uint64_t u = 0;
  std::string* s = nullptr;
  Json* nested = nullptr;
};

using Encoder = void (*)(const Job&, std::string*);
using Decoder = bool (*)(Cell&, Job*);  // false: the value has the wrong type or range

struct Column {
  const char* name;
  Encoder encode;
  Decoder decode;
};

template <typename T>
void AppendInt(T v, std::string* out) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, res.ptr);
}

void AppendValue(const std::string& v, std::string* out) { AppendJsonString(v, out); }
void AppendValue(bool v, std::string* out) { out->append(v ? "true" : "false"); }
template <typename T>
std::enable_if_t<std::is_integral_v<T>> AppendValue(T v, std::string* out) {
  AppendInt(v, out);
}
void AppendValue(const std::vector<std::string>& v, std::string* out) {
  out->push_back('[');
  for (size_t k = 0; k < v.size(); ++k) {
    if (k > 0) out->push_back(',');
    AppendJsonString(v[k], out);
  }
  out->push_back(']');
}
void AppendValue(const std::vector<std::vector<uint32_t>>& v, std::string* out) {
  out->push_back('[');
  for (size_t k = 0; k < v.size(); ++k) {
    if (k > 0) out->push_back(',');
    out->push_back('[');
    for (size_t m = 0; m < v[k].size(); ++m) {
      if (m > 0) out->push_back(',');
      AppendInt(v[k][m], out);
    }
    out->push_back(']');
  }
  out->push_back(']');
}
void AppendValue(const DependencySpec& d, std::string* out) {
  out->append(DependencyToJson(d).dump(-1, ' ', false, Json::error_handler_t::replace));
}
void AppendValue(const ContainerSpec& c, std::string* out) {
  out->append(ContainerSpecToJson(c).dump(-1, ' ', false, Json::error_handler_t::replace));
}
void AppendValue(JobState s, std::string* out) { AppendJsonString(JobStateName(s), out); }

// A null cell leaves the field at its default, as a missing key does for JobFromJson.
bool ReadValue(Cell& c, bool& out) {
  if (c.kind == Cell::kNull) return true;
  if (c.kind != Cell::kBool) return false;
  out = c.b;
  return true;
}
bool ReadValue(Cell& c, std::string& out) {
  if (c.kind == Cell::kNull) return true;
  if (c.kind != Cell::kString) return false;
  out = std::move(*c.s);
  return true;
}
template <typename T>
std::enable_if_t<std::is_integral_v<T>, bool> ReadValue(Cell& c, T& out) {
  if (c.kind == Cell::kNull) return true;
  if (c.kind == Cell::kUint) {
    if (c.u > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
    out = static_cast<T>(c.u);
    return true;
  }
  if (c.kind != Cell::kInt) return false;
  if constexpr (std::is_unsigned_v<T>) {
    if (c.i < 0 || static_cast<uint64_t>(c.i) > std::numeric_limits<T>::max()) return false;
  } else {
    if (c.i < std::numeric_limits<T>::min() || c.i > std::numeric_limits<T>::max()) return false;
  }
  out = static_cast<T>(c.i);
  return true;
}
bool ReadValue(Cell& c, std::vector<std::string>& out) {
  if (c.kind == Cell::kNull) return true;
  if (c.kind != Cell::kNested || !c.nested->is_array()) return false;
  out.clear();
  for (Json& e : *c.nested) {
    if (!e.is_string()) return false;
    out.push_back(std::move(e.get_ref<std::string&>()));
  }
  return true;
}
bool ReadValue(Cell& c, std::vector<std::vector<uint32_t>>& out) {
  if (c.kind == Cell::kNull) return true;
  if (c.kind != Cell::kNested || !c.nested->is_array()) return false;
  out.clear();
  for (const Json& per_node : *c.nested) {
    if (!per_node.is_array()) return false;
    std::vector<uint32_t> idx;
    for (const Json& e : per_node) {
      if (!e.is_number_unsigned() || e.get<uint64_t>() > std::numeric_limits<uint32_t>::max()) {
        return false;
      }
      idx.push_back(e.get<uint32_t>());
    }
    out.push_back(std::move(idx));
  }
  return true;
}
bool ReadValue(Cell& c, DependencySpec& out) {
  if (c.kind == Cell::kNull) return true;
  if (c.kind != Cell::kNested) return false;
  out = DependencySpec();
  return DependencyFromJson(*c.nested, out).ok();
}
bool ReadValue(Cell& c, ContainerSpec& out) {
  if (c.kind == Cell::kNull) return true;
  if (c.kind != Cell::kNested) return false;
  out = ContainerSpec();
  return ContainerSpecFromJson(*c.nested, out).ok();
}
bool ReadValue(Cell& c, JobState& out) {
  if (c.kind == Cell::kNull) return true;
  if (c.kind != Cell::kString) return false;
  auto parsed = ParseJobState(*c.s);
  if (!parsed) return false;
  out = *parsed;
  return true;
}

template <auto Member>
void EncodeJob(const Job& j, std::string* out) {
  AppendValue(j.*Member, out);
}
template <auto Member>
bool DecodeJob(Cell& c, Job* j) {
  return ReadValue(c, j->*Member);
}
template <auto Member>
void EncodeReq(const Job& j, std::string* out) {
  AppendValue(j.req.*Member, out);
}
template <auto Member>
bool DecodeReq(Cell& c, Job* j) {
  return ReadValue(c, j->req.*Member);
}

#define SHOAL_JOB_COL(name, member) \
  Column { name, &EncodeJob<&Job::member>, &DecodeJob<&Job::member> }
#define SHOAL_REQ_COL(member)                                                  \
  Column {                                                                     \
    "request." #member, &EncodeReq<&JobRequest::member>,                       \
        &DecodeReq<&JobRequest::member>                                        \
  }

const Column kColumns[] = {
    SHOAL_JOB_COL("job_id", id),
    SHOAL_JOB_COL("state", state),
    SHOAL_JOB_COL("reason", reason),
    SHOAL_JOB_COL("held", held),
    SHOAL_JOB_COL("priority", priority),
    SHOAL_JOB_COL("submit_time", submit_time),
    SHOAL_JOB_COL("eligible_time", eligible_time),
    SHOAL_JOB_COL("start_time", start_time),
    SHOAL_JOB_COL("end_time", end_time),
    SHOAL_JOB_COL("array_job_id", array_job_id),
    SHOAL_JOB_COL("array_task_id", array_task_id),
    SHOAL_JOB_COL("nodes", nodes),
    SHOAL_JOB_COL("alloc_cpus", alloc_cpus),
    SHOAL_JOB_COL("cpus_per_node", cpus_per_node),
    SHOAL_JOB_COL("mem_per_node_alloc_mb", mem_per_node_alloc_mb),
    SHOAL_JOB_COL("gpu_indices", gpu_indices),
    SHOAL_JOB_COL("exit_code", exit_code),
    SHOAL_JOB_COL("exit_signal", exit_signal),
    SHOAL_JOB_COL("user_cpu_us", user_cpu_us),
    SHOAL_JOB_COL("system_cpu_us", system_cpu_us),
    SHOAL_JOB_COL("max_rss_kb", max_rss_kb),
    SHOAL_JOB_COL("restart_count", restart_count),
    SHOAL_JOB_COL("generation", generation),
    SHOAL_JOB_COL("terminating", terminating),
    SHOAL_JOB_COL("cancel_requested", cancel_requested),
    SHOAL_JOB_COL("preempted_by", preempted_by),
    SHOAL_JOB_COL("last_modified", last_modified),
    SHOAL_JOB_COL("planned_start", planned_start),
    SHOAL_JOB_COL("planned_nodes", planned_nodes),
    SHOAL_REQ_COL(name),
    SHOAL_REQ_COL(user),
    SHOAL_REQ_COL(uid),
    SHOAL_REQ_COL(gid),
    SHOAL_REQ_COL(account),
    SHOAL_REQ_COL(qos),
    SHOAL_REQ_COL(partition),
    SHOAL_REQ_COL(work_dir),
    SHOAL_REQ_COL(stdout_pattern),
    SHOAL_REQ_COL(stderr_pattern),
    SHOAL_REQ_COL(submit_host),
    SHOAL_REQ_COL(command),
    SHOAL_REQ_COL(min_nodes),
    SHOAL_REQ_COL(max_nodes),
    SHOAL_REQ_COL(ntasks),
    SHOAL_REQ_COL(ntasks_per_node),
    SHOAL_REQ_COL(cpus_per_task),
    SHOAL_REQ_COL(mem_per_node_mb),
    SHOAL_REQ_COL(mem_per_cpu_mb),
    SHOAL_REQ_COL(gpus_per_node),
    SHOAL_REQ_COL(gpu_type),
    SHOAL_REQ_COL(time_limit_s),
    SHOAL_REQ_COL(begin_time),
    SHOAL_REQ_COL(exclusive),
    SHOAL_REQ_COL(requeue),
    SHOAL_REQ_COL(nice),
    SHOAL_REQ_COL(constraint),
    SHOAL_REQ_COL(required_nodes),
    SHOAL_REQ_COL(excluded_nodes),
    SHOAL_REQ_COL(dependency),
    SHOAL_REQ_COL(array_spec),
    SHOAL_REQ_COL(array_max_running),
    SHOAL_REQ_COL(open_append),
    SHOAL_REQ_COL(interactive),
    SHOAL_REQ_COL(webhook),
    SHOAL_REQ_COL(reservation),
    SHOAL_REQ_COL(container),
};

#undef SHOAL_JOB_COL
#undef SHOAL_REQ_COL

constexpr int kNumColumns = static_cast<int>(sizeof(kColumns) / sizeof(kColumns[0]));

int FindColumn(std::string_view name) {
  for (int k = 0; k < kNumColumns; ++k) {
    if (name == kColumns[k].name) return k;
  }
  return -1;
}

// Length of the valid UTF-8 sequence at s[k], or 0 when it is not one.
size_t Utf8Length(std::string_view s, size_t k) {
  auto c = static_cast<unsigned char>(s[k]);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (k + n > s.size()) return 0;
  for (size_t m = 1; m < n; ++m) {
    auto cc = static_cast<unsigned char>(s[k + m]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  // Overlong forms, surrogates and code points past U+10FFFF are not valid UTF-8.
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

// Reads exactly the document JobTableWriter writes (any JSON whitespace allowed), straight
// from the text into the jobs: with 100,000 rows a general-purpose tokenizer costs several times
// the whole rest of squeue. Arrays and objects inside a cell (nodes, gpu_indices, dependency)
// are cut out and handed to nlohmann; unknown members of the document are skipped.
class TableParser {
 public:
  explicit TableParser(std::string_view text) : s_(text) {}

  Status Parse(std::vector<Job>* jobs) {
    jobs_ = jobs;
    bool seen_columns = false;
    if (!Expect('{')) return status_;
    if (Peek() == '}') return InvalidArgument("job table holds no columns");
    for (;;) {
      std::string key;
      if (!ParseString(&key) || !Expect(':')) return status_;
      if (key == "columns") {
        if (!ParseColumns()) return status_;
        seen_columns = true;
      } else if (key == "rows") {
        if (!seen_columns) return InvalidArgument("job table lists rows before its columns");
        if (!ParseRows()) return status_;
      } else if (!SkipValue()) {
        return status_;
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
    if (!seen_columns) return InvalidArgument("job table holds no columns");
    return Status::Ok();
  }

 private:
  bool ParseColumns() {
    if (!Expect('[')) return false;
    if (Peek() == ']') return Next(), true;
    std::string name;
    for (;;) {
      if (!ParseString(&name)) return false;
      int col = FindColumn(name);
      if (col < 0) return Fail("unknown job field '" + name + "'");
      columns_.push_back(col);
      char c = Next();
      if (c == ']') return true;
      if (c != ',') return Malformed("',' or ']'");
    }
  }

  bool ParseRows() {
    if (!Expect('[')) return false;
    if (Peek() == ']') return Next(), true;
    for (;;) {
      if (!Expect('[')) return false;
      Job& job = jobs_->emplace_back();
      for (size_t k = 0; k < columns_.size(); ++k) {
        if (k > 0 && !Expect(',')) return false;
        Cell cell;
        if (!ParseCell(&cell)) return false;
        const Column& col = kColumns[columns_[k]];
        if (!col.decode(cell, &job)) return Fail(std::string("a bad value for '") + col.name + "'");
      }
      if (Next() != ']') return Fail("a row of the wrong width");
      char c = Next();
      if (c == ']') return true;
      if (c != ',') return Malformed("',' or ']'");
    }
  }

  bool ParseCell(Cell* cell) {
    char c = Peek();
    if (c == '"') {
      if (!ParseString(&scratch_)) return false;
      cell->kind = Cell::kString;
      cell->s = &scratch_;
      return true;
    }
    if (c == '[' || c == '{') {
      size_t begin = p_;
      if (!SkipValue()) return false;
      std::string_view text = s_.substr(begin, p_ - begin);
      nested_ = text == "[]" ? Json::array() : Json::parse(text, nullptr, false);
      if (nested_.is_discarded()) return Malformed("a JSON value");
      cell->kind = Cell::kNested;
      cell->nested = &nested_;
      return true;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(cell);
    for (auto [word, kind, value] : {std::tuple{"true", Cell::kBool, true},
                                     std::tuple{"false", Cell::kBool, false},
                                     std::tuple{"null", Cell::kNull, false}}) {
      if (s_.substr(p_).starts_with(word)) {
        p_ += std::strlen(word);
        cell->kind = kind;
        cell->b = value;
        return true;
      }
    }
    return Malformed("a value");
  }

  bool ParseNumber(Cell* cell) {
    const char* begin = s_.data() + p_;
    const char* end = s_.data() + s_.size();
    std::from_chars_result r;
    if (*begin == '-') {
      cell->kind = Cell::kInt;
      r = std::from_chars(begin, end, cell->i);
    } else {
      cell->kind = Cell::kUint;
      r = std::from_chars(begin, end, cell->u);
    }
    if (r.ec == std::errc::invalid_argument) return Malformed("a number");
    if (r.ec != std::errc()) return Fail("a number out of range");
    if (r.ptr < end && (*r.ptr == '.' || *r.ptr == 'e' || *r.ptr == 'E')) {
      return Fail("a fractional number");
    }
    p_ = r.ptr - s_.data();
    return true;
  }

  // A JSON string into `out`, escapes decoded (\uXXXX, surrogate pairs included).
  bool ParseString(std::string* out) {
    if (!Expect('"')) return false;
    out->clear();
    for (;;) {
      size_t run = p_;
      while (run < s_.size()) {
        auto c = static_cast<unsigned char>(s_[run]);
        if (c == '"' || c == '\\' || c < 0x20) break;
        if (c < 0x80) {
          ++run;
          continue;
        }
        // JSON text is UTF-8 (nlohmann refuses anything else); a stray byte would come back
        // from the writers as U+FFFD, a different value.
        size_t n = Utf8Length(s_, run);
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
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\n' || s_[p_] == '\r' || s_[p_] == '\t')) {
      ++p_;
    }
  }
  char Peek() {
    SkipWs();
    return p_ < s_.size() ? s_[p_] : '\0';
  }
  char Next() {
    char c = Peek();
    if (p_ < s_.size()) ++p_;
    return c;
  }
  bool Expect(char c) {
    if (Next() == c) return true;
    return Malformed(std::string("'") + c + "'");
  }

  bool Fail(const std::string& what) {
    if (status_.ok()) status_ = InvalidArgument("job table holds " + what);
    return false;
  }
  bool Malformed(const std::string& expected) {
    if (status_.ok()) {
      status_ = Internal("malformed job table: expected " + expected + " at byte " +
                         std::to_string(p_));
    }
    return false;
  }

  std::string_view s_;
  size_t p_ = 0;
  Status status_;
  std::vector<int> columns_;
  std::vector<Job>* jobs_ = nullptr;
  std::string scratch_;
  std::string skipped_;
  Json nested_;
};

// Faults a large, not yet touched buffer in with one call: 100,000 Jobs fill 80 MB, and taking
// that one 4 KiB page fault at a time costs more than decoding them. (Huge pages would be
// cheaper still, but stall for memory compaction on a busy host.)
void Prefault(void* data, size_t bytes) {
  constexpr uintptr_t kPage = 4096;
  auto begin = (reinterpret_cast<uintptr_t>(data) + kPage - 1) & ~(kPage - 1);
  auto end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kPage - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
}

}  // namespace

const std::vector<std::string>& AllJobColumns() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Column& c : kColumns) out.push_back(c.name);
    return out;
  }();
  return names;
}

Result<std::vector<int>> ResolveJobColumns(const std::vector<std::string>& names) {
  std::vector<int> out;
  out.reserve(names.size());
  for (const std::string& n : names) {
    int col = FindColumn(n);
    if (col < 0) return InvalidArgument("unknown job field '" + n + "'");
    out.push_back(col);
  }
  return out;
}

JobTableWriter::JobTableWriter(std::vector<int> columns) : columns_(std::move(columns)) {
  out_ = "{\"columns\":[";
  for (size_t k = 0; k < columns_.size(); ++k) {
    if (k > 0) out_.push_back(',');
    AppendJsonString(kColumns[columns_[k]].name, &out_);
  }
  out_ += "],\"rows\":[";
}

void JobTableWriter::Add(const Job& job) {
  if (!first_row_) out_.push_back(',');
  first_row_ = false;
  out_.push_back('[');
  for (size_t k = 0; k < columns_.size(); ++k) {
    if (k > 0) out_.push_back(',');
    kColumns[columns_[k]].encode(job, &out_);
  }
  out_.push_back(']');
}

std::string JobTableWriter::Finish() {
  out_ += "]}";
  return std::move(out_);
}

std::string JobDocument(const Job& job) {
  constexpr std::string_view kRequest = "request.";
  std::string out;
  out.reserve(1024);
  out.push_back('{');
  bool first = true;
  for (const Column& c : kColumns) {
    std::string_view name = c.name;
    if (name.starts_with(kRequest)) continue;
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(name, &out);
    out.push_back(':');
    c.encode(job, &out);
  }
  out.append(",\"request\":{");
  first = true;
  for (const Column& c : kColumns) {
    std::string_view name = c.name;
    if (!name.starts_with(kRequest)) continue;
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(name.substr(kRequest.size()), &out);
    out.push_back(':');
    c.encode(job, &out);
  }
  out.append("}}");
  return out;
}

Result<std::vector<Job>> DecodeJobTable(std::string_view text) {
  // Growing a vector of 100,000 large Jobs moves them over and over; "],[" separates rows
  // (and, rarely, nested arrays), so counting it is a cheap, close upper bound.
  size_t rows = 1;
  for (size_t at = text.find("],["); at != std::string_view::npos; at = text.find("],[", at + 3)) {
    ++rows;
  }
  std::vector<Job> jobs;
  jobs.reserve(rows);
  if (rows > 1000) Prefault(jobs.data(), rows * sizeof(Job));
  Status s = TableParser(text).Parse(&jobs);
  if (!s.ok()) return s;
  return jobs;
}

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
      size_t n = Utf8Length(s, k);
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
