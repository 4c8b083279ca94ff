#include "cli/srun_options.h"

#include <sys/wait.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "common/hostlist.h"
#include "common/strings.h"

namespace shoal {
namespace {

// Long-only options.
enum : int {
  kOptExclusive = 0x100,
  kOptGres,
  kOptGpusPerNode,
  kOptMem,
  kOptMemPerCpu,
  kOptNtasksPerNode,
  kOptMpi,
  kOptJobid,
  kOptUsage,
  kOptExact,
  kOptOverlap,
  kOptPty,
  kOptQuitOnInterrupt,
  kOptWebhook,  // shoal's own, as sbatch's: for the allocation srun or salloc makes
  kOptIgnored,  // placement hints with no effect here
  kOptReservation,
  kOptContainer,  // pyxis's --container-*: sbatch's parser, for the step srun launches
};

// As Slurm 22.05's srun and salloc take them; '+' stops at the command.
constexpr char kShortOpts[] = "+A:c:C:D:G:hi:J:K::lm:n:N:p:q:Qt:uvVw:Xx:";

const option kLongOpts[] = {
    {"account", required_argument, nullptr, 'A'},
    {"cpus-per-task", required_argument, nullptr, 'c'},
    {"constraint", required_argument, nullptr, 'C'},
    {"chdir", required_argument, nullptr, 'D'},
    {"gpus", required_argument, nullptr, 'G'},
    {"help", no_argument, nullptr, 'h'},
    {"input", required_argument, nullptr, 'i'},
    {"job-name", required_argument, nullptr, 'J'},
    {"kill-on-bad-exit", optional_argument, nullptr, 'K'},
    {"label", no_argument, nullptr, 'l'},
    {"distribution", required_argument, nullptr, 'm'},
    {"ntasks", required_argument, nullptr, 'n'},
    {"nodes", required_argument, nullptr, 'N'},
    {"partition", required_argument, nullptr, 'p'},
    {"qos", required_argument, nullptr, 'q'},
    {"reservation", required_argument, nullptr, kOptReservation},
    {"quiet", no_argument, nullptr, 'Q'},
    {"time", required_argument, nullptr, 't'},
    {"unbuffered", no_argument, nullptr, 'u'},
    {"verbose", no_argument, nullptr, 'v'},
    {"version", no_argument, nullptr, 'V'},
    {"nodelist", required_argument, nullptr, 'w'},
    {"exclude", required_argument, nullptr, 'x'},
    {"disable-status", no_argument, nullptr, 'X'},
    {"pty", no_argument, nullptr, kOptPty},
    {"quit-on-interrupt", no_argument, nullptr, kOptQuitOnInterrupt},
    {"exclusive", optional_argument, nullptr, kOptExclusive},
    {"gres", required_argument, nullptr, kOptGres},
    {"gpus-per-node", required_argument, nullptr, kOptGpusPerNode},
    {"mem", required_argument, nullptr, kOptMem},
    {"mem-per-cpu", required_argument, nullptr, kOptMemPerCpu},
    {"ntasks-per-node", required_argument, nullptr, kOptNtasksPerNode},
    {"mpi", required_argument, nullptr, kOptMpi},
    {"jobid", required_argument, nullptr, kOptJobid},
    {"usage", no_argument, nullptr, kOptUsage},
    {"overlap", no_argument, nullptr, kOptOverlap},
    {"exact", no_argument, nullptr, kOptExact},
    {"webhook", required_argument, nullptr, kOptWebhook},
    {"cpu-bind", required_argument, nullptr, kOptIgnored},
    {"cpu_bind", required_argument, nullptr, kOptIgnored},  // the older spelling (Open MPI's)
    {"hint", required_argument, nullptr, kOptIgnored},
    {"container-image", required_argument, nullptr, kOptContainer},
    {"container-mounts", required_argument, nullptr, kOptContainer},
    {"container-workdir", required_argument, nullptr, kOptContainer},
    {"container-name", required_argument, nullptr, kOptContainer},
    {"container-env", required_argument, nullptr, kOptContainer},
    {"container-remap-root", no_argument, nullptr, kOptContainer},
    {"no-container-remap-root", no_argument, nullptr, kOptContainer},
    {"container-mount-home", no_argument, nullptr, kOptContainer},
    {"no-container-mount-home", no_argument, nullptr, kOptContainer},
    {"container-writable", no_argument, nullptr, kOptContainer},
    {"container-readonly", no_argument, nullptr, kOptContainer},
    {"container-entrypoint", no_argument, nullptr, kOptContainer},
    {"no-container-entrypoint", no_argument, nullptr, kOptContainer},
    {nullptr, 0, nullptr, 0},
};

// sbatch's parsers speak as sbatch: srun and salloc say the same under their own name.
CliError Reprefix(CliError err, std::string_view prog) {
  std::string out;
  for (const std::string& line : Split(err.text, '\n')) {
    if (line.empty()) continue;
    out += line.rfind("sbatch: ", 0) == 0 ? std::string(prog) + line.substr(6) : line;
    out += '\n';
  }
  err.text = out;
  return err;
}

}  // namespace

std::variant<SrunOptions, CliError> ParseSrunCommandLine(std::string_view prog,
                                                         const std::vector<std::string>& args,
                                                         int64_t now) {
  GetoptResult r = RunGetopt(prog, args, kShortOpts, kLongOpts);
  if (!r.ok) return CliError{TryHelpLine(prog), 255};
  SrunOptions o;
  o.alloc.now = now;
  JobRequest& req = o.alloc.submit.req;
  auto error = [&](const std::string& message, int code) {
    return CliError{std::string(prog) + ": error: " + message + "\n", code};
  };
  for (const ParsedOption& opt : r.options) {
    std::optional<CliError> err;
    switch (opt.id) {
      case 'h':
        o.help = true;
        break;
      case kOptUsage:
        o.usage = true;
        break;
      case 'V':
        o.version = true;
        break;
      case 'Q':
        o.quiet = true;
        break;
      case 'v':
        ++o.verbose;
        break;
      case 'l':
        o.label = true;
        break;
      case 'u':
        o.unbuffered = true;
        break;
      case kOptPty:
        o.pty = true;
        o.unbuffered = true;
        o.step.pty = true;
        break;
      case 'X':
        o.disable_status = true;
        break;
      case kOptQuitOnInterrupt:
        o.quit_on_interrupt = true;
        break;
      case 'K':
        o.step.kill_on_bad_exit = !opt.has_arg || opt.arg.empty() || opt.arg != "0";
        break;
      case 'i':
        // all, none, a task's number, or a file on this host that srun sends to every task.
        if (opt.arg == "all" || opt.arg == "none" ||
            (!opt.arg.empty() && opt.arg.size() <= 9 &&
             opt.arg.find_first_not_of("0123456789") == std::string::npos)) {
          o.step.input = opt.arg;
          o.input_file.clear();
        } else {
          o.step.input = "all";
          o.input_file = opt.arg;
        }
        break;
      case kOptExact:
        o.step.exact = true;
        break;
      case kOptOverlap:
        o.step.overlap = true;
        break;
      case 'm':
      case kOptIgnored:
        break;
      case kOptMpi:
        if (opt.arg != "none") {
          return error("Invalid MPI type '" + opt.arg + "', --mpi=list for acceptable types", 1);
        }
        break;
      case kOptJobid:
        if (!ParseCount(opt.arg) || *ParseCount(opt.arg) == 0) {
          return error("Invalid job id specified: " + opt.arg, 1);
        }
        o.jobid = opt.arg;
        break;
      case 'N':
        err = ApplySbatchOption(opt, OptionSource::kCommandLine, &o.alloc);
        o.step.nodes = req.min_nodes;
        o.nodes_set = true;
        break;
      case 'n':
        err = ApplySbatchOption(opt, OptionSource::kCommandLine, &o.alloc);
        o.step.ntasks = req.ntasks;
        break;
      case 'c':
        err = ApplySbatchOption(opt, OptionSource::kCommandLine, &o.alloc);
        o.step.cpus_per_task = req.cpus_per_task;
        o.step.exact = true;  // -c implies --exact, as in Slurm 22.05
        break;
      case 'J':
        req.name = opt.arg;
        o.step.name = opt.arg;
        break;
      case 't':
        err = ApplySbatchOption(opt, OptionSource::kCommandLine, &o.alloc);
        o.step.time_limit_s = req.time_limit_s > 0 ? req.time_limit_s : 0;
        break;
      case 'w':
        err = ApplySbatchOption(opt, OptionSource::kCommandLine, &o.alloc);
        o.step.nodelist = req.required_nodes;
        if (!o.alloc.submit_error.empty()) {
          return error("Unable to allocate resources: " + o.alloc.submit_error, 1);
        }
        break;
      case 'D':
        err = ApplySbatchOption(opt, OptionSource::kCommandLine, &o.alloc);
        o.step.work_dir = opt.arg;
        break;
      case 'G': {
        err = ApplySbatchOption(opt, OptionSource::kCommandLine, &o.alloc);
        uint32_t total = 0;
        size_t colon = opt.arg.rfind(':');
        auto n = ParseCount(colon == std::string::npos ? opt.arg : opt.arg.substr(colon + 1));
        if (!n) return error("Invalid generic resource (gres) specification", 1);
        total = static_cast<uint32_t>(*n);
        o.step.gpus = total;
        break;
      }
      case kOptExclusive:
        req.exclusive = true;
        o.step.exclusive = true;
        break;
      case kOptGres:
        err = ApplySbatchLongOption("gres", opt.arg, &o.alloc);
        o.step.gpus_per_node = req.gpus_per_node;
        break;
      case kOptGpusPerNode:
        err = ApplySbatchLongOption("gpus-per-node", opt.arg, &o.alloc);
        o.step.gpus_per_node = req.gpus_per_node;
        break;
      case kOptMem:
        err = ApplySbatchLongOption("mem", opt.arg, &o.alloc);
        o.step.mem_per_node_mb = req.mem_per_node_mb;
        break;
      case kOptMemPerCpu:
        err = ApplySbatchLongOption("mem-per-cpu", opt.arg, &o.alloc);
        break;
      case kOptWebhook:
        err = ApplySbatchLongOption("webhook", opt.arg, &o.alloc);
        break;
      case kOptReservation:
        err = ApplySbatchLongOption("reservation", opt.arg, &o.alloc);
        break;
      case kOptContainer:
        if (prog == "salloc") {
          return error(
              "--" + opt.long_name + ": give the container options to srun inside the allocation",
              1);
        }
        err = ApplySbatchLongOption(opt.long_name, opt.arg, &o.alloc);
        // The step's, not the allocation's: an allocation runs no script to contain.
        o.step.container = req.container;
        break;
      case kOptNtasksPerNode:
        err = ApplySbatchLongOption("ntasks-per-node", opt.arg, &o.alloc);
        o.step.ntasks_per_node = req.ntasks_per_node;
        break;
      default:  // -A -C -p -q -x: the allocation's only
        err = ApplySbatchOption(opt, OptionSource::kCommandLine, &o.alloc);
        break;
    }
    if (err) return Reprefix(*err, prog);
  }
  o.command = std::move(r.operands);
  req.container = ContainerSpec{};
  return o;
}

InterruptAction NextInterruptAction(InterruptState& state, int64_t now_ms, bool disable_status,
                                    bool quit_on_interrupt) {
  if (state.terminating) return InterruptAction::kAbandon;
  if (quit_on_interrupt) {
    state.terminating = true;
    return InterruptAction::kForce;
  }
  if (!disable_status && (!state.status_shown || now_ms - state.last_status_ms > 1000)) {
    state.status_shown = true;
    state.last_status_ms = now_ms;
    return InterruptAction::kStatus;
  }
  state.terminating = true;
  return InterruptAction::kInterrupt;
}

std::string RankList(std::vector<uint32_t> ranks) {
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  std::string list;
  for (size_t i = 0; i < ranks.size();) {
    size_t j = i;
    while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
    if (!list.empty()) list += ',';
    list += std::to_string(ranks[i]);
    if (j > i) list += "-" + std::to_string(ranks[j]);
    i = j + 1;
  }
  return list;
}

std::string TaskStatusLine(const std::string& step_name, uint32_t ntasks) {
  std::vector<uint32_t> ranks;
  for (uint32_t r = 0; r < std::max<uint32_t>(ntasks, 1); ++r) ranks.push_back(r);
  return "srun: StepId=" + step_name + (ranks.size() > 1 ? " tasks " : " task ") + RankList(ranks) +
         ": running";
}

std::vector<std::string> TaskExitLines(const std::vector<TaskExit>& exits, bool signals) {
  // (node, status) -> ranks, in the order of each group's lowest rank.
  std::map<std::pair<std::string, int>, std::vector<uint32_t>> groups;
  for (const TaskExit& e : exits) {
    if (WIFEXITED(e.status) && WEXITSTATUS(e.status) == 0) continue;
    if (!WIFEXITED(e.status) && !signals) continue;
    groups[{e.node, e.status}].push_back(e.rank);
  }
  std::vector<std::pair<uint32_t, std::string>> lines;
  for (auto& [key, ranks] : groups) {
    std::sort(ranks.begin(), ranks.end());
    ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
    const std::string list = RankList(ranks);
    const int status = key.second;
    std::string what;
    if (WIFEXITED(status)) {
      what = "Exited with exit code " + std::to_string(WEXITSTATUS(status));
    } else {
      const char* name = WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : nullptr;
      what = name != nullptr ? name : "Unknown status";
      if (WIFSIGNALED(status) && WCOREDUMP(status)) what += " (core dumped)";
    }
    lines.emplace_back(ranks.front(), "srun: error: " + key.first + ": " +
                                          (ranks.size() > 1 ? "tasks " : "task ") + list + ": " +
                                          what);
  }
  std::sort(lines.begin(), lines.end());
  std::vector<std::string> out;
  for (auto& [rank, line] : lines) out.push_back(std::move(line));
  return out;
}

std::string SrunUsageText(std::string_view prog) {
  std::string p(prog);
  return "Usage: " + p +
         " [-N nnodes] [-n ntasks] [-c ncpus] [--ntasks-per-node=n] [-w hosts] [-J jobname]\n"
         "            [-t minutes] [-p partition] [--exclusive] [-K] [-l] [--gres=list]\n"
         "            [--gpus=n] [--mpi=none] [--input=in] [--exact] [--overlap] [--pty]\n"
         "            [-X] [--quit-on-interrupt]\n"
         "            executable [args...]\n";
}

std::string SrunHelpText(std::string_view prog) {
  return "Usage: " + std::string(prog) +
         " [OPTIONS(0)...] executable(0) [args(0)...]\n"
         "\n"
         "Parallel run options:\n"
         "  -A, --account=name          charge job to specified account\n"
         "  -c, --cpus-per-task=ncpus   number of cpus required per task\n"
         "  -D, --chdir=path            change remote current working directory\n"
         "  -X, --disable-status        the first Ctrl-C interrupts the tasks\n"
         "      --exact                 use only the resources requested for the step\n"
         "      --exclusive             allocate nodes (or a step's CPUs) exclusively\n"
         "  -G, --gpus=n                count of GPUs required for the job\n"
         "      --gres=list             required generic resources (gpu[:type][:N])\n"
         "  -i, --input=in              location of stdin redirection (all, none,\n"
         "                              a task number or a file)\n"
         "  -J, --job-name=jobname      name of job\n"
         "      --jobid=id              run under already allocated job\n"
         "  -K, --kill-on-bad-exit      kill the job if any task terminates with a\n"
         "                              non-zero exit code\n"
         "  -l, --label                 prepend task number to lines of stdout/err\n"
         "      --mem=MB                minimum amount of real memory\n"
         "      --mpi=none              type of MPI being used (only none)\n"
         "  -n, --ntasks=ntasks         number of tasks to run\n"
         "      --overlap               share all resources with the other steps\n"
         "  -N, --nodes=N               number of nodes on which to run (N = min[-max])\n"
         "      --ntasks-per-node=n     number of tasks to invoke on each node\n"
         "  -p, --partition=partition   partition requested\n"
         "      --pty                   run task zero in pseudo terminal mode\n"
         "  -q, --qos=qos               quality of service\n"
         "  -Q, --quiet                 quiet mode (suppress informational messages)\n"
         "      --quit-on-interrupt     quit on the first Ctrl-C\n"
         "  -t, --time=minutes          time limit\n"
         "  -u, --unbuffered            pass output on as it arrives, not whole lines\n"
         "      --webhook=URL           POST the allocation's state changes to URL (shoal's\n"
         "                              own; only for an allocation made here)\n"
         "  -w, --nodelist=hosts...     request a specific list of hosts\n"
         "  -x, --exclude=hosts...      exclude a specific list of hosts\n"
         "\n" +
         // salloc refuses the container options: they are srun's.
         (prog == "srun"
              ? std::string(
                    "Container options (NVIDIA pyxis's spelling; docs/containers.md):\n"
                    "      --container-image=IMAGE run in a rootless podman container of IMAGE: a "
                    "name\n"
                    "                              in podman's storage, docker://, REGISTRY#IMAGE, "
                    "or\n"
                    "                              an image archive path (never pulled)\n"
                    "      --container-mounts=SRC[:DST[:FLAGS]][,...]\n"
                    "                              bind mounts; FLAGS \"+\"-joined, e.g. "
                    "ro+rprivate\n"
                    "      --container-workdir=PATH working directory inside the container\n"
                    "      --container-name=NAME   name of the container\n"
                    "      --container-env=VAR,... keep the job's value of these variables inside\n"
                    "      --[no-]container-remap-root   be root inside (default: yourself)\n"
                    "      --[no-]container-mount-home   mount your home directory (default: no)\n"
                    "      --container-writable, --container-readonly   (default: writable)\n"
                    "      --[no-]container-entrypoint   run the image's entrypoint (default: no)\n"
                    "\n")
              : std::string()) +
         "Help options:\n"
         "  -h, --help                  show this help message\n"
         "      --usage                 display brief usage message\n"
         "\n"
         "Other options:\n"
         "  -V, --version               output version information and exit\n";
}

}  // namespace shoal
