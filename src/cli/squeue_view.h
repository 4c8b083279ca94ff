// squeue's rendering: format fields, sorting and filtering over model values, with no I/O, so
// output can be tested line by line against Slurm's.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cli/format_spec.h"
#include "cli/job_fields.h"
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

}  // namespace shoal
