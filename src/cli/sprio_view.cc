#include "cli/sprio_view.h"

#include "api/json_model.h"
#include "api/json_table.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <limits>

namespace shoal {

namespace {

// The priority table's cells into SprioRows; its "weights" member into the weights.
class SprioTableSink : public JsonTableSink {
 public:
  SprioTableSink(PriorityWeights* weights, std::vector<SprioRow>* rows)
      : weights_(weights), rows_(rows) {}

  bool saw_weights() const { return saw_weights_; }

  Status Columns(const std::vector<std::string>& names) override {
    static const std::vector<std::string> kKnown = {
        "job_id", "user",     "partition",        "priority", "age", "assoc",
        "fairshare", "job_size", "partition_factor", "qos",      "nice"};
    for (const std::string& name : names) {
      auto it = std::find(kKnown.begin(), kKnown.end(), name);
      // A column a newer controller added is skipped, not an error.
      columns_.push_back(it == kKnown.end() ? -1 : static_cast<int>(it - kKnown.begin()));
    }
    return Status::Ok();
  }
  void BeginRow() override { row_ = &rows_->emplace_back(); }
  bool Cell(size_t column, JsonCell& cell) override {
    PriorityFactors& f = row_->factors;
    switch (columns_[column]) {
      case 0: return cell.kind == JsonCell::kUint && (row_->id = cell.u, true);
      case 1: return TakeString(cell, &row_->user);
      case 2: return TakeString(cell, &row_->partition);
      case 3:
        if (cell.kind != JsonCell::kUint || cell.u > UINT32_MAX) return false;
        row_->priority = static_cast<uint32_t>(cell.u);
        return true;
      case 4: return cell.AsDouble(&f.age);
      case 5: return cell.AsDouble(&f.assoc);
      case 6: return cell.AsDouble(&f.fairshare);
      case 7: return cell.AsDouble(&f.job_size);
      case 8: return cell.AsDouble(&f.partition);
      case 9: return cell.AsDouble(&f.qos);
      case 10: {
        double nice;
        if (!cell.AsDouble(&nice) || nice < INT32_MIN || nice > INT32_MAX) return false;
        f.nice = static_cast<int32_t>(nice);
        return true;
      }
      default: return true;
    }
  }
  Status Member(std::string_view key, std::string_view json) override {
    if (key != "weights") return Status::Ok();
    Json w = Json::parse(json, nullptr, false);
    if (!w.is_object()) return Internal("malformed priority answer from controller: weights");
    try {
      weights_->age = w.value("age", 0u);
      weights_->assoc = w.value("assoc", 0u);
      weights_->fairshare = w.value("fairshare", 0u);
      weights_->job_size = w.value("job_size", 0u);
      weights_->partition = w.value("partition", 0u);
      weights_->qos = w.value("qos", 0u);
    } catch (const Json::exception& e) {
      return Internal(std::string("malformed priority answer from controller: ") + e.what());
    }
    saw_weights_ = true;
    return Status::Ok();
  }

 private:
  static bool TakeString(JsonCell& cell, std::string* out) {
    if (cell.kind != JsonCell::kString) return false;
    *out = std::move(*cell.text);
    return true;
  }

