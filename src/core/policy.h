// Scheduling policies as small plugins, created by name from an explicit registry.
//
// A pass is one matcher (core/scheduler.h) steered by two policies:
//   - QueueOrder: where a pending job stands in the queue (fcfs, sjf, priority).
//   - BackfillPolicy: what happens behind a job that cannot start now (none, easy,
//     easy-sjbf, conservative).
// The registry maps names to constructors; nothing registers itself behind the reader's back.
// The controller picks names from its config, the simulator from its command line.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "core/model.h"

namespace shoal {

// A job's place in the queue: smaller goes first. The id breaks every tie, so the order is total
// and a pass is deterministic.
struct QueueKey {
  int64_t primary = 0;
  int64_t secondary = 0;
  JobId id = 0;
  auto operator<=>(const QueueKey&) const = default;
};

class QueueOrder {
 public:
  virtual ~QueueOrder() = default;
  virtual std::string_view name() const = 0;
  // `estimate_s` is the planning estimate (time limit, partition default, or kNever).
  virtual QueueKey Key(const Job& job, int64_t estimate_s) const = 0;
  // True when a job submitted later never goes ahead of one submitted earlier (FCFS). Callers
  // that keep the queue incrementally (the simulator) may then append new jobs.
  virtual bool ArrivalOrdered() const { return false; }
  // True when Key reads `estimate_s` (the pass computes it only then).
  virtual bool UsesEstimate() const { return false; }
};

// What the pass does with a job that cannot start now.
enum class BlockedAction : uint8_t {
  kStopPartition,  // nothing behind it in its partition starts this pass (strict order)
  kReserve,        // plan it at its earliest start; later jobs must not delay that
  kSkip,           // leave it unplanned; later jobs may start if they delay no reservation
};

class BackfillPolicy {
 public:
  virtual ~BackfillPolicy() = default;
  virtual std::string_view name() const = 0;
  // `first_in_partition`: no job of this partition was blocked earlier in the pass.
  virtual BlockedAction OnBlocked(bool first_in_partition) const = 0;
  // True: jobs behind a reservation are tried shortest estimate first, after the queue's heads;
  // false: in queue order.
  virtual bool ShortestFirst() const { return false; }
};

// Names to constructors. Built explicitly (RegisterBuiltinPolicies); tests and embedders may
// add their own.
class PolicyRegistry {
 public:
  using OrderFactory = std::function<std::unique_ptr<QueueOrder>()>;
  using BackfillFactory = std::function<std::unique_ptr<BackfillPolicy>()>;

  // The built-in policies, created once.
  static const PolicyRegistry& Builtin();

  // AlreadyExists when the name is taken.
  Status AddOrder(std::string name, OrderFactory factory);
  Status AddBackfill(std::string name, BackfillFactory factory);

  // NotFound (naming the known ones) for an unknown name.
  Result<std::unique_ptr<QueueOrder>> NewOrder(std::string_view name) const;
  Result<std::unique_ptr<BackfillPolicy>> NewBackfill(std::string_view name) const;

  std::vector<std::string> OrderNames() const;
  std::vector<std::string> BackfillNames() const;

 private:
  std::map<std::string, OrderFactory, std::less<>> orders_;
  std::map<std::string, BackfillFactory, std::less<>> backfills_;
};

// fcfs (submit time), sjf (estimate, then submit), priority (job priority, then submit);
// none, easy, easy-sjbf, conservative.
void RegisterBuiltinPolicies(PolicyRegistry& registry);

}  // namespace shoal
