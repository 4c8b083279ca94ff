// PostgreSQL implementation of Store. One writer thread owns the write connection and commits
// whatever is queued as one transaction (group commit), its statements pipelined (libpq
// pipeline mode) so that a batch costs a few round trips rather than one per op; readers share
// a second connection. Every statement is prepared once per connection and every value is bound.
#include "store/postgres_store.h"
#include "store/postgres_conninfo.h"

#include <libpq-fe.h>
#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "api/job_table.h"
#include "api/json_model.h"
#include "common/strings.h"

namespace shoal {
namespace {

// Stays in step with kSchemaVersion in sqlite_store.cc: both stores hold the same logical
// schema, and a change to it is a new version of both. PostgreSQL support began at version 5,
// so a new database is created at 5 directly; a later version appends a migration here.
constexpr int kSchemaVersion = 11;

struct Migration {
  int to;           // the version a database has after it
  const char* sql;  // run (in one transaction) on a database below `to`
};

const Migration kMigrations[] = {
    {5, R"sql(
CREATE TABLE jobs (
  id BIGINT PRIMARY KEY,
  array_job_id BIGINT NOT NULL,
  "user" TEXT NOT NULL,
  partition TEXT NOT NULL,
  state TEXT NOT NULL,
  finished BOOLEAN NOT NULL,
  submit_time BIGINT NOT NULL,
  start_time BIGINT NOT NULL,
  end_time BIGINT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX jobs_live ON jobs (finished, end_time);
CREATE INDEX jobs_user_time ON jobs ("user", submit_time);
CREATE INDEX jobs_array ON jobs (array_job_id);
CREATE TABLE store_meta (
  key TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);
CREATE TABLE job_payloads (
  id BIGINT PRIMARY KEY,
  script BYTEA NOT NULL,
  env TEXT NOT NULL,
  args TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE steps (
  job_id BIGINT NOT NULL,
  step_id BIGINT NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (job_id, step_id)
);
CREATE TABLE node_states (
  name TEXT PRIMARY KEY,
  drain BOOLEAN NOT NULL,
  down BOOLEAN NOT NULL,
  reason TEXT NOT NULL,
  reason_time BIGINT NOT NULL
);
CREATE TABLE usage (
  account TEXT NOT NULL,
  "user" TEXT NOT NULL,
  cpu_seconds DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (account, "user")
);
)sql"},
    {6, R"sql(
CREATE TABLE documents (
  name TEXT PRIMARY KEY,
  body TEXT NOT NULL
);
)sql"},
    {7, R"sql(
CREATE TABLE webhook_outbox (
  seq BIGINT PRIMARY KEY,
  event_id TEXT NOT NULL,
  job_id BIGINT NOT NULL,
  url TEXT NOT NULL,
  body TEXT NOT NULL,
  created BIGINT NOT NULL
);
)sql"},
    // sacct -u -S -E: a job is in the window when it was submitted before the window's end and
    // ended after its start; with both times in the index, rows outside it are never read.
    {8, R"sql(
DROP INDEX IF EXISTS jobs_user_time;
CREATE INDEX IF NOT EXISTS jobs_user_window ON jobs ("user", submit_time, end_time, finished);
)sql"},
    // Node outages (sreport's Down and PLND Down, sacctmgr show event).
    {9, R"sql(
CREATE TABLE IF NOT EXISTS node_events (
  node TEXT NOT NULL,
  time_start BIGINT NOT NULL,
  time_end BIGINT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL,
  cpus BIGINT NOT NULL,
  PRIMARY KEY (node, time_start)
);
CREATE INDEX IF NOT EXISTS node_events_time ON node_events (time_start);
)sql"},
    // High availability: the leader lease (one row; the epoch is the fencing token) and the
    // check every fenced write transaction starts with. FOR SHARE holds the row until the
    // transaction ends, so a takeover's UPDATE waits for a write that passed the check.
    {10, R"sql(
CREATE TABLE IF NOT EXISTS leader_lease (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  epoch BIGINT NOT NULL,
  holder TEXT NOT NULL,
  api_address TEXT NOT NULL,
  agent_address TEXT NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL
);
INSERT INTO leader_lease VALUES (1, 0, '', '', '', '-infinity') ON CONFLICT (id) DO NOTHING;
CREATE OR REPLACE FUNCTION shoal_check_epoch(mine BIGINT) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
  current BIGINT;
BEGIN
  SELECT epoch INTO current FROM leader_lease WHERE id = 1 FOR SHARE;
  IF current IS DISTINCT FROM mine THEN
    RAISE EXCEPTION 'fenced: the leader lease is at epoch %, this controller led at epoch %',
      current, mine USING ERRCODE = 'SH001';
  END IF;
  RETURN current;
END
$$;
)sql"},
    // The node's size with its drain, to list it before its agent is back after a restart.
    {11, R"sql(
ALTER TABLE node_states ADD COLUMN IF NOT EXISTS cpus BIGINT NOT NULL DEFAULT 0;
ALTER TABLE node_states ADD COLUMN IF NOT EXISTS memory_mb BIGINT NOT NULL DEFAULT 0;
ALTER TABLE node_states ADD COLUMN IF NOT EXISTS gpus BIGINT NOT NULL DEFAULT 0;
ALTER TABLE node_states ADD COLUMN IF NOT EXISTS gpu_type TEXT NOT NULL DEFAULT '';
)sql"},
};

// The SQLSTATE shoal_check_epoch raises.
constexpr char kFencedState[] = "SH001";

// Serializes schema changes of controllers that open one database at the same moment.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7526466016154380141)";

// Prepared statements, by name. Writes are the SQLite store's, row for row: job updates keep a
// job's user, submit time and array id as first written; everything else is replaced.
const std::pair<const char*, const char*> kWriterStatements[] = {
    {"job",
     "INSERT INTO jobs (id, array_job_id, \"user\", partition, state, finished, submit_time, "
     "start_time, end_time, doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
     "ON CONFLICT (id) DO UPDATE SET state = excluded.state, finished = excluded.finished, "
     "partition = excluded.partition, start_time = excluded.start_time, "
     "end_time = excluded.end_time, doc = excluded.doc"},
    {"payload",
     "INSERT INTO job_payloads (id, script, env, args) VALUES ($1, $2, $3, $4) "
     "ON CONFLICT (id) DO UPDATE SET script = excluded.script, env = excluded.env, "
     "args = excluded.args"},
    // A transaction that writes nothing commits without flushing the WAL: a sync writes a row.
    {"count_sync",
     "INSERT INTO store_meta (key, value) VALUES ('syncs', 1) "
     "ON CONFLICT (key) DO UPDATE SET value = store_meta.value + 1"},
    {"usage_row",
     "INSERT INTO usage (account, \"user\", cpu_seconds) VALUES ($1, $2, $3) "
     "ON CONFLICT (account, \"user\") DO UPDATE SET cpu_seconds = excluded.cpu_seconds"},
    {"usage_clear", "DELETE FROM usage"},
    {"set_meta",
     "INSERT INTO store_meta (key, value) VALUES ($1, $2) "
     "ON CONFLICT (key) DO UPDATE SET value = excluded.value"},
    {"step",
     "INSERT INTO steps (job_id, step_id, doc) VALUES ($1, $2, $3) "
     "ON CONFLICT (job_id, step_id) DO UPDATE SET doc = excluded.doc"},
    {"node_state",
     "INSERT INTO node_states (name, drain, down, reason, reason_time, cpus, memory_mb, gpus, "
     "gpu_type) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (name) DO UPDATE SET "
     "drain = excluded.drain, down = excluded.down, reason = excluded.reason, "
     "reason_time = excluded.reason_time, cpus = excluded.cpus, "
     "memory_mb = excluded.memory_mb, gpus = excluded.gpus, gpu_type = excluded.gpu_type"},
    {"node_state_clear", "DELETE FROM node_states WHERE name = $1"},
    {"document",
     "INSERT INTO documents (name, body) VALUES ($1, $2) "
     "ON CONFLICT (name) DO UPDATE SET body = excluded.body"},
    {"outbox_add",
     "INSERT INTO webhook_outbox (seq, event_id, job_id, url, body, created) "
     "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (seq) DO UPDATE SET "
     "event_id = excluded.event_id, job_id = excluded.job_id, url = excluded.url, "
     "body = excluded.body, created = excluded.created"},
    {"outbox_delete", "DELETE FROM webhook_outbox WHERE seq = $1"},
    {"node_event",
     "INSERT INTO node_events (node, time_start, time_end, state, reason, cpus) "
     "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (node, time_start) DO UPDATE SET "
     "time_end = excluded.time_end, state = excluded.state, reason = excluded.reason, "
     "cpus = excluded.cpus"},
    {"fence", "SELECT shoal_check_epoch($1::bigint)"},
};

// The lease's own connection. Times are the server's (clock_timestamp(): now, not the
// transaction's start).
const std::pair<const char*, const char*> kLeaseStatements[] = {
    {"acquire",
     "UPDATE leader_lease SET epoch = epoch + 1, holder = $1, api_address = $2, "
     "agent_address = $3, expires_at = clock_timestamp() + $4::bigint * interval '1 millisecond' "
     "WHERE id = 1 AND (expires_at < clock_timestamp() OR holder = $1) RETURNING epoch"},
    {"renew",
     "UPDATE leader_lease SET expires_at = clock_timestamp() + $2::bigint * interval "
     "'1 millisecond' WHERE id = 1 AND epoch = $1::bigint RETURNING epoch"},
    {"release",
     "UPDATE leader_lease SET expires_at = '-infinity' WHERE id = 1 AND epoch = $1::bigint "
     "RETURNING epoch"},
    {"read",
     "SELECT epoch, holder, api_address, agent_address, expires_at < clock_timestamp() "
     "FROM leader_lease WHERE id = 1"},
};

// Filters are bound as arrays (NULL: no filter), so one prepared statement serves every query.
const std::pair<const char*, const char*> kReaderStatements[] = {
    {"live", "SELECT doc FROM jobs WHERE NOT finished OR end_time >= $1::bigint ORDER BY id"},
    {"max_id", "SELECT COALESCE(MAX(id), 0) FROM jobs"},
    {"payload", "SELECT script, env, args FROM job_payloads WHERE id = $1::bigint"},
    {"query_jobs",
     "SELECT id, doc FROM jobs WHERE ($1::text[] IS NULL OR \"user\" = ANY($1::text[])) "
     "AND ($2::text[] IS NULL OR state = ANY($2::text[])) "
     "AND ($3::text[] IS NULL OR partition = ANY($3::text[])) "
     "AND ($4::bigint[] IS NULL OR id = ANY($4::bigint[]) OR array_job_id = ANY($4::bigint[])) "
     "AND ($5::bigint = 0 OR NOT finished OR end_time >= $5::bigint) "
     "AND ($6::bigint = 0 OR submit_time <= $6::bigint) "
     "ORDER BY id LIMIT $7::bigint"},
    // Byte order, as SQLite sorts, whatever the database's collation.
    {"node_states",
     "SELECT name, drain, down, reason, reason_time, cpus, memory_mb, gpus, gpu_type "
     "FROM node_states ORDER BY name COLLATE \"C\""},
    {"usage_rows", "SELECT account, \"user\", cpu_seconds FROM usage"},
    {"document", "SELECT body FROM documents WHERE name = $1"},
    {"outbox", "SELECT seq, event_id, job_id, url, body, created FROM webhook_outbox ORDER BY seq"},
    {"node_events",
     "SELECT node, state, reason, cpus, time_start, time_end FROM node_events "
     "WHERE time_start < $1::bigint AND (time_end = 0 OR time_end > $2::bigint) "
     "ORDER BY time_start, node COLLATE \"C\""},
    {"usage_meta",
     "SELECT key, value FROM store_meta WHERE key IN ('usage_as_of', 'usage_last_reset')"},
    {"steps",
     "SELECT doc FROM steps WHERE $1::bigint[] IS NULL OR job_id = ANY($1::bigint[]) "
     "ORDER BY job_id, step_id"},
};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

std::string TrimmedMessage(const char* m) {
  return std::string(Trim(m ? std::string_view(m) : std::string_view()));
}

// The server's own words for a failed statement (its primary message and any detail), or
// libpq's when the failure is on the client side (a lost connection).
std::string ServerMessage(const PGresult* r, PGconn* conn) {
  const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  if (primary == nullptr) {
    std::string m = r ? TrimmedMessage(PQresultErrorMessage(r)) : "";
    return m.empty() ? TrimmedMessage(PQerrorMessage(conn)) : m;
  }
  std::string m = primary;
  if (const char* detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL)) {
    m += std::string(" (") + detail + ")";
  }
  return m;
}

// TEXT columns hold UTF-8 only; the job documents already replace bad bytes with U+FFFD
// (AppendJsonString), and the few plain columns beside them do the same here.
std::string Utf8(std::string_view s) {
  if (IsUtf8(s)) return std::string(s);
  const std::string quoted =
      Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
  return Json::parse(quoted).get<std::string>();
}

// A text[] literal, every element quoted: {"a","b \"c\""}.
std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : Utf8(values[i])) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string IdArray(const std::vector<JobId>& ids) {
  std::string out = "{";
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
  return out + "}";
}

std::string Float(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);  // exact: 17 significant digits round-trip
  return buf;
}

int64_t Int(const PGresult* r, int row, int col) {
  return std::strtoll(PQgetvalue(r, row, col), nullptr, 10);
}

// One statement with its values: a prepared statement's name, or constant SQL (BEGIN...).
// Values go as text, except `binary` (a bytea, sent as raw bytes).
struct Call {
  const char* name = nullptr;
  const char* sql = nullptr;
  std::vector<std::optional<std::string>> values = {};
  int binary = -1;
};

// The pointer arrays libpq wants, into a Call that outlives them.
struct Params {
  explicit Params(const Call& call) {
    for (size_t i = 0; i < call.values.size(); ++i) {
      const auto& v = call.values[i];
      values.push_back(v ? v->data() : nullptr);
      lengths.push_back(v ? static_cast<int>(v->size()) : 0);
      formats.push_back(static_cast<int>(i) == call.binary ? 1 : 0);
    }
  }
  int size() const { return static_cast<int>(values.size()); }
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
};

void IgnoreNotice(void*, const char*) {}  // "relation exists, skipping" and the like

// A connection and its prepared statements; Connect again after a loss reconnects.
class Connection {
 public:
  // `server_options`: the libpq "options" value (server settings for this session), unless the
  // conninfo gives its own.
  Connection(std::string conninfo, std::vector<std::pair<const char*, const char*>> statements,
             const char* server_options = nullptr)
      : conninfo_(std::move(conninfo)),
        statements_(std::move(statements)),
        server_options_(server_options) {}
  ~Connection() { Close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Status Connect() {
    Close();
    // Defaults the conninfo, last, may override. Our text is UTF-8 whatever the database's
    // encoding (the server converts). A server that stops answering over TCP is given up on in
    // about a minute (connect timeout, keepalives) rather than the OS's hours, so a batch fails
    // and the next one reconnects instead of the writer hanging.
    std::vector<const char*> keys = {"client_encoding", "fallback_application_name",
                                     "connect_timeout", "keepalives_idle",
                                     "keepalives_interval", "keepalives_count"};
    std::vector<const char*> values = {"UTF8", "shoal-controller", "10", "30", "10", "3"};
    if (server_options_ != nullptr) {
      keys.push_back("options");
      values.push_back(server_options_);
    }
    keys.insert(keys.end(), {"dbname", nullptr});
    values.insert(values.end(), {conninfo_.c_str(), nullptr});
    conn_ = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
    if (conn_ == nullptr) return Unavailable("cannot connect to PostgreSQL: out of memory");
    if (PQstatus(conn_) != CONNECTION_OK) {
      Status s = Unavailable("cannot connect to PostgreSQL at " + RedactConninfo(conninfo_) + ": " +
                             TrimmedMessage(PQerrorMessage(conn_)));
      Close();
      return s;
    }
    PQsetNoticeProcessor(conn_, IgnoreNotice, nullptr);
    for (const auto& [name, sql] : statements_) {
      PgResult r(PQprepare(conn_, name, sql, 0, nullptr));
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
        Status s = Internal(std::string("prepare ") + name + ": " + ServerMessage(r.get(), conn_));
        Close();
        return s;
      }
    }
    return Status::Ok();
  }

