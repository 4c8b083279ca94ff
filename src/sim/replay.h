// Discrete-event replay of a workload through the scheduler core (core/scheduler.h) with a
// simulated clock: the very passes the controller runs, as fast as the CPU allows.
//
// Events at one instant: every submission (in workload order), then every termination (in
// order of start). Each event is followed by a scheduling pass, except where the pass provably
// could start nothing (see ReplayOptions::skip_idle_passes).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "core/scheduler.h"
#include "sim/workload.h"

namespace shoal {

struct ReplayOptions {
  std::string queue_order = "fcfs";  // PolicyRegistry names
  std::string backfill = "easy";
  // Calibration A: once a job is the head of the queue it stays the head while new jobs
  // arrive, whatever their keys.
  bool pin_head = false;
  // Skip passes that could start nothing: when no pending job asks for at most the free CPUs,
  // and after a submission that cannot start now when the new job queues behind every other
  // (FCFS order) or nothing is ever backfilled (none). Results are the same either way; tests
  // check that.
  bool skip_idle_passes = true;
  // Called after every pass with the simulated time and what the pass decided (tests use it to
  // check reservations are kept). Job ids are workload indices + 1.
  std::function<void(int64_t now, const ScheduleResult&)> on_pass;
  // Advance reservations on the simulated nodes ("n1".."nN"), times in the trace's seconds:
  // trace jobs name none, so each window keeps every job off its nodes (a maintenance window).
  std::vector<Reservation> reservations;
};

// Reads reservations for a replay on `machine`: one per line in scontrol's words
// ("ReservationName=m StartTime=now+1hour Duration=2:00:00 NodeCnt=4 Users=root Flags=MAINT"),
// "now" being time 0 of the trace; '#' starts a comment. InvalidArgument naming the line.
Result<std::vector<Reservation>> ParseSimReservations(std::string_view text,
                                                      const Machine& machine);

// The simulator's policy names: fcfs and sjf (no backfill), easy, easy-sjbf and conservative
// (FCFS queue). InvalidArgument for others.
Result<ReplayOptions> ReplayPolicy(std::string_view name);

struct JobOutcome {
  int64_t trace_id = 0;
  int64_t submit = 0;
  int64_t start = 0;
  int64_t end = 0;
  int64_t run = 0;
  uint32_t procs = 0;
  int64_t estimate = 0;
  int64_t wait() const { return start - submit; }
  int64_t response() const { return end - submit; }
  // Bounded slowdown: max(1, (wait + run) / max(run, 10)).
  double bsld() const;
};

struct ReplayStats {
  size_t jobs = 0;
  double avg_wait = 0;
  double avg_response = 0;
  double avg_bsld = 0;
  double utilization = 0;  // CPU-seconds used / (CPUs x makespan)
  int64_t makespan = 0;    // first submit to last end
};

struct ReplayResult {
  std::vector<JobOutcome> jobs;  // in workload order
  ReplayStats stats;
  uint64_t passes = 0;   // passes run
  uint64_t skipped = 0;  // passes skipped as idle
};

Result<ReplayResult> Replay(const Workload& workload, const ReplayOptions& options);

ReplayStats Summarize(const std::vector<JobOutcome>& jobs, const Machine& machine);

}  // namespace shoal
