// shoal-relay: carries agents' streams to the controller over a few shared connections (one
// relay per rack, say). Runs in the foreground until SIGTERM or SIGINT.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "common/file_limit.h"
#include "common/strings.h"
#include "relay/relay.h"
#include "rpc/grpc_process.h"
#include "security/cluster_ca.h"

int main(int argc, char** argv) {
  shoal::PrepareGrpcProcess();
  CLI::App app{
      "shoal-relay: agents dial the relay as they would the controller; the relay carries each "
      "agent's stream to the controller over a few shared connections"};
  std::string listen = "0.0.0.0:6818";
  std::string controller;
  shoal::security::ClusterMaterialPaths paths;
  int connections = 2;
  app.add_option("--listen", listen, "HOST:PORT agents dial (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--controller", controller,
                 "HOST:PORT of the controller's agent service; with standby controllers, all of "
                 "them, comma-separated (new streams go to the next when one is unavailable)")
      ->required();
  app.add_option("--tls-ca", paths.ca_cert, "the cluster CA (STATE/tls/ca.pem of `shoal up`)")
      ->required();
  app.add_option("--tls-cert", paths.cert,
                 "the relay's certificate, signed by the cluster CA, for the names agents dial")
      ->required();
  app.add_option("--tls-key", paths.key, "the certificate's private key (mode 0600)")->required();
  app.add_option("--connections", connections,
                 "connections to the controller, shared by all "
                 "streams")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);

  auto material = shoal::security::LoadServerMaterial(paths);
  if (!material.ok()) {
    std::fprintf(stderr, "shoal-relay: error: %s\n", material.status().message().c_str());
    return 1;
  }
  // One descriptor per agent: a rack's worth and more.
  shoal::RaiseFileLimit();

  // Block the stop signals before gRPC starts its threads, so that only sigwait sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  shoal::relay::RelayOptions options;
  options.listen = listen;
  for (const std::string& address : shoal::Split(controller, ',')) {
    const std::string_view trimmed = shoal::Trim(address);
    if (trimmed.empty() || trimmed.find(':') == std::string_view::npos) {
      std::fprintf(stderr, "shoal-relay: error: --controller: '%s' is not HOST:PORT\n",
                   address.c_str());
      return 1;
    }
    options.controllers.emplace_back(trimmed);
  }
  options.ca_pem = material->ca_pem;
  options.cert_pem = material->cert_pem;
  options.key_pem = material->key_pem;
  options.connections = connections;
  shoal::relay::Relay relay(std::move(options));
  if (shoal::Status s = relay.Start(); !s.ok()) {
    std::fprintf(stderr, "shoal-relay: error: %s\n", s.message().c_str());
    return 1;
  }
  const std::string host = listen.substr(0, listen.rfind(':'));
  std::printf("shoal-relay: listening on %s:%d, controller %s over %d connections\n", host.c_str(),
              relay.port(), controller.c_str(), connections);
  std::fflush(stdout);
  int signal = 0;
  sigwait(&stop, &signal);
  spdlog::info("shoal-relay: stopping ({} streams open)", relay.streams());
  relay.Stop();
  return 0;
}
