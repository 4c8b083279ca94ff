// Power saving in the controller (Slurm's ResumeProgram/SuspendProgram, cloud nodes): carries
// out PowerPlanner's decisions. The programs run on threads of their own with a time limit, never
// under the controller's lock; their outcome is applied under it when they end.
#include <spdlog/spdlog.h>

#include "common/hostlist.h"
#include "common/strings.h"
#include "controller/controller.h"

namespace shoal {
namespace {

constexpr char kPowerDocument[] = "power";

const char* HookName(int hook) {
  switch (hook) {
    case 0:
      return "ResumeProgram";
    case 1:
      return "SuspendProgram";
    default:
      return "ResumeFailProgram";
  }
}

// Output worth a log line: trimmed, one line per line of it.
std::string Tidy(const std::string& out) { return std::string(Trim(out)); }

}  // namespace

void Controller::InitPowerLocked(const std::optional<std::string>& saved, int64_t now) {
  const PowerSaving& p = config_.power;
  if (!p.Enabled()) return;
  power_ = std::make_unique<PowerPlanner>(p);
  for (const Node& node : nodes_) {
    if (SuspendExcluded(p, node, partitions_)) power_excluded_.insert(node.name);
  }
  // CLOUD nodes, and every node power saving may suspend, exist only once resumed: they begin
  // powered down (idle~), not DOWN; one whose agent registers anyway is simply up.
  for (Node& node : nodes_) {
    if (!node.configured) continue;
    if (node.cloud || (p.Suspends() && !power_excluded_.count(node.name))) {
      node.power = NodePower::kPoweredDown;
      node.power_since = now;
    }
  }
  // What the nodes were doing when the controller stopped; a node not in the document was up.
  const auto states =
      saved ? PowerStateFromJson(*saved) : std::unordered_map<std::string, SavedPower>{};
  for (Node& node : nodes_) {
    if (!node.configured) continue;
    auto it = states.find(node.name);
    if (it != states.end()) {
      node.power = it->second.power;
      node.power_since = it->second.since;
      node.power_down_pending = it->second.pending;
    } else if (saved && !node.running_jobs.empty()) {
      node.power = NodePower::kOn;  // its jobs were launched: wait for its agent as usual
    }
  }
}

void Controller::SavePowerLocked() {
  StoreOp op;
  op.kind = StoreOp::Kind::kSaveDocument;
  op.doc_name = kPowerDocument;
  op.doc_body = PowerStateToJson(nodes_);
  op.must_sync = false;
  std::vector<StoreOp> one;
  one.push_back(std::move(op));
  // Queued in order behind the job changes; the timer never waits on the disk.
  store_->Submit(std::move(one));
}

void Controller::PowerTickLocked(int64_t now) {
  if (!power_) return;
  // Finished hooks' threads are joined here, so they do not pile up.
  {
    std::lock_guard<std::mutex> hooks(power_hooks_mu_);
    power_hooks_.remove_if([](std::future<void>& f) {
      return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    });
  }
  PowerDecisions d = power_->Decide(nodes_, power_excluded_, power_wanted_up_, now);
  if (d.empty()) return;
  PendingWrites ops;
  for (const std::string& name : d.resume) {
    Node& node = *FindNodeLocked(name);
    node.power = NodePower::kPoweringUp;
    node.power_since = now;
    power_wanted_up_.erase(name);
    metrics_->NodeChanged(node, "powering up");
  }
  for (const std::string& name : d.suspend) {
    Node& node = *FindNodeLocked(name);
    node.power = NodePower::kPoweringDown;
    node.power_since = now;
    node.power_down_pending = false;
    metrics_->NodeChanged(node, "powering down");
  }
  std::vector<std::string> failed;
  for (const std::string& name : d.resume_timed_out) {
    ResumeFailedLocked(*FindNodeLocked(name), now, "ResumeTimeout reached", failed);
  }
  for (const std::string& name : d.powered_down) {
    Node& node = *FindNodeLocked(name);
    node.power = NodePower::kPoweredDown;
    node.power_since = now;
    node.responding = false;
    node.heard_ms = 0;
    // An agent still connected after SuspendTimeout was not stopped: its session ends here, and
    // it is up again only if it registers again.
    if (auto s = sessions_.find(name); s != sessions_.end()) {
      spdlog::warn("node {}: still connected after SuspendTimeout ({} s); session ended", name,
                   config_.power.suspend_timeout_s);
      s->second->Close();
      sessions_.erase(s);
    }
    metrics_->NodeChanged(node, "powered down");
    spdlog::info("node {} powered down", name);
  }
  SavePowerLocked();
  if (!d.resume.empty()) {
    spdlog::info("power save: resuming {}", CompressHostlist(d.resume));
    std::vector<int64_t> started;
    for (const std::string& name : d.resume) started.push_back(FindNodeLocked(name)->power_since);
    RunPowerHook(PowerHook::kResume, d.resume, std::move(started));
  }
  if (!d.suspend.empty()) {
    spdlog::info("power save: suspending {}", CompressHostlist(d.suspend));
    RunPowerHook(PowerHook::kSuspend, d.suspend);
  }
  if (!failed.empty() && !config_.power.resume_fail_program.empty()) {
    RunPowerHook(PowerHook::kResumeFail, failed);
  }
  if (!failed.empty() || !d.powered_down.empty()) TriggerSchedule();
}

void Controller::ResumeFailedLocked(Node& node, int64_t now, const std::string& reason,
                                    std::vector<std::string>& failed) {
  if (auto s = sessions_.find(node.name); s != sessions_.end()) {
    s->second->Close();
    sessions_.erase(s);
  }
  node.responding = false;
  node.heard_ms = 0;
  node.power = NodePower::kPoweredDown;
  node.power_since = now;
  power_wanted_up_.erase(node.name);
  // As any failed node: DOWN with the reason, its jobs requeued (they never ran).
  NodeFailedLocked(node, now, reason);
  // Kept across a restart, as an administrator's DOWN is, until someone resumes the node.
  SaveAdminStateLocked(node, /*down=*/true);
  failed.push_back(node.name);
}

void Controller::RunPowerHook(PowerHook hook, std::vector<std::string> nodes,
                              std::vector<int64_t> started) {
  const PowerSaving& p = config_.power;
  const std::string& program = hook == PowerHook::kResume    ? p.resume_program
                               : hook == PowerHook::kSuspend ? p.suspend_program
                                                             : p.resume_fail_program;
  const std::chrono::milliseconds timeout =
      std::chrono::seconds(hook == PowerHook::kSuspend ? p.suspend_timeout_s : p.resume_timeout_s);
  std::vector<std::string> argv = {program, CompressHostlist(nodes)};
  std::lock_guard<std::mutex> hooks(power_hooks_mu_);
  power_hooks_.push_back(std::async(
      std::launch::async, [this, hook, nodes = std::move(nodes), started = std::move(started),
                           argv = std::move(argv), timeout] {
        ProgramResult r = RunProgram(argv, timeout, /*capture=*/true);
        OnPowerHookDone(hook, nodes, started, r, timeout);
      }));
}

void Controller::OnPowerHookDone(PowerHook hook, const std::vector<std::string>& nodes,
                                 const std::vector<int64_t>& started, const ProgramResult& result,
                                 std::chrono::milliseconds timeout) {
  const char* name = HookName(static_cast<int>(hook));
  const std::string hosts = CompressHostlist(nodes);
  const std::string output = Tidy(result.output);
  if (result.ok) {
    if (!output.empty()) spdlog::info("{} {}: {}", name, hosts, output);
    return;
  }
  // Logged once, with what it said.
  spdlog::error("{} {} failed: {}{}{}", name, hosts, result.Describe(timeout),
                output.empty() ? "" : "; output: ", output);
  if (hook == PowerHook::kResumeFail) return;
  {
    std::lock_guard<std::mutex> lock(sched_mu_);
    if (stopping_) return;
  }
  const int64_t now = NowSeconds();
  std::vector<std::string> failed;
  {
    WriteLock lock = LockForChange();
    for (size_t i = 0; i < nodes.size(); ++i) {
      const std::string& n = nodes[i];
      Node* node = FindNodeLocked(n);
      if (node == nullptr) continue;
      if (hook == PowerHook::kResume) {
        // Nodes that registered meanwhile are up; the others will not come. A node resumed
        // again since this run began (it outlived its attempt) is another attempt's business.
        if (node->power != NodePower::kPoweringUp) continue;
        if (i < started.size() && node->power_since != started[i]) continue;
        ResumeFailedLocked(*node, now, std::string(name) + " failed: " + result.Describe(timeout),
                           failed);
      } else if (node->power == NodePower::kPoweringDown && sessions_.count(n)) {
        // Still running: it stays up (idle, its SuspendTime starting over).
        node->power = NodePower::kOn;
        node->power_since = now;
        if (power_) power_->ResetIdle(n);
      }
    }
    SavePowerLocked();
  }
  if (!failed.empty() && !config_.power.resume_fail_program.empty()) {
    RunPowerHook(PowerHook::kResumeFail, failed);
  }
  TriggerSchedule();
}

void Controller::WaitPowerHooks() {
  // A hook that ends may start another (ResumeFailProgram) before its own thread ends: wait
  // until none is left.
  while (true) {
    std::list<std::future<void>> hooks;
    {
      std::lock_guard<std::mutex> lock(power_hooks_mu_);
      hooks.swap(power_hooks_);
    }
    if (hooks.empty()) return;
    for (auto& f : hooks) f.wait();
  }
}

void Controller::NodePoweredOnLocked(Node& node, int64_t now, PendingWrites& ops) {
  if (node.power == NodePower::kOn) return;
  if (node.power == NodePower::kPoweringDown) return;  // being stopped: its end is expected
  if (node.power == NodePower::kPoweringUp) {
    spdlog::info("node {} resumed in {} s", node.name, now - node.power_since);
  }
  node.power = NodePower::kOn;
  node.power_since = now;
  if (power_) power_->ResetIdle(node.name);
  SavePowerLocked();
  for (JobId id : std::vector<JobId>(node.running_jobs)) {
    auto it = jobs_.find(id);
    if (it != jobs_.end()) LaunchIfReadyLocked(it->second, now, ops);
  }
}

void Controller::LaunchIfReadyLocked(Job& job, int64_t now, PendingWrites& ops) {
  if (!job.configuring || job.state != JobState::kRunning) return;
  for (const std::string& n : job.nodes) {
    const Node* node = FindNodeLocked(n);
    if (node == nullptr || !node->PoweredOn() || !node->responding) return;
  }
  job.configuring = false;
  // The time limit counts from here, as in Slurm: the wait for the nodes is not the job's.
  job.start_time = now;
  job.last_modified = now;
  spdlog::info("job {} nodes ready after CONFIGURING; launching", job.DisplayId());
  if (!job.req.interactive) {
    const JobId payload_id = job.SubmissionId();
    auto payload = store_->LoadPayload(payload_id);
    if (!payload.ok()) {
      spdlog::error("job {}: {}", job.DisplayId(), payload.status().message());
      job.reason = "launch failed: script missing";
      FinishJobLocked(job, JobState::kFailed, now);
      PersistLocked(job, ops);
      return;
    }
    SendLocked(job.nodes.front(), BuildLaunchLocked(job, *payload));
  }
  PersistLocked(job, ops);
}

Status Controller::UpdateNodePowerLocked(Node& node, const std::string& state, int64_t now,
                                         PendingWrites& ops) {
  if (state == "POWER_UP") {
    if (node.power == NodePower::kPoweredDown) power_wanted_up_.insert(node.name);
    node.power_down_pending = false;
    return Status::Ok();
  }
  // POWER_DOWN, POWER_DOWN_ASAP: once its jobs end (no new ones meanwhile); POWER_DOWN_FORCE:
  // its jobs requeued now.
  power_wanted_up_.erase(node.name);
  if (node.power == NodePower::kPoweredDown || node.power == NodePower::kPoweringDown) {
    return Status::Ok();
  }
  node.power_down_pending = true;
  if (state == "POWER_DOWN_FORCE") {
    for (JobId job_id : std::vector<JobId>(node.running_jobs)) {
      Job& job = jobs_[job_id];
      TerminateOnNodesLocked(job);
      if (job.state == JobState::kRunning) {
        if (job.req.requeue && !job.req.interactive) {
          RequeueLocked(job, now, "None");
        } else {
          job.reason = "NodeFail";
          FinishJobLocked(job, JobState::kNodeFail, now);
        }
      }
      ReleaseResourcesLocked(job);
      PersistLocked(job, ops);
    }
    // A node still powering up has no agent to stop yet: it is simply not waited for.
    if (node.power == NodePower::kPoweringUp) {
      node.power = NodePower::kPoweredDown;
      node.power_since = now;
      node.power_down_pending = false;
    }
  }
  SavePowerLocked();
  return Status::Ok();
}

}  // namespace shoal
