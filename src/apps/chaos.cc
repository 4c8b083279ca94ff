#include "apps/chaos.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "api/client.h"
#include "apps/cluster_processes.h"
#include "common/strings.h"

extern char** environ;

namespace fs = std::filesystem;

namespace shoal {

namespace {

std::string Now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Stop signals are blocked while chaos runs so a Ctrl-C in the middle of an outage heals the
// fault before chaos exits, instead of leaving a node frozen or cut off.
sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

bool stop_requested = false;

// Sleeps up to `seconds`; false (and stop_requested) when a stop signal came first.
bool SleepUnlessStopped(double seconds) {
  if (stop_requested) return false;
  sigset_t set = StopSignals();
  timespec ts{static_cast<time_t>(seconds),
              static_cast<long>((seconds - static_cast<double>(static_cast<time_t>(seconds))) * 1e9)};
  if (sigtimedwait(&set, nullptr, &ts) > 0) {
    stop_requested = true;
    return false;
  }
  return true;  // the time is up (EAGAIN), or another signal cut the wait short
}

// Runs a program to completion; its exit status, -1 when it cannot start.
int RunProgram(const std::vector<std::string>& args, const std::string& stdin_file = "") {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (!stdin_file.empty()) posix_spawn_file_actions_addopen(&fa, 0, stdin_file.c_str(), O_RDONLY, 0);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The local TCP ports of `pid`'s connections to `remote_port` (from /proc/net/tcp{,6}).
std::vector<uint16_t> ConnectionPorts(pid_t pid, uint16_t remote_port) {
  std::set<std::string> inodes;
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::string target = fs::read_symlink(fd.path(), ec).string();
    if (target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  std::vector<uint16_t> out;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      if (!inodes.count(inode)) continue;
      auto port_of = [](const std::string& addr) {
        size_t colon = addr.rfind(':');
        return colon == std::string::npos
                   ? 0
                   : static_cast<uint16_t>(std::stoul(addr.substr(colon + 1), nullptr, 16));
      };
      if (port_of(remote) == remote_port) out.push_back(port_of(local));
    }
  }
  return out;
}

class LocalCluster {
 public:
  static Result<LocalCluster> Open(std::string state_dir) {
    LocalCluster c;
    c.state_dir_ = fs::absolute(state_dir).lexically_normal().string();
    c.file_ = ReadJsonFile(c.state_dir_ + "/cluster.json");
    if (!c.file_.is_object() || !c.file_.contains("agents")) {
      return NotFound("no cluster in " + c.state_dir_ + " (start one with `shoal up`)");
    }
    return c;
  }

  const std::string& state_dir() const { return state_dir_; }
  std::vector<std::string> Nodes() const {
    std::vector<std::string> out;
    for (const auto& a : file_["agents"]) out.push_back(a.value("name", ""));
    return out;
  }
  Json* Agent(const std::string& name) {
    for (auto& a : file_["agents"]) {
      if (a.value("name", "") == name) return &a;
    }
    return nullptr;
  }
  pid_t ControllerPid() const { return file_.value("controller_pid", 0); }
  // The controller's agent endpoint's port, from controller.json.
  uint16_t AgentPort() const {
    Json info = ReadJsonFile(state_dir_ + "/controller.json");
    std::string addr = info.is_object() ? info.value("agents", "") : "";
    size_t colon = addr.rfind(':');
    std::optional<uint64_t> port =
        colon == std::string::npos ? std::nullopt : ParseUint(addr.substr(colon + 1));
    return port && *port <= 65535 ? static_cast<uint16_t>(*port) : 0;
  }

  // Kills the node's agent and, unless `agent_only`, every process of its jobs (a host that
  // loses power). Returns how many job processes died.
  size_t Crash(const std::string& node, bool agent_only) {
    Json* agent = Agent(node);
    kill(agent->value("pid", 0), SIGKILL);
    if (agent_only) return 0;
    std::vector<pid_t> supervisors =
        ProcessesMentioning(state_dir_ + "/agents/" + node + "/", "shoal-supervisor");
    std::vector<pid_t> all = Descendants(supervisors);
    all.insert(all.end(), supervisors.begin(), supervisors.end());
    for (pid_t p : all) kill(p, SIGKILL);
    return all.size();
  }

  Result<pid_t> Revive(const std::string& node) {
    Json* agent = Agent(node);
    std::vector<std::string> args = (*agent)["args"].get<std::vector<std::string>>();
    pid_t pid = SpawnDaemon(args, state_dir_ + "/agents/" + node + "/agent.log");
    if (pid < 0) return Internal("cannot start " + args[0]);
    (*agent)["pid"] = pid;
    Save();
    return pid;
  }

