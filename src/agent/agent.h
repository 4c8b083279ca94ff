// The node agent: one gRPC stream to the controller (AgentService.Connect, rpc/agent.proto),
// a JobManager for the node's jobs.
//
// Session: Register (listing every job held here: running ones, and finished ones whose
// JobFinished the controller has not acknowledged), RegisterReply (refused: Run() returns 1;
// kill_job_ids are fenced at once), then every JobFinished the controller has not acknowledged,
// then a Heartbeat every heartbeat_interval_ms while controller requests are served. When the
// stream breaks, jobs keep running and the agent reconnects with exponential backoff plus jitter
// (100 ms doubling to 2 s) and registers again.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "agent/agent_options.h"
#include "agent/gpu_monitor.h"
#include "agent/job_cgroup.h"
#include "agent/job_manager.h"
#include "common/status.h"
#include "rpc/agent.grpc.pb.h"

namespace grpc {
class ClientContext;
}

namespace shoal::agent {

class Agent {
 public:
  // `options.state_dir` must be absolute. `supervisor_path` is the shoal-supervisor executable.
  Agent(AgentOptions options, std::string supervisor_path);
  ~Agent();

  // Runs until Shutdown(). Returns the process exit code: 0 after Shutdown(), 1 when the
  // controller refused the registration or the state directory is unusable.
  int Run();

  // Ends Run() soon, from any thread; jobs keep running.
  void Shutdown();

  // The jobs running here now (for the metrics endpoint); thread-safe.
  std::vector<RunningJobInfo> RunningJobs() const { return jobs_->Running(); }

  // Where heartbeats get the GPUs' readings they carry to the controller (its /metrics, API
  // and dashboard); none set: heartbeats carry none. Call before Run().
  void SetGpuReader(std::function<std::vector<GpuSample>()> read) { gpu_reader_ = std::move(read); }

 private:
  // One connection. Returns FailedPrecondition when the controller refused us; sets *registered
  // once a RegisterReply accepted us.
  Status Session(bool* registered);
  void WriterLoop(grpc::ClientReaderWriter<rpc::AgentMessage, rpc::ControllerMessage>* stream,
                  grpc::ClientContext* ctx);
  void Dispatch(const rpc::ControllerMessage& msg);
  // sstat: what the job's batch script and steps use here now, read from /proc.
  rpc::AgentMessage UsageReportMessage(const rpc::UsageRequest& req) const;
  void Enqueue(rpc::AgentMessage msg);  // dropped while not registered (resent later)
  rpc::AgentMessage MakeRegister();
  void NewChannel(int connect_timeout_ms);
  // Runs the HealthCheckProgram every interval, as the last RegisterReply set them.
  void HealthLoop();
  void ConfigureHealthCheck(const std::string& program, uint32_t interval_s);
  // TaskPlugin=task/cgroup, as the last RegisterReply said: prepares the cgroup layout once.
  void ConfigureCgroups(bool wanted);
  // Gives a launch its cgroup directories, leaf and memory limit when jobs run in cgroups.
  void AddCgroup(JobSpec& spec, uint64_t job_id, bool batch, uint32_t step_id,
                 uint64_t memory_limit_mb) const;
  // --container-name: a job's named containers live in NamedContainersDir(job) until the job
  // ends here (its batch script ended, or the controller terminated it), then go once none of
  // its units runs any more (checked with each heartbeat).
  std::string NamedContainersDir(uint64_t job_id) const;
  void JobEnded(uint64_t job_id);
  void SweepNamedContainers();

  const AgentOptions options_;
  // The controllers' addresses (options_.controllers, else options_.controller) and the one
  // the next session dials: after a session ends the agent moves on to the next at once.
  std::vector<std::string> controllers_;
  size_t current_ = 0;
  const std::string supervisor_path_;
  std::unique_ptr<JobManager> jobs_;
  // Steps' tasks, one supervised unit per step and node, under <state-dir>/steps and keyed by
  // StepUnitKey (agent.cc), so a restarted agent reattaches to them as to batch jobs.
  std::unique_ptr<JobManager> steps_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<rpc::AgentService::Stub> stub_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool shutdown_ = false;
  grpc::ClientContext* ctx_ = nullptr;  // the live session's, for Shutdown()
  bool registered_ = false;             // the live session got an accepting RegisterReply
  bool session_over_ = false;           // tells the writer to stop
  uint32_t heartbeat_ms_ = 1000;
  std::deque<rpc::AgentMessage> outbox_;
  std::function<std::vector<GpuSample>()> gpu_reader_;

  std::mutex containers_mu_;
  std::set<uint64_t> ended_jobs_;  // whose named containers are to go

  std::mutex health_mu_;
  std::condition_variable health_cv_;
  bool health_stop_ = false;
  bool health_changed_ = false;  // run at once: the program or interval just changed
  std::string health_program_;
  uint32_t health_interval_s_ = 0;

  // Read and written on the session's reader thread only (registration and launches).
  bool task_cgroup_ = false;
  std::optional<CgroupLayout> cgroup_layout_;  // prepared at the first task/cgroup registration
};

}  // namespace shoal::agent
