// QOS: the model, submit checks, the limits a pass applies, and preemption decisions.
#include "core/qos.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/slurm_time.h"
#include "core/limits.h"
#include "core/scheduler.h"

namespace shoal {
namespace {

constexpr int64_t kNow = 10000;

Qos MakeQos(const std::string& name, uint32_t priority = 0) {
  Qos q;
  q.name = name;
  q.priority = priority;
  return q;
}

TEST(QosTest, NamesAndModes) {
  std::vector<Qos> all = {MakeQos("normal"), MakeQos("high", 100)};
  EXPECT_EQ(FindQos(all, "HIGH"), &all[1]);
  EXPECT_EQ(FindQos(all, ""), &all[0]);  // the default
  EXPECT_EQ(FindQos(all, "low"), nullptr);
  JobRequest r;
  EXPECT_EQ(QosNameOf(r), "normal");
  r.qos = "high";
  EXPECT_EQ(QosNameOf(r), "high");

  EXPECT_EQ(ParsePreemptMode("requeue"), PreemptMode::kRequeue);
  EXPECT_EQ(ParsePreemptMode("CANCEL"), PreemptMode::kCancel);
  EXPECT_EQ(ParsePreemptMode("Off"), PreemptMode::kOff);
  EXPECT_FALSE(ParsePreemptMode("suspend").has_value());
  EXPECT_STREQ(PreemptModeName(PreemptMode::kRequeue), "REQUEUE");

  Qos high = MakeQos("high");
  high.preempt = {"normal", "Low"};
  EXPECT_TRUE(high.MayPreempt("low"));
  EXPECT_FALSE(high.MayPreempt("high"));
}

TEST(QosTest, SubmitChecks) {
  JobRequest r;
  r.time_limit_s = 600;
  EXPECT_EQ(CheckQosAtSubmit(nullptr, r, 0, 1).message(), "Invalid qos specification");
  Qos q = MakeQos("low");
  EXPECT_TRUE(CheckQosAtSubmit(&q, r, 100, 1).ok());

  q.max_wall_s = 300;
  Status s = CheckQosAtSubmit(&q, r, 0, 1);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), std::string("QOSMaxWallDurationPerJobLimit\n") + kQosPolicyViolation);
  r.time_limit_s = 300;
  EXPECT_TRUE(CheckQosAtSubmit(&q, r, 0, 1).ok());
  r.time_limit_s = kUnlimited;  // no limit exceeds any MaxWall
  EXPECT_FALSE(CheckQosAtSubmit(&q, r, 0, 1).ok());
  r.time_limit_s = 60;

  q.max_submit_jobs_per_user = 3;
  EXPECT_TRUE(CheckQosAtSubmit(&q, r, 2, 1).ok());
  s = CheckQosAtSubmit(&q, r, 3, 1);
  EXPECT_EQ(s.message(), std::string("QOSMaxSubmitJobPerUserLimit\n") + kQosPolicyViolation);
  EXPECT_FALSE(CheckQosAtSubmit(&q, r, 1, 3).ok());  // an array counts every task
}

// --- in a scheduling pass ---------------------------------------------------------------------

Node MakeNode(const std::string& name, uint32_t cpus, uint32_t gpus = 0) {
  Node n;
  n.name = name;
  n.cpus = cpus;
  n.memory_mb = 4000;
  n.gpus = gpus;
  n.gpu_busy.assign(gpus, false);
  n.responding = true;
  n.boot_time = 1;
  return n;
}

class QosPassTest : public ::testing::Test {
 protected:
  QosPassTest() {
    Partition p;
    p.name = "batch";
    p.all_nodes = true;
    partitions.push_back(p);
    qos = {MakeQos("normal"), MakeQos("high", 100), MakeQos("low")};
    options.preempt = true;
    options.preempt_mode = PreemptMode::kRequeue;
  }

  Qos& Q(const std::string& name) {
    for (Qos& q : qos) {
      if (q.name == name) return q;
    }
    ADD_FAILURE() << "no qos " << name;
    return qos.front();
  }

