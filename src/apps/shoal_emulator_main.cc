// shoal-emulator (`shoal sim agents`): N emulated nodes in one process on the real agent
// protocol, for scale measurements and tests without N real agents.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "api/client.h"
#include "apps/cluster_processes.h"
#include "common/strings.h"
#include "emulator/emulator.h"

namespace {

using shoal::emulator::Emulator;
using shoal::emulator::JobTime;
using shoal::emulator::NodeConfig;

// Thousands of connections need thousands of descriptors.
void RaiseFileLimit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Emulated nodes on the real agent protocol (shoal sim agents)"};
  app.name("shoal sim agents");
  unsigned count = 10, cpus = 4, gpus = 0, first = 1;
  uint64_t memory_mb = 16384;
  std::string prefix = "emu", job_time = "real", controller, state_dir = shoal::DefaultStateDir();
  std::string fail_mode = "crash";
  unsigned fail = 0, fail_after = 0, revive_after = 0;
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
  app.add_option("--fail", fail, "nodes to fail at once on SIGUSR1 or after --fail-after");
  app.add_option("--fail-after", fail_after, "seconds after start to fail --fail nodes");
  app.add_option("--fail-mode", fail_mode, "crash (jobs lost, stream cut) or freeze (silent)")
      ->check(CLI::IsMember({"crash", "freeze"}))
      ->capture_default_str();
  app.add_option("--revive-after", revive_after,
                 "seconds after a failure to bring the failed nodes back (SIGUSR2 does it too)");
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
  RaiseFileLimit();

  Emulator::Options options;
  options.controller = controller;
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
  spdlog::info("stopped after {:.1f} s", seconds());
  return 0;
}
