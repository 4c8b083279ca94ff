#include "agent/agent.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <arpa/inet.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "agent/gpu_readings.h"
#include "agent/job_dir.h"
#include "agent/health_check.h"
#include "agent/host_info.h"
#include "agent/node_metrics.h"
#include "rpc/agent_channel.h"
#include "security/membership.h"

#ifndef SHOAL_VERSION
#define SHOAL_VERSION "0.0.0"
#endif

namespace shoal::agent {
namespace {

using Clock = std::chrono::steady_clock;
using Stream = grpc::ClientReaderWriter<rpc::AgentMessage, rpc::ControllerMessage>;

constexpr auto kBackoffStart = std::chrono::milliseconds(rpc::kAgentReconnectStartMs);
constexpr auto kBackoffCap = std::chrono::milliseconds(rpc::kAgentReconnectCapMs);
// A controller that accepts the stream but never answers Register is as good as down.
constexpr auto kRegisterTimeout = std::chrono::seconds(10);

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

rpc::AgentMessage FinishedMessage(const JobResult& r) {
  rpc::AgentMessage m;
  rpc::JobFinished* f = m.mutable_job_finished();
  f->set_job_id(r.job_id);
  f->set_generation(r.generation);
  f->set_exit_code(r.exit_code);
  f->set_signal(r.signal);
  f->set_timed_out(r.timed_out);
  f->set_launch_failed(r.launch_failed);
  f->set_message(r.message);
  f->set_start_time(r.start_time);
  f->set_end_time(r.end_time);
  f->set_user_cpu_us(r.user_cpu_us);
  f->set_system_cpu_us(r.system_cpu_us);
  f->set_max_rss_kb(r.max_rss_kb);
  f->set_out_of_memory(r.out_of_memory);
  return m;
}

// The groups `uid` belongs to, with `gid` first; just {gid} when the uid has no passwd entry.
std::vector<uint32_t> SupplementaryGroups(uint32_t uid, uint32_t gid) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) return {gid};
  int n = 64;
  std::vector<gid_t> groups(n);
  if (getgrouplist(found->pw_name, gid, groups.data(), &n) < 0) {
    groups.resize(n);
    if (getgrouplist(found->pw_name, gid, groups.data(), &n) < 0) return {gid};
  }
  return std::vector<uint32_t>(groups.begin(), groups.begin() + n);
}

// The user's home directory from the password database ("" when the uid has none).
std::string HomeOf(uint32_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) return "";
  return found->pw_dir != nullptr ? found->pw_dir : "";
}

ContainerSpec ContainerFromRpc(const rpc::ContainerSpec& c) {
  ContainerSpec out;
  out.image = c.image();
  out.mounts.assign(c.mounts().begin(), c.mounts().end());
  out.workdir = c.workdir();
  out.name = c.name();
  out.env.assign(c.env().begin(), c.env().end());
  out.remap_root = c.remap_root();
  out.mount_home = c.mount_home();
  out.writable = c.writable();
  out.entrypoint = c.entrypoint();
  return out;
}

// A step's unit on this node, as the steps' JobManager names it: step ids stay below 2^20.
constexpr int kStepBits = 20;
uint64_t StepUnitKey(uint64_t job_id, uint32_t step_id) {
  return (job_id << kStepBits) | (step_id & ((1u << kStepBits) - 1));
}
uint64_t JobOfUnit(uint64_t key) { return key >> kStepBits; }
uint32_t StepOfUnit(uint64_t key) { return static_cast<uint32_t>(key & ((1u << kStepBits) - 1)); }

rpc::AgentMessage StepFinishedMessage(const JobResult& r) {
  rpc::AgentMessage m;
  rpc::StepFinished* f = m.mutable_step_finished();
  f->set_job_id(JobOfUnit(r.job_id));
  f->set_step_id(StepOfUnit(r.job_id));
  f->set_generation(r.generation);
  f->set_exit_code(r.exit_code);
  f->set_signal(r.signal);
  f->set_timed_out(r.timed_out);
  f->set_launch_failed(r.launch_failed);
  f->set_message(r.message);
  f->set_start_time(r.start_time);
  f->set_end_time(r.end_time);
  f->set_user_cpu_us(r.user_cpu_us);
  f->set_system_cpu_us(r.system_cpu_us);
  f->set_max_rss_kb(r.max_rss_kb);
  f->set_out_of_memory(r.out_of_memory);
  return m;
}

