// JSON form of the model for the public HTTP API (/api/v1). Field names are the struct field
// names. Decoding checks types and ranges: a malformed document is an InvalidArgument naming
// the field, never a crash.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "core/model.h"

namespace shoal {

using Json = nlohmann::json;

// POST /api/v1/jobs body.
struct SubmitRequest {
  JobRequest req;
  std::string script;              // must start with "#!"
  std::vector<std::string> env;    // KEY=VALUE, the job's environment (from --export)
  std::vector<std::string> args;   // arguments after the script: $1, $2, ...
  bool hold = false;               // -H
};

Json JobToJson(const Job& job);
Result<Job> JobFromJson(const Json& j);
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

// {"error": {"code": "InvalidArgument", "message": "..."}}
Json ErrorToJson(const Status& s);
// Reads an error document back into a Status (kInternal when it is not one).
Status ErrorFromJson(const Json& j);

}  // namespace shoal
