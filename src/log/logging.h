// How shoal's daemons log. Lines go to stderr (coloured when it is a terminal) or to a file
// that rotates by size, as text for people or as one JSON object per line for log shippers
// (Loki, Elasticsearch, journald's importers). Every line that concerns a job starts
// "job ID ..." or "step ID ...", so one grep (or the JSON "job" field) follows a job.
#pragma once

#include <spdlog/common.h>
#include <spdlog/formatter.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"

namespace shoal {

enum class LogFormat { kText, kJson };

struct LogOptions {
  std::string component;  // the logger's name, "controller" or "agent"; also the JSON field
  std::string file;       // empty: stderr
  spdlog::level::level_enum level = spdlog::level::info;
  LogFormat format = LogFormat::kText;
  uint64_t max_bytes = 64ull << 20;  // a file rotates past this size; 0: it never does
  size_t max_files = 4;              // rotated files kept beside the live one
};

// Slurm's level words (SlurmctldDebug: quiet, fatal, error, info, verbose, debug, debug2 ...
// debug5) and spdlog's own (trace, warning, critical, off). Anything else is InvalidArgument.
Result<spdlog::level::level_enum> ParseLogLevel(std::string_view text);
// "text" or "json".
Result<LogFormat> ParseLogFormat(std::string_view text);
// A size for --log-max-size: "0" or a number with an optional K, M or G suffix (powers of 1024).
Result<uint64_t> ParseLogSize(std::string_view text);

// Formats each message as one JSON object on its own line:
// {"time":"2026-12-03T04:37:57.906Z","level":"info","component":"controller","job":"12_3",
//  "msg":"job 12_3 started on node1"}. "job" is present when the message is about a job.
std::unique_ptr<spdlog::formatter> MakeJsonLogFormatter(std::string component);

// Makes the logger `options` describes and installs it as spdlog's default, replacing any
// earlier one. Fails with a message naming the file when it cannot be opened.
Status InstallLogger(const LogOptions& options);

// Log lines that something outside keeps causing (an agent flooding messages, reconnecting in a
// loop, failing its key; garbage on a port): each key (an agent, a source line) is written at most
// once per interval, with how many more there were since its last line, so that a misbehaving
// peer can neither flood the log nor hide another's first line. Past kMaxKeys keys in use, new
// keys share one, so random names cannot grow the table.
class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxKeys = 1000;
  explicit LogThrottle(Clock::duration interval) : interval_(interval) {}
  // Logs `message` at `level` unless `key` logged less than an interval ago; returns whether it
  // did. Held-back occurrences are counted into the key's next line.
  bool Log(spdlog::level::level_enum level, std::string_view key, std::string_view message,
           Clock::time_point now = Clock::now());
  bool Warn(std::string_view key, std::string_view message, Clock::time_point now = Clock::now()) {
    return Log(spdlog::level::warn, key, message, now);
  }

 private:
  struct Key {
    Clock::time_point next;
    uint64_t held_back = 0;
  };
  const Clock::duration interval_;
  std::mutex mu_;
  std::unordered_map<std::string, Key> keys_;
  Clock::time_point pruned_{};
};

}  // namespace shoal
