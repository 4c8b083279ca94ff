// Reader for slurm.conf syntax: "Key=Value" pairs separated by spaces, '#' comments ("\#" is a
// literal '#', as is one inside quotes), one logical line per line (a trailing '\' continues it;
// the pieces are joined without a space, as Slurm does), keys case-insensitive. A NodeName= or
// PartitionName= line is one record with all its pairs. Values may be quoted ("a b").
// Spaces around '=' are an error, as in Slurm. "Include" directives are not supported.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace shoal {

struct ConfLine {
  std::string file;
  int line = 0;
  // Pairs in the order written; keys keep the case written.
  std::vector<std::pair<std::string, std::string>> pairs;

  // Case-insensitive lookup of a key in this line; the last occurrence wins.
  std::optional<std::string> Get(std::string_view key) const;
  // "file:line" for error messages.
  std::string Where() const;
};

// Splits text into logical lines of pairs; blank and comment-only lines give none. Errors are
// InvalidArgument "file:line: why" (e.g. a token without '=', an unterminated quote), with the
// first physical line of a continued line.
Result<std::vector<ConfLine>> ParseSlurmConf(std::string_view text, std::string_view file_name);

// Reads a file and parses it, naming the file by `path`. A missing file is NotFound.
Result<std::vector<ConfLine>> ReadSlurmConf(const std::string& path);

}  // namespace shoal
