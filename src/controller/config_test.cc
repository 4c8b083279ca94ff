#include "controller/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace shoal {
namespace {

using Names = std::vector<std::string>;

ControllerConfig Parse(std::string_view text) {
  auto r = ParseControllerConfig(text, "slurm.conf");
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : ControllerConfig{};
}

// The error for `text`, which must be InvalidArgument naming slurm.conf:<line>.
std::string ParseError(std::string_view text, int line) {
  auto r = ParseControllerConfig(text, "slurm.conf");
  EXPECT_FALSE(r.ok()) << "accepted: " << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << text;
  const std::string prefix = "slurm.conf:" + std::to_string(line) + ":";
  EXPECT_EQ(r.status().message().rfind(prefix, 0), 0u)
      << "'" << r.status().message() << "' does not start with " << prefix;
  return r.status().message();
}

Names NodeNames(const ControllerConfig& c) {
  Names names;
  for (const Node& n : c.nodes) names.push_back(n.name);
  return names;
}

TEST(ControllerConfigTest, EmptyFileGivesDefaults) {
  ControllerConfig c = Parse("# nothing here\n\n");
  EXPECT_EQ(c.cluster_name, "shoal");
  EXPECT_TRUE(c.nodes.empty());
  EXPECT_TRUE(c.partitions.empty());
  EXPECT_TRUE(c.warnings.empty());
  EXPECT_EQ(c.max_array_size, 1001u);
  EXPECT_TRUE(c.requeue_default);

  std::vector<Partition> parts = EffectivePartitions(c);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].name, "debug");
  EXPECT_TRUE(parts[0].is_default);
  EXPECT_TRUE(parts[0].all_nodes);
  EXPECT_TRUE(parts[0].up);
  EXPECT_EQ(parts[0].max_time_s, -1);
}

TEST(ControllerConfigTest, LoggingKeys) {
  ControllerConfig c = Parse("SlurmctldDebug=debug2\nSlurmctldLogFile=/var/log/shoal/ctl.log\n");
  EXPECT_EQ(c.log_level, "debug2");
  EXPECT_EQ(c.log_file, "/var/log/shoal/ctl.log");
  EXPECT_NE(ParseError("SlurmctldDebug=loud\n", 1).find("invalid log level 'loud'"),
            std::string::npos);
  EXPECT_NE(ParseError("\nSlurmctldLogFile=ctl.log\n", 2).find("absolute path"),
            std::string::npos);
}

TEST(ControllerConfigTest, TypicalFile) {
  ControllerConfig c = Parse(
      "ClusterName=MyCluster\n"
      "NodeName=gpu[01-02] CPUs=32 RealMemory=256000 Gres=gpu:a100:4 Feature=ssd,ib "
      "State=UNKNOWN\n"
      "NodeName=cpu[1-3],big CPUs=16 RealMemory=64000\n"
      "PartitionName=gpu Nodes=gpu[01-02] MaxTime=1-00:00:00 DefaultTime=30 State=UP\n"
      "PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE MaxNodes=4\n");
  EXPECT_EQ(c.cluster_name, "mycluster");
  EXPECT_TRUE(c.warnings.empty());
  ASSERT_EQ(NodeNames(c), (Names{"gpu01", "gpu02", "cpu1", "cpu2", "cpu3", "big"}));
  const Node& g = c.nodes[1];
  EXPECT_EQ(g.cpus, 32u);
  EXPECT_EQ(g.memory_mb, 256000u);
  EXPECT_EQ(g.gpus, 4u);
  EXPECT_EQ(g.gpu_type, "a100");
  EXPECT_EQ(g.gpu_busy, std::vector<bool>(4, false));
  EXPECT_EQ(g.features, (Names{"ssd", "ib"}));
  EXPECT_TRUE(g.configured);
  EXPECT_FALSE(g.responding);
  const Node& b = c.nodes[5];
  EXPECT_EQ(b.cpus, 16u);
  EXPECT_EQ(b.memory_mb, 64000u);
  EXPECT_EQ(b.gpus, 0u);
  EXPECT_TRUE(b.gpu_busy.empty());
  EXPECT_TRUE(b.features.empty());

  ASSERT_EQ(c.partitions.size(), 2u);
  const Partition& gp = c.partitions[0];
  EXPECT_EQ(gp.name, "gpu");
  EXPECT_EQ(gp.nodes, (Names{"gpu01", "gpu02"}));
  EXPECT_FALSE(gp.all_nodes);
  EXPECT_FALSE(gp.is_default);
  EXPECT_EQ(gp.max_time_s, 86400);
  EXPECT_EQ(gp.default_time_s, 1800);
  EXPECT_TRUE(gp.up);
  const Partition& main = c.partitions[1];
  EXPECT_TRUE(main.all_nodes);
  EXPECT_TRUE(main.is_default);
  EXPECT_EQ(main.max_time_s, -1);
  EXPECT_EQ(main.max_nodes, 4u);

  std::vector<Partition> parts = EffectivePartitions(c);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_FALSE(parts[0].is_default);
  EXPECT_TRUE(parts[1].is_default);
}

TEST(ControllerConfigTest, KeysAreCaseInsensitive) {
  ControllerConfig c = Parse(
      "clustername=x\n"
      "nodename=n1 cpus=2 realmemory=10 features=a\n"
      "partitionname=p nodes=all default=yes maxtime=unlimited state=down\n");
  EXPECT_EQ(c.cluster_name, "x");
  ASSERT_EQ(c.nodes.size(), 1u);
  EXPECT_EQ(c.nodes[0].cpus, 2u);
  EXPECT_EQ(c.nodes[0].features, (Names{"a"}));
  ASSERT_EQ(c.partitions.size(), 1u);
  EXPECT_TRUE(c.partitions[0].all_nodes);
  EXPECT_TRUE(c.partitions[0].is_default);
  EXPECT_FALSE(c.partitions[0].up);
}

TEST(ControllerConfigTest, GresWithoutType) {
  ControllerConfig c = Parse("NodeName=n1 Gres=gpu:2\n");
  ASSERT_EQ(c.nodes.size(), 1u);
  EXPECT_EQ(c.nodes[0].gpus, 2u);
  EXPECT_EQ(c.nodes[0].gpu_type, "");
  EXPECT_EQ(c.nodes[0].gpu_busy.size(), 2u);
}

