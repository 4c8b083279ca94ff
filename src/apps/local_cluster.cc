#include "apps/local_cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "api/client.h"
#include "apps/cluster_processes.h"
#include "common/hostlist.h"

namespace fs = std::filesystem;

namespace shoal {

int UpMain(int argc, char** argv) {
  CLI::App app{"Start a local shoal cluster: one controller and N agents on this host"};
  app.name("shoal up");
  unsigned nodes = 4, cpus = 0, gpus = 0;
  uint64_t memory_mb = 0;
  std::string state_dir = DefaultStateDir();
  std::string config;
  std::string prefix = "node";
  app.add_option("-n,--nodes", nodes, "number of agents (nodes) to start")->check(CLI::Range(0u, 10000u));
  app.add_option("--cpus-per-node", cpus, "CPUs each node offers (default: this host's)");
  app.add_option("--gpus-per-node", gpus, "emulated GPUs per node")->check(CLI::Range(0u, 64u));
  app.add_option("--memory-per-node", memory_mb, "memory per node in MiB (default: this host's)");
  app.add_option("--state-dir", state_dir, "where the cluster keeps its state");
  app.add_option("--config", config, "slurm.conf-style configuration for the controller");
  app.add_option("--prefix", prefix, "node name prefix");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  state_dir = fs::absolute(state_dir).lexically_normal().string();
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) {
    std::fprintf(stderr, "shoal up: cannot create %s: %s\n", state_dir.c_str(), ec.message().c_str());
    return 1;
  }
  Json existing = ReadJsonFile(state_dir + "/cluster.json");
  if (existing.is_object() && Alive(existing.value("controller_pid", 0))) {
    std::fprintf(stderr, "shoal up: a cluster is already running in %s (run `shoal down` first)\n",
                 state_dir.c_str());
    return 1;
  }
  const auto started = std::chrono::steady_clock::now();
  const std::string bin = SelfDir();
  fs::remove(state_dir + "/controller.json", ec);
  std::vector<std::string> cargs = {bin + "/shoal-controller", "--state-dir", state_dir};
  if (!config.empty()) {
    cargs.push_back("--config");
    cargs.push_back(fs::absolute(config).string());
  }
  const std::string controller_log = state_dir + "/controller.log";
  pid_t controller = SpawnDaemon(cargs, controller_log);
  if (controller < 0) {
    std::fprintf(stderr, "shoal up: cannot start %s\n", cargs[0].c_str());
    return 1;
  }
  // Wait for the controller to say where it listens.
  Json info;
  while (true) {
    info = ReadJsonFile(state_dir + "/controller.json");
    if (info.is_object() && info.value("pid", 0) == controller) break;
    if (ExitedEarly(controller)) {
      std::fprintf(stderr, "shoal up: the controller failed to start: %s\n",
                   TailOf(controller_log).c_str());
      return 1;
    }
    if (std::chrono::steady_clock::now() - started > std::chrono::seconds(10)) {
      std::fprintf(stderr, "shoal up: the controller did not come up (see %s)\n",
                   controller_log.c_str());
      kill(controller, SIGKILL);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const std::string agent_addr = info.value("agents", "");
  // The controller created the cluster CA and key if they were missing (the shoal binary keeps
  // OpenSSL out): agents verify it with the CA and prove membership with the key.
  const std::string tls_ca = info.value("tls_ca", "");
  const std::string cluster_key = info.value("cluster_key_file", "");
  if (tls_ca.empty() || cluster_key.empty()) {
    std::fprintf(stderr, "shoal up: the controller did not name its cluster CA and key in %s\n",
                 (state_dir + "/controller.json").c_str());
    kill(controller, SIGTERM);
    return 1;
  }

  // Command lines are kept so that `shoal chaos` can start a daemon it killed again.
  Json cluster = {
      {"controller_pid", controller}, {"controller_args", cargs}, {"agents", Json::array()}};
  std::vector<std::string> names;
  for (unsigned i = 1; i <= nodes; ++i) {
    std::string name = prefix + std::to_string(i);
    std::string dir = state_dir + "/agents/" + name;
    fs::create_directories(dir, ec);
    std::vector<std::string> args = {bin + "/shoal-agent", "--controller", agent_addr, "--name",
                                     name, "--state-dir", dir, "--tls-ca", tls_ca,
                                     "--cluster-key-file", cluster_key,
                                     // Several agents share this host: each takes a free port
                                     // and reports it (GET /api/v1/prometheus/targets).
                                     "--metrics-address", "127.0.0.1", "--metrics-port", "0"};
    if (cpus > 0) args.insert(args.end(), {"--cpus", std::to_string(cpus)});
    if (memory_mb > 0) args.insert(args.end(), {"--memory-mb", std::to_string(memory_mb)});
    if (gpus > 0) args.insert(args.end(), {"--gpus", std::to_string(gpus)});
    pid_t pid = SpawnDaemon(args, dir + "/agent.log");
    if (pid < 0) {
      std::fprintf(stderr, "shoal up: cannot start %s\n", args[0].c_str());
      return 1;
    }
    cluster["agents"].push_back({{"name", name}, {"pid", pid}, {"args", args}});
    names.push_back(name);
  }
  WriteJsonFile(state_dir + "/cluster.json", cluster);

  // Ready means every agent has registered and is idle.
  ApiClient client("unix:" + state_dir + "/controller.sock");
  size_t ready = 0;
  while (true) {
    auto r = client.Get("/api/v1/nodes");
    ready = 0;
    if (r.ok()) {
      for (const auto& n : (*r)["nodes"]) {
        if (n.value("responding", false) &&
            std::find(names.begin(), names.end(), n.value("name", "")) != names.end()) {
          ++ready;
        }
      }
    }
    if (ready == names.size()) break;
    if (std::chrono::steady_clock::now() - started > std::chrono::seconds(15)) {
      std::fprintf(stderr, "shoal up: only %zu of %zu nodes registered (logs in %s/agents)\n",
                   ready, names.size(), state_dir.c_str());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("shoal: cluster up in %.2f s: controller pid %d, %zu node%s %s\n", secs,
              static_cast<int>(controller), names.size(), names.size() == 1 ? "" : "s",
              CompressHostlist(names).c_str());
  std::printf("shoal: state in %s\n", state_dir.c_str());
  std::printf("shoal: dashboard at http://%s/\n", info.value("http", "").c_str());
  if (state_dir != fs::absolute(DefaultStateDir()).lexically_normal().string()) {
    std::printf("shoal: point the commands at it with: export SHOAL_STATE_DIR=%s\n",
                state_dir.c_str());
  }
  return 0;
}

int DownMain(int argc, char** argv) {
  CLI::App app{"Stop the local shoal cluster and every job it runs"};
  app.name("shoal down");
  std::string state_dir = DefaultStateDir();
  app.add_option("--state-dir", state_dir, "the cluster's state directory");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  state_dir = fs::absolute(state_dir).lexically_normal().string();
  Json cluster = ReadJsonFile(state_dir + "/cluster.json");
  if (!cluster.is_object()) {
    std::fprintf(stderr, "shoal down: no cluster in %s\n", state_dir.c_str());
    return 1;
  }
  std::vector<pid_t> agents;
  for (const auto& a : cluster["agents"]) agents.push_back(a.value("pid", 0));
  StopPids(agents, 3000);
  // Agents leave jobs running on purpose (so they survive agent restarts); down ends them too.
  StopPids(ProcessesMentioning(state_dir + "/agents/", "shoal-supervisor"), 3000);
  StopPids({static_cast<pid_t>(cluster.value("controller_pid", 0))}, 5000);
  std::error_code ec;
  fs::remove(state_dir + "/cluster.json", ec);
  std::printf("shoal: cluster in %s stopped\n", state_dir.c_str());
  return 0;
}

int StatusMain(int argc, char** argv) {
  CLI::App app{"Show the local shoal cluster"};
  app.name("shoal status");
  std::string state_dir = DefaultStateDir();
  app.add_option("--state-dir", state_dir, "the cluster's state directory");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  Json cluster = ReadJsonFile(state_dir + "/cluster.json");
  Json info = ReadJsonFile(state_dir + "/controller.json");
  if (!cluster.is_object() || !info.is_object() || !Alive(cluster.value("controller_pid", 0))) {
    std::printf("shoal: no cluster running in %s\n", state_dir.c_str());
    return 1;
  }
  std::printf("controller  pid %d  api unix:%s http://%s  agents %s\n",
              cluster.value("controller_pid", 0), info.value("socket", "").c_str(),
              info.value("http", "").c_str(), info.value("agents", "").c_str());
  ApiClient client("unix:" + info.value("socket", ""));
  auto nodes = client.Get("/api/v1/nodes");
  if (!nodes.ok()) {
    std::printf("controller not answering: %s\n", nodes.status().message().c_str());
    return 1;
  }
  for (const auto& a : cluster["agents"]) {
    std::string name = a.value("name", "");
    std::string state = "unknown";
    for (const auto& n : (*nodes)["nodes"]) {
      if (n.value("name", "") == name) state = n.value("state", "");
    }
    std::printf("%-12s pid %-8d %s %s\n", name.c_str(), a.value("pid", 0), state.c_str(),
                Alive(a.value("pid", 0)) ? "" : "(agent process gone)");
  }
  return 0;
}

}  // namespace shoal
