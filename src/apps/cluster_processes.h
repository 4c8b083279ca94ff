// The processes of a local cluster (`shoal up`, `shoal down`, `shoal chaos`): starting daemons
// detached from the caller, finding and stopping them, and the cluster's small JSON files
// (STATE/cluster.json: pids and command lines; STATE/controller.json: where it listens).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/client.h"  // Json
#include "common/status.h"

namespace shoal {

// The directory of the running executable (where shoal-controller and shoal-agent live).
std::string SelfDir();
// Starts a daemon in its own session with output appended to `log`; returns its pid, -1 when
// it cannot be started.
pid_t SpawnDaemon(const std::vector<std::string>& args, const std::string& log);
// Whether `pid` is a live process (a zombie child of ours is reaped and counts as gone).
bool Alive(pid_t pid);
// The file's JSON, or a discarded value when it is missing or unreadable.
Json ReadJsonFile(const std::string& path);
// Replaces the file atomically (write beside it, then rename).
void WriteJsonFile(const std::string& path, const Json& j);
// Reaps a child that exited early (a daemon that failed to start) without blocking.
bool ExitedEarly(pid_t pid);
// The last non-empty line of a file (a daemon's last words).
std::string TailOf(const std::string& path);
// Processes running `program` whose command line mentions `needle` (supervisors of this
// cluster's jobs mention their agent's state directory).
std::vector<pid_t> ProcessesMentioning(const std::string& needle, const std::string& program);
// Every process below `roots` (children, their children, ...).
std::vector<pid_t> Descendants(const std::vector<pid_t>& roots);
// SIGTERM, then SIGKILL to whatever is left after `wait_ms`.
void StopPids(const std::vector<pid_t>& pids, int wait_ms);

// Durations on these tools' command lines: "45", "45s", "3m", "2h" as seconds; 0 and anything
// else is InvalidArgument naming the option `what`.
Result<int64_t> ParseSeconds(std::string_view text, std::string_view what);
// "20-60" or "30" (both ends the same), each as ParseSeconds reads it; low <= high.
Result<std::pair<int64_t, int64_t>> ParseSecondsRange(std::string_view text, std::string_view what);

}  // namespace shoal