TEST(ControllerConfigTest, TimeFormats) {
  struct Case {
    std::string text;
    int64_t seconds;
  };
  for (const Case& t : {Case{"60", 3600}, Case{"1:30:00", 5400}, Case{"10:30", 630},
                        Case{"2-12", 2 * 86400 + 12 * 3600}, Case{"1-0:0:1", 86401},
                        Case{"INFINITE", -1}, Case{"UNLIMITED", -1}, Case{"infinite", -1}}) {
    ControllerConfig c = Parse("PartitionName=p MaxTime=" + t.text + " DefaultTime=" + t.text);
    ASSERT_EQ(c.partitions.size(), 1u) << t.text;
    EXPECT_EQ(c.partitions[0].max_time_s, t.seconds) << t.text;
    EXPECT_EQ(c.partitions[0].default_time_s, t.seconds) << t.text;
  }
  ControllerConfig c = Parse("PriorityMaxAge=7-0\n");
  EXPECT_EQ(c.weights.max_age_s, 7 * 86400);
}

TEST(ControllerConfigTest, PartitionStates) {
  ControllerConfig c = Parse(
      "PartitionName=a State=UP\n"
      "PartitionName=b State=DOWN\n"
      "PartitionName=c State=drain\n"
      "PartitionName=d State=INACTIVE\n"
      "PartitionName=e\n");
  ASSERT_EQ(c.partitions.size(), 5u);
  auto state = [&](size_t i) {
    const Partition& p = c.partitions[i];
    return std::vector<bool>{p.up, p.drain, p.inactive};
  };
  EXPECT_EQ(state(0), (std::vector<bool>{true, false, false}));
  EXPECT_EQ(state(1), (std::vector<bool>{false, false, false}));
  EXPECT_EQ(state(2), (std::vector<bool>{true, true, false}));
  EXPECT_EQ(state(3), (std::vector<bool>{false, false, true}));
  EXPECT_EQ(state(4), (std::vector<bool>{true, false, false}));
}

TEST(ControllerConfigTest, GlobalSettings) {
  ControllerConfig c = Parse(
      "SlurmdTimeout=30\nKillWait=5\nMinJobAge=60\nMaxArraySize=20001\nMaxJobCount=500\n"
      "HeartbeatInterval=250\nJobRequeue=0\nSchedulerType=sched/backfill\n"
      "PriorityType=priority/basic\nPriorityWeightAge=1000\nPriorityWeightJobSize=10\n"
      "PriorityWeightPartition=100\n"
      "HealthCheckProgram=/usr/sbin/nhc HealthCheckInterval=300\n"
      "TaskPlugin=task/affinity,task/cgroup\nConstrainRAMSpace=yes\n");
  EXPECT_TRUE(c.task_cgroup);
  EXPECT_TRUE(c.constrain_ram_space);
  EXPECT_EQ(c.task_plugin, "task/affinity,task/cgroup");
  EXPECT_FALSE(Parse("").task_cgroup);  // Slurm's default: task/none
  EXPECT_FALSE(Parse("TaskPlugin=task/affinity").task_cgroup);
  EXPECT_EQ(c.health_check_program, "/usr/sbin/nhc");
  EXPECT_EQ(c.health_check_interval_s, 300u);
  EXPECT_TRUE(Parse("").health_check_program.empty());
  EXPECT_EQ(Parse("").health_check_interval_s, 0u);
  EXPECT_TRUE(Parse("").requeue_default);  // JobRequeue=1 unless said otherwise
  EXPECT_EQ(c.node_timeout_s, 30);
  EXPECT_EQ(c.kill_wait_s, 5u);
  EXPECT_EQ(c.min_job_age_s, 60);
  EXPECT_EQ(c.max_array_size, 20001u);
  EXPECT_EQ(c.max_job_count, 500u);
  EXPECT_EQ(c.heartbeat_interval_ms, 250u);
  EXPECT_FALSE(c.requeue_default);
  EXPECT_EQ(c.scheduler_type, "sched/backfill");
  EXPECT_EQ(c.priority_type, "priority/basic");
  EXPECT_EQ(c.weights.age, 1000u);
  EXPECT_EQ(c.weights.job_size, 10u);
  EXPECT_EQ(c.weights.partition, 100u);
  EXPECT_TRUE(c.warnings.empty());
}

TEST(ControllerConfigTest, SchedulerPolicies) {
  SchedulerOptions o = SchedulerOptionsFor(Parse(""));
  EXPECT_EQ(o.backfill, "easy");  // Slurm's default SchedulerType is sched/backfill
  EXPECT_EQ(o.queue_order, "priority");
  o = SchedulerOptionsFor(Parse("SchedulerType=sched/builtin\nPriorityType=priority/basic\n"));
  EXPECT_EQ(o.backfill, "none");
  EXPECT_EQ(o.queue_order, "fcfs");
  EXPECT_TRUE(Scheduler::Create(o).ok());
}

