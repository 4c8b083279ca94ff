#include "agent/agent_options.h"

#include <getopt.h>

#include <fstream>
#include <string_view>

#include "agent/host_info.h"
#include "common/strings.h"

namespace shoal::agent {
namespace {

enum Opt {
  kController = 1000,
  kName,
  kStateDir,
  kCpus,
  kMemoryMb,
  kGpus,
  kGpuType,
  kFeatures,
  kAddress,
  kLogFile,
  kLogLevel,
  kLogFormat,
  kLogMaxSize,
  kLogMaxFiles,
  kForeground,
  kDaemonize,
  kMetricsAddress,
  kMetricsPort,
  kTlsCa,
  kClusterKeyFile,
};

const option kLongOptions[] = {
    {"controller", required_argument, nullptr, kController},
    {"name", required_argument, nullptr, kName},
    {"state-dir", required_argument, nullptr, kStateDir},
    {"cpus", required_argument, nullptr, kCpus},
    {"memory-mb", required_argument, nullptr, kMemoryMb},
    {"gpus", required_argument, nullptr, kGpus},
    {"gpu-type", required_argument, nullptr, kGpuType},
    {"features", required_argument, nullptr, kFeatures},
    {"address", required_argument, nullptr, kAddress},
    {"log-file", required_argument, nullptr, kLogFile},
    {"log-level", required_argument, nullptr, kLogLevel},
    {"log-format", required_argument, nullptr, kLogFormat},
    {"log-max-size", required_argument, nullptr, kLogMaxSize},
    {"log-max-files", required_argument, nullptr, kLogMaxFiles},
    {"foreground", no_argument, nullptr, kForeground},
    {"daemonize", no_argument, nullptr, kDaemonize},
    {"metrics-address", required_argument, nullptr, kMetricsAddress},
    {"metrics-port", required_argument, nullptr, kMetricsPort},
    {"tls-ca", required_argument, nullptr, kTlsCa},
    {"cluster-key-file", required_argument, nullptr, kClusterKeyFile},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

Status Bad(const std::string& message) { return InvalidArgument("shoal-agent: " + message); }

// The --config file's lines as --KEY=VALUE words. Keys are the long options' names; a file
// cannot name another file, nor ask for help.
Result<std::vector<std::string>> ConfigFileWords(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Bad("cannot read config file " + path);
  std::vector<std::string> words;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string uncommented = line.substr(0, line.find('#'));
    std::string_view text = Trim(uncommented);
    if (text.empty()) continue;
    const std::string where = path + ":" + std::to_string(n) + ": ";
    const size_t eq = text.find('=');
    if (eq == std::string_view::npos) return Bad(where + "expected KEY=VALUE, got '" + line + "'");
    const std::string key(Trim(text.substr(0, eq)));
    const std::string value(Trim(text.substr(eq + 1)));
    const option* known = nullptr;
    for (const option& o : kLongOptions) {
      if (o.name != nullptr && key == o.name && key != "help") known = &o;
    }
    if (known == nullptr) return Bad(where + "unknown key '" + key + "' (the long options' names)");
    if (known->has_arg == no_argument) {
      if (!value.empty() && value != "yes" && value != "true") {
        return Bad(where + key + " takes no value (or yes/true)");
      }
      words.push_back("--" + key);
    } else {
      words.push_back("--" + key + "=" + value);
    }
  }
  return words;
}

}  // namespace

std::string AgentUsage() {
  return "usage: shoal-agent --controller HOST:PORT --name NODE --state-dir DIR\n"
         "                   --tls-ca FILE --cluster-key-file FILE\n"
         "       shoal-agent --config FILE [OPTIONS]\n"
         "                   [--cpus N] [--memory-mb M] [--gpus N] [--gpu-type T]\n"
         "                   [--features a,b] [--address HOST] [--log-file F]\n"
         "                   [--log-level L] [--log-format text|json]\n"
         "                   [--log-max-size S] [--log-max-files N]\n"
         "                   [--foreground | --daemonize]\n"
         "                   [--metrics-address IP] [--metrics-port PORT]\n"
         "\n"
         "  --config FILE           read options from FILE, one KEY=VALUE a line, KEY a long\n"
         "                          option's name (`shoal join` writes /etc/shoal/agent.conf);\n"
         "                          the command line overrides it\n"
         "  --controller HOST:PORT  the controller's agent endpoint; several, separated by\n"
         "                          commas: controllers sharing the cluster, the leader\n"
         "                          followed\n"
         "  --name NODE             this node's name\n"
         "  --state-dir DIR         where running jobs are kept (survives agent restarts)\n"
         "  --tls-ca FILE           the cluster CA: the controller's certificate must be\n"
         "                          signed by it (STATE/tls/ca.pem of `shoal up`)\n"
         "  --cluster-key-file FILE the cluster key this node proves membership with, mode\n"
         "                          0600 (STATE/cluster.key of `shoal up`)\n"
         "  --cpus N                CPUs to offer (default: online CPUs)\n"
         "  --memory-mb M           memory to offer in MiB (default: MemTotal)\n"
         "  --gpus N                emulated GPUs, indices 0..N-1 (default 0)\n"
         "  --gpu-type T            type name of those GPUs (default: emulated)\n"
         "  --features a,b          node features\n"
         "  --address HOST          address other nodes use to reach this one (default: host "
         "name)\n"
         "  --log-file F            log here instead of stderr\n"
         "  --log-level L           quiet, fatal, error, warning, info (default), verbose,\n"
         "                          debug, debug2-5 or trace\n"
         "  --log-format F          text (default), or json: one JSON object per line\n"
         "  --log-max-size S        rotate the log file past S bytes (K, M, G; default 64M;\n"
         "                          0: never)\n"
         "  --log-max-files N       rotated log files kept (default 4)\n"
         "  --foreground            stay in the foreground (the default)\n"
         "  --daemonize             detach into the background (logs to DIR/agent.log unless\n"
         "                          --log-file)\n"
         "  --metrics-address IP    where /metrics (Prometheus) listens (default 0.0.0.0)\n"
         "  --metrics-port PORT     its TCP port; 0 picks a free one (default " +
         std::to_string(kDefaultMetricsPort) + ")\n";
}

Result<AgentOptions> ParseAgentOptions(int argc, char** argv) {
  // --config FILE: its lines come first, so the command line overrides them.
  std::vector<std::string> words = {argc > 0 ? argv[0] : "shoal-agent"};
  std::vector<std::string> rest;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    std::string file;
    if (a == "--config") {
      if (i + 1 >= argc) return Bad("option '--config' requires an argument");
      file = argv[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      file = std::string(a.substr(9));
    } else {
      rest.emplace_back(a);
      continue;
    }
    Result<std::vector<std::string>> from_file = ConfigFileWords(file);
    if (!from_file.ok()) return from_file.status();
    words.insert(words.end(), from_file->begin(), from_file->end());
  }
  words.insert(words.end(), rest.begin(), rest.end());
  std::vector<char*> args;
  for (std::string& w : words) args.push_back(w.data());
  args.push_back(nullptr);
  argc = static_cast<int>(words.size());
  argv = args.data();

  AgentOptions o;
  o.log.component = "agent";
  bool cpus_given = false, memory_given = false;
  optind = 0;  // glibc: full re-initialisation
  opterr = 0;  // our own messages
  int c;
  while ((c = getopt_long(argc, argv, ":h", kLongOptions, nullptr)) != -1) {
    std::string arg = optarg != nullptr ? optarg : "";
    switch (c) {
      case kController:
        o.controller = arg;
        break;
      case kName:
        o.node_name = arg;
        break;
      case kStateDir:
        o.state_dir = arg;
        break;
      case kCpus: {
        std::optional<uint64_t> v = ParseUint(arg);
        if (!v || *v == 0 || *v > UINT32_MAX) return Bad("invalid --cpus '" + arg + "'");
        o.cpus = static_cast<uint32_t>(*v);
        cpus_given = true;
        break;
      }
      case kMemoryMb: {
        std::optional<uint64_t> v = ParseUint(arg);
        if (!v || *v == 0) return Bad("invalid --memory-mb '" + arg + "'");
        o.memory_mb = *v;
        memory_given = true;
        break;
      }
      case kGpus: {
        std::optional<uint64_t> v = ParseUint(arg);
        if (!v || *v > 1024) return Bad("invalid --gpus '" + arg + "'");
        o.gpus = static_cast<uint32_t>(*v);
        break;
      }
      case kGpuType:
        if (arg.empty()) return Bad("empty --gpu-type");
        o.gpu_type = arg;
        break;
      case kFeatures:
        o.features.clear();
        for (const std::string& f : Split(arg, ',')) {
          std::string t(Trim(f));
          if (!t.empty()) o.features.push_back(t);
        }
        break;
      case kAddress:
        o.address = arg;
        break;
      case kLogFile:
        o.log.file = arg;
        break;
      case kLogLevel: {
        Result<spdlog::level::level_enum> level = ParseLogLevel(arg);
        if (!level.ok()) return Bad(level.status().message());
        o.log.level = *level;
        break;
      }
      case kLogFormat: {
        Result<LogFormat> format = ParseLogFormat(arg);
        if (!format.ok()) return Bad(format.status().message());
        o.log.format = *format;
        break;
      }
      case kLogMaxSize: {
        Result<uint64_t> size = ParseLogSize(arg);
        if (!size.ok()) return Bad(size.status().message());
        o.log.max_bytes = *size;
        break;
      }
      case kLogMaxFiles: {
        std::optional<uint64_t> v = ParseUint(arg);
        if (!v || *v > 1000) return Bad("invalid --log-max-files '" + arg + "'");
        o.log.max_files = static_cast<size_t>(*v);
        break;
      }
      case kMetricsAddress:
        if (arg.empty()) return Bad("empty --metrics-address");
        o.metrics_address = arg;
        break;
      case kMetricsPort: {
        std::optional<uint64_t> v = ParseUint(arg);
        if (!v || *v > 65535) return Bad("invalid --metrics-port '" + arg + "'");
        o.metrics_port = static_cast<uint16_t>(*v);
        break;
      }
      case kTlsCa:
        o.tls_ca_file = arg;
        break;
      case kClusterKeyFile:
        o.cluster_key_file = arg;
        break;
      case kForeground:
        o.daemonize = false;
        break;
      case kDaemonize:
        o.daemonize = true;
        break;
      case 'h':
        o.help = true;
        return o;
      case ':':
        return Bad(std::string("option '") + argv[optind - 1] + "' requires an argument");
      default:
        return Bad(std::string("unrecognized option '") + argv[optind - 1] + "'");
    }
  }
  if (optind < argc) return Bad(std::string("unexpected argument '") + argv[optind] + "'");
  if (o.controller.empty()) return Bad("--controller HOST:PORT is required");
  o.controllers.clear();
  for (const std::string& one : Split(o.controller, ',')) {
    const std::string c(Trim(one));
    const size_t colon = c.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == c.size() ||
        !ParseUint(c.substr(colon + 1)) || *ParseUint(c.substr(colon + 1)) > 65535 ||
        c.find_first_of(" \t") != std::string::npos) {
      return Bad("--controller must be HOST:PORT (or several, separated by commas), got '" +
                 o.controller + "'");
    }
    o.controllers.push_back(c);
  }
  if (o.node_name.empty()) return Bad("--name NODE is required");
  if (o.state_dir.empty()) return Bad("--state-dir DIR is required");
  if (o.tls_ca_file.empty()) return Bad("--tls-ca FILE (the cluster CA) is required");
  if (o.cluster_key_file.empty()) return Bad("--cluster-key-file FILE is required");
  if (!cpus_given) o.cpus = HostCpuCount();
  if (!memory_given) o.memory_mb = HostMemoryMB() > 0 ? HostMemoryMB() : 1;
  return o;
}

}  // namespace shoal::agent