  Job& Pending(JobId id, const std::string& q, uint32_t cpus, uint32_t priority = 100) {
    Job j;
    j.id = id;
    j.priority = priority;
    j.submit_time = static_cast<int64_t>(id);
    j.req.user = "alice";
    j.req.partition = "batch";
    j.req.qos = q;
    j.req.cpus_per_task = cpus;
    j.req.time_limit_s = 600;
    return jobs[id] = j;
  }

  Job& Running(JobId id, const std::string& q, const std::string& node, uint32_t cpus,
               uint32_t priority = 100, int64_t start = kNow - 100) {
    Job& j = Pending(id, q, cpus, priority);
    j.state = JobState::kRunning;
    j.start_time = start;
    j.nodes = {node};
    j.cpus_per_node = cpus;
    j.alloc_cpus = cpus;
    j.gpu_indices = {{}};
    for (Node& n : nodes) {
      if (n.name == node) {
        n.alloc_cpus += cpus;
        n.running_jobs.push_back(id);
      }
    }
    return j;
  }

  ScheduleResult Run(const std::vector<const Job*>* releasing = nullptr) {
    auto scheduler = Scheduler::Create(options);
    EXPECT_TRUE(scheduler.ok());
    ClusterView view{&jobs, &nodes, &partitions};
    view.qos = &qos;
    view.releasing = releasing;
    view.accounting = accounting;
    view.reservations = &reservations;
    return (*scheduler)->Schedule(view, kNow);
  }

  static std::vector<JobId> Started(const ScheduleResult& r) {
    std::vector<JobId> ids;
    for (const auto& s : r.starts) ids.push_back(s.job_id);
    return ids;
  }
  static std::vector<JobId> Preempted(const ScheduleResult& r) {
    std::vector<JobId> ids;
    for (const auto& p : r.preemptions) ids.push_back(p.job_id);
    return ids;
  }
  static std::optional<std::string> ReasonOf(const ScheduleResult& r, JobId id) {
    for (const auto& [job_id, text] : r.reasons) {
      if (job_id == id) return text;
    }
    return std::nullopt;
  }

  std::map<JobId, Job> jobs;
  std::vector<Node> nodes;
  std::vector<Partition> partitions;
  std::vector<Qos> qos;
  SchedulerOptions options;
  const AccountingDb* accounting = nullptr;  // limits enforced when set
  std::vector<Reservation> reservations;
};

using Ids = std::vector<JobId>;

TEST_F(QosPassTest, UnknownQosWaits) {
  nodes.push_back(MakeNode("n1", 4));
  Pending(1, "gone", 1);
  ScheduleResult r = Run();
  EXPECT_TRUE(r.starts.empty());
  EXPECT_EQ(ReasonOf(r, 1), "InvalidQOS");
}

TEST_F(QosPassTest, JobsWithoutQosAreNormal) {
  nodes.push_back(MakeNode("n1", 4));
  Pending(1, "", 1);
  EXPECT_EQ(Started(Run()), (Ids{1}));
}

TEST_F(QosPassTest, MaxWallKeepsAJobPending) {
  nodes.push_back(MakeNode("n1", 4));
  Q("low").max_wall_s = 300;
  Pending(1, "low", 1);  // 600 s: over the limit (e.g. raised by scontrol update)
  Pending(2, "low", 1).req.time_limit_s = 300;
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{2}));
  EXPECT_EQ(ReasonOf(r, 1), "QOSMaxWallDurationPerJobLimit");
}

TEST_F(QosPassTest, MaxJobsPerUserCountsRunningAndStartedJobs) {
  nodes.push_back(MakeNode("n1", 8));
  Q("low").max_jobs_per_user = 2;
  Running(1, "low", "n1", 1);
  Pending(2, "low", 1, 200);
  Pending(3, "low", 1, 100);
  Pending(4, "normal", 1, 50);                // another QOS: not counted
  Pending(5, "low", 1, 40).req.user = "bob";  // another user: not counted
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{2, 4, 5}));
  EXPECT_EQ(ReasonOf(r, 3), "QOSMaxJobsPerUserLimit");
}