TEST(ControllerConfigTest, SchedulerParameters) {
  SchedulerOptions o = SchedulerOptionsFor(Parse(""));
  EXPECT_EQ(o.max_reservations, 500u);  // Slurm's bf_max_job_test
  ControllerConfig c = Parse(
      "SchedulerParameters=defer,bf_interval=10,bf_policy=conservative,bf_max_job_test=200,"
      "default_queue_depth=1000\n");
  EXPECT_TRUE(c.warnings.empty()) << c.warnings.front();
  o = SchedulerOptionsFor(c);
  EXPECT_EQ(o.backfill, "conservative");
  EXPECT_EQ(o.max_reservations, 200u);
  EXPECT_TRUE(Scheduler::Create(o).ok());
  EXPECT_EQ(SchedulerOptionsFor(Parse("SchedulerParameters=bf_policy=easy-sjbf\n")).backfill,
            "easy-sjbf");
  // sched/builtin never backfills, whatever bf_policy says.
  EXPECT_EQ(SchedulerOptionsFor(
                Parse("SchedulerType=sched/builtin\nSchedulerParameters=bf_policy=conservative\n"))
                .backfill,
            "none");

  c = Parse("SchedulerParameters=bf_frobnicate=3\n");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("unknown SchedulerParameters option 'bf_frobnicate'"),
            std::string::npos)
      << c.warnings[0];
  EXPECT_NE(ParseError("SchedulerParameters=bf_policy=greedy\n", 1).find("bf_policy 'greedy'"),
            std::string::npos);
  EXPECT_NE(ParseError("\nSchedulerParameters=bf_max_job_test=lots\n", 2).find("bf_max_job_test"),
            std::string::npos);
  ParseError("SchedulerParameters=bf_max_job_test=0\n", 1);

  // Slurm's limit on automatic requeues: 5 unless given; 0 holds a job at its first failure.
  EXPECT_EQ(Parse("").max_batch_requeue, 5u);
  c = Parse("SchedulerParameters=bf_continue,max_batch_requeue=2\n");
  EXPECT_TRUE(c.warnings.empty());
  EXPECT_EQ(c.max_batch_requeue, 2u);
  EXPECT_EQ(Parse("SchedulerParameters=max_batch_requeue=0\n").max_batch_requeue, 0u);
  EXPECT_NE(
      ParseError("\n\nSchedulerParameters=max_batch_requeue=-1\n", 3).find("max_batch_requeue"),
      std::string::npos);
  ParseError("SchedulerParameters=max_batch_requeue=many\n", 1);
}

TEST(ControllerConfigTest, PriorityKeys) {
  ControllerConfig c = Parse(
      "PriorityType=priority/multifactor\n"
      "PriorityWeightAge=1000 PriorityWeightFairshare=10000 PriorityWeightJobSize=10\n"
      "PriorityWeightPartition=100 PriorityWeightQOS=2000 PriorityWeightAssoc=5\n"
      "PriorityMaxAge=1-0 PriorityFavorSmall=YES\n"
      "PriorityDecayHalfLife=2-12 PriorityUsageResetPeriod=monthly PriorityCalcPeriod=2\n");
  EXPECT_EQ(c.weights.age, 1000u);
  EXPECT_EQ(c.weights.fairshare, 10000u);
  EXPECT_EQ(c.weights.job_size, 10u);
  EXPECT_EQ(c.weights.partition, 100u);
  EXPECT_EQ(c.weights.qos, 2000u);
  EXPECT_EQ(c.weights.assoc, 5u);
  EXPECT_EQ(c.weights.max_age_s, 86400);
  EXPECT_TRUE(c.weights.favor_small);
  EXPECT_EQ(c.decay_half_life_s, 2 * 86400 + 12 * 3600);
  EXPECT_EQ(c.usage_reset, UsageResetPeriod::kMonthly);
  EXPECT_EQ(c.priority_calc_period_s, 120);  // minutes, as in Slurm
  EXPECT_TRUE(c.warnings.empty());

  ControllerConfig d = Parse("PriorityDecayHalfLife=0\n");
  EXPECT_EQ(d.decay_half_life_s, 0);  // no decay
  ControllerConfig defaults = Parse("");
  EXPECT_EQ(defaults.decay_half_life_s, 7 * 86400);
  EXPECT_EQ(defaults.priority_calc_period_s, 300);
  EXPECT_EQ(defaults.usage_reset, UsageResetPeriod::kNone);
  EXPECT_FALSE(defaults.weights.favor_small);
}

TEST(ControllerConfigTest, QosAndAccountLines) {
  ControllerConfig c = Parse(
      "QOS=normal Priority=10\n"
      "QOS=High Priority=100 Preempt=normal,LOW PreemptMode=requeue GraceTime=30 "
      "MaxJobsPerUser=10 MaxSubmitJobsPerUser=20 MaxWall=1:00:00 UsageFactor=2.5\n"
      "QOS=low MaxJobs=UNLIMITED MaxWallDurationPerJob=UNLIMITED PreemptMode=CANCEL "
      "Description=scavenger\n"
      "Account=physics Fairshare=3 Priority=7\n"
      "Account=chem Shares=1\n");
  ASSERT_EQ(c.qos.size(), 3u);
  EXPECT_EQ(c.qos[0].name, "normal");
  EXPECT_EQ(c.qos[0].priority, 10u);
  const Qos& high = c.qos[1];
  EXPECT_EQ(high.name, "high");  // names are kept in lower case, as Slurm does
  EXPECT_EQ(high.priority, 100u);
  EXPECT_EQ(high.preempt, (Names{"normal", "low"}));
  EXPECT_EQ(high.preempt_mode, PreemptMode::kRequeue);
  EXPECT_EQ(high.grace_time_s, 30);
  EXPECT_EQ(high.max_jobs_per_user, 10u);
  EXPECT_EQ(high.max_submit_jobs_per_user, 20u);
  EXPECT_EQ(high.max_wall_s, 3600);
  EXPECT_DOUBLE_EQ(high.usage_factor, 2.5);
  const Qos& low = c.qos[2];
  EXPECT_EQ(low.max_jobs_per_user, 0u);
  EXPECT_EQ(low.max_wall_s, -1);
  EXPECT_EQ(low.preempt_mode, PreemptMode::kCancel);
  ASSERT_EQ(c.accounts.size(), 2u);
  EXPECT_EQ(c.accounts[0].account.name, "physics");
  EXPECT_EQ(c.accounts[0].account.parent, "root");
  EXPECT_NE(c.accounts[0].account.defined_in.find(":"), std::string::npos);
  EXPECT_EQ(c.accounts[0].assoc.shares, 3u);
  EXPECT_EQ(c.accounts[0].assoc.priority, 7u);
  EXPECT_EQ(c.accounts[1].assoc.shares, 1u);
  EXPECT_TRUE(c.warnings.empty());

  // Without QOS lines there is exactly "normal"; unknown QOS keys warn.
  ControllerConfig d = Parse("QOS=x Colour=red\n");
  ASSERT_EQ(d.qos.size(), 2u);
  EXPECT_EQ(d.qos[0].name, "normal");
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_NE(d.warnings[0].find("Colour"), std::string::npos);
  EXPECT_EQ(Parse("").qos.size(), 1u);
}

