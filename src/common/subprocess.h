// Runs a program to completion with a time limit: HealthCheckProgram on the agents, the power
// saving hooks (ResumeProgram, SuspendProgram, ...) in the controller.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace shoal {

struct ProgramResult {
  bool ok = false;
  int exit_code = 0;  // when it exited
  int signal = 0;     // the signal that ended it, 0 when it exited
  bool timed_out = false;
  std::string error;   // it could not be started (missing, not executable)
  std::string output;  // stdout and stderr together (the first 64 KiB), when captured

  // What failed: "exit code 3", "timed out after 10 s", "could not run: ..."; "ok" otherwise.
  std::string Describe(std::chrono::milliseconds timeout) const;
};

// Runs argv[0] (an absolute path) with argv[1..] as arguments, stdin on /dev/null, in a process
// group of its own, and waits up to `timeout` for it; past that the whole group is killed.
// With `capture`, stdout and stderr are collected in `output`; else they go to /dev/null.
ProgramResult RunProgram(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         bool capture = false);

}  // namespace shoal
