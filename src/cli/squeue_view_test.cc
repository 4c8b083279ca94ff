#include "cli/squeue_view.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "api/job_table.h"
#include "cli/test_fixtures.h"

namespace shoal {
namespace {

using testing::kSubmit;
using testing::ReferenceQueue;

class SqueueViewTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::UseUtc(); }

  std::string Render(const char* format, bool named = false, bool expand = false,
                     int64_t now = kSubmit + 3, bool header = true) {
    jobs_ = ReferenceQueue();
    std::vector<Job> shown;
    SqueueFilter filter;
    for (const Job& j : jobs_) {
      if (SqueueMatches(j, filter)) shown.push_back(j);
    }
    jobs_ = shown;
    std::vector<JobRow> rows = BuildJobRows(jobs_, expand);
    SortJobRows(&rows, kSqueueDefaultSort, now);
    return RenderSqueue(ParseSqueueFormat(format, named, nullptr), rows, header, now);
  }

  std::vector<Job> jobs_;
};

// Captured from squeue 22.05 two seconds after the submissions in test_fixtures.h.
TEST_F(SqueueViewTest, DefaultFormatMatchesSlurm) {
  EXPECT_EQ(
      Render(kSqueueDefaultFormat),
      "             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)\n"
      "        5_[4-15%4]     debug     wrap     root PD       0:00      1 (JobArrayTaskLimit)\n"
      "                 9     debug     wrap     root PD       0:00      1 (Dependency)\n"
      "                 6     debug     wrap     root PD       0:00      1 (JobHeldUser)\n"
      "                 3     debug  sleeper     root  R       0:02      2 n[1-2]\n"
      "               5_0     debug     wrap     root  R       0:02      1 n1\n"
      "               5_1     debug     wrap     root  R       0:02      1 n1\n"
      "               5_2     debug     wrap     root  R       0:02      1 n1\n"
      "               5_3     debug     wrap     root  R       0:02      1 n1\n"
      "                 8     debug    niced     root  R       0:02      1 n1\n"
      "                 7      long averyver     root PD       0:00      2 (Resources)\n"
      "                 4      long     wrap     root  R       0:02      2 n[3-4]\n");
}

// squeue --start as Slurm 22.05 prints it once its backfill pass has planned the jobs (a job
// without a plan is listed after those with one).
TEST_F(SqueueViewTest, StartViewShowsPlannedStartAndNodes) {
  Job planned;
  planned.id = 6224;
  planned.req.partition = "debug";
  planned.req.name = "wrap";
  planned.req.user = "root";
  planned.req.min_nodes = 2;
  planned.reason = "Resources";
  planned.planned_start = kSubmit + 600;
  planned.planned_nodes = {"n1", "n2"};
  Job unplanned = planned;
  unplanned.id = 6225;
  unplanned.reason = "Priority";
  unplanned.planned_start = 0;
  unplanned.planned_nodes.clear();
  unplanned.req.min_nodes = 1;
  std::vector<Job> jobs = {unplanned, planned};
  std::vector<JobRow> rows = BuildJobRows(jobs, false);
  SortJobRows(&rows, "S", kSubmit);
  EXPECT_EQ(
      RenderSqueue(ParseSqueueFormat(kSqueueStartFormat, false, nullptr), rows, true, kSubmit),
      "             JOBID PARTITION     NAME     USER ST          START_TIME  NODES SCHEDNODES    "
      "       NODELIST(REASON)\n"
      "              6224     debug     wrap     root PD 2026-11-25T17:17:41      2 n[1-2]        "
      "       (Resources)\n"
      "              6225     debug     wrap     root PD                 N/A      1 (null)        "
      "       (Priority)\n");
}

TEST_F(SqueueViewTest, LongFormatMatchesSlurm) {
  std::string out = Render(kSqueueLongFormat);
  EXPECT_EQ(out.substr(0, out.find('\n') + 1),
            "             JOBID PARTITION     NAME     USER    STATE       TIME TIME_LIMI  NODES "
            "NODELIST(REASON)\n");
  EXPECT_NE(out.find("        5_[4-15%4]     debug     wrap     root  PENDING       0:00 "
                     "UNLIMITED      1 (JobArrayTaskLimit)\n"),
            std::string::npos);
  EXPECT_NE(out.find("                 3     debug  sleeper     root  RUNNING       0:02     "
                     "30:00      2 n[1-2]\n"),
            std::string::npos);
  // Durations overflow their column rather than being cut.
  EXPECT_NE(out.find("                 4      long     wrap     root  RUNNING       0:02 "
                     "1-02:04:00      2 n[3-4]\n"),
            std::string::npos);
  EXPECT_NE(out.find("                 7      long averyver     root  PENDING       0:00   "
                     "1:00:00      2 (Resources)\n"),
            std::string::npos);
}

