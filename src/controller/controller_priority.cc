// The controller's priority and fair-share bookkeeping: the factors of each pending job, the
// usage that decays and is charged as jobs run, and the listing sprio shows.
#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/strings/string_view.h>

#include "common/strings.h"
#include "controller/controller.h"

namespace shoal {
namespace {

// The position of `name` in `names`, appended when new. `index` maps names to positions; names
// appended without it (a listing's names copied from the table) are indexed first.
uint32_t InternName(absl::flat_hash_map<std::string, uint32_t>& index,
                    std::vector<std::string>& names, std::string_view name) {
  for (uint32_t i = static_cast<uint32_t>(index.size()); i < names.size(); ++i) {
    index.emplace(names[i], i);
  }
  // Debian's Abseil has a string_view of its own: look up through it, with no copy.
  if (auto it = index.find(absl::string_view(name.data(), name.size())); it != index.end()) {
    return it->second;
  }
  const uint32_t i = static_cast<uint32_t>(names.size());
  names.emplace_back(name);
  index.emplace(names.back(), i);
  return i;
}

}  // namespace

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

struct Controller::PriorityTable {
  struct Row {
    JobId id = 0;
    int64_t since = 0;       // eligible since: where its age starts
    int64_t begin_time = 0;  // not eligible before
    double job_size = 0;     // its factor: measured against total_nodes and total_cpus
    int32_t nice = 0;
    uint32_t assoc = 0;      // in assocs
    uint32_t partition = 0;  // in partitions
    uint32_t qos = 0;        // in qos
    bool held = false;
    bool has_dependency = false;  // evaluated by each listing (other jobs decide it)
  };
  struct Assoc {
    std::string account;
    uint32_t user = 0;  // in users
  };
  uint32_t total_nodes = 0;
  uint64_t total_cpus = 0;
  std::vector<std::string> users, partitions, qos;
  std::vector<Assoc> assocs;
  std::vector<Row> rows;  // the pending jobs, in id order
  size_t max_changes = 0;  // more changed jobs than this: rebuilt rather than patched
};

void Controller::MarkPriorityRowChangedLocked(JobId id) {
  std::lock_guard<std::mutex> lock(priority_table_mu_);
  if (!priority_table_ || priority_changed_overflow_) return;
  if (priority_changed_.size() >= priority_table_->max_changes) {
    priority_changed_overflow_ = true;
    priority_changed_.clear();
    return;
  }
  priority_changed_.push_back(id);
}

std::shared_ptr<const Controller::PriorityTable> Controller::BuildPriorityTableLocked(
    const PriorityContext& ctx) const {
  auto t = std::make_shared<PriorityTable>();
  t->total_nodes = ctx.total_nodes;
  t->total_cpus = ctx.total_cpus;
  absl::flat_hash_map<std::string, uint32_t> assoc_of, user_of, partition_of, qos_of;
  std::string key;
  t->rows.reserve(live_jobs_.size());
  for (const auto& [id, job] : live_jobs_) {
    if (job->state != JobState::kPending) continue;
    const JobRequest& r = job->req;
    PriorityTable::Row row;
    row.id = id;
    row.since = std::max(job->submit_time, job->eligible_time);
    row.begin_time = r.begin_time;
    row.job_size = JobSizeFactor(r, ctx, config_.weights);
    row.nice = r.nice;
    row.held = job->held;
    row.has_dependency = !r.dependency.clauses.empty();
    key.assign(r.account);
    key.push_back('\0');
    key.append(r.user);
    if (auto it = assoc_of.find(key); it != assoc_of.end()) {
      row.assoc = it->second;
    } else {
      row.assoc = static_cast<uint32_t>(t->assocs.size());
      t->assocs.push_back({r.account, InternName(user_of, t->users, r.user)});
      assoc_of.emplace(key, row.assoc);
    }
    row.partition = InternName(partition_of, t->partitions, r.partition);
    row.qos = InternName(qos_of, t->qos, QosNameOf(r));
    t->rows.push_back(row);
  }
  t->max_changes = 1024 + t->rows.size() / 8;
  return t;
}

std::vector<Controller::PriorityRow> Controller::ListPriorities(const JobFilter& filter) {
  PriorityListing listing = ListPriorityTable(filter);
  std::vector<PriorityRow> rows;
  rows.reserve(listing.rows.size());
  for (const PriorityListing::Row& r : listing.rows) {
    rows.push_back({r.id, listing.users[r.user], listing.partitions[r.partition], r.priority,
                    r.factors});
  }
  return rows;
}

Controller::PriorityListing Controller::ListPriorityTable(const JobFilter& filter) {
  PriorityListing out;
  const int64_t now = NowSeconds();
  const PriorityWeights& w = config_.weights;
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

  // Jobs listed from their records (named by -j, changed since the table was built, or not yet
  // admitted): their names are added to the listing's as they come.
  FactorBatch batch(*this, *fairshare, ctx, now);
  absl::flat_hash_map<std::string, uint32_t> user_of, partition_of;
  auto wanted = [](const auto& list, const auto& value) {
    return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
  };
  std::vector<PriorityListing::Row> from_records;
  auto add = [&](JobId id, const Job* job) {
    if (job->state != JobState::kPending || job->held || job->req.begin_time > now) return;
    if (!wanted(filter.users, job->req.user) || !wanted(filter.partitions, job->req.partition)) {
      return;
    }
    if (!job->req.dependency.clauses.empty() &&
        EvaluateDependency(*job, jobs_) != DependencyState::kSatisfied) {
      return;
    }
    PriorityListing::Row row;
    row.id = id;
    row.user = InternName(user_of, out.users, job->req.user);
    row.partition = InternName(partition_of, out.partitions, job->req.partition);
    row.factors = batch.Of(*job);
    // From the same factors, so a line adds up (the stored priority may be a second older).
    row.priority = JobPriority(*job, row.factors, w);
    from_records.push_back(row);
  };
  auto find = [&](JobId id) -> const Job* {
    if (auto it = live_jobs_.find(id); it != live_jobs_.end()) return it->second;
    if (auto it = arrivals.find(id); it != arrivals.end()) return &it->second;
    return nullptr;
  };
  if (!filter.ids.empty()) {
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
    out.rows = std::move(from_records);
    return out;
  }

  // Every pending job: from the table, but for the jobs changed since it was built.
  std::shared_ptr<const PriorityTable> table;
  std::vector<JobId> changed;
  bool overflow = false;
  {
    std::lock_guard<std::mutex> table_lock(priority_table_mu_);
    table = priority_table_;
    changed = priority_changed_;
    overflow = priority_changed_overflow_;
  }
  if (!table || overflow || table->total_nodes != ctx.total_nodes ||
      table->total_cpus != ctx.total_cpus) {
    // No writer runs while the shared lock is held: the table is the jobs as they are now.
    table = BuildPriorityTableLocked(ctx);
    changed.clear();
    std::lock_guard<std::mutex> table_lock(priority_table_mu_);
    priority_table_ = table;
    priority_changed_.clear();
    priority_changed_overflow_ = false;
  }
  const PriorityTable& t = *table;
  for (const auto& [id, job] : arrivals) {
    if (live_jobs_.count(id) == 0) changed.push_back(id);
  }
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  out.users = t.users;
  out.partitions = t.partitions;
  for (JobId id : changed) {
    if (const Job* job = find(id)) add(id, job);
  }

  // What the rows share, worked out once per association, partition and QOS.
  struct AssocValues {
    double fairshare = 1;  // an association without usage (or not yet seen) has it all
    double assoc = 0;
  };
  std::vector<AssocValues> assoc_values(t.assocs.size());
  for (size_t i = 0; i < t.assocs.size(); ++i) {
    const PriorityTable::Assoc& a = t.assocs[i];
    UsageKey key{a.account, t.users[a.user]};
    if (auto f = fairshare->find(key); f != fairshare->end()) assoc_values[i].fairshare = f->second;
    uint32_t priority = 0;
    for (const AccountConfig& account : account_shares_) {
      if (account.name == a.account) priority = account.priority;
    }
    assoc_values[i].fairshare = FairshareFactor(assoc_values[i].fairshare);
    assoc_values[i].assoc = AssocFactor(priority, ctx);
  }
  std::vector<double> partition_factor(t.partitions.size()), qos_factor(t.qos.size());
  std::vector<uint8_t> user_wanted(t.users.size()), partition_wanted(t.partitions.size());
  for (size_t i = 0; i < t.partitions.size(); ++i) {
    partition_factor[i] = PartitionFactor(FindPartitionLocked(t.partitions[i]), ctx);
    partition_wanted[i] = wanted(filter.partitions, t.partitions[i]);
  }
  for (size_t i = 0; i < t.qos.size(); ++i) {
    qos_factor[i] = QosFactor(FindQos(accounting_.qos, t.qos[i]), ctx);
  }
  for (size_t i = 0; i < t.users.size(); ++i) user_wanted[i] = wanted(filter.users, t.users[i]);

  out.rows.reserve(t.rows.size() + from_records.size());
  size_t next_changed = 0, next_record = 0;
  for (const PriorityTable::Row& r : t.rows) {
    while (next_record < from_records.size() && from_records[next_record].id < r.id) {
      out.rows.push_back(from_records[next_record++]);
    }
    while (next_changed < changed.size() && changed[next_changed] < r.id) ++next_changed;
    if (next_changed < changed.size() && changed[next_changed] == r.id) continue;
    if (r.held || r.begin_time > now) continue;
    const PriorityTable::Assoc& a = t.assocs[r.assoc];
    if (!user_wanted[a.user] || !partition_wanted[r.partition]) continue;
    if (r.has_dependency) {
      auto it = live_jobs_.find(r.id);
      if (it == live_jobs_.end() ||
          EvaluateDependency(*it->second, jobs_) != DependencyState::kSatisfied) {
        continue;
      }
    }
    PriorityListing::Row& row = out.rows.emplace_back();
    row.id = r.id;
    row.user = a.user;
    row.partition = r.partition;
    PriorityFactors& f = row.factors;
    f.age = AgeFactor(r.since, now, w);
    f.assoc = assoc_values[r.assoc].assoc;
    f.fairshare = assoc_values[r.assoc].fairshare;
    f.job_size = r.job_size;
    f.partition = partition_factor[r.partition];
    f.qos = qos_factor[r.qos];
    f.nice = r.nice;
    row.priority = PriorityOf(f, w);  // not held: held jobs are not listed
  }
  while (next_record < from_records.size()) out.rows.push_back(from_records[next_record++]);
  return out;
}

}  // namespace shoal
