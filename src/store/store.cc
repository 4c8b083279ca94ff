#include "store/store.h"

#include <algorithm>

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

OutageSeconds OutageCpuSeconds(const std::vector<NodeEvent>& events, int64_t start, int64_t end,
                               int64_t now) {
  OutageSeconds out;
  for (const NodeEvent& e : events) {
    const int64_t from = std::max(start, e.start);
    const int64_t to = std::min(end, e.end == 0 ? now : e.end);
    if (to <= from) continue;
    const double cpu_seconds = static_cast<double>(to - from) * e.cpus;
    (e.state == "POWERED_DOWN" ? out.planned_down : out.down) += cpu_seconds;
  }
  return out;
}

}  // namespace shoal