TEST_F(QosPassTest, PreemptsTheLowestPriorityJobThatMakesRoom) {
  nodes.push_back(MakeNode("n1", 4));
  Q("high").preempt = {"low"};
  Running(1, "low", "n1", 2, /*priority=*/50);
  Running(2, "low", "n1", 2, /*priority=*/10);
  Pending(3, "high", 2, 1000);
  ScheduleResult r = Run();
  EXPECT_TRUE(r.starts.empty());  // it starts once job 2 has ended
  ASSERT_EQ(Preempted(r), (Ids{2}));
  EXPECT_EQ(r.preemptions[0].preemptor_id, 3u);
  EXPECT_EQ(r.preemptions[0].mode, PreemptMode::kRequeue);
  EXPECT_EQ(ReasonOf(r, 3), "Resources");
}

TEST_F(QosPassTest, TakesAsManyAsNeededAndDropsTheUnneeded) {
  nodes.push_back(MakeNode("n1", 4));
  Q("high").preempt = {"low"};
  Running(1, "low", "n1", 1, 10);  // lowest, but too small alone
  Running(2, "low", "n1", 1, 20);
  Running(3, "low", "n1", 2, 30);
  Pending(4, "high", 2, 1000);
  // Lowest first: 1 (1 CPU free), 2 (2 free: fits). Nothing to drop.
  EXPECT_EQ(Preempted(Run()), (Ids{1, 2}));
  // Needing 3 CPUs: 1, 2 and 3 are taken; dropping the highest first, 3 is needed but 2 is
  // not (1 and 3 free 3 CPUs).
  jobs[4].req.cpus_per_task = 3;
  EXPECT_EQ(Preempted(Run()), (Ids{1, 3}));
}

TEST_F(QosPassTest, NeverPreemptsIntoAReservation) {
  nodes.push_back(MakeNode("n1", 4));
  nodes.push_back(MakeNode("n2", 4));
  Q("high").preempt = {"low"};
  Reservation r;
  r.name = "r";
  r.nodes = {"n2"};
  r.start_time = kNow - 10;
  r.end_time = kNow + 3600;
  r.users = {"bob"};
  reservations.push_back(r);
  Running(1, "low", "n1", 4, 50);
  Running(2, "low", "n2", 4, 10).req.reservation = "r";  // lower, but inside the reservation
  Pending(3, "high", 4, 1000);
  EXPECT_EQ(Preempted(Run()), (Ids{1}));
  // A window that opens on n1 before the job would end: no node to preempt onto at all.
  reservations[0].nodes = {"n1", "n2"};
  reservations[0].start_time = kNow + 100;
  ScheduleResult res = Run();
  EXPECT_TRUE(res.preemptions.empty());
  EXPECT_EQ(ReasonOf(res, 3), "Resources");
  // One that opens after it would end does not stand in the way.
  reservations[0].start_time = kNow + 600;
  EXPECT_EQ(Preempted(Run()), (Ids{2}));
}

TEST_F(QosPassTest, SamePriorityPrefersTheMostRecentlyStarted) {
  nodes.push_back(MakeNode("n1", 2));
  Q("high").preempt = {"low"};
  Running(1, "low", "n1", 1, 10, kNow - 500);
  Running(2, "low", "n1", 1, 10, kNow - 50);
  Pending(3, "high", 1, 1000);
  EXPECT_EQ(Preempted(Run()), (Ids{2}));
}

TEST_F(QosPassTest, NeverPreemptsForAJobThatStillCouldNotStart) {
  nodes.push_back(MakeNode("n1", 4));
  Q("high").preempt = {"low"};
  Running(1, "low", "n1", 2, 10);
  Running(2, "normal", "n1", 2, 10);  // not preemptable by high
  Pending(3, "high", 4, 1000);
  ScheduleResult r = Run();
  EXPECT_TRUE(r.preemptions.empty());
  EXPECT_EQ(ReasonOf(r, 3), "Resources");
}

TEST_F(QosPassTest, OnlyListedQosAndNotOffAreVictims) {
  nodes.push_back(MakeNode("n1", 2));
  nodes.push_back(MakeNode("n2", 2));
  Q("high").preempt = {"low", "normal"};
  Q("normal").preempt_mode = PreemptMode::kOff;  // never preempted
  Running(1, "normal", "n1", 2, 1);
  Running(2, "low", "n2", 2, 50);
  Pending(3, "high", 2, 1000);
  EXPECT_EQ(Preempted(Run()), (Ids{2}));
  Q("high").preempt = {"normal"};
  EXPECT_TRUE(Run().preemptions.empty());
  Q("high").preempt.clear();  // a QOS that preempts nothing
  Q("normal").preempt_mode.reset();
  EXPECT_TRUE(Run().preemptions.empty());
}

