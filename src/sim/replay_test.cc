#include "sim/replay.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "sim/report.h"
#include "sim/sim_main.h"
#include "sim/swf.h"
#include "sim/workload.h"

namespace shoal {
namespace {

const std::string kTraces = SHOAL_TRACES_DIR;
const std::string kGolden = SHOAL_GOLDEN_DIR;

bool Exists(const std::string& path) { return std::ifstream(path).good(); }

SimJob J(int64_t submit, uint32_t procs, int64_t run, int64_t estimate) {
  SimJob j;
  j.trace_id = 0;
  j.submit = submit;
  j.procs = procs;
  j.run = run;
  j.estimate = estimate;
  return j;
}

Workload OneNode(uint32_t cpus, std::vector<SimJob> jobs) {
  Workload w;
  w.machine = {1, cpus};
  for (size_t i = 0; i < jobs.size(); ++i) jobs[i].trace_id = static_cast<int64_t>(i + 1);
  w.jobs = std::move(jobs);
  return w;
}

std::vector<int64_t> Starts(const ReplayResult& r) {
  std::vector<int64_t> s;
  for (const JobOutcome& j : r.jobs) s.push_back(j.start);
  return s;
}

ReplayResult RunPolicy(const Workload& w, const std::string& policy) {
  auto o = ReplayPolicy(policy);
  EXPECT_TRUE(o.ok());
  auto r = Replay(w, *o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return std::move(r).value();
}

// 10 CPUs. Job 1 holds 8 until 100. Job 2 (4 CPUs) is reserved at 100, leaving 6 spare. Job 3
// (2 CPUs, long) fits now and in the spare: backfilled. Job 4 (5 CPUs) waits for job 2's end.
Workload HandCase() {
  return OneNode(10, {J(0, 8, 100, 100), J(1, 4, 100, 100), J(2, 2, 500, 500), J(3, 5, 50, 50)});
}

TEST(ReplayTest, EasyHandCase) {
  ReplayResult r = RunPolicy(HandCase(), "easy");
  EXPECT_EQ(Starts(r), (std::vector<int64_t>{0, 100, 2, 200}));
  r = RunPolicy(HandCase(), "fcfs");  // no backfill: job 3 waits behind job 2
  EXPECT_EQ(Starts(r), (std::vector<int64_t>{0, 100, 100, 200}));
}

TEST(ReplayTest, EasyNeverDelaysTheReservedJob) {
  // Job 3 fits now but would run past 100 on the CPUs job 2 needs then: it must wait.
  Workload w = OneNode(10, {J(0, 8, 100, 100), J(1, 10, 100, 100), J(2, 2, 500, 500),
                            J(3, 2, 90, 90), J(4, 2, 98, 98)});
  ReplayResult r = RunPolicy(w, "easy");
  EXPECT_EQ(Starts(r), (std::vector<int64_t>{0, 100, 200, 3, 200}));
  // Job 4 (submitted at 4, 98 s) would end at 102 > 100: not backfilled.
  EXPECT_EQ(r.jobs[4].start, 200);
}

TEST(ReplayTest, EarlyEndsLetTheReservedJobStartEarlier) {
  // Job 1 asks for 100 s but ends at 40. Job 3 was backfilled at 2 (it ends by 100) and holds
  // 2 CPUs until 52: job 2 starts then, not at its planned 100.
  Workload w = OneNode(10, {J(0, 8, 40, 100), J(1, 10, 100, 100), J(2, 2, 50, 55)});
  ReplayResult r = RunPolicy(w, "easy");
  EXPECT_EQ(Starts(r), (std::vector<int64_t>{0, 52, 2}));
}

TEST(ReplayTest, ConservativeProtectsTheSecondBlockedJob) {
  // 10 CPUs: job 1 holds 8 until 100. Job 2 (4) is planned at 100, job 3 (10) at 200. Job 4 (2
  // CPUs for 500 s) fits now and beside job 2, so EASY starts it, delaying job 3 to 502;
  // conservative keeps job 3's plan and starts job 4 after it.
  Workload w =
      OneNode(10, {J(0, 8, 100, 100), J(1, 4, 100, 100), J(2, 10, 50, 50), J(3, 2, 500, 500)});
  ReplayResult easy = RunPolicy(w, "easy");
  EXPECT_EQ(Starts(easy), (std::vector<int64_t>{0, 100, 503, 3}));
  ReplayResult cons = RunPolicy(w, "conservative");
  EXPECT_EQ(Starts(cons), (std::vector<int64_t>{0, 100, 200, 250}));
}

TEST(ReplayTest, ShortestFirstBackfill) {
  // 10 CPUs. Job 3 (all 10) is reserved at 100. When job 2 ends at 50, jobs 4 (40 s) and 5
  // (20 s) wait for its 2 CPUs; both would end by 100, one at a time. EASY takes job 4 (queue
  // order), then job 5 would end at 110: it waits. Shortest first takes job 5, then job 4 would
  // end at 110: it waits.
  Workload w = OneNode(
      10, {J(0, 8, 100, 100), J(0, 2, 50, 50), J(1, 10, 10, 10), J(2, 2, 40, 40), J(3, 2, 20, 20)});
  EXPECT_EQ(Starts(RunPolicy(w, "easy")), (std::vector<int64_t>{0, 0, 100, 50, 110}));
  EXPECT_EQ(Starts(RunPolicy(w, "easy-sjbf")), (std::vector<int64_t>{0, 0, 100, 110, 50}));
}

TEST(ReplayTest, SjfTakesShortestFirstAndMultiNodeJobsSpread) {
  Workload w;
  w.machine = {4, 2};  // 4 nodes x 2 CPUs
  w.jobs = {J(0, 8, 100, 100), J(1, 3, 50, 500), J(2, 2, 50, 50)};
  ReplayResult fcfs = RunPolicy(w, "fcfs");
  EXPECT_EQ(Starts(fcfs), (std::vector<int64_t>{0, 100, 100}));
  ReplayResult sjf = RunPolicy(w, "sjf");
  EXPECT_EQ(Starts(sjf), (std::vector<int64_t>{0, 100, 100}));
  w.jobs[1].procs = 7;  // 4 nodes x 2: with job 3 (1 node) it no longer fits
  sjf = RunPolicy(w, "sjf");
  EXPECT_EQ(Starts(sjf), (std::vector<int64_t>{0, 150, 100}));
}

TEST(ReplayTest, StatsAndErrors) {
  ReplayResult r = RunPolicy(HandCase(), "easy");
  EXPECT_EQ(r.stats.jobs, 4u);
  EXPECT_DOUBLE_EQ(r.stats.avg_wait, (0 + 99 + 0 + 197) / 4.0);
  EXPECT_EQ(r.stats.makespan, 502);
  EXPECT_NEAR(r.stats.avg_bsld, (1 + 199.0 / 100 + 1 + 247.0 / 50) / 4.0, 1e-9);
  EXPECT_NEAR(r.stats.utilization, (800 + 400 + 1000 + 250) / (10.0 * 502), 1e-9);

  Workload too_big = OneNode(4, {J(0, 5, 10, 10)});
  auto bad = Replay(too_big, *ReplayPolicy("easy"));
  EXPECT_EQ(bad.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(ReplayPolicy("lottery").ok());
}

// --- On real traces ----------------------------------------------------------------------------

Result<SwfTrace> Trace(const std::string& name) {
  return ReadSwf(kTraces + "/" + name, BadLinePolicy::kStop);
}

#define REQUIRE_TRACE(name) \
  if (!Exists(kTraces + "/" + name)) GTEST_SKIP() << kTraces << "/" << name << " is absent";

TEST(ReplayTraceTest, SkippingIdlePassesChangesNothing) {
  REQUIRE_TRACE("lublin_256.swf");
  auto trace = Trace("lublin_256.swf");
  ASSERT_TRUE(trace.ok());
  for (const char* policy : {"fcfs", "sjf", "easy", "easy-sjbf", "conservative"}) {
    auto w = DefaultWorkload(*trace, EstimateSource::kUser, 1000);
    ASSERT_TRUE(w.ok());
    ReplayOptions o = *ReplayPolicy(policy);
    auto skipping = Replay(*w, o);
    o.skip_idle_passes = false;
    auto every = Replay(*w, o);
    ASSERT_TRUE(skipping.ok() && every.ok());
    EXPECT_EQ(Starts(*skipping), Starts(*every)) << policy;
    EXPECT_GT(skipping->skipped, 0u) << policy;
    EXPECT_EQ(every->skipped, 0u);
  }
  // Calibration A's pinned head, too.
  auto windows = CalibrationAWindows(*trace);
  ASSERT_TRUE(windows.ok());
  for (const char* policy : {"fcfs", "sjf"}) {
    ReplayOptions o = *ReplayPolicy(policy);
    o.pin_head = true;
    auto skipping = Replay(windows->front(), o);
    o.skip_idle_passes = false;
    auto every = Replay(windows->front(), o);
    EXPECT_EQ(Starts(*skipping), Starts(*every)) << policy;
  }
}

TEST(ReplayTraceTest, EasyKeepsEveryReservation) {
  // With exact estimates the reserved job starts no later than first planned (earlier only if a
  // job ahead of it ends early, which exact estimates rule out except by rounding).
  REQUIRE_TRACE("lublin_256.swf");
  auto trace = Trace("lublin_256.swf");
  ASSERT_TRUE(trace.ok());
  for (const char* policy : {"easy", "easy-sjbf"}) {
    auto w = DefaultWorkload(*trace, EstimateSource::kActual, 3000);
    ASSERT_TRUE(w.ok());
    std::map<JobId, int64_t> first_plan;
    ReplayOptions o = *ReplayPolicy(policy);
    o.on_pass = [&](int64_t, const ScheduleResult& r) {
      for (const PlannedStart& p : r.planned) first_plan.emplace(p.job_id, p.start_time);
    };
    auto r = Replay(*w, o);
    ASSERT_TRUE(r.ok());
    ASSERT_GT(first_plan.size(), 50u) << policy;
    for (const auto& [id, planned] : first_plan) {
      EXPECT_LE(r->jobs[id - 1].start, planned) << policy << " job index " << id - 1;
    }
  }
}

// Calibration A: RLScheduler's published no-backfill bounded slowdowns, within 0.5 %.
TEST(ReplayTraceTest, CalibrationA) {
  struct Cell {
    const char* trace;
    const char* policy;
    double published;
  };
  const Cell cells[] = {
      {"lublin_256.swf", "fcfs", 7273.77},           {"lublin_256.swf", "sjf", 277.35},
      {"HPC2N-2002-2.2-cln.swf.gz", "fcfs", 297.18}, {"HPC2N-2002-2.2-cln.swf.gz", "sjf", 157.71},
      {"lublin_256_new2.swf", "fcfs", 7842.47},      {"lublin_256_new2.swf", "sjf", 787.89},
  };
  for (const Cell& c : cells) {
    if (!Exists(kTraces + "/" + c.trace)) GTEST_SKIP() << kTraces << "/" << c.trace << " is absent";
    ReplayCommand cmd;
    cmd.trace_path = kTraces + "/" + c.trace;
    cmd.policy = c.policy;
    cmd.protocol = "calibration-a";
    cmd.json = true;
    auto out = RunReplayCommand(cmd);
    ASSERT_TRUE(out.ok()) << out.status().message();
    const std::string& json = out->summary;
    auto at = json.find("\"avg_bsld\":");
    ASSERT_NE(at, std::string::npos) << json;
    double bsld = std::strtod(json.c_str() + at + 11, nullptr);
    EXPECT_NEAR(bsld, c.published, c.published * 0.005) << c.trace << " " << c.policy;
    EXPECT_NE(json.find("\"jobs\":10240"), std::string::npos) << json;
  }
}

// Golden files: the first 2000 jobs of lublin_256.swf under EASY and conservative, summary and
// per-job CSV, byte for byte. SHOAL_UPDATE_GOLDEN=1 rewrites them.
TEST(ReplayTraceTest, Golden) {
  REQUIRE_TRACE("lublin_256.swf");
  for (const char* policy : {"easy", "conservative"}) {
    ReplayCommand cmd;
    cmd.trace_path = kTraces + "/lublin_256.swf";
    cmd.policy = policy;
    cmd.first = 2000;
    cmd.want_csv = true;
    auto out = RunReplayCommand(cmd);
    ASSERT_TRUE(out.ok()) << out.status().message();
    const std::string got = out->summary + "\n" + out->csv;
    const std::string path = kGolden + "/sim_lublin256_first2000_" + policy + ".txt";
    if (std::getenv("SHOAL_UPDATE_GOLDEN") != nullptr) {
      std::ofstream(path, std::ios::binary) << got;
      continue;
    }
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in.good()) << path << " is missing (SHOAL_UPDATE_GOLDEN=1 writes it)";
    std::string want((std::istreambuf_iterator<char>(in)), {});
    EXPECT_TRUE(got == want)
        << path << " differs; first difference at byte "
        << std::mismatch(got.begin(), got.end(), want.begin(), want.end()).first - got.begin();
  }
}

// --- Protocol mappings --------------------------------------------------------------------------

TEST(WorkloadTest, CalibrationBFilters) {
  const char* text =
      "; MaxProcs: 100\n"
      "1 0 0 50 10 -1 -1 10 100 -1 1 1 -1 -1 1 -1 -1 -1\n"    // kept
      "2 0 0 50 -1 -1 -1 20 100 -1 1 1 -1 -1 1 -1 -1 -1\n"    // f5 copied from f8: kept
      "3 0 0 50 30 -1 -1 -1 100 -1 1 1 -1 -1 1 -1 -1 -1\n"    // f8 from f5: kept, 30 procs
      "4 0 0 50 -1 -1 -1 -1 100 -1 1 1 -1 -1 1 -1 -1 -1\n"    // no procs: dropped
      "5 0 0 50 101 -1 -1 10 100 -1 1 1 -1 -1 1 -1 -1 -1\n"   // f5 > MaxProcs: dropped
      "6 0 0 0 10 -1 -1 10 100 -1 1 1 -1 -1 1 -1 -1 -1\n"     // run 0: dropped
      "7 0 0 50 10 -1 -1 10 -1 -1 1 1 -1 -1 1 -1 -1 -1\n"     // no estimate: dropped
      "8 -5 0 50 10 -1 -1 10 100 -1 1 1 -1 -1 1 -1 -1 -1\n"   // negative submit: dropped
      "9 3 0 500 10 -1 -1 10 100 -1 1 1 -1 -1 1 -1 -1 -1\n";  // run cut to 100
  auto t = ParseSwf(text, "b.swf", BadLinePolicy::kStop);
  ASSERT_TRUE(t.ok());
  auto w = CalibrationBWorkload(*t, EstimateSource::kUser);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->machine.nodes, 1u);
  EXPECT_EQ(w->machine.cpus_per_node, 100u);
  EXPECT_EQ(w->dropped, 5u);
  ASSERT_EQ(w->jobs.size(), 4u);
  EXPECT_EQ(w->jobs[1].procs, 20u);
  EXPECT_EQ(w->jobs[2].procs, 30u);
  EXPECT_EQ(w->jobs[3].run, 100);
  EXPECT_EQ(w->jobs[3].estimate, 100);
  auto actual = CalibrationBWorkload(*t, EstimateSource::kActual);
  EXPECT_EQ(actual->jobs[0].estimate, 50);
}

TEST(WorkloadTest, DefaultMapping) {
  const char* text =
      "; MaxNodes: 4\n; MaxProcs: 32\n"
      "1 10 0 50 -1 -1 -1 12 100 -1 1 1 -1 -1 1 -1 -1 -1\n"  // 12 procs, 2 nodes of 8
      "2 5 0 500 4 -1 -1 -1 100 -1 1 1 -1 -1 1 -1 -1 -1\n"   // f5; killed at 100
      "3 7 0 50 33 -1 -1 -1 -1 -1 1 1 -1 -1 1 -1 -1 -1\n"    // larger than the machine
      "4 8 0 0 1 -1 -1 -1 -1 -1 1 1 -1 -1 1 -1 -1 -1\n";     // run 0 stays, estimate 1
  auto t = ParseSwf(text, "d.swf", BadLinePolicy::kStop);
  ASSERT_TRUE(t.ok());
  auto w = DefaultWorkload(*t, EstimateSource::kUser);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->machine.nodes, 4u);
  EXPECT_EQ(w->machine.cpus_per_node, 8u);
  EXPECT_EQ(w->dropped, 1u);
  ASSERT_EQ(w->jobs.size(), 3u);
  EXPECT_EQ(w->jobs[0].trace_id, 2);  // by submit time
  EXPECT_EQ(w->jobs[0].run, 100);
  EXPECT_EQ(w->jobs[2].procs, 12u);
  EXPECT_EQ(w->jobs[1].estimate, 1);
  auto r = Replay(*w, *ReplayPolicy("easy"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->jobs[2].start, 10);
}

TEST(SimCommandTest, RejectsBadArguments) {
  ReplayCommand cmd;
  cmd.trace_path = "/nonexistent.swf";
  EXPECT_EQ(RunReplayCommand(cmd).status().code(), StatusCode::kNotFound);
  cmd.policy = "random";
  EXPECT_EQ(RunReplayCommand(cmd).status().code(), StatusCode::kInvalidArgument);
  cmd.policy = "easy";
  cmd.estimate = "guess";
  EXPECT_EQ(RunReplayCommand(cmd).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace shoal

namespace shoal {
namespace {

TEST(TimelineSvgTest, QueueAndUtilizationOverTime) {
  // One 4-CPU machine: A runs [0, 100), B waits for it and runs [100, 200).
  std::vector<JobOutcome> jobs(2);
  jobs[0] = {1, 0, 0, 100, 100, 4, 100};
  jobs[1] = {2, 0, 100, 200, 100, 4, 100};
  Machine m;
  m.nodes = 1;
  m.cpus_per_node = 4;
  const std::string svg = FormatTimelineSvg(jobs, m, "a<b & c");
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u);
  EXPECT_NE(svg.find("</svg>\n"), std::string::npos);
  EXPECT_NE(svg.find("a&lt;b &amp; c"), std::string::npos) << "the title is escaped";
  EXPECT_NE(svg.find("peak 1 at +0.0 h"), std::string::npos);
  // Queue panel (top 40, 180 high): one job waiting in the first half, none in the second.
  EXPECT_NE(svg.find("points=\"70,40.0 "), std::string::npos);
  EXPECT_NE(svg.find(" 869,220.0\"/>"), std::string::npos);
  // Utilization panel (top 280): busy throughout.
  EXPECT_NE(svg.find("points=\"70,280.0 "), std::string::npos);
  EXPECT_NE(svg.find(" 869,280.0\"/>"), std::string::npos);
  EXPECT_NE(svg.find("0.1 h"), std::string::npos);  // the span: 200 s
}

}  // namespace
}  // namespace shoal

namespace shoal {
namespace {

// A maintenance window on n1 from 100 to 200 (2 nodes of 4 CPUs, whole-node jobs): jobs that
// would run into it stay off n1, a job that ends by its start uses n1, and n1 is used again
// from its end on (a pass runs then, though no job ends or arrives).
TEST(ReplayReservationTest, JobsStayOutOfTheWindow) {
  Workload w;
  w.machine = {2, 4};
  w.jobs = {J(0, 4, 150, 150), J(1, 4, 50, 50), J(2, 4, 100, 100), J(60, 4, 40, 40),
            J(120, 4, 50, 50)};
  for (size_t i = 0; i < w.jobs.size(); ++i) w.jobs[i].trace_id = static_cast<int64_t>(i + 1);
  auto resv = ParseSimReservations(
      "# maintenance\n"
      "ReservationName=m StartTime=now+100seconds EndTime=now+200seconds Nodes=n1 "
      "Users=root Flags=MAINT\n",
      w.machine);
  ASSERT_TRUE(resv.ok()) << resv.status().message();
  auto o = ReplayPolicy("easy");
  ASSERT_TRUE(o.ok());
  o->reservations = *resv;
  auto r = Replay(w, *o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Starts(*r), (std::vector<int64_t>{0, 1, 150, 60, 200}));
  // Without the window job 2 takes n1 as soon as job 1 ends.
  EXPECT_EQ(Starts(RunPolicy(w, "easy"))[2], 51);

  auto bad = ParseSimReservations("ReservationName=x StartTime=now Duration=1 Nodes=n9 Users=root",
                                  w.machine);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "reservations line 1: Invalid node name specified (n9)");
}

}  // namespace
}  // namespace shoal
