#include "store/store.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "common/strings.h"
#include "store/postgres_store.h"

namespace shoal {
namespace {

// A real PostgreSQL server for the Postgres instances of the tests: the one ctest's fixture
// started (SHOAL_TEST_POSTGRES_DIR, see CMakeLists.txt), or else one of this process's own,
// started at first use by tests/tools/throwaway_postgres.sh and stopped at exit.
class PostgresServer : public ::testing::Environment {
 public:
  static PostgresServer& Get() {
    static PostgresServer* server = [] {
      auto* s = new PostgresServer;
      ::testing::AddGlobalTestEnvironment(s);  // takes ownership; TearDown stops our own
      return s;
    }();
    return *server;
  }

  // The conninfo of database `db` on the server; empty with skip_reason() when there is none.
  std::string Conninfo(const std::string& db) {
    Start();
    if (host_.empty()) return "";
    return "host=" + host_ + " port=5432 user=shoal dbname=" + db;
  }
  const std::string& skip_reason() const { return skip_reason_; }

  // Runs `sql` in the maintenance database; returns the server's message or "".
  std::string Admin(const std::string& sql) {
    PGconn* c = PQconnectdb(Conninfo("postgres").c_str());
    std::string err;
    if (PQstatus(c) != CONNECTION_OK) {
      err = PQerrorMessage(c);
    } else {
      PGresult* r = PQexec(c, sql.c_str());
      if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        err = PQresultErrorMessage(r);
      }
      PQclear(r);
    }
    PQfinish(c);
    return err;
  }

  void TearDown() override {
    if (!own_dir_.empty()) {
      std::string cmd = std::string("bash ") + SHOAL_THROWAWAY_POSTGRES + " stop " + own_dir_;
      if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not stop PostgreSQL\n");
      own_dir_.clear();
    }
  }

 private:
  void Start() {
    if (started_) return;
    started_ = true;
    if (const char* dir = std::getenv("SHOAL_TEST_POSTGRES_DIR");
        dir != nullptr && std::filesystem::exists(std::string(dir) + "/data/postmaster.pid")) {
      host_ = dir;
      return;
    }
    std::string tmpl = "/tmp/shoal-store-test-pg.XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      skip_reason_ = "cannot create a directory for PostgreSQL";
      return;
    }
    std::string cmd = std::string("bash ") + SHOAL_THROWAWAY_POSTGRES + " start " + tmpl + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[512];
    while (p != nullptr && std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
    const int status = p ? pclose(p) : -1;
    if (status == 0) {
      own_dir_ = host_ = tmpl;
      return;
    }
    skip_reason_ = "no PostgreSQL server: " + std::string(Trim(out));
    std::filesystem::remove_all(tmpl);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 77) ADD_FAILURE() << skip_reason_;
  }

  bool started_ = false;
  std::string host_;     // the server's socket directory
  std::string own_dir_;  // set when this process started it
  std::string skip_reason_;
};

enum class Backend { kSqlite, kPostgres };

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}
// For the parameter as ctest's test list shows it.
void PrintTo(Backend b, std::ostream* os) {
  *os << (b == Backend::kSqlite ? "SQLite" : "PostgreSQL");
}

// A fresh store per test: a new SQLite file in a fresh directory, or a new database on the
// PostgreSQL server; removed afterwards.
class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "store_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    if (GetParam() == Backend::kSqlite) {
      path_ = dir_ + "/shoal.db";
    } else {
      static int counter = 0;
      db_ = "store_test_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
      PostgresServer& server = PostgresServer::Get();
      path_ = server.Conninfo(db_);
      if (path_.empty()) GTEST_SKIP() << server.skip_reason();
      const std::string err = server.Admin("CREATE DATABASE " + db_);
      ASSERT_EQ(err, "");
    }
    Open();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
    if (!db_.empty() && !path_.empty()) {
      EXPECT_EQ(PostgresServer::Get().Admin("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)"),
                "");
    }
  }

  static Result<std::unique_ptr<Store>> OpenStore(const std::string& where) {
    return GetParam() == Backend::kSqlite ? OpenSqliteStore(where) : OpenPostgresStore(where);
  }
  void Open() {
    auto s = OpenStore(path_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }
  void Reopen() {
    store_.reset();
    Open();
  }

  std::vector<Job> Live(int64_t finished_since) {
    auto r = store_->LoadLiveJobs(finished_since);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : std::vector<Job>{};
  }
  std::vector<JobId> Query(const JobQuery& q) {
    auto r = store_->QueryJobs(q);
    EXPECT_TRUE(r.ok()) << r.status().message();
    std::vector<JobId> ids;
    if (r.ok()) {
      for (const Job& j : *r) ids.push_back(j.id);
    }
    return ids;
  }

  std::string dir_;
  std::string path_;  // the SQLite file, or the PostgreSQL conninfo
  std::string db_;    // the PostgreSQL database
  std::unique_ptr<Store> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

using Ids = std::vector<JobId>;

Job MakeJob(JobId id, JobState state = JobState::kPending) {
  Job j;
  j.id = id;
  j.state = state;
  j.req.name = "job" + std::to_string(id);
  j.req.user = "alice";
  j.req.partition = "batch";
  j.submit_time = 1000 + static_cast<int64_t>(id);
  if (state != JobState::kPending) j.start_time = j.submit_time + 10;
  if (IsFinished(state)) j.end_time = j.start_time + 100;
  return j;
}

StoreOp Insert(const Job& job) {
  StoreOp op;
  op.kind = StoreOp::Kind::kInsertJob;
  op.job = job;
  return op;
}
StoreOp Update(const Job& job) {
  StoreOp op = Insert(job);
  op.kind = StoreOp::Kind::kUpdateJob;
  return op;
}
StoreOp Payload(JobId id, std::string script, std::vector<std::string> env) {
  StoreOp op;
  op.kind = StoreOp::Kind::kInsertPayload;
  op.payload_id = id;
  op.payload.script = std::move(script);
  op.payload.env = std::move(env);
  return op;
}

std::vector<StoreOp> Ops(std::initializer_list<StoreOp> ops) { return ops; }

std::vector<JobId> IdsOf(const std::vector<Job>& jobs) {
  std::vector<JobId> ids;
  for (const Job& j : jobs) ids.push_back(j.id);
  return ids;
}

// Every field, so a field the codec forgets shows up here.
void ExpectSameJob(const Job& a, const Job& b) {
  const JobRequest& x = a.req;
  const JobRequest& y = b.req;
  EXPECT_EQ(x.name, y.name);
  EXPECT_EQ(x.user, y.user);
  EXPECT_EQ(x.uid, y.uid);
  EXPECT_EQ(x.gid, y.gid);
  EXPECT_EQ(x.account, y.account);
  EXPECT_EQ(x.partition, y.partition);
  EXPECT_EQ(x.work_dir, y.work_dir);
  EXPECT_EQ(x.stdout_pattern, y.stdout_pattern);
  EXPECT_EQ(x.stderr_pattern, y.stderr_pattern);
  EXPECT_EQ(x.submit_host, y.submit_host);
  EXPECT_EQ(x.command, y.command);
  EXPECT_EQ(x.min_nodes, y.min_nodes);
  EXPECT_EQ(x.max_nodes, y.max_nodes);
  EXPECT_EQ(x.ntasks, y.ntasks);
  EXPECT_EQ(x.ntasks_per_node, y.ntasks_per_node);
  EXPECT_EQ(x.cpus_per_task, y.cpus_per_task);
  EXPECT_EQ(x.mem_per_node_mb, y.mem_per_node_mb);
  EXPECT_EQ(x.mem_per_cpu_mb, y.mem_per_cpu_mb);
  EXPECT_EQ(x.gpus_per_node, y.gpus_per_node);
  EXPECT_EQ(x.gpu_type, y.gpu_type);
  EXPECT_EQ(x.time_limit_s, y.time_limit_s);
  EXPECT_EQ(x.begin_time, y.begin_time);
  EXPECT_EQ(x.exclusive, y.exclusive);
  EXPECT_EQ(x.requeue, y.requeue);
  EXPECT_EQ(x.nice, y.nice);
  EXPECT_EQ(x.constraint, y.constraint);
  EXPECT_EQ(x.required_nodes, y.required_nodes);
  EXPECT_EQ(x.excluded_nodes, y.excluded_nodes);
  EXPECT_EQ(x.dependency.any, y.dependency.any);
  EXPECT_EQ(x.dependency.text, y.dependency.text);
  ASSERT_EQ(x.dependency.clauses.size(), y.dependency.clauses.size());
  for (size_t i = 0; i < x.dependency.clauses.size(); ++i) {
    EXPECT_EQ(x.dependency.clauses[i].kind, y.dependency.clauses[i].kind) << i;
    EXPECT_EQ(x.dependency.clauses[i].job_id, y.dependency.clauses[i].job_id) << i;
    EXPECT_EQ(x.dependency.clauses[i].array_task, y.dependency.clauses[i].array_task) << i;
  }
  EXPECT_EQ(x.array_spec, y.array_spec);
  EXPECT_EQ(x.array_max_running, y.array_max_running);
  EXPECT_EQ(x.open_append, y.open_append);
  EXPECT_EQ(x.webhook, y.webhook);

  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.held, b.held);
  EXPECT_EQ(a.priority, b.priority);
  EXPECT_EQ(a.submit_time, b.submit_time);
  EXPECT_EQ(a.eligible_time, b.eligible_time);
  EXPECT_EQ(a.start_time, b.start_time);
  EXPECT_EQ(a.end_time, b.end_time);
  EXPECT_EQ(a.array_job_id, b.array_job_id);
  EXPECT_EQ(a.array_task_id, b.array_task_id);
  EXPECT_EQ(a.nodes, b.nodes);
  EXPECT_EQ(a.alloc_cpus, b.alloc_cpus);
  EXPECT_EQ(a.cpus_per_node, b.cpus_per_node);
  EXPECT_EQ(a.mem_per_node_alloc_mb, b.mem_per_node_alloc_mb);
  EXPECT_EQ(a.gpu_indices, b.gpu_indices);
  EXPECT_EQ(a.exit_code, b.exit_code);
  EXPECT_EQ(a.exit_signal, b.exit_signal);
  EXPECT_EQ(a.restart_count, b.restart_count);
  EXPECT_EQ(a.generation, b.generation);
  EXPECT_EQ(a.terminating, b.terminating);
  EXPECT_EQ(a.cancel_requested, b.cancel_requested);
  EXPECT_EQ(a.last_modified, b.last_modified);
}