TEST_F(QosPassTest, ModeAndGraceTimeComeFromTheVictimsQos) {
  nodes.push_back(MakeNode("n1", 2));
  Q("high").preempt = {"low"};
  Q("low").preempt_mode = PreemptMode::kCancel;
  Q("low").grace_time_s = 30;
  Running(1, "low", "n1", 2, 1);
  Pending(2, "high", 2, 1000);
  ScheduleResult r = Run();
  ASSERT_EQ(r.preemptions.size(), 1u);
  EXPECT_EQ(r.preemptions[0].mode, PreemptMode::kCancel);
  EXPECT_EQ(r.preemptions[0].grace_time_s, 30);
}

TEST_F(QosPassTest, RequeueBecomesCancelForJobsThatMayNotRequeue) {
  nodes.push_back(MakeNode("n1", 2));
  Q("high").preempt = {"low"};
  Running(1, "low", "n1", 2, 1).req.requeue = false;  // --no-requeue
  Pending(2, "high", 2, 1000);
  EXPECT_EQ(Run().preemptions.at(0).mode, PreemptMode::kCancel);
  jobs[1].req.requeue = true;
  options.requeue_allowed = false;  // JobRequeue=0
  EXPECT_EQ(Run().preemptions.at(0).mode, PreemptMode::kCancel);
  options.requeue_allowed = true;
  EXPECT_EQ(Run().preemptions.at(0).mode, PreemptMode::kRequeue);
}

TEST_F(QosPassTest, DisabledPreemptionPreemptsNothing) {
  nodes.push_back(MakeNode("n1", 2));
  Q("high").preempt = {"low"};
  Running(1, "low", "n1", 2, 1);
  Pending(2, "high", 2, 1000);
  options.preempt = false;
  EXPECT_TRUE(Run().preemptions.empty());
}

TEST_F(QosPassTest, WaitsForJobsAlreadyBeingStopped) {
  nodes.push_back(MakeNode("n1", 4));
  Q("high").preempt = {"low"};
  // Job 1 was preempted in an earlier pass (requeued: pending, still holding its CPUs).
  Job& stopping = Running(1, "low", "n1", 2, 1);
  stopping.state = JobState::kPending;
  stopping.terminating = true;
  Running(2, "low", "n1", 2, 5);
  Pending(3, "high", 2, 1000);
  std::vector<const Job*> releasing = {&jobs[1]};
  ScheduleResult r = Run(&releasing);
  EXPECT_TRUE(r.preemptions.empty());
  EXPECT_TRUE(r.starts.empty());
  // Needing more than what is being freed: one more job goes.
  jobs[3].req.cpus_per_task = 4;
  EXPECT_EQ(Preempted(Run(&releasing)), (Ids{2}));
}

TEST_F(QosPassTest, ARequeuedVictimWaitsForItsPreemptor) {
  nodes.push_back(MakeNode("n1", 2));
  Q("high").preempt = {"low"};
  Pending(1, "low", 2, /*priority=*/5000).preempted_by = 2;  // outranks its preemptor
  Pending(2, "high", 2, 1000);
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{2}));
  EXPECT_EQ(ReasonOf(r, 1), "BeginTime");
  jobs[2].state = JobState::kRunning;  // once the preemptor runs, the victim is free to go
  nodes.push_back(MakeNode("n2", 2));
  EXPECT_EQ(Started(Run()), (Ids{1}));
  jobs[2].state = JobState::kPending;
  jobs[2].held = true;  // nor does a held preemptor keep it waiting
  EXPECT_EQ(Started(Run()), (Ids{1}));
}

