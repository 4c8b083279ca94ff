// JobManager with real supervisors: launch, finish, acknowledge, restart and reattach.
#include "agent/job_manager.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "agent/agent_test_util.h"

namespace shoal::agent {
namespace {

using testing::FileExists;
using testing::ReadOr;

// Records the listener's events.
struct Events {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<RunningJobInfo> started;
  std::vector<JobResult> finished;

  JobManager::Listener Listener() {
    return {[this](const RunningJobInfo& i) {
              std::lock_guard<std::mutex> l(mu);
              started.push_back(i);
              cv.notify_all();
            },
            [this](const JobResult& r) {
              std::lock_guard<std::mutex> l(mu);
              finished.push_back(r);
              cv.notify_all();
            }};
  }
  bool WaitFinished(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, timeout, [&] { return finished.size() >= n; });
  }
};

class JobManagerTest : public ::testing::Test {
 protected:
  ~JobManagerTest() override {
    // Jobs outlive their JobManager by design: a failed test must not leave them running.
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(tmp_.path() + "/state/jobs", ec)) {
      Result<SupervisorState> st = StateFromJson(ReadOr(e.path().string() + "/" + kStateFile));
      if (st.ok() && !FileExists(e.path().string() + "/" + kResultFile)) {
        kill(-st->script_pid, SIGKILL);
        kill(st->supervisor_pid, SIGKILL);
      }
    }
  }
  std::unique_ptr<JobManager> Make() {
    JobManager::Options o;
    o.state_dir = tmp_.path() + "/state";
    o.supervisor_path = testing::SupervisorExe();
    o.node_name = "node1";
    auto jm = std::make_unique<JobManager>(o, events_.Listener());
    Status st = jm->Start();
    EXPECT_TRUE(st.ok()) << st.message();
    return jm;
  }
  JobSpec Spec(uint64_t id, uint64_t generation = 1) {
    JobSpec s;
    s.job_id = id;
    s.generation = generation;
    s.env = {"PATH=/usr/bin:/bin"};
    s.work_dir = tmp_.path();
    s.stdout_path = tmp_.path() + "/" + std::to_string(id) + ".out";
    s.uid = getuid();
    s.gid = getgid();
    s.kill_wait_s = 1;
    return s;
  }
  std::string JobDir(uint64_t id) { return tmp_.path() + "/state/jobs/" + std::to_string(id); }

  testing::TempDir tmp_;
  Events events_;
};

TEST_F(JobManagerTest, LaunchFinishAcknowledge) {
  auto jm = Make();
  JobSpec spec = Spec(3);
  spec.gpu_indices = {1, 3};
  ASSERT_TRUE(jm->Launch(spec,
                         "#!/bin/sh\necho \"$SLURMD_NODENAME $CUDA_VISIBLE_DEVICES\"\n"
                         "exit 3\n")
                  .ok());
  ASSERT_TRUE(events_.WaitFinished(1));
  ASSERT_EQ(events_.started.size(), 1u);
  EXPECT_EQ(events_.started[0].job_id, 3u);
  EXPECT_EQ(events_.finished[0].job_id, 3u);
  EXPECT_EQ(events_.finished[0].generation, 1u);
  EXPECT_EQ(events_.finished[0].exit_code, 3);
  EXPECT_EQ(ReadOr(spec.stdout_path), "node1 1,3\n");
  EXPECT_TRUE(jm->Running().empty());
  ASSERT_EQ(jm->Unacknowledged().size(), 1u);

  jm->Acknowledge(3, 2);  // wrong generation: ignored
  EXPECT_EQ(jm->Unacknowledged().size(), 1u);
  jm->Acknowledge(3, 1);
  EXPECT_TRUE(jm->Unacknowledged().empty());
  EXPECT_FALSE(FileExists(JobDir(3)));
}