TEST(ControllerConfigTest, QosErrorsNameTheirLine) {
  // A Preempt list may name a QOS defined further down; an unknown one is reported at the line
  // of the QOS that names it.
  EXPECT_EQ(Parse("QOS=a Preempt=b\nQOS=b\n").qos.size(), 3u);
  std::string msg = ParseError("ClusterName=x\nQOS=a Preempt=b\nQOS=c\n", 2);
  EXPECT_NE(msg.find("unknown QOS 'b'"), std::string::npos) << msg;
  msg = ParseError("QOS=a\nQOS=A Priority=2\n", 2);
  EXPECT_NE(msg.find("defined twice"), std::string::npos) << msg;
  msg = ParseError("QOS=normal\nQOS=normal\n", 2);
  EXPECT_NE(msg.find("defined twice"), std::string::npos) << msg;
  msg = ParseError("Account=a\nAccount=a\n", 2);
  EXPECT_NE(msg.find("defined twice"), std::string::npos) << msg;
}

// Found by fuzz_slurm_conf: each node was checked against every node before it, so
// NodeName=n[1-60000] took minutes (a hang to the fuzzer).
TEST(ControllerConfigTest, ManyNodesAndDuplicates) {
  EXPECT_EQ(Parse("NodeName=n[1-100000] CPUs=4\n").nodes.size(), 100000u);
  std::string msg = ParseError("NodeName=n[1-3]\nNodeName=n[3-4]\n", 2);
  EXPECT_NE(msg.find("node 'n3' is defined twice"), std::string::npos) << msg;
  msg = ParseError("NodeName=a,b,a\n", 1);
  EXPECT_NE(msg.find("node 'a' is defined twice"), std::string::npos) << msg;
}

TEST(ControllerConfigTest, Preemption) {
  ControllerConfig off = Parse("");
  EXPECT_FALSE(off.PreemptEnabled());
  EXPECT_FALSE(SchedulerOptionsFor(off).preempt);
  EXPECT_FALSE(SchedulerOptionsFor(Parse("PreemptType=preempt/none\nPreemptMode=OFF\n")).preempt);

  SchedulerOptions o = SchedulerOptionsFor(Parse("PreemptType=preempt/qos\nPreemptMode=CANCEL\n"));
  EXPECT_TRUE(o.preempt);
  EXPECT_EQ(o.preempt_mode, PreemptMode::kCancel);
  o = SchedulerOptionsFor(Parse("PreemptType=preempt/qos\nPreemptMode=requeue\nJobRequeue=0\n"));
  EXPECT_EQ(o.preempt_mode, PreemptMode::kRequeue);
  EXPECT_FALSE(o.requeue_allowed);
  EXPECT_TRUE(Scheduler::Create(o).ok());

  // As slurmctld refuses them: preempt/qos without a mode that preempts, a mode without
  // preempt/qos. The error names the line of the later of the two keys.
  std::string msg = ParseError("ClusterName=x\nPreemptType=preempt/qos\n", 2);
  EXPECT_NE(msg.find("PreemptType and PreemptMode values incompatible"), std::string::npos) << msg;
  ParseError("PreemptType=preempt/qos\nPreemptMode=OFF\n", 2);
  ParseError("PreemptMode=REQUEUE\n", 1);
  ParseError("PreemptMode=CANCEL\nPreemptType=preempt/none\n", 2);
}

TEST(ControllerConfigTest, UnknownKeysWarnAndAreIgnored) {
  ControllerConfig c = Parse(
      "ClusterName=a\n"
      "SlurmctldPort=6817 AuthType=auth/munge\n"
      "NodeName=n1 CPUs=2 Sockets=1 CoresPerSocket=2 Colour=blue\n"
      "PartitionName=p Nodes=n1 OverSubscribe=NO\n");
  ASSERT_EQ(c.warnings.size(), 4u);
  EXPECT_EQ(c.warnings[0].rfind("slurm.conf:2:", 0), 0u) << c.warnings[0];
  EXPECT_NE(c.warnings[0].find("SlurmctldPort"), std::string::npos);
  EXPECT_NE(c.warnings[1].find("AuthType"), std::string::npos);
  EXPECT_EQ(c.warnings[2].rfind("slurm.conf:3:", 0), 0u) << c.warnings[2];
  EXPECT_NE(c.warnings[2].find("Colour"), std::string::npos);
  EXPECT_EQ(c.warnings[3].rfind("slurm.conf:4:", 0), 0u) << c.warnings[3];
  EXPECT_NE(c.warnings[3].find("OverSubscribe"), std::string::npos);
  ASSERT_EQ(c.nodes.size(), 1u);
  EXPECT_EQ(c.nodes[0].cpus, 2u);
  ASSERT_EQ(c.partitions.size(), 1u);
}

TEST(ControllerConfigTest, AgentSecurityKeys) {
  ControllerConfig c = Parse("");
  EXPECT_EQ(c.cluster_key_file, "");
  EXPECT_TRUE(c.tls_cert_names.empty());
  c = Parse(
      "ClusterKeyFile=/etc/shoal/cluster.key\nTLSCAFile=/etc/shoal/ca.pem\n"
      "TLSCertFile=/etc/shoal/ctl.pem TLSKeyFile=/etc/shoal/ctl.key\n"
      "TLSCertNames=ctl1.example.org,10.0.0.5\n");
  EXPECT_EQ(c.cluster_key_file, "/etc/shoal/cluster.key");
  EXPECT_EQ(c.tls_ca_file, "/etc/shoal/ca.pem");
  EXPECT_EQ(c.tls_cert_file, "/etc/shoal/ctl.pem");
  EXPECT_EQ(c.tls_key_file, "/etc/shoal/ctl.key");
  EXPECT_EQ(c.tls_cert_names, (std::vector<std::string>{"ctl1.example.org", "10.0.0.5"}));
  EXPECT_NE(ParseError("ClusterKeyFile=cluster.key\n", 1).find("File must be an absolute"),
            std::string::npos);
  EXPECT_NE(ParseError("TLSKeyFile=\n", 1).find("TLSKeyFile"), std::string::npos);
  EXPECT_NE(ParseError("TLSCertNames=a,,b\n", 1).find("TLSCertNames"), std::string::npos);
}

