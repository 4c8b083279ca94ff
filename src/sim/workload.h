// From SWF records to the jobs and machine a replay runs, under one of three protocols:
//   default        what a user would expect of a trace run on shoal: MaxNodes nodes of
//                  MaxProcs/MaxNodes CPUs; a job asks for its requested processors (f8, else the
//                  allocated f5) as tasks on as few nodes as hold them; its time limit is the
//                  user's estimate (f9) and a job running longer is killed at it.
//   calibration-a  the traces README's Calibration A (no-backfill windows, RLScheduler SC20).
//   calibration-b  the traces README's Calibration B (EASY on whole logs): MaxProcs
//                  processors without node boundaries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "sim/swf.h"

namespace shoal {

struct SimJob {
  int64_t trace_id = 0;  // f1
  int64_t submit = 0;
  int64_t run = 0;       // how long it really runs
  uint32_t procs = 1;    // CPUs in all
  int64_t estimate = 1;  // the time limit the scheduler plans with (>= 1)
  int64_t user = -1;
};

struct Machine {
  uint32_t nodes = 1;
  uint32_t cpus_per_node = 1;
  uint64_t cpus() const { return static_cast<uint64_t>(nodes) * cpus_per_node; }
};

struct Workload {
  Machine machine;
  std::vector<SimJob> jobs;  // by submit time, then trace order
  size_t dropped = 0;        // records the protocol's filters removed
};

enum class EstimateSource : uint8_t {
  kUser,    // f9, the user's requested time
  kActual,  // the run time: a perfect estimate
};

// The default mapping. `first` > 0 keeps only the first `first` jobs after filtering.
Result<Workload> DefaultWorkload(const SwfTrace& trace, EstimateSource estimate, size_t first = 0);

// Calibration B: filters as the README states; procs = f8 on one node of MaxProcs CPUs.
Result<Workload> CalibrationBWorkload(const SwfTrace& trace, EstimateSource estimate,
                                      size_t first = 0);

// Calibration A: all records (run < 0 becomes 10, run == 0 dropped) sorted by job id; ten
// windows of 1024 jobs at fixed start indices, each its own workload on an empty machine of
// MaxNodes x (MaxProcs / MaxNodes) processors (one node: a job needs processors anywhere).
inline constexpr size_t kCalibrationAWindow = 1024;
inline constexpr size_t kCalibrationAStarts[] = {1981, 2756, 4299, 8850, 3316,
                                                 2714, 5228, 7762, 4022, 7085};
Result<std::vector<Workload>> CalibrationAWindows(const SwfTrace& trace);

}  // namespace shoal
