// `shoal sim replay`: the command line over swf.h, workload.h, replay.h and report.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace shoal {

struct ReplayCommand {
  std::string trace_path;
  std::string policy = "easy";  // fcfs, sjf, easy, easy-sjbf, conservative
  std::string estimate = "user";
  std::string protocol;  // "", "calibration-a" or "calibration-b"
  bool json = false;
  bool want_csv = false;
  bool want_plot = false;  // SVG of queue length and utilization (of the first window)
  std::string on_bad_line = "skip";
  size_t first = 0;  // keep only the first N jobs after filtering; 0: all
  bool every_pass = false;  // run a pass after every event, even a provably idle one
  // A file of reservations in scontrol's words, one per line (ParseSimReservations); "": none.
  std::string reservations_path;
};

struct ReplayOutput {
  std::string summary;                // text or JSON, as asked
  std::string csv;                    // when asked
  std::string plot;                   // SVG, when asked
  std::vector<std::string> warnings;  // skipped lines, file:line: why
  uint64_t passes = 0;
  uint64_t skipped_passes = 0;
};

// Reads, maps and replays; the outputs are deterministic.
Result<ReplayOutput> RunReplayCommand(const ReplayCommand& command);

// `shoal sim ...` (argv[0] is "sim").
int SimMain(int argc, char** argv);

}  // namespace shoal
