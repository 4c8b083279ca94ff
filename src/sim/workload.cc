#include "sim/workload.h"

#include <algorithm>

namespace shoal {
namespace {

void SortBySubmit(std::vector<SimJob>& jobs) {
  std::stable_sort(jobs.begin(), jobs.end(),
                   [](const SimJob& a, const SimJob& b) { return a.submit < b.submit; });
}

void KeepFirst(std::vector<SimJob>& jobs, size_t first) {
  if (first > 0 && jobs.size() > first) jobs.resize(first);
}

}  // namespace

Result<Workload> DefaultWorkload(const SwfTrace& trace, EstimateSource estimate, size_t first) {
  Workload w;
  int64_t max_nodes = trace.header.max_nodes;
  int64_t max_procs = trace.header.max_procs;
  if (max_nodes <= 0 && max_procs <= 0) {
    // No header: the machine is as large as the largest job.
    for (const SwfRecord& r : trace.records)
      max_procs = std::max({max_procs, r.req_procs(), r.alloc_procs()});
  }
  if (max_nodes <= 0) max_nodes = max_procs;
  if (max_procs <= 0) max_procs = max_nodes;
  if (max_nodes <= 0) return InvalidArgument("the trace gives no machine size and no job sizes");
  w.machine.nodes = static_cast<uint32_t>(max_nodes);
  w.machine.cpus_per_node = static_cast<uint32_t>(std::max<int64_t>(1, max_procs / max_nodes));
  const uint64_t cpus = w.machine.cpus();
  for (const SwfRecord& r : trace.records) {
    SimJob j;
    j.trace_id = r.job_id();
    j.submit = r.submit();
    j.run = r.run();
    j.user = r.user();
    int64_t procs = r.req_procs() > 0 ? r.req_procs() : r.alloc_procs();
    if (j.submit < 0 || j.run < 0 || procs <= 0 || static_cast<uint64_t>(procs) > cpus) {
      ++w.dropped;
      continue;
    }
    j.procs = static_cast<uint32_t>(procs);
    const bool has_limit = r.req_time() > 0;
    if (has_limit && j.run > r.req_time()) j.run = r.req_time();  // killed at its limit
    j.estimate = estimate == EstimateSource::kActual || !has_limit ? j.run : r.req_time();
    j.estimate = std::max<int64_t>(1, j.estimate);
    w.jobs.push_back(j);
  }
  SortBySubmit(w.jobs);
  KeepFirst(w.jobs, first);
  return w;
}

Result<Workload> CalibrationBWorkload(const SwfTrace& trace, EstimateSource estimate,
                                      size_t first) {
  Workload w;
  const int64_t max_procs =
      trace.header.max_procs > 0 ? trace.header.max_procs : trace.header.max_nodes;
  if (max_procs <= 0) return InvalidArgument("calibration-b needs MaxProcs in the trace header");
  w.machine.nodes = 1;
  w.machine.cpus_per_node = static_cast<uint32_t>(max_procs);
  for (const SwfRecord& r : trace.records) {
    int64_t alloc = r.alloc_procs(), req = r.req_procs();
    if (alloc > max_procs || req > max_procs) {
      ++w.dropped;
      continue;
    }
    if (alloc <= 0) alloc = req;
    if (req <= 0) req = alloc;
    int64_t run = r.run(), limit = r.req_time();
    if (req <= 0 || run <= 0 || limit <= 0 || r.submit() < 0) {
      ++w.dropped;
      continue;
    }
    if (limit < run) run = limit;
    SimJob j;
    j.trace_id = r.job_id();
    j.submit = r.submit();
    j.run = run;
    j.procs = static_cast<uint32_t>(req);
    j.estimate = estimate == EstimateSource::kActual ? run : limit;
    j.user = r.user();
    w.jobs.push_back(j);
  }
  SortBySubmit(w.jobs);
  KeepFirst(w.jobs, first);
  return w;
}

Result<std::vector<Workload>> CalibrationAWindows(const SwfTrace& trace) {
  const int64_t max_nodes = trace.header.max_nodes;
  const int64_t max_procs = trace.header.max_procs > 0 ? trace.header.max_procs : max_nodes;
  if (max_nodes <= 0) return InvalidArgument("calibration-a needs MaxNodes in the trace header");
  std::vector<SimJob> all;
  for (const SwfRecord& r : trace.records) {
    int64_t run = r.run();
    if (run == 0) continue;
    if (run < 0) run = 10;
    SimJob j;
    j.trace_id = r.job_id();
    j.submit = r.submit();
    j.run = run;
    j.procs = static_cast<uint32_t>(std::max<int64_t>(1, std::max(r.alloc_procs(), r.req_procs())));
    j.estimate = std::max<int64_t>(1, r.req_time() == -1 ? run : r.req_time());
    j.user = r.user();
    all.push_back(j);
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const SimJob& a, const SimJob& b) { return a.trace_id < b.trace_id; });
  // Processors per node times nodes: the README's machine, one pool (a job needs processors
  // anywhere).
  const int64_t per_node = std::max<int64_t>(1, max_procs / max_nodes);
  std::vector<Workload> windows;
  for (size_t start : kCalibrationAStarts) {
    if (start + kCalibrationAWindow > all.size()) {
      return InvalidArgument("calibration-a needs at least " +
                             std::to_string(start + kCalibrationAWindow) + " jobs, the trace has " +
                             std::to_string(all.size()));
    }
    Workload w;
    w.machine.nodes = 1;
    w.machine.cpus_per_node = static_cast<uint32_t>(per_node * max_nodes);
    w.jobs.assign(all.begin() + static_cast<std::ptrdiff_t>(start),
                  all.begin() + static_cast<std::ptrdiff_t>(start + kCalibrationAWindow));
    for (SimJob& j : w.jobs) j.procs = std::min<uint32_t>(j.procs, w.machine.cpus_per_node);
    windows.push_back(std::move(w));
  }
  return windows;
}

}  // namespace shoal
