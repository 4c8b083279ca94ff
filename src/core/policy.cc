#include "core/policy.h"

#include <utility>

namespace shoal {
namespace {

class FcfsOrder final : public QueueOrder {
 public:
  std::string_view name() const override { return "fcfs"; }
  QueueKey Key(const Job& job, int64_t) const override { return {job.submit_time, 0, job.id}; }
  bool ArrivalOrdered() const override { return true; }
};

class SjfOrder final : public QueueOrder {
 public:
  std::string_view name() const override { return "sjf"; }
  QueueKey Key(const Job& job, int64_t estimate_s) const override {
    return {estimate_s, job.submit_time, job.id};
  }
  bool UsesEstimate() const override { return true; }
};

class PriorityOrder final : public QueueOrder {
 public:
  std::string_view name() const override { return "priority"; }
  QueueKey Key(const Job& job, int64_t) const override {
    return {-static_cast<int64_t>(job.priority), job.submit_time, job.id};
  }
};

class NoBackfill final : public BackfillPolicy {
 public:
  std::string_view name() const override { return "none"; }
  BlockedAction OnBlocked(bool) const override { return BlockedAction::kStopPartition; }
};

class EasyBackfill : public BackfillPolicy {
 public:
  std::string_view name() const override { return "easy"; }
  BlockedAction OnBlocked(bool first_in_partition) const override {
    return first_in_partition ? BlockedAction::kReserve : BlockedAction::kSkip;
  }
};

class EasyShortestFirst final : public EasyBackfill {
 public:
  std::string_view name() const override { return "easy-sjbf"; }
  bool ShortestFirst() const override { return true; }
};

class ConservativeBackfill final : public BackfillPolicy {
 public:
  std::string_view name() const override { return "conservative"; }
  BlockedAction OnBlocked(bool) const override { return BlockedAction::kReserve; }
};

template <typename Map>
std::vector<std::string> Keys(const Map& m) {
  std::vector<std::string> names;
  for (const auto& [name, factory] : m) names.push_back(name);
  return names;
}

template <typename Map>
std::string Known(const Map& m) {
  std::string text;
  for (const auto& name : Keys(m)) text += (text.empty() ? "" : ", ") + name;
  return text;
}

}  // namespace

const PolicyRegistry& PolicyRegistry::Builtin() {
  static const PolicyRegistry* registry = [] {
    auto* r = new PolicyRegistry();
    RegisterBuiltinPolicies(*r);
    return r;
  }();
  return *registry;
}

Status PolicyRegistry::AddOrder(std::string name, OrderFactory factory) {
  if (orders_.contains(name)) return {StatusCode::kAlreadyExists, "queue order " + name};
  orders_.emplace(std::move(name), std::move(factory));
  return Status::Ok();
}

Status PolicyRegistry::AddBackfill(std::string name, BackfillFactory factory) {
  if (backfills_.contains(name)) return {StatusCode::kAlreadyExists, "backfill policy " + name};
  backfills_.emplace(std::move(name), std::move(factory));
  return Status::Ok();
}

Result<std::unique_ptr<QueueOrder>> PolicyRegistry::NewOrder(std::string_view name) const {
  auto it = orders_.find(name);
  if (it == orders_.end()) {
    return NotFound("unknown queue order '" + std::string(name) + "' (known: " + Known(orders_) +
                    ")");
  }
  return it->second();
}

Result<std::unique_ptr<BackfillPolicy>> PolicyRegistry::NewBackfill(std::string_view name) const {
  auto it = backfills_.find(name);
  if (it == backfills_.end()) {
    return NotFound("unknown backfill policy '" + std::string(name) +
                    "' (known: " + Known(backfills_) + ")");
  }
  return it->second();
}

std::vector<std::string> PolicyRegistry::OrderNames() const { return Keys(orders_); }
std::vector<std::string> PolicyRegistry::BackfillNames() const { return Keys(backfills_); }

void RegisterBuiltinPolicies(PolicyRegistry& r) {
  r.AddOrder("fcfs", [] { return std::make_unique<FcfsOrder>(); });
  r.AddOrder("sjf", [] { return std::make_unique<SjfOrder>(); });
  r.AddOrder("priority", [] { return std::make_unique<PriorityOrder>(); });
  r.AddBackfill("none", [] { return std::make_unique<NoBackfill>(); });
  r.AddBackfill("easy", [] { return std::make_unique<EasyBackfill>(); });
  r.AddBackfill("easy-sjbf", [] { return std::make_unique<EasyShortestFirst>(); });
  r.AddBackfill("conservative", [] { return std::make_unique<ConservativeBackfill>(); });
}

}  // namespace shoal
