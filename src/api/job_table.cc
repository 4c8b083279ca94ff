#include "api/job_table.h"

#include <charconv>
#include <limits>
#include <type_traits>

#include "api/json_model.h"

namespace shoal {
namespace {

// One decoded cell: scalars arrive straight from the SAX parser; arrays and objects (nodes,
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
    SHOAL_JOB_COL("restart_count", restart_count),
    SHOAL_JOB_COL("generation", generation),
    SHOAL_JOB_COL("terminating", terminating),
    SHOAL_JOB_COL("cancel_requested", cancel_requested),
    SHOAL_JOB_COL("last_modified", last_modified),
    SHOAL_REQ_COL(name),
    SHOAL_REQ_COL(user),
    SHOAL_REQ_COL(uid),
    SHOAL_REQ_COL(gid),
    SHOAL_REQ_COL(account),
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

// Reads the table event by event. Depth 1 is the document, 2 the columns or rows array, 3 a
// row; anything deeper is a nested cell, collected into `nested_`.
class TableReader : public nlohmann::json_sax<Json> {
 public:
  bool null() override {
    Cell c;
    return Value(c, Json(nullptr));
  }
  bool boolean(bool v) override {
    Cell c;
    c.kind = Cell::kBool;
    c.b = v;
    return Value(c, Json(v));
  }
  bool number_integer(number_integer_t v) override {
    Cell c;
    c.kind = Cell::kInt;
    c.i = v;
    return Value(c, Json(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    Cell c;
    c.kind = Cell::kUint;
    c.u = v;
    return Value(c, Json(v));
  }
  bool number_float(number_float_t, const string_t&) override { return Fail("a number"); }
  bool string(string_t& v) override {
    if (depth_ == 2 && in_columns_) {
      int col = FindColumn(v);
      if (col < 0) return Fail("unknown job field '" + v + "'");
      columns_.push_back(col);
      return true;
    }
    Cell c;
    c.kind = Cell::kString;
    c.s = &v;
    if (!stack_.empty()) return Value(c, Json(std::move(v)));
    return Value(c, Json());
  }
  bool binary(binary_t&) override { return Fail("binary data"); }
  bool start_object(std::size_t) override { return Open(Json::object()); }
  bool key(string_t& k) override {
    if (depth_ == 1) {
      in_columns_ = k == "columns";
      in_rows_ = k == "rows";
      return true;
    }
    key_ = k;
    return true;
  }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override {
    if (depth_ == 2 && in_rows_) {
      ++depth_;
      jobs_.emplace_back();
      next_col_ = 0;
      return true;
    }
    return Open(Json::array());
  }
  bool end_array() override {
    if (depth_ == 3 && in_rows_) {
      --depth_;
      if (next_col_ != columns_.size()) return Fail("a row of the wrong width");
      return true;
    }
    return Close();
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    if (status_.ok()) status_ = Internal(std::string("malformed job table: ") + e.what());
    return false;
  }

  Status status() const { return status_; }
  std::vector<Job>& jobs() { return jobs_; }

 private:
  bool Fail(const std::string& what) {
    if (status_.ok()) status_ = InvalidArgument("job table holds " + what);
    return false;
  }

  // A scalar: a cell of the current row, or part of a nested cell (then `j` is kept).
  bool Value(Cell& c, Json j) {
    if (!stack_.empty()) return Add(std::move(j));
    if (depth_ != 3 || !in_rows_) return true;  // other members of the document are ignored
    return Cell3(c);
  }

  bool Cell3(Cell& c) {
    if (next_col_ >= columns_.size()) return Fail("a row of the wrong width");
    const Column& col = kColumns[columns_[next_col_++]];
    if (!col.decode(c, &jobs_.back())) {
      return Fail(std::string("a bad value for '") + col.name + "'");
    }
    return true;
  }

  bool Add(Json j) {
    Json* parent = stack_.back();
    if (parent->is_array()) {
      parent->push_back(std::move(j));
    } else {
      (*parent)[key_] = std::move(j);
    }
    return true;
  }

  bool Open(Json j) {
    if (stack_.empty() && (depth_ != 3 || !in_rows_)) {
      ++depth_;
      skip_.push_back(true);
      return true;
    }
    ++depth_;
    skip_.push_back(false);
    if (stack_.empty()) {
      nested_ = std::move(j);
      stack_.push_back(&nested_);
    } else {
      Json* parent = stack_.back();
      Json* child;
      if (parent->is_array()) {
        parent->push_back(std::move(j));
        child = &parent->back();
      } else {
        child = &((*parent)[key_] = std::move(j));
      }
      stack_.push_back(child);
    }
    return true;
  }

  bool Close() {
    --depth_;
    bool skipped = skip_.back();
    skip_.pop_back();
    if (skipped) return true;
    stack_.pop_back();
    if (!stack_.empty()) return true;
    Cell c;
    c.kind = Cell::kNested;
    c.nested = &nested_;
    return Cell3(c);
  }

  Status status_;
  int depth_ = 0;
  bool in_columns_ = false;
  bool in_rows_ = false;
  std::vector<int> columns_;
  size_t next_col_ = 0;
  std::vector<Job> jobs_;
  std::vector<bool> skip_;  // per open container: outside the rows' cells
  std::vector<Json*> stack_;
  Json nested_;
  std::string key_;
};

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

Result<std::vector<Job>> DecodeJobTable(std::string_view text) {
  TableReader reader;
  // Growing a vector of 100,000 large Jobs moves them over and over; "],[" separates rows
  // (and, rarely, nested arrays), so counting it is a cheap, close upper bound.
  size_t rows = 1;
  for (size_t at = text.find("],["); at != std::string_view::npos; at = text.find("],[", at + 3)) {
    ++rows;
  }
  reader.jobs().reserve(rows);
  bool ok = Json::sax_parse(text.begin(), text.end(), &reader);
  if (!reader.status().ok()) return reader.status();
  if (!ok) return Internal("malformed job table");
  return std::move(reader.jobs());
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
