// Standard Workload Format (SWF) traces, as the Parallel Workloads Archive publishes them: `;`
// header comments, then one job per line of 18 whitespace-separated numeric fields. Plain or
// gzip-compressed files.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shoal {

// One job line. Fields keep SWF's 1-based numbering in the accessor names' comments; -1 means
// "unknown" as in the format. Fractional values (some logs have them in the CPU-time and
// memory fields) are truncated.
struct SwfRecord {
  std::array<int64_t, 18> f{};
  int line = 0;  // 1-based line in the file

  int64_t job_id() const { return f[0]; }       // f1
  int64_t submit() const { return f[1]; }       // f2, seconds from the log's start
  int64_t wait() const { return f[2]; }         // f3
  int64_t run() const { return f[3]; }          // f4
  int64_t alloc_procs() const { return f[4]; }  // f5
  int64_t req_procs() const { return f[7]; }    // f8
  int64_t req_time() const { return f[8]; }     // f9, the user's estimate
  int64_t user() const { return f[11]; }        // f12
};

struct SwfHeader {
  int64_t max_nodes = -1;  // "; MaxNodes: N" (text after the number is ignored)
  int64_t max_procs = -1;  // "; MaxProcs: N"
};

struct SwfTrace {
  SwfHeader header;
  std::vector<SwfRecord> records;  // in file order
  // "file:line: what is wrong" for each line skipped.
  std::vector<std::string> skipped;
};

enum class BadLinePolicy : uint8_t { kSkip, kStop };

// Parses SWF text. `file_name` labels messages. With kStop the first malformed line is an
// InvalidArgument naming file:line; with kSkip it is listed in `skipped`.
Result<SwfTrace> ParseSwf(std::string_view text, std::string_view file_name, BadLinePolicy policy);

// Reads a file, gzip-compressed or not (zlib reads both), and parses it.
Result<SwfTrace> ReadSwf(const std::string& path, BadLinePolicy policy);

}  // namespace shoal
