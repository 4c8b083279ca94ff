// JSON form of the model for the public HTTP API (/api/v1). Field names are the struct field
// names. Decoding checks types and ranges: a malformed document is an InvalidArgument naming
// the field, never a crash.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "core/accounting.h"
#include "core/model.h"
#include "core/reservation.h"

namespace shoal {

using Json = nlohmann::json;

// POST /api/v1/jobs body.
struct SubmitRequest {
  JobRequest req;
  std::string script;              // must start with "#!"
  std::vector<std::string> env;    // KEY=VALUE, the job's environment (from --export)
  std::vector<std::string> args;   // arguments after the script: $1, $2, ...
  bool hold = false;               // -H
  // Neither --requeue nor --no-requeue: the cluster's JobRequeue decides at submit (in JSON, a
  // job without "requeue"); otherwise req.requeue stands.
  bool requeue_unset = false;
};

// POST /api/v1/jobs/{id}/steps body: a step of a running allocation (srun). Counts left 0 take
// the allocation's defaults (steps.h: PlanStep).
struct StepRequest {
  std::string name;
  uint32_t nodes = 0;            // -N; 0: as many of the allocation's nodes as the tasks need
  uint32_t ntasks = 0;           // -n; 0: the allocation's
  uint32_t ntasks_per_node = 0;  // 0: not given
  uint32_t cpus_per_task = 1;
  std::vector<std::string> nodelist;  // -w, expanded
  bool exclusive = false;             // --exclusive: implies exact
  bool exact = false;                 // --exact (or -c): only the CPUs asked for, not all free ones
  bool overlap = false;               // --overlap: shares every resource with the other steps
  uint64_t mem_per_node_mb = 0;       // --mem; 0: held by no step in particular
  bool kill_on_bad_exit = false; // -K: a task exiting non-zero ends the step
  uint32_t gpus = 0;             // --gpus: total over the step's nodes; 0: see gpus_per_node
  uint32_t gpus_per_node = 0;    // --gres=gpu:N; 0 with gpus 0: every GPU the job holds there
  int64_t time_limit_s = 0;      // 0: the job's remaining time
  std::vector<std::string> argv; // the program and its arguments
  std::vector<std::string> env;  // srun's environment, KEY=VALUE
  std::string work_dir;
  // Where the tasks' output goes: srun listens there and checks io_key on each connection.
  std::string io_host;
  uint32_t io_port = 0;
  std::string io_key;
  // --input: "all" (srun's stdin to every task), "none" (tasks read /dev/null), or a task's
  // number (that task only).
  std::string input = "all";
  // --pty: task 0's stdin, stdout and stderr are a pseudo-terminal, sized rows x cols (0: left
  // as the node makes it), relayed to srun on a connection of stream kind 5; window size changes
  // follow on one of kind 6. The other tasks read and write /dev/null.
  bool pty = false;
  uint32_t pty_rows = 0;
  uint32_t pty_cols = 0;
  ContainerSpec container;  // srun --container-image ...: the tasks run in it
};

Json StepToJson(const Step& step);
// sstat's live usage (GET /api/v1/jobs/{id}/usage).
Json StepUsageToJson(const StepUsage& step);
Result<StepUsage> StepUsageFromJson(const Json& j);
Result<Step> StepFromJson(const Json& j);
Json StepRequestToJson(const StepRequest& r);
Result<StepRequest> StepRequestFromJson(const Json& j);

Json JobToJson(const Job& job);
Result<Job> JobFromJson(const Json& j);
// The "container" object of a job or step request; absent or {} when no container.
Json ContainerSpecToJson(const ContainerSpec& c);
Status ContainerSpecFromJson(const Json& j, ContainerSpec& out);
Json JobRequestToJson(const JobRequest& r);
Result<JobRequest> JobRequestFromJson(const Json& j);
Json SubmitRequestToJson(const SubmitRequest& s);
Result<SubmitRequest> SubmitRequestFromJson(const Json& j);
Json DependencyToJson(const DependencySpec& d);
// Fills `out` (expected empty) from a DependencyToJson document.
Status DependencyFromJson(const Json& j, DependencySpec& out);
Json NodeToJson(const Node& n);
Result<Node> NodeFromJson(const Json& j);
Json PartitionToJson(const Partition& p);
Result<Partition> PartitionFromJson(const Json& j);

// An advance reservation (GET /api/v1/reservations, the store's "reservations" document); flags
// in scontrol's words ("MAINT,SPEC_NODES").
Json ReservationToJson(const Reservation& r);
Result<Reservation> ReservationFromJson(const Json& j);

// {"error": {"code": "InvalidArgument", "message": "..."}}
Json ErrorToJson(const Status& s);
// Reads an error document back into a Status (kInternal when it is not one).
Status ErrorFromJson(const Json& j);

// The accounting database (GET /api/v1/accounting, and the store's "accounting" document).
// TRES limits travel in sacctmgr's words ("cpu=8,mem=10G"), other limits as numbers (-1: none).
Json AccountingDbToJson(const AccountingDb& db);
Result<AccountingDb> AccountingDbFromJson(const Json& j);

// POST /api/v1/accounting/changes body: {"verb": "add", "entity": "user", "names": [...],
// "conditions": [["Account", "physics"]], "settings": [["MaxJobs", "4"]], "dry_run": false}.
Json AccountingChangeToJson(const AccountingChange& c, bool dry_run);
Result<AccountingChange> AccountingChangeFromJson(const Json& j, bool* dry_run);

}  // namespace shoal
