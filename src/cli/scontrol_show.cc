#include "cli/scontrol_show.h"

#include <algorithm>

#include "cli/users.h"
#include "common/hostlist.h"
#include "common/slurm_time.h"
#include "common/strings.h"
#include "common/units.h"
#include "core/container.h"

namespace shoal {
namespace {

using Lines = std::vector<std::string>;

// Multi-line records continue with three spaces; --oneliner joins with one space.
std::string JoinRecord(const Lines& lines, bool oneliner) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += oneliner ? " " : "\n   ";
    out += lines[i];
  }
  return out;
}

std::string OrNull(const std::string& s) { return s.empty() ? "(null)" : s; }

std::string Ts(int64_t t) { return FormatTimestamp(t, "Unknown"); }

std::string LimitText(int64_t seconds, const char* unlimited) {
  return seconds == kUnlimited ? unlimited : FormatElapsed(seconds);
}

std::string TresText(uint64_t cpus, uint64_t mem_mb, uint64_t nodes, bool with_billing) {
  std::string out = "cpu=" + std::to_string(cpus);
  if (mem_mb > 0) out += ",mem=" + FormatMemoryMB(mem_mb);
  out += ",node=" + std::to_string(nodes);
  if (with_billing) out += ",billing=" + std::to_string(cpus);
  return out;
}

}  // namespace

std::string RenderJobRecord(const JobRow& row, int64_t now, bool oneliner) {
  const Job& job = *row.job;
  const JobRequest& req = job.req;
  const bool collapsed = !row.pending_tasks.empty() && row.bracketed;
  Lines lines;

  std::string first = "JobId=" + std::to_string(collapsed ? job.array_job_id : job.id);
  if (job.IsArrayTask()) {
    first += " ArrayJobId=" + std::to_string(job.array_job_id) + " ArrayTaskId=" + row.TaskIdText();
    if (req.array_max_running > 0) {
      first += " ArrayTaskThrottle=" + std::to_string(req.array_max_running);
    }
  }
  first += " JobName=" + req.name;
  lines.push_back(first);

  std::string user = req.user.empty() ? UserName(req.uid) : req.user;
  lines.push_back("UserId=" + user + "(" + std::to_string(req.uid) + ") GroupId=" +
                  GroupName(req.gid) + "(" + std::to_string(req.gid) + ") MCS_label=N/A");
  lines.push_back("Priority=" + std::to_string(job.priority) + " Nice=" + std::to_string(req.nice) +
                  " Account=" + OrNull(req.account) + " QOS=" + JobQosText(job));
  lines.push_back(std::string("JobState=") +
                  (job.configuring ? "CONFIGURING" : JobStateName(job.state)) +
                  " Reason=" + job.reason +
                  " Dependency=" + JobDependencyText(job));
  lines.push_back(std::string("Requeue=") + (req.requeue ? "1" : "0") +
                  " Restarts=" + std::to_string(job.restart_count) +
                  " BatchFlag=1 Reboot=0 ExitCode=" + JobExitCodeText(job));
  lines.push_back("RunTime=" + FormatElapsed(JobRunSeconds(job, now)) +
                  " TimeLimit=" + LimitText(JobTimeLimit(job), "UNLIMITED") + " TimeMin=N/A");
  const int64_t eligible = JobEligibleTime(job);
  lines.push_back("SubmitTime=" + Ts(job.submit_time) + " EligibleTime=" + Ts(eligible));
  lines.push_back("AccrueTime=" + Ts(eligible));
  lines.push_back("StartTime=" + Ts(JobStartTime(job)) + " EndTime=" + Ts(JobEndTime(job)) +
                  " Deadline=N/A");
  lines.push_back("SuspendTime=None SecsPreSuspend=0 LastSchedEval=" +
                  Ts(job.start_time != 0 ? job.start_time : job.submit_time) + " Scheduler=Main");
  lines.push_back("Partition=" + req.partition + " AllocNode:Sid=" +
                  (req.submit_host.empty() ? std::string("(null)") : req.submit_host) + ":0");
  if (!req.reservation.empty()) lines.push_back("Reservation=" + req.reservation);
  lines.push_back("ReqNodeList=" + OrNull(CompressHostlist(req.required_nodes)) +
                  " ExcNodeList=" + OrNull(CompressHostlist(req.excluded_nodes)));
  lines.push_back("NodeList=" + JobNodeList(job) +
                  (job.planned_nodes.empty() ? ""
                                             : " SchedNodeList=" + CompressHostlist(job.planned_nodes)));
  if (!job.nodes.empty()) lines.push_back("BatchHost=" + job.nodes.front());
  const uint32_t cpus = JobCpuCount(job);
  lines.push_back("NumNodes=" + JobNodeCountText(job) + " NumCPUs=" + std::to_string(cpus) +
                  " NumTasks=" + std::to_string(std::max<uint32_t>(req.ntasks, 1)) + " CPUs/Task=" +
                  std::to_string(std::max<uint32_t>(req.cpus_per_task, 1)) + " ReqB:S:C:T=0:0:*:*");
  uint64_t mem = 0;
  if (!job.nodes.empty() && job.mem_per_node_alloc_mb > 0) {
    mem = job.mem_per_node_alloc_mb * job.nodes.size();
  } else if (req.mem_per_node_mb > 0) {
    mem = req.mem_per_node_mb * JobNodeCount(job);
  } else if (req.mem_per_cpu_mb > 0) {
    mem = req.mem_per_cpu_mb * cpus;
  }
  lines.push_back("TRES=" + TresText(cpus, mem, JobNodeCount(job), true));
  lines.push_back("Socks/Node=* NtasksPerN:B:S:C=" + std::to_string(req.ntasks_per_node) +
                  ":0:*:* CoreSpec=*");
  std::string min_mem = req.mem_per_cpu_mb > 0
                            ? "MinMemoryCPU=" + FormatMemoryMB(req.mem_per_cpu_mb)
                            : "MinMemoryNode=" + FormatMemoryMB(req.mem_per_node_mb);
  lines.push_back("MinCPUsNode=" +
                  std::to_string(std::max<uint32_t>(req.cpus_per_task, 1) *
                                 std::max<uint32_t>(req.ntasks_per_node, 1)) +
                  " " + min_mem + " MinTmpDiskNode=0");
  lines.push_back("Features=" + OrNull(req.constraint) + " DelayBoot=00:00:00");
  lines.push_back(std::string("OverSubscribe=") + (req.exclusive ? "NO" : "OK") +
                  " Contiguous=0 Licenses=(null) Network=(null)");
  lines.push_back("Command=" + JobCommandText(job));
  lines.push_back("WorkDir=" + req.work_dir);
  lines.push_back("StdErr=" + JobStderrPath(job));
  lines.push_back("StdIn=/dev/null");
  lines.push_back("StdOut=" + JobStdoutPath(job));
  lines.push_back("Power=");
  if (req.gpus_per_node > 0) lines.push_back("TresPerNode=" + JobTresPerNode(job));
  // shoal's own (sbatch --webhook): only when given, so Slurm's record is otherwise unchanged.
  if (!req.webhook.empty()) lines.push_back("Webhook=" + req.webhook);
  // pyxis's options (docs/containers.md): only when given, as above.
  if (req.container.Enabled()) lines.push_back(ContainerSummary(req.container));
  // Slurm ends a job record with a line of three spaces and an empty line.
  return JoinRecord(lines, oneliner) + (oneliner ? " \n" : "\n   \n\n");
}

