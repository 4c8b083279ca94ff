#include "controller/controller.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "common/hostlist.h"
#include "common/output_pattern.h"
#include "common/slurm_time.h"
#include "common/strings.h"
#include "common/webhook_url.h"
#include "controller/authz.h"
#include "controller/container_rpc.h"
#include "controller/job_env.h"
#include "core/container.h"
#include "core/job_array.h"
#include "security/crypto.h"
#include "store/postgres_store.h"

namespace shoal {

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// A heartbeat's GPU readings, checked: indices the node registered, each once; a ratio in 0..1;
// memory used within the total; a temperature and a power a GPU can have.
Result<std::vector<GpuReading>> CheckGpuReadings(const rpc::Heartbeat& hb, uint32_t gpus) {
  std::vector<GpuReading> out;
  std::vector<bool> seen(gpus, false);
  for (const rpc::GpuReading& r : hb.gpus()) {
    const std::string which = "GPU reading " + std::to_string(r.index());
    if (r.index() >= gpus) {
      return InvalidArgument(which + ": the node registered " + std::to_string(gpus) + " GPUs");
    }
    if (seen[r.index()]) return InvalidArgument(which + " given twice");
    seen[r.index()] = true;
    if (!(r.utilization_ratio() >= 0 && r.utilization_ratio() <= 1)) {
      return InvalidArgument(which + ": utilization_ratio outside 0..1");
    }
    if (r.memory_used_bytes() > r.memory_total_bytes()) {
      return InvalidArgument(which + ": memory used exceeds the total");
    }
    if (!(r.temperature_celsius() >= -40 && r.temperature_celsius() <= 150)) {
      return InvalidArgument(which + ": temperature outside -40..150 C");
    }
    if (!(r.power_watts() >= 0 && r.power_watts() <= 10000)) {
      return InvalidArgument(which + ": power outside 0..10000 W");
    }
    out.push_back({r.index(), r.utilization_ratio(), r.memory_used_bytes(), r.memory_total_bytes(),
                   r.temperature_celsius(), r.power_watts()});
  }
  return out;
}

}  // namespace

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------------------
// AgentSession

void AgentSession::Send(rpc::ControllerMessage msg) {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    outbox_.push_back(std::move(msg));
    if (wake_wanted_) {
      wake_wanted_ = false;
      wake = wake_;
    }
  }
  cv_.notify_one();
  if (wake) wake();
}

bool AgentSession::Next(rpc::ControllerMessage& out) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return closed_ || !outbox_.empty(); });
  if (outbox_.empty()) return false;
  out = std::move(outbox_.front());
  outbox_.pop_front();
  return true;
}

AgentSession::Poll AgentSession::TryNext(rpc::ControllerMessage& out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!outbox_.empty()) {
    out = std::move(outbox_.front());
    outbox_.pop_front();
    return Poll::kMessage;
  }
  if (closed_) return Poll::kClosed;
  wake_wanted_ = true;
  return Poll::kEmpty;
}

void AgentSession::SetWake(std::function<void()> wake) {
  std::lock_guard<std::mutex> lock(mu_);
  wake_ = std::move(wake);
}

void AgentSession::Close() {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    ended_.store(true, std::memory_order_release);
    outbox_.clear();
    if (wake_wanted_) {
      wake_wanted_ = false;
      wake = wake_;
    }
  }
  cv_.notify_all();
  if (wake) wake();
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

Controller::Controller(ControllerConfig config, std::unique_ptr<Store> store,
                       std::string socket_path)
    : config_(std::move(config)), store_(std::move(store)), socket_path_(std::move(socket_path)) {
  nodes_ = config_.nodes;
  for (size_t i = 0; i < nodes_.size(); ++i) node_index_[nodes_[i].name] = i;
  partitions_ = EffectivePartitions(config_);
  metrics_ = std::make_unique<ControllerMetrics>(config_.cluster_name);
  if (store_) store_->SetCommitObserver([m = metrics_.get()](double s) { m->StoreCommit(s); });
}

Controller::~Controller() {
  Stop();
  // The store's writer thread reports every commit to metrics_, which as a later member would
  // go first: the store (and its thread) must end before it.
  store_.reset();
}

Status Controller::Start(const PolicyRegistry& registry) {
  auto scheduler = Scheduler::Create(SchedulerOptionsFor(config_), registry);
  if (!scheduler.ok()) return scheduler.status();
  scheduler_ = std::move(scheduler).value();
  const int64_t now = NowSeconds();
  auto max_id = store_->MaxJobId();
  if (!max_id.ok()) return max_id.status();
  next_job_id_ = *max_id + 1;
  auto loaded = store_->LoadLiveJobs(now - config_.min_job_age_s);
  if (!loaded.ok()) return loaded.status();
  auto usage = store_->LoadUsage();
  if (!usage.ok()) return usage.status();
  auto node_states = store_->LoadNodeStates();
  if (!node_states.ok()) return node_states.status();
  auto outbox = store_->LoadOutbox();
  if (!outbox.ok()) return outbox.status();
  std::optional<std::string> power_doc;
  if (config_.power.Enabled()) {
    auto doc = store_->LoadDocument("power");
    if (!doc.ok()) return doc.status();
    power_doc = std::move(doc).value();
  }
  // Steps of the jobs still running carry on across a restart (their tasks never stopped).
  std::vector<JobId> running_ids;
  for (const Job& job : *loaded) {
    if (job.state == JobState::kRunning) running_ids.push_back(job.id);
  }
  Status accounting = LoadAccounting();
  if (!accounting.ok()) return accounting;
  Status reservations = LoadReservations();
  if (!reservations.ok()) return reservations;
  Status events = LoadOpenNodeEvents(now);
  if (!events.ok()) return events;
  std::vector<Step> stored_steps;
  if (!running_ids.empty()) {
    auto steps = store_->QuerySteps(running_ids);
    if (!steps.ok()) return steps.status();
    stored_steps = std::move(steps).value();
  }
  WriteLock lock = LockForChange();
  // Drains and downs an administrator set outlive a restart; nodes that register later get
  // theirs when they are added.
  for (NodeAdminState& n : *node_states) admin_states_[n.name] = std::move(n);
  for (Node& node : nodes_) ApplyAdminStateLocked(node);
  // A self-registered node drained or downed before the restart is listed, not responding
  // ("drain*"), until its agent is back: sinfo -R still shows why it is out, and scontrol can
  // resume or delete it meanwhile. A record without a size (older store) waits for the agent.
  for (const auto& [name, saved] : admin_states_) {
    if (saved.cpus == 0 || FindNodeLocked(name) != nullptr) continue;
    Node absent;
    absent.name = name;
    absent.cpus = saved.cpus;
    absent.memory_mb = std::max<uint64_t>(saved.memory_mb, 1);
    absent.gpus = saved.gpus;
    absent.gpu_type = saved.gpu_type;
    absent.gpu_busy.assign(saved.gpus, false);
    InsertNodeLocked(std::move(absent));
  }
  usage_ = std::move(usage).value();
  if (usage_.as_of == 0) usage_.as_of = now;
  if (usage_.last_reset == 0) usage_.last_reset = now;
  if (config_.usage_reset == UsageResetPeriod::kNow) {
    usage_.usage.clear();
    usage_.last_reset = now;
    SaveUsageLocked({}, /*replace_all=*/true);
  }
  last_usage_calc_ = now;
  for (Job& job : *loaded) {
    // Running jobs keep their allocation; their agents reconcile when they reconnect, and a
    // node that never comes back is declared failed after the node timeout. A pending job
    // holds nothing (its nodes are those of an earlier run) unless that run is still ending.
    if ((!IsFinished(job.state) && job.state != JobState::kPending) || job.terminating) {
      for (size_t i = 0; i < job.nodes.size(); ++i) {
        Node* node = FindNodeLocked(job.nodes[i]);
        if (node == nullptr) {
          Node placeholder;
          placeholder.name = job.nodes[i];
          placeholder.cpus = std::max(job.cpus_per_node, 1u);
          placeholder.memory_mb = std::max<uint64_t>(job.mem_per_node_alloc_mb, 1);
          node = InsertNodeLocked(std::move(placeholder));
        }
        node->last_heartbeat = now;  // grace period starts now
        node->heard_ms = SteadyMs();
        node->alloc_cpus += job.cpus_per_node;
        node->alloc_mem_mb += job.mem_per_node_alloc_mb;
        node->running_jobs.push_back(job.id);
        if (i < job.gpu_indices.size()) {
          for (uint32_t g : job.gpu_indices[i]) {
            if (g >= node->gpu_busy.size()) node->gpu_busy.resize(g + 1, false);
            node->gpu_busy[g] = true;
          }
        }
      }
    }
    if (HasWebhooks(job)) announced_[job.id] = {job.state, job.restart_count};
    const bool live = !IsFinished(job.state);
    if (!live) finished_by_end_.emplace(job.end_time, job.id);
    Job& held = jobs_.emplace(job.id, std::move(job)).first->second;
    if (live) {
      StampAssoc(held, accounting_, assoc_lookup_);
      live_jobs_.emplace(held.id, &held);
    }
  }
  last_registration_ms_ = SteadyMs();
  RestoreStepsLocked(stored_steps);
  InitPowerLocked(power_doc, now);
  WebhookOutboxOptions webhook_options;
  webhook_options.secret = config_.webhook_secret;
  webhook_options.max_age_s = config_.webhook_max_age_s;
  webhooks_ = std::make_unique<WebhookOutbox>(std::move(webhook_options), store_.get(),
                                              metrics_.get(), std::move(webhook_sender_));
  webhooks_->Start(std::move(outbox).value());
  // The factors' scales (largest QOS, partition and account priority, the cluster's size) are
  // known from here on, not only after the first scheduling pass: a job submitted before that
  // pass gets the priority it will keep.
  RefreshPriorityInputsLocked(/*fairshare=*/false);
  spdlog::info("controller: loaded {} jobs, next job id {}", jobs_.size(), next_job_id_);
  scheduler_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "scheduler");
    SchedulerLoop();
  });
  timer_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "timer");
    TimerLoop();
  });
  {
    std::lock_guard<std::mutex> lock(intake_mu_);
    intake_running_ = true;
  }
  intake_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "agent-intake");
    AgentIntakeLoop();
  });
  return Status::Ok();
}

