#include "api/job_table.h"

#include <gtest/gtest.h>

#include "api/json_model.h"

namespace shoal {
namespace {

// A job with every field away from its default, strings needing escapes included.
Job FullJob() {
  Job j;
  j.id = 42;
  j.state = JobState::kRunning;
  j.reason = "quote\" back\\slash\nnew\ttab\x01 ctl \xC3\xA9";
  j.held = true;
  j.priority = 4000000000u;
  j.submit_time = 1700000000;
  j.eligible_time = 1700000001;
  j.start_time = 1700000002;
  j.end_time = 1700000003;
  j.array_job_id = 40;
  j.array_task_id = 2;
  j.req.reservation = "maint";
  j.nodes = {"n1", "n\"2"};
  j.alloc_cpus = 8;
  j.cpus_per_node = 4;
  j.mem_per_node_alloc_mb = 1ull << 40;
  j.gpu_indices = {{0, 1}, {3}};
  j.exit_code = -3;
  j.exit_signal = 9;
  j.restart_count = 2;
  j.generation = 1ull << 62;
  j.terminating = true;
  j.cancel_requested = true;
  j.preempted_by = 77;
  j.planned_start = 1700000500;
  j.planned_nodes = {"n5", "n6"};
  j.last_modified = -5;
  JobRequest& r = j.req;
  r.name = "na/me \"x\"";
  r.user = "alice";
  r.uid = 1001;
  r.gid = 1002;
  r.account = "acct";
  r.qos = "high";
  r.partition = "debug";
  r.work_dir = "/home/a b";
  r.stdout_pattern = "out-%j";
  r.stderr_pattern = "err-%j";
  r.submit_host = "login";
  r.command = "/bin/x\\y";
  r.min_nodes = 2;
  r.max_nodes = 3;
  r.ntasks = 4;
  r.ntasks_per_node = 2;
  r.cpus_per_task = 2;
  r.mem_per_node_mb = 100;
  r.mem_per_cpu_mb = 10;
  r.gpus_per_node = 1;
  r.gpu_type = "a100";
  r.time_limit_s = -1;
  r.begin_time = 1700000100;
  r.exclusive = true;
  r.requeue = false;
  r.nice = -10;
  r.constraint = "a&b";
  r.required_nodes = {"n1"};
  r.excluded_nodes = {"n3", "n4"};
  r.dependency.clauses = {{Dependency::Kind::kAfterOk, 7, 3},
                          {Dependency::Kind::kSingleton, 0, -1}};
  r.dependency.any = true;
  r.dependency.text = "afterok:7_3?singleton";
  r.array_spec = "0-9%2";
  r.array_max_running = 2;
  r.open_append = true;
  r.webhook = "https://tracker.example.com/run?id=\"7\"";
  r.container.image = "localhost/x:1";
  r.container.mounts = {"/a:/b:ro"};
  r.container.remap_root = true;
  return j;
}

TEST(JobTableTest, RoundTripsEveryColumn) {
  auto cols = ResolveJobColumns(AllJobColumns());
  ASSERT_TRUE(cols.ok());
  JobTableWriter w(*cols);
  Job full = FullJob();
  w.Add(full);
  w.Add(Job());
  std::string text = w.Finish();
  ASSERT_FALSE(Json::parse(text, nullptr, false).is_discarded()) << text;
  auto jobs = DecodeJobTable(text);
  ASSERT_TRUE(jobs.ok()) << jobs.status().message();
  ASSERT_EQ(jobs->size(), 2u);
  // JobToJson covers every field, so equal documents mean equal jobs.
  EXPECT_EQ(JobToJson((*jobs)[0]), JobToJson(full));
  EXPECT_EQ(JobToJson((*jobs)[1]), JobToJson(Job()));
}

TEST(JobTableTest, DocumentEqualsJobToJson) {
  for (const Job& job : {FullJob(), Job()}) {
    Json doc = Json::parse(JobDocument(job), nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << JobDocument(job);
    EXPECT_EQ(doc, JobToJson(job));
  }
}

TEST(JobTableTest, EveryColumnMatchesJobToJson) {
  // Each column alone decodes to what the full document says for that field.
  Job full = FullJob();
  Json doc = JobToJson(full);
  for (const std::string& name : AllJobColumns()) {
    JobTableWriter w(*ResolveJobColumns({name}));
    w.Add(full);
    Json table = Json::parse(w.Finish());
    const Json& want = name.rfind("request.", 0) == 0 ? doc["request"][name.substr(8)] : doc[name];
    EXPECT_EQ(table["rows"][0][0], want) << name;
  }
}

TEST(JobTableTest, SubsetLeavesOtherFieldsAtDefaults) {
  JobTableWriter w(*ResolveJobColumns({"job_id", "request.name"}));
  w.Add(FullJob());
  auto jobs = DecodeJobTable(w.Finish());
  ASSERT_TRUE(jobs.ok());
  Job want;
  want.id = 42;
  want.req.name = FullJob().req.name;
  EXPECT_EQ(JobToJson((*jobs)[0]), JobToJson(want));
}

TEST(JobTableTest, RejectsUnknownAndMalformed) {
  auto bad = ResolveJobColumns({"job_id", "bogus"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bogus"), std::string::npos);
  EXPECT_FALSE(DecodeJobTable(R"({"columns":["nope"],"rows":[]})").ok());
  EXPECT_FALSE(DecodeJobTable(R"({"columns":["job_id"],"rows":[[1,2]]})").ok());
  EXPECT_FALSE(DecodeJobTable(R"({"columns":["job_id"],"rows":[["x"]]})").ok());
  EXPECT_FALSE(DecodeJobTable(R"({"columns":["job_id"],"rows":[[-1]]})").ok());
  EXPECT_FALSE(DecodeJobTable(R"({"columns":["state"],"rows":[["NOPE"]]})").ok());
  EXPECT_FALSE(DecodeJobTable(R"({"columns":["job_id"],"rows":[[1])").ok());
  EXPECT_FALSE(DecodeJobTable(R"({"columns":["job_id"],"rows":[[1.5]]})").ok());
  EXPECT_FALSE(DecodeJobTable(R"({"columns":["job_id"],"rows":[[1]]} x)").ok());
  EXPECT_FALSE(DecodeJobTable(R"({"rows":[[1]],"columns":["job_id"]})").ok());
  EXPECT_FALSE(DecodeJobTable(R"({"columns":["request.name"],"rows":[["a\q"]]})").ok());
  EXPECT_FALSE(DecodeJobTable(R"({"columns":["request.name"],"rows":[["\ud800x"]]})").ok());
  EXPECT_FALSE(DecodeJobTable("{\"columns\":[\"request.name\"],\"rows\":[[\"a\nb\"]]}").ok());
  EXPECT_FALSE(DecodeJobTable(R"({"columns":["nodes"],"rows":[[[1,]]]})").ok());
  EXPECT_FALSE(DecodeJobTable("").ok());
  auto empty = DecodeJobTable(R"({"columns":["job_id"],"rows":[]})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

// Found by fuzz_job_table: raw bytes that are not UTF-8 were taken into strings, and came back
// from JobDocument and the table writer as U+FFFD, a different value.
TEST(JobTableTest, RejectsStringsThatAreNotUtf8) {
  for (const char* bad : {"\xa4",
                          "a\xe0"
                          "b",
                          "\xc3", "\xed\xa0\x80", "\xf8\x88\x80\x80"}) {
    auto r =
        DecodeJobTable(std::string(R"({"columns":["request.name"],"rows":[[")") + bad + R"("]]})");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("UTF-8"), std::string::npos) << r.status().message();
  }
  auto ok = DecodeJobTable(
      "{\"columns\":[\"request.name\"],\"rows\":[[\"caf\xc3\xa9 \xf0\x9f\x98\x80\"]]}");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ((*ok)[0].req.name, "caf\xc3\xa9 \xf0\x9f\x98\x80");
}

TEST(JobTableTest, ReadsAnyWellFormedLayout) {
  // Whitespace anywhere, members the reader does not know, every escape form.
  auto jobs = DecodeJobTable(
      " {\n \"version\" : {\"x\":[1,\"]\"]}, \"columns\" : [ \"job_id\" , \"request.name\", "
      "\"nodes\", \"held\", \"request.account\" ] ,\n \"rows\" : [ [ 7 , "
      "\"a\\\"b\\\\c\\/\\u00e9\\ud83d\\ude00\\t\" , [ \"n1\" , \"n2\" ] , true , null ] ] } ");
  ASSERT_TRUE(jobs.ok()) << jobs.status().message();
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].id, 7u);
  EXPECT_EQ((*jobs)[0].req.name, "a\"b\\c/\xC3\xA9\xF0\x9F\x98\x80\t");
  EXPECT_EQ((*jobs)[0].nodes, (std::vector<std::string>{"n1", "n2"}));
  EXPECT_TRUE((*jobs)[0].held);
  EXPECT_EQ((*jobs)[0].req.account, "");
}

// ReadJobTable hands every row to the visitor in one reused job: each row must read exactly as
// DecodeJobTable's fresh job of that row, whatever the rows before it held.
TEST(JobTableTest, ReadRowByRowEqualsDecodingAll) {
  auto cols = ResolveJobColumns(AllJobColumns());
  ASSERT_TRUE(cols.ok());
  JobTableWriter w(*cols);
  w.Add(FullJob());
  w.Add(Job());
  w.Add(FullJob());
  const std::string text = w.Finish();
  auto all = DecodeJobTable(text);
  ASSERT_TRUE(all.ok());
  std::vector<Json> seen;
  auto rows = ReadJobTable(text, [&](const Job& j) { seen.push_back(JobToJson(j)); });
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_EQ(*rows, 3u);
  ASSERT_EQ(seen.size(), 3u);
  for (size_t k = 0; k < 3; ++k) EXPECT_EQ(seen[k], JobToJson((*all)[k])) << "row " << k;
}

TEST(JobTableTest, ReadRowByRowResetsNullCells) {
  // A null cell is the field's default, not the previous row's value.
  std::vector<Job> seen;
  auto rows = ReadJobTable(
      R"({"columns":["job_id","request.name","reason","nodes","request.min_nodes"],)"
      R"("rows":[[1,"a","Priority",["n1"],4],[2,null,null,null,null]]})",
      [&](const Job& j) { seen.push_back(j); });
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].req.name, "a");
  EXPECT_EQ(seen[0].nodes, std::vector<std::string>{"n1"});
  Job want;
  want.id = 2;
  EXPECT_EQ(JobToJson(seen[1]), JobToJson(want));
}

TEST(JobTableTest, ReadRowByRowRejectsWhatDecodingRejects) {
  for (const char* bad : {R"({"columns":["nope"],"rows":[]})",
                          R"({"columns":["job_id"],"rows":[[1],[1,2]]})",
                          R"({"columns":["job_id"],"rows":[[1],["x"]]})",
                          R"({"columns":["state"],"rows":[["NOPE"]]})",
                          R"({"columns":["job_id"],"rows":[[1],[2])", ""}) {
    size_t visited = 0;
    auto rows = ReadJobTable(bad, [&](const Job&) { ++visited; });
    EXPECT_FALSE(rows.ok()) << bad;
    EXPECT_FALSE(DecodeJobTable(bad).ok()) << bad;
    EXPECT_LE(visited, 1u) << bad;  // the good first row at most, never the bad one
  }
  auto empty = ReadJobTable(R"({"columns":["job_id"],"rows":[]})", [](const Job&) {
    ADD_FAILURE() << "no row to visit";
  });
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, 0u);
}

TEST(JobTableTest, TablesWrittenInRunsJoinIntoTheTableOfAll) {
  auto cols = ResolveJobColumns({"job_id", "request.name", "nodes"});
  ASSERT_TRUE(cols.ok());
  std::vector<Job> jobs;
  for (JobId id = 1; id <= 7; ++id) {
    Job j = FullJob();
    j.id = id;
    jobs.push_back(j);
  }
  JobTableWriter all(*cols);
  for (const Job& j : jobs) all.Add(j);
  const std::string want = all.Finish();
  // Every way of cutting the jobs into three runs, empty runs included.
  for (size_t a = 0; a <= jobs.size(); ++a) {
    for (size_t b = a; b <= jobs.size(); ++b) {
      std::vector<JobTableWriter> runs(3, JobTableWriter(*cols));
      for (size_t k = 0; k < jobs.size(); ++k) runs[k < a ? 0 : k < b ? 1 : 2].Add(jobs[k]);
      runs[0].Append(std::move(runs[1]));
      runs[0].Append(std::move(runs[2]));
      EXPECT_EQ(runs[0].Finish(), want) << a << " " << b;
    }
  }
}

TEST(JobTableTest, RunsOnThreadsSeeEveryRowOnceInOrder) {
  auto cols = ResolveJobColumns({"job_id", "request.name", "nodes", "reason"});
  ASSERT_TRUE(cols.ok());
  JobTableWriter w(*cols);
  Job job = FullJob();
  constexpr JobId kRows = 30000;  // over a megabyte: worth a second thread
  for (JobId id = 1; id <= kRows; ++id) {
    job.id = id;
    w.Add(job);
  }
  const std::string text = w.Finish();
  ASSERT_GT(text.size(), size_t{2} << 20);
  std::vector<std::vector<JobId>> seen(4);
  Result<JobTableRuns> read =
      ReadJobTableInRuns(text, 4, [&](size_t k, const Job& j) { seen.at(k).push_back(j.id); });
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->rows, kRows);
  EXPECT_GE(read->runs, 2u);
  std::vector<JobId> all;
  for (size_t k = 0; k < read->runs; ++k) {
    EXPECT_FALSE(seen[k].empty()) << "run " << k;
    all.insert(all.end(), seen[k].begin(), seen[k].end());
  }
  ASSERT_EQ(all.size(), kRows);
  for (JobId id = 1; id <= kRows; ++id) ASSERT_EQ(all[id - 1], id);
  // A small table is not worth a thread.
  read = ReadJobTableInRuns(R"({"columns":["job_id"],"rows":[[1],)"
                            "\n"
                            R"([2]]})",
                            4, [&](size_t k, const Job&) { EXPECT_EQ(k, 0u); });
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->runs, 1u);
  EXPECT_EQ(read->rows, 2u);
}

TEST(JobTableTest, EscapesLikeAJsonSerializer) {
  for (std::string s : {std::string("plain"), std::string("\"\\\b\f\n\r\t\x1f"),
                        std::string("caf\xC3\xA9 \xF0\x9F\x98\x80"), std::string("\0x", 2)}) {
    std::string out;
    AppendJsonString(s, &out);
    EXPECT_EQ(Json::parse(out).get<std::string>(), s);
  }
  std::string out;
  AppendJsonString("bad \xFF\xC3", &out);  // invalid UTF-8 becomes U+FFFD, still parseable
  EXPECT_EQ(Json::parse(out).get<std::string>(), "bad \xEF\xBF\xBD\xEF\xBF\xBD");
}

}  // namespace
}  // namespace shoal
