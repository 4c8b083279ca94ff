#include "sim/report.h"

#include <cinttypes>
#include <algorithm>
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

std::string FormatTimelineSvg(const std::vector<JobOutcome>& jobs, const Machine& machine,
                              const std::string& title) {
  constexpr int kSlices = 800, kLeft = 70, kTop = 40, kPlotH = 180, kGap = 60;
  constexpr int kWidth = kLeft + kSlices + 30, kHeight = kTop + 2 * kPlotH + kGap + 50;
  // Changes of the queue length and of the busy CPUs, swept in time order.
  struct Change {
    int64_t time;
    int64_t queued;
    int64_t busy;
  };
  std::vector<Change> changes;
  changes.reserve(jobs.size() * 3);
  int64_t first = INT64_MAX, last = INT64_MIN;
  for (const JobOutcome& j : jobs) {
    changes.push_back({j.submit, 1, 0});
    changes.push_back({j.start, -1, static_cast<int64_t>(j.procs)});
    changes.push_back({j.end, 0, -static_cast<int64_t>(j.procs)});
    first = std::min(first, j.submit);
    last = std::max(last, j.end);
  }
  std::sort(changes.begin(), changes.end(),
            [](const Change& a, const Change& b) { return a.time < b.time; });
  const double span = jobs.empty() ? 1 : std::max<double>(1, static_cast<double>(last - first));
  const double slice = span / kSlices;
  std::vector<double> queue(kSlices, 0), busy(kSlices, 0);
  int64_t q = 0, b = 0, peak = 0, peak_time = first;
  // Adds `value` over [from, to) to the slices it covers, weighted by the overlap.
  auto spread = [&](std::vector<double>& into, double from, double to, double value) {
    if (to <= from || value == 0) return;
    int s = std::clamp(static_cast<int>((from - first) / slice), 0, kSlices - 1);
    for (; s < kSlices; ++s) {
      const double lo = first + s * slice, hi = lo + slice;
      if (lo >= to) break;
      into[s] += value * (std::min(hi, to) - std::max(lo, from)) / slice;
    }
  };
  for (size_t k = 0; k < changes.size();) {
    const int64_t t = changes[k].time;
    for (; k < changes.size() && changes[k].time == t; ++k) {
      q += changes[k].queued;
      b += changes[k].busy;
    }
    if (q > peak) {
      peak = q;
      peak_time = t;
    }
    const double next = k < changes.size() ? static_cast<double>(changes[k].time) : t;
    spread(queue, static_cast<double>(t), next, static_cast<double>(q));
    spread(busy, static_cast<double>(t), next, static_cast<double>(b));
  }
  const double cpus = std::max<double>(1, static_cast<double>(machine.cpus()));
  const double queue_top = std::max<double>(1, *std::max_element(queue.begin(), queue.end()));

  std::string out;
  Append(out,
         "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
         "font-family=\"sans-serif\" font-size=\"12\">\n",
         kWidth, kHeight);
  std::string escaped;
  for (char c : title) {
    escaped += c == '<' ? std::string("&lt;") : c == '&' ? std::string("&amp;") : std::string(1, c);
  }
  Append(out, "<text x=\"%d\" y=\"20\" font-size=\"14\">%s</text>\n", kLeft, escaped.c_str());
  auto panel = [&](int top, const std::vector<double>& values, double scale, const char* label,
                   const char* top_label, const char* color) {
    Append(out,
           "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n",
           kLeft, top, kSlices, kPlotH);
    Append(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", kLeft - 6, top + 12,
           top_label);
    Append(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n", kLeft - 6, top + kPlotH);
    Append(out, "<text x=\"%d\" y=\"%d\">%s</text>\n", kLeft, top - 6, label);
    Append(out, "<polyline fill=\"none\" stroke=\"%s\" points=\"", color);
    for (int s = 0; s < kSlices; ++s) {
      const double y = top + kPlotH - std::min(1.0, values[s] / scale) * kPlotH;
      Append(out, "%s%d,%.1f", s == 0 ? "" : " ", kLeft + s, y);
    }
    out += "\"/>\n";
  };
  char top_label[64];
  std::snprintf(top_label, sizeof top_label, "%.0f", queue_top);
  char queue_label[128];
  std::snprintf(queue_label, sizeof queue_label,
                "queued jobs (mean per slice; peak %" PRId64 " at +%.1f h)", peak,
                static_cast<double>(peak_time - first) / 3600);
  panel(kTop, queue, queue_top, queue_label, top_label, "#c0392b");
  panel(kTop + kPlotH + kGap, busy, cpus, "utilization (busy CPUs / all CPUs)", "100%",
        "#2471a3");
  Append(out, "<text x=\"%d\" y=\"%d\">0 h</text>\n", kLeft, kHeight - 12);
  Append(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.1f h</text>\n", kLeft + kSlices,
         kHeight - 12, span / 3600);
  out += "</svg>\n";
  return out;
}

}  // namespace shoal
