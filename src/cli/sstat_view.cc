#include "cli/sstat_view.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>

#include "common/hostlist.h"
#include "common/slurm_time.h"
#include "common/strings.h"

namespace shoal {
namespace {

struct FieldInfo {
  const char* name;
  int width;
};

// Slurm 22.05's sstat fields and widths, in --helpformat's order; all right-justified but JobID.
constexpr FieldInfo kFields[] = {
    {"AveCPU", 10},
    {"AveCPUFreq", 10},
    {"AveDiskRead", 12},
    {"AveDiskWrite", 12},
    {"AvePages", 10},
    {"AveRSS", 10},
    {"AveVMSize", 10},
    {"ConsumedEnergy", 14},
    {"ConsumedEnergyRaw", 17},
    {"JobID", 12},
    {"MaxDiskRead", 12},
    {"MaxDiskReadNode", 15},
    {"MaxDiskReadTask", 15},
    {"MaxDiskWrite", 12},
    {"MaxDiskWriteNode", 16},
    {"MaxDiskWriteTask", 16},
    {"MaxPages", 8},
    {"MaxPagesNode", 12},
    {"MaxPagesTask", 14},
    {"MaxRSS", 10},
    {"MaxRSSNode", 10},
    {"MaxRSSTask", 10},
    {"MaxVMSize", 10},
    {"MaxVMSizeNode", 14},
    {"MaxVMSizeTask", 14},
    {"MinCPU", 10},
    {"MinCPUNode", 10},
    {"MinCPUTask", 10},
    {"Nodelist", 20},
    {"NTasks", 8},
    {"Pids", 20},
    {"ReqCPUFreq", 10},
    {"ReqCPUFreqMin", 13},
    {"ReqCPUFreqMax", 13},
    {"ReqCPUFreqGov", 13},
    {"TRESUsageInAve", 14},
    {"TRESUsageInMax", 14},
    {"TRESUsageInMaxNode", 18},
    {"TRESUsageInMaxTask", 18},
    {"TRESUsageInMin", 14},
    {"TRESUsageInMinNode", 18},
    {"TRESUsageInMinTask", 18},
    {"TRESUsageInTot", 14},
    {"TRESUsageOutAve", 15},
    {"TRESUsageOutMax", 15},
    {"TRESUsageOutMaxNode", 19},
    {"TRESUsageOutMaxTask", 19},
    {"TRESUsageOutMin", 15},
    {"TRESUsageOutMinNode", 19},
    {"TRESUsageOutMinTask", 19},
    {"TRESUsageOutTot", 15},
};

// One metric over a row's tasks: the largest and smallest (with where they were), the total and
// the mean. The first task wins ties, as the lowest rank does in Slurm.
struct Stat {
  double max = 0, min = 0, total = 0, mean = 0;
  std::string max_node, min_node;
  uint32_t max_task = 0, min_task = 0;
};

Stat Over(const SstatRow& row, const std::function<double(const TaskUsageSample&)>& metric) {
  Stat s;
  bool first = true;
  for (const TaskUsageSample* t : row.tasks) {
    const double v = metric(*t);
    if (first || v > s.max) s.max = v, s.max_node = t->node, s.max_task = t->task;
    if (first || v < s.min) s.min = v, s.min_node = t->node, s.min_task = t->task;
    s.total += v;
    first = false;
  }
  if (!row.tasks.empty()) s.mean = s.total / static_cast<double>(row.tasks.size());
  return s;
}

std::string CpuText(double seconds) {
  return FormatElapsed(static_cast<int64_t>(std::max(0.0, seconds)));
}

std::string Size(double bytes, bool noconvert) {
  return SstatSizeText(static_cast<uint64_t>(std::max(0.0, bytes)), noconvert);
}

std::string Count(double n) { return std::to_string(static_cast<uint64_t>(std::max(0.0, n))); }

double CpuOf(const TaskUsageSample& t) { return t.cpu_seconds; }
double RssOf(const TaskUsageSample& t) { return static_cast<double>(t.rss_bytes); }
double VmOf(const TaskUsageSample& t) { return static_cast<double>(t.vm_bytes); }
double PagesOf(const TaskUsageSample& t) { return static_cast<double>(t.pages); }
double ReadOf(const TaskUsageSample& t) { return static_cast<double>(t.read_bytes); }
double WriteOf(const TaskUsageSample& t) { return static_cast<double>(t.write_bytes); }

// TRESUsageIn*/Out* values: "cpu=00:00:16,energy=0,fs/disk=1690115,mem=117328K,pages=0,
// vmem=121560K" (in) and "energy=0,fs/disk=1690" (out), as Slurm lists its TRES.
enum class Pick { kMax, kMin, kMean, kTotal };

double Picked(const Stat& s, Pick p) {
  switch (p) {
    case Pick::kMax:
      return s.max;
    case Pick::kMin:
      return s.min;
    case Pick::kMean:
      return s.mean;
    case Pick::kTotal:
      return s.total;
  }
  return 0;
}

std::string TresIn(const SstatRow& row, Pick p, bool noconvert) {
  return "cpu=" + CpuText(Picked(Over(row, CpuOf), p)) +
         ",energy=0,fs/disk=" + Size(Picked(Over(row, ReadOf), p), noconvert) +
         ",mem=" + Size(Picked(Over(row, RssOf), p), noconvert) +
         ",pages=" + Size(Picked(Over(row, PagesOf), p), noconvert) +
         ",vmem=" + Size(Picked(Over(row, VmOf), p), noconvert);
}

std::string TresOut(const SstatRow& row, Pick p, bool noconvert) {
  return "energy=0,fs/disk=" + Size(Picked(Over(row, WriteOf), p), noconvert);
}

// Where each maximum (or minimum) was: node names, or task ranks (Slurm prints the CPU's task
// as a time, and no energy task).
std::string TresInWhere(const SstatRow& row, bool max, bool task) {
  auto where = [&](const Stat& s) {
    return task ? std::to_string(max ? s.max_task : s.min_task) : (max ? s.max_node : s.min_node);
  };
  const Stat cpu = Over(row, CpuOf);
  std::string out = "cpu=" + (task ? CpuText(max ? cpu.max_task : cpu.min_task) : where(cpu));
  if (!task) out += ",energy=" + where(cpu);
  out += ",fs/disk=" + where(Over(row, ReadOf)) + ",mem=" + where(Over(row, RssOf)) +
         ",pages=" + where(Over(row, PagesOf)) + ",vmem=" + where(Over(row, VmOf));
  return out;
}

std::string TresOutWhere(const SstatRow& row, bool max, bool task) {
  const Stat w = Over(row, WriteOf);
  if (task) return "fs/disk=" + std::to_string(max ? w.max_task : w.min_task);
  const std::string& node = max ? w.max_node : w.min_node;
  return "energy=" + node + ",fs/disk=" + node;
}

}  // namespace

std::string SstatSizeText(uint64_t bytes, bool noconvert) {
  if (noconvert) return std::to_string(bytes);
  static constexpr const char* kUnits[] = {"", "K", "M", "G", "T", "P"};
  size_t unit = 0;
  while (bytes >= 1024 && bytes % 1024 == 0 && unit + 1 < std::size(kUnits)) {
    bytes /= 1024;
    ++unit;
  }
  return std::to_string(bytes) + kUnits[unit];
}

std::vector<SacctField> ParseSstatFields(std::string_view spec, std::string* bad) {
  std::vector<SacctField> out;
  for (const std::string& raw : Split(spec, ',')) {
    std::string_view item = Trim(raw);
    if (item.empty()) continue;
    const size_t pct = item.find('%');
    const std::string name(item.substr(0, pct));
    SacctField f;
    bool found = false;
    for (size_t i = 0; i < std::size(kFields); ++i) {
      if (EqualsIgnoreCase(name, kFields[i].name)) {
        f.kind = static_cast<int>(i);
        f.title = kFields[i].name;
        f.width = kFields[i].width;
        f.left = f.title == "JobID";
        found = true;
        break;
      }
    }
    if (!found) {
      *bad = name;
      return {};
    }
    if (pct != std::string_view::npos) ApplyFieldWidth(item.substr(pct + 1), &f);
    out.push_back(std::move(f));
  }
  return out;
}

std::string SstatFieldNames() {
  std::string out;
  char buf[32];
  for (size_t i = 0; i < std::size(kFields); ++i) {
    snprintf(buf, sizeof buf, "%-19s", kFields[i].name);
    out += buf;
    out += (i % 4 == 3 || i + 1 == std::size(kFields)) ? "\n" : " ";
  }
  return out;
}

Result<std::vector<SstatTarget>> ParseSstatJobs(std::string_view list) {
  std::vector<SstatTarget> out;
  for (const std::string& raw : Split(list, ',')) {
    std::string_view item = Trim(raw);
    if (item.empty()) continue;
    SstatTarget t;
    const size_t dot = item.find('.');
    std::string_view job = item.substr(0, dot);
    const size_t under = job.find('_');
    const std::string_view base = job.substr(0, under);
    if (!ParseUint(base)) return InvalidArgument("Bad job/step specified: " + std::string(item));
    if (under != std::string_view::npos && !ParseUint(job.substr(under + 1))) {
      return InvalidArgument("Bad job array element specified: " + std::string(base));
    }
    t.job = std::string(job);
    if (dot != std::string_view::npos) {
      // "12.1.1": the step is the part up to the next dot, as Slurm reads it.
      std::string_view step = item.substr(dot + 1);
      step = step.substr(0, step.find('.'));
      if (step == "batch" || step == "extern") {
        t.step = std::string(step);
      } else if (auto n = ParseUint(step); n && *n <= UINT32_MAX) {
        t.step = std::to_string(*n);
      } else {
        return InvalidArgument("Bad step specified: " + std::string(job));
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<const StepUsage*> SstatSelectSteps(const std::vector<StepUsage>& steps,
                                               const SstatTarget& target, bool all_steps) {
  std::vector<const StepUsage*> out;
  for (const StepUsage& s : steps) {
    if (target.step) {
      const bool match =
          *target.step == "batch" ? s.batch : !s.batch && *target.step == std::to_string(s.step_id);
      if (match) out.push_back(&s);
    } else if (all_steps) {
      out.push_back(&s);
    } else if (!s.batch && (out.empty() || s.step_id < out.front()->step_id)) {
      out = {&s};
    }
  }
  // Batch first, then the steps by id.
  std::stable_sort(out.begin(), out.end(), [](const StepUsage* a, const StepUsage* b) {
    if (a->batch != b->batch) return a->batch;
    return a->step_id < b->step_id;
  });
  return out;
}

std::vector<SstatRow> SstatRows(const std::vector<const StepUsage*>& steps, bool per_node) {
  std::vector<SstatRow> rows;
  for (const StepUsage* s : steps) {
    if (!per_node) {
      SstatRow row{s, s->nodes, {}};
      for (const TaskUsageSample& t : s->tasks) row.tasks.push_back(&t);
      rows.push_back(std::move(row));
      continue;
    }
    for (const std::string& node : s->nodes) {
      SstatRow row{s, {node}, {}};
      for (const TaskUsageSample& t : s->tasks) {
        if (t.node == node) row.tasks.push_back(&t);
      }
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

std::string SstatValue(const SacctField& f, const SstatRow& row, bool noconvert) {
  const std::string& name = f.title;
  if (name == "JobID") return row.step->IdText();
  if (name == "Nodelist") return CompressHostlist(row.nodes);
  if (name == "NTasks") {
    return std::to_string(row.nodes.size() == row.step->nodes.size()
                              ? row.step->ntasks
                              : static_cast<uint32_t>(row.tasks.size()));
  }
  // Frequencies and energy: shoal reads none, and Slurm prints 0 where it has none either.
  if (name == "AveCPUFreq" || name.rfind("ReqCPUFreq", 0) == 0 || name == "ConsumedEnergy" ||
      name == "ConsumedEnergyRaw") {
    return "0";
  }
  // Nodes that did not answer leave a row without tasks: nothing to say about them.
  if (row.tasks.empty()) return "";
  if (name == "Pids") {
    std::vector<std::string> pids;
    for (const TaskUsageSample* t : row.tasks) {
      for (int32_t pid : t->pids) pids.push_back(std::to_string(pid));
    }
    return Join(pids, ",");
  }
  struct Metric {
    const char* stem;
    double (*of)(const TaskUsageSample&);
    int kind;  // 0 size, 1 cpu, 2 count
  };
  static constexpr Metric kMetrics[] = {
      {"VMSize", VmOf, 0}, {"RSS", RssOf, 0},       {"Pages", PagesOf, 2},
      {"CPU", CpuOf, 1},   {"DiskRead", ReadOf, 0}, {"DiskWrite", WriteOf, 0},
  };
  for (const Metric& m : kMetrics) {
    const std::string stem = m.stem;
    for (const char* prefix : {"Max", "Min", "Ave"}) {
      const std::string base = prefix + stem;
      if (name.rfind(base, 0) != 0) continue;
      const std::string rest = name.substr(base.size());
      if (!rest.empty() && rest != "Node" && rest != "Task") continue;
      const Stat s = Over(row, m.of);
      const bool max = std::string(prefix) == "Max";
      if (rest == "Node") return max ? s.max_node : s.min_node;
      if (rest == "Task") return std::to_string(max ? s.max_task : s.min_task);
      const double v = max ? s.max : std::string(prefix) == "Min" ? s.min : s.mean;
      if (m.kind == 1) return CpuText(v);
      if (m.kind == 2) return Count(v);
      return Size(v, noconvert);
    }
  }
  if (name == "TRESUsageInAve") return TresIn(row, Pick::kMean, noconvert);
  if (name == "TRESUsageInMax") return TresIn(row, Pick::kMax, noconvert);
  if (name == "TRESUsageInMin") return TresIn(row, Pick::kMin, noconvert);
  if (name == "TRESUsageInTot") return TresIn(row, Pick::kTotal, noconvert);
  if (name == "TRESUsageInMaxNode") return TresInWhere(row, true, false);
  if (name == "TRESUsageInMaxTask") return TresInWhere(row, true, true);
  if (name == "TRESUsageInMinNode") return TresInWhere(row, false, false);
  if (name == "TRESUsageInMinTask") return TresInWhere(row, false, true);
  if (name == "TRESUsageOutAve") return TresOut(row, Pick::kMean, noconvert);
  if (name == "TRESUsageOutMax") return TresOut(row, Pick::kMax, noconvert);
  if (name == "TRESUsageOutMin") return TresOut(row, Pick::kMin, noconvert);
  if (name == "TRESUsageOutTot") return TresOut(row, Pick::kTotal, noconvert);
  if (name == "TRESUsageOutMaxNode") return TresOutWhere(row, true, false);
  if (name == "TRESUsageOutMaxTask") return TresOutWhere(row, true, true);
  if (name == "TRESUsageOutMinNode") return TresOutWhere(row, false, false);
  if (name == "TRESUsageOutMinTask") return TresOutWhere(row, false, true);
  return "";
}

}  // namespace shoal
