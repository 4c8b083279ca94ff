// The PostgreSQL implementation of Store, for a controller whose state lives on a database
// server (slurm.conf: StorageType=postgresql, StorageURL=...). Same contract and logical schema
// as the SQLite store; written with libpq (the C API, no wrapper to package or link).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "store/postgres_conninfo.h"  // ValidatePostgresConninfo, RedactConninfo
#include "store/store.h"

namespace shoal {

// Connects to `conninfo` (a libpq URI, postgresql://user@host:port/db, or key=value string),
// creates or migrates the schema and returns the store. The server's message comes back in the
// Status when it cannot be reached or refuses.
Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo);

// Fencing for a store written by the leader of several controllers (docs/high-availability.md):
// every transaction first checks, in the same transaction, that the lease's epoch is still
// `epoch` (holding the lease row FOR SHARE until it commits, so a takeover either waits for it
// or has already made it fail). A mismatch fails the whole transaction with
// kFailedPrecondition and calls `on_fenced` (in the writer thread) with the reason.
struct StoreFencing {
  int64_t epoch = 0;
  std::function<void(const std::string&)> on_fenced;
};
Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo, StoreFencing fencing);

// The leader lease of controllers sharing one database: one row holding an epoch (the fencing
// token, raised at every acquisition), the holder's name and addresses, and when it expires.
// Every time is the database server's, never a controller's clock. Not thread-safe: one
// thread (or a caller's lock) uses it; it has its own connection.
struct LeaseState {
  int64_t epoch = 0;
  std::string holder;         // empty: never held
  std::string api_address;    // where the holder's API listens (HOST:PORT)
  std::string agent_address;  // where its agents' gRPC service listens
  bool expired = true;
};

class LeaderLease {
 public:
  virtual ~LeaderLease() = default;
  // Takes the lease when it has expired (or is already this holder's), for `ttl_ms` from now:
  // the new epoch, or nullopt when another controller holds it.
  virtual Result<std::optional<int64_t>> TryAcquire() = 0;
  // Extends the lease held at `epoch` by ttl_ms from now; false when it is no longer held at
  // that epoch (another controller took it over).
  virtual Result<bool> Renew(int64_t epoch) = 0;
  // Lets the lease held at `epoch` expire now, so a standby takes over at once.
  virtual Status Release(int64_t epoch) = 0;
  virtual Result<LeaseState> Read() = 0;
};

// Connects (creating or migrating the schema as OpenPostgresStore does). `holder` names this
// controller; the addresses are published in the lease while it holds it.
Result<std::unique_ptr<LeaderLease>> OpenLeaderLease(const std::string& conninfo,
                                                     const std::string& holder,
                                                     const std::string& api_address,
                                                     const std::string& agent_address,
                                                     int64_t ttl_ms);

}  // namespace shoal