  PGconn* get() const { return conn_; }
  bool lost() const { return conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK; }

  // Runs a prepared statement and returns its rows; reconnects once if the connection was lost
  // (a read is safe to repeat).
  Result<PgResult> Query(const Call& call, int result_format, const char* what) {
    for (int attempt = 0;; ++attempt) {
      if (lost()) {
        Status s = Connect();
        if (!s.ok()) return s;
      }
      Params p(call);
      PgResult r(PQexecPrepared(conn_, call.name, p.size(), p.values.data(), p.lengths.data(),
                                p.formats.data(), result_format));
      if (PQresultStatus(r.get()) == PGRES_TUPLES_OK) return r;
      if (attempt == 0 && lost()) continue;
      return Internal(std::string(what) + ": " + ServerMessage(r.get(), conn_));
    }
  }

 private:
  void Close() {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
  }

  const std::string conninfo_;
  const std::vector<std::pair<const char*, const char*>> statements_;
  const char* const server_options_;
  PGconn* conn_ = nullptr;
};

// Runs `sql` (no parameters, possibly several statements) outside a pipeline.
Status Exec(PGconn* conn, const char* sql) {
  PgResult r(PQexec(conn, sql));
  const ExecStatusType st = PQresultStatus(r.get());
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::Ok();
  return Internal(ServerMessage(r.get(), conn));
}

// Brings the database to kSchemaVersion, or refuses one from a newer shoal.
Status Migrate(PGconn* conn, const std::string& where) {
  Status s = Exec(conn, "BEGIN");
  if (s.ok()) s = Exec(conn, kMigrationLock);
  if (s.ok())
    s = Exec(conn, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  int version = 0;
  if (s.ok()) {
    PgResult r(PQexec(conn, "SELECT MAX(version) FROM schema_version"));
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
      s = Internal(ServerMessage(r.get(), conn));
    } else if (!PQgetisnull(r.get(), 0, 0)) {
      version = static_cast<int>(Int(r.get(), 0, 0));
    }
  }
  if (s.ok() && version > kSchemaVersion) {
    s = FailedPrecondition(where + " has schema version " + std::to_string(version) +
                           ", newer than this shoal understands (" +
                           std::to_string(kSchemaVersion) + ")");
  }
  for (const Migration& m : kMigrations) {
    if (s.ok() && m.to > version) s = Exec(conn, m.sql);
  }
  if (s.ok() && version < kSchemaVersion) {
    s = Exec(conn, "DELETE FROM schema_version");
    const std::string v = std::to_string(kSchemaVersion);
    const char* values[] = {v.c_str()};
    PgResult r(PQexecParams(conn, "INSERT INTO schema_version (version) VALUES ($1::integer)", 1,
                            nullptr, values, nullptr, nullptr, 0));
    if (s.ok() && PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      s = Internal(ServerMessage(r.get(), conn));
    }
  }
  if (s.ok()) s = Exec(conn, "COMMIT");
  if (!s.ok()) {
    Exec(conn, "ROLLBACK");
    return Status(s.code(), "schema of " + where + ": " + s.message());
  }
  return s;
}

class PostgresStore : public Store {
 public:
  PostgresStore(std::unique_ptr<Connection> writer, std::unique_ptr<Connection> reader,
                StoreFencing fencing)
      : writer_(std::move(writer)), reader_(std::move(reader)), fencing_(std::move(fencing)) {
    if (fencing_.epoch > 0) {
      fence_call_ = Call{.name = "fence", .values = {std::to_string(fencing_.epoch)}};
    }
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "store-writer");
      WriterLoop();
    });
  }

  ~PostgresStore() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
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

  Result<std::vector<Job>> LoadLiveJobs(int64_t finished_since) override {
    Call c{.name = "live", .values = {std::to_string(finished_since)}};
    std::lock_guard<std::mutex> lock(read_mu_);
    auto r = reader_->Query(c, 0, "load jobs");
    if (!r.ok()) return r.status();
    return ReadJobs(r->get());
  }

  Result<JobId> MaxJobId() override {
    std::lock_guard<std::mutex> lock(read_mu_);
    auto r = reader_->Query(Call{.name = "max_id"}, 0, "max id");
    if (!r.ok()) return r.status();
    return static_cast<JobId>(Int(r->get(), 0, 0));
  }

  Result<JobPayload> LoadPayload(JobId payload_id) override {
    Call c{.name = "payload", .values = {std::to_string(payload_id)}};
    std::lock_guard<std::mutex> lock(read_mu_);
    // Binary results: the script's bytes as stored; text columns come back as their bytes.
    auto r = reader_->Query(c, 1, "load payload");
    if (!r.ok()) return r.status();
    const PGresult* res = r->get();
    if (PQntuples(res) == 0) {
      return NotFound("no script stored for job " + std::to_string(payload_id));
    }
    auto column = [&](int i) { return std::string(PQgetvalue(res, 0, i), PQgetlength(res, 0, i)); };
    JobPayload p;
    p.script = column(0);
    auto strings = [&](int i, std::vector<std::string>& out) {
      Json list = Json::parse(column(i), nullptr, false);
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
    auto list = [](const std::vector<std::string>& v) -> std::optional<std::string> {
      if (v.empty()) return std::nullopt;
      return TextArray(v);
    };
    Call c{.name = "query_jobs"};
    c.values = {list(q.users),
                list(q.states),
                list(q.partitions),
                q.ids.empty() ? std::nullopt : std::optional(IdArray(q.ids)),
                std::to_string(std::max<int64_t>(q.start, 0)),
                std::to_string(std::max<int64_t>(q.end, 0)),
                q.limit > 0 ? std::optional(std::to_string(q.limit)) : std::nullopt};
    std::lock_guard<std::mutex> lock(read_mu_);
    auto r = reader_->Query(c, 0, "query jobs");
    if (!r.ok()) return r.status();
    const PGresult* rows = r->get();
    std::vector<JobRecord> records;
    records.reserve(PQntuples(rows));
    for (int i = 0; i < PQntuples(rows); ++i) {
      records.push_back({static_cast<JobId>(Int(rows, i, 0)),
                         std::string(PQgetvalue(rows, i, 1),
                                     static_cast<size_t>(PQgetlength(rows, i, 1)))});
    }
    return records;
  }

  Result<UsageState> LoadUsage() override {
    std::lock_guard<std::mutex> lock(read_mu_);
    auto rows = reader_->Query(Call{.name = "usage_rows"}, 0, "load usage");
    if (!rows.ok()) return rows.status();
    UsageState state;
    const PGresult* r = rows->get();
    for (int i = 0; i < PQntuples(r); ++i) {
      UsageKey key{PQgetvalue(r, i, 0), PQgetvalue(r, i, 1)};
      state.usage[std::move(key)] = std::strtod(PQgetvalue(r, i, 2), nullptr);
    }
    auto meta = reader_->Query(Call{.name = "usage_meta"}, 0, "load usage");
    if (!meta.ok()) return meta.status();
    r = meta->get();
    for (int i = 0; i < PQntuples(r); ++i) {
      const std::string key = PQgetvalue(r, i, 0);
      (key == "usage_as_of" ? state.as_of : state.last_reset) = Int(r, i, 1);
    }
    return state;
  }

  Result<std::vector<Step>> QuerySteps(const std::vector<JobId>& job_ids) override {
    Call c{.name = "steps"};
    c.values = {job_ids.empty() ? std::nullopt : std::optional(IdArray(job_ids))};
    std::lock_guard<std::mutex> lock(read_mu_);
    auto r = reader_->Query(c, 0, "query steps");
    if (!r.ok()) return r.status();
    std::vector<Step> steps;
    for (int i = 0; i < PQntuples(r->get()); ++i) {
      auto step = StepFromJson(Json::parse(PQgetvalue(r->get(), i, 0), nullptr, false));
      if (!step.ok()) return Internal("corrupt step record: " + step.status().message());
      steps.push_back(std::move(step).value());
    }
    return steps;
  }

  Result<std::vector<NodeAdminState>> LoadNodeStates() override {
    std::lock_guard<std::mutex> lock(read_mu_);
    auto rows = reader_->Query(Call{.name = "node_states"}, 0, "load node states");
    if (!rows.ok()) return rows.status();
    const PGresult* r = rows->get();
    std::vector<NodeAdminState> out;
    for (int i = 0; i < PQntuples(r); ++i) {
      NodeAdminState n;
      n.name = PQgetvalue(r, i, 0);
      n.drain = PQgetvalue(r, i, 1)[0] == 't';
      n.down = PQgetvalue(r, i, 2)[0] == 't';
      n.reason = PQgetvalue(r, i, 3);
      n.reason_time = Int(r, i, 4);
      n.cpus = static_cast<uint32_t>(Int(r, i, 5));
      n.memory_mb = static_cast<uint64_t>(Int(r, i, 6));
      n.gpus = static_cast<uint32_t>(Int(r, i, 7));
      n.gpu_type = PQgetvalue(r, i, 8);
      out.push_back(std::move(n));
    }
    return out;
  }

  Result<std::vector<NodeEvent>> LoadNodeEvents(int64_t start, int64_t end) override {
    std::lock_guard<std::mutex> lock(read_mu_);
    auto rows = reader_->Query(
        Call{.name = "node_events", .values = {std::to_string(end), std::to_string(start)}}, 0,
        "load node events");
    if (!rows.ok()) return rows.status();
    const PGresult* r = rows->get();
    std::vector<NodeEvent> out;
    for (int i = 0; i < PQntuples(r); ++i) {
      NodeEvent e;
      e.node = PQgetvalue(r, i, 0);
      e.state = PQgetvalue(r, i, 1);
      e.reason = PQgetvalue(r, i, 2);
      e.cpus = static_cast<uint32_t>(Int(r, i, 3));
      e.start = Int(r, i, 4);
      e.end = Int(r, i, 5);
      out.push_back(std::move(e));
    }
    return out;
  }

  Result<std::vector<OutboxEntry>> LoadOutbox() override {
    std::lock_guard<std::mutex> lock(read_mu_);
    auto rows = reader_->Query(Call{.name = "outbox"}, 0, "load webhook outbox");
    if (!rows.ok()) return rows.status();
    const PGresult* r = rows->get();
    std::vector<OutboxEntry> out;
    for (int i = 0; i < PQntuples(r); ++i) {
      OutboxEntry e;
      e.seq = Int(r, i, 0);
      e.event_id = PQgetvalue(r, i, 1);
      e.job_id = static_cast<JobId>(Int(r, i, 2));
      e.url = PQgetvalue(r, i, 3);
      e.body = PQgetvalue(r, i, 4);
      e.created = Int(r, i, 5);
      out.push_back(std::move(e));
    }
    return out;
  }

  Result<std::optional<std::string>> LoadDocument(const std::string& name) override {
    std::lock_guard<std::mutex> lock(read_mu_);
    auto rows =
        reader_->Query(Call{.name = "document", .values = {Utf8(name)}}, 0, "load document");
    if (!rows.ok()) return rows.status();
    if (PQntuples(rows->get()) == 0) return std::optional<std::string>();
    return std::optional<std::string>(PQgetvalue(rows->get(), 0, 0));
  }

 private:
  struct Pending {
    std::vector<StoreOp> ops;
    std::promise<Status> done;
  };

  static Result<std::vector<Job>> ReadJobs(const PGresult* r) {
    std::vector<Job> jobs;
    jobs.reserve(PQntuples(r));
    for (int i = 0; i < PQntuples(r); ++i) {
      auto job = JobFromJson(Json::parse(PQgetvalue(r, i, 0), nullptr, false));
      if (!job.ok()) return Internal("corrupt job record: " + job.status().message());
      jobs.push_back(std::move(job).value());
    }
    return jobs;
  }

  void WriterLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is committed
      std::deque<Pending> batch;
      batch.swap(queue_);
      lock.unlock();
      const auto started = std::chrono::steady_clock::now();
      Status s = CommitBatch(batch);
      if (commit_observer_) {
        commit_observer_(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      }
      for (auto& p : batch) p.done.set_value(s);  // after COMMIT (or its failure)
      lock.lock();
    }
  }

  Status CommitBatch(const std::deque<Pending>& batch) {
    std::vector<Call> calls;
    bool sync = false;
    for (const auto& p : batch) {
      for (const auto& op : p.ops) {
        sync = sync || op.must_sync;
        Status s = Encode(op, calls);
        if (!s.ok()) return s;  // nothing sent: the whole group fails, as one transaction
      }
    }
    Status s = RunTransaction(calls, sync);
    if (!s.ok() && writer_->lost()) {
      // Once, on a fresh connection. Every op writes whole rows (or bumps the sync counter),
      // so repeating a batch whose COMMIT reached the server before the loss changes nothing.
      Status again = writer_->Connect();
      s = again.ok() ? RunTransaction(calls, sync) : again;
    }
    if (fenced_ && fencing_.on_fenced) fencing_.on_fenced(s.message());
    return s;
  }

  Status Encode(const StoreOp& op, std::vector<Call>& calls) {
    switch (op.kind) {
      case StoreOp::Kind::kInsertPayload: {
        Call c{.name = "payload", .binary = 1};
        try {
          c.values = {std::to_string(op.payload_id), op.payload.script, Json(op.payload.env).dump(),
                      Json(op.payload.args).dump()};
        } catch (const Json::exception& e) {
          return InvalidArgument("environment of job " + std::to_string(op.payload_id) +
                                 " cannot be stored: " + e.what());
        }
        calls.push_back(std::move(c));
        return Status::Ok();
      }
      case StoreOp::Kind::kSync:
        calls.push_back(Call{.name = "count_sync"});
        return Status::Ok();
      case StoreOp::Kind::kSaveUsage:
        if (op.usage_replace_all) calls.push_back(Call{.name = "usage_clear"});
        for (const auto& [key, cpu_seconds] : op.usage) {
          calls.push_back(Call{.name = "usage_row",
                               .values = {Utf8(key.account), Utf8(key.user), Float(cpu_seconds)}});
        }
        for (auto [name, value] : {std::pair{"usage_as_of", op.usage_as_of},
                                   std::pair{"usage_last_reset", op.usage_last_reset}}) {
          if (value < 0) continue;
          calls.push_back(Call{.name = "set_meta", .values = {name, std::to_string(value)}});
        }
        return Status::Ok();
      case StoreOp::Kind::kUpsertStep:
        calls.push_back(Call{
            .name = "step",
            .values = {std::to_string(op.step.job_id), std::to_string(op.step.step_id),
                       StepToJson(op.step).dump(-1, ' ', false, Json::error_handler_t::replace)}});
        return Status::Ok();
      case StoreOp::Kind::kSaveDocument:
        calls.push_back(Call{.name = "document", .values = {Utf8(op.doc_name), Utf8(op.doc_body)}});
        return Status::Ok();
      case StoreOp::Kind::kAddOutbox: {
        const OutboxEntry& e = op.outbox;
        calls.push_back(Call{.name = "outbox_add",
                             .values = {std::to_string(e.seq), Utf8(e.event_id),
                                        std::to_string(e.job_id), Utf8(e.url), Utf8(e.body),
                                        std::to_string(e.created)}});
        return Status::Ok();
      }
      case StoreOp::Kind::kDeleteOutbox:
        calls.push_back(
            Call{.name = "outbox_delete", .values = {std::to_string(op.outbox.seq)}});
        return Status::Ok();
      case StoreOp::Kind::kSaveNodeEvent: {
        const NodeEvent& e = op.node_event;
        calls.push_back(
            Call{.name = "node_event",
                 .values = {Utf8(e.node), std::to_string(e.start), std::to_string(e.end),
                            Utf8(e.state), Utf8(e.reason), std::to_string(e.cpus)}});
        return Status::Ok();
      }
      case StoreOp::Kind::kSaveNodeState: {
        const NodeAdminState& n = op.node_state;
        if (!n.drain && !n.down) {
          calls.push_back(Call{.name = "node_state_clear", .values = {Utf8(n.name)}});
        } else {
          calls.push_back(Call{
              .name = "node_state",
              .values = {Utf8(n.name), n.drain ? "t" : "f", n.down ? "t" : "f", Utf8(n.reason),
                         std::to_string(n.reason_time), std::to_string(n.cpus),
                         std::to_string(n.memory_mb), std::to_string(n.gpus), Utf8(n.gpu_type)}});
        }
        return Status::Ok();
      }
      case StoreOp::Kind::kInsertJob:
      case StoreOp::Kind::kUpdateJob: {
        const Job& j = op.job;
        calls.push_back(Call{
            .name = "job",
            .values = {std::to_string(j.id), std::to_string(j.array_job_id), Utf8(j.req.user),
                       Utf8(j.req.partition), JobStateName(j.state),
                       IsFinished(j.state) ? "t" : "f", std::to_string(j.submit_time),
                       std::to_string(j.start_time), std::to_string(j.end_time), JobDocument(j)}});
        return Status::Ok();
      }
    }
    return Internal("unknown store op");
  }

  // BEGIN, the calls, COMMIT, pipelined: at most kWindow statements are in flight, each window
  // answered before the next is sent, which bounds what either side buffers (a full socket both
  // ways would deadlock) at one round trip per window.
  Status RunTransaction(const std::vector<Call>& calls, bool sync) {
    static const Call kBegin{.sql = "BEGIN"};
    // Not synced: on the server's disk within moments (the WAL writer), not before the reply.
    static const Call kUnsynced{.sql = "SET LOCAL synchronous_commit TO off"};
    static const Call kCommit{.sql = "COMMIT"};
    constexpr size_t kWindow = 256;
    if (writer_->lost()) return Unavailable("connection to PostgreSQL lost");
    PGconn* conn = writer_->get();
    std::vector<const Call*> seq;
    seq.reserve(calls.size() + 3);
    seq.push_back(&kBegin);
    if (!sync) seq.push_back(&kUnsynced);
    if (fence_call_) seq.push_back(&*fence_call_);  // first: nothing is written unless it passes
    for (const Call& c : calls) seq.push_back(&c);
    seq.push_back(&kCommit);

    if (PQenterPipelineMode(conn) != 1)
      return Internal("pipeline: " + ServerMessage(nullptr, conn));
    Status error;
    size_t sent = 0, answered = 0;
    bool synced = false;
    while (!synced) {
      while (error.ok() && sent < seq.size() && sent - answered < kWindow) {
        const Call& c = *seq[sent];
        Params p(c);
        const int ok =
            c.name ? PQsendQueryPrepared(conn, c.name, p.size(), p.values.data(), p.lengths.data(),
                                         p.formats.data(), 0)
                   : PQsendQueryParams(conn, c.sql, 0, nullptr, nullptr, nullptr, nullptr, 0);
        if (ok != 1) {
          error = Unavailable("write: " + ServerMessage(nullptr, conn));
          break;
        }
        ++sent;
      }
      if (writer_->lost()) break;
      // The last window (or the first error, after which the server skips the rest) ends with
      // the sync; the others only ask the server to send what it has.
      if (sent == seq.size() || !error.ok()) {
        if (PQpipelineSync(conn) != 1) break;
        synced = true;
      } else if (PQsendFlushRequest(conn) != 1 || PQflush(conn) != 0) {
        break;
      }
      for (; answered < sent; ++answered) {
        PgResult r(PQgetResult(conn));
        if (!r) break;  // the connection went
        const ExecStatusType st = PQresultStatus(r.get());
        if (st == PGRES_FATAL_ERROR && error.ok()) {
          const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
          if (state != nullptr && std::string_view(state) == kFencedState) {
            fenced_ = true;
            const char* why = PQresultErrorField(r.get(), PG_DIAG_MESSAGE_PRIMARY);
            error = FailedPrecondition(std::string("write refused: ") + (why ? why : "fenced"));
          } else {
            error = Internal("write: " + ServerMessage(r.get(), conn));
          }
        }
        PgResult end(PQgetResult(conn));  // each statement's results end with a null
      }
      if (answered < sent) break;
    }
    if (synced && !writer_->lost()) {
      PgResult r(PQgetResult(conn));
      if (PQresultStatus(r.get()) != PGRES_PIPELINE_SYNC && error.ok()) {
        error = Internal("write: pipeline out of step: " + ServerMessage(r.get(), conn));
      }
    }
    if (writer_->lost()) {
      return Unavailable("write: connection to PostgreSQL lost: " +
                         TrimmedMessage(PQerrorMessage(conn)));
    }
    if (!synced || PQexitPipelineMode(conn) != 1) {
      // Out of step with the server: start over on a new connection rather than guess.
      (void)writer_->Connect();  // a failure shows again at the next batch
      return error.ok() ? Internal("write: pipeline out of step") : error;
    }
    // A failed statement leaves the transaction open and aborted.
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) Exec(conn, "ROLLBACK");
    return error;
  }

  std::unique_ptr<Connection> writer_;  // the writer thread's
  std::unique_ptr<Connection> reader_;  // under read_mu_
  const StoreFencing fencing_;
  std::optional<Call> fence_call_;  // set when fenced: the check each transaction starts with
  bool fenced_ = false;             // the writer thread's: a check failed
  std::mutex read_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