std::string ScontrolNodeState(const Node& n) {
  std::string s;
  if (n.down) {
    s = "DOWN";
  } else if (!n.responding && n.boot_time == 0 && n.power == NodePower::kOn) {
    s = "UNKNOWN";
  } else {
    switch (n.BaseState()) {
      case NodeState::kIdle:
        s = "IDLE";
        break;
      case NodeState::kMixed:
        s = "MIXED";
        break;
      case NodeState::kAllocated:
        s = "ALLOCATED";
        break;
      case NodeState::kDown:
        s = "DOWN";
        break;
      case NodeState::kUnknown:
        s = "UNKNOWN";
        break;
    }
  }
  if (n.cloud) s += "+CLOUD";
  if (n.drain) s += "+DRAIN";
  if (n.power_down_pending) s += "+POWER_DOWN";
  if (n.power != NodePower::kOn) {
    // Powered down and powering up are silent by design, not NOT_RESPONDING.
    s += std::string("+") + NodePowerFlag(n.power);
  } else if (!n.responding) {
    s += "+NOT_RESPONDING";
  }
  return s;
}

std::string RenderNodeRecord(const Node& n, const std::vector<Partition>& partitions,
                             bool oneliner) {
  Lines lines;
  lines.push_back("NodeName=" + n.name + " Arch=(null) CoresPerSocket=1 ");
  lines.push_back("CPUAlloc=" + std::to_string(n.alloc_cpus) + " CPUEfctv=" +
                  std::to_string(n.cpus) + " CPUTot=" + std::to_string(n.cpus) + " CPULoad=N/A");
  std::string features = n.features.empty() ? "(null)" : Join(n.features, ",");
  lines.push_back("AvailableFeatures=" + features);
  lines.push_back("ActiveFeatures=" + features);
  std::string gres = "(null)";
  if (n.gpus > 0) {
    gres = "gpu:" + (n.gpu_type.empty() ? "" : n.gpu_type + ":") + std::to_string(n.gpus);
  }
  lines.push_back("Gres=" + gres);
  lines.push_back("NodeAddr=" + (n.address.empty() ? n.name : n.address) +
                  " NodeHostName=" + n.name + " Version=22.05.8");
  lines.push_back("OS=(null) ");
  lines.push_back("RealMemory=" + std::to_string(n.memory_mb) +
                  " AllocMem=" + std::to_string(n.alloc_mem_mb) +
                  " FreeMem=N/A Sockets=" + std::to_string(n.cpus) + " Boards=1");
  lines.push_back("State=" + ScontrolNodeState(n) +
                  " ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A");
  std::string parts;
  for (const Partition& p : partitions) {
    if (!p.Contains(n.name)) continue;
    if (!parts.empty()) parts += ",";
    parts += p.name;
  }
  lines.push_back("Partitions=" + parts + " ");
  lines.push_back("BootTime=" + Ts(n.boot_time) + " SlurmdStartTime=" + Ts(n.boot_time));
  lines.push_back("LastBusyTime=" + Ts(n.last_heartbeat));
  std::string cfg = "cpu=" + std::to_string(n.cpus) + ",mem=" + FormatMemoryMB(n.memory_mb);
  if (n.gpus > 0) cfg += ",gres/gpu=" + std::to_string(n.gpus);
  lines.push_back("CfgTRES=" + cfg + ",billing=" + std::to_string(n.cpus));
  std::string alloc;
  if (n.alloc_cpus > 0) alloc = "cpu=" + std::to_string(n.alloc_cpus);
  if (n.alloc_mem_mb > 0)
    alloc += (alloc.empty() ? "" : ",") + std::string("mem=") + FormatMemoryMB(n.alloc_mem_mb);
  size_t busy_gpus = static_cast<size_t>(std::count(n.gpu_busy.begin(), n.gpu_busy.end(), true));
  if (busy_gpus > 0) {
    alloc += (alloc.empty() ? "" : ",") + std::string("gres/gpu=") + std::to_string(busy_gpus);
  }
  lines.push_back("AllocTRES=" + alloc);
  lines.push_back("CapWatts=n/a");
  lines.push_back("CurrentWatts=0 AveWatts=0");
  lines.push_back("ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s");
  if (!n.reason.empty()) {
    lines.push_back("Reason=" + n.reason + " [unknown@" + Ts(n.reason_time) + "]");
  }
  return JoinRecord(lines, oneliner) + (oneliner ? "\n" : "\n\n");
}