TEST(ControllerConfigTest, StorageKeys) {
  ControllerConfig c = Parse("");
  EXPECT_EQ(c.storage_type, "sqlite");
  EXPECT_EQ(c.storage_loc, "");
  EXPECT_EQ(c.storage_url, "");
  c = Parse("StorageType=SQLite\nStorageLoc=/var/lib/shoal/state.db\n");
  EXPECT_EQ(c.storage_type, "sqlite");
  EXPECT_EQ(c.storage_loc, "/var/lib/shoal/state.db");
  c = Parse("StorageType=postgresql\nStorageURL=postgresql://shoal@db1:5433/shoal\n");
  EXPECT_EQ(c.storage_type, "postgresql");
  EXPECT_EQ(c.storage_url, "postgresql://shoal@db1:5433/shoal");
  c = Parse("StorageURL=\"host=/run/postgresql dbname=shoal\"\nStorageType=postgresql\n");
  EXPECT_EQ(c.storage_url, "host=/run/postgresql dbname=shoal");
}

TEST(ControllerConfigTest, SeveralSlurmctldHostsMeanHighAvailability) {
  ControllerConfig c = Parse("");
  EXPECT_FALSE(c.HighAvailability());
  EXPECT_EQ(c.slurmctld_timeout_s, 3u);
  c = Parse(
      "SlurmctldHost=ctl1(10.0.0.1)\nSlurmctldHost=ctl2\nSlurmctldTimeout=5\n"
      "StorageType=postgresql\nStorageURL=postgresql://shoal@db1/shoal\n");
  ASSERT_EQ(c.controller_hosts.size(), 2u);
  EXPECT_TRUE(c.HighAvailability());
  EXPECT_EQ(c.controller_hosts[0].name, "ctl1");
  EXPECT_EQ(c.controller_hosts[0].Address(), "10.0.0.1");
  EXPECT_EQ(c.controller_hosts[1].name, "ctl2");
  EXPECT_EQ(c.controller_hosts[1].Address(), "ctl2");
  EXPECT_EQ(c.slurmctld_timeout_s, 5u);
  // One SlurmctldHost needs nothing more, whatever the store.
  EXPECT_EQ(Parse("SlurmctldHost=ctl1\n").controller_hosts.size(), 1u);
}

TEST(ControllerConfigTest, SlurmctldHostErrorsNameTheirLine) {
  const std::string pg = "StorageType=postgresql\nStorageURL=postgresql://shoal@db1/shoal\n";
  // Two controllers cannot share a SQLite file: refused at the second SlurmctldHost.
  EXPECT_NE(ParseError("ClusterName=x\nSlurmctldHost=a\nSlurmctldHost=b\n", 3)
                .find("more than one SlurmctldHost needs StorageType=postgresql"),
            std::string::npos);
  EXPECT_NE(ParseError(pg + "SlurmctldHost=a\nSlurmctldHost=a\n", 4).find("listed twice"),
            std::string::npos);
  EXPECT_NE(ParseError(pg + "SlurmctldHost=a(10.0.0.1)\nSlurmctldHost=b(10.0.0.1)\n", 4)
                .find("has the address of 'a'"),
            std::string::npos);
  EXPECT_NE(ParseError(pg + "SlurmctldHost=a(10.0.0.1\n", 3).find("NAME(ADDR)"), std::string::npos);
  EXPECT_NE(ParseError(pg + "SlurmctldHost=a(b/c)\n", 3).find("invalid address"),
            std::string::npos);
  EXPECT_NE(ParseError(pg + "SlurmctldHost=\n", 3).find("invalid SlurmctldHost name"),
            std::string::npos);
  EXPECT_NE(ParseError(pg + "SlurmctldTimeout=0\n", 3).find("between 1 and 3600"),
            std::string::npos);
  EXPECT_NE(ParseError(pg + "SlurmctldTimeout=99999\n", 3).find("too large"), std::string::npos);
  EXPECT_NE(ParseError(pg + "SlurmctldTimeout=3s\n", 3).find("expected a number"),
            std::string::npos);
}

TEST(ControllerConfigTest, StorageErrorsNameTheirLine) {
  EXPECT_NE(ParseError("ClusterName=x\nStorageType=mysql\n", 2).find("StorageType 'mysql'"),
            std::string::npos);
  EXPECT_NE(ParseError("StorageLoc=state.db\n", 1).find("absolute"), std::string::npos);
  EXPECT_NE(ParseError("StorageType=postgresql\nStorageURL=\n", 2).find("StorageURL"),
            std::string::npos);
  EXPECT_NE(ParseError("StorageType=postgresql\nStorageURL=\"host=x nonsense=1\"\n", 2)
                .find("invalid StorageURL"),
            std::string::npos);
  EXPECT_NE(ParseError("StorageURL=postgresql://x/y\n", 1).find("StorageType=postgresql"),
            std::string::npos);
  EXPECT_NE(ParseError("\nStorageType=postgresql\n", 2).find("needs StorageURL"),
            std::string::npos);
  EXPECT_NE(ParseError("StorageType=postgresql\nStorageURL=postgresql:///s\nStorageLoc=/x.db\n", 3)
                .find("StorageLoc"),
            std::string::npos);
}