std::vector<std::pair<const char*, const char*>> Statements(
    const std::pair<const char*, const char*>* begin,
    const std::pair<const char*, const char*>* end) {
  return {begin, end};
}

class PostgresLease : public LeaderLease {
 public:
  PostgresLease(std::unique_ptr<Connection> conn, std::string holder, std::string api_address,
                std::string agent_address, int64_t ttl_ms)
      : conn_(std::move(conn)),
        holder_(Utf8(holder)),
        api_address_(Utf8(api_address)),
        agent_address_(Utf8(agent_address)),
        ttl_ms_(std::to_string(ttl_ms)) {}

  Result<std::optional<int64_t>> TryAcquire() override {
    auto r = conn_->Query(
        Call{.name = "acquire", .values = {holder_, api_address_, agent_address_, ttl_ms_}}, 0,
        "acquire the leader lease");
    if (!r.ok()) return r.status();
    if (PQntuples(r->get()) == 0) return std::optional<int64_t>();
    return std::optional<int64_t>(Int(r->get(), 0, 0));
  }

  Result<bool> Renew(int64_t epoch) override {
    auto r = conn_->Query(Call{.name = "renew", .values = {std::to_string(epoch), ttl_ms_}}, 0,
                          "renew the leader lease");
    if (!r.ok()) return r.status();
    return PQntuples(r->get()) == 1;
  }

