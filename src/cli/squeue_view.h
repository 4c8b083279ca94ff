// squeue's rendering: format fields, sorting and filtering over model values, with no I/O, so
// output can be tested line by line against Slurm's.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cli/format_spec.h"
#include "cli/job_fields.h"
#include "common/prefault.h"
#include "core/model.h"

namespace shoal {

inline constexpr char kSqueueDefaultFormat[] = "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R";
inline constexpr char kSqueueLongFormat[] = "%.18i %.9P %.8j %.8u %.8T %.10M %.9l %.6D %R";
inline constexpr char kSqueueStartFormat[] =
    "%.18i %.9P %.8j %.8u %.2t %.19S %.6D %20Y %R";
inline constexpr char kSqueueDefaultSort[] = "P,t,-p";

// Parses -o (`named` false) or -O (`named` true) into fields; unknown codes or names are
// reported through `on_invalid` (squeue prints "Invalid job format specification: X").
std::vector<FieldSpec> ParseSqueueFormat(std::string_view format, bool named,
                                         const std::function<void(std::string_view)>& on_invalid);

// Header text and value of one field.
std::string SqueueFieldTitle(const FieldSpec& f);
std::string SqueueFieldValue(const FieldSpec& f, const JobRow& row, int64_t now);

// Sorts rows by a --sort spec: comma-separated keys (squeue's letters), '-' for descending.
// Ties fall back to job id, then array task id.
void SortJobRows(std::vector<JobRow>* rows, std::string_view spec, int64_t now);

// The keys of a --sort spec, taken from one row's job at a time (the job need not outlive
// Add): what SortJobRows and SqueueListing order rows by.
class SqueueSortKeys {
 public:
  SqueueSortKeys(std::string_view spec, int64_t now);
  // Room for this many rows, so that adding 100,000 does not copy the keys as they grow.
  void Reserve(size_t rows) { cells_.reserve(rows * width_); }
  void Add(const Job& job);
  // Takes in the keys of rows added to `later` (made from the same spec), as if added here.
  void Append(SqueueSortKeys&& later);
  // The rows' indices (in the order they were added) in sorted order; call once.
  std::vector<uint32_t> Order();

 private:
  struct Key {
    char code;
    bool desc;
    // String keys: each distinct value, numbered as first seen (ranked in Order).
    std::unordered_map<std::string, uint32_t> seen;
    std::vector<const std::string*> distinct;
    uint32_t last_seen = UINT32_MAX;  // the previous row's value's number: runs are common
  };
  int64_t now_;
  std::vector<Key> keys_;
  size_t width_ = 2;  // cells per row: the keys ('i' takes two), then id and array task id
  size_t rows_ = 0;
  std::vector<uint64_t> cells_;  // rows_ x width_, order-preserving unsigned integers
  PrefaultAhead cells_ahead_;
};

// Which jobs squeue lists. Empty sets mean "no restriction".
struct SqueueFilter {
  std::vector<std::string> job_ids;  // "12", "10", "10_3"
  std::set<std::string> users;
  std::set<std::string> partitions;
  std::set<std::string> names;
  std::set<std::string> accounts;
  std::set<std::string> qos;  // lower case
  std::set<std::string> reservations;
  std::set<JobState> states;  // empty: pending, running, suspended, completing
  bool all_states = false;
  std::vector<std::string> nodes;  // jobs using any of these nodes
};

bool SqueueMatches(const Job& job, const SqueueFilter& filter);

// The job fields (job table column names, see api/job_table.h) that filtering, building rows,
// sorting by `sort` and rendering `fields` read: squeue asks the controller for only these.
std::vector<std::string> SqueueJobColumns(const std::vector<FieldSpec>& fields,
                                          std::string_view sort, const SqueueFilter& filter);

// The whole output: the optional header line, then one line per row.
std::string RenderSqueue(const std::vector<FieldSpec>& fields, const std::vector<JobRow>& rows,
                         bool header, int64_t now);

// squeue's output built one job at a time, as the controller's table is read: the same text as
// filtering with SqueueMatches, BuildJobRows, SortJobRows and RenderSqueue, but each job is
// rendered and keyed when it arrives, so nothing holds the jobs themselves (100,000 Jobs are
// 80 MB) except one per array whose pending tasks are shown together.
// Aligned so that listings filled at once by threads of their own share no cache line.
class alignas(64) SqueueListing {
 public:
  SqueueListing(std::vector<FieldSpec> fields, std::string_view sort, SqueueFilter filter,
                bool expand_arrays, int64_t now);
  // Room for the listing of a table of `table_bytes` (the controller's answer): reserved up
  // front, so that 100,000 lines and their keys are not copied over and over as they grow.
  // Memory reserved but never written costs nothing, so this errs on the large side.
  void Reserve(size_t table_bytes);
  // One job as listed; it need not outlive the call.
  void Add(const Job& job);
  // Takes in a listing made with the same arguments from a later run of the same table (one
  // decoded on another thread, ReadJobTableInRuns), as if its jobs had been added here.
  void Merge(SqueueListing&& later);
  // The output, as RenderSqueue prints it, handed to `emit` piece by piece (the header, then
  // each line) so that 100,000 lines need not be copied into one more string; the listing is
  // spent afterwards, and the pieces last as long as it does.
  void Finish(bool header, const std::function<void(std::string_view)>& emit);
  std::string Finish(bool header);

 private:
  // An array's pending tasks, shown as one row: the lowest task's job and every task id.
  struct PendingTasks {
    Job first;
    std::vector<int64_t> task_ids;
  };
  // Rendered lines of rows in the order added: one block for each listing merged in, so that
  // merging copies no lines.
  struct LineBlock {
    std::string text;
    std::vector<size_t> ends;  // where each row's line ends in text
    PrefaultAhead ahead;
  };
  void AddRow(const JobRow& row);

  std::vector<FieldSpec> fields_;
  SqueueFilter filter_;
  bool expand_arrays_;
  int64_t now_;
  SqueueSortKeys keys_;
  std::vector<LineBlock> blocks_;  // never empty: rows are added to the last
  std::map<JobId, PendingTasks> pending_arrays_;
  std::set<JobId> started_arrays_;      // arrays with a task past pending
  std::string header_;
};

}  // namespace shoal