TEST_F(QosPassTest, TwoPreemptorsDoNotShareAVictim) {
  nodes.push_back(MakeNode("n1", 2));
  nodes.push_back(MakeNode("n2", 2));
  Q("high").preempt = {"low"};
  Running(1, "low", "n1", 2, 1);
  Running(2, "low", "n2", 2, 2);
  Pending(3, "high", 2, 1000);
  Pending(4, "high", 2, 900);
  ScheduleResult r = Run();
  ASSERT_EQ(r.preemptions.size(), 2u);
  EXPECT_EQ(r.preemptions[0].job_id, 1u);
  EXPECT_EQ(r.preemptions[0].preemptor_id, 3u);
  EXPECT_EQ(r.preemptions[1].job_id, 2u);
  EXPECT_EQ(r.preemptions[1].preemptor_id, 4u);
}

TEST_F(QosPassTest, VictimsOutsideThePartitionAreNotTaken) {
  nodes.push_back(MakeNode("n1", 2));
  nodes.push_back(MakeNode("n2", 2));
  partitions[0].all_nodes = false;
  partitions[0].nodes = {"n1"};
  Partition other;
  other.name = "other";
  other.nodes = {"n2"};
  partitions.push_back(other);
  Q("high").preempt = {"low"};
  Running(1, "low", "n2", 2, 1).req.partition = "other";
  Running(2, "low", "n1", 2, 9);
  Pending(3, "high", 2, 1000);
  EXPECT_EQ(Preempted(Run()), (Ids{2}));
}

TEST_F(QosPassTest, ExclusiveJobsNeedWholeNodes) {
  nodes.push_back(MakeNode("n1", 4));
  Q("high").preempt = {"low"};
  Running(1, "low", "n1", 1, 1);
  Running(2, "low", "n1", 1, 2);
  Pending(3, "high", 1, 1000).req.exclusive = true;
  EXPECT_EQ(Preempted(Run()), (Ids{1, 2}));
}

TEST_F(QosPassTest, GpusCount) {
  nodes.push_back(MakeNode("g1", 8, 2));
  Q("high").preempt = {"low"};
  Job& a = Running(1, "low", "g1", 1, 1);
  a.gpu_indices = {{0}};
  Job& b = Running(2, "low", "g1", 1, 2);
  b.gpu_indices = {{1}};
  nodes[0].gpu_busy = {true, true};
  Pending(3, "high", 1, 1000).req.gpus_per_node = 1;
  // Plenty of CPUs but no free GPU: the lowest-priority GPU holder goes.
  EXPECT_EQ(Preempted(Run()), (Ids{1}));
}

// --- association and QOS limits (AccountingStorageEnforce=limits) -----------------------------

// root > physics > theory; alice in physics and theory, bob in theory.
AccountingDb LimitsDb(std::vector<std::pair<std::string, std::string>> physics,
                      std::vector<std::pair<std::string, std::string>> theory = {},
                      std::vector<std::pair<std::string, std::string>> alice_theory = {}) {
  AccountingDb db = AccountingDb::Initial();
  auto apply = [&](AccountingChange::Verb verb, AccountingChange::Entity entity,
                   std::vector<std::string> names,
                   std::vector<std::pair<std::string, std::string>> settings,
                   std::vector<std::pair<std::string, std::string>> conditions = {}) {
    AccountingChange c;
    c.verb = verb;
    c.entity = entity;
    c.names = std::move(names);
    c.settings = std::move(settings);
    c.conditions = std::move(conditions);
    auto r = ApplyAccountingChange(db, c, {});
    EXPECT_TRUE(r.ok()) << r.status().message();
  };
  using V = AccountingChange::Verb;
  using E = AccountingChange::Entity;
  apply(V::kAdd, E::kAccount, {"physics"}, physics);
  theory.push_back({"Parent", "physics"});
  apply(V::kAdd, E::kAccount, {"theory"}, theory);
  apply(V::kAdd, E::kUser, {"alice"}, {{"Account", "physics,theory"}});
  apply(V::kAdd, E::kUser, {"bob"}, {{"Account", "theory"}});
  if (!alice_theory.empty()) {
    apply(V::kModify, E::kUser, {"alice"}, alice_theory, {{"Account", "theory"}});
  }
  for (const char* q : {"high", "low"}) apply(V::kAdd, E::kQos, {q}, {});
  return db;
}

Job& InAccount(Job& job, const std::string& account, const std::string& user = "alice") {
  job.req.account = account;
  job.req.user = user;
  return job;
}