// srun's host as a numeric address, which the supervisor (no name service) can connect to.
std::string NumericAddress(const std::string& host) {
  in6_addr probe;
  if (inet_pton(AF_INET, host.c_str(), &probe) == 1 ||
      inet_pton(AF_INET6, host.c_str(), &probe) == 1) {
    return host;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) return host;
  char text[INET6_ADDRSTRLEN] = {};
  const void* addr = found->ai_family == AF_INET
                         ? static_cast<const void*>(
                               &reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr)
                         : static_cast<const void*>(
                               &reinterpret_cast<sockaddr_in6*>(found->ai_addr)->sin6_addr);
  inet_ntop(found->ai_family, addr, text, sizeof text);
  freeaddrinfo(found);
  return text;
}

JobSpec SpecFromLaunchTasks(const rpc::LaunchTasks& l) {
  JobSpec s;
  s.job_id = StepUnitKey(l.job_id(), l.step_id());
  s.generation = l.generation();
  s.env.assign(l.env().begin(), l.env().end());
  s.argv.assign(l.argv().begin(), l.argv().end());
  s.work_dir = l.work_dir();
  for (const rpc::TaskSpec& t : l.tasks()) {
    JobSpec::Task task;
    task.rank = t.rank();
    task.env.assign(t.env().begin(), t.env().end());
    s.tasks.push_back(std::move(task));
  }
  s.io_addr = NumericAddress(l.io_host());
  s.io_port = l.io_port();
  s.io_key = l.io_key();
  s.time_limit_s = l.time_limit_s();
  s.kill_wait_s = l.kill_wait_s();
  s.uid = l.uid();
  s.gid = l.gid();
  if (geteuid() == 0 && s.uid != 0) s.groups = SupplementaryGroups(s.uid, s.gid);
  s.gpu_indices.assign(l.gpu_indices().begin(), l.gpu_indices().end());
  s.cpus = l.cpus();
  s.kill_on_bad_exit = l.kill_on_bad_exit();
  s.input = l.input();
  s.pty = l.pty();
  s.pty_rows = l.pty_rows();
  s.pty_cols = l.pty_cols();
  if (l.has_container() && (!l.container().image().empty() || !l.container().name().empty())) {
    s.container = ContainerFromRpc(l.container());
    s.home = HomeOf(s.uid);
  }
  return s;
}

void AddTasks(const std::vector<TaskUsage>& tasks, rpc::StepUsage* step) {
  for (const TaskUsage& t : tasks) {
    rpc::TaskUsage* out = step->add_tasks();
    out->set_task(t.task);
    out->set_cpu_seconds(t.cpu_seconds);
    out->set_rss_bytes(t.rss_bytes);
    out->set_vm_bytes(t.vm_bytes);
    out->set_pages(t.pages);
    out->set_read_bytes(t.read_bytes);
    out->set_write_bytes(t.write_bytes);
    for (pid_t pid : t.pids) out->add_pids(pid);
  }
}

JobSpec SpecFromLaunch(const rpc::LaunchJob& l) {
  JobSpec s;
  s.job_id = l.job_id();
  s.generation = l.generation();
  s.env.assign(l.env().begin(), l.env().end());
  s.args.assign(l.args().begin(), l.args().end());
  s.work_dir = l.work_dir();
  s.stdout_path = l.stdout_path();
  s.stderr_path = l.stderr_path();
  s.open_append = l.open_append();
  s.time_limit_s = l.time_limit_s();
  s.kill_wait_s = l.kill_wait_s();
  s.uid = l.uid();
  s.gid = l.gid();
  if (geteuid() == 0 && s.uid != 0) s.groups = SupplementaryGroups(s.uid, s.gid);
  s.gpu_indices.assign(l.gpu_indices().begin(), l.gpu_indices().end());
  s.cpus = l.cpus();
  if (l.has_container() && (!l.container().image().empty() || !l.container().name().empty())) {
    s.container = ContainerFromRpc(l.container());
    s.home = HomeOf(s.uid);
  }
  return s;
}

}  // namespace

