// The controller's priority and fair-share bookkeeping: the factors of each pending job, the
// usage that decays and is charged as jobs run, and the listing sprio shows.
#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include "common/strings.h"
#include "controller/controller.h"

namespace shoal {

// The factors of many jobs, with what they depend on besides the job itself looked up once per
// association, partition and QOS rather than once per job: a listing or a recomputation walks
// 100,000 pending jobs, and the fair-share map's ordered string compares cost more than the rest.
class Controller::FactorBatch {
 public:
  FactorBatch(const Controller& c, const std::map<UsageKey, double>& fairshare,
              const PriorityContext& ctx, int64_t now)
      : c_(c), fairshare_(fairshare), ctx_(ctx), now_(now) {}

  PriorityFactors Of(const Job& job) {
    const JobRequest& r = job.req;
    const Assoc& assoc = AssocOf(r);
    if (partition_name_ == nullptr || *partition_name_ != r.partition) {
      partition_name_ = &r.partition;
      partition_ = c_.FindPartitionLocked(r.partition);
    }
    const std::string_view qos_name = QosNameOf(r);
    if (!qos_known_ || qos_name != qos_name_) {
      qos_known_ = true;
      qos_name_.assign(qos_name);
      qos_ = FindQos(c_.accounting_.qos, qos_name);
    }
    return ComputeFactors(job, partition_, qos_, assoc.fairshare, assoc.priority, ctx_,
                          c_.config_.weights, now_);
  }

 private:
  struct Assoc {
    double fairshare = 1;  // an association without usage (or not yet seen) has it all
    uint32_t priority = 0;
  };

  const std::string& Key(std::string_view account, std::string_view user) {
    key_.assign(account);
    key_.push_back('\0');
    key_.append(user);
    return key_;
  }

  const Assoc& AssocOf(const JobRequest& r) {
    auto it = assoc_.find(Key(r.account, r.user));
    if (it != assoc_.end()) return it->second;
    Assoc a;
    if (auto f = fairshare_.find(UsageKeyOf(r)); f != fairshare_.end()) a.fairshare = f->second;
    for (const AccountConfig& account : c_.account_shares_) {
      if (account.name == r.account) a.priority = account.priority;
    }
    return assoc_.emplace(key_, a).first->second;
  }