  Result<pid_t> RestartController(double down_s) {
    if (!file_.contains("controller_args")) {
      return FailedPrecondition("this cluster was started by an older `shoal up` that did not "
                                "record the controller's command line; restart it");
    }
    kill(ControllerPid(), SIGKILL);
    for (int i = 0; i < 100 && Alive(ControllerPid()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    SleepUnlessStopped(down_s);  // a stop here still brings the controller back
    std::vector<std::string> args = file_["controller_args"].get<std::vector<std::string>>();
    pid_t pid = SpawnDaemon(args, state_dir_ + "/controller.log");
    if (pid < 0) return Internal("cannot start " + args[0]);
    file_["controller_pid"] = pid;
    Save();
    for (int i = 0; i < 1000; ++i) {
      Json info = ReadJsonFile(state_dir_ + "/controller.json");
      if (info.is_object() && info.value("pid", 0) == pid) return pid;
      if (!Alive(pid)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return Internal("the controller did not come back (see " + state_dir_ +
                    "/controller.log): " + TailOf(state_dir_ + "/controller.log"));
  }

 private:
  void Save() { WriteJsonFile(state_dir_ + "/cluster.json", file_); }

  std::string state_dir_;
  Json file_;
};

// One fault: what it did, told on stdout and, as a JSON line, in the soak's log.
class Reporter {
 public:
  explicit Reporter(const std::string& log_path) {
    if (!log_path.empty()) log_.open(log_path, std::ios::app);
  }
  bool ok(const std::string& log_path) const { return log_path.empty() || log_.is_open(); }
  void Say(const std::string& action, const std::string& target, const std::string& phase,
           const std::string& text) {
    std::printf("%s %s %s: %s\n", Now().c_str(), action.c_str(), target.c_str(), text.c_str());
    std::fflush(stdout);
    if (log_.is_open()) {
      log_ << Json{{"time_ms", NowMs()}, {"action", action}, {"target", target},
                   {"phase", phase}, {"text", text}}
                  .dump()
           << "\n"
           << std::flush;
    }
  }

 private:
  std::ofstream log_;
};

// Runs one fault to its end (the outage healed). Returns 0, or 1 with a message on stderr.
int RunFault(LocalCluster& cluster, Reporter& report, const std::string& action,
             const std::string& node, double outage_s, bool agent_only) {
  std::string s = std::to_string(static_cast<int64_t>(outage_s));
  if (action == "crash") {
    size_t jobs = cluster.Crash(node, agent_only);
    report.Say(action, node, "start",
               agent_only ? "agent killed (its jobs keep running)"
                          : "agent and " + std::to_string(jobs) + " job process" +
                                (jobs == 1 ? "" : "es") + " killed" +
                                (outage_s > 0 ? "; reviving in " + s + " s" : ""));
    if (outage_s <= 0) return 0;
    SleepUnlessStopped(outage_s);
    Result<pid_t> pid = cluster.Revive(node);
    if (!pid.ok()) {
      std::fprintf(stderr, "shoal chaos: %s\n", pid.status().message().c_str());
      return 1;
    }
    report.Say(action, node, "end", "agent started again (pid " + std::to_string(*pid) + ")");
    return 0;
  }
  if (action == "freeze") {
    pid_t pid = cluster.Agent(node)->value("pid", 0);
    if (!Alive(pid)) {
      std::fprintf(stderr, "shoal chaos: the agent of %s is not running\n", node.c_str());
      return 1;
    }
    kill(pid, SIGSTOP);
    report.Say(action, node, "start", "agent stopped (SIGSTOP) for " + s + " s");
    SleepUnlessStopped(outage_s);
    kill(pid, SIGCONT);
    report.Say(action, node, "end", "agent continued (SIGCONT)");
    return 0;
  }
  if (action == "cut") {
    pid_t pid = cluster.Agent(node)->value("pid", 0);
    uint16_t port = cluster.AgentPort();
    std::vector<uint16_t> local = Alive(pid) && port != 0 ? ConnectionPorts(pid, port)
                                                         : std::vector<uint16_t>{};
    if (local.empty()) {
      std::fprintf(stderr, "shoal chaos: %s has no connection to the controller to cut\n",
                   node.c_str());
      return 1;
    }
    // Both directions of the node's connection are dropped on loopback's input, and new
    // connections to the controller's agent port too while the cut lasts (the cut node would
    // otherwise simply reconnect; other agents only notice if they reconnect meanwhile).
    std::string table = "shoal_chaos_" + std::to_string(getpid());
    std::string ports;
    for (uint16_t p : local) ports += (ports.empty() ? "" : ", ") + std::to_string(p);
    std::string rules = "table inet " + table +
                        " {\n  chain input {\n    type filter hook input priority -10; "
                        "policy accept;\n    tcp sport { " + ports + " } drop\n    tcp dport { " +
                        ports + " } drop\n    tcp dport " + std::to_string(port) +
                        " tcp flags & (syn | ack) == syn drop\n  }\n}\n";
    char path[] = "/tmp/shoal-chaos-nft.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, rules.data(), rules.size()) != static_cast<ssize_t>(rules.size())) {
      std::fprintf(stderr, "shoal chaos: cannot write %s\n", path);
      return 1;
    }
    close(fd);
    int rc = RunProgram({"nft", "-f", path});
    unlink(path);
    if (rc != 0) {
      std::fprintf(stderr,
                   "shoal chaos: cut needs nftables (`nft`, Debian package nftables) and root; "
                   "nft exited %d\n",
                   rc);
      return 1;
    }
    report.Say(action, node, "start",
               "connection to the controller dropped (nft table " + table + ") for " + s + " s");
    SleepUnlessStopped(outage_s);
    RunProgram({"nft", "delete", "table", "inet", table});
    report.Say(action, node, "end", "connection restored");
    return 0;
  }
  if (action == "restart-controller") {
    report.Say(action, "controller", "start",
               "controller killed (SIGKILL); starting it again in " + s + " s");
    Result<pid_t> pid = cluster.RestartController(outage_s);
    if (!pid.ok()) {
      std::fprintf(stderr, "shoal chaos: %s\n", pid.status().message().c_str());
      return 1;
    }
    report.Say(action, "controller", "end", "controller back (pid " + std::to_string(*pid) + ")");
    return 0;
  }
  std::fprintf(stderr, "shoal chaos: unknown fault '%s'\n", action.c_str());
  return 1;
}

}  // namespace

int ChaosMain(int argc, char** argv) {
  CLI::App app{
      "Inject faults into the local cluster (`shoal up`) and heal them: watch it recover"};
  app.name("shoal chaos");
  app.require_subcommand(1);
  std::string state_dir = DefaultStateDir();
  app.add_option("--state-dir", state_dir, "the cluster's state directory")->capture_default_str();

  std::string node, outage = "0", duration = "10m", every = "20-60", soak_outage = "5-15";
  std::string actions = "crash,freeze,cut,restart-controller", log_path;
  bool agent_only = false;
  uint64_t seed = 0;
  CLI::App* crash = app.add_subcommand(
      "crash", "kill a node's agent and its jobs (a host losing power), optionally bring it back");
  crash->add_option("node", node, "node name, or `random`")->required();
  crash->add_option("--revive-after", outage, "start the agent again after this long (30, 30s, 2m)");
  crash->add_flag("--agent-only", agent_only, "kill only the agent: its jobs keep running");
  CLI::App* freeze = app.add_subcommand("freeze", "stop a node's agent (SIGSTOP) for a while");
  freeze->add_option("node", node, "node name, or `random`")->required();
  freeze->add_option("--for", outage, "how long (30, 30s, 2m)")->required();
  CLI::App* cut = app.add_subcommand(
      "cut", "drop a node's traffic with the controller for a while (needs nft, root)");
  cut->add_option("node", node, "node name, or `random`")->required();
  cut->add_option("--for", outage, "how long (30, 30s, 2m)")->required();
  CLI::App* restart = app.add_subcommand(
      "restart-controller", "kill the controller (SIGKILL) and start it again");
  restart->add_option("--down", outage, "how long it stays down (default: 0)");
  CLI::App* soak = app.add_subcommand("soak", "random faults, one after another, for a while");
  soak->add_option("--duration", duration, "how long the soak runs")->capture_default_str();
  soak->add_option("--every", every, "pause between faults, MIN-MAX")->capture_default_str();
  soak->add_option("--outage", soak_outage, "how long each fault lasts, MIN-MAX")
      ->capture_default_str();
  soak->add_option("--actions", actions, "faults to draw from")->capture_default_str();
  soak->add_option("--seed", seed, "random seed (default: from the clock)");
  soak->add_option("--log", log_path, "also append each fault to FILE as a JSON line");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  Result<LocalCluster> opened = LocalCluster::Open(state_dir);
  if (!opened.ok()) {
    std::fprintf(stderr, "shoal chaos: %s\n", opened.status().message().c_str());
    return 1;
  }
  LocalCluster& cluster = *opened;
  const std::vector<std::string> nodes = cluster.Nodes();
  std::mt19937_64 rng(seed != 0 ? seed : static_cast<uint64_t>(NowMs()));
  auto pick = [&](const std::string& name) -> std::optional<std::string> {
    if (name == "random") {
      if (nodes.empty()) return std::nullopt;
      return nodes[std::uniform_int_distribution<size_t>(0, nodes.size() - 1)(rng)];
    }
    if (std::find(nodes.begin(), nodes.end(), name) == nodes.end()) return std::nullopt;
    return name;
  };
  sigset_t stop = StopSignals();
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  Reporter report(log_path);
  if (!report.ok(log_path)) {
    std::fprintf(stderr, "shoal chaos: cannot append to %s\n", log_path.c_str());
    return 1;
  }

  CLI::App* chosen = app.get_subcommands().front();
  if (chosen != soak) {
    double seconds = 0;
    if (outage != "0") {
      Result<int64_t> s = ParseSeconds(outage, chosen == crash     ? "--revive-after"
                                                    : chosen == restart ? "--down"
                                                                        : "--for");
      if (!s.ok()) {
        std::fprintf(stderr, "shoal chaos: %s\n", s.status().message().c_str());
        return 1;
      }
      seconds = static_cast<double>(*s);
    }
    std::string target;
    if (chosen != restart) {
      std::optional<std::string> n = pick(node);
      if (!n) {
        std::fprintf(stderr, "shoal chaos: no node '%s' in this cluster (it has %s)\n",
                     node.c_str(), Join(nodes, ", ").c_str());
        return 1;
      }
      target = *n;
    }
    int rc = RunFault(cluster, report, chosen->get_name(), target, seconds, agent_only);
    return rc != 0 ? rc : stop_requested ? 130 : 0;
  }

  // The soak.
  Result<int64_t> total = ParseSeconds(duration, "--duration");
  Result<std::pair<int64_t, int64_t>> pause = ParseSecondsRange(every, "--every");
  Result<std::pair<int64_t, int64_t>> length = ParseSecondsRange(soak_outage, "--outage");
  for (const Status& s : {total.status(), pause.status(), length.status()}) {
    if (!s.ok()) {
      std::fprintf(stderr, "shoal chaos: %s\n", s.message().c_str());
      return 1;
    }
  }
  std::vector<std::string> faults;
  for (const std::string& a : Split(actions, ',')) {
    std::string name(Trim(a));
    if (name != "crash" && name != "freeze" && name != "cut" && name != "restart-controller") {
      std::fprintf(stderr,
                   "shoal chaos: unknown fault '%s' in --actions (crash, freeze, cut, "
                   "restart-controller)\n",
                   name.c_str());
      return 1;
    }
    faults.push_back(name);
  }
  if (nodes.empty() && std::any_of(faults.begin(), faults.end(),
                                   [](const std::string& f) { return f != "restart-controller"; })) {
    std::fprintf(stderr, "shoal chaos: the cluster has no nodes to inject faults into\n");
    return 1;
  }
  auto draw = [&](std::pair<int64_t, int64_t> range) {
    return static_cast<double>(std::uniform_int_distribution<int64_t>(range.first, range.second)(rng));
  };
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(*total);
  std::map<std::string, int> counts;
  int failed = 0;
  while (std::chrono::steady_clock::now() < end && !stop_requested) {
    double wait = std::min(draw(*pause), std::chrono::duration<double>(
                                             end - std::chrono::steady_clock::now())
                                             .count());
    if (!SleepUnlessStopped(wait) || std::chrono::steady_clock::now() >= end) break;
    const std::string& fault =
        faults[std::uniform_int_distribution<size_t>(0, faults.size() - 1)(rng)];
    std::string target = fault == "restart-controller" ? "" : *pick("random");
    if (RunFault(cluster, report, fault, target, draw(*length), false) == 0) {
      ++counts[fault];
    } else {
      ++failed;
    }
  }
  std::string summary;
  for (const auto& [fault, n] : counts) {
    summary += (summary.empty() ? "" : ", ") + std::to_string(n) + " " + fault;
  }
  std::printf("%s soak over: %s%s\n", Now().c_str(), summary.empty() ? "no faults" : summary.c_str(),
              failed > 0 ? (", " + std::to_string(failed) + " failed to inject").c_str() : "");
  return failed > 0 ? 1 : stop_requested ? 130 : 0;
}

}  // namespace shoal