TEST_F(QosPassTest, GroupCpuLimitOfAnAccountBindsItsWholeSubtree) {
  nodes.push_back(MakeNode("n1", 8));
  nodes.push_back(MakeNode("n2", 8));
  AccountingDb db = LimitsDb({{"GrpTRES", "cpu=6"}});
  accounting = &db;
  InAccount(Running(1, "normal", "n1", 2), "physics");
  InAccount(Pending(2, "normal", 2, 300), "theory", "bob");     // 2 + 2 = 4: fits
  InAccount(Pending(3, "normal", 4, 200), "theory");             // 4 + 4 = 8 > 6
  InAccount(Pending(4, "normal", 2, 100), "physics");            // 4 + 2 = 6: fits
  InAccount(Pending(5, "normal", 4, 50), "root", "root");        // not under physics
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{2, 4, 5}));
  EXPECT_EQ(ReasonOf(r, 3), "AssocGrpCpuLimit");
  // Without enforcement the same queue all starts.
  accounting = nullptr;
  EXPECT_EQ(Started(Run()), (Ids{2, 3, 4, 5}));
}

TEST_F(QosPassTest, MaxJobsInheritedAndGrpJobs) {
  nodes.push_back(MakeNode("n1", 16));
  AccountingDb db = LimitsDb({{"GrpJobs", "3"}}, {{"MaxJobs", "1"}});
  accounting = &db;
  InAccount(Pending(1, "normal", 1, 500), "theory");
  InAccount(Pending(2, "normal", 1, 400), "theory");          // alice already has 1 in theory
  InAccount(Pending(3, "normal", 1, 300), "theory", "bob");   // bob's own MaxJobs count
  InAccount(Pending(4, "normal", 1, 200), "physics");         // third job under physics
  InAccount(Pending(5, "normal", 1, 100), "physics");         // fourth: GrpJobs=3
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{1, 3, 4}));
  EXPECT_EQ(ReasonOf(r, 2), "AssocMaxJobsLimit");
  EXPECT_EQ(ReasonOf(r, 5), "AssocGrpJobsLimit");
}

TEST_F(QosPassTest, PerJobAndGpuLimits) {
  nodes.push_back(MakeNode("n1", 8, 4));
  AccountingDb db = LimitsDb({{"GrpTRES", "gres/gpu=2"}}, {}, {{"MaxTRES", "cpu=2"}});
  accounting = &db;
  InAccount(Pending(1, "normal", 4, 500), "theory");           // alice: at most 2 CPUs a job
  Job& gpus = InAccount(Pending(2, "normal", 1, 400), "theory", "bob");
  gpus.req.gpus_per_node = 3;                                    // over physics' 2 GPUs
  Job& fits = InAccount(Pending(3, "normal", 1, 300), "physics");
  fits.req.gpus_per_node = 2;
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{3}));
  EXPECT_EQ(ReasonOf(r, 1), "AssocMaxCpuPerJobLimit");
  EXPECT_EQ(ReasonOf(r, 2), "AssocGrpGRES");
}

TEST_F(QosPassTest, QosGroupAndPerUserLimits) {
  nodes.push_back(MakeNode("n1", 16));
  AccountingDb db = LimitsDb({});
  for (Qos& q : db.qos) {
    if (q.name == "low") {
      q.grp_jobs = 2;
      q.max_tres_per_user.cpu = 3;
    }
  }
  qos = db.qos;
  accounting = &db;
  InAccount(Pending(1, "low", 2, 500), "physics");
  InAccount(Pending(2, "low", 2, 400), "physics");             // alice: 4 CPUs > 3 in low
  InAccount(Pending(3, "low", 1, 300), "theory", "bob");
  InAccount(Pending(4, "low", 1, 200), "theory", "bob");       // third job in low
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{1, 3}));
  EXPECT_EQ(ReasonOf(r, 2), "QOSMaxCpuPerUserLimit");
  EXPECT_EQ(ReasonOf(r, 4), "QOSGrpJobsLimit");
}