  PriorityWeights* weights_;
  std::vector<SprioRow>* rows_;
  SprioRow* row_ = nullptr;
  std::vector<int> columns_;
  bool saw_weights_ = false;
};

}  // namespace

Status DecodeSprioAnswer(std::string_view text, PriorityWeights* weights,
                         std::vector<SprioRow>* rows) {
  rows->clear();
  // A row takes some 60 characters of the answer: growing the vector as rows come would copy
  // and fault in 100,000 rows several times over.
  rows->reserve(text.size() / 56);
  SprioTableSink sink(weights, rows);
  Status s = ReadJsonTable(text, "priority table", &sink);
  if (!s.ok()) return s;
  if (!sink.saw_weights()) return Internal("malformed priority answer from controller");
  return Status::Ok();
}
namespace {

// printf's "%.*f" (std::to_chars with a precision is specified as printf in the C locale), in
// `buf`, without a format string to interpret per value.
std::string_view FixedInto(double v, int decimals, char* buf, size_t size) {
  auto r = std::to_chars(buf, buf + size, v, std::chars_format::fixed, decimals);
  if (r.ec != std::errc()) {  // cannot happen for factors; printf as a fallback
    return std::string_view(buf, static_cast<size_t>(snprintf(buf, size, "%.*f", decimals, v)));
  }
  return std::string_view(buf, static_cast<size_t>(r.ptr - buf));
}

template <typename Int>
std::string_view IntInto(Int v, char* buf, size_t size) {
  return std::string_view(buf, static_cast<size_t>(std::to_chars(buf, buf + size, v).ptr - buf));
}

// The factor one letter reads (lower-case letters and the weighted upper-case ones alike) and
// its weight; null for a letter that is not a factor.
double PriorityFactors::*FactorMember(char code, const PriorityWeights& w, uint32_t* weight) {
  switch (code) {
    case 'a':
    case 'A':
      *weight = w.age;
      return &PriorityFactors::age;
    case 'b':
    case 'B':
      *weight = w.assoc;
      return &PriorityFactors::assoc;
    case 'f':
    case 'F':
      *weight = w.fairshare;
      return &PriorityFactors::fairshare;
    case 'j':
    case 'J':
      *weight = w.job_size;
      return &PriorityFactors::job_size;
    case 'p':
    case 'P':
      *weight = w.partition;
      return &PriorityFactors::partition;
    case 'q':
    case 'Q':
      *weight = w.qos;
      return &PriorityFactors::qos;
    default:
      return nullptr;
  }
}

bool FactorOf(char code, const SprioRow& row, const PriorityWeights& w, double* factor,
              uint32_t* weight) {
  double PriorityFactors::*member = FactorMember(code, w, weight);
  if (member == nullptr) return false;
  *factor = row.factors.*member;
  return true;
}

}  // namespace

std::vector<FieldSpec> ParseSprioFormat(std::string_view format,
                                        const std::function<void(char)>& on_invalid) {
  std::vector<FieldSpec> fields;
  size_t first = format.find('%');
  std::string pending(format.substr(0, first));
  size_t i = first;
  while (i != std::string_view::npos && i < format.size()) {
    const size_t next = format.find('%', i + 1);
    std::string_view token = format.substr(
        i + 1, next == std::string_view::npos ? std::string_view::npos : next - i - 1);
    i = next;
    if (token.empty()) continue;  // "%%" or a trailing '%': nothing
    FieldSpec f;
    size_t k = 0;
    if (token[k] == '.') {
      f.right = true;
      ++k;
    }
    while (k < token.size() && token[k] >= '0' && token[k] <= '9') {
      f.width = std::min(f.width * 10 + (token[k] - '0'), 100000);
      ++k;
    }
    const char letter = k < token.size() ? token[k] : '\0';
    if (letter == '\0' ||
        std::string_view(kSprioFormatLetters).find(letter) == std::string_view::npos) {
      if (on_invalid && letter != '\0') on_invalid(letter);
      continue;
    }
    f.code = letter;
    f.prefix = std::move(pending);
    pending = std::string(token.substr(k + 1));
    fields.push_back(std::move(f));
  }
  if (!pending.empty()) {
    FieldSpec tail;
    tail.prefix = std::move(pending);
    fields.push_back(std::move(tail));
  }
  return fields;
}

std::string SprioDefaultFormat(bool long_list, bool normalized, bool with_user,
                               const PriorityWeights& w) {
  std::string f = "%.15i %9r";
  if (long_list || with_user) f += " %.8u";
  const char* num = normalized ? " %10" : " %.10";
  auto add = [&](bool shown, char weighted) {
    if (!long_list && !shown) return;
    f += num;
    f += normalized ? static_cast<char>(weighted - 'A' + 'a') : weighted;
  };
  f += num;
  f += normalized ? 'y' : 'Y';
  if (!normalized) f += " %.10S";
  add(w.age > 0, 'A');
  add(w.assoc > 0, 'B');
  add(w.fairshare > 0, 'F');
  add(w.job_size > 0, 'J');
  add(w.partition > 0, 'P');
  add(w.qos > 0, 'Q');
  if (long_list && !normalized) f += " %.11N";
  if (long_list) f += normalized ? " %20t" : " %.20T";  // TRES weights: none in shoal
  return f;
}

std::string SprioTitle(char code) {
  switch (code) {
    case 'a':
    case 'A':
      return "AGE";
    case 'b':
    case 'B':
      return "ASSOC";
    case 'c':
      return "CLUSTER";
    case 'f':
    case 'F':
      return "FAIRSHARE";
    case 'i':
      return "JOBID";
    case 'j':
    case 'J':
      return "JOBSIZE";
    case 'N':
      return "NICE";
    case 'p':
    case 'P':
      return "PARTITION";
    case 'q':
    case 'Q':
      return "QOS";
    case 'r':
      return "PARTITION";
    case 'S':
      return "SITE";
    case 't':
    case 'T':
      return "TRES";
    case 'u':
      return "USER";
    case 'y':
    case 'Y':
      return "PRIORITY";
    default:
      return "";
  }
}

namespace {

// SprioValue's text, in `buf` or in the row (no string per value: sprio writes 100,000 lines).
// `buf` holds at least kValueBuf characters.
constexpr size_t kValueBuf = 400;  // the longest %.14f of a factor sum, with room to spare
// The values printed as fixed-point numbers: a factor (normalised or weighted) and the exact
// priority ('y'), with their decimals; false for other letters.
bool FixedValueOf(char code, const SprioRow& row, const PriorityWeights& w, double* value,
                  int* decimals) {
  double factor = 0;
  uint32_t weight = 0;
  if (FactorOf(code, row, w, &factor, &weight)) {
    const bool normalised = code >= 'a' && code <= 'z';
    *value = normalised ? factor : factor * weight;
    *decimals = normalised ? 7 : 0;
    return true;
  }
  if (code != 'y') return false;
  // The sum before truncation, as Slurm prints it (0 for a held job).
  const double exact = row.priority == 0 ? 0 : Weigh(row.factors, w).Sum() - row.factors.nice;
  *value = std::max(0.0, exact) / std::numeric_limits<uint32_t>::max();
  *decimals = 14;
  return true;
}

std::string_view SprioValueView(char code, const SprioRow& row, const PriorityWeights& w,
                                char* buf) {
  double value = 0;
  int decimals = 0;
  if (FixedValueOf(code, row, w, &value, &decimals)) {
    return FixedInto(value, decimals, buf, kValueBuf);
  }
  switch (code) {
    case 'c':
      return "(null)";  // no federation: sprio names no cluster
    case 'i':
      return IntInto(row.id, buf, kValueBuf);
    case 'N':
      return IntInto(row.factors.nice, buf, kValueBuf);
    case 'r':
      return row.partition;
    case 'S':
      return "0";  // no site factor plugin
    case 'u':
      return row.user;
    case 'Y':
      return IntInto(row.priority, buf, kValueBuf);
    default:
      return "";  // t, T: no TRES weights
  }
}

}  // namespace

std::string SprioValue(char code, const SprioRow& row, const PriorityWeights& w) {
  char buf[kValueBuf];
  return std::string(SprioValueView(code, row, w, buf));
}

std::string SprioWeightValue(char code, const PriorityWeights& w) {
  SprioRow none;
  double factor = 0;
  uint32_t weight = 0;
  if (FactorOf(code, none, w, &factor, &weight)) return std::to_string(weight);
  switch (code) {
    case 'i':
      return "Weights";
    case 'S':
      return "1";
    case 'T':
      return "(null)";
    default:
      return "";
  }
}

std::optional<std::string> SortSprioRows(std::vector<SprioRow>* rows, std::string_view spec,
                                         const PriorityWeights& w) {
  struct Key {
    char code;
    bool desc;
  };
  std::vector<Key> keys;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t end = spec.find(',', start);
    if (end == std::string_view::npos) end = spec.size();
    std::string_view item = spec.substr(start, end - start);
    start = end + 1;
    if (item.empty()) continue;
    bool desc = false;
    if (item[0] == '-' || item[0] == '+') {
      desc = item[0] == '-';
      item.remove_prefix(1);
    }
    if (item.size() != 1 ||
        std::string_view("aAcfFijJNpPqQrtTuyY").find(item[0]) == std::string_view::npos) {
      return std::string(item);
    }
    keys.push_back({item[0], desc});
  }
  // Job id order first (a job's partitions keep their order), then the keys. The controller
  // lists in id order: then neither sort has anything to do.
  auto by_id = [](const SprioRow& a, const SprioRow& b) { return a.id < b.id; };
  if (!std::is_sorted(rows->begin(), rows->end(), by_id)) {
    std::stable_sort(rows->begin(), rows->end(), by_id);
  }
  if (keys.empty()) return std::nullopt;
  auto compare = [&](const Key& k, const SprioRow& a, const SprioRow& b) -> int {
    auto cmp = [](const auto& x, const auto& y) { return x < y ? -1 : (y < x ? 1 : 0); };
    double fa = 0, fb = 0;
    uint32_t weight = 0;
    if (FactorOf(k.code, a, w, &fa, &weight)) {
      FactorOf(k.code, b, w, &fb, &weight);
      return cmp(fa, fb);
    }
    switch (k.code) {
      case 'i':
        return cmp(a.id, b.id);
      case 'N':
        return cmp(a.factors.nice, b.factors.nice);
      case 'r':
        return cmp(a.partition, b.partition);
      case 'u':
        return cmp(a.user, b.user);
      case 'y':
      case 'Y':
        return cmp(a.priority, b.priority);
      default:
        return 0;  // c, t, T: all alike
    }
  };
  std::stable_sort(rows->begin(), rows->end(), [&](const SprioRow& a, const SprioRow& b) {
    for (const Key& k : keys) {
      int c = compare(k, a, b);
      if (c != 0) return k.desc ? c > 0 : c < 0;
    }
    return false;
  });
  return std::nullopt;
}

