// What the in-process controller benchmarks share: a controller with a real SQLite store and
// the real HTTP server, nodes as in-process agent sessions that heartbeat (starting 1,000 agent
// processes on a benchmark host is impractical), jobs submitted as arrays, and a keep-alive
// HTTP client with latency statistics.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/server/http_server.h"
#include "controller/controller.h"
#include "controller/metrics_routes.h"
#include "security/crypto.h"
#include "security/jwt.h"

namespace shoal::bench {

using Clock = std::chrono::steady_clock;

// A minimal keep-alive HTTP/1.1 client: one connection, Content-Length bodies.
class KeepAliveClient {
 public:
  // `token`: sent as a Bearer token (the API refuses changes from anonymous TCP callers).
  explicit KeepAliveClient(uint16_t port, std::string token = "") : token_(std::move(token)) {
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
  KeepAliveClient(const KeepAliveClient&) = delete;
  KeepAliveClient& operator=(const KeepAliveClient&) = delete;

  // Return the body; abort on any status but 2xx.
  std::string Get(const std::string& path) { return Call("GET " + path, ""); }
  std::string Post(const std::string& path, const std::string& body) {
    return Call("POST " + path, body);
  }

 private:
  std::string Call(const std::string& method_path, const std::string& body) {
    std::string req = method_path + " HTTP/1.1\r\nHost: bench\r\n";
    if (!token_.empty()) req += "Authorization: Bearer " + token_ + "\r\n";
    if (!body.empty()) {
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n";
    }
    req += "\r\n" + body;
    if (write(fd_, req.data(), req.size()) != static_cast<ssize_t>(req.size())) std::abort();
    size_t header_end;
    while ((header_end = buf_.find("\r\n\r\n")) == std::string::npos) Fill();
    const std::string head = buf_.substr(0, header_end);
    if (head.compare(0, 10, "HTTP/1.1 2") != 0) std::abort();
    size_t cl = head.find("Content-Length: ");
    if (cl == std::string::npos) std::abort();
    const size_t length = std::stoul(head.substr(cl + 16));
    while (buf_.size() < header_end + 4 + length) Fill();
    std::string answer = buf_.substr(header_end + 4, length);
    buf_.erase(0, header_end + 4 + length);
    return answer;
  }
  void Fill() {
    char chunk[65536];
    ssize_t n = read(fd_, chunk, sizeof chunk);
    if (n <= 0) std::abort();
    buf_.append(chunk, static_cast<size_t>(n));
  }
  int fd_;
  std::string token_;
  std::string buf_;
};

// A root token signed under a fresh key, and the handler set to check it.
inline std::string BenchToken(ControllerHttpHandler& handler) {
  const std::string key = security::RandomBytes(32);
  handler.SetTokenKey(key);
  return security::SignJwt({"root", 0, NowSeconds(), NowSeconds() + 86400}, key);
}

struct Stats {
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  size_t count = 0;
};

inline Stats Summarize(std::vector<double> ms) {
  if (ms.empty()) return {};
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)], ms.back(),
          ms.size()};
}

// Runs `fn` n times and summarizes each run's wall time.
template <typename Fn>
Stats Measure(int n, Fn fn) {
  std::vector<double> ms;
  ms.reserve(n);
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return Summarize(std::move(ms));
}

// A controller in this process with `nodes` registered nodes of 4 CPUs that heartbeat every
// 500 ms, serving its HTTP API on a loopback port.
class InProcessCluster {
 public:
  InProcessCluster(const std::string& dir, int nodes, uint32_t max_jobs) : dir_(dir) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ControllerConfig config;
    config.max_job_count = max_jobs;
    config.api_rate_limit = 0;  // measure the API, not the limiter
    auto store = OpenSqliteStore(dir_ + "/shoal.db");
    if (!store.ok()) std::abort();
    controller_ = std::make_unique<Controller>(config, std::move(store).value(),
                                               dir_ + "/ctl.sock");
    if (!controller_->Start().ok()) std::abort();
    for (int i = 1; i <= nodes; ++i) {
      rpc::Register reg;
      reg.set_node_name("n" + std::to_string(i));
      reg.set_hostname("n" + std::to_string(i));
      reg.set_cpus(4);
      reg.set_memory_mb(16384);
      reg.set_metrics_address("10.0.0." + std::to_string(i % 250) + ":9477");
      rpc::RegisterReply reply;
      auto s = controller_->RegisterAgent(reg, reply);
      if (!s.ok()) std::abort();
      sessions_.push_back(*s);
    }
    // As live agents do, so that no node is declared down during a run.
    heartbeats_ = std::thread([this] {
      while (!stop_) {
        for (auto& s : sessions_) {
          rpc::AgentMessage hb;
          hb.mutable_heartbeat()->set_time(NowSeconds());
          controller_->OnAgentMessage(s, hb);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
    });
    handler_ = std::make_unique<ControllerHttpHandler>(*controller_);
    token_ = BenchToken(*handler_);
    http_ = std::make_unique<HttpServer>(
        [this](const HttpRequest& r) { return handler_->Handle(r); });
    if (!http_->ListenTcp("127.0.0.1", 0).ok()) std::abort();
    handler_->SetSelfTarget("127.0.0.1:" + std::to_string(http_->tcp_port()));
  }

  ~InProcessCluster() {
    http_->Stop();
    stop_ = true;
    heartbeats_.join();
    for (auto& s : sessions_) s->Close();
    controller_->Stop();
    std::filesystem::remove_all(dir_);
  }

  // Submits `jobs` long-running jobs as arrays of 1,000 tasks (one transaction each); returns
  // the seconds it took.
  double SubmitArrays(int jobs) {
    auto t0 = Clock::now();
    for (int submitted = 0; submitted < jobs;) {
      const int n = std::min(1000, jobs - submitted);
      SubmitRequest r;
      r.req.name = "bench";
      r.req.user = "bench";
      r.req.work_dir = "/tmp";
      r.req.array_spec = "0-" + std::to_string(n - 1);
      r.script = "#!/bin/sh\nsleep 1000\n";
      if (!controller_->Submit(r, NowSeconds()).ok()) std::abort();
      submitted += n;
    }
    return std::chrono::duration<double>(Clock::now() - t0).count();
  }

  // Waits until the scheduler has started what fits of `jobs` (4 per node) and /metrics shows
  // it; returns that /metrics text.
  std::string AwaitScheduled(KeepAliveClient& client, int jobs) {
    const int running = std::min(jobs, static_cast<int>(sessions_.size()) * 4);
    std::string text;
    for (int i = 0; i < 600; ++i) {
      text = client.Get("/metrics");
      if (text.find("shoal_jobs{state=\"running\",partition=\"debug\"} " +
                    std::to_string(running) + "\n") != std::string::npos &&
          text.find("shoal_queue_length " + std::to_string(jobs - running) + "\n") !=
              std::string::npos) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return text;
  }

  Controller& controller() { return *controller_; }
  uint16_t port() const { return http_->tcp_port(); }
  // A root token for KeepAliveClient.
  const std::string& token() const { return token_; }

 private:
  std::string dir_;
  std::unique_ptr<Controller> controller_;
  std::vector<std::shared_ptr<AgentSession>> sessions_;
  std::atomic<bool> stop_{false};
  std::thread heartbeats_;
  std::unique_ptr<ControllerHttpHandler> handler_;
  std::string token_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace shoal::bench