// A job with every field away from its default.
Job FullJob() {
  Job j;
  JobRequest& r = j.req;
  r.name = "train \"big\" model ✓";
  r.user = "alice";
  r.uid = 1001;
  r.gid = 2002;
  r.account = "physics";
  r.partition = "gpu";
  r.work_dir = "/home/alice/run 1";
  r.stdout_pattern = "out-%j.txt";
  r.stderr_pattern = "err-%A_%a.txt";
  r.submit_host = "login1";
  r.command = "/home/alice/run.sh";
  r.min_nodes = 2;
  r.max_nodes = 4;
  r.ntasks = 8;
  r.ntasks_per_node = 4;
  r.cpus_per_task = 3;
  r.mem_per_node_mb = 64000;
  r.mem_per_cpu_mb = 2000;
  r.gpus_per_node = 2;
  r.gpu_type = "a100";
  r.time_limit_s = 86400;
  r.begin_time = -5;
  r.exclusive = true;
  r.requeue = false;
  r.nice = -20;
  r.constraint = "ssd&ib";
  r.required_nodes = {"g1", "g2"};
  r.excluded_nodes = {"g9"};
  r.dependency.clauses = {{Dependency::Kind::kAfterOk, 12, 3},
                          {Dependency::Kind::kAfterNotOk, 13, kNoArrayTask},
                          {Dependency::Kind::kAfter, 14, 0},
                          {Dependency::Kind::kSingleton, 0, kNoArrayTask}};
  r.dependency.any = true;
  r.dependency.text = "afterok:12_3?afternotok:13?after:14_0?singleton";
  r.array_spec = "0-9%2";
  r.array_max_running = 2;
  r.open_append = true;
  r.webhook = "https://tracker.example.com/run/7";
  j.id = 4242;
  j.state = JobState::kRunning;
  j.reason = "None";
  j.held = true;
  j.priority = 4000000000u;
  j.submit_time = 1700000000;
  j.eligible_time = 1700000001;
  j.start_time = 1700000002;
  j.end_time = 1700000003;
  j.array_job_id = 4240;
  j.array_task_id = 2;
  j.nodes = {"g1", "g2"};
  j.alloc_cpus = 24;
  j.cpus_per_node = 12;
  j.mem_per_node_alloc_mb = 64000;
  j.gpu_indices = {{0, 1}, {2, 3}};
  j.exit_code = 3;
  j.exit_signal = 9;
  j.restart_count = 2;
  j.generation = 18446744073709551615ull;
  j.terminating = true;
  j.cancel_requested = true;
  j.last_modified = 1700000004;
  return j;
}

TEST_P(StoreTest, EmptyStore) {
  auto max = store_->MaxJobId();
  ASSERT_TRUE(max.ok()) << max.status().message();
  EXPECT_EQ(*max, 0u);
  EXPECT_TRUE(Live(0).empty());
  EXPECT_TRUE(Query({}).empty());
  auto p = store_->LoadPayload(1);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kNotFound);
}

TEST_P(StoreTest, DocumentsAreReplacedAndSurviveReopen) {
  auto none = store_->LoadDocument("accounting");
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_FALSE(none->has_value());
  for (const char* body : {"{\"v\":1}", "{\"v\":2, \"text\":\"caf\u00e9\"}"}) {
    StoreOp op;
    op.kind = StoreOp::Kind::kSaveDocument;
    op.doc_name = "accounting";
    op.doc_body = body;
    ASSERT_TRUE(store_->Write({op}).ok());
  }
  Reopen();
  auto doc = store_->LoadDocument("accounting");
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  ASSERT_TRUE(doc->has_value());
  EXPECT_EQ(**doc, "{\"v\":2, \"text\":\"caf\u00e9\"}");
  EXPECT_FALSE(store_->LoadDocument("other")->has_value());
}

TEST_P(StoreTest, NodeStatesKeepTheNodesSizeAndGoWhenCleared) {
  auto save = [&](const NodeAdminState& n) {
    StoreOp op;
    op.kind = StoreOp::Kind::kSaveNodeState;
    op.node_state = n;
    return store_->Write({op});
  };
  ASSERT_TRUE(save({"gpu1", true, false, "fan", 1700000000, 64, 512000, 8, "h200"}).ok());
  ASSERT_TRUE(save({"cpu1", false, true, "bad dimm", 1700000001, 2, 4096, 0, ""}).ok());
  ASSERT_TRUE(save({"cpu2", true, false, "later resumed", 1700000002, 2, 4096, 0, ""}).ok());
  ASSERT_TRUE(save({"cpu2", false, false, "", 0, 2, 4096, 0, ""}).ok());
  Reopen();
  auto states = store_->LoadNodeStates();
  ASSERT_TRUE(states.ok()) << states.status().message();
  ASSERT_EQ(states->size(), 2u);
  const NodeAdminState& cpu = (*states)[0];
  EXPECT_EQ(cpu.name, "cpu1");
  EXPECT_TRUE(cpu.down);
  EXPECT_EQ(cpu.cpus, 2u);
  EXPECT_EQ(cpu.memory_mb, 4096u);
  const NodeAdminState& gpu = (*states)[1];
  EXPECT_EQ(gpu.name, "gpu1");
  EXPECT_TRUE(gpu.drain);
  EXPECT_EQ(gpu.reason, "fan");
  EXPECT_EQ(gpu.reason_time, 1700000000);
  EXPECT_EQ(gpu.cpus, 64u);
  EXPECT_EQ(gpu.memory_mb, 512000u);
  EXPECT_EQ(gpu.gpus, 8u);
  EXPECT_EQ(gpu.gpu_type, "h200");
}

