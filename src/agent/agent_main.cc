// shoal-agent: the node daemon (see agent.h). Thin: parse options, take the state directory's
// lock, daemonize when asked (--daemonize), set up logging, run the Agent until SIGTERM/SIGINT.
// Jobs are never killed on exit: a restarted agent reattaches to them.
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <limits.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include "agent/agent.h"
#include "agent/agent_options.h"
#include "agent/join.h"
#include "agent/job_files.h"
#include "agent/node_metrics.h"
#include "metrics/metrics.h"
#include "api/server/http_server.h"
#include "rpc/grpc_process.h"
#include "security/cluster_ca.h"

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "shoal-agent: %s\n", message.c_str());
  return 1;
}

// The directory of this executable, where shoal-supervisor is installed too.
std::string OwnDir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  return path.substr(0, path.find_last_of('/'));
}

// Forks into the background before any thread exists. The parent exits 0 at once.
bool Daemonize() {
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid > 0) _exit(0);
  setsid();
  int null_fd = open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
    if (null_fd > 2) close(null_fd);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  shoal::PrepareGrpcProcess();
  // `shoal join` runs here: it needs gRPC, which the lean `shoal` does not link.
  if (argc >= 2 && std::string_view(argv[1]) == "join") {
    return shoal::agent::JoinMain(argc - 1, argv + 1);
  }
  using shoal::agent::AgentOptions;
  shoal::Result<AgentOptions> parsed = shoal::agent::ParseAgentOptions(argc, argv);
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s\n%s", parsed.status().message().c_str(),
                 shoal::agent::AgentUsage().c_str());
    return 2;
  }
  AgentOptions options = std::move(parsed).value();
  if (options.help) {
    std::fputs(shoal::agent::AgentUsage().c_str(), stdout);
    return 0;
  }

  // Without the cluster's CA and key the controller would refuse us: better not to start.
  shoal::Result<shoal::security::AgentMaterial> material =
      shoal::security::LoadAgentMaterial(options.tls_ca_file, options.cluster_key_file);
  if (!material.ok()) return Fail(material.status().message());
  options.tls_ca_pem = material->ca_pem;
  options.cluster_key = material->cluster_key;

  std::error_code ec;
  std::filesystem::create_directories(options.state_dir, ec);
  if (ec || !std::filesystem::is_directory(options.state_dir)) {
    return Fail("cannot use state directory " + options.state_dir +
                (ec ? ": " + ec.message() : ": not a directory"));
  }
  // Absolute but not resolved: supervisors' command lines then name the directory as the user
  // gave it (`shoal down` looks for them by it).
  std::string state = std::filesystem::absolute(options.state_dir).lexically_normal().string();
  while (state.size() > 1 && state.back() == '/') state.pop_back();
  options.state_dir = state;

  // One agent per state directory: two would both claim the same jobs.
  std::string lock_path = options.state_dir + "/agent.lock";
  int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return Fail("cannot open " + lock_path + ": " + std::strerror(errno));
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return Fail("another agent is already using " + options.state_dir);
  }

  std::string supervisor = OwnDir() + "/" + shoal::agent::kSupervisorExeName;
  if (access(supervisor.c_str(), X_OK) != 0) {
    return Fail("cannot run " + supervisor + ": " + std::strerror(errno));
  }

  if (options.daemonize) {
    if (options.log.file.empty()) options.log.file = options.state_dir + "/agent.log";
    if (!Daemonize()) return Fail(std::string("fork: ") + std::strerror(errno));
  }
  shoal::agent::WriteFileAtomic(options.state_dir + "/agent.pid", std::to_string(getpid()) + "\n");

  if (shoal::Status s = shoal::InstallLogger(options.log); !s.ok()) return Fail(s.message());

  // Block the stop signals before any thread starts so only the waiter below sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Prometheus /metrics, listening before the agent registers so that it can say where.
  std::atomic<shoal::agent::Agent*> running_agent{nullptr};
  std::string gpu_note;
  // Emulated GPUs follow the jobs that hold them.
  auto gpus_busy = [&running_agent, gpus = options.gpus] {
    std::vector<bool> busy(gpus, false);
    shoal::agent::Agent* a = running_agent.load();
    if (a == nullptr) return busy;
    for (const shoal::agent::RunningJobInfo& j : a->RunningJobs()) {
      for (uint32_t g : j.gpu_indices) {
        if (g < busy.size()) busy[g] = true;
      }
    }
    return busy;
  };
  shoal::agent::NodeMetrics node_metrics(
      {options.node_name, options.cpus, options.memory_mb},
      shoal::agent::CreateGpuMonitor(options.gpus, options.gpu_type, &gpu_note, "libnvidia-ml.so.1",
                                     gpus_busy),
      [&running_agent] {
        shoal::agent::Agent* a = running_agent.load();
        return a != nullptr ? a->RunningJobs() : std::vector<shoal::agent::RunningJobInfo>{};
      });
  spdlog::info("{}", gpu_note);
  shoal::HttpServer metrics_server(
      [&node_metrics](const shoal::HttpRequest& r) -> shoal::HttpResponse {
        auto error = [](int status, const char* code, const std::string& message) {
          nlohmann::json e = {{"error", {{"code", code}, {"message", message}}}};
          return shoal::HttpResponse{status, e.dump()};
        };
        if (r.path != "/metrics" && r.path != "/metrics/") {
          return error(404, "NOT_FOUND",
                       "no such route: " + r.path + " (an agent serves /metrics)");
        }
        if (r.method != "GET" && r.method != "HEAD") {
          return error(405, "INVALID_ARGUMENT", "only GET is allowed on /metrics");
        }
        return {200, node_metrics.Render(), shoal::metrics::kContentType};
      },
      /*threads=*/2);
  if (shoal::Status st = metrics_server.ListenTcp(options.metrics_address, options.metrics_port);
      !st.ok()) {
    return Fail("cannot serve metrics: " + st.message());
  }
  std::string metrics_host = options.metrics_address;
  if (metrics_host == "0.0.0.0") {
    char host[256] = {};
    metrics_host = !options.address.empty()                   ? options.address
                   : gethostname(host, sizeof host - 1) == 0 ? host
                                                              : "localhost";
  }
  options.metrics_endpoint = metrics_host + ":" + std::to_string(metrics_server.tcp_port());
  spdlog::info("metrics on http://{}/metrics", options.metrics_endpoint);

  shoal::agent::Agent agent(options, supervisor);
  agent.SetGpuReader([&node_metrics] { return node_metrics.SampleGpus(); });
  running_agent = &agent;
  std::atomic<bool> finished{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop, &sig);
    if (!finished) spdlog::info("got signal {}, stopping", sig);
    agent.Shutdown();
  });
  int rc = agent.Run();
  running_agent = nullptr;
  metrics_server.Stop();
  // Wake the waiter if Run() ended on its own (refused registration).
  finished = true;
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  spdlog::shutdown();
  return rc;
}
