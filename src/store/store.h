// Durable state of the controller. Two implementations share this contract: SQLite (the
// embedded default) and PostgreSQL (postgres_store.h). Writes are grouped: every op submitted
// while a transaction commits goes into the next one, so many submitters share one fsync.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "core/model.h"
#include "core/priority.h"

namespace shoal {

// The large, write-once part of a job: kept on disk, read back only to launch it. Array tasks
// share their array's payload (keyed by the array job id).
struct JobPayload {
  std::string script;
  std::vector<std::string> env;
  std::vector<std::string> args;  // the script's arguments
};

// What an administrator set on a node (scontrol update NodeName=.. State=DRAIN|DOWN), kept
// across controller restarts. A node with neither flag has no record. The node's size when it
// was set lets a restarted controller list the node (not responding, with its drain) before
// its agent comes back; 0 CPUs: a record from before sizes were kept.
struct NodeAdminState {
  std::string name;
  bool drain = false;
  bool down = false;
  std::string reason;
  int64_t reason_time = 0;
  uint32_t cpus = 0;
  uint64_t memory_mb = 0;
  uint32_t gpus = 0;
  std::string gpu_type;
};

// One interval a node spent out of service, for sreport's Down and PLND Down and sacctmgr show
// event: DOWN or DRAIN (with the reason), or POWERED_DOWN (power saving: planned down time).
// Keyed by (node, start); end 0 while it lasts.
struct NodeEvent {
  std::string node;
  std::string state;  // "DOWN", "DRAIN" or "POWERED_DOWN"
  std::string reason;
  uint32_t cpus = 0;  // the node's CPUs, so the history does not depend on today's nodes
  int64_t start = 0;
  int64_t end = 0;
};

// CPU-seconds that node events take out of [start, end) (open events last until `now`): DOWN
// and DRAIN count as down, POWERED_DOWN as planned down (sreport's Down and PLND Down).
struct OutageSeconds {
  double down = 0;
  double planned_down = 0;
};
OutageSeconds OutageCpuSeconds(const std::vector<NodeEvent>& events, int64_t start, int64_t end,
                               int64_t now);

// One webhook delivery waiting in the durable outbox: an event for one receiver. Written in the
// same transaction as the job change it reports and removed once delivered (or given up on), so
// a change that is acknowledged never loses its event.
struct OutboxEntry {
  int64_t seq = 0;        // the row's key; creation order (delivery follows it per job and URL)
  std::string event_id;   // the Idempotency-Key: the same for every receiver, retry and restart
  JobId job_id = 0;
  std::string url;
  std::string body;       // the JSON document sent (and signed)
  int64_t created = 0;    // Unix seconds; the entry is given up on after the configured age
};

struct StoreOp {
  // kSync writes nothing of its own: it makes every write queued before it durable (a batch
  // that holds it is synced), so records written unsynced can be acknowledged afterwards.
  // kSaveUsage writes fair-share usage: each row of `usage` (an association's decayed
  // CPU-seconds) is stored as given; with usage_replace_all the table holds exactly those rows
  // afterwards. usage_as_of / usage_last_reset are recorded when not negative.
  // kUpsertStep writes one job step's record (inserted or replaced). kSaveNodeState records
  // node_state (removing the node's record when it has neither flag). kSaveDocument replaces the
  // named document (a small whole-state record such as the accounting database) with doc_body.
  // kAddOutbox stores `outbox` (a webhook delivery); kDeleteOutbox removes the entry whose seq
  // is outbox.seq (nothing when there is none). kSaveNodeEvent inserts or replaces node_event
  // (by node and start).
  enum class Kind {
    kInsertJob,
    kUpdateJob,
    kInsertPayload,
    kSync,
    kSaveUsage,
    kUpsertStep,
    kSaveNodeState,
    kSaveDocument,
    kAddOutbox,
    kDeleteOutbox,
    kSaveNodeEvent
  };
  Kind kind = Kind::kUpdateJob;
  Job job;              // kInsertJob, kUpdateJob
  Step step;            // kUpsertStep
  NodeAdminState node_state;  // kSaveNodeState
  std::string doc_name;       // kSaveDocument
  std::string doc_body;
  OutboxEntry outbox;         // kAddOutbox, kDeleteOutbox (seq only)
  NodeEvent node_event;       // kSaveNodeEvent
  JobId payload_id = 0; // kInsertPayload
  JobPayload payload;   // kInsertPayload
  std::vector<std::pair<UsageKey, double>> usage;  // kSaveUsage
  bool usage_replace_all = false;
  int64_t usage_as_of = -1;
  int64_t usage_last_reset = -1;
  // true: on disk (fsync) before the commit resolves, as anything acknowledged to someone
  // outside must be. false: survives a crash of the process (the WAL is written) but maybe
  // not of the OS; enough for records nobody outside has been told about yet (a job start, which
  // fencing settles after a power loss). A batch holding any true op is fully synced.
  bool must_sync = true;
};

// Filters for accounting queries; empty lists match everything. Times are epoch seconds; a
// job matches [start, end] when it was eligible or running in that window (sacct -S/-E).
struct JobQuery {
  std::vector<JobId> ids;          // job ids or array job ids
  std::vector<std::string> users;
  std::vector<std::string> states; // JobStateName values
  std::vector<std::string> partitions;
  int64_t start = 0;
  int64_t end = 0;                 // 0: no upper bound
  size_t limit = 0;                // 0: no limit
};

// A job's stored record.
struct JobRecord {
  JobId id = 0;
  std::string doc;  // JSON, JobToJson's members
};

class Store {
 public:
  virtual ~Store() = default;