TEST_P(StoreTest, NodeEventsOpenCloseAndQueryByWindow) {
  auto save = [&](const NodeEvent& e) {
    StoreOp op;
    op.kind = StoreOp::Kind::kSaveNodeEvent;
    op.node_event = e;
    op.must_sync = false;
    ASSERT_TRUE(store_->Write({op}).ok());
  };
  NodeEvent down{"n1", "DOWN", "broken fan", 4, 100, 0};
  save(down);
  save({"n2", "POWERED_DOWN", "", 2, 150, 300});
  down.end = 200;  // closed: the same row
  save(down);
  Reopen();
  auto all = store_->LoadNodeEvents(0, 1000);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].node, "n1");
  EXPECT_EQ((*all)[0].end, 200);
  EXPECT_EQ((*all)[0].reason, "broken fan");
  EXPECT_EQ((*all)[0].cpus, 4u);
  EXPECT_EQ((*all)[1].state, "POWERED_DOWN");
  auto late = store_->LoadNodeEvents(250, 1000);
  ASSERT_TRUE(late.ok());
  ASSERT_EQ(late->size(), 1u);
  EXPECT_EQ((*late)[0].node, "n2");
  EXPECT_TRUE(store_->LoadNodeEvents(0, 100)->empty());
  save({"n3", "DRAIN", "x", 1, 500, 0});  // open: lasts
  EXPECT_EQ(store_->LoadNodeEvents(900, 1000)->size(), 1u);
}

TEST(OutageTest, CpuSecondsInTheWindow) {
  std::vector<NodeEvent> events = {{"n1", "DOWN", "", 4, 100, 200},
                                   {"n2", "DRAIN", "", 2, 150, 0},
                                   {"n3", "POWERED_DOWN", "", 8, 0, 1000}};
  OutageSeconds s = OutageCpuSeconds(events, 150, 400, 300);
  EXPECT_DOUBLE_EQ(s.down, 50 * 4 + 150 * 2);  // n2 open: until now
  EXPECT_DOUBLE_EQ(s.planned_down, 250 * 8);
}

TEST_P(StoreTest, OpenFailsWhereNoDatabaseCanBeCreated) {
  if (GetParam() == Backend::kSqlite) {
    auto s = OpenSqliteStore(dir_ + "/missing/dir/shoal.db");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), StatusCode::kInternal);
    EXPECT_NE(s.status().message().find("missing/dir/shoal.db"), std::string::npos)
        << s.status().message();
    return;
  }
  // The server's own message comes back.
  auto s = OpenStore(PostgresServer::Get().Conninfo("no_such_db"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(s.status().message().find("database \"no_such_db\" does not exist"),
            std::string::npos)
      << s.status().message();
  auto bad = OpenStore("host=/tmp no_such_option=1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument) << bad.status().message();
}

TEST_P(StoreTest, PayloadAndJobsInOneWrite) {
  Status s = store_->Write(Ops({Payload(7, "#!/bin/sh\necho hi\n", {"A=1", "B=x=y", "C="}),
                                Insert(MakeJob(7)), Insert(MakeJob(8))}));
  ASSERT_TRUE(s.ok()) << s.message();
  auto p = store_->LoadPayload(7);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->script, "#!/bin/sh\necho hi\n");
  EXPECT_EQ(p->env, (std::vector<std::string>{"A=1", "B=x=y", "C="}));
  EXPECT_EQ(store_->LoadPayload(8).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*store_->MaxJobId(), 8u);
  EXPECT_EQ(IdsOf(Live(0)), (Ids{7, 8}));
}

TEST_P(StoreTest, EmptyPayloadRoundTrips) {
  ASSERT_TRUE(store_->Write(Ops({Payload(3, "", {})})).ok());
  auto p = store_->LoadPayload(3);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->script, "");
  EXPECT_TRUE(p->env.empty());
}

TEST_P(StoreTest, PayloadWriteReplaces) {
  ASSERT_TRUE(store_->Write(Ops({Payload(3, "one", {"X=1"})})).ok());
  ASSERT_TRUE(store_->Write(Ops({Payload(3, "two", {"Y=2"})})).ok());
  auto p = store_->LoadPayload(3);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->script, "two");
  EXPECT_EQ(p->env, (std::vector<std::string>{"Y=2"}));
}

