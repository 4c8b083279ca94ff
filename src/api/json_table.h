// Reads the compact table answers ({"columns":[names],"rows":[[v,...],...]} plus any other
// members) straight from the text, without a DOM. squeue's job table and sprio's priority table
// carry 100,000 rows; a general-purpose parser costs several times the whole rest of such a
// command. Arrays and objects inside a cell are rare, so they are cut out and handed to nlohmann.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/json_model.h"
#include "common/status.h"

namespace shoal {

// One cell, read from the text. The sink may move from `text` and `nested`.
struct JsonCell {
  enum Kind { kNull, kBool, kInt, kUint, kDouble, kString, kNested } kind = kNull;
  bool b = false;
  int64_t i = 0;     // kInt: a negative integer
  uint64_t u = 0;    // kUint: a non-negative integer
  double d = 0;      // kDouble: a number with a fraction or an exponent
  std::string* text = nullptr;  // kString, escapes decoded
  Json* nested = nullptr;       // kNested: an array or an object

  // Any number as a double; false for other kinds.
  bool AsDouble(double* out) const;
};

// What the reader calls as it goes. Errors stop the reading.
class JsonTableSink {
 public:
  virtual ~JsonTableSink() = default;
  // The column names, before any row.
  virtual Status Columns(const std::vector<std::string>& names) = 0;
  // A row begins; its cells follow in column order.
  virtual void BeginRow() = 0;
  // One cell of column `column`; false when its value has the wrong type or range.
  virtual bool Cell(size_t column, JsonCell& cell) = 0;
  // The rows have ended (for a run of ReadJsonTableInRuns, its share of them).
  virtual void EndRows() {}
  // A member other than "columns" and "rows", as its JSON text.
  virtual Status Member(std::string_view /*key*/, std::string_view /*json*/) {
    return Status::Ok();
  }
};

// Reads `text` into `sink`. `what` names the table in errors ("job table"): rows before their
// columns, rows of the wrong width and bad cell values are InvalidArgument; text that is not
// JSON of this shape (including strings that are not UTF-8) is Internal.
Status ReadJsonTable(std::string_view text, std::string_view what, JsonTableSink* sink);

// Reads `text` on sinks.size() threads at once (the first is the calling thread): the rows are
// split into runs that begin at line ends, and run k goes to sinks[k]. Every sink sees the
// columns and the members before the rows; members after them go to the last run's sink.
// Returns how many runs hold their share: when a split does not fall between two rows (a
// table not written a row per line), the run before it reads on to the end, and the sinks of
// the runs after it hold rows that are not theirs. Errors as ReadJsonTable's.
Result<size_t> ReadJsonTableInRuns(std::string_view text, std::string_view what,
                                   const std::vector<JsonTableSink*>& sinks);

}  // namespace shoal
