// sprio's rendering over model values: its format letters, the default formats (which depend on
// the configured weights), sorting, and the weights line. Matches Slurm 22.05's sprio output.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/format_spec.h"
#include "common/status.h"
#include "core/model.h"
#include "core/priority.h"

namespace shoal {

// One pending job's priority, as GET /api/v1/priority lists it.
struct SprioRow {
  JobId id = 0;
  std::string user;
  std::string partition;
  uint32_t priority = 0;
  PriorityFactors factors;  // normalised; weighted values are the weights times these
};

// The letters sprio knows: upper case weighted, lower case normalised (a/A age, b/B assoc,
// f/F fair share, j/J job size, p/P partition, q/Q QOS, t/T TRES, y/Y priority), c cluster,
// i job id, N nice, r partition name, S site, u user.
inline constexpr char kSprioFormatLetters[] = "aAbBcfFijJNpPqQrStTuyY";

// Parses -o. Text up to the first '%' is kept; each "%[.][width]letter" runs until the next
// '%', its tail printed after it. A token with an unknown letter goes to `on_invalid` and is
// dropped with its tail, as sprio does.
// Reads the controller's answer to GET /api/v1/priority (weights, and a table whose columns are
// named in "columns") without building a DOM of its rows: there is one per pending job.
Status DecodeSprioAnswer(std::string_view text, PriorityWeights* weights,
                         std::vector<SprioRow>* rows);

std::vector<FieldSpec> ParseSprioFormat(std::string_view format,
                                        const std::function<void(char)>& on_invalid);

// The format sprio uses without -o: -l shows every factor, otherwise only those with a weight
// (and the site factor); -n normalised values (no site or nice); -u adds the user.
std::string SprioDefaultFormat(bool long_list, bool normalized, bool with_user,
                               const PriorityWeights& w);

// Column titles and values.
std::string SprioTitle(char code);
std::string SprioValue(char code, const SprioRow& row, const PriorityWeights& w);
// The -w line: "Weights" under JOBID, each factor's weight under its columns.
std::string SprioWeightValue(char code, const PriorityWeights& w);

// Sorts by -S: comma-separated letters, '-' before one for descending; ties keep job id order.
// Returns the first letter sprio does not sort by (nothing sorted then), or nullopt.
std::optional<std::string> SortSprioRows(std::vector<SprioRow>* rows, std::string_view spec,
                                         const PriorityWeights& w);

// Header (optional) and one line per row, or (weights_only) the weights line.
std::string RenderSprio(const std::vector<FieldSpec>& fields, const std::vector<SprioRow>& rows,
                        const PriorityWeights& w, bool header, bool weights_only);

}  // namespace shoal