  Status Release(int64_t epoch) override {
    auto r = conn_->Query(Call{.name = "release", .values = {std::to_string(epoch)}}, 0,
                          "release the leader lease");
    return r.status();
  }

  Result<LeaseState> Read() override {
    auto r = conn_->Query(Call{.name = "read"}, 0, "read the leader lease");
    if (!r.ok()) return r.status();
    if (PQntuples(r->get()) != 1) return Internal("the leader_lease row is missing");
    const PGresult* res = r->get();
    LeaseState state;
    state.epoch = Int(res, 0, 0);
    state.holder = PQgetvalue(res, 0, 1);
    state.api_address = PQgetvalue(res, 0, 2);
    state.agent_address = PQgetvalue(res, 0, 3);
    state.expired = PQgetvalue(res, 0, 4)[0] == 't';
    return state;
  }

 private:
  std::unique_ptr<Connection> conn_;
  const std::string holder_, api_address_, agent_address_, ttl_ms_;
};

}  // namespace

Result<std::unique_ptr<LeaderLease>> OpenLeaderLease(const std::string& conninfo,
                                                     const std::string& holder,
                                                     const std::string& api_address,
                                                     const std::string& agent_address,
                                                     int64_t ttl_ms) {
  Status valid = ValidatePostgresConninfo(conninfo);
  if (!valid.ok()) {
    return InvalidArgument("invalid PostgreSQL connection string: " + valid.message());
  }
  if (holder.empty() || ttl_ms <= 0) return InvalidArgument("a lease needs a holder and a length");
  const std::string where = "PostgreSQL database " + RedactConninfo(conninfo);
  // The lease's statements do not wait for the WAL's flush: a renewal must not stall behind a
  // busy disk (the leader gives up when renewals stall). Safe because fencing, not the lease's
  // timing, keeps a stale leader from writing: a write that is synced flushes every WAL record
  // before it, the acquisition that raised the epoch included.
  auto conn = std::make_unique<Connection>(
      conninfo, Statements(std::begin(kLeaseStatements), std::end(kLeaseStatements)),
      "-c synchronous_commit=off");
  {
    // The schema first: the lease's statements name its table.
    Connection admin(conninfo, {});
    Status s = admin.Connect();
    if (s.ok()) s = Migrate(admin.get(), where);
    if (!s.ok()) return s;
  }
  Status s = conn->Connect();
  if (!s.ok()) return s;
  return std::unique_ptr<LeaderLease>(
      new PostgresLease(std::move(conn), holder, api_address, agent_address, ttl_ms));
}

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo) {
  return OpenPostgresStore(conninfo, StoreFencing{});
}

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo,
                                                 StoreFencing fencing) {
  Status valid = ValidatePostgresConninfo(conninfo);
  if (!valid.ok()) {
    return InvalidArgument("invalid PostgreSQL connection string: " + valid.message());
  }
  const std::string where = "PostgreSQL database " + RedactConninfo(conninfo);
  {
    // The schema first, on a connection of its own: the statements below name its tables.
    Connection admin(conninfo, {});
    Status s = admin.Connect();
    if (s.ok()) s = Migrate(admin.get(), where);
    if (!s.ok()) return s;
  }
  auto writer = std::make_unique<Connection>(
      conninfo, Statements(std::begin(kWriterStatements), std::end(kWriterStatements)));
  auto reader = std::make_unique<Connection>(
      conninfo, Statements(std::begin(kReaderStatements), std::end(kReaderStatements)));
  Status s = writer->Connect();
  if (s.ok()) s = reader->Connect();
  if (!s.ok()) return s;
  return std::unique_ptr<Store>(
      new PostgresStore(std::move(writer), std::move(reader), std::move(fencing)));
}

}  // namespace shoal
