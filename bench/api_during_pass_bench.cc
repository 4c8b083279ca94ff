// Does a scheduling pass block the API? With 1,000 full nodes and 100,000 pending jobs a pass
// costs tens of milliseconds. A submitter keeps passes coming (one submission every 20 ms, each
// triggering a pass) while a second keep-alive client looks jobs up and lists the running ones
// as fast as it can. Printed next to each other, from the same run: the latency of those reads
// and of the submissions, the floor (GET /api/v1/health, which takes no lock), and the mean
// pass (from the controller's own histogram). A read that waited for a pass would take at
// least what the pass takes.
//
// usage: api_during_pass_bench [SCRATCH_DIR] [NODES] [JOBS] [SECONDS]
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "in_process_cluster.h"

using namespace shoal;
using namespace shoal::bench;

namespace {

// The value of the sample line `name` in Prometheus text, or -1.
double Sample(const std::string& text, const std::string& name) {
  size_t p = text.find("\n" + name + " ");
  if (p == std::string::npos) return -1;
  return std::strtod(text.c_str() + p + name.size() + 2, nullptr);
}

void Print(const char* what, const Stats& s) {
  std::printf("%-44s n %6zu  p50 %7.3f ms  p99 %7.3f ms  max %7.3f ms\n", what, s.count,
              s.p50_ms, s.p99_ms, s.max_ms);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1]
                                   : std::filesystem::temp_directory_path().string() +
                                         "/shoal-api-during-pass-bench";
  const int nodes = argc > 2 ? std::atoi(argv[2]) : 1000;
  const int jobs = argc > 3 ? std::atoi(argv[3]) : 100000;
  const double seconds = argc > 4 ? std::atof(argv[4]) : 5;
  spdlog::set_level(spdlog::level::err);

  InProcessCluster cluster(dir, nodes, static_cast<uint32_t>(jobs) + 100000);
  cluster.SubmitArrays(jobs);
  KeepAliveClient reader(cluster.port(), cluster.token());
  cluster.AwaitScheduled(reader, jobs);
  const std::string before = reader.Get("/metrics");

  std::atomic<bool> stop{false};
  std::vector<double> submit_ms;
  std::thread submitter([&] {
    KeepAliveClient client(cluster.port(), cluster.token());
    const std::string body =
        R"({"script":"#!/bin/sh\ntrue\n","job":{"name":"probe","user":"bench","work_dir":"/tmp"}})";
    while (!stop) {
      auto t0 = Clock::now();
      client.Post("/api/v1/jobs", body);
      submit_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::vector<double> lookup_ms, list_ms, health_ms;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  for (uint64_t i = 0; Clock::now() < end; ++i) {
    auto timed = [&](std::vector<double>& into, const std::string& path) {
      auto t0 = Clock::now();
      reader.Get(path);
      into.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    };
    timed(lookup_ms, "/api/v1/jobs/" + std::to_string(1 + i % jobs));
    timed(health_ms, "/api/v1/health");
    if (i % 20 == 0) timed(list_ms, "/api/v1/jobs?states=R&fields=job_id,state,nodes");
  }
  stop = true;
  submitter.join();
  const std::string after = reader.Get("/metrics");
  const double passes = Sample(after, "shoal_scheduler_pass_duration_seconds_count") -
                        Sample(before, "shoal_scheduler_pass_duration_seconds_count");
  const double pass_s = Sample(after, "shoal_scheduler_pass_duration_seconds_sum") -
                        Sample(before, "shoal_scheduler_pass_duration_seconds_sum");

  std::printf("%d nodes (4 CPUs each, all busy), %d jobs queued, %.0f s of reads\n", nodes, jobs,
              seconds);
  std::printf("scheduling passes meanwhile: %.0f, mean %.2f ms\n", passes,
              passes > 0 ? pass_s * 1000 / passes : 0.0);
  Print("GET /api/v1/jobs/{id}", Summarize(lookup_ms));
  Print("GET /api/v1/jobs?states=R (4,000 rows)", Summarize(list_ms));
  Print("POST /api/v1/jobs (durable)", Summarize(submit_ms));
  Print("baseline GET /api/v1/health (no lock)", Summarize(health_ms));
  return 0;
}
