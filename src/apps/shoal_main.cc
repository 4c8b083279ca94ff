// shoal: one multi-call executable. Invoked as sbatch, squeue, ... (symlinks) it is that
// command; as `shoal SUBCOMMAND` it runs the subcommand. The daemons live in their own
// executables (shoal-controller, shoal-agent) so this one stays small and quick to start.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "apps/chaos.h"
#include "apps/local_cluster.h"
#include "cli/commands.h"
#include "sim/sim_main.h"

namespace {

using Main = int (*)(int, char**);

struct Command {
  const char* name;
  Main main;
};

constexpr Command kSlurmCommands[] = {
    {"sbatch", shoal::SbatchMain},     {"srun", shoal::SrunMain},   {"salloc", shoal::SallocMain},
    {"squeue", shoal::SqueueMain},     {"sinfo", shoal::SinfoMain}, {"scancel", shoal::ScancelMain},
    {"scontrol", shoal::ScontrolMain}, {"sacct", shoal::SacctMain}, {"sprio", shoal::SprioMain},
    {"sacctmgr", shoal::SacctmgrMain}, {"sshare", shoal::SshareMain},
    {"sreport", shoal::SreportMain},   {"sstat", shoal::SstatMain},
};

constexpr Command kShoalCommands[] = {
    {"up", shoal::UpMain},       {"down", shoal::DownMain},        {"status", shoal::StatusMain},
    {"sim", shoal::SimMain},     {"priority", shoal::SprioMain},  // sprio under shoal's own name
    {"chaos", shoal::ChaosMain}, {"token", shoal::ShoalTokenMain},
};

// `shoal controller ...` and `shoal agent ...` become the daemon executables beside us.
int ExecDaemon(const char* daemon, char** argv) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) {
    std::perror("shoal: readlink /proc/self/exe");
    return 1;
  }
  self[n] = '\0';
  std::string path(self);
  path = path.substr(0, path.rfind('/') + 1) + daemon;
  argv[0] = path.data();
  execv(path.c_str(), argv);
  std::fprintf(stderr, "shoal: cannot run %s: %s\n", path.c_str(), std::strerror(errno));
  return 1;
}

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: shoal COMMAND [ARGS]\n\n"
               "local cluster:\n"
               "  up [--nodes N] [--cpus-per-node C] [--gpus-per-node G] [--state-dir DIR]\n"
               "  down [--state-dir DIR]\n"
               "  status [--state-dir DIR]\n"
               "  chaos crash|freeze|cut NODE|random ..., chaos restart-controller [--down S],\n"
               "  chaos soak [--duration 10m] [--every 20-60] [--outage 5-15] [--actions ...]\n"
               "simulator:\n"
               "  sim replay TRACE.swf[.gz] --policy fcfs|sjf|easy|easy-sjbf|conservative [...]\n"
               "  sim agents --count N [--cpus-per-node C] [--job-time real|instant|SECONDS]\n"
               "             [--fail K --fail-after S --revive-after S] [--relay-width W]\n"
               "             (emulated nodes; W per connection, as behind shoal-relay)\n"
               "  sim live [--nodes 8] [--gpus-per-node G] [--job-rate 2/min | --preset light|"
               "steady|burst|stress]\n"
               "           [--failure-rate 5-12%%/min] [--recovery 20-60] [--duration 10m]\n"
               "daemons:\n"
               "  controller [--state-dir DIR] [--config FILE] [--listen HOST:PORT]\n"
               "  agent --controller HOST:PORT --name NODE --state-dir DIR [...]\n"
               "cluster set-up (docs/install.md):\n"
               "  init --controller HOST[:PORT] [--config-dir /etc/shoal]   on the controller "
               "host\n"
               "  token --join [lifespan=SECONDS]   a one-time join token for a new node\n"
               "  token --list | --revoke ID   the join tokens; revoke an unused one\n"
               "  join HOST[:PORT] TOKEN [--name NODE] [--config-dir /etc/shoal]   on the node\n"
               "access:\n"
               "  token [lifespan=SECONDS] [username=NAME]   a token for the API over TCP "
               "(SLURM_JWT=...)\n"
               "queue:\n"
               "  priority [sprio options]   the priority factors of pending jobs (as sprio)\n"
               "Slurm commands (also as their own names):\n"
               "  sbatch srun salloc squeue sinfo scancel scontrol sacct sprio sacctmgr sshare\n"
               "  sreport sstat\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view name = argv[0];
  if (auto slash = name.rfind('/'); slash != std::string_view::npos) name = name.substr(slash + 1);
  for (const auto& c : kSlurmCommands) {
    if (name == c.name) return c.main(argc, argv);
  }
  if (argc < 2) {
    Usage(stderr);
    return 1;
  }
  std::string_view sub = argv[1];
  if (sub == "-h" || sub == "--help" || sub == "help") {
    Usage(stdout);
    return 0;
  }
  if (sub == "--version" || sub == "version") {
    std::printf("shoal %s\n", SHOAL_VERSION);
    return 0;
  }
  if (sub == "controller") return ExecDaemon("shoal-controller", argv + 1);
  if (sub == "agent") return ExecDaemon("shoal-agent", argv + 1);
  // Cluster set-up needs the daemons' libraries (TLS, gRPC): the subcommand name stays in argv.
  if (sub == "init") return ExecDaemon("shoal-controller", argv);
  if (sub == "join") return ExecDaemon("shoal-agent", argv);
  // The emulator links gRPC, so it is a daemon executable of its own too.
  if (sub == "sim" && argc >= 3 &&
      (std::string_view(argv[2]) == "agents" || std::string_view(argv[2]) == "live")) {
    return ExecDaemon("shoal-emulator", argv + 1);  // "sim" becomes the path, the mode follows
  }
  // Subcommands see argv starting at their own name, like a standalone command.
  for (const auto& c : kSlurmCommands) {
    if (sub == c.name) return c.main(argc - 1, argv + 1);
  }
  for (const auto& c : kShoalCommands) {
    if (sub == c.name) return c.main(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "shoal: unknown command '%s'\n", argv[1]);
  Usage(stderr);
  return 1;
}
