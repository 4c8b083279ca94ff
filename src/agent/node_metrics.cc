#include "agent/node_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "agent/host_info.h"
#include "agent/job_cgroup.h"
#include "metrics/metrics.h"

namespace shoal::agent {
namespace {

using metrics::ExpositionWriter;
using metrics::MetricType;

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct ProcStat {
  pid_t pid = 0;
  pid_t ppid = 0;
  double cpu_ticks = 0;  // utime + stime + cutime + cstime: the process and its reaped children
  uint64_t rss_pages = 0;
  uint64_t vsize = 0;         // bytes
  uint64_t major_faults = 0;  // majflt + cmajflt
};

// "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields count from the
// last ')'.
std::optional<ProcStat> ParseProcStat(const std::string& text) {
  size_t close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream in(text.substr(close + 1));
  std::vector<std::string> f;
  std::string tok;
  while (f.size() < 22 && in >> tok) f.push_back(tok);
  if (f.size() < 22) return std::nullopt;
  ProcStat s;
  try {
    s.ppid = static_cast<pid_t>(std::stol(f[1]));
    s.cpu_ticks = std::stod(f[11]) + std::stod(f[12]) + std::stod(f[13]) + std::stod(f[14]);
    s.rss_pages = std::stoull(f[21]);
    s.vsize = std::stoull(f[20]);
    s.major_faults = std::stoull(f[9]) + std::stoull(f[10]);
  } catch (...) {
    return std::nullopt;
  }
  return s;
}

// Every process in /proc, and each one's children.
struct ProcessTable {
  std::unordered_map<pid_t, ProcStat> all;
  std::unordered_multimap<pid_t, pid_t> children;
};

ProcessTable ScanProcesses(const std::string& proc_root) {
  ProcessTable t;
  if (DIR* d = opendir(proc_root.c_str())) {
    while (dirent* e = readdir(d)) {
      char* end = nullptr;
      long pid = std::strtol(e->d_name, &end, 10);
      if (*end != '\0' || pid <= 0) continue;
      auto text = ReadFile(proc_root + "/" + e->d_name + "/stat");
      if (!text) continue;
      if (auto st = ParseProcStat(*text)) {
        st->pid = static_cast<pid_t>(pid);
        t.all[st->pid] = *st;
        t.children.emplace(st->ppid, st->pid);
      }
    }
    closedir(d);
  }
  return t;
}

// Every process of the tree under `root` (itself included).
std::vector<ProcStat> SubTree(const ProcessTable& t, pid_t root) {
  std::vector<ProcStat> out;
  if (t.all.count(root) == 0) return out;
  std::vector<pid_t> todo = {root};
  while (!todo.empty() && out.size() < t.all.size()) {
    pid_t p = todo.back();
    todo.pop_back();
    out.push_back(t.all.at(p));
    auto [lo, hi] = t.children.equal_range(p);
    for (auto it = lo; it != hi; ++it) todo.push_back(it->second);
  }
  return out;
}

std::vector<ProcStat> ProcessTree(pid_t root, const std::string& proc_root) {
  return SubTree(ScanProcesses(proc_root), root);
}

// A "KEY=value" of a process's environment, nullopt when unreadable (another user's) or unset.
std::optional<std::string> EnvironValue(pid_t pid, const std::string& key,
                                        const std::string& proc_root) {
  auto text = ReadFile(proc_root + "/" + std::to_string(pid) + "/environ");
  if (!text) return std::nullopt;
  const std::string prefix = key + "=";
  size_t pos = 0;
  while (pos < text->size()) {
    size_t end = text->find('\0', pos);
    if (end == std::string::npos) end = text->size();
    if (text->compare(pos, prefix.size(), prefix) == 0) {
      return text->substr(pos + prefix.size(), end - pos - prefix.size());
    }
    pos = end + 1;
  }
  return std::nullopt;
}

// rchar and wchar of /proc/PID/io (bytes read and written, as Slurm counts them); zeros when
// unreadable (another user's process without the privilege).
std::pair<uint64_t, uint64_t> ProcIo(pid_t pid, const std::string& proc_root) {
  auto text = ReadFile(proc_root + "/" + std::to_string(pid) + "/io");
  if (!text) return {0, 0};
  std::istringstream in(*text);
  std::string key;
  uint64_t value = 0, read = 0, write = 0;
  while (in >> key >> value) {
    if (key == "rchar:") read = value;
    if (key == "wchar:") write = value;
  }
  return {read, write};
}

// Seconds the CPUs spent busy and in all, from /proc/stat's first line.
bool ReadCpuTimes(const std::string& proc_root, double* busy_s, double* total_s) {
  auto text = ReadFile(proc_root + "/stat");
  if (!text || text->rfind("cpu ", 0) != 0) return false;
  std::istringstream in(text->substr(4));
  double v[8] = {};
  for (double& x : v) {
    if (!(in >> x)) return false;
  }
  // user nice system idle iowait irq softirq steal
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  double total = 0;
  for (double x : v) total += x;
  *total_s = total / hz;
  *busy_s = (total - v[3] - v[4]) / hz;
  return true;
}

void Gauge(ExpositionWriter& out, const char* name, const char* help, double v) {
  out.Family(name, help, MetricType::kGauge);
  out.Sample(name, {}, v);
}

}  // namespace

std::optional<JobUsage> ReadJobUsage(pid_t supervisor_pid,
                                     const std::vector<std::string>& cgroup_dirs,
                                     const std::string& proc_root) {
  if (supervisor_pid <= 0) return std::nullopt;
  if (auto u = ReadCgroupUsage(cgroup_dirs)) {
    return JobUsage{u->cpu_seconds, u->memory_bytes, "cgroup"};
  }
  std::vector<ProcStat> tree = ProcessTree(supervisor_pid, proc_root);
  if (tree.empty()) return std::nullopt;
  JobUsage u;
  u.source = "proc";
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  for (const ProcStat& p : tree) {
    u.cpu_seconds += p.cpu_ticks / hz;
    u.memory_bytes += p.rss_pages * page;
  }
  return u;
}

std::vector<TaskUsage> ReadTaskUsage(pid_t supervisor_pid, const std::string& proc_root) {
  std::vector<TaskUsage> out;
  if (supervisor_pid <= 0) return out;
  const ProcessTable table = ScanProcesses(proc_root);
  std::vector<pid_t> tasks;
  auto [lo, hi] = table.children.equal_range(supervisor_pid);
  for (auto it = lo; it != hi; ++it) tasks.push_back(it->second);
  std::sort(tasks.begin(), tasks.end());
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  for (size_t i = 0; i < tasks.size(); ++i) {
    TaskUsage u;
    u.task = static_cast<uint32_t>(i);
    if (auto rank = EnvironValue(tasks[i], "SLURM_PROCID", proc_root)) {
      char* end = nullptr;
      unsigned long n = std::strtoul(rank->c_str(), &end, 10);
      if (!rank->empty() && *end == '\0') u.task = static_cast<uint32_t>(n);
    }
    for (const ProcStat& p : SubTree(table, tasks[i])) {
      u.cpu_seconds += p.cpu_ticks / hz;
      u.rss_bytes += p.rss_pages * page;
      u.vm_bytes += p.vsize;
      u.pages += p.major_faults;
      auto [read, write] = ProcIo(p.pid, proc_root);
      u.read_bytes += read;
      u.write_bytes += write;
      u.pids.push_back(p.pid);
    }
    out.push_back(std::move(u));
  }
  return out;
}

NodeMetrics::NodeMetrics(Options options, std::unique_ptr<GpuMonitor> gpus,
                         std::function<std::vector<RunningJobInfo>()> running_jobs)
    : options_(std::move(options)),
      gpus_(std::move(gpus)),
      running_jobs_(std::move(running_jobs)) {}

std::vector<GpuSample> NodeMetrics::SampleGpus() {
  std::lock_guard<std::mutex> lock(mu_);
  return gpus_ ? gpus_->Sample() : std::vector<GpuSample>{};
}

std::string NodeMetrics::Render() {
  std::lock_guard<std::mutex> lock(mu_);
  ExpositionWriter out;
  out.Family("shoal_agent_info", "Always 1; the labels say which node and agent this is.",
             MetricType::kGauge);
  out.Sample("shoal_agent_info",
             {{"node", options_.node_name},
              {"version", SHOAL_VERSION},
              {"gpu_source", gpus_ ? gpus_->source() : "none"}},
             1);
  Gauge(out, "shoal_node_cpus", "CPUs this node offers to jobs.", options_.cpus);
  Gauge(out, "shoal_node_memory_offered_bytes", "Memory this node offers to jobs.",
        static_cast<double>(options_.memory_mb) * 1048576.0);

  double busy = 0, total = 0;
  if (ReadCpuTimes(options_.proc_root, &busy, &total)) {
    out.Family("shoal_node_cpu_seconds_total", "CPU time of the whole host, busy or idle.",
               MetricType::kCounter);
    out.Sample("shoal_node_cpu_seconds_total", {{"mode", "busy"}}, busy);
    out.Sample("shoal_node_cpu_seconds_total", {{"mode", "idle"}}, total - busy);
    // Busy share since the previous scrape (Prometheus scrapes at a steady interval); a
    // scrape too close to the last one keeps the last figure rather than divide noise.
    if (last_total_s_ >= 0 && total - last_total_s_ > 0.05) {
      last_ratio_ = std::clamp((busy - last_busy_s_) / (total - last_total_s_), 0.0, 1.0);
    }
    if (last_total_s_ < 0 || total - last_total_s_ > 0.05) {
      last_busy_s_ = busy;
      last_total_s_ = total;
    }
    Gauge(out, "shoal_node_cpu_usage_ratio",
          "Share of the host's CPU time spent busy since the previous scrape (0..1; x100 for "
          "percent).",
          last_ratio_);
  }
  Gauge(out, "shoal_node_memory_total_bytes", "The host's memory (MemTotal).",
        static_cast<double>(HostMemoryMB()) * 1048576.0);
  Gauge(out, "shoal_node_memory_available_bytes", "The host's available memory (MemAvailable).",
        static_cast<double>(HostFreeMemoryMB()) * 1048576.0);
  double load[3] = {};
  if (getloadavg(load, 3) == 3) {
    Gauge(out, "shoal_node_load1", "1-minute load average.", load[0]);
    Gauge(out, "shoal_node_load5", "5-minute load average.", load[1]);
    Gauge(out, "shoal_node_load15", "15-minute load average.", load[2]);
  }

  std::vector<RunningJobInfo> jobs =
      running_jobs_ ? running_jobs_() : std::vector<RunningJobInfo>{};
  Gauge(out, "shoal_node_running_jobs", "Jobs running on this node.",
        static_cast<double>(jobs.size()));
  std::vector<std::pair<uint64_t, JobUsage>> usage;
  for (const RunningJobInfo& j : jobs) {
    if (auto u =
            ReadJobUsage(j.supervisor_pid, j.cgroup_dirs, options_.proc_root)) {
      double& high = job_cpu_high_[j.job_id];
      high = std::max(high, u->cpu_seconds);
      u->cpu_seconds = high;
      usage.emplace_back(j.job_id, std::move(*u));
    }
  }
  // Forget jobs that ended: their series end with them.
  for (auto it = job_cpu_high_.begin(); it != job_cpu_high_.end();) {
    bool running = false;
    for (const RunningJobInfo& j : jobs) running = running || j.job_id == it->first;
    it = running ? std::next(it) : job_cpu_high_.erase(it);
  }
  out.Family("shoal_job_cpu_seconds_total", "CPU time used by a running job's processes.",
             MetricType::kCounter);
  for (const auto& [id, u] : usage) {
    out.Sample("shoal_job_cpu_seconds_total",
               {{"job_id", std::to_string(id)}, {"source", u.source}}, u.cpu_seconds);
  }
  out.Family("shoal_job_memory_bytes", "Memory used by a running job (resident, or its cgroup's).",
             MetricType::kGauge);
  for (const auto& [id, u] : usage) {
    out.Sample("shoal_job_memory_bytes", {{"job_id", std::to_string(id)}, {"source", u.source}},
               static_cast<double>(u.memory_bytes));
  }

  std::vector<GpuSample> gpus = gpus_ ? gpus_->Sample() : std::vector<GpuSample>{};
  auto gpu_family = [&](const char* name, const char* help, auto value) {
    out.Family(name, help, MetricType::kGauge);
    for (const GpuSample& g : gpus) {
      out.Sample(name,
                 {{"gpu", std::to_string(g.index)}, {"emulated", g.emulated ? "true" : "false"}},
                 value(g));
    }
  };
  out.Family("shoal_gpu_info", "Always 1 per GPU; its name, and whether it is emulated.",
             MetricType::kGauge);
  for (const GpuSample& g : gpus) {
    out.Sample("shoal_gpu_info",
               {{"gpu", std::to_string(g.index)},
                {"name", g.name},
                {"emulated", g.emulated ? "true" : "false"}},
               1);
  }
  gpu_family("shoal_gpu_utilization_ratio", "Share of time the GPU was busy (0..1).",
             [](const GpuSample& g) { return g.utilization_ratio; });
  gpu_family("shoal_gpu_memory_used_bytes", "GPU memory in use.",
             [](const GpuSample& g) { return static_cast<double>(g.memory_used_bytes); });
  gpu_family("shoal_gpu_memory_total_bytes", "GPU memory in all.",
             [](const GpuSample& g) { return static_cast<double>(g.memory_total_bytes); });
  gpu_family("shoal_gpu_temperature_celsius", "GPU core temperature.",
             [](const GpuSample& g) { return g.temperature_celsius; });
  gpu_family("shoal_gpu_power_watts", "GPU power draw.",
             [](const GpuSample& g) { return g.power_watts; });
  return out.Take();
}

}  // namespace shoal::agent
