// The API's JSON decoding: any document decodes to a value or an InvalidArgument naming the
// field, never a crash or an exception; a decoded job written by JobDocument (the store's
// record) or JobToJson decodes to the same job, and a submit request survives its round trip.
#include <string>

#include "api/job_table.h"
#include "api/json_model.h"
#include "fuzz_check.h"

using namespace shoal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Json j = Json::parse(AsText(data, size), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;

  if (auto job = JobFromJson(j); job.ok()) {
    const Json want = JobToJson(*job);
    const std::string doc = JobDocument(*job);
    const Json parsed = Json::parse(doc, nullptr, false);
    FUZZ_CHECK(!parsed.is_discarded(), "JobDocument wrote malformed JSON: " + doc);
    FUZZ_CHECK(parsed == want, "JobDocument differs from JobToJson: " + doc);
    auto back = JobFromJson(parsed);
    FUZZ_CHECK(back.ok(), "JobDocument does not decode: " + back.status().message());
    FUZZ_CHECK(JobToJson(*back) == want, "job changed in the round trip: " + doc);
  } else {
    FUZZ_CHECK(job.status().code() == StatusCode::kInvalidArgument, "not InvalidArgument");
  }

  if (auto submit = SubmitRequestFromJson(j); submit.ok()) {
    const Json encoded = SubmitRequestToJson(*submit);
    auto back = SubmitRequestFromJson(Json::parse(encoded.dump()));
    FUZZ_CHECK(back.ok(), "encoded submit request does not decode");
    FUZZ_CHECK(SubmitRequestToJson(*back) == encoded, "submit request changed in the round trip");
  }

  if (auto node = NodeFromJson(j); node.ok()) NodeToJson(*node).dump();
  if (auto part = PartitionFromJson(j); part.ok()) PartitionToJson(*part).dump();
  ErrorFromJson(j);
  return 0;
}
