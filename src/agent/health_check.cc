#include "agent/health_check.h"

#include "common/subprocess.h"

namespace shoal::agent {

std::string HealthCheckResult::Describe(std::chrono::seconds timeout) const {
  if (ok) return "ok";
  if (!error.empty()) return "could not run: " + error;
  if (timed_out) return "timed out after " + std::to_string(timeout.count()) + " s";
  if (signal != 0) return "killed by signal " + std::to_string(signal);
  return "exit code " + std::to_string(exit_code);
}

HealthCheckResult RunHealthCheck(const std::string& program, std::chrono::milliseconds timeout) {
  const ProgramResult p = RunProgram({program}, timeout);
  HealthCheckResult r;
  r.ok = p.ok;
  r.exit_code = p.exit_code;
  r.signal = p.signal;
  r.timed_out = p.timed_out;
  r.error = p.error;
  return r;
}

}  // namespace shoal::agent
