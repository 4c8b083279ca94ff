#include "sim/sim_main.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "sim/replay.h"
#include "sim/report.h"
#include "sim/swf.h"
#include "sim/workload.h"

namespace shoal {
namespace {

constexpr char kReplayHelp[] =
    R"(Replay an SWF trace (plain or .gz) through shoal's scheduler core with a
simulated clock.

Policies: fcfs and sjf (strict order, no backfill); easy, easy-sjbf (backfill
shortest first) and conservative (all FCFS queue order).

Without --protocol the trace is mapped as a user would run it on shoal:
  - the machine is MaxNodes nodes of MaxProcs/MaxNodes CPUs (a missing one
    defaults to the other; with neither, one-CPU nodes as many as the largest
    job needs);
  - a job asks for its requested processors (f8, else the allocated f5) as
    tasks on as few nodes as hold them, spread evenly;
  - its time limit is the requested time f9 (or, with --estimate actual or
    when f9 is missing, its run time); a job that ran longer than f9 is
    killed at f9, as shoal would;
  - records with unknown run time, no processors, more processors than the
    machine, or a negative submit time are dropped (counted as "dropped").
--protocol calibration-a: the traces README's Calibration A (ten windows of
  1024 jobs, no backfill, the head stays the head; fcfs or sjf only).
--protocol calibration-b: its Calibration B (filters, MaxProcs processors
  without node boundaries).
Events at one instant: submissions first, then terminations in start order;
a scheduling pass follows each event.)";

