// The columnar job table (GET /api/v1/jobs?fields=...): DecodeJobTable answers any text with
// jobs or an InvalidArgument; decoded jobs written back as a table of every column decode to the
// same jobs, and their JobDocument matches JobToJson.
#include <string>
#include <vector>

#include "api/job_table.h"
#include "api/json_model.h"
#include "fuzz_check.h"

using namespace shoal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto jobs = DecodeJobTable(AsText(data, size));
  if (!jobs.ok()) {
    // Wrong fields are InvalidArgument; text that is no table at all is Internal (a bad answer).
    FUZZ_CHECK(jobs.status().code() == StatusCode::kInvalidArgument ||
                   jobs.status().code() == StatusCode::kInternal,
               "unexpected status code");
    return 0;
  }
  auto columns = ResolveJobColumns(AllJobColumns());
  FUZZ_CHECK(columns.ok(), "AllJobColumns do not resolve");
  JobTableWriter writer(*columns);
  for (const Job& job : *jobs) writer.Add(job);
  const std::string table = writer.Finish();
  auto back = DecodeJobTable(table);
  FUZZ_CHECK(back.ok(), "written table does not decode: " + back.status().message());
  FUZZ_CHECK(back->size() == jobs->size(), "row count changed");
  for (size_t i = 0; i < jobs->size(); ++i) {
    const Json want = JobToJson((*jobs)[i]);
    FUZZ_CHECK(JobToJson((*back)[i]) == want, "job changed in the table round trip: " + table);
    const Json doc = Json::parse(JobDocument((*jobs)[i]), nullptr, false);
    FUZZ_CHECK(doc == want, "JobDocument differs from JobToJson");
  }
  return 0;
}