// The controller stamps each job with its association's index (StampAssoc); the pass then finds
// the association by index, and by name when the stamp is of another version.
TEST_F(QosPassTest, StampedJobsFindTheirAssociationByIndex) {
  AccountingDb db = LimitsDb({});
  AssocLookup lookup;
  lookup.Build(db);
  Job job;
  InAccount(job, "theory", "bob");
  StampAssoc(job, db, lookup);
  EXPECT_EQ(job.assoc_version, db.version);
  ASSERT_LT(job.assoc_index, db.assocs.size());
  EXPECT_EQ(db.assocs[job.assoc_index].account, "theory");
  EXPECT_EQ(db.assocs[job.assoc_index].user, "bob");
  InAccount(job, "physics", "bob");  // bob has no association in physics
  StampAssoc(job, db, lookup);
  EXPECT_EQ(job.assoc_index, kNoAssoc);
  EXPECT_EQ(job.assoc_version, db.version);
  EXPECT_EQ(lookup.Find("theory", "", ""), static_cast<uint32_t>(db.FindAssoc("theory", "") -
                                                                 db.assocs.data()));
}

TEST_F(QosPassTest, StampFollowsThePartitionAssociation) {
  AccountingDb db = LimitsDb({});
  Association in_gpu = *db.FindAssoc("theory", "bob");
  in_gpu.partition = "gpu";
  db.assocs.push_back(in_gpu);
  AssocLookup lookup;
  lookup.Build(db);
  Job job;
  InAccount(job, "theory", "bob");
  job.req.partition = "gpu";  // bob's association for this partition
  StampAssoc(job, db, lookup);
  ASSERT_LT(job.assoc_index, db.assocs.size());
  EXPECT_EQ(db.assocs[job.assoc_index].partition, "gpu");
  job.req.partition = "batch";  // none for it: his partition-less one
  StampAssoc(job, db, lookup);
  ASSERT_LT(job.assoc_index, db.assocs.size());
  EXPECT_EQ(&db.assocs[job.assoc_index], db.JobAssoc("theory", "bob", "batch"));
  EXPECT_EQ(db.assocs[job.assoc_index].partition, "");
}

TEST_F(QosPassTest, LimitsUseTheStampedIndexAndIgnoreAStaleOne) {
  nodes.push_back(MakeNode("n1", 8));
  nodes.push_back(MakeNode("n2", 8));
  AccountingDb db = LimitsDb({{"GrpTRES", "cpu=6"}});
  accounting = &db;
  InAccount(Running(1, "normal", "n1", 2), "physics");
  InAccount(Pending(2, "normal", 2, 300), "theory", "bob");
  InAccount(Pending(3, "normal", 4, 200), "theory");
  InAccount(Pending(4, "normal", 2, 100), "physics");
  InAccount(Pending(5, "normal", 4, 50), "root", "root");
  AssocLookup lookup;
  lookup.Build(db);
  for (auto& [id, job] : jobs) StampAssoc(job, db, lookup);
  ScheduleResult r = Run();
  EXPECT_EQ(Started(r), (Ids{2, 4, 5}));
  EXPECT_EQ(ReasonOf(r, 3), "AssocGrpCpuLimit");

  // The pass takes the stamp at its word: root's job stamped as alice's in physics counts
  // against physics (which proves the index, not the name, is used).
  Job& rooted = jobs[5];
  rooted.assoc_index = jobs[4].assoc_index;
  r = Run();
  EXPECT_EQ(Started(r), (Ids{2, 4}));
  EXPECT_EQ(ReasonOf(r, 5), "AssocGrpCpuLimit");

  // A new version whose associations moved: the stamps are stale, and the pass finds every
  // association by name again (the wrong stamp included).
  std::reverse(db.assocs.begin(), db.assocs.end());
  ++db.version;
  r = Run();
  EXPECT_EQ(Started(r), (Ids{2, 4, 5}));
  EXPECT_EQ(ReasonOf(r, 3), "AssocGrpCpuLimit");
  // Re-stamped against the new version: the same outcome, by index.
  lookup.Build(db);
  for (auto& [id, job] : jobs) StampAssoc(job, db, lookup);
  EXPECT_EQ(db.assocs[jobs[3].assoc_index].account, "theory");
  r = Run();
  EXPECT_EQ(Started(r), (Ids{2, 4, 5}));
  EXPECT_EQ(ReasonOf(r, 3), "AssocGrpCpuLimit");
}

}  // namespace
}  // namespace shoal
