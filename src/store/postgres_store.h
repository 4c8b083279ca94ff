// The PostgreSQL implementation of Store, for a controller whose state lives on a database
// server (slurm.conf: StorageType=postgresql, StorageURL=...). Same contract and logical schema
// as the SQLite store; written with libpq (the C API, no wrapper to package or link).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "store/postgres_conninfo.h"  // ValidatePostgresConninfo, RedactConninfo
#include "store/store.h"

namespace shoal {

// Connects to `conninfo` (a libpq URI, postgresql://user@host:port/db, or key=value string),
// creates or migrates the schema and returns the store. The server's message comes back in the
// Status when it cannot be reached or refuses.
Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo);

}  // namespace shoal