  // Queues ops for the next group commit; the future holds the commit's outcome. All ops of
  // one call land in the same transaction.
  virtual std::future<Status> Submit(std::vector<StoreOp> ops) = 0;
  // Submit and wait until durable. (An implementation may commit in the caller's thread.)
  virtual Status Write(std::vector<StoreOp> ops) { return Submit(std::move(ops)).get(); }

  // Jobs that are not finished, plus finished ones that ended at or after `finished_since`.
  virtual Result<std::vector<Job>> LoadLiveJobs(int64_t finished_since) = 0;
  // The highest job id ever stored (0 when none).
  virtual Result<JobId> MaxJobId() = 0;
  virtual Result<JobPayload> LoadPayload(JobId payload_id) = 0;
  // Matching jobs' records as stored, by id: each document is JobToJson's encoding (as
  // JobDocument writes it), so an answer can pass it on without decoding it.
  virtual Result<std::vector<JobRecord>> QueryJobRecords(const JobQuery& query) = 0;
  // QueryJobRecords, decoded.
  Result<std::vector<Job>> QueryJobs(const JobQuery& query);
  // The fair-share usage as last saved (empty, as_of 0, when never saved).
  virtual Result<UsageState> LoadUsage() = 0;
  // The steps of the given jobs (every step when `job_ids` is empty), by job and step id.
  virtual Result<std::vector<Step>> QuerySteps(const std::vector<JobId>& job_ids) = 0;
  // Every node's administrative state as last saved, by name.
  virtual Result<std::vector<NodeAdminState>> LoadNodeStates() = 0;
  // The named document as last saved; nullopt when never saved.
  virtual Result<std::optional<std::string>> LoadDocument(const std::string& name) = 0;
  // The webhook outbox: every entry not yet removed, by seq.
  virtual Result<std::vector<OutboxEntry>> LoadOutbox() = 0;
  // Node events that overlap [start, end) (open ones count as lasting), by start then node.
  virtual Result<std::vector<NodeEvent>> LoadNodeEvents(int64_t start, int64_t end) = 0;

  // Called after every commit (a whole group) with its duration in seconds, in the committing
  // thread. Set it before the first Submit; it must be quick and must not call the store.
  void SetCommitObserver(std::function<void(double)> observer) {
    commit_observer_ = std::move(observer);
  }

 protected:
  std::function<void(double)> commit_observer_;
};

// Opens (creating if needed) the SQLite database at `path` in WAL mode and migrates its schema.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

}  // namespace shoal
