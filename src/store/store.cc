#include "store/store.h"

#include "api/json_model.h"

namespace shoal {

Result<std::vector<Job>> Store::QueryJobs(const JobQuery& query) {
  auto records = QueryJobRecords(query);
  if (!records.ok()) return records.status();
  std::vector<Job> jobs;
  jobs.reserve(records->size());
  for (const JobRecord& r : *records) {
    auto job = JobFromJson(Json::parse(r.doc, nullptr, false));
    if (!job.ok()) return Internal("corrupt job record: " + job.status().message());
    jobs.push_back(std::move(job).value());
  }
  return jobs;
}

}  // namespace shoal
