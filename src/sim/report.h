// What `shoal sim replay` prints: a summary (text or one JSON object) and a per-job CSV. Output
// is deterministic (fixed formats, no timings), so golden files can pin it byte for byte.
#pragma once

#include <string>
#include <vector>

#include "sim/replay.h"
#include "sim/workload.h"

namespace shoal {

struct ReportHeader {
  std::string trace;     // file name as shown (no directories)
  std::string protocol;  // "default", "calibration-a", "calibration-b"
  std::string policy;
  std::string estimate;  // "user" or "actual"
  Machine machine;
  size_t dropped = 0;
};

// One replay, or (Calibration A) several windows whose figures are averaged window by window.
std::string FormatSummary(const ReportHeader& header, const std::vector<ReplayStats>& windows);
std::string FormatJson(const ReportHeader& header, const std::vector<ReplayStats>& windows);

// One line per job: window (Calibration A only), id, submit, start, end, run, procs, estimate,
// wait, bsld.
std::string FormatJobsCsv(const std::vector<std::vector<JobOutcome>>& windows, bool with_window);

// An SVG image (deterministic text) of the queue length and the machine's utilization over
// the replay, time-averaged over up to 800 slices of its span, with the peak queue marked.
std::string FormatTimelineSvg(const std::vector<JobOutcome>& jobs, const Machine& machine,
                              const std::string& title);

// Mean of each figure over windows (a single window is itself).
ReplayStats MeanOfWindows(const std::vector<ReplayStats>& windows);

}  // namespace shoal
