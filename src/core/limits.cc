#include "core/limits.h"

#include <algorithm>

namespace shoal {
namespace {

// Slurm's reason for a TRES limit, by resource ("cpu", "mem", "node", "gres/gpu").
struct TresReasons {
  const char* cpu;
  const char* mem;
  const char* node;
  const char* gpu;
  const char* For(std::string_view resource) const {
    return resource == "cpu" ? cpu : resource == "mem" ? mem : resource == "node" ? node : gpu;
  }
};

constexpr TresReasons kAssocGrp{"AssocGrpCpuLimit", "AssocGrpMemLimit", "AssocGrpNodeLimit",
                                "AssocGrpGRES"};
constexpr TresReasons kAssocPerJob{"AssocMaxCpuPerJobLimit", "AssocMaxMemPerJob",
                                   "AssocMaxNodePerJobLimit", "AssocMaxGRESPerJob"};
constexpr TresReasons kQosGrp{"QOSGrpCpuLimit", "QOSGrpMemLimit", "QOSGrpNodeLimit",
                              "QOSGrpGRES"};
constexpr TresReasons kQosPerJob{"QOSMaxCpuPerJobLimit", "QOSMaxMemoryPerJob",
                                 "QOSMaxNodePerJobLimit", "QOSMaxGRESPerJob"};
constexpr TresReasons kQosPerUser{"QOSMaxCpuPerUserLimit", "QOSMaxMemoryPerUser",
                                  "QOSMaxNodePerUserLimit", "QOSMaxGRESPerUser"};

const Tres kNothing{0, 0, 0, 0};

void Add(Tres& into, const Tres& t) {
  into.cpu += t.cpu;
  into.mem_mb += t.mem_mb;
  into.node += t.node;
  into.gpu += t.gpu;
}

}  // namespace

namespace {

Tres TresOf(const Job& job, bool gpus) {
  const JobRequest& r = job.req;
  Tres t;
  if (job.state == JobState::kPending) {
    t.cpu = static_cast<int64_t>(r.ntasks) * r.cpus_per_task;
    t.node = r.min_nodes;
    t.mem_mb = r.mem_per_node_mb > 0 ? static_cast<int64_t>(r.mem_per_node_mb) * r.min_nodes
                                     : static_cast<int64_t>(r.mem_per_cpu_mb) * t.cpu;
    t.gpu = static_cast<int64_t>(r.gpus_per_node) * r.min_nodes;
    return t;
  }
  t.cpu = job.alloc_cpus;
  t.node = static_cast<int64_t>(job.nodes.size());
  t.mem_mb = static_cast<int64_t>(job.mem_per_node_alloc_mb) * t.node;
  t.gpu = 0;
  if (gpus) {
    for (const auto& g : job.gpu_indices) t.gpu += static_cast<int64_t>(g.size());
  }
  return t;
}

}  // namespace

Tres JobTres(const Job& job) { return TresOf(job, true); }

void AssocLookup::Build(const AccountingDb& db) {
  index_.clear();
  index_.reserve(db.assocs.size());
  for (uint32_t i = 0; i < db.assocs.size(); ++i) {
    const Association& a = db.assocs[i];
    std::string key = a.account;
    key.push_back('\0');
    key.append(a.user);
    key.push_back('\0');
    key.append(a.partition);
    index_.emplace(std::move(key), i);  // the first of duplicates, as FindAssoc
  }
}

uint32_t AssocLookup::Find(std::string_view account, std::string_view user,
                           std::string_view partition) const {
  std::string key(account);
  key.push_back('\0');
  key.append(user);
  key.push_back('\0');
  const size_t bare = key.size();
  // As AccountingDb::JobAssoc: the user's association for the partition, else its
  // partition-less one.
  if (!partition.empty()) {
    key.append(partition);
    if (auto it = index_.find(key); it != index_.end()) return it->second;
    key.resize(bare);
  }
  auto it = index_.find(key);
  return it == index_.end() ? kNoAssoc : it->second;
}

void StampAssoc(Job& job, const AccountingDb& db, const AssocLookup& lookup) {
  job.assoc_index = lookup.Find(job.req.account, job.req.user, job.req.partition);
  job.assoc_version = db.version;
}

void LimitTracker::Reset(const AccountingDb* db) {
  // A database that sets no limit the tracker applies costs the pass nothing.
  bool any = false;
  qos_limited_ = false;
  gpu_limited_ = false;
  if (db != nullptr) {
    for (const Association& a : db->assocs) {
      const AssocLimits& l = a.limits;
      any = any || l.grp_jobs != kNoLimit || !l.grp_tres.Empty() || l.max_jobs != kNoLimit ||
            !l.max_tres_per_job.Empty();
      gpu_limited_ =
          gpu_limited_ || l.grp_tres.gpu != kNoLimit || l.max_tres_per_job.gpu != kNoLimit;
    }
    for (const Qos& q : db->qos) {
      qos_limited_ = qos_limited_ || Limited(q);
      gpu_limited_ = gpu_limited_ || q.grp_tres.gpu != kNoLimit ||
                     q.max_tres_per_job.gpu != kNoLimit || q.max_tres_per_user.gpu != kNoLimit;
    }
    any = any || qos_limited_;
  }
  if (!any) qos_limited_ = gpu_limited_ = false;
  db_ = any ? db : nullptr;
  if (db_ == nullptr || db_ != cached_db_ || db_->version != cached_version_) {
    slots_.clear();
    if (db_ != nullptr) slots_.resize(db_->assocs.size() + 1);
    used_slots_.clear();
    assoc_use_.assign(db_ == nullptr ? 0 : db_->assocs.size(), Usage{});
    slot_by_key_.clear();
    cached_db_ = db_;
    cached_version_ = db_ == nullptr ? 0 : db_->version;
  } else {
    // Same associations: keep what was derived from them; only the counts start over.
    for (uint32_t slot : used_slots_) slots_[slot].running = 0;
    std::fill(assoc_use_.begin(), assoc_use_.end(), Usage{});
  }
  qos_use_.clear();
  qos_user_use_.clear();
}

const std::string& LimitTracker::Key(std::string_view a, std::string_view b) {
  key_.assign(a);
  key_.push_back('\0');
  key_.append(b);
  return key_;
}

bool LimitTracker::Limited(const Qos& q) {
  return q.grp_jobs != kNoLimit || !q.grp_tres.Empty() || !q.max_tres_per_job.Empty() ||
         !q.max_tres_per_user.Empty();
}

uint32_t LimitTracker::SlotByName(const Job& job) {
  Key(job.req.account, job.req.user);
  key_.push_back('\0');
  key_.append(job.req.partition);
  auto it = slot_by_key_.find(key_);
  if (it != slot_by_key_.end()) return it->second;
  // A partition association when the user has one for the job's partition (they count apart).
  const Association* a = db_->JobAssoc(job.req.account, job.req.user, job.req.partition);
  const uint32_t slot = a == nullptr ? static_cast<uint32_t>(db_->assocs.size())
                                     : static_cast<uint32_t>(a - db_->assocs.data());
  slot_by_key_.emplace(key_, slot);
  return slot;
}

LimitTracker::AssocInfo& LimitTracker::InfoOf(const Job& job) {
  const uint32_t none = static_cast<uint32_t>(db_->assocs.size());
  uint32_t slot;
  if (job.assoc_version != db_->version) {
    slot = SlotByName(job);
  } else if (job.assoc_index == kNoAssoc) {
    slot = none;
  } else {
    // A stamp of the same version names a valid index; the bound guards a caller's mistake.
    slot = job.assoc_index < none ? job.assoc_index : SlotByName(job);
  }
  AssocInfo& info = slots_[slot];
  if (!info.built) Build(info, slot);
  return info;
}

void LimitTracker::Build(AssocInfo& info, uint32_t slot) {
  info.built = true;
  used_slots_.push_back(slot);
  if (slot >= db_->assocs.size()) return;  // no association: no limits
  info.assoc = &db_->assocs[slot];
  const std::string& account = info.assoc->account;
  info.effective = db_->EffectiveLimits(*info.assoc);
  auto add_group = [&](const Association* a) {
    if (a != nullptr && (a->limits.grp_jobs != kNoLimit || !a->limits.grp_tres.Empty())) {
      info.groups.push_back(a);
      // assoc_use_ is sized once per database version: the pointer stays valid.
      info.group_use.push_back(&assoc_use_[static_cast<size_t>(a - db_->assocs.data())]);
    }
  };
  add_group(info.assoc);
  if (!info.assoc->user.empty()) add_group(db_->FindAssoc(account, ""));
  for (const std::string& up : db_->Ancestors(account)) add_group(db_->FindAssoc(up, ""));
  const AssocLimits& e = info.effective;
  info.limited = !info.groups.empty() || e.max_jobs != kNoLimit || !e.max_tres_per_job.Empty();
}

std::string_view LimitTracker::Blocker(const Job& job, const Qos* qos) {
  if (db_ == nullptr) return "";
  Tres want;
  bool have_want = false;
  if (qos != nullptr && Limited(*qos)) {
    want = JobTres(job);
    have_want = true;
    if (auto r = TresOverLimit(qos->max_tres_per_job, kNothing, want); !r.empty()) {
      return kQosPerJob.For(r);
    }
    const Usage& all = qos_use_[qos->name];
    if (qos->grp_jobs != kNoLimit && all.jobs + 1 > qos->grp_jobs) return "QOSGrpJobsLimit";
    if (auto r = TresOverLimit(qos->grp_tres, all.tres, want); !r.empty()) return kQosGrp.For(r);
    if (!qos->max_tres_per_user.Empty()) {
      const Usage& mine = qos_user_use_[Key(qos->name, job.req.user)];
      if (auto r = TresOverLimit(qos->max_tres_per_user, mine.tres, want); !r.empty()) {
        return kQosPerUser.For(r);
      }
    }
  }
  const AssocInfo& info = InfoOf(job);
  if (!info.limited) return "";
  if (!have_want) want = JobTres(job);
  if (auto r = TresOverLimit(info.effective.max_tres_per_job, kNothing, want); !r.empty()) {
    return kAssocPerJob.For(r);
  }
  if (info.effective.max_jobs != kNoLimit && info.running + 1 > info.effective.max_jobs) {
    return "AssocMaxJobsLimit";
  }
  for (size_t i = 0; i < info.groups.size(); ++i) {
    const Association* group = info.groups[i];
    const Usage& used = *info.group_use[i];
    if (group->limits.grp_jobs != kNoLimit && used.jobs + 1 > group->limits.grp_jobs) {
      return "AssocGrpJobsLimit";
    }
    if (auto r = TresOverLimit(group->limits.grp_tres, used.tres, want); !r.empty()) {
      return kAssocGrp.For(r);
    }
  }
  return "";
}

void LimitTracker::Charge(const Job& job, const Qos* qos) {
  if (db_ == nullptr) return;
  // A job the pass starts is still pending in its record: charge what it asked for.
  const Tres held = TresOf(job, gpu_limited_);
  if (qos != nullptr && Limited(*qos)) {
    Usage& all = qos_use_[qos->name];
    ++all.jobs;
    Add(all.tres, held);
    Usage& mine = qos_user_use_[Key(qos->name, job.req.user)];
    ++mine.jobs;
    Add(mine.tres, held);
  }
  AssocInfo& info = InfoOf(job);
  ++info.running;
  for (Usage* used : info.group_use) {
    ++used->jobs;
    Add(used->tres, held);
  }
}

}  // namespace shoal