TEST_F(SqueueViewTest, ArrayExpandedWithR) {
  std::string out = Render(kSqueueDefaultFormat, false, /*expand=*/true);
  EXPECT_NE(out.find("               5_4     debug     wrap     root PD       0:00      1 "
                     "(JobArrayTaskLimit)\n"
                     "               5_5     debug"),
            std::string::npos);
  EXPECT_NE(out.find("              5_15     debug"), std::string::npos);
  EXPECT_EQ(out.find("5_["), std::string::npos);
}

// squeue -o with many codes, 43 seconds after submission, as Slurm printed it (fields shoal
// does not track print Slurm's placeholders).
TEST_F(SqueueViewTest, ManyCodesMatchSlurm) {
  const char* fmt =
      "%i|%A|%a|%j|%u|%t|%T|%M|%l|%D|%R|%r|%P|%p|%Q|%C|%N|%n|%q|%e|%S|%V|%Z|%o|%E|%L|%m|%b|%F|"
      "%K|%k|%y|%c|%d|%f|%h|%H|%I|%J|%x|%U|%G|%g|%O|%v|%w|%z|%B";
  std::string out = Render(fmt, false, false, kSubmit + 1 + 43);
  EXPECT_NE(out.find("JOBID|JOBID|ACCOUNT|NAME|USER|ST|STATE|TIME|TIME_LIMIT|NODES|"
                     "NODELIST(REASON)|REASON|PARTITION|PRIORITY|PRIORITY|CPUS|NODELIST|REQ_NODES|"
                     "QOS|END_TIME|START_TIME|SUBMIT_TIME|WORK_DIR|COMMAND|DEPENDENCY|TIME_LEFT|"
                     "MIN_MEMORY|TRES_PER_NODE|ARRAY_JOB_ID|ARRAY_TASK_ID|COMMENT|NICE|MIN_CPUS|"
                     "MIN_TMP_DISK|FEATURES|OVER_SUBSCRIBE|SOCKETS_PER_NODE|CORES_PER_SOCKET|"
                     "THREADS_PER_CORE|EXC_NODES|UID|GROUP|GROUP|CONTIGUOUS|RESERVATION|WCKEY|"
                     "S:C:T|EXEC_HOST\n"),
            std::string::npos);
  EXPECT_NE(out.find("5_[4-15%4]|5|root|wrap|root|PD|PENDING|0:00|UNLIMITED|1|"
                     "(JobArrayTaskLimit)|JobArrayTaskLimit|debug|0.99998474027961|4294901755|2|||"
                     "normal|N/A|N/A|2026-11-25T17:07:41|/tmp/sref|(null)|(null)|UNLIMITED|0|N/A|"
                     "5|4-15%4|(null)|0|2|0|(null)|OK|*|*|*||0|0|root|0|(null)|(null)|*:*:*|n/a\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("9|9|root|wrap|root|PD|PENDING|0:00|UNLIMITED|1|(Dependency)|Dependency|"
                     "debug|0.99998473958112|4294901752|1|||normal|N/A|N/A|2026-11-25T17:07:41|"
                     "/tmp/sref|(null)|afterok:3(unfulfilled)|UNLIMITED|0|N/A|9|N/A|(null)|0|1|0|"
                     "(null)|OK|*|*|*||0|0|root|0|(null)|(null)|*:*:*|n/a\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("3|3|root|sleeper|root|R|RUNNING|0:43|30:00|2|n[1-2]|None|debug|"
                     "0.99998474074527|4294901757|4|n[1-2]||normal|2026-11-25T17:37:42|"
                     "2026-11-25T17:07:42|2026-11-25T17:07:41|/tmp/sref|(null)|(null)|29:17|0|N/A|"
                     "3|N/A|(null)|0|1|0|(null)|OK|*|*|*||0|0|root|0|(null)|(null)|*:*:*|n1\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("5_0|5|root|wrap|root|R|RUNNING|0:43|UNLIMITED|1|n1|None|debug|"
                     "0.99998474027961|4294901755|2|n1||normal|NONE|2026-11-25T17:07:42|"
                     "2026-11-25T17:07:41|/tmp/sref|(null)|(null)|UNLIMITED|0|N/A|5|0|(null)|0|2|"
                     "0|(null)|OK|*|*|*||0|0|root|0|(null)|(null)|*:*:*|n1\n"),
            std::string::npos)
      << out;
  // --exclusive shows OVER_SUBSCRIBE=NO and the whole nodes' CPUs.
  EXPECT_NE(out.find("4|4|root|wrap|root|R|RUNNING|0:43|1-02:04:00|2|n[3-4]|None|long|"
                     "0.99998474051244|4294901756|32|n[3-4]||normal|2026-11-26T19:11:42|"),
            std::string::npos)
      << out;
}