Agent::Agent(AgentOptions options, std::string supervisor_path)
    : options_(std::move(options)), supervisor_path_(std::move(supervisor_path)) {
  controllers_ = options_.controllers;
  if (controllers_.empty()) controllers_.push_back(options_.controller);
  JobManager::Options jm;
  jm.state_dir = options_.state_dir;
  jm.supervisor_path = supervisor_path_;
  jm.node_name = options_.node_name;
  // A start is not reported: the controller recorded it when it sent the launch, and a launch
  // that fails is reported as the job's end.
  JobManager::Listener listener;
  listener.finished = [this](const JobResult& r) {
    JobEnded(r.job_id);  // the batch script's end is the job's
    Enqueue(FinishedMessage(r));
  };
  jobs_ = std::make_unique<JobManager>(jm, std::move(listener));
  JobManager::Listener step_listener;
  step_listener.finished = [this](const JobResult& r) { Enqueue(StepFinishedMessage(r)); };
  jm.state_dir = options_.state_dir + "/steps";
  steps_ = std::make_unique<JobManager>(std::move(jm), std::move(step_listener));
}

void Agent::NewChannel(int connect_timeout_ms) {
  const grpc::ChannelArguments args = rpc::AgentChannelArguments(connect_timeout_ms);
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options_.tls_ca_pem.empty()) {
    credentials = grpc::InsecureChannelCredentials();  // tests' plaintext fake controllers
  } else {
    // The controller must show a certificate of the cluster's CA for the name we dial.
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options_.tls_ca_pem;
    credentials = grpc::SslCredentials(ssl);
  }
  channel_ = grpc::CreateCustomChannel(controllers_[current_], credentials, args);
  stub_ = rpc::AgentService::NewStub(channel_);
}

Agent::~Agent() = default;

void Agent::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(health_mu_);
    health_stop_ = true;
    health_cv_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mu_);
  shutdown_ = true;
  if (ctx_ != nullptr) ctx_->TryCancel();
  cv_.notify_all();
}

void Agent::ConfigureHealthCheck(const std::string& program, uint32_t interval_s) {
  std::lock_guard<std::mutex> lock(health_mu_);
  if (program == health_program_ && interval_s == health_interval_s_) return;
  health_program_ = program;
  health_interval_s_ = interval_s;
  health_changed_ = true;
  health_cv_.notify_all();
  if (!program.empty() && interval_s > 0) {
    spdlog::info("health check: {} every {} s", program, interval_s);
  }
}

void Agent::HealthLoop() {
  std::unique_lock<std::mutex> lock(health_mu_);
  while (!health_stop_) {
    health_changed_ = false;
    if (health_program_.empty() || health_interval_s_ == 0) {
      health_cv_.wait(lock, [this] { return health_stop_ || health_changed_; });
      continue;
    }
    const std::string program = health_program_;
    const auto interval = std::chrono::seconds(health_interval_s_);
    // A check may take as long as the interval, and at most a minute.
    const auto timeout = std::min<std::chrono::seconds>(interval, std::chrono::seconds(60));
    lock.unlock();
    HealthCheckResult r = RunHealthCheck(program, timeout);
    rpc::AgentMessage m;
    m.mutable_node_health()->set_ok(r.ok);
    if (!r.ok) {
      m.mutable_node_health()->set_failure(r.Describe(timeout));
      spdlog::warn("health check {} failed: {}", program, r.Describe(timeout));
    }
    Enqueue(std::move(m));  // dropped while unregistered: the next run reports again
    lock.lock();
    health_cv_.wait_for(lock, interval, [this] { return health_stop_ || health_changed_; });
  }
}

void Agent::Enqueue(rpc::AgentMessage msg) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!registered_ || session_over_) return;
  outbox_.push_back(std::move(msg));
  cv_.notify_all();
}

rpc::AgentMessage Agent::MakeRegister() {
  rpc::AgentMessage m;
  rpc::Register* r = m.mutable_register_();
  r->set_node_name(options_.node_name);
  r->set_hostname(options_.address.empty() ? HostName() : options_.address);
  r->set_cpus(options_.cpus);
  r->set_memory_mb(options_.memory_mb);
  for (uint32_t i = 0; i < options_.gpus; ++i) {
    rpc::GpuInfo* g = r->add_gpus();
    g->set_index(i);
    g->set_type(options_.gpu_type);
    g->set_emulated(true);
  }
  for (const std::string& f : options_.features) r->add_features(f);
  for (const RunningJobInfo& j : jobs_->Running()) {
    rpc::RunningJob* rj = r->add_running();
    rj->set_job_id(j.job_id);
    rj->set_generation(j.generation);
    rj->set_start_time(j.start_time);
  }
  // Finished but unacknowledged jobs are still held here, and their JobFinished follows the
  // RegisterReply. Listing them keeps the controller from taking them for lost and starting
  // them again; a job it no longer wants comes back in kill_job_ids and is dropped.
  for (const JobResult& f : jobs_->Unacknowledged()) {
    rpc::RunningJob* rj = r->add_running();
    rj->set_job_id(f.job_id);
    rj->set_generation(f.generation);
    rj->set_start_time(f.start_time);
  }
  r->set_version(SHOAL_VERSION);
  r->set_metrics_address(options_.metrics_endpoint);
  return m;
}

