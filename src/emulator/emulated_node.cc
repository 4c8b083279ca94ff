#include "emulator/emulated_node.h"

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <string_view>

#include "agent/gpu_readings.h"
#include "common/strings.h"
#include "emulator/executors.h"

#ifndef SHOAL_VERSION
#define SHOAL_VERSION "0.0.0"
#endif

namespace shoal::emulator {
namespace {

constexpr int kStepBits = 20;  // as the real agent keys steps: step ids stay below 2^20

int64_t WallSeconds() { return static_cast<int64_t>(std::time(nullptr)); }

// KEY's value in a KEY=VALUE environment, "" when absent.
std::string_view EnvValue(const google::protobuf::RepeatedPtrField<std::string>& env,
                          std::string_view key) {
  for (const std::string& kv : env) {
    if (kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=') {
      return std::string_view(kv).substr(key.size() + 1);
    }
  }
  return {};
}

}  // namespace

rpc::AgentMessage EmulatedNode::MakeRegister() const {
  rpc::AgentMessage m;
  rpc::Register* r = m.mutable_register_();
  r->set_node_name(config_.name);
  r->set_hostname(config_.name);
  r->set_cpus(config_.cpus);
  r->set_memory_mb(config_.memory_mb);
  for (uint32_t i = 0; i < config_.gpus; ++i) {
    rpc::GpuInfo* g = r->add_gpus();
    g->set_index(i);
    g->set_type(config_.gpu_type);
    g->set_emulated(true);
  }
  r->add_features("emulated");
  for (const auto& [id, job] : jobs_) {
    rpc::RunningJob* rj = r->add_running();
    rj->set_job_id(id);
    rj->set_generation(job.generation);
    rj->set_start_time(job.start_ms / 1000);
  }
  r->set_version(SHOAL_VERSION);
  return m;
}

bool EmulatedNode::OnMessage(const rpc::ControllerMessage& msg, int64_t now_ms,
                             std::vector<rpc::AgentMessage>* out) {
  switch (msg.body_case()) {
    case rpc::ControllerMessage::kRegisterReply: {
      const rpc::RegisterReply& reply = msg.register_reply();
      if (!reply.accepted()) return false;
      registered_ = true;
      if (reply.heartbeat_interval_ms() > 0) heartbeat_ms_ = reply.heartbeat_interval_ms();
      next_heartbeat_ms_ = now_ms + heartbeat_ms_;
      for (uint64_t id : reply.kill_job_ids()) jobs_.erase(id);  // fenced off: gone for good
      // Ends the controller has not acknowledged are told again, as a real agent does.
      for (auto& [id, job] : jobs_) {
        if (job.ended) out->push_back(job.finished);
      }
      return true;
    }
    case rpc::ControllerMessage::kLaunch: {
      const rpc::LaunchJob& l = msg.launch();
      Job job;
      job.generation = l.generation();
      job.start_ms = now_ms;
      job.cpus = l.cpus();
      job.gpu_indices.assign(l.gpu_indices().begin(), l.gpu_indices().end());
      job.limit_ms = l.time_limit_s() > 0 ? now_ms + l.time_limit_s() * 1000 : 0;
      int64_t run_s = 0;
      switch (config_.job_time) {
        case JobTime::kInstant: run_s = 0; break;
        case JobTime::kFixed: run_s = config_.fixed_s; break;
        case JobTime::kReal: {
          std::optional<uint64_t> asked = ParseUint(EnvValue(l.env(), "SHOAL_EMULATE_RUNTIME"));
          run_s = asked ? static_cast<int64_t>(*asked)
                        : l.time_limit_s() > 0 ? l.time_limit_s() : kUnlimitedRunS;
          const Executor* executor =
              ExecutorRegistry::Builtin().Find(EnvValue(l.env(), "SHOAL_EMULATE_TYPE"));
          Result<std::map<std::string, std::string>> args =
              ParseExecutorArgs(EnvValue(l.env(), "SHOAL_EMULATE_ARGS"));
          if (executor != nullptr && args.ok()) {
            ExecutorInput input{*args, l.time_limit_s(), l.cpus(),
                                static_cast<uint32_t>(l.gpu_indices_size())};
            ExecutorOutcome outcome = (*executor)(input, rng_);
            run_s = outcome.run_s;
            job.exit_code = outcome.exit_code;
            job.end_signal = outcome.signal;
          }
          break;
        }
      }
      job.end_ms = run_s == kUntilKilled
                       ? INT64_MAX
                       : now_ms + static_cast<int64_t>(static_cast<double>(run_s) * 1000 /
                                                       (config_.job_time == JobTime::kReal
                                                            ? config_.speed
                                                            : 1.0));
      if (std::optional<uint64_t> code = ParseUint(EnvValue(l.env(), "SHOAL_EMULATE_EXIT"));
          code && *code < 256) {
        job.exit_code = static_cast<int32_t>(*code);
      }
      jobs_[l.job_id()] = std::move(job);
      Tick(now_ms, out);  // an instant job ends right away
      return true;
    }
    case rpc::ControllerMessage::kTerminate: {
      auto it = jobs_.find(msg.terminate().job_id());
      if (it != jobs_.end() && !it->second.ended) End(it->first, it->second, now_ms, SIGTERM, false, out);
      for (auto s = steps_.begin(); s != steps_.end();) {
        if ((s->first >> kStepBits) == msg.terminate().job_id()) {
          EndStep(s->first, s->second, now_ms, SIGTERM, out);
          s = steps_.erase(s);
        } else {
          ++s;
        }
      }
      return true;
    }
    case rpc::ControllerMessage::kSignal: {
      const int sig = msg.signal().signal();
      // Signals a batch shell would die of end the job; others (SIGUSR1, SIGCONT, ...) are
      // taken as handled.
      if (sig == SIGTERM || sig == SIGKILL || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT) {
        auto it = jobs_.find(msg.signal().job_id());
        if (it != jobs_.end() && !it->second.ended) End(it->first, it->second, now_ms, sig, false, out);
      }
      return true;
    }
    case rpc::ControllerMessage::kUpdateTimeLimit: {
      auto it = jobs_.find(msg.update_time_limit().job_id());
      if (it != jobs_.end() && !it->second.ended) {
        const int64_t limit_s = msg.update_time_limit().time_limit_s();
        it->second.limit_ms = limit_s > 0 ? it->second.start_ms + limit_s * 1000 : 0;
      }
      return true;
    }
    case rpc::ControllerMessage::kFinishedAcks: {
      for (const rpc::JobFinishedAck& a : msg.finished_acks().acks()) {
        auto it = jobs_.find(a.job_id());
        if (it != jobs_.end() && it->second.ended && it->second.generation == a.generation()) {
          jobs_.erase(it);
        }
      }
      return true;
    }
    case rpc::ControllerMessage::kLaunchTasks: {
      // A step's tasks end at once, with no output: srun gets their exit status only.
      const rpc::LaunchTasks& l = msg.launch_tasks();
      Step step{l.generation(), now_ms, now_ms};
      EndStep((l.job_id() << kStepBits) | l.step_id(), step, now_ms, 0, out);
      return true;
    }
    case rpc::ControllerMessage::kSignalStep: {
      const uint64_t key = (msg.signal_step().job_id() << kStepBits) | msg.signal_step().step_id();
      auto it = steps_.find(key);
      if (it != steps_.end()) {
        EndStep(key, it->second, now_ms, msg.signal_step().signal() == 0 ? SIGTERM
                                                                         : msg.signal_step().signal(),
                out);
        steps_.erase(it);
      }
      return true;
    }
    case rpc::ControllerMessage::kUsageRequest: {
      // sstat: an emulated job burns its CPUs for as long as it has run, and nothing else.
      const rpc::UsageRequest& u = msg.usage_request();
      rpc::AgentMessage m;
      rpc::UsageReport* r = m.mutable_usage_report();
      r->set_request_id(u.request_id());
      r->set_job_id(u.job_id());
      auto it = jobs_.find(u.job_id());
      if (it != jobs_.end() && !it->second.ended) {
        rpc::StepUsage* step = r->add_steps();
        step->set_batch(true);
        rpc::TaskUsage* task = step->add_tasks();
        task->set_cpu_seconds(static_cast<double>(now_ms - it->second.start_ms) / 1000.0 *
                              std::max<uint32_t>(1, it->second.cpus));
      }
      out->push_back(std::move(m));
      return true;
    }
    case rpc::ControllerMessage::kStepFinishedAck:
    case rpc::ControllerMessage::BODY_NOT_SET:
      return true;
  }
  return true;
}

void EmulatedNode::Tick(int64_t now_ms, std::vector<rpc::AgentMessage>* out) {
  for (auto& [id, job] : jobs_) {
    if (job.ended) continue;
    if (job.limit_ms > 0 && job.limit_ms <= now_ms && job.limit_ms < job.end_ms) {
      End(id, job, now_ms, SIGTERM, /*timed_out=*/true, out);
    } else if (job.end_ms <= now_ms) {
      End(id, job, now_ms, job.end_signal, false, out);
    }
  }
  if (registered_ && now_ms >= next_heartbeat_ms_) {
    next_heartbeat_ms_ = now_ms + heartbeat_ms_;
    uint32_t busy = 0;
    for (const auto& [id, job] : jobs_) busy += job.ended ? 0 : job.cpus;
    rpc::AgentMessage m;
    rpc::Heartbeat* h = m.mutable_heartbeat();
    h->set_time(WallSeconds());
    h->set_load_1m(static_cast<double>(busy));
    h->set_free_memory_mb(config_.memory_mb);
    if (gpus_.count() > 0) {
      std::vector<bool> busy(gpus_.count(), false);
      for (const auto& [id, job] : jobs_) {
        if (job.ended) continue;
        for (uint32_t g : job.gpu_indices) {
          if (g < busy.size()) busy[g] = true;
        }
      }
      agent::AddGpuReadings(gpus_.Sample(static_cast<double>(now_ms) / 1000, busy), h);
    }
    out->push_back(std::move(m));
  }
}

void EmulatedNode::End(uint64_t job_id, Job& job, int64_t now_ms, int32_t signal, bool timed_out,
                       std::vector<rpc::AgentMessage>* out) {
  job.ended = true;
  rpc::JobFinished* f = job.finished.mutable_job_finished();
  f->set_job_id(job_id);
  f->set_generation(job.generation);
  f->set_exit_code(signal == 0 ? job.exit_code : 0);
  f->set_signal(signal);
  f->set_timed_out(timed_out);
  f->set_start_time(WallSeconds() - (now_ms - job.start_ms) / 1000);
  f->set_end_time(WallSeconds());
  if (registered_) out->push_back(job.finished);
}

void EmulatedNode::EndStep(uint64_t key, const Step& step, int64_t now_ms, int32_t signal,
                           std::vector<rpc::AgentMessage>* out) {
  rpc::AgentMessage m;
  rpc::StepFinished* f = m.mutable_step_finished();
  f->set_job_id(key >> kStepBits);
  f->set_step_id(static_cast<uint32_t>(key & ((1u << kStepBits) - 1)));
  f->set_generation(step.generation);
  f->set_signal(signal);
  f->set_start_time(WallSeconds() - (now_ms - step.start_ms) / 1000);
  f->set_end_time(WallSeconds());
  out->push_back(std::move(m));
}

void EmulatedNode::OnReconnect() { registered_ = false; }

void EmulatedNode::Crash() {
  jobs_.clear();
  steps_.clear();
  registered_ = false;
}

size_t EmulatedNode::running_jobs() const {
  size_t n = 0;
  for (const auto& [id, job] : jobs_) n += job.ended ? 0 : 1;
  return n;
}

}  // namespace shoal::emulator