TEST_F(SqueueViewTest, NamedFormatMatchesSlurm) {
  std::string out = Render(
      "JobID,Name,UserName,State,StateCompact,TimeUsed,TimeLimit,NumNodes,NumCPUs,NodeList,"
      "Reason,Partition,Priority,SubmitTime,StartTime,EndTime,WorkDir,Command,ArrayJobID,"
      "ArrayTaskID",
      true, false, kSubmit + 1 + 43);
  EXPECT_NE(
      out.find(
          "JOBID               NAME                USER                STATE               "
          "ST                  TIME                TIME_LIMIT          NODES               "
          "CPUS                NODELIST            REASON              PARTITION           "
          "PRIORITY            SUBMIT_TIME         START_TIME          END_TIME            "
          "WORK_DIR            COMMAND             ARRAY_JOB_ID        ARRAY_TASK_ID       \n"),
      std::string::npos)
      << out;
  EXPECT_NE(
      out.find(
          "5                   wrap                root                PENDING             "
          "PD                  0:00                UNLIMITED           1                   "
          "2                                       JobArrayTaskLimit   debug               "
          "0.99998474027961    2026-11-25T17:07:41 N/A                 N/A                 "
          "/tmp/sref           (null)              5                   4-15%4              \n"),
      std::string::npos)
      << out;
  // -O JobID is the raw id of an array task; long names run into the next column.
  EXPECT_NE(out.find("\n10                  wrap "), std::string::npos) << out;
  EXPECT_NE(out.find("7                   averyveryverylongjobroot "), std::string::npos) << out;
}

TEST_F(SqueueViewTest, FiltersAndStates) {
  Job done = testing::MakeJob(52, "wrap", "debug", JobState::kCompleted, 1);
  SqueueFilter filter;
  EXPECT_FALSE(SqueueMatches(done, filter));  // finished jobs need -t
  filter.all_states = true;
  EXPECT_TRUE(SqueueMatches(done, filter));
  filter.job_ids = {"5"};
  std::vector<Job> q = ReferenceQueue();
  int matched = 0;
  for (const Job& j : q) matched += SqueueMatches(j, filter) ? 1 : 0;
  EXPECT_EQ(matched, 16);  // the array id names every task
  filter.job_ids = {"5_3"};
  matched = 0;
  for (const Job& j : q) matched += SqueueMatches(j, filter) ? 1 : 0;
  EXPECT_EQ(matched, 1);
  filter = SqueueFilter();
  filter.users = {"alice"};
  EXPECT_FALSE(SqueueMatches(q.front(), filter));
  filter.users = {"root"};
  EXPECT_TRUE(SqueueMatches(q.front(), filter));
}

TEST_F(SqueueViewTest, ReservationFilter) {
  Job in = testing::MakeJob(60, "wrap", "debug", JobState::kPending, 1);
  in.req.reservation = "maint";
  Job out = testing::MakeJob(61, "wrap", "debug", JobState::kPending, 1);
  SqueueFilter filter;
  filter.reservations = {"maint"};
  EXPECT_TRUE(SqueueMatches(in, filter));
  EXPECT_FALSE(SqueueMatches(out, filter));
  const std::vector<std::string> cols = SqueueJobColumns({}, "", filter);
  EXPECT_NE(std::find(cols.begin(), cols.end(), "request.reservation"), cols.end());
}

