// SQLite implementation of Store. One writer thread owns the write connection and commits
// whatever is queued as one transaction (group commit); readers use their own connection,
// which WAL lets run beside the writer.
#include <pthread.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "api/job_table.h"
#include "api/json_model.h"
#include "store/store.h"

namespace shoal {
namespace {

// Version 2 added job_payloads.args, version 3 the usage table, version 4 the steps table,
// version 5 the node_states table, version 6 the documents table, version 7 the webhook_outbox
// table, version 8 the jobs_user_window index in place of jobs_user_time, version 9 the
// node_events table (tables and indexes are created by kSchema when missing), version 10
// nothing here (PostgreSQL's leader_lease: several controllers cannot share a SQLite file),
// version 11 the node's size in node_states. Migrations run in order from the version a file
// has.
constexpr int kSchemaVersion = 11;

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY,
  array_job_id INTEGER NOT NULL,
  user TEXT NOT NULL,
  partition TEXT NOT NULL,
  state TEXT NOT NULL,
  finished INTEGER NOT NULL,
  submit_time INTEGER NOT NULL,
  start_time INTEGER NOT NULL,
  end_time INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_live ON jobs(finished, end_time);
-- sacct -u -S -E: a job is in the window when it was submitted before its end and ended after
-- its start. Both times are in the index, so rows outside the window are skipped without
-- reading them (a user's history can be millions of rows); it replaces jobs_user_time.
DROP INDEX IF EXISTS jobs_user_time;
CREATE INDEX IF NOT EXISTS jobs_user_window ON jobs(user, submit_time, end_time, finished);
CREATE INDEX IF NOT EXISTS jobs_array ON jobs(array_job_id);
CREATE TABLE IF NOT EXISTS store_meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS job_payloads (
  id INTEGER PRIMARY KEY,
  script TEXT NOT NULL,
  env TEXT NOT NULL,
  args TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS steps (
  job_id INTEGER NOT NULL,
  step_id INTEGER NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (job_id, step_id)
);
CREATE TABLE IF NOT EXISTS node_states (
  name TEXT PRIMARY KEY,
  drain INTEGER NOT NULL,
  down INTEGER NOT NULL,
  reason TEXT NOT NULL,
  reason_time INTEGER NOT NULL,
  cpus INTEGER NOT NULL DEFAULT 0,
  memory_mb INTEGER NOT NULL DEFAULT 0,
  gpus INTEGER NOT NULL DEFAULT 0,
  gpu_type TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS documents (
  name TEXT PRIMARY KEY,
  body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_outbox (
  seq INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL,
  job_id INTEGER NOT NULL,
  url TEXT NOT NULL,
  body TEXT NOT NULL,
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS node_events (
  node TEXT NOT NULL,
  time_start INTEGER NOT NULL,
  time_end INTEGER NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL,
  cpus INTEGER NOT NULL,
  PRIMARY KEY (node, time_start)
);
CREATE INDEX IF NOT EXISTS node_events_time ON node_events(time_start);
CREATE TABLE IF NOT EXISTS usage (
  account TEXT NOT NULL,
  user TEXT NOT NULL,
  cpu_seconds REAL NOT NULL,
  PRIMARY KEY (account, user)
);
)sql";

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() { return stmt_; }
  bool valid() const { return stmt_ != nullptr; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

Status SqlError(sqlite3* db, const std::string& what) {
  return Internal(what + ": " + sqlite3_errmsg(db));
}

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Internal(std::string("sqlite: ") + msg);
  }
  return Status::Ok();
}

Result<sqlite3*> OpenConnection(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    Status s = Internal("cannot open database " + path + ": " +
                        (db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return s;
  }
  sqlite3_busy_timeout(db, 5000);
  // FULL: a commit is on disk before Submit's future resolves (acknowledged means durable).
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                             "PRAGMA foreign_keys=ON"}) {
    Status s = Exec(db, pragma);
    if (!s.ok()) {
      sqlite3_close(db);
      return s;
    }
  }
  return db;
}

// One writer connection; commits happen one at a time and take everything queued so far (group
// commit). Whoever finds no commit under way does it: a caller of Write in its own thread (the
// acknowledged path, sparing two thread hand-offs), otherwise the writer thread, which serves
// Submit's callers that do not wait.
class SqliteStore : public Store {
 public:
  SqliteStore(sqlite3* writer, sqlite3* reader)
      : writer_(writer),
        reader_(reader),
        upsert_(std::in_place, writer,
                "INSERT INTO jobs (id, array_job_id, user, partition, state, finished, "
                "submit_time, start_time, end_time, doc) VALUES (?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET state=excluded.state, "
                "finished=excluded.finished, partition=excluded.partition, "
                "start_time=excluded.start_time, end_time=excluded.end_time, "
                "doc=excluded.doc"),
        payload_(std::in_place, writer,
                 "INSERT OR REPLACE INTO job_payloads (id, script, env, args) VALUES (?,?,?,?)"),
        count_sync_(std::in_place, writer,
                    "INSERT INTO store_meta (key, value) VALUES ('syncs', 1) "
                    "ON CONFLICT(key) DO UPDATE SET value = value + 1"),
        usage_row_(std::in_place, writer,
                   "INSERT INTO usage (account, user, cpu_seconds) VALUES (?,?,?) "
                   "ON CONFLICT(account, user) DO UPDATE SET cpu_seconds=excluded.cpu_seconds"),
        usage_clear_(std::in_place, writer, "DELETE FROM usage"),
        set_meta_(std::in_place, writer,
                  "INSERT INTO store_meta (key, value) VALUES (?,?) "
                  "ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
        step_(std::in_place, writer,
              "INSERT OR REPLACE INTO steps (job_id, step_id, doc) VALUES (?,?,?)"),
        node_state_(std::in_place, writer,
                    "INSERT OR REPLACE INTO node_states (name, drain, down, reason, reason_time, "
                    "cpus, memory_mb, gpus, gpu_type) VALUES (?,?,?,?,?,?,?,?,?)"),
        node_state_clear_(std::in_place, writer, "DELETE FROM node_states WHERE name = ?"),
        document_(std::in_place, writer,
                  "INSERT OR REPLACE INTO documents (name, body) VALUES (?, ?)"),
        outbox_add_(std::in_place, writer,
                    "INSERT OR REPLACE INTO webhook_outbox (seq, event_id, job_id, url, body, "
                    "created) VALUES (?,?,?,?,?,?)"),
        outbox_delete_(std::in_place, writer, "DELETE FROM webhook_outbox WHERE seq = ?"),
        begin_(std::in_place, writer, "BEGIN IMMEDIATE"),
        commit_(std::in_place, writer, "COMMIT"),
        rollback_(std::in_place, writer, "ROLLBACK"),
        sync_full_(std::in_place, writer, "PRAGMA synchronous=FULL"),
        sync_normal_(std::in_place, writer, "PRAGMA synchronous=NORMAL"),
        load_payload_(std::in_place, reader,
                      "SELECT script, env, args FROM job_payloads WHERE id = ?") {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "store-writer");
      WriterLoop();
    });
  }

  ~SqliteStore() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    upsert_.reset();
    payload_.reset();
    count_sync_.reset();
    usage_row_.reset();
    usage_clear_.reset();
    set_meta_.reset();
    step_.reset();
    node_state_.reset();
    node_state_clear_.reset();
    document_.reset();
    outbox_add_.reset();
    outbox_delete_.reset();
    begin_.reset();
    commit_.reset();
    rollback_.reset();
    sync_full_.reset();
    sync_normal_.reset();
    load_payload_.reset();
    sqlite3_close(writer_);
    sqlite3_close(reader_);
  }

