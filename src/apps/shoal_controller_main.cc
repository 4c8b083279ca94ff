// shoal-controller: the controller daemon (`shoal controller` execs it). Keeps jobs, nodes and
// partitions; serves the public API on a Unix socket and TCP, and agents over gRPC.
#include <grpcpp/grpcpp.h>
#include <malloc.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "api/client.h"
#include "common/file_limit.h"
#include "common/strings.h"
#include "controller/agent_service.h"
#include "controller/api_routes.h"
#include "controller/cluster_events.h"
#include "controller/controller.h"
#include "controller/dashboard_routes.h"
#include "controller/join_tokens.h"
#include "controller/metrics_routes.h"
#include "controller/webhooks.h"
#include "log/logging.h"
#include "rpc/agent_channel.h"
#include "rpc/grpc_process.h"
#include "security/cluster_ca.h"
#include "security/jwt.h"
#include "store/postgres_store.h"

namespace fs = std::filesystem;
using namespace shoal;

namespace {

bool SplitHostPort(const std::string& text, std::string& host, uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  host = text.substr(0, colon);
  try {
    int p = std::stoi(text.substr(colon + 1));
    if (p < 0 || p > 65535) return false;
    port = static_cast<uint16_t>(p);
  } catch (...) {
    return false;
  }
  return !host.empty();
}

bool IsWildcard(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
}

// The agent channel's files: the config's, else the state directory's. Fills the config's
// fields with the paths in force (scontrol show config shows them).
security::ClusterMaterialPaths ResolveMaterialPaths(ControllerConfig& config,
                                                   const std::string& state_dir) {
  security::ClusterMaterialPaths paths = security::DefaultClusterMaterialPaths(state_dir);
  if (!config.tls_ca_file.empty()) paths.ca_cert = config.tls_ca_file;
  if (!config.tls_cert_file.empty()) paths.cert = config.tls_cert_file;
  if (!config.tls_key_file.empty()) paths.key = config.tls_key_file;
  if (!config.cluster_key_file.empty()) paths.cluster_key = config.cluster_key_file;
  // The CA key sits beside the CA certificate.
  if (!config.tls_ca_file.empty()) {
    paths.ca_key = fs::path(paths.ca_cert).replace_extension(".key").string();
  }
  config.tls_ca_file = paths.ca_cert;
  config.tls_cert_file = paths.cert;
  config.tls_key_file = paths.key;
  config.cluster_key_file = paths.cluster_key;
  return paths;
}

// Creates the cluster CA, the controller's certificate and the cluster key where missing (never
// replacing a file). The certificate covers localhost, TLSCertNames, the agent listen address,
// and, as agents may dial any of them, this host's name and addresses.
Status CreateMissingMaterial(const security::ClusterMaterialPaths& paths,
                             const ControllerConfig& config, const std::string& agent_host) {
  security::CertificateOptions options;
  options.cluster_name = config.cluster_name;
  options.names = config.tls_cert_names;
  if (!IsWildcard(agent_host)) options.names.push_back(agent_host);
  for (const std::string& n : security::LocalHostNamesAndAddresses()) options.names.push_back(n);
  Result<std::vector<std::string>> created = security::EnsureClusterMaterial(paths, options);
  if (!created.ok()) return created.status();
  for (const std::string& f : *created) spdlog::info("created {}", f);
  return Status::Ok();
}

// The exit status of a controller that stops leading (fenced by a newer lease epoch, the lease
// taken over, or not renewed in time): systemd's Restart= brings it back as a standby.
constexpr int kExitSteppedDown = 75;  // EX_TEMPFAIL

[[noreturn]] void StepDown(const std::string& why) {
  spdlog::critical("stepping down as leader: {}; exiting (status {}) to come back as a standby",
                   why, kExitSteppedDown);
  spdlog::default_logger()->flush();
  std::fprintf(stderr, "shoal-controller: stepping down as leader: %s\n", why.c_str());
  _exit(kExitSteppedDown);
}

// What a standby answers every API request with: 503, naming itself and the leader (as the
// lease row has it), so that clients move on to the next address.
class StandbyAnswer {
 public:
  explicit StandbyAnswer(std::string name) : name_(std::move(name)) { Set(LeaseState{}); }
  void Set(const LeaseState& lease) {
    Json standby = {{"name", name_}, {"epoch", lease.epoch}};
    std::string message = "controller " + name_ + " is a standby";
    if (!lease.holder.empty() && !lease.expired) {
      standby["leader"] = lease.holder;
      standby["leader_address"] = lease.api_address;
      message += "; the leader is " + lease.holder + " at " + lease.api_address;
    } else {
      message += "; no controller leads at the moment";
    }
    Json doc = ErrorToJson(Unavailable(message));
    doc["standby"] = std::move(standby);
    std::lock_guard<std::mutex> lock(mu_);
    body_ = doc.dump();
    epoch_ = lease.epoch;
    agent_message_ = "controller " + name_ + " is a standby" +
                     (!lease.holder.empty() && !lease.expired
                          ? "; the leader is " + lease.holder + " at " + lease.agent_address
                          : "; no controller leads at the moment");
  }
  std::string AgentMessage() const {
    std::lock_guard<std::mutex> lock(mu_);
    return agent_message_;
  }
  HttpResponse Answer(const HttpRequest& request) const {
    std::lock_guard<std::mutex> lock(mu_);
    // Prometheus scrapes every controller: a standby says it does not lead.
    if (request.method == "GET" && request.path == "/metrics") {
      return HttpResponse(200,
                          "# HELP shoal_controller_leader 1 while this controller leads (holds "
                          "the lease), else 0.\n# TYPE shoal_controller_leader gauge\n"
                          "shoal_controller_leader 0\n"
                          "# HELP shoal_controller_lease_epoch The leader lease's epoch as this "
                          "standby last read it.\n# TYPE shoal_controller_lease_epoch gauge\n"
                          "shoal_controller_lease_epoch " +
                              std::to_string(epoch_) + "\n",
                          "text/plain; version=0.0.4; charset=utf-8");
    }
    HttpResponse r(503, body_);
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }

