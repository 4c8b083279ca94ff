// The columnar job table (GET /api/v1/jobs?fields=...): DecodeJobTable answers any text with
// jobs or an InvalidArgument; ReadJobTable (one reused job, as squeue reads) agrees with it row
// by row; decoded jobs written back as a table of every column decode to the same jobs, and
// their JobDocument matches JobToJson.
#include <string>
#include <vector>

#include "api/job_table.h"
#include "api/json_model.h"
#include "fuzz_check.h"

using namespace shoal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto jobs = DecodeJobTable(AsText(data, size));
  std::vector<Json> read;
  auto rows = ReadJobTable(AsText(data, size), [&](const Job& j) { read.push_back(JobToJson(j)); });
  FUZZ_CHECK(rows.ok() == jobs.ok(), "ReadJobTable and DecodeJobTable disagree on the text");
  if (jobs.ok()) {
    FUZZ_CHECK(*rows == jobs->size() && read.size() == jobs->size(), "row counts differ");
    for (size_t i = 0; i < read.size(); ++i) {
      FUZZ_CHECK(read[i] == JobToJson((*jobs)[i]), "a row read into the reused job differs");
    }
  }
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
