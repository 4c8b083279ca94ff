#include "rpc/grpc_process.h"

#include <absl/synchronization/mutex.h>
#include <grpc/support/log.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <string>

#include "log/logging.h"

namespace shoal {
namespace {

void LogGrpcLine(gpr_log_func_args* args) {
  // Never destroyed: gRPC's threads may log while the process exits.
  static LogThrottle* throttle = new LogThrottle(std::chrono::seconds(10));
  spdlog::level::level_enum level = spdlog::level::debug;
  if (args->severity == GPR_LOG_SEVERITY_ERROR) {
    level = spdlog::level::err;
  } else if (args->severity == GPR_LOG_SEVERITY_INFO) {
    level = spdlog::level::info;
  }
  const std::string where = std::string(args->file) + ":" + std::to_string(args->line);
  throttle->Log(level, where, "grpc " + where + ": " + args->message);
}

}  // namespace

void PrepareGrpcProcess() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  gpr_set_log_function(&LogGrpcLine);
}

}  // namespace shoal
