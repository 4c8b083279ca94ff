// sinfo's rendering over model values: which nodes share a line, and what each field shows.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/format_spec.h"
#include "core/model.h"
#include "core/reservation.h"

namespace shoal {

inline constexpr char kSinfoDefaultFormat[] = "%9P %.5a %.10l %.6D %.6t %N";
inline constexpr char kSinfoLongFormat[] = "%9P %.5a %.10l %.10s %.4r %.8h %.10g %.6D %.11T %N";
inline constexpr char kSinfoSummarizeFormat[] = "%9P %.5a %.10l %.16F %N";
inline constexpr char kSinfoReasonFormat[] = "%20E %9u %19H %N";
inline constexpr char kSinfoReasonLongFormat[] = "%20E %12U %19H %6t %N";
// In node mode the node list column is as wide as the longest name (at least 9).
inline constexpr char kSinfoNodeFormat[] = "%N %.6D %.9P %6t";
inline constexpr char kSinfoNodeLongFormat[] =
    "%N %.6D %.9P %.11T %4c %.8z %.6m %.8d %.6w %.8f %20E";

enum class SinfoMode {
  kPartition,  // one line per partition and set of alike nodes (the default)
  kNode,       // -N: one line per node and partition
  kSummarize,  // -s: one line per partition
  kReasons,    // -R: one line per reason, over all partitions
};

// Parses -o (`named` false) or -O; unknown codes/names go to `on_invalid`.
std::vector<FieldSpec> ParseSinfoFormat(std::string_view format, bool named,
                                        const std::function<void(std::string_view)>& on_invalid);

// Nodes shown on one line.
struct SinfoLine {
  const Partition* partition = nullptr;  // nullptr in reasons mode
  std::vector<const Node*> nodes;
};

// Groups nodes into lines: partitions in the given order, nodes alike in every field the
// format shows (except counts and lists) together, busiest state first as Slurm sorts.
// `nodes` are the nodes that passed the filters.
std::vector<SinfoLine> BuildSinfoLines(const std::vector<FieldSpec>& fields,
                                       const std::vector<Partition>& partitions,
                                       const std::vector<Node>& nodes, SinfoMode mode);

std::string SinfoFieldTitle(const FieldSpec& f);
std::string SinfoFieldValue(const FieldSpec& f, const SinfoLine& line);

// Header (optional) and lines.
std::string RenderSinfo(const std::vector<FieldSpec>& fields, const std::vector<SinfoLine>& lines,
                        bool header);

// sinfo -T: RESV_NAME STATE START_TIME END_TIME DURATION NODELIST, one line per reservation, the
// name column as wide as the longest name (at least the title's 9), as Slurm 22.05 prints it;
// "No reservations in the system" when there are none.
std::string RenderSinfoReservations(const std::vector<Reservation>& reservations, bool header,
                                    int64_t now);

// Widens a node-mode %N without a width to the longest node name (at least 9, as Slurm).
void SizeNodeNameField(std::vector<FieldSpec>* fields, const std::vector<Node>& nodes);

// Whether sinfo -t accepts a state name (any leading part of one of Slurm's names).
bool SinfoStateNameValid(std::string_view state);
inline constexpr char kSinfoValidStates[] =
    "unknown,down,idle,allocated,?,mixed,future,drain,drained,draining,no_respond,reserved,"
    "perfctrs,cloud,completing,powering_down,powered_down,power_down,powering_up,fail,maint,"
    "reboot,reboot^,unknown";

// Whether a node matches a -t state name ("idle", "alloc", "drain", "down", "mix", ...).
bool SinfoStateMatches(const Node& node, std::string_view state);

}  // namespace shoal
