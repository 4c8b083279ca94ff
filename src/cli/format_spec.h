// Output format specifications shared by squeue and sinfo: "%.18i %9P" (-o/--format) and
// "JobID:10,Name" (-O/--Format), and fitting values into their columns.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace shoal {

struct FieldSpec {
  std::string prefix;  // literal text printed before the field
  char code = 0;       // the %-letter; 0 for trailing literal text only
  std::string name;    // -O field name as written (case kept), empty for %-codes
  int width = 0;       // 0: the value's natural width
  bool right = false;  // '.' given: right-justified
  bool cut = true;     // values longer than the width are cut (Slurm spares durations)
};

// Parses a -o format. `valid_codes` lists the letters the command knows; any other character
// after '%' (and its '.'/digits) is reported through `on_invalid` and kept as literal text,
// as squeue and sinfo do.
std::vector<FieldSpec> ParsePercentFormat(std::string_view format, std::string_view valid_codes,
                                          const std::function<void(char)>& on_invalid);

// Parses a -O list: comma-separated "name[:[.]width]". Fields without a width get
// `default_width`, left-justified. Names are not checked here.
std::vector<FieldSpec> ParseNamedFormat(std::string_view format, int default_width);

// Pads `value` to `width` (on the left when `right`), or, when `cut`, cuts it to its first
// `width` characters when longer; width 0 returns it unchanged.
std::string FitField(std::string_view value, int width, bool right, bool cut = true);
// The same, appended to `out` (a listing of 100,000 lines builds no string per field).
void AppendFitted(std::string_view value, int width, bool right, bool cut, std::string* out);

// One output line: each field's prefix, then its value from `value` fitted to the field.
// `header` lines always cut (Slurm cuts titles even of fields whose values it does not cut).
std::string RenderLine(const std::vector<FieldSpec>& fields,
                       const std::function<std::string(const FieldSpec&)>& value,
                       bool header = false);
// The same line appended to `out`; `value` is called as RenderLine's (a template, so that
// 100,000 lines of a listing make no indirect call per field).
template <typename Value>
void AppendLine(const std::vector<FieldSpec>& fields, const Value& value, bool header,
                std::string* out) {
  for (const FieldSpec& f : fields) {
    out->append(f.prefix);
    if (f.code != 0 || !f.name.empty()) {
      AppendFitted(value(f), f.width, f.right, f.cut || header, out);
    }
  }
}

}  // namespace shoal