 private:
  const std::string name_;
  mutable std::mutex mu_;
  std::string body_;
  std::string agent_message_;
  int64_t epoch_ = 0;
};

// A standby's agent service: every stream and join is refused with UNAVAILABLE naming the
// leader, so an agent moves on to its next address at once.
class StandbyAgentService final : public rpc::AgentService::Service {
 public:
  explicit StandbyAgentService(const StandbyAnswer& answer) : answer_(answer) {}
  grpc::Status Connect(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<rpc::ControllerMessage, rpc::AgentMessage>*) override {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, answer_.AgentMessage());
  }
  grpc::Status Join(grpc::ServerContext*, const rpc::JoinRequest*, rpc::JoinReply*) override {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, answer_.AgentMessage());
  }

 private:
  const StandbyAnswer& answer_;
};

// Which SlurmctldHost this controller is: --name, else this host's name (short or full).
Result<size_t> FindSelf(const ControllerConfig& config, const std::string& name_option) {
  std::vector<std::string> candidates;
  if (!name_option.empty()) {
    candidates.push_back(name_option);
  } else {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) {
      candidates.push_back(host);
      const std::string full = host;
      if (full.find('.') != std::string::npos) candidates.push_back(full.substr(0, full.find('.')));
    }
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < config.controller_hosts.size(); ++i) {
    names.push_back(config.controller_hosts[i].name);
    for (const std::string& c : candidates) {
      if (c == config.controller_hosts[i].name) return i;
    }
  }
  return InvalidArgument(
      "this controller (" +
      (name_option.empty()
           ? "host name '" + (candidates.empty() ? std::string("?") : candidates.front()) + "'"
           : "--name '" + name_option + "'") +
      ") is none of the SlurmctldHost names (" + Join(names, ", ") + "): pass --name NAME");
}

// The ports `shoal init` sets up (Slurm's slurmctld and slurmrestd ports).
constexpr uint16_t kInitAgentPort = 6817;
constexpr uint16_t kInitApiPort = 6820;