void Controller::Stop() {
  {
    std::lock_guard<std::mutex> lock(sched_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  sched_cv_.notify_all();
  if (scheduler_thread_.joinable()) scheduler_thread_.join();
  if (timer_thread_.joinable()) timer_thread_.join();
  {
    // Registrations and messages already queued are applied (and the sessions closed below).
    std::lock_guard<std::mutex> lock(intake_mu_);
    intake_stopping_ = true;
  }
  intake_cv_.notify_all();
  if (intake_thread_.joinable()) intake_thread_.join();
  WaitPowerHooks();  // they end within their time limits; nothing of theirs is applied now
  // Before the store goes: undelivered events stay in it for the next start.
  if (webhooks_) webhooks_->Stop();
  WriteLock lock = LockForChange();
  for (auto& [name, session] : sessions_) session->Close();
}

// ---------------------------------------------------------------------------------------------
// Lookups

Node* Controller::FindNodeLocked(const std::string& name) {
  auto it = node_index_.find(name);
  return it == node_index_.end() ? nullptr : &nodes_[it->second];
}

// Nodes stay in natural name order (node2 before node10), which is the order placement
// tries them in, whatever order they registered in.
Node* Controller::InsertNodeLocked(Node node) {
  auto natural_less = [](const std::string& a, const std::string& b) {
    size_t da = a.find_last_not_of("0123456789") + 1, db = b.find_last_not_of("0123456789") + 1;
    if (a.compare(0, da, b, 0, db) != 0 || da == a.size() || db == b.size()) return a < b;
    if (a.size() - da != b.size() - db) return a.size() - da < b.size() - db;
    return a.compare(da, std::string::npos, b, db, std::string::npos) < 0;
  };
  auto pos = std::upper_bound(nodes_.begin(), nodes_.end(), node.name,
                              [&](const std::string& name, const Node& n) {
                                return natural_less(name, n.name);
                              });
  ApplyAdminStateLocked(node);
  const size_t at = static_cast<size_t>(pos - nodes_.begin());
  nodes_.insert(pos, std::move(node));
  // Only the nodes from the insertion point on moved. Agents usually register in name order,
  // so this is one entry, not the whole index (a 10,000-node registration storm rebuilt it
  // 10,000 times under the exclusive lock).
  for (size_t i = at; i < nodes_.size(); ++i) node_index_[nodes_[i].name] = i;
  return &nodes_[at];
}

const Partition* Controller::FindPartitionLocked(const std::string& name) const {
  for (const auto& p : partitions_) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const Partition* Controller::DefaultPartitionLocked() const {
  for (const auto& p : partitions_) {
    if (p.is_default) return &p;
  }
  return nullptr;
}

// Parses "12" or "10_3".
static bool ParseJobRef(const std::string& id, JobId& job, int64_t& task) {
  auto us = id.find('_');
  auto j = ParseUint(id.substr(0, us));
  if (!j || *j == 0) return false;
  job = *j;
  task = kNoArrayTask;
  if (us != std::string::npos) {
    auto t = ParseInt(id.substr(us + 1));
    if (!t || *t < 0) return false;
    task = *t;
  }
  return true;
}

// The jobs of `jobs` that "12", "10_3" or "10" (a whole array) names.
template <typename JobMap, typename JobPtr>
static void ResolveIdsIn(JobMap& jobs, const std::string& id, std::vector<JobPtr>& out) {
  JobId job_id;
  int64_t task;
  if (!ParseJobRef(id, job_id, task)) return;
  auto it = jobs.find(job_id);
  // Tasks of an array have consecutive ids starting at the array job id.
  if (it != jobs.end() && it->second.array_job_id == job_id) {
    for (; it != jobs.end() && it->second.array_job_id == job_id; ++it) {
      if (task == kNoArrayTask || it->second.array_task_id == task) out.push_back(&it->second);
    }
    return;
  }
  if (it != jobs.end() && task == kNoArrayTask) out.push_back(&it->second);
}

std::vector<Job*> Controller::ResolveIdsLocked(const std::string& id) {
  std::vector<Job*> out;
  ResolveIdsIn(jobs_, id, out);
  return out;
}

std::vector<const Job*> Controller::ResolveIdsForReadLocked(const std::string& id) const {
  std::vector<const Job*> out;
  ResolveIdsIn(jobs_, id, out);
  // An arrival's record stays where it is while the shared lock is held (only a change moves
  // it), so the pointer outlives the arrivals' own mutex.
  std::lock_guard<std::mutex> lock(arrivals_mu_);
  if (!arrivals_.empty()) ResolveIdsIn(arrivals_, id, out);
  return out;
}

Controller::WriteLock Controller::LockForChange() {
  WriteLock lock(mu_);
  MergeArrivalsLocked();
  return lock;
}

void Controller::MergeArrivalsLocked() {
  std::lock_guard<std::mutex> lock(arrivals_mu_);
  while (!arrivals_.empty()) AdmitJobLocked(std::move(arrivals_.extract(arrivals_.begin()).mapped()));
}

void Controller::AdmitJobLocked(Job job) {
  // A new association takes a part of the shares: everyone's fair share changes.
  if (fairshare_.count(UsageKeyOf(job.req)) == 0) MarkFairshareStaleLocked();
  spdlog::info("job {} submitted by {} to {}", job.DisplayId(), job.req.user, job.req.partition);
  const JobId id = job.id;
  StampAssoc(job, accounting_, assoc_lookup_);
  MarkPriorityRowChangedLocked(id);
  live_jobs_.emplace(id, &jobs_.emplace(id, std::move(job)).first->second);
}


// ---------------------------------------------------------------------------------------------
// Submission

Result<JobId> Controller::Submit(SubmitRequest request, int64_t now) {
  JobRequest& req = request.req;
  if (req.interactive) {
    req.requeue = false;  // its submitter waits for this one run (steps.cc)
  } else if (request.script.rfind("#!", 0) != 0) {
    return InvalidArgument("This does not look like a batch script (no #! line)");
  } else if (request.requeue_unset) {
    // As in Slurm, JobRequeue is the default at submit time: the job keeps what it got.
    req.requeue = config_.requeue_default;
  }
  if (req.ntasks == 0 || req.cpus_per_task == 0 || req.min_nodes == 0) {
    return InvalidArgument("Invalid numeric value: nodes, ntasks and cpus-per-task must be positive");
  }
  if (req.max_nodes != 0 && req.max_nodes < req.min_nodes) {
    return InvalidArgument("Node count specification invalid");
  }
  if (req.work_dir.empty() || req.work_dir[0] != '/') {
    return InvalidArgument("working directory must be an absolute path");
  }
  if (req.name.empty()) req.name = "sbatch";
  if (req.ntasks < req.min_nodes) req.ntasks = req.min_nodes;
  if (!req.webhook.empty()) {
    if (Status s = ValidateWebhookUrl(req.webhook); !s.ok()) return s;
  }
  if (Status s = ValidateContainerSpec(req.container); !s.ok()) return s;

  ArraySpec array;
  if (!req.array_spec.empty()) {
    auto parsed = ParseArraySpec(req.array_spec, config_.max_array_size);
    if (!parsed.ok()) return parsed.status();
    array = std::move(parsed).value();
    req.array_max_running = array.max_running;
  }
  const size_t count = array.task_ids.empty() ? 1 : array.task_ids.size();

  std::vector<Job> jobs;
  {
    // Shared: a submission is checked against the cluster while a pass is computed.
    ReadLock lock(mu_);
    // A job naming a reservation tied to a partition runs in that partition: it is the job's
    // partition when none is asked for (as Slurm), and another one is refused, since the job
    // could never start (its nodes would be outside the reservation's).
    if (!req.reservation.empty()) {
      for (const Reservation& r : reservations_) {
        if (r.name != req.reservation || r.partition.empty()) continue;
        if (req.partition.empty()) {
          req.partition = r.partition;
        } else if (req.partition != r.partition) {
          return InvalidArgument("Requested reservation " + r.name + " is for partition " +
                                 r.partition + ", not " + req.partition);
        }
      }
    }
    const Partition* partition =
        req.partition.empty() ? DefaultPartitionLocked() : FindPartitionLocked(req.partition);
    if (partition == nullptr || partition->inactive) {
      return InvalidArgument("Invalid partition name specified");
    }
    if (partition->drain) return FailedPrecondition("Partition is in drain state");
    req.partition = partition->name;
    if (req.time_limit_s == 0) {
      req.time_limit_s = partition->default_time_s != kUnlimited ? partition->default_time_s
                                                                  : partition->max_time_s;
    }
    // Without -N (or with a range), Slurm picks as many nodes as the tasks need: spread them
    // over the fewest nodes of the partition's largest size.
    if ((req.max_nodes == 0 || req.max_nodes > req.min_nodes) && req.ntasks_per_node == 0 &&
        req.ntasks > 1) {
      uint32_t widest = 0;
      for (const Node& n : nodes_) {
        if (partition->Contains(n.name)) widest = std::max(widest, n.cpus);
      }
      const uint32_t tasks_per_node = widest / req.cpus_per_task;
      if (tasks_per_node > 0 && req.ntasks > tasks_per_node * req.min_nodes) {
        req.min_nodes = (req.ntasks + tasks_per_node - 1) / tasks_per_node;
        if (req.max_nodes != 0) req.min_nodes = std::min(req.min_nodes, req.max_nodes);
      }
    }
    Status sat = CheckSatisfiable(req, *partition, nodes_);
    if (!sat.ok()) return sat;
    // Slurm runs a job whose dependency names a job that does not exist, as if it were
    // satisfied: a mistyped id then starts work before its input is ready. A job that was never
    // issued, or an array task its known array does not have, is refused instead; a job id
    // issued earlier but no longer held (purged after MinJobAge) still counts as satisfied.
    for (const Dependency& d : req.dependency.clauses) {
      if (d.kind == Dependency::Kind::kSingleton) continue;
      const std::string named =
          d.array_task == kNoArrayTask ? std::to_string(d.job_id)
                                       : std::to_string(d.job_id) + "_" +
                                             std::to_string(d.array_task);
      if (d.job_id >= next_job_id_.load() ||
          (d.array_task != kNoArrayTask && ResolveIdsForReadLocked(named).empty() &&
           !ResolveIdsForReadLocked(std::to_string(d.job_id)).empty())) {
        return InvalidArgument("Job dependency problem: job " + named + " does not exist");
      }
    }
    Status assoc_ok = ResolveJobAssociation(accounting_, config_.enforce, req.user, req.account,
                                            req.qos, req.partition);
    if (!assoc_ok.ok()) return assoc_ok;
    const Qos* qos = FindQos(accounting_.qos, req.qos);
    if (qos != nullptr) req.qos = qos->name;
    if (!req.reservation.empty()) {
      // As Slurm: root and SlurmUser may use any reservation, others only those naming them
      // or their account.
      auto r = std::find_if(reservations_.begin(), reservations_.end(),
                            [&](const Reservation& x) { return x.name == req.reservation; });
      Reservation current = r == reservations_.end() ? Reservation{} : *r;
      if (r != reservations_.end()) RollForward(current, now);
      if (r == reservations_.end() || current.end_time <= now) {
        return InvalidArgument("Requested reservation is invalid");
      }
      if (req.uid != 0 && req.uid != getuid() && !current.Admits(req.user, req.account)) {
        return PermissionDenied("Access denied to requested reservation");
      }
    }
    // Counting live jobs walks them all: only for limits that are set.
    auto count_live = [&](const std::function<bool(const Job&)>& match) {
      int64_t n = 0;
      for (const auto& [id, job] : live_jobs_) n += match(*job) ? 1 : 0;
      std::lock_guard<std::mutex> arrivals_lock(arrivals_mu_);
      for (const auto& [id, job] : arrivals_) n += match(job) ? 1 : 0;
      return n;
    };
    if (config_.enforce.limits) {
      if (const Association* assoc = accounting_.JobAssoc(req.account, req.user, req.partition)) {
        LiveJobCounter live;
        // A partition association counts the jobs in its partition only.
        live.of_assoc = [&](const std::string& account, const std::string& user) {
          return count_live([&](const Job& j) {
            return !IsFinished(j.state) && j.req.account == account && j.req.user == user &&
                   (assoc->partition.empty() || j.req.partition == assoc->partition);
          });
        };
        live.of_subtree = [&](const std::string& account) {
          return count_live([&](const Job& j) {
            if (IsFinished(j.state)) return false;
            if (j.req.account == account) return true;
            const std::vector<std::string> up = accounting_.Ancestors(j.req.account);
            return std::find(up.begin(), up.end(), account) != up.end();
          });
        };
        Status limits_ok =
            CheckAssocSubmitLimits(accounting_, *assoc, req, static_cast<uint32_t>(count), live);
        if (!limits_ok.ok()) return limits_ok;
      }
    }
    uint32_t user_live = 0;
    if (qos != nullptr && qos->max_submit_jobs_per_user > 0) {
      user_live = static_cast<uint32_t>(count_live([&](const Job& j) {
        return !IsFinished(j.state) && j.req.user == req.user &&
               FindQos(accounting_.qos, QosNameOf(j.req)) == qos;
      }));
    }
    Status qos_ok = CheckQosAtSubmit(qos, req, user_live, static_cast<uint32_t>(count));
    if (!qos_ok.ok()) return qos_ok;
    size_t arrived = 0;
    {
      std::lock_guard<std::mutex> arrivals_lock(arrivals_mu_);
      arrived = arrivals_.size();
    }
    if (live_jobs_.size() + arrived + count > config_.max_job_count) {
      return Unavailable("Slurm temporarily unable to accept job, sleeping and retrying");
    }
    const JobId first = next_job_id_.fetch_add(count);
    for (size_t i = 0; i < count; ++i) {
      Job job;
      job.id = first + i;
      job.req = req;
      job.submit_time = now;
      job.eligible_time = std::max(now, req.begin_time);
      job.held = request.hold;
      job.reason = request.hold ? "JobHeldUser" : "None";
      job.last_modified = now;
      if (!array.task_ids.empty()) {
        job.array_job_id = first;
        job.array_task_id = array.task_ids[i];
      }
      job.priority = PriorityLocked(job, now);
      jobs.push_back(std::move(job));
    }
  }

  std::vector<StoreOp> ops;
  ops.reserve(count + 1);
  StoreOp payload;
  payload.kind = StoreOp::Kind::kInsertPayload;
  payload.payload_id = jobs.front().id;
  payload.payload.script = std::move(request.script);
  payload.payload.env = std::move(request.env);
  payload.payload.args = std::move(request.args);
  ops.push_back(std::move(payload));
  std::vector<OutboxEntry> events;
  for (const Job& job : jobs) {
    StoreOp op;
    op.kind = StoreOp::Kind::kInsertJob;
    op.job = job;
    ops.push_back(std::move(op));
    if (webhooks_ && HasWebhooks(job)) {
      for (OutboxEntry& e : WebhookEntries(job, "submitted", now)) {
        StoreOp add;
        add.kind = StoreOp::Kind::kAddOutbox;
        add.outbox = e;
        ops.push_back(std::move(add));
        events.push_back(std::move(e));
      }
    }
  }
  Status s = store_->Write(std::move(ops));
  if (!s.ok()) {
    spdlog::error("submit: store write failed: {}", s.message());
    return Internal("job could not be stored: " + s.message());
  }
  if (!events.empty()) webhooks_->Add(std::move(events));
  const JobId id = jobs.front().id;
  metrics_->JobsSubmitted(jobs);
  if (WriteLock lock(mu_, std::try_to_lock); lock.owns_lock()) {
    MergeArrivalsLocked();
    for (Job& job : jobs) AdmitJobLocked(std::move(job));
  } else {
    std::lock_guard<std::mutex> arrivals_lock(arrivals_mu_);
    for (Job& job : jobs) arrivals_.emplace(job.id, std::move(job));
  }
  TriggerSchedule();
  return id;
}

// ---------------------------------------------------------------------------------------------
// Queries

std::vector<Job> Controller::ListJobs(const JobFilter& f) const {
  std::vector<Job> out;
  ForEachJob(f, [&](const Job& job) { out.push_back(job); });
  return out;
}

void Controller::ForEachJob(const JobFilter& f, const std::function<void(const Job&)>& visit,
                            const std::function<void(size_t)>& expect) const {
  ForEachJobInRuns(
      f, 1, [&](size_t, const Job& job) { visit(job); },
      [&](size_t, size_t jobs) {
        if (expect) expect(jobs);
      });
}

void Controller::ForEachJobInRuns(
    const JobFilter& f, size_t runs, const std::function<void(size_t, const Job&)>& visit,
    const std::function<void(size_t runs, size_t jobs_per_run)>& expect) const {
  ReadLock lock(mu_);
  auto wanted = [](const auto& list, const auto& value) {
    return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
  };
  std::vector<const Job*> candidates;
  if (!f.ids.empty()) {
    for (const auto& id : f.ids) {
      for (const Job* j : ResolveIdsForReadLocked(id)) candidates.push_back(j);
    }
  } else if (!f.states.empty() && std::none_of(f.states.begin(), f.states.end(), IsFinished)) {
    // squeue's default: only live jobs, however many finished ones are still remembered.
    candidates.reserve(live_jobs_.size());
    for (const auto& [id, job] : live_jobs_) candidates.push_back(job);
  } else {
    candidates.reserve(jobs_.size());
    for (const auto& [id, job] : jobs_) candidates.push_back(&job);
  }
  if (f.ids.empty()) {
    // Arrivals are pending, newer than every job in jobs_: they come last in id order too.
    std::lock_guard<std::mutex> arrivals_lock(arrivals_mu_);
    for (const auto& [id, job] : arrivals_) candidates.push_back(&job);
  }
  // Below this a thread costs about what it saves.
  constexpr size_t kJobsPerRun = 20000;
  runs = std::clamp<size_t>(std::min(runs, candidates.size() / kJobsPerRun), 1, 16);
  const size_t per_run = (candidates.size() + runs - 1) / runs;
  if (expect) expect(runs, per_run);
  auto visit_run = [&](size_t run) {
    const size_t end = std::min(candidates.size(), (run + 1) * per_run);
    // Jobs are large and scattered over the heap: fetching the next ones while this one is
    // looked at hides most of the memory latency of a listing of 100,000. A listing reads
    // fields from all over a job (ids, request, state, times, nodes), so all of it is fetched.
    constexpr size_t kAhead = 8;
    constexpr size_t kCacheLine = 64;
    for (size_t k = run * per_run; k < end; ++k) {
      if (k + kAhead < end) {
        const char* ahead = reinterpret_cast<const char*>(candidates[k + kAhead]);
        for (size_t at = 0; at < sizeof(Job); at += kCacheLine) __builtin_prefetch(ahead + at);
      }
      const Job* job = candidates[k];
      if (!wanted(f.users, job->req.user) || !wanted(f.states, job->state) ||
          !wanted(f.partitions, job->req.partition) || !wanted(f.names, job->req.name)) {
        continue;
      }
      visit(run, *job);
    }
  };
  // The other runs' threads read under this thread's lock, held until they are done.
  std::vector<std::thread> threads;
  for (size_t run = 1; run < runs; ++run) threads.emplace_back(visit_run, run);
  visit_run(0);
  for (std::thread& t : threads) t.join();
}

Result<Job> Controller::GetJob(const std::string& id) const {
  ReadLock lock(mu_);
  auto found = ResolveIdsForReadLocked(id);
  // "10" names an array's first task's record here, as it does for changes.
  if (found.empty()) return NotFound("Invalid job id specified");
  return *found.front();
}

std::vector<Node> Controller::ListNodes() const {
  ReadLock lock(mu_);
  std::vector<Node> nodes = nodes_;
  if (!reservations_.empty()) {
    const int64_t now = NowSeconds();
    for (const Reservation& r : CurrentReservationsLocked(now)) {
      if (!r.ActiveAt(now)) continue;
      for (const std::string& name : r.nodes) {
        auto it = node_index_.find(name);
        if (it == node_index_.end()) continue;
        uint8_t& mark = nodes[it->second].reserved;
        mark = std::max<uint8_t>(mark, r.Has(kResvMaint) ? 2 : 1);
      }
    }
  }
  return nodes;
}

std::vector<Partition> Controller::ListPartitions() const {
  ReadLock lock(mu_);
  return partitions_;
}

Result<std::vector<Job>> Controller::QueryAccounting(const JobQuery& query) const {
  return store_->QueryJobs(query);
}

Result<std::vector<JobRecord>> Controller::QueryAccountingRecords(const JobQuery& query) const {
  return store_->QueryJobRecords(query);
}

namespace {
std::string OrNullText(const std::string& s) { return s.empty() ? "(null)" : s; }
}  // namespace

Json Controller::ConfigJson() const {
  Json c = {
      {"ClusterName", config_.cluster_name},
      {"SlurmctldDebug", config_.log_level.empty() ? "info" : config_.log_level},
      {"SlurmctldLogFile", config_.log_file.empty() ? "(null)" : config_.log_file},
      {"SlurmdTimeout", std::to_string(config_.node_timeout_s) + " sec"},
      {"AccountingStorageEnforce", FormatEnforceFlags(config_.enforce)},
      {"KillWait", std::to_string(config_.kill_wait_s) + " sec"},
      {"MinJobAge", std::to_string(config_.min_job_age_s) + " sec"},
      {"MaxArraySize", std::to_string(config_.max_array_size)},
      {"MaxJobCount", std::to_string(config_.max_job_count)},
      {"JobRequeue", config_.requeue_default ? "1" : "0"},
      {"HealthCheckProgram",
       config_.health_check_program.empty() ? "(null)" : config_.health_check_program},
      {"HealthCheckInterval", std::to_string(config_.health_check_interval_s) + " sec"},
      {"TaskPlugin", config_.task_plugin},
      {"ResumeProgram", OrNullText(config_.power.resume_program)},
      {"SuspendProgram", OrNullText(config_.power.suspend_program)},
      {"ResumeFailProgram", OrNullText(config_.power.resume_fail_program)},
      {"SuspendTime", config_.power.suspend_time_s < 0
                          ? std::string("INFINITE")
                          : std::to_string(config_.power.suspend_time_s) + " sec"},
      {"SuspendTimeout", std::to_string(config_.power.suspend_timeout_s) + " sec"},
      {"ResumeTimeout", std::to_string(config_.power.resume_timeout_s) + " sec"},
      {"ResumeRate", std::to_string(config_.power.resume_rate) + " nodes/min"},
      {"SuspendRate", std::to_string(config_.power.suspend_rate) + " nodes/min"},
      {"SuspendExcNodes", config_.power.suspend_exc_nodes.empty()
                              ? std::string("(null)")
                              : CompressHostlist(config_.power.suspend_exc_nodes)},
      {"SuspendExcParts", config_.power.suspend_exc_parts.empty()
                              ? std::string("(null)")
                              : Join(config_.power.suspend_exc_parts, ",")},
      {"SchedulerType", config_.scheduler_type},
      {"SchedulerParameters",
       config_.scheduler_parameters.empty() ? "(null)" : config_.scheduler_parameters},
      {"PriorityType", config_.priority_type},
      {"PriorityWeightAge", std::to_string(config_.weights.age)},
      {"PriorityWeightAssoc", std::to_string(config_.weights.assoc)},
      {"PriorityWeightFairShare", std::to_string(config_.weights.fairshare)},
      {"PriorityWeightJobSize", std::to_string(config_.weights.job_size)},
      {"PriorityWeightPartition", std::to_string(config_.weights.partition)},
      {"PriorityWeightQOS", std::to_string(config_.weights.qos)},
      {"PriorityMaxAge", FormatElapsed(config_.weights.max_age_s)},
      {"PriorityFavorSmall", config_.weights.favor_small ? "Yes" : "No"},
      {"PriorityDecayHalfLife", FormatElapsed(config_.decay_half_life_s)},
      {"PriorityFlags", Join(config_.priority_flags, ",")},
      {"PriorityCalcPeriod", FormatElapsed(config_.priority_calc_period_s)},
      {"PriorityUsageResetPeriod", UsageResetPeriodName(config_.usage_reset)},
      {"PreemptType", config_.preempt_type},
      {"PreemptMode", PreemptModeName(config_.preempt_mode.value_or(PreemptMode::kOff))},
      {"AccountingStorageType", "accounting_storage/shoal_" + config_.storage_type},
      // shoal's own storage keys (slurm.conf); the URL without its password.
      {"StorageType", config_.storage_type},
      {"StorageLoc", config_.storage_loc.empty() ? "(null)" : config_.storage_loc},
      {"StorageURL",
       config_.storage_url.empty() ? "(null)" : RedactConninfo(config_.storage_url)},
      // shoal's agent-channel security keys: the files in force (the key files' paths only).
      {"ClusterKeyFile", config_.cluster_key_file.empty() ? "(null)" : config_.cluster_key_file},
      {"TLSCAFile", config_.tls_ca_file.empty() ? "(null)" : config_.tls_ca_file},
      {"TLSCertFile", config_.tls_cert_file.empty() ? "(null)" : config_.tls_cert_file},
      {"TLSKeyFile", config_.tls_key_file.empty() ? "(null)" : config_.tls_key_file},
      {"PrivateData", config_.private_data.empty() ? "none" : config_.private_data},
      {"AuthAltTypes", "auth/jwt"},
      {"AuthAltParameters",
       config_.auth_alt_parameters.empty() ? "(null)" : config_.auth_alt_parameters},
      {"ApiRateLimit", std::to_string(config_.api_rate_limit)},
      {"ApiRateBurst", std::to_string(config_.api_rate_burst)},
      {"SelectType", "select/cons_tres"},
      // Slurm's defaults, shown as Slurm shows them: shoal neither time-slices jobs (gang
      // scheduling) nor gathers node energy. Toil's Slurm batch system derives its polling
      // interval from these two lines and fails without them.
      {"SchedulerTimeSlice", "30 sec"},
      {"AcctGatherNodeFreq", "0 sec"},
      {"SlurmctldHost", socket_path_},
  };
  // With high availability, Slurm's numbered lines: SlurmctldHost[0] = NAME(ADDR), ...
  if (config_.HighAvailability()) {
    c.erase("SlurmctldHost");
    for (size_t i = 0; i < config_.controller_hosts.size(); ++i) {
      const auto& h = config_.controller_hosts[i];
      c["SlurmctldHost[" + std::to_string(i) + "]"] =
          h.addr.empty() ? h.name : h.name + "(" + h.addr + ")";
    }
    c["SlurmctldTimeout"] = std::to_string(config_.slurmctld_timeout_s) + " sec";
  }
  return {{"cluster_name", config_.cluster_name}, {"config", c}};
}

// ---------------------------------------------------------------------------------------------
// Job control

// Queues the record now, under the lock, so the store sees changes in the order they happened;
// callers wait for durability (AwaitWrites) after letting the lock go.
//
// A state change is also a webhook event: its outbox entries go in the same transaction, so an
// acknowledged change never loses its event, and reach the delivery thread once committed.
void Controller::PersistLocked(const Job& job, PendingWrites& writes, bool must_sync) {
  if (pass_in_flight_) changed_during_pass_.insert(job.id);
  MarkPriorityRowChangedLocked(job.id);
  StoreOp op;
  op.kind = StoreOp::Kind::kUpdateJob;
  op.job = job;
  op.must_sync = must_sync;
  std::vector<StoreOp> ops;
  ops.push_back(std::move(op));
  std::vector<OutboxEntry> events;
  if (webhooks_ && HasWebhooks(job)) {
    auto [it, first] = announced_.try_emplace(job.id, JobState::kPending, 0u);
    const std::string type = WebhookEventType(it->second.first, it->second.second, job);
    if (!type.empty()) {
      it->second = {job.state, job.restart_count};
      events = WebhookEntries(job, type, NowSeconds());
      for (const OutboxEntry& e : events) {
        StoreOp add;
        add.kind = StoreOp::Kind::kAddOutbox;
        add.outbox = e;
        add.must_sync = must_sync;
        ops.push_back(std::move(add));
      }
    }
  }
  if (events.empty()) {
    writes.push_back(store_->Submit(std::move(ops)));
    return;
  }
  std::shared_future<Status> done = store_->Submit(std::move(ops)).share();
  writes.push_back(std::async(std::launch::deferred, [done] { return done.get(); }));
  webhooks_->Add(std::move(events), std::move(done));
}

bool Controller::HasWebhooks(const Job& job) const {
  return !config_.webhooks.empty() || !job.req.webhook.empty();
}

std::vector<OutboxEntry> Controller::WebhookEntries(const Job& job, const std::string& type,
                                                    int64_t now) {
  std::vector<OutboxEntry> out;
  if (!webhooks_) return out;
  const std::string event_id = security::HexEncode(security::RandomBytes(16));
  const std::string body = WebhookEventBody(event_id, type, now, config_.cluster_name, job);
  auto add = [&](const std::string& url) {
    for (const OutboxEntry& e : out) {
      if (e.url == url) return;  // the job's own URL is also a cluster one: told once
    }
    OutboxEntry e;
    e.seq = webhooks_->NextSeq();
    e.event_id = event_id;
    e.job_id = job.id;
    e.url = url;
    e.body = body;
    e.created = now;
    out.push_back(std::move(e));
  };
  for (const WebhookTarget& target : config_.webhooks) {
    if (target.Wants(type)) add(target.url);
  }
  if (!job.req.webhook.empty()) add(job.req.webhook);
  return out;
}

Status Controller::AwaitWrites(PendingWrites& writes) {
  Status result;
  for (auto& w : writes) {
    Status s = w.get();
    if (!s.ok() && result.ok()) result = s;
  }
  writes.clear();
  if (!result.ok()) spdlog::error("store write failed: {}", result.message());
  return result;
}

void Controller::SendLocked(const std::string& node, rpc::ControllerMessage msg) {
  auto it = sessions_.find(node);
  if (it != sessions_.end()) it->second->Send(std::move(msg));
}

rpc::ControllerMessage Controller::TerminateMessage(const Job& job, uint32_t kill_wait_s) const {
  rpc::ControllerMessage msg;
  msg.mutable_terminate()->set_job_id(job.id);
  msg.mutable_terminate()->set_kill_wait_s(kill_wait_s);
  return msg;
}

void Controller::TerminateOnNodesLocked(const Job& job) {
  for (const auto& node : job.nodes) SendLocked(node, TerminateMessage(job, config_.kill_wait_s));
}

void Controller::ReleaseResourcesLocked(Job& job) {
  for (size_t i = 0; i < job.nodes.size(); ++i) {
    Node* node = FindNodeLocked(job.nodes[i]);
    if (node == nullptr) continue;
    auto it = std::find(node->running_jobs.begin(), node->running_jobs.end(), job.id);
    if (it == node->running_jobs.end()) continue;  // already released
    node->running_jobs.erase(it);
    node->alloc_cpus -= std::min(node->alloc_cpus, job.cpus_per_node);
    node->alloc_mem_mb -= std::min(node->alloc_mem_mb, job.mem_per_node_alloc_mb);
    if (i < job.gpu_indices.size()) {
      for (uint32_t g : job.gpu_indices[i]) {
        if (g < node->gpu_busy.size()) node->gpu_busy[g] = false;
      }
    }
  }
  job.terminating = false;
}

void Controller::FinishJobLocked(Job& job, JobState state, int64_t now) {
  ChargeRunLocked(job, now);
  if (job.configuring) {
    // Never launched: no agent will report its end, so its nodes are free now.
    ReleaseResourcesLocked(job);
    job.configuring = false;
  }
  const bool was_live = !IsFinished(job.state);
  job.state = state;
  job.end_time = now;
  job.last_modified = now;
  if (was_live) live_jobs_.erase(job.id);
  finished_by_end_.emplace(now, job.id);
  metrics_->JobFinished(job);
  EndStepsLocked(job, now);
  spdlog::info("job {} {} exit {}:{}", job.DisplayId(), JobStateName(state), job.exit_code,
               job.exit_signal);
}

void Controller::RequeueLocked(Job& job, int64_t now, const std::string& reason) {
  ChargeRunLocked(job, now);
  const bool was_live = !IsFinished(job.state);
  // A run still being stopped (e.g. cancelled, not yet reported ended) keeps the job
  // terminating: the new run must wait for it.
  const bool launched = !job.configuring;
  if (job.configuring) {
    ReleaseResourcesLocked(job);  // never launched: nothing to wait for
    job.configuring = false;
  }
  job.terminating =
      job.terminating || (launched && job.state == JobState::kRunning && !job.nodes.empty());
  job.state = JobState::kPending;
  job.reason = reason;
  job.restart_count += 1;
  job.start_time = 0;
  job.end_time = 0;
  job.exit_code = 0;
  job.exit_signal = 0;
  job.cancel_requested = false;
  job.eligible_time = now;
  job.last_modified = now;
  MarkPriorityRowChangedLocked(job.id);
  if (!was_live) {
    StampAssoc(job, accounting_, assoc_lookup_);  // the database may have changed since it ended
    live_jobs_.emplace(job.id, &job);
  }
  metrics_->JobRequeued(job);
  spdlog::info("job {} requeued ({}), restart {}", job.DisplayId(), reason, job.restart_count);
}

CancelResult Controller::Cancel(const CancelFilter& f) {
  CancelResult result;
  PendingWrites ops;
  const int64_t now = NowSeconds();
  {
    WriteLock lock = LockForChange();
    std::vector<std::pair<std::string, Job*>> targets;
    if (!f.ids.empty()) {
      for (const auto& id : f.ids) {
        auto found = ResolveIdsLocked(id);
        if (found.empty()) {
          result.errors.emplace_back(id, "Invalid job id specified");
          continue;
        }
        for (Job* j : found) targets.emplace_back(id, j);
      }
    } else {
      for (auto& [id, job] : jobs_) targets.emplace_back(job.DisplayId(), &job);
    }
    const bool filtered = !f.user.empty() || !f.name.empty() || !f.states.empty() ||
                          !f.partition.empty() || !f.account.empty() || !f.qos.empty() ||
                          !f.reservation.empty();
    for (auto& [shown, job] : targets) {
      if (!f.user.empty() && job->req.user != f.user) continue;
      if (!f.name.empty() && job->req.name != f.name) continue;
      if (!f.partition.empty() && job->req.partition != f.partition) continue;
      if (!f.account.empty() && job->req.account != f.account) continue;
      if (!f.qos.empty() && !EqualsIgnoreCase(job->req.qos, f.qos)) continue;
      if (!f.reservation.empty() && job->req.reservation != f.reservation) continue;
      if (!f.states.empty() &&
          std::find(f.states.begin(), f.states.end(), job->state) == f.states.end()) {
        continue;
      }
      if (IsFinished(job->state)) {
        // Filtered bulk cancels skip finished jobs silently; a named job reports it.
        if (!filtered && !f.ids.empty() && job->state != JobState::kCancelled) {
          result.errors.emplace_back(job->DisplayId(),
                                     "Job/step already completing or completed");
        } else if (!filtered && !f.ids.empty()) {
          result.errors.emplace_back(job->DisplayId(),
                                     "Job/step already completing or completed");
        }
        continue;
      }
      if (!MayChangeJobAs(f.requester_uid, job->req.uid)) {
        result.errors.emplace_back(job->DisplayId(), "Access/permission denied");
        continue;
      }
      if (f.signal != 0) {
        if (job->state != JobState::kRunning) {
          result.errors.emplace_back(job->DisplayId(), "Job is pending execution");
          continue;
        }
        rpc::ControllerMessage msg;
        msg.mutable_signal()->set_job_id(job->id);
        msg.mutable_signal()->set_signal(f.signal);
        msg.mutable_signal()->set_whole_tree(!f.batch_only);
        SendLocked(job->nodes.front(), std::move(msg));
        result.done.push_back(job->DisplayId());
        continue;
      }
      if (job->state == JobState::kRunning) {
        job->cancel_requested = true;
        job->terminating = true;
        TerminateOnNodesLocked(*job);
      }
      job->reason = "None";
      FinishJobLocked(*job, JobState::kCancelled, now);
      PersistLocked(*job, ops);
      result.done.push_back(job->DisplayId());
    }
  }
  AwaitWrites(ops);
  TriggerSchedule();
  return result;
}

Status Controller::Hold(const std::string& id, bool hold) {
  PendingWrites ops;
  {
    WriteLock lock = LockForChange();
    auto jobs = ResolveIdsLocked(id);
    if (jobs.empty()) return NotFound("Invalid job id specified");
    for (Job* job : jobs) {
      if (job->state != JobState::kPending) {
        if (jobs.size() == 1) return FailedPrecondition("Job is no longer pending execution");
        continue;
      }
      job->held = hold;
      job->reason = hold ? "JobHeldAdmin" : "None";
      job->priority = PriorityLocked(*job, NowSeconds());
      job->last_modified = NowSeconds();
      PersistLocked(*job, ops);
    }
  }
  Status s = AwaitWrites(ops);
  TriggerSchedule();
  return s;
}

Status Controller::Requeue(const std::string& id) {
  PendingWrites ops;
  const int64_t now = NowSeconds();
  {
    WriteLock lock = LockForChange();
    auto jobs = ResolveIdsLocked(id);
    if (jobs.empty()) return NotFound("Invalid job id specified");
    for (Job* job : jobs) {
      if (job->state == JobState::kPending) {
        if (jobs.size() == 1) return FailedPrecondition("Job is pending execution");
        continue;
      }
      if (job->state == JobState::kRunning) TerminateOnNodesLocked(*job);
      RequeueLocked(*job, now, "BeginTime");
      job->reason = "None";
      PersistLocked(*job, ops);
    }
  }
  Status s = AwaitWrites(ops);
  TriggerSchedule();
  return s;
}

Status Controller::UpdateJob(const std::string& id, const Json& changes) {
  if (!changes.is_object()) return InvalidArgument("update must be a JSON object");
  PendingWrites ops;
  {
    WriteLock lock = LockForChange();
    auto jobs = ResolveIdsLocked(id);
    if (jobs.empty()) return NotFound("Invalid job id specified");
    for (auto it = changes.begin(); it != changes.end(); ++it) {
      const std::string& key = it.key();
      if (key != "time_limit_s" && key != "name" && key != "partition" && key != "nice") {
        return InvalidArgument("Update of this parameter is not supported: " + key);
      }
    }
    for (Job* job : jobs) {
      if (IsFinished(job->state)) return FailedPrecondition("Job is no longer pending execution");
      if (changes.contains("time_limit_s")) {
        if (!changes["time_limit_s"].is_number_integer() || changes["time_limit_s"].get<int64_t>() < -1) {
          return InvalidArgument("Invalid time limit");
        }
        job->req.time_limit_s = changes["time_limit_s"].get<int64_t>();
        if (job->state == JobState::kRunning) {
          rpc::ControllerMessage msg;
          msg.mutable_update_time_limit()->set_job_id(job->id);
          msg.mutable_update_time_limit()->set_time_limit_s(
              job->req.time_limit_s == kUnlimited ? 0 : job->req.time_limit_s);
          SendLocked(job->nodes.front(), std::move(msg));
        }
      }
      if (changes.contains("name")) {
        if (!changes["name"].is_string()) return InvalidArgument("Invalid job name");
        job->req.name = changes["name"].get<std::string>();
      }
      if (changes.contains("nice")) {
        if (!changes["nice"].is_number_integer()) return InvalidArgument("Invalid nice value");
        job->req.nice = changes["nice"].get<int32_t>();
      }
      if (changes.contains("partition")) {
        if (job->state != JobState::kPending) return FailedPrecondition("Job is no longer pending execution");
        if (!changes["partition"].is_string() ||
            FindPartitionLocked(changes["partition"].get<std::string>()) == nullptr) {
          return InvalidArgument("Invalid partition name specified");
        }
        job->req.partition = changes["partition"].get<std::string>();
        // Its association may be another one in the new partition.
        StampAssoc(*job, accounting_, assoc_lookup_);
      }
      if (job->state == JobState::kPending) job->priority = PriorityLocked(*job, NowSeconds());
      job->last_modified = NowSeconds();
      PersistLocked(*job, ops);
    }
  }
  Status s = AwaitWrites(ops);
  TriggerSchedule();
  return s;
}

std::future<Status> Controller::SaveAdminStateLocked(const Node& node, bool down) {
  NodeAdminState saved{.name = node.name,
                       .drain = node.drain,
                       .down = down,
                       .reason = node.reason,
                       .reason_time = node.reason_time,
                       .cpus = node.cpus,
                       .memory_mb = node.memory_mb,
                       .gpus = node.gpus,
                       .gpu_type = node.gpu_type};
  if (saved.drain || saved.down) {
    admin_states_[node.name] = saved;
  } else {
    admin_states_.erase(node.name);
  }
  std::vector<StoreOp> one(1);
  one[0].kind = StoreOp::Kind::kSaveNodeState;
  one[0].node_state = std::move(saved);
  return store_->Submit(std::move(one));
}

void Controller::ApplyAdminStateLocked(Node& node) const {
  auto it = admin_states_.find(node.name);
  if (it == admin_states_.end()) return;
  node.drain = it->second.drain;
  node.down = it->second.down;
  node.reason = it->second.reason;
  node.reason_time = it->second.reason_time;
}

Status Controller::UpdateNode(const std::string& names, const std::string& state,
                              const std::string& reason) {
  const int64_t now = NowSeconds();
  PendingWrites ops;
  {
    WriteLock lock = LockForChange();
    auto expanded = ExpandHostlist(names);
    if (!expanded.ok()) return InvalidArgument(expanded.status().message());
    std::string s = ToUpper(state);
    if ((s == "DRAIN" || s == "DOWN") && reason.empty()) {
      return InvalidArgument("You must specify a reason when DOWNING or DRAINING a node. Request denied");
    }
    const bool power = s == "POWER_UP" || s == "POWER_DOWN" || s == "POWER_DOWN_ASAP" ||
                       s == "POWER_DOWN_FORCE";
    if (s != "DRAIN" && s != "DOWN" && s != "RESUME" && s != "UNDRAIN" && s != "IDLE" && !power) {
      return InvalidArgument("Invalid node state specified");
    }
    for (const auto& name : *expanded) {
      if (FindNodeLocked(name) == nullptr) return NotFound("Invalid node name specified");
    }
    if (power && !power_) {
      return FailedPrecondition(
          "Power saving is not configured (ResumeProgram and SuspendProgram in the config)");
    }
    for (const auto& name : *expanded) {
      Node& node = *FindNodeLocked(name);
      if (power) {
        Status done = UpdateNodePowerLocked(node, s, now, ops);
        if (!done.ok()) return done;
        metrics_->NodeChanged(node, "updated");
        spdlog::info("node {} set {}", name, s);
        continue;
      }
      node.health_drained = false;  // an administrator's word replaces the health check's
      if (s == "DRAIN") {
        node.drain = true;
        node.reason = reason;
        node.reason_time = now;
      } else if (s == "DOWN") {
        NodeFailedLocked(node, now, reason);
        node.responding = sessions_.count(name) > 0;
      } else {
        node.drain = false;
        node.down = false;
        node.reason.clear();
        node.reason_time = 0;
      }
      metrics_->NodeChanged(node, "updated");
      spdlog::info("node {} set {} ({})", name, s, reason);
      ops.push_back(SaveAdminStateLocked(node, s == "DOWN"));
    }
    SyncNodeEventsLocked(now);
  }
  // Acknowledged once on disk, so a restart right after keeps the drain.
  Status written = AwaitWrites(ops);
  TriggerSchedule();
  if (!written.ok()) return Internal("node state could not be stored: " + written.message());
  return Status::Ok();
}

Status Controller::DeleteNodes(const std::string& names) {
  PendingWrites ops;
  {
    WriteLock lock = LockForChange();
    auto expanded = ExpandHostlist(names);
    if (!expanded.ok() || expanded->empty()) return InvalidArgument("Invalid node name specified");
    // All or nothing: every node is checked before any is removed.
    for (const auto& name : *expanded) {
      const Node* node = FindNodeLocked(name);
      if (node == nullptr) return NotFound("Invalid node name specified: " + name);
      if (node->configured) {
        return FailedPrecondition("node " + name +
                                  " is defined in the configuration file; remove it there");
      }
      if (!node->running_jobs.empty()) {
        std::vector<std::string> ids;
        for (JobId id : node->running_jobs) ids.push_back(std::to_string(id));
        return FailedPrecondition("node " + name + " has running jobs (" + Join(ids, ",") +
                                  "); drain it and let them end first");
      }
    }
    for (const auto& name : *expanded) {
      // Its agent, if still connected, is cut off; should it register again it comes back as
      // a new node, with nothing of this one's state.
      if (auto s = sessions_.find(name); s != sessions_.end()) {
        s->second->Close();
        sessions_.erase(s);
      }
      metrics_->SetAgentTarget(name, "");
      Node forgotten;  // neither drained nor down: its record goes
      forgotten.name = name;
      ops.push_back(SaveAdminStateLocked(forgotten, /*down=*/false));
      nodes_.erase(nodes_.begin() + static_cast<std::ptrdiff_t>(node_index_[name]));
      node_index_.clear();
      for (size_t i = 0; i < nodes_.size(); ++i) node_index_[nodes_[i].name] = i;
      spdlog::info("node {} deleted", name);
    }
  }
  Status written = AwaitWrites(ops);
  TriggerSchedule();
  if (!written.ok()) return Internal("node deletion could not be stored: " + written.message());
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Scheduling

void Controller::TriggerSchedule() {
  {
    std::lock_guard<std::mutex> lock(sched_mu_);
    sched_requested_ = true;
  }
  // notify_all: the timer thread waits on the same condition variable and would swallow a
  // notify_one, leaving the scheduler asleep until its one-second tick.
  sched_cv_.notify_all();
}

void Controller::SchedulerLoop() {
  while (true) {
    {
      // With no event, a pass only catches what time alone changes (a begin time reached, a
      // reservation starting, priorities aging), and it costs what the whole queue costs: with
      // 100,000 pending jobs a pass a second would keep half a core busy doing nothing. Idle
      // passes are spaced to at most 1/40 of the time, one a second for any ordinary queue and
      // never more than 10 s apart (Slurm's periodic pass runs once a minute).
      const auto idle_wait = std::clamp<std::chrono::steady_clock::duration>(
          last_pass_cost_ * 40, std::chrono::seconds(1), std::chrono::seconds(10));
      std::unique_lock<std::mutex> lock(sched_mu_);
      sched_cv_.wait_for(lock, idle_wait, [&] { return stopping_ || sched_requested_; });
      if (stopping_) return;
      sched_requested_ = false;
    }
    // Under a burst of events, passes are spaced out: a pass costs what the whole queue
    // costs, so one per submission would make a burst quadratic. The gap is at least 10 ms and
    // four times the last pass, so passes hold the lock at most a fifth of the time.
    const auto gap = std::max<std::chrono::steady_clock::duration>(std::chrono::milliseconds(10),
                                                                   last_pass_cost_ * 4);
    auto since = std::chrono::steady_clock::now() - last_pass_;
    if (since < gap) std::this_thread::sleep_for(gap - since);
    last_pass_ = std::chrono::steady_clock::now();
    const int64_t now = NowSeconds();
    bool priorities_due = false;
    {
      WriteLock lock = LockForChange();
      priorities_due = PrioritiesDueLocked(now);
      pass_in_flight_ = true;
    }
    ScheduleResult result;
    NewPriorities priorities;
    std::vector<JobId> payload_ids;
    {
      ReadLock lock(mu_);
      if (priorities_due) priorities = ComputePrioritiesLocked(now);
      result = ComputePassLocked(now);
      payload_ids = StartPayloadIdsLocked(result);
    }
    PassPayloads payloads = LoadPassPayloads(payload_ids);
    PendingWrites ops;
    Sends sends;
    WriteLock lock = LockForChange();
    pass_in_flight_ = false;
    // This pass ordered the queue by the priorities it found; the new ones order the next.
    const bool reordered = ApplyPrioritiesLocked(priorities);
    const bool all_applied = ApplyPassLocked(result, payloads, now, ops, sends) && !reordered;
    changed_during_pass_.clear();
    if (reservations_changed_during_pass_) TriggerSchedule();
    reservations_changed_during_pass_ = false;
    last_pass_cost_ = std::chrono::steady_clock::now() - last_pass_;
    if (!all_applied) TriggerSchedule();
    const auto launches = std::count_if(sends.begin(), sends.end(),
                                        [](const auto& s) { return s.second.has_launch(); });
    if (!ops.empty()) {
      // The starts are durable before any agent hears of them, so a controller restart can
      // never forget a launch it made (and so never launches a job twice). The lock stays held
      // until they are sent, so no later message about these jobs can overtake their launch.
      Status s = AwaitWrites(ops);
      if (s.ok()) {
        for (auto& [node, msg] : sends) SendLocked(node, std::move(msg));
      } else {
        spdlog::error("could not record job starts: {}", s.message());
      }
    }
    lock.unlock();
    // The metrics' walk over the jobs only reads them.
    ReadLock read(mu_);
    ObservePassLocked(std::chrono::duration<double>(last_pass_cost_).count(), launches);
  }
}

bool Controller::PrioritiesDueLocked(int64_t now) {
  // Priorities move with time-dependent weights and with what they are measured against (the
  // nodes, the fair-share usage); recompute them at most once a second.
  if (now == last_priority_calc_) return false;
  const PriorityWeights& w = config_.weights;
  RefreshPriorityInputsLocked(w.fairshare > 0);
  const bool due = w.TimeDependent() || priorities_stale_;
  priorities_stale_ = false;
  last_priority_calc_ = now;
  return due;
}

bool Controller::ApplyPrioritiesLocked(const NewPriorities& priorities) {
  bool changed = false;
  for (const auto& [id, job, priority] : priorities) {
    // A job changed meanwhile has the priority its change gave it (and may be gone).
    if (!changed_during_pass_.empty() && changed_during_pass_.count(id) != 0) continue;
    if (job->state != JobState::kPending || job->priority == priority) continue;
    job->priority = priority;
    changed = true;
  }
  return changed;
}

ScheduleResult Controller::ComputePassLocked(int64_t now) {
  std::vector<const Job*> live;
  live.reserve(live_jobs_.size());
  for (const auto& [id, job] : live_jobs_) live.push_back(job);
  ClusterView view{&jobs_, &nodes_, &partitions_, &live};
  view.qos = &accounting_.qos;
  if (config_.enforce.limits) view.accounting = &accounting_;
  // Jobs being stopped that still hold resources: what preemption counts as soon free.
  std::vector<const Job*> releasing;
  if (config_.PreemptEnabled()) {
    std::set<JobId> seen;
    for (const Node& node : nodes_) {
      for (JobId id : node.running_jobs) {
        auto it = jobs_.find(id);
        if (it != jobs_.end() && it->second.terminating && seen.insert(id).second) {
          releasing.push_back(&it->second);
        }
      }
    }
    view.releasing = &releasing;
  }
  std::vector<Reservation> reservations;
  if (!reservations_.empty()) {
    reservations = CurrentReservationsLocked(now);
    view.reservations = &reservations;
  }
  return scheduler_->Schedule(view, now);
}

bool Controller::StartStillValidLocked(const StartDecision& start) const {
  auto it = jobs_.find(start.job_id);
  if (it == jobs_.end() || changed_during_pass_.count(start.job_id) != 0) return false;
  if (reservations_changed_during_pass_) return false;
  const Job& job = it->second;
  if (job.state != JobState::kPending || job.held || job.terminating) return false;
  for (size_t i = 0; i < start.nodes.size(); ++i) {
    auto n = node_index_.find(start.nodes[i]);
    if (n == node_index_.end()) return false;
    const Node& node = nodes_[n->second];
    if (!node.Schedulable() || node.cpus < node.alloc_cpus + start.per_node.cpus ||
        node.memory_mb < node.alloc_mem_mb + start.per_node.mem_mb) {
      return false;
    }
    if (i < start.gpu_indices.size()) {
      for (uint32_t g : start.gpu_indices[i]) {
        if (g >= node.gpu_busy.size() || node.gpu_busy[g]) return false;
      }
    }
  }
  return true;
}

std::vector<JobId> Controller::StartPayloadIdsLocked(const ScheduleResult& result) const {
  std::vector<JobId> ids;
  for (const StartDecision& start : result.starts) {
    auto it = jobs_.find(start.job_id);
    if (it != jobs_.end()) ids.push_back(it->second.SubmissionId());
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

Controller::PassPayloads Controller::LoadPassPayloads(const std::vector<JobId>& payload_ids) const {
  PassPayloads payloads;
  payloads.reserve(payload_ids.size());
  for (JobId id : payload_ids) payloads.emplace(id, store_->LoadPayload(id));
  return payloads;
}

bool Controller::ApplyPassLocked(ScheduleResult& result, PassPayloads& payloads, int64_t now,
                                 PendingWrites& ops, Sends& sends) {
  bool all_applied = true;
  // A job changed while the pass was computed keeps what it has now; the next pass judges it.
  auto current = [&](JobId id) -> Job* {
    if (changed_during_pass_.count(id) != 0) return nullptr;
    auto it = jobs_.find(id);
    return it == jobs_.end() ? nullptr : &it->second;
  };
  for (const auto& [id, reason] : result.reasons) {
    if (Job* job = current(id); job != nullptr && job->state == JobState::kPending) {
      job->reason = reason;
    }
  }
  // Plans are redrawn every pass: forget the last pass's before noting this one's.
  for (JobId id : planned_ids_) {
    if (auto it = jobs_.find(id); it != jobs_.end()) {
      it->second.planned_start = 0;
      it->second.planned_nodes.clear();
    }
  }
  planned_ids_.clear();
  for (PlannedStart& plan : result.planned) {
    Job* job = current(plan.job_id);
    if (job == nullptr || job->state != JobState::kPending) continue;
    job->planned_start = plan.start_time;
    job->planned_nodes = std::move(plan.nodes);
    planned_ids_.push_back(plan.job_id);
  }
  for (const auto& [id, status] : result.errors) {
    spdlog::warn("scheduler: job {}: {}", id, status.message());
  }
  // Preemption: the victims stop (SIGTERM, SIGKILL after their QOS's GraceTime, else KillWait)
  // once their new state is durable; their resources come free when their agents report the
  // end, and the preemptor starts in a pass after that.
  for (const PreemptDecision& d : result.preemptions) {
    Job* victim_now = current(d.job_id);
    if (victim_now == nullptr || victim_now->state != JobState::kRunning ||
        victim_now->terminating || current(d.preemptor_id) == nullptr) {
      all_applied = false;
      continue;
    }
    Job& victim = *victim_now;
    const uint32_t kill_wait =
        d.grace_time_s > 0 ? static_cast<uint32_t>(d.grace_time_s) : config_.kill_wait_s;
    for (const std::string& node : victim.nodes) {
      sends.emplace_back(node, TerminateMessage(victim, kill_wait));
    }
    spdlog::info("job {} preempted ({}) for job {}", victim.DisplayId(),
                 d.mode == PreemptMode::kRequeue ? "requeued" : "cancelled", d.preemptor_id);
    if (d.mode == PreemptMode::kRequeue) {
      // As Slurm shows a requeued job until it may run again; it waits for its preemptor.
      RequeueLocked(victim, now, "BeginTime");
      victim.preempted_by = d.preemptor_id;
    } else {
      victim.cancel_requested = true;
      victim.terminating = true;
      victim.reason = "None";
      FinishJobLocked(victim, JobState::kPreempted, now);
    }
    PersistLocked(victim, ops);
  }

  for (StartDecision& start : result.starts) {
    if (!StartStillValidLocked(start)) {
      all_applied = false;
      continue;
    }
    Job& job = jobs_[start.job_id];
    const JobId payload_id = job.SubmissionId();
    auto loaded = payloads.find(payload_id);
    if (loaded == payloads.end()) {  // not foreseen (never expected): read it now
      loaded = payloads.emplace(payload_id, store_->LoadPayload(payload_id)).first;
    }
    if (!loaded->second.ok()) {
      spdlog::error("job {}: {}", job.DisplayId(), loaded->second.status().message());
      job.reason = "launch failed: script missing";
      FinishJobLocked(job, JobState::kFailed, now);
      PersistLocked(job, ops);
      continue;
    }
    const JobPayload& payload = *loaded->second;
    job.state = JobState::kRunning;
    job.planned_start = 0;
    job.planned_nodes.clear();
    job.reason = "None";
    job.preempted_by = 0;
    job.start_time = now;
    job.nodes = start.nodes;
    job.cpus_per_node = start.per_node.cpus;
    job.alloc_cpus = start.per_node.cpus * static_cast<uint32_t>(start.nodes.size());
    job.mem_per_node_alloc_mb = start.per_node.mem_mb;
    job.gpu_indices = start.gpu_indices;
    job.generation += 1;
    job.last_modified = now;
    for (size_t i = 0; i < start.nodes.size(); ++i) {
      Node* node = FindNodeLocked(start.nodes[i]);
      node->alloc_cpus += start.per_node.cpus;
      node->alloc_mem_mb += start.per_node.mem_mb;
      node->running_jobs.push_back(job.id);
      for (uint32_t g : start.gpu_indices[i]) node->gpu_busy[g] = true;
    }
    metrics_->JobStarted(job);
    // Allocated powered-down nodes (power saving): CONFIGURING until every one has registered;
    // the power manager resumes them, and their registration launches it.
    job.configuring = std::any_of(job.nodes.begin(), job.nodes.end(), [&](const std::string& n) {
      const Node* node = FindNodeLocked(n);
      return node == nullptr || !node->PoweredOn() || !node->responding;
    });
    spdlog::info("job {} {} on {}", job.DisplayId(), job.configuring ? "configuring" : "started",
                 CompressHostlist(job.nodes));
    PersistLocked(job, ops, /*must_sync=*/job.configuring);
    // An interactive allocation runs nothing until its steps (steps.cc).
    if (!job.req.interactive && !job.configuring) {
      sends.emplace_back(job.nodes.front(), BuildLaunchLocked(job, payload));
    }
  }
  return all_applied;
}

const ArrayBounds& Controller::ArrayBoundsLocked(JobId array_job_id) {
  auto [cached, fresh] = array_bounds_.try_emplace(array_job_id);
  ArrayBounds& bounds = cached->second;
  if (!fresh) return bounds;
  // An array's tasks are fixed at submit, so this is worked out once, at its first launch,
  // not once per task (a 1,000-task array would walk itself 1,000 times).
  std::vector<int64_t> ids;
  for (auto it = jobs_.find(array_job_id);
       it != jobs_.end() && it->second.array_job_id == array_job_id; ++it) {
    ids.push_back(it->second.array_task_id);
  }
  bounds.count = static_cast<int64_t>(ids.size());
  bounds.min = ids.empty() ? 0 : *std::min_element(ids.begin(), ids.end());
  bounds.max = ids.empty() ? 0 : *std::max_element(ids.begin(), ids.end());
  bounds.step = ids.size() > 1 ? ids[1] - ids[0] : 1;
  for (size_t i = 2; i < ids.size(); ++i) {
    if (ids[i] - ids[i - 1] != bounds.step) bounds.step = 1;
  }
  return bounds;
}

rpc::ControllerMessage Controller::BuildLaunchLocked(const Job& job, const JobPayload& payload) {
  rpc::ControllerMessage msg;
  rpc::LaunchJob* l = msg.mutable_launch();
  l->set_job_id(job.id);
  l->set_generation(job.generation);
  l->set_script(payload.script);
  for (const auto& a : payload.args) l->add_args(a);
  const ArrayBounds* bounds = job.IsArrayTask() ? &ArrayBoundsLocked(job.array_job_id) : nullptr;
  for (auto& kv : BuildJobEnvironment(job, payload.env, config_.cluster_name,
                                      "unix:" + socket_path_, bounds)) {
    l->add_env(std::move(kv));
  }
  l->set_work_dir(job.req.work_dir);
  OutputPatternFields fields;
  fields.job_id = job.id;
  fields.job_name = job.req.name;
  fields.user = job.req.user;
  fields.array_job_id = job.SubmissionId();
  fields.array_task_id = job.array_task_id;
  fields.node_name = job.nodes.empty() ? "" : job.nodes.front();
  std::string out_pattern = job.req.stdout_pattern;
  if (out_pattern.empty()) out_pattern = job.IsArrayTask() ? "slurm-%A_%a.out" : "slurm-%j.out";
  l->set_stdout_path(ExpandOutputPattern(out_pattern, fields, job.req.work_dir));
  if (!job.req.stderr_pattern.empty()) {
    l->set_stderr_path(ExpandOutputPattern(job.req.stderr_pattern, fields, job.req.work_dir));
  }
  l->set_open_append(job.req.open_append || job.restart_count > 0);
  l->set_time_limit_s(job.req.time_limit_s == kUnlimited ? 0 : job.req.time_limit_s);
  l->set_uid(job.req.uid);
  l->set_gid(job.req.gid);
  l->set_kill_wait_s(config_.kill_wait_s);
  l->set_cpus(job.cpus_per_node);
  l->set_memory_limit_mb(MemoryLimitMb(job));
  if (!job.gpu_indices.empty()) {
    for (uint32_t g : job.gpu_indices.front()) l->add_gpu_indices(g);
  }
  if (job.req.container.Enabled()) ContainerToRpc(job.req.container, l->mutable_container());
  return msg;
}

// ---------------------------------------------------------------------------------------------
// Agents

Status Controller::CheckRegister(const rpc::Register& reg) {
  if (reg.node_name().empty()) return InvalidArgument("node name is empty");
  if (reg.cpus() == 0) return InvalidArgument("node reports 0 CPUs");
  return Status::Ok();
}

std::shared_ptr<AgentSession> Controller::RegisterAgentLocked(const rpc::Register& reg,
                                                              rpc::RegisterReply& reply,
                                                              int64_t now, PendingWrites& ops) {
  auto session = std::make_shared<AgentSession>(reg.node_name());
  Node* node = FindNodeLocked(reg.node_name());
  if (node == nullptr) {
    Node fresh;
    fresh.name = reg.node_name();
    node = InsertNodeLocked(std::move(fresh));
  }
  if (!node->configured) {
    node->cpus = reg.cpus();
    node->memory_mb = std::max<uint64_t>(reg.memory_mb(), 1);
    node->gpus = static_cast<uint32_t>(reg.gpus_size());
    node->gpu_type = reg.gpus_size() > 0 ? reg.gpus(0).type() : "";
    node->features.assign(reg.features().begin(), reg.features().end());
  }
  if (node->gpu_busy.size() != node->gpus) node->gpu_busy.resize(node->gpus, false);
  // A drain kept for the next restart keeps the size the node has now (it is listed with it).
  if (auto kept = admin_states_.find(node->name);
      kept != admin_states_.end() &&
      (kept->second.cpus != node->cpus || kept->second.memory_mb != node->memory_mb ||
       kept->second.gpus != node->gpus || kept->second.gpu_type != node->gpu_type)) {
    ops.push_back(SaveAdminStateLocked(*node, kept->second.down));
  }
  node->address = reg.hostname();
  metrics_->SetAgentTarget(node->name, reg.metrics_address());
  node->responding = true;
  node->boot_time = now;
  node->last_heartbeat = now;
  node->heard_ms = SteadyMs();
  last_registration_ms_ = node->heard_ms;
  session->Heard(node->heard_ms, now);
  if (node->down && node->reason == "Not responding") {
    node->down = false;
    node->reason.clear();
  }
  if (auto old = sessions_.find(node->name); old != sessions_.end()) old->second->Close();
  session->gpus = node->gpus;
  sessions_[node->name] = session;
  metrics_->NodeChanged(*node, "registered");

  // Reconcile: what the agent runs against what this node should run.
  std::map<JobId, uint64_t> reported;
  for (const auto& r : reg.running()) reported[r.job_id()] = r.generation();
  for (const auto& [job_id, generation] : reported) {
    auto it = jobs_.find(job_id);
    bool owned = it != jobs_.end() && it->second.generation == generation &&
                 !it->second.nodes.empty() && it->second.nodes.front() == node->name &&
                 (it->second.state == JobState::kRunning || it->second.terminating ||
                  IsFinished(it->second.state));
    if (!owned) {
      reply.add_kill_job_ids(job_id);
      spdlog::warn("node {}: job {} generation {} is not ours, fencing it off", node->name,
                   job_id, generation);
      // A run we lost track of (its start record did not survive an OS crash) carries a
      // generation we may not hand out again: the next launch must be newer than it.
      if (it != jobs_.end() && generation > it->second.generation &&
          !IsFinished(it->second.state)) {
        it->second.generation = generation;
        PersistLocked(it->second, ops);
      }
    } else if (it->second.terminating) {
      rpc::ControllerMessage msg;
      msg.mutable_terminate()->set_job_id(job_id);
      msg.mutable_terminate()->set_kill_wait_s(config_.kill_wait_s);
      session->Send(std::move(msg));
    }
  }
  for (JobId job_id : std::vector<JobId>(node->running_jobs)) {
    Job& job = jobs_[job_id];
    if (job.nodes.empty() || job.nodes.front() != node->name || job.req.interactive) continue;
    if (job.configuring) continue;  // never launched: it is launched below once ready
    if (reported.count(job_id) && reported[job_id] == job.generation) continue;
    // The batch host does not know the job: it never started there (the controller died
    // between recording the start and sending it) or the node lost it. Start it again.
    ReleaseResourcesLocked(job);
    if (job.state == JobState::kRunning) {
      RequeueLocked(job, now, "None");
      job.terminating = false;
    }
    PersistLocked(job, ops);
  }
  NodePoweredOnLocked(*node, now, ops);
  reply.set_accepted(true);
  reply.set_heartbeat_interval_ms(config_.heartbeat_interval_ms);
  reply.set_health_check_program(config_.health_check_program);
  reply.set_health_check_interval_s(config_.health_check_interval_s);
  reply.set_task_cgroup(config_.task_cgroup);
  spdlog::info("node {} registered: {} cpus, {} MB, {} gpus", reg.node_name(), reg.cpus(),
               reg.memory_mb(), reg.gpus_size());
  return session;
}

Result<std::shared_ptr<AgentSession>> Controller::RegisterAgent(const rpc::Register& reg,
                                                                rpc::RegisterReply& reply) {
  if (Status s = CheckRegister(reg); !s.ok()) return s;
  PendingWrites ops;
  std::shared_ptr<AgentSession> session;
  {
    WriteLock lock = LockForChange();
    session = RegisterAgentLocked(reg, reply, NowSeconds(), ops);
  }
  AwaitWrites(ops);
  TriggerSchedule();
  return session;
}

void Controller::RegisterAgentAsync(rpc::Register reg, RegisterDone done) {
  if (Status s = CheckRegister(reg); !s.ok()) return done(s, rpc::RegisterReply());
  bool stopping = false;
  {
    std::lock_guard<std::mutex> lock(intake_mu_);
    stopping = intake_stopping_;
    if (intake_running_ && !stopping) {
      registrations_.push_back({std::move(reg), std::move(done)});
      intake_cv_.notify_one();
      return;
    }
  }
  if (stopping) return done(Unavailable("the controller is stopping"), rpc::RegisterReply());
  // Not started (a test driving the controller directly): registered on this thread.
  rpc::RegisterReply reply;
  Result<std::shared_ptr<AgentSession>> session = RegisterAgent(reg, reply);
  done(std::move(session), std::move(reply));
}

void Controller::AgentIntakeLoop() {
  // At most a few hundred registrations and a thousand messages at a time: the exclusive lock
  // is let go between batches, for the API and the scheduler.
  constexpr size_t kMaxRegistrations = 256;
  constexpr size_t kMaxMessages = 1024;
  auto take = [](auto& queue, size_t most) {
    std::remove_reference_t<decltype(queue)> batch;
    if (queue.size() <= most) {
      batch.swap(queue);
    } else {
      batch.assign(std::make_move_iterator(queue.begin()),
                   std::make_move_iterator(queue.begin() + most));
      queue.erase(queue.begin(), queue.begin() + most);
    }
    return batch;
  };
  std::unique_lock<std::mutex> lock(intake_mu_);
  while (true) {
    intake_cv_.wait(lock, [&] {
      return intake_stopping_ || !registrations_.empty() || !agent_messages_.empty();
    });
    // Stopping: what is queued is still answered (and the sessions closed by Stop).
    if (registrations_.empty() && agent_messages_.empty()) return;
    std::vector<PendingRegistration> registrations = take(registrations_, kMaxRegistrations);
    std::vector<QueuedAgentMessage> messages = take(agent_messages_, kMaxMessages);
    lock.unlock();
    if (!registrations.empty()) ApplyRegistrations(registrations);
    if (!messages.empty()) ApplyAgentMessages(messages);
    lock.lock();
  }
}

void Controller::ApplyRegistrations(std::vector<PendingRegistration>& batch) {
  // Every registration that arrived meanwhile, in one exclusive lock: in a registration storm
  // the lock is taken once per batch, not once per node.
  std::vector<rpc::RegisterReply> replies(batch.size());
  std::vector<std::shared_ptr<AgentSession>> sessions(batch.size());
  PendingWrites ops;
  {
    WriteLock state = LockForChange();
    const int64_t now = NowSeconds();
    for (size_t i = 0; i < batch.size(); ++i) {
      sessions[i] = RegisterAgentLocked(batch[i].reg, replies[i], now, ops);
    }
  }
  AwaitWrites(ops);
  TriggerSchedule();
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].done(std::move(sessions[i]), std::move(replies[i]));
  }
}

// A session the controller ended (its node was declared down, or a newer registration replaced
// it): nothing it says is applied. Its stream is being closed, and the agent must register
// again, which fences whatever it still runs.
static void RefuseEndedSession(AgentSession& session) {
  if (!session.refusal_logged.exchange(true)) {
    spdlog::warn("node {}: message on an ended session refused; the agent must register again",
                 session.node());
  }
}

bool Controller::HearAgentMessage(AgentSession& session, const rpc::AgentMessage& msg) {
  // Every path that ends a session closes it first, so a session that is not closed is still
  // its node's current one (the intake thread checks again under the lock).
  if (session.closed()) {
    RefuseEndedSession(session);
    return false;
  }
  // Anything the agent says shows it alive; the timer reads what the session heard.
  session.Heard(SteadyMs(), NowSeconds());
  if (!msg.has_heartbeat()) return true;
  if (msg.heartbeat().gpus_size() == 0) return false;
  auto gpus = CheckGpuReadings(msg.heartbeat(), session.gpus);
  if (gpus.ok()) {
    metrics_->SetNodeGpus(session.node(), std::move(gpus).value());
  } else if (!session.bad_gpu_readings_logged.exchange(true)) {
    spdlog::warn("node {}: GPU readings ignored: {}", session.node(), gpus.status().message());
  }
  return false;
}

bool Controller::QueueForIntake(QueuedAgentMessage& item) {
  std::lock_guard<std::mutex> lock(intake_mu_);
  if (!intake_running_ || intake_stopping_) return false;
  agent_messages_.push_back(std::move(item));
  intake_cv_.notify_one();
  return true;
}

void Controller::QueueAgentMessage(std::shared_ptr<AgentSession> session, rpc::AgentMessage msg) {
  if (!HearAgentMessage(*session, msg)) return;
  QueuedAgentMessage item{std::move(session), std::move(msg)};
  if (QueueForIntake(item)) return;
  std::vector<QueuedAgentMessage> one;
  one.push_back(std::move(item));
  ApplyAgentMessages(one);
}

void Controller::QueueAgentDisconnected(std::shared_ptr<AgentSession> session) {
  session->Close();
  QueuedAgentMessage item{session, rpc::AgentMessage(), /*disconnected=*/true};
  if (!QueueForIntake(item)) OnAgentDisconnected(session);
}

void Controller::OnAgentMessage(const std::shared_ptr<AgentSession>& session,
                                const rpc::AgentMessage& msg) {
  if (!HearAgentMessage(*session, msg)) return;
  std::vector<QueuedAgentMessage> one;
  one.push_back({session, msg});
  ApplyAgentMessages(one);
}

void Controller::ApplyAgentMessages(std::vector<QueuedAgentMessage>& batch) {
  // A run of job ends is applied in one exclusive lock and committed together; any other
  // message is applied on its own, in the order the agents sent them.
  PendingWrites ops;
  std::vector<UnsyncedAck> ends;
  std::optional<WriteLock> lock;
  for (QueuedAgentMessage& queued : batch) {
    const std::shared_ptr<AgentSession>& session = queued.session;
    const rpc::AgentMessage& msg = queued.msg;
    if (queued.disconnected) {
      lock.reset();
      OnAgentDisconnected(session);
      continue;
    }
    if (msg.has_job_finished()) {
      if (!lock) lock.emplace(LockForChange());
      if (!CurrentSessionLocked(session)) {  // ended since it was queued
        RefuseEndedSession(*session);
        continue;
      }
      const rpc::JobFinished& fin = msg.job_finished();
      if (ApplyJobFinishedLocked(*session, fin, NowSeconds(), ops)) {
        ends.push_back({session, fin.job_id(), fin.generation()});
      }
      continue;
    }
    lock.reset();
    if (!CurrentSession(session)) {
      RefuseEndedSession(*session);
      continue;
    }
    if (msg.has_step_finished()) {
      OnStepFinished(session, msg.step_finished());
    } else if (msg.has_usage_report()) {
      OnUsageReport(session->node(), msg.usage_report());
    } else if (msg.has_node_health()) {
      OnNodeHealth(session->node(), msg.node_health(), NowSeconds());
    }
  }
  lock.reset();
  if (ends.empty()) return;
  TriggerSchedule();
  // Committed (not yet synced) before the ends are queued for acknowledgement, so accounting
  // reads what squeue shows.
  if (!AwaitWrites(ops).ok()) return;  // unacknowledged: the agents send them again
  WriteLock state = LockForChange();
  unsynced_acks_.insert(unsynced_acks_.end(), ends.begin(), ends.end());
}

bool Controller::ApplyJobFinishedLocked(const AgentSession& session, const rpc::JobFinished& fin,
                                        int64_t now, PendingWrites& ops) {
  auto it = jobs_.find(fin.job_id());
  if (it != jobs_.end() && it->second.generation == fin.generation() &&
      !it->second.nodes.empty() && it->second.nodes.front() == session.node()) {
    Job& job = it->second;
    const int64_t end = fin.end_time() > 0 ? fin.end_time() : now;
    // What the script used (sacct's .batch line); figures from an agent are never negative.
    job.user_cpu_us = std::max<int64_t>(0, fin.user_cpu_us());
    job.system_cpu_us = std::max<int64_t>(0, fin.system_cpu_us());
    job.max_rss_kb = std::max<int64_t>(0, fin.max_rss_kb());
    if (job.state == JobState::kRunning) {
      job.exit_code = fin.exit_code();
      job.exit_signal = fin.signal();
      JobState state = JobState::kCompleted;
      if (fin.launch_failed()) {
        state = JobState::kFailed;
        job.reason = fin.message().empty() ? "launch failed" : fin.message();
        if (job.exit_code == 0) job.exit_code = 1;
      } else if (fin.timed_out()) {
        state = JobState::kTimeout;
      } else if (fin.out_of_memory()) {
        // Slurm's rule: an oom kill in the batch step ends the job OUT_OF_MEMORY, whatever
        // the script's exit status.
        state = JobState::kOutOfMemory;
        job.reason = "OutOfMemory";
      } else if (fin.exit_code() != 0 || fin.signal() != 0) {
        state = JobState::kFailed;
        job.reason = fin.signal() != 0 ? "RaisedSignal:" + std::to_string(fin.signal())
                                       : "NonZeroExitCode";
      }
      ReleaseResourcesLocked(job);
      FinishJobLocked(job, state, end);
      // The batch script's end is the job's: its other nodes end what is left of it there
      // (their steps were told to stop; this also lets them drop the job's named containers).
      for (size_t i = 1; i < job.nodes.size(); ++i) {
        SendLocked(job.nodes[i], TerminateMessage(job, config_.kill_wait_s));
      }
    } else {
      // Cancelled or requeued while running: the run is over, free what it held.
      if (job.cancel_requested) {
        job.exit_code = fin.exit_code();
        job.exit_signal = fin.signal();
      }
      ReleaseResourcesLocked(job);
    }
    // Written unsynced: the agent keeps the outcome until it is acknowledged, and that
    // waits for the next sync (AcknowledgeSyncedEnds), so a power loss cannot lose it.
    PersistLocked(job, ops, /*must_sync=*/false);
  } else {
    // A stale run (fenced off: an older generation, or another node's) or an unknown job:
    // never applied. Logged once per run; the agent resends until it registers again and
    // learns the run is not its own.
    if (refused_runs_.size() > 10000) refused_runs_.clear();
    if (refused_runs_.emplace(fin.job_id(), fin.generation()).second) {
      spdlog::warn("node {}: end of job {} generation {} refused: {}", session.node(),
                   fin.job_id(), fin.generation(),
                   it == jobs_.end() ? "unknown job"
                   : it->second.generation != fin.generation()
                       ? "current generation is " + std::to_string(it->second.generation)
                       : "the job is not this node's");
    }
    return false;
  }
  return true;
}

void Controller::AcknowledgeSyncedEnds() {
  std::vector<UnsyncedAck> acks;
  PendingWrites sync;
  {
    WriteLock lock = LockForChange();
    if (unsynced_acks_.empty()) return;
    acks.swap(unsynced_acks_);
    // Queued after every end record acknowledged here, so its sync covers them all.
    StoreOp op;
    op.kind = StoreOp::Kind::kSync;
    std::vector<StoreOp> ops;
    ops.push_back(std::move(op));
    sync.push_back(store_->Submit(std::move(ops)));
  }
  if (!AwaitWrites(sync).ok()) return;  // unacknowledged: the agents send them again
  // One message per node, however many of its jobs ended since the last sync.
  using Batch = std::pair<std::shared_ptr<AgentSession>, rpc::ControllerMessage>;
  std::unordered_map<AgentSession*, Batch> per_session;
  for (const UnsyncedAck& a : acks) {
    std::shared_ptr<AgentSession> session = a.session.lock();
    if (!session) continue;
    auto& [held, message] = per_session[session.get()];
    held = std::move(session);
    rpc::JobFinishedAck* ack = message.mutable_finished_acks()->add_acks();
    ack->set_job_id(a.job_id);
    ack->set_generation(a.generation);
  }
  for (auto& [raw, batch] : per_session) batch.first->Send(std::move(batch.second));
}

void Controller::OnNodeHealth(const std::string& name, const rpc::NodeHealth& health, int64_t now) {
  {
    WriteLock lock = LockForChange();
    Node* node = FindNodeLocked(name);
    if (node == nullptr) return;
    node->last_heartbeat = now;
    if (!health.ok()) {
      if (node->drain && !node->health_drained) return;  // an administrator's drain stands
      std::string failure = health.failure().empty() ? "failed" : health.failure();
      if (failure.size() > 200) failure.resize(200);  // it comes from the agent
      const std::string reason =
          "HealthCheckProgram " + config_.health_check_program + ": " + failure;
      if (node->drain && node->reason == reason) return;
      node->drain = true;
      node->health_drained = true;
      node->reason = reason;
      node->reason_time = now;
      metrics_->NodeChanged(*node, "updated");
      spdlog::warn("node {} drained: {}", name, reason);
      return;
    }
    if (!node->health_drained) return;
    node->drain = false;
    node->health_drained = false;
    node->reason.clear();
    node->reason_time = 0;
    metrics_->NodeChanged(*node, "updated");
    spdlog::info("node {} resumed: HealthCheckProgram passes again", name);
  }
  TriggerSchedule();
}

bool Controller::CurrentSession(const std::shared_ptr<AgentSession>& session) const {
  ReadLock lock(mu_);
  return CurrentSessionLocked(session);
}

bool Controller::CurrentSessionLocked(const std::shared_ptr<AgentSession>& session) const {
  auto it = sessions_.find(session->node());
  return it != sessions_.end() && it->second == session;
}

void Controller::OnAgentDisconnected(const std::shared_ptr<AgentSession>& session) {
  session->Close();
  WriteLock lock = LockForChange();
  auto it = sessions_.find(session->node());
  if (it == sessions_.end() || it->second != session) return;  // replaced by a newer session
  sessions_.erase(it);
  if (Node* node = FindNodeLocked(session->node())) {
    // The timeout runs from the last word on the stream that just ended.
    node->heard_ms = std::max(node->heard_ms, session->heard_ms());
    node->last_heartbeat = std::max(node->last_heartbeat, session->heard_s());
    node->responding = false;
    metrics_->NodeChanged(*node, "disconnected");
    if (node->power == NodePower::kPoweringDown) {
      spdlog::info("node {} disconnected (powering down)", node->name);
    } else {
      spdlog::warn("node {} disconnected", node->name);
    }
  }
}

void Controller::RequeueAfterFailureLocked(Job& job, int64_t now) {
  RequeueLocked(job, now, "BeginTime");
  job.terminating = false;  // its node is gone: nothing of the old run is left to wait for
  if (job.restart_count > config_.max_batch_requeue) {
    // Slurm's max_batch_requeue: a job that keeps losing its nodes is held for an
    // administrator (scontrol release) rather than retried for ever.
    job.held = true;
    job.reason = "JobHeldAdmin";
    job.priority = PriorityLocked(job, now);
    spdlog::warn("job {} held: requeued {} times (max_batch_requeue={})", job.DisplayId(),
                 job.restart_count, config_.max_batch_requeue);
    return;
  }
  // A first failure is the node's fault, not the job's: it starts again elsewhere at once (the
  // whole point of fast detection). A job requeued before may be what breaks its nodes, and
  // must not cycle through the cluster at full speed: 1 s, doubling up to a minute; squeue
  // shows BeginTime meanwhile.
  if (job.restart_count <= 1) {
    job.reason = "None";
    return;
  }
  const int64_t backoff =
      std::min<int64_t>(int64_t{1} << std::min(job.restart_count - 2, 6u), kMaxRequeueBackoffS);
  job.req.begin_time = now + backoff;
  job.eligible_time = job.req.begin_time;
}

void Controller::NodeFailedLocked(Node& node, int64_t now, const std::string& reason) {
  node.down = true;
  node.reason = reason;
  node.reason_time = now;
  metrics_->NodeFailed(node);
  PendingWrites ops;
  for (JobId job_id : std::vector<JobId>(node.running_jobs)) {
    Job& job = jobs_[job_id];
    TerminateOnNodesLocked(job);
    ReleaseResourcesLocked(job);
    if (job.state == JobState::kRunning) {
      if (job.req.requeue && !job.req.interactive) {
        RequeueAfterFailureLocked(job, now);
      } else {
        job.reason = "NodeFail";
        FinishJobLocked(job, JobState::kNodeFail, now);
      }
    }
    PersistLocked(job, ops);
  }
  spdlog::warn("node {} DOWN: {}", node.name, reason);
  // Queued in order; nobody waits here (the timer thread must not block on the disk).
}

void Controller::FoldHeardLocked() {
  for (const auto& [name, session] : sessions_) {
    if (Node* node = FindNodeLocked(name)) {
      node->heard_ms = std::max(node->heard_ms, session->heard_ms());
      node->last_heartbeat = std::max(node->last_heartbeat, session->heard_s());
    }
  }
}

bool Controller::SilentLocked(const Node& node, int64_t now_ms) const {
  // Never heard of and nothing to wait for (a configured node whose agent never came).
  if (node.down || (node.heard_ms == 0 && node.running_jobs.empty())) return false;
  // Power saving's nodes are silent on purpose (powered down) or have ResumeTimeout to register.
  if (node.power != NodePower::kOn) return false;
  const int64_t timeout_ms = config_.node_timeout_s * 1000;
  // A node restored with running jobs and not registered since this controller started: after
  // a restart the whole fleet reconnects at once, and thousands of agents (TLS handshakes,
  // registrations in batches) take longer than the timeout. While others still register its
  // agent is presumably among them; declared DOWN, its jobs would be requeued and run twice.
  // It is judged from the last registration instead, so a node that never comes back is DOWN
  // once the storm has been over for the timeout.
  const bool awaited = node.boot_time == 0 && !node.running_jobs.empty();
  const int64_t heard_ms = awaited ? std::max(node.heard_ms, last_registration_ms_) : node.heard_ms;
  if (now_ms - heard_ms <= timeout_ms) return false;
  auto s = sessions_.find(node.name);
  return s == sessions_.end() || now_ms - s->second->heard_ms() > timeout_ms;
}

bool Controller::AnySilent(int64_t now_ms) const {
  ReadLock lock(mu_);
  return std::any_of(nodes_.begin(), nodes_.end(),
                     [&](const Node& node) { return SilentLocked(node, now_ms); });
}

bool Controller::CheckLivenessLocked(int64_t now_ms, int64_t now) {
  bool changed = false;
  for (Node& node : nodes_) {
    if (!SilentLocked(node, now_ms)) continue;
    auto s = sessions_.find(node.name);
    if (s != sessions_.end()) {
      node.heard_ms = std::max(node.heard_ms, s->second->heard_ms());
      node.last_heartbeat = std::max(node.last_heartbeat, s->second->heard_s());
      s->second->Close();
      sessions_.erase(s);
    }
    node.responding = false;
    spdlog::info("node {}: nothing heard for {} ms (SlurmdTimeout {} s)", node.name,
                 now_ms - node.heard_ms, config_.node_timeout_s);
    NodeFailedLocked(node, now, "Not responding");
    changed = true;
  }
  return changed;
}

void Controller::TimerLoop() {
  // The node check runs every node_check_ms (DOWN lands at most that long after the timeout);
  // the other chores (acknowledging synced ends, allocations' limits, usage, forgetting old
  // jobs) keep their quarter-second pace, so their syncs stay batched as before.
  constexpr int64_t kChoresEveryMs = 250;
  const auto check_every =
      std::chrono::milliseconds(std::clamp<int64_t>(config_.node_check_ms, 10, kChoresEveryMs));
  int64_t last_chores_ms = 0;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(sched_mu_);
      sched_cv_.wait_for(lock, check_every, [&] { return stopping_; });
      if (stopping_) return;
    }
    const int64_t now_ms = SteadyMs();
    const bool chores = now_ms - last_chores_ms >= kChoresEveryMs - 5;
    // Between chores, the exclusive lock only when a node is due (a shared look first).
    if (!chores && !AnySilent(now_ms)) continue;
    if (chores) {
      last_chores_ms = now_ms;
      AcknowledgeSyncedEnds();
    }
    const int64_t now = NowSeconds();
    WriteLock lock = LockForChange();
    bool changed = CheckLivenessLocked(now_ms, now);
    if (!chores) {
      if (changed) TriggerSchedule();
      continue;
    }
    FoldHeardLocked();
    CheckAllocationsLocked(now);
    PowerTickLocked(now);
    SyncNodeEventsLocked(now);
    if (now - last_usage_calc_ >= config_.priority_calc_period_s) {
      UpdateUsageLocked(now);
      last_usage_calc_ = now;
    }
    // Finished jobs stay visible for MinJobAge, then live on only in the store.
    while (!finished_by_end_.empty() &&
           now - finished_by_end_.top().first > config_.min_job_age_s) {
      const JobId id = finished_by_end_.top().second;
      finished_by_end_.pop();
      auto it = jobs_.find(id);
      if (it == jobs_.end()) continue;
      const Job& job = it->second;
      if (!IsFinished(job.state)) continue;  // requeued since
      if (job.terminating || now - job.end_time <= config_.min_job_age_s) {
        // Still stopping, or finished again later: look again in a while.
        finished_by_end_.emplace(std::max(job.end_time, now - config_.min_job_age_s), id);
        continue;
      }
      announced_.erase(id);
      const JobId array_job_id = job.IsArrayTask() ? job.array_job_id : 0;
      jobs_.erase(it);
      // The array's bounds go with its last task held (tasks' ids follow the array's own).
      if (array_job_id != 0) {
        auto next = jobs_.lower_bound(array_job_id);
        if (next == jobs_.end() || next->second.array_job_id != array_job_id) {
          array_bounds_.erase(array_job_id);
        }
      }
    }
    if (changed) TriggerSchedule();
  }
}

}  // namespace shoal
