#include "agent/agent_options.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "agent/host_info.h"

namespace shoal::agent {
namespace {

// With the cluster's CA and key (every agent needs them) unless `with_tls` is false.
Result<AgentOptions> Parse(std::initializer_list<const char*> args, bool with_tls = true) {
  std::vector<std::string> words = {"shoal-agent"};
  if (with_tls) words.insert(words.end(), {"--tls-ca", "/c/ca.pem", "--cluster-key-file", "/c/k"});
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  return ParseAgentOptions(static_cast<int>(words.size()), argv.data());
}

TEST(AgentOptionsTest, RequiredOnlyTakesHostDefaults) {
  Result<AgentOptions> o = Parse({"--controller", "ctl:7000", "--name", "n1", "--state-dir", "/s"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->controller, "ctl:7000");
  EXPECT_EQ(o->node_name, "n1");
  EXPECT_EQ(o->state_dir, "/s");
  EXPECT_EQ(o->cpus, HostCpuCount());
  EXPECT_GT(o->memory_mb, 0u);
  EXPECT_EQ(o->gpus, 0u);
  EXPECT_FALSE(o->daemonize);
  EXPECT_EQ(o->tls_ca_file, "/c/ca.pem");
  EXPECT_EQ(o->cluster_key_file, "/c/k");
}

TEST(AgentOptionsTest, TheClusterCaAndKeyAreRequired) {
  auto message = [](Result<AgentOptions> r) {
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(message(Parse({"--controller", "h:1", "--name", "n", "--state-dir", "d"}, false)),
            "shoal-agent: --tls-ca FILE (the cluster CA) is required");
  EXPECT_EQ(message(Parse({"--controller", "h:1", "--name", "n", "--state-dir", "d", "--tls-ca",
                           "ca.pem"},
                          false)),
            "shoal-agent: --cluster-key-file FILE is required");
}

TEST(AgentOptionsTest, EveryOption) {
  Result<AgentOptions> o = Parse({"--controller=h:1",
                                  "--name",
                                  "gpu3",
                                  "--state-dir",
                                  "d",
                                  "--cpus",
                                  "8",
                                  "--memory-mb",
                                  "16000",
                                  "--gpus",
                                  "2",
                                  "--gpu-type",
                                  "a100",
                                  "--features",
                                  "fast, ib,",
                                  "--address",
                                  "10.0.0.3",
                                  "--log-file",
                                  "/tmp/a.log",
                                  "--daemonize"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->cpus, 8u);
  EXPECT_EQ(o->memory_mb, 16000u);
  EXPECT_EQ(o->gpus, 2u);
  EXPECT_EQ(o->gpu_type, "a100");
  EXPECT_EQ(o->features, (std::vector<std::string>{"fast", "ib"}));
  EXPECT_EQ(o->address, "10.0.0.3");
  EXPECT_EQ(o->log.file, "/tmp/a.log");
  EXPECT_TRUE(o->daemonize);
}

TEST(AgentOptionsTest, ErrorsAreClear) {
  auto message = [](Result<AgentOptions> r) {
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(message(Parse({"--name", "n", "--state-dir", "d"})),
            "shoal-agent: --controller HOST:PORT is required");
  EXPECT_EQ(message(Parse({"--controller", "nohostport", "--name", "n", "--state-dir", "d"})),
            "shoal-agent: --controller must be HOST:PORT (or several, separated by commas), got "
            "'nohostport'");
  for (const char* bad : {"a:1,", "a:1,b", "a:1,:2", "a:99999", "a:1,b:x"}) {
    EXPECT_NE(message(Parse({"--controller", bad, "--name", "n", "--state-dir", "d"}))
                  .find("--controller must be HOST:PORT"),
              std::string::npos)
        << bad;
  }
  Result<AgentOptions> two =
      Parse({"--controller", "ctl1:6817, ctl2:6817", "--name", "n", "--state-dir", "/s", "--tls-ca",
             "/ca", "--cluster-key-file", "/k"});
  ASSERT_TRUE(two.ok()) << two.status().message();
  EXPECT_EQ(two->controllers, (std::vector<std::string>{"ctl1:6817", "ctl2:6817"}));
  EXPECT_EQ(
      message(Parse({"--controller", "h:1", "--name", "n", "--state-dir", "d", "--cpus", "0"})),
      "shoal-agent: invalid --cpus '0'");
  EXPECT_EQ(message(Parse({"--bogus"})), "shoal-agent: unrecognized option '--bogus'");
  EXPECT_EQ(message(Parse({"--controller"})),
            "shoal-agent: option '--controller' requires an argument");
  EXPECT_EQ(message(Parse({"--controller", "h:1", "--name", "n", "--state-dir", "d", "extra"})),
            "shoal-agent: unexpected argument 'extra'");
}

TEST(AgentOptionsTest, Logging) {
  Result<AgentOptions> o =
      Parse({"--controller", "h:1", "--name", "n", "--state-dir", "d", "--log-level", "debug2",
             "--log-format", "json", "--log-max-size", "10M", "--log-max-files", "2"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->log.component, "agent");
  EXPECT_EQ(o->log.level, spdlog::level::trace);
  EXPECT_EQ(o->log.format, LogFormat::kJson);
  EXPECT_EQ(o->log.max_bytes, 10u << 20);
  EXPECT_EQ(o->log.max_files, 2u);
  auto message = [](Result<AgentOptions> r) {
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(message(Parse({"--log-level", "loud"})),
            "shoal-agent: invalid log level 'loud' (expected quiet, fatal, error, warning, info, "
            "verbose, debug, debug2-debug5 or trace)");
  EXPECT_EQ(message(Parse({"--log-max-files", "x"})), "shoal-agent: invalid --log-max-files 'x'");
}

TEST(AgentOptionsTest, Help) {
  Result<AgentOptions> o = Parse({"--help"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->help);
}

// `shoal join` writes such a file; the unit starts the agent with --config.
TEST(AgentOptionsTest, ConfigFileGivesDefaultsTheCommandLineOverrides) {
  const std::string path = ::testing::TempDir() + "agent_options_test." +
                           std::to_string(getpid()) + ".conf";
  {
    std::ofstream out(path);
    out << "# written by shoal join\n"
           "controller = ctl:6817\n"
           "name=node7\n"
           "state-dir=/var/lib/shoal/agent   # trailing comment\n"
           "tls-ca=/etc/shoal/ca.pem\n"
           "cluster-key-file=/etc/shoal/cluster.key\n"
           "\n"
           "daemonize=yes\n";
  }
  Result<AgentOptions> o = Parse({"--config", path.c_str(), "--name", "other"}, false);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->controller, "ctl:6817");
  EXPECT_EQ(o->node_name, "other");
  EXPECT_EQ(o->state_dir, "/var/lib/shoal/agent");
  EXPECT_EQ(o->tls_ca_file, "/etc/shoal/ca.pem");
  EXPECT_EQ(o->cluster_key_file, "/etc/shoal/cluster.key");
  EXPECT_TRUE(o->daemonize);

  auto message = [](Result<AgentOptions> r) {
    return r.ok() ? std::string("ok") : r.status().message();
  };
  {
    std::ofstream out(path);
    out << "controller=ctl:6817\nbogus=1\n";
  }
  EXPECT_EQ(message(Parse({"--config", path.c_str()}, false)),
            "shoal-agent: " + path + ":2: unknown key 'bogus' (the long options' names)");
  {
    std::ofstream out(path);
    out << "just words\n";
  }
  const std::string joined = "--config=" + path;
  EXPECT_EQ(message(Parse({joined.c_str()}, false)),
            "shoal-agent: " + path + ":1: expected KEY=VALUE, got 'just words'");
  unlink(path.c_str());
  EXPECT_EQ(message(Parse({"--config", path.c_str()}, false)),
            "shoal-agent: cannot read config file " + path);
}

}  // namespace
}  // namespace shoal::agent