TEST(ControllerConfigTest, BadValuesNameFileAndLine) {
  struct Case {
    std::string line;
    std::string mentions;
  };
  for (const Case& t : {
           Case{"NodeName=n1 CPUs=abc", "CPUs"},
           Case{"NodeName=n1 CPUs=0", "CPUs"},
           Case{"NodeName=n1 CPUs=1000001", "CPUs"},
           Case{"NodeName=n1 RealMemory=-1", "RealMemory"},
           Case{"NodeName=n1 RealMemory=1G", "RealMemory"},
           Case{"NodeName=n1 Gres=mps:100", "Gres"},
           Case{"NodeName=n1 Gres=gpu", "Gres"},
           Case{"NodeName=n1 Gres=gpu:x", "Gres"},
           Case{"NodeName=n1 Gres=gpu:4294967297", "Gres"},
           Case{"NodeName=n[1-", "n[1-"},
           Case{"NodeName=n[3-1]", "3-1"},
           Case{"PartitionName=p Nodes=n[1-", "n[1-"},
           Case{"PartitionName=p Default=maybe", "Default"},
           Case{"PartitionName=p MaxTime=soon", "MaxTime"},
           Case{"PartitionName=p DefaultTime=-5", "DefaultTime"},
           Case{"PartitionName=p State=BROKEN", "BROKEN"},
           Case{"PartitionName=p MaxNodes=many", "MaxNodes"},
           Case{"PartitionName=p MaxNodes=4294967296", "MaxNodes"},
           Case{"PartitionName=p PriorityTier=-1", "PriorityTier"},
           Case{"PartitionName= Nodes=ALL", "PartitionName"},
           Case{"ClusterName=", "ClusterName"},
           Case{"SlurmdTimeout=0", "SlurmdTimeout"},
           Case{"SlurmdTimeout=ten", "SlurmdTimeout"},
           Case{"KillWait=-1", "KillWait"},
           Case{"MaxArraySize=4294967296", "MaxArraySize"},
           Case{"MaxJobCount=lots", "MaxJobCount"},
           Case{"HeartbeatInterval=10", "HeartbeatInterval"},
           Case{"JobRequeue=2", "JobRequeue"},
           Case{"HealthCheckInterval=-1", "HealthCheckInterval"},
           Case{"HealthCheckInterval=5m", "HealthCheckInterval"},
           Case{"HealthCheckInterval=4294967296", "HealthCheckInterval"},
           Case{"HealthCheckProgram=nhc", "HealthCheckProgram"},
           Case{"JobRequeue=yes", "JobRequeue"},
           Case{"SchedulerType=sched/wiki", "SchedulerType"},
           Case{"TaskPlugin=task/affinity,task/bogus", "TaskPlugin"},
           Case{"ConstrainRAMSpace=maybe", "ConstrainRAMSpace"},
           Case{"PriorityType=priority/fairshare", "PriorityType"},
           Case{"PriorityWeightAge=high", "PriorityWeightAge"},
           Case{"PriorityMaxAge=forever", "PriorityMaxAge"},
           Case{"PriorityWeightFairshare=-3", "PriorityWeightFairshare"},
           Case{"PriorityWeightQOS=4294967296", "PriorityWeightQOS"},
           Case{"PriorityWeightAssoc=x", "PriorityWeightAssoc"},
           Case{"PriorityFavorSmall=perhaps", "PriorityFavorSmall"},
           Case{"PriorityDecayHalfLife=soon", "PriorityDecayHalfLife"},
           Case{"PriorityDecayHalfLife=UNLIMITED", "PriorityDecayHalfLife"},
           Case{"PriorityUsageResetPeriod=FORTNIGHTLY", "PriorityUsageResetPeriod"},
           Case{"PriorityCalcPeriod=0", "PriorityCalcPeriod"},
           Case{"PriorityCalcPeriod=-2", "PriorityCalcPeriod"},
           Case{"PreemptType=preempt/partition_prio", "PreemptType"},
           Case{"PreemptMode=SUSPEND,GANG", "PreemptMode"},
           Case{"QOS= Priority=1", "QOS name"},
           Case{"QOS=a,b", "QOS name"},
           Case{"QOS=high Priority=top", "Priority"},
           Case{"QOS=high Preempt=normal,x=y", "Preempt"},
           Case{"QOS=high PreemptMode=SUSPEND", "PreemptMode"},
           Case{"QOS=high GraceTime=-1", "GraceTime"},
           Case{"QOS=high MaxJobsPerUser=-2", "MaxJobsPerUser"},
           Case{"QOS=high MaxSubmitJobsPerUser=many", "MaxSubmitJobsPerUser"},
           Case{"QOS=high MaxWall=long", "MaxWall"},
           Case{"QOS=high MaxWallDurationPerJob=1:xx", "MaxWallDurationPerJob"},
           Case{"QOS=high UsageFactor=-1", "UsageFactor"},
           Case{"QOS=high UsageFactor=1.5x", "UsageFactor"},
           Case{"QOS=high Preempt=nosuch", "nosuch"},
           Case{"QOS=high Preempt=high", "itself"},
           Case{"Account= Fairshare=1", "account name"},
           Case{"Account=a Fairshare=half", "Fairshare"},
           Case{"Account=a Priority=-1", "Priority"},
       }) {
    SCOPED_TRACE(t.line);
    std::string msg = ParseError("ClusterName=ok\n# comment\n" + t.line + "\nKillWait=3\n", 3);
    EXPECT_NE(msg.find(t.mentions), std::string::npos) << msg;
  }
}

TEST(ControllerConfigTest, SyntaxErrorsNameFileAndLine) {
  ParseError("ClusterName=a\nNodeName n1\n", 2);
  ParseError("ClusterName=\"unterminated\n", 1);
}

TEST(ControllerConfigTest, TwoDefaultPartitionsAreRejected) {
  std::string msg = ParseError(
      "PartitionName=a Default=YES\n"
      "PartitionName=b Default=NO\n"
      "PartitionName=c Default=YES\n",
      3);
  EXPECT_NE(msg.find("Default"), std::string::npos) << msg;
  // One Default=YES among several is fine.
  ControllerConfig c = Parse("PartitionName=a\nPartitionName=b Default=YES\n");
  ASSERT_EQ(c.partitions.size(), 2u);
  EXPECT_TRUE(c.partitions[1].is_default);
}

TEST(ControllerConfigTest, DuplicateNamesAreRejected) {
  std::string msg = ParseError("NodeName=n[1-3]\nNodeName=n3 CPUs=8\n", 2);
  EXPECT_NE(msg.find("n3"), std::string::npos) << msg;
  msg = ParseError("PartitionName=p\nPartitionName=q\nPartitionName=p\n", 3);
  EXPECT_NE(msg.find("'p'"), std::string::npos) << msg;
}