int Agent::Run() {
  if (Status st = jobs_->Start(); !st.ok()) {
    spdlog::error("{}", st.message());
    return 1;
  }
  if (Status st = steps_->Start(); !st.ok()) {
    spdlog::error("{}", st.message());
    return 1;
  }
  std::vector<RunningJobInfo> running = jobs_->Running();
  spdlog::info("agent {} starting: controller {}, {} cpus, {} MiB, {} gpus, {} running jobs",
               options_.node_name, options_.controller, options_.cpus, options_.memory_mb,
               options_.gpus, running.size());

  std::thread health([this] { HealthLoop(); });
  std::mt19937_64 rng(std::random_device{}());
  auto backoff = kBackoffStart;
  int failures = 0;
  // Several controllers (one leads, the others stand by and refuse agents): a lost or refused
  // session moves on to the next address at once; the backoff comes after a whole round, and
  // stays short, as a standby takes over within seconds.
  const bool several = controllers_.size() > 1;
  const auto backoff_cap = several ? std::chrono::milliseconds(500) : kBackoffCap;
  size_t tried_in_round = 0;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (shutdown_) break;
    }
    // A fresh channel per attempt: the previous one may sit in gRPC's own backoff. Its connect
    // timeout starts at 1 s (a controller shutting down may accept and never answer) and doubles
    // with each failure up to gRPC's 20 s (a restarted controller under a whole fleet's
    // handshakes answers late).
    NewChannel(std::min(1000 << std::min(failures, 5), 20000));
    bool registered = false;
    Status st = Session(&registered);
    if (st.code() == StatusCode::kPermissionDenied) {
      // Maybe the key is being rotated on the controller's side: keep trying, loudly.
      spdlog::error(
          "cluster key rejected by controller {}: {} (check --cluster-key-file {}); "
          "retrying",
          controllers_[current_], st.message(), options_.cluster_key_file);
      failures = 1;  // the warning below would only repeat this
    } else if (st.code() == StatusCode::kFailedPrecondition) {
      spdlog::error("controller refused registration: {}", st.message());
      {
        std::lock_guard<std::mutex> lock(health_mu_);
        health_stop_ = true;
        health_cv_.notify_all();
      }
      health.join();
      return 1;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (shutdown_) break;
    }
    if (registered) {
      backoff = kBackoffStart;
      failures = 0;
      tried_in_round = 0;
    }
    const std::string dialed = controllers_[current_];
    if (several) {
      // A standby's refusal names the leader; other failures say what went wrong.
      if (!registered) spdlog::info("controller {}: {}", dialed, st.message());
      current_ = (current_ + 1) % controllers_.size();
      if (++tried_in_round < controllers_.size()) continue;
      tried_in_round = 0;
    }
    // Jitter spreads the reconnects of many agents after a controller restart.
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(backoff * jitter(rng));
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, backoff_cap);
    if (failures++ % 20 == 0) {
      spdlog::warn("controller {}: {}; retrying in {} ms", dialed, st.message(), delay.count());
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, delay, [this] { return shutdown_; });
  }
  health.join();  // Shutdown() stopped it
  spdlog::info("agent {} stopping; jobs keep running", options_.node_name);
  return 0;
}

