// sstat's live usage: the controller asks the agents of a running job on their streams and
// gathers their answers, as slurmctld has sstat ask the slurmds.
#include <algorithm>

#include "controller/controller.h"

namespace shoal {

Result<Controller::JobUsageAnswer> Controller::JobUsage(const std::string& id,
                                                        std::chrono::milliseconds wait) {
  JobUsageAnswer answer;
  uint64_t request_id = 0;
  std::set<std::string> nodes;
  {
    ReadLock lock(mu_);
    std::vector<const Job*> jobs = ResolveIdsForReadLocked(id);
    if (jobs.empty()) return NotFound("Invalid job id specified");
    // "10" names a whole array: its own job (task) stands for it.
    const Job* job = jobs.front();
    for (const Job* j : jobs) {
      if (std::to_string(j->id) == id) job = j;
    }
    answer.job = *job;
    if (job->state != JobState::kRunning || job->nodes.empty()) return answer;
    if (!job->req.interactive) {
      StepUsage batch;
      batch.job_id = job->id;
      batch.batch = true;
      batch.nodes = {job->nodes.front()};
      batch.ntasks = 1;
      answer.steps.push_back(std::move(batch));
    }
    if (auto it = steps_.find(job->id); it != steps_.end()) {
      for (const auto& [sid, ls] : it->second) {
        if (ls.step.state != JobState::kRunning) continue;
        StepUsage step;
        step.job_id = job->id;
        step.step_id = sid;
        step.nodes = ls.step.nodes;
        step.ntasks = ls.step.ntasks;
        answer.steps.push_back(std::move(step));
      }
    }
    for (const StepUsage& s : answer.steps) nodes.insert(s.nodes.begin(), s.nodes.end());
    if (nodes.empty()) return answer;
    {
      std::lock_guard<std::mutex> usage_lock(usage_mu_);
      // Each waiting request holds an API thread for up to `wait`: nodes that never answer must
      // not take them all, or every other call would wait behind sstat.
      if (usage_requests_.size() >= kMaxUsageRequestsWaiting) {
        return Unavailable("too many usage requests are waiting for nodes; try again shortly");
      }
      request_id = next_usage_request_++;
      PendingUsage& pending = usage_requests_[request_id];
      for (const std::string& node : nodes) {
        if (sessions_.count(node) != 0) pending.waiting.insert(node);
      }
    }
    rpc::ControllerMessage msg;
    msg.mutable_usage_request()->set_request_id(request_id);
    msg.mutable_usage_request()->set_job_id(job->id);
    for (const std::string& node : nodes) {
      if (auto s = sessions_.find(node); s != sessions_.end()) s->second->Send(msg);
    }
  }
  PendingUsage done;
  {
    std::unique_lock<std::mutex> usage_lock(usage_mu_);
    usage_cv_.wait_for(usage_lock, wait,
                       [&] { return usage_requests_[request_id].waiting.empty(); });
    done = std::move(usage_requests_[request_id]);
    usage_requests_.erase(request_id);
  }
  std::set<std::string> answered;
  for (const auto& [node, report] : done.reports) {
    answered.insert(node);
    for (const rpc::StepUsage& reported : report.steps()) {
      auto step = std::find_if(answer.steps.begin(), answer.steps.end(), [&](const StepUsage& s) {
        return s.batch == reported.batch() && (s.batch || s.step_id == reported.step_id());
      });
      // A step the controller does not know as running (it just ended) is left out.
      if (step == answer.steps.end()) continue;
      for (const rpc::TaskUsage& t : reported.tasks()) {
        TaskUsageSample u;
        u.node = node;
        u.task = t.task();
        u.cpu_seconds = t.cpu_seconds();
        u.rss_bytes = t.rss_bytes();
        u.vm_bytes = t.vm_bytes();
        u.pages = t.pages();
        u.read_bytes = t.read_bytes();
        u.write_bytes = t.write_bytes();
        u.pids.assign(t.pids().begin(), t.pids().end());
        step->tasks.push_back(std::move(u));
      }
    }
  }
  for (const std::string& node : nodes) {
    if (answered.count(node) == 0) answer.missing_nodes.push_back(node);
  }
  return answer;
}

void Controller::OnUsageReport(const std::string& node, const rpc::UsageReport& report) {
  std::lock_guard<std::mutex> lock(usage_mu_);
  auto it = usage_requests_.find(report.request_id());
  // Late (the asker gave up) or not asked of this node: dropped.
  if (it == usage_requests_.end() || it->second.waiting.erase(node) == 0) return;
  it->second.reports.emplace_back(node, report);
  if (it->second.waiting.empty()) usage_cv_.notify_all();
}

}  // namespace shoal