TEST_F(JobManagerTest, LaunchFailureIsReportedAsFinished) {
  auto jm = Make();
  JobSpec spec = Spec(4);
  spec.stdout_path = "/nonexistent-dir/out";
  ASSERT_TRUE(jm->Launch(spec, "#!/bin/sh\n").ok());
  ASSERT_TRUE(events_.WaitFinished(1));
  EXPECT_TRUE(events_.finished[0].launch_failed);
  EXPECT_NE(events_.finished[0].message.find("could not open output file"), std::string::npos);
}

TEST_F(JobManagerTest, JobsSurviveARestartAndAreReattached) {
  auto jm = Make();
  JobSpec seven = Spec(7, 4);
  seven.gpu_indices = {2};
  ASSERT_TRUE(jm->Launch(seven, "#!/bin/sh\nsleep 100\n").ok());
  ASSERT_EQ(jm->Running().size(), 1u);
  EXPECT_EQ(jm->Running()[0].gpu_indices, std::vector<uint32_t>{2});  // emulated GPUs follow
  ASSERT_TRUE(jm->Launch(Spec(8), "#!/bin/sh\nexit 0\n").ok());
  ASSERT_TRUE(events_.WaitFinished(1));
  ASSERT_TRUE(testing::WaitFor([&] { return FileExists(JobDir(7) + "/" + kStateFile); }));
  jm.reset();  // the agent goes away; its jobs do not

  events_.finished.clear();
  jm = Make();
  std::vector<RunningJobInfo> running = jm->Running();
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(running[0].job_id, 7u);
  EXPECT_EQ(running[0].generation, 4u);
  EXPECT_GT(running[0].start_time, 0);
  EXPECT_EQ(running[0].gpu_indices, std::vector<uint32_t>{2});  // from its spec
  // Job 8 finished and was never acknowledged: still to report.
  std::vector<JobResult> unacked = jm->Unacknowledged();
  ASSERT_EQ(unacked.size(), 1u);
  EXPECT_EQ(unacked[0].job_id, 8u);

  ASSERT_TRUE(jm->Terminate(7, 5).ok());
  ASSERT_TRUE(events_.WaitFinished(1));
  EXPECT_EQ(events_.finished[0].job_id, 7u);
  EXPECT_EQ(events_.finished[0].signal, SIGTERM);
}

TEST_F(JobManagerTest, VanishedSupervisorIsReportedLost) {
  auto jm = Make();
  ASSERT_TRUE(jm->Launch(Spec(9), "#!/bin/sh\nsleep 100\n").ok());
  ASSERT_TRUE(testing::WaitFor([&] { return FileExists(JobDir(9) + "/" + kStateFile); }));
  Result<SupervisorState> state = StateFromJson(ReadOr(JobDir(9) + "/" + kStateFile));
  ASSERT_TRUE(state.ok());
  kill(state->supervisor_pid, SIGKILL);
  ASSERT_TRUE(events_.WaitFinished(1));
  kill(-state->script_pid, SIGKILL);  // the orphaned job, now that nobody supervises it
  EXPECT_EQ(events_.finished[0].signal, SIGKILL);
  EXPECT_EQ(events_.finished[0].message, "supervisor lost");
  EXPECT_FALSE(events_.finished[0].launch_failed);
  // Persisted, so a restart reports the same.
  EXPECT_TRUE(FileExists(JobDir(9) + "/" + kResultFile));
}

TEST_F(JobManagerTest, NewGenerationReplacesAStaleOne) {
  auto jm = Make();
  ASSERT_TRUE(jm->Launch(Spec(5, 1), "#!/bin/sh\nsleep 100\n").ok());
  ASSERT_TRUE(jm->Launch(Spec(5, 2), "#!/bin/sh\nexit 0\n").ok());
  ASSERT_TRUE(events_.WaitFinished(1));
  EXPECT_EQ(events_.finished[0].generation, 2u);
  EXPECT_FALSE(events_.WaitFinished(2, std::chrono::milliseconds(300)));  // none for gen 1
}

