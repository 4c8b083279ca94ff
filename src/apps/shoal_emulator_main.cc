// shoal-emulator: `shoal sim agents` (N emulated nodes in one process on the real agent
// protocol, for scale measurements and tests without N real agents) and `shoal sim live` (a
// controller of its own, emulated nodes that fail and recover, and a job generator).
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include <spawn.h>
#include <sys/wait.h>

#include "api/client.h"
#include "apps/cluster_processes.h"
#include "common/file_limit.h"
#include "common/strings.h"
#include "emulator/emulator.h"
#include "emulator/live.h"
#include "rpc/grpc_process.h"
#include "security/cluster_ca.h"

namespace {

// The CA and cluster key emulated nodes join with: the files given, else those the controller
// of `state_dir` names in its controller.json.
shoal::Result<shoal::security::AgentMaterial> JoinMaterial(const std::string& state_dir,
                                                           std::string ca_file,
                                                           std::string key_file) {
  shoal::Json info = shoal::ReadJsonFile(state_dir + "/controller.json");
  if (ca_file.empty() && info.is_object()) ca_file = info.value("tls_ca", "");
  if (key_file.empty() && info.is_object()) key_file = info.value("cluster_key_file", "");
  if (ca_file.empty() || key_file.empty()) {
    return shoal::InvalidArgument("no cluster CA and key found in " + state_dir +
                                  "/controller.json: give --tls-ca FILE and --cluster-key-file "
                                  "FILE");
  }
  return shoal::security::LoadAgentMaterial(ca_file, key_file);
}

using shoal::emulator::Emulator;
using shoal::emulator::LiveOptions;
using shoal::emulator::LiveSimulation;
using shoal::emulator::LiveWorld;
using shoal::emulator::JobTime;
using shoal::RaiseFileLimit;
using shoal::emulator::NodeConfig;

}  // namespace

