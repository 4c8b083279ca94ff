// PostgreSQL connection strings as the config and its display handle them, apart from the store
// itself so the config parser (and its fuzz target) needs libpq's parser only.
#pragma once

#include <string>

#include "common/status.h"

namespace shoal {

// Whether libpq can parse `conninfo` (without connecting): InvalidArgument with libpq's reason.
Status ValidatePostgresConninfo(const std::string& conninfo);

// `conninfo` with any password replaced by "*****", for logs and scontrol show config.
std::string RedactConninfo(const std::string& conninfo);

}  // namespace shoal
