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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "api/server/http_server.h"
#include "controller/controller.h"
#include "controller/metrics_routes.h"

using namespace shoal;
using Clock = std::chrono::steady_clock;

namespace {

// A minimal keep-alive HTTP/1.1 client: one connection, Content-Length bodies.
class KeepAliveClient {
 public:
  explicit KeepAliveClient(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::abort();
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~KeepAliveClient() { close(fd_); }

  // Returns the body; aborts on anything but a 200.
  std::string Get(const std::string& path) {
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: bench\r\n\r\n";
    if (write(fd_, req.data(), req.size()) != static_cast<ssize_t>(req.size())) std::abort();
    size_t header_end;
    while ((header_end = buf_.find("\r\n\r\n")) == std::string::npos) Fill();
    const std::string head = buf_.substr(0, header_end);
    if (head.find(" 200 ") == std::string::npos) std::abort();
    size_t cl = head.find("Content-Length: ");
    if (cl == std::string::npos) std::abort();
    const size_t length = std::stoul(head.substr(cl + 16));
    while (buf_.size() < header_end + 4 + length) Fill();
    std::string body = buf_.substr(header_end + 4, length);
    buf_.erase(0, header_end + 4 + length);
    return body;
  }

 private:
  void Fill() {
    char chunk[65536];
    ssize_t n = read(fd_, chunk, sizeof chunk);
    if (n <= 0) std::abort();
    buf_.append(chunk, static_cast<size_t>(n));
  }
  int fd_;
  std::string buf_;
};

struct Stats {
  double p50_ms, p99_ms, max_ms;
};

template <typename Fn>
Stats Measure(int n, Fn fn) {
  std::vector<double> ms;
  ms.reserve(n);
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)], ms.back()};
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir =
      argc > 1 ? argv[1] : std::filesystem::temp_directory_path().string() + "/shoal-metrics-bench";
  const int nodes = argc > 2 ? std::atoi(argv[2]) : 1000;
  const int jobs = argc > 3 ? std::atoi(argv[3]) : 100000;
  const int requests = argc > 4 ? std::atoi(argv[4]) : 200;
  spdlog::set_level(spdlog::level::err);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  ControllerConfig config;
  config.max_job_count = static_cast<uint32_t>(jobs) + 1000;
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

  ControllerHttpHandler handler(controller);
  HttpServer http([&handler](const HttpRequest& r) { return handler.Handle(r); });
  if (!http.ListenTcp("127.0.0.1", 0).ok()) return 1;
  handler.SetSelfTarget("127.0.0.1:" + std::to_string(http.tcp_port()));
  KeepAliveClient client(http.tcp_port());

  // Wait for the scheduler to start what fits and for a snapshot that shows it.
  std::string text;
  for (int i = 0; i < 600; ++i) {
    text = client.Get("/metrics");
    const int running = std::min(jobs, nodes * 4);
    if (text.find("shoal_jobs{state=\"running\",partition=\"debug\"} " + std::to_string(running) +
                  "\n") != std::string::npos &&
        text.find("shoal_queue_length " + std::to_string(jobs - running) + "\n") !=
            std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
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
  http.Stop();
  stop = true;
  heartbeats.join();
  for (auto& s : sessions) s->Close();
  controller.Stop();
  std::filesystem::remove_all(dir);
  return metrics.p99_ms <= 10 ? 0 : 1;
}
