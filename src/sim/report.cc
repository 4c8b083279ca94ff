#include "sim/report.h"

#include <cinttypes>
#include <cstdio>

namespace shoal {
namespace {

template <typename... Args>
void Append(std::string& out, const char* format, Args... args) {
  char buf[512];
  int n = std::snprintf(buf, sizeof(buf), format, args...);
  if (n > 0) out.append(buf, std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
}

}  // namespace

ReplayStats MeanOfWindows(const std::vector<ReplayStats>& windows) {
  if (windows.size() == 1) return windows.front();
  ReplayStats m;
  if (windows.empty()) return m;
  int64_t makespan = 0;
  for (const ReplayStats& w : windows) {
    m.jobs += w.jobs;
    m.avg_wait += w.avg_wait;
    m.avg_response += w.avg_response;
    m.avg_bsld += w.avg_bsld;
    m.utilization += w.utilization;
    makespan += w.makespan;
  }
  const double n = static_cast<double>(windows.size());
  m.avg_wait /= n;
  m.avg_response /= n;
  m.avg_bsld /= n;
  m.utilization /= n;
  m.makespan = makespan / static_cast<int64_t>(windows.size());
  return m;
}

std::string FormatSummary(const ReportHeader& h, const std::vector<ReplayStats>& windows) {
  std::string out;
  const ReplayStats m = MeanOfWindows(windows);
  Append(out, "trace          %s\n", h.trace.c_str());
  Append(out, "protocol       %s, %u node(s) x %u CPUs\n", h.protocol.c_str(), h.machine.nodes,
         h.machine.cpus_per_node);
  Append(out, "policy         %s, %s estimates\n", h.policy.c_str(), h.estimate.c_str());
  Append(out, "jobs           %zu (dropped %zu)\n", m.jobs, h.dropped);
  if (windows.size() > 1) {
    for (size_t i = 0; i < windows.size(); ++i) {
      Append(out, "  window %-2zu   bsld %.4f  wait %.2f s\n", i + 1, windows[i].avg_bsld,
             windows[i].avg_wait);
    }
    Append(out, "(figures below are means over the %zu windows)\n", windows.size());
  }
  Append(out, "mean wait      %.2f s\n", m.avg_wait);
  Append(out, "mean response  %.2f s\n", m.avg_response);
  Append(out, "mean bsld      %.4f\n", m.avg_bsld);
  Append(out, "utilization    %.4f\n", m.utilization);
  Append(out, "makespan       %" PRId64 " s\n", m.makespan);
  return out;
}

std::string FormatJson(const ReportHeader& h, const std::vector<ReplayStats>& windows) {
  std::string out;
  const ReplayStats m = MeanOfWindows(windows);
  // Names are ours and plain: no escaping needed beyond the trace name, which is quoted as
  // given minus quotes and backslashes.
  std::string trace;
  for (char c : h.trace) {
    if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20) trace += c;
  }
  Append(out, "{\"trace\":\"%s\",\"protocol\":\"%s\",\"policy\":\"%s\",\"estimate\":\"%s\",",
         trace.c_str(), h.protocol.c_str(), h.policy.c_str(), h.estimate.c_str());
  Append(out, "\"nodes\":%u,\"cpus_per_node\":%u,\"jobs\":%zu,\"dropped\":%zu,", h.machine.nodes,
         h.machine.cpus_per_node, m.jobs, h.dropped);
  Append(out,
         "\"avg_wait\":%.6f,\"avg_response\":%.6f,\"avg_bsld\":%.6f,\"utilization\":%.6f,"
         "\"makespan\":%" PRId64,
         m.avg_wait, m.avg_response, m.avg_bsld, m.utilization, m.makespan);
  if (windows.size() > 1) {
    out += ",\"windows\":[";
    for (size_t i = 0; i < windows.size(); ++i) {
      Append(out, "%s{\"jobs\":%zu,\"avg_wait\":%.6f,\"avg_bsld\":%.6f}", i ? "," : "",
             windows[i].jobs, windows[i].avg_wait, windows[i].avg_bsld);
    }
    out += "]";
  }
  out += "}\n";
  return out;
}

std::string FormatJobsCsv(const std::vector<std::vector<JobOutcome>>& windows, bool with_window) {
  std::string out = with_window ? "window," : "";
  out += "id,submit,start,end,run,procs,estimate,wait,bsld\n";
  for (size_t w = 0; w < windows.size(); ++w) {
    for (const JobOutcome& j : windows[w]) {
      if (with_window) Append(out, "%zu,", w + 1);
      Append(out,
             "%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%u,%" PRId64 ",%" PRId64
             ",%.4f\n",
             j.trace_id, j.submit, j.start, j.end, j.run, j.procs, j.estimate, j.wait(), j.bsld());
    }
  }
  return out;
}

}  // namespace shoal