TEST_P(StoreTest, UpdateReplacesTheJob) {
  Job j = MakeJob(1);
  ASSERT_TRUE(store_->Write(Ops({Insert(j)})).ok());
  j.state = JobState::kCompleted;
  j.start_time = 2000;
  j.end_time = 3000;
  j.exit_code = 4;
  j.req.partition = "long";
  ASSERT_TRUE(store_->Write(Ops({Update(j)})).ok());
  auto all = store_->QueryJobs({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  ExpectSameJob((*all)[0], j);
  // The query columns follow the update too.
  JobQuery q;
  q.states = {"COMPLETED"};
  q.partitions = {"long"};
  EXPECT_EQ(Query(q), (Ids{1}));
  q.states = {"PENDING"};
  EXPECT_TRUE(Query(q).empty());
  q.states.clear();
  q.partitions = {"batch"};
  EXPECT_TRUE(Query(q).empty());
}

TEST_P(StoreTest, UpdateOfAnUnknownJobInsertsIt) {
  ASSERT_TRUE(store_->Write(Ops({Update(MakeJob(5))})).ok());
  EXPECT_EQ(IdsOf(Live(0)), (Ids{5}));
}

TEST_P(StoreTest, LoadLiveJobsKeepsUnfinishedAndRecentlyFinished) {
  Job pending = MakeJob(1);
  Job running = MakeJob(2, JobState::kRunning);
  Job old_done = MakeJob(3, JobState::kCompleted);
  old_done.end_time = 500;
  Job recent_fail = MakeJob(4, JobState::kFailed);
  recent_fail.end_time = 900;
  Job edge = MakeJob(5, JobState::kCancelled);
  edge.end_time = 800;
  Status s = store_->Write(
      Ops({Insert(pending), Insert(running), Insert(old_done), Insert(recent_fail), Insert(edge)}));
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(IdsOf(Live(800)), (Ids{1, 2, 4, 5}));
  EXPECT_EQ(IdsOf(Live(801)), (Ids{1, 2, 4}));
  EXPECT_EQ(IdsOf(Live(10000)), (Ids{1, 2}));
  EXPECT_EQ(IdsOf(Live(0)), (Ids{1, 2, 3, 4, 5}));
  // A requeued job is live again whatever its old end time.
  old_done.state = JobState::kPending;
  ASSERT_TRUE(store_->Write(Ops({Update(old_done)})).ok());
  EXPECT_EQ(IdsOf(Live(10000)), (Ids{1, 2, 3}));
}

TEST_P(StoreTest, MaxJobIdIsTheHighestEver) {
  ASSERT_TRUE(store_->Write(Ops({Insert(MakeJob(9)), Insert(MakeJob(3))})).ok());
  EXPECT_EQ(*store_->MaxJobId(), 9u);
  Job done = MakeJob(9, JobState::kCompleted);
  ASSERT_TRUE(store_->Write(Ops({Update(done)})).ok());
  EXPECT_EQ(*store_->MaxJobId(), 9u);
}

class StoreQueryTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // Job N is submitted at 1000+N, starts 10 s later and ends 100 s after that.
    // 1: alice batch COMPLETED, ends 1111; 2: bob gpu RUNNING; 3..5: array 3 of alice in batch
    // (3_0 FAILED, ends 1113; 3_1 PENDING; 3_2 COMPLETED, ends 1115); 6: carol long PENDING.
    Job a = MakeJob(1, JobState::kCompleted);
    Job b = MakeJob(2, JobState::kRunning);
    b.req.user = "bob";
    b.req.partition = "gpu";
    std::vector<StoreOp> ops = {Insert(a), Insert(b)};
    for (JobId id = 3; id <= 5; ++id) {
      JobState s = id == 3   ? JobState::kFailed
                   : id == 4 ? JobState::kPending
                             : JobState::kCompleted;
      Job t = MakeJob(id, s);
      t.array_job_id = 3;
      t.array_task_id = static_cast<int64_t>(id - 3);
      ops.push_back(Insert(t));
    }
    Job c = MakeJob(6);
    c.req.user = "carol";
    c.req.partition = "long";
    ops.push_back(Insert(c));
    ASSERT_TRUE(store_->Write(std::move(ops)).ok());
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreQueryTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

TEST_P(StoreQueryTest, NoFilterReturnsAllInIdOrder) {
  EXPECT_EQ(Query({}), (Ids{1, 2, 3, 4, 5, 6}));
}

TEST_P(StoreQueryTest, IdsMatchJobIdsAndArrayJobIds) {
  JobQuery q;
  q.ids = {3};
  EXPECT_EQ(Query(q), (Ids{3, 4, 5}));
  q.ids = {4};
  EXPECT_EQ(Query(q), (Ids{4}));
  q.ids = {1, 6, 99};
  EXPECT_EQ(Query(q), (Ids{1, 6}));
  q.ids = {99};
  EXPECT_TRUE(Query(q).empty());
}

TEST_P(StoreQueryTest, UsersStatesPartitions) {
  JobQuery q;
  q.users = {"bob", "carol"};
  EXPECT_EQ(Query(q), (Ids{2, 6}));
  q = {};
  q.states = {"COMPLETED", "FAILED"};
  EXPECT_EQ(Query(q), (Ids{1, 3, 5}));
  q = {};
  q.partitions = {"gpu", "long"};
  EXPECT_EQ(Query(q), (Ids{2, 6}));
  q = {};
  q.users = {"alice"};
  q.states = {"PENDING"};
  q.partitions = {"batch"};
  EXPECT_EQ(Query(q), (Ids{4}));
  q.users = {"nobody"};
  EXPECT_TRUE(Query(q).empty());
  // Values are bound, not spliced into the SQL.
  q = {};
  q.users = {"x' OR '1'='1"};
  EXPECT_TRUE(Query(q).empty());
}

// The user's window is found in submission order (its index); the answer is still in id order.
TEST_P(StoreQueryTest, AUsersWindowComesInIdOrder) {
  std::vector<StoreOp> ops;
  for (JobId id = 7; id <= 9; ++id) {
    Job j = MakeJob(id, JobState::kCompleted);
    j.req.user = "dave";
    j.submit_time = 3000 - static_cast<int64_t>(id);  // the later id, the earlier submission
    j.end_time = 4000;
    ops.push_back(Insert(j));
  }
  ASSERT_TRUE(store_->Write(std::move(ops)).ok());
  JobQuery q;
  q.users = {"dave"};
  q.start = 3500;
  q.end = 5000;
  EXPECT_EQ(Query(q), (Ids{7, 8, 9}));
  q.limit = 2;
  EXPECT_EQ(Query(q), (Ids{7, 8}));
}

TEST_P(StoreQueryTest, TimeWindow) {
  JobQuery q;
  q.start = 1112;  // job 1 ended at 1111
  EXPECT_EQ(Query(q), (Ids{2, 3, 4, 5, 6}));
  q.start = 1114;  // 3_0 ended at 1113
  EXPECT_EQ(Query(q), (Ids{2, 4, 5, 6}));
  q.start = 0;
  q.end = 1003;  // submitted at 1001..1006
  EXPECT_EQ(Query(q), (Ids{1, 2, 3}));
  q.start = 1112;
  EXPECT_EQ(Query(q), (Ids{2, 3}));
}

TEST_P(StoreQueryTest, Limit) {
  JobQuery q;
  q.limit = 2;
  EXPECT_EQ(Query(q), (Ids{1, 2}));
  q.users = {"alice"};
  q.limit = 3;
  EXPECT_EQ(Query(q), (Ids{1, 3, 4}));
}

TEST_P(StoreTest, JobRoundTripsUnchanged) {
  const Job full = FullJob();
  ASSERT_TRUE(store_->Write(Ops({Insert(full)})).ok());
  auto live = Live(0);
  ASSERT_EQ(live.size(), 1u);
  ExpectSameJob(live[0], full);
  auto queried = store_->QueryJobs({});
  ASSERT_TRUE(queried.ok());
  ASSERT_EQ(queried->size(), 1u);
  ExpectSameJob((*queried)[0], full);

  Reopen();
  live = Live(0);
  ASSERT_EQ(live.size(), 1u);
  ExpectSameJob(live[0], full);

  // And a default-valued job stays default-valued (array_task_id -1, empty lists).
  Job plain;
  plain.id = 1;
  ASSERT_TRUE(store_->Write(Ops({Insert(plain)})).ok());
  JobQuery q;
  q.ids = {1};
  auto back = store_->QueryJobs(q);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 1u);
  ExpectSameJob((*back)[0], plain);
}

TEST_P(StoreTest, DataSurvivesReopen) {
  Status s = store_->Write(Ops({Payload(1, "#!/bin/sh\n", {"K=V"}), Insert(MakeJob(1)),
                                Insert(MakeJob(2, JobState::kCompleted))}));
  ASSERT_TRUE(s.ok()) << s.message();
  Reopen();
  EXPECT_EQ(*store_->MaxJobId(), 2u);
  EXPECT_EQ(IdsOf(Live(0)), (Ids{1, 2}));
  auto p = store_->LoadPayload(1);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->script, "#!/bin/sh\n");
  EXPECT_EQ(p->env, (std::vector<std::string>{"K=V"}));
  // Still writable after the reopen.
  ASSERT_TRUE(store_->Write(Ops({Insert(MakeJob(3))})).ok());
  EXPECT_EQ(*store_->MaxJobId(), 3u);
}

TEST_P(StoreTest, UnsyncedWritesAreCommittedAndOrderedWithSyncedOnes) {
  // A job start is written without fsync; the finish after it is synced. Both must land, in
  // order, whichever mode each batch ran in.
  Job started = MakeJob(1, JobState::kRunning);
  StoreOp start = Update(started);
  start.must_sync = false;
  auto f1 = store_->Submit(Ops({start}));
  Job done = MakeJob(1, JobState::kCompleted);
  auto f2 = store_->Submit(Ops({Update(done)}));
  ASSERT_TRUE(f1.get().ok());
  ASSERT_TRUE(f2.get().ok());
  StoreOp again = Update(MakeJob(2, JobState::kRunning));
  again.must_sync = false;
  ASSERT_TRUE(store_->Write(Ops({again})).ok());
  Reopen();
  JobQuery q;
  auto jobs = store_->QueryJobs(q);
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[0].state, JobState::kCompleted);
  EXPECT_EQ((*jobs)[1].state, JobState::kRunning);
}

TEST_P(StoreTest, SyncOpCoversEarlierUnsyncedWritesAndAddsNoJob) {
  // A job end is written unsynced and acknowledged after a later sync: the sync must commit on
  // its own (even with nothing else in its batch) and leave the jobs as they were.
  StoreOp end = Update(MakeJob(3, JobState::kCompleted));
  end.must_sync = false;
  auto written = store_->Submit(Ops({end}));
  StoreOp sync;
  sync.kind = StoreOp::Kind::kSync;
  ASSERT_TRUE(store_->Write(Ops({sync})).ok());
  ASSERT_TRUE(written.get().ok());
  ASSERT_TRUE(store_->Write(Ops({sync})).ok());  // again: the counter row exists by now
  Reopen();
  auto jobs = store_->QueryJobs(JobQuery{});
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].state, JobState::kCompleted);
}