Status Agent::Session(bool* registered) {
  grpc::ClientContext ctx;
  if (!options_.cluster_key.empty()) {
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    security::MembershipProof proof =
        security::MakeMembershipProof(options_.cluster_key, options_.node_name, now);
    ctx.AddMetadata(security::kProofNodeHeader, proof.node);
    ctx.AddMetadata(security::kProofTimeHeader, proof.time);
    ctx.AddMetadata(security::kProofNonceHeader, proof.nonce);
    ctx.AddMetadata(security::kProofMacHeader, proof.mac);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutdown_) return Status::Ok();
    ctx_ = &ctx;
    registered_ = false;
    session_over_ = false;
    outbox_.clear();
  }
  std::unique_ptr<Stream> stream = stub_->Connect(&ctx);
  std::thread writer;
  // `call_over`: the call already failed before registering (the first Write or Read failed),
  // so no Write can be stuck and Finish returns at once; not cancelling keeps its status (the
  // controller's UNAUTHENTICATED, a TLS handshake failure) instead of CANCELLED.
  auto end_session = [&](Status st, bool call_over = false) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      session_over_ = true;
      registered_ = false;
      outbox_.clear();
      cv_.notify_all();
    }
    if (!call_over) ctx.TryCancel();  // unblocks a writer stuck in Write
    if (writer.joinable()) writer.join();
    grpc::Status gs = stream->Finish();
    std::lock_guard<std::mutex> lock(mu_);
    ctx_ = nullptr;
    if (gs.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      std::string why = gs.error_message();
      constexpr std::string_view kPrefix = "cluster key rejected: ";
      if (why.starts_with(kPrefix)) why.erase(0, kPrefix.size());
      return PermissionDenied(why);
    }
    if (st.ok() && !gs.ok()) return Unavailable(gs.error_message());
    if (call_over && !gs.ok()) return Unavailable(st.message() + ": " + gs.error_message());
    return st;
  };

  if (!stream->Write(MakeRegister())) {
    return end_session(Unavailable("cannot send Register"), /*call_over=*/true);
  }
  // The writer enforces the register timeout, then sends the outbox and heartbeats.
  writer = std::thread([&] { WriterLoop(stream.get(), &ctx); });

  rpc::ControllerMessage msg;
  if (!stream->Read(&msg)) {
    return end_session(Unavailable("stream closed before RegisterReply"), /*call_over=*/true);
  }
  if (!msg.has_register_reply()) {
    return end_session(Unavailable("protocol error: first message is not a RegisterReply"));
  }
  const rpc::RegisterReply& reply = msg.register_reply();
  if (!reply.accepted()) {
    return end_session(
        FailedPrecondition(reply.message().empty() ? "no reason given" : reply.message()));
  }
  // Fenced before anything else is read from the stream, so no new work starts before the
  // runs the controller gave away are being killed.
  for (uint64_t job_id : reply.kill_job_ids()) jobs_->Fence(job_id);
  ConfigureHealthCheck(reply.health_check_program(), reply.health_check_interval_s());
  ConfigureCgroups(reply.task_cgroup());
  {
    std::lock_guard<std::mutex> lock(mu_);
    registered_ = true;
    heartbeat_ms_ = reply.heartbeat_interval_ms() > 0 ? reply.heartbeat_interval_ms() : 1000;
    cv_.notify_all();
  }
  *registered = true;
  spdlog::info("registered with controller {} (heartbeat every {} ms)", controllers_[current_],
               reply.heartbeat_interval_ms() > 0 ? reply.heartbeat_interval_ms() : 1000);
  // After registered_ is set, so a job finishing now is sent at least once (maybe twice).
  for (const JobResult& r : jobs_->Unacknowledged()) Enqueue(FinishedMessage(r));
  for (const JobResult& r : steps_->Unacknowledged()) Enqueue(StepFinishedMessage(r));

  while (stream->Read(&msg)) Dispatch(msg);
  return end_session(Unavailable("stream to the controller ended"));
}