TEST(ControllerConfigTest, DefaultLinesSetDefaultsForLaterLines) {
  ControllerConfig c = Parse(
      "NodeName=n1\n"
      "NodeName=DEFAULT CPUs=8 RealMemory=1000 Gres=gpu:2\n"
      "NodeName=n[2-3]\n"
      "NodeName=n4 CPUs=4\n"
      "PartitionName=DEFAULT MaxTime=60 State=DOWN\n"
      "PartitionName=p Nodes=n[1-2]\n"
      "PartitionName=q MaxTime=INFINITE State=UP\n");
  ASSERT_EQ(NodeNames(c), (Names{"n1", "n2", "n3", "n4"}));
  EXPECT_EQ(c.nodes[0].cpus, 1u);
  EXPECT_EQ(c.nodes[1].cpus, 8u);
  EXPECT_EQ(c.nodes[1].memory_mb, 1000u);
  EXPECT_EQ(c.nodes[1].gpus, 2u);
  EXPECT_EQ(c.nodes[1].gpu_busy.size(), 2u);
  EXPECT_EQ(c.nodes[2].cpus, 8u);
  EXPECT_EQ(c.nodes[3].cpus, 4u);
  EXPECT_EQ(c.nodes[3].memory_mb, 1000u);
  ASSERT_EQ(c.partitions.size(), 2u);
  EXPECT_EQ(c.partitions[0].name, "p");
  EXPECT_EQ(c.partitions[0].max_time_s, 3600);
  EXPECT_FALSE(c.partitions[0].up);
  EXPECT_EQ(c.partitions[1].name, "q");
  EXPECT_EQ(c.partitions[1].max_time_s, -1);
  EXPECT_TRUE(c.partitions[1].up);
}

TEST(EffectivePartitionsTest, FirstPartitionIsDefaultWhenNoneIs) {
  ControllerConfig c = Parse("PartitionName=a\nPartitionName=b\n");
  std::vector<Partition> parts = EffectivePartitions(c);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].name, "a");
  EXPECT_TRUE(parts[0].is_default);
  EXPECT_FALSE(parts[1].is_default);
}

TEST(LoadControllerConfigTest, ReadsFileAndNamesItInErrors) {
  std::string tmpl = ::testing::TempDir() + "config_test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string path = tmpl + "/shoal.conf";
  {
    std::ofstream out(path);
    out << "ClusterName=filed\nNodeName=n1 CPUs=zero\n";
  }
  auto r = LoadControllerConfig(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind(path + ":2:", 0), 0u) << r.status().message();
  {
    std::ofstream out(path);
    out << "ClusterName=filed\n";
  }
  r = LoadControllerConfig(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->cluster_name, "filed");
  r = LoadControllerConfig(tmpl + "/missing.conf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  std::filesystem::remove_all(tmpl);
}

TEST(ConfigTest, WebhookLines) {
  ControllerConfig c = Parse("");
  EXPECT_TRUE(c.webhooks.empty());
  EXPECT_EQ(c.webhook_max_age_s, 86400);
  EXPECT_EQ(c.webhook_secret_file, "");
  c = Parse(
      "WebhookURL=https://tracker.example.com/shoal\n"
      "WebhookURL=http://alerts:9000/hook Events=failed,TIMEOUT,node_fail\n"
      "WebhookSecretFile=/etc/shoal/webhook.key\n"
      "WebhookMaxAge=2:00:00\n");
  ASSERT_EQ(c.webhooks.size(), 2u);
  EXPECT_EQ(c.webhooks[0].url, "https://tracker.example.com/shoal");
  EXPECT_TRUE(c.webhooks[0].events.empty());
  EXPECT_TRUE(c.webhooks[0].Wants("running"));
  EXPECT_EQ(c.webhooks[1].url, "http://alerts:9000/hook");
  EXPECT_EQ(c.webhooks[1].events, (Names{"failed", "timeout", "node_fail"}));
  EXPECT_TRUE(c.webhooks[1].Wants("timeout"));
  EXPECT_FALSE(c.webhooks[1].Wants("completed"));
  EXPECT_EQ(c.webhook_secret_file, "/etc/shoal/webhook.key");
  EXPECT_EQ(c.webhook_max_age_s, 7200);
  // On a line with other keys, too.
  EXPECT_EQ(Parse("ClusterName=x WebhookURL=http://h/\n").webhooks.size(), 1u);
}

TEST(ConfigTest, BadWebhookLinesNameTheLine) {
  EXPECT_EQ(ParseError("ClusterName=x\nWebhookURL=ftp://x\n", 2),
            "slurm.conf:2: WebhookURL: invalid webhook URL 'ftp://x': only http:// and https:// "
            "URLs are allowed");
  EXPECT_NE(ParseError("WebhookURL=http://\n", 1).find("no host"), std::string::npos);
  EXPECT_NE(ParseError("WebhookURL=http://h/ Events=done\n", 1)
                .find("unknown webhook event type 'done'"),
            std::string::npos);
  EXPECT_NE(ParseError("WebhookURL=http://h/ Colour=blue\n", 1).find("'Colour'"),
            std::string::npos);
  EXPECT_NE(ParseError("WebhookURL=http://h/\nWebhookURL=http://h/\n", 2).find("twice"),
            std::string::npos);
  EXPECT_NE(ParseError("WebhookSecretFile=webhook.key\n", 1).find("absolute"),
            std::string::npos);
  EXPECT_NE(ParseError("WebhookMaxAge=0\n", 1).find("WebhookMaxAge"), std::string::npos);
  EXPECT_NE(ParseError("WebhookMaxAge=soon\n", 1).find("WebhookMaxAge"), std::string::npos);
}

}  // namespace
}  // namespace shoal