int AgentsMain(int argc, char** argv) {
  CLI::App app{"Emulated nodes on the real agent protocol (shoal sim agents)"};
  app.name("shoal sim agents");
  unsigned count = 10, cpus = 4, gpus = 0, first = 1;
  uint64_t memory_mb = 16384;
  std::string prefix = "emu", job_time = "real", controller, state_dir = shoal::DefaultStateDir();
  std::string fail_mode = "crash", tls_ca, cluster_key_file;
  unsigned fail = 0, fail_after = 0, revive_after = 0, relay_width = 1;
  app.add_option("--count", count, "nodes to emulate")->check(CLI::Range(1u, 100000u));
  app.add_option("--cpus-per-node", cpus, "CPUs each node offers")->check(CLI::Range(1u, 4096u));
  app.add_option("--gpus-per-node", gpus, "GPUs each node offers")->check(CLI::Range(0u, 64u));
  app.add_option("--memory-per-node", memory_mb, "memory per node in MiB")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32));
  app.add_option("--prefix", prefix, "node names are PREFIX1, PREFIX2, ...")->capture_default_str();
  app.add_option("--first-index", first, "number of the first node")->capture_default_str();
  app.add_option("--job-time", job_time,
                 "how long jobs run: real (their time limit, or SHOAL_EMULATE_RUNTIME in their "
                 "environment), instant, or SECONDS")
      ->capture_default_str();
  app.add_option("--controller", controller,
                 "the controller's agent endpoint HOST:PORT (default: the cluster in "
                 "SHOAL_STATE_DIR)");
  app.add_option("--state-dir", state_dir, "the cluster to join when --controller is not given");
  app.add_option("--tls-ca", tls_ca,
                 "the cluster CA to verify the controller with (default: the state directory's "
                 "cluster's)");
  app.add_option("--cluster-key-file", cluster_key_file,
                 "the cluster key the nodes prove membership with (default: the state "
                 "directory's cluster's)");
  app.add_option("--fail", fail, "nodes to fail at once on SIGUSR1 or after --fail-after");
  app.add_option("--fail-after", fail_after, "seconds after start to fail --fail nodes");
  app.add_option("--fail-mode", fail_mode, "crash (jobs lost, stream cut) or freeze (silent)")
      ->check(CLI::IsMember({"crash", "freeze"}))
      ->capture_default_str();
  app.add_option("--revive-after", revive_after,
                 "seconds after a failure to bring the failed nodes back (SIGUSR2 does it too)");
  app.add_option("--relay-width", relay_width,
                 "nodes per connection, as behind relays of this width (shoal-relay); 1: each "
                 "node its own connection")
      ->check(CLI::Range(1u, 100000u))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");

  NodeConfig base;
  base.cpus = cpus;
  base.memory_mb = memory_mb;
  base.gpus = gpus;
  if (job_time == "real") {
    base.job_time = JobTime::kReal;
  } else if (job_time == "instant") {
    base.job_time = JobTime::kInstant;
  } else if (std::optional<uint64_t> s = shoal::ParseUint(job_time); s && *s <= 366 * 86400) {
    base.job_time = JobTime::kFixed;
    base.fixed_s = static_cast<int64_t>(*s);
  } else {
    std::fprintf(stderr,
                 "shoal sim agents: invalid --job-time '%s' (real, instant or seconds)\n",
                 job_time.c_str());
    return 1;
  }
  if (controller.empty()) {
    shoal::Json info = shoal::ReadJsonFile(state_dir + "/controller.json");
    if (info.is_object()) controller = info.value("agents", "");
    if (controller.empty()) {
      std::fprintf(stderr,
                   "shoal sim agents: no controller found in %s (start one with `shoal up "
                   "--nodes 0`, or give --controller HOST:PORT)\n",
                   state_dir.c_str());
      return 1;
    }
  }
  shoal::Result<shoal::security::AgentMaterial> material =
      JoinMaterial(state_dir, tls_ca, cluster_key_file);
  if (!material.ok()) {
    std::fprintf(stderr, "shoal sim agents: %s\n", material.status().message().c_str());
    return 1;
  }
  RaiseFileLimit();

  Emulator::Options options;
  options.controller = controller;
  options.tls_ca_pem = material->ca_pem;
  options.cluster_key = material->cluster_key;
  options.relay_width = relay_width;
  for (unsigned i = 0; i < count; ++i) {
    NodeConfig node = base;
    node.name = prefix + std::to_string(first + i);
    options.nodes.push_back(std::move(node));
  }
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGUSR1, SIGUSR2}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before gRPC starts its threads

  Emulator emulator(std::move(options));
  const auto started = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  emulator.Start();
  spdlog::info("emulating {} nodes {}{}..{}{} ({} cpus, {} gpus, {} MiB each; jobs {}) against {}",
               count, prefix, first, prefix, first + count - 1, cpus, gpus, memory_mb, job_time,
               controller);
  bool all_registered = false;
  double failed_at = -1;
  bool failed_once = false;
  for (;;) {
    timespec tick{0, 100 * 1000 * 1000};
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) break;
    auto do_fail = [&] {
      std::vector<std::string> names =
          fail_mode == "crash" ? emulator.Crash(fail) : emulator.Freeze(fail);
      spdlog::info("{} {} nodes at {:.2f} s", fail_mode == "crash" ? "crashed" : "froze",
                   names.size(), seconds());
      failed_at = seconds();
    };
    auto do_revive = [&] {
      std::vector<std::string> names = emulator.Revive(count);
      spdlog::info("revived {} nodes at {:.2f} s", names.size(), seconds());
      failed_at = -1;
    };
    if (sig == SIGUSR1 && fail > 0) do_fail();
    if (sig == SIGUSR2) do_revive();
    if (fail > 0 && fail_after > 0 && !failed_once && seconds() >= fail_after) {
      failed_once = true;
      do_fail();
    }
    if (revive_after > 0 && failed_at >= 0 && seconds() >= failed_at + revive_after) do_revive();
    if (!all_registered && emulator.registered() == count) {
      all_registered = true;
      spdlog::info("all {} nodes registered in {:.2f} s", count, seconds());
    }
    if (emulator.refused() == count) {
      spdlog::error("the controller refused every node");
      emulator.Stop();
      return 1;
    }
  }
  emulator.Stop();
  const shoal::emulator::LaunchLedger& launches = emulator.launches();
  spdlog::info("stopped after {:.1f} s: {} launches of {} jobs, {} jobs launched more than once",
               seconds(), launches.launches(), launches.jobs(), launches.repeated());
  return 0;
}