void Agent::WriterLoop(Stream* stream, grpc::ClientContext* ctx) {
  const auto register_deadline = Clock::now() + kRegisterTimeout;
  auto next_heartbeat = Clock::now();  // first one right after registering
  std::unique_lock<std::mutex> lock(mu_);
  while (!session_over_) {
    if (!registered_) {
      if (cv_.wait_until(lock, register_deadline,
                         [this] { return registered_ || session_over_; })) {
        continue;
      }
      lock.unlock();
      spdlog::warn("no RegisterReply within {} s", kRegisterTimeout.count());
      ctx->TryCancel();
      return;
    }
    rpc::AgentMessage msg;
    if (!outbox_.empty()) {
      msg = std::move(outbox_.front());
      outbox_.pop_front();
    } else if (Clock::now() >= next_heartbeat) {
      next_heartbeat = Clock::now() + std::chrono::milliseconds(heartbeat_ms_);
      rpc::Heartbeat* hb = msg.mutable_heartbeat();
      hb->set_time(static_cast<int64_t>(time(nullptr)));
      hb->set_load_1m(HostLoad1m());
      hb->set_free_memory_mb(HostFreeMemoryMB());
      if (gpu_reader_) {
        lock.unlock();  // NVML may take a while; the outbox stays open meanwhile
        AddGpuReadings(gpu_reader_(), hb);
        lock.lock();
      }
      lock.unlock();
      SweepNamedContainers();
      lock.lock();
    } else {
      cv_.wait_until(lock, next_heartbeat);
      continue;
    }
    lock.unlock();
    bool ok = stream->Write(msg);
    lock.lock();
    if (!ok) {
      lock.unlock();
      ctx->TryCancel();  // the reader will see the end of the stream
      return;
    }
  }
}

rpc::AgentMessage Agent::UsageReportMessage(const rpc::UsageRequest& req) const {
  rpc::AgentMessage m;
  rpc::UsageReport* r = m.mutable_usage_report();
  r->set_request_id(req.request_id());
  r->set_job_id(req.job_id());
  for (const RunningJobInfo& j : jobs_->Running()) {
    if (j.job_id != req.job_id()) continue;
    rpc::StepUsage* step = r->add_steps();
    step->set_batch(true);
    AddTasks(ReadTaskUsage(j.supervisor_pid), step);
  }
  for (const RunningJobInfo& unit : steps_->Running()) {
    if (JobOfUnit(unit.job_id) != req.job_id()) continue;
    rpc::StepUsage* step = r->add_steps();
    step->set_step_id(StepOfUnit(unit.job_id));
    AddTasks(ReadTaskUsage(unit.supervisor_pid), step);
  }
  return m;
}

void Agent::ConfigureCgroups(bool wanted) {
  task_cgroup_ = wanted;
  if (!wanted || cgroup_layout_) return;
  cgroup_layout_ = PrepareCgroupLayout(options_.node_name);
  if (!cgroup_layout_->ok()) {
    spdlog::warn("TaskPlugin=task/cgroup: jobs run without cgroups here: {}",
                 cgroup_layout_->problem);
  } else {
    spdlog::info("jobs run in cgroups under {}", cgroup_layout_->parents.front());
    if (!cgroup_layout_->memory) {
      spdlog::warn("TaskPlugin=task/cgroup: {}", cgroup_layout_->problem);
    }
  }
}

void Agent::AddCgroup(JobSpec& spec, uint64_t job_id, bool batch, uint32_t step_id,
                      uint64_t memory_limit_mb) const {
  if (!task_cgroup_ || !cgroup_layout_ || !cgroup_layout_->ok()) return;
  spec.cgroup_dirs = JobCgroupDirs(*cgroup_layout_, job_id);
  spec.cgroup_leaf = StepCgroupLeaf(batch, step_id);
  if (cgroup_layout_->memory) spec.memory_limit_bytes = memory_limit_mb << 20;
}

std::string Agent::NamedContainersDir(uint64_t job_id) const {
  return options_.state_dir + "/" + kNamedContainersDir + "/" + std::to_string(job_id);
}

void Agent::JobEnded(uint64_t job_id) {
  std::lock_guard<std::mutex> lock(containers_mu_);
  ended_jobs_.insert(job_id);
}

void Agent::SweepNamedContainers() {
  std::vector<uint64_t> ended;
  {
    std::lock_guard<std::mutex> lock(containers_mu_);
    if (ended_jobs_.empty()) return;
    ended.assign(ended_jobs_.begin(), ended_jobs_.end());
  }
  std::set<uint64_t> busy;
  for (const RunningJobInfo& unit : jobs_->Running()) busy.insert(unit.job_id);
  for (const RunningJobInfo& unit : steps_->Running()) busy.insert(JobOfUnit(unit.job_id));
  for (uint64_t job_id : ended) {
    if (busy.count(job_id) != 0) continue;  // its containers may still be in use: next time
    const std::string dir = NamedContainersDir(job_id);
    struct stat st;
    if (stat(dir.c_str(), &st) == 0) {
      RemoveJobDir(dir);
      spdlog::info("job {}: removed its named containers ({})", job_id, dir);
    }
    std::lock_guard<std::mutex> lock(containers_mu_);
    ended_jobs_.erase(job_id);
  }
}