TEST_P(StoreTest, PayloadArgumentsRoundTrip) {
  StoreOp op;
  op.kind = StoreOp::Kind::kInsertPayload;
  op.payload_id = 4;
  op.payload.script = "#!/bin/sh\necho \"$@\"\n";
  op.payload.args = {"a", "b c", ""};
  ASSERT_TRUE(store_->Write(Ops({op})).ok());
  Reopen();
  auto p = store_->LoadPayload(4);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->args, op.payload.args);
}

// Opening a file an older shoal wrote brings it up to this schema.
class StoreMigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "store_migrate.XXXXXX";
    ASSERT_NE(mkdtemp(dir_.data()), nullptr);
    path_ = dir_ + "/shoal.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `sql` on the file, opened without shoal.
  void Sql(const char* sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  // The file as an older shoal left it: written by this one, then taken back by `sql` (tables
  // dropped or rewritten, PRAGMA user_version set).
  void MakeOlderFile(const char* sql) {
    ASSERT_TRUE(OpenSqliteStore(path_).ok());
    Sql(sql);
  }
  // The first value `query` gives ("" for NULL).
  std::string Value(const char* query) {
    sqlite3* db = nullptr;
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_open(path_.c_str(), &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, query, -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }

  std::string dir_, path_;
};

TEST_F(StoreMigrationTest, VersionOneFileGainsArgumentsAndNewerFilesAreRefused) {
  // The version-1 payload table, as the first release wrote it.
  Sql("CREATE TABLE job_payloads (id INTEGER PRIMARY KEY, script TEXT NOT NULL, "
      "env TEXT NOT NULL);"
      "INSERT INTO job_payloads VALUES (1, '#!/bin/sh', '[\"K=V\"]');"
      "PRAGMA user_version=1;");
  {
    auto store = OpenSqliteStore(path_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    auto old = (*store)->LoadPayload(1);
    ASSERT_TRUE(old.ok()) << old.status().message();
    EXPECT_EQ(old->env, std::vector<std::string>{"K=V"});
    EXPECT_TRUE(old->args.empty());
  }
  Sql("PRAGMA user_version=99");
  auto newer = OpenSqliteStore(path_);
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.status().message().find("schema version 99"), std::string::npos);
}

StoreOp SaveUsage(std::vector<std::pair<UsageKey, double>> rows, bool replace_all,
                  int64_t as_of = -1, int64_t last_reset = -1) {
  StoreOp op;
  op.kind = StoreOp::Kind::kSaveUsage;
  op.usage = std::move(rows);
  op.usage_replace_all = replace_all;
  op.usage_as_of = as_of;
  op.usage_last_reset = last_reset;
  op.must_sync = false;
  return op;
}

TEST_P(StoreTest, UsageSurvivesAReopen) {
  auto empty = store_->LoadUsage();
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_TRUE(empty->usage.empty());
  EXPECT_EQ(empty->as_of, 0);
  EXPECT_EQ(empty->last_reset, 0);

  ASSERT_TRUE(
      store_->Write(Ops({SaveUsage({{{"a", "u"}, 10.5}, {{"b", "v"}, 3}}, true, 1000, 900)})).ok());
  // One row updated, the times untouched.
  ASSERT_TRUE(store_->Write(Ops({SaveUsage({{{"a", "u"}, 12.25}}, false)})).ok());
  Reopen();
  auto u = store_->LoadUsage();
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->usage.size(), 2u);
  EXPECT_EQ(u->usage.at({"a", "u"}), 12.25);
  EXPECT_EQ(u->usage.at({"b", "v"}), 3);
  EXPECT_EQ(u->as_of, 1000);
  EXPECT_EQ(u->last_reset, 900);

  // Replacing everything drops rows not given (a usage reset).
  ASSERT_TRUE(store_->Write(Ops({SaveUsage({}, true, 2000, 2000)})).ok());
  u = store_->LoadUsage();
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->usage.empty());
  EXPECT_EQ(u->as_of, 2000);
  EXPECT_EQ(u->last_reset, 2000);
}