namespace {

// Runs `shoal ARGS...` (the multi-call binary beside us) to its end; its exit status.
int RunShoal(std::vector<std::string> args) {
  args.insert(args.begin(), shoal::SelfDir() + "/shoal");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return 127;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string Clock() {
  time_t now = time(nullptr);
  tm local{};
  localtime_r(&now, &local);
  char buf[16];
  strftime(buf, sizeof buf, "%H:%M:%S", &local);
  return buf;
}

int LiveMain(int argc, char** argv) {
  CLI::App app{"A live cluster: a real controller, emulated nodes that fail and recover, and a "
               "job generator (shoal sim live)"};
  app.name("shoal sim live");
  unsigned nodes = 8, cpus = 8, gpus = 0;
  uint64_t memory_mb = 65536, seed = 0;
  double speed = 1;
  std::string job_rate, preset = "steady", failure_rate = "0", recovery = "20-60", duration;
  std::string state_dir = shoal::DefaultStateDir(), config;
  app.add_option("--nodes", nodes, "emulated nodes")->check(CLI::Range(1u, 10000u))->capture_default_str();
  app.add_option("--cpus-per-node", cpus, "CPUs per node")->check(CLI::Range(1u, 4096u))->capture_default_str();
  app.add_option("--gpus-per-node", gpus, "GPUs per node")->check(CLI::Range(0u, 64u))->capture_default_str();
  app.add_option("--memory-per-node", memory_mb, "memory per node, MiB")->capture_default_str();
  app.add_option("--job-rate", job_rate, "jobs a minute, 0.1 to 50 (2/min, 30/h); else --preset");
  app.add_option("--preset", preset, "light (0.5/min), steady (2/min), burst (0.5/min with a "
                 "minute of 30/min every five) or stress (50/min)")->capture_default_str();
  app.add_option("--failure-rate", failure_rate,
                 "percent of nodes failing a minute, each node its own rate drawn from the range "
                 "(5-12%/min)")->capture_default_str();
  app.add_option("--recovery", recovery, "how long a failed node stays down, MIN-MAX seconds")
      ->capture_default_str();
  app.add_option("--speed", speed, "jobs run this many times faster than their nominal time")
      ->check(CLI::Range(0.01, 1000.0))->capture_default_str();
  app.add_option("--duration", duration, "stop after this long (default: at Ctrl-C)");
  app.add_option("--seed", seed, "random seed (default: from the clock)");
  app.add_option("--state-dir", state_dir, "where the cluster keeps its state");
  app.add_option("--config", config, "slurm.conf-style configuration for the controller");
  CLI11_PARSE(app, argc, argv);

  LiveOptions options;
  options.cpus_per_node = cpus;
  options.gpus_per_node = gpus;
  options.seed = seed != 0 ? seed : static_cast<uint64_t>(time(nullptr));
  auto fail = [](const shoal::Status& s) {
    std::fprintf(stderr, "shoal sim live: %s\n", s.message().c_str());
    return 1;
  };
  if (!job_rate.empty()) {
    shoal::Result<double> rate = shoal::emulator::ParseJobRate(job_rate);
    if (!rate.ok()) return fail(rate.status());
    options.job_rate_per_min = *rate;
  }
  if (auto p = shoal::PresetJobRate(preset, 0); !p.ok()) return fail(p.status());
  options.preset = preset;
  auto failures = shoal::emulator::ParseFailureRate(failure_rate);
  if (!failures.ok()) return fail(failures.status());
  options.failure_pct_per_min = *failures;
  auto back = shoal::ParseSecondsRange(recovery, "--recovery");
  if (!back.ok()) return fail(back.status());
  options.recovery_s = *back;
  int64_t stop_after = 0;
  if (!duration.empty()) {
    auto d = shoal::ParseSeconds(duration, "--duration");
    if (!d.ok()) return fail(d.status());
    stop_after = *d;
  }

  std::vector<std::string> up = {"up", "--nodes", "0", "--state-dir", state_dir};
  if (!config.empty()) up.insert(up.end(), {"--config", config});
  if (RunShoal(up) != 0) {
    std::fprintf(stderr, "shoal sim live: could not start the controller (see above)\n");
    return 1;
  }
  const std::string agents = shoal::ReadJsonFile(state_dir + "/controller.json").value("agents", "");
  shoal::Result<shoal::security::AgentMaterial> material = JoinMaterial(state_dir, "", "");
  if (!material.ok()) {
    std::fprintf(stderr, "shoal sim live: %s\n", material.status().message().c_str());
    RunShoal({"down", "--state-dir", state_dir});
    return 1;
  }
  RaiseFileLimit();
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Emulator::Options emu;
  emu.controller = agents;
  emu.tls_ca_pem = material->ca_pem;
  emu.cluster_key = material->cluster_key;
  const std::string prefix = gpus > 0 ? "gpu" : "node";
  for (unsigned i = 1; i <= nodes; ++i) {
    NodeConfig n;
    n.name = prefix + std::to_string(i);
    n.cpus = cpus;
    n.gpus = gpus;
    n.memory_mb = memory_mb;
    n.speed = speed;
    emu.nodes.push_back(std::move(n));
  }
  Emulator emulator(std::move(emu));
  emulator.Start();
  shoal::ApiClient client("unix:" + state_dir + "/controller.sock");
  LiveWorld world;
  world.nodes = emulator.Names();
  world.crash = [&](const std::string& n) { return emulator.CrashNode(n); };
  world.revive = [&](const std::string& n) { return emulator.ReviveNode(n); };
  world.submit = [&](const shoal::SubmitRequest& s) -> shoal::Result<uint64_t> {
    shoal::Result<shoal::Json> r = client.Post("/api/v1/jobs", shoal::SubmitRequestToJson(s));
    if (!r.ok()) return r.status();
    return r->value("job_id", uint64_t{0});
  };
  LiveSimulation sim(options, std::move(world));
  char rate_text[64];
  std::snprintf(rate_text, sizeof rate_text, "%.3g/min", options.job_rate_per_min);
  std::printf("%s shoal sim live: %u nodes (%u cpus, %u gpus each), jobs at %s, failures %.3g-%.3g%%"
              " of nodes a minute, recovery %lld-%lld s; state in %s (export SHOAL_STATE_DIR=%s)\n",
              Clock().c_str(), nodes, cpus, gpus,
              options.job_rate_per_min > 0 ? rate_text : ("preset " + preset).c_str(),
              options.failure_pct_per_min.first, options.failure_pct_per_min.second,
              static_cast<long long>(options.recovery_s.first),
              static_cast<long long>(options.recovery_s.second), state_dir.c_str(), state_dir.c_str());
  std::fflush(stdout);
  const auto started = std::chrono::steady_clock::now();
  double last = 0, last_summary = 0;
  for (;;) {
    timespec tick{1, 0};
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) break;
    const double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    for (const std::string& e : sim.Step(now, now - last)) {
      std::printf("%s %s\n", Clock().c_str(), e.c_str());
    }
    last = now;
    // Report to the controller, and take the settings wanted there (the dashboard's controls).
    const auto& st = sim.stats();
    shoal::Json status = {{"elapsed_s", now},
                          {"job_rate_per_min", sim.JobRate(now)},
                          {"submitted", st.submitted},
                          {"submit_errors", st.submit_errors},
                          {"failures", st.failures},
                          {"recoveries", st.recoveries},
                          {"nodes", nodes},
                          {"nodes_up", emulator.registered()},
                          {"running_jobs", emulator.running_jobs()}};
    shoal::Result<shoal::Json> answer = client.Post(
        "/api/v1/sim/live/status",
        {{"settings", shoal::LiveSimSettingsToJson(sim.settings())}, {"status", status}});
    if (answer.ok() && answer->contains("settings")) {
      auto wanted = shoal::LiveSimSettingsFromJson((*answer)["settings"], sim.settings());
      if (wanted.ok() && sim.Apply(*wanted)) {
        std::printf("%s settings now: %s\n", Clock().c_str(),
                    shoal::LiveSimSettingsToJson(sim.settings()).dump().c_str());
      }
    }
    if (now - last_summary >= 60) {
      last_summary = now;
      std::printf("%s -- %.0f s: %llu jobs submitted, %llu node failures, %llu recoveries, "
                  "%zu of %u nodes up, %zu jobs running on them\n",
                  Clock().c_str(), now, static_cast<unsigned long long>(st.submitted),
                  static_cast<unsigned long long>(st.failures),
                  static_cast<unsigned long long>(st.recoveries), emulator.registered(), nodes,
                  emulator.running_jobs());
    }
    std::fflush(stdout);
    if (stop_after > 0 && now >= static_cast<double>(stop_after)) break;
  }
  emulator.Stop();
  const auto& st = sim.stats();
  std::printf("%s shoal sim live: stopped; %llu jobs submitted (%llu refused), %llu node failures\n",
              Clock().c_str(), static_cast<unsigned long long>(st.submitted),
              static_cast<unsigned long long>(st.submit_errors),
              static_cast<unsigned long long>(st.failures));
  RunShoal({"down", "--state-dir", state_dir});
  return 0;
}

}  // namespace

// shoal-emulator agents|live [OPTIONS]: the mode takes the place of the program's name.
int main(int argc, char** argv) {
  shoal::PrepareGrpcProcess();
  const std::string_view mode = argc >= 2 ? argv[1] : "";
  if (mode == "live") return LiveMain(argc - 1, argv + 1);
  if (mode == "agents") return AgentsMain(argc - 1, argv + 1);
  std::fprintf(stderr, "usage: shoal-emulator agents|live [OPTIONS] (shoal sim agents|live)\n");
  return 2;
}