// `shoal init --controller HOST[:PORT]` (`shoal` execs `shoal-controller init`): the controller
// host's configuration, its TLS material and the cluster key, in --config-dir.
int InitMain(int argc, char** argv) {
  CLI::App app{"shoal init: set up this host as a cluster's controller"};
  std::string controller, config_dir = "/etc/shoal", cluster_name = "shoal", owner = "shoal";
  uint16_t api_port = kInitApiPort;
  app.add_option("--controller", controller,
                 "HOST[:PORT] that nodes dial (PORT default " + std::to_string(kInitAgentPort) +
                     "); the controller's certificate covers HOST")
      ->required();
  app.add_option("--config-dir", config_dir, "where to write (default /etc/shoal)");
  app.add_option("--cluster-name", cluster_name, "ClusterName (default shoal)");
  app.add_option("--api-port", api_port,
                 "TCP port of the REST API and dashboard (default " + std::to_string(kInitApiPort) +
                     ")");
  app.add_option("--owner", owner,
                 "user the controller runs as, who gets its keys (default shoal, when that user "
                 "exists and init runs as root)");
  CLI11_PARSE(app, argc, argv);

  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "shoal init: error: %s\n", message.c_str());
    return 1;
  };
  std::string host;
  uint16_t agent_port = kInitAgentPort;
  if (controller.find(':') != std::string::npos && controller.front() != '[') {
    if (!SplitHostPort(controller, host, agent_port) || agent_port == 0) {
      return fail("--controller must be HOST or HOST:PORT, got '" + controller + "'");
    }
  } else {
    host = controller;
  }
  if (host.empty() || IsWildcard(host) || host.find_first_of(" \t/,=") != std::string::npos) {
    return fail("--controller needs the host name or address nodes dial, got '" + controller +
                "'");
  }
  if (cluster_name.empty() || cluster_name.find_first_of(" \t=#") != std::string::npos) {
    return fail("invalid --cluster-name '" + cluster_name + "'");
  }
  if (config_dir.empty() || config_dir.front() != '/') {
    return fail("--config-dir must be an absolute path (daemons read it from anywhere)");
  }
  while (config_dir.size() > 1 && config_dir.back() == '/') config_dir.pop_back();
  const std::string conf_path = config_dir + "/shoal.conf";
  const std::string env_path = config_dir + "/controller.env";
  for (const std::string& f : {conf_path, env_path}) {
    if (fs::exists(f)) return fail(f + " exists: this host is set up already (nothing changed)");
  }
  // The daemon runs as `owner` (the unit's User=shoal): its keys must be its own.
  std::optional<std::pair<uid_t, gid_t>> chown_to;
  if (geteuid() == 0) {
    if (passwd* pw = getpwnam(owner.c_str()); pw != nullptr) {
      chown_to = {pw->pw_uid, pw->pw_gid};
    } else if (app.count("--owner") > 0) {
      return fail("no such user '" + owner + "' (--owner)");
    }
  }

  ControllerConfig config;
  config.cluster_name = cluster_name;
  config.tls_ca_file = config_dir + "/tls/ca.pem";
  config.tls_cert_file = config_dir + "/tls/controller.pem";
  config.tls_key_file = config_dir + "/tls/controller.key";
  config.cluster_key_file = config_dir + "/cluster.key";
  config.tls_cert_names = {host};
  const security::ClusterMaterialPaths paths = ResolveMaterialPaths(config, config_dir);
  if (Status st = CreateMissingMaterial(paths, config, host); !st.ok()) return fail(st.message());
  if (chown_to) {
    for (const std::string& f : {paths.key, paths.ca_key, paths.cluster_key}) {
      if (chown(f.c_str(), chown_to->first, chown_to->second) != 0) {
        return fail("cannot give " + f + " to user " + owner + ": " + std::strerror(errno));
      }
    }
  }
  const std::string conf =
      "# shoal's controller configuration (slurm.conf syntax), written by `shoal init`.\n"
      "ClusterName=" + cluster_name + "\n"
      "TLSCAFile=" + paths.ca_cert + "\n"
      "TLSCertFile=" + paths.cert + "\n"
      "TLSKeyFile=" + paths.key + "\n"
      "ClusterKeyFile=" + paths.cluster_key + "\n"
      "TLSCertNames=" + host + "\n"
      "# Nodes join with `shoal join " + host + ":" + std::to_string(agent_port) +
      " TOKEN` (tokens: `shoal token --join`)\n"
      "# and register themselves: NodeName= lines are optional.\n";
  const std::string env =
      "# The controller's addresses (shoal-controller.service), written by `shoal init`.\n"
      "SHOAL_CONTROLLER_OPTS=--listen 0.0.0.0:" + std::to_string(api_port) +
      " --agent-listen 0.0.0.0:" + std::to_string(agent_port) + "\n";
  if (Status st = security::WriteNewFile(env_path, env, 0644); !st.ok()) return fail(st.message());
  // Written last: its presence means the host is set up (the unit's condition).
  if (Status st = security::WriteNewFile(conf_path, conf, 0644); !st.ok()) {
    unlink(env_path.c_str());
    return fail(st.message());
  }
  Result<std::string> ca = security::ReadFileNamed(paths.ca_cert, "CA certificate");
  Result<std::string> ca_hash = ca.ok() ? security::CertificateSha256(*ca) : ca.status();
  std::printf(
      "shoal init: cluster %s, controller %s:%u\n"
      "  wrote %s, %s\n"
      "  cluster CA %s (sha256 %s)\n"
      "  controller certificate %s, cluster key %s%s\n"
      "next:\n"
      "  systemctl enable --now shoal-controller      (or: shoal controller --config %s "
      "--listen 0.0.0.0:%u --agent-listen 0.0.0.0:%u)\n"
      "  shoal token --join                           a one-time token for each new node\n"
      "  shoal join %s:%u TOKEN                    on the node, then: systemctl enable --now "
      "shoal-agent\n",
      cluster_name.c_str(), host.c_str(), agent_port, conf_path.c_str(), env_path.c_str(),
      paths.ca_cert.c_str(), ca_hash.ok() ? ca_hash->c_str() : "?", paths.cert.c_str(),
      paths.cluster_key.c_str(), chown_to ? (" (owned by " + owner + ")").c_str() : "",
      conf_path.c_str(), api_port, agent_port, host.c_str(), agent_port);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  PrepareGrpcProcess();
  // One malloc arena per core, not glibc's eight: each arena keeps the last large answer built
  // in it (squeue's table over 100,000 jobs is about 10 MB), and with one per HTTP thread that
  // was 70 MB more RSS after ten squeue calls. Mapping such answers afresh for each call kept
  // RSS flat too but cost squeue a fifth more in page faults (bench/RESULTS.md).
  mallopt(M_ARENA_MAX, static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  if (argc >= 2 && std::string_view(argv[1]) == "init") return InitMain(argc - 1, argv + 1);
  CLI::App app{"shoal controller daemon"};
  std::string state_dir = DefaultStateDir();
  std::string config_path;
  std::string listen = "127.0.0.1:0";
  std::string agent_listen = "127.0.0.1:0";
  std::string log_file, log_level, log_format = "text", log_max_size = "64M";
  size_t log_max_files = 4;
  bool init_tls = false;
  std::string controller_name;
  app.add_option("--state-dir", state_dir, "state directory (database, socket, logs)");
  app.add_option("--config", config_path, "slurm.conf-style configuration file");
  app.add_option("--listen", listen,
                 "HTTP API and dashboard address HOST:PORT (port 0: any free port); the default "
                 "is loopback only, 0.0.0.0:PORT opens it to the network");
  app.add_option("--agent-listen", agent_listen, "agent gRPC address HOST:PORT");
  app.add_option("--log-file", log_file,
                 "log to this file instead of stderr (else SlurmctldLogFile from the config)");
  app.add_option("--log-level", log_level,
                 "quiet, fatal, error, warning, info, verbose, debug, debug2-5 or trace "
                 "(else SlurmctldDebug from the config, else info)");
  app.add_option("--log-format", log_format, "text, or json: one JSON object per line");
  app.add_option("--log-max-size", log_max_size,
                 "rotate the log file past this size (K, M, G suffixes; 0: never)");
  app.add_option("--log-max-files", log_max_files, "rotated log files kept");
  app.add_option("--name", controller_name,
                 "which SlurmctldHost of the config this controller is (several SlurmctldHost "
                 "lines: high availability); default: this host's name");
  app.add_flag("--init-tls", init_tls,
               "create the cluster CA, the controller's certificate and the cluster key where "
               "they are missing (never replacing a file), then exit");
  CLI11_PARSE(app, argc, argv);

  // Block the stop signals before any thread starts so only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // Logging starts on stderr so that problems with the config are seen; the config may then
  // name the file and level.
  LogOptions log_options;
  log_options.component = "controller";
  auto install_logger = [&](const ControllerConfig& from_config) -> bool {
    log_options.file = !log_file.empty() ? log_file : from_config.log_file;
    const std::string& level = !log_level.empty() ? log_level : from_config.log_level;
    Result<spdlog::level::level_enum> parsed_level = ParseLogLevel(level.empty() ? "info" : level);
    Result<LogFormat> format = ParseLogFormat(log_format);
    Result<uint64_t> max_size = ParseLogSize(log_max_size);
    for (const Status& s : {parsed_level.status(), format.status(), max_size.status()}) {
      if (!s.ok()) {
        std::fprintf(stderr, "shoal-controller: error: %s\n", s.message().c_str());
        return false;
      }
    }
    log_options.level = *parsed_level;
    log_options.format = *format;
    log_options.max_bytes = *max_size;
    log_options.max_files = log_max_files;
    if (Status s = InstallLogger(log_options); !s.ok()) {
      std::fprintf(stderr, "shoal-controller: error: %s\n", s.message().c_str());
      return false;
    }
    return true;
  };
  if (!install_logger(ControllerConfig{})) return 1;

  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) {
    std::fprintf(stderr, "shoal-controller: error: cannot create %s: %s\n", state_dir.c_str(),
                 ec.message().c_str());
    return 1;
  }
  if (config_path.empty() && fs::exists(state_dir + "/slurm.conf")) {
    config_path = state_dir + "/slurm.conf";
  }
  ControllerConfig config;
  if (!config_path.empty()) {
    auto loaded = LoadControllerConfig(config_path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "shoal-controller: error: %s\n", loaded.status().message().c_str());
      return 1;
    }
    config = std::move(loaded).value();
    if (!install_logger(config)) return 1;
    for (const auto& w : config.warnings) spdlog::warn("config: {}", w);
  }
  // Webhook signatures: the configured secret, or this state directory's own (made once).
  {
    const bool own = config.webhook_secret_file.empty();
    auto secret = LoadOrCreateWebhookSecret(
        own ? state_dir + "/webhook.key" : config.webhook_secret_file, /*create=*/own);
    if (!secret.ok()) {
      std::fprintf(stderr, "shoal-controller: error: %s\n", secret.status().message().c_str());
      return 1;
    }
    config.webhook_secret = std::move(secret).value();
    for (const WebhookTarget& target : config.webhooks) {
      spdlog::info("webhooks: every job's events go to {}{}", target.url,
                   target.events.empty() ? "" : " (" + Join(target.events, ",") + ")");
    }
  }
  // scontrol show config shows what is in force.
  config.log_file = log_options.file;
  if (!log_level.empty()) config.log_level = log_level;
  std::string http_host, agent_host;
  uint16_t http_port = 0, agent_port = 0;
  if (!SplitHostPort(listen, http_host, http_port) ||
      !SplitHostPort(agent_listen, agent_host, agent_port)) {
    std::fprintf(stderr, "shoal-controller: error: addresses must be HOST:PORT\n");
    return 1;
  }

  // Agents reach us over TLS and prove membership with the cluster key. With no file named in
  // the config, the material lives in the state directory and is created when missing.
  const bool material_configured = !config.tls_ca_file.empty() || !config.tls_cert_file.empty() ||
                                   !config.tls_key_file.empty() || !config.cluster_key_file.empty();
  const security::ClusterMaterialPaths tls_paths = ResolveMaterialPaths(config, state_dir);
  if (init_tls || !material_configured) {
    if (Status st = CreateMissingMaterial(tls_paths, config, agent_host); !st.ok()) {
      std::fprintf(stderr, "shoal-controller: error: %s\n", st.message().c_str());
      return 1;
    }
    if (init_tls) {
      std::printf("cluster CA %s, controller certificate %s, cluster key %s\n",
                  tls_paths.ca_cert.c_str(), tls_paths.cert.c_str(),
                  tls_paths.cluster_key.c_str());
      return 0;
    }
  }
  Result<security::ServerMaterial> tls = security::LoadServerMaterial(tls_paths);
  if (!tls.ok()) {
    std::fprintf(stderr, "shoal-controller: error: %s\n", tls.status().message().c_str());
    return 1;
  }
  if (!IsWildcard(agent_host) && !security::CertificateCovers(tls->cert_pem, agent_host)) {
    spdlog::warn("the TLS certificate {} does not cover the agent address {}: agents dialing it "
                 "will refuse the controller (add it to TLSCertNames and issue a new "
                 "certificate)",
                 tls_paths.cert, agent_host);
  }
  // The key that signs API tokens: AuthAltParameters=jwt_key=PATH, else in the state
  // directory; made at the first start. One readable by group or others is refused, since
  // anyone who reads it can act as any user.
  const std::string jwt_key_path =
      config.jwt_key_path.empty() ? state_dir + "/jwt.key" : config.jwt_key_path;
  auto jwt_key = security::LoadOrCreateJwtKey(jwt_key_path);
  if (!jwt_key.ok()) {
    std::fprintf(stderr, "shoal-controller: error: %s\n", jwt_key.status().message().c_str());
    return 1;
  }

  // The API answers from the start: a standby's answer until this controller leads.
  std::atomic<ControllerHttpHandler*> active_handler{nullptr};
  std::unique_ptr<StandbyAnswer> standby;
  HttpServer http([&](const HttpRequest& r) {
    if (ControllerHttpHandler* h = active_handler.load(std::memory_order_acquire)) {
      return h->Handle(r);
    }
    return standby ? standby->Answer(r)
                   : HttpResponse(503, ErrorToJson(Unavailable("starting")).dump());
  });
  const std::string socket_path = state_dir + "/controller.sock";

  // High availability (several SlurmctldHost): stand by until this controller holds the lease
  // in the shared database, then lead at its epoch; every write is fenced by it.
  std::unique_ptr<LeaderLease> lease;
  std::unique_ptr<StandbyAgentService> standby_agents;
  std::unique_ptr<grpc::Server> standby_grpc;
  int64_t epoch = 0;
  const auto ttl = std::chrono::milliseconds(int64_t{config.slurmctld_timeout_s} * 1000);
  std::atomic<int64_t> renewed_at_ms{0};  // steady clock, when the last good renewal was sent
  auto steady_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
  if (config.HighAvailability()) {
    Result<size_t> self = FindSelf(config, controller_name);
    if (!self.ok()) {
      std::fprintf(stderr, "shoal-controller: error: %s\n", self.status().message().c_str());
      return 1;
    }
    const ControllerConfig::ControllerHost& me = config.controller_hosts[*self];
    config.controller_name = me.name;
    if (http_port == 0 || agent_port == 0) {
      std::fprintf(stderr,
                   "shoal-controller: error: with several SlurmctldHost, --listen and "
                   "--agent-listen need fixed ports (clients and agents list them)\n");
      return 1;
    }
    const std::string api_address = me.Address() + ":" + std::to_string(http_port);
    const std::string agent_address = me.Address() + ":" + std::to_string(agent_port);
    auto opened =
        OpenLeaderLease(config.storage_url, me.name, api_address, agent_address, ttl.count());
    if (!opened.ok()) {
      std::fprintf(stderr, "shoal-controller: error: %s\n", opened.status().message().c_str());
      return 1;
    }
    lease = std::move(opened).value();
    standby = std::make_unique<StandbyAnswer>(me.name);
    Status listening = http.ListenUnix(socket_path);
    if (listening.ok()) listening = http.ListenTcp(http_host, http_port);
    if (!listening.ok()) {
      std::fprintf(stderr, "shoal-controller: error: %s\n", listening.message().c_str());
      return 1;
    }
    // Agents that dial a standby hear where the leader is. Same TLS as the leader's service.
    grpc::SslServerCredentialsOptions standby_ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    standby_ssl.pem_key_cert_pairs.push_back(
        {tls->key_pem, tls->cert_pem + (tls->cert_pem.ends_with('\n') ? "" : "\n") + tls->ca_pem});
    standby_agents = std::make_unique<StandbyAgentService>(*standby);
    grpc::ServerBuilder standby_builder;
    standby_builder.AddListeningPort(agent_host + ":" + std::to_string(agent_port),
                                     grpc::SslServerCredentials(standby_ssl));
    standby_builder.RegisterService(standby_agents.get());
    standby_grpc = standby_builder.BuildAndStart();
    if (!standby_grpc) {
      std::fprintf(stderr, "shoal-controller: error: cannot listen for agents on %s\n",
                   agent_listen.c_str());
      return 1;
    }
    spdlog::info(
        "controller {} ({} of {} SlurmctldHost) standing by: api {}, agents {}; lease "
        "{} s",
        me.name, *self == 0 ? "primary" : "backup", config.controller_hosts.size(), api_address,
        agent_address, config.slurmctld_timeout_s);
    int failures = 0;
    for (;;) {
      const int64_t sent = steady_ms();
      Result<std::optional<int64_t>> won = lease->TryAcquire();
      if (won.ok() && won->has_value()) {
        epoch = **won;
        renewed_at_ms = sent;
        break;
      }
      Result<LeaseState> state = won.ok() ? lease->Read() : won.status();
      if (state.ok()) {
        standby->Set(*state);
        failures = 0;
      } else if (failures++ % 20 == 0) {
        spdlog::warn("leader lease: {}", state.status().message());
      }
      // A poll every 300 ms: a takeover comes at most that long after the lease expired.
      timespec wait{0, 300 * 1000 * 1000};
      int sig = sigtimedwait(&stop_signals, nullptr, &wait);
      if (sig == SIGTERM || sig == SIGINT) {
        spdlog::info("standby controller stopping (signal {})", sig);
        http.Stop();
        standby_grpc->Shutdown(std::chrono::system_clock::now());
        return 0;
      }
    }
    // The leader's own agent service takes the port (below).
    standby_grpc->Shutdown(std::chrono::system_clock::now());
    standby_grpc.reset();
    spdlog::info("controller {} leads now (lease epoch {}): loading the state", me.name, epoch);
  }

  // StorageType picks the store: the SQLite file (in the state directory unless StorageLoc
  // says where) or a PostgreSQL server.
  Result<std::unique_ptr<Store>> store = Unavailable("no store");
  if (config.storage_type == "postgresql") {
    spdlog::info("state kept in PostgreSQL at {}", RedactConninfo(config.storage_url));
    store = lease ? OpenPostgresStore(config.storage_url,
                                      StoreFencing{.epoch = epoch, .on_fenced = StepDown})
                  : OpenPostgresStore(config.storage_url);
  } else {
    if (config.storage_loc.empty()) config.storage_loc = state_dir + "/shoal.db";
    store = OpenSqliteStore(config.storage_loc);
  }
  if (!store.ok()) {
    std::fprintf(stderr, "shoal-controller: error: %s\n", store.status().message().c_str());
    return 1;
  }
  Store& store_ref = **store;  // the controller owns it and outlives join_tokens below
  Controller controller(std::move(config), std::move(store).value(), socket_path);
  JoinTokens join_tokens(store_ref);
  Result<std::string> ca_hash = security::CertificateSha256(tls->ca_pem);
  if (!ca_hash.ok()) {
    std::fprintf(stderr, "shoal-controller: error: %s: %s\n", tls_paths.ca_cert.c_str(),
                 ca_hash.status().message().c_str());
    return 1;
  }
  // The leader renews its lease every third of its length, and stops on its own when a
  // renewal has not succeeded for the length less a margin, counted from when that renewal was
  // sent: before any standby may take over (whose clock is the database's).
  std::atomic<bool> stop_renewing{false};
  std::thread renewer, watchdog;
  if (lease) {
    controller.metrics().SetLeadership(true, epoch);
    const int64_t deadline_ms = ttl.count() - std::max<int64_t>(ttl.count() / 6, 200);
    watchdog = std::thread([&, deadline_ms] {
      while (!stop_renewing.load()) {
        const int64_t silent = steady_ms() - renewed_at_ms.load();
        if (silent > deadline_ms) {
          StepDown("the leader lease was not renewed for " + std::to_string(silent) + " ms");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
    renewer = std::thread([&] {
      int failures = 0;
      while (!stop_renewing.load()) {
        std::this_thread::sleep_for(ttl / 3);
        if (stop_renewing.load()) break;
        const int64_t sent = steady_ms();
        Result<bool> renewed = lease->Renew(epoch);
        if (renewed.ok() && *renewed) {
          renewed_at_ms = sent;
          failures = 0;
        } else if (renewed.ok()) {
          StepDown("another controller holds the leader lease now (epoch " + std::to_string(epoch) +
                   " is over)");
        } else if (failures++ % 10 == 0) {
          spdlog::warn("leader lease: {}", renewed.status().message());
        }
      }
    });
  }
  auto stop_leading = [&] {
    if (!lease) return;
    stop_renewing = true;
    if (renewer.joinable()) renewer.join();
    if (watchdog.joinable()) watchdog.join();
    // A planned stop hands the lease over at once.
    if (Status released = lease->Release(epoch); released.ok()) {
      spdlog::info("leader lease released (epoch {})", epoch);
    } else {
      spdlog::warn("could not release the leader lease: {}", released.message());
    }
  };

  Status s = controller.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "shoal-controller: error: %s\n", s.message().c_str());
    stop_leading();
    return 1;
  }

  signal(SIGPIPE, SIG_IGN);
  shoal::RaiseFileLimit();  // one connection per agent

  // Agents and clients keep the addresses they knew across a controller restart: reuse the
  // previous ports when none were given and they are still free.
  const std::string info_path = state_dir + "/controller.json";
  Json previous = nullptr;
  if (std::ifstream in(info_path); in) previous = Json::parse(in, nullptr, false);
  auto previous_port = [&](const char* key) -> uint16_t {
    std::string h;
    uint16_t p = 0;
    if (previous.is_object() && previous.contains(key) && previous[key].is_string() &&
        SplitHostPort(previous[key].get<std::string>(), h, p)) {
      return p;
    }
    return 0;
  };

  AgentServiceImpl agent_service(controller, tls->cluster_key);
  agent_service.SetJoinTokens(&join_tokens, tls->ca_pem);
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  // The chain carries the CA too, so that `shoal join` can find the CA its token pins.
  std::string chain = tls->cert_pem;
  if (!chain.empty() && chain.back() != '\n') chain += '\n';
  ssl.pem_key_cert_pairs.push_back({tls->key_pem, chain + tls->ca_pem});
  const std::shared_ptr<grpc::ServerCredentials> agent_credentials =
      grpc::SslServerCredentials(ssl);
  std::unique_ptr<grpc::Server> grpc_server;
  int bound_agent_port = 0;
  std::vector<uint16_t> agent_ports = {agent_port};
  if (agent_port == 0 && previous_port("agents") != 0) {
    agent_ports.insert(agent_ports.begin(), previous_port("agents"));
  }
  for (uint16_t port : agent_ports) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(agent_host + ":" + std::to_string(port),
                             agent_credentials, &bound_agent_port);
    builder.RegisterService(&agent_service);
    rpc::ApplyAgentServerArguments(builder);
    grpc_server = builder.BuildAndStart();
    if (grpc_server && bound_agent_port != 0) break;
    grpc_server.reset();
  }
  if (!grpc_server) {
    std::fprintf(stderr, "shoal-controller: error: cannot listen for agents on %s\n",
                 agent_listen.c_str());
    stop_leading();
    return 1;
  }

  ClusterEvents events;
  controller.metrics().SetListener(&events);
  DashboardRoutes dashboard(controller, events);
  ControllerHttpHandler handler(controller);
  handler.SetDashboard(&dashboard);
  handler.SetTokenKey(std::move(jwt_key).value());
  handler.SetJoinTokens(&join_tokens, *ca_hash);
  active_handler.store(&handler, std::memory_order_release);
  if (lease) {
    // Listening already (as a standby).
  } else if (s = http.ListenUnix(socket_path);
             s.ok() && http_port == 0 && previous_port("http") != 0) {
    if (!http.ListenTcp(http_host, previous_port("http")).ok()) s = http.ListenTcp(http_host, 0);
  } else if (s.ok()) {
    s = http.ListenTcp(http_host, http_port);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "shoal-controller: error: %s\n", s.message().c_str());
    active_handler.store(nullptr);
    stop_leading();
    return 1;
  }

  // Prometheus scrapes the TCP listener; a wildcard address is no place to dial.
  std::string scrape_host = http_host;
  if (scrape_host == "0.0.0.0" || scrape_host.empty()) {
    char name[256] = {};
    scrape_host = gethostname(name, sizeof name - 1) == 0 ? name : "localhost";
  }
  handler.SetSelfTarget(scrape_host + ":" + std::to_string(http.tcp_port()));

  // Where clients and agents find us; written last, atomically, once everything listens.
  Json info = {{"pid", getpid()},
               {"socket", socket_path},
               {"http", http_host + ":" + std::to_string(http.tcp_port())},
               {"agents", agent_host + ":" + std::to_string(bound_agent_port)},
               {"cluster_name", controller.config().cluster_name},
               // What agents need to join (paths only; the key stays in its 0600 file).
               {"tls_ca", controller.config().tls_ca_file},
               {"cluster_key_file", controller.config().cluster_key_file}};
  {
    std::ofstream out(info_path + ".tmp");
    out << info.dump(2) << "\n";
  }
  fs::rename(info_path + ".tmp", info_path, ec);
  spdlog::info("controller ready: api unix:{} and {}:{}, agents on {}:{}", socket_path, http_host,
               http.tcp_port(), agent_host, bound_agent_port);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("controller stopping (signal {})", sig);
  events.Close();
  http.Stop();
  controller.Stop();
  stop_leading();
  controller.metrics().SetListener(nullptr);
  grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  return 0;
}
