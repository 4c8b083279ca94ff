// Job steps (srun) and interactive allocations (salloc): the Controller's members for them,
// kept apart from the scheduling code in controller.cc. Placement and environments are the
// pure functions of step_layout.h.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/hostlist.h"
#include "controller/authz.h"
#include "controller/container_rpc.h"
#include "controller/controller.h"
#include "controller/job_env.h"
#include "controller/step_layout.h"
#include "core/container.h"

namespace shoal {
namespace {

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Parses "12" (array tasks by their own job id).
std::optional<JobId> PlainJobId(const std::string& id) {
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::strtoull(id.c_str(), nullptr, 10);
}

}  // namespace

void Controller::PersistStepLocked(const Step& step, PendingWrites* writes) {
  StoreOp op;
  op.kind = StoreOp::Kind::kUpsertStep;
  op.step = step;
  std::vector<StoreOp> ops;
  ops.push_back(std::move(op));
  auto done = store_->Submit(std::move(ops));
  if (writes != nullptr) writes->push_back(std::move(done));
}

rpc::ControllerMessage Controller::StepSignalMessage(const Step& step, int signal) const {
  rpc::ControllerMessage msg;
  rpc::SignalStep* s = msg.mutable_signal_step();
  s->set_job_id(step.job_id);
  s->set_step_id(step.step_id);
  s->set_signal(signal);
  s->set_kill_wait_s(config_.kill_wait_s);
  return msg;
}

Result<Step> Controller::CreateStep(const std::string& id, StepRequest request,
                                    uint32_t requester_uid) {
  auto job_id = PlainJobId(id);
  if (!job_id) return NotFound("Invalid job id specified");
  if (Status s = ValidateContainerSpec(request.container); !s.ok()) return s;
  // After a restart the ids already used come from the store (read before taking the lock).
  bool known;
  {
    ReadLock lock(mu_);
    known = next_step_id_.count(*job_id) != 0;
  }
  uint32_t first_free = 0;
  if (!known) {
    auto stored = store_->QuerySteps({*job_id});
    if (stored.ok()) {
      for (const Step& s : *stored) first_free = std::max(first_free, s.step_id + 1);
    }
  }
  const int64_t now = NowSeconds();
  PendingWrites writes;
  Step step;
  std::vector<std::pair<std::string, rpc::ControllerMessage>> sends;
  {
    WriteLock lock = LockForChange();
    auto it = jobs_.find(*job_id);
    if (it == jobs_.end()) return NotFound("Invalid job id specified");
    Job& job = it->second;
    if (!MayChangeJobAs(requester_uid, job.req.uid)) {
      return Status(StatusCode::kPermissionDenied, "Access/permission denied");
    }
    if (IsFinished(job.state)) {
      return FailedPrecondition("Job/step already completing or completed");
    }
    if (job.state != JobState::kRunning || job.nodes.empty()) {
      return FailedPrecondition("Job is pending execution");
    }
    if (job.configuring) {
      // Its nodes are still booting (power saving): nothing could be launched there yet.
      // srun waits for them before it asks (cli/srun.cc).
      return FailedPrecondition("Job's nodes are not ready yet (CONFIGURING: powering up)");
    }
    std::map<std::string, NodeUse> in_use;
    auto& live = steps_[job.id];
    std::set<uint16_t> ports;
    for (const auto& [sid, ls] : live) {
      // A run before a requeue holds nothing of this one, even while its steps still end.
      if (ls.step.state != JobState::kRunning || ls.generation != job.generation) continue;
      for (size_t k = 0; k < ls.step.nodes.size() && k < ls.holds.size(); ++k) {
        NodeUse& use = in_use[ls.step.nodes[k]];
        use.cpus += ls.holds[k].cpus;
        use.mem_mb += ls.holds[k].mem_mb;
        use.gpus.insert(ls.holds[k].gpus.begin(), ls.holds[k].gpus.end());
      }
      ports.insert(ls.master_port);
    }
    // Busy (kUnavailable) is no failure: srun asks again until the step fits.
    auto layout = PlanStep(job, request, in_use);
    if (!layout.ok()) return layout.status();

    uint32_t& next = next_step_id_[job.id];
    next = std::max(next, first_free);
    step.job_id = job.id;
    step.step_id = next++;
    step.name = request.name.empty() ? BaseName(request.argv.front()) : request.name;
    step.user = job.req.user;
    step.partition = job.req.partition;
    step.array_job_id = job.array_job_id;
    step.array_task_id = job.array_task_id;
    step.nodes = layout->nodes;
    step.tasks_per_node = layout->tasks_per_node;
    step.ntasks = layout->ntasks;
    step.cpus_per_task = request.cpus_per_task;
    step.state = JobState::kRunning;
    step.start_time = now;
    step.time_limit_s = request.time_limit_s;

    // Whatever is left of the job's time, and no more than the step's own limit.
    int64_t limit = 0;
    if (job.req.time_limit_s > 0)
      limit = std::max<int64_t>(1, job.start_time + job.req.time_limit_s - now);
    if (request.time_limit_s > 0)
      limit = limit == 0 ? request.time_limit_s : std::min(limit, request.time_limit_s);

    LiveStep ls;
    ls.step = step;
    ls.generation = job.generation;
    ls.kill_on_bad_exit = request.kill_on_bad_exit;
    const Node* first = FindNodeLocked(step.nodes.front());
    const std::string master_addr =
        first != nullptr && !first->address.empty() ? first->address : step.nodes.front();
    ls.master_port = PickMasterPort(job.id, step.step_id, ports);
    const ArrayBounds* bounds = job.IsArrayTask() ? &ArrayBoundsLocked(job.array_job_id) : nullptr;
    const std::vector<std::string> job_env =
        BuildJobEnvironment(job, request.env, config_.cluster_name, "unix:" + socket_path_, bounds);
    for (size_t k = 0; k < step.nodes.size(); ++k) {
      ls.pending_nodes.insert(step.nodes[k]);
      ls.holds.push_back(layout->holds[k]);
      NodeTaskEnv env = BuildNodeTaskEnv(job_env, step, *layout, k, master_addr, ls.master_port);
      rpc::ControllerMessage msg;
      rpc::LaunchTasks* l = msg.mutable_launch_tasks();
      l->set_job_id(job.id);
      l->set_step_id(step.step_id);
      l->set_generation(job.generation);
      for (auto& kv : env.common) l->add_env(std::move(kv));
      for (const auto& a : request.argv) l->add_argv(a);
      l->set_work_dir(request.work_dir.empty() ? job.req.work_dir : request.work_dir);
      for (size_t t = 0; t < env.ranks.size(); ++t) {
        rpc::TaskSpec* task = l->add_tasks();
        task->set_rank(env.ranks[t]);
        for (auto& kv : env.task[t]) task->add_env(std::move(kv));
      }
      l->set_io_host(request.io_host);
      l->set_io_port(request.io_port);
      l->set_io_key(request.io_key);
      l->set_time_limit_s(limit);
      l->set_uid(job.req.uid);
      l->set_gid(job.req.gid);
      l->set_kill_wait_s(config_.kill_wait_s);
      for (uint32_t g : layout->gpus[k]) l->add_gpu_indices(g);
      l->set_cpus(std::max(ls.holds.back().cpus, step.tasks_per_node[k] * step.cpus_per_task));
      l->set_memory_limit_mb(MemoryLimitMb(job));
      l->set_kill_on_bad_exit(request.kill_on_bad_exit);
      l->set_input(request.input);
      l->set_pty(request.pty);
      l->set_pty_rows(request.pty_rows);
      l->set_pty_cols(request.pty_cols);
      if (request.container.Enabled()) ContainerToRpc(request.container, l->mutable_container());
      sends.emplace_back(step.nodes[k], std::move(msg));
    }
    live.emplace(step.step_id, std::move(ls));
    PersistStepLocked(step, &writes);
    spdlog::info("step {} started on {}: {} tasks", step.DisplayId(), CompressHostlist(step.nodes),
                 step.ntasks);
  }
  // Durable before any task runs, as a job start is.
  Status s = AwaitWrites(writes);
  if (!s.ok()) return Internal("step could not be stored: " + s.message());
  WriteLock lock = LockForChange();
  auto live = steps_.find(step.job_id);
  if (live == steps_.end()) return step;
  auto ls = live->second.find(step.step_id);
  // Ended meanwhile (the job was cancelled): nothing to launch.
  if (ls == live->second.end() || ls->second.step.state != JobState::kRunning) {
    return ls == live->second.end() ? step : ls->second.step;
  }
  for (auto& [node, msg] : sends) SendLocked(node, std::move(msg));
  return step;
}

Result<Step> Controller::GetStep(JobId job_id, uint32_t step_id) const {
  {
    ReadLock lock(mu_);
    auto job = steps_.find(job_id);
    if (job != steps_.end()) {
      auto s = job->second.find(step_id);
      if (s != job->second.end()) return s->second.Answered();
    }
  }
  auto stored = store_->QuerySteps({job_id});
  if (stored.ok()) {
    for (const Step& s : *stored) {
      if (s.step_id == step_id) return s;
    }
  }
  return NotFound("Invalid job id specified");
}

std::vector<Step> Controller::ListSteps(const std::vector<JobId>& job_ids,
                                        bool running_only) const {
  ReadLock lock(mu_);
  std::vector<Step> out;
  auto add = [&](const std::map<uint32_t, LiveStep>& steps) {
    for (const auto& [sid, ls] : steps) {
      if (!running_only || ls.step.state == JobState::kRunning) out.push_back(ls.Answered());
    }
  };
  if (job_ids.empty()) {
    for (const auto& [job, steps] : steps_) add(steps);
  } else {
    for (JobId id : job_ids) {
      if (auto it = steps_.find(id); it != steps_.end()) add(it->second);
    }
  }
  return out;
}

Status Controller::SignalStep(JobId job_id, uint32_t step_id, int signal, uint32_t requester_uid) {
  WriteLock lock = LockForChange();
  auto job = jobs_.find(job_id);
  auto steps = steps_.find(job_id);
  if (job == jobs_.end() || steps == steps_.end()) return NotFound("Invalid job id specified");
  auto it = steps->second.find(step_id);
  if (it == steps->second.end()) return NotFound("Invalid job id specified");
  if (!MayChangeJobAs(requester_uid, job->second.req.uid)) {
    return Status(StatusCode::kPermissionDenied, "Access/permission denied");
  }
  LiveStep& ls = it->second;
  if (ls.step.state != JobState::kRunning) {
    return FailedPrecondition("Job/step already completing or completed");
  }
  for (const std::string& node : ls.pending_nodes)
    SendLocked(node, StepSignalMessage(ls.step, signal));
  if (signal == 0) {
    ls.cancelled = true;
    spdlog::info("step {} cancelled", ls.step.DisplayId());
  }
  return Status::Ok();
}

void Controller::OnStepFinished(const std::shared_ptr<AgentSession>& session,
                                const rpc::StepFinished& fin) {
  const int64_t now = NowSeconds();
  PendingWrites writes;
  {
    WriteLock lock = LockForChange();
    if (Node* node = FindNodeLocked(session->node())) node->last_heartbeat = now;
    auto steps = steps_.find(fin.job_id());
    if (steps == steps_.end()) {
      // Not remembered (a controller restart forgot it): nothing to record, let the node go.
    } else if (auto it = steps->second.find(fin.step_id());
               it != steps->second.end() && it->second.generation == fin.generation() &&
               it->second.pending_nodes.erase(session->node()) > 0) {
      LiveStep& ls = it->second;
      Step& step = ls.step;
      step.exit_code = std::max(step.exit_code, fin.exit_code());
      if (fin.signal() != 0) step.exit_signal = fin.signal();
      // Each node reports its own part once (pending_nodes above): CPU adds up, MaxRSS is the
      // largest of any one process. An agent's figures are never negative.
      step.user_cpu_us += std::max<int64_t>(0, fin.user_cpu_us());
      step.system_cpu_us += std::max<int64_t>(0, fin.system_cpu_us());
      if (fin.max_rss_kb() > step.max_rss_kb) {
        step.max_rss_kb = fin.max_rss_kb();
        step.max_rss_node = session->node();
      }
      const bool bad = fin.exit_code() != 0 || fin.signal() != 0 || fin.launch_failed();
      if (step.state == JobState::kRunning) {
        if (fin.timed_out()) {
          step.state = JobState::kTimeout;
        } else if (fin.out_of_memory()) {
          step.state = JobState::kOutOfMemory;
        } else if (fin.launch_failed()) {
          step.state = JobState::kFailed;
          spdlog::warn("step {}: launch failed on {}: {}", step.DisplayId(), session->node(),
                       fin.message());
        }
        if (bad && ls.kill_on_bad_exit) {
          for (const std::string& node : ls.pending_nodes)
            SendLocked(node, StepSignalMessage(step, 0));
        }
      }
      if (ls.pending_nodes.empty()) {
        if (step.state == JobState::kRunning && ls.cancelled) step.state = JobState::kCancelled;
        if (step.state == JobState::kRunning) {
          step.state = step.exit_code != 0     ? JobState::kFailed
                       : step.exit_signal != 0 ? JobState::kCancelled
                                               : JobState::kCompleted;
        }
        if (step.end_time == 0) step.end_time = fin.end_time() > 0 ? fin.end_time() : now;
        spdlog::info("step {} {} exit {}:{}", step.DisplayId(), JobStateName(step.state),
                     step.exit_code, step.exit_signal);
      }
      PersistStepLocked(step, &writes);
    }
  }
  if (!AwaitWrites(writes).ok()) return;  // unacknowledged: the agent sends it again
  rpc::ControllerMessage ack;
  ack.mutable_step_finished_ack()->set_job_id(fin.job_id());
  ack.mutable_step_finished_ack()->set_step_id(fin.step_id());
  ack.mutable_step_finished_ack()->set_generation(fin.generation());
  session->Send(std::move(ack));
}

void Controller::EndStepsLocked(Job& job, int64_t now) {
  if (auto steps = steps_.find(job.id); steps != steps_.end()) {
    for (auto& [sid, ls] : steps->second) {
      if (ls.step.state != JobState::kRunning) continue;
      ls.step.state = job.state == JobState::kTimeout ? JobState::kTimeout : JobState::kCancelled;
      ls.step.end_time = now;
      for (const std::string& node : ls.pending_nodes)
        SendLocked(node, StepSignalMessage(ls.step, 0));
      PersistStepLocked(ls.step, nullptr);  // queued in order; nobody waits for it here
    }
  }
  // No batch script holds an interactive job's resources: they come free with the job.
  if (job.req.interactive) ReleaseResourcesLocked(job);
}

void Controller::RestoreStepsLocked(const std::vector<Step>& stored) {
  for (const Step& step : stored) {
    auto job = jobs_.find(step.job_id);
    if (job == jobs_.end() || job->second.state != JobState::kRunning) continue;
    uint32_t& next = next_step_id_[step.job_id];
    next = std::max(next, step.step_id + 1);
    if (step.state != JobState::kRunning) continue;
    LiveStep ls;
    ls.step = step;
    ls.generation = job->second.generation;
    ls.pending_nodes.insert(step.nodes.begin(), step.nodes.end());
    // What it held is not stored: the CPUs its tasks need, at the least.
    for (size_t k = 0; k < step.nodes.size(); ++k) {
      NodeUse use;
      use.cpus = (k < step.tasks_per_node.size() ? step.tasks_per_node[k] : 1) * step.cpus_per_task;
      ls.holds.push_back(std::move(use));
    }
    steps_[step.job_id].emplace(step.step_id, std::move(ls));
  }
  if (!stored.empty()) spdlog::info("controller: {} steps of running jobs restored", stored.size());
}

void Controller::CheckAllocationsLocked(int64_t now) {
  if (now == last_allocation_check_) return;
  last_allocation_check_ = now;
  std::vector<Job*> expired;
  for (auto& [id, job] : live_jobs_) {
    if (job->req.interactive && job->state == JobState::kRunning && job->req.time_limit_s > 0 &&
        now >= job->start_time + job->req.time_limit_s) {
      expired.push_back(job);
    }
  }
  PendingWrites ignored;  // queued in order; the timer thread must not wait on the disk
  for (Job* job : expired) {
    spdlog::info("job {}: allocation reached its time limit", job->DisplayId());
    job->reason = "None";
    TerminateOnNodesLocked(*job);
    FinishJobLocked(*job, JobState::kTimeout, now);
    PersistLocked(*job, ignored);
  }
  // Steps of jobs no longer held are only in the store now.
  for (auto it = steps_.begin(); it != steps_.end();) {
    it = jobs_.count(it->first) == 0 ? steps_.erase(it) : std::next(it);
  }
  for (auto it = next_step_id_.begin(); it != next_step_id_.end();) {
    it = jobs_.count(it->first) == 0 ? next_step_id_.erase(it) : std::next(it);
  }
}

Status Controller::CompleteAllocation(const std::string& id, int32_t exit_code, int32_t signal,
                                      uint32_t requester_uid) {
  PendingWrites writes;
  const int64_t now = NowSeconds();
  {
    WriteLock lock = LockForChange();
    auto found = ResolveIdsLocked(id);
    if (found.empty()) return NotFound("Invalid job id specified");
    Job* job = found.front();
    if (!MayChangeJobAs(requester_uid, job->req.uid)) {
      return Status(StatusCode::kPermissionDenied, "Access/permission denied");
    }
    if (!job->req.interactive) return FailedPrecondition("Job is not an interactive allocation");
    if (IsFinished(job->state)) return Status::Ok();  // revoked before (scancel, time limit)
    JobState state = JobState::kCancelled;
    if (job->state == JobState::kRunning) {
      job->exit_code = exit_code;
      job->exit_signal = signal;
      state = exit_code != 0 || signal != 0 ? JobState::kFailed : JobState::kCompleted;
      if (state == JobState::kFailed) {
        job->reason = signal != 0 ? "RaisedSignal:" + std::to_string(signal) : "NonZeroExitCode";
      }
      TerminateOnNodesLocked(*job);
    }
    FinishJobLocked(*job, state, now);
    PersistLocked(*job, writes);
  }
  Status s = AwaitWrites(writes);
  TriggerSchedule();
  return s;
}

Result<std::vector<std::string>> Controller::AllocationEnvironment(const std::string& id) const {
  ReadLock lock(mu_);
  auto found = ResolveIdsForReadLocked(id);
  if (found.empty()) return NotFound("Invalid job id specified");
  const Job* job = found.front();
  if (job->state != JobState::kRunning) return FailedPrecondition("Job is not running");
  return BuildJobEnvironment(*job, {}, config_.cluster_name, "unix:" + socket_path_, nullptr);
}

Result<std::vector<Step>> Controller::QueryStepAccounting(const std::vector<JobId>& job_ids) const {
  return store_->QuerySteps(job_ids);
}

}  // namespace shoal