TEST_F(StoreMigrationTest, VersionTwoFileGainsTheUsageTable) {
  // As version 2 left it: no usage table.
  MakeOlderFile("DROP TABLE usage; PRAGMA user_version=2;");
  {
    auto store = OpenSqliteStore(path_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    ASSERT_TRUE((*store)->Write(Ops({SaveUsage({{{"a", "u"}, 1}}, false, 5)})).ok());
    auto u = (*store)->LoadUsage();
    ASSERT_TRUE(u.ok()) << u.status().message();
    EXPECT_EQ(u->usage.size(), 1u);
  }
  EXPECT_EQ(Value("PRAGMA user_version"), "11");  // every migration ran
}

TEST_F(StoreMigrationTest, VersionThreeFileGainsTheStepsTable) {
  // As version 3 left it: no steps table.
  MakeOlderFile("DROP TABLE steps; PRAGMA user_version=3;");
  auto store = OpenSqliteStore(path_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  // Steps are written as often as they change (started, then ended): the last record stands.
  Step step;
  step.job_id = 12;
  step.step_id = 1;
  step.name = "hostname";
  step.nodes = {"node1", "node2"};
  step.tasks_per_node = {2, 1};
  step.ntasks = 3;
  std::vector<StoreOp> ops(1);
  ops[0].kind = StoreOp::Kind::kUpsertStep;
  ops[0].step = step;
  ASSERT_TRUE((*store)->Write(ops).ok());
  ops[0].step.state = JobState::kFailed;
  ops[0].step.exit_code = 4;
  ops[0].step.step_id = 0;
  ASSERT_TRUE((*store)->Write(ops).ok());
  ops[0].step.step_id = 1;
  ASSERT_TRUE((*store)->Write(ops).ok());
  auto steps = (*store)->QuerySteps({12});
  ASSERT_TRUE(steps.ok()) << steps.status().message();
  ASSERT_EQ(steps->size(), 2u);
  EXPECT_EQ((*steps)[0].step_id, 0u);
  EXPECT_EQ((*steps)[1].step_id, 1u);
  EXPECT_EQ((*steps)[1].state, JobState::kFailed);
  EXPECT_EQ((*steps)[1].exit_code, 4);
  EXPECT_EQ((*steps)[1].tasks_per_node, (std::vector<uint32_t>{2, 1}));
  EXPECT_TRUE((*store)->QuerySteps({13})->empty());
  EXPECT_EQ((*store)->QuerySteps({})->size(), 2u);
  store->reset();
}

TEST_F(StoreMigrationTest, VersionFourFileGainsNodeStates) {
  MakeOlderFile("DROP TABLE node_states; PRAGMA user_version=4;");
  auto store = OpenSqliteStore(path_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto save = [&](const std::string& name, bool drain, bool down, const std::string& reason) {
    std::vector<StoreOp> ops(1);
    ops[0].kind = StoreOp::Kind::kSaveNodeState;
    ops[0].node_state = {name, drain, down, reason, 1700000000, 2, 4096, 0, ""};
    return (*store)->Write(ops);
  };
  ASSERT_TRUE(save("node2", true, false, "disk swap").ok());
  ASSERT_TRUE(save("node1", false, true, "bad dimm").ok());
  ASSERT_TRUE(save("node3", true, false, "later resumed").ok());
  ASSERT_TRUE(save("node3", false, false, "").ok());  // neither flag: the record goes
  store->reset();
  store = OpenSqliteStore(path_);
  ASSERT_TRUE(store.ok());
  auto states = (*store)->LoadNodeStates();
  ASSERT_TRUE(states.ok()) << states.status().message();
  ASSERT_EQ(states->size(), 2u);
  EXPECT_EQ((*states)[0].name, "node1");
  EXPECT_TRUE((*states)[0].down);
  EXPECT_FALSE((*states)[0].drain);
  EXPECT_EQ((*states)[0].reason, "bad dimm");
  EXPECT_EQ((*states)[1].name, "node2");
  EXPECT_TRUE((*states)[1].drain);
  EXPECT_EQ((*states)[1].reason, "disk swap");
  EXPECT_EQ((*states)[1].reason_time, 1700000000);
  store->reset();
}

// A version-10 file's drains carry no size: they load with 0 CPUs, and new ones keep theirs.
TEST_F(StoreMigrationTest, VersionTenNodeStatesGainTheNodesSize) {
  MakeOlderFile(
      "DROP TABLE node_states; CREATE TABLE node_states (name TEXT PRIMARY KEY, drain INTEGER NOT "
      "NULL, down INTEGER NOT NULL, reason TEXT NOT NULL, reason_time INTEGER NOT NULL); INSERT "
      "INTO node_states VALUES ('old1', 1, 0, 'maint', 1700000000); PRAGMA user_version=10;");
  auto store = OpenSqliteStore(path_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  std::vector<StoreOp> ops(1);
  ops[0].kind = StoreOp::Kind::kSaveNodeState;
  ops[0].node_state = {"new1", true, false, "fan", 1700000001, 4, 8192, 1, "a100"};
  ASSERT_TRUE((*store)->Write(ops).ok());
  auto states = (*store)->LoadNodeStates();
  ASSERT_TRUE(states.ok()) << states.status().message();
  ASSERT_EQ(states->size(), 2u);
  EXPECT_EQ((*states)[0].name, "new1");
  EXPECT_EQ((*states)[0].cpus, 4u);
  EXPECT_EQ((*states)[0].gpu_type, "a100");
  EXPECT_EQ((*states)[1].name, "old1");
  EXPECT_TRUE((*states)[1].drain);
  EXPECT_EQ((*states)[1].reason, "maint");
  EXPECT_EQ((*states)[1].cpus, 0u);
  store->reset();
}

OutboxEntry MakeOutbox(int64_t seq, JobId job, const std::string& url) {
  OutboxEntry e;
  e.seq = seq;
  e.event_id = "evt-" + std::to_string(seq);
  e.job_id = job;
  e.url = url;
  e.body = "{\"type\":\"running\",\"job\":{\"job_id\":" + std::to_string(job) + "}}";
  e.created = 1700000000 + seq;
  return e;
}

StoreOp AddOutbox(const OutboxEntry& e) {
  StoreOp op;
  op.kind = StoreOp::Kind::kAddOutbox;
  op.outbox = e;
  return op;
}

StoreOp DeleteOutbox(int64_t seq) {
  StoreOp op;
  op.kind = StoreOp::Kind::kDeleteOutbox;
  op.outbox.seq = seq;
  op.must_sync = false;
  return op;
}

TEST_P(StoreTest, WebhookOutboxRoundTripsWithItsJobAndSurvivesReopen) {
  auto empty = store_->LoadOutbox();
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_TRUE(empty->empty());
  // The event goes in the same write as the job change it reports.
  ASSERT_TRUE(store_->Write(Ops({Insert(MakeJob(1)), AddOutbox(MakeOutbox(2, 1, "http://a/x")),
                                 AddOutbox(MakeOutbox(1, 1, "https://b:8443/y?z=1"))}))
                  .ok());
  ASSERT_TRUE(store_->Write(Ops({AddOutbox(MakeOutbox(3, 1, "http://a/x"))})).ok());
  ASSERT_TRUE(store_->Write(Ops({DeleteOutbox(2), DeleteOutbox(42)})).ok());  // 42: none
  Reopen();
  auto loaded = store_->LoadOutbox();
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_EQ(loaded->size(), 2u);
  const OutboxEntry want = MakeOutbox(1, 1, "https://b:8443/y?z=1");
  EXPECT_EQ((*loaded)[0].seq, 1);
  EXPECT_EQ((*loaded)[0].event_id, want.event_id);
  EXPECT_EQ((*loaded)[0].job_id, 1u);
  EXPECT_EQ((*loaded)[0].url, want.url);
  EXPECT_EQ((*loaded)[0].body, want.body);
  EXPECT_EQ((*loaded)[0].created, want.created);
  EXPECT_EQ((*loaded)[1].seq, 3);
  EXPECT_EQ(IdsOf(Live(0)), (Ids{1}));
}

TEST_P(StoreTest, AFailedGroupWritesNeitherTheJobNorItsEvent) {
  // An environment that cannot be stored fails the whole transaction, outbox row included.
  Status s = store_->Write(Ops({Insert(MakeJob(5)), AddOutbox(MakeOutbox(1, 5, "http://a/")),
                                Payload(5, "#!/bin/sh\n", {"X=\xfe"})}));
  ASSERT_FALSE(s.ok());
  auto loaded = store_->LoadOutbox();
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->empty());
  EXPECT_TRUE(Live(0).empty());
}

TEST_F(StoreMigrationTest, VersionSixFileGainsTheWebhookOutbox) {
  MakeOlderFile("DROP TABLE webhook_outbox; PRAGMA user_version=6;");
  auto store = OpenSqliteStore(path_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  ASSERT_TRUE((*store)->Write({AddOutbox(MakeOutbox(7, 3, "http://r/"))}).ok());
  auto loaded = (*store)->LoadOutbox();
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].event_id, "evt-7");
  store->reset();
  EXPECT_EQ(Value("PRAGMA user_version"), "11");
  // Version 8: sacct's window index replaced the user/submit-time one.
  EXPECT_EQ(Value("SELECT group_concat(name) FROM sqlite_master WHERE type = 'index' "
                  "AND name LIKE 'jobs_user%'"),
            "jobs_user_window");
}

TEST_P(StoreTest, CloseCommitsWhatWasQueued) {
  std::vector<std::future<Status>> futures;
  for (JobId id = 1; id <= 50; ++id) futures.push_back(store_->Submit(Ops({Insert(MakeJob(id))})));
  store_.reset();  // without waiting
  for (auto& f : futures) EXPECT_TRUE(f.get().ok());
  Open();
  EXPECT_EQ(Live(0).size(), 50u);
}

TEST_P(StoreTest, ConcurrentSubmittersShareCommits) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::atomic<int> commits{0};
  store_->SetCommitObserver([&](double) { ++commits; });
  std::vector<std::thread> threads;
  std::vector<std::vector<std::future<Status>>> futures(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        JobId id = static_cast<JobId>(t * kPerThread + i + 1);
        futures[t].push_back(store_->Submit(Ops({Payload(id, "s", {}), Insert(MakeJob(id))})));
      }
    });
  }
  for (auto& th : threads) th.join();
  int ok = 0;
  for (auto& per_thread : futures) {
    for (auto& f : per_thread) {
      Status s = f.get();
      EXPECT_TRUE(s.ok()) << s.message();
      ok += s.ok() ? 1 : 0;
    }
  }
  EXPECT_EQ(ok, kThreads * kPerThread);
  // Group commit: submissions queued while a transaction commits share the next one.
  EXPECT_LT(commits.load(), kThreads * kPerThread);
  EXPECT_EQ(*store_->MaxJobId(), static_cast<JobId>(kThreads * kPerThread));
  EXPECT_EQ(Live(0).size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_TRUE(store_->LoadPayload(kThreads * kPerThread).ok());
}

TEST_P(StoreTest, ReadersRunBesideWriters) {
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (JobId id = 1; id <= 100; ++id) {
      EXPECT_TRUE(store_->Write(Ops({Insert(MakeJob(id))})).ok());
    }
    done = true;
  });
  size_t last = 0;
  while (!done) {
    size_t n = Live(0).size();
    EXPECT_GE(n, last);  // committed jobs never disappear
    last = n;
  }
  writer.join();
  EXPECT_EQ(Live(0).size(), 100u);
}

