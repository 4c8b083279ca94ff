// Latency of the controller's GET /metrics with 1,000 nodes and 100,000 jobs, from one
// persistent (keep-alive) HTTP connection, next to two baselines measured in the same run:
// GET /api/v1/health on the same connection (the HTTP round-trip floor), and one walk over the
// live jobs under the controller's lock (what /metrics would cost if it counted the jobs at
// scrape time instead of reading the snapshot the scheduler thread takes).
//
// The controller runs in process with a real SQLite store and the real HTTP server; the 1,000
// agents are in-process sessions (RegisterAgent), not processes: starting 1,000 agent
// processes on a benchmark host is impractical, and /metrics does not touch them.
//
// usage: metrics_bench [SCRATCH_DIR] [NODES] [JOBS] [REQUESTS]
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "in_process_cluster.h"

using namespace shoal;
using namespace shoal::bench;

int main(int argc, char** argv) {
  const std::string dir =
      argc > 1 ? argv[1] : std::filesystem::temp_directory_path().string() + "/shoal-metrics-bench";
  const int nodes = argc > 2 ? std::atoi(argv[2]) : 1000;
  const int jobs = argc > 3 ? std::atoi(argv[3]) : 100000;
  const int requests = argc > 4 ? std::atoi(argv[4]) : 200;
  spdlog::set_level(spdlog::level::err);

  InProcessCluster cluster(dir, nodes, static_cast<uint32_t>(jobs) + 1000);
  Controller& controller = cluster.controller();
  // The first 4,000 fill the nodes and run, the rest wait.
  const double submit_s = cluster.SubmitArrays(jobs);
  KeepAliveClient client(cluster.port(), cluster.token());

  std::string text = cluster.AwaitScheduled(client, jobs);
  auto line = [&](const std::string& prefix) {
    size_t p = text.find("\n" + prefix);
    return p == std::string::npos ? std::string("(missing)")
                                  : text.substr(p + 1, text.find('\n', p + 1) - p - 1);
  };
  std::printf("setup: %d nodes, %d jobs submitted in %.1f s; %s; %s\n", nodes, jobs, submit_s,
              line("shoal_jobs{state=\"running\"").c_str(), line("shoal_queue_length").c_str());

  for (int i = 0; i < 20; ++i) client.Get("/metrics");  // warm up
  size_t bytes = 0;
  Stats metrics = Measure(requests, [&] { bytes = client.Get("/metrics").size(); });
  Stats health = Measure(requests, [&] { client.Get("/api/v1/health"); });
  Stats targets = Measure(requests, [&] { client.Get("/api/v1/prometheus/targets"); });
  JobFilter live;
  live.states = {JobState::kPending, JobState::kRunning};
  size_t counted = 0;
  Stats walk = Measure(std::max(10, requests / 10), [&] {
    counted = 0;
    controller.ForEachJob(live, [&](const Job& j) { counted += j.state == JobState::kPending; });
  });

  std::printf("GET /metrics (%zu bytes), keep-alive: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
              bytes, metrics.p50_ms, metrics.p99_ms, metrics.max_ms);
  std::printf("baseline GET /api/v1/health, same connection: p50 %.3f ms, p99 %.3f ms\n",
              health.p50_ms, health.p99_ms);
  std::printf("GET /api/v1/prometheus/targets (%d agents): p50 %.3f ms, p99 %.3f ms\n", nodes,
              targets.p50_ms, targets.p99_ms);
  std::printf(
      "one walk over the %zu pending of the live jobs under the lock (what counting at "
      "scrape time would cost): p50 %.3f ms\n",
      counted, walk.p50_ms);
  std::printf(
      "ratio: /metrics p50 is %.1fx the health round trip; a walk per scrape would be "
      "%.1fx /metrics\n",
      metrics.p50_ms / health.p50_ms, walk.p50_ms / metrics.p50_ms);
  return metrics.p99_ms <= 10 ? 0 : 1;
}
