// The compact, columnar answer of GET /api/v1/jobs?fields=a,b,...: {"columns":[names],
// "rows":[[v,...],...]}. Listing 100,000 jobs as full documents costs seconds to build and to
// parse; a table of only the fields a command needs, written straight into a string and read
// back without a DOM, costs milliseconds. The column names and their mapping to Job fields live
// here only, shared by the controller (encoding) and the commands (decoding).
//
// Names are JobToJson's top-level keys ("job_id", "state", "nodes", ...) and, for the request,
// "request." followed by JobRequestToJson's key ("request.name", "request.time_limit_s", ...).
// Values are encoded as JobToJson encodes them.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "api/json_string.h"
#include "common/status.h"
#include "core/model.h"

namespace shoal {

// Every column name, in a fixed order.
const std::vector<std::string>& AllJobColumns();

// Resolves column names; an unknown one is InvalidArgument naming it.
Result<std::vector<int>> ResolveJobColumns(const std::vector<std::string>& names);

// Writes a table of the given (resolved) columns, one row per Add, each row on a line of its
// own.
class JobTableWriter {
 public:
  explicit JobTableWriter(std::vector<int> columns);
  // About how many rows will be added: once the first is written, room for all is reserved,
  // so that a table of 100,000 rows is not copied over and over as it grows.
  void ExpectRows(size_t rows) { expected_rows_ = rows; }
  void Add(const Job& job);
  // Adds the rows of `later` (a writer of the same columns) after these: a table written in
  // runs on several threads becomes one. `later` is spent afterwards.
  void Append(JobTableWriter&& later);
  // The whole document; the writer is spent afterwards.
  std::string Finish();

 private:
  std::vector<int> columns_;
  std::string out_;
  size_t head_size_ = 0;  // the bytes of out_ before the first row
  bool first_row_ = true;
  size_t expected_rows_ = 0;
};

// Reads a table back into jobs: the named columns are set, every other field keeps its default.
// Unknown columns, rows of the wrong width and values of the wrong type are InvalidArgument.
Result<std::vector<Job>> DecodeJobTable(std::string_view text);

// Reads a table row by row into one Job that is reused: `visit` sees each row's job (the named
// columns set, a null cell at its default, every other field at its default) and must not keep
// a reference to it. Nothing is held per row, so a listing of 100,000 jobs never builds 100,000
// Jobs (80 MB). Returns the number of rows; errors as DecodeJobTable's, and rows visited before
// an error are not taken back.
Result<size_t> ReadJobTable(std::string_view text, const std::function<void(const Job&)>& visit);

// ReadJobTableInRuns's answer: how many runs hold their share of the rows, and those rows.
struct JobTableRuns {
  size_t runs = 0;
  size_t rows = 0;
};

// Reads a table as ReadJobTable does, on up to `threads` threads at once (the first is the
// calling thread): the rows are split into runs at line ends (JobTableWriter writes a row per
// line), and visit(k, job) sees run k's jobs in table order, on run k's thread; every row of
// run k comes before every row of run k + 1. A table of under a megabyte per thread is split
// less, or not at all. Runs past the answer's `runs` were handed rows that are not theirs and
// are to be dropped (a table not written a row per line is read whole as run 0).
Result<JobTableRuns> ReadJobTableInRuns(std::string_view text, size_t threads,
                                        const std::function<void(size_t, const Job&)>& visit);

// The job as one JSON document with exactly JobToJson's members and values, written straight
// into a string: about ten times cheaper than building and dumping the DOM, and the store writes
// one per change of every job. Bytes that are not UTF-8 become U+FFFD (AppendJsonString).
std::string JobDocument(const Job& job);

}  // namespace shoal