TEST_P(StoreTest, TextThatIsNotUtf8NeitherCrashesNorCorrupts) {
  // A job record keeps its place with U+FFFD for the bad bytes; a payload whose environment no
  // JSON document can hold is refused, with the whole call's transaction.
  Job bad = MakeJob(2);
  bad.req.name = "bad\xff name";
  ASSERT_TRUE(store_->Write(Ops({Insert(MakeJob(1)), Insert(bad)})).ok());
  auto live = Live(0);
  ASSERT_EQ(IdsOf(live), (Ids{1, 2}));
  EXPECT_EQ(live[1].req.name, "bad\xEF\xBF\xBD name");
  Status p = store_->Write(Ops({Insert(MakeJob(5)), Payload(3, "#!/bin/sh\n", {"X=\xfe"})}));
  EXPECT_FALSE(p.ok());
  EXPECT_EQ(store_->LoadPayload(3).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(IdsOf(Live(0)), (Ids{1, 2}));
  // The store keeps working.
  ASSERT_TRUE(store_->Write(Ops({Insert(MakeJob(4))})).ok());
  EXPECT_EQ(IdsOf(Live(0)), (Ids{1, 2, 4}));
}

// What only the PostgreSQL store has: a server to lose, a schema_version table, bytea scripts.
class PostgresStoreTest : public StoreTest {
 protected:
  // Runs `sql` in this test's database; the server's message, or "".
  std::string Sql(const std::string& sql) {
    PGconn* c = PQconnectdb(path_.c_str());
    PGresult* r = PQexec(c, sql.c_str());
    const ExecStatusType st = PQresultStatus(r);
    std::string err =
        st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? "" : PQresultErrorMessage(r);
    result_ = st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    PQfinish(c);
    return err;
  }
  // Ends every other session on this test's database, as a server restart would.
  void DropConnections() {
    ASSERT_EQ(Sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                  db_ + "' AND pid <> pg_backend_pid()"),
              "");
  }
  std::string result_;  // the first value the last Sql returned
};

INSTANTIATE_TEST_SUITE_P(Backends, PostgresStoreTest, ::testing::Values(Backend::kPostgres),
                         BackendName);

TEST_P(PostgresStoreTest, SchemaIsVersionedAndTyped) {
  ASSERT_EQ(Sql("SELECT version FROM schema_version"), "");
  EXPECT_EQ(result_, "11");
  ASSERT_EQ(Sql("SELECT string_agg(indexname, ',') FROM pg_indexes WHERE tablename = 'jobs' "
                "AND indexname LIKE 'jobs_user%'"),
            "");
  EXPECT_EQ(result_, "jobs_user_window");
  ASSERT_EQ(Sql("SELECT data_type FROM information_schema.columns WHERE table_name = "
                "'job_payloads' AND column_name = 'script'"),
            "");
  EXPECT_EQ(result_, "bytea");
  ASSERT_EQ(Sql("SELECT data_type FROM information_schema.columns WHERE table_name = 'jobs' "
                "AND column_name = 'id'"),
            "");
  EXPECT_EQ(result_, "bigint");
  // Opening again migrates nothing and keeps one version row.
  Reopen();
  ASSERT_EQ(Sql("SELECT count(*) FROM schema_version"), "");
  EXPECT_EQ(result_, "1");
}

// A version-10 database's drains gain the node's size (0: not known) and keep their rows.
TEST_P(PostgresStoreTest, VersionTenNodeStatesGainTheNodesSize) {
  store_.reset();
  ASSERT_EQ(Sql("ALTER TABLE node_states DROP COLUMN cpus, DROP COLUMN memory_mb, "
                "DROP COLUMN gpus, DROP COLUMN gpu_type; UPDATE schema_version SET version = 10; "
                "INSERT INTO node_states VALUES ('old1', true, false, 'maint', 1700000000)"),
            "");
  Reopen();
  ASSERT_EQ(Sql("SELECT version FROM schema_version"), "");
  EXPECT_EQ(result_, "11");
  auto states = store_->LoadNodeStates();
  ASSERT_TRUE(states.ok()) << states.status().message();
  ASSERT_EQ(states->size(), 1u);
  EXPECT_EQ((*states)[0].name, "old1");
  EXPECT_TRUE((*states)[0].drain);
  EXPECT_EQ((*states)[0].cpus, 0u);
}

TEST_P(PostgresStoreTest, NewerSchemaIsRefused) {
  store_.reset();
  ASSERT_EQ(Sql("UPDATE schema_version SET version = 99"), "");
  auto s = OpenStore(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("schema version 99"), std::string::npos)
      << s.status().message();
  ASSERT_EQ(Sql("UPDATE schema_version SET version = 10"), "");
  Open();
}

TEST_P(PostgresStoreTest, VersionSixDatabaseGainsTheWebhookOutbox) {
  store_.reset();
  ASSERT_EQ(Sql("DROP TABLE webhook_outbox"), "");
  ASSERT_EQ(Sql("UPDATE schema_version SET version = 6"), "");
  Open();
  ASSERT_EQ(Sql("SELECT version FROM schema_version"), "");
  EXPECT_EQ(result_, "11");
  ASSERT_TRUE(store_->Write({AddOutbox(MakeOutbox(1, 2, "http://r/"))}).ok());
  auto loaded = store_->LoadOutbox();
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].job_id, 2u);
}

TEST_P(PostgresStoreTest, ScriptsAreBytesNotText) {
  const std::string script("#!/bin/sh\n\0\xff\xfe binary\n", 20);
  ASSERT_TRUE(store_->Write(Ops({Payload(1, script, {"A=1"})})).ok());
  Reopen();
  auto p = store_->LoadPayload(1);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->script, script);
  EXPECT_EQ(p->env, std::vector<std::string>{"A=1"});
}

TEST_P(PostgresStoreTest, ALostConnectionIsReopenedOnce) {
  ASSERT_TRUE(store_->Write(Ops({Insert(MakeJob(1))})).ok());
  EXPECT_EQ(IdsOf(Live(0)), (Ids{1}));
  DropConnections();
  // Both the writer's and the reader's connections went: the next batch and read reconnect.
  Status s = store_->Write(Ops({Insert(MakeJob(2))}));
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(IdsOf(Live(0)), (Ids{1, 2}));
  DropConnections();
  auto max = store_->MaxJobId();
  ASSERT_TRUE(max.ok()) << max.status().message();
  EXPECT_EQ(*max, 2u);
}

