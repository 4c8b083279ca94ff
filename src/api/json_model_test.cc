#include "api/json_model.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

SubmitRequest SampleSubmit() {
  SubmitRequest s;
  s.req.name = "train";
  s.req.user = "alice";
  s.req.uid = 1000;
  s.req.partition = "gpu";
  s.req.work_dir = "/home/alice";
  s.req.min_nodes = 2;
  s.req.ntasks = 8;
  s.req.gpus_per_node = 4;
  s.req.time_limit_s = 3600;
  s.req.required_nodes = {"n1", "n2"};
  s.req.dependency.clauses.push_back({Dependency::Kind::kAfterOk, 12, 3});
  s.req.dependency.text = "afterok:12_3";
  s.req.array_spec = "0-9%2";
  s.script = "#!/bin/bash\necho hi\n";
  s.env = {"PATH=/usr/bin", "HOME=/home/alice"};
  s.hold = true;
  return s;
}

TEST(JsonModelTest, SubmitRequestRoundTrips) {
  SubmitRequest in = SampleSubmit();
  auto out = SubmitRequestFromJson(SubmitRequestToJson(in));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->script, in.script);
  EXPECT_EQ(out->env, in.env);
  EXPECT_TRUE(out->hold);
  EXPECT_EQ(out->req.name, "train");
  EXPECT_EQ(out->req.uid, 1000u);
  EXPECT_EQ(out->req.min_nodes, 2u);
  EXPECT_EQ(out->req.gpus_per_node, 4u);
  EXPECT_EQ(out->req.time_limit_s, 3600);
  EXPECT_EQ(out->req.required_nodes, in.req.required_nodes);
  ASSERT_EQ(out->req.dependency.clauses.size(), 1u);
  EXPECT_EQ(out->req.dependency.clauses[0].kind, Dependency::Kind::kAfterOk);
  EXPECT_EQ(out->req.dependency.clauses[0].job_id, 12u);
  EXPECT_EQ(out->req.dependency.clauses[0].array_task, 3);
  EXPECT_EQ(out->req.array_spec, "0-9%2");
}

TEST(JsonModelTest, JobRoundTrips) {
  Job job;
  job.id = 42;
  job.req = SampleSubmit().req;
  job.state = JobState::kTimeout;
  job.reason = "TimeLimit";
  job.nodes = {"n1", "n2"};
  job.gpu_indices = {{0, 1}, {2, 3}};
  job.exit_code = 0;
  job.exit_signal = 15;
  job.array_job_id = 40;
  job.array_task_id = 2;
  job.generation = 7;
  job.preempted_by = 9;
  job.req.qos = "high";
  auto out = JobFromJson(JobToJson(job));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->id, 42u);
  EXPECT_EQ(out->state, JobState::kTimeout);
  EXPECT_EQ(out->nodes, job.nodes);
  EXPECT_EQ(out->gpu_indices, job.gpu_indices);
  EXPECT_EQ(out->exit_signal, 15);
  EXPECT_EQ(out->DisplayId(), "40_2");
  EXPECT_EQ(out->generation, 7u);
  EXPECT_EQ(out->req.partition, "gpu");
  EXPECT_EQ(out->preempted_by, 9u);
  EXPECT_EQ(out->req.qos, "high");
}

TEST(JsonModelTest, RejectsWrongTypesNamingTheField) {
  Json j = SubmitRequestToJson(SampleSubmit());
  j["job"]["ntasks"] = "eight";
  auto r = SubmitRequestFromJson(j);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("ntasks"), std::string::npos);

  j = SubmitRequestToJson(SampleSubmit());
  j["job"]["uid"] = -1;
  EXPECT_FALSE(SubmitRequestFromJson(j).ok());
  j = SubmitRequestToJson(SampleSubmit());
  j["job"]["cpus_per_task"] = 1LL << 40;
  EXPECT_FALSE(SubmitRequestFromJson(j).ok()) << "values beyond the field's range are refused";
  j = SubmitRequestToJson(SampleSubmit());
  j["env"] = {1, 2};
  EXPECT_FALSE(SubmitRequestFromJson(j).ok());
  EXPECT_FALSE(SubmitRequestFromJson(Json::array()).ok());
  EXPECT_FALSE(SubmitRequestFromJson(Json{{"script", "#!/bin/sh"}}).ok()) << "job is required";
  Json job = JobToJson(Job{});
  job["state"] = "SLEEPING";
  EXPECT_FALSE(JobFromJson(job).ok());
}

TEST(JsonModelTest, ErrorsRoundTripWithTheirCode) {
  Status s = ErrorFromJson(ErrorToJson(NotFound("Invalid job id specified")));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "Invalid job id specified");
  EXPECT_EQ(ErrorFromJson(Json{{"x", 1}}).code(), StatusCode::kInternal);
}

TEST(JsonModelTest, StepRequestCarriesThePty) {
  StepRequest r;
  r.argv = {"bash", "-i"};
  r.pty = true;
  r.pty_rows = 40;
  r.pty_cols = 132;
  Result<StepRequest> back = StepRequestFromJson(StepRequestToJson(r));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(back->pty);
  EXPECT_EQ(back->pty_rows, 40u);
  EXPECT_EQ(back->pty_cols, 132u);
  Json j = StepRequestToJson(r);
  j["pty_cols"] = 70000;
  EXPECT_FALSE(StepRequestFromJson(j).ok());
  j["pty_cols"] = "wide";
  EXPECT_FALSE(StepRequestFromJson(j).ok());
  j.erase("pty");
  j.erase("pty_rows");
  j.erase("pty_cols");
  back = StepRequestFromJson(j);
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->pty);
}

TEST(JsonModelTest, AssociationPartitionIsOptional) {
  AccountingDb db = AccountingDb::Initial();
  Association a;
  a.account = "root";
  a.user = "bob";
  a.partition = "gpu";
  db.assocs.push_back(a);
  Json j = AccountingDbToJson(db);
  // Partition-less associations are written as before (no key), so older readers agree.
  EXPECT_FALSE(j["associations"][0].contains("partition"));
  auto back = AccountingDbFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->assocs.size(), db.assocs.size());
  EXPECT_EQ(back->assocs.back().partition, "gpu");
  EXPECT_EQ(back->assocs.front().partition, "");
}

}  // namespace
}  // namespace shoal