namespace shoal {
namespace {

TEST(ControllerConfigTest, AccessKeys) {
  ControllerConfig d = Parse("");
  EXPECT_FALSE(d.private_jobs);
  EXPECT_EQ(d.api_rate_limit, 200u);
  EXPECT_EQ(d.api_rate_burst, 400u);
  EXPECT_TRUE(d.jwt_key_path.empty());
  ControllerConfig c = Parse(
      "PrivateData=jobs,usage\nAuthAltTypes=auth/jwt\n"
      "AuthAltParameters=jwt_key=/etc/shoal/jwt.key\nApiRateLimit=0\nApiRateBurst=10\n");
  EXPECT_TRUE(c.private_jobs);
  EXPECT_TRUE(c.private_usage);
  EXPECT_EQ(c.private_data, "jobs,usage");
  EXPECT_EQ(c.jwt_key_path, "/etc/shoal/jwt.key");
  EXPECT_EQ(c.api_rate_limit, 0u);
  EXPECT_EQ(c.api_rate_burst, 10u);
  EXPECT_TRUE(c.warnings.empty());
  EXPECT_NE(ParseError("PrivateData=jobs,secrets\n", 1).find("invalid PrivateData value 'secrets'"),
            std::string::npos);
  EXPECT_NE(ParseError("AuthAltParameters=jwt_key=relative.key\n", 1).find("absolute path"),
            std::string::npos);
  EXPECT_NE(ParseError("AuthAltParameters=disable_token_creation\n", 1).find("unsupported"),
            std::string::npos);
  EXPECT_FALSE(ParseError("ApiRateLimit=-1\n", 1).empty());
}

}  // namespace
}  // namespace shoal

namespace shoal {
namespace {

TEST(ConfigPowerTest, ReadsPowerSavingKeysAndCloudNodes) {
  ControllerConfig c = Parse(
      "ResumeProgram=/opt/resume\nSuspendProgram=/opt/suspend\nResumeFailProgram=/opt/fail\n"
      "SuspendTime=600\nSuspendTimeout=20\nResumeTimeout=300\nResumeRate=10\nSuspendRate=5\n"
      "NodeName=c[1-3] CPUs=2 State=CLOUD\nNodeName=login CPUs=2\n"
      "PartitionName=cloud Nodes=c[1-3] Default=YES\nPartitionName=int Nodes=login\n"
      "SuspendExcNodes=c1\nSuspendExcParts=int\n");
  EXPECT_TRUE(c.power.Enabled());
  EXPECT_TRUE(c.power.Suspends());
  EXPECT_EQ(c.power.resume_program, "/opt/resume");
  EXPECT_EQ(c.power.suspend_program, "/opt/suspend");
  EXPECT_EQ(c.power.resume_fail_program, "/opt/fail");
  EXPECT_EQ(c.power.suspend_time_s, 600);
  EXPECT_EQ(c.power.suspend_timeout_s, 20);
  EXPECT_EQ(c.power.resume_timeout_s, 300);
  EXPECT_EQ(c.power.resume_rate, 10u);
  EXPECT_EQ(c.power.suspend_rate, 5u);
  EXPECT_EQ(c.power.suspend_exc_nodes, (Names{"c1"}));
  EXPECT_EQ(c.power.suspend_exc_parts, (Names{"int"}));
  ASSERT_EQ(c.nodes.size(), 4u);
  EXPECT_TRUE(c.nodes[0].cloud);
  EXPECT_FALSE(c.nodes[3].cloud);
}

TEST(ConfigPowerTest, DefaultsAreSlurms) {
  ControllerConfig c = Parse("NodeName=n1 CPUs=1\n");
  EXPECT_FALSE(c.power.Enabled());
  EXPECT_EQ(c.power.suspend_time_s, -1);
  EXPECT_EQ(c.power.suspend_timeout_s, 30);
  EXPECT_EQ(c.power.resume_timeout_s, 60);
  EXPECT_EQ(c.power.resume_rate, 300u);
  EXPECT_EQ(c.power.suspend_rate, 60u);
  EXPECT_EQ(Parse("ResumeProgram=/r\nSuspendProgram=/s\nSuspendTime=INFINITE\n")
                .power.suspend_time_s,
            -1);
  EXPECT_EQ(Parse("ResumeProgram=/r\nSuspendProgram=/s\nSuspendTime=-1\n").power.suspend_time_s,
            -1);
}

TEST(ConfigPowerTest, RefusesBadPowerSavingValues) {
  EXPECT_NE(ParseError("ResumeProgram=resume.sh\n", 1).find("absolute path"), std::string::npos);
  EXPECT_NE(ParseError("SuspendProgram=\n", 1).find("absolute path"), std::string::npos);
  EXPECT_NE(ParseError("ResumeProgram=/r\nSuspendProgram=/s\nSuspendTime=soon\n", 3)
                .find("SuspendTime"),
            std::string::npos);
  EXPECT_NE(ParseError("ResumeTimeout=0\n", 1).find("positive"), std::string::npos);
  EXPECT_NE(ParseError("SuspendTimeout=-3\n", 1).find("SuspendTimeout"), std::string::npos);
  EXPECT_NE(ParseError("ResumeRate=fast\n", 1).find("ResumeRate"), std::string::npos);
  EXPECT_NE(ParseError("NodeName=n1 State=SLEEPY\n", 1).find("State"), std::string::npos);
  EXPECT_NE(ParseError("SuspendExcNodes=n[1-\n", 1).find("SuspendExcNodes"), std::string::npos);
}

TEST(ConfigPowerTest, RefusesPowerSavingThatCannotWork) {
  // CLOUD nodes nobody can resume, SuspendTime without the programs, unknown exclusions.
  EXPECT_NE(ParseError("NodeName=c1 State=CLOUD\n", 1).find("ResumeProgram"), std::string::npos);
  EXPECT_NE(ParseError("ResumeProgram=/r\nNodeName=c1 State=CLOUD\n", 1).find("SuspendProgram"),
            std::string::npos);
  EXPECT_NE(ParseError("SuspendTime=60\nNodeName=n1\n", 1).find("ResumeProgram"),
            std::string::npos);
  EXPECT_NE(ParseError("ResumeProgram=/r\nSuspendProgram=/s\nSuspendExcNodes=zz\nNodeName=n1\n", 1)
                .find("unknown node 'zz'"),
            std::string::npos);
  EXPECT_NE(ParseError("ResumeProgram=/r\nSuspendProgram=/s\nSuspendExcParts=nope\nNodeName=n1\n",
                       1)
                .find("unknown partition 'nope'"),
            std::string::npos);
}

}  // namespace
}  // namespace shoal