TEST_P(PostgresStoreTest, ABatchFailsWithTheServersMessageWhenReconnectingFails) {
  ASSERT_TRUE(store_->Write(Ops({Insert(MakeJob(1))})).ok());
  // The database goes (its sessions with it): one reconnect is tried, then the batch fails.
  ASSERT_EQ(PostgresServer::Get().Admin("DROP DATABASE " + db_ + " WITH (FORCE)"), "");
  Status s = store_->Write(Ops({Insert(MakeJob(2))}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("database \"" + db_ + "\" does not exist"), std::string::npos)
      << s.message();
  auto r = store_->LoadLiveJobs(0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not exist"), std::string::npos)
      << r.status().message();
  // Back again (empty): the store recovers without being reopened.
  ASSERT_EQ(PostgresServer::Get().Admin("CREATE DATABASE " + db_), "");
  store_.reset();
  Open();
  ASSERT_TRUE(store_->Write(Ops({Insert(MakeJob(3))})).ok());
  EXPECT_EQ(IdsOf(Live(0)), (Ids{3}));
}

TEST_P(PostgresStoreTest, AFailedStatementRollsBackTheWholeGroup) {
  ASSERT_TRUE(store_->Write(Ops({Insert(MakeJob(1))})).ok());
  // A job whose array id does not fit the column makes the server refuse the batch.
  Job huge = MakeJob(2);
  huge.array_job_id = std::numeric_limits<JobId>::max();
  auto f1 = store_->Submit(Ops({Insert(MakeJob(3))}));
  Status s = store_->Write(Ops({Insert(huge), Insert(MakeJob(4))}));
  Status s1 = f1.get();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("out of range"), std::string::npos) << s.message();
  // Committed or failed together with it, never half: the store agrees with what was said.
  const Ids expected = s1.ok() ? Ids{1, 3} : Ids{1};
  EXPECT_EQ(IdsOf(Live(0)), expected);
  ASSERT_TRUE(store_->Write(Ops({Insert(MakeJob(5))})).ok());
}

// --- high availability: the leader lease and fencing (docs/high-availability.md) ---------------

TEST_P(PostgresStoreTest, OneControllerHoldsTheLeaseUntilItExpires) {
  auto a = OpenLeaderLease(path_, "ctl1", "10.0.0.1:6820", "10.0.0.1:6817", 600);
  auto b = OpenLeaderLease(path_, "ctl2", "10.0.0.2:6820", "10.0.0.2:6817", 600);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  auto fresh = (*a)->Read();
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  EXPECT_TRUE(fresh->expired);
  EXPECT_EQ(fresh->holder, "");

  auto won = (*a)->TryAcquire();
  ASSERT_TRUE(won.ok()) << won.status().message();
  ASSERT_TRUE(won->has_value());
  const int64_t epoch1 = **won;
  auto lost = (*b)->TryAcquire();
  ASSERT_TRUE(lost.ok());
  EXPECT_FALSE(lost->has_value()) << "two leaders";
  auto seen = (*b)->Read();
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->holder, "ctl1");
  EXPECT_EQ(seen->api_address, "10.0.0.1:6820");
  EXPECT_EQ(seen->agent_address, "10.0.0.1:6817");
  EXPECT_EQ(seen->epoch, epoch1);
  EXPECT_FALSE(seen->expired);

  // Renewals keep it past its first length.
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    auto renewed = (*a)->Renew(epoch1);
    ASSERT_TRUE(renewed.ok());
    EXPECT_TRUE(*renewed);
    EXPECT_FALSE((*b)->TryAcquire()->has_value());
  }
  // Silent past its length, it goes to the other one, at a higher epoch; the old holder's
  // renewal then fails.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  auto taken = (*b)->TryAcquire();
  ASSERT_TRUE(taken.ok());
  ASSERT_TRUE(taken->has_value());
  EXPECT_GT(**taken, epoch1);
  EXPECT_FALSE(*(*a)->Renew(epoch1));
  EXPECT_FALSE((*a)->TryAcquire()->has_value());

  // A release hands it over at once.
  ASSERT_TRUE((*b)->Release(**taken).ok());
  EXPECT_TRUE((*a)->Read()->expired);
  auto back = (*a)->TryAcquire();
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_GT(**back, **taken);
  // Releasing a lease one no longer holds changes nothing.
  ASSERT_TRUE((*b)->Release(**taken).ok());
  EXPECT_FALSE((*b)->Read()->expired);
}

TEST_P(PostgresStoreTest, AStaleLeaderCannotWrite) {
  store_.reset();
  auto a = OpenLeaderLease(path_, "ctl1", "a:1", "a:2", 60000);
  auto b = OpenLeaderLease(path_, "ctl2", "b:1", "b:2", 60000);
  ASSERT_TRUE(a.ok() && b.ok());
  auto epoch = (*a)->TryAcquire();
  ASSERT_TRUE(epoch.ok() && epoch->has_value());
  std::atomic<int> fenced{0};
  std::string reason;
  auto fenced_store = OpenPostgresStore(
      path_, StoreFencing{.epoch = **epoch, .on_fenced = [&](const std::string& why) {
                            reason = why;
                            ++fenced;
                          }});
  ASSERT_TRUE(fenced_store.ok()) << fenced_store.status().message();
  Store& old_leader = **fenced_store;
  ASSERT_TRUE(old_leader.Write(Ops({Insert(MakeJob(1))})).ok());
  EXPECT_EQ(fenced.load(), 0);

  // Another controller takes the lease (here: after a release; in life, after it expired).
  ASSERT_TRUE((*a)->Release(**epoch).ok());
  auto epoch2 = (*b)->TryAcquire();
  ASSERT_TRUE(epoch2.ok() && epoch2->has_value());
  // The old leader's next transaction writes nothing, says why, and tells its owner.
  Status s = old_leader.Write(Ops({Insert(MakeJob(2)), Payload(2, "#!/bin/sh\n", {})}));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.message();
  EXPECT_NE(s.message().find("fenced: the leader lease is at epoch " + std::to_string(**epoch2)),
            std::string::npos)
      << s.message();
  EXPECT_EQ(fenced.load(), 1);
  EXPECT_NE(reason.find("fenced"), std::string::npos) << reason;
  Open();
  EXPECT_EQ(IdsOf(Live(0)), (Ids{1}));
  EXPECT_EQ(store_->LoadPayload(2).status().code(), StatusCode::kNotFound);

  // The new leader's store writes.
  auto new_store = OpenPostgresStore(path_, StoreFencing{.epoch = **epoch2, .on_fenced = nullptr});
  ASSERT_TRUE(new_store.ok());
  ASSERT_TRUE((*new_store)->Write(Ops({Insert(MakeJob(3))})).ok());
  EXPECT_EQ(IdsOf(Live(0)), (Ids{1, 3}));
}

TEST_P(PostgresStoreTest, ATakeoverWaitsForAWriteThatPassedItsCheck) {
  // A write transaction holds the lease row FOR SHARE from its check to its end: a takeover's
  // UPDATE waits for it, so the write is either committed before the takeover or refused.
  store_.reset();
  auto a = OpenLeaderLease(path_, "ctl1", "a:1", "a:2", 200);
  auto b = OpenLeaderLease(path_, "ctl2", "b:1", "b:2", 200);
  ASSERT_TRUE(a.ok() && b.ok());
  auto epoch = (*a)->TryAcquire();
  ASSERT_TRUE(epoch.ok() && epoch->has_value());
  PGconn* c = PQconnectdb(path_.c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK);
  PQclear(PQexec(c, "BEGIN"));
  PGresult* r = PQexec(c, ("SELECT shoal_check_epoch(" + std::to_string(**epoch) + ")").c_str());
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQresultErrorMessage(r);
  PQclear(r);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the lease expires
  std::atomic<bool> taken{false};
  std::thread takeover([&] { taken = (*b)->TryAcquire()->has_value(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(taken.load()) << "the takeover did not wait for the open write";
  PQclear(PQexec(c, "COMMIT"));
  takeover.join();
  EXPECT_TRUE(taken.load());
  PQfinish(c);
}

TEST(ConninfoTest, PasswordsAreHiddenWhereverWritten) {
  EXPECT_EQ(RedactConninfo("postgresql://shoal:s3cret@db1:5432/shoal"),
            "postgresql://shoal:*****@db1:5432/shoal");
  EXPECT_EQ(RedactConninfo("postgres://shoal@db1/shoal?password=s3cret&sslmode=require"),
            "postgres://shoal@db1/shoal?password=*****&sslmode=require");
  EXPECT_EQ(RedactConninfo("host=db1 password=s3cret dbname=shoal"),
            "host=db1 password=***** dbname=shoal");
  EXPECT_EQ(RedactConninfo("host=db1 password = 'se cr\\'et' dbname=shoal"),
            "host=db1 password = ***** dbname=shoal");
  EXPECT_EQ(RedactConninfo("postgresql://shoal@db1:5432/shoal"),
            "postgresql://shoal@db1:5432/shoal");
  EXPECT_EQ(RedactConninfo("host=/run/postgresql dbname=shoal"),
            "host=/run/postgresql dbname=shoal");
}

TEST(ConninfoTest, ValidationIsLibpqs) {
  EXPECT_TRUE(ValidatePostgresConninfo("postgresql://shoal@db1:5432/shoal").ok());
  EXPECT_TRUE(ValidatePostgresConninfo("host=/run/postgresql dbname=shoal").ok());
  Status bad = ValidatePostgresConninfo("host=db1 colour=blue");
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("colour"), std::string::npos) << bad.message();
  EXPECT_FALSE(ValidatePostgresConninfo("postgresql://[::1/shoal").ok());
  EXPECT_FALSE(ValidatePostgresConninfo("host='unterminated").ok());
}

}  // namespace
}  // namespace shoal