TEST_F(JobManagerTest, DuplicateLaunchReEmitsInsteadOfRelaunching) {
  auto jm = Make();
  ASSERT_TRUE(jm->Launch(Spec(6), "#!/bin/sh\nsleep 100\n").ok());
  ASSERT_TRUE(jm->Launch(Spec(6), "#!/bin/sh\nsleep 100\n").ok());
  EXPECT_EQ(events_.started.size(), 2u);
  EXPECT_EQ(jm->Running().size(), 1u);
  ASSERT_TRUE(jm->Signal(6, SIGKILL, true).ok());
  ASSERT_TRUE(events_.WaitFinished(1));
  EXPECT_EQ(events_.finished[0].signal, SIGKILL);
}

TEST_F(JobManagerTest, FencedJobIsKilledAndForgottenSilently) {
  auto jm = Make();
  ASSERT_TRUE(jm->Launch(Spec(11), "#!/bin/sh\nsleep 100\n").ok());
  jm->Fence(11);
  EXPECT_TRUE(jm->Running().empty());
  EXPECT_TRUE(testing::WaitFor([&] { return !FileExists(JobDir(11)); }));
  EXPECT_FALSE(events_.WaitFinished(1, std::chrono::milliseconds(100)));
  EXPECT_TRUE(jm->Unacknowledged().empty());
}

TEST_F(JobManagerTest, RequestsForUnknownJobsAreNotFound) {
  auto jm = Make();
  EXPECT_EQ(jm->Signal(99, SIGTERM, true).code(), StatusCode::kNotFound);
  EXPECT_EQ(jm->Terminate(99, 1).code(), StatusCode::kNotFound);
  EXPECT_EQ(jm->UpdateTimeLimit(99, 10).code(), StatusCode::kNotFound);
}

TEST_F(JobManagerTest, AcknowledgedDirectoriesAreRecycledForTheNextJobs) {
  auto jm = Make();
  auto count_spares = [&] {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(tmp_.path() + "/state/jobs")) {
      n += e.path().filename().string().rfind(".spare-", 0) == 0;
    }
    return n;
  };
  ASSERT_TRUE(jm->Launch(Spec(3), "#!/bin/sh\necho first\n").ok());
  ASSERT_TRUE(events_.WaitFinished(1));
  jm->Acknowledge(3, 1);
  EXPECT_FALSE(FileExists(JobDir(3)));
  EXPECT_EQ(count_spares(), 1u);

  ASSERT_TRUE(jm->Launch(Spec(4), "#!/bin/sh\necho second; exit 4\n").ok());
  EXPECT_EQ(count_spares(), 0u);
  ASSERT_TRUE(events_.WaitFinished(2));
  EXPECT_EQ(events_.finished[1].job_id, 4u);
  EXPECT_EQ(events_.finished[1].exit_code, 4);
  EXPECT_EQ(ReadOr(tmp_.path() + "/4.out"), "second\n");
  Result<JobResult> result = ResultFromJson(ReadOr(JobDir(4) + "/" + kResultFile));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->job_id, 4u);
  // The log goes on from the earlier job's lines; each names its job.
  std::string log = ReadOr(JobDir(4) + "/" + kSupervisorLogFile);
  EXPECT_NE(log.find("job 3:"), std::string::npos) << log;
  EXPECT_NE(log.find("job 4:"), std::string::npos) << log;

  // A restarted agent starts without spares: one could hold a result under its own name.
  jm->Acknowledge(4, 1);
  EXPECT_EQ(count_spares(), 1u);
  jm.reset();
  jm = Make();
  EXPECT_EQ(count_spares(), 0u);
  EXPECT_TRUE(jm->Unacknowledged().empty());
}

TEST_F(JobManagerTest, GarbageDirectoriesAreRemovedAtStart) {
  ASSERT_TRUE(std::filesystem::create_directories(JobDir(12)));
  auto jm = Make();
  EXPECT_FALSE(FileExists(JobDir(12)));
  EXPECT_TRUE(jm->Unacknowledged().empty());
}

}  // namespace
}  // namespace shoal::agent
