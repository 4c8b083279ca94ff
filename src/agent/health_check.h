// HealthCheckProgram (slurm.conf): the agent runs the program every HealthCheckInterval seconds
// (both come from the controller in the RegisterReply) and reports each outcome; the controller
// drains a node whose check fails and resumes it once the check passes again.
#pragma once

#include <chrono>
#include <string>

namespace shoal::agent {

struct HealthCheckResult {
  bool ok = false;
  int exit_code = 0;  // when it exited
  int signal = 0;     // the signal that ended it, 0 when it exited
  bool timed_out = false;
  std::string error;  // it could not be started (missing, not executable)

  // What failed, for the node's drain reason: "exit code 3", "timed out after 10 s", ...
  std::string Describe(std::chrono::seconds timeout) const;
};

// Runs `program` (no arguments, stdin and stdout on /dev/null, in a process group of its own)
// and waits up to `timeout` for it; past that the whole group is killed.
HealthCheckResult RunHealthCheck(const std::string& program, std::chrono::milliseconds timeout);

}  // namespace shoal::agent
