// The dashboard's data routes and its event stream at 1,000 nodes and 10,000 visible jobs (4,000
// running, 6,000 pending), from keep-alive connections, next to a baseline measured in the same
// run: GET /api/v1/health on the same connection (the HTTP round-trip floor). Then, with more
// event streams open than the HTTP server has threads (some of them never reading, as a stalled
// browser tab), the same requests again, and the time from a submission to its "job" event at
// every reading stream.
//
// The controller runs in process with a real SQLite store and the real HTTP server; the 1,000
// agents are in-process sessions, as in metrics_bench.
//
// usage: dashboard_bench [SCRATCH_DIR] [NODES] [JOBS] [REQUESTS] [STREAMS] [STALLED]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/server/http_server.h"
#include "controller/cluster_events.h"
#include "controller/controller.h"
#include "controller/dashboard_routes.h"
#include "controller/metrics_routes.h"
#include "in_process_cluster.h"

using namespace shoal;
using namespace shoal::bench;

namespace {

// Opens GET /api/v1/events and returns the socket (the response is read by the caller).
int OpenStream(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::abort();
  // A small receive buffer, so a stream that is not read backs up into the server quickly.
  std::string req = "GET /api/v1/events HTTP/1.1\r\nHost: bench\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) std::abort();
  return fd;
}

void Print(const char* what, const Stats& s) {
  std::printf("  %-48s p50 %8.3f ms  p99 %8.3f ms  max %8.3f ms\n", what, s.p50_ms, s.p99_ms,
              s.max_ms);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir =
      argc > 1 ? argv[1]
               : std::filesystem::temp_directory_path().string() + "/shoal-dashboard-bench";
  const int nodes = argc > 2 ? std::atoi(argv[2]) : 1000;
  const int jobs = argc > 3 ? std::atoi(argv[3]) : 10000;
  const int requests = argc > 4 ? std::atoi(argv[4]) : 100;
  const int streams = argc > 5 ? std::atoi(argv[5]) : 40;
  const int stalled = argc > 6 ? std::atoi(argv[6]) : 8;
  spdlog::set_level(spdlog::level::err);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  ControllerConfig config;
  config.max_job_count = static_cast<uint32_t>(jobs) + 1000;
  config.api_rate_limit = 0;  // measure the API, not the limiter
  auto store = OpenSqliteStore(dir + "/shoal.db");
  if (!store.ok()) return 1;
  Controller controller(config, std::move(store).value(), dir + "/ctl.sock");
  if (!controller.Start().ok()) return 1;

  // Nodes: in-process agent sessions, 4 CPUs each.
  std::vector<std::shared_ptr<AgentSession>> sessions;
  for (int i = 1; i <= nodes; ++i) {
    rpc::Register reg;
    reg.set_node_name("n" + std::to_string(i));
    reg.set_hostname("n" + std::to_string(i));
    reg.set_cpus(4);
    reg.set_memory_mb(16384);
    reg.set_metrics_address("10.0.0." + std::to_string(i % 250) + ":9477");
    rpc::RegisterReply reply;
    auto s = controller.RegisterAgent(reg, reply);
    if (!s.ok()) return 1;
    sessions.push_back(*s);
  }
  // The nodes heartbeat, as live agents do, so none is declared down during the run.
  std::atomic<bool> stop{false};
  std::thread heartbeats([&] {
    while (!stop) {
      for (auto& s : sessions) {
        rpc::AgentMessage hb;
        hb.mutable_heartbeat()->set_time(NowSeconds());
        controller.OnAgentMessage(s, hb);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  });
  // Jobs: arrays of 1,000 tasks (one transaction each); the first 4,000 fill the nodes and run,
  // the rest wait.
  auto t0 = Clock::now();
  for (int submitted = 0; submitted < jobs;) {
    const int n = std::min(1000, jobs - submitted);
    SubmitRequest r;
    r.req.name = "bench";
    r.req.user = "bench";
    r.req.work_dir = "/tmp";
    r.req.array_spec = "0-" + std::to_string(n - 1);
    r.script = "#!/bin/sh\nsleep 1000\n";
    if (!controller.Submit(r, NowSeconds()).ok()) return 1;
    submitted += n;
  }
  const double submit_s = std::chrono::duration<double>(Clock::now() - t0).count();

  ClusterEvents events;
  controller.metrics().SetListener(&events);
  DashboardRoutes dashboard(controller, events);
  ControllerHttpHandler handler(controller);
  handler.SetDashboard(&dashboard);
  HttpServer http([&handler](const HttpRequest& r) { return handler.Handle(r); });
  if (!http.ListenTcp("127.0.0.1", 0).ok()) return 1;
  KeepAliveClient client(http.tcp_port(), BenchToken(handler));

  // Wait until the scheduler has started what fits.
  const int running = std::min(jobs, nodes * 4);
  for (int i = 0; i < 600; ++i) {
    if (client.Get("/api/v1/jobs?states=RUNNING&fields=job_id").size() >
        static_cast<size_t>(running) * 3) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::string fields =
      "/api/v1/jobs?fields=job_id,array_job_id,array_task_id,state,reason,submit_time,start_time,"
      "end_time,nodes,alloc_cpus,exit_code,request.name,request.user,request.partition,"
      "request.time_limit_s";
  std::printf("setup: %d nodes, %d jobs (%d running) submitted in %.1f s\n", nodes, jobs, running,
              submit_s);
  std::printf("sizes: nodes %zu bytes, jobs table %zu bytes, history %zu bytes\n",
              client.Get("/api/v1/nodes?with=partitions").size(), client.Get(fields).size(),
              client.Get("/api/v1/stats/history").size());

  auto routes = [&](const char* title) {
    std::printf("%s\n", title);
    Stats health = Measure(requests, [&] { client.Get("/api/v1/health"); });
    Print("baseline GET /api/v1/health", health);
    Stats n = Measure(requests, [&] { client.Get("/api/v1/nodes?with=partitions"); });
    Print("GET /api/v1/nodes?with=partitions", n);
    Stats j = Measure(std::max(10, requests / 5), [&] { client.Get(fields); });
    Print("GET /api/v1/jobs?fields=<the table's 15>", j);
    Print("GET /api/v1/stats/history",
          Measure(requests, [&] { client.Get("/api/v1/stats/history"); }));
    Print("GET /api/v1/events/timeline",
          Measure(requests, [&] { client.Get("/api/v1/events/timeline"); }));
    Print("GET / (the page)", Measure(requests, [&] { client.Get("/"); }));
    return std::make_pair(health, j);
  };
  auto before = routes("no event streams open:");

  // Event streams: `streams` read by one poll loop, `stalled` never read.
  std::vector<int> readers, idle;
  for (int i = 0; i < streams; ++i) readers.push_back(OpenStream(http.tcp_port()));
  for (int i = 0; i < stalled; ++i) {
    int fd = OpenStream(http.tcp_port());
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    idle.push_back(fd);
  }
  std::atomic<bool> reading{true};
  std::mutex mu;
  std::string marker;  // what the current probe waits for
  std::vector<Clock::time_point> seen(readers.size());
  std::vector<std::string> tails(readers.size());
  std::thread reader([&] {
    std::vector<pollfd> pfds;
    for (int fd : readers) pfds.push_back({fd, POLLIN, 0});
    char buf[65536];
    while (reading) {
      if (poll(pfds.data(), pfds.size(), 50) <= 0) continue;
      for (size_t i = 0; i < pfds.size(); ++i) {
        if (!(pfds[i].revents & POLLIN)) continue;
        ssize_t n = read(pfds[i].fd, buf, sizeof buf);
        if (n <= 0) continue;
        std::lock_guard<std::mutex> lock(mu);
        tails[i].append(buf, static_cast<size_t>(n));
        if (!marker.empty() && tails[i].find(marker) != std::string::npos &&
            seen[i] == Clock::time_point()) {
          seen[i] = Clock::now();
        }
        if (tails[i].size() > 4096) tails[i].erase(0, tails[i].size() - 512);
      }
    }
  });
  for (int i = 0; i < 100 && events.streams() < static_cast<size_t>(streams + stalled); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::printf("event streams open: %zu (%d reading, %d never read); HTTP server threads: 16\n",
              events.streams(), streams, stalled);

  // Submission -> "job" event at the slowest reading stream.
  std::vector<double> delivery;
  for (int i = 0; i < 50; ++i) {
    SubmitRequest r;
    r.req.name = "probe";
    r.req.user = "bench";
    r.req.work_dir = "/tmp";
    r.script = "#!/bin/sh\nsleep 1000\n";
    {
      std::lock_guard<std::mutex> lock(mu);
      std::fill(seen.begin(), seen.end(), Clock::time_point());
      for (auto& t : tails) t.clear();
      marker = "\"job_id\":" + std::to_string(jobs + 1 + i) + ",\"state\":\"PENDING\"";
    }
    const auto t0 = Clock::now();
    auto id = controller.Submit(r, NowSeconds());
    if (!id.ok()) return 1;
    Clock::time_point last;
    for (int k = 0; k < 400; ++k) {
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      std::lock_guard<std::mutex> lock(mu);
      bool all = true;
      for (auto& s : seen) all = all && s != Clock::time_point();
      if (all) {
        last = *std::max_element(seen.begin(), seen.end());
        break;
      }
    }
    if (last == Clock::time_point()) {
      std::printf("job %lu: not delivered to every stream within 200 ms\n",
                  static_cast<unsigned long>(*id));
      delivery.push_back(200);
    } else {
      delivery.push_back(std::chrono::duration<double, std::milli>(last - t0).count());
    }
  }
  std::sort(delivery.begin(), delivery.end());
  std::printf("submission -> its job event at all %d reading streams (50 probes):\n", streams);
  Print("", {delivery[delivery.size() / 2], delivery[delivery.size() * 99 / 100], delivery.back()});
  auto after = routes("with the streams open:");
  std::printf("ratio with/without streams: health p50 %.2fx, jobs table p50 %.2fx\n",
              after.first.p50_ms / before.first.p50_ms, after.second.p50_ms / before.second.p50_ms);

  reading = false;
  reader.join();
  for (int fd : readers) close(fd);
  for (int fd : idle) close(fd);
  events.Close();
  http.Stop();
  stop = true;
  heartbeats.join();
  for (auto& s : sessions) s->Close();
  controller.Stop();
  controller.metrics().SetListener(nullptr);
  std::filesystem::remove_all(dir);
  return 0;
}