  std::future<Status> Submit(std::vector<StoreOp> ops) override {
    Pending p{std::move(ops), {}};
    std::future<Status> f = p.done.get_future();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        p.done.set_value(Unavailable("store is closing"));
        return f;
      }
      queue_.push_back(std::move(p));
    }
    cv_.notify_all();
    return f;
  }

  Status Write(std::vector<StoreOp> ops) override {
    Pending p{std::move(ops), {}};
    std::future<Status> f = p.done.get_future();
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stopping_) return Unavailable("store is closing");
      queue_.push_back(std::move(p));
      if (committing_) {
        cv_.notify_all();  // the writer thread takes it after the commit under way
      } else {
        CommitQueuedLocked(lock);  // ours included
      }
    }
    return f.get();
  }

  Result<std::vector<Job>> LoadLiveJobs(int64_t finished_since) override {
    std::lock_guard<std::mutex> lock(read_mu_);
    Statement st(reader_,
                 "SELECT doc FROM jobs WHERE finished = 0 OR end_time >= ? ORDER BY id");
    if (!st.valid()) return SqlError(reader_, "load jobs");
    sqlite3_bind_int64(st.get(), 1, finished_since);
    return ReadJobs(st.get());
  }

  Result<JobId> MaxJobId() override {
    std::lock_guard<std::mutex> lock(read_mu_);
    Statement st(reader_, "SELECT COALESCE(MAX(id), 0) FROM jobs");
    if (!st.valid() || sqlite3_step(st.get()) != SQLITE_ROW) return SqlError(reader_, "max id");
    return static_cast<JobId>(sqlite3_column_int64(st.get(), 0));
  }

  Result<JobPayload> LoadPayload(JobId payload_id) override {
    std::lock_guard<std::mutex> lock(read_mu_);
    sqlite3_stmt* st = load_payload_->get();
    if (st == nullptr) return SqlError(reader_, "load payload");
    // Reset on every way out: a statement left stepped would hold its read transaction open
    // and keep the WAL from being checkpointed.
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> done(st, &sqlite3_reset);
    sqlite3_bind_int64(st, 1, static_cast<int64_t>(payload_id));
    if (sqlite3_step(st) != SQLITE_ROW) {
      return NotFound("no script stored for job " + std::to_string(payload_id));
    }
    JobPayload p;
    p.script = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    auto strings = [&](int column, std::vector<std::string>& out) {
      Json list = Json::parse(reinterpret_cast<const char*>(sqlite3_column_text(st, column)),
                              nullptr, false);
      if (!list.is_array()) return;
      for (const auto& e : list) {
        if (e.is_string()) out.push_back(e.get<std::string>());
      }
    };
    strings(1, p.env);
    strings(2, p.args);
    return p;
  }

  Result<std::vector<JobRecord>> QueryJobRecords(const JobQuery& q) override {
    std::string sql = "SELECT id, doc FROM jobs WHERE 1=1";
    std::vector<std::string> text_args;
    // Text values are bound (?1, ?2, ...); numbers are our own integers, written inline.
    auto in_list = [&](const char* column, const std::vector<std::string>& values) {
      if (values.empty()) return;
      sql += std::string(" AND ") + column + " IN (";
      for (size_t i = 0; i < values.size(); ++i) {
        sql += (i ? ",?" : "?") + std::to_string(text_args.size() + 1);
        text_args.push_back(values[i]);
      }
      sql += ")";
    };
    in_list("user", q.users);
    in_list("state", q.states);
    in_list("partition", q.partitions);
    if (!q.ids.empty()) {
      std::string list;
      for (JobId id : q.ids) list += (list.empty() ? "" : ",") + std::to_string(id);
      sql += " AND (id IN (" + list + ") OR array_job_id IN (" + list + "))";
    }
    if (q.start > 0) sql += " AND (finished = 0 OR end_time >= " + std::to_string(q.start) + ")";
    if (q.end > 0) sql += " AND submit_time <= " + std::to_string(q.end);
    // Sorted here unless only the first rows are wanted: SQLite's sorter copies every document
    // (tens of MB for a long history) where sorting the records moves only their handles.
    if (q.limit > 0) sql += " ORDER BY id LIMIT " + std::to_string(q.limit);

    std::lock_guard<std::mutex> lock(read_mu_);
    Statement st(reader_, sql.c_str());
    if (!st.valid()) return SqlError(reader_, "query jobs");
    for (size_t i = 0; i < text_args.size(); ++i) {
      sqlite3_bind_text(st.get(), static_cast<int>(i + 1), text_args[i].c_str(), -1,
                        SQLITE_TRANSIENT);
    }
    std::vector<JobRecord> records;
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      const auto* doc = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 1));
      records.push_back({static_cast<JobId>(sqlite3_column_int64(st.get(), 0)),
                         std::string(doc, static_cast<size_t>(sqlite3_column_bytes(st.get(), 1)))});
    }
    if (rc != SQLITE_DONE) return SqlError(reader_, "query jobs");
    std::sort(records.begin(), records.end(),
              [](const JobRecord& a, const JobRecord& b) { return a.id < b.id; });
    return records;
  }

  Result<std::vector<NodeAdminState>> LoadNodeStates() override {
    std::lock_guard<std::mutex> lock(read_mu_);
    std::vector<NodeAdminState> out;
    Statement rows(reader_,
                   "SELECT name, drain, down, reason, reason_time, cpus, memory_mb, gpus, gpu_type "
                   "FROM node_states ORDER BY name");
    if (!rows.valid()) return SqlError(reader_, "load node states");
    int rc;
    while ((rc = sqlite3_step(rows.get())) == SQLITE_ROW) {
      NodeAdminState n;
      n.name = reinterpret_cast<const char*>(sqlite3_column_text(rows.get(), 0));
      n.drain = sqlite3_column_int(rows.get(), 1) != 0;
      n.down = sqlite3_column_int(rows.get(), 2) != 0;
      n.reason = reinterpret_cast<const char*>(sqlite3_column_text(rows.get(), 3));
      n.reason_time = sqlite3_column_int64(rows.get(), 4);
      n.cpus = static_cast<uint32_t>(sqlite3_column_int64(rows.get(), 5));
      n.memory_mb = static_cast<uint64_t>(sqlite3_column_int64(rows.get(), 6));
      n.gpus = static_cast<uint32_t>(sqlite3_column_int64(rows.get(), 7));
      n.gpu_type = reinterpret_cast<const char*>(sqlite3_column_text(rows.get(), 8));
      out.push_back(std::move(n));
    }
    if (rc != SQLITE_DONE) return SqlError(reader_, "load node states");
    return out;
  }

  Result<std::optional<std::string>> LoadDocument(const std::string& name) override {
    std::lock_guard<std::mutex> lock(read_mu_);
    Statement row(reader_, "SELECT body FROM documents WHERE name = ?");
    if (!row.valid()) return SqlError(reader_, "load document");
    sqlite3_bind_text(row.get(), 1, name.c_str(), -1, SQLITE_TRANSIENT);
    const int rc = sqlite3_step(row.get());
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW) return SqlError(reader_, "load document");
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(row.get(), 0));
    return std::optional<std::string>(
        std::string(text, static_cast<size_t>(sqlite3_column_bytes(row.get(), 0))));
  }

  Result<std::vector<NodeEvent>> LoadNodeEvents(int64_t start, int64_t end) override {
    std::lock_guard<std::mutex> lock(read_mu_);
    Statement rows(reader_,
                   "SELECT node, state, reason, cpus, time_start, time_end FROM node_events "
                   "WHERE time_start < ?1 AND (time_end = 0 OR time_end > ?2) "
                   "ORDER BY time_start, node");
    if (!rows.valid()) return SqlError(reader_, "load node events");
    sqlite3_bind_int64(rows.get(), 1, end);
    sqlite3_bind_int64(rows.get(), 2, start);
    std::vector<NodeEvent> out;
    int rc;
    while ((rc = sqlite3_step(rows.get())) == SQLITE_ROW) {
      auto text = [&](int column) {
        return std::string(reinterpret_cast<const char*>(sqlite3_column_text(rows.get(), column)),
                           static_cast<size_t>(sqlite3_column_bytes(rows.get(), column)));
      };
      NodeEvent e;
      e.node = text(0);
      e.state = text(1);
      e.reason = text(2);
      e.cpus = static_cast<uint32_t>(sqlite3_column_int64(rows.get(), 3));
      e.start = sqlite3_column_int64(rows.get(), 4);
      e.end = sqlite3_column_int64(rows.get(), 5);
      out.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) return SqlError(reader_, "load node events");
    return out;
  }

  Result<std::vector<OutboxEntry>> LoadOutbox() override {
    std::lock_guard<std::mutex> lock(read_mu_);
    Statement rows(reader_,
                   "SELECT seq, event_id, job_id, url, body, created FROM webhook_outbox "
                   "ORDER BY seq");
    if (!rows.valid()) return SqlError(reader_, "load webhook outbox");
    std::vector<OutboxEntry> out;
    int rc;
    while ((rc = sqlite3_step(rows.get())) == SQLITE_ROW) {
      auto text = [&](int column) {
        return std::string(reinterpret_cast<const char*>(sqlite3_column_text(rows.get(), column)),
                           static_cast<size_t>(sqlite3_column_bytes(rows.get(), column)));
      };
      OutboxEntry e;
      e.seq = sqlite3_column_int64(rows.get(), 0);
      e.event_id = text(1);
      e.job_id = static_cast<JobId>(sqlite3_column_int64(rows.get(), 2));
      e.url = text(3);
      e.body = text(4);
      e.created = sqlite3_column_int64(rows.get(), 5);
      out.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) return SqlError(reader_, "load webhook outbox");
    return out;
  }

  Result<UsageState> LoadUsage() override {
    std::lock_guard<std::mutex> lock(read_mu_);
    UsageState state;
    Statement rows(reader_, "SELECT account, user, cpu_seconds FROM usage");
    if (!rows.valid()) return SqlError(reader_, "load usage");
    int rc;
    while ((rc = sqlite3_step(rows.get())) == SQLITE_ROW) {
      UsageKey key{reinterpret_cast<const char*>(sqlite3_column_text(rows.get(), 0)),
                   reinterpret_cast<const char*>(sqlite3_column_text(rows.get(), 1))};
      state.usage[std::move(key)] = sqlite3_column_double(rows.get(), 2);
    }
    if (rc != SQLITE_DONE) return SqlError(reader_, "load usage");
    Statement meta(reader_,
                   "SELECT key, value FROM store_meta WHERE key IN ('usage_as_of', "
                   "'usage_last_reset')");
    if (!meta.valid()) return SqlError(reader_, "load usage");
    while ((rc = sqlite3_step(meta.get())) == SQLITE_ROW) {
      const std::string key = reinterpret_cast<const char*>(sqlite3_column_text(meta.get(), 0));
      const int64_t value = sqlite3_column_int64(meta.get(), 1);
      (key == "usage_as_of" ? state.as_of : state.last_reset) = value;
    }
    if (rc != SQLITE_DONE) return SqlError(reader_, "load usage");
    return state;
  }

  Result<std::vector<Step>> QuerySteps(const std::vector<JobId>& job_ids) override {
    std::string sql = "SELECT doc FROM steps";
    if (!job_ids.empty()) {
      std::string list;
      for (JobId id : job_ids) list += (list.empty() ? "" : ",") + std::to_string(id);
      sql += " WHERE job_id IN (" + list + ")";
    }
    sql += " ORDER BY job_id, step_id";
    std::lock_guard<std::mutex> lock(read_mu_);
    Statement st(reader_, sql.c_str());
    if (!st.valid()) return SqlError(reader_, "query steps");
    std::vector<Step> steps;
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      Json doc = Json::parse(reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0)),
                             nullptr, false);
      auto step = StepFromJson(doc);
      if (!step.ok()) return Internal("corrupt step record: " + step.status().message());
      steps.push_back(std::move(step).value());
    }
    if (rc != SQLITE_DONE) return SqlError(reader_, "read steps");
    return steps;
  }

 private:
  struct Pending {
    std::vector<StoreOp> ops;
    std::promise<Status> done;
  };

  Result<std::vector<Job>> ReadJobs(sqlite3_stmt* st) {
    std::vector<Job> jobs;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      Json doc = Json::parse(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), nullptr,
                             false);
      auto job = JobFromJson(doc);
      if (!job.ok()) return Internal("corrupt job record: " + job.status().message());
      jobs.push_back(std::move(job).value());
    }
    if (rc != SQLITE_DONE) return SqlError(reader_, "read jobs");
    return jobs;
  }

  void WriterLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return !committing_ && (stopping_ || !queue_.empty()); });
      if (queue_.empty()) return;  // stopping, and everything queued is committed
      CommitQueuedLocked(lock);
    }
  }

  // Commits everything queued as one transaction and resolves its futures. Called with mu_
  // held and no commit under way; lets mu_ go while writing.
  void CommitQueuedLocked(std::unique_lock<std::mutex>& lock) {
    committing_ = true;
    std::deque<Pending> batch;
    batch.swap(queue_);
    lock.unlock();
    const auto started = std::chrono::steady_clock::now();
    Status s = CommitBatch(batch);
    if (commit_observer_) {
      commit_observer_(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    for (auto& p : batch) p.done.set_value(s);
    lock.lock();
    committing_ = false;
    cv_.notify_all();  // what was queued meanwhile, or a destructor waiting for the end
  }

  Status CommitBatch(std::deque<Pending>& batch) {
    bool sync = false;
    for (const auto& p : batch) {
      for (const auto& op : p.ops) sync = sync || op.must_sync;
    }
    // Prepared once: compiling these statements for every commit took about 5% of the
    // controller's CPU (bench/RESULTS.md, "Statements prepared once").
    if (sync != synced_mode_) {
      StepOnce((sync ? sync_full_ : sync_normal_)->get(), "set synchronous");
      synced_mode_ = sync;
    }
    Status s = StepOnce(begin_->get(), "begin");
    for (auto& p : batch) {
      for (auto& op : p.ops) {
        if (!s.ok()) break;
        switch (op.kind) {
          case StoreOp::Kind::kInsertPayload: s = WritePayload(payload_->get(), op); break;
          // A commit that changes nothing writes no WAL frame and so syncs nothing: count.
          case StoreOp::Kind::kSync: s = StepOnce(count_sync_->get(), "count syncs"); break;
          case StoreOp::Kind::kSaveUsage:
            s = WriteUsage(op, usage_row_->get(), usage_clear_->get(), set_meta_->get());
            break;
          case StoreOp::Kind::kUpsertStep: s = WriteStep(step_->get(), op.step); break;
          case StoreOp::Kind::kSaveNodeState: s = WriteNodeState(op.node_state); break;
          case StoreOp::Kind::kSaveDocument: s = WriteDocument(op.doc_name, op.doc_body); break;
          case StoreOp::Kind::kAddOutbox: s = WriteOutbox(op.outbox); break;
          case StoreOp::Kind::kSaveNodeEvent: s = WriteNodeEvent(op.node_event); break;
          case StoreOp::Kind::kDeleteOutbox: {
            sqlite3_stmt* st = outbox_delete_->get();
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, op.outbox.seq);
            if (sqlite3_step(st) != SQLITE_DONE) s = SqlError(writer_, "delete webhook outbox");
            break;
          }
          default: s = WriteJob(upsert_->get(), op.job); break;
        }
      }
    }
    if (s.ok()) s = StepOnce(commit_->get(), "commit");
    if (!s.ok()) StepOnce(rollback_->get(), "rollback");
    return s;
  }

  Status StepOnce(sqlite3_stmt* st, const char* what) {
    sqlite3_reset(st);
    if (sqlite3_step(st) != SQLITE_DONE) return SqlError(writer_, what);
    return Status::Ok();
  }

  Status WriteJob(sqlite3_stmt* st, const Job& job) {
    const std::string doc = JobDocument(job);
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, static_cast<int64_t>(job.id));
    sqlite3_bind_int64(st, 2, static_cast<int64_t>(job.array_job_id));
    sqlite3_bind_text(st, 3, job.req.user.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, job.req.partition.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, JobStateName(job.state), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, IsFinished(job.state) ? 1 : 0);
    sqlite3_bind_int64(st, 7, job.submit_time);
    sqlite3_bind_int64(st, 8, job.start_time);
    sqlite3_bind_int64(st, 9, job.end_time);
    sqlite3_bind_text(st, 10, doc.c_str(), static_cast<int>(doc.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) return SqlError(writer_, "write job");
    return Status::Ok();
  }

  Status WriteDocument(const std::string& name, const std::string& body) {
    sqlite3_stmt* st = document_->get();
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, body.c_str(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
    return sqlite3_step(st) == SQLITE_DONE ? Status::Ok() : SqlError(writer_, "write document");
  }

  Status WriteOutbox(const OutboxEntry& e) {
    sqlite3_stmt* st = outbox_add_->get();
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, e.seq);
    sqlite3_bind_text(st, 2, e.event_id.c_str(), static_cast<int>(e.event_id.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, static_cast<int64_t>(e.job_id));
    sqlite3_bind_text(st, 4, e.url.c_str(), static_cast<int>(e.url.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, e.body.c_str(), static_cast<int>(e.body.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, e.created);
    if (sqlite3_step(st) != SQLITE_DONE) return SqlError(writer_, "write webhook outbox");
    return Status::Ok();
  }

  Status WriteNodeEvent(const NodeEvent& e) {
    // Rare (a node changing state): a statement of its own each time.
    Statement st(writer_,
                 "INSERT OR REPLACE INTO node_events (node, time_start, time_end, state, reason, "
                 "cpus) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!st.valid()) return SqlError(writer_, "write node event");
    sqlite3_bind_text(st.get(), 1, e.node.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st.get(), 2, e.start);
    sqlite3_bind_int64(st.get(), 3, e.end);
    sqlite3_bind_text(st.get(), 4, e.state.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st.get(), 5, e.reason.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st.get(), 6, e.cpus);
    return sqlite3_step(st.get()) == SQLITE_DONE ? Status::Ok()
                                                 : SqlError(writer_, "write node event");
  }

  Status WriteNodeState(const NodeAdminState& n) {
    if (!n.drain && !n.down) {
      sqlite3_stmt* st = node_state_clear_->get();
      sqlite3_reset(st);
      sqlite3_bind_text(st, 1, n.name.c_str(), -1, SQLITE_TRANSIENT);
      return sqlite3_step(st) == SQLITE_DONE ? Status::Ok() : SqlError(writer_, "clear node state");
    }
    sqlite3_stmt* st = node_state_->get();
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, n.name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, n.drain ? 1 : 0);
    sqlite3_bind_int(st, 3, n.down ? 1 : 0);
    sqlite3_bind_text(st, 4, n.reason.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, n.reason_time);
    sqlite3_bind_int64(st, 6, n.cpus);
    sqlite3_bind_int64(st, 7, static_cast<int64_t>(n.memory_mb));
    sqlite3_bind_int64(st, 8, n.gpus);
    sqlite3_bind_text(st, 9, n.gpu_type.c_str(), -1, SQLITE_TRANSIENT);
    return sqlite3_step(st) == SQLITE_DONE ? Status::Ok() : SqlError(writer_, "write node state");
  }

  Status WriteStep(sqlite3_stmt* st, const Step& step) {
    const std::string doc = StepToJson(step).dump();
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, static_cast<int64_t>(step.job_id));
    sqlite3_bind_int64(st, 2, static_cast<int64_t>(step.step_id));
    sqlite3_bind_text(st, 3, doc.c_str(), static_cast<int>(doc.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) return SqlError(writer_, "write step");
    return Status::Ok();
  }

  Status WriteUsage(const StoreOp& op, sqlite3_stmt* row, sqlite3_stmt* clear, sqlite3_stmt* meta) {
    if (op.usage_replace_all) {
      Status s = StepOnce(clear, "clear usage");
      if (!s.ok()) return s;
    }
    for (const auto& [key, cpu_seconds] : op.usage) {
      sqlite3_reset(row);
      sqlite3_bind_text(row, 1, key.account.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(row, 2, key.user.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_double(row, 3, cpu_seconds);
      if (sqlite3_step(row) != SQLITE_DONE) return SqlError(writer_, "write usage");
    }
    for (auto [name, value] : {std::pair{"usage_as_of", op.usage_as_of},
                               std::pair{"usage_last_reset", op.usage_last_reset}}) {
      if (value < 0) continue;
      sqlite3_reset(meta);
      sqlite3_bind_text(meta, 1, name, -1, SQLITE_STATIC);
      sqlite3_bind_int64(meta, 2, value);
      if (sqlite3_step(meta) != SQLITE_DONE) return SqlError(writer_, "write usage time");
    }
    return Status::Ok();
  }

  Status WritePayload(sqlite3_stmt* st, const StoreOp& op) {
    std::string env, args;
    try {
      env = Json(op.payload.env).dump();
      args = Json(op.payload.args).dump();
    } catch (const Json::exception& e) {
      return InvalidArgument("environment of job " + std::to_string(op.payload_id) +
                             " cannot be stored: " + e.what());
    }
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, static_cast<int64_t>(op.payload_id));
    sqlite3_bind_text(st, 2, op.payload.script.c_str(), static_cast<int>(op.payload.script.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, env.c_str(), static_cast<int>(env.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, args.c_str(), static_cast<int>(args.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) return SqlError(writer_, "write payload");
    return Status::Ok();
  }

  sqlite3* writer_;
  sqlite3* reader_;
  // The writer's statements and mode: used by one committer at a time (committing_).
  std::optional<Statement> upsert_, payload_, count_sync_;
  std::optional<Statement> usage_row_, usage_clear_, set_meta_;  // fair-share usage
  std::optional<Statement> step_;
  std::optional<Statement> node_state_, node_state_clear_, document_;
  std::optional<Statement> outbox_add_, outbox_delete_;
  std::optional<Statement> begin_, commit_, rollback_, sync_full_, sync_normal_;
  bool synced_mode_ = true;  // the writer connection opens with synchronous=FULL
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool committing_ = false;
  bool stopping_ = false;
  std::thread thread_;
  std::mutex read_mu_;
  std::optional<Statement> load_payload_;  // the reader's; under read_mu_
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  auto writer = OpenConnection(path);
  if (!writer.ok()) return writer.status();
  // A file from a newer shoal is refused rather than half-understood.
  int version = 0;
  {
    Statement v(*writer, "PRAGMA user_version");
    if (v.valid() && sqlite3_step(v.get()) == SQLITE_ROW) version = sqlite3_column_int(v.get(), 0);
  }
  if (version > kSchemaVersion) {
    sqlite3_close(*writer);
    return FailedPrecondition(path + " has schema version " + std::to_string(version) +
                              ", newer than this shoal understands (" +
                              std::to_string(kSchemaVersion) + ")");
  }
  Status s = Exec(*writer, kSchema);
  if (s.ok() && version == 1) {
    s = Exec(*writer, "ALTER TABLE job_payloads ADD COLUMN args TEXT NOT NULL DEFAULT '[]'");
  }
  // Version 11: node_states of versions 5-10 gain the node's size (kSchema creates the table
  // with it where it was missing). By column, not by version: adding one twice is an error.
  if (s.ok() && version < 11) {
    std::set<std::string> columns;
    Statement info(*writer, "SELECT name FROM pragma_table_info('node_states')");
    while (info.valid() && sqlite3_step(info.get()) == SQLITE_ROW) {
      columns.insert(reinterpret_cast<const char*>(sqlite3_column_text(info.get(), 0)));
    }
    for (const auto& [column, type] : {std::pair{"cpus", "INTEGER NOT NULL DEFAULT 0"},
                                       std::pair{"memory_mb", "INTEGER NOT NULL DEFAULT 0"},
                                       std::pair{"gpus", "INTEGER NOT NULL DEFAULT 0"},
                                       std::pair{"gpu_type", "TEXT NOT NULL DEFAULT ''"}}) {
      if (!s.ok() || columns.count(column)) continue;
      s = Exec(*writer,
               (std::string("ALTER TABLE node_states ADD COLUMN ") + column + " " + type).c_str());
    }
  }
  if (s.ok()) {
    s = Exec(*writer, ("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
  }
  if (!s.ok()) {
    sqlite3_close(*writer);
    return s;
  }
  auto reader = OpenConnection(path);
  if (!reader.ok()) {
    sqlite3_close(*writer);
    return reader.status();
  }
  return std::unique_ptr<Store>(new SqliteStore(*writer, *reader));
}

}  // namespace shoal
