#include "agent/join.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdio>
#include <filesystem>

#include "common/strings.h"
#include "rpc/agent.grpc.pb.h"
#include "security/cluster_ca.h"
#include "security/crypto.h"

namespace shoal::agent {
namespace {

bool AllOf(const std::string& s, size_t n, bool (*ok)(char)) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (!ok(c)) return false;
  }
  return true;
}
bool LowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool LowerHex(char c) { return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9'); }

bool ValidNodeName(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<JoinToken> ParseJoinToken(const std::string& text) {
  std::vector<std::string> parts = Split(std::string(Trim(text)), '.');
  std::string hash = parts.size() == 3 ? ToLower(parts[2]) : "";
  if (hash.rfind("sha256:", 0) == 0) hash = hash.substr(7);
  if (parts.size() != 3 || !AllOf(parts[0], 6, LowerAlnum) || !AllOf(parts[1], 16, LowerAlnum) ||
      !AllOf(hash, 64, LowerHex)) {
    return InvalidArgument(
        "invalid join token: expected ID.SECRET.CAHASH (6 and 16 characters a-z0-9, then the "
        "CA certificate's SHA-256 in 64 hex digits), as `shoal token --join` prints it");
  }
  return JoinToken{parts[0], parts[1], hash};
}

JoinPaths JoinPathsIn(const std::string& config_dir) {
  return {config_dir + "/agent/ca.pem", config_dir + "/agent/cluster.key",
          config_dir + "/agent.conf"};
}

std::string AgentConfText(const std::string& controller, const std::string& node,
                          const std::string& state_dir, const JoinPaths& paths) {
  return "# shoal-agent --config " + paths.agent_conf +
         " (shoal-agent.service), written by `shoal join`.\n"
         "# Keys are shoal-agent's long options; the command line overrides them.\n"
         "controller=" +
         controller +
         "\n"
         "name=" +
         node +
         "\n"
         "state-dir=" +
         state_dir +
         "\n"
         "tls-ca=" +
         paths.ca +
         "\n"
         "cluster-key-file=" +
         paths.cluster_key + "\n";
}

int JoinMain(int argc, char** argv) {
  CLI::App app{"shoal join: make this host a node of a cluster"};
  std::string controller, token_text, node, config_dir = "/etc/shoal",
                                            state_dir = "/var/lib/shoal/agent";
  app.add_option("controller", controller,
                 "HOST[:PORT] of the controller's agent port (6817); several, separated by "
                 "commas, when controllers share the cluster (all go into agent.conf)")
      ->required();
  app.add_option("token", token_text, "the join token (shoal token --join on the controller)")
      ->required();
  app.add_option("--name", node, "this node's name (default: the host name)");
  app.add_option("--config-dir", config_dir, "where to write (default /etc/shoal)");
  app.add_option("--state-dir", state_dir,
                 "the agent's state directory, written into agent.conf (default "
                 "/var/lib/shoal/agent)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "shoal join: error: %s\n", message.c_str());
    return 1;
  };

  // Everything that can be checked here is, before the token is spent.
  Result<JoinToken> token = ParseJoinToken(token_text);
  if (!token.ok()) return fail(token.status().message());
  // HOST[:PORT], or several (high availability): the join goes to the first that answers (a
  // standby does not), and agent.conf lists them all.
  std::vector<std::pair<std::string, uint16_t>> controllers;
  for (const std::string& one : Split(controller, ',')) {
    const std::string c(Trim(one));
    std::string host = c;
    uint16_t port = kDefaultJoinPort;
    if (auto colon = c.rfind(':'); colon != std::string::npos) {
      host = c.substr(0, colon);
      std::optional<uint64_t> p = ParseUint(c.substr(colon + 1));
      if (!p || *p == 0 || *p > 65535) {
        return fail("the controller must be HOST or HOST:PORT, got '" + controller + "'");
      }
      port = static_cast<uint16_t>(*p);
    }
    if (host.empty())
      return fail("the controller must be HOST or HOST:PORT, got '" + controller + "'");
    controllers.emplace_back(host, port);
  }
  std::vector<std::string> all_targets;
  for (const auto& [h, p] : controllers) all_targets.push_back(h + ":" + std::to_string(p));
  std::string target = all_targets.front();
  if (node.empty()) {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) == 0) node = name;
    if (auto dot = node.find('.'); dot != std::string::npos) node.resize(dot);
  }
  if (!ValidNodeName(node)) {
    return fail("invalid node name '" + node + "' (letters, digits, '-', '_', '.'; --name)");
  }
  for (std::string* dir : {&config_dir, &state_dir}) {
    if (dir->empty() || dir->front() != '/') {
      return fail("--config-dir and --state-dir must be absolute paths, got '" + *dir + "'");
    }
    while (dir->size() > 1 && dir->back() == '/') dir->pop_back();
  }
  const JoinPaths paths = JoinPathsIn(config_dir);
  for (const std::string& f : {paths.agent_conf, paths.cluster_key, paths.ca}) {
    if (std::filesystem::exists(f)) {
      return fail(f + " exists: this host has joined a cluster already (remove " +
                  paths.agent_conf + ", " + paths.ca + " and " + paths.cluster_key +
                  " to join again)");
    }
  }

  // Trust on first contact, pinned: only the CA the token names.
  Result<std::vector<std::string>> chain = Unavailable("no controller");
  for (size_t i = 0; i < controllers.size(); ++i) {
    chain = security::FetchPeerCertificates(controllers[i].first, controllers[i].second);
    if (chain.ok()) {
      target = all_targets[i];
      break;
    }
  }
  if (!chain.ok()) return fail("cannot reach the controller: " + chain.status().message());
  std::string ca_pem;
  for (const std::string& pem : *chain) {
    Result<std::string> hash = security::CertificateSha256(pem);
    if (hash.ok() && *hash == token->ca_sha256) ca_pem = pem;
  }
  if (ca_pem.empty()) {
    return fail("the controller at " + target +
                " does not present the cluster CA the token pins "
                "(sha256 " +
                token->ca_sha256.substr(0, 16) +
                "...): refusing to trust it "
                "(a wrong address, another cluster's controller, or an impostor)");
  }
  if (Status s = security::VerifyCertificate(chain->front(), ca_pem); !s.ok()) {
    return fail("the controller at " + target +
                " presents a certificate its CA did not sign: " + s.message());
  }

  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem;
  auto channel = grpc::CreateChannel(target, grpc::SslCredentials(ssl));
  auto stub = rpc::AgentService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
  rpc::JoinRequest request;
  request.set_token_id(token->id);
  request.set_secret(token->secret);
  request.set_node_name(node);
  rpc::JoinReply reply;
  grpc::Status status = stub->Join(&context, request, &reply);
  if (!status.ok()) {
    return fail(status.error_code() == grpc::StatusCode::PERMISSION_DENIED
                    ? status.error_message()
                    : "the controller at " + target +
                          " did not answer the join: " + status.error_message());
  }
  Result<std::string> reply_ca = security::CertificateSha256(reply.ca_pem());
  if (!reply_ca.ok() || *reply_ca != token->ca_sha256 || reply.cluster_key().size() != 32) {
    return fail("the controller's answer does not hold the pinned CA and a cluster key");
  }

  // The key and CA first, agent.conf last: the agent's unit starts only once that exists, and
  // on any failure what was written goes again.
  std::vector<std::string> written;
  auto write = [&](const std::string& path, const std::string& content, unsigned mode) {
    Status s = security::WriteNewFile(path, content, mode);
    if (s.ok()) written.push_back(path);
    return s;
  };
  Status s = write(paths.cluster_key, security::HexEncode(reply.cluster_key()) + "\n", 0600);
  if (s.ok()) s = write(paths.ca, reply.ca_pem(), 0644);
  if (s.ok()) s = write(paths.agent_conf, AgentConfText(Join(all_targets, ","), node, state_dir, paths), 0644);
  if (!s.ok()) {
    for (const std::string& f : written) unlink(f.c_str());
    return fail(s.message() + " (the token is spent: ask for a new one)");
  }
  std::printf(
      "shoal join: node %s joined cluster %s (controller %s)\n"
      "  wrote %s, %s, %s\n"
      "next: systemctl enable --now shoal-agent   (or: shoal agent --config %s)\n",
      node.c_str(), reply.cluster_name().c_str(), target.c_str(), paths.agent_conf.c_str(),
      paths.ca.c_str(), paths.cluster_key.c_str(), paths.agent_conf.c_str());
  return 0;
}

}  // namespace shoal::agent