std::string RenderSprio(const std::vector<FieldSpec>& fields, const std::vector<SprioRow>& rows,
                        const PriorityWeights& w, bool header, bool weights_only) {
  std::string out;
  auto line = [&](const std::function<std::string(const FieldSpec&)>& value, bool is_header) {
    AppendLine(fields, value, is_header, &out);
    out += '\n';
  };
  if (header) line([](const FieldSpec& f) { return SprioTitle(f.code); }, true);
  if (weights_only) {
    line([&](const FieldSpec& f) { return SprioWeightValue(f.code, w); }, false);
    return out;
  }
  // Values are appended in place: a std::function and a string per value cost more than the
  // values themselves over 100,000 lines.
  char buf[kValueBuf];
  // Neighbouring rows mostly repeat a column's number (jobs submitted in the same second have
  // the same age, a user's jobs the same fair share): each column keeps the last number it
  // printed and its text, and formats only a new one.
  // What each column prints, worked out once: a factor (normalised or weighted) is read
  // through a member pointer, with no dispatch on its letter per row.
  struct Column {
    double PriorityFactors::*factor = nullptr;
    double weight = 1;
    int decimals = 0;
    bool fixed = false;  // a factor or 'y': a fixed-point number, remembered below
    uint64_t bits = 0;   // the last number printed, and its text
    bool set = false;
    std::string text;
  };
  std::vector<Column> columns(fields.size());
  for (size_t i = 0; i < fields.size(); ++i) {
    Column& c = columns[i];
    uint32_t weight = 0;
    c.factor = FactorMember(fields[i].code, w, &weight);
    const bool normalised = fields[i].code >= 'a' && fields[i].code <= 'z';
    c.weight = normalised ? 1.0 : weight;
    c.decimals = c.factor == nullptr ? 14 : normalised ? 7 : 0;
    c.fixed = c.factor != nullptr || fields[i].code == 'y';
  }
  const size_t start = out.size();
  for (const SprioRow& row : rows) {
    if (&row == &rows.front() + 1) {  // one line written: room for all of them at once
      out.reserve(start + (out.size() - start) * rows.size() * 9 / 8);
    }
    for (size_t i = 0; i < fields.size(); ++i) {
      const FieldSpec& f = fields[i];
      out.append(f.prefix);
      if (f.code == 0) continue;
      Column& c = columns[i];
      if (c.fixed) {
        double value = 0;
        if (c.factor != nullptr) {
          value = row.factors.*c.factor * c.weight;
        } else {
          int decimals = 0;
          FixedValueOf(f.code, row, w, &value, &decimals);
        }
        uint64_t bits;
        std::memcpy(&bits, &value, sizeof bits);
        if (!c.set || c.bits != bits) {
          c.text.assign(FixedInto(value, c.decimals, buf, kValueBuf));
          c.bits = bits;
          c.set = true;
        }
        AppendFitted(c.text, f.width, f.right, f.cut, &out);
      } else {
        AppendFitted(SprioValueView(f.code, row, w, buf), f.width, f.right, f.cut, &out);
      }
    }
    out += '\n';
  }
  return out;
}

}  // namespace shoal