std::string RenderPartitionRecord(const Partition& p, const std::vector<Node>& nodes,
                                  bool oneliner) {
  std::vector<std::string> names;
  uint64_t cpus = 0, mem = 0;
  for (const Node& n : nodes) {
    if (!p.Contains(n.name)) continue;
    names.push_back(n.name);
    cpus += n.cpus;
    mem += n.memory_mb;
  }
  Lines lines;
  lines.push_back("PartitionName=" + p.name);
  lines.push_back("AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL");
  lines.push_back(std::string("AllocNodes=ALL Default=") + (p.is_default ? "YES" : "NO") +
                  " QoS=N/A");
  lines.push_back("DefaultTime=" + LimitText(p.default_time_s, "NONE") +
                  " DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO");
  lines.push_back(
      "MaxNodes=" + (p.max_nodes == 0 ? std::string("UNLIMITED") : std::to_string(p.max_nodes)) +
      " MaxTime=" + LimitText(p.max_time_s, "UNLIMITED") +
      " MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED");
  lines.push_back("Nodes=" + OrNull(CompressHostlist(names)));
  lines.push_back("PriorityJobFactor=" + std::to_string(p.priority_job_factor) + " PriorityTier=" +
                  std::to_string(p.priority_tier) + " RootOnly=NO ReqResv=NO OverSubscribe=NO");
  lines.push_back("OverTimeLimit=NONE PreemptMode=OFF");
  std::string state = p.inactive ? "INACTIVE" : p.drain ? "DRAIN" : p.up ? "UP" : "DOWN";
  lines.push_back("State=" + state + " TotalCPUs=" + std::to_string(cpus) +
                  " TotalNodes=" + std::to_string(names.size()) + " SelectTypeParameters=NONE");
  lines.push_back("JobDefaults=(null)");
  lines.push_back("DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED");
  lines.push_back("TRES=" + TresText(cpus, mem, names.size(), true));
  return JoinRecord(lines, oneliner) + (oneliner ? "\n" : "\n\n");
}

std::string RenderConfig(const std::map<std::string, std::string>& config, int64_t now) {
  std::string out = "Configuration data as of " + FormatTimestamp(now) + "\n";
  for (const auto& [key, value] : config) {
    std::string k = key;
    if (k.size() < 23) k.append(23 - k.size(), ' ');
    out += k + " = " + value + "\n";
  }
  return out;
}

}  // namespace shoal