  const Controller& c_;
  const std::map<UsageKey, double>& fairshare_;
  const PriorityContext& ctx_;
  const int64_t now_;
  absl::flat_hash_map<std::string, Assoc> assoc_;  // "account\0user"
  std::string key_;
  const std::string* partition_name_ = nullptr;
  const Partition* partition_ = nullptr;
  bool qos_known_ = false;
  std::string qos_name_;
  const Qos* qos_ = nullptr;
};

PriorityFactors Controller::FactorsLocked(const Job& job, int64_t now) const {
  return FactorBatch(*this, fairshare_, priority_ctx_, now).Of(job);
}

uint32_t Controller::PriorityLocked(const Job& job, int64_t now) const {
  if (config_.priority_type == "priority/basic") return job.held ? 0 : 1;
  return JobPriority(job, FactorsLocked(job, now), config_.weights);
}

Controller::NewPriorities Controller::ComputePrioritiesLocked(int64_t now) const {
  NewPriorities out;
  out.reserve(live_jobs_.size());
  if (config_.priority_type == "priority/basic") {
    for (const auto& [id, job] : live_jobs_) {
      if (job->state == JobState::kPending) out.push_back({id, job, PriorityLocked(*job, now)});
    }
    return out;
  }
  FactorBatch batch(*this, fairshare_, priority_ctx_, now);
  for (const auto& [id, job] : live_jobs_) {
    if (job->state != JobState::kPending) continue;
    out.push_back({id, job, JobPriority(*job, batch.Of(*job), config_.weights)});
  }
  return out;
}

std::vector<UsageKey> Controller::LiveAssociationsLocked(const std::map<JobId, Job>& more) const {
  // A hash set of flat keys: 100,000 jobs in an ordered set of string pairs cost ten times more.
  absl::flat_hash_set<std::string> seen;
  std::vector<UsageKey> keys;
  std::string key;
  auto add = [&](const JobRequest& r) {
    key.assign(r.account);
    key.push_back('\0');
    key.append(r.user);
    if (seen.insert(key).second) keys.push_back(UsageKeyOf(r));
  };
  for (const auto& [id, job] : live_jobs_) add(job->req);
  for (const auto& [id, job] : more) add(job.req);
  std::sort(keys.begin(), keys.end());
  return keys;
}

void Controller::RefreshPriorityInputsLocked(bool fairshare, bool force) {
  PriorityContext ctx = MakePriorityContext(nodes_, partitions_, accounting_.qos, account_shares_);
  const bool changed = ctx.total_nodes != priority_ctx_.total_nodes ||
                       ctx.total_cpus != priority_ctx_.total_cpus ||
                       ctx.max_partition_factor != priority_ctx_.max_partition_factor ||
                       ctx.max_qos_priority != priority_ctx_.max_qos_priority ||
                       ctx.max_assoc_priority != priority_ctx_.max_assoc_priority;
  priority_ctx_ = ctx;
  if (changed) priorities_stale_ = true;
  const int64_t now = NowSeconds();
  if (fairshare && fairshare_stale_ && (force || now != last_fairshare_calc_)) {
    // The associations that count for the shares: every one with usage or a live job.
    fairshare_ = FairShareFactors(accounting_, usage_, LiveAssociationsLocked({}),
                                  config_.fairshare_algorithm);
    fairshare_stale_ = false;
    last_fairshare_calc_ = now;
    priorities_stale_ = true;
  }
}

double Controller::UsageFactorOf(const Job& job) const {
  const Qos* qos = FindQos(accounting_.qos, QosNameOf(job.req));
  return qos == nullptr ? 1.0 : qos->usage_factor;
}

void Controller::ChargeRunLocked(const Job& job, int64_t end) {
  if (job.start_time <= 0 ||
      (job.state != JobState::kRunning && job.state != JobState::kCompleting &&
       job.state != JobState::kSuspended)) {
    return;
  }
  // The part of the run before usage_.as_of was charged by the last periodic update.
  const double cpu_seconds = UsageBetween(job, usage_.as_of, end, UsageFactorOf(job));
  if (cpu_seconds <= 0) return;
  const UsageKey key = UsageKeyOf(job.req);
  ChargeUsage(usage_, key, cpu_seconds);
  MarkFairshareStaleLocked();
  SaveUsageLocked({{key, usage_.usage[key]}}, /*replace_all=*/false);
}

void Controller::UpdateUsageLocked(int64_t now) {
  struct tm local;
  const time_t t = static_cast<time_t>(now);
  localtime_r(&t, &local);
  if (NextUsageReset(config_.usage_reset, usage_.last_reset, local.tm_gmtoff) <= now) {
    spdlog::info("fair share: usage reset ({})", UsageResetPeriodName(config_.usage_reset));
    usage_.usage.clear();
    usage_.last_reset = now;
  }
  // Running jobs are charged for the time since the last update, then everything decays.
  std::vector<std::pair<UsageKey, double>> charges;
  for (const auto& [id, job] : live_jobs_) {
    if (job->state != JobState::kRunning && job->state != JobState::kCompleting) continue;
    charges.emplace_back(UsageKeyOf(job->req),
                         UsageBetween(*job, usage_.as_of, now, UsageFactorOf(*job)));
  }
  DecayUsage(usage_, now, config_.decay_half_life_s);
  for (const auto& [key, cpu_seconds] : charges) ChargeUsage(usage_, key, cpu_seconds);
  MarkFairshareStaleLocked();
  SaveUsageLocked(
      std::vector<std::pair<UsageKey, double>>(usage_.usage.begin(), usage_.usage.end()),
      /*replace_all=*/true);
}

void Controller::SaveUsageLocked(std::vector<std::pair<UsageKey, double>> rows, bool replace_all) {
  StoreOp op;
  op.kind = StoreOp::Kind::kSaveUsage;
  op.usage = std::move(rows);
  op.usage_replace_all = replace_all;
  op.usage_as_of = usage_.as_of;
  op.usage_last_reset = usage_.last_reset;
  // Nobody is told it is durable: losing the last moments of usage to a power cut costs little.
  op.must_sync = false;
  std::vector<StoreOp> ops;
  ops.push_back(std::move(op));
  store_->Submit(std::move(ops));  // queued in order; not waited for
}

std::vector<Controller::PriorityRow> Controller::ListPriorities(const JobFilter& filter) {
  std::vector<PriorityRow> rows;
  const int64_t now = NowSeconds();
  // Shared: a listing of 100,000 jobs must neither wait for a scheduling pass's computation nor
  // stop one. Inputs that are out of date are computed afresh here and not kept.
  ReadLock lock(mu_);
  // Submissions not yet admitted are pending too; copied, so as not to hold up new ones (there
  // are few: every change of state admits them).
  std::map<JobId, Job> arrivals;
  {
    std::lock_guard<std::mutex> arrivals_lock(arrivals_mu_);
    arrivals = arrivals_;
  }
  const PriorityContext ctx =
      MakePriorityContext(nodes_, partitions_, accounting_.qos, account_shares_);
  std::shared_ptr<const std::map<UsageKey, double>> fresh;
  const std::map<UsageKey, double>* fairshare = &fairshare_;
  if (fairshare_stale_) {
    {
      std::lock_guard<std::mutex> cache_lock(listing_fairshare_mu_);
      if (listing_fairshare_ && listing_fairshare_epoch_ == fairshare_epoch_) {
        fresh = listing_fairshare_;
      }
    }
    // Submissions not yet admitted may bring associations the kept shares do not know.
    for (const auto& [id, job] : arrivals) {
      if (fresh && fresh->count(UsageKeyOf(job.req)) == 0) fresh.reset();
    }
    if (!fresh) {
      fresh = std::make_shared<const std::map<UsageKey, double>>(
          FairShareFactors(accounting_, usage_, LiveAssociationsLocked(arrivals),
                           config_.fairshare_algorithm));
      std::lock_guard<std::mutex> cache_lock(listing_fairshare_mu_);
      listing_fairshare_ = fresh;
      listing_fairshare_epoch_ = fairshare_epoch_;
    }
    fairshare = fresh.get();
  }
  FactorBatch batch(*this, *fairshare, ctx, now);
  auto wanted = [](const auto& list, const auto& value) {
    return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
  };
  auto add = [&](JobId id, const Job* job) {
    if (job->state != JobState::kPending || job->held || job->req.begin_time > now) return;
    if (!wanted(filter.users, job->req.user) || !wanted(filter.partitions, job->req.partition)) {
      return;
    }
    if (!job->req.dependency.clauses.empty() &&
        EvaluateDependency(*job, jobs_) != DependencyState::kSatisfied) {
      return;
    }
    PriorityRow row;
    row.id = id;
    row.user = job->req.user;
    row.partition = job->req.partition;
    row.factors = batch.Of(*job);
    // From the same factors, so a line adds up (the stored priority may be a second older).
    row.priority = JobPriority(*job, row.factors, config_.weights);
    rows.push_back(std::move(row));
  };
  auto find = [&](JobId id) -> const Job* {
    if (auto it = live_jobs_.find(id); it != live_jobs_.end()) return it->second;
    if (auto it = arrivals.find(id); it != arrivals.end()) return &it->second;
    return nullptr;
  };
  if (filter.ids.empty()) {
    rows.reserve(live_jobs_.size() + arrivals.size());
    // In id order, arrivals (the newest) after the admitted jobs.
    for (const auto& [id, job] : live_jobs_) add(id, job);
    for (const auto& [id, job] : arrivals) {
      if (live_jobs_.count(id) == 0) add(id, &job);
    }
    return rows;
  }
  // sprio -j: only the jobs named, in id order as the full listing has them.
  std::vector<JobId> ids;
  for (const std::string& text : filter.ids) {
    if (auto id = ParseUint(text)) ids.push_back(*id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (JobId id : ids) {
    if (const Job* job = find(id)) add(id, job);
  }
  return rows;
}

}  // namespace shoal