TEST_F(SqueueViewTest, QosColumnFilterAndSort) {
  std::vector<Job> jobs = {testing::MakeJob(1, "a", "debug", JobState::kPending, 5),
                           testing::MakeJob(2, "b", "debug", JobState::kPending, 5),
                           testing::MakeJob(3, "c", "debug", JobState::kPending, 5)};
  jobs[0].req.qos = "normal";
  jobs[1].req.qos = "high";
  jobs[2].req.qos = "";  // a record from before QOS: normal
  std::vector<JobRow> rows = BuildJobRows(jobs, false);
  SortJobRows(&rows, "-q,i", kSubmit);
  EXPECT_EQ(RenderSqueue(ParseSqueueFormat("%.5i %q", false, nullptr), rows, true, kSubmit),
            "JOBID QOS\n"
            "    1 normal\n"
            "    3 normal\n"
            "    2 high\n");
  SqueueFilter filter;
  filter.qos = {"high"};
  EXPECT_FALSE(SqueueMatches(jobs[0], filter));
  EXPECT_TRUE(SqueueMatches(jobs[1], filter));
  filter.qos = {"normal"};
  EXPECT_TRUE(SqueueMatches(jobs[2], filter));
}

TEST_F(SqueueViewTest, StateSortIsByName) {
  // squeue -t all lists CA before CD before F before PD before R within a partition.
  std::vector<Job> jobs = {testing::MakeJob(1, "a", "debug", JobState::kRunning, 5),
                           testing::MakeJob(2, "b", "debug", JobState::kFailed, 5),
                           testing::MakeJob(3, "c", "debug", JobState::kCompleted, 5),
                           testing::MakeJob(4, "d", "debug", JobState::kCancelled, 5),
                           testing::MakeJob(5, "e", "debug", JobState::kPending, 5)};
  std::vector<JobRow> rows = BuildJobRows(jobs, false);
  SortJobRows(&rows, kSqueueDefaultSort, kSubmit);
  std::string order;
  for (const JobRow& r : rows) order += JobStateShortName(r.job->state) + std::string(" ");
  EXPECT_EQ(order, "CA CD F PD R ");
}

// The listing squeue builds as it reads gives the same text as filtering, collapsing arrays,
// sorting and rendering a whole vector of jobs, whatever order the jobs come in.
TEST_F(SqueueViewTest, ListingMatchesRenderingAllJobs) {
  const int64_t now = kSubmit + 3;
  std::vector<Job> jobs = ReferenceQueue();
  SqueueFilter filter;
  filter.all_states = true;
  for (const char* format : {kSqueueDefaultFormat, kSqueueLongFormat, kSqueueStartFormat,
                             "%i %K %F %A %t %j"}) {
    for (const char* sort : {kSqueueDefaultSort, "-i", "j,-M", "t,u,-S"}) {
      for (bool expand : {false, true}) {
        std::vector<FieldSpec> fields = ParseSqueueFormat(format, false, nullptr);
        std::vector<JobRow> rows = BuildJobRows(jobs, expand);
        SortJobRows(&rows, sort, now);
        const std::string want = RenderSqueue(fields, rows, true, now);
        for (bool reversed : {false, true}) {
          SqueueListing listing(fields, sort, filter, expand, now);
          if (reversed) {
            for (auto j = jobs.rbegin(); j != jobs.rend(); ++j) listing.Add(*j);
          } else {
            for (const Job& j : jobs) listing.Add(j);
          }
          EXPECT_EQ(listing.Finish(true), want) << format << " sorted " << sort;
        }
        // Split among listings filled apart (threads reading runs of the table) and merged:
        // an array's pending tasks may fall in several.
        for (size_t cut = 0; cut <= jobs.size(); cut += 3) {
          std::vector<SqueueListing> parts;
          for (int k = 0; k < 3; ++k) parts.emplace_back(fields, sort, filter, expand, now);
          for (size_t k = 0; k < jobs.size(); ++k) {
            parts[k < cut ? 0 : k < (cut + jobs.size()) / 2 ? 1 : 2].Add(jobs[k]);
          }
          parts[0].Merge(std::move(parts[1]));
          parts[0].Merge(std::move(parts[2]));
          EXPECT_EQ(parts[0].Finish(true), want) << format << " sorted " << sort << " cut " << cut;
        }
      }
    }
  }
  // No jobs: the header only, or nothing.
  std::vector<FieldSpec> fields = ParseSqueueFormat(kSqueueDefaultFormat, false, nullptr);
  EXPECT_EQ(SqueueListing(fields, kSqueueDefaultSort, filter, false, now).Finish(true),
            RenderSqueue(fields, {}, true, now));
  EXPECT_EQ(SqueueListing(fields, kSqueueDefaultSort, filter, false, now).Finish(false), "");
}