void Agent::Dispatch(const rpc::ControllerMessage& msg) {
  switch (msg.body_case()) {
    case rpc::ControllerMessage::kLaunch: {
      const rpc::LaunchJob& l = msg.launch();
      JobSpec spec = SpecFromLaunch(l);
      AddCgroup(spec, l.job_id(), /*batch=*/true, 0, l.memory_limit_mb());
      // A new run of the job (a requeue) starts without what an earlier run left here.
      {
        std::lock_guard<std::mutex> lock(containers_mu_);
        if (ended_jobs_.erase(l.job_id()) != 0) RemoveJobDir(NamedContainersDir(l.job_id()));
      }
      if (!spec.container.name.empty()) spec.containers_dir = NamedContainersDir(l.job_id());
      Status st = jobs_->Launch(std::move(spec), l.script());
      if (!st.ok()) spdlog::error("job {}: {}", l.job_id(), st.message());
      break;
    }
    case rpc::ControllerMessage::kSignal: {
      const rpc::SignalJob& s = msg.signal();
      Status st = jobs_->Signal(s.job_id(), s.signal(), s.whole_tree());
      if (!st.ok()) spdlog::warn("signal: {}", st.message());
      break;
    }
    case rpc::ControllerMessage::kTerminate: {
      const rpc::TerminateJob& t = msg.terminate();
      Status st = jobs_->Terminate(t.job_id(), t.kill_wait_s());
      // An interactive allocation has no batch script here: only its steps.
      if (!st.ok() && st.code() != StatusCode::kNotFound) {
        spdlog::warn("terminate: {}", st.message());
      }
      for (const RunningJobInfo& unit : steps_->Running()) {
        if (JobOfUnit(unit.job_id) == t.job_id()) steps_->Terminate(unit.job_id, t.kill_wait_s());
      }
      JobEnded(t.job_id());
      SweepNamedContainers();
      break;
    }
    case rpc::ControllerMessage::kLaunchTasks: {
      const rpc::LaunchTasks& l = msg.launch_tasks();
      JobSpec spec = SpecFromLaunchTasks(l);
      AddCgroup(spec, l.job_id(), /*batch=*/false, l.step_id(), l.memory_limit_mb());
      if (!spec.container.name.empty()) spec.containers_dir = NamedContainersDir(l.job_id());
      Status st = steps_->Launch(std::move(spec), "");
      if (!st.ok()) spdlog::error("step {}.{}: {}", l.job_id(), l.step_id(), st.message());
      break;
    }
    case rpc::ControllerMessage::kSignalStep: {
      const rpc::SignalStep& s = msg.signal_step();
      const uint64_t key = StepUnitKey(s.job_id(), s.step_id());
      Status st = s.signal() == 0 ? steps_->Terminate(key, s.kill_wait_s())
                                  : steps_->Signal(key, s.signal(), /*whole_tree=*/true);
      if (!st.ok()) spdlog::debug("step {}.{}: {}", s.job_id(), s.step_id(), st.message());
      break;
    }
    case rpc::ControllerMessage::kStepFinishedAck: {
      const rpc::StepFinishedAck& a = msg.step_finished_ack();
      steps_->Acknowledge(StepUnitKey(a.job_id(), a.step_id()), a.generation());
      break;
    }
    case rpc::ControllerMessage::kUpdateTimeLimit: {
      const rpc::UpdateTimeLimit& u = msg.update_time_limit();
      Status st = jobs_->UpdateTimeLimit(u.job_id(), u.time_limit_s());
      if (!st.ok()) spdlog::warn("time limit: {}", st.message());
      break;
    }
    case rpc::ControllerMessage::kFinishedAcks:
      for (const rpc::JobFinishedAck& a : msg.finished_acks().acks()) {
        jobs_->Acknowledge(a.job_id(), a.generation());
      }
      break;
    case rpc::ControllerMessage::kUsageRequest:
      Enqueue(UsageReportMessage(msg.usage_request()));
      break;
    case rpc::ControllerMessage::kRegisterReply:
      spdlog::warn("ignoring a second RegisterReply");
      break;
    case rpc::ControllerMessage::BODY_NOT_SET:
      break;
  }
}

}  // namespace shoal::agent