std::string BaseName(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Result<ReplayOutput> RunReplayCommand(const ReplayCommand& cmd) {
  BadLinePolicy bad;
  if (cmd.on_bad_line == "skip") {
    bad = BadLinePolicy::kSkip;
  } else if (cmd.on_bad_line == "stop") {
    bad = BadLinePolicy::kStop;
  } else {
    return InvalidArgument("--on-bad-line must be skip or stop");
  }
  EstimateSource estimate;
  if (cmd.estimate == "user") {
    estimate = EstimateSource::kUser;
  } else if (cmd.estimate == "actual") {
    estimate = EstimateSource::kActual;
  } else {
    return InvalidArgument("--estimate must be user or actual");
  }
  auto options = ReplayPolicy(cmd.policy);
  if (!options.ok()) return options.status();

  std::vector<Workload> windows;
  std::string protocol = cmd.protocol.empty() ? "default" : cmd.protocol;
  auto trace = ReadSwf(cmd.trace_path, bad);
  if (!trace.ok()) return trace.status();
  // Errors past this point mention the skipped lines: they may be why.
  auto failed = [&](const Status& s) {
    if (trace->skipped.empty()) return s;
    return Status(s.code(), s.message() + " (" + std::to_string(trace->skipped.size()) +
                                " malformed lines skipped, the first: " + trace->skipped.front() +
                                ")");
  };
  if (protocol == "calibration-a") {
    if (cmd.policy != "fcfs" && cmd.policy != "sjf") {
      return InvalidArgument("calibration-a runs fcfs or sjf (no backfill)");
    }
    if (estimate != EstimateSource::kUser) {
      return InvalidArgument("calibration-a fixes its estimates (f9, else the run time)");
    }
    if (cmd.first > 0)
      return InvalidArgument("calibration-a fixes its windows; --first does not apply");
    auto w = CalibrationAWindows(*trace);
    if (!w.ok()) return failed(w.status());
    windows = std::move(w).value();
    options->pin_head = true;
  } else if (protocol == "calibration-b") {
    auto w = CalibrationBWorkload(*trace, estimate, cmd.first);
    if (!w.ok()) return failed(w.status());
    windows.push_back(std::move(w).value());
  } else if (protocol == "default") {
    auto w = DefaultWorkload(*trace, estimate, cmd.first);
    if (!w.ok()) return failed(w.status());
    windows.push_back(std::move(w).value());
  } else {
    return InvalidArgument("--protocol must be calibration-a or calibration-b");
  }

  options->skip_idle_passes = !cmd.every_pass;
  if (!cmd.reservations_path.empty()) {
    std::ifstream f(cmd.reservations_path, std::ios::binary);
    if (!f) return InvalidArgument("cannot read " + cmd.reservations_path);
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto r = ParseSimReservations(text, windows.front().machine);
    if (!r.ok()) return InvalidArgument(cmd.reservations_path + ": " + r.status().message());
    options->reservations = std::move(r).value();
  }
  ReplayOutput out;
  out.warnings = std::move(trace->skipped);
  std::vector<ReplayStats> stats;
  std::vector<std::vector<JobOutcome>> outcomes;
  for (const Workload& w : windows) {
    auto r = Replay(w, *options);
    if (!r.ok()) return failed(r.status());
    stats.push_back(r->stats);
    out.passes += r->passes;
    out.skipped_passes += r->skipped;
    if (cmd.want_csv || cmd.want_plot) outcomes.push_back(std::move(r->jobs));
  }
  ReportHeader h;
  h.trace = BaseName(cmd.trace_path);
  h.protocol = protocol;
  h.policy = cmd.policy;
  h.estimate = cmd.estimate;
  h.machine = windows.front().machine;
  for (const Workload& w : windows) h.dropped += w.dropped;
  out.summary = cmd.json ? FormatJson(h, stats) : FormatSummary(h, stats);
  if (cmd.want_csv) out.csv = FormatJobsCsv(outcomes, windows.size() > 1);
  if (cmd.want_plot) {
    out.plot = FormatTimelineSvg(outcomes.front(), h.machine,
                                 h.trace + ", " + h.policy + " (" + h.estimate + " estimates)");
  }
  return out;
}

int SimMain(int argc, char** argv) {
  CLI::App app{"shoal's workload simulator"};
  app.name("shoal sim");
  app.require_subcommand(1);
  CLI::App* replay = app.add_subcommand("replay", kReplayHelp);
  ReplayCommand cmd;
  std::string csv_path, plot_path;
  bool timing = false;
  replay->add_option("trace", cmd.trace_path, "SWF trace, plain or .gz")->required();
  replay->add_option("--policy", cmd.policy, "fcfs, sjf, easy, easy-sjbf or conservative")
      ->capture_default_str();
  replay->add_option("--estimate", cmd.estimate, "user (f9) or actual (the run time)")
      ->capture_default_str();
  replay->add_option("--protocol", cmd.protocol, "calibration-a or calibration-b");
  replay->add_flag("--json", cmd.json, "print one JSON object");
  replay->add_option("--jobs-csv", csv_path, "write one line per job to FILE");
  replay->add_option("--plot", plot_path,
                     "write an SVG of queue length and utilization over time to FILE "
                     "(Calibration A: its first window)");
  replay->add_option("--on-bad-line", cmd.on_bad_line, "skip or stop at a malformed line")
      ->capture_default_str();
  replay->add_option("--first", cmd.first, "replay only the first N jobs (after filtering)");
  replay->add_flag("--every-pass", cmd.every_pass,
                   "run a pass after every event, even where none could start a job (slower, "
                   "same results)");
  replay->add_option("--reservations", cmd.reservations_path,
                     "FILE of reservations, one per line in scontrol's words (StartTime=now+N "
                     "counts from the trace's time 0; jobs are kept off their nodes)");
  replay->add_flag("--timing", timing, "print the replay's wall time and pass counts to stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  cmd.want_csv = !csv_path.empty();
  cmd.want_plot = !plot_path.empty();
  const auto started = std::chrono::steady_clock::now();
  auto out = RunReplayCommand(cmd);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!out.ok()) {
    std::fprintf(stderr, "shoal sim replay: %s\n", out.status().message().c_str());
    return 1;
  }
  for (const std::string& w : out->warnings) std::fprintf(stderr, "skipped %s\n", w.c_str());
  std::fputs(out->summary.c_str(), stdout);
  if (cmd.want_csv) {
    std::ofstream f(csv_path, std::ios::binary);
    f << out->csv;
    if (!f.good()) {
      std::fprintf(stderr, "shoal sim replay: cannot write %s\n", csv_path.c_str());
      return 1;
    }
  }
  if (cmd.want_plot) {
    std::ofstream f(plot_path, std::ios::binary);
    f << out->plot;
    if (!f.good()) {
      std::fprintf(stderr, "shoal sim replay: cannot write %s\n", plot_path.c_str());
      return 1;
    }
  }
  if (timing) {
    std::fprintf(stderr, "replay took %.3f s (%llu passes, %llu skipped as idle)\n", elapsed,
                 static_cast<unsigned long long>(out->passes),
                 static_cast<unsigned long long>(out->skipped_passes));
  }
  return 0;
}

}  // namespace shoal