// squeue asks the controller for SqueueJobColumns only: every field and sort key must render
// the same from those columns as from whole jobs.
TEST_F(SqueueViewTest, RequestedColumnsSufficeForEveryCode) {
  const int64_t now = kSubmit + 3;
  std::vector<Job> full = ReferenceQueue();
  for (Job& j : full) {
    j.req.stdout_pattern = "o-%j-%x-%u";
    j.req.work_dir = "/w";
    j.req.gpus_per_node = j.id % 2;
    j.req.gpu_type = "a100";
    j.req.constraint = "fast";
    j.req.required_nodes = {"n1"};
    j.req.excluded_nodes = {"n9"};
    j.req.mem_per_cpu_mb = 10;
    j.exit_code = 1;
    j.end_time = j.start_time != 0 ? j.start_time + 5 : 0;
    j.req.qos = j.id % 3 == 0 ? "high" : "normal";
    if (j.state == JobState::kPending && j.id % 2 == 0) j.planned_start = kSubmit + 100 + j.id;
  }
  std::vector<FieldSpec> named =
      ParseSqueueFormat("stdout,stderr,exitcode,numtasks,jobid", true, nullptr);
  for (int c = 1; c < 128; ++c) {
    if (c >= 6 && !isalpha(c)) continue;  // 1..5: the -O-only codes, from `named`
    std::vector<FieldSpec> fields;
    if (c < 6) {
      fields = named;
    } else {
      std::string fmt = "%" + std::string(1, static_cast<char>(c)) + " %i";
      fields = ParsePercentFormat(fmt, std::string(1, static_cast<char>(c)) + "i", nullptr);
    }
    std::string sort = std::string(1, static_cast<char>(c)) + ",-" + kSqueueDefaultSort;
    SqueueFilter filter;
    filter.users = {"nobody", std::to_string(full[0].req.uid)};
    filter.partitions = {"debug", "long"};
    filter.accounts = {full[0].req.account};
    filter.qos = {"normal", "high"};
    auto cols = ResolveJobColumns(SqueueJobColumns(fields, sort, filter));
    ASSERT_TRUE(cols.ok()) << cols.status().message();
    JobTableWriter w(*cols);
    for (const Job& j : full) w.Add(j);
    const std::string table = w.Finish();
    auto sent = DecodeJobTable(table);
    ASSERT_TRUE(sent.ok());
    for (bool expand : {false, true}) {
      auto render = [&](const std::vector<Job>& jobs) {
        std::vector<Job> shown;
        for (const Job& j : jobs) {
          if (SqueueMatches(j, filter)) shown.push_back(j);
        }
        std::vector<JobRow> rows = BuildJobRows(shown, expand);
        SortJobRows(&rows, sort, now);
        return RenderSqueue(fields, rows, true, now);
      };
      std::string want = render(full);
      EXPECT_GT(std::count(want.begin(), want.end(), '\n'), 5);
      EXPECT_EQ(render(*sent), want) << "code " << c;
      // What squeue itself does: each row read into one reused job and rendered at once.
      SqueueListing listing(fields, sort, filter, expand, now);
      auto listed = ReadJobTable(table, [&](const Job& j) { listing.Add(j); });
      ASSERT_TRUE(listed.ok());
      EXPECT_EQ(*listed, full.size());
      EXPECT_EQ(listing.Finish(true), want) << "code " << c << (expand ? " -r" : "");
    }
  }
}

}  // namespace
}  // namespace shoal

namespace shoal {
namespace {

// A job waiting for powered-down nodes to come up: CF / CONFIGURING, also from the columns
// squeue asks the controller for.
TEST(SqueueConfiguringTest, ConfiguringJobShowsCF) {
  Job j;
  j.id = 12;
  j.state = JobState::kRunning;
  j.configuring = true;
  j.req.partition = "cloud";
  j.nodes = {"c1"};
  auto cols = ResolveJobColumns(SqueueJobColumns(ParseSqueueFormat("%t %T", false, nullptr), "",
                                                 SqueueFilter{}));
  ASSERT_TRUE(cols.ok());
  JobTableWriter w(*cols);
  w.Add(j);
  auto sent = DecodeJobTable(w.Finish());
  ASSERT_TRUE(sent.ok());
  std::vector<JobRow> rows = BuildJobRows(*sent, false);
  EXPECT_EQ(RenderSqueue(ParseSqueueFormat("%t %T", false, nullptr), rows, false, 0),
            "CF CONFIGURING\n");
}

}  // namespace
}  // namespace shoal
